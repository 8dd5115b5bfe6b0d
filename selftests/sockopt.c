// SPDX-License-Identifier: GPL-2.0
/*
 * Protocol-level options set before connect() or listen(): recorded on the
 * AF_TAPS socket, checked on a kernel socket of their level when set, and
 * replayed on every attempt and kernel listener whose protocol and family
 * they fit.  Each test runs in a private network namespace with lo up.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netinet/sctp.h>
#include <sys/socket.h>

#include "kselftest_harness.h"
#include "taps_test.h"

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP	262
#endif
#ifndef SOL_TLS
#define SOL_TLS		282
#endif
#ifndef SOL_MPTCP
#define SOL_MPTCP	284
#endif
#ifndef TCP_ULP
#define TCP_ULP		31
#endif

#define TOS		0x80	/* CS4: no ECN bits, which TCP keeps its own */
#define MSS		1000

static int set_int(int fd, int level, int opt, int val)
{
	return setsockopt(fd, level, opt, &val, sizeof(val));
}

static int get_int(int fd, int level, int opt)
{
	int val = -1;
	socklen_t len = sizeof(val);

	if (getsockopt(fd, level, opt, &val, &len))
		return -1;
	return val;
}

static struct taps_info info_of(int fd)
{
	struct taps_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, SOL_TAPS, TAPS_INFO, &ti, &len))
		ti.ti_state = ~0u;
	return ti;
}

static socklen_t loopback(int family, int port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (void *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return sizeof(*sin);
	}
	((struct sockaddr_in6 *)ss)->sin6_family = AF_INET6;
	((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
	((struct sockaddr_in6 *)ss)->sin6_addr = in6addr_loopback;
	return sizeof(struct sockaddr_in6);
}

/* A plain listener on the IPv6 wildcard (IPv4 too); returns its fd. */
static int plain_listener(int proto, int *port)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
	socklen_t len = sizeof(sin6);
	int fd = socket(AF_INET6, SOCK_STREAM, proto);

	if (fd < 0 || bind(fd, (void *)&sin6, sizeof(sin6)) || listen(fd, 16) ||
	    getsockname(fd, (void *)&sin6, &len))
		return -1;
	*port = ntohs(sin6.sin6_port);
	return fd;
}

static int taps_connect_to(int fd, int family, int port)
{
	struct sockaddr_storage ss;
	socklen_t len = loopback(family, port, &ss);

	return connect(fd, (void *)&ss, len);
}

/* The TOS of the packet that completed the handshake, seen by the peer. */
static int received_tos(int fd)
{
	char buf[256];
	socklen_t len = sizeof(buf);
	struct msghdr msg = {};
	struct cmsghdr *cm;

	if (getsockopt(fd, SOL_IP, IP_PKTOPTIONS, buf, &len))
		return -1;
	msg.msg_control = buf;
	msg.msg_controllen = len;
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_level == SOL_IP && cm->cmsg_type == IP_TOS)
			return *(unsigned char *)CMSG_DATA(cm);
	}
	return -1;
}

static bool have_proto(int proto)
{
	int fd = socket(AF_INET, SOCK_STREAM, proto);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

FIXTURE(opt)
{
	int fd;		/* an unconnected AF_TAPS socket */
	int lfd;	/* a plain TCP listener */
	int port;
};

FIXTURE_SETUP(opt)
{
	ASSERT_EQ(0, unshare(CLONE_NEWNET));
	ASSERT_EQ(0, system("ip link set lo up"));
	self->lfd = plain_listener(IPPROTO_TCP, &self->port);
	ASSERT_LE(0, self->lfd);
	self->fd = taps_socket(SOCK_STREAM);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, set_int(self->fd, SOL_TAPS, TAPS_PROTOCOLS, TAPS_P_TCP));
}

FIXTURE_TEARDOWN(opt)
{
	close(self->fd);
	close(self->lfd);
}

/* The options of the brief, in effect on the connection and on the wire. */
TEST_F(opt, tcp_options_apply_to_connection)
{
	char cc[16] = {};
	socklen_t len = sizeof(cc);
	int afd, one = 1;

	/* The peer records the TOS of what it receives. */
	ASSERT_EQ(0, setsockopt(self->lfd, SOL_IP, IP_RECVTOS, &one, sizeof(one)));
	/* reno is not the default, so seeing it means ours took. */
	ASSERT_EQ(0, getsockopt(self->lfd, SOL_TCP, TCP_CONGESTION, cc, &len));
	EXPECT_STRNE("reno", cc);

	ASSERT_EQ(0, set_int(self->fd, SOL_TCP, TCP_NODELAY, 1));
	ASSERT_EQ(0, setsockopt(self->fd, SOL_TCP, TCP_CONGESTION, "reno", 4));
	ASSERT_EQ(0, set_int(self->fd, SOL_IP, IP_TOS, TOS));
	ASSERT_EQ(0, set_int(self->fd, SOL_TCP, TCP_MAXSEG, MSS));
	ASSERT_EQ(0, set_int(self->fd, SOL_TCP, TCP_USER_TIMEOUT, 4321));
	ASSERT_EQ(0, set_int(self->fd, SOL_IP, IP_TTL, 33));

	ASSERT_EQ(0, taps_connect_to(self->fd, AF_INET, self->port))
		TH_LOG("connect: %s", strerror(errno));
	afd = accept(self->lfd, NULL, NULL);
	ASSERT_LE(0, afd);

	/* On the AF_TAPS fd: read from the connection itself. */
	EXPECT_EQ(1, get_int(self->fd, SOL_TCP, TCP_NODELAY));
	memset(cc, 0, sizeof(cc));
	len = sizeof(cc);
	ASSERT_EQ(0, getsockopt(self->fd, SOL_TCP, TCP_CONGESTION, cc, &len));
	EXPECT_STREQ("reno", cc);
	EXPECT_EQ(TOS, get_int(self->fd, SOL_IP, IP_TOS));
	EXPECT_EQ(33, get_int(self->fd, SOL_IP, IP_TTL));
	EXPECT_EQ(4321, get_int(self->fd, SOL_TCP, TCP_USER_TIMEOUT));
	EXPECT_GE(MSS, get_int(self->fd, SOL_TCP, TCP_MAXSEG));

	/* On the plain TCP peer: the SYN carried our MSS, the ACK our TOS. */
	EXPECT_GE(MSS, get_int(afd, SOL_TCP, TCP_MAXSEG));
	EXPECT_LT(0, get_int(afd, SOL_TCP, TCP_MAXSEG));
	EXPECT_EQ(TOS, received_tos(afd));
	close(afd);
}

/* Before the connection, getsockopt() reads what was recorded. */
TEST_F(opt, getsockopt_reads_record)
{
	char cc[16] = {};
	socklen_t len = sizeof(cc);
	int val;

	EXPECT_EQ(-1, get_int(self->fd, SOL_TCP, TCP_NODELAY));
	EXPECT_EQ(ENOTCONN, errno);
	ASSERT_EQ(0, set_int(self->fd, SOL_TCP, TCP_NODELAY, 1));
	EXPECT_EQ(1, get_int(self->fd, SOL_TCP, TCP_NODELAY));
	ASSERT_EQ(0, setsockopt(self->fd, SOL_TCP, TCP_CONGESTION, "reno", 4));
	ASSERT_EQ(0, getsockopt(self->fd, SOL_TCP, TCP_CONGESTION, cc, &len));
	EXPECT_EQ(4, len);
	EXPECT_STREQ("reno", cc);
	/* A short buffer gets the leading bytes. */
	memset(cc, 0, sizeof(cc));
	len = 2;
	ASSERT_EQ(0, getsockopt(self->fd, SOL_TCP, TCP_CONGESTION, cc, &len));
	EXPECT_EQ(2, len);
	EXPECT_STREQ("re", cc);
	/* Garbage. */
	len = -1;
	EXPECT_EQ(-1, getsockopt(self->fd, SOL_TCP, TCP_NODELAY, &val, &len));
	EXPECT_EQ(EINVAL, errno);
	len = sizeof(val);
	EXPECT_EQ(-1, getsockopt(self->fd, SOL_TCP, TCP_NODELAY, NULL, &len));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, getsockopt(self->fd, SOL_TCP, TCP_NODELAY, &val, NULL));
	EXPECT_EQ(EFAULT, errno);
	/* Another level, nothing recorded there. */
	EXPECT_EQ(-1, get_int(self->fd, SOL_IP, IP_TOS));
	EXPECT_EQ(ENOTCONN, errno);
}

/* An invalid value fails setsockopt() as on TCP, and is not recorded. */
TEST_F(opt, invalid_value_fails_setsockopt)
{
	char big[257] = {};
	int val = 1;

	EXPECT_EQ(-1, setsockopt(self->fd, SOL_TCP, TCP_CONGESTION, "no-such-cc", 10));
	EXPECT_EQ(ENOENT, errno);
	EXPECT_EQ(-1, set_int(self->fd, SOL_TCP, TCP_MAXSEG, 1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, set_int(self->fd, SOL_TCP, TCP_KEEPIDLE, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, set_int(self->fd, SOL_TCP, 9999, 1));
	EXPECT_EQ(ENOPROTOOPT, errno);
	EXPECT_EQ(-1, set_int(self->fd, SOL_IP, 9999, 1));
	EXPECT_EQ(ENOPROTOOPT, errno);
	/* What a race cannot honour: a SYN deferred to the first write. */
	EXPECT_EQ(-1, set_int(self->fd, SOL_TCP, TCP_FASTOPEN_CONNECT, 1));
	EXPECT_EQ(EOPNOTSUPP, errno);
	EXPECT_EQ(-1, set_int(self->fd, SOL_TCP, TCP_REPAIR, 1));
	EXPECT_EQ(EOPNOTSUPP, errno);
	/* Nothing of it was recorded: the connection comes up as usual. */
	EXPECT_EQ(-1, get_int(self->fd, SOL_TCP, TCP_CONGESTION));
	EXPECT_EQ(ENOTCONN, errno);
	EXPECT_EQ(-1, get_int(self->fd, SOL_TCP, TCP_MAXSEG));
	EXPECT_EQ(ENOTCONN, errno);
	ASSERT_EQ(0, taps_connect_to(self->fd, AF_INET, self->port));
	EXPECT_LT(MSS, get_int(self->fd, SOL_TCP, TCP_MAXSEG));
	/* Garbage. */
	close(self->fd);
	self->fd = taps_socket(SOCK_STREAM);
	ASSERT_LE(0, self->fd);
	EXPECT_EQ(-1, setsockopt(self->fd, SOL_TCP, TCP_NODELAY, NULL, sizeof(int)));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, setsockopt(self->fd, SOL_TCP, TCP_NODELAY, (void *)8, sizeof(int)));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, setsockopt(self->fd, SOL_TCP, TCP_NODELAY, &val, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, setsockopt(self->fd, SOL_TCP, TCP_NODELAY, &val, 2));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, setsockopt(self->fd, SOL_TCP, TCP_NODELAY, big, sizeof(big)));
	EXPECT_EQ(EINVAL, errno);
	/* Up to 256 bytes is taken, as TCP takes a long for an int. */
	EXPECT_EQ(0, setsockopt(self->fd, SOL_TCP, TCP_NODELAY, big, 256));
}

/* kTLS needs an established TCP connection: ENOTCONN as before. */
TEST_F(opt, tls_stays_enotconn)
{
	int val = 0;
	socklen_t len = sizeof(val);

	EXPECT_EQ(-1, set_int(self->fd, SOL_TLS, 1 /* TLS_TX */, 0));
	EXPECT_EQ(ENOTCONN, errno);
	EXPECT_EQ(-1, getsockopt(self->fd, SOL_TLS, 1, &val, &len));
	EXPECT_EQ(ENOTCONN, errno);
	EXPECT_EQ(-1, setsockopt(self->fd, SOL_TCP, TCP_ULP, "tls", 3));
	EXPECT_EQ(ENOTCONN, errno);
}

/* The same (level, optname) replaces its record; a failed set keeps it. */
TEST_F(opt, replace_record)
{
	char cc[16] = {};
	socklen_t len = sizeof(cc);

	ASSERT_EQ(0, setsockopt(self->fd, SOL_TCP, TCP_CONGESTION, "cubic", 5));
	ASSERT_EQ(0, setsockopt(self->fd, SOL_TCP, TCP_CONGESTION, "reno", 4));
	ASSERT_EQ(0, set_int(self->fd, SOL_TCP, TCP_MAXSEG, 1200));
	ASSERT_EQ(0, set_int(self->fd, SOL_TCP, TCP_MAXSEG, MSS));
	EXPECT_EQ(-1, set_int(self->fd, SOL_TCP, TCP_MAXSEG, 1));
	EXPECT_EQ(MSS, get_int(self->fd, SOL_TCP, TCP_MAXSEG));
	EXPECT_EQ(-1, setsockopt(self->fd, SOL_TCP, TCP_CONGESTION, "no-such-cc", 10));
	ASSERT_EQ(0, getsockopt(self->fd, SOL_TCP, TCP_CONGESTION, cc, &len));
	EXPECT_STREQ("reno", cc);

	ASSERT_EQ(0, taps_connect_to(self->fd, AF_INET, self->port));
	memset(cc, 0, sizeof(cc));
	len = sizeof(cc);
	ASSERT_EQ(0, getsockopt(self->fd, SOL_TCP, TCP_CONGESTION, cc, &len));
	EXPECT_STREQ("reno", cc);
	EXPECT_GE(MSS, get_int(self->fd, SOL_TCP, TCP_MAXSEG));
	/* Established: options go to the connection, no more records. */
	EXPECT_EQ(0, setsockopt(self->fd, SOL_TCP, TCP_CONGESTION, "cubic", 5));
	memset(cc, 0, sizeof(cc));
	len = sizeof(cc);
	ASSERT_EQ(0, getsockopt(self->fd, SOL_TCP, TCP_CONGESTION, cc, &len));
	EXPECT_STREQ("cubic", cc);
}

static const struct {
	int level, name, val;
} sixteen[] = {
	{ SOL_TCP, TCP_NODELAY, 1 },
	{ SOL_TCP, TCP_MAXSEG, MSS },
	{ SOL_TCP, TCP_KEEPIDLE, 30 },
	{ SOL_TCP, TCP_KEEPINTVL, 5 },
	{ SOL_TCP, TCP_KEEPCNT, 3 },
	{ SOL_TCP, TCP_SYNCNT, 3 },
	{ SOL_TCP, TCP_LINGER2, 10 },
	{ SOL_TCP, TCP_DEFER_ACCEPT, 1 },
	{ SOL_TCP, TCP_WINDOW_CLAMP, 65535 },
	{ SOL_TCP, TCP_QUICKACK, 1 },
	{ SOL_TCP, TCP_USER_TIMEOUT, 10000 },
	{ SOL_TCP, TCP_NOTSENT_LOWAT, 16384 },
	{ SOL_TCP, TCP_THIN_LINEAR_TIMEOUTS, 1 },
	{ SOL_TCP, TCP_INQ, 1 },
	{ SOL_IP, IP_TOS, TOS },
	{ SOL_IPV6, IPV6_TCLASS, TOS },
};

/* At most 16 records: the 17th option is ENOBUFS, a replacement is not. */
TEST_F(opt, bound_is_enobufs)
{
	unsigned int i;

	for (i = 0; i < sizeof(sixteen) / sizeof(sixteen[0]); i++)
		ASSERT_EQ(0, set_int(self->fd, sixteen[i].level, sixteen[i].name, sixteen[i].val))
			TH_LOG("option %u: %s", i, strerror(errno));
	EXPECT_EQ(-1, set_int(self->fd, SOL_IP, IP_TTL, 33));
	EXPECT_EQ(ENOBUFS, errno);
	EXPECT_EQ(-1, get_int(self->fd, SOL_IP, IP_TTL));
	EXPECT_EQ(ENOTCONN, errno);
	EXPECT_EQ(0, set_int(self->fd, SOL_TCP, TCP_KEEPCNT, 4));

	/* All sixteen go to the TCP attempt (SOL_IPV6 to IPv6 ones only). */
	ASSERT_EQ(0, taps_connect_to(self->fd, AF_INET, self->port))
		TH_LOG("connect: %s", strerror(errno));
	EXPECT_EQ(4, get_int(self->fd, SOL_TCP, TCP_KEEPCNT));
	EXPECT_EQ(16384, get_int(self->fd, SOL_TCP, TCP_NOTSENT_LOWAT));
	EXPECT_EQ(10000, get_int(self->fd, SOL_TCP, TCP_USER_TIMEOUT));
	EXPECT_EQ(TOS, get_int(self->fd, SOL_IP, IP_TOS));
}

/* SOL_IPV6 goes to IPv6 attempts only; SOL_IP to both. */
TEST_F(opt, ip_levels_by_family)
{
	int fd;

	ASSERT_EQ(0, set_int(self->fd, SOL_IPV6, IPV6_TCLASS, 0x20));
	ASSERT_EQ(0, set_int(self->fd, SOL_IP, IP_TOS, TOS));
	ASSERT_EQ(0, taps_connect_to(self->fd, AF_INET, self->port))
		TH_LOG("connect over IPv4: %s", strerror(errno));
	EXPECT_EQ(TOS, get_int(self->fd, SOL_IP, IP_TOS));

	fd = taps_socket(SOCK_STREAM);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, set_int(fd, SOL_IPV6, IPV6_TCLASS, 0x20));
	ASSERT_EQ(0, set_int(fd, SOL_IP, IP_TOS, TOS));
	ASSERT_EQ(0, taps_connect_to(fd, AF_INET6, self->port))
		TH_LOG("connect over IPv6: %s", strerror(errno));
	EXPECT_EQ(0x20, get_int(fd, SOL_IPV6, IPV6_TCLASS));
	close(fd);
}

/*
 * An option the attempt's protocol refuses fails that attempt with its
 * errno: 6.1's MPTCP has no TCP_MAXSEG.  MPTCP alone: connect() fails;
 * MPTCP preferred over TCP: TCP wins, with the option.
 */
TEST_F(opt, refused_option_fails_attempt)
{
	struct taps_info ti;
	int fd;

	if (!have_proto(IPPROTO_MPTCP))
		SKIP(return, "no MPTCP in this kernel");
	/* 6.1's MPTCP sets nothing at SOL_MPTCP: as on an MPTCP socket. */
	EXPECT_EQ(-1, set_int(self->fd, SOL_MPTCP, 1 /* MPTCP_INFO */, 1));
	EXPECT_EQ(ENOPROTOOPT, errno);
	ASSERT_EQ(0, set_int(self->fd, SOL_TCP, TCP_MAXSEG, MSS));
	ASSERT_EQ(0, set_int(self->fd, SOL_TAPS, TAPS_PROTOCOLS, TAPS_P_MPTCP));
	ASSERT_EQ(0, set_int(self->fd, SOL_TAPS, TAPS_SEL_MULTIPATH, TAPS_PREF_REQUIRE));
	EXPECT_EQ(-1, taps_connect_to(self->fd, AF_INET, self->port));
	EXPECT_EQ(ENOPROTOOPT, errno);
	ti = info_of(self->fd);
	EXPECT_EQ(TAPS_STATE_CLOSED, ti.ti_state);
	EXPECT_EQ(1, ti.ti_attempts);
	EXPECT_EQ(1, ti.ti_failed);

	fd = taps_socket(SOCK_STREAM);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, set_int(fd, SOL_TCP, TCP_MAXSEG, MSS));
	ASSERT_EQ(0, set_int(fd, SOL_TAPS, TAPS_PROTOCOLS, TAPS_P_MPTCP | TAPS_P_TCP));
	ASSERT_EQ(0, set_int(fd, SOL_TAPS, TAPS_SEL_MULTIPATH, TAPS_PREF_PREFER));
	ASSERT_EQ(0, taps_connect_to(fd, AF_INET, self->port))
		TH_LOG("connect: %s", strerror(errno));
	ti = info_of(fd);
	EXPECT_EQ(IPPROTO_TCP, ti.ti_protocol);
	EXPECT_EQ(2, ti.ti_attempts);
	EXPECT_EQ(1, ti.ti_failed);
	EXPECT_GE(MSS, get_int(fd, SOL_TCP, TCP_MAXSEG));
	close(fd);

	/* What MPTCP does take reaches it. */
	fd = taps_socket(SOCK_STREAM);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, set_int(fd, SOL_TCP, TCP_NODELAY, 1));
	ASSERT_EQ(0, set_int(fd, SOL_IP, IP_TOS, TOS));
	ASSERT_EQ(0, set_int(fd, SOL_TAPS, TAPS_PROTOCOLS, TAPS_P_MPTCP));
	ASSERT_EQ(0, set_int(fd, SOL_TAPS, TAPS_SEL_MULTIPATH, TAPS_PREF_REQUIRE));
	ASSERT_EQ(0, taps_connect_to(fd, AF_INET, self->port))
		TH_LOG("connect: %s", strerror(errno));
	EXPECT_EQ(IPPROTO_MPTCP, info_of(fd).ti_protocol);
	EXPECT_EQ(1, get_int(fd, SOL_TCP, TCP_NODELAY));
	EXPECT_EQ(TOS, get_int(fd, SOL_IP, IP_TOS));
	close(fd);
}

/* After a failed race the records stay, and more can be added. */
TEST_F(opt, records_survive_failed_race)
{
	int closed_port = self->port == 9 ? 10 : 9;

	ASSERT_EQ(0, set_int(self->fd, SOL_TCP, TCP_NODELAY, 1));
	EXPECT_EQ(-1, taps_connect_to(self->fd, AF_INET, closed_port));
	EXPECT_EQ(ECONNREFUSED, errno);
	EXPECT_EQ(1, get_int(self->fd, SOL_TCP, TCP_NODELAY));
	ASSERT_EQ(0, set_int(self->fd, SOL_TCP, TCP_USER_TIMEOUT, 1234));
	ASSERT_EQ(0, taps_connect_to(self->fd, AF_INET, self->port));
	EXPECT_EQ(1, get_int(self->fd, SOL_TCP, TCP_NODELAY));
	EXPECT_EQ(1234, get_int(self->fd, SOL_TCP, TCP_USER_TIMEOUT));
}

/* A Listener has its kernel listeners already: ENOTCONN, as before. */
TEST_F(opt, not_while_listening)
{
	struct sockaddr_taps st = { .stap_family = taps_family() };

	ASSERT_EQ(0, set_int(self->fd, SOL_TCP, TCP_NODELAY, 1));
	ASSERT_EQ(0, bind(self->fd, (void *)&st, sizeof(st)));
	ASSERT_EQ(0, listen(self->fd, 8));
	EXPECT_EQ(-1, set_int(self->fd, SOL_TCP, TCP_MAXSEG, MSS));
	EXPECT_EQ(ENOTCONN, errno);
	/* The record is still readable. */
	EXPECT_EQ(1, get_int(self->fd, SOL_TCP, TCP_NODELAY));
}

/* Closing sockets with records and no connection leaks nothing (kmemleak). */
TEST_F(opt, close_with_records)
{
	int i, j, fd;

	for (i = 0; i < 50; i++) {
		fd = taps_socket(SOCK_STREAM);
		ASSERT_LE(0, fd);
		for (j = 0; j <= i % 16; j++)
			ASSERT_EQ(0, set_int(fd, sixteen[j].level, sixteen[j].name,
					     sixteen[j].val));
		/* A replaced record and a failed one on top. */
		ASSERT_EQ(0, set_int(fd, SOL_TCP, TCP_NODELAY, 0));
		EXPECT_EQ(-1, set_int(fd, SOL_TCP, TCP_MAXSEG, 1));
		close(fd);
	}
}

/* Mean microseconds of setsockopt(TCP_NODELAY) on @fd, after a warm-up. */
static double nodelay_us(int fd, int n)
{
	struct timespec a, b;
	int i;

	for (i = 0; i < 50; i++)
		set_int(fd, SOL_TCP, TCP_NODELAY, i & 1);
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (i = 0; i < n; i++)
		if (set_int(fd, SOL_TCP, TCP_NODELAY, i & 1))
			return -1;
	clock_gettime(CLOCK_MONOTONIC, &b);
	return ((b.tv_sec - a.tv_sec) * 1e6 + (b.tv_nsec - a.tv_nsec) / 1e3) / n;
}

/* What a setsockopt() before connect() costs, against one on TCP. */
TEST_F(opt, record_cost)
{
	double taps_us, tcp_us;
	int fd;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	ASSERT_LE(0, fd);
	tcp_us = nodelay_us(fd, 1000);
	taps_us = nodelay_us(self->fd, 1000);
	close(fd);
	ASSERT_LT(0, tcp_us);
	ASSERT_LT(0, taps_us);
	fprintf(stderr, "# setsockopt(TCP_NODELAY): %.1f us recorded on AF_TAPS, %.1f us on TCP\n",
		taps_us, tcp_us);
	/* A check on a kernel socket, no connection: microseconds natively,
	 * generous for TCG and the debug kernel.
	 */
	EXPECT_GT(20000, taps_us);
}

/* SOL_SCTP options reach the SCTP attempt; SOL_TCP ones are not for it. */
TEST_F(opt, sctp_options_when_sctp_wins)
{
	struct sctp_initmsg im = { .sinit_num_ostreams = 3, .sinit_max_instreams = 3 };
	struct sctp_status st;
	socklen_t len = sizeof(st);
	int slfd, port, afd;

	if (!have_proto(IPPROTO_SCTP))
		SKIP(return, "no SCTP in this kernel");
	slfd = plain_listener(IPPROTO_SCTP, &port);
	ASSERT_LE(0, slfd);
	ASSERT_EQ(0, set_int(self->fd, SOL_TAPS, TAPS_PROTOCOLS, TAPS_P_SCTP));
	ASSERT_EQ(0, set_int(self->fd, SOL_SCTP, SCTP_NODELAY, 1));
	ASSERT_EQ(0, setsockopt(self->fd, SOL_SCTP, SCTP_INITMSG, &im, sizeof(im)));
	ASSERT_EQ(0, set_int(self->fd, SOL_TCP, TCP_MAXSEG, MSS));
	ASSERT_EQ(0, set_int(self->fd, SOL_IP, IP_TOS, TOS));
	EXPECT_EQ(-1, setsockopt(self->fd, SOL_SCTP, SCTP_INITMSG, &im, 2));
	EXPECT_EQ(EINVAL, errno);

	ASSERT_EQ(0, taps_connect_to(self->fd, AF_INET, port))
		TH_LOG("connect: %s", strerror(errno));
	EXPECT_EQ(IPPROTO_SCTP, info_of(self->fd).ti_protocol);
	EXPECT_EQ(1, get_int(self->fd, SOL_SCTP, SCTP_NODELAY));
	/* SCTP adds ECT(0) to the TOS it was given. */
	EXPECT_EQ(TOS, get_int(self->fd, SOL_IP, IP_TOS) & ~3);
	memset(&st, 0, sizeof(st));
	ASSERT_EQ(0, getsockopt(self->fd, SOL_SCTP, SCTP_STATUS, &st, &len));
	EXPECT_EQ(3, st.sstat_outstrms);
	EXPECT_EQ(3, st.sstat_instrms);

	afd = accept(slfd, NULL, NULL);
	ASSERT_LE(0, afd);
	memset(&st, 0, sizeof(st));
	len = sizeof(st);
	ASSERT_EQ(0, getsockopt(afd, SOL_SCTP, SCTP_STATUS, &st, &len));
	EXPECT_EQ(3, st.sstat_instrms);
	close(afd);
	close(slfd);
}

/* A Listener's records go to its kernel listeners, and so to what they accept. */
TEST_F(opt, listener_applies_records)
{
	struct sockaddr_taps st = { .stap_family = taps_family() };
	struct sockaddr_in6 sin6;
	socklen_t len = sizeof(sin6);
	struct sockaddr_storage ss;
	int cfd, afd;

	ASSERT_EQ(0, set_int(self->fd, SOL_TAPS, TAPS_PROTOCOLS, TAPS_P_TCP | TAPS_P_SCTP));
	ASSERT_EQ(0, set_int(self->fd, SOL_TCP, TCP_MAXSEG, MSS));
	ASSERT_EQ(0, set_int(self->fd, SOL_TCP, TCP_NODELAY, 1));
	ASSERT_EQ(0, set_int(self->fd, SOL_IP, IP_TOS, TOS));
	ASSERT_EQ(0, bind(self->fd, (void *)&st, sizeof(st)));
	ASSERT_EQ(0, listen(self->fd, 8)) TH_LOG("listen: %s", strerror(errno));
	ASSERT_EQ(0, getsockname(self->fd, (void *)&sin6, &len));

	/* A plain TCP client over IPv4, on the IPv6 wildcard listener. */
	cfd = socket(AF_INET, SOCK_STREAM, 0);
	ASSERT_LE(0, cfd);
	len = loopback(AF_INET, ntohs(sin6.sin6_port), &ss);
	ASSERT_EQ(0, connect(cfd, (void *)&ss, len));
	afd = accept(self->fd, NULL, NULL);
	ASSERT_LE(0, afd) TH_LOG("accept: %s", strerror(errno));
	EXPECT_EQ(IPPROTO_TCP, info_of(afd).ti_protocol);
	/* The SYN-ACK carried the listener's MSS. */
	EXPECT_GE(MSS, get_int(cfd, SOL_TCP, TCP_MAXSEG));
	EXPECT_EQ(1, get_int(afd, SOL_TCP, TCP_NODELAY));
	EXPECT_EQ(TOS, get_int(afd, SOL_IP, IP_TOS));
	close(afd);
	close(cfd);
}

TEST_HARNESS_MAIN
