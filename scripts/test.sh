#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Installs what is missing, builds, and runs the whole test suite.
#   ./scripts/test.sh                  every test
#   ./scripts/test.sh -R frame -V      extra arguments go to ctest
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=setup.sh
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
plexus_setup

# -j2: tests are independent (each multi-process test uses its own random socket name).
plexus_log "test: ctest --test-dir $PLEXUS_BUILD_DIR"
ctest --test-dir "$PLEXUS_BUILD_DIR" --output-on-failure -j2 "$@"
