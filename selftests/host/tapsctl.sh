#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tapsctl without taps.ko: usage errors exit 2 with a message naming the bad
# word, help and -V exit 0, values that parse reach the kernel (exit 1: the
# module is not loaded, said clearly), the bash completion loads and
# completes, and the manual renders without warnings and documents every
# keyword of the usage.  The netlink side is tested in the VM.
. "$(dirname "$0")/../lib.sh"
plan 43
tapsctl=${TAPSCTL:-$TAPS_TOP/build/tools/tapsctl}
man8=$TAPS_TOP/Documentation/tapsctl.8
completion=$TAPS_TOP/tools/tapsctl/tapsctl.bash-completion
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
notloaded='taps.ko is not loaded'

# expect NAME RC PATTERN ARGS...: tapsctl ARGS exits RC and its stderr (its
# stdout when RC is 0) matches the extended regex PATTERN.
expect() {
	local name=$1 rc=$2 pat=$3 got out=$tmp/err
	shift 3
	"$tapsctl" "$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	[ "$rc" = 0 ] && out=$tmp/out
	if [ "$got" = "$rc" ] && grep -qE -- "$pat" "$out"; then
		ok "$name"
	else
		fail "$name" "tapsctl $*: exit $got (want $rc), stdout: $(head -c 200 "$tmp/out"), stderr: $(head -c 200 "$tmp/err")"
	fi
}

# expect_all NAME RC PATTERN -- "ARGS" ...: expect for each ARGS, one result
expect_all() {
	local name=$1 rc=$2 pat=$3 args got bad=""
	shift 4
	for args in "$@"; do
		# shellcheck disable=SC2086 # ARGS are words
		"$tapsctl" $args >"$tmp/out" 2>"$tmp/err"
		got=$?
		if [ "$got" != "$rc" ] || ! grep -qE -- "${pat//WORD/${args##* }}" "$tmp/err"; then
			bad+="tapsctl $args: exit $got, stderr: $(head -c 200 "$tmp/err"); "
		fi
	done
	if [ -z "$bad" ]; then ok "$name"; else fail "$name" "$bad"; fi
}

# Usage, version, help
expect "help exits 0 with the usage" 0 '^Usage: tapsctl' help
expect "-h and --help exit 0" 0 'OBJECT := \{ family \| policy' --help
expect "-V prints the version" 0 '^tapsctl [0-9]' -V
expect "-Version and --version" 0 '^tapsctl [0-9]' --version
expect "no object: usage on stderr, exit 2" 2 'Usage:'
expect "unknown object named, exit 2" 2 '"bogus".*tapsctl help' bogus
expect "unknown option named, exit 2" 2 '"-x"' -x show
expect "-n without a NAME, exit 2" 2 '"-n"' -n
bad=""
for o in family policy rule cache conn stats monitor; do
	"$tapsctl" "$o" help >"$tmp/out" 2>&1 && grep -q "tapsctl $o" "$tmp/out" || bad+="$o "
done
if [ -z "$bad" ]; then ok "OBJECT help exits 0 with its usage"; else fail "OBJECT help exits 0 with its usage" "$bad"; fi
expect "unknown command named with a hint" 2 '"frob".*"tapsctl policy help"' policy frob
expect "policy set without a keyword" 2 '"set"' policy set
expect "unknown keyword named" 2 '"speed"' policy set speed 1
expect "keyword without a value" 2 '"delay"' policy set delay
expect "keyword given twice" 2 '"delay"' policy set delay 20 delay 30
expect "trailing argument named" 2 '"extra"' conn show extra

# Values: bad ones are usage errors naming the word
expect_all "bad TIMEs exit 2" 2 '"WORD"' -- \
	"policy set delay abc" "policy set delay 10x" "policy set delay -5" \
	"policy set delay 1." "policy set delay .5s" "policy set delay ms" \
	"policy set delay 99999999999999999999" "rule add 192.0.2.0/24 delay 2.5h"
expect_all "TIMEs out of range exit 2" 2 '"WORD".*range' -- \
	"policy set delay 5ms" "policy set delay 2001" "policy set delay 3s" \
	"policy set cache-lifetime 999ms" "policy set cache-lifetime 25h" \
	"rule add 192.0.2.0/24 delay 9"
expect_all "bad PREFIXes exit 2" 2 '"WORD"' -- \
	"rule add 192.0.2.0/33" "rule add 2001:db8::/129" "rule add 300.1.2.3" \
	"rule add 192.0.2.0/" "rule add 192.0.2.0/x" "rule del 192.0.2.0/24/8" \
	"cache show to 2001:db8::g/32" "rule add host.example"
expect_all "bad LISTs and PROTOs exit 2" 2 '"WORD"' -- \
	"policy set protocols udp" "policy set protocols tcp,,sctp" \
	"policy set protocols tcp," "policy set order tcp,tcp" \
	"policy set order all,tcp" "rule add 192.0.2.0/24 prohibit TCP" \
	"rule add 192.0.2.0/24 prefer all" "rule add 192.0.2.0/24 prefer tcp,sctp"
expect_all "bad numbers exit 2" 2 '"WORD"' -- \
	"policy set max-candidates 0" "policy set max-candidates 100" \
	"policy set cache-size 65537" "policy set cache-size 1k" \
	"policy set cache maybe" "rule del id 0" "rule del id x" \
	"cache del 192.0.2.1 port 65536" "cache del 192.0.2.1 port -1"
expect "rule add needs prohibit, prefer or delay" 2 '"192.0.2.0/24".*prohibit' rule add 192.0.2.0/24
expect "cache del needs an address" 2 '"192.0.2.0/24"' cache del 192.0.2.0/24

# Without the module, what parses goes to the kernel and fails clearly
if [ -e /sys/module/taps ]; then
	for _ in $(seq 11); do skip "exit 1 without the module" "taps.ko is loaded"; done
else
	expect "policy show: module not loaded, exit 1" 1 "^Error: $notloaded \(generic netlink family \"taps\" not found\)" policy show
	expect "family: module not loaded, exit 1" 1 "$notloaded" family
	expect "abbreviations: po sh is policy show" 1 "$notloaded" po sh
	expect "an object alone runs show" 1 "$notloaded" rule
	expect_all "TIME forms parse" 1 "$notloaded" -- \
		"policy set delay 250ms" "policy set delay 250" "policy set delay 2s" \
		"policy set delay 1.5s" "policy set delay 9001us" "policy set delay 0.01s" \
		"policy set cache-lifetime 10m" "policy set cache-lifetime 1h" \
		"policy set cache-lifetime 86400s" "policy set delay 2000ms"
	expect_all "PREFIX forms parse" 1 "$notloaded" -- \
		"rule add 192.0.2.0/24 prohibit sctp" "rule add 2001:db8::/32 prefer tcp" \
		"rule add 192.0.2.1 delay 100ms" "rule add ::ffff:192.0.2.1/128 prohibit all" \
		"rule del 192.0.2.0/24" "rule del id 3" "cache show to 0.0.0.0/0"
	expect_all "every policy keyword parses" 1 "$notloaded" -- \
		"policy set delay 100ms protocols tcp,mptcp order sctp,tcp max-candidates 12 cache off cache-lifetime 30s cache-size 64" \
		"policy set protocols all order all cache on"
	expect_all "cache commands parse" 1 "$notloaded" -- \
		"cache show" "cache del 192.0.2.1" "cache del 2001:db8::1 port 8080" "cache flush"
	expect_all "read-only commands need the module" 1 "$notloaded" -- \
		"conn show" "stats" "-j stats" "-j -p rule show" "monitor"
	expect "usage errors come before the kernel" 2 '"abc"' -j policy set delay abc
	expect "-n enters /run/netns/NAME" 1 'tapsctl-no-such-ns' -n tapsctl-no-such-ns policy show
fi

# Bash completion
complete_words() {	# complete_words WORD...: what bash completes for the last WORD
	TAPSCTL_NETNS_DIR=$tmp/netns bash -c '
		. "$1" || exit 1
		shift
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		_tapsctl
		echo "${COMPREPLY[*]}"' bash "$completion" "$@"
}
mkdir -p "$tmp/netns" && touch "$tmp/netns/blue" "$tmp/netns/red"
check "completion script loads in bash" bash -n "$completion"
check "completes 'tapsctl po' to policy" test "$(complete_words tapsctl po)" = policy
check "completes objects after options" test "$(complete_words tapsctl -j -p co)" = conn
check "completes rule commands" test "$(complete_words tapsctl rule '')" = "show add del help"
check "completes policy set keywords not given yet" \
	test "$(complete_words tapsctl policy set delay 10 ca)" = "cache cache-lifetime cache-size"
check "completes protocol names" test "$(complete_words tapsctl rule add 192.0.2.0/24 prefer '')" = "tcp sctp mptcp"
check "completes a LIST after a comma" test "$(complete_words tapsctl policy set order tcp,)" = "tcp,sctp tcp,mptcp"
check "-n completes names from /run/netns" test "$(complete_words tapsctl -n b)" = blue

# The manual
if command -v groff >/dev/null; then
	if groff -man -Tutf8 -ww -z "$man8" >"$tmp/groff" 2>&1 && [ ! -s "$tmp/groff" ]; then
		ok "manual renders without warnings"
	else
		fail "manual renders without warnings" "$(head -c 500 "$tmp/groff")"
	fi
else
	skip "manual renders without warnings" "no groff"
fi
# Every keyword of the usage text is in the manual (hyphens are \- there)
"$tapsctl" help 2>/dev/null | tr -s ' []{}|,.:=()\t' '\n' | grep -E '^[a-z][a-z-]+$' |
	grep -vx where | sort -u >"$tmp/words"
bad=""
while read -r w; do
	grep -qF -- "${w//-/\\-}" "$man8" || bad+="$w "
done <"$tmp/words"
if [ -s "$tmp/words" ] && [ -z "$bad" ]; then
	ok "manual documents every word of the usage"
else
	fail "manual documents every word of the usage" "missing: $bad"
fi
finish
