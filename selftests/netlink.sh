#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The rest of the "taps" generic netlink family through tapsctl: counters,
# the socket list (own sockets only for an unprivileged user), the events
# of a race on the "events" group (per namespace), and unloading taps.ko
# with a populated cache and a monitor running.  Malformed messages and the
# random fuzz are in netlink_fuzz.c.
. "$(dirname "$0")/lib.sh"
. "$TAPS_TOP/selftests/helpers/topo.sh"
plan 8

if ! topo_up tnl; then
	echo "Bail out! topology setup failed"
	exit 1
fi
tmpd=$(mktemp -d)
trap 'topo_down; rm -rf "$tmpd"' EXIT
trap 'exit 1' TERM INT

# hold NAME CMD...: run CMD with standard input from a FIFO, output in
# $tmpd/NAME.out, until release NAME; waits for its "ready" line.  The
# children do not inherit the other holds' FIFO ends (or those would never
# see their end of file).
_hold_fds=()
hold() {
	local name=$1 fd i
	shift
	mkfifo "$tmpd/$name.in" || return 1
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
	for ((i = 0; i < 100; i++)); do
		[[ $(<"$tmpd/$name.out") == *ready* ]] 2>/dev/null && return 0
		sleep 0.1
	done
	echo "# $name did not get ready: $(<"$tmpd/$name.out")"
	return 1
}
# release NAME: its standard input ends; it must exit within 10 s.
release() {
	local fd pid i
	eval "fd=\${${1}_fd:-} pid=\${${1}_pid:-}"
	[ -n "$fd" ] && eval "exec $fd>&-"
	local keep=() f
	for f in "${_hold_fds[@]}"; do
		[ "$f" = "$fd" ] || keep+=("$f")
	done
	_hold_fds=("${keep[@]}")
	eval "${1}_fd= ${1}_pid="
	rm -f "$tmpd/$1.in"
	[ -n "$pid" ] || return 0
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
		sleep 0.1
	done
	echo "# $1 (pid $pid) did not exit at the end of its input"
	kill "$pid"
	wait "$pid" 2>/dev/null
	return 1
}

STATS_NAMES="races races_failed attempts wins_tcp wins_sctp wins_mptcp wins_inet wins_inet6
fail_refused fail_unreach fail_timeout fail_other cache_hits cache_misses policy_denied
connect_mean_us connect_max_us"

t_stats() {
	local bad=0 a b r1 r2 r3 names
	names=$(tc stats | cut -d' ' -f1 | tr '\n' ' ')
	is "$names" "$(echo $STATS_NAMES) " "stats names and order" || bad=1
	tc stats | grep -qv '^[a-z_0-9]* [0-9][0-9]*$' && { echo "# stats: $(tc stats)"; bad=1; }
	tc -j stats | jq_ok "sorted(d) == sorted('$(echo $STATS_NAMES)'.split()) and
		all(isinstance(v, int) for v in d.values())" "stats -j keys" || bad=1
	a=$(tc -j stats)
	r1=$(race $SRV4 4243)	# TCP refused, SCTP wins: 2 attempts, 1 refused
	say "$r1"
	r2=$(race $SRV6 5041)	# both refused: 2 attempts, a failed race
	say "$r2"
	nft_add ip daddr $SRV4 tcp dport 4249 reject with icmpx type host-unreachable || bad=1
	r3=$(race -p tcp $SRV4 4249)	# unreachable: 1 attempt
	say "$r3"
	b=$(tc -j stats)
	is "$(kv proto "$r1")" sctp "race 1 won by SCTP" || bad=1
	is "$(kv err "$r2")" ECONNREFUSED "race 2 refused" || bad=1
	is "$(kv err "$r3")" EHOSTUNREACH "race 3 unreachable" || bad=1
	$TJSON delta "$a" "$b" races=3 races_failed=2 attempts=5 wins_tcp=0 wins_sctp=1 \
		wins_mptcp=0 wins_inet=1 wins_inet6=0 fail_refused=3 fail_unreach=1 \
		fail_timeout=0 fail_other=0 policy_denied=0 || bad=1
	echo "$b" | jq_ok "d['connect_max_us'] >= $(kv connect_us "$r1") and
		0 < d['connect_mean_us'] <= d['connect_max_us']" "connect mean and max" || bad=1
	nft_flush
	return $bad
}
check "stats: names; counters move by exactly what three races did" t_stats

t_conn_show() {
	local bad=0 est lis ino_e ino_l ino_u e
	hold est "$TR" -N "$C" -H $SRV4 4243 || return 1
	hold lis "$TR" -N "$C" -L 4600 || return 1
	hold unc ip netns exec "$C" "$TAPS_BIN/helpers/taps_hold" 1 || return 1
	est=$(head -n 1 "$tmpd/est.out")
	lis=$(head -n 1 "$tmpd/lis.out")
	say "$est"
	ino_e=$(kv ino "$est")
	ino_l=$(kv ino "$lis")
	e="[c for c in d if c['inode'] == $ino_e]"
	tc -j conn show | jq_ok "len($e) == 1 and $e[0]['state'] == 'established' and
		$e[0]['protocol'] == 'sctp' and $e[0]['uid'] == 0 and
		$e[0]['remote'] == {'addr': '$SRV4', 'port': 4243} and
		$e[0]['local']['addr'] == '$CLI4' and
		$e[0]['local']['port'] == int('$(kv local "$est")'.split(':')[1]) and
		$e[0]['candidates'] == $(kv candidates "$est") and
		$e[0]['attempts'] == $(kv attempts "$est") and $e[0]['failed'] == $(kv failed "$est") and
		$e[0]['connect_us'] == $(kv connect_us "$est")" "the established socket" || bad=1
	e="[c for c in d if c['inode'] == $ino_l]"
	tc -j conn show | jq_ok "len($e) == 1 and $e[0]['state'] == 'listening' and
		$e[0]['local']['port'] == 4600 and 'remote' not in $e[0]" "the listener" || bad=1
	tc -j conn show | jq_ok "any(c['state'] == 'unconnected' for c in d)" \
		"the unconnected socket" || bad=1
	tc conn show | grep -q "^established sctp $(kv local "$est") -> $SRV4:4243 uid 0 ino $ino_e " ||
		{ echo "# conn show text: $(tc conn show)"; bad=1; }
	tc conn show | grep -q "^listening - .*:4600 uid 0 ino $ino_l" ||
		{ echo "# conn show text (listener): $(tc conn show)"; bad=1; }
	release est || bad=1
	release lis || bad=1
	release unc || bad=1
	tc -j conn show | jq_ok "not [c for c in d if c['inode'] in ($ino_e, $ino_l)]" \
		"closed sockets gone" || bad=1
	return $bad
}
check "conn show: own sockets with state, protocol, addresses, counters" t_conn_show

t_conn_uid() {
	local bad=0 mine theirs ino_m ino_t out
	hold mine ip netns exec "$C" setpriv --reuid=65534 --regid=65534 --clear-groups \
		--inh-caps=-all "$TR" -H $SRV4 4242 || return 1
	hold theirs "$TR" -N "$C" -H $SRV4 4245 || return 1
	ino_m=$(kv ino "$(head -n 1 "$tmpd/mine.out")")
	ino_t=$(kv ino "$(head -n 1 "$tmpd/theirs.out")")
	out=$(ip netns exec "$C" setpriv --reuid=65534 --regid=65534 --clear-groups \
		--inh-caps=-all "$TAPSCTL" -j conn show)
	is "$?" 0 "conn show as nobody" || bad=1
	echo "$out" | jq_ok "[c['inode'] for c in d if c['inode'] == $ino_m] and
		all(c['uid'] == 65534 for c in d) and
		not [c for c in d if c['inode'] == $ino_t]" "nobody sees only its own" || bad=1
	tc -j conn show | jq_ok "{c['inode']: c['uid'] for c in d if c['inode'] in ($ino_m, $ino_t)} ==
		{$ino_m: 65534, $ino_t: 0}" "root sees both, with their owners" || bad=1
	release mine || bad=1
	release theirs || bad=1
	return $bad
}
check "conn show: an unprivileged user lists only its own sockets" t_conn_uid

# monitor_start NAME ARGS...: tapsctl ARGS monitor in the background.
monitor_start() {
	local name=$1
	shift
	"$TAPSCTL" "$@" monitor >"$tmpd/$name" 2>"$tmpd/$name.err" &
	_topo_pids+=($!)
	eval "${name}_pid=$!"
}
# monitor_stop NAME: SIGTERM (background jobs of a script ignore SIGINT),
# its exit status must be 0.
monitor_stop() {
	local pid rc
	eval "pid=\$${1}_pid"
	kill -TERM "$pid" || return 1
	wait "$pid"
	rc=$?
	[ $rc = 0 ] || { echo "# monitor $1 exited $rc: $(<"$tmpd/$1.err")"; return 1; }
}

t_monitor() {
	local bad=0 r1 r2 ino C2=tnlx$$
	netns_add $C2 || return 1
	tc cache flush
	monitor_start monj -n "$C" -j
	monitor_start mont -n "$C"
	monitor_start other -n $C2 -j
	sleep 2	# joined: nothing says when
	r1=$(race $SRV4 4243)
	say "$r1"
	r2=$(race $SRV4 5051)
	say "$r2"
	ino=$(kv ino "$r1")
	sleep 1
	monitor_stop monj || bad=1
	monitor_stop mont || bad=1
	monitor_stop other || bad=1
	echo "# text events:"
	sed 's/^/#   /' "$tmpd/mont"
	$TJSON lines "set(e['event'] for e in d) >= {'race-start', 'attempt-failed', 'winner',
		'race-failed', 'cache-update'}" "every kind of event" <"$tmpd/monj" || bad=1
	$TJSON lines "[e for e in d if e['event'] == 'winner' and e['inode'] == $ino and
		e['protocol'] == 'sctp' and e['remote'] == {'addr': '$SRV4', 'port': 4243}]" \
		"the winner event of race 1" <"$tmpd/monj" || bad=1
	$TJSON lines "[e for e in d if e['event'] == 'attempt-failed' and e['inode'] == $ino and
		e['protocol'] == 'tcp']" "race 1's refused TCP attempt" <"$tmpd/monj" || bad=1
	$TJSON lines "[e for e in d if e['event'] == 'cache-update' and e['addr'] == '$SRV4' and
		e['port'] == 4243 and e['winner'] == 'sctp']" "the cache update of race 1" \
		<"$tmpd/monj" || bad=1
	$TJSON lines "[i for i, e in enumerate(d) if e['event'] == 'race-start' and
		e['inode'] == $ino] < [i for i, e in enumerate(d) if e['event'] == 'winner' and
		e['inode'] == $ino]" "race-start before winner" <"$tmpd/monj" || bad=1
	grep -q "^race-start ino $ino -> $SRV4:4243 candidates 2" "$tmpd/mont" ||
		{ echo "# no race-start line"; bad=1; }
	grep -q "^attempt-failed ino $ino tcp -> $SRV4:4243 error ECONNREFUSED" "$tmpd/mont" ||
		{ echo "# no attempt-failed line"; bad=1; }
	grep -q "^winner ino $ino sctp -> $SRV4:4243 time " "$tmpd/mont" ||
		{ echo "# no winner line"; bad=1; }
	grep -q "^race-failed ino $(kv ino "$r2") error ECONNREFUSED" "$tmpd/mont" ||
		{ echo "# no race-failed line"; bad=1; }
	is "$(wc -c <"$tmpd/other")" 0 "a monitor in another namespace heard nothing" || bad=1
	return $bad
}
check "monitor: a race's events (text and JSON), none in another namespace" t_monitor

t_monitor_isolated() {
	local bad=0 r
	monitor_start moni -n "$C" -j
	sleep 2
	r=$(race -i $SRV4 4246)
	sleep 1
	monitor_stop moni || bad=1
	is "$(kv proto "$r")" tcp "isolated race" || bad=1
	$TJSON lines "[e for e in d if e['event'] == 'winner' and e['inode'] == $(kv ino "$r")] and
		not [e for e in d if e['event'] == 'cache-update']" \
		"isolated race: a winner event, no cache-update" <"$tmpd/moni" || bad=1
	return $bad
}
check "monitor: an isolated race updates no cache entry" t_monitor_isolated

t_monitor_unpriv() {
	local bad=0 rc out
	out=$(ip netns exec "$C" setpriv --reuid=65534 --regid=65534 --clear-groups \
		--inh-caps=-all timeout 10 "$TAPSCTL" monitor 2>&1)
	rc=$?
	is "$rc" 1 "monitor as nobody: EPERM, exit 1 ($out)" || bad=1
	return $bad
}
check "monitor: joining the events group needs CAP_NET_ADMIN" t_monitor_unpriv

t_rmmod() {
	local bad=0 i r
	race $SRV4 4243 >/dev/null
	race -p tcp $SRV4 5061 >/dev/null
	tc -j policy show | jq_ok "d['entries'] >= 2" "a populated cache" || return 1
	tc policy set delay 100ms
	monitor_start mon1 -n "$C"
	monitor_start mon2 -n "$C" -j
	sleep 2
	for ((i = 0; i < 50; i++)); do
		rmmod taps 2>"$tmpd/rmmod.err" && break
		sleep 0.2
	done
	[ -d /sys/module/taps ] && { echo "# rmmod: $(<"$tmpd/rmmod.err")"; bad=1; }
	sleep 1
	kill -TERM $mon1_pid $mon2_pid 2>/dev/null
	wait $mon1_pid $mon2_pid
	insmod "$TAPS_KO" || { echo "# insmod $TAPS_KO failed"; return 1; }
	tc -j policy show | jq_ok "d['delay_ms'] == 250 and d['entries'] == 0" \
		"after reload: defaults, empty cache" || bad=1
	r=$(race $SRV4 4243)
	is "$(kv proto "$r")" sctp "racing after the reload" || bad=1
	return $bad
}
check "rmmod with a populated cache and running monitors, then insmod again" t_rmmod

t_loaded() { test -d /sys/module/taps; }
check "taps.ko loaded at the end" t_loaded
finish
