#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# taps-run on the host, which has no AF_TAPS: a static binary and a setuid
# one run unchanged (output, exit status) with a warning; a dynamic program
# gets the preload, next to an LD_PRELOAD of its own, and its exit status;
# usage errors exit 2; the library exports only the calls it wraps; and
# without AF_TAPS a Python client still connects over plain TCP, bytes
# intact, with one warning.  selftests/taps_run.sh races in the VM.
. "$(dirname "$0")/../lib.sh"
plan 9
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
run=$TAPS_TOP/build/tools/taps-run
lib=$TAPS_TOP/build/tools/libtaps-run.so
py=$(command -v python3)

# runs NAME WANT-RC WANT-STDOUT STDERR-REGEX CMD...: taps-run CMD exits
# WANT-RC with exactly WANT-STDOUT, its stderr matching STDERR-REGEX.
runs() {
	local name=$1 want=$2 out=$3 err=$4 rc
	shift 4
	"$run" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" = "$want" ] && [ "$(cat "$tmp/out")" = "$out" ] &&
		if [ -z "$err" ]; then [ ! -s "$tmp/err" ]; else grep -qE -- "$err" "$tmp/err"; fi; then
		ok "$name"
	else
		fail "$name" "exit $rc (want $want), stdout '$(head -c 200 "$tmp/out")', stderr '$(head -c 300 "$tmp/err")'"
	fi
}

bb=/bin/busybox
if [ -x $bb ] && ! ldd $bb >/dev/null 2>&1; then
	runs "static busybox: warned, runs unchanged" 0 hello 'busybox: statically linked.*without AF_TAPS' \
		$bb echo hello
	runs "static busybox: exit status kept" 7 "" 'statically linked' $bb sh -c 'exit 7'
else
	skip "static busybox: warned, runs unchanged" "no static /bin/busybox"
	skip "static busybox: exit status kept" "no static /bin/busybox"
fi

cp /bin/echo "$tmp/suid-echo"
chmod 4755 "$tmp/suid-echo"
runs "setuid program: warned, runs unchanged" 0 hi 'suid-echo: setuid or setgid' "$tmp/suid-echo" hi

echo 'int own_preload;' >"$tmp/own.c"
cc -shared -fPIC -o "$tmp/own.so" "$tmp/own.c"
# shellcheck disable=SC2016 # expanded by the child shell
runs "dynamic program: preloaded before an LD_PRELOAD of its own" \
	0 "$lib $tmp/own.so" '' env LD_PRELOAD="$tmp/own.so" "$run" sh -c 'echo "$LD_PRELOAD"'
runs "dynamic program: exit status kept" 3 "" '' sh -c 'exit 3'
runs "usage errors exit 2" 2 "" "unknown protocol 'udp'" -p tcp,udp true

syms=$(nm -D --defined-only "$lib" | awk '{ print $3 }' | sort | tr '\n' ' ')
check "libtaps-run.so exports just the calls it wraps" \
	[ "$syms" = "close connect getaddrinfo getpeername getsockname getsockopt setsockopt socket " ]

cat >"$tmp/echo.py" <<'EOT'
import os, socket, sys, threading
srv = socket.create_server(("127.0.0.1", 0))
port = srv.getsockname()[1]
def serve():
    for _ in range(2):
        c, _ = srv.accept()
        with c:
            while True:
                b = c.recv(65536)
                if not b:
                    break
                c.sendall(b)
threading.Thread(target=serve, daemon=True).start()
data = os.urandom(200000)
for _ in range(2):
    c = socket.create_connection(("localhost", port), timeout=10)
    assert c.family == socket.AF_INET and c.getpeername() == ("127.0.0.1", port)
    assert c.getsockopt(socket.SOL_SOCKET, socket.SO_PROTOCOL) == socket.IPPROTO_TCP
    c.sendall(data)
    c.shutdown(socket.SHUT_WR)
    got = b""
    while True:
        b = c.recv(65536)
        if not b:
            break
        got += b
    c.close()
    assert got == data, "bytes differ"
print("intact")
EOT
if "$py" -c 'import socket; socket.socket(18, socket.SOCK_STREAM)' 2>/dev/null; then
	skip "no AF_TAPS: plain TCP, bytes intact, one warning" "this host has AF_TAPS sockets"
else
	runs "no AF_TAPS: plain TCP, bytes intact, one warning" 0 intact \
		'^taps-run: no AF_TAPS sockets \(Address family not supported by protocol\): connecting over plain TCP$' \
		"$py" "$tmp/echo.py"
	n=$(grep -c 'no AF_TAPS' "$tmp/err")
	check "no AF_TAPS: warned once for two connections (got $n)" [ "$n" = 1 ]
fi
finish
