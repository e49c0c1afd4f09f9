#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Builds the libFuzzer targets with clang in their own build directory and runs each for a
# bounded time (CTest label "fuzz": seed corpus generation, then the fuzzer).
#   ./scripts/fuzz.sh          60 seconds per fuzzer
#   ./scripts/fuzz.sh 600      ten minutes
# Environment: PLEXUS_FUZZ_BUILD_DIR (default build-fuzz). A crashing input is kept in
# $PLEXUS_FUZZ_BUILD_DIR/tests/fuzz/artifacts/.
set -euo pipefail

seconds="${1:-60}"
case "$seconds" in
    ''|*[!0-9]*) echo "usage: $0 [seconds]" >&2; exit 2 ;;
esac

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
build="${PLEXUS_FUZZ_BUILD_DIR:-build-fuzz}"

# The shared helper installs clang and the libFuzzer runtime with the other packages.
if [ -f scripts/setup.sh ]; then
    # shellcheck source-path=SCRIPTDIR source=setup.sh
    source scripts/setup.sh
    plexus_install_packages
fi
log() { printf '==> %s\n' "$*"; }

for tool in clang clang++ cmake ninja; do
    command -v "$tool" >/dev/null 2>&1 || { echo "error: $tool not found" >&2; exit 1; }
done

options=(-DPLEXUS_BUILD_TESTS=ON -DPLEXUS_BUILD_FUZZERS=ON -DPLEXUS_BUILD_EXAMPLES=OFF
         -DPLEXUS_BUILD_BENCHMARKS=OFF -DPLEXUS_BUILD_MONITOR=OFF
         -DPLEXUS_FUZZ_SECONDS="$seconds")
# A directory configured with another compiler cannot build libFuzzer targets: start over.
if [ -f "$build/CMakeCache.txt" ] \
    && ! grep -qE '^CMAKE_CXX_COMPILER:[A-Z]+=.*clang\+\+' "$build/CMakeCache.txt"; then
    log "fuzz: $build was not configured with clang, starting over"
    rm -rf "$build/CMakeCache.txt" "$build/CMakeFiles" "$build/build.ninja"
fi
if [ ! -f "$build/build.ninja" ]; then
    log "fuzz: configure $build (clang)"
    CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        "${options[@]}"
else
    cmake -S . -B "$build" "${options[@]}" >/dev/null
fi

# Only the fuzz targets: the rest of the tree is tested by scripts/test.sh with g++.
targets=(fuzz_frame_reader fuzz_record_reader fuzz_handshake fuzz_discovery fuzz_brokerwire fuzz_snapshot make_frame_corpus)
log "fuzz: build ${targets[*]}"
cmake --build "$build" --target "${targets[@]}"

log "fuzz: run ${seconds}s per fuzzer"
status=0
# Two fuzzers at a time, one per core (each seed corpus is a fixture of its fuzzer).
ctest --test-dir "$build" -L fuzz --output-on-failure -j2 || status=$?

# libFuzzer's final statistics (executions, speed, coverage) of each fuzzer, from the log.
grep -E '^([0-9]+/[0-9]+ Test: fuzz_|stat::|Done [0-9]+ runs)' \
    "$build/Testing/Temporary/LastTest.log" | grep -v '_seeds$' || true
if [ "$status" -ne 0 ]; then
    echo "error: fuzzing failed; inputs in $build/tests/fuzz/artifacts/:" >&2
    ls -l "$build/tests/fuzz/artifacts/" >&2 || true
fi
exit "$status"
