#!/usr/bin/env bash
# lvs-scenario.sh DIRECTOR_A DIRECTOR_B MODE
#
# The LVS + VRRP field scenario on a real kernel, run INSIDE the test-bed VM
# (testbed/vm-run; e2e/run does that for every combination):
#
#   client --- VIP 192.0.2.100 --- director A (MASTER, prio 150)  \  IPVS rr, TCP_CHECK
#                                  director B (BACKUP, prio 100)  /  real servers rs1, rs2
#
# DIRECTOR_x: keepalived | lbd.  MODE: dr | nat.
#   dr : one segment 192.0.2.0/24; the real servers hold the VIP on lo/32 with
#        arp_ignore=1 / arp_announce=2 and answer the client directly.
#   nat: outside 192.0.2.0/24 (client, directors), inside 198.51.100.0/24 (directors,
#        real servers); the directors also move a second VIP 198.51.100.254 on the
#        inside, the real servers' default route (the classic keepalived NAT pair).
#
# Prints PASS/FAIL/SKIP lines and ends with "N passed, N failed"; exits 1 on any
# failure, 2 on bad usage. Every wait has a deadline (polling, no blind sleeps).
# Logs and configs are copied to $LBD_VM_OUT/ at the end (e2e/run keeps them).
set -uo pipefail

usage() {
	echo "usage: $0 keepalived|lbd keepalived|lbd dr|nat" >&2
	exit 2
}
[ $# -eq 3 ] || usage
KIND_A=$1 KIND_B=$2 MODE=$3
for k in "$KIND_A" "$KIND_B"; do
	case $k in keepalived | lbd) ;; *) usage ;; esac
done
case $MODE in dr | nat) ;; *) usage ;; esac

LBD=${LBD_BIN:-${CARGO_TARGET_DIR:-$(cd "$(dirname "$0")/.." && pwd)/target}/debug/lbd}
PY=/usr/bin/python3 # not a pyenv shim: $HOME is read-only in the VM
VIP=192.0.2.100
VIP_IN=198.51.100.254 # NAT only: the real servers' gateway
CLIENT=192.0.2.10
declare -A OUT_ADDR=([a]=192.0.2.2 [b]=192.0.2.3)
declare -A IN_ADDR=([a]=198.51.100.2 [b]=198.51.100.3)
if [ "$MODE" = dr ]; then
	declare -A RIP=([1]=192.0.2.21 [2]=192.0.2.22)
	FWD=Route
else
	declare -A RIP=([1]=198.51.100.21 [2]=198.51.100.22)
	FWD=Masq
fi
declare -A KIND=([a]=$KIND_A [b]=$KIND_B)
# Namespaces: e2hub (bridges e2out, e2in), e2cl (client), e2da/e2db (directors),
# e2r1/e2r2 (real servers).
NSS=(e2hub e2cl e2da e2db e2r1 e2r2)

for cmd in ip ipvsadm curl "$PY"; do
	command -v "$cmd" >/dev/null || { echo "FAIL setup: $cmd not found"; echo "0 passed, 1 failed"; exit 1; }
done
if [ "$KIND_A" = keepalived ] || [ "$KIND_B" = keepalived ]; then
	command -v keepalived >/dev/null || { echo "FAIL setup: keepalived not found"; echo "0 passed, 1 failed"; exit 1; }
fi
if [ "$KIND_A" = lbd ] || [ "$KIND_B" = lbd ]; then
	[ -x "$LBD" ] || { echo "FAIL setup: $LBD not built (cargo build -p lbd, or set LBD_BIN)"; echo "0 passed, 1 failed"; exit 1; }
fi
LBD_HAS_SOCKET=0
if [ "$KIND_A" = lbd ] || [ "$KIND_B" = lbd ]; then
	[[ $("$LBD" --help 2>&1) == *--status-socket* ]] && LBD_HAS_SOCKET=1
fi
[ -e /proc/net/ip_vs ] || modprobe ip_vs 2>/dev/null
[ -e /proc/net/ip_vs ] || { echo "FAIL setup: this kernel has no IPVS (run me through testbed/vm-run)"; echo "0 passed, 1 failed"; exit 1; }

W=$(mktemp -d "${TMPDIR:-/tmp}/e2e.XXXXXX")
PIDS=() # every process this script started (killed by pid on exit)

# ---------------------------------------------------------------- reporting
# Under TCG on a loaded host every exec costs 0.5-2 s: the helpers below use bash
# builtins only, and each check costs one exec (ip/ipvsadm/curl) per poll.
NPASS=0 NFAIL=0 NSKIP=0
now_us() { NOW=${EPOCHREALTIME/./}; } # sets NOW (microseconds)
secs_since() { # FROM_US: prints the seconds since, to 0.1 s
	now_us
	local d=$((NOW - $1))
	printf '%d.%d' $((d / 1000000)) $((d % 1000000 / 100000))
}
now_us
T0=$NOW
log() { echo "[$(secs_since "$T0")s] $*"; }
pass() { NPASS=$((NPASS + 1)); echo "PASS $*"; }
fail() { NFAIL=$((NFAIL + 1)); echo "FAIL $*"; }
# The VRRP-only checks are also tallied apart: with lbd as a director they are the
# part that must pass before lbd's IPVS side exists.
VPASS=0 VFAIL=0
vpass() { VPASS=$((VPASS + 1)); pass "$@"; }
vfail() { VFAIL=$((VFAIL + 1)); fail "$@"; }
skip() { NSKIP=$((NSKIP + 1)); echo "SKIP $*"; }
indent() { local l; while IFS= read -r l; do echo "     | $l"; done; }

# A builtin sleep: read with a timeout on a FIFO nobody writes to.
mkfifo "$W/tick"
exec {TICK}<>"$W/tick"
nap() { read -r -t "$1" -u "$TICK" _; }

# wait_until SECS CMD...: run CMD every 0.3 s until it succeeds (0) or SECS elapse (1).
wait_until() {
	local end
	now_us
	end=$((NOW + $1 * 1000000))
	shift
	while :; do
		"$@" && return 0
		now_us
		[ "$NOW" -ge "$end" ] && return 1
		nap 0.3
	done
}

# ---------------------------------------------------------------- teardown
cleanup() {
	local p ns
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	for ns in "${NSS[@]}"; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
	done
	for ns in "${NSS[@]}"; do ip netns delete "$ns" 2>/dev/null; done
	if [ -n "${LBD_VM_OUT:-}" ] && [ -d "${LBD_VM_OUT:-}" ] && [ -w "${LBD_VM_OUT:-}" ]; then
		cp -r "$W"/. "$LBD_VM_OUT"/ 2>/dev/null
		rm -f "$LBD_VM_OUT/tick"
	fi
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- topology
# One `ip -batch` per namespace: 7 execs for the whole topology.
create_namespaces() {
	local ns
	for ns in "${NSS[@]}"; do echo "netns add $ns"; done >"$W/ip.root"
	ip -b "$W/ip.root"
}
setup_topology() {
	local br i d
	{
		echo "link set lo up"
		for br in e2out e2in; do
			echo "link add $br type bridge stp_state 0 mcast_snooping 0 forward_delay 0"
			echo "link set $br up"
		done
		# port ns ifname bridge: a veth from the hub's bridge to ns, named ifname there.
		port() { echo "link add p${1#e2}$2 type veth peer name $2 netns $1"; echo "link set p${1#e2}$2 master $3 up"; }
		port e2cl eth0 e2out
		port e2da eth0 e2out
		port e2db eth0 e2out
		if [ "$MODE" = dr ]; then
			port e2r1 eth0 e2out
			port e2r2 eth0 e2out
		else
			port e2da eth1 e2in
			port e2db eth1 e2in
			port e2r1 eth0 e2in
			port e2r2 eth0 e2in
		fi
	} >"$W/ip.hub"
	node() { # ns lines...: lo up, the given lines, then every ethN up
		local n=$1
		shift
		{
			echo "link set lo up"
			printf '%s\n' "$@"
		} >"$W/ip.$n"
	}
	node e2cl "addr add $CLIENT/24 dev eth0" "link set eth0 up"
	for d in a b; do
		if [ "$MODE" = dr ]; then
			node "e2d$d" "addr add ${OUT_ADDR[$d]}/24 dev eth0" "link set eth0 up"
		else
			node "e2d$d" "addr add ${OUT_ADDR[$d]}/24 dev eth0" "link set eth0 up" \
				"addr add ${IN_ADDR[$d]}/24 dev eth1" "link set eth1 up"
		fi
	done
	for i in 1 2; do
		if [ "$MODE" = dr ]; then
			# The VIP on lo: accepted locally, never announced nor answered for on the wire.
			node "e2r$i" "addr add ${RIP[$i]}/24 dev eth0" "link set eth0 up" "addr add $VIP/32 dev lo"
		else
			node "e2r$i" "addr add ${RIP[$i]}/24 dev eth0" "link set eth0 up" "route add default via $VIP_IN"
		fi
	done
	ip -n e2hub -b "$W/ip.hub" || return
	local ns
	for ns in e2cl e2da e2db e2r1 e2r2; do
		ip -n "$ns" -b "$W/ip.$ns" || return
	done
}

# ---------------------------------------------------------------- real servers
declare -A RS_PID
# The real server is `python3 -m http.server 80`, run through runpy so that the
# process can import everything first (tens of seconds under TCG) and bind only once
# the GO file exists: a restart then measures IPVS, not python start-up.
RS_PY='
import os, runpy, sys, time
import http.server
print("imported", flush=True)
go = sys.argv[1]
while not os.path.exists(go):
    time.sleep(0.1)
sys.argv = ["http.server"] + sys.argv[2:]
import warnings
warnings.simplefilter("ignore", RuntimeWarning)  # runpy: http.server already imported
runpy.run_module("http.server", run_name="__main__", alter_sys=True)
'
rs_up() { [[ $(<"$W/rs$1.$2.log") == *"Serving HTTP"* ]]; }  # I RUN: listening
rs_imported() { [[ $(<"$W/rs$1.$2.log") == *imported* ]]; } # I RUN: waiting for GO
start_rs() { # I RUN GO: the server binds port 80 once file GO exists
	local i=$1 pre=""
	mkdir -p "$W/rs$i"
	echo "rs$i" >"$W/rs$i/name"
	if [ "$MODE" = dr ]; then
		# "all" is enough: the kernel uses max(all, interface) for both.
		pre='echo 1 >/proc/sys/net/ipv4/conf/all/arp_ignore; echo 2 >/proc/sys/net/ipv4/conf/all/arp_announce; '
	fi
	# -u: "Serving HTTP" reaches the log at once (rs_up polls it without an exec).
	ip netns exec "e2r$i" /bin/sh -c "${pre}exec $PY -u -S -c '$RS_PY' $3 80 --bind 0.0.0.0 --directory $W/rs$i" \
		>"$W/rs$i.$2.log" 2>&1 &
	RS_PID[$i.$2]=$!
	PIDS+=("$!")
	disown
}

# ---------------------------------------------------------------- directors
write_conf() { # a|b
	local d=$1 state prio i
	if [ "$d" = a ]; then state=MASTER prio=150; else state=BACKUP prio=100; fi
	{
		echo "global_defs {"
		echo "    router_id e2d$d"
		echo "}"
		echo "vrrp_instance VI_1 {"
		echo "    state $state"
		echo "    interface eth0"
		echo "    virtual_router_id 51"
		echo "    priority $prio"
		echo "    advert_int 1"
		echo "    virtual_ipaddress {"
		echo "        $VIP/32 dev eth0"
		[ "$MODE" = nat ] && echo "        $VIP_IN/32 dev eth1"
		echo "    }"
		echo "}"
		echo "virtual_server $VIP 80 {"
		echo "    delay_loop 1"
		echo "    lb_algo rr"
		echo "    lb_kind ${MODE^^}"
		echo "    protocol TCP"
		for i in 1 2; do
			echo "    real_server ${RIP[$i]} 80 {"
			echo "        weight 1"
			echo "        TCP_CHECK {"
			echo "            connect_timeout 1"
			echo "        }"
			echo "    }"
		done
		echo "}"
	} >"$W/dir$d.conf"
}

start_director() { # a|b
	local d=$1 pre="" cmd
	write_conf "$d"
	[ "$MODE" = nat ] && pre='echo 1 >/proc/sys/net/ipv4/ip_forward; '
	if [ "${KIND[$d]}" = keepalived ]; then
		# Own pid files: two keepalived in one mount namespace must not see each other.
		cmd="keepalived -n -l -D -f $W/dir$d.conf -p $W/dir$d.pid -r $W/dir$d.vrrp.pid -c $W/dir$d.check.pid"
	else
		cmd="$LBD -n -l -D -f $W/dir$d.conf -p $W/dir$d.pid"
		# Its own control socket, when this lbd has one (default /run/lbd/lbd.sock would
		# be shared by the two directors: one mount namespace).
		[ "$LBD_HAS_SOCKET" = 1 ] && cmd+=" --status-socket $W/dir$d.sock"
	fi
	ip netns exec "e2d$d" /bin/sh -c "${pre}exec $cmd" >"$W/dir$d.log" 2>&1 &
	PIDS+=("$!")
	disown
}

# kill_director a|b: SIGKILL every process of the director (the daemon and its
# children): a crash, nothing gets to clean up or say goodbye.
kill_director() {
	local p
	for p in $(ip netns pids "e2d$1"); do kill -9 "$p" 2>/dev/null; done
}

dname() { echo "director $1 (${KIND[$1]})"; }
# has_vips D: D holds the VIP (and in NAT the inside VIP).
has_vips() {
	local a
	a=$(ip -n "e2d$1" -o -4 addr show 2>/dev/null)
	[[ $a == *" $VIP/"* ]] || return 1
	[ "$MODE" = dr ] || [[ $a == *" $VIP_IN/"* ]]
}
# lacks_vips D: D holds neither VIP.
lacks_vips() {
	local a
	a=$(ip -n "e2d$1" -o -4 addr show 2>/dev/null)
	[[ $a != *" $VIP/"* && $a != *" $VIP_IN/"* ]]
}
ipvs_list() { ip netns exec "e2d$1" ipvsadm -Ln 2>&1; }
ipvs_save() { ip netns exec "e2d$1" ipvsadm -Sn 2>&1; }
# table_ok D [RIP...]: D's table has the service TCP VIP:80 rr with exactly these real
# servers, each with the mode's forwarding method and weight 1. Keeps the table read
# in TABLE[D].
declare -A TABLE
table_ok() {
	local d=$1 t line in_svc=0 n=0 want r
	shift
	t=$(ipvs_list "$d") || return 1
	TABLE[$d]=$t
	want=" $* "
	while IFS= read -r line; do
		if [[ $line =~ ^(TCP|UDP|SCTP|FWM) ]]; then
			in_svc=0
			[[ $line =~ ^TCP\ \ ${VIP//./\\.}:80\ rr\ *$ ]] && in_svc=1
		elif ((in_svc)) && [[ $line =~ ^\ \ -\>\ ([0-9.]+):80\ +([A-Za-z]+)\ +([0-9]+)\  ]]; then
			r=${BASH_REMATCH[1]}
			[[ $want == *" $r "* && ${BASH_REMATCH[2]} == "$FWD" && ${BASH_REMATCH[3]} == 1 ]] || return 1
			n=$((n + 1))
		fi
	done <<<"$t"
	[[ $t =~ (^|$'\n')TCP\ \ ${VIP//./\\.}:80\ rr ]] && [ "$n" -eq $# ]
}
tables_equal() { [ "$(ipvs_save a)" = "$(ipvs_save b)" ]; }
both_table_ok() { table_ok a "$@" && table_ok b "$@"; }
show_table() { echo "     $(dname "$1"):"; indent <<<"${TABLE[$1]:-$(ipvs_list "$1")}"; }
ipvs_empty_hint() { # D: explain an empty table on an lbd director
	if [ "${KIND[$1]}" = lbd ] && [[ $(ipvs_list "$1") != *$'\n'TCP* ]]; then
		echo "     NOTE $(dname "$1") programmed NO IPVS service: lbd's virtual_server side (config -> IPVS, TCP_CHECK -> IPVS) has not landed yet"
	fi
}
ipvs_conns() { # D: connections D's IPVS scheduled for the VIP service (stats "Conns")
	local line
	while IFS= read -r line; do
		if [[ $line =~ ^TCP\ +${VIP//./\\.}:80\ +([0-9]+) ]]; then
			echo "${BASH_REMATCH[1]}"
			return
		fi
	done < <(ip netns exec "e2d$1" ipvsadm -Ln --stats --exact 2>/dev/null)
	echo 0
}

# ---------------------------------------------------------------- client
client_get() { ip netns exec e2cl curl -s --max-time 2 "http://$VIP/name" 2>/dev/null; }

# A long-running client, one python process started early (start-up is slow under
# TCG): a fresh TCP connection per request, 1 s timeout, ~5 requests/s, one line per
# request ("TIME ok rsN" / "TIME fail ERROR"). It idles while $W/pause exists.
CLIENT_LOOP='
import http.client, os, sys, time
vip, log, pause = sys.argv[1:4]
out = open(log, "w", buffering=1)
while True:
    if os.path.exists(pause):
        time.sleep(0.1)
        continue
    t = time.time()
    try:
        c = http.client.HTTPConnection(vip, 80, timeout=1)
        c.request("GET", "/name")
        body = c.getresponse().read().decode().strip()
        c.close()
        out.write("%.3f ok %s\n" % (t, body))
    except Exception as e:
        out.write("%.3f fail %s\n" % (t, type(e).__name__))
    time.sleep(0.2)
'
LOOP=() # the loop's log, read by loop_read
loop_read() { mapfile -t LOOP <"$W/client-loop.log"; }
# loop_tail_ok FROM N [ONLY]: the last N requests after line FROM were all ok (and all
# answered by ONLY if given, else by both real servers).
loop_tail_ok() {
	local from=$1 n=$2 only=${3:-} i st who s1=0 s2=0
	loop_read
	[ $((${#LOOP[@]} - from)) -ge "$n" ] || return 1
	for ((i = ${#LOOP[@]} - n; i < ${#LOOP[@]}; i++)); do
		read -r _ st who <<<"${LOOP[$i]}"
		[ "$st" = ok ] || return 1
		[ -z "$only" ] || [ "$who" = "$only" ] || return 1
		[ "$who" = rs1 ] && s1=1
		[ "$who" = rs2 ] && s2=1
	done
	[ -n "$only" ] || { [ $s1 = 1 ] && [ $s2 = 1 ]; }
}
# loop_failures FROM: sets FAILED, TOTAL and WINDOW (seconds from first to last
# failure) for the requests after line FROM.
loop_failures() {
	local from=$1 i t st first="" last=""
	loop_read
	FAILED=0 TOTAL=$((${#LOOP[@]} - from))
	for ((i = from; i < ${#LOOP[@]}; i++)); do
		read -r t st _ <<<"${LOOP[$i]}"
		[ "$st" = ok ] && continue
		FAILED=$((FAILED + 1))
		[ -n "$first" ] || first=${t/./}
		last=${t/./}
	done
	if [ -n "$first" ]; then
		WINDOW=$(printf '%d.%d' $(((last - first) / 1000)) $(((last - first) % 1000 / 100)))
	else
		WINDOW=0
	fi
}

show_logs_tail() {
	local d
	for d in a b; do
		[ -s "$W/dir$d.log" ] || continue
		echo "     --- last lines of $(dname "$d")'s log ---"
		tail -n 15 "$W/dir$d.log" | indent
	done
}

# ================================================================= the scenario
echo "=== LVS + VRRP scenario: A=$KIND_A B=$KIND_B mode=$MODE ($(uname -r)) ==="
summary() {
	echo "=== A=$KIND_A B=$KIND_B mode=$MODE: $(secs_since "$T0") s, $NSKIP skipped ==="
	echo "    VRRP checks: $VPASS passed, $VFAIL failed; IPVS/traffic checks: $((NPASS - VPASS)) passed, $((NFAIL - VFAIL)) failed"
	if [ "${NO_IPVS:-0}" = 1 ] && [[ " $KIND_A $KIND_B " == *" lbd "* ]]; then
		echo "    NOTE an lbd director programmed no IPVS service: the IPVS/traffic failures above are expected until lbd's virtual_server side lands"
	fi
	echo "$NPASS passed, $NFAIL failed"
}
if ! create_namespaces; then
	fail "setup: namespaces"
	summary
	exit 1
fi
# The python processes first: their start-up overlaps the rest of the set-up.
: >"$W/pause"
: >"$W/go"
: >"$W/client-loop.log"
ip netns exec e2cl "$PY" -S -c "$CLIENT_LOOP" "$VIP" "$W/client-loop.log" "$W/pause" 2>"$W/client-loop.err" &
LOOP_PID=$!
PIDS+=("$LOOP_PID")
disown
start_rs 1 first "$W/go"
start_rs 2 first "$W/go"
# rs1's replacement for check 4, started now: it binds port 80 only when told.
start_rs 1 restart "$W/go-restart"
if ! setup_topology; then
	fail "setup: topology (bridges, veths, addresses)"
	summary
	exit 1
fi
start_director a
start_director b
log "topology up; real servers, directors and client loop starting"
if wait_until 120 rs_up 1 first && wait_until 60 rs_up 2 first; then
	log "real servers listening"
else
	fail "setup: the real servers' http.server did not come up"
fi

# ---- VRRP: A is master (holds the VIP(s)), B is backup.
if wait_until 60 has_vips a; then
	if lacks_vips b; then
		vpass "vrrp: $(dname a) is master and holds the VIP(s), $(dname b) does not ($(secs_since "$T0") s after start)"
	else
		vfail "vrrp: both directors hold a VIP"
	fi
else
	vfail "vrrp: $(dname a) did not take the VIP(s) within 60 s"
	show_logs_tail
fi

# ---- 2. The master's IPVS table.
NO_IPVS=0
if wait_until 30 table_ok a "${RIP[1]}" "${RIP[2]}"; then
	pass "2 ipvs: $(dname a) shows TCP $VIP:80 rr with ${RIP[1]} and ${RIP[2]} $FWD 1"
	show_table a
else
	fail "2 ipvs: $(dname a)'s table is not TCP $VIP:80 rr + ${RIP[1]}, ${RIP[2]} $FWD 1"
	show_table a
	ipvs_empty_hint a
fi
for d in a b; do
	[[ $(ipvs_list "$d") == *$'\n'TCP* ]] || NO_IPVS=1
done
# Once a director has no service at all, the IPVS-dependent checks below fail at once
# instead of waiting out their deadlines.
ipvs_wait() { # SECS CMD...
	local s=$1
	shift
	[ "$NO_IPVS" = 1 ] && s=1
	wait_until "$s" "$@"
}

# ---- 1. curl from the client reaches both real servers in turn.
if ipvs_wait 60 client_get >/dev/null; then
	seq_=""
	for _ in 1 2 3 4; do seq_+="$(client_get || echo '-') "; done
	seq_=${seq_% }
	if [[ $seq_ == "rs1 rs2 rs1 rs2" || $seq_ == "rs2 rs1 rs2 rs1" ]]; then
		pass "1 curl: the client reaches both real servers in turn through $VIP: $seq_"
	else
		fail "1 curl: not round robin over rs1/rs2: $seq_"
	fi
else
	fail "1 curl: the client got no answer from http://$VIP/name"
	ipvs_empty_hint a
fi

# ---- 2b. lbd ipvs list == ipvsadm -Ln on every lbd director.
for d in a b; do
	[ "${KIND[$d]}" = lbd ] || continue
	lbd_out=$(ip netns exec "e2d$d" "$LBD" ipvs list 2>&1)
	lbd_rc=$?
	if [ $lbd_rc -ne 0 ] && [[ $lbd_out =~ unrecognized\ subcommand|unexpected\ argument|not\ implemented|unknown\ command ]]; then
		skip "2 lbd ipvs list: not implemented in this lbd (${lbd_out%%$'\n'*})"
		continue
	fi
	same=0
	for _ in 1 2 3; do # counters may move between the two reads: retry
		adm_out=$(ipvs_list "$d")
		[ "$lbd_out" = "$adm_out" ] && { same=1; break; }
		lbd_out=$(ip netns exec "e2d$d" "$LBD" ipvs list 2>&1)
	done
	if [ $same = 1 ]; then
		n=$(wc -l <<<"$adm_out")
		if [[ $adm_out == *$'\n'TCP* ]]; then n="$n lines"; else n="$n lines: an EMPTY table, only the headers compared"; fi
		pass "2 lbd ipvs list on $(dname "$d") is byte-identical to ipvsadm -Ln ($n)"
	else
		fail "2 lbd ipvs list on $(dname "$d") differs from ipvsadm -Ln (diff ipvsadm lbd):"
		diff <(echo "$adm_out") <(echo "$lbd_out") | indent
	fi
done

# ---- 5. The backup keeps the same table (it is ready to take over).
if ipvs_wait 20 tables_equal && table_ok b "${RIP[1]}" "${RIP[2]}"; then
	pass "5 backup: $(dname b) has the same IPVS table as the master (ipvsadm -Sn identical)"
else
	fail "5 backup: $(dname b)'s table is not the master's full table (diff master backup, ipvsadm -Sn):"
	diff <(ipvs_save a) <(ipvs_save b) | indent
	ipvs_empty_hint b
fi

# From here on the client loop runs (it was paused for the curl sequence above).
rm -f "$W/pause"

# ---- 4. A real server down leaves both directors' tables, and comes back.
now_us
t_down=$NOW
kill -9 "${RS_PID[1.first]}" 2>/dev/null
# Gone, or a zombie (dead; this shell reaps its disowned children when it gets to it).
gone() { ! kill -0 "$1" 2>/dev/null || [ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" = Z ]; }
wait_until 10 gone "${RS_PID[1.first]}" || fail "4 health: rs1's http.server survived kill -9"
if ipvs_wait 30 both_table_ok "${RIP[2]}"; then
	pass "4 health: rs1 stopped -> removed from both directors' tables in $(secs_since "$t_down") s"
	loop_read
	from=${#LOOP[@]}
	if wait_until 20 loop_tail_ok "$from" 3 rs2; then
		pass "4 health: with rs1 out, the client loop's requests all go to rs2"
	else
		fail "4 health: with rs1 out, the client loop got: $(printf '%s, ' "${LOOP[@]:$from}")"
	fi
else
	fail "4 health: rs1 stopped but a table still has it (or lost rs2):"
	show_table a
	show_table b
	ipvs_empty_hint a
fi
log "rs1 down and out; restarting it"
if ! wait_until 90 rs_imported 1 restart; then
	fail "4 health: the replacement http.server for rs1 did not start"
fi
: >"$W/go-restart"
now_us
t_go=$NOW
if wait_until 60 rs_up 1 restart; then
	go_s=$(secs_since "$t_go")
	now_us
	t_up=$NOW
	if ipvs_wait 30 both_table_ok "${RIP[1]}" "${RIP[2]}"; then
		pass "4 health: rs1 restarted (listening ${go_s} s after start) -> back in both directors' tables $(secs_since "$t_up") s after it listened"
	else
		fail "4 health: rs1 restarted but it is not back in both tables:"
		show_table a
		show_table b
	fi
else
	fail "4 health: the replacement http.server for rs1 did not listen within 60 s"
fi
if ipvs_wait 10 tables_equal && table_ok b "${RIP[1]}" "${RIP[2]}"; then
	pass "5 backup: after the health changes both directors still have the same table"
else
	fail "5 backup: after the health changes the tables differ (diff master backup):"
	diff <(ipvs_save a) <(ipvs_save b) | indent
fi

# ---- 3. kill -9 the master: the backup takes the VIP(s) and the client goes on.
loop_read
kill_line=${#LOOP[@]}
conns_b0=$(ipvs_conns b)
now_us
t_kill=$NOW
kill_director a
log "killed $(dname a) with SIGKILL (client loop at request $kill_line)"
if wait_until 30 has_vips b; then
	loop_read
	takeover_line=${#LOOP[@]}
	vpass "3 failover: $(dname b) took the VIP(s) $(secs_since "$t_kill") s after kill -9 of $(dname a)"
else
	vfail "3 failover: $(dname b) did not take the VIP(s) within 30 s of kill -9 of $(dname a)"
	show_logs_tail
fi
if ipvs_wait 60 loop_tail_ok "${takeover_line:-$kill_line}" 10; then
	conns_b1=$(ipvs_conns b)
	loop_failures "$kill_line"
	if [ "$conns_b1" -gt "$conns_b0" ]; then
		pass "3 failover: the client goes on through $(dname b) ($((conns_b1 - conns_b0)) new connections in its IPVS, 10 answers in a row from both real servers)"
	else
		fail "3 failover: the client goes on but not through $(dname b)'s IPVS (Conns $conns_b0 -> $conns_b1)"
		show_table b
	fi
	echo "     failover: $FAILED of $TOTAL client requests failed after the kill -9 (first to last failure: $WINDOW s)"
else
	loop_failures "$kill_line"
	fail "3 failover: the client did not get 10 answers in a row from both real servers after kill -9 ($FAILED of $TOTAL failed)"
	ipvs_empty_hint b
fi
kill -9 "$LOOP_PID" 2>/dev/null

summary
[ "$NFAIL" -eq 0 ]
