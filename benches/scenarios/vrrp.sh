#!/usr/bin/env bash
# lbd vs keepalived 2.2.7, same run, in network namespaces (issue "lbd part 1", Benchmarks):
#   1. kill -9 failover at advert_int 0.1 (VRRPv3)   2. SIGTERM handover (priority 0)
#   3. CPU time of 1,000 instances at advert_int 1    4. RSS with the seed configs
# Prints a markdown report and writes it to benches/scenarios/results/vrrp-latest.md.
#
# Usage (root):  benches/scenarios/vrrp.sh [--quick] [--reps N] [--no-rt] [--only kill,term,cpu,rss]
#                                          [--lbd PATH] [--seed N] [--budget SECONDS] [--keep]
#   --quick   15 s CPU window instead of 60 s; the whole run stays under 5 minutes.
#   --lbd     use this binary instead of building `cargo build --release -p lbd`.
#   --no-rt   failover daemons under the normal scheduler (default: SCHED_FIFO 10 for both
#             tools, so a loaded machine's run queue does not end up in the figures).
# Namespaces are named b5<role><run id>; they, and every process in them, are removed on exit,
# also on Ctrl-C or an error (the python harness cleans up, this trap is the backstop).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

if [ "$(id -u)" -ne 0 ]; then
  echo "vrrp.sh: run as root (network namespaces, raw sockets)" >&2
  exit 2
fi
for tool in ip chrt python3 /usr/sbin/keepalived; do
  command -v "$tool" >/dev/null || { echo "vrrp.sh: $tool is missing" >&2; exit 2; }
done

cmdline="benches/scenarios/vrrp.sh${*:+ $*}"
lbd=""
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --lbd) lbd="$2"; shift 2 ;;
    --lbd=*) lbd="${1#--lbd=}"; shift ;;
    *) args+=("$1"); shift ;;
  esac
done
if [ -z "$lbd" ]; then
  target="${CARGO_TARGET_DIR:-$root/target}"
  (cd "$root" && cargo build --release -p lbd --quiet) >&2
  lbd="$target/release/lbd"
fi
[ -x "$lbd" ] || { echo "vrrp.sh: no lbd binary at $lbd" >&2; exit 2; }

run_id="$(printf '%04x' $(( $$ & 0xffff )))"
cleanup() {
  local ns
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^b5[a-z0-9]*${run_id}\$" || true); do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# No exec: the trap must outlive the harness.
python3 -B "$here/vrrp.py" --lbd "$lbd" --run-id "$run_id" \
  --cmdline "$cmdline" ${args[@]+"${args[@]}"}
