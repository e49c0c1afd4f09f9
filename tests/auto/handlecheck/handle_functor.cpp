// SPDX-License-Identifier: MIT
// Compiled (syntax only) by tst_handle_wrong_signature / tst_handle_right_signature.
#include <plexus/node.h>

void install(Plexus::Node &node, QObject *context)
{
#ifdef WRONG_SIGNATURE
    node.handle(1, context, [](int) {});
#else
    node.handle(1, context, [](const Plexus::Message &) {});
#endif
}
