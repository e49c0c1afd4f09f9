#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Installs what is missing, builds, and runs the demo:
#   1. plexus-demo, the single-machine tour (a master and its workers; arguments go to it);
#   2. a small local cluster, two machines on loopback with 2 workers each and traffic
#      going on (examples/cluster_traffic), watched with plexus-monitor when a display is
#      present, or with "plexusctl top" for a while (PLEXUS_DEMO_SECONDS, default 10)
#      when there is none. Everything it started is stopped when the monitor closes.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=setup.sh
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
plexus_setup

build="$PLEXUS_ROOT/$PLEXUS_BUILD_DIR"
[ -d "$build" ] || build="$PLEXUS_BUILD_DIR"

plexus_log "demo: $build/examples/demo/plexus-demo $*"
"$build/examples/demo/plexus-demo" "$@"

# ---- the cluster --------------------------------------------------------------------
traffic="$build/examples/cluster_traffic/plexus-cluster-traffic"
work="$(mktemp -d /tmp/plexus-demo.XXXXXX)"
pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A secret for this run only, unless one is given.
SECRET="${SECRET:-demo-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')}"
export SECRET

# Waits for "READY <machine> <port>" in $1 and prints the port.
ready_port() {
    local log="$1" i
    for i in $(seq 1 200); do
        if grep -q '^READY ' "$log" 2>/dev/null; then
            awk '/^READY / { print $3; exit }' "$log"
            return 0
        fi
        sleep 0.05
    done
    echo "error: a demo node did not start; its output:" >&2
    cat "$log" >&2
    return 1
}

"$traffic" --port 0 --rate 20 --remote-control -w 2 >"$work/a.log" 2>&1 &
pids+=("$!")
port_a="$(ready_port "$work/a.log")"
"$traffic" --port 0 --rate 50 --peer "tcp://127.0.0.1:$port_a" -w 2 >"$work/b.log" 2>&1 &
pids+=("$!")
port_b="$(ready_port "$work/b.log")"
plexus_log "demo: cluster of two machines on 127.0.0.1:$port_a and 127.0.0.1:$port_b"

peers=(--peer "127.0.0.1:$port_a" --peer "127.0.0.1:$port_b")
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
    plexus_log "demo: plexus-monitor (close its window to end the demo)"
    "$build/monitor/gui/plexus-monitor" "${peers[@]}"
else
    seconds="${PLEXUS_DEMO_SECONDS:-10}"
    plexus_log "demo: no display; plexusctl top for $seconds s (scripts/screenshots.sh shows the GUI)"
    "$build/monitor/cli/plexusctl" top "${peers[@]}" --interval 1000 --iterations "$seconds"
fi
