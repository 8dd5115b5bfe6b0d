#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The `make run` demo, run inside the test VM with taps.ko loaded: a client
# and a server namespace joined by a veth pair, a few races, an unmodified
# Python client under taps-run, and taps-cat (netcat on libtaps) piping a
# file to a name and fetching a page from nginx over TLS with kTLS.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
bin=$top/build/tools/examples
srv=tapsdemo-srv
tmp=$(mktemp -d)

cleanup() {
	kill $(jobs -p) 2>/dev/null || true
	ip netns del $srv 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

echo "== taps.ko: AF_TAPS is family $("$top/build/tools/tapsctl" family)"
"$bin/hello"

# Client in this namespace, server in $srv: 192.0.2.0/24 and 2001:db8::/64.
ip netns add $srv
ip link add veth0 type veth peer name veth1 netns $srv
ip addr add 192.0.2.1/24 dev veth0
ip addr add 2001:db8::1/64 dev veth0 nodad
ip link set veth0 up
ip -n $srv addr add 192.0.2.2/24 dev veth1
ip -n $srv addr add 2001:db8::2/64 dev veth1 nodad
ip -n $srv link set veth1 up
ip -n $srv link set lo up

# Server: TCP on port 80 and SCTP only on port 90, both families.
ip netns exec $srv python3 -c '
import socket, threading
def serve(port, proto):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM, proto)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::", port)); s.listen(64)
    while True:
        c, _ = s.accept(); c.close()
threading.Thread(target=serve, args=(80, socket.IPPROTO_TCP), daemon=True).start()
threading.Thread(target=serve, args=(81, socket.IPPROTO_TCP), daemon=True).start()
serve(90, socket.IPPROTO_SCTP)
' &
# Python starts slowly under TCG: wait until both listen.
for i in $(seq 100); do
	ip netns exec $srv ss -Hltn 'sport = :80' | grep -q . &&
		ip netns exec $srv ss -HlSn 'sport = :90' | grep -q . && break
	sleep 0.1
done

race() {
	echo
	echo "-- $1"
	shift
	echo "\$ taps-connect $*"
	"$bin/taps-connect" "$@" || true
}

tapsctl() {
	echo "\$ tapsctl $*"
	"$top/build/tools/tapsctl" "$@"
}

race "both families work: IPv6 first, over TCP" 2001:db8::2 80 192.0.2.2 80

ip netns exec $srv nft -f - <<'EOF'
table inet demo {
	chain in {
		type filter hook input priority 0;
		ip6 daddr 2001:db8::2 drop
	}
}
EOF
race "IPv6 blackholed (nft drop): IPv4 wins after the 250 ms attempt delay" \
	-p tcp 2001:db8::2 80 192.0.2.2 80
race "again: the namespace's cache knows IPv4 won last and tries it first" \
	-p tcp 2001:db8::2 80 192.0.2.2 80
echo
tapsctl cache show
race "an isolated socket (TAPS_ISOLATE) neither uses nor feeds the cache" \
	-i -p tcp 2001:db8::2 80 192.0.2.2 80

# An unmodified program: Python's create_connection() tries the name's
# addresses one by one, IPv6 first.  dual.test goes in the guest's
# /etc/hosts (the guest's root is a throwaway overlay).
printf '2001:db8::2 dual.test\n192.0.2.2 dual.test\n' >>/etc/hosts
client='import socket, time
t = time.monotonic()
c = socket.create_connection(("dual.test", 81), timeout=2)
print("connected to %s in %d ms" % (c.getpeername()[0], (time.monotonic() - t) * 1000))'
echo
echo "-- an unmodified Python client: create_connection() waits its 2 s timeout on IPv6"
echo "\$ python3 -c 'socket.create_connection((\"dual.test\", 81), timeout=2) ...'"
python3 -c "$client" || true
echo
echo "-- the same program under taps-run: its socket races both addresses in the kernel"
echo "\$ taps-run -v python3 -c 'socket.create_connection((\"dual.test\", 81), timeout=2) ...'"
"$top/build/tools/taps-run" -v python3 -c "$client" || true

# libtaps: taps-cat resolves the name itself (A and AAAA in parallel) and
# hands both addresses to the kernel in one connect(); IPv6 is still
# blackholed.  The listener (TCP and SCTP) serves one connection.
tcat=$top/build/tools/taps-cat
echo
echo "-- taps-cat (netcat on libtaps): a file to a listener in the server namespace, by name"
seq 100000 >"$tmp/file"
timeout 30 ip netns exec $srv "$tcat" -l 7000 >"$tmp/received" </dev/null &
catpid=$!
for i in $(seq 100); do
	ip netns exec $srv ss -Hltn 'sport = :7000' | grep -q . && break
	sleep 0.1
done
echo "\$ ip netns exec $srv taps-cat -l 7000 > received &"
echo "\$ seq 100000 > file; taps-cat -v dual.test 7000 < file"
timeout 30 "$tcat" -v dual.test 7000 <"$tmp/file" || true
wait $catpid || true
echo "\$ cmp file received && wc -c < received"
cmp "$tmp/file" "$tmp/received" && wc -c <"$tmp/received"

# TLS in libtaps: nginx in the server namespace with a certificate for
# dual.test from a CA made here; taps-cat does the handshake on the raced
# connection, then the kernel builds and opens the records (kTLS).
echo
echo "-- taps-cat --tls: a page from nginx over TLS 1.3 by name, records in the kernel"
mkdir -p "$tmp/ng/www"
(
	cd "$tmp" &&
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
		-subj /CN=taps-demo-ca -keyout ca.key -out ca.pem &&
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=dual.test \
		-addext subjectAltName=DNS:dual.test -keyout srv.key -out srv.csr &&
	openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 \
		-copy_extensions copy -out srv.pem
) >"$tmp/certs.log" 2>&1 || cat "$tmp/certs.log"
echo "hello over TLS" >"$tmp/ng/www/index.html"
cat >"$tmp/ng/nginx.conf" <<EOF
daemon on;
master_process off;
pid $tmp/ng/pid;
error_log $tmp/ng/error.log;
events { worker_connections 16; }
http {
	access_log off;
	client_body_temp_path $tmp/ng;
	proxy_temp_path $tmp/ng;
	fastcgi_temp_path $tmp/ng;
	uwsgi_temp_path $tmp/ng;
	scgi_temp_path $tmp/ng;
	server {
		listen 192.0.2.2:443 ssl;
		listen [2001:db8::2]:443 ssl;
		ssl_protocols TLSv1.3;
		ssl_certificate $tmp/srv.pem;
		ssl_certificate_key $tmp/srv.key;
		root $tmp/ng/www;
	}
}
EOF
ip netns exec $srv nginx -p "$tmp/ng" -c "$tmp/ng/nginx.conf" || true
for i in $(seq 50); do
	ip netns exec $srv ss -Hltn 'sport = :443' | grep -q . && break
	sleep 0.1
done
echo "\$ printf 'GET / HTTP/1.1\\r\\nHost: dual.test\\r\\nConnection: close\\r\\n\\r\\n' |"
echo "    taps-cat -v --tls --cafile ca.pem --no-shutdown dual.test 443 | tail -n 1"
printf 'GET / HTTP/1.1\r\nHost: dual.test\r\nConnection: close\r\n\r\n' |
	timeout 30 "$tcat" -v --tls --cafile "$tmp/ca.pem" --no-shutdown dual.test 443 |
	tail -n 1 || true
echo "\$ grep -E 'TlsTxSw|TlsRxSw' /proc/net/tls_stat"
grep -E 'TlsTxSw|TlsRxSw' /proc/net/tls_stat || true
kill "$(cat "$tmp/ng/pid" 2>/dev/null)" 2>/dev/null || true
echo
tapsctl policy set delay 50ms
race "system policy: the namespace's attempt delay is now 50 ms" \
	-i -p tcp 2001:db8::2 80 192.0.2.2 80
tapsctl policy set delay 250ms

race "SCTP-only server: TCP is refused, SCTP starts at once and wins" 192.0.2.2 90
echo
tapsctl rule add 192.0.2.0/24 prohibit tcp
race "a policy rule prohibits TCP to 192.0.2.0/24: SCTP only, no refused TCP" 192.0.2.2 90
race "...and an application that allows only TCP there gets EPERM" -p tcp 192.0.2.2 80
tapsctl rule del 192.0.2.0/24

race "nothing listens: every candidate refused" 192.0.2.2 99
echo
tapsctl stats
