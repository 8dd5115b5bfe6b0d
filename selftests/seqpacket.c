// SPDX-License-Identifier: GPL-2.0
/*
 * SOCK_SEQPACKET, the reliable message service: an AF_TAPS client against
 * a plain SCTP one-to-one server, a plain SCTP client against an AF_TAPS
 * listener (deployable on one side only) and AF_TAPS on both sides.  Each
 * send is one message; recvmsg() returns at most one, MSG_EOR on its last
 * part, and a short buffer gets the rest in the next call.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "taps_test.h"

#define BIG	65536
#define ECHO_BUF	(256 * 1024)

static const size_t sizes[] = { 1, 1000, BIG, 2, 1500, 1, 999 };
#define N_SIZES	(sizeof(sizes) / sizeof(sizes[0]))

static int netns_lo(void)
{
	if (unshare(CLONE_NEWNET))
		return -1;
	return system("ip link set lo up");
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

static struct sockaddr_in lo4(int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sin;
}

static int port_of(int fd)
{
	struct sockaddr_in6 sin6;
	socklen_t len = sizeof(sin6);

	if (getsockname(fd, (void *)&sin6, &len))
		return -1;
	return ntohs(sin6.sin6_port);
}

/* A plain listener of @proto on the IPv6 wildcard (both families). */
static int plain_listener(int proto, int *port)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
	int fd = socket(AF_INET6, SOCK_STREAM, proto);

	if (fd < 0)
		return -1;
	if (bind(fd, (void *)&sin6, sizeof(sin6)) || listen(fd, 16)) {
		close(fd);
		return -1;
	}
	*port = port_of(fd);
	return fd;
}

static void fill(char *p, size_t n, unsigned int seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (char)(seed * 31 + i * 7 + (i >> 8));
}

/* One message, as far as MSG_EOR; its length, or -1. */
static ssize_t recv_msg(int fd, char *buf, size_t cap, int *parts)
{
	size_t got = 0;

	*parts = 0;
	for (;;) {
		struct iovec iov = { buf + got, cap - got };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n = recvmsg(fd, &m, 0);

		if (n < 0 || (n == 0 && !(m.msg_flags & MSG_EOR)))
			return -1;
		got += n;
		(*parts)++;
		if (m.msg_flags & MSG_EOR)
			return got;
		if (got == cap)
			return -1;
	}
}

/* Echo each message back whole until EOF; for any stream-type fd. */
static void echo_loop(int fd)
{
	char *buf = malloc(ECHO_BUF);
	ssize_t n;
	int parts;

	while (buf && (n = recv_msg(fd, buf, ECHO_BUF, &parts)) > 0)
		if (send(fd, buf, n, 0) != n)
			break;
	free(buf);
}

/* A child that accepts one connection on @lfd and echoes it. */
static pid_t echo_server(int lfd)
{
	pid_t pid = fork();

	if (pid == 0) {
		int afd = accept(lfd, NULL, NULL);

		if (afd >= 0)
			echo_loop(afd);
		_exit(0);
	}
	return pid;
}

/* Send every size, then read every echo back: boundaries and bytes. */
static void exchange(struct __test_metadata *_metadata, int fd)
{
	char *out = malloc(BIG), *in = malloc(ECHO_BUF);
	unsigned int i;
	int parts;

	ASSERT_NE(NULL, out);
	ASSERT_NE(NULL, in);
	for (i = 0; i < N_SIZES; i++) {
		fill(out, sizes[i], i);
		ASSERT_EQ((ssize_t)sizes[i], send(fd, out, sizes[i], 0)) TH_LOG("send %zu: %s",
			sizes[i], strerror(errno));
	}
	for (i = 0; i < N_SIZES; i++) {
		ASSERT_EQ((ssize_t)sizes[i], recv_msg(fd, in, ECHO_BUF, &parts))
			TH_LOG("message %u", i);
		fill(out, sizes[i], i);
		EXPECT_EQ(0, memcmp(in, out, sizes[i])) TH_LOG("message %u", i);
		/* Small ones come whole; a big one may come in parts. */
		if (sizes[i] < 2000)
			EXPECT_EQ(1, parts) TH_LOG("message %u", i);
	}
	free(out);
	free(in);
}

/*
 * A message read in two parts split at @cut: the first part without
 * MSG_EOR (unless it is the whole message), the rest with it, and nothing
 * of the next message in either.
 */
static void split_read(struct __test_metadata *_metadata, int fd, size_t len, size_t cut,
		       unsigned int seed)
{
	char *want = malloc(len), *got = malloc(len + 16);
	struct iovec iov = { got, cut };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	size_t have;
	ssize_t n;

	ASSERT_NE(NULL, want);
	ASSERT_NE(NULL, got);
	fill(want, len, seed);
	n = recvmsg(fd, &m, MSG_WAITALL);
	ASSERT_EQ((ssize_t)cut, n) TH_LOG("len %zu cut %zu", len, cut);
	if (cut == len) {
		EXPECT_TRUE(m.msg_flags & MSG_EOR);
	} else {
		EXPECT_FALSE(m.msg_flags & MSG_EOR) TH_LOG("len %zu cut %zu", len, cut);
	}
	have = cut;
	while (!(m.msg_flags & MSG_EOR)) {
		iov.iov_base = got + have;
		iov.iov_len = len + 16 - have;
		m.msg_flags = 0;
		n = recvmsg(fd, &m, 0);
		ASSERT_LT(0, n);
		have += n;
		ASSERT_GE(len, have) TH_LOG("read past the boundary: %zu of %zu", have, len);
	}
	EXPECT_EQ(len, have);
	EXPECT_EQ(0, memcmp(want, got, len));
	free(want);
	free(got);
}

FIXTURE(sctp_srv)
{
	int lfd;
	int port;
	pid_t echo;
};

FIXTURE_SETUP(sctp_srv)
{
	ASSERT_EQ(0, netns_lo());
	self->lfd = plain_listener(IPPROTO_SCTP, &self->port);
	ASSERT_LE(0, self->lfd) TH_LOG("SCTP listener: %s", strerror(errno));
	self->echo = 0;
}

FIXTURE_TEARDOWN(sctp_srv)
{
	if (self->echo > 0) {
		kill(self->echo, SIGKILL);
		waitpid(self->echo, NULL, 0);
	}
	close(self->lfd);
}

TEST(defaults_and_options)
{
	int fd = taps_socket(SOCK_SEQPACKET), v;
	struct sockaddr_in sin = lo4(9);
	socklen_t len = sizeof(v);

	ASSERT_LE(0, fd) TH_LOG("socket: %s", strerror(errno));
	ASSERT_EQ(0, getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len));
	EXPECT_EQ(SOCK_SEQPACKET, v);
	len = sizeof(v);
	ASSERT_EQ(0, getsockopt(fd, SOL_TAPS, TAPS_PROTOCOLS, &v, &len));
	EXPECT_EQ(TAPS_P_SCTP, v);
	/* Byte streams cannot carry it: refused, and nothing changes. */
	v = TAPS_P_MPTCP;
	EXPECT_EQ(-1, setsockopt(fd, SOL_TAPS, TAPS_PROTOCOLS, &v, sizeof(v)));
	EXPECT_EQ(EINVAL, errno);
	v = TAPS_P_TCP;
	EXPECT_EQ(-1, setsockopt(fd, SOL_TAPS, TAPS_PROTOCOLS, &v, sizeof(v)));
	EXPECT_EQ(EINVAL, errno);
	v = TAPS_P_SCTP;
	EXPECT_EQ(0, setsockopt(fd, SOL_TAPS, TAPS_PROTOCOLS, &v, sizeof(v)));
	/* Not connected: what a plain SCTP one-to-one socket says. */
	EXPECT_EQ(-1, send(fd, "x", 1, 0));
	EXPECT_EQ(ENOTCONN, errno);
	close(fd);

	/* Multistreaming prohibited leaves no candidate. */
	ASSERT_EQ(0, netns_lo());
	fd = taps_socket(SOCK_SEQPACKET);
	ASSERT_LE(0, fd);
	v = TAPS_PREF_PROHIBIT;
	ASSERT_EQ(0, setsockopt(fd, SOL_TAPS, TAPS_SEL_MULTISTREAMING, &v, sizeof(v)));
	EXPECT_EQ(-1, connect(fd, (void *)&sin, sizeof(sin)));
	EXPECT_EQ(EPROTONOSUPPORT, errno);
	close(fd);
}

TEST_F(sctp_srv, plain_sctp_server)
{
	struct sockaddr_in sin = lo4(self->port);
	struct taps_info ti;
	int fd = taps_socket(SOCK_SEQPACKET);

	ASSERT_LE(0, fd);
	self->echo = echo_server(self->lfd);
	ASSERT_EQ(0, connect(fd, (void *)&sin, sizeof(sin))) TH_LOG("%s", strerror(errno));
	ti = info_of(fd);
	EXPECT_EQ(TAPS_STATE_ESTABLISHED, ti.ti_state);
	EXPECT_EQ(IPPROTO_SCTP, ti.ti_protocol);
	EXPECT_EQ(1, ti.ti_candidates);
	exchange(_metadata, fd);
	close(fd);
}

/* Partial reads at every boundary of 1-, 1000- and 65536-byte messages. */
TEST_F(sctp_srv, partial_reads)
{
	static const size_t lens[] = { 1, 1000, BIG };
	struct sockaddr_in sin = lo4(self->port);
	int fd = taps_socket(SOCK_SEQPACKET), afd;
	unsigned int i, k, seed = 0;
	char *buf = malloc(BIG);

	ASSERT_LE(0, fd);
	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, connect(fd, (void *)&sin, sizeof(sin)));
	afd = accept(self->lfd, NULL, NULL);
	ASSERT_LE(0, afd);
	for (i = 0; i < 3; i++) {
		const size_t cuts[] = { 1, lens[i] / 2, lens[i] - 1, lens[i] };

		for (k = 0; k < 4; k++, seed++) {
			if (!cuts[k])
				continue;
			/* The message, then one that must not run into it. */
			fill(buf, lens[i], seed);
			ASSERT_EQ((ssize_t)lens[i], send(afd, buf, lens[i], 0));
			ASSERT_EQ(1, send(afd, "z", 1, 0));
			split_read(_metadata, fd, lens[i], cuts[k], seed);
			memset(buf, 0, 2);
			ASSERT_EQ(1, recv(fd, buf, BIG, 0));
			EXPECT_EQ('z', buf[0]);
		}
	}
	/* And from us to the plain server: its reads see our boundaries. */
	for (i = 0; i < 3; i++) {
		struct iovec iov = { buf, 7 };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };

		fill(buf, lens[i], i);
		ASSERT_EQ((ssize_t)lens[i], send(fd, buf, lens[i], 0));
		ASSERT_EQ((ssize_t)(lens[i] < 7 ? lens[i] : 7), recvmsg(afd, &m, 0));
		EXPECT_EQ(lens[i] <= 7, !!(m.msg_flags & MSG_EOR));
		if (lens[i] > 7) {
			int parts;

			ASSERT_EQ((ssize_t)lens[i] - 7, recv_msg(afd, buf + 7, BIG, &parts));
		}
	}
	close(afd);
	close(fd);
	free(buf);
}

/* What SCTP refuses, refused alike: empty and oversized messages. */
TEST_F(sctp_srv, sctp_limits)
{
	struct sockaddr_in sin = lo4(self->port);
	int fd = taps_socket(SOCK_SEQPACKET), pfd, afd, e_taps, e_plain;
	size_t big = 1 << 20;
	char *buf = calloc(1, big);

	ASSERT_LE(0, fd);
	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, connect(fd, (void *)&sin, sizeof(sin)));
	afd = accept(self->lfd, NULL, NULL);
	ASSERT_LE(0, afd);
	pfd = socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP);
	ASSERT_LE(0, pfd);
	ASSERT_EQ(0, connect(pfd, (void *)&sin, sizeof(sin)));

	EXPECT_EQ(-1, send(fd, buf, 0, 0));
	e_taps = errno;
	EXPECT_EQ(-1, send(pfd, buf, 0, 0));
	e_plain = errno;
	EXPECT_EQ(EINVAL, e_taps);
	EXPECT_EQ(e_plain, e_taps);

	EXPECT_EQ(-1, send(fd, buf, big, 0));
	e_taps = errno;
	EXPECT_EQ(-1, send(pfd, buf, big, 0));
	e_plain = errno;
	EXPECT_EQ(EMSGSIZE, e_taps);
	EXPECT_EQ(e_plain, e_taps);
	close(pfd);
	close(afd);
	close(fd);
	free(buf);
}

/* A port with only TCP: no SCTP there, and TCP is no candidate. */
TEST(tcp_only_peer_refused)
{
	struct sockaddr_in sin;
	int lfd, port, fd;

	ASSERT_EQ(0, netns_lo());
	lfd = plain_listener(IPPROTO_TCP, &port);
	ASSERT_LE(0, lfd);
	sin = lo4(port);
	fd = taps_socket(SOCK_SEQPACKET);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, connect(fd, (void *)&sin, sizeof(sin)));
	EXPECT_EQ(ECONNREFUSED, errno);
	EXPECT_EQ(1, info_of(fd).ti_candidates);
	EXPECT_EQ(1, info_of(fd).ti_failed);
	close(fd);
	close(lfd);
}

FIXTURE(taps_lsn)
{
	int lfd;
	int port;
	pid_t echo;
};

FIXTURE_SETUP(taps_lsn)
{
	struct sockaddr_taps st = { .stap_family = taps_family() };

	ASSERT_EQ(0, netns_lo());
	self->lfd = taps_socket(SOCK_SEQPACKET);
	ASSERT_LE(0, self->lfd);
	ASSERT_EQ(0, bind(self->lfd, (void *)&st, sizeof(st)));
	ASSERT_EQ(0, listen(self->lfd, 16)) TH_LOG("listen: %s", strerror(errno));
	self->port = port_of(self->lfd);
	ASSERT_LT(0, self->port);
	self->echo = 0;
}

FIXTURE_TEARDOWN(taps_lsn)
{
	if (self->echo > 0) {
		kill(self->echo, SIGKILL);
		waitpid(self->echo, NULL, 0);
	}
	close(self->lfd);
}

/* A plain SCTP one-to-one client; TCP finds no listener. */
TEST_F(taps_lsn, plain_sctp_client)
{
	struct sockaddr_in sin = lo4(self->port);
	int fd, afd, type;
	socklen_t len = sizeof(type);

	fd = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, connect(fd, (void *)&sin, sizeof(sin)));
	EXPECT_EQ(ECONNREFUSED, errno);
	close(fd);

	fd = socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, connect(fd, (void *)&sin, sizeof(sin))) TH_LOG("%s", strerror(errno));
	afd = accept(self->lfd, NULL, NULL);
	ASSERT_LE(0, afd) TH_LOG("accept: %s", strerror(errno));
	ASSERT_EQ(0, getsockopt(afd, SOL_SOCKET, SO_TYPE, &type, &len));
	EXPECT_EQ(SOCK_SEQPACKET, type);
	EXPECT_EQ(IPPROTO_SCTP, info_of(afd).ti_protocol);
	self->echo = fork();
	if (self->echo == 0) {
		echo_loop(afd);
		_exit(0);
	}
	close(afd);
	exchange(_metadata, fd);
	close(fd);
}

TEST_F(taps_lsn, taps_both_sides)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(self->port),
				     .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	int fd = taps_socket(SOCK_SEQPACKET);

	ASSERT_LE(0, fd);
	self->echo = echo_server(self->lfd);
	ASSERT_EQ(0, connect(fd, (void *)&sin6, sizeof(sin6))) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(IPPROTO_SCTP, info_of(fd).ti_protocol);
	exchange(_metadata, fd);
	/* EOF after the peer closes: 0 without MSG_EOR. */
	kill(self->echo, SIGKILL);
	waitpid(self->echo, NULL, 0);
	self->echo = 0;
	close(self->lfd);
	self->lfd = -1;
	{
		char c;
		struct iovec iov = { &c, 1 };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };

		EXPECT_EQ(0, recvmsg(fd, &m, 0));
		EXPECT_FALSE(m.msg_flags & MSG_EOR);
	}
	close(fd);
}

/*
 * As nobody in the namespace: the SEQPACKET paths give what a plain SCTP
 * socket gives, no more: a privileged port, SO_RCVBUFFORCE, and a working
 * association.
 */
TEST_F(sctp_srv, as_nobody)
{
	pid_t pid;
	int status;

	self->echo = echo_server(self->lfd);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct sockaddr_in sin = lo4(self->port), low = lo4(80);
		int fd, pfd, v = 1 << 20, ok = 1;
		char buf[8];

		if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
		    setresuid(65534, 65534, 65534))
			_exit(10);
		fd = taps_socket(SOCK_SEQPACKET);
		pfd = socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP);
		if (fd < 0 || pfd < 0)
			_exit(11);
		/* EACCES for both: port 80 needs CAP_NET_BIND_SERVICE. */
		if (bind(fd, (void *)&low, sizeof(low)) != -1 || errno != EACCES)
			ok = 0;
		if (bind(pfd, (void *)&low, sizeof(low)) != -1 || errno != EACCES)
			_exit(12);
		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) != -1 ||
		    errno != EPERM)
			ok = 0;
		if (!ok)
			_exit(13);
		if (connect(fd, (void *)&sin, sizeof(sin)))
			_exit(14);
		if (send(fd, "nobody", 6, 0) != 6 || recv(fd, buf, sizeof(buf), 0) != 6 ||
		    memcmp(buf, "nobody", 6))
			_exit(15);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST_HARNESS_MAIN
