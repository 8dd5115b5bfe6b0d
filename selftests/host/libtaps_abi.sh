#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# libtaps.so's ABI and packaging: soname libtaps.so.0, only the names of
# lib/libtaps.map exported (every one of them defined, no taps__ internal),
# every function of <taps.h> exported, libtaps.pc usable by pkg-config, and
# a program built the way users build (<taps/taps.h>, -ltaps) runs.
. "$(dirname "$0")/../lib.sh"
plan 5
so=$TAPS_TOP/build/lib/libtaps.so
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if readelf -d "$so" | grep -q 'SONAME.*\[libtaps\.so\.0\]'; then ok "soname libtaps.so.0"; else fail "soname libtaps.so.0"; fi

nm -D --defined-only "$so" | awk '$2 ~ /[TDBR]/ {print $3}' | sed 's/@.*//' | sort -u >"$tmp/exported"
grep -o 'taps_[a-z_0-9]*;' "$TAPS_TOP/lib/libtaps.map" | tr -d ';' | sort -u >"$tmp/map"
if diff "$tmp/map" "$tmp/exported" >"$tmp/d"; then
	ok "exports exactly lib/libtaps.map"
else
	fail "exports exactly lib/libtaps.map"; sed 's/^/# /' "$tmp/d"
fi

# every function the header declares is in the map
grep -o '^[a-z].*\btaps_[a-z_]*(' "$TAPS_TOP/lib/taps.h" | grep -o 'taps_[a-z_]*(' | tr -d '(' |
	sort -u >"$tmp/header"
if comm -23 "$tmp/header" "$tmp/map" >"$tmp/missing" && [ ! -s "$tmp/missing" ]; then
	ok "every function of taps.h exported"
else
	fail "every function of taps.h exported"; sed 's/^/# missing: /' "$tmp/missing"
fi

# an installed-like tree: include/taps/taps.h, include/linux/taps.h, lib/
mkdir -p "$tmp/inc/taps" "$tmp/inc/linux"
cp "$TAPS_TOP/lib/taps.h" "$tmp/inc/taps/"
cp "$TAPS_TOP/uapi/linux/taps.h" "$tmp/inc/linux/"
sed -e "s|^prefix=.*|prefix=$tmp|" -e "s|^includedir=.*|includedir=$tmp/inc|" \
	-e "s|^libdir=.*|libdir=$TAPS_TOP/build/lib|" "$TAPS_TOP/build/lib/libtaps.pc" >"$tmp/libtaps.pc"
flags=$(PKG_CONFIG_PATH=$tmp pkg-config --cflags --libs libtaps 2>&1)
case $flags in *-ltaps*) ok "pkg-config libtaps: $flags" ;; *) fail "pkg-config libtaps" "$flags" ;; esac

cat >"$tmp/t.c" <<'EOC'
#include <stdio.h>
#include <taps/taps.h>
int main(void)
{
	struct taps_loop *loop = taps_loop_new();

	printf("%s %s\n", taps_version(), taps_property_name(TAPS_PROP_CONN_TIMEOUT));
	taps_loop_free(loop);
	return !loop;
}
EOC
if gcc -Wall -Wextra -Werror -o "$tmp/t" "$tmp/t.c" $flags 2>"$tmp/err" &&
	out=$(LD_LIBRARY_PATH=$TAPS_TOP/build/lib "$tmp/t") && [ "$out" = "0.1.0 connTimeout" ]; then
	ok "a program built with pkg-config runs against libtaps.so.0"
else
	fail "a program built with pkg-config runs against libtaps.so.0" "$(cat "$tmp/err") $out"
fi
finish
