#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Installs what is missing, builds, and runs the demo (arguments go to the demo).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=setup.sh
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
plexus_setup

plexus_log "demo: $PLEXUS_BUILD_DIR/examples/demo/plexus-demo $*"
exec "$PLEXUS_BUILD_DIR/examples/demo/plexus-demo" "$@"
