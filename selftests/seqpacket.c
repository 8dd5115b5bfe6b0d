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
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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

	while (buf && (n = recv_msg(fd, buf, ECHO_BUF, &parts)) >= 0)
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

/*
 * Send every size, then read every echo back: boundaries and bytes.
 * @empty: an empty message first (framed TCP carries one, SCTP cannot).
 */
static void exchange(struct __test_metadata *_metadata, int fd, bool empty)
{
	char *out = malloc(BIG), *in = malloc(ECHO_BUF);
	unsigned int i;
	int parts;

	ASSERT_NE(NULL, out);
	ASSERT_NE(NULL, in);
	if (empty) {
		ASSERT_EQ(0, send(fd, "", 0, 0));
		ASSERT_EQ(0, recv_msg(fd, in, ECHO_BUF, &parts));
		EXPECT_EQ(1, parts);
	}
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
	v = TAPS_P_TCP | TAPS_P_MPTCP;
	EXPECT_EQ(-1, setsockopt(fd, SOL_TAPS, TAPS_PROTOCOLS, &v, sizeof(v)));
	EXPECT_EQ(EINVAL, errno);
	len = sizeof(v);
	ASSERT_EQ(0, getsockopt(fd, SOL_TAPS, TAPS_PROTOCOLS, &v, &len));
	EXPECT_EQ(TAPS_P_SCTP, v);
	/* Framed TCP: only when the application allows it. */
	v = TAPS_P_TCP;
	EXPECT_EQ(0, setsockopt(fd, SOL_TAPS, TAPS_PROTOCOLS, &v, sizeof(v)));
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
	exchange(_metadata, fd, false);
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
	exchange(_metadata, fd, false);
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
	exchange(_metadata, fd, false);
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

/* ---- SOCK_SEQPACKET over framed TCP ---- */

static int set_protocols(int fd, int p)
{
	return setsockopt(fd, SOL_TAPS, TAPS_PROTOCOLS, &p, sizeof(p));
}

/* An AF_TAPS SOCK_SEQPACKET listener on loopback taking @protocols. */
static int taps_seq_listener(int protocols, int *port)
{
	struct sockaddr_taps st = { .stap_family = taps_family() };
	int fd = taps_socket(SOCK_SEQPACKET);

	if (fd < 0 || set_protocols(fd, protocols) ||
	    bind(fd, (void *)&st, sizeof(st)) || listen(fd, 16))
		return -1;
	*port = port_of(fd);
	return fd;
}

static int taps_seq_connect(int protocols, int port)
{
	struct sockaddr_in sin = lo4(port);
	int fd = taps_socket(SOCK_SEQPACKET);

	if (fd < 0 || set_protocols(fd, protocols) || connect(fd, (void *)&sin, sizeof(sin)))
		return -1;
	return fd;
}

static int plain_connect(int proto, int port)
{
	struct sockaddr_in sin = lo4(port);
	int fd = socket(AF_INET, SOCK_STREAM, proto);

	if (fd < 0 || connect(fd, (void *)&sin, sizeof(sin)))
		return -1;
	return fd;
}

static int read_all(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);

		if (n <= 0)
			return -1;
		got += n;
	}
	return 0;
}

/* Write @len bytes one at a time: every segmentation of the stream. */
static int write_bytewise(int fd, const void *buf, size_t len)
{
	int one = 1;
	size_t i;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	for (i = 0; i < len; i++)
		if (write(fd, (const char *)buf + i, 1) != 1)
			return -1;
	return 0;
}

FIXTURE(framed)
{
	int lfd;
	int port;
	pid_t echo;
};

FIXTURE_SETUP(framed)
{
	ASSERT_EQ(0, netns_lo());
	self->lfd = taps_seq_listener(TAPS_P_TCP, &self->port);
	ASSERT_LE(0, self->lfd) TH_LOG("listener: %s", strerror(errno));
	self->echo = 0;
}

FIXTURE_TEARDOWN(framed)
{
	if (self->echo > 0) {
		kill(self->echo, SIGKILL);
		waitpid(self->echo, NULL, 0);
	}
	close(self->lfd);
}

/* AF_TAPS on both sides over TCP: sizes 0, 1, 1000, 65536, interleaved. */
TEST_F(framed, taps_both_sides)
{
	struct taps_info ti;
	int fd, afd;

	self->echo = echo_server(self->lfd);
	fd = taps_seq_connect(TAPS_P_SCTP | TAPS_P_TCP, self->port);
	ASSERT_LE(0, fd) TH_LOG("connect: %s", strerror(errno));
	ti = info_of(fd);
	EXPECT_EQ(IPPROTO_TCP, ti.ti_protocol);
	/* SCTP first (refused: no SCTP listener), then TCP at once. */
	EXPECT_EQ(2, ti.ti_candidates);
	EXPECT_EQ(1, ti.ti_failed);
	EXPECT_EQ(1, ti.ti_winner);
	exchange(_metadata, fd, true);
	close(fd);

	/* The accepted side is framed too. */
	fd = taps_seq_connect(TAPS_P_TCP, self->port);
	ASSERT_LE(0, fd);
	kill(self->echo, SIGKILL);
	waitpid(self->echo, NULL, 0);
	self->echo = 0;
	afd = accept(self->lfd, NULL, NULL);
	ASSERT_LE(0, afd);
	EXPECT_EQ(IPPROTO_TCP, info_of(afd).ti_protocol);
	self->echo = fork();
	if (self->echo == 0) {
		echo_loop(afd);
		_exit(0);
	}
	close(afd);
	exchange(_metadata, fd, true);
	close(fd);
}

/* Partial reads at every boundary, as over SCTP. */
TEST_F(framed, partial_reads)
{
	static const size_t lens[] = { 1, 1000, BIG };
	unsigned int i, k, seed = 0;
	char *buf = malloc(BIG);
	int fd, afd;

	ASSERT_NE(NULL, buf);
	fd = taps_seq_connect(TAPS_P_TCP, self->port);
	ASSERT_LE(0, fd);
	afd = accept(self->lfd, NULL, NULL);
	ASSERT_LE(0, afd);
	for (i = 0; i < 3; i++) {
		const size_t cuts[] = { 1, lens[i] / 2, lens[i] - 1, lens[i] };

		for (k = 0; k < 4; k++, seed++) {
			if (!cuts[k])
				continue;
			fill(buf, lens[i], seed);
			ASSERT_EQ((ssize_t)lens[i], send(afd, buf, lens[i], 0));
			ASSERT_EQ(1, send(afd, "z", 1, 0));
			split_read(_metadata, fd, lens[i], cuts[k], seed);
			memset(buf, 0, 2);
			ASSERT_EQ(1, recv(fd, buf, BIG, 0));
			EXPECT_EQ('z', buf[0]);
		}
	}
	close(afd);
	close(fd);
	free(buf);
}

/* The bytes on the wire are Documentation/framing.md's, both ways. */
TEST_F(framed, wire_format)
{
	static const unsigned char two[] = { 0, 0, 0, 3, 'a', 'b', 'c', 0, 0, 0, 0,
					     0, 0, 0, 2, 'h', 'i' };
	unsigned char got[sizeof(two)];
	struct iovec iov;
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	char buf[16];
	int pfd, afd, fd;

	/* A plain TCP peer writing frames a byte at a time. */
	pfd = plain_connect(IPPROTO_TCP, self->port);
	ASSERT_LE(0, pfd);
	afd = accept(self->lfd, NULL, NULL);
	ASSERT_LE(0, afd);
	ASSERT_EQ(0, write_bytewise(pfd, two, sizeof(two)));
	iov = (struct iovec){ buf, sizeof(buf) };
	ASSERT_EQ(3, recvmsg(afd, &m, 0));
	EXPECT_TRUE(m.msg_flags & MSG_EOR);
	EXPECT_EQ(0, memcmp(buf, "abc", 3));
	m.msg_flags = 0;
	ASSERT_EQ(0, recvmsg(afd, &m, 0));
	EXPECT_TRUE(m.msg_flags & MSG_EOR);
	m.msg_flags = 0;
	ASSERT_EQ(2, recvmsg(afd, &m, 0));
	EXPECT_TRUE(m.msg_flags & MSG_EOR);
	/* And what AF_TAPS writes, read raw. */
	ASSERT_EQ(3, send(afd, "abc", 3, 0));
	ASSERT_EQ(0, send(afd, "", 0, 0));
	ASSERT_EQ(2, send(afd, "hi", 2, 0));
	ASSERT_EQ(0, read_all(pfd, got, sizeof(got)));
	EXPECT_EQ(0, memcmp(got, two, sizeof(two)));
	/* The end of the stream at a frame boundary: 0 without MSG_EOR. */
	close(pfd);
	m.msg_flags = 0;
	EXPECT_EQ(0, recvmsg(afd, &m, 0));
	EXPECT_FALSE(m.msg_flags & MSG_EOR);
	close(afd);

	/* Things a framed socket refuses. */
	fd = taps_seq_connect(TAPS_P_TCP, self->port);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, recv(fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT));
	EXPECT_EQ(EOPNOTSUPP, errno);
	EXPECT_EQ(-1, setsockopt(fd, IPPROTO_TCP, TCP_ULP, "tls", 3));
	EXPECT_EQ(EOPNOTSUPP, errno);
	close(fd);
}

/* A length above TAPS_FRAME_MAX_LEN: EMSGSIZE, nothing delivered, RST. */
TEST_F(framed, malicious_length)
{
	static const unsigned char hdrs[][4] = {
		{ 0xff, 0xff, 0xff, 0xff }, { 0x01, 0x00, 0x00, 0x01 },
	};
	size_t big = TAPS_FRAME_MAX_LEN + 1;
	unsigned int i;
	char buf[64], *p;
	int pfd, afd;

	for (i = 0; i < 2; i++) {
		pfd = plain_connect(IPPROTO_TCP, self->port);
		ASSERT_LE(0, pfd);
		afd = accept(self->lfd, NULL, NULL);
		ASSERT_LE(0, afd);
		ASSERT_EQ(4, write(pfd, hdrs[i], 4));
		ASSERT_EQ(8, write(pfd, "whatever", 8));
		EXPECT_EQ(-1, recv(afd, buf, sizeof(buf), 0));
		EXPECT_EQ(EMSGSIZE, errno);
		/* It stays broken, and the peer was reset. */
		EXPECT_EQ(-1, recv(afd, buf, sizeof(buf), 0));
		EXPECT_EQ(EMSGSIZE, errno);
		EXPECT_EQ(-1, recv(pfd, buf, sizeof(buf), 0));
		EXPECT_EQ(ECONNRESET, errno);
		close(afd);
		close(pfd);
	}
	/* The sender refuses one too, before writing anything. */
	afd = taps_seq_connect(TAPS_P_TCP, self->port);
	ASSERT_LE(0, afd);
	pfd = accept(self->lfd, NULL, NULL);
	ASSERT_LE(0, pfd);
	p = malloc(big);
	ASSERT_NE(NULL, p);
	memset(p, 0, big);
	EXPECT_EQ(-1, send(afd, p, big, 0));
	EXPECT_EQ(EMSGSIZE, errno);
	free(p);
	ASSERT_EQ(2, send(afd, "ok", 2, 0));
	EXPECT_EQ(2, recv(pfd, buf, sizeof(buf), 0));
	close(afd);
	close(pfd);
}

/* The stream ending inside a frame: what came is delivered, then EPROTO. */
TEST_F(framed, end_inside_frame)
{
	static const unsigned char part[] = { 0, 0, 0, 10, 'a', 'b', 'c' };
	struct iovec iov;
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	char buf[16];
	int pfd, afd;

	pfd = plain_connect(IPPROTO_TCP, self->port);
	ASSERT_LE(0, pfd);
	afd = accept(self->lfd, NULL, NULL);
	ASSERT_LE(0, afd);
	ASSERT_EQ((ssize_t)sizeof(part), write(pfd, part, sizeof(part)));
	close(pfd);
	iov = (struct iovec){ buf, sizeof(buf) };
	ASSERT_EQ(3, recvmsg(afd, &m, 0));
	EXPECT_FALSE(m.msg_flags & MSG_EOR);
	EXPECT_EQ(-1, recv(afd, buf, sizeof(buf), 0));
	EXPECT_EQ(EPROTO, errno);
	close(afd);

	/* Inside the header. */
	pfd = plain_connect(IPPROTO_TCP, self->port);
	ASSERT_LE(0, pfd);
	afd = accept(self->lfd, NULL, NULL);
	ASSERT_LE(0, afd);
	ASSERT_EQ(2, write(pfd, part, 2));
	close(pfd);
	EXPECT_EQ(-1, recv(afd, buf, sizeof(buf), 0));
	EXPECT_EQ(EPROTO, errno);
	close(afd);
}

/*
 * Non-blocking reads: poll says POLLIN only when a message (or a part
 * worth delivering) is there, and recv agrees, so nothing spins.
 */
TEST_F(framed, nonblocking_read)
{
	unsigned char msg[4 + 1000];
	struct pollfd p;
	char buf[2000];
	int pfd, afd;

	pfd = plain_connect(IPPROTO_TCP, self->port);
	ASSERT_LE(0, pfd);
	afd = accept(self->lfd, NULL, NULL);
	ASSERT_LE(0, afd);
	msg[0] = 0;
	msg[1] = 0;
	msg[2] = 1000 >> 8;
	msg[3] = 1000 & 0xff;
	fill((char *)msg + 4, 1000, 7);
	p = (struct pollfd){ .fd = afd, .events = POLLIN };
	EXPECT_EQ(0, poll(&p, 1, 100));
	ASSERT_EQ(2, write(pfd, msg, 2));
	EXPECT_EQ(0, poll(&p, 1, 100)) TH_LOG("half a header is not readable");
	EXPECT_EQ(-1, recv(afd, buf, sizeof(buf), MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
	ASSERT_EQ(502, write(pfd, msg + 2, 502));
	usleep(50000);
	EXPECT_EQ(-1, recv(afd, buf, sizeof(buf), MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(0, poll(&p, 1, 100)) TH_LOG("half a message is not readable");
	ASSERT_EQ(500, write(pfd, msg + 504, 500));
	EXPECT_EQ(1, poll(&p, 1, 2000));
	EXPECT_EQ(1000, recv(afd, buf, sizeof(buf), MSG_DONTWAIT));
	EXPECT_EQ(0, memcmp(buf, msg + 4, 1000));
	EXPECT_EQ(0, poll(&p, 1, 0));
	close(afd);
	close(pfd);
}

/*
 * A blocking reader waiting for the last bytes of a message, fewer than
 * what poll's readiness asks of TCP: the arrival still wakes it.
 */
TEST_F(framed, blocking_read_tail)
{
	size_t len = 50000;
	unsigned char *msg = malloc(4 + len);
	char *buf = malloc(len);
	struct timeval tv = { .tv_sec = 5 };
	struct iovec iov;
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	int pfd, afd;
	pid_t pid;

	ASSERT_NE(NULL, msg);
	ASSERT_NE(NULL, buf);
	pfd = plain_connect(IPPROTO_TCP, self->port);
	ASSERT_LE(0, pfd);
	afd = accept(self->lfd, NULL, NULL);
	ASSERT_LE(0, afd);
	ASSERT_EQ(0, setsockopt(afd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	msg[0] = 0;
	msg[1] = len >> 16;
	msg[2] = (len >> 8) & 0xff;
	msg[3] = len & 0xff;
	fill((char *)msg + 4, len, 3);
	/* A non-blocking look first: the need for poll is set. */
	EXPECT_EQ(-1, recv(afd, buf, len, MSG_DONTWAIT));
	ASSERT_EQ((ssize_t)(4 + len - 1000), write(pfd, msg, 4 + len - 1000));
	pid = fork();
	if (pid == 0) {
		usleep(300000);
		_exit(write(pfd, msg + 4 + len - 1000, 1000) == 1000 ? 0 : 1);
	}
	iov = (struct iovec){ buf, len };
	EXPECT_EQ((ssize_t)len, recvmsg(afd, &m, 0)) TH_LOG("%s", strerror(errno));
	EXPECT_TRUE(m.msg_flags & MSG_EOR);
	EXPECT_EQ(0, memcmp(buf, msg + 4, len));
	waitpid(pid, NULL, 0);
	close(afd);
	close(pfd);
	free(msg);
	free(buf);
}

/*
 * Non-blocking sends to a peer that does not read: each send is a whole
 * message or EAGAIN; what was accepted arrives whole once the peer reads,
 * and POLLOUT is not reported while the kernel keeps part of one.
 */
TEST_F(framed, nonblocking_send_atomic)
{
	size_t len = 100000;
	char *out = malloc(len), *in = malloc(len);
	int fd, afd, sent = 0, i, parts;
	struct pollfd p;

	ASSERT_NE(NULL, out);
	ASSERT_NE(NULL, in);
	fd = taps_seq_connect(TAPS_P_TCP, self->port);
	ASSERT_LE(0, fd);
	afd = accept(self->lfd, NULL, NULL);
	ASSERT_LE(0, afd);
	for (i = 0; i < 1000; i++) {
		fill(out, len, i);
		if (send(fd, out, len, MSG_DONTWAIT) < 0) {
			ASSERT_EQ(EAGAIN, errno);
			break;
		}
		ASSERT_LT(sent, 999);
		sent++;
	}
	ASSERT_LT(0, sent);
	p = (struct pollfd){ .fd = fd, .events = POLLOUT };
	EXPECT_EQ(0, poll(&p, 1, 0));
	for (i = 0; i < sent; i++) {
		ASSERT_EQ((ssize_t)len, recv_msg(afd, in, len, &parts)) TH_LOG("message %d", i);
		fill(out, len, i);
		ASSERT_EQ(0, memcmp(in, out, len)) TH_LOG("message %d", i);
	}
	/* All written out: writable again, and the next one goes. */
	EXPECT_EQ(1, poll(&p, 1, 2000));
	ASSERT_EQ(3, send(fd, "end", 3, MSG_DONTWAIT));
	ASSERT_EQ(3, recv_msg(afd, in, len, &parts));
	close(afd);
	close(fd);
	free(out);
	free(in);
}

/* A socket of @family/@proto with SO_SNDBUF @v, connected to port @port. */
static int sndbuf_connect(int family, int proto, int protocols, int v, int port)
{
	struct sockaddr_in sin = lo4(port);
	int fd = family == AF_INET ? socket(AF_INET, SOCK_STREAM, proto) :
		 taps_socket(SOCK_SEQPACKET);

	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v)) ||
	    (protocols && set_protocols(fd, protocols)) ||
	    connect(fd, (void *)&sin, sizeof(sin)))
		return -1;
	return fd;
}

/*
 * A message longer than the send buffer: EMSGSIZE over framed TCP as over
 * plain SCTP, with the same SO_SNDBUF; one that fits goes on both.
 */
TEST_F(framed, longer_than_sndbuf)
{
	int fd, afd, sfd, slfd, sport, safd, sndbuf;
	socklen_t sl = sizeof(sndbuf);
	size_t big = 40000, fits = 30000;
	char *buf = calloc(2, fits);
	int parts;

	ASSERT_NE(NULL, buf);
	fd = sndbuf_connect(0, 0, TAPS_P_TCP, 16384, self->port);
	ASSERT_LE(0, fd);
	afd = accept(self->lfd, NULL, NULL);
	ASSERT_LE(0, afd);
	ASSERT_EQ(IPPROTO_TCP, info_of(fd).ti_protocol);
	ASSERT_EQ(0, getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &sl));
	EXPECT_EQ(32768, sndbuf);
	slfd = plain_listener(IPPROTO_SCTP, &sport);
	ASSERT_LE(0, slfd);
	sfd = sndbuf_connect(AF_INET, IPPROTO_SCTP, 0, 16384, sport);
	ASSERT_LE(0, sfd);
	safd = accept(slfd, NULL, NULL);
	ASSERT_LE(0, safd);

	EXPECT_EQ(-1, send(fd, buf, big, 0));
	EXPECT_EQ(EMSGSIZE, errno);
	EXPECT_EQ(-1, send(fd, buf, big, MSG_DONTWAIT));
	EXPECT_EQ(EMSGSIZE, errno);
	EXPECT_EQ(-1, send(sfd, buf, big, 0));
	EXPECT_EQ(EMSGSIZE, errno);
	/* Nothing of it went: the next message is the first the peer sees. */
	fill(buf, fits, 7);
	EXPECT_EQ((ssize_t)fits, send(fd, buf, fits, 0));
	EXPECT_EQ((ssize_t)fits, send(sfd, buf, fits, 0));
	memset(buf, 0, 2 * fits);
	EXPECT_EQ((ssize_t)fits, recv_msg(afd, buf, fits, &parts));
	EXPECT_EQ((ssize_t)fits, recv_msg(safd, buf + fits, fits, &parts));
	EXPECT_EQ(0, memcmp(buf, buf + fits, fits));
	fill(buf + fits, fits, 7);
	EXPECT_EQ(0, memcmp(buf, buf + fits, fits));
	close(safd);
	close(sfd);
	close(slfd);
	close(afd);
	close(fd);
	free(buf);
}

/*
 * As nobody, non-blocking, to a peer that does not read: the kernel keeps
 * no more than the send buffer allows.  A message longer than it fails
 * (before: a part went and the kernel kept up to 16 MiB of the rest);
 * short ones go until EAGAIN, after which POLLOUT stays off and sends keep
 * failing, and all that was accepted (the sender's queue, the peer's
 * receive queue, at most one kept message) stays within the two buffers.
 * Once the peer reads, every accepted byte arrives and POLLOUT returns.
 */
TEST_F(framed, nonblocking_send_bounded)
{
	int plfd, pport, pfd, status, v = 16384, pp[2];
	size_t msg = 8000, accepted = 0, i;
	pid_t pid;
	char *in;

	in = malloc(msg);
	ASSERT_NE(NULL, in);
	plfd = plain_listener(IPPROTO_TCP, &pport);
	ASSERT_LE(0, plfd);
	/* Inherited by the accepted socket: the peer's queue is bounded. */
	ASSERT_EQ(0, setsockopt(plfd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)));
	ASSERT_EQ(0, pipe(pp));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* The sender's queue (sndbuf 32768), the peer's (rcvbuf
		 * 32768, with TCP's slack: as much again), one kept message.
		 */
		size_t big = 4 << 20, sent = 0, bound = 3 * 32768 + msg;
		char *buf = calloc(1, big);
		struct pollfd p;
		int fd, k;

		close(pp[0]);
		if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
		    setresuid(65534, 65534, 65534) || !buf)
			_exit(10);
		fd = sndbuf_connect(0, 0, TAPS_P_TCP, 16384, pport);
		if (fd < 0)
			_exit(11);
		if (send(fd, buf, big, MSG_DONTWAIT) != -1 || errno != EMSGSIZE)
			_exit(12);
		for (k = 0; k < 1000; k++) {
			fill(buf, msg, k);
			if (send(fd, buf, msg, MSG_DONTWAIT) < 0)
				break;
			sent += msg;
		}
		if (k == 1000 || errno != EAGAIN)
			_exit(13);
		if (sent > bound)
			_exit(14);
		/* Consistent: not writable, and a send still says EAGAIN. */
		p = (struct pollfd){ .fd = fd, .events = POLLOUT };
		for (k = 0; k < 50; k++) {
			if (poll(&p, 1, 0) != 0)
				_exit(15);
			if (send(fd, buf, msg, MSG_DONTWAIT) != -1 || errno != EAGAIN)
				_exit(16);
		}
		if (write(pp[1], &sent, sizeof(sent)) != sizeof(sent))
			_exit(17);
		/* The peer reads: writable again, and the next message goes. */
		if (poll(&p, 1, 10000) != 1)
			_exit(18);
		if (send(fd, "end", 3, MSG_DONTWAIT) != 3)
			_exit(19);
		close(fd);
		_exit(0);
	}
	close(pp[1]);
	pfd = accept(plfd, NULL, NULL);
	ASSERT_LE(0, pfd);
	ASSERT_EQ(sizeof(accepted), read(pp[0], &accepted, sizeof(accepted)));
	close(pp[0]);
	TH_LOG("accepted %zu bytes before EAGAIN", accepted);
	/* Every accepted message arrives whole, in its frame. */
	for (i = 0; i < accepted / msg; i++) {
		char out[8000];
		uint32_t hdr;

		ASSERT_EQ(0, read_all(pfd, &hdr, sizeof(hdr)));
		ASSERT_EQ(msg, ntohl(hdr));
		ASSERT_EQ(0, read_all(pfd, in, msg));
		fill(out, msg, i);
		ASSERT_EQ(0, memcmp(in, out, msg)) TH_LOG("message %zu", i);
	}
	ASSERT_EQ(0, read_all(pfd, in, 7));
	EXPECT_EQ(0, memcmp(in, "\0\0\0\3end", 7));
	EXPECT_EQ(0, read(pfd, in, 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	free(in);
	close(pfd);
	close(plfd);
}

/* SCTP dropped on the path: framed TCP wins and boundaries still hold. */
TEST(framed_sctp_blocked)
{
	int lfd, port, fd;
	struct taps_info ti;
	pid_t echo;

	ASSERT_EQ(0, netns_lo());
	ASSERT_EQ(0, system("nft add table inet tb && nft add chain inet tb out "
			    "'{ type filter hook output priority 0; }' && "
			    "nft add rule inet tb out meta l4proto sctp drop"));
	lfd = taps_seq_listener(TAPS_P_SCTP | TAPS_P_TCP, &port);
	ASSERT_LE(0, lfd);
	echo = echo_server(lfd);
	fd = taps_seq_connect(TAPS_P_SCTP | TAPS_P_TCP, port);
	ASSERT_LE(0, fd) TH_LOG("connect: %s", strerror(errno));
	ti = info_of(fd);
	EXPECT_EQ(IPPROTO_TCP, ti.ti_protocol);
	EXPECT_EQ(2, ti.ti_attempts);
	EXPECT_EQ(1, ti.ti_winner);
	/* TCP started after the attempt delay, not at once. */
	EXPECT_LE(200000, ti.ti_connect_us);
	exchange(_metadata, fd, true);
	close(fd);
	kill(echo, SIGKILL);
	waitpid(echo, NULL, 0);
	close(lfd);
}

/* Framed TCP as nobody: works, and the listener on a low port does not. */
TEST(framed_as_nobody)
{
	int lfd, port, status;
	pid_t echo, pid;

	ASSERT_EQ(0, netns_lo());
	lfd = taps_seq_listener(TAPS_P_TCP, &port);
	ASSERT_LE(0, lfd);
	echo = echo_server(lfd);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct sockaddr_in low = lo4(81);
		char buf[8];
		int fd;

		if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
		    setresuid(65534, 65534, 65534))
			_exit(10);
		fd = taps_socket(SOCK_SEQPACKET);
		if (fd < 0 || set_protocols(fd, TAPS_P_TCP))
			_exit(11);
		if (bind(fd, (void *)&low, sizeof(low)) != -1 || errno != EACCES)
			_exit(12);
		close(fd);
		fd = taps_seq_connect(TAPS_P_TCP, port);
		if (fd < 0)
			_exit(13);
		if (send(fd, "nobody", 6, 0) != 6 || recv(fd, buf, sizeof(buf), 0) != 6 ||
		    memcmp(buf, "nobody", 6))
			_exit(14);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	kill(echo, SIGKILL);
	waitpid(echo, NULL, 0);
	close(lfd);
}
/* The cached state of a SOCK_SEQPACKET race: TCP won, so it goes first. */
TEST_F(framed, cache_orders_next_race)
{
	struct taps_info ti;
	int fd, afd;

	fd = taps_seq_connect(TAPS_P_SCTP | TAPS_P_TCP, self->port);
	ASSERT_LE(0, fd);
	EXPECT_EQ(1, info_of(fd).ti_failed);
	afd = accept(self->lfd, NULL, NULL);
	close(afd);
	close(fd);
	fd = taps_seq_connect(TAPS_P_SCTP | TAPS_P_TCP, self->port);
	ASSERT_LE(0, fd);
	ti = info_of(fd);
	EXPECT_EQ(IPPROTO_TCP, ti.ti_protocol);
	EXPECT_EQ(0, ti.ti_failed);
	EXPECT_EQ(0, ti.ti_winner);
	EXPECT_TRUE(ti.ti_flags & TAPS_INFO_F_CACHED);
	afd = accept(self->lfd, NULL, NULL);
	close(afd);
	close(fd);
}

/* build/tools/NAME, beside build/selftests. */
static void tool_path(char *buf, size_t len, const char *name)
{
	char self[512];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	self[n > 0 ? n : 0] = 0;
	slash = strrchr(self, '/');
	if (slash)
		*slash = 0;
	snprintf(buf, len, "%s/../tools/%s", self, name);
}

/* taps-cat with its stdin and stdout on pipes; its pid. */
static pid_t taps_cat(char *const argv[], int *in, int *out)
{
	int pi[2], po[2];
	pid_t pid;

	if (pipe(pi) || pipe(po))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(pi[0], 0);
		dup2(po[1], 1);
		close(pi[1]);
		close(po[0]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(pi[0]);
	close(po[1]);
	*in = pi[1];
	*out = po[0];
	return pid;
}

/* Two messages each way with libtaps' length-prefix framer (taps-cat). */
static void lp_dialogue(struct __test_metadata *_metadata, int fd, int in, int out)
{
	char buf[64];
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	size_t got = 0;
	ssize_t n;

	ASSERT_EQ(12, write(in, "hello\nworld\n", 12));
	ASSERT_EQ(5, recvmsg(fd, &m, 0));
	EXPECT_TRUE(m.msg_flags & MSG_EOR);
	EXPECT_EQ(0, memcmp(buf, "hello", 5));
	m.msg_flags = 0;
	ASSERT_EQ(5, recvmsg(fd, &m, 0));
	EXPECT_TRUE(m.msg_flags & MSG_EOR);
	EXPECT_EQ(0, memcmp(buf, "world", 5));
	ASSERT_EQ(4, send(fd, "back", 4, 0));
	ASSERT_EQ(0, send(fd, "", 0, 0));
	ASSERT_EQ(3, send(fd, "end", 3, 0));
	/* taps-cat prints each message and a newline. */
	while (got < 10 && (n = read(out, buf + got, sizeof(buf) - got)) > 0)
		got += n;
	ASSERT_EQ(10, got);
	EXPECT_EQ(0, memcmp(buf, "back\n\nend\n", 10));
}

TEST(libtaps_interop)
{
	char cat[600], port_s[16];
	int lfd, port, fd, in, out, status, tries;
	pid_t pid;

	ASSERT_EQ(0, netns_lo());
	tool_path(cat, sizeof(cat), "taps-cat");
	if (access(cat, X_OK))
		SKIP(return, "no %s", cat);
	alarm(60);

	/* libtaps connects, the kernel's framing accepts. */
	lfd = taps_seq_listener(TAPS_P_TCP, &port);
	ASSERT_LE(0, lfd);
	snprintf(port_s, sizeof(port_s), "%d", port);
	{
		char *const argv[] = { cat, "--framer", "lp", "-p", "tcp", "127.0.0.1", port_s,
				       NULL };

		pid = taps_cat(argv, &in, &out);
	}
	ASSERT_LT(0, pid);
	fd = accept(lfd, NULL, NULL);
	ASSERT_LE(0, fd) TH_LOG("accept: %s", strerror(errno));
	EXPECT_EQ(IPPROTO_TCP, info_of(fd).ti_protocol);
	lp_dialogue(_metadata, fd, in, out);
	close(in);
	close(fd);
	close(out);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status)) TH_LOG("taps-cat: %#x", status);
	close(lfd);

	/* The kernel's framing connects, libtaps listens. */
	port = 7123;
	snprintf(port_s, sizeof(port_s), "%d", port);
	{
		char *const argv[] = { cat, "-l", "--framer", "lp", "-p", "tcp", port_s, NULL };

		pid = taps_cat(argv, &in, &out);
	}
	ASSERT_LT(0, pid);
	for (fd = -1, tries = 0; fd < 0 && tries < 100; tries++) {
		fd = taps_seq_connect(TAPS_P_TCP, port);
		if (fd < 0)
			usleep(50000);
	}
	ASSERT_LE(0, fd) TH_LOG("connect: %s", strerror(errno));
	lp_dialogue(_metadata, fd, in, out);
	close(in);
	close(fd);
	close(out);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	alarm(0);
}

/* A policy rule prohibiting SCTP: framed TCP only, or nothing (EPERM). */
TEST(policy_prohibits_sctp)
{
	char ctl[600], cmd[700];
	struct taps_info ti;
	int lfd, port, fd;

	ASSERT_EQ(0, netns_lo());
	tool_path(ctl, sizeof(ctl), "tapsctl");
	snprintf(cmd, sizeof(cmd), "%s rule add 127.0.0.0/8 prohibit sctp", ctl);
	ASSERT_EQ(0, system(cmd));
	lfd = taps_seq_listener(TAPS_P_SCTP | TAPS_P_TCP, &port);
	ASSERT_LE(0, lfd);
	fd = taps_seq_connect(TAPS_P_SCTP | TAPS_P_TCP, port);
	ASSERT_LE(0, fd) TH_LOG("connect: %s", strerror(errno));
	ti = info_of(fd);
	EXPECT_EQ(IPPROTO_TCP, ti.ti_protocol);
	EXPECT_EQ(1, ti.ti_candidates);
	EXPECT_TRUE(ti.ti_flags & TAPS_INFO_F_POLICY);
	close(fd);
	EXPECT_EQ(-1, taps_seq_connect(TAPS_P_SCTP, port));
	EXPECT_EQ(EPERM, errno);
	close(lfd);
}

TEST_HARNESS_MAIN
