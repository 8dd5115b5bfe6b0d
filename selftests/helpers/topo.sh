# SPDX-License-Identifier: GPL-2.0
#
# Shared by policy.sh, cache.sh and netlink.sh (sourced after lib.sh; not a
# test itself, so it lives in helpers/ where run_tests does not look).
#
# topo_up TAG builds a client namespace $C (192.0.2.1, 2001:db8::1) and a
# server namespace $S (192.0.2.2, 2001:db8::2) joined by veth, both named
# after TAG and the PID so that tests can run side by side, with taps_srv
# in $S listening on:
#   4240-4242 and 4245-4259  TCP and SCTP
#   4243                     SCTP only (TCP is refused: RST)
#   4244                     TCP only (SCTP is refused: ABORT)
# Nothing listens from 5000 up.  An nft table "inet t" with an input chain
# "in" is ready in $S: nft_add RULE adds to it, nft_flush empties it.
# topo_down (run on EXIT) kills the helpers and deletes the namespaces.
#
# race ARGS... runs taps_race (in $C unless ARGS has -N) and prints its line;
# kv KEY LINE extracts a word; is/ge/lt/has/hasnt assert with a "#" line
# explaining what differed, and return 1 then.

TAPSCTL=$TAPS_TOP/build/tools/tapsctl
TR=$TAPS_BIN/helpers/taps_race
TSRV=$TAPS_BIN/helpers/taps_srv
TJSON="python3 $TAPS_TOP/selftests/helpers/tapsjson.py"
# Some commands run as nobody.  A checkout nobody cannot reach (a clone
# under a 0700 directory, as mktemp -d makes) gets them from copies in the
# guest's /run (a tmpfs that goes with the guest).
if ! setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$TAPSCTL" 2>/dev/null; then
	_topo_bin=$(mktemp -d /run/taps-bin.XXXXXX) && chmod 755 "$_topo_bin" &&
		cp "$TAPSCTL" "$TR" "$_topo_bin/" &&
		TAPSCTL=$_topo_bin/tapsctl TR=$_topo_bin/taps_race
fi
SRV4=192.0.2.2
SRV6=2001:db8::2
CLI4=192.0.2.1
CLI6=2001:db8::1
C=
S=
# The debug kernel (KASAN, lockdep) runs 5 to 10 times slower under TCG:
# cache.sh races with a longer attempt delay there, upper bounds get slack.
case $(uname -r) in
*debug*) TAPS_SLOW=1 SLACK=150 ;;
*) TAPS_SLOW=0 SLACK=0 ;;
esac
_topo_ns=()
_topo_pids=()

tapsctl() { "$TAPSCTL" "$@"; }

# The client namespace's tapsctl.
tc() { "$TAPSCTL" -n "$C" "$@"; }

topo_down() {
	local p n
	for p in "${_topo_pids[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${_topo_pids[@]}"; do
		wait "$p" 2>/dev/null
	done
	_topo_pids=()
	for n in "${_topo_ns[@]}"; do
		ip netns del "$n" 2>/dev/null
	done
	_topo_ns=()
}

# netns_add NAME: a namespace deleted by topo_down, lo up.
netns_add() {
	ip netns add "$1" || return 1
	_topo_ns+=("$1")
	ip -n "$1" link set lo up
}

# bg CMD...: run in the background, killed by topo_down; $! as usual.
bg() {
	"$@" &
	_topo_pids+=($!)
}

topo_up() {
	C=${1}c$$
	S=${1}s$$
	trap topo_down EXIT
	trap 'exit 1' TERM INT
	ip netns add "$C" && _topo_ns+=("$C") || return 1
	ip netns add "$S" && _topo_ns+=("$S") || return 1
	ip -n "$C" -batch - <<-EOF || return 1
		link set lo up
		link add veth0 type veth peer name veth1 netns $S
		addr add $CLI4/24 dev veth0
		addr add $CLI6/64 dev veth0 nodad
		link set veth0 up
	EOF
	ip -n "$S" -batch - <<-EOF || return 1
		link set lo up
		addr add $SRV4/24 dev veth1
		addr add $SRV6/64 dev veth1 nodad
		link set veth1 up
	EOF
	ip netns exec "$S" nft -f - <<-EOF || return 1
		add table inet t
		add chain inet t in { type filter hook input priority 0; }
	EOF
	# The server: its stdin is a pipe whose end stops it.
	coproc SRVP { "$TSRV" -N "$S" -b 4240-4242 -s 4243 -t 4244 -b 4245-4259; }
	_topo_pids+=("$SRVP_PID")
	local line
	read -r -t 20 line <&"${SRVP[0]}"
	[ "$line" = ready ] || { echo "# taps_srv did not start"; return 1; }
	# Until the veth path answers both ways (qdisc, neighbours).
	"$TR" -N "$C" -W -p tcp $SRV4 5999 $SRV6 5999 >/dev/null || return 1
}

nft_add() { ip netns exec "$S" nft add rule inet t in "$@"; }
nft_flush() { ip netns exec "$S" nft flush chain inet t in; }

# race ARGS...: taps_race in the client namespace, its line(s) on stdout.
race() { "$TR" -N "$C" "$@"; }

# kv KEY LINE...: the value of KEY=... in LINE.
kv() {
	local k=$1 w
	shift
	for w in $*; do
		case $w in
		"$k"=*) echo "${w#*=}"; return 0 ;;
		esac
	done
	return 1
}

# is GOT WANT WHAT, ge GOT MIN WHAT, lt GOT MAX WHAT (integers for ge/lt)
is() {
	[ "$1" = "$2" ] && return 0
	echo "# $3: got '$1', want '$2'"
	return 1
}
ge() {
	[[ "$1" =~ ^[0-9]+$ ]] && [ "$1" -ge "$2" ] && return 0
	echo "# $3: got '$1', want >= $2"
	return 1
}
lt() {
	[[ "$1" =~ ^[0-9]+$ ]] && [ "$1" -lt "$2" ] && return 0
	echo "# $3: got '$1', want < $2"
	return 1
}

# say LINE: show a taps_race line in the TAP output as a comment.
say() { echo "$*" | sed 's/^/#   /'; }

# jq_ok EXPR WHAT: the JSON on stdin satisfies the Python expression EXPR
# over d (the parsed document); prints the document when not.
jq_ok() { $TJSON check "$1" "$2"; }
# jget EXPR: the value of a Python expression over the JSON on stdin.
jget() { $TJSON get "$1"; }

# tapsctl's exit status must be WANT: expect_rc WANT WHAT CMD...
expect_rc() {
	local want=$1 what=$2 out rc
	shift 2
	out=$("$@" 2>&1)
	rc=$?
	[ "$rc" = "$want" ] && return 0
	echo "# $what: '$*' exited $rc, want $want; output: $out"
	return 1
}
