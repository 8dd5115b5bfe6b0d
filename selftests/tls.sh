#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# TLS in libtaps against real peers in the guest (issue 11), with taps-cat
# as the libtaps program: a client against nginx (TLS 1.3 and TLS 1.2) and
# openssl s_server, a listener against curl and openssl s_client, libtaps
# to libtaps; bytes intact both ways from 1 B to 16 MiB; kTLS reported and
# /proc/net/tls_stat's counters moving with it; refusals (wrong name,
# unknown CA, expired certificate, TLS 1.0-only server) as establishment
# errors with nothing sent; a peer's KeyUpdate; IPv6 blackholed; an
# SCTP-only server; sendfile() over kTLS to curl; the HTTP/1.1 framer
# over TLS (libtaps_t http -t), pipelined, with and without kTLS.  The
# certificates are made here with openssl req / openssl ca.
. "$(dirname "$0")/lib.sh"
. "$TAPS_TOP/selftests/helpers/topo.sh"
plan 17

CAT=$TAPS_TOP/build/tools/taps-cat
LT=$TAPS_BIN/helpers/libtaps_t
SF_MB=${TLS_SENDFILE_MB:-64}
[ "$TAPS_SLOW" = 1 ] && SF_MB=16
BIG=16777216
t0=$(date +%s%N)

if ! topo_up ttls; then
	echo "Bail out! topology setup failed"
	exit 1
fi
tmp=$(mktemp -d)
mkdir -p /etc/netns/$C
printf '%s dual.test\n%s dual.test\n%s tls.test\n' $SRV6 $SRV4 $SRV4 >/etc/netns/$C/hosts
echo "hosts: files" >/etc/netns/$C/nsswitch.conf
cleanup() {
	[ -f "$tmp/ng/pid" ] && kill "$(cat "$tmp/ng/pid")" 2>/dev/null
	topo_down
	rm -rf "$tmp" "/etc/netns/$C"
}
trap cleanup EXIT

inc() { timeout 60 ip netns exec "$C" "$@"; }
ins() { ip netns exec "$S" "$@"; }
bytes() { python3 -c 'import random, sys; random.seed(int(sys.argv[2])); sys.stdout.buffer.write(random.randbytes(int(sys.argv[1])))' "$1" "${2:-11}"; }
sum() { sha256sum | cut -c1-64; }
# body: an HTTP response on stdin without its headers
body() { python3 -c 'import sys; d = sys.stdin.buffer.read(); i = d.find(b"\r\n\r\n"); sys.stdout.buffer.write(d[i + 4:] if i >= 0 else b"")'; }
tls_stat() { ip netns exec "$C" awk -v k="$1" '$1 == k { print $2 }' /proc/net/tls_stat; }
# wait_port NS PORT: until something listens on TCP PORT in NS
wait_port() {
	local i
	for i in $(seq 100); do
		ip netns exec "$1" ss -Hltn "sport = :$2" | grep -q . && return 0
		sleep 0.1
	done
	echo "# nothing listens on $2"
	return 1
}

# ---- certificates: a CA, the server's (tls.test, dual.test), an expired one
(
	cd "$tmp" || exit 1
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj /CN=taps-test-ca -keyout ca.key -out ca.pem &&
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=tls.test \
		-addext subjectAltName=DNS:tls.test,DNS:dual.test -keyout srv.key -out srv.csr &&
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj /CN=tls.test -addext subjectAltName=DNS:tls.test \
		-keyout self.key -out self.pem &&
	touch index && echo 01 >serial &&
	printf '%s\n' '[ca]' 'default_ca = d' '[d]' 'database = index' 'new_certs_dir = .' \
		'serial = serial' 'default_md = sha256' 'policy = p' 'copy_extensions = copy' \
		'unique_subject = no' '[p]' 'commonName = supplied' >ca.cnf &&
	openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -in srv.csr \
		-out srv.pem -days 2 -notext &&
	openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -in srv.csr \
		-out exp.pem -startdate 20200101000000Z -enddate 20200201000000Z -notext
) >"$tmp/certs.log" 2>&1 || { echo "Bail out! certificates: $(tail -n 3 "$tmp/certs.log")"; exit 1; }
CA=$tmp/ca.pem

# ---- nginx in $S: TLS 1.3 on 8443 (both families), TLS 1.2 on 8444
mkdir -p "$tmp/ng/www"
for n in 1 16385 1048576 $BIG; do bytes $n $n >"$tmp/ng/www/f$n"; done
# for the HTTP framer: a file, and an SSI page nginx sends chunked
mkdir -p "$tmp/ng/www/ssi"
bytes 150000 >"$tmp/ng/www/file.bin"
printf 'A<!--# include virtual="/file.bin" -->B' >"$tmp/ng/www/ssi/page.html"
{ printf A; cat "$tmp/ng/www/file.bin"; printf B; } >"$tmp/page.want"
cat >"$tmp/ng/nginx.conf" <<EOF
daemon on;
master_process off;
pid $tmp/ng/pid;
error_log $tmp/ng/error.log;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path $tmp/ng;
	proxy_temp_path $tmp/ng;
	fastcgi_temp_path $tmp/ng;
	uwsgi_temp_path $tmp/ng;
	scgi_temp_path $tmp/ng;
	ssl_certificate $tmp/srv.pem;
	ssl_certificate_key $tmp/srv.key;
	root $tmp/ng/www;
	server {
		listen $SRV4:8443 ssl;
		listen [$SRV6]:8443 ssl;
		ssl_protocols TLSv1.3;
		location /ssi/ {
			ssi on;
			types { text/html html; }
		}
	}
	server {
		listen $SRV4:8444 ssl;
		ssl_protocols TLSv1.2;
		ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256;
	}
}
EOF
if ! ins nginx -p "$tmp/ng" -c "$tmp/ng/nginx.conf" || ! wait_port "$S" 8444; then
	echo "Bail out! nginx did not start: $(cat "$tmp/ng/error.log")"
	exit 1
fi

# get PORT PATH [taps-cat options]: the body of GET PATH over TLS to tls.test
get() {
	local port=$1 path=$2
	shift 2
	printf 'GET %s HTTP/1.1\r\nHost: tls.test\r\nConnection: close\r\n\r\n' "$path" |
		inc "$CAT" -v --no-shutdown --tls --cafile "$CA" "$@" tls.test "$port" 2>"$tmp/get.err" |
		body
}

# 1-2. libtaps client against nginx, TLS 1.3 then 1.2: bodies intact,
#      kTLS both ways, and the kernel's counters moved
t_nginx() {
	local port=$1 ver=$2 bad=0 n tx0 rx0 tx1 rx1
	tx0=$(tls_stat TlsTxSw) rx0=$(tls_stat TlsRxSw)
	for n in 1 16385 1048576 $BIG; do
		is "$(get "$port" /f$n | sum)" "$(sum <"$tmp/ng/www/f$n")" "$ver body of $n bytes" || bad=1
	done
	say "$(cat "$tmp/get.err")"
	grep -q "ready: TCP .* $ver .* kTLS tx+rx in" "$tmp/get.err" ||
		{ echo "# ready line without $ver kTLS tx+rx"; bad=1; }
	tx1=$(tls_stat TlsTxSw) rx1=$(tls_stat TlsRxSw)
	ge "$((tx1 - tx0))" 4 "TlsTxSw: kernel transmit sessions" || bad=1
	ge "$((rx1 - rx0))" 4 "TlsRxSw: kernel receive sessions" || bad=1
	return $bad
}

# s_server PORT ARGS...: openssl s_server in $S, its output in $tmp/ss.out,
# its stdin the fifo $tmp/ss.in (held open by fd 8)
s_server() {
	local port=$1
	shift
	rm -f "$tmp/ss.in"
	mkfifo "$tmp/ss.in"
	exec 8<>"$tmp/ss.in"
	ins openssl s_server -accept "$port" -naccept 1 "$@" <"$tmp/ss.in" >"$tmp/ss.out" 2>&1 &
	_topo_pids+=($!)
	wait_port "$S" "$port"
}
s_server_stop() { exec 8>&-; }

# 3. against openssl s_server -www: its status page names our cipher
t_s_server() {
	local r
	s_server 9443 -cert "$tmp/srv.pem" -key "$tmp/srv.key" -www || return 1
	r=$(printf 'GET / HTTP/1.0\r\n\r\n' | inc "$CAT" -v --tls --cafile "$CA" tls.test 9443 2>&1)
	s_server_stop
	echo "$r" | grep -q "^Ciphers supported in s_server binary" || { say "$r"; return 1; }
	echo "$r" | grep -q "^New, TLSv1.3, Cipher is TLS_AES_" || { say "$r"; return 1; }
}

# refused PORT WHAT NEEDLE [taps-cat options]: an EstablishmentError whose
# reason has NEEDLE, and the server got none of our bytes
refused() {
	local port=$1 what=$2 needle=$3 r
	shift 3
	r=$(echo "SECRET-BYTES" | inc "$CAT" --tls "$@" tls.test "$port" 2>&1)
	say "$what: $r"
	sleep 0.2
	s_server_stop
	if echo "$r" | grep -q "SECRET" || grep -q "SECRET" "$tmp/ss.out"; then
		echo "# $what: application data crossed"
		return 1
	fi
	echo "$r" | grep -q -- "$needle" || { echo "# $what: no '$needle' in the reason"; return 1; }
}

# 4. wrong host name, unknown CA, expired certificate, TLS 1.0 only
t_refusals() {
	local bad=0
	s_server 9444 -cert "$tmp/srv.pem" -key "$tmp/srv.key" || return 1
	refused 9444 "wrong name" "hostname mismatch" --cafile "$CA" --servername other.test || bad=1
	s_server 9445 -cert "$tmp/self.pem" -key "$tmp/self.key" || return 1
	refused 9445 "unknown CA" "self-signed certificate" || bad=1
	s_server 9446 -cert "$tmp/exp.pem" -key "$tmp/srv.key" || return 1
	refused 9446 "expired" "certificate has expired" --cafile "$CA" || bad=1
	OPENSSL_CONF=/dev/null s_server 9447 -cert "$tmp/srv.pem" -key "$tmp/srv.key" -tls1 \
		-cipher DEFAULT@SECLEVEL=0 || return 1
	refused 9447 "TLS 1.0 only" "TLS: " --cafile "$CA" || bad=1
	return $bad
}

# 5. a peer's KeyUpdate: 6.1's kTLS cannot follow it; the connection
#    fails with that reason and nothing after the update is delivered
t_key_update() {
	local r
	s_server 9448 -cert "$tmp/srv.pem" -key "$tmp/srv.key" || return 1
	( sleep 1; echo before >&8; sleep 0.5; echo k >&8; sleep 0.5; echo after >&8; sleep 1 ) &
	r=$( (sleep 4) | inc "$CAT" -v --tls --cafile "$CA" tls.test 9448 2>&1)
	wait $!
	s_server_stop
	say "$r"
	echo "$r" | grep -q "kTLS tx+rx" || { echo "# not on kTLS rx"; return 1; }
	echo "$r" | grep -q "^before" || { echo "# data before the update lost"; return 1; }
	echo "$r" | grep -q "after" && { echo "# data after the update delivered"; return 1; }
	echo "$r" | grep -q "KeyUpdate" || { echo "# reason does not name KeyUpdate"; return 1; }
}

# serve NAME PORT IN ARGS...: a taps-cat TLS listener in $S sending the
# file IN (output $tmp/NAME.out, -v lines $tmp/NAME.err)
serve() {
	local name=$1 port=$2 in=$3
	shift 3
	ins timeout 60 "$CAT" -l -v --cert "$tmp/srv.pem" --key "$tmp/srv.key" "$@" "$port" \
		<"$in" >"$tmp/$name.out" 2>"$tmp/$name.err" &
	_topo_pids+=($!)
	eval "pid_$name=$!"
	wait_port "$S" "$port"
}

# 6. libtaps listener against curl --cacert, the response from stdin
t_curl() {
	local r
	bytes 100000 3 >"$tmp/b100k"
	{ printf 'HTTP/1.1 200 OK\r\nContent-Length: 100000\r\nConnection: close\r\n\r\n'
	  cat "$tmp/b100k"; } >"$tmp/resp"
	serve curl 9450 "$tmp/resp" || return 1
	inc curl -sS --cacert "$CA" --resolve tls.test:9450:$SRV4 https://tls.test:9450/x \
		-o "$tmp/curl.body" 2>"$tmp/curl.err" || { say "$(cat "$tmp/curl.err")"; return 1; }
	wait "$pid_curl"
	say "$(cat "$tmp/curl.err")"
	is "$(sum <"$tmp/curl.body")" "$(sum <"$tmp/b100k")" "body curl got" &&
		grep -q "^GET /x HTTP/1.1" "$tmp/curl.out" &&
		grep -q "TLSv1.3 .* kTLS tx+rx" "$tmp/curl.err"
}

# 7. libtaps listener against openssl s_client, both ways
t_s_client() {
	local r
	echo "from-listener" >"$tmp/l.in"
	serve sc 9451 "$tmp/l.in" || return 1
	r=$( (echo "from-s_client"; sleep 2) | inc openssl s_client -quiet -CAfile "$CA" \
		-servername tls.test -connect $SRV4:9451 2>/dev/null)
	wait "$pid_sc"
	is "$r" "from-listener" "s_client got" && is "$(cat "$tmp/sc.out")" "from-s_client" "listener got"
}

# 8. libtaps to libtaps, both ways at once, 1 B .. 16 MiB
t_libtaps() {
	local bad=0 n
	for n in 1 65536 $BIG; do
		bytes $n 5 >"$tmp/a"
		bytes $n 6 >"$tmp/b"
		serve ll 9452 "$tmp/b" || return 1
		inc "$CAT" -v --tls --cafile "$CA" tls.test 9452 <"$tmp/a" >"$tmp/ll.got" 2>"$tmp/ll.cerr"
		wait "$pid_ll"
		is "$(sum <"$tmp/ll.got")" "$(sum <"$tmp/b")" "$n bytes to the client" || bad=1
		is "$(sum <"$tmp/ll.out")" "$(sum <"$tmp/a")" "$n bytes to the listener" || bad=1
	done
	say "$(cat "$tmp/ll.cerr" "$tmp/ll.err")"
	grep -q "kTLS tx+rx" "$tmp/ll.cerr" && grep -q "kTLS tx+rx" "$tmp/ll.err" || bad=1
	return $bad
}

# 9. OpenSSL's record layer when the kernel's is not taken (forced): still
#    TLS, reported as such, bytes intact
t_userspace_records() {
	local r
	r=$(get 8443 /f1048576 --tls-version 1.3 | sum)
	is "$r" "$(sum <"$tmp/ng/www/f1048576")" "kTLS body" || return 1
	r=$(printf 'GET /f1048576 HTTP/1.1\r\nHost: tls.test\r\nConnection: close\r\n\r\n' |
		LIBTAPS_NO_KTLS=1 inc "$CAT" -v --no-shutdown --tls --cafile "$CA" \
		tls.test 8443 2>"$tmp/us.err" | body | sum)
	say "$(cat "$tmp/us.err")"
	is "$r" "$(sum <"$tmp/ng/www/f1048576")" "userspace records body" &&
		grep -q "TLSv1.3 .* no kTLS in" "$tmp/us.err"
}

# 10. IPv6 blackholed: Ready within the attempt delay (250 ms) + 50 ms +
#     the handshake, over IPv4
t_blackholed() {
	local bad=0 ms bound=1500
	[ "$TAPS_SLOW" = 1 ] && bound=5000
	nft_add ip6 daddr $SRV6 tcp dport 8443 drop
	printf 'GET /f1 HTTP/1.1\r\nHost: tls.test\r\nConnection: close\r\n\r\n' |
		inc "$CAT" -v -i --no-shutdown --tls --cafile "$CA" dual.test 8443 \
		>"$tmp/bh.out" 2>"$tmp/bh.err"
	nft_flush
	say "$(cat "$tmp/bh.err")"
	grep -q -- "-> $SRV4:8443 TLSv1.3" "$tmp/bh.err" || { echo "# not TLS over IPv4"; bad=1; }
	ms=$(sed -n 's/.* in \([0-9]*\)\.[0-9] ms$/\1/p' "$tmp/bh.err")
	ge "$ms" 240 "Ready after the attempt delay (ms)" || bad=1
	lt "$ms" $((250 + 50 + bound)) "Ready (ms)" || bad=1
	echo "# initiate-to-Ready with TLS, IPv6 blackholed: $ms ms"
	return $bad
}

# 11. SCTP-only server (taps_srv 4243) and TLS required: TCP and MPTCP
#     only race, refused, the reason says why; -p sctp --tls: no candidate
t_sctp_only() {
	local r bad=0
	r=$(inc "$CAT" --tls 192.0.2.2 4243 </dev/null 2>&1)
	say "$r"
	echo "$r" | grep -q "refused.*TLS required: only TCP and MPTCP raced" || bad=1
	r=$(inc "$CAT" --tls -p sctp 192.0.2.2 4243 </dev/null 2>&1)
	say "$r"
	echo "$r" | grep -q "TLS is required and no allowed protocol carries it" || bad=1
	return $bad
}

# 12. sendfile() of a file over kTLS to curl, checksummed
t_sendfile() {
	local t1 t2
	bytes $((SF_MB << 20)) 9 >"$tmp/sf.body"
	printf 'HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n' \
		$((SF_MB << 20)) >"$tmp/sf.resp"
	cat "$tmp/sf.body" >>"$tmp/sf.resp"
	serve sf 9453 /dev/null --sendfile "$tmp/sf.resp" || return 1
	t1=$(date +%s%N)
	inc curl -sS --cacert "$CA" --resolve tls.test:9453:$SRV4 https://tls.test:9453/ \
		-o "$tmp/sf.got" 2>"$tmp/sf.cerr" || { say "$(cat "$tmp/sf.cerr")"; return 1; }
	t2=$(date +%s%N)
	wait "$pid_sf"
	say "$(cat "$tmp/sf.err")"
	echo "# sendfile of $SF_MB MiB over kTLS to curl: $(( (t2 - t1) / 1000000 )) ms"
	grep -q "kTLS tx" "$tmp/sf.err" || { echo "# not kTLS tx"; return 1; }
	is "$(sum <"$tmp/sf.got")" "$(sum <"$tmp/sf.body")" "$SF_MB MiB body"
}

# 13. sendfile on a TLS connection without kTLS transmit: a clear errno
t_sendfile_userspace() {
	local r
	echo x >"$tmp/x"
	r=$(LIBTAPS_NO_KTLS=1 inc "$CAT" --tls --cafile "$CA" --sendfile "$tmp/x" \
		tls.test 8443 2>&1)
	say "$r"
	echo "$r" | grep -q "sendfile: Operation not supported"
}

check "client vs nginx, TLS 1.3: 1 B .. 16 MiB, kTLS tx+rx, tls_stat" t_nginx 8443 TLSv1.3
check "client vs nginx, TLS 1.2: 1 B .. 16 MiB, kTLS tx+rx, tls_stat" t_nginx 8444 TLSv1.2
check "client vs openssl s_server -www" t_s_server
check "refused: wrong name, unknown CA, expired, TLS 1.0; nothing sent" t_refusals
check "peer KeyUpdate on kTLS rx: fails cleanly, nothing after it" t_key_update
check "listener vs curl --cacert" t_curl
check "listener vs openssl s_client, both ways" t_s_client
check "libtaps to libtaps, both ways, 1 B .. 16 MiB, kTLS both ends" t_libtaps
check "OpenSSL's record layer when kTLS is not used, reported" t_userspace_records
check "IPv6 blackholed: Ready within attempt delay + handshake" t_blackholed
check "SCTP-only server, TLS required: clear failure" t_sctp_only
check "sendfile of $SF_MB MiB over kTLS to curl, checksummed" t_sendfile
check "sendfile without kTLS transmit: EOPNOTSUPP" t_sendfile_userspace
# 14. taps_send_file() without TLS: a plain sendfile to ncat
t_sendfile_plain() {
	bytes 3000000 4 >"$tmp/pf"
	ins timeout 30 ncat -l --recv-only $SRV4 9460 >"$tmp/pf.got" &
	_topo_pids+=($!)
	wait_port "$S" 9460 || return 1
	inc "$CAT" --sendfile "$tmp/pf" $SRV4 9460 || return 1
	wait $!
	is "$(sum <"$tmp/pf.got")" "$(sum <"$tmp/pf")" "3 MB sent with sendfile, no TLS"
}

check "taps_send_file() without TLS: plain sendfile" t_sendfile_plain

# 15. the HTTP/1.1 framer over TLS 1.3: six requests pipelined on one
#     connection (a 150000-byte file by Content-Length, HEAD of it, an
#     SSI page nginx sends chunked, a 404, 1 MiB, the file again), every
#     body byte for byte; on kTLS tx+rx and on OpenSSL's record layer
#     (LIBTAPS_NO_KTLS=1), each whole and with max_len 40000 (in parts)
t_http_tls() {
	local bad=0 d r env x want got i rec
	want="200:150000:0 200:0:0 200:150002:1 404:*:0 200:1048576:0 200:150000:0"
	for i in 0 1 2 3; do
		d=$tmp/http$i env= x= rec="kTLS tx+rx"
		mkdir -p "$d"
		[ $i -ge 2 ] && env=LIBTAPS_NO_KTLS=1 rec="no kTLS"
		[ $((i % 2)) = 1 ] && x="-x 40000"
		r=$(env $env timeout 60 ip netns exec "$C" "$LT" http $x -t "$CA" tls.test 8443 "$d" \
			GET:/file.bin HEAD:/file.bin GET:/ssi/page.html GET:/nope \
			GET:/f1048576 GET:/file.bin)
		say "$r"
		echo "$r" | grep -q "^tls version=TLSv1.3 .* records=$rec$" ||
			{ echo "# run $i: not TLSv1.3 with $rec"; bad=1; }
		got=$(echo "$r" | sed -n 's/^response .*status=\([0-9]*\) body=\([0-9]*\) chunked=\([01]\).*/\1:\2:\3/p' |
			tr '\n' ' ' | sed 's/ $//; s/404:[0-9]*:/404:*:/')
		is "$got" "$want" "run $i ($rec $x): statuses, body sizes, chunked" || bad=1
		echo "$r" | grep -q "^done responses=6" || { echo "# run $i: not all responses"; bad=1; }
		cmp "$d/0.body" "$tmp/ng/www/file.bin" || bad=1
		cmp "$d/2.body" "$tmp/page.want" || bad=1
		grep -q "404 Not Found" "$d/3.body" || { echo "# run $i: 404 body"; bad=1; }
		cmp "$d/4.body" "$tmp/ng/www/f1048576" || bad=1
		cmp "$d/5.body" "$tmp/ng/www/file.bin" || bad=1
		[ -n "$x" ] && ! echo "$r" | grep -q "^response n=0 .* parts=4$" &&
			{ echo "# run $i: not in 4 parts"; bad=1; }
	done
	return $bad
}

th=$(date +%s%N)
check "HTTP/1.1 framer over TLS vs nginx: pipelined, kTLS and userspace" t_http_tls
echo "# HTTP framer over TLS, 4 runs: $(( ($(date +%s%N) - th) / 1000000 )) ms"
check "nginx still up" test -f "$tmp/ng/pid"
if grep -q "\[alert\]\|\[crit\]" "$tmp/ng/error.log"; then
	fail "nginx logged no alert" "$(grep "\[alert\]\|\[crit\]" "$tmp/ng/error.log" | head -3)"
else
	ok "nginx logged no alert"
fi
echo "# tls.sh: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
finish
