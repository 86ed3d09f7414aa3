#!/usr/bin/env bash
# Quick start: two lbd nodes in two network namespaces joined by a veth pair.
# Shows the election, kills the master, shows the failover, brings it back, cleans up.
# Needs root; touches nothing outside its own namespaces (dmdemoa, dmdemob).
set -euo pipefail
cd "$(dirname "$0")/.."

VIP=192.0.2.100
NS_A=dmdemoa
NS_B=dmdemob
IF=dmdemo0
work=$(mktemp -d /tmp/lbd-demo.XXXXXX)
pids=()

cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    ip netns del "$NS_A" 2>/dev/null || true
    ip netns del "$NS_B" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

[ "$(id -u)" = 0 ] || { echo "demo.sh: needs root (network namespaces)" >&2; exit 1; }

if [ -n "${LBD:-}" ]; then
    lbd=$LBD
else
    echo "== building lbd"
    cargo build -q -p lbd
    lbd="${CARGO_TARGET_DIR:-target}/debug/lbd"
fi

echo "== two namespaces, one veth pair ($IF on both sides)"
for ns in "$NS_A" "$NS_B"; do
    ip netns del "$ns" 2>/dev/null || true
    ip netns add "$ns"
    ip -n "$ns" link set lo up
done
ip -n "$NS_A" link add "$IF" type veth peer name "$IF" netns "$NS_B"
ip -n "$NS_A" addr add 192.0.2.1/24 dev "$IF"
ip -n "$NS_B" addr add 192.0.2.2/24 dev "$IF"
ip -n "$NS_A" link set "$IF" up
ip -n "$NS_B" link set "$IF" up

start() { # NS NAME CONF
    ip netns exec "$1" "$lbd" -n -l -f "$3" -p "$work/$2.pid" --status-socket "$work/$2.sock" \
        >"$work/$2.log" 2>&1 &
    pids+=("$!")
    eval "pid_$2=$!"
}

holder() {
    local who=""
    ip -n "$NS_A" -o addr show dev "$IF" | grep " $VIP/" >/dev/null && who="$who A"
    ip -n "$NS_B" -o addr show dev "$IF" | grep " $VIP/" >/dev/null && who="$who B"
    echo "${who:- nobody}"
}

wait_holder() { # EXPECTED TIMEOUT_S  (EXPECTED: "A", "B" or a grep pattern like "B$")
    local start=$SECONDS
    while ! holder | grep -x -E " ?$1" >/dev/null; do
        if [ $((SECONDS - start)) -ge "$2" ]; then
            echo "!! expected $VIP on $1, held by:$(holder)"; tail -n 20 "$work"/*.log; exit 1
        fi
        sleep 0.1
    done
    echo "   $VIP is on node$(holder) (after $((SECONDS - start)) s)"
}

echo "== starting node A (priority 150) and node B (priority 100)"
start "$NS_A" a examples/demo-a.conf
start "$NS_B" b examples/demo-b.conf
wait_holder A 10
ip -n "$NS_A" -o -4 addr show dev "$IF" | awk '{print "   A:", $4, $NF}'

echo "== kill -9 node A (no goodbye): B must notice the silence"
kill -9 "$pid_a"
wait "$pid_a" 2>/dev/null || true
wait_holder ".*B" 10
echo "   (a kill -9'd daemon cannot clean up: its VIP stays on A until lbd starts there again)"
grep -h -E "Entering|timeout|VIPs" "$work/b.log" | sed 's/^/   B: /'

echo "== node A comes back with the higher priority: it adopts its leftover VIP and preempts"
start "$NS_A" a examples/demo-a.conf
wait_holder A 10

echo "== SIGTERM node A: priority-0 advert, B takes over at once"
kill -TERM "$pid_a"
wait "$pid_a" 2>/dev/null || true
wait_holder B 3
grep -h -E "Entering|priority 0|VIPs" "$work/b.log" | tail -n 4 | sed 's/^/   B: /'

echo "== done; cleaning up"
