#!/usr/bin/env bash
# Virtual servers at scale, lbd vs keepalived 2.2.7, same run, in the test-bed VM (issue 6):
#   1. cold start: spawn until the kernel holds the full IPVS table (wall and CPU time)
#   2. reload with one weight changed: SIGHUP until the kernel shows the new weight
#   3. memory: VmRSS 10 s after the full table, VmHWM after the reload (all the daemon's processes)
# Default table: 2,500 virtual servers x 16 real servers = 40,000 TCP_CHECKs. Prints a markdown
# report and writes it to benches/scenarios/results/lvs-latest.md.
#
# Usage (root):  benches/scenarios/lvs.sh [--quick] [--lbd PATH] [--vs N] [--rs-per-vs N]
#                                         [--only lbd,keepalived] [--keep DIR]
#   --quick   250 x 16 = 4,000 real servers, shorter time-outs.
#   --lbd     use this binary instead of building `cargo build --release -p lbd`.
#   --keep    keep the VM's output there (daemon logs and configs, lvs.json).
#   --reload-timeout SECS  give up on a reload after SECS (reported as "> SECS"; keepalived's
#             one-weight reload at full size takes ~20 min under TCG).
# Everything runs in one VM (`testbed/vm-run`, QEMU TCG), each daemon in its own network
# namespace (dmlb*) inside it; nothing touches the host's network.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

if [ "$(id -u)" -ne 0 ]; then
  echo "lvs.sh: run as root (the VM)" >&2
  exit 2
fi
for tool in python3 /usr/sbin/keepalived /usr/sbin/ipvsadm qemu-system-x86_64; do
  command -v "$tool" >/dev/null || { echo "lvs.sh: $tool is missing" >&2; exit 2; }
done

cmdline="benches/scenarios/lvs.sh${*:+ $*}"
lbd="" keep="" quick=0 vs="" rs="" only="lbd,keepalived" reload_timeout_opt=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1; shift ;;
    --lbd) lbd="$2"; shift 2 ;;
    --lbd=*) lbd="${1#--lbd=}"; shift ;;
    --vs) vs="$2"; shift 2 ;;
    --rs-per-vs) rs="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    --keep) keep="$2"; shift 2 ;;
    --reload-timeout) reload_timeout_opt="$2"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "lvs.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ "$quick" = 1 ]; then
  vs=${vs:-250} rs=${rs:-16} start_timeout=300 reload_timeout=120 vm_timeout=1800
else
  vs=${vs:-2500} rs=${rs:-16} start_timeout=1800 reload_timeout=1200 vm_timeout=7200
fi
target="${CARGO_TARGET_DIR:-$root/target}"
if [ -z "$lbd" ]; then
  (cd "$root" && cargo build --release --locked -p lbd --quiet) >&2
  lbd="$target/release/lbd"
fi
# The reload is timed by a compiled poller (one netlink dump from Python costs ~5 ms under TCG).
(cd "$root" && cargo build --release --locked -p ipvs-sys --example await_weight --quiet) >&2
await="$target/release/examples/await_weight"
[ -x "$lbd" ] || { echo "lvs.sh: no lbd binary at $lbd" >&2; exit 2; }
lbd="$(cd "$(dirname "$lbd")" && pwd)/$(basename "$lbd")"
lbd_build=""
if built=$(date -u -r "$lbd" '+%Y-%m-%d %H:%M UTC' 2>/dev/null); then
  lbd_build=", built $built"
  if commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null); then
    git -C "$root" diff --quiet HEAD 2>/dev/null || commit="$commit with local changes"
    lbd_build="$lbd_build; tree at $commit"
  fi
fi

if [ -n "$keep" ]; then
  mkdir -p "$keep"
  out="$(cd "$keep" && pwd)"
else
  out="$(mktemp -d /tmp/lvs-bench.XXXXXX)"
  trap 'rm -rf "$out"' EXIT
fi
host="$(nproc) CPUs, load average at start $(cut -d' ' -f1-3 /proc/loadavg), kernel $(uname -r)"
date="$(date -u '+%Y-%m-%d %H:%M:%S UTC')"
t0=$SECONDS

# 40,000 listening sockets and two daemons' tables: more memory than the VM's default 2G.
rc=0
reload_timeout=${reload_timeout_opt:-$reload_timeout}
(cd "$root" && testbed/vm-run --timeout "$vm_timeout" -m "${LBD_VM_MEMORY:-4G}" --out "$out" -- \
  sh -c 'exec python3 -B benches/scenarios/lvs.py run --out "$LBD_VM_OUT" "$@"' lvs --lbd "$lbd" \
  --await-weight "$await" --vs "$vs" --rs-per-vs "$rs" --only "$only" --start-timeout "$start_timeout" \
  --reload-timeout "$reload_timeout" $([ "$quick" = 1 ] && echo --quick)) || rc=$?
[ -f "$out/lvs.json" ] || { echo "lvs.sh: the VM produced no lvs.json (exit $rc)" >&2; exit 1; }

mkdir -p "$here/results"
python3 -B "$here/lvs.py" report --json "$out/lvs.json" --md "$here/results/lvs-latest.md" \
  --date "$date" --secs "$((SECONDS - t0))" --cmdline "$cmdline" --lbd "$lbd" \
  --lbd-build "$lbd_build" --host "$host" || rc=1
exit "$rc"
