#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Shared setup helper for scripts/demo.sh and scripts/test.sh: installs the Debian packages
# that are missing, configures the build directory once, and builds.
#
#   source scripts/setup.sh && plexus_setup     (what demo.sh and test.sh do)
#   ./scripts/setup.sh                          (the same, on its own)
#
# Idempotent: when everything is installed and up to date it only runs dpkg-query once and
# a no-op ninja. Environment:
#   PLEXUS_BUILD_DIR   build directory (default: build)
#   PLEXUS_BUILD_TARGET  one target to build instead of all (scripts/sanitize.sh --thread)
#   PLEXUS_NO_INSTALL  set to 1 to only report missing packages instead of installing them

set -euo pipefail

# Every Debian package the build needs; later features append here.
# Installed with --no-install-recommends, so a package that is only *recommended* by another
# (libqt6opengl6-dev by qt6-base-dev; Qt Charts' CMake package needs it) must be named here.
# ../shared/tools/fresh-debian-check proves the list on a minimal Debian 12 root.
# g++ rather than build-essential: cmake + ninja need no make or dpkg-dev. doxygen builds
# the API reference (target plexus-apidoc) and its warning check (tst_apidoc).
# clang and libclang-rt-14-dev are for the libFuzzer targets (scripts/fuzz.sh); iproute2
# (ip netns) for the multi-host cluster tests. The monitor: qt6-charts-dev (rate charts),
# libqt6svg6 (its SVG icons), xvfb and xauth (xvfb-run: scripts/screenshots.sh and the
# demo without a display), imagemagick (import, for whole-screen captures).
# qt6-remoteobjects-dev: the Qt Remote Objects baseline of plexus-bench.
PLEXUS_DEBIAN_PACKAGES="g++ cmake ninja-build ccache pkg-config qt6-base-dev libqt6opengl6-dev libsodium-dev doxygen clang libclang-rt-14-dev iproute2 qt6-charts-dev libqt6svg6 qt6-remoteobjects-dev libnats-dev nats-server xvfb xauth imagemagick"

# CMake cache entries the scripts rely on. They are passed at the first configure and
# enforced later (an existing build directory configured without them is re-configured).
PLEXUS_REQUIRED_CACHE="${PLEXUS_REQUIRED_CACHE:-PLEXUS_BUILD_TESTS=ON PLEXUS_BUILD_EXAMPLES=ON PLEXUS_BUILD_MONITOR=ON}"

PLEXUS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PLEXUS_BUILD_DIR="${PLEXUS_BUILD_DIR:-build}"

plexus_log() { printf '==> %s\n' "$*"; }

# Installs the packages of PLEXUS_DEBIAN_PACKAGES that are not installed; no apt-get call
# at all when none is missing.
plexus_install_packages() {
    local installed missing=() pkg
    # One dpkg-query for all packages; unknown ones go to stderr and are simply absent.
    # shellcheck disable=SC2086
    installed="$(dpkg-query -W -f='${Package} ${Status}\n' $PLEXUS_DEBIAN_PACKAGES 2>/dev/null \
                 | awk '$NF == "installed" && $(NF-1) == "ok" { print $1 }' || true)"
    for pkg in $PLEXUS_DEBIAN_PACKAGES; do
        grep -qxF "$pkg" <<<"$installed" || missing+=("$pkg")
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        plexus_log "packages: all installed"
        return 0
    fi
    if [ "${PLEXUS_NO_INSTALL:-0}" = 1 ]; then
        echo "error: missing packages (PLEXUS_NO_INSTALL=1): ${missing[*]}" >&2
        return 1
    fi
    plexus_log "packages: installing ${missing[*]}"
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo=(sudo)
        else
            echo "error: not root and no sudo; install: ${missing[*]}" >&2
            return 1
        fi
    fi
    "${sudo[@]}" apt-get update -q
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# True when the cache lacks one of PLEXUS_REQUIRED_CACHE (NAME=VALUE, any type).
plexus_cache_outdated() {
    local cache="$PLEXUS_BUILD_DIR/CMakeCache.txt" entry
    for entry in $PLEXUS_REQUIRED_CACHE; do
        grep -qE "^${entry%%=*}:[A-Z]+=${entry#*=}\$" "$cache" || return 0
    done
    return 1
}

# Configures once. After that, ninja re-runs cmake by itself whenever a CMakeLists.txt
# changes, so an existing build.ninja is left alone unless required options are missing.
plexus_configure() {
    local args=() entry
    for entry in $PLEXUS_REQUIRED_CACHE; do
        args+=("-D$entry")
    done
    if [ -f "$PLEXUS_BUILD_DIR/CMakeCache.txt" ] \
        && ! grep -qx 'CMAKE_GENERATOR:INTERNAL=Ninja' "$PLEXUS_BUILD_DIR/CMakeCache.txt"; then
        plexus_log "configure: $PLEXUS_BUILD_DIR was made by another generator, starting over"
        rm -rf "$PLEXUS_BUILD_DIR/CMakeCache.txt" "$PLEXUS_BUILD_DIR/CMakeFiles"
    fi
    if [ ! -f "$PLEXUS_BUILD_DIR/build.ninja" ]; then
        plexus_log "configure: $PLEXUS_BUILD_DIR (Ninja, RelWithDebInfo)"
        cmake -S . -B "$PLEXUS_BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${args[@]}"
    elif plexus_cache_outdated; then
        plexus_log "configure: setting ${PLEXUS_REQUIRED_CACHE}"
        cmake -S . -B "$PLEXUS_BUILD_DIR" "${args[@]}"
    fi
}

plexus_build() {
    plexus_log "build: $PLEXUS_BUILD_DIR${PLEXUS_BUILD_TARGET:+ (target $PLEXUS_BUILD_TARGET)}"
    cmake --build "$PLEXUS_BUILD_DIR" ${PLEXUS_BUILD_TARGET:+--target "$PLEXUS_BUILD_TARGET"}
}

# The whole sequence. Runs from the repository root whatever the caller's directory; a
# lock keeps two scripts from running ninja in the same build directory at once.
plexus_setup() {
    cd "$PLEXUS_ROOT"
    plexus_install_packages
    mkdir -p "$PLEXUS_BUILD_DIR"
    exec 9>"$PLEXUS_BUILD_DIR/.plexus-setup.lock"
    flock 9
    plexus_configure
    plexus_build
    flock -u 9
    exec 9>&-
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    plexus_setup
fi
