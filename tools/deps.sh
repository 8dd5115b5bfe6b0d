#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install, from Debian's packages only, everything AF_TAPS needs to build and
# test: the guest kernel and its headers, QEMU, busybox for the initramfs,
# the kernel source (kselftest_harness.h, checkpatch.pl), sparse, libmnl,
# liburing, the network tools the tests drive inside the guest, and what
# `make deb` and the package tests use (debhelper, dkms, lintian, man-db).
#
# Idempotent: it does nothing (and needs no network) when all is installed.
# Set TAPS_DEPS_DEBUG=1 to also install the prebuilt debug kernel from
# ../shared/debug-kernel when it is there.
set -eu

pkgs=(
	build-essential make gcc g++ bc flex bison kmod cpio xz-utils
	libelf-dev libssl-dev
	linux-image-amd64 linux-headers-amd64 linux-source-6.1
	qemu-system-x86 busybox-static
	sparse
	libmnl-dev liburing-dev libsctp-dev libssl-dev pkg-config
	iproute2 nftables lksctp-tools iputils-ping procps psmisc util-linux
	python3 openssl nginx-light curl ncat
	dkms dh-dkms debhelper dpkg-dev fakeroot lintian man-db groff pkgconf
)

missing=()
for p in "${pkgs[@]}"; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = installed ] || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "deps.sh: missing packages: ${missing[*]}; run as root" >&2
		exit 1
	fi
	echo "deps.sh: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# nginx-light starts a server on port 80 when installed; the tests run their
# own instances inside the guest and need none on the host.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active -q nginx 2>/dev/null; then
	systemctl disable --now nginx >/dev/null 2>&1 || true
fi

if [ "${TAPS_DEPS_DEBUG:-0}" = 1 ]; then
	here=$(cd "$(dirname "$0")/.." && pwd)
	dk=${TAPS_DEBUG_PKGS:-$here/../shared/debug-kernel}
	img=$(ls "$dk"/linux-image-*-tapsdebug_*.deb 2>/dev/null | tail -n 1)
	if [ -n "$img" ]; then
		# The release name stays the same across package revisions
		# (6.1.192-1 and -2 are both 6.1.192-tapsdebug): compare the
		# installed package's version with the file's, not /boot.
		pkg=$(dpkg-deb -f "$img" Package)
		want=$(dpkg-deb -f "$img" Version)
		have=$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null || true)
		if [ "$have" != "$want" ]; then
			echo "deps.sh: installing the debug kernel $want from $dk (installed: ${have:-none})"
			dpkg -i "$img" "$dk"/linux-headers-*-tapsdebug_"$want"_*.deb
		fi
	elif ! ls /boot/vmlinuz-*-tapsdebug >/dev/null 2>&1; then
		echo "deps.sh: no debug kernel packages in $dk: building one (about 30 min)"
		"$here/tools/vm/build-debug-kernel"
	fi
fi
exit 0
