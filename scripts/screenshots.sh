#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Writes a PNG of every plexus-monitor view, taken against a small demo cluster on loopback:
# two masters with two workers each and traffic going on. Prints the folder at the end.
#
#   ./scripts/screenshots.sh [DIR]          (default: a new folder under /tmp)
#
# Environment:
#   PLEXUS_BUILD_DIR    build directory (default: build); what is missing is built there
#   PLEXUS_DEMO_NODE    the node program (default: examples/cluster_traffic's
#                       plexus-cluster-traffic, else tests/cluster/cluster_node fed with
#                       commands on its stdin)
#   PLEXUS_SCREENSHOT_TIMEOUT   seconds the monitor waits for data (default 30)
#
# Every process the script starts is stopped when it ends (trap EXIT), also on failure.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
build="${PLEXUS_BUILD_DIR:-build}"
monitor="$build/monitor/gui/plexus-monitor"
traffic="$build/examples/cluster_traffic/plexus-cluster-traffic"
node="${PLEXUS_DEMO_NODE:-$traffic}"

if [ ! -x "$monitor" ] || { [ ! -x "$node" ] && [ ! -x "$build/tests/cluster/cluster_node" ]; }; then
    # shellcheck source-path=SCRIPTDIR source=setup.sh
    source "$root/scripts/setup.sh"
    plexus_setup
    cd "$root"
fi
if [ ! -x "$node" ] && [ -z "${PLEXUS_DEMO_NODE:-}" ]; then
    node="$build/tests/cluster/cluster_node"
fi
# cluster_node needs its traffic fed as commands; the traffic node makes its own.
driven=0
[ "$(basename "$node")" = cluster_node ] && driven=1
for bin in "$monitor" "$node"; do
    [ -x "$bin" ] || { echo "error: $bin was not built" >&2; exit 1; }
done
command -v xvfb-run >/dev/null || { echo "error: xvfb-run is missing (apt-get install xvfb xauth)" >&2; exit 1; }

out="${1:-$(mktemp -d /tmp/plexus-screenshots.XXXXXX)}"
mkdir -p "$out"
work="$(mktemp -d /tmp/plexus-screenshots-run.XXXXXX)"

pids=()
cleanup() {
    local pid
    exec 3>&- 4>&- 2>/dev/null || true
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        kill -KILL "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Two free ports next to each other's announcements; the kernel's ephemeral range is above.
port_a=$(( 20000 + RANDOM % 20000 ))
port_b=$(( port_a + 1 ))
SECRET="screenshots-$RANDOM-$RANDOM-$$"
export SECRET

# Starts one master; cluster_node reads commands on its stdin, which a loop below feeds.
start_node() {   # tag port other-port fd
    local tag=$1 port=$2 other=$3 fd=$4 fifo="$work/$1.in"
    mkfifo "$fifo"
    if [ "$driven" = 0 ]; then
        "$node" --port "$port" --announce "127.0.0.1:$other" --peer "tcp://127.0.0.1:$other" \
            --workers 2 --remote-control <"$fifo" >"$work/$tag.log" 2>&1 &
    else
        "$node" --tag "$tag" --port "$port" --announce "127.0.0.1:$other" --no-broadcast \
            <"$fifo" >"$work/$tag.log" 2>&1 &
    fi
    pids+=($!)
    eval "exec $fd>\"$fifo\""
}
start_node a "$port_a" "$port_b" 3
start_node b "$port_b" "$port_a" 4

# Both masters up (cluster_node: linked to each other) within 10 s, or the script fails
# with what the nodes said.
ready=0
for _ in $(seq 1 100); do
    if [ "$driven" = 1 ]; then
        grep -q '^PEERUP' "$work/a.log" 2>/dev/null && { ready=1; break; }
    else
        grep -q '^READY' "$work/a.log" 2>/dev/null && grep -q '^READY' "$work/b.log" 2>/dev/null \
            && { ready=1; break; }
    fi
    sleep 0.1
done
if [ "$ready" = 0 ]; then
    echo "error: the demo masters did not come up within 10 s ($node); their output:" >&2
    for log in "$work/a.log" "$work/b.log"; do
        echo "--- $(basename "$log")" >&2
        tail -n 40 "$log" >&2 2>/dev/null || echo "(no output)" >&2
    done
    exit 1
fi

# Traffic: cluster-wide broadcasts from both masters, calls to the other master, and the
# same from worker 0 of each machine, a few times a second (cluster_node's stdin commands).
if [ "$driven" = 1 ]; then
    (
        trap 'exit 0' TERM PIPE
        i=0
        while :; do
            i=$((i + 1))
            case $((i % 4)) in
                0) echo "broadcast a$i" >&3; echo "wcluster b$i" >&4 ;;
                1) echo "cluster a$i" >&3; echo "wbroadcast b$i" >&4 ;;
                2) echo "wothers a$i" >&3; echo "others b$i" >&4 ;;
                3) echo "wbroadcast a$i" >&3; echo "cluster b$i" >&4 ;;
            esac
            sleep 0.05
        done
    ) 2>/dev/null &
    pids+=($!)
fi

# An intruder for the security panel: a master with the wrong secret that keeps trying to
# link to master a; a's handshakes with it fail and are counted by peer and reason.
if [ "$driven" = 0 ]; then
    SECRET="wrong-$SECRET" "$node" --port 0 --peer "tcp://127.0.0.1:$port_a" --workers 1 \
        </dev/null >"$work/intruder.log" 2>&1 &
    pids+=($!)
fi

echo "==> demo cluster: 127.0.0.1:$port_a and 127.0.0.1:$port_b (logs in $work)"
echo "==> plexus-monitor --screenshots $out"
status=0
PLEXUS_SCREENSHOT_TIMEOUT="${PLEXUS_SCREENSHOT_TIMEOUT:-30}" \
    xvfb-run -a -s "-screen 0 1600x1000x24" \
    "$monitor" --peer "127.0.0.1:$port_a" --peer "127.0.0.1:$port_b" --screenshots "$out" \
    || status=$?
if [ "$status" -ne 0 ]; then
    echo "error: plexus-monitor --screenshots failed ($status); node logs:" >&2
    tail -n 20 "$work"/*.log >&2 || true
    exit "$status"
fi
echo "$out"
