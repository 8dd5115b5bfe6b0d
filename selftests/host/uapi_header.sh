#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# uapi/linux/taps.h compiles on its own, in C and C++, with warnings as
# errors, and beside the C library's socket headers in the documented order
# (like every uapi header that includes <linux/in.h>: glibc's <netinet/in.h>
# first, see Documentation/uapi.md).
. "$(dirname "$0")/../lib.sh"
plan 6
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
inc=-I$TAPS_TOP/uapi

compile() {	# compile NAME COMPILER FLAGS -- HEADERS...
	local name=$1 cc=$2 flags=$3 src=$tmp/t.c h
	shift 4
	[ "$cc" = g++ ] && src=$tmp/t.cc
	: >"$src"
	for h in "$@"; do echo "#include <$h>" >>"$src"; done
	cat >>"$src" <<'EOT'
int main(void)
{
	static struct taps_info info;
	return info.ti_state + AF_TAPS + PF_TAPS + SOL_TAPS + TAPS_INFO + TAPS_STATE_LISTENING +
		(int)sizeof(info.ti_remote) + (int)sizeof(struct taps_endpoint) +
		(int)sizeof(struct sockaddr_taps) + TAPS_MAX_ENDPOINTS;
}
EOT
	if $cc $flags $inc -o "$tmp/a.out" "$src" 2>"$tmp/err"; then
		ok "$name"
	else
		fail "$name"
		sed 's/^/# /' "$tmp/err"
	fi
}
compile "C11 standalone" gcc "-std=c11 -Wall -Wextra -Werror -pedantic" -- linux/taps.h
compile "C89 standalone" gcc "-std=gnu89 -Wall -Wextra -Werror" -- linux/taps.h
compile "C++ standalone" g++ "-Wall -Wextra -Werror" -- linux/taps.h
compile "C after <netinet/in.h>, <arpa/inet.h>" gcc "-Wall -Wextra -Werror" -- sys/socket.h netinet/in.h arpa/inet.h linux/taps.h
compile "C before <sys/socket.h>" gcc "-Wall -Wextra -Werror" -- linux/taps.h sys/socket.h
compile "C++ after libc socket headers" g++ "-Wall -Wextra -Werror" -- sys/socket.h netinet/in.h linux/taps.h
finish
