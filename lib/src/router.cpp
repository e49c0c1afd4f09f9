#include "router_p.h"
namespace Plexus { void Router::sendAutomaticFinalReply(MessagePrivate &) {} }
