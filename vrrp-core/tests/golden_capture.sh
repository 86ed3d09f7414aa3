#!/usr/bin/env bash
# Captures real VRRP adverts from keepalived (2.2.7 on Debian 12) as golden vectors for
# tests/wire_golden.rs. See tests/golden/README.md for what is captured and why.
#
# Needs root (network namespaces), keepalived, tcpdump, python3 and iproute2.
# Usage: vrrp-core/tests/golden_capture.sh [OUTPUT_DIR]   (default: tests/golden next to this script)
#
# Everything happens inside one network namespace, `wig`, holding one veth pair wig0 <-> wig1;
# keepalived runs as master of several instances on wig0 and tcpdump records what leaves it.
# Names carry the `wi` prefix; the namespace is removed on exit, also on failure.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
OUT="${1:-$HERE/golden}"
NS=wig
KEEPALIVED="${KEEPALIVED:-/usr/sbin/keepalived}"
RUN_SECONDS="${RUN_SECONDS:-14}"

TMP="$(mktemp -d /tmp/wi-golden.XXXXXX)"
KA_PID=""
TD_PID=""

cleanup() {
    # Only the processes this script started, by pid.
    if [[ -n "$KA_PID" ]]; then kill "$KA_PID" 2>/dev/null || true; fi
    if [[ -n "$TD_PID" ]]; then kill "$TD_PID" 2>/dev/null || true; fi
    wait 2>/dev/null || true
    ip netns del "$NS" 2>/dev/null || true
    if [[ -n "${KEEP_TMP:-}" ]]; then echo "kept $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT

ip netns del "$NS" 2>/dev/null || true
ip netns add "$NS"
nsx() { ip netns exec "$NS" "$@"; }
# `ip netns exec` forks, so `$!` would be ip's pid, not the daemon's: run the command through a
# shell that records its own pid (then execs), and signal that pid.
nsx_bg() {
    local pidfile="$1"
    shift
    ip netns exec "$NS" sh -c 'echo $$ > "$0"; exec "$@"' "$pidfile" "$@"
}
wait_pidfile() {
    local i
    for i in $(seq 50); do [[ -s "$1" ]] && return 0; sleep 0.1; done
    echo "no pid in $1" >&2
    return 1
}

nsx ip link set lo up
nsx ip link add wig0 type veth peer name wig1
for dev in wig0 wig1; do
    # No DAD and no EUI-64 address: the IPv6 source (fe80::1) must be deterministic and usable
    # at once, VRRPv3 over IPv6 is sent from the interface's link-local address.
    nsx sysctl -qw "net.ipv6.conf.$dev.accept_dad=0"
    nsx ip link set "$dev" addrgenmode none
done
nsx ip addr add 192.0.2.1/24 dev wig0
nsx ip addr add fe80::1/64 dev wig0 nodad
nsx ip addr add 2001:db8::1/64 dev wig0 nodad
nsx ip link set wig1 up
nsx ip link set wig0 up

# The configuration the vectors are checked against (tests/wire_golden.rs repeats these values).
cat > "$TMP/keepalived.conf" <<'CONF'
global_defs {
    router_id wi-golden
    vrrp_garp_master_delay 0
    vrrp_garp_master_repeat 1
}

# v2, IPv4, no authentication, two VIPs.
vrrp_instance wi_v2_none {
    version 2
    state MASTER
    interface wig0
    virtual_router_id 51
    priority 150
    advert_int 1
    virtual_ipaddress {
        192.0.2.100
        192.0.2.101
    }
}

# v2, IPv4, PASS with a short password: zero padded to 8 bytes.
vrrp_instance wi_v2_pass {
    version 2
    state MASTER
    interface wig0
    virtual_router_id 52
    priority 100
    advert_int 2
    authentication {
        auth_type PASS
        auth_pass 1111
    }
    virtual_ipaddress {
        192.0.2.110
    }
}

# v2, IPv4, PASS with a long password: keepalived truncates it to 8 bytes ("secret12").
vrrp_instance wi_v2_passlong {
    version 2
    state MASTER
    interface wig0
    virtual_router_id 53
    priority 254
    advert_int 3
    authentication {
        auth_type PASS
        auth_pass secret12345
    }
    virtual_ipaddress {
        192.0.2.115
        198.51.100.115
        192.0.2.116
    }
}

# v3, IPv4, sub-second interval (centiseconds), three VIPs.
vrrp_instance wi_v3_v4 {
    version 3
    state MASTER
    interface wig0
    virtual_router_id 61
    priority 200
    advert_int 0.5
    virtual_ipaddress {
        192.0.2.120
        198.51.100.120
        192.0.2.121
    }
}

# v3, IPv6 (family from the VIPs), two VIPs.
vrrp_instance wi_v3_v6 {
    version 3
    state MASTER
    interface wig0
    virtual_router_id 71
    priority 120
    advert_int 1
    virtual_ipaddress {
        2001:db8::71
        2001:db8:1::71
    }
}
CONF

nsx_bg "$TMP/tcpdump.run" tcpdump -i wig0 -U -n -s 0 -w "$TMP/vrrp.pcap" 'ip proto 112 or ip6 proto 112' \
    > "$TMP/tcpdump.log" 2>&1 &
wait_pidfile "$TMP/tcpdump.run"
TD_PID="$(cat "$TMP/tcpdump.run")"
sleep 1

# -n: stay in the foreground; unique pid files under $TMP so this run cannot collide with any
# other keepalived on the machine.
nsx_bg "$TMP/keepalived.run" "$KEEPALIVED" -f "$TMP/keepalived.conf" -n -l -D -P \
    -p "$TMP/keepalived.pid" -r "$TMP/vrrp.pid" -c "$TMP/checkers.pid" \
    > "$TMP/keepalived.log" 2>&1 &
wait_pidfile "$TMP/keepalived.run"
KA_PID="$(cat "$TMP/keepalived.run")"
# keepalived 2.2.7 starts every instance in BACKUP and becomes master after the master down
# interval (3 * advert_int + skew): the slowest instance (advert_int 3) needs ~10 s.
sleep "$RUN_SECONDS"
# SIGTERM: a stopping master sends one advert with priority 0 (RFC 5798 §6.4.3), captured too.
stop_pid() {
    local pid="$1" i
    kill -TERM "$pid" 2>/dev/null || return 0
    for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
}
stop_pid "$KA_PID"
KA_PID=""
sleep 1
stop_pid "$TD_PID"
TD_PID=""

mkdir -p "$OUT"
python3 - "$TMP/vrrp.pcap" "$OUT" <<'PY'
"""Split the capture into one file per (instance, first advert / priority-0 advert)."""
import ipaddress
import struct
import sys

pcap, out = sys.argv[1], sys.argv[2]
NAMES = {51: "v2_ipv4_none", 52: "v2_ipv4_pass", 53: "v2_ipv4_passlong", 61: "v3_ipv4", 71: "v3_ipv6"}

with open(pcap, "rb") as f:
    data = f.read()
magic = struct.unpack("<I", data[:4])[0]
endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
linktype = struct.unpack(endian + "I", data[20:24])[0]
assert linktype == 1, f"expected Ethernet captures, got linktype {linktype}"
off, seen = 24, {}
while off + 16 <= len(data):
    _, _, incl, _ = struct.unpack(endian + "IIII", data[off:off + 16])
    frame = data[off + 16:off + 16 + incl]
    off += 16 + incl
    ethertype = struct.unpack("!H", frame[12:14])[0]
    l3 = frame[14:]
    if ethertype == 0x0800:
        ihl = (l3[0] & 0x0F) * 4
        total = struct.unpack("!H", l3[2:4])[0]
        ttl, proto = l3[8], l3[9]
        src, dst = ipaddress.IPv4Address(l3[12:16]), ipaddress.IPv4Address(l3[16:20])
        msg = l3[ihl:total]
    elif ethertype == 0x86DD:
        plen = struct.unpack("!H", l3[4:6])[0]
        proto, ttl = l3[6], l3[7]
        src, dst = ipaddress.IPv6Address(l3[8:24]), ipaddress.IPv6Address(l3[24:40])
        msg = l3[40:40 + plen]
    else:
        continue
    if proto != 112 or len(msg) < 8:
        continue
    vrid, prio = msg[1], msg[2]
    if vrid not in NAMES:
        continue
    name = NAMES[vrid] + ("_shutdown" if prio == 0 else "")
    if name in seen:
        continue
    seen[name] = True
    with open(f"{out}/{name}.txt", "w") as f:
        f.write("# VRRP advert captured from keepalived 2.2.7 by tests/golden_capture.sh\n")
        f.write(f"src {src}\ndst {dst}\nttl {ttl}\nmsg {msg.hex()}\n")
missing = [n for n in NAMES.values() for n in (n, n + "_shutdown") if n not in seen]
print("wrote", ", ".join(sorted(seen)))
if missing:
    sys.exit("missing vectors: " + ", ".join(missing))
PY
echo "keepalived version: $("$KEEPALIVED" --version 2>&1 | head -1)"
