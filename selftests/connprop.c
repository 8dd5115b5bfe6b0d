// SPDX-License-Identifier: GPL-2.0
/*
 * Connection properties at SOL_TAPS (RFC 9622 section 8.1): set before
 * connect() they reach every attempt through the option records, set
 * after they reach the connection; each is checked in the protocol's own
 * state through the AF_TAPS fd (SOL_TCP, SOL_SCTP, SOL_IP getsockopt) and
 * on the peer, and the abort timeout is measured with netem dropping every
 * packet.  Each test runs in a private network namespace with lo up.
 */
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netinet/sctp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "taps_test.h"

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP	262
#endif

#define NOBODY		65534
/*
 * ms, the abort timeout measured: / 8 a whole number of jiffies at HZ 250,
 * and long enough that TCP's tail loss probe, which comes first and moves
 * the start of the user timeout by some 200 ms, stays well inside 20%.
 */
#define T_ABORT		4000

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

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

/* lo up without ip(8): also works as nobody in a new user namespace. */
static int lo_up(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd = socket(AF_INET, SOCK_DGRAM, 0), rc;

	if (fd < 0)
		return -1;
	rc = ioctl(fd, SIOCGIFFLAGS, &ifr);
	ifr.ifr_flags |= IFF_UP;
	if (!rc)
		rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
	close(fd);
	return rc;
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

static int connect_lo(int fd, int port)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};

	return connect(fd, (void *)&sin, sizeof(sin));
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

static int sysctl_int(const char *path)
{
	FILE *f = fopen(path, "r");
	int v = -1;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static struct sctp_rtoinfo rtoinfo_of(int fd)
{
	struct sctp_rtoinfo ri = {};
	socklen_t len = sizeof(ri);

	if (getsockopt(fd, SOL_SCTP, SCTP_RTOINFO, &ri, &len))
		ri.srto_max = 0;
	return ri;
}

/* The potentially-failed threshold of the association's paths. */
static int pfthld_of(int fd)
{
	struct sctp_paddrthlds th;
	socklen_t len = sizeof(th);

	memset(&th, 0, sizeof(th));
	if (getsockopt(fd, SOL_SCTP, SCTP_PEER_ADDR_THLDS, &th, &len))
		return -1;
	return th.spt_pathpfthld;
}

static int asocmaxrxt_of(int fd)
{
	struct sctp_assocparams ap = {};
	socklen_t len = sizeof(ap);

	if (getsockopt(fd, SOL_SCTP, SCTP_ASSOCINFO, &ap, &len))
		return -1;
	return ap.sasoc_asocmaxrxt;
}

static struct taps_properties query(int fd, socklen_t *len)
{
	struct taps_properties tp;
	socklen_t l = sizeof(tp);

	memset(&tp, 0xa5, sizeof(tp));
	if (getsockopt(fd, SOL_TAPS, TAPS_QUERY_PROPERTIES, &tp, len ?: &l))
		tp.tp_protocol = ~0u;
	return tp;
}

FIXTURE(prop)
{
	int fd;		/* an unconnected AF_TAPS socket */
	int lfd;	/* a plain TCP listener */
	int port;
};

FIXTURE_SETUP(prop)
{
	ASSERT_EQ(0, unshare(CLONE_NEWNET));
	ASSERT_EQ(0, lo_up());
	self->lfd = plain_listener(IPPROTO_TCP, &self->port);
	ASSERT_LE(0, self->lfd);
	self->fd = taps_socket(SOCK_STREAM);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, set_int(self->fd, SOL_TAPS, TAPS_PROTOCOLS, TAPS_P_TCP));
}

FIXTURE_TEARDOWN(prop)
{
	close(self->fd);
	close(self->lfd);
}

TEST_F(prop, defaults_and_errors)
{
	int fd = self->fd;
	char c = 1;

	EXPECT_EQ(0, get_int(fd, SOL_TAPS, TAPS_CONN_ABORT_TIMEOUT));
	EXPECT_EQ(TAPS_PRIORITY_DEFAULT, get_int(fd, SOL_TAPS, TAPS_CONN_PRIORITY));
	EXPECT_EQ(TAPS_PROFILE_DEFAULT, get_int(fd, SOL_TAPS, TAPS_CONN_CAPACITY_PROFILE));
	EXPECT_EQ(0, get_int(fd, SOL_TAPS, TAPS_CONN_SEND_LOWAT));

	EXPECT_EQ(-1, set_int(fd, SOL_TAPS, TAPS_CONN_ABORT_TIMEOUT, -1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, set_int(fd, SOL_TAPS, TAPS_CONN_ABORT_TIMEOUT, TAPS_ABORT_TIMEOUT_MAX + 1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, set_int(fd, SOL_TAPS, TAPS_CONN_PRIORITY, TAPS_PRIORITY_MAX + 1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, set_int(fd, SOL_TAPS, TAPS_CONN_CAPACITY_PROFILE,
			      TAPS_PROFILE_CAPACITY_SEEKING + 1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, set_int(fd, SOL_TAPS, TAPS_CONN_SEND_LOWAT, -1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, setsockopt(fd, SOL_TAPS, TAPS_CONN_PRIORITY, &c, 1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, setsockopt(fd, SOL_TAPS, TAPS_CONN_PRIORITY, (void *)8, sizeof(int)));
	EXPECT_EQ(EFAULT, errno);
	/* A failed call changes nothing. */
	EXPECT_EQ(0, get_int(fd, SOL_TAPS, TAPS_CONN_ABORT_TIMEOUT));
	EXPECT_EQ(-1, get_int(fd, SOL_TCP, TCP_USER_TIMEOUT));
	EXPECT_EQ(ENOTCONN, errno);
}

/* Before connect(): recorded, visible as the records, on the connection. */
TEST_F(prop, tcp_before_connect)
{
	int afd, one = 1;

	ASSERT_EQ(0, setsockopt(self->lfd, SOL_IP, IP_RECVTOS, &one, sizeof(one)));
	ASSERT_EQ(0, set_int(self->fd, SOL_TAPS, TAPS_CONN_ABORT_TIMEOUT, 3000));
	ASSERT_EQ(0, set_int(self->fd, SOL_TAPS, TAPS_CONN_CAPACITY_PROFILE,
			     TAPS_PROFILE_INTERACTIVE));
	ASSERT_EQ(0, set_int(self->fd, SOL_TAPS, TAPS_CONN_PRIORITY, 10));
	/* The records say what the attempts get. */
	EXPECT_EQ(3000, get_int(self->fd, SOL_TCP, TCP_USER_TIMEOUT));
	EXPECT_EQ(1, get_int(self->fd, SOL_TCP, TCP_NODELAY));

	ASSERT_EQ(0, connect_lo(self->fd, self->port)) TH_LOG("connect: %s", strerror(errno));
	afd = accept(self->lfd, NULL, NULL);
	ASSERT_LE(0, afd);
	EXPECT_EQ(IPPROTO_TCP, info_of(self->fd).ti_protocol);
	EXPECT_EQ(3000, get_int(self->fd, SOL_TCP, TCP_USER_TIMEOUT));
	EXPECT_EQ(1, get_int(self->fd, SOL_TCP, TCP_NODELAY));
	EXPECT_EQ(32 << 2, get_int(self->fd, SOL_IP, IP_TOS));		/* CS4 */
	EXPECT_EQ(16384, get_int(self->fd, SOL_TCP, TCP_NOTSENT_LOWAT));
	EXPECT_EQ(6, get_int(self->fd, SOL_SOCKET, SO_PRIORITY));	/* interactive */
	/* On the wire: the peer saw CS4. */
	EXPECT_EQ(32 << 2, received_tos(afd));
	EXPECT_EQ(3000, get_int(self->fd, SOL_TAPS, TAPS_CONN_ABORT_TIMEOUT));
	EXPECT_EQ(TAPS_PROFILE_INTERACTIVE,
		  get_int(self->fd, SOL_TAPS, TAPS_CONN_CAPACITY_PROFILE));
	close(afd);
}

/* After connect(): on the connection at once; Default undoes the profile. */
TEST_F(prop, tcp_after_connect)
{
	int fd = self->fd;

	ASSERT_EQ(0, connect_lo(fd, self->port)) TH_LOG("connect: %s", strerror(errno));
	EXPECT_EQ(0, get_int(fd, SOL_TCP, TCP_USER_TIMEOUT));
	ASSERT_EQ(0, set_int(fd, SOL_TAPS, TAPS_CONN_ABORT_TIMEOUT, 1234));
	EXPECT_EQ(1234, get_int(fd, SOL_TCP, TCP_USER_TIMEOUT));
	ASSERT_EQ(0, set_int(fd, SOL_TAPS, TAPS_CONN_CAPACITY_PROFILE, TAPS_PROFILE_SCAVENGER));
	EXPECT_EQ(1 << 2, get_int(fd, SOL_IP, IP_TOS));			/* LE */
	EXPECT_EQ(0, get_int(fd, SOL_TCP, TCP_NODELAY));
	ASSERT_EQ(0, set_int(fd, SOL_TAPS, TAPS_CONN_CAPACITY_PROFILE,
			     TAPS_PROFILE_LOW_LATENCY));
	EXPECT_EQ(18 << 2, get_int(fd, SOL_IP, IP_TOS));			/* AF21 */
	EXPECT_EQ(16384, get_int(fd, SOL_TCP, TCP_NOTSENT_LOWAT));
	/* The low-water mark set goes before the profile's. */
	ASSERT_EQ(0, set_int(fd, SOL_TAPS, TAPS_CONN_SEND_LOWAT, 5000));
	EXPECT_EQ(5000, get_int(fd, SOL_TCP, TCP_NOTSENT_LOWAT));
	ASSERT_EQ(0, set_int(fd, SOL_TAPS, TAPS_CONN_CAPACITY_PROFILE, TAPS_PROFILE_DEFAULT));
	EXPECT_EQ(0, get_int(fd, SOL_IP, IP_TOS));
	EXPECT_EQ(5000, get_int(fd, SOL_TCP, TCP_NOTSENT_LOWAT));
	ASSERT_EQ(0, set_int(fd, SOL_TAPS, TAPS_CONN_PRIORITY, 500));
	EXPECT_EQ(2, get_int(fd, SOL_SOCKET, SO_PRIORITY));		/* bulk */
	ASSERT_EQ(0, set_int(fd, SOL_TAPS, TAPS_CONN_ABORT_TIMEOUT, 0));
	EXPECT_EQ(0, get_int(fd, SOL_TCP, TCP_USER_TIMEOUT));
}

/*
 * The properties' records do not take the application's sixteen: with
 * every property set, sixteen options of its own still fit, and the
 * seventeenth is ENOBUFS.  A property and the option it maps to are one
 * record: the later wins.
 */
TEST_F(prop, records_bounded)
{
	static const int tcp_opts[] = {
		TCP_MAXSEG, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT, TCP_SYNCNT,
		TCP_LINGER2, TCP_DEFER_ACCEPT, TCP_WINDOW_CLAMP, TCP_QUICKACK,
		TCP_THIN_LINEAR_TIMEOUTS, TCP_INQ, TCP_NODELAY, TCP_USER_TIMEOUT,
	};
	unsigned int i;
	int n;

	for (n = 0; n < 1000; n++) {
		ASSERT_EQ(0, set_int(self->fd, SOL_TAPS, TAPS_CONN_ABORT_TIMEOUT, n * 10));
		ASSERT_EQ(0, set_int(self->fd, SOL_TAPS, TAPS_CONN_CAPACITY_PROFILE, n % 6));
		ASSERT_EQ(0, set_int(self->fd, SOL_TAPS, TAPS_CONN_SEND_LOWAT, n));
	}
	for (i = 0; i < sizeof(tcp_opts) / sizeof(tcp_opts[0]); i++) {
		/* 0/1 options (TCP_INQ, TCP_THIN_LINEAR_TIMEOUTS) take 1 only. */
		int rc = set_int(self->fd, SOL_TCP, tcp_opts[i], tcp_opts[i] == TCP_MAXSEG ?
				 1000 : tcp_opts[i] == TCP_WINDOW_CLAMP ? 65535 : 1);

		if (rc)
			TH_LOG("option %d: %s", tcp_opts[i], strerror(errno));
		ASSERT_EQ(0, rc);
	}
	ASSERT_EQ(0, set_int(self->fd, SOL_IP, IP_TTL, 33));
	ASSERT_EQ(0, set_int(self->fd, SOL_IP, IP_MINTTL, 1));
	ASSERT_EQ(0, set_int(self->fd, SOL_IPV6, IPV6_UNICAST_HOPS, 33));
	EXPECT_EQ(-1, set_int(self->fd, SOL_IP, IP_RECVTTL, 1));
	EXPECT_EQ(ENOBUFS, errno);
	/* Still settable: they replace records. */
	ASSERT_EQ(0, set_int(self->fd, SOL_TAPS, TAPS_CONN_ABORT_TIMEOUT, 4321));
	ASSERT_EQ(0, set_int(self->fd, SOL_TAPS, TAPS_CONN_CAPACITY_PROFILE,
			     TAPS_PROFILE_CAPACITY_SEEKING));

	ASSERT_EQ(0, connect_lo(self->fd, self->port)) TH_LOG("connect: %s", strerror(errno));
	EXPECT_EQ(4321, get_int(self->fd, SOL_TCP, TCP_USER_TIMEOUT));
	EXPECT_EQ(10 << 2, get_int(self->fd, SOL_IP, IP_TOS));		/* AF11 */
	EXPECT_EQ(0, get_int(self->fd, SOL_TCP, TCP_NODELAY));
	EXPECT_EQ(999, get_int(self->fd, SOL_TCP, TCP_NOTSENT_LOWAT));
	EXPECT_EQ(33, get_int(self->fd, SOL_IP, IP_TTL));
	EXPECT_EQ(1, get_int(self->fd, SOL_TCP, TCP_KEEPCNT));
}

/* A Listener takes them before listen(); not while establishing or listening. */
TEST_F(prop, listener_gets_them)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int lfd = taps_socket(SOCK_STREAM), cfd, afd;

	ASSERT_LE(0, lfd);
	ASSERT_EQ(0, set_int(lfd, SOL_TAPS, TAPS_PROTOCOLS, TAPS_P_TCP));
	ASSERT_EQ(0, set_int(lfd, SOL_TAPS, TAPS_CONN_ABORT_TIMEOUT, 2500));
	ASSERT_EQ(0, bind(lfd, (void *)&sin, sizeof(sin)));
	ASSERT_EQ(0, listen(lfd, 4));
	EXPECT_EQ(-1, set_int(lfd, SOL_TAPS, TAPS_CONN_ABORT_TIMEOUT, 1000));
	EXPECT_EQ(ENOTCONN, errno);
	ASSERT_EQ(0, getsockname(lfd, (void *)&sin, &len));
	cfd = socket(AF_INET, SOCK_STREAM, 0);
	ASSERT_LE(0, cfd);
	ASSERT_EQ(0, connect_lo(cfd, ntohs(sin.sin_port)));
	afd = accept(lfd, NULL, NULL);
	ASSERT_LE(0, afd);
	/* TCP hands the listener's user timeout to what it accepts. */
	EXPECT_EQ(2500, get_int(afd, SOL_TCP, TCP_USER_TIMEOUT));
	close(afd);
	close(cfd);
	close(lfd);
}

/* MPTCP in 6.1 has no TCP_USER_TIMEOUT: the attempt goes on without it. */
TEST_F(prop, mptcp_best_effort)
{
	if (!have_proto(IPPROTO_MPTCP))
		SKIP(return, "no MPTCP in this kernel");
	ASSERT_EQ(0, set_int(self->fd, SOL_TAPS, TAPS_PROTOCOLS, TAPS_P_MPTCP));
	ASSERT_EQ(0, set_int(self->fd, SOL_TAPS, TAPS_SEL_MULTIPATH, TAPS_PREF_REQUIRE));
	ASSERT_EQ(0, set_int(self->fd, SOL_TAPS, TAPS_CONN_ABORT_TIMEOUT, 3000));
	ASSERT_EQ(0, set_int(self->fd, SOL_TAPS, TAPS_CONN_CAPACITY_PROFILE,
			     TAPS_PROFILE_INTERACTIVE));
	ASSERT_EQ(0, connect_lo(self->fd, self->port)) TH_LOG("connect: %s", strerror(errno));
	EXPECT_EQ(IPPROTO_MPTCP, info_of(self->fd).ti_protocol);
	EXPECT_EQ(1, get_int(self->fd, SOL_TCP, TCP_NODELAY));
	EXPECT_EQ(32 << 2, get_int(self->fd, SOL_IP, IP_TOS));
	/* And after connect(): set, though MPTCP keeps its default. */
	EXPECT_EQ(0, set_int(self->fd, SOL_TAPS, TAPS_CONN_ABORT_TIMEOUT, 1000));
	EXPECT_EQ(1000, get_int(self->fd, SOL_TAPS, TAPS_CONN_ABORT_TIMEOUT));
}

/* SCTP: RTO.Max and Association.Max.Retrans from the abort timeout. */
TEST_F(prop, sctp_mapping)
{
	int slfd, port, afd, fd = self->fd, maxrxt;
	struct taps_properties tp;
	struct sctp_rtoinfo ri;

	if (!have_proto(IPPROTO_SCTP))
		SKIP(return, "no SCTP in this kernel");
	slfd = plain_listener(IPPROTO_SCTP, &port);
	ASSERT_LE(0, slfd);
	ASSERT_EQ(0, set_int(fd, SOL_TAPS, TAPS_PROTOCOLS, TAPS_P_SCTP));
	ASSERT_EQ(0, set_int(fd, SOL_TAPS, TAPS_CONN_ABORT_TIMEOUT, T_ABORT));
	ASSERT_EQ(0, set_int(fd, SOL_TAPS, TAPS_CONN_CAPACITY_PROFILE, TAPS_PROFILE_INTERACTIVE));
	ASSERT_EQ(0, connect_lo(fd, port)) TH_LOG("connect: %s", strerror(errno));
	EXPECT_EQ(IPPROTO_SCTP, info_of(fd).ti_protocol);

	/* T / 8 = 500 ms is below RTO.Min (1 s): 8 timeouts of 500 ms. */
	ri = rtoinfo_of(fd);
	EXPECT_EQ(T_ABORT / 8, ri.srto_max);
	EXPECT_EQ(T_ABORT / 8, ri.srto_min);
	EXPECT_EQ(7, asocmaxrxt_of(fd));
	EXPECT_EQ(65535, pfthld_of(fd));	/* no heartbeat every RTO */
	EXPECT_EQ(1, get_int(fd, SOL_SCTP, SCTP_NODELAY));
	EXPECT_EQ(32 << 2, get_int(fd, SOL_IP, IP_TOS) & ~3);

	/* 32 s: RTO.Max 4 s; 1+2+4x8 = 35 s at the 10th timeout: 9 before. */
	ASSERT_EQ(1000, sysctl_int("/proc/sys/net/sctp/rto_min"));
	ASSERT_EQ(0, set_int(fd, SOL_TAPS, TAPS_CONN_ABORT_TIMEOUT, 32000));
	ri = rtoinfo_of(fd);
	EXPECT_EQ(4000, ri.srto_max);
	EXPECT_EQ(1000, ri.srto_min);
	EXPECT_EQ(9, asocmaxrxt_of(fd));

	/* 0: the namespace's defaults again. */
	ASSERT_EQ(0, set_int(fd, SOL_TAPS, TAPS_CONN_ABORT_TIMEOUT, 0));
	ri = rtoinfo_of(fd);
	EXPECT_EQ(sysctl_int("/proc/sys/net/sctp/rto_max"), ri.srto_max);
	EXPECT_EQ(sysctl_int("/proc/sys/net/sctp/rto_min"), ri.srto_min);
	maxrxt = sysctl_int("/proc/sys/net/sctp/association_max_retrans");
	EXPECT_EQ(maxrxt, asocmaxrxt_of(fd));
	EXPECT_EQ(sysctl_int("/proc/sys/net/sctp/pf_retrans"), pfthld_of(fd));

	/* QUERY_PROPERTIES: SCTP's capabilities and its abort time in force. */
	ASSERT_EQ(0, set_int(fd, SOL_TAPS, TAPS_CONN_ABORT_TIMEOUT, T_ABORT));
	tp = query(fd, NULL);
	EXPECT_EQ(IPPROTO_SCTP, tp.tp_protocol);
	EXPECT_TRUE(tp.tp_caps & TAPS_CAP_MULTISTREAMING);
	EXPECT_TRUE(tp.tp_caps & TAPS_CAP_RELIABLE);
	EXPECT_FALSE(tp.tp_caps & TAPS_CAP_MULTIPATH);
	/* lo's 65536, less SCTP's 4-byte alignment */
	EXPECT_LT(65000, tp.tp_path_mtu);
	EXPECT_GE(65536, tp.tp_path_mtu);
	EXPECT_LT(1000, tp.tp_singular_max);
	EXPECT_GT(65536, tp.tp_singular_max);
	EXPECT_EQ(T_ABORT, tp.tp_user_timeout);

	afd = accept(slfd, NULL, NULL);
	ASSERT_LE(0, afd);
	close(afd);
	close(slfd);
}

/* QUERY_PROPERTIES: appendable; the properties, then the connection's. */
TEST_F(prop, query_properties)
{
	struct taps_properties tp;
	socklen_t len;
	char big[sizeof(tp) + 16];

	ASSERT_EQ(0, set_int(self->fd, SOL_TAPS, TAPS_CONN_ABORT_TIMEOUT, 4000));
	tp = query(self->fd, NULL);
	EXPECT_EQ(0, tp.tp_protocol);
	EXPECT_EQ(0, tp.tp_caps);
	EXPECT_EQ(0, tp.tp_path_mtu);
	EXPECT_EQ(4000, tp.tp_abort_timeout);
	EXPECT_EQ(TAPS_PRIORITY_DEFAULT, tp.tp_priority);
	EXPECT_EQ(0, tp.tp_user_timeout);

	ASSERT_EQ(0, connect_lo(self->fd, self->port)) TH_LOG("connect: %s", strerror(errno));
	tp = query(self->fd, NULL);
	EXPECT_EQ(IPPROTO_TCP, tp.tp_protocol);
	EXPECT_EQ(TAPS_CAP_RELIABLE | TAPS_CAP_ORDERED | TAPS_CAP_CONGESTION_CONTROL, tp.tp_caps);
	EXPECT_EQ(65535, tp.tp_path_mtu);		/* lo's 65536, IPv4's limit */
	EXPECT_EQ(0, tp.tp_singular_max);
	EXPECT_EQ(~0ULL, tp.tp_send_msg_max);
	EXPECT_EQ(~0ULL, tp.tp_recv_msg_max);
	EXPECT_EQ(0, tp.tp_zero_rtt_max);
	EXPECT_EQ(4000, tp.tp_user_timeout);
	/* The protocol's value in force, even when set at its own level. */
	ASSERT_EQ(0, set_int(self->fd, SOL_TCP, TCP_USER_TIMEOUT, 777));
	EXPECT_EQ(777, query(self->fd, NULL).tp_user_timeout);

	/* A short buffer gets the leading part, a long one the structure. */
	len = 8;
	memset(big, 0x5a, sizeof(big));
	ASSERT_EQ(0, getsockopt(self->fd, SOL_TAPS, TAPS_QUERY_PROPERTIES, big, &len));
	EXPECT_EQ(8, len);
	EXPECT_EQ(IPPROTO_TCP, *(unsigned int *)big);
	EXPECT_EQ(0x5a, big[8]);
	len = sizeof(big);
	ASSERT_EQ(0, getsockopt(self->fd, SOL_TAPS, TAPS_QUERY_PROPERTIES, big, &len));
	EXPECT_EQ(sizeof(tp), len);
	EXPECT_EQ(0x5a, big[sizeof(tp)]);
	len = 0;
	EXPECT_EQ(0, getsockopt(self->fd, SOL_TAPS, TAPS_QUERY_PROPERTIES, big, &len));
	EXPECT_EQ(0, len);
	len = -1;
	EXPECT_EQ(-1, getsockopt(self->fd, SOL_TAPS, TAPS_QUERY_PROPERTIES, big, &len));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, setsockopt(self->fd, SOL_TAPS, TAPS_QUERY_PROPERTIES, big, sizeof(int)));
	EXPECT_EQ(ENOPROTOOPT, errno);
}

/*
 * Drop every packet on lo, send a byte, and time until the connection
 * fails: within the abort timeout + 20%.  Returns the ms, or -1.
 */
static double time_abort(int fd, int *err)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	double t0;
	char c = 'x';

	if (system("tc qdisc add dev lo root netem loss 100%"))
		return -1;
	t0 = now_ms();
	if (send(fd, &c, 1, 0) != 1)
		return -1;
	if (poll(&pfd, 1, T_ABORT * 5) != 1)
		return -1;
	*err = recv(fd, &c, 1, MSG_DONTWAIT) < 0 ? errno : 0;
	return now_ms() - t0;
}

static void check_abort(struct __test_metadata *_metadata, int fd)
{
	double ms;
	char c = 'a';
	int err = -1;

	/* Some data first, acknowledged (SCTP delays its SACK by 200 ms). */
	ASSERT_EQ(1, send(fd, &c, 1, 0));
	usleep(500 * 1000);
	ms = time_abort(fd, &err);
	TH_LOG("aborted after %.0f ms (abort timeout %d ms), errno %d", ms, T_ABORT, err);
	ASSERT_LT(0, ms);
	EXPECT_LE(T_ABORT * 0.9, ms);
	EXPECT_GE(T_ABORT * 1.2, ms);
	EXPECT_EQ(ETIMEDOUT, err);
}

TEST_F(prop, abort_timeout_tcp_measured)
{
	ASSERT_EQ(0, set_int(self->fd, SOL_TAPS, TAPS_CONN_ABORT_TIMEOUT, T_ABORT));
	ASSERT_EQ(0, connect_lo(self->fd, self->port)) TH_LOG("connect: %s", strerror(errno));
	check_abort(_metadata, self->fd);
}

TEST_F(prop, abort_timeout_tcp_after_connect_measured)
{
	ASSERT_EQ(0, connect_lo(self->fd, self->port)) TH_LOG("connect: %s", strerror(errno));
	ASSERT_EQ(0, set_int(self->fd, SOL_TAPS, TAPS_CONN_ABORT_TIMEOUT, T_ABORT));
	check_abort(_metadata, self->fd);
}

TEST_F(prop, abort_timeout_sctp_measured)
{
	int slfd, port, afd;

	if (!have_proto(IPPROTO_SCTP))
		SKIP(return, "no SCTP in this kernel");
	slfd = plain_listener(IPPROTO_SCTP, &port);
	ASSERT_LE(0, slfd);
	ASSERT_EQ(0, set_int(self->fd, SOL_TAPS, TAPS_PROTOCOLS, TAPS_P_SCTP));
	ASSERT_EQ(0, set_int(self->fd, SOL_TAPS, TAPS_CONN_ABORT_TIMEOUT, T_ABORT));
	ASSERT_EQ(0, connect_lo(self->fd, port)) TH_LOG("connect: %s", strerror(errno));
	afd = accept(slfd, NULL, NULL);
	ASSERT_LE(0, afd);
	check_abort(_metadata, self->fd);
	close(afd);
	close(slfd);
}

/*
 * An unprivileged user in their own user and network namespace: every
 * property works, none gives more than a plain socket (SO_PRIORITY stays
 * within 0..6), bad values are EINVAL.
 */
TEST(nobody_in_own_namespaces)
{
	int status, port;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int lfd, fd, afd;

		if (setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) ||
		    setresuid(NOBODY, NOBODY, NOBODY))
			_exit(10);
		if (unshare(CLONE_NEWUSER | CLONE_NEWNET))
			_exit(errno == EPERM || errno == EINVAL ? 4 : 11);
		if (lo_up())
			_exit(12);
		lfd = plain_listener(IPPROTO_TCP, &port);
		fd = taps_socket(SOCK_STREAM);
		if (lfd < 0 || fd < 0)
			_exit(13);
		if (set_int(fd, SOL_TAPS, TAPS_CONN_PRIORITY, 0) ||
		    set_int(fd, SOL_TAPS, TAPS_CONN_ABORT_TIMEOUT, TAPS_ABORT_TIMEOUT_MAX) ||
		    set_int(fd, SOL_TAPS, TAPS_CONN_CAPACITY_PROFILE, TAPS_PROFILE_SCAVENGER) ||
		    set_int(fd, SOL_TAPS, TAPS_CONN_SEND_LOWAT, 0x7fffffff))
			_exit(14);
		if (set_int(fd, SOL_TAPS, TAPS_CONN_PRIORITY, -1) != -1 || errno != EINVAL)
			_exit(15);
		if (connect_lo(fd, port))
			_exit(16);
		afd = accept(lfd, NULL, NULL);
		if (afd < 0)
			_exit(17);
		if (get_int(fd, SOL_SOCKET, SO_PRIORITY) != 6 ||
		    get_int(fd, SOL_TCP, TCP_USER_TIMEOUT) != TAPS_ABORT_TIMEOUT_MAX ||
		    get_int(fd, SOL_IP, IP_TOS) != 4 ||
		    get_int(fd, SOL_TCP, TCP_NOTSENT_LOWAT) != 0x7fffffff)
			_exit(18);
		if (set_int(fd, SOL_TAPS, TAPS_CONN_PRIORITY, 1000) ||
		    get_int(fd, SOL_SOCKET, SO_PRIORITY) != 2)
			_exit(19);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	if (WEXITSTATUS(status) == 4)
		SKIP(return, "no unprivileged user namespaces");
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST_HARNESS_MAIN
