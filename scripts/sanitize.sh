#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Builds the whole suite with AddressSanitizer + UndefinedBehaviorSanitizer in build-asan
# and runs it (SPEC 7: the suite also passes under ASan+UBSan).
#   ./scripts/sanitize.sh            every test
#   ./scripts/sanitize.sh -R calls   extra arguments go to ctest
set -euo pipefail

export PLEXUS_BUILD_DIR="${PLEXUS_BUILD_DIR:-build-asan}"
export PLEXUS_REQUIRED_CACHE="PLEXUS_BUILD_TESTS=ON PLEXUS_BUILD_EXAMPLES=ON PLEXUS_SANITIZE=ON PLEXUS_BUILD_BENCHMARKS=OFF"
# shellcheck source-path=SCRIPTDIR source=setup.sh
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
plexus_setup

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
plexus_log "sanitize: ctest --test-dir $PLEXUS_BUILD_DIR"
ctest --test-dir "$PLEXUS_BUILD_DIR" --output-on-failure -j2 "$@"
