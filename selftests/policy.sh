#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# System policy and rules (Documentation/netlink.md), through tapsctl:
# every policy and rule command round-trips, bad values are refused and
# change nothing, and the next race obeys the policy (who wins, how long,
# errno).  Client and server in namespaces of their own (helpers/topo.sh).
. "$(dirname "$0")/lib.sh"
. "$TAPS_TOP/selftests/helpers/topo.sh"
plan 19

DEFAULTS='delay 250ms protocols tcp,sctp,mptcp order tcp,sctp,mptcp max-candidates 99 cache on cache-lifetime 600s cache-size 1024'

if ! topo_up tpol; then
	echo "Bail out! topology setup failed"
	exit 1
fi

reset_policy() { tc policy set $DEFAULTS; }

# Delete every rule by id (what a failed test left must not fail the next).
rules_clear() {
	local id
	for id in $(tc -j rule show | jget "' '.join(str(r['id']) for r in d)"); do
		tc rule del id "$id"
	done
}

# pol_is EXPR WHAT: the client namespace's policy (-j) satisfies EXPR.
pol_is() { tc -j policy show | jq_ok "$1" "$2"; }

t_family() {
	local bad=0 fam
	fam=$(cat /sys/module/taps/parameters/family)
	is "$(tapsctl family)" "$fam" "tapsctl family" || bad=1
	is "$(tc -j family)" "{\"af\":$fam}" "tapsctl -j family" || bad=1
	return $bad
}
check "family: the live AF_TAPS number, text and JSON" t_family

t_defaults() {
	local bad=0 fam
	fam=$(cat /sys/module/taps/parameters/family)
	is "$(tc policy show)" "$DEFAULTS entries 0 rules 0" "policy show" || bad=1
	pol_is "d == {'af': $fam, 'delay_ms': 250, 'protocols': ['tcp', 'sctp', 'mptcp'],
		'order': ['tcp', 'sctp', 'mptcp'], 'max_candidates': 99, 'cache': True,
		'cache_lifetime_ms': 600000, 'cache_size': 1024, 'entries': 0, 'rules': 0}" \
		"policy show -j in a new namespace" || bad=1
	is "$(tc rule show)" "" "rule show in a new namespace" || bad=1
	return $bad
}
check "policy show: the defaults, text and JSON" t_defaults

t_set_roundtrip() {
	local bad=0 want shown
	want='delay 100ms protocols tcp,sctp order sctp,mptcp,tcp max-candidates 10 cache off cache-lifetime 30s cache-size 50'
	tc policy set $want || { echo "# policy set $want failed"; return 1; }
	shown=$(tc policy show)
	is "$shown" "$want entries 0 rules 0" "policy show after set" || bad=1
	pol_is "d['delay_ms'] == 100 and d['protocols'] == ['tcp', 'sctp'] and
		d['order'] == ['sctp', 'mptcp', 'tcp'] and d['max_candidates'] == 10 and
		d['cache'] is False and d['cache_lifetime_ms'] == 30000 and d['cache_size'] == 50" \
		"policy show -j after set" || bad=1
	# What show prints, set takes back (without the read-only counters).
	reset_policy || bad=1
	tc policy set ${shown% entries *} || { echo "# set from show's output failed"; bad=1; }
	is "$(tc policy show)" "$want entries 0 rules 0" "set from show's output" || bad=1
	# Only the attributes given change; other time formats.
	reset_policy || bad=1
	tc policy set delay 1.5s || bad=1
	tc policy set cache-lifetime 10m || bad=1
	tc policy set cache-size 4096 || bad=1
	pol_is "d['delay_ms'] == 1500 and d['cache_lifetime_ms'] == 600000 and
		d['cache_size'] == 4096 and d['protocols'] == ['tcp', 'sctp', 'mptcp'] and
		d['max_candidates'] == 99 and d['cache'] is True" "partial sets" || bad=1
	tc policy set delay 120 cache-lifetime 1h || bad=1
	is "$(tc policy show | cut -d' ' -f1-2,11-12)" "delay 120ms cache-lifetime 3600s" \
		"bare ms and 1h" || bad=1
	reset_policy || bad=1
	is "$(tc policy show)" "$DEFAULTS entries 0 rules 0" "back to the defaults" || bad=1
	return $bad
}
check "policy set: every keyword round-trips through show (text, JSON)" t_set_roundtrip

t_bad_values() {
	local bad=0 before rc v
	before=$(tc -j policy show)
	for v in "delay 5ms" "delay 3000ms" "delay 9ms" "delay 2001" "max-candidates 0" \
		 "max-candidates 100" "cache-size 0" "cache-size 65537" "cache-lifetime 999ms" \
		 "cache-lifetime 86401s" "protocols udp" "order tcp,udp" "cache maybe"; do
		tc policy set $v >/dev/null 2>&1
		rc=$?
		case $rc in
		1 | 2) ;;
		*) echo "# policy set $v: exit $rc, want 1 (kernel) or 2 (usage)"; bad=1 ;;
		esac
	done
	is "$(tc -j policy show)" "$before" "policy after refused sets" || bad=1
	expect_rc 2 "set without a keyword" tc policy set || bad=1
	expect_rc 2 "unknown keyword" tc policy set bogus 1 || bad=1
	expect_rc 2 "bad time" tc policy set delay fast || bad=1
	expect_rc 2 "unknown object" tc frobnicate || bad=1
	expect_rc 2 "rule add without an action" tc rule add 192.0.2.0/24 || bad=1
	expect_rc 0 "policy help" tc policy help || bad=1
	return $bad
}
check "policy set: out-of-range and malformed values refused, nothing changes" t_bad_values

t_rules() {
	local bad=0 id out rc
	tc rule add 192.0.2.0/24 prohibit sctp delay 100ms || bad=1
	tc rule add 2001:db8::/32 prefer tcp || bad=1
	tc rule add 192.0.2.2 prohibit mptcp || bad=1
	# Longest prefix first; IPv4 and IPv6 prefixes of one length in either order.
	tc -j rule show | jq_ok "len(d) == 3 and
		sorted(r['prefix'] for r in d) == ['192.0.2.0/24', '192.0.2.2/32', '2001:db8::/32'] and
		[int(r['prefix'].split('/')[1]) for r in d] == [32, 32, 24] and
		len(set(r['id'] for r in d)) == 3 and min(r['id'] for r in d) >= 1" \
		"rule show -j: prefixes, order, ids" || bad=1
	tc -j rule show | jq_ok "[r for r in d if r['prefix'] == '192.0.2.2/32' and
		r['prohibit'] == ['mptcp'] and 'prefer' not in r and 'delay_ms' not in r] and
		[r for r in d if r['prefix'] == '192.0.2.0/24' and r['prohibit'] == ['sctp'] and
		r['delay_ms'] == 100 and 'prefer' not in r] and
		[r for r in d if r['prefix'] == '2001:db8::/32' and r['prefer'] == 'tcp' and
		'prohibit' not in r and 'delay_ms' not in r]" "rule show -j: the rules' actions" || bad=1
	id=$(tc -j rule show | jget "[r['id'] for r in d if r['prefix'] == '192.0.2.0/24'][0]")
	out=$(tc rule show | grep "^192.0.2.0/24 ")
	is "$out" "192.0.2.0/24 prohibit sctp delay 100ms id $id" "rule show line" || bad=1
	pol_is "d['rules'] == 3" "policy show counts the rules" || bad=1
	expect_rc 1 "duplicate prefix (EEXIST)" tc rule add 192.0.2.0/24 prefer tcp || bad=1
	out=$(tc rule add 192.0.2.0/24 prefer tcp 2>&1)
	echo "$out" | grep -qi "exist" || { echo "# EEXIST message: '$out'"; bad=1; }
	expect_rc 0 "rule del PREFIX" tc rule del 192.0.2.0/24 || bad=1
	expect_rc 1 "rule del of a missing prefix (ENOENT)" tc rule del 192.0.2.0/24 || bad=1
	expect_rc 1 "rule del of a missing id (ENOENT)" tc rule del id 99999 || bad=1
	id=$(tc -j rule show | jget "[r['id'] for r in d if r['prefix'] == '2001:db8::/32'][0]")
	expect_rc 0 "rule del id" tc rule del id "$id" || bad=1
	is "$(tc rule show | sed 's/ id [0-9]*$//')" "192.0.2.2/32 prohibit mptcp" "one rule left" || bad=1
	for out in "192.0.2.0/33 prohibit tcp" "2001:db8::/129 prohibit tcp" \
		   "192.0.2.0/24 prohibit udp" "192.0.2.0/24 delay 5ms" "192.0.2.0/24 delay 3000ms"; do
		tc rule add $out >/dev/null 2>&1
		rc=$?
		[ $rc = 1 ] || [ $rc = 2 ] || { echo "# rule add $out: exit $rc"; bad=1; }
	done
	tc rule del 192.0.2.2/32 || bad=1
	is "$(tc -j rule show)" "[]" "rule show -j when empty" || bad=1
	pol_is "d['rules'] == 0" "no rules left" || bad=1
	[ $bad = 0 ] || rules_clear
	return $bad
}
check "rule add/show/del round-trip; EEXIST, ENOENT, bad prefixes refused" t_rules

t_protocols() {
	local bad=0 r a b
	tc policy set protocols tcp,mptcp || return 1
	a=$(tc -j stats)
	r=$(race -p sctp $SRV4 4243)
	say "$r"
	is "$(kv err "$r")" EPERM "client pins SCTP, policy allows tcp,mptcp" || bad=1
	b=$(tc -j stats)
	$TJSON delta "$a" "$b" policy_denied=1 || bad=1
	r=$(race $SRV4 4243)
	say "$r"
	is "$(kv err "$r")" ECONNREFUSED "TCP|SCTP client to an SCTP-only port: SCTP not raced" || bad=1
	is "$(kv candidates "$r")" 1 "candidates without SCTP" || bad=1
	r=$(race $SRV4 4242)
	is "$(kv proto "$r")" tcp "TCP still wins" || bad=1
	reset_policy || bad=1
	r=$(race $SRV4 4243)
	say "$r"
	is "$(kv proto "$r")" sctp "with the defaults SCTP wins again" || bad=1
	return $bad
}
check "policy protocols: removed protocols never race; a pinned one gets EPERM, policy_denied" t_protocols

t_rule_prohibit() {
	local bad=0 r a b
	tc rule add $SRV4/32 prohibit sctp || return 1
	a=$(tc -j stats)
	r=$(race -p sctp $SRV4 4243)
	say "$r"
	is "$(kv err "$r")" EPERM "SCTP pinned, rule prohibits SCTP" || bad=1
	b=$(tc -j stats)
	$TJSON delta "$a" "$b" policy_denied=1 || bad=1
	r=$(race $SRV4 4243)
	say "$r"
	is "$(kv err "$r")" ECONNREFUSED "SCTP-only server behind the rule" || bad=1
	is "$(kv candidates "$r")" 1 "candidates" || bad=1
	r=$(race $SRV4 4242)
	say "$r"
	is "$(kv proto "$r")" tcp "TCP wins where the rule matched" || bad=1
	is "$(kv policy "$r")" 1 "TAPS_INFO_F_POLICY when a rule matched" || bad=1
	r=$(race $SRV6 4243)
	say "$r"
	is "$(kv proto "$r")" sctp "the rule does not match the IPv6 address" || bad=1
	is "$(kv policy "$r")" 0 "no TAPS_INFO_F_POLICY when no rule matched" || bad=1
	tc rule del $SRV4/32 || bad=1
	return $bad
}
check "rule prohibit sctp: SCTP-only port refused, pinned SCTP EPERM, flag policy" t_rule_prohibit

t_rule_v6() {
	local bad=0 r
	tc rule add 2001:db8::/64 prohibit sctp || return 1
	tc rule add 2001:db8:1::/48 prohibit tcp || return 1
	r=$(race -p sctp $SRV6 4243)
	say "$r"
	is "$(kv err "$r")" EPERM "SCTP pinned to 2001:db8::2, rule 2001:db8::/64 prohibits SCTP" || bad=1
	r=$(race $SRV6 4242)
	say "$r"
	is "$(kv proto "$r")" tcp "TCP to 2001:db8::2" || bad=1
	is "$(kv candidates "$r")" 1 "only TCP raced" || bad=1
	is "$(kv policy "$r")" 1 "flag policy" || bad=1
	r=$(race -p sctp $SRV4 4243)
	is "$(kv proto "$r")" sctp "IPv4 not in the IPv6 rule" || bad=1
	is "$(kv policy "$r")" 0 "no flag policy for IPv4" || bad=1
	r=$(race -p tcp 2001:db8:1::5 4242)
	is "$(kv err "$r")" EPERM "2001:db8:1::5: the /48 prohibits TCP" || bad=1
	expect_rc 0 "rule del 2001:db8::/64" tc rule del 2001:db8::/64 || bad=1
	expect_rc 0 "rule del 2001:db8:1::/48" tc rule del 2001:db8:1::/48 || bad=1
	[ $bad = 0 ] || rules_clear
	return $bad
}
check "IPv6 rules: prohibit by IPv6 prefix, deleted by prefix" t_rule_v6

t_rule_prohibit_tcp() {
	local bad=0 r
	nft_add tcp dport '{ 4250, 4251 }' drop || return 1
	r=$(race $SRV4 4250)
	say "$r"
	is "$(kv proto "$r")" sctp "TCP blackholed, no rule: SCTP wins" || bad=1
	ge "$(kv ms "$r")" 240 "no rule: SCTP only after the 250 ms delay (ms)" || bad=1
	tc rule add 192.0.2.0/24 prohibit tcp || bad=1
	r=$(race $SRV4 4251)
	say "$r"
	is "$(kv proto "$r")" sctp "rule prohibit tcp: SCTP wins" || bad=1
	lt "$(kv ms "$r")" $((200 + SLACK)) "rule prohibit tcp: no wait for a TCP attempt (ms)" || bad=1
	is "$(kv candidates "$r")" 1 "only the SCTP candidate" || bad=1
	is "$(kv policy "$r")" 1 "flag policy" || bad=1
	tc rule del 192.0.2.0/24 || bad=1
	nft_flush
	return $bad
}
check "rule prohibit tcp: TCP-blackholed server won by SCTP at once" t_rule_prohibit_tcp

t_rule_prefer() {
	local bad=0 r
	r=$(race $SRV4 4245)
	is "$(kv proto "$r")" tcp "no rule: TCP first" || bad=1
	tc rule add $SRV4 prefer sctp || return 1
	r=$(race $SRV4 4246)
	say "$r"
	is "$(kv proto "$r")" sctp "rule prefer sctp" || bad=1
	is "$(kv winner "$r")" 0 "SCTP raced first" || bad=1
	is "$(kv attempts "$r")" 1 "one attempt" || bad=1
	is "$(kv policy "$r")" 1 "flag policy" || bad=1
	r=$(race $SRV6 4247)
	is "$(kv proto "$r")" tcp "the IPv6 address is not in the rule" || bad=1
	tc rule del $SRV4 || bad=1
	return $bad
}
check "rule prefer sctp: SCTP raced first for that prefix only" t_rule_prefer

t_longest_prefix() {
	local bad=0 r
	tc rule add 192.0.2.0/24 prohibit tcp || return 1
	tc rule add 192.0.2.2/32 prefer tcp || return 1
	r=$(race -p tcp $SRV4 4248)
	say "$r"
	is "$(kv err "$r")" OK "192.0.2.2: the /32 (prefer tcp) applies, not the /24" || bad=1
	is "$(kv proto "$r")" tcp "TCP" || bad=1
	r=$(race -p tcp 192.0.2.3 4248)
	say "$r"
	is "$(kv err "$r")" EPERM "192.0.2.3: the /24 prohibits TCP" || bad=1
	tc rule del 192.0.2.0/24 || bad=1
	tc rule del 192.0.2.2/32 || bad=1
	return $bad
}
check "rules: the longest matching prefix wins per address" t_longest_prefix

t_rule_delay() {
	local bad=0 r
	nft_add tcp dport '{ 4252, 4253 }' drop || return 1
	tc rule add $SRV4 delay 100ms || return 1
	r=$(race $SRV4 4252)
	say "$r"
	is "$(kv proto "$r")" sctp "TCP blackholed: SCTP wins" || bad=1
	is "$(kv delay "$r")" 100 "ti_attempt_delay_ms from the rule" || bad=1
	ge "$(kv ms "$r")" 95 "connect waits the rule's 100 ms (ms)" || bad=1
	lt "$(kv ms "$r")" $((250 + SLACK)) "but not the default 250 ms (ms)" || bad=1
	r=$(race -d 40 $SRV4 4253)
	say "$r"
	is "$(kv delay "$r")" 40 "the socket's TAPS_ATTEMPT_DELAY beats the rule" || bad=1
	lt "$(kv ms "$r")" $((95 + SLACK)) "40 ms delay (ms)" || bad=1
	# The rule counts only when it matches the first endpoint.
	r=$(race $SRV6 4242 $SRV4 4242)
	is "$(kv delay "$r")" 250 "first endpoint outside the rule" || bad=1
	r=$(race $SRV4 4242 $SRV6 4242)
	is "$(kv delay "$r")" 100 "first endpoint inside the rule" || bad=1
	tc rule del $SRV4 || bad=1
	nft_flush
	return $bad
}
check "rule delay 100ms: measured, socket option wins, first endpoint only" t_rule_delay

t_policy_delay() {
	local bad=0 r
	nft_add tcp dport '{ 4254, 4255 }' drop || return 1
	tc policy set delay 100ms || return 1
	r=$(race $SRV4 4254)
	say "$r"
	is "$(kv proto "$r")" sctp "SCTP wins" || bad=1
	is "$(kv delay "$r")" 100 "ti_attempt_delay_ms" || bad=1
	ge "$(kv ms "$r")" 95 "policy delay 100 ms (ms)" || bad=1
	lt "$(kv ms "$r")" $((250 + SLACK)) "policy delay 100 ms, not 250 (ms)" || bad=1
	tc policy set delay 250ms || bad=1
	r=$(race $SRV4 4255)
	say "$r"
	is "$(kv delay "$r")" 250 "back to 250" || bad=1
	ge "$(kv ms "$r")" 240 "delay 250 ms again (ms)" || bad=1
	nft_flush
	return $bad
}
check "policy delay 100ms: the next race waits ~100 ms, not 250" t_policy_delay

t_order() {
	local bad=0 r
	tc policy set order sctp,tcp,mptcp || return 1
	r=$(race $SRV4 4256)
	say "$r"
	is "$(kv proto "$r")" sctp "policy order sctp first" || bad=1
	is "$(kv winner "$r")" 0 "SCTP is candidate 0" || bad=1
	r=$(race -p tcp,sctp,mptcp -M prefer $SRV4 4257)
	say "$r"
	is "$(kv proto "$r")" mptcp "the application's multipath Prefer beats the policy order" || bad=1
	tc policy set order tcp,sctp,mptcp || bad=1
	r=$(race -m prefer $SRV4 4257)
	is "$(kv proto "$r")" sctp "multistreaming Prefer beats the default order" || bad=1
	r=$(race $SRV4 4258)
	is "$(kv proto "$r")" tcp "default order: TCP" || bad=1
	return $bad
}
check "policy order: base order changes, the application's Prefer still first" t_order

t_max_candidates() {
	local bad=0 r
	r=$(race $SRV4 4242 $SRV6 4242)
	is "$(kv candidates "$r")" 4 "two endpoints x two protocols" || bad=1
	tc policy set max-candidates 3 || return 1
	r=$(race $SRV4 4242 $SRV6 4242)
	is "$(kv candidates "$r")" 3 "max-candidates 3" || bad=1
	tc policy set max-candidates 1 || bad=1
	# -i: the cache (SCTP won to 4243 before) must not put SCTP first.
	r=$(race -i $SRV4 4243)
	say "$r"
	is "$(kv candidates "$r")" 1 "max-candidates 1" || bad=1
	is "$(kv err "$r")" ECONNREFUSED "only the refused TCP candidate is left" || bad=1
	tc policy set max-candidates 99 || bad=1
	r=$(race $SRV4 4243)
	is "$(kv proto "$r")" sctp "max-candidates 99: SCTP wins again" || bad=1
	return $bad
}
check "policy max-candidates truncates the candidate list" t_max_candidates

t_two_ns() {
	local bad=0 C2=tpolx$$
	netns_add $C2 || return 1
	tc policy set delay 100ms cache-size 77 || bad=1
	tc rule add 198.51.100.0/24 prohibit tcp || bad=1
	tapsctl -n $C2 -j policy show | jq_ok "d['delay_ms'] == 250 and d['cache_size'] == 1024 and
		d['rules'] == 0" "the other namespace's policy" || bad=1
	is "$(tapsctl -n $C2 rule show)" "" "the other namespace's rules" || bad=1
	tapsctl -n $C2 policy set delay 300ms || bad=1
	pol_is "d['delay_ms'] == 100 and d['rules'] == 1" "ours after the other's set" || bad=1
	tc rule del 198.51.100.0/24 || bad=1
	reset_policy || bad=1
	return $bad
}
check "two namespaces: policy and rules of one are not seen in the other (tapsctl -n)" t_two_ns

# As nobody, without capabilities, in the client namespace.
nobody() {
	ip netns exec "$C" setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all "$@"
}

t_unpriv() {
	local bad=0 before c rc out
	tc rule add 198.51.100.0/24 prohibit sctp || return 1
	before=$(tc -j policy show)
	while read -r c; do
		out=$(nobody timeout 10 "$TAPSCTL" $c 2>&1)
		rc=$?
		[ $rc = 1 ] || { echo "# as nobody: tapsctl $c: exit $rc, want 1 (EPERM)"; bad=1; }
		echo "$out" | grep -q "^Error" ||
			{ echo "# as nobody: tapsctl $c: no 'Error:' line: $out"; bad=1; }
	done <<-EOF
		policy set delay 100ms
		rule add 192.0.2.0/24 prohibit tcp
		rule del 198.51.100.0/24
		cache show
		cache flush
		cache del 192.0.2.2
		monitor
	EOF
	for c in "policy show" "rule show" "stats" "conn show" "family" "-j policy show"; do
		out=$(nobody "$TAPSCTL" $c 2>&1)
		rc=$?
		[ $rc = 0 ] || { echo "# as nobody: tapsctl $c: exit $rc, want 0: $out"; bad=1; }
	done
	is "$(nobody "$TAPSCTL" rule show)" "$(tc rule show)" "nobody sees the rules" || bad=1
	is "$(tc -j policy show)" "$before" "policy after the refused commands" || bad=1
	tc rule del 198.51.100.0/24 || bad=1
	return $bad
}
check "unprivileged: admin commands EPERM (exit 1, nothing changed), show/stats allowed" t_unpriv

t_userns() {
	local bad=0 out rc
	out=$(ip netns exec "$C" unshare -U -r "$TAPSCTL" policy set delay 100ms 2>&1)
	rc=$?
	is "$rc" 1 "root of a new user namespace, host-owned netns: policy set ($out)" || bad=1
	[[ $out == Error:* ]] || { echo "# not tapsctl's EPERM: $out"; bad=1; }
	out=$(ip netns exec "$C" unshare -U -r "$TAPSCTL" cache flush 2>&1)
	is "$?" 1 "same: cache flush ($out)" || bad=1
	[[ $out == Error:* ]] || { echo "# not tapsctl's EPERM: $out"; bad=1; }
	out=$(ip netns exec "$C" unshare -U -r -n sh -c "
		'$TAPSCTL' policy set delay 100ms &&
		'$TAPSCTL' rule add 192.0.2.0/24 prohibit tcp &&
		'$TAPSCTL' cache flush &&
		'$TAPSCTL' -j policy show" 2>&1)
	rc=$?
	is "$rc" 0 "root of a user namespace in its own netns: admin works ($out)" || bad=1
	[ $rc = 0 ] && { echo "$out" | jq_ok "d['delay_ms'] == 100 and d['rules'] == 1" \
		"its own namespace's policy" || bad=1; }
	pol_is "d['delay_ms'] == 250 and d['rules'] == 0" "ours unchanged" || bad=1
	return $bad
}
if out=$(ip netns exec "$C" unshare -U -r true 2>&1); then
	check "user namespace: root there administers its own netns only" t_userns
else
	skip "user namespace: root there administers its own netns only" "unshare -U fails here: $out"
fi

t_final() {
	is "$(tc policy show)" "$DEFAULTS entries $(tc -j policy show | jget "d['entries']") rules 0" \
		"policy back to the defaults"
}
check "policy left at the defaults by every test above" t_final
finish
