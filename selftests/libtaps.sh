#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# libtaps against real peers in the guest (issue 10): initiate by host
# name (/etc/hosts, dual stack) with IPv6 blackholed, an SCTP-only server,
# a libtaps listener taking TCP and SCTP clients, the line framer against
# ncat and python, length-prefix libtaps to libtaps, hundreds of
# connections on one loop, errors provoked for real (refused, timeout,
# name not found, a malformed frame), taps-cat piping a file; the HTTP/1.1
# framer against nginx (pipelined, Content-Length, HEAD, chunked, 404, in
# parts with max_len); stacked framers (line inside length-prefix) between
# libtaps peers and against a python peer that checks the wire; and
# InitiateWithSend, clone and group close, CloneError, Expired, final and
# a refused message property against real peers (libtaps_grp).
. "$(dirname "$0")/lib.sh"
. "$TAPS_TOP/selftests/helpers/topo.sh"
plan 25

LT=$TAPS_BIN/helpers/libtaps_t
GRP=$TAPS_BIN/helpers/libtaps_grp
CAT=$TAPS_TOP/build/tools/taps-cat
MANY=300
[ "$TAPS_SLOW" = 1 ] && MANY=60

if ! topo_up tlib; then
	echo "Bail out! topology setup failed"
	exit 1
fi
tmp=$(mktemp -d)
# ip netns exec bind-mounts /etc/netns/NAME/hosts over /etc/hosts.
mkdir -p /etc/netns/$C
printf '%s dual.test\n%s dual.test\n%s v4.test\n' $SRV6 $SRV4 $SRV4 >/etc/netns/$C/hosts
# The guest has no DNS: files only, so that an unknown name is "not found"
# at once rather than a timed-out query.
echo "hosts: files" >/etc/netns/$C/nsswitch.conf
# The servers go before the module is unloaded: their pids from their logs.
cleanup() {
	local p pids i
	pids=$(cat "$tmp"/lp "$tmp"/line "$tmp"/raw "$tmp"/lim "$tmp"/stop "$tmp"/stk 2>/dev/null |
		sed -n 's/^listening .*pid=//p')
	[ -s "$tmp/ngx/nginx.pid" ] && pids="$pids $(cat "$tmp/ngx/nginx.pid")"
	for p in $pids; do kill "$p" 2>/dev/null; done
	for i in $(seq 50); do
		for p in $pids; do [ -d /proc/$p ] && break; p=; done
		[ -z "$p" ] && break
		sleep 0.1
	done
	rm -rf "$tmp" "/etc/netns/$C"
	topo_down
}
trap cleanup EXIT

# Clients never hang the test: 30 s at most each.
inc() { timeout 30 ip netns exec "$C" "$@"; }
# bytes N: N pseudo-random bytes (not /dev/urandom: no entropy is needed)
bytes() { python3 -c 'import random, sys; random.seed(10); sys.stdout.buffer.write(random.randbytes(int(sys.argv[1])))' "$1"; }
ins() { ip netns exec "$S" "$@"; }

# serve NAME ARGS...: a libtaps_t echo server in $S, its output in $tmp/NAME;
# waits until it listens.  Its stdin is a fifo kept open by fd 9x.
serve() {
	local name=$1 i
	shift
	mkfifo "$tmp/$name.in"
	# read-write: opening does not wait for a reader
	eval "exec {fd_$name}<>\"$tmp/$name.in\""
	# (not through bg: an asynchronous command's stdin is /dev/null unless
	# redirected on the command itself).  It exits when we do: the fifo's
	# last writer goes.
	ins "$LT" serve "$@" <"$tmp/$name.in" >"$tmp/$name" 2>&1 &
	_topo_pids+=($!)
	for i in $(seq 100); do
		grep -q "^listening" "$tmp/$name" && return 0
		grep -q "^listen_error" "$tmp/$name" && break
		sleep 0.1
	done
	echo "# server $name did not start: $(cat "$tmp/$name")"
	return 1
}

serve lp -f lp 7000 || { echo "Bail out! no libtaps server"; exit 1; }
serve line -f line 7001 || { echo "Bail out! no libtaps server"; exit 1; }
serve raw 7002 || { echo "Bail out! no libtaps server"; exit 1; }

# 1. by name, dual stack, IPv6 blackholed: IPv4 wins after the attempt
#    delay (250 ms), within a generous bound.  isolateSession keeps the
#    namespace's cache out of it.
t_name_blackholed() {
	local bad=0 r ms d=250 bound=500
	[ "$TAPS_SLOW" = 1 ] && bound=2000
	nft_add ip6 daddr $SRV6 tcp dport 7000 drop
	nft_add ip6 daddr $SRV6 meta l4proto sctp drop
	r=$(inc "$LT" connect -i -f lp -m 3 dual.test 7000)
	say "$r"
	nft_flush
	has_ready "$r" || bad=1
	is "$(kv proto "$r")" tcp "protocol" || bad=1
	ms=$(kv ms "$r")
	ge "$ms" $((d - 10)) "initiate to Ready (ms): the IPv6 attempt waited for" || bad=1
	lt "$ms" $((d + bound)) "initiate to Ready (ms)" || bad=1
	echo "$r" | grep -q -- "-> $SRV4:7000" || { echo "# not over IPv4"; bad=1; }
	echo "# initiate-to-Ready by name, IPv6 blackholed: $ms ms"
	return $bad
}

has_ready() { case $1 in ready*) return 0 ;; esac; echo "# not ready: $1"; return 1; }

# 2. both families answer: IPv6 first (RFC 8305), no waiting
t_name_dual() {
	local r
	r=$(inc "$LT" connect -i -m 2 -f lp dual.test 7000)
	say "$r"
	has_ready "$r" && echo "$r" | grep -q -- "-> \[$SRV6\]:7000" && lt "$(kv ms "$r")" 200 "ms"
}

# 3. an SCTP-only server (taps_srv: TCP refused on 4243)
t_sctp_only() {
	local r
	r=$(inc "$LT" connect -i v4.test 4243)
	say "$r"
	has_ready "$r" && is "$(kv proto "$r")" sctp "protocol"
}

# pyclient PROTO ADDR PORT LINES: a plain python client (TCP or SCTP
# socket) sends LINES, reads as many lines back, prints them space-separated
pyclient() {
	inc python3 -c '
import socket, sys
proto = socket.IPPROTO_SCTP if sys.argv[1] == "sctp" else socket.IPPROTO_TCP
fam = socket.AF_INET6 if ":" in sys.argv[2] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM, proto); s.settimeout(10)
s.connect((sys.argv[2], int(sys.argv[3])))
data = sys.argv[4].encode().decode("unicode_escape").encode("latin-1")
s.sendall(data)
want, got = data.count(b"\n"), b""
while got.count(b"\n") < want:
    b = s.recv(4096)
    if not b: break
    got += b
print(" ".join(got.decode().split("\n")).strip())
' "$@"
}

# 4. the listener takes plain TCP and SCTP clients, line framer echoing
#    LF and CRLF lines (the server sends LF)
t_listener_tcp_sctp() {
	local bad=0
	is "$(pyclient tcp $SRV4 7001 'one\ntwo\r\n')" "one two" "TCP client" || bad=1
	is "$(pyclient sctp $SRV6 7001 'three\r\nfour\n')" "three four" "SCTP client" || bad=1
	grep -q "accepted proto=tcp" "$tmp/line" || { echo "# no TCP accepted"; bad=1; }
	grep -q "accepted proto=sctp" "$tmp/line" || { echo "# no SCTP accepted"; bad=1; }
	return $bad
}

# 5. line framer against python: a client libtaps sends lines to a
#    python line echo server (CRLF back), and gets each message back
t_line_python() {
	local r pyo=$tmp/py.out
	bg ins python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET6); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::", 7003)); s.listen(4); print("up", flush=True)
c, _ = s.accept(); f = c.makefile("rb")
for line in f:
    c.sendall(line.rstrip(b"\r\n") + b"\r\n")
' >"$pyo"
	for i in $(seq 100); do grep -q up "$pyo" && break; sleep 0.1; done
	r=$(inc "$LT" connect -i -f line -m 20 $SRV4 7003)
	say "$r"
	has_ready "$r"
}

# 6. many connections on one loop, length-prefix, echoed by libtaps
t_many() {
	local r
	r=$(inc "$LT" many -f lp $MANY 5 $SRV4 7000)
	say "$r"
	is "$(kv echoed "$r")" $MANY "connections echoed ($MANY, 5 messages each)" &&
		is "$(kv failed "$r")" 0 "failed"
}

# 7. errors, for real: refused, timed out, name not found
t_errors() {
	local bad=0 r
	r=$(inc "$LT" connect -i $SRV4 5000)
	say "$r"
	is "$(kv code "$r")" 111 "refused: ECONNREFUSED" || bad=1
	echo "$r" | grep -q "refused" || { echo "# reason says refused"; bad=1; }
	nft_add tcp dport 5001 drop
	nft_add meta l4proto sctp drop
	r=$(inc "$LT" connect -i -w 600 $SRV4 5001)
	say "$r"
	nft_flush
	is "$(kv code "$r")" 110 "connTimeout: ETIMEDOUT" || bad=1
	r=$(inc "$LT" connect -i nosuch.invalid 80)
	say "$r"
	is "$(kv code "$r")" 6 "name not found: ENXIO" || bad=1
	echo "$r" | grep -q "name resolution failed: nosuch.invalid" || bad=1
	return $bad
}

# 8. a malformed frame from a real peer: ReceiveError then ConnectionError
t_bad_frame() {
	local bad=0 r
	bg ins python3 -c '
import socket
s = socket.socket(socket.AF_INET6); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::", 7004)); s.listen(4)
c, _ = s.accept(); c.recv(100); c.sendall(b"\xff\xff\xff\xffjunk"); c.recv(100)
'
	sleep 1
	r=$(inc "$LT" connect -i -f lp -m 1 $SRV4 7004)
	say "$r"
	echo "$r" | grep -q "^receive_error code=90 .*more than" || { echo "# no ReceiveError"; bad=1; }
	echo "$r" | grep -q "^connection_error code=90" || { echo "# no ConnectionError"; bad=1; }
	return $bad
}

# 9. the raw echo server: bytes in, bytes out (no framer), from python
#    with a half-close: the server sees the end, echoes all, closes
t_raw_echo() {
	local out
	bytes 200000 >"$tmp/raw.data"
	out=$(inc python3 -c '
import socket, sys
s = socket.create_connection(("192.0.2.2", 7002), timeout=20)
s.sendall(open(sys.argv[1], "rb").read()); s.shutdown(socket.SHUT_WR)
got = b""
while True:
    b = s.recv(65536)
    if not b: break
    got += b
sys.stdout.buffer.write(got)
' "$tmp/raw.data" | md5sum)
	is "$out" "$(md5sum <"$tmp/raw.data")" "200 kB echoed intact, then closed"
}

# 10. taps-cat pipes a file through a connection, bytes intact
t_cat_file() {
	local bad=0 r
	bytes 2000000 >"$tmp/file"
	bg ins "$CAT" -l 7100 >"$tmp/file.out" 2>"$tmp/cat.err" </dev/null
	sleep 0.5
	inc timeout 30 "$CAT" -v $SRV4 7100 <"$tmp/file" 2>"$tmp/catc.err" >/dev/null || {
		echo "# taps-cat client: $?: $(cat "$tmp/catc.err")"; bad=1; }
	for i in $(seq 50); do cmp -s "$tmp/file" "$tmp/file.out" && break; sleep 0.1; done
	cmp "$tmp/file" "$tmp/file.out" || bad=1
	grep -Eq "^ready: (TCP|SCTP) 192.0.2.1:[0-9]+ -> 192.0.2.2:7100 in [0-9.]+ ms$" "$tmp/catc.err" ||
		{ echo "# -v line: $(cat "$tmp/catc.err")"; bad=1; }
	return $bad
}

# 11. taps-cat --framer line against the libtaps line echo server; exit 1
#     with the reason on a refused connection; 2 on bad usage
t_cat_modes() {
	local bad=0 out rc
	out=$(printf 'a\nbb\n' | inc timeout 20 "$CAT" --framer line -q 2 $SRV4 7001)
	is "$(echo "$out" | tr '\n' ' ')" "a bb " "taps-cat --framer line" || bad=1
	inc "$CAT" $SRV4 5000 </dev/null 2>"$tmp/e"; rc=$?
	is "$rc" 1 "exit status, refused" || bad=1
	grep -q "refused" "$tmp/e" || { echo "# stderr: $(cat "$tmp/e")"; bad=1; }
	"$CAT" --bogus 2>/dev/null; rc=$?
	is "$rc" 2 "exit status, bad usage" || bad=1
	return $bad
}

# 12. connection limit 1: a second client is accepted only once the
#     first has gone
t_listener_limit() {
	local bad=0 n
	serve lim -L 1 7005 || return 1
	inc python3 -c '
import socket, time
s = socket.create_connection(("192.0.2.2", 7005)); time.sleep(3); s.close()' &
	local holder=$!
	sleep 1
	inc python3 -c '
import socket
s = socket.create_connection(("192.0.2.2", 7005), timeout=20); s.sendall(b"x")
assert s.recv(1) == b"x"' &
	local second=$!
	sleep 1
	n=$(grep -c "accepted" "$tmp/lim")
	is "$n" 1 "accepted while the first is open" || bad=1
	wait $holder
	wait $second || { echo "# second client got no echo"; bad=1; }
	n=$(grep -c "accepted" "$tmp/lim")
	is "$n" 2 "accepted after the first closed" || bad=1
	return $bad
}

# 13. Stop: after its first connection the listener stops (Stopped), the
#     connection it took still works, the next client is refused
t_listener_stop() {
	local bad=0 r i
	serve stop -S 1 7006 || return 1
	r=$(inc "$LT" connect -i -m 2 -f lp $SRV4 7006)
	say "$r"
	for i in $(seq 50); do grep -q "^stopped" "$tmp/stop" && break; sleep 0.1; done
	grep -q "^stopped" "$tmp/stop" || { echo "# no Stopped"; bad=1; }
	r=$(inc "$LT" connect -i $SRV4 7006)
	say "$r"
	is "$(kv code "$r")" 111 "after Stop: refused" || bad=1
	return $bad
}

# 14. lp server with a few clients left: each server still serving
t_servers_alive() {
	grep -q "connection_error" "$tmp/lp" && { echo "# lp server: $(grep error "$tmp/lp")"; return 1; }
	return 0
}

# 15. the HTTP/1.1 framer against nginx: five requests pipelined on one
#     connection (a file by Content-Length, HEAD of it, an SSI page nginx
#     sends chunked, a 404, the file again); every body byte for byte;
#     then the same with max_len 40000: the responses in parts
t_http_nginx() {
	local bad=0 n=$tmp/ngx r i want
	mkdir -p "$n/www/ssi" "$n/tmp" "$n/a" "$n/b"
	bytes 150000 >"$n/www/file.bin"
	printf 'A<!--# include virtual="/file.bin" -->B' >"$n/www/ssi/page.html"
	{ printf A; cat "$n/www/file.bin"; printf B; } >"$n/page.want"
	cat >"$n/nginx.conf" <<-EOF
		daemon off;
		master_process off;
		worker_processes 1;
		error_log $n/error.log;
		pid $n/nginx.pid;
		events { worker_connections 64; }
		http {
			access_log off;
			client_body_temp_path $n/tmp;
			proxy_temp_path $n/tmp;
			fastcgi_temp_path $n/tmp;
			uwsgi_temp_path $n/tmp;
			scgi_temp_path $n/tmp;
			types { text/html html; }
			default_type application/octet-stream;
			server {
				listen 8080;
				listen [::]:8080;
				root $n/www;
				location /ssi/ { ssi on; }
			}
		}
	EOF
	ins nginx -c "$n/nginx.conf" -p "$n" -e "$n/error.log" </dev/null >"$n/out" 2>&1 &
	for i in $(seq 50); do [ -s "$n/nginx.pid" ] && break; sleep 0.1; done
	[ -s "$n/nginx.pid" ] || { echo "# nginx did not start: $(cat "$n/out" "$n/error.log")"; return 1; }
	for dir in a b; do
		if [ $dir = a ]; then
			r=$(inc "$LT" http $SRV4 8080 "$n/a" GET:/file.bin HEAD:/file.bin \
				GET:/ssi/page.html GET:/nope GET:/file.bin)
		else
			r=$(inc "$LT" http -x 40000 $SRV4 8080 "$n/b" GET:/file.bin HEAD:/file.bin \
				GET:/ssi/page.html GET:/nope GET:/file.bin)
		fi
		say "$r"
		want="200:150000:0 200:0:0 200:150002:1 404:*:0 200:150000:0"
		is "$(echo "$r" | sed -n 's/^response .*status=\([0-9]*\) body=\([0-9]*\) chunked=\([01]\).*/\1:\2:\3/p' |
			tr '\n' ' ' | sed 's/ $//; s/404:[0-9]*:/404:*:/')" "$want" "statuses, body sizes, chunked ($dir)" || bad=1
		echo "$r" | grep -q "^done responses=5" || { echo "# not all responses"; bad=1; }
		cmp "$n/$dir/0.body" "$n/www/file.bin" || bad=1
		cmp "$n/$dir/2.body" "$n/page.want" || bad=1
		cmp "$n/$dir/4.body" "$n/www/file.bin" || bad=1
		grep -q "404 Not Found" "$n/$dir/3.body" || { echo "# 404 body"; bad=1; }
	done
	# in parts of at most 40000 bytes: 150000 and its head: 4 parts
	is "$(echo "$r" | sed -n 's/^response n=0 .*parts=\([0-9]*\)/\1/p')" 4 "parts with max_len 40000" || bad=1
	kill "$(cat "$n/nginx.pid")" 2>/dev/null
	return $bad
}

# 16. stacked framers: line added after length-prefix, so each line goes
#     in an lp frame; libtaps to libtaps, and against a python peer that
#     checks every frame holds one LF-terminated line (and echoes it)
t_stacked_framers() {
	local bad=0 r pyo=$tmp/stk.py
	serve stk -f lp,line 7007 || return 1
	r=$(inc "$LT" connect -i -f lp,line -m 5 $SRV4 7007)
	say "$r"
	has_ready "$r" || bad=1
	bg ins python3 -c '
import socket, struct
s = socket.socket(socket.AF_INET6); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::", 7008)); s.listen(4); print("up", flush=True)
c, _ = s.accept(); f = c.makefile("rb"); n = 0
while True:
    h = f.read(4)
    if len(h) < 4: break
    m = f.read(struct.unpack(">I", h)[0])
    if not m.endswith(b"\n") or m.count(b"\n") != 1:
        print("bad frame", m, flush=True); break
    n += 1; c.sendall(h + m)
print("frames", n, flush=True)
' >"$pyo"
	for i in $(seq 100); do grep -q up "$pyo" && break; sleep 0.1; done
	r=$(inc "$LT" connect -i -f lp,line -m 3 $SRV4 7008)
	say "$r"
	has_ready "$r" || bad=1
	for i in $(seq 50); do grep -q frames "$pyo" && break; sleep 0.1; done
	is "$(sed -n 's/^frames //p' "$pyo")" 3 "lp frames of one line each, seen by python" || bad=1
	return $bad
}

# 17. InitiateWithSend to the raw echo server: the bytes come back intact,
#     Sent after Ready
t_iws() {
	local r
	r=$(inc "$GRP" iws $SRV4 7002)
	say "$r"
	echo "$r" | grep -q "^iws order=ready,sent,echo,closed bytes=9 intact=1$"
}

# 18. Clone, a message echoed on each, CloseGroup: Closed on each, one protocol
t_clone_group() {
	local r p
	r=$(inc "$GRP" clone $SRV4 7002)
	say "$r"
	is "$(kv ready "$r")" 2 "Ready" && is "$(kv group "$r")" 2 "group members" &&
		is "$(kv echoed "$r")" 2 "echoed" && is "$(kv closed "$r")" 2 "Closed" || return 1
	p=$(kv proto "$r")
	is "${p%,*}" "${p#*,}" "the clone's protocol is the first one's"
}

# 19. the server goes away between Ready and Clone: CloneError, then
#     EstablishmentError, both ECONNREFUSED
t_clone_gone() {
	local r out=$tmp/gone.out
	bg ins python3 -c '
import socket, time
s = socket.socket(socket.AF_INET); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 7010)); s.listen(4); print("up", flush=True)
c, _ = s.accept(); s.close(); time.sleep(3)
' >"$out"
	for i in $(seq 100); do grep -q up "$out" && break; sleep 0.1; done
	r=$(inc "$GRP" clonegone 800 $SRV4 7010 2>&1)
	say "$r"
	is "$(kv clone_error "$r")" 111 "CloneError ECONNREFUSED" &&
		is "$(kv estab_error "$r")" 111 "then EstablishmentError" &&
		echo "$r" | grep -q "order=ready,clone_error,estab_error"
}

# 20. Expired for real: 16 MB to a peer that reads nothing for 2 s, then a
#     message with msgLifetime 300 ms (Expired) and one without (Sent)
t_expire() {
	local r out=$tmp/slow.out
	bg ins python3 -c '
import socket, time
s = socket.socket(socket.AF_INET); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 7011)); s.listen(4); print("up", flush=True)
c, _ = s.accept(); time.sleep(2); n = 0
while True:
    b = c.recv(1 << 20)
    if not b: break
    n += len(b)
print("read", n, flush=True); c.close()
' >"$out"
	for i in $(seq 100); do grep -q up "$out" && break; sleep 0.1; done
	r=$(inc "$GRP" expire 16000000 $SRV4 7011)
	say "$r"
	for i in $(seq 30); do grep -q read "$out" && break; sleep 0.1; done
	say "server: $(cat "$out")"
	is "$(kv expired "$r")" 1 "Expired" && is "$(kv sent "$r")" 2 "Sent" &&
		is "$(kv order "$r")" "ready,expired2,sent1,sent3,closed" "events" &&
		grep -q "^read 16000007$" "$out"
}

# 21. final: the last message, then the peer sees the end (the echo server
#     closes on it); a send after it fails with EPIPE
t_final() {
	local r
	r=$(inc "$GRP" final $SRV4 7002)
	say "$r"
	is "$r" "final got=last-words eof=1 late=-32" "final"
}

# 22. a Required message property the connection cannot honour: EOPNOTSUPP
#     from taps_send_message() and taps_initiate_with_send()
t_refuse() {
	local r
	r=$(inc "$GRP" refuse $SRV4 7002)
	say "$r"
	echo "$r" | grep -q "^# iws unordered: Operation not supported" || return 1
	is "$(echo "$r" | grep -v "^#")" "refuse ordered=-95 reliable=-95 noseg=-95 closed=1" "refused"
}

# 23. taps-cat -l -k: standard input goes to every open connection (as
#     ncat -k); its end closes them all
t_cat_keep() {
	local bad=0 i pids= kpid
	mkfifo "$tmp/k.in"
	# fd 8 read-write (no waiting for a reader); the children must not hold
	# it (a numbered fd: "{var}>&-" on a command would close it for good)
	exec 8<>"$tmp/k.in"
	# (not through bg: its stdin would be /dev/null, see serve)
	# ip netns exec execs taps-cat: $! is taps-cat's pid (ins would be a subshell)
	ip netns exec "$S" "$CAT" -l -k -v 7101 <"$tmp/k.in" >/dev/null 2>"$tmp/k.err" 8>&- &
	kpid=$!
	# -k never ends: it goes with the test (a live AF_TAPS socket would
	# keep the module from unloading)
	trap 'kill $kpid 2>/dev/null' EXIT
	sleep 0.5
	for i in 1 2; do
		inc timeout 20 python3 -c '
import socket, sys
s = socket.create_connection(("192.0.2.2", 7101), timeout=15); got = b""
while True:
    b = s.recv(4096)
    if not b: break
    got += b
sys.stdout.write(got.decode())' >"$tmp/k.$i" 8>&- &
		pids="$pids $!"
	done
	for i in $(seq 100); do [ "$(grep -c ready "$tmp/k.err")" = 2 ] && break; sleep 0.1; done
	echo "to everyone" >&8
	exec 8>&-
	# shellcheck disable=SC2086 # the pids, one word each
	wait $pids
	for i in 1 2; do
		is "$(cat "$tmp/k.$i")" "to everyone" "client $i got standard input, then the end" || bad=1
	done
	[ $bad = 0 ] || say "taps-cat: $(cat "$tmp/k.err")"
	kill $kpid
	return $bad
}

# 24. taps-cat -l with standard input at its end and an SCTP client still
#     sending: the listener does not end the association first (SCTP has
#     no half-close), the client's 1 MB arrives whole
t_cat_sctp() {
	local out spid i
	bytes 1000000 >"$tmp/s.data"
	ip netns exec "$S" "$CAT" -l -v 7102 </dev/null >"$tmp/s.out" 2>"$tmp/s.err" &
	spid=$!
	trap 'kill $spid 2>/dev/null' EXIT
	sleep 0.5
	out=$(inc python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_SCTP); s.settimeout(15)
s.connect(("192.0.2.2", 7102)); time.sleep(0.3)
d = open(sys.argv[1], "rb").read()
for i in range(0, len(d), 16384):	# SCTP: a send is a message, bounded
    s.sendall(d[i:i + 16384])
s.shutdown(socket.SHUT_WR); time.sleep(0.5); s.close()
print("done")' "$tmp/s.data" 2>&1)
	say "$out"
	for i in $(seq 50); do cmp -s "$tmp/s.data" "$tmp/s.out" && break; sleep 0.1; done
	if is "$out" done "the SCTP client" && cmp "$tmp/s.data" "$tmp/s.out"; then
		kill $spid 2>/dev/null
		return 0
	fi
	say "taps-cat: $(cat "$tmp/s.err"); $(wc -c <"$tmp/s.out") bytes received;" \
		"$(kill -0 $spid 2>/dev/null && echo still running)"
	kill $spid 2>/dev/null
	return 1
}

# 25. a listener that closed first (its end of the connection in
#     TIME_WAIT) is followed at once by a new one on the same port, as a
#     plain server with SO_REUSEADDR is: taps_listen() sets it
t_listener_rebind() {
	local i r tw=0 bad=0
	echo first >"$tmp/rb1.in"
	echo second >"$tmp/rb2.in"
	# (not through bg: its stdin would be /dev/null, see serve())
	ins "$CAT" -l -p tcp 7110 <"$tmp/rb1.in" >/dev/null 2>"$tmp/rb1.err" &
	_topo_pids+=($!)
	for i in $(seq 100); do ins ss -Hltn "sport = :7110" | grep -q . && break; sleep 0.1; done
	# the client keeps its side open for a second: the listener's FIN is first
	r=$( (sleep 1) | inc "$CAT" -p tcp $SRV4 7110 2>"$tmp/rb1c.err")
	is "$r" first "first listener's data" || bad=1
	for i in $(seq 20); do
		tw=$(ins ss -Htan state time-wait "sport = :7110" | wc -l)
		[ "$tw" -gt 0 ] && break
		sleep 0.1
	done
	[ "$tw" -gt 0 ] || { echo "# no TIME_WAIT on the listener's side: the test proves nothing"; bad=1; }
	ins "$CAT" -l -p tcp 7110 <"$tmp/rb2.in" >/dev/null 2>"$tmp/rb2.err" &
	_topo_pids+=($!)
	for i in $(seq 100); do ins ss -Hltn "sport = :7110" | grep -q . && break; sleep 0.1; done
	r=$( (sleep 1) | inc "$CAT" -p tcp $SRV4 7110 2>"$tmp/rb2c.err")
	is "$r" second "second listener's data, with the first's TIME_WAIT" ||
		{ echo "# $(cat "$tmp/rb2.err" "$tmp/rb2c.err")"; bad=1; }
	return $bad
}

# dump NAME: a server's log, as comments
dump() { sed "s/^/# $1: /" "$tmp/$1" | tail -20; }

for t in t_name_blackholed t_name_dual t_sctp_only t_listener_tcp_sctp t_line_python \
	 t_many t_errors t_bad_frame t_raw_echo t_cat_file t_cat_modes t_listener_limit \
	 t_listener_stop t_servers_alive t_http_nginx t_stacked_framers t_iws t_clone_group \
	 t_clone_gone t_expire t_final t_refuse t_cat_keep t_cat_sctp t_listener_rebind; do
	s=$(date +%s%N)
	# each test in a subshell with a watchdog: a hang fails one test only
	( $t ) &
	tp=$!
	# (its output not on our stdout: run_tests would wait for its sleep)
	( sleep $((TAPS_SLOW ? 150 : 45)); kill $tp ) >/dev/null 2>&1 &
	wp=$!
	if wait $tp; then ok "$t"; else fail "$t"; dump lp; dump line; dump raw; fi
	kill $wp 2>/dev/null
	echo "# $t took $((($(date +%s%N) - s) / 1000000)) ms"
done
finish
