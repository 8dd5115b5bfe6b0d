#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# taps.ko loads and unloads cleanly, refuses to unload while a socket is
# open, and takes another family number through its parameter.
. "$(dirname "$0")/lib.sh"
plan 7

hold=$TAPS_BIN/helpers/taps_hold
fam=/sys/module/taps/parameters/family

reload_20() {
	local i
	for ((i = 0; i < 20; i++)); do
		rmmod taps || return 1
		insmod "$TAPS_KO" || return 1
		"$hold" 1 </dev/null >/dev/null || return 1
	done
}
check "20 unload/load cycles, a socket in each" reload_20

busy() {
	local out rc
	coproc HOLD { "$hold" 3; }
	read -r out <&"${HOLD[0]}"
	[ "$out" = ready ] || return 1
	rmmod taps 2>/dev/null && { echo "# rmmod succeeded with 3 sockets open"; return 1; }
	[ "$(cat /sys/module/taps/refcnt)" -ge 3 ] || { echo "# refcnt $(cat /sys/module/taps/refcnt)"; return 1; }
	exec {HOLD[1]}>&-
	wait "$HOLD_PID"
	rc=$?
	[ $rc = 0 ] || return 1
	rmmod taps && insmod "$TAPS_KO"
}
check "unload refused while sockets are open, allowed after close" busy

override() {
	rmmod taps || return 1
	insmod "$TAPS_KO" family=22 || return 1
	[ "$(cat $fam)" = 22 ] || return 1
	"$hold" 1 </dev/null >/dev/null || return 1
	python3 -c 'import socket; socket.socket(22, socket.SOCK_STREAM).close()' || return 1
	rmmod taps && insmod "$TAPS_KO" && [ "$(cat $fam)" = 18 ]
}
check "family=22 registers family 22, default is 18" override

refused() {	# refused PARAM ERRNO-TEXT: insmod fails with that errno
	local msg rc=0
	rmmod taps || return 1
	if msg=$(insmod "$TAPS_KO" "$1" 2>&1); then
		echo "# insmod $1 succeeded"
		rc=1
	else
		echo "# $msg"
		echo "$msg" | grep -q "$2" || rc=1
	fi
	[ -d /sys/module/taps ] && rmmod taps
	insmod "$TAPS_KO" && return $rc
}
check "family=2 (AF_INET, taken) refused: EEXIST" refused family=2 "File exists"
check "family=46 (AF_MAX) refused: EINVAL" refused family=46 "Invalid parameters"
check "family=0 refused: EINVAL" refused family=0 "Invalid parameters"
check "module loaded with defaults at the end" test "$(cat $fam)" = 18
finish
