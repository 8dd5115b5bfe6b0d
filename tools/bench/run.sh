#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tools/bench/run.sh [-q] [-p] [TEST...]
#
# AF_TAPS against plain TCP, and libtaps against the same programs on plain
# sockets (Documentation/performance.md).  TESTs: connect, failover, cache,
# bulk, rr, mem, accept, churn, echo, framer, name; all of them by default.
# -q: fewer rounds, for a quick check that everything runs.  -p: pin the
# client and the server to vCPU 0 (bench -p).
#
# On the host (no /sys/module/taps) it compiles tools/bench/*.c into
# build/bench/ and boots the test VM to run itself there; extra options for
# tools/vm/run can be given in TAPS_BENCH_VM_OPTS (e.g. "-o /tmp/bench-out").
# In the guest it builds a client and a server namespace joined by veth and
# runs every benchmark.  Exit status 0 when everything ran, whatever the
# figures; 1 when something failed to run.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
bin=$top/build/bench/bench

if [ ! -d /sys/module/taps ]; then
	# the Makefile builds it with libtaps and what libtaps links
	make -C "$top" --no-print-directory -s "$bin" || exit 1
	# shellcheck disable=SC2086
	exec "$top/tools/vm/run" -t 1200 ${TAPS_BENCH_VM_OPTS:-} -- "$top/tools/bench/run.sh" "$@"
fi

quick=0
pin=
while [ $# -gt 0 ]; do
	case $1 in
	-q) quick=1; shift ;;
	-p) pin=-p; shift ;;
	*) break ;;
	esac
done
tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=(connect failover cache bulk rr mem accept churn echo framer name)

[ -x "$bin" ] || { echo "run.sh: $bin missing: run tools/bench/run.sh on the host" >&2; exit 1; }

cli=tbench-cli
srv=tbench-srv
http_pid=
http_dir=
failed=0
summary=$(mktemp)

cleanup() {
	[ -n "$http_pid" ] && kill "$http_pid" 2>/dev/null
	ip netns del $cli 2>/dev/null
	ip netns del $srv 2>/dev/null
	rm -rf "$summary" "/etc/netns/$cli"
}
trap cleanup EXIT

# Client namespace and server namespace, joined by veth:
# 192.0.2.1 / 2001:db8::1 (client) and 192.0.2.2 / 2001:db8::2 (server).
# In the client namespace, dual.test is both server addresses, found in
# /etc/hosts only (the guest has no DNS).
setup() {
	mkdir -p /etc/netns/$cli &&
	printf '2001:db8::2 dual.test\n192.0.2.2 dual.test\n' >/etc/netns/$cli/hosts &&
	echo "hosts: files" >/etc/netns/$cli/nsswitch.conf &&
	ip netns add $cli &&
	ip netns add $srv &&
	ip -n $cli link set lo up &&
	ip -n $srv link set lo up &&
	ip link add tb0 netns $cli type veth peer name tb1 netns $srv &&
	ip -n $cli addr add 192.0.2.1/24 dev tb0 &&
	ip -n $cli addr add 2001:db8::1/64 dev tb0 nodad &&
	ip -n $srv addr add 192.0.2.2/24 dev tb1 &&
	ip -n $srv addr add 2001:db8::2/64 dev tb1 nodad &&
	ip -n $cli link set tb0 up &&
	ip -n $srv link set tb1 up &&
	ip netns exec $cli ping -q -c 1 -W 5 192.0.2.2 >/dev/null &&
	ip netns exec $cli ping -q -c 1 -W 5 2001:db8::2 >/dev/null
}

# run NAME CMD...: run one benchmark in the client namespace.
run() {
	local name=$1 out rc
	shift
	echo
	echo "== $name"
	out=$(mktemp)
	ip netns exec $cli "$bin" "$@" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	grep '^SUMMARY ' "$out" | sed 's/^SUMMARY //' >>"$summary"
	rm -f "$out"
	if [ "$rc" != 0 ]; then
		echo "run.sh: $name failed (status $rc)"
		echo "$name: FAILED to run (status $rc)" >>"$summary"
		failed=1
	fi
}

# Default properties (TCP and SCTP race, as for an application that just
# asks for a stream) and pinned to TCP; one candidate either way, since the
# forked server listens on TCP only and SCTP is only tried after the delay.
bench_connect() {
	local r=10 b=50
	[ $quick = 1 ] && r=2 b=20
	run "connect latency, loopback, default properties" connect $pin -D -l loopback \
		-r $r -b $b 127.0.0.1 5001
	run "connect latency, loopback, TCP" connect $pin -l loopback -r $r -b $b 127.0.0.1 5001
	run "connect latency, veth, default properties" connect $pin -D -n $srv -l veth \
		-r $r -b $b 192.0.2.2 5001
	run "connect latency, veth, TCP" connect $pin -n $srv -l veth -r $r -b $b 192.0.2.2 5001
}

# An HTTP server on port 8080 in the server namespace (for curl), and
# IPv6 to the server dropped there; 1 (and a FAILED line for NAME) if not.
blackhole6_up() {
	local name=$1 i
	http_dir=$(mktemp -d)
	echo hello >"$http_dir/index.html"
	ip netns exec $srv python3 -m http.server --bind :: --directory "$http_dir" 8080 \
		>/dev/null 2>&1 &
	http_pid=$!
	for ((i = 0; i < 100; i++)); do
		ip netns exec $cli curl -s -o /dev/null http://192.0.2.2:8080/ && break
		sleep 0.2
	done
	if ! ip netns exec $srv nft -f - <<-'EOF'
	table inet tbench {
		chain in {
			type filter hook input priority 0;
			ip6 daddr 2001:db8::2 drop
		}
	}
	EOF
	then
		echo "run.sh: nft failed"
		echo "$name: FAILED to run (nft)" >>"$summary"
		failed=1
		blackhole6_down
		return 1
	fi
}

blackhole6_down() {
	ip netns exec $srv nft delete table inet tbench 2>/dev/null
	kill "$http_pid" 2>/dev/null
	wait "$http_pid" 2>/dev/null
	http_pid=
	rm -rf "$http_dir"
}

bench_failover() {
	local r=7
	[ $quick = 1 ] && r=2
	blackhole6_up failover || return
	run "time to connect, IPv6 blackholed, default properties" failover -D -r $r \
		2001:db8::2 192.0.2.2 8080
	run "time to connect, IPv6 blackholed, TCP" failover -r $r 2001:db8::2 192.0.2.2 8080
	blackhole6_down
}

# The cached state: what the cache lookup and update cost a connect() that
# has nothing to reorder (cache on against TAPS_ISOLATE), then the first
# and second connect after a flush, with the first candidate blackholed:
# IPv6 on port 5006 (IPv4 works), and TCP on port 5007 (SCTP works).
bench_cache() {
	local r=11 cr=10 b=50 tapsctl=$top/build/tools/tapsctl
	[ $quick = 1 ] && r=3 cr=2 b=20
	run "connect latency, cache on vs TAPS_ISOLATE, veth" connect $pin -i -n $srv -l veth \
		-r $cr -b $b 192.0.2.2 5005
	if [ ! -x "$tapsctl" ]; then
		echo "run.sh: $tapsctl missing: run make first"
		echo "cache: FAILED to run ($tapsctl missing)" >>"$summary"
		failed=1
		return
	fi
	if ! ip netns exec $srv nft -f - <<-'EOF'
	table inet tbcache {
		chain in {
			type filter hook input priority 0;
			ip6 daddr 2001:db8::2 tcp dport 5006 drop
			ip daddr 192.0.2.2 tcp dport 5007 drop
		}
	}
	EOF
	then
		echo "run.sh: nft failed"
		echo "cache: FAILED to run (nft)" >>"$summary"
		failed=1
		return
	fi
	run "cached state, IPv6 blackholed" cache -n $srv -l "IPv6 blackholed, IPv4 works" \
		-r $r -T "$tapsctl" -e 192.0.2.2 2001:db8::2 5006
	run "cached state, TCP blackholed" cache -n $srv -l "TCP blackholed, SCTP works" \
		-r $r -T "$tapsctl" -D 192.0.2.2 5007
	ip netns exec $srv nft delete table inet tbcache
}

bench_bulk() {
	local r=7 s=64
	[ $quick = 1 ] && r=2 s=16
	run "bulk throughput, veth" bulk $pin -n $srv -r $r -s $s 192.0.2.2 5002
}

bench_rr() {
	local r=10 c=5000
	[ $quick = 1 ] && r=2 c=2000
	run "1-byte request/response, veth" rr $pin -n $srv -r $r -c $c 192.0.2.2 5003
}

bench_mem() {
	local r=3 c=500
	[ $quick = 1 ] && r=1 c=200
	run "memory per connection" mem $pin -n $srv -r $r -c $c 192.0.2.2 5004
}

bench_accept() {
	local r=5 t=3
	[ $quick = 1 ] && r=2 t=2
	run "accept rate, 100 clients" accept -n $srv -r $r -c 100 -t $t 192.0.2.2 5008
}

bench_churn() {
	local c=10000
	[ $quick = 1 ] && c=2000
	run "10 000 sequential races and 1000 at once" churn -n $srv -c $c 192.0.2.2 5009
}

# libtaps on its loop against epoll on plain TCP sockets: echo servers
# serving 100 plain clients.
bench_echo() {
	local r=5 t=3
	[ $quick = 1 ] && r=2 t=1
	run "echo server, libtaps loop vs epoll, 100 clients" echo -n $srv -r $r -c 100 -t $t \
		192.0.2.2 5010
}

bench_framer() {
	local r=5 m=500
	[ $quick = 1 ] && r=2 m=200
	run "length-prefix messages, libtaps framer vs a plain loop" framer -n $srv -r $r \
		-m $m 192.0.2.2 5011
}

# By name: dual.test has both addresses in the client namespace's
# /etc/hosts (ip netns exec mounts /etc/netns/NAME/hosts there), IPv6 is
# blackholed; the defaults, then both at curl's default 200 ms delay.
bench_name() {
	local r=7 tapsctl=$top/build/tools/tapsctl
	[ $quick = 1 ] && r=2
	if [ ! -x "$tapsctl" ]; then
		echo "run.sh: $tapsctl missing: run make first"
		echo "name: FAILED to run ($tapsctl missing)" >>"$summary"
		failed=1
		return
	fi
	blackhole6_up name || return
	run "initiate to Ready by name, IPv6 blackholed, defaults" name -r $r -T "$tapsctl" \
		dual.test 192.0.2.2 8080
	run "initiate to Ready by name, IPv6 blackholed, 200 ms for both" name -r $r -d 200 \
		-T "$tapsctl" dual.test 192.0.2.2 8080
	blackhole6_down
}

echo "== AF_TAPS benchmarks: $(uname -r), $(nproc) CPUs, family $(cat /sys/module/taps/parameters/family)"
echo "   checkout $(git -C "$top" describe --always --dirty 2>/dev/null || echo -)," \
	"taps.ko sha256 $(cat ${TAPSVM_MODULES:-/dev/null} | sha256sum | cut -c1-12)," \
	"$([ -n "$pin" ] && echo "client and server on vCPU 0" || echo "not pinned")"
if ! setup; then
	echo "run.sh: cannot set up the namespaces"
	exit 1
fi

for t in "${tests[@]}"; do
	case $t in
	connect|failover|cache|bulk|rr|mem|accept|churn|echo|framer|name) "bench_$t" ;;
	*) echo "run.sh: unknown test $t"; failed=1 ;;
	esac
done

echo
echo "== summary ($(date -u +%Y-%m-%d), $(uname -r), $(nproc) vCPUs, QEMU TCG)"
cat "$summary"
if [ -n "${TAPSVM_OUT:-}" ] && [ -d "$TAPSVM_OUT" ]; then
	cp "$summary" "$TAPSVM_OUT/bench-summary.txt"
fi
exit $failed
