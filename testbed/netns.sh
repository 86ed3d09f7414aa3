# shellcheck shell=bash
# netns.sh: bash functions for end-to-end scenarios on a private layer-2 segment.
#
#   . testbed/netns.sh
#   netns_setup vmx 3            # namespaces vmx1 vmx2 vmx3 on one bridge
#   netns_cleanup_on_exit vmx    # tear down on EXIT/INT/TERM (keeps an existing EXIT trap)
#   netns_exec vmx 1 ping -c1 "$(netns_addr4 2)"
#   netns_teardown vmx           # idempotent; also what the trap runs
#
# Topology for PREFIX and N:
#   namespace PREFIXhub  holds bridge PREFIXbr and one veth end PREFIXp<i> per node;
#   namespace PREFIX<i>  (i = 1..N) holds eth0 (the other veth end) with
#                        192.0.2.<NETNS_V4_BASE+i>/24 and 2001:db8::<NETNS_V4_BASE+i>/64
#                        (the IPv6 suffix is the same decimal digits, e.g. ::11).
# Everything is created inside namespaces (veths are created directly there), so the
# caller's network namespace, the host's included, is never touched and names cannot
# collide with other users of the machine. The bridge has STP and multicast snooping
# off so ARP, VRRP and neighbour discovery flood at once; IPv6 DAD is off in the nodes
# so addresses are usable immediately.
#
# Works on the host (as root) and inside the test-bed VM (testbed/vm-run). Needs
# iproute2. PREFIX: 1-8 characters [a-z0-9] (interface names are at most 15).

: "${NETNS_V4_BASE:=10}"

_netns_check_prefix() {
	if ! [[ ${1:-} =~ ^[a-z][a-z0-9]{0,7}$ ]]; then
		echo "netns.sh: bad PREFIX '${1:-}' (1-8 chars [a-z0-9], starting with a letter)" >&2
		return 2
	fi
}

# netns_addr4 I: the IPv4 address of node I (no prefix length).
netns_addr4() { echo "192.0.2.$((NETNS_V4_BASE + $1))"; }
# netns_addr6 I: the IPv6 address of node I (no prefix length).
netns_addr6() { echo "2001:db8::$((NETNS_V4_BASE + $1))"; }
# netns_name PREFIX I: the namespace of node I.
netns_name() { echo "$1$2"; }

# netns_exec PREFIX I COMMAND...: run COMMAND in node I's namespace.
netns_exec() {
	local prefix=$1 i=$2
	shift 2
	ip netns exec "$prefix$i" "$@"
}

# netns_list PREFIX: the namespaces of PREFIX that exist (hub and nodes).
netns_list() {
	_netns_check_prefix "$1" || return
	ip netns list 2>/dev/null | awk -v p="$1" '{ n = $1; if (n == p "hub" || (index(n, p) == 1 && substr(n, length(p) + 1) ~ /^[0-9]+$/)) print n }'
}

# netns_teardown PREFIX: delete the hub and every node namespace of PREFIX (and with
# them their veths and bridge). Safe to call any number of times, also half set up.
netns_teardown() {
	_netns_check_prefix "$1" || return
	local ns
	for ns in $(netns_list "$1"); do
		ip netns delete "$ns" 2>/dev/null || true
	done
	return 0
}

# netns_setup PREFIX N: create the topology above (first removing any leftovers of
# PREFIX). On failure it removes what it created and returns non-zero.
netns_setup() {
	local prefix=$1 n=$2 i hub ns
	_netns_check_prefix "$prefix" || return
	if ! [[ $n =~ ^[0-9]+$ ]] || [ "$n" -lt 1 ] || [ $((NETNS_V4_BASE + n)) -gt 254 ]; then
		echo "netns.sh: N must be 1..$((254 - NETNS_V4_BASE)), got '$n'" >&2
		return 2
	fi
	command -v ip >/dev/null || { echo "netns.sh: ip not found: apt-get install -y iproute2" >&2; return 2; }
	netns_teardown "$prefix"
	hub=${prefix}hub
	if ! _netns_setup_inner "$prefix" "$n" "$hub"; then
		echo "netns.sh: setup of $prefix failed; removing it" >&2
		netns_teardown "$prefix"
		return 1
	fi
}

_netns_setup_inner() {
	local prefix=$1 n=$2 hub=$3 i ns
	ip netns add "$hub" || return
	ip -n "$hub" link set lo up || return
	ip -n "$hub" link add "${prefix}br" type bridge stp_state 0 mcast_snooping 0 || return
	ip -n "$hub" link set "${prefix}br" up || return
	for ((i = 1; i <= n; i++)); do
		ns=$prefix$i
		ip netns add "$ns" || return
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 || return
		ip -n "$ns" link set lo up || return
		ip -n "$hub" link add "${prefix}p$i" type veth peer name eth0 netns "$ns" || return
		ip -n "$hub" link set "${prefix}p$i" master "${prefix}br" up || return
		ip -n "$ns" addr add "$(netns_addr4 "$i")/24" dev eth0 || return
		ip -n "$ns" addr add "$(netns_addr6 "$i")/64" dev eth0 nodad || return
		ip -n "$ns" link set eth0 up || return
	done
}

# netns_cleanup_on_exit PREFIX: tear PREFIX down when the shell exits or is
# interrupted. An EXIT trap already set is kept and runs first.
netns_cleanup_on_exit() {
	_netns_check_prefix "$1" || return
	local old="" cur
	cur=$(trap -p EXIT)
	if [ -n "$cur" ]; then
		# "trap -- 'CMD' EXIT", quoted for re-use by the shell: let the shell unquote it.
		eval "local -a parsed=($cur)"
		# shellcheck disable=SC2154 # assigned by the eval above
		old=${parsed[2]}
	fi
	# shellcheck disable=SC2064 # expand now: the prefix is fixed for this trap
	trap "${old:+$old; }netns_teardown '$1'" EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}
