#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The suite under the sanitizers (SPEC 7).
#   ./scripts/sanitize.sh                     every test under ASan + UBSan, in build-asan
#   ./scripts/sanitize.sh -R calls            extra arguments go to ctest
#   ./scripts/sanitize.sh --thread [ARGS]     the tests labelled "threads" (they call the
#                                             API from several threads) under
#                                             ThreadSanitizer, in build-tsan
# ThreadSanitizer must report nothing: a report fails the test (exit code 66). Debian's Qt
# is not built with TSan; lib/src/wire/threadsync_p.h makes the library's hand-offs through
# Qt visible to it, and tests/tsan.supp holds the few suppressions, each with its reason.
set -euo pipefail

mode=address
if [ "${1:-}" = "--thread" ]; then
    mode=thread
    shift
fi

if [ "$mode" = thread ]; then
    export PLEXUS_BUILD_DIR="${PLEXUS_BUILD_DIR:-build-tsan}"
    export PLEXUS_REQUIRED_CACHE="PLEXUS_BUILD_TESTS=ON PLEXUS_BUILD_EXAMPLES=OFF PLEXUS_BUILD_MONITOR=OFF PLEXUS_BUILD_BENCHMARKS=OFF PLEXUS_SANITIZE_THREAD=ON"
    export PLEXUS_BUILD_TARGET=plexus-tests-threads
else
    export PLEXUS_BUILD_DIR="${PLEXUS_BUILD_DIR:-build-asan}"
    export PLEXUS_REQUIRED_CACHE="PLEXUS_BUILD_TESTS=ON PLEXUS_BUILD_EXAMPLES=ON PLEXUS_SANITIZE=ON PLEXUS_BUILD_BENCHMARKS=OFF"
fi
# shellcheck source-path=SCRIPTDIR source=setup.sh
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
plexus_setup

if [ "$mode" = thread ]; then
    export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=0 exitcode=66 second_deadlock_stack=1 history_size=4 ignore_noninstrumented_modules=1 suppressions=$PLEXUS_ROOT/tests/tsan.supp}"
    plexus_log "sanitize --thread: ctest --test-dir $PLEXUS_BUILD_DIR -L threads"
    # The Qt-socket variants run the same threads over another link backend: once is enough.
    ctest --test-dir "$PLEXUS_BUILD_DIR" --output-on-failure -j2 -L threads -LE qtsocket "$@"
else
    export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
    export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
    plexus_log "sanitize: ctest --test-dir $PLEXUS_BUILD_DIR"
    ctest --test-dir "$PLEXUS_BUILD_DIR" --output-on-failure -j2 "$@"
fi
