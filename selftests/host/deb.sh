#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make deb` builds exactly the four packages, at debian/changelog's
# version, each holding what it should (dpkg-deb -c) and nothing of the
# others; taps-dkms runs DKMS from its maintainer scripts; libtaps.pc and
# the library's soname are right; lintian reports no error or warning.
# selftests/packages.sh installs them in the VM.
. "$(dirname "$0")/../lib.sh"
plan 9
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
deb=$TAPS_TOP/build/deb
ver=$(sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' "$TAPS_TOP/debian/changelog")
arch=$(dpkg --print-architecture)
ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH)

if ! make -s -C "$TAPS_TOP" deb >"$tmp/make.log" 2>&1; then
	echo "Bail out! make deb failed: $(tail -n 20 "$tmp/make.log")"
	exit 1
fi
want="libtaps-dev_${ver}_$arch.deb libtaps0_${ver}_$arch.deb taps-dkms_${ver}_all.deb tapsctl_${ver}_$arch.deb"
got=$(cd "$deb" && echo *.deb)
if [ "$got" = "$want" ]; then
	ok "make deb builds the four packages at version $ver"
else
	fail "make deb builds the four packages at version $ver" "got: $got"
fi

# contents PKG: the files (not directories) of PKG, one per line.
contents() { dpkg-deb -c "$deb/$1"_*.deb | awk '$1 !~ /^d/ { print $6 }' | sed 's|^\./|/|' | sort; }

# has PKG FILE...: PKG holds every FILE, and only: FILEs plus its docs.
has() {
	local pkg=$1 f
	shift
	contents "$pkg" | grep -v "^/usr/share/doc/$pkg/" >"$tmp/$pkg.got"
	for f in "$@"; do echo "$f"; done | sort >"$tmp/$pkg.want"
	if diff -u "$tmp/$pkg.want" "$tmp/$pkg.got" >"$tmp/diff"; then
		ok "$pkg holds exactly its $# files"
	else
		fail "$pkg holds exactly its $# files" "$(sed 's/^/#   /' "$tmp/diff" | tail -n +3)"
	fi
}

dkms_files=("/usr/src/taps-$ver/dkms.conf" "/usr/src/taps-$ver/kernel/Kbuild"
	    "/usr/src/taps-$ver/uapi/linux/taps.h")
for f in "$TAPS_TOP"/kernel/*.[ch]; do
	case $f in *.mod.c) continue ;; esac
	dkms_files+=("/usr/src/taps-$ver/kernel/$(basename "$f")")
done
has taps-dkms "${dkms_files[@]}"
has libtaps0 "/usr/lib/$ma/libtaps.so.0"
man3=()
for f in "$TAPS_TOP"/Documentation/man/*.3; do
	man3+=("/usr/share/man/man3/$(basename "$f").gz")
done
has libtaps-dev /usr/include/linux/taps.h /usr/include/taps/taps.h "/usr/lib/$ma/libtaps.a" \
	"/usr/lib/$ma/libtaps.so" "/usr/lib/$ma/pkgconfig/libtaps.pc" /usr/share/man/man7/taps.7.gz \
	"${man3[@]}"
has tapsctl /usr/sbin/tapsctl /usr/bin/taps-run /usr/lib/taps/libtaps-run.so \
	/usr/share/man/man8/tapsctl.8.gz /usr/share/man/man1/taps-run.1.gz \
	/usr/share/bash-completion/completions/tapsctl \
	/usr/bin/taps-cat /usr/share/man/man1/taps-cat.1.gz

dkms_ok() {
	dpkg-deb --fsys-tarfile "$deb"/taps-dkms_*.deb |
		tar -xO "./usr/src/taps-$ver/dkms.conf" >"$tmp/dkms.conf" || return 1
	grep -qx "PACKAGE_VERSION=\"$ver\"" "$tmp/dkms.conf" ||
		{ echo "# dkms.conf: $(grep PACKAGE_VERSION "$tmp/dkms.conf")"; return 1; }
	dpkg-deb -I "$deb"/taps-dkms_*.deb postinst | grep -q 'common.postinst' || return 1
	dpkg-deb -I "$deb"/taps-dkms_*.deb prerm | grep -q 'dkms remove' || return 1
	dpkg-deb -f "$deb"/taps-dkms_*.deb Depends | grep -q '^dkms'
}
check "taps-dkms: dkms.conf at $ver, postinst builds with DKMS, prerm removes, depends on dkms" dkms_ok

pc_ok() {
	dpkg-deb --fsys-tarfile "$deb"/libtaps-dev_*.deb |
		tar -xO "./usr/lib/$ma/pkgconfig/libtaps.pc" >"$tmp/libtaps.pc" || return 1
	PKG_CONFIG_PATH=$tmp pkg-config --modversion libtaps | grep -qx "$ver" || return 1
	[ "$(PKG_CONFIG_PATH=$tmp pkg-config --libs libtaps | xargs)" = "-ltaps" ] &&
		[ "$(PKG_CONFIG_PATH=$tmp pkg-config --variable=libdir libtaps)" = "/usr/lib/$ma" ] &&
		[ "$(PKG_CONFIG_PATH=$tmp pkg-config --variable=includedir libtaps)" = /usr/include ]
}
check "libtaps.pc: version $ver, -ltaps in /usr/lib/$ma, headers in /usr/include" pc_ok

soname_ok() {
	dpkg-deb -x "$deb"/libtaps0_*.deb "$tmp/x" || return 1
	objdump -p "$tmp/x/usr/lib/$ma/libtaps.so.0" | grep -qE 'SONAME +libtaps\.so\.0$' &&
		dpkg-deb -f "$deb"/libtaps-dev_*.deb Depends | grep -qF "libtaps0 (= $ver)"
}
check "libtaps0: soname libtaps.so.0; libtaps-dev depends on it at $ver" soname_ok

lintian_ok() {
	lintian --fail-on error,warning "$deb"/*.deb >"$tmp/lintian" 2>&1 && return 0
	sed 's/^/# /' "$tmp/lintian"
	return 1
}
if command -v lintian >/dev/null; then
	check "lintian: no error or warning" lintian_ok
else
	skip "lintian: no error or warning" "lintian not installed (tools/deps.sh)"
fi
finish
