#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# taps-run with unmodified clients.  The name dual.test has the server's
# IPv6 and IPv4 addresses (the client namespace's own hosts file), IPv6
# first, and the IPv6 address is blackholed (nft drop): Python's
# socket.create_connection() waits its timeout (3 s) on it without
# taps-run and connects in about the attempt delay under it, IPv4 winning,
# with getpeername/SO_DOMAIN/SO_PROTOCOL as for TCP; options set before
# connect read back from the connection that won; bytes through a plain
# TCP echo server, curl and wget from a plain HTTP server arrive intact
# over AF_TAPS (counted in the namespace's stats); tapsctl conn show lists
# a client's connection; -p sctp races SCTP only; a static binary runs
# unchanged, outside AF_TAPS, with a warning.
. "$(dirname "$0")/lib.sh"
. "$TAPS_TOP/selftests/helpers/topo.sh"
plan 11

run=$TAPS_TOP/build/tools/taps-run
py=/usr/bin/python3
if ! topo_up trun; then
	echo "Bail out! topology setup failed"
	exit 1
fi
tmp=$(mktemp -d /run/taps-run.XXXXXX)
hosts=/etc/netns/$C
cleanup() {
	topo_down
	rm -rf "$tmp" "$hosts"
}
trap cleanup EXIT
# ip netns exec mounts /etc/netns/NAME/hosts on /etc/hosts.
mkdir -p "$hosts"
printf '127.0.0.1 localhost\n::1 localhost\n%s dual.test\n%s dual.test\n' \
	"$SRV6" "$SRV4" >"$hosts/hosts"
nft_add ip6 daddr "$SRV6" drop

# Under TCG a race takes the 250 ms delay plus some; the debug kernel is
# 5 to 10 times slower.
BOUND=2000
[ "$TAPS_SLOW" = 1 ] && BOUND=6000

# The plain servers in $S: an echo server on 7000, HTTP on 8080 (both
# dual-stack, plain TCP), serving blob (1 MiB of random bytes) and small.
head -c 1048576 /dev/urandom >"$tmp/blob"
echo small-file-content >"$tmp/small"
cat >"$tmp/srv.py" <<'EOT'
import functools, http.server, socket, sys, threading
def echo(c):
    with c:
        while True:
            b = c.recv(65536)
            if not b:
                return
            c.sendall(b)
e = socket.create_server(("::", 7000), family=socket.AF_INET6, dualstack_ipv6=True)
threading.Thread(target=lambda: [threading.Thread(target=echo, args=(e.accept()[0],),
                 daemon=True).start() for _ in iter(int, 1)], daemon=True).start()
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a):
        pass
class V6(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6
    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()
h = V6(("::", 8080), functools.partial(Quiet, directory=sys.argv[1]))
print("ready", flush=True)
h.serve_forever()
EOT
# (Files, not coprocesses: topo_up holds bash's one coprocess.)
# wait_line FILE LINE: FILE has LINE within 20 s.
wait_line() {
	local i
	for ((i = 0; i < 200; i++)); do
		grep -qx "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
bg ip netns exec "$S" "$py" "$tmp/srv.py" "$tmp" >"$tmp/srv.out" 2>&1
wait_line "$tmp/srv.out" ready || { echo "Bail out! the plain servers did not start"; exit 1; }

# The client: time PORT TIMEOUT (create_connection, one line), echo PORT
# (1 MiB through the echo server), hold PORT (connect, say so, wait for
# stdin to end), opts PORT (options set before connect, read after).
cat >"$tmp/cli.py" <<'EOT'
import os, socket, sys, time
mode, port = sys.argv[1], int(sys.argv[2])
first = socket.getaddrinfo("dual.test", port, type=socket.SOCK_STREAM)[0][4][0]
if mode == "opts":
    ai = socket.getaddrinfo("dual.test", port, type=socket.SOCK_STREAM)[0]
    c = socket.socket(ai[0], socket.SOCK_STREAM)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 77)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    c.settimeout(10)
    c.connect(ai[4])
    print("nodelay=%d keepidle=%d keepalive=%d peer=%s" % (
        c.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY),
        c.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
        c.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE), c.getpeername()[0]))
    sys.exit(0)
t0 = time.monotonic()
try:
    c = socket.create_connection(("dual.test", port),
                                 timeout=float(sys.argv[3]) if mode == "time" else 20)
except OSError as e:
    print("err ms=%d first=%s %s" % ((time.monotonic() - t0) * 1000, first, e))
    sys.exit(0)
ms = (time.monotonic() - t0) * 1000
if mode == "time":
    print("ok ms=%d first=%s peer=%s domain=%d proto=%d type=%d" % (
        ms, first, c.getpeername()[0], c.getsockopt(socket.SOL_SOCKET, socket.SO_DOMAIN),
        c.getsockopt(socket.SOL_SOCKET, socket.SO_PROTOCOL),
        c.getsockopt(socket.SOL_SOCKET, socket.SO_TYPE)))
elif mode == "echo":
    data = os.urandom(1 << 20)
    c.sendall(data)
    c.shutdown(socket.SHUT_WR)
    got = bytearray()
    while True:
        b = c.recv(65536)
        if not b:
            break
        got += b
    print("intact" if got == data else "differ %d bytes" % len(got))
else:
    print("connected", flush=True)
    sys.stdin.read()
EOT
cli() { ip netns exec "$C" "$@"; }

r=$(cli "$py" "$tmp/cli.py" time 4250 3)
say "$r"
plain() {
	is "$(kv first "$r")" "$SRV6" "the name's first address" || return 1
	ge "$(kv ms "$r")" 2900 "create_connection's time (ms)"
}
check "without taps-run create_connection waits 3 s on the blackholed IPv6 address" plain

r=$(cli "$run" -v "$py" "$tmp/cli.py" time 4250 3 2>"$tmp/err")
say "$r"
sed 's/^/#   /' "$tmp/err"
raced() {
	is "${r%% *}" ok "connected" || return 1
	ge "$(kv ms "$r")" 200 "waited the attempt delay for IPv6 (ms)" || return 1
	lt "$(kv ms "$r")" "$BOUND" "create_connection's time (ms)" || return 1
	is "$(kv peer "$r")" "::ffff:$SRV4" "getpeername, IPv4 won on an AF_INET6 socket" || return 1
	is "$(kv domain "$r") $(kv proto "$r") $(kv type "$r")" "10 6 1" "SO_DOMAIN SO_PROTOCOL SO_TYPE" || return 1
	grep -q "racing \[$SRV6\]:4250 and 1 more address$" "$tmp/err" &&
		grep -qE "won by tcp $SRV4:4250 in [0-9]+ ms: candidates 4 attempts [2-4] failed 0$" "$tmp/err"
}
check "under taps-run it connects in about the attempt delay, IPv4 winning (< $BOUND ms)" raced

# through WHAT STATS-SPEC... -- CMD...: CMD (in $C) succeeds within 30 s and
# the namespace's stats moved by STATS-SPEC meanwhile.
through() {
	local what=$1 a b specs=()
	shift
	while [ "$1" != -- ]; do specs+=("$1"); shift; done
	shift
	a=$(tc -j stats)
	cli timeout 30 "$@" >"$tmp/out" 2>"$tmp/err" ||
		{ echo "# $what exited $?: $(head -c 300 "$tmp/err")"; return 1; }
	b=$(tc -j stats)
	$TJSON delta "$a" "$b" "${specs[@]}"
}
sum=$(sha256sum <"$tmp/blob")
same_blob() { is "$(sha256sum <"$1")" "$sum" "sha256 of $1"; }

echo_ok() {
	through "python echo client" races=1 wins_tcp=1 wins_inet=1 -- \
		"$run" "$py" "$tmp/cli.py" echo 7000 || return 1
	is "$(cat "$tmp/out")" intact "the echo client"
}
check "echo server: 1 MiB intact over an AF_TAPS race" echo_ok

curl_ok() {
	# curl races IPv6 and IPv4 itself too: two AF_TAPS sockets at most.
	through curl "races>=1" "wins_tcp>=1" -- \
		"$run" curl -sS -o "$tmp/curl.out" http://dual.test:8080/blob &&
		same_blob "$tmp/curl.out"
}
check "curl: 1 MiB intact from a plain HTTP server, over AF_TAPS" curl_ok

wget_ok() {
	through wget races=1 wins_tcp=1 -- \
		"$run" wget -q -O "$tmp/wget.out" http://dual.test:8080/blob &&
		same_blob "$tmp/wget.out"
}
check "wget: 1 MiB intact from a plain HTTP server, over AF_TAPS" wget_ok

conn_show() {
	local pid rc=0
	mkfifo "$tmp/hold"
	cli "$run" "$py" "$tmp/cli.py" hold 4251 <"$tmp/hold" >"$tmp/hold.out" 2>&1 &
	pid=$!
	exec 7>"$tmp/hold"
	wait_line "$tmp/hold.out" connected || { echo "# the held client: $(cat "$tmp/hold.out")"; rc=1; }
	tc conn show >"$tmp/conns"
	sed 's/^/#   /' "$tmp/conns"
	grep -qE "^established tcp $CLI4:[0-9]+ -> $SRV4:4251 uid 0 ino [0-9]+ candidates 4 attempts [2-4] failed 0" \
		"$tmp/conns" || rc=1
	exec 7>&-
	wait "$pid" || rc=1
	return $rc
}
check "tapsctl conn show lists the connection of a client under taps-run" conn_show

opts_ok() {
	local r
	r=$(cli "$run" "$py" "$tmp/cli.py" opts 4253 2>&1)
	say "$r"
	is "$r" "nodelay=1 keepidle=77 keepalive=1 peer=::ffff:$SRV4" "options read on the winner"
}
check "options set before connect reach the winner (TCP_NODELAY, TCP_KEEPIDLE, SO_KEEPALIVE)" opts_ok

sctp_only() {
	local r
	r=$(cli "$run" -v -p sctp "$py" "$tmp/cli.py" time 4252 10 2>"$tmp/err")
	say "$r"
	sed 's/^/#   /' "$tmp/err"
	is "${r%% *}" ok "connected" && is "$(kv proto "$r")" 6 "SO_PROTOCOL" &&
		grep -q "won by sctp $SRV4:4252 .* candidates 2 attempts 2 failed 0$" "$tmp/err"
}
check "-p sctp: the race is SCTP's, SO_PROTOCOL still says TCP" sctp_only

refused_ok() {
	cli "$run" -v "$py" -c '
import socket
try:
    socket.create_connection(("192.0.2.2", 5001), timeout=10)
except ConnectionRefusedError:
    print("refused")' >"$tmp/out" 2>"$tmp/err"
	sed 's/^/#   /' "$tmp/err"
	is "$(cat "$tmp/out")" refused "the client" &&
		grep -q "race failed: candidates 2 attempts 2 failed 2$" "$tmp/err"
}
check "nothing listens: ECONNREFUSED as from TCP, -v says the race failed" refused_ok

static_ok() {
	through "busybox wget" races=0 -- \
		"$run" /bin/busybox wget -q -O - "http://$SRV4:8080/small" || return 1
	sed 's/^/#   /' "$tmp/err"
	is "$(cat "$tmp/out")" small-file-content "busybox wget's output" &&
		grep -q 'busybox: statically linked' "$tmp/err"
}
check "static busybox wget: runs unchanged over plain TCP, with a warning" static_ok

bound_ok() {
	through "a bound client" races=0 -- "$run" -v "$py" -c '
import socket
c = socket.create_connection(("dual.test", 7000), source_address=("192.0.2.1", 0))
c.sendall(b"x")
assert c.recv(1) == b"x"' || return 1
	sed 's/^/#   /' "$tmp/err"
	grep -q "is bound: connect to .* stays TCP" "$tmp/err"
}
check "a socket bound before connect stays TCP (said with -v)" bound_ok
finish
