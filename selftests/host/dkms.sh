#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# dkms.conf builds taps.ko with DKMS on this host: the configuration names
# the module, where it is built and installed and how; `make dkms-tarball`
# (dkms build and mktarball in a private tree) produces, for the VM's
# kernel, a taps.ko with its vermagic, the autoload aliases and
# the same source version as `make module`'s, and writes nothing to
# /var/lib/dkms or /lib/modules.  selftests/packages.sh installs the
# tarball in the VM with the taps-dkms package.
. "$(dirname "$0")/../lib.sh"
plan 5
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ver=$(sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' "$TAPS_TOP/debian/changelog")
kver=$("$TAPS_TOP/tools/vm/kver")

conf_ok() {
	# As dkms reads it: bash, with its variables set.
	# shellcheck disable=SC2016 # expanded by the inner bash
	bash -c '
		kernel_source_dir=/lib/modules/K/build dkms_tree=/var/lib/dkms
		. "$1" || exit 1
		[ "$PACKAGE_NAME" = taps ] &&
		[ "$PACKAGE_VERSION" = "#MODULE_VERSION#" ] &&
		[ "${BUILT_MODULE_NAME[0]}" = taps ] &&
		[ "${BUILT_MODULE_LOCATION[0]}" = kernel/ ] &&
		[ "${DEST_MODULE_LOCATION[0]}" = /updates/dkms ] &&
		[ "$AUTOINSTALL" = yes ] &&
		[ "${MAKE[0]}" = "make -C /lib/modules/K/build M=/var/lib/dkms/taps/#MODULE_VERSION#/build/kernel modules" ] &&
		[ -n "$CLEAN" ]' _ "$TAPS_TOP/dkms.conf"
}
check "dkms.conf: taps, version placeholder, kernel/taps.ko to /updates/dkms, autoinstall" conf_ok

# Built from scratch in a build folder of the test's own.
touch "$tmp/stamp"
sleep 1
if make -s -C "$TAPS_TOP" B="$tmp/b" dkms-tarball >"$tmp/make.log" 2>&1; then
	ok "make dkms-tarball builds with dkms on the host"
else
	fail "make dkms-tarball builds with dkms on the host" "$(tail -n 20 "$tmp/make.log")"
fi
tarball=$tmp/b/dkms/taps-$ver.dkms.tar.gz
kernels=$(cat "$tmp/b/dkms/kernel" 2>/dev/null)

ko_ok() {
	local k ko n=0
	mkdir -p "$tmp/x"
	tar -xzf "$tarball" -C "$tmp/x" || return 1
	grep -qx taps "$tmp/x/dkms_binaries_only/PACKAGE_NAME" &&
		grep -qx "$ver" "$tmp/x/dkms_binaries_only/PACKAGE_VERSION" || return 1
	for k in $kernels; do
		ko=$tmp/x/dkms_main_tree/$k/x86_64/module/taps.ko
		[ -s "$ko" ] || { echo "# no taps.ko for $k"; return 1; }
		[ "$(modinfo -F vermagic "$ko" | cut -d' ' -f1)" = "$k" ] ||
			{ echo "# $k: vermagic $(modinfo -F vermagic "$ko")"; return 1; }
		modinfo -F alias "$ko" | sort | tr '\n' ' ' >"$tmp/alias"
		[ "$(cat "$tmp/alias")" = "net-pf-16-proto-16-family-taps net-pf-18 " ] ||
			{ echo "# $k: aliases $(cat "$tmp/alias")"; return 1; }
		n=$((n + 1))
	done
	[ "$n" = 1 ] && [ "$kernels" = "$kver" ]
}
check "the tarball holds taps.ko for $kernels with vermagic and aliases" ko_ok

# The module has no MODULE_VERSION (so no srcversion): compare what it
# defines, function by function.
same_src() {
	make -s -C "$TAPS_TOP" module >/dev/null 2>&1 || return 1
	nm --defined-only "$tmp/x/dkms_main_tree/$kver/x86_64/module/taps.ko" |
		awk '$2 ~ /^[TtDdBbRr]$/ { print $3 }' | sort >"$tmp/dkms.syms"
	nm --defined-only "$TAPS_TOP/build/$kver/taps.ko" |
		awk '$2 ~ /^[TtDdBbRr]$/ { print $3 }' | sort >"$tmp/make.syms"
	[ "$(wc -l <"$tmp/make.syms")" -ge 100 ] || return 1
	diff -u "$tmp/make.syms" "$tmp/dkms.syms" | sed 's/^/# /' | head -n 20
	cmp -s "$tmp/make.syms" "$tmp/dkms.syms"
}
check "DKMS builds what make module builds (the same defined symbols)" same_src

untouched() {
	find /var/lib/dkms /lib/modules -newer "$tmp/stamp" >"$tmp/new" 2>/dev/null
	[ -s "$tmp/new" ] || return 0
	sed 's/^/# written: /' "$tmp/new" | head -n 20
	return 1
}
check "nothing written to /var/lib/dkms or /lib/modules" untouched
finish
