#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Issue 8 (security), the parts that need namespaces, veth, nft, ss,
# sysctls, cgroups and setpriv: whatever a race does for a socket's owner
# runs as the owner, wherever it starts (connect() or the workqueue), and
# is refused when the same thing on a plain socket would be.  Races run as
# uid 65534 (or 1000 and 1001 for the cache) in the client namespace of
# helpers/topo.sh.  Each test names the item of the issue's contract it
# covers; the single-process checks are in security.c.
. "$(dirname "$0")/lib.sh"
. "$TAPS_TOP/selftests/helpers/topo.sh"
plan 9

if ! topo_up tsec; then
	echo "Bail out! topology setup failed"
	exit 1
fi
tmpd=$(mktemp -d)
cgmounted=
cg=
cleanup() {
	topo_down
	[ -n "$cg" ] && rmdir "/sys/fs/cgroup/$cg" 2>/dev/null
	[ -n "$cgmounted" ] && umount /sys/fs/cgroup
	rm -rf "$tmpd"
}
trap cleanup EXIT
trap 'exit 1' TERM INT

# The attempt delay, as in cache.sh: 1 s on the debug kernel.
D=250
if [ "$TAPS_SLOW" = 1 ]; then
	D=1000
	tc policy set delay ${D}ms || echo "# policy set delay ${D}ms failed"
fi
SLOW=$((D - 10))
FAST=$((D / 2))

# Races run as uid 65534 (or 1000, 1001) through taps_race -N NS -u UID,
# which enters the namespace and then drops every privilege as setpriv
# would: one process instead of three (ip netns exec, setpriv, taps_race)
# under TCG, where each costs a few hundred milliseconds.
# nobody RACE-ARGS...: taps_race as uid 65534 in the client namespace.
nobody() { "$TR" -N "$C" -u 65534 "$@"; }
u_race() { local u=$1; shift; "$TR" -N "$C" -u "$u" "$@"; }
# The client namespace's own nft table (output), through nsenter: ip netns
# exec mounts a fresh /sys, without the cgroup2 mount nft looks names up in.
cnft() { nsenter --net="/run/netns/$C" nft "$@"; }
# tc(8) in the client namespace (tc is topo.sh's tapsctl).
tc_c() { nsenter --net="/run/netns/$C" tc "$@"; }
cnft_setup() {
	cnft delete table inet sec 2>/dev/null
	cnft -f - <<-EOF
		add table inet sec
		add chain inet sec out { type filter hook output priority 0; }
	EOF
}

# hold NAME WORD CMD...: run CMD with standard input from a FIFO and its
# output in $tmpd/NAME.out, until release NAME; waits (10 s at most) for
# WORD in its output.  The children do not inherit the other holds' FIFO
# ends (or those would never see their end of file).
_hold_fds=()
hold() {
	local name=$1 word=$2 fd i
	shift 2
	mkfifo "$tmpd/$name.in" || return 1
	: >"$tmpd/$name.out"
	(
		for i in "${_hold_fds[@]}"; do
			eval "exec $i>&-"
		done
		exec "$@" <"$tmpd/$name.in" >"$tmpd/$name.out" 2>&1
	) &
	_topo_pids+=($!)
	eval "${name}_pid=$!"
	exec {fd}>"$tmpd/$name.in"
	_hold_fds+=("$fd")
	eval "${name}_fd=$fd"
	wait_for "$name" "$word" 100 && return 0
	echo "# $name did not print $word: $(<"$tmpd/$name.out")"
	return 1
}
# Under TCG every process costs a few hundred milliseconds: the waiting
# loops below use builtins only.  nap SECONDS sleeps on a FIFO that never
# has data (opened read-write: no other end needed; the guest has no
# /dev/fd for a process substitution); has FILE WORD looks for WORD in FILE.
mkfifo "$tmpd/nap" && exec {_napfd}<>"$tmpd/nap"
nap() { read -r -t "$1" -u "$_napfd" _ || :; }
has() {
	local l
	[ -r "$1" ] || return 1
	while IFS= read -r l || [ -n "$l" ]; do
		[[ $l == *"$2"* ]] && return 0
	done <"$1"
	return 1
}
# wait_for NAME WORD TENTHS: until WORD is in NAME's output.
wait_for() {
	local i
	for ((i = 0; i < $3; i++)); do
		has "$tmpd/$1.out" "$2" && return 0
		nap 0.1
	done
	return 1
}
# say_to NAME LINE: a line on NAME's standard input.
say_to() {
	local fd
	eval "fd=\${${1}_fd}"
	echo "$2" >&"$fd"
}
# release NAME: its standard input ends; it must exit within 10 s.
release() {
	local fd pid i keep=() f
	eval "fd=\${${1}_fd:-} pid=\${${1}_pid:-}"
	[ -n "$fd" ] && eval "exec $fd>&-"
	for f in "${_hold_fds[@]}"; do
		[ "$f" = "$fd" ] || keep+=("$f")
	done
	_hold_fds=("${keep[@]}")
	eval "${1}_fd= ${1}_pid="
	rm -f "$tmpd/$1.in"
	[ -n "$pid" ] || return 0
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
		nap 0.1
	done
	echo "# $1 (pid $pid) did not exit at the end of its input"
	kill "$pid"
	wait "$pid" 2>/dev/null
	return 1
}
# Kernel reports since the test started, for the tests whose real check
# is the debug kernel's KASAN (the runner checks the whole log too).
klog_mark() { _klog=$(dmesg | wc -l); }
klog_clean() {
	local new
	new=$(dmesg | tail -n +$((_klog + 1)) |
		grep -E 'BUG:|KASAN|Oops|general protection|WARNING:|refcount_t|list_(add|del) corruption')
	[ -z "$new" ] && return 0
	echo "# kernel report:"
	echo "$new" | head -20 | sed 's/^/#   /'
	return 1
}

# Every result says how long it took, for the runtime budget.
_t0=$SECONDS
timed() { echo "# ($((SECONDS - _t0)) s)"; _t0=$SECONDS; }
# SECURITY_ONLY="t_name..." runs only those (the others are skipped).
tcheck() {
	if [ -n "${SECURITY_ONLY:-}" ] && [[ " $SECURITY_ONLY " != *" $2 "* ]]; then
		skip "$1" "not in SECURITY_ONLY"
		return
	fi
	check "$@"
	timed
}

# ---------------------------------------------------------------------------
# Item 3 (attempt time; bind time is in security.c): the sysctl is lowered,
# nobody binds port 111 (accepted), root raises it again, and nobody races
# [blackholed IPv6, IPv4] from that port with a 1.5 s connection timeout:
# the IPv4 attempt, started by the workqueue after the attempt delay,
# binds with the owner's credentials and is refused (a failed attempt);
# the IPv6 one never answers, so the race ends at the timeout.  The server
# logs peer ports: none below 1024 may ever arrive, and connect() fails.
t_privport_attempt() {
	local bad=0 log=$tmpd/peers.log P=4300 r p
	: >"$log"
	hold psrv ready "$TSRV" -N "$S" -l "$log" -t $P || return 1
	nft_add ip6 daddr $SRV6 tcp dport $P drop || bad=1
	nsenter --net="/run/netns/$C" sysctl -qw net.ipv4.ip_unprivileged_port_start=100 || bad=1
	hold pr bound "$TR" -N "$C" -u 65534 -i -p tcp -d 100 -T 1500 -b 0.0.0.0/111 -G \
		$SRV6 $P $SRV4 $P || bad=1
	nsenter --net="/run/netns/$C" sysctl -qw net.ipv4.ip_unprivileged_port_start=1024 || bad=1
	say_to pr go
	wait_for pr "rc=" 150 || echo "# the race did not end in 15 s"
	r=$(grep "^rc=" "$tmpd/pr.out")
	say "$r"
	is "$(kv rc "$r")" -1 "connect() from port 111 after the sysctl went back" || bad=1
	is "$(kv err "$r")" ETIMEDOUT "its errno: the IPv6 attempt timed out" || bad=1
	is "$(kv failed "$r")" 1 "the IPv4 attempt failed (EACCES at its bind)" || bad=1
	release pr || bad=1
	release psrv || bad=1
	nft_flush
	nsenter --net="/run/netns/$C" sysctl -qw net.ipv4.ip_unprivileged_port_start=1024
	while read -r _ _ _ p; do
		p=${p#port=}
		if [ "$p" -lt 1024 ]; then
			echo "# the server saw a peer at source port $p"
			bad=1
		fi
	done <"$log"
	return $bad
}
tcheck "privileged port: re-checked with the owner's credentials when a queued attempt binds (item 3)" \
	t_privport_attempt

# grep_in TEXT WORD: the lines of TEXT with WORD in them (no process).
grep_in() {
	local l
	while IFS= read -r l; do
		[[ $l == *"$2"* ]] && echo "$l"
	done <<<"$1"
}
# ss of the client namespace, -e and -p at once (one ss per protocol: ss
# is slow to start under TCG); -e complains on stderr without cgroup2.
ss_c() { ss -N "$C" -"$1"nepH "${@:2}" 2>/dev/null; }

# id_check WHAT LINE SS: in SS (ss_c output) the connection of the
# taps_race LINE has uid 65534 and the AF_TAPS fd's inode, and ss -p
# names taps_race.
id_check() {
	local what=$1 laddr ino s bad=0
	laddr=$(kv local "$2")
	ino=$(kv ino "$2")
	s=$(grep_in "$3" " $laddr ")
	echo "# ss: $s"
	[ -n "$s" ] || { echo "# $what: no established socket from $laddr"; return 1; }
	[[ " $s " == *" uid:65534 "* ]] || { echo "# $what: not uid:65534"; bad=1; }
	[[ " $s " == *" ino:$ino "* ]] || { echo "# $what: not the AF_TAPS fd's inode $ino"; bad=1; }
	[[ $s == *'"taps_race"'* ]] || { echo "# $what: ss -p does not name taps_race"; bad=1; }
	return $bad
}

# Item 4: the inner socket of an established connection is the owner's in
# ss: uid 65534, and the inode of the AF_TAPS fd (so ss -p finds the
# process), whether the winning attempt was the first (started in
# connect()) or a later one (started by the workqueue), TCP or SCTP.
t_ss_identity() {
	local bad=0 l1 l2 l3 sst sss
	nft_add ip6 daddr $SRV6 tcp dport 4245 drop || return 1
	nft_add tcp dport 4247 drop || return 1
	hold i1 ready "$TR" -N "$C" -u 65534 -i -H -p tcp $SRV6 4245 $SRV4 4245 || return 1
	hold i2 ready "$TR" -N "$C" -u 65534 -i -H -p tcp $SRV4 4246 || return 1
	hold i3 ready "$TR" -N "$C" -u 65534 -i -H $SRV4 4247 || return 1
	sst=$(ss_c t state established)
	sss=$(ss_c S state established)
	l1=$(head -n 1 "$tmpd/i1.out")
	l2=$(head -n 1 "$tmpd/i2.out")
	l3=$(head -n 1 "$tmpd/i3.out")
	say "$l1"
	is "$(kv remote "$l1")" "$SRV4:4245" "IPv6 blackholed: the queued IPv4 attempt won" || bad=1
	id_check "TCP, later attempt" "$l1" "$sst" || bad=1
	say "$l2"
	id_check "TCP, first attempt" "$l2" "$sst" || bad=1
	say "$l3"
	is "$(kv proto "$l3")" sctp "TCP blackholed: the queued SCTP attempt won" || bad=1
	id_check "SCTP, later attempt" "$l3" "$sss" || bad=1
	release i1 || bad=1
	release i2 || bad=1
	release i3 || bad=1
	nft_flush
	return $bad
}
tcheck "ss -e: connections show uid 65534 and the AF_TAPS fd's inode, first or queued attempt (item 4)" \
	t_ss_identity

# Item 4, listening side: an AF_TAPS listener of nobody; its kernel
# listeners and what they accept (TCP and SCTP) are nobody's.
t_ss_listener() {
	local bad=0 fl s n
	hold il ready "$TR" -N "$C" -u 65534 -L 4310 || return 1
	hold ic1 ready "$TR" -N "$S" -H -p tcp $CLI4 4310 || bad=1
	hold ic2 ready "$TR" -N "$S" -H -p sctp $CLI4 4310 || bad=1
	wait_for il "proto=sctp" 50 || echo "# the listener did not accept SCTP: $(<"$tmpd/il.out")"
	for fl in ta Sa; do
		s=$(grep_in "$(ss_c $fl)" ":4310 ")
		echo "$s" | sed "s/^/# ss -${fl}e: /"
		n=$(grep_in "$s" "uid:" | grep -c .)
		# The listener and the connection it accepted, at least.
		[ "$n" -ge 2 ] || { echo "# ss -${fl}e: $n sockets on port 4310"; bad=1; }
		if grep_in "$s" "uid:" | grep -vq "uid:65534 "; then
			echo "# ss -${fl}e: a socket on port 4310 is not uid 65534"
			bad=1
		fi
	done
	release ic1 || bad=1
	release ic2 || bad=1
	release il || bad=1
	return $bad
}
tcheck "ss -e: an AF_TAPS listener's kernel listeners and accepted connections are uid 65534 (item 4)" \
	t_ss_listener

# Item 5: "meta skuid 65534 ... drop" on output blocks nobody's plain TCP
# connect; it blocks nobody's AF_TAPS attempts too, the one started in
# connect() and the one the workqueue starts after the IPv6 attempt is
# blackholed: ETIMEDOUT at TAPS_CONN_TIMEOUT.  Root is not blocked.
t_skuid() {
	local bad=0 P=4248 r
	cnft_setup || return 1
	cnft add rule inet sec out meta skuid 65534 ip daddr $SRV4 tcp dport $P drop || return 1
	nft_add ip6 daddr $SRV6 tcp dport $P drop || return 1
	r=$(nobody -c -T 1500 $SRV4 $P)
	is "$(kv err "$r")" EINPROGRESS "nobody's plain TCP connect: blocked (timed out)" || bad=1
	r=$(race -c -T 3000 $SRV4 $P)
	is "$(kv rc "$r")" 0 "root's plain TCP connect" || bad=1
	r=$(nobody -i -p tcp -T 1500 $SRV4 $P)
	say "$r"
	is "$(kv err "$r")" ETIMEDOUT "nobody, first attempt blocked" || bad=1
	r=$(nobody -i -p tcp -T 1500 $SRV6 $P $SRV4 $P)
	say "$r"
	is "$(kv err "$r")" ETIMEDOUT "nobody, queued IPv4 attempt blocked" || bad=1
	r=$(race -i -p tcp -T 3000 $SRV6 $P $SRV4 $P)
	say "$r"
	is "$(kv rc "$r")" 0 "root's AF_TAPS race is not blocked" || bad=1
	cnft delete table inet sec
	nft_flush
	return $bad
}
tcheck "nft meta skuid: a rule that blocks the owner blocks every attempt (item 5)" t_skuid

# Item 5, cgroup v2: a process in a child cgroup, "socket cgroupv2 level 1
# NAME drop" on output: its plain connect and every AF_TAPS attempt are
# blocked, the queued ones included; the same race outside the cgroup works.
t_cgroup() {
	local bad=0 P=4249 r
	cnft_setup || return 1
	if ! cnft add rule inet sec out socket cgroupv2 level 1 "\"$cg\"" ip daddr $SRV4 \
		tcp dport $P drop 2>"$tmpd/nft.err"; then
		cnft delete table inet sec
		echo "SKIP: $(<"$tmpd/nft.err")"
		return 2
	fi
	nft_add ip6 daddr $SRV6 tcp dport $P drop || return 1
	in_cg() { bash -c 'echo $$ >"/sys/fs/cgroup/'"$cg"'/cgroup.procs" && exec "$@"' in_cg "$@"; }
	r=$(in_cg "$TR" -N "$C" -u 65534 -c -T 1500 $SRV4 $P)
	is "$(kv err "$r")" EINPROGRESS "in the cgroup: plain TCP connect blocked (timed out)" ||
		bad=1
	r=$(in_cg "$TR" -N "$C" -u 65534 -i -p tcp -T 1500 $SRV6 $P $SRV4 $P)
	say "$r"
	is "$(kv err "$r")" ETIMEDOUT "in the cgroup: the queued IPv4 attempt blocked" || bad=1
	r=$(in_cg "$TR" -N "$C" -u 65534 -i -p tcp -T 1500 $SRV4 $P)
	say "$r"
	is "$(kv err "$r")" ETIMEDOUT "in the cgroup: the first attempt blocked" || bad=1
	r=$(nobody -i -p tcp -T 3000 $SRV6 $P $SRV4 $P)
	say "$r"
	is "$(kv rc "$r")" 0 "outside the cgroup: the race works" || bad=1
	cnft delete table inet sec
	nft_flush
	return $bad
}
t_cgroup_check() {
	local out rc
	# Here, not in t_cgroup's subshell, so that cleanup knows.
	if [ "$(stat -f -c %T /sys/fs/cgroup 2>/dev/null)" != cgroup2fs ]; then
		if ! mount -t cgroup2 none /sys/fs/cgroup; then
			fail "nft socket cgroupv2: the owner's cgroup blocks every attempt (item 5)" \
				"cannot mount cgroup2"
			return
		fi
		cgmounted=1
	fi
	cg=tapssec$$
	mkdir -p "/sys/fs/cgroup/$cg"
	out=$(t_cgroup)
	rc=$?
	echo "$out" | grep -v '^SKIP: '
	case $rc in
	0) ok "nft socket cgroupv2: the owner's cgroup blocks every attempt (item 5)" ;;
	2) skip "nft socket cgroupv2: the owner's cgroup blocks every attempt (item 5)" \
		"$(echo "$out" | sed -n 's/^SKIP: //p' | head -n 1)" ;;
	*) fail "nft socket cgroupv2: the owner's cgroup blocks every attempt (item 5)" ;;
	esac
}
if [ -n "${SECURITY_ONLY:-}" ] && [[ " $SECURITY_ONLY " != *" t_cgroup "* ]]; then
	skip "nft socket cgroupv2: the owner's cgroup blocks every attempt (item 5)" \
		"not in SECURITY_ONLY"
else
	t_cgroup_check
	timed
fi

# Item 7: an AF_TAPS listener in netns A accepts from a plain client in
# netns B; the path dies (nft drops everything in A), the accepted socket
# sends and is closed (the association, or TCP connection, keeps
# retransmitting), A is deleted while it lives, then its timers run out
# (rto and retries lowered in A).  On the stock kernel: nothing breaks; on
# the debug kernel, KASAN reports a use-after-free of struct net when an
# accepted socket holds no namespace reference.  SCTP and TCP each in a
# pair of namespaces of their own (a TCP connection holding A would keep
# it alive for the SCTP association), side by side.
GONE_RTO=$((TAPS_SLOW ? 3000 : 1000))
gone_setup() {
	local proto=$1 A=$2 B=$3
	ip netns add "$A" && _topo_ns+=("$A") || return 1
	ip netns add "$B" && _topo_ns+=("$B") || return 1
	ip -n "$A" -batch - <<-EOF || return 1
		link set lo up
		link add va type veth peer name vb netns $B
		addr add 198.51.100.1/24 dev va
		link set va up
	EOF
	ip -n "$B" -batch - <<-EOF || return 1
		link set lo up
		addr add 198.51.100.2/24 dev vb
		link set vb up
	EOF
	# The association must outlive the namespace's teardown (seconds on
	# the debug kernel) and end soon after: a retransmission every RTO
	# (rto_min = rto_max), the shutdown guard timer (5 x rto_max) ends it.
	nsenter --net="/run/netns/$A" sysctl -qw net.sctp.rto_max=$GONE_RTO \
		net.sctp.rto_min=$GONE_RTO net.sctp.rto_initial=$GONE_RTO \
		net.sctp.association_max_retrans=10 net.sctp.path_max_retrans=10 \
		net.ipv4.tcp_orphan_retries=1 net.ipv4.tcp_retries2=2 || return 1
	hold "gl$proto" ready "$TR" -N "$A" -u 65534 -p "$proto" -S 65536 -L 4320 || return 1
	hold "gc$proto" ready "$TR" -N "$B" -c -H -p "$proto" 198.51.100.1 4320 || return 1
	wait_for "gl$proto" "proto=$proto" 50 ||
		{ echo "# not accepted: $(<"$tmpd/gl$proto.out")"; return 1; }
	nsenter --net="/run/netns/$A" nft -f - <<-EOF
		add table inet dead
		add chain inet dead in { type filter hook input priority -10; policy drop; }
		add chain inet dead out { type filter hook output priority -10; policy drop; }
	EOF
}
t_netns_gone() {
	local bad=0 r p
	gone_setup sctp tsgas$$ tsgbs$$ || bad=1
	gone_setup tcp tsgat$$ tsgbt$$ || bad=1
	[ $bad = 0 ] || return 1
	klog_mark
	# Each listener sends 64 KB on its accepted socket and closes everything.
	release glsctp || bad=1
	release gltcp || bad=1
	ip netns del tsgas$$ || bad=1
	ip netns del tsgat$$ || bad=1
	release gcsctp
	release gctcp
	ip netns del tsgbs$$
	ip netns del tsgbt$$
	# The association ends 5 RTOs after the close (TCP sooner: orphan
	# retries 1); then a little more.
	nap $((GONE_RTO * 5 / 1000 + 2))
	klog_clean || bad=1
	for p in sctp tcp; do
		r=$(race -i -p $p $SRV4 4245)
		is "$(kv rc "$r")" 0 "a $p race after the namespaces went" || bad=1
	done
	return $bad
}
tcheck "accepted SCTP association and TCP connection outlive their deleted namespace, path dead (item 7)" \
	t_netns_gone

# Item 8: connect() #1 (TAPS_CONN_TIMEOUT 600 ms) is refused at once;
# connect() #2 on the same socket, right after, over a path with 350 ms of
# added delay, must win within its own 600 ms: the first race's timeout
# must not end it.
t_stale_timeout() {
	local bad=0 out l1 l2
	tc_c qdisc add dev veth0 root netem delay 350ms || return 1
	out=$(race -p tcp -T 600 -F 127.0.0.1/5999 $SRV4 4251)
	tc_c qdisc del dev veth0 root
	l1=$(echo "$out" | sed -n 1p)
	l2=$(echo "$out" | sed -n 2p)
	say "$out"
	is "$(kv err "$l1")" ECONNREFUSED "connect #1: refused at once" || bad=1
	is "$(kv rc "$l2")" 0 "connect #2 on the same socket: connected" || bad=1
	ge "$(kv ms "$l2")" 340 "connect #2 took the added delay (ms)" || bad=1
	return $bad
}
tcheck "a finished race's timeout never ends the next race on the socket (item 8)" t_stale_timeout

# Item 12: an IPv4-mapped IPv6 endpoint is the IPv4 address it carries:
# an IPv4 rule prohibits it, and it shares the IPv4 address's cache entry.
t_mapped() {
	local bad=0 r
	tc rule add 192.0.2.0/24 prohibit tcp || return 1
	r=$(race -p tcp ::ffff:$SRV4 4252)
	say "$r"
	is "$(kv err "$r")" EPERM "TCP to ::ffff:$SRV4 under a rule prohibiting TCP to 192.0.2.0/24" ||
		bad=1
	tc rule del 192.0.2.0/24 || bad=1
	tc cache flush || bad=1
	r=$(race -p tcp ::ffff:$SRV4 4252)
	say "$r"
	is "$(kv rc "$r")" 0 "race to ::ffff:$SRV4 without the rule" || bad=1
	r=$(race -p tcp $SRV4 4252)
	is "$(kv rc "$r")" 0 "race to $SRV4" || bad=1
	r=$(tc cache show | grep " port 4252 ")
	echo "$r" | sed 's/^/#   /'
	is "$(echo "$r" | grep -c .)" 1 "cache entries for port 4252" || bad=1
	is "${r%% *}" "$SRV4" "the entry's address" || bad=1
	return $bad
}
tcheck "IPv4-mapped endpoints: IPv4 rules apply, one cache entry (item 12)" t_mapped

# Item 13: the cache is partitioned by the socket owner's uid.  uid 1000's
# race teaches its partition that SCTP wins (TCP blackholed); uid 1001
# learns nothing from it (no TAPS_INFO_F_CACHED, waits the delay again);
# uid 1000's next race is cached.  uid 1001 making TCP fail with a local
# trick (SO_BINDTODEVICE lo, TCP_SYNCNT 1) never demotes TCP in uid 1000's
# races.  tapsctl shows the uid of each entry.
t_cache_uid() {
	local bad=0 r
	tc cache flush || return 1
	nft_add tcp dport 4253 drop || return 1
	r=$(u_race 1000 $SRV4 4253)
	say "$r"
	is "$(kv proto "$r")" sctp "uid 1000: TCP blackholed, SCTP wins" || bad=1
	ge "$(kv ms "$r")" $SLOW "uid 1000: waits the delay (ms)" || bad=1
	r=$(u_race 1001 $SRV4 4253)
	say "$r"
	is "$(kv cached "$r")" 0 "uid 1001: nothing cached for it" || bad=1
	ge "$(kv ms "$r")" $SLOW "uid 1001: waits the delay too (ms)" || bad=1
	r=$(u_race 1000 $SRV4 4253)
	say "$r"
	is "$(kv cached "$r")" 1 "uid 1000 again: cached" || bad=1
	lt "$(kv ms "$r")" $FAST "uid 1000 again: SCTP first (ms)" || bad=1
	tc cache show | grep -q "^$SRV4 port 4253 stream uid 1000 winner sctp " ||
		{ echo "# cache show: $(tc cache show)"; bad=1; }
	tc -j cache show | jq_ok "any(e['addr'] == '$SRV4' and e['port'] == 4253 and
		e.get('uid') == 1000 and e['winner'] == 'sctp' for e in d) and
		any(e['addr'] == '$SRV4' and e['port'] == 4253 and e.get('uid') == 1001 for e in d)" \
		"cache show -j: an entry per uid" || bad=1
	nft_flush
	r=$(u_race 1001 -p tcp -B lo -O 6:7:1 -T 5000 $SRV4 4254)
	say "$r"
	is "$(kv rc "$r")" -1 "uid 1001: TCP made to fail locally" || bad=1
	r=$(u_race 1000 $SRV4 4254)
	say "$r"
	is "$(kv proto "$r")" tcp "uid 1000: TCP still first" || bad=1
	is "$(kv winner "$r")" 0 "uid 1000: the first candidate won" || bad=1
	is "$(kv cached "$r")" 0 "uid 1000: no cached state changed its order" || bad=1
	tc cache flush
	return $bad
}
tcheck "cache partitioned by uid: no oracle, no poisoning across users (item 13)" t_cache_uid

finish
