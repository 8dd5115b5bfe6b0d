#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Every manual page in Documentation/ renders without a warning, through
# man (man --warnings -l, as the packages install them) and groff -ww; taps(7)
# names every SOL_TAPS option, preference, protocol bit, state, TAPS_INFO
# flag and field and sockaddr_taps field of uapi/linux/taps.h, and
# taps-run(1) every option of taps-run's usage.
. "$(dirname "$0")/../lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pages=("$TAPS_TOP"/Documentation/*.[1-8] "$TAPS_TOP"/Documentation/man/*.[1-8])
plan $((2 * ${#pages[@]} + 3))

for p in "${pages[@]}"; do
	n=$(basename "$p")
	LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$p" >"$tmp/out" 2>"$tmp/err"
	if [ -s "$tmp/err" ] || [ ! -s "$tmp/out" ]; then
		fail "man --warnings -l $n: no warnings" "$(head -n 5 "$tmp/err")"
	else
		ok "man --warnings -l $n: no warnings"
	fi
	if groff -ww -z -man "$p" 2>"$tmp/err" && [ ! -s "$tmp/err" ]; then
		ok "groff -ww $n: no warnings"
	else
		fail "groff -ww $n: no warnings" "$(head -n 5 "$tmp/err")"
	fi
done

# The socket API part of the header: everything before the netlink family.
sed '/Generic netlink family/,$d' "$TAPS_TOP/uapi/linux/taps.h" >"$tmp/api.h"
{
	grep -oE '\<(AF|PF|SOL)_TAPS\>' "$tmp/api.h"
	grep -oE '\<TAPS_[A-Z0-9_]+\>' "$tmp/api.h" | grep -v '^_'
	grep -oE '\<(ti|stap)_[a-z_]+\>' "$tmp/api.h"
} | grep -vE '^TAPS_H$|_$' | sort -u >"$tmp/names"
LC_ALL=C.UTF-8 MANWIDTH=200 man -l "$TAPS_TOP/Documentation/taps.7" 2>/dev/null >"$tmp/taps.txt"
missing=
while read -r name; do
	grep -qw -- "$name" "$tmp/taps.txt" || missing="$missing $name"
done <"$tmp/names"
if [ "$(wc -l <"$tmp/names")" -ge 40 ] && [ -z "$missing" ]; then
	ok "taps(7) names all $(wc -l <"$tmp/names") names of the socket API"
else
	fail "taps(7) names every name of the socket API" "missing:$missing"
fi

# Each SOL_TAPS option's entry gives its type and what fails it.
bad=
for o in TAPS_ATTEMPT_DELAY TAPS_CONN_TIMEOUT TAPS_PROTOCOLS TAPS_ISOLATE TAPS_REMOTE_ENDPOINTS; do
	grep -A6 "^       $o\$" "$tmp/taps.txt" | grep -q EINVAL || bad="$bad $o"
done
check "taps(7): every SOL_TAPS option lists EINVAL${bad:+ (not:$bad)}" [ -z "$bad" ]

LC_ALL=C.UTF-8 MANWIDTH=200 man -l "$TAPS_TOP/Documentation/taps-run.1" 2>/dev/null >"$tmp/run.txt"
# shellcheck disable=SC2016 # the script's own "$me", literally
opts=$(sed -n 's/.*Usage: $me \(.*\)/\1/p' "$TAPS_TOP/tools/taps-run/taps-run" |
	grep -oE '\[-[a-z]' | tr -d '[' | tr '\n' ' ')
bad=
for o in $opts; do
	grep -qE "^       $o( |$)" "$tmp/run.txt" || bad="$bad $o"
done
if [ -n "$opts" ] && [ -z "$bad" ]; then
	ok "taps-run(1) documents every option of the usage (${opts% })"
else
	fail "taps-run(1) documents every option of the usage" "options: '$opts', missing:$bad"
fi
finish
