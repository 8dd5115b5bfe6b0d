#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The Debian packages of `make deb`, installed with dpkg in the guest (its
# root is a throwaway overlay): taps-dkms installs the module through DKMS,
# socket(AF_TAPS) with no modprobe first loads it (net-pf-18), tapsctl
# loads it too (the genetlink alias), man -w finds the pages, a program
# built with `pkg-config --cflags --libs libtaps` connects, the packaged
# taps-run races; purging leaves nothing behind.
#
# DKMS does not compile here (minutes under TCG): `make dkms-tarball`
# built taps.ko on the host for the VM's kernel, and the taps-dkms postinst
# loads a binary tarball from /usr/share/taps-dkms/ instead of building
# when there is one (dkms ldtarball), then installs as usual.  That
# postinst also builds for the newest kernel in /boot when it is not the
# running one (the debug kernel, when installed): during dpkg the newer
# kernels' /boot/config-* are moved aside in the overlay, as on a system
# running its newest kernel.  dkms needs /dev/fd, which only udev makes:
# the test links it.  The module the guest booted with is unloaded first
# and loaded again at the end.
. "$(dirname "$0")/lib.sh"
plan 11

kver=$(uname -r)
ver=$(sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' "$TAPS_TOP/debian/changelog")
debs=("$TAPS_TOP"/build/deb/*_"$ver"_*.deb)
tarball=$TAPS_TOP/build/dkms/taps-$ver.dkms.tar.gz
pkgs="taps-dkms tapsctl libtaps-dev libtaps0"
ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
tmp=$(mktemp -d /run/taps-pkg.XXXXXX)
export DEBIAN_FRONTEND=noninteractive

if [ ${#debs[@]} != 4 ] || [ ! -s "$tarball" ]; then
	echo "Bail out! no packages or DKMS tarball: make deb dkms-tarball"
	exit 1
fi

# is GOT WANT WHAT: equal, or a "#" line saying what differed.
is() {
	[ "$1" = "$2" ] && return 0
	echo "# $3: got '$1', want '$2'"
	return 1
}

# hide_newer / unhide: move the /boot/config-* of kernels newer than the
# running one aside, and back.
hide_newer() {
	local f k
	mkdir -p "$tmp/boot"
	for f in /boot/config-*; do
		k=${f#/boot/config-}
		[ "$k" = "$kver" ] && continue
		dpkg --compare-versions "$k" gt "$kver" && mv "$f" "$tmp/boot/"
	done
	return 0
}
unhide() {
	local f
	for f in "$tmp"/boot/config-*; do
		[ -e "$f" ] && mv "$f" /boot/
	done
	return 0
}

restore() {
	unhide
	dpkg --purge $pkgs >/dev/null 2>&1
	rm -f /usr/share/taps-dkms/"$(basename "$tarball")"
	rmdir /usr/share/taps-dkms 2>/dev/null
	[ -d /sys/module/taps ] && rmmod taps
	insmod "$TAPS_KO" || echo "# insmod $TAPS_KO failed"
	rm -rf "$tmp"
}
trap restore EXIT

# af_taps_socket: socket(18, SOCK_STREAM, 0), "ok" or the errno's name.
af_taps_socket() {
	python3 -c '
import errno, socket
try:
    socket.socket(18, socket.SOCK_STREAM).close()
    print("ok")
except OSError as e:
    print(errno.errorcode[e.errno])'
}

rmmod taps || { echo "Bail out! cannot unload taps"; exit 1; }
check "before: no taps.ko where modprobe looks, socket(AF_TAPS) fails" \
	is "$(af_taps_socket)" EAFNOSUPPORT "socket(AF_TAPS) before the packages"

# man-db's trigger re-indexes every page (tens of seconds under TCG);
# man -w needs no index.
rm -f /var/lib/man-db/auto-update
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
mkdir -p /usr/share/taps-dkms
cp "$tarball" /usr/share/taps-dkms/
for d in "${debs[@]}"; do
	dpkg-deb -c "$d" | awk '$1 !~ /^d/ { print $6 }' | sed 's|^\.||'
done >"$tmp/files"

hide_newer
t0=$(date +%s%N)
if dpkg -i "${debs[@]}" >"$tmp/dpkg.log" 2>&1; then
	ms=$((($(date +%s%N) - t0) / 1000000))
	ok "dpkg -i the four packages ($ms ms)"
else
	fail "dpkg -i the four packages" "$(tail -n 30 "$tmp/dpkg.log")"
fi
unhide
sed 's/^/#   /' "$tmp/dpkg.log" | grep -iE 'dkms|build|install' | head -n 12

dkms_ok() {
	local ko=/lib/modules/$kver/updates/dkms/taps.ko
	dkms status -m taps -v "$ver" -k "$kver" | grep -q ': installed' || return 1
	[ "$(modinfo -n taps)" = "$ko" ] || { echo "# modinfo -n taps: $(modinfo -n taps)"; return 1; }
	mkdir -p "$tmp/t" && tar -xzf "$tarball" -C "$tmp/t" || return 1
	cmp "$ko" "$tmp/t/dkms_main_tree/$kver/x86_64/module/taps.ko" ||
		{ echo "# the installed module is not the host-built one"; return 1; }
	! grep -q 'Building module' "$tmp/dpkg.log"
}
check "DKMS installed the host-built taps.ko for $kver, compiling nothing" dkms_ok

autoload() {
	[ ! -d /sys/module/taps ] || { echo "# taps was loaded before the socket"; return 1; }
	is "$(af_taps_socket)" ok "socket(AF_TAPS)" || return 1
	[ -d /sys/module/taps ] && is "$(cat /sys/module/taps/parameters/family)" 18 "family"
}
check "socket(AF_TAPS) with no modprobe first loads taps.ko" autoload

tapsctl_fresh() {
	rmmod taps || return 1
	/usr/sbin/tapsctl stats >"$tmp/stats" 2>&1 || { sed 's/^/# /' "$tmp/stats"; return 1; }
	[ -d /sys/module/taps ] || { echo "# tapsctl worked without the module?"; return 1; }
	grep -qE '^races +0$' "$tmp/stats" || { sed 's/^/# /' "$tmp/stats"; return 1; }
}
check "tapsctl stats on a fresh boot loads taps.ko (genetlink alias), 0 races" tapsctl_fresh

man_ok() {
	is "$(man -w taps)" /usr/share/man/man7/taps.7.gz "man -w taps" &&
		is "$(man -w taps-run)" /usr/share/man/man1/taps-run.1.gz "man -w taps-run" &&
		is "$(man -w tapsctl)" /usr/share/man/man8/tapsctl.8.gz "man -w tapsctl"
}
check "man -w finds taps(7), taps-run(1) and tapsctl(8)" man_ok

cat >"$tmp/prog.c" <<'EOT'
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <taps/taps.h>

int main(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	struct taps_info ti;
	char buf[8] = "";
	int l, fd, c;

	l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&sin, len) || listen(l, 1) ||
	    getsockname(l, (struct sockaddr *)&sin, &len))
		return 1;
	fd = socket(taps_family(), SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)))
		return 2;
	c = accept(l, NULL, NULL);
	if (c < 0 || write(c, "ping", 4) != 4 || read(fd, buf, 4) != 4)
		return 3;
	len = sizeof(ti);
	if (getsockopt(fd, SOL_TAPS, TAPS_INFO, &ti, &len))
		return 4;
	printf("%s %s %u\n", buf, taps_state_name(ti.ti_state), ti.ti_protocol);
	return 0;
}
EOT
pc_prog() {
	local flags
	flags=$(pkg-config --cflags --libs libtaps) || return 1
	is "$(echo $flags)" -ltaps "pkg-config --cflags --libs libtaps" || return 1
	# shellcheck disable=SC2086 # the flags are words
	cc -Wall -Werror -o "$tmp/prog" "$tmp/prog.c" $flags || return 1
	# /lib is /usr/lib (merged /usr): either path.
	ldd "$tmp/prog" | grep -qE "libtaps\.so\.0 => (/usr)?/lib/$ma/libtaps\.so\.0 " ||
		{ ldd "$tmp/prog" | sed 's/^/# /'; return 1; }
	is "$("$tmp/prog")" "ping established 6" "the program's output"
}
check "a program built with pkg-config libtaps connects over AF_TAPS (TCP won)" pc_prog

run_ok() {
	/usr/bin/taps-run -v python3 -c '
import socket, threading
srv = socket.create_server(("127.0.0.1", 0))
port = srv.getsockname()[1]
threading.Thread(target=lambda: srv.accept()[0].sendall(b"pong"), daemon=True).start()
c = socket.create_connection(("127.0.0.1", port), timeout=10)
print(c.recv(4).decode(), c.getpeername()[0])' >"$tmp/run.out" 2>"$tmp/run.err"
	is "$(cat "$tmp/run.out")" "pong 127.0.0.1" "taps-run's python" || return 1
	grep -q '^taps-run: fd [0-9]* won by tcp 127.0.0.1:' "$tmp/run.err" ||
		{ sed 's/^/# /' "$tmp/run.err"; return 1; }
}
check "the packaged taps-run finds its library and races (-v)" run_ok

rm -f /usr/share/taps-dkms/"$(basename "$tarball")"
rmdir /usr/share/taps-dkms
rmmod taps
if dpkg --purge $pkgs >"$tmp/purge.log" 2>&1; then
	ok "dpkg --purge the four packages"
else
	fail "dpkg --purge the four packages" "$(tail -n 20 "$tmp/purge.log")"
fi

gone() {
	local p f bad=0
	for p in $pkgs; do
		dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qv '^not-installed$' &&
			{ echo "# $p: $(dpkg-query -W -f='${db:Status-Status}' "$p")"; bad=1; }
	done
	while read -r f; do
		[ -e "$f" ] || [ -L "$f" ] || continue
		echo "# left behind: $f"
		bad=1
	done <"$tmp/files"
	for f in /usr/src/taps-"$ver" /var/lib/dkms/taps /usr/share/taps-dkms /usr/lib/taps \
		/lib/modules/*/updates/dkms/taps.ko; do
		[ -e "$f" ] && { echo "# left behind: $f"; bad=1; }
	done
	return $bad
}
check "nothing of the packages left behind (files, DKMS tree, modules)" gone

not_found() {
	modprobe -n -q taps && { echo "# modprobe still finds taps"; return 1; }
	is "$(af_taps_socket)" EAFNOSUPPORT "socket(AF_TAPS) after the purge"
}
check "after the purge modprobe finds no taps and socket(AF_TAPS) fails again" not_found
finish
