// SPDX-License-Identifier: MIT
#pragma once

#include <QtCore/qloggingcategory.h>

namespace Plexus {
Q_DECLARE_LOGGING_CATEGORY(lcIpc)
Q_DECLARE_LOGGING_CATEGORY(lcCluster)
Q_DECLARE_LOGGING_CATEGORY(lcSecurity)
Q_DECLARE_LOGGING_CATEGORY(lcWorker)
} // namespace Plexus
