# SPDX-License-Identifier: GPL-2.0
#
# TAP helpers for the shell tests: plan N, ok NAME, fail NAME [why],
# skip NAME why, check NAME CMD... (ok when CMD succeeds).

TAPS_TOP=${TAPS_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
TAPS_BIN=$TAPS_TOP/build/selftests
TAPS_KO=${TAPSVM_MODULES:-$TAPS_TOP/build/$(uname -r)/taps.ko}
TAPS_KO=${TAPS_KO# }
TAPS_KO=${TAPS_KO%% *}
_tap_n=0
_tap_bad=0

echo "TAP version 13"
plan() { echo "1..$1"; }
ok() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n $1"; }
fail() {
	_tap_n=$((_tap_n + 1)) _tap_bad=1
	echo "not ok $_tap_n $1"
	[ $# -lt 2 ] || echo "# $2"
}
skip() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n $1 # SKIP $2"; }
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else fail "$name" "failed: $*"; fi
}
finish() { exit $_tap_bad; }
