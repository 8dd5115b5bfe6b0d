#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Cached state (Documentation/netlink.md): what worked races first next
# time, from any process in the namespace; TAPS_ISOLATE and "cache off"
# keep races out of it; del, flush, the size bound (LRU), the lifetime;
# 10 000 entries churned under concurrent connects; namespaces apart, and
# deleted with a populated cache.  Timing bounds are generous: the attempt
# delay is 250 ms, a cached race must take less than half of it.
. "$(dirname "$0")/lib.sh"
. "$TAPS_TOP/selftests/helpers/topo.sh"
plan 14

if ! topo_up tcache; then
	echo "Bail out! topology setup failed"
	exit 1
fi

# The attempt delay the races wait for a blackholed first candidate: the
# default, or 1 s on the debug kernel where a handshake alone can take
# tens of ms.  SLOW: waited the delay; FAST: raced the cached winner first.
D=250
if [ "$TAPS_SLOW" = 1 ]; then
	D=1000
	tc policy set delay ${D}ms || echo "# policy set delay ${D}ms failed"
fi
SLOW=$((D - 10))
FAST=$((D / 2))

# The cache entry of ADDR port PORT, as a Python expression over d.
ent() { echo "[e for e in d if e['addr'] == '$1' and e['port'] == $2]"; }
# cache_is EXPR WHAT: `cache show -j` of the client namespace satisfies EXPR.
cache_is() { tc -j cache show | jq_ok "$1" "$2"; }

t_second_fast() {
	local bad=0 r1 r2 a b
	tc cache flush || return 1
	nft_add tcp dport 4250 drop || return 1
	a=$(tc -j stats)
	r1=$(race $SRV4 4250)
	say "$r1"
	is "$(kv proto "$r1")" sctp "first race: TCP blackholed, SCTP wins" || bad=1
	ge "$(kv ms "$r1")" $SLOW "first race waits the attempt delay (ms)" || bad=1
	is "$(kv cached "$r1")" 0 "first race: not cached" || bad=1
	r2=$(race $SRV4 4250)
	say "$r2"
	b=$(tc -j stats)
	is "$(kv proto "$r2")" sctp "second race: SCTP" || bad=1
	lt "$(kv ms "$r2")" $FAST "second race: SCTP first, well under the delay (ms)" || bad=1
	is "$(kv cached "$r2")" 1 "second race: TAPS_INFO_F_CACHED" || bad=1
	is "$(kv winner "$r2")" 0 "second race: the first candidate won" || bad=1
	is "$(kv attempts "$r2")" 1 "second race: one attempt" || bad=1
	$TJSON delta "$a" "$b" races=2 wins_sctp=2 cache_hits=1 cache_misses=1 || bad=1
	cache_is "len(d) == 1 and $(ent $SRV4 4250)[0]['type'] == 'stream' and
		$(ent $SRV4 4250)[0]['winner'] == 'sctp' and
		$(ent $SRV4 4250)[0]['protocols']['sctp']['success'] == 2 and
		$(ent $SRV4 4250)[0]['protocols']['sctp']['failure'] == 0 and
		$(ent $SRV4 4250)[0]['srtt_us'] > 0 and
		$(ent $SRV4 4250)[0]['age_ms'] < 60000" "cache show -j after two wins" || bad=1
	tc cache show | grep -q "^$SRV4 port 4250 stream uid 0 winner sctp srtt [0-9.]*[mu]\?s age [0-9.]*[mu]\?s .*sctp 2/0" ||
		{ echo "# cache show text: $(tc cache show)"; bad=1; }
	nft_flush
	return $bad
}
check "cache: TCP blackholed, SCTP wins slowly once, then first (flag cached)" t_second_fast

t_other_process_and_port() {
	local bad=0 r
	# t_second_fast left 4250 cached; a new process, same namespace.
	r=$(ip netns exec "$C" "$TR" $SRV4 4250)
	is "$(kv cached "$r")" 1 "another process (ip netns exec) uses the cache" || bad=1
	nft_add tcp dport 4251 drop || return 1
	r=$(race $SRV4 4251)
	say "$r"
	is "$(kv cached "$r")" 0 "another port: not cached (the key has the port)" || bad=1
	ge "$(kv ms "$r")" $SLOW "another port: waits the delay (ms)" || bad=1
	nft_flush
	return $bad
}
check "cache: shared by processes of the namespace, keyed by port" t_other_process_and_port

t_v6_blackholed() {
	local bad=0 r1 r2
	tc cache flush || return 1
	nft_add ip6 daddr $SRV6 tcp dport 4252 drop || return 1
	r1=$(race -p tcp $SRV6 4252 $SRV4 4252)
	say "$r1"
	is "$(kv remote "$r1")" "$SRV4:4252" "first race: IPv4 wins" || bad=1
	ge "$(kv ms "$r1")" $SLOW "first race waits for IPv6 (ms)" || bad=1
	r2=$(race -p tcp $SRV6 4252 $SRV4 4252)
	say "$r2"
	is "$(kv remote "$r2")" "$SRV4:4252" "second race: IPv4" || bad=1
	lt "$(kv ms "$r2")" $FAST "second race: IPv4 first (ms)" || bad=1
	is "$(kv cached "$r2")" 1 "second race: flag cached" || bad=1
	cache_is "$(ent $SRV4 4252)[0]['winner'] == 'tcp' and
		all(e['protocols'].get('tcp', {}).get('failure', 0) == 0 for e in $(ent $SRV6 4252))" \
		"IPv4 entry won; the blackholed IPv6 attempt was cancelled, not failed" || bad=1
	nft_flush
	return $bad
}
check "cache: IPv6 blackholed, IPv4 works: the second race starts with IPv4" t_v6_blackholed

t_demote() {
	local bad=0 r
	tc cache flush || return 1
	nft_add ip daddr $SRV4 tcp dport 4253 reject with tcp reset || return 1
	r=$(race -p tcp $SRV4 4253 $SRV6 4253)
	say "$r"
	is "$(kv remote "$r")" "[$SRV6]:4253" "IPv4 refused, IPv6 wins" || bad=1
	is "$(kv failed "$r")" 1 "one failed attempt" || bad=1
	cache_is "$(ent $SRV4 4253)[0]['protocols']['tcp']['failure'] == 1 and
		$(ent $SRV4 4253)[0]['winner'] is None and
		$(ent $SRV6 4253)[0]['winner'] == 'tcp'" "a failure entry for IPv4, a winner for IPv6" || bad=1
	# Without the winner's entry, only the failure is left to go by.
	tc cache del $SRV6 port 4253 || bad=1
	cache_is "not $(ent $SRV6 4253) and $(ent $SRV4 4253)" "only the IPv4 failure left" || bad=1
	r=$(race -p tcp $SRV4 4253 $SRV6 4253)
	say "$r"
	is "$(kv remote "$r")" "[$SRV6]:4253" "IPv6 wins again" || bad=1
	is "$(kv attempts "$r")" 1 "the failed IPv4 candidate was demoted: one attempt" || bad=1
	is "$(kv cached "$r")" 1 "flag cached" || bad=1
	nft_flush
	return $bad
}
check "cache: a candidate that failed more recently than it won is demoted" t_demote

t_no_change_no_flag() {
	local bad=0 r a b
	tc cache flush || return 1
	race $SRV4 4257 >/dev/null
	a=$(tc -j stats)
	r=$(race $SRV4 4257)
	say "$r"
	b=$(tc -j stats)
	is "$(kv proto "$r")" tcp "TCP won before and is first anyway" || bad=1
	is "$(kv cached "$r")" 0 "the cache did not change the order: no flag cached" || bad=1
	$TJSON delta "$a" "$b" races=1 cache_hits=1 cache_misses=0 || bad=1
	return $bad
}
check "cache: state found but order unchanged: a hit, no TAPS_INFO_F_CACHED" t_no_change_no_flag

t_fail_kinds() {
	local bad=0 r a b
	tc cache flush || return 1
	nft_add tcp dport 4258 reject with icmpx type host-unreachable || return 1
	nft_add tcp dport 4259 drop || return 1
	# One SYN retransmission: a blackholed TCP attempt times out in ~3 s.
	ip netns exec "$C" sysctl -q net.ipv4.tcp_syn_retries=1 || return 1
	a=$(tc -j stats)
	r=$(race -p tcp $SRV4 4258)
	say "$r"
	is "$(kv err "$r")" EHOSTUNREACH "ICMP host unreachable" || bad=1
	r=$(race -p tcp $SRV4 4259)
	say "$r"
	is "$(kv err "$r")" ETIMEDOUT "SYN retries exhausted" || bad=1
	b=$(tc -j stats)
	$TJSON delta "$a" "$b" races=2 races_failed=2 fail_unreach=1 fail_timeout=1 \
		fail_refused=0 || bad=1
	cache_is "$(ent $SRV4 4258)[0]['protocols']['tcp']['failure'] == 1 and
		$(ent $SRV4 4259)[0]['protocols']['tcp']['failure'] == 1 and
		$(ent $SRV4 4259)[0]['winner'] is None" \
		"unreachable and timed-out attempts are failures in the cache" || bad=1
	ip netns exec "$C" sysctl -q net.ipv4.tcp_syn_retries=6
	nft_flush
	return $bad
}
check "cache: unreachable and timed-out attempts count as failures (stats too)" t_fail_kinds

t_isolate() {
	local bad=0 r a b
	tc cache flush || return 1
	nft_add tcp dport 4254 drop || return 1
	r=$(race $SRV4 4254)
	is "$(kv proto "$r")" sctp "populating race" || bad=1
	a=$(tc -j stats)
	r=$(race -i $SRV4 4254)
	say "$r"
	b=$(tc -j stats)
	is "$(kv isolated "$r")" 1 "TAPS_INFO_F_ISOLATED" || bad=1
	is "$(kv cached "$r")" 0 "isolated: not cached" || bad=1
	ge "$(kv ms "$r")" $SLOW "isolated: does not read the cache, waits (ms)" || bad=1
	$TJSON delta "$a" "$b" races=1 cache_hits=0 cache_misses=0 || bad=1
	cache_is "$(ent $SRV4 4254)[0]['protocols']['sctp']['success'] == 1" \
		"isolated win not written" || bad=1
	tc cache flush || bad=1
	r=$(race -i $SRV4 4254)
	is "$(kv proto "$r")" sctp "isolated race to an empty cache" || bad=1
	is "$(tc -j cache show)" "[]" "isolated race wrote nothing" || bad=1
	r=$(race -i $SRV4 5001)
	is "$(kv err "$r")" ECONNREFUSED "isolated refused race" || bad=1
	is "$(tc -j cache show)" "[]" "isolated failures written nowhere" || bad=1
	r=$(race $SRV4 4254)
	ge "$(kv ms "$r")" $SLOW "the next normal race found nothing (ms)" || bad=1
	nft_flush
	return $bad
}
check "TAPS_ISOLATE: the race neither reads nor writes the cache; hits/misses unchanged" t_isolate

t_cache_off() {
	local bad=0 r
	tc cache flush || return 1
	nft_add tcp dport 4255 drop || return 1
	tc policy set cache off || return 1
	r=$(race $SRV4 4255)
	ge "$(kv ms "$r")" $SLOW "cache off: first race (ms)" || bad=1
	r=$(race $SRV4 4255)
	say "$r"
	ge "$(kv ms "$r")" $SLOW "cache off: second race waits too (ms)" || bad=1
	is "$(kv cached "$r")" 0 "cache off: not cached" || bad=1
	tc -j policy show | jq_ok "d['entries'] == 0 and d['cache'] is False" "nothing written" || bad=1
	tc policy set cache on || bad=1
	race $SRV4 4255 >/dev/null
	r=$(race $SRV4 4255)
	is "$(kv cached "$r")" 1 "cache on again: the second race is cached" || bad=1
	tc policy set cache off || bad=1
	r=$(race $SRV4 4255)
	is "$(kv cached "$r")" 0 "cache off with entries: not read" || bad=1
	ge "$(kv ms "$r")" $SLOW "cache off with entries: waits (ms)" || bad=1
	tc policy set cache on || bad=1
	nft_flush
	return $bad
}
check "policy cache off: no race reads or writes the cache" t_cache_off

t_del_flush() {
	local bad=0
	tc cache flush || return 1
	race -p tcp $SRV4 5001 $SRV4 5002 $SRV6 5003 >/dev/null
	race $SRV4 4242 >/dev/null
	cache_is "len(d) == 4 and $(ent $SRV4 5001) and $(ent $SRV4 5002) and
		$(ent $SRV6 5003) and $(ent $SRV4 4242)" "four entries" || bad=1
	tc -j cache show to 192.0.2.0/24 | jq_ok "len(d) == 3 and
		all(e['addr'] == '$SRV4' for e in d)" "cache show to PREFIX" || bad=1
	expect_rc 0 "cache del ADDR port" tc cache del $SRV4 port 5001 || bad=1
	cache_is "len(d) == 3 and not $(ent $SRV4 5001) and $(ent $SRV4 5002)" \
		"the other port stays" || bad=1
	expect_rc 1 "cache del of nothing (ENOENT)" tc cache del $SRV4 port 5001 || bad=1
	expect_rc 0 "cache del ADDR (every port)" tc cache del $SRV4 || bad=1
	cache_is "len(d) == 1 and $(ent $SRV6 5003)" "only the IPv6 entry left" || bad=1
	expect_rc 1 "cache del of an unknown address (ENOENT)" tc cache del 198.51.100.9 || bad=1
	expect_rc 0 "cache flush" tc cache flush || bad=1
	is "$(tc -j cache show)" "[]" "empty after flush" || bad=1
	is "$(tc cache show)" "" "empty after flush (text)" || bad=1
	tc -j policy show | jq_ok "d['entries'] == 0" "entries 0 after flush" || bad=1
	return $bad
}
check "cache del ADDR [port P], ENOENT, show to PREFIX, flush" t_del_flush

t_lru() {
	local bad=0 r
	tc cache flush || return 1
	tc policy set cache-size 3 || return 1
	r=$("$TR" -N "$C" -p tcp -j 1 -C 5011:5 $SRV4)
	say "$r"
	is "$(kv refused "$r")" 5 "five refused races" || bad=1
	cache_is "len(d) == 3 and sorted(e['port'] for e in d) == [5013, 5014, 5015]" \
		"the three most recent of five" || bad=1
	tc -j policy show | jq_ok "d['entries'] == 3" "entries 3" || bad=1
	tc policy set cache-size 2 || bad=1
	cache_is "len(d) == 2 and sorted(e['port'] for e in d) == [5014, 5015]" \
		"lowering cache-size evicts the least recently used" || bad=1
	# Least recently used, not first in: an updated entry stays.
	tc cache flush || bad=1
	tc policy set cache-size 3 || bad=1
	r=$("$TR" -N "$C" -p tcp -j 1 -C 5021:3 $SRV4)	# 5021 5022 5023
	r=$(race -p tcp $SRV4 5021)			# 5021 used again
	r=$("$TR" -N "$C" -p tcp -j 1 -C 5024:1 $SRV4)	# evicts one
	cache_is "sorted(e['port'] for e in d) == [5021, 5023, 5024]" \
		"the entry updated last survives, the least recently used (5022) goes" || bad=1
	tc policy set cache-size 1024 || bad=1
	return $bad
}
check "cache-size: bounded, least recently used evicted" t_lru

t_lifetime() {
	local bad=0 r
	tc cache flush || return 1
	tc policy set cache-lifetime 1s || return 1
	nft_add tcp dport 4256 drop || return 1
	race $SRV4 4256 >/dev/null
	r=$(race $SRV4 4256)
	is "$(kv cached "$r")" 1 "within the lifetime: cached" || bad=1
	sleep 2.5
	cache_is "not $(ent $SRV4 4256)" "expired entry not shown after 2.5 s" || bad=1
	r=$(race $SRV4 4256)
	say "$r"
	is "$(kv cached "$r")" 0 "expired entry not used" || bad=1
	ge "$(kv ms "$r")" $SLOW "expired: the race waits again (ms)" || bad=1
	tc policy set cache-lifetime 600s || bad=1
	nft_flush
	return $bad
}
check "cache-lifetime 1s: entries expire" t_lifetime

t_churn() {
	# 10 000; 3000 on the debug kernel, where 10 000 take four minutes.
	local N=$((TAPS_SLOW ? 3000 : 10000))
	local bad=0 a b r max=0 n i live
	tc cache flush || return 1
	tc policy set cache-size 1000 || return 1
	a=$(tc -j stats)
	# $N closed ports over 4 threads (refused: a failure entry each),
	# while another process keeps winning races to the live server.
	"$TR" -N "$C" -p tcp -j 4 -C 20000:$N $SRV4 >"$tmpd/churn" 2>&1 &
	local churn=$!
	race -r 100 $SRV4 4242 >"$tmpd/live" 2>&1 &
	live=$!
	# On a quiet host the churn takes under 3 s: look often.
	while kill -0 $churn 2>/dev/null; do
		n=$(tc -j policy show | jget "d['entries']")
		[ "$n" -gt "$max" ] 2>/dev/null && max=$n
		sleep 0.1
	done
	wait $churn
	wait $live
	b=$(tc -j stats)
	r=$(cat "$tmpd/churn")
	say "$r"
	is "$(kv refused "$r")" $N "$N races refused" || bad=1
	is "$(kv other "$r")" 0 "no other outcome" || bad=1
	i=$(grep -c "rc=0 .*proto=tcp" "$tmpd/live")
	is "$i" 100 "100 concurrent races to the live server won" || bad=1
	ge "$max" 1 "entries seen while churning" || bad=1
	lt "$max" 1001 "entries never above cache-size 1000 while churning" || bad=1
	tc -j policy show | jq_ok "900 <= d['entries'] <= 1000" "entries after churning" || bad=1
	cache_is "len(d) <= 1000 and len(d) == len(set((e['addr'], e['port']) for e in d))" \
		"cache show: at most 1000 distinct entries" || bad=1
	$TJSON delta "$a" "$b" races=$((N + 100)) races_failed=$N fail_refused=$N wins_tcp=100 || bad=1
	tc policy set cache-size 1024 || bad=1
	return $bad
}
tmpd=$(mktemp -d)
check "10 000 entries (3000 on debug) churned by concurrent connects: cache-size 1000 holds" t_churn

t_two_ns() {
	local bad=0 C2=tcachex$$ r
	netns_add $C2 || return 1
	r=$("$TR" -N $C2 -p tcp 127.0.0.1 5031)
	is "$(kv err "$r")" ECONNREFUSED "refused in the other namespace" || bad=1
	tapsctl -n $C2 -j cache show | jq_ok "len(d) == 1 and d[0]['addr'] == '127.0.0.1' and
		d[0]['port'] == 5031" "its cache" || bad=1
	cache_is "not $(ent 127.0.0.1 5031)" "not in ours" || bad=1
	tc cache flush || bad=1
	tapsctl -n $C2 -j policy show | jq_ok "d['entries'] == 1" "our flush leaves theirs" || bad=1
	# Delete it with a populated cache (kmemleak checks the debug kernel).
	r=$("$TR" -N $C2 -p tcp,sctp -j 2 -C 6000:500 127.0.0.1)
	is "$(kv refused "$r")" 500 "500 more entries there" || bad=1
	tapsctl -n $C2 -j policy show | jq_ok "d['entries'] == 501" "501 entries" || bad=1
	ip netns del $C2 || bad=1
	tc -j policy show | jq_ok "d['entries'] == 0" "ours after deleting theirs" || bad=1
	return $bad
}
check "two namespaces: caches apart; a namespace with a populated cache deleted" t_two_ns

t_final() {
	local bad=0
	tc -j policy show | jq_ok "d['cache'] is True and d['cache_size'] == 1024 and
		d['cache_lifetime_ms'] == 600000" "policy back to the defaults" || bad=1
	# Leave a populated cache for the namespace deletion at exit.
	race $SRV4 4243 >/dev/null
	tc -j policy show | jq_ok "d['entries'] >= 1" "a populated cache left" || bad=1
	return $bad
}
check "policy back to the defaults; cache left populated for teardown" t_final

rm -rf "$tmpd"
finish
