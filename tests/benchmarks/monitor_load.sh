#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# plexus-monitor against the busiest cluster this machine can run: HOSTS network-namespace
# machines on one bridge, each a master with WORKERS workers calling it as fast as the
# answers come back (plexus-cluster-traffic --rate 0), and the monitor in a namespace of
# its own on the same bridge, finding them by UDP discovery. The monitor runs under
# xvfb-run with --stats, which prints its GUI thread's busy share, its model updates per
# second and its RSS every 5 s; this script prints those lines and the last one as the
# result. Needs root (ip netns). Every namespace and process is removed at the end.
#
#   tests/benchmarks/monitor_load.sh [HOSTS=8] [WORKERS=4] [SECONDS=60] [VIEW]
#
# VIEW: the tab the monitor shows while measured (default: processes). Environment:
# PLEXUS_BUILD_DIR (default build); PLEXUS_MONITOR_NICE (default 0): the monitor's nice
# value, e.g. -10 to see what is the scheduler's share of its lag.
set -euo pipefail

hosts="${1:-8}"
workers="${2:-4}"
seconds="${3:-60}"
view="${4:-processes}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${PLEXUS_BUILD_DIR:-build}"
case "$build" in /*) ;; *) build="$root/$build" ;; esac
traffic="$build/examples/cluster_traffic/plexus-cluster-traffic"
monitor="$build/monitor/gui/plexus-monitor"
for f in "$traffic" "$monitor"; do
    [ -x "$f" ] || { echo "error: $f not built (./scripts/test.sh builds it)" >&2; exit 1; }
done
[ "$(id -u)" -eq 0 ] || { echo "error: needs root for ip netns" >&2; exit 1; }

tag="pml$$"
work="$(mktemp -d /tmp/plexus-monitor-load.XXXXXX)"
pids=()
namespaces=()
cleanup() {
    local pid ns
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    for ns in "${namespaces[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The bridge lives in a namespace of its own; machine i is 10.79.0.i, the monitor .254.
bridge="${tag}br"
ip netns add "$bridge"
namespaces+=("$bridge")
ip -n "$bridge" link add br0 type bridge
ip -n "$bridge" link set br0 up
add_host() {   # namespace, address
    local ns="$1" address="$2" n="${#namespaces[@]}"
    ip netns add "$ns"
    namespaces+=("$ns")
    ip link add "${tag}a$n" type veth peer name "${tag}b$n"
    ip link set "${tag}a$n" netns "$ns"
    ip link set "${tag}b$n" netns "$bridge"
    ip -n "$ns" link set "${tag}a$n" name eth0
    ip -n "$ns" addr add "$address/24" broadcast 10.79.0.255 dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set lo up
    ip -n "$bridge" link set "${tag}b$n" master br0
    ip -n "$bridge" link set "${tag}b$n" up
}

SECRET="load-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
export SECRET
for i in $(seq 1 "$hosts"); do
    add_host "${tag}h$i" "10.79.0.$i"
    ip netns exec "${tag}h$i" "$traffic" --port 7400 --rate 0 -w "$workers" \
        >"$work/h$i.log" 2>&1 &
    pids+=("$!")
done
add_host "${tag}mon" 10.79.0.254

printf '==> %d machines x %d workers flooding; monitor for %d s (view %s)\n' \
    "$hosts" "$workers" "$seconds" "$view"
ctl="$build/monitor/cli/plexusctl"
set +e
ip netns exec "${tag}mon" nice -n "${PLEXUS_MONITOR_NICE:-0}" timeout --signal=TERM "$seconds" \
    xvfb-run -a -s "-screen 0 1600x1000x24" "$monitor" --port 7400 --stats --view "$view" \
    >"$work/monitor.log" 2>&1
set -e
grep -E '^plexus-monitor stats' "$work/monitor.log" || { echo "error: no stats from the monitor:" >&2; cat "$work/monitor.log" >&2; exit 1; }
printf '==> result: %s\n' "$(grep -E '^plexus-monitor stats' "$work/monitor.log" | tail -n 1)"
# What a monitor sees of that cluster right after (the same flood still going).
if [ -x "$ctl" ]; then
    ip netns exec "${tag}mon" "$ctl" --port 7400 --timeout 5000 status --json >"$work/status.json" || true
    python3 - "$work/status.json" "$hosts" "$workers" <<'PY' || true
import json, sys
try:
    data = json.load(open(sys.argv[1]))
except Exception as e:
    print("==> plexusctl status: no JSON (%s)" % e); sys.exit(0)
machines = data.get("machines", data if isinstance(data, list) else [])
procs = sum(len(m.get("processes", [])) for m in machines)
print("==> plexusctl status: %d machines, %d processes (expected %s x (1 + %s))"
      % (len(machines), procs, sys.argv[2], sys.argv[3]))
PY
fi
