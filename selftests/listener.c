// SPDX-License-Identifier: GPL-2.0
/*
 * The AF_TAPS Listener: one bind() + listen() accepts over TCP and SCTP on
 * one port, from plain TCP and SCTP clients (deployable on one side only)
 * and from AF_TAPS clients.
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "taps_test.h"

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif

/* A private network namespace with lo up. */
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

static int plain_connect(int family, int proto, int port)
{
	struct sockaddr_storage ss = {};
	socklen_t len;
	int fd;

	if (family == AF_INET) {
		struct sockaddr_in *sin = (void *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (void *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		sin6->sin6_addr = in6addr_loopback;
		len = sizeof(*sin6);
	}
	fd = socket(family, SOCK_STREAM, proto);
	if (fd < 0)
		return -1;
	if (connect(fd, (void *)&ss, len)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int listen_port(int fd)
{
	struct sockaddr_in6 sin6;
	socklen_t len = sizeof(sin6);

	if (getsockname(fd, (void *)&sin6, &len))
		return -1;
	return ntohs(sin6.sin6_port);
}

FIXTURE(lsn)
{
	int fd;
	int port;
};

FIXTURE_SETUP(lsn)
{
	struct sockaddr_taps st = { .stap_family = taps_family() };

	ASSERT_EQ(0, netns_lo());
	self->fd = taps_socket(SOCK_STREAM);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, bind(self->fd, (void *)&st, sizeof(st)));
	ASSERT_EQ(0, listen(self->fd, 64));
	self->port = listen_port(self->fd);
	ASSERT_LT(0, self->port);
}

FIXTURE_TEARDOWN(lsn)
{
	close(self->fd);
}

/* Accept one connection and check the protocol, then echo a message. */
static int accept_echo(struct __test_metadata *_metadata, int lfd, int cfd,
		       unsigned int proto)
{
	char buf[32] = {};
	struct taps_info ti;
	int afd;

	ASSERT_EQ(5, write(cfd, "hello", 5));
	afd = accept(lfd, NULL, NULL);
	ASSERT_LE(0, afd) TH_LOG("accept: %s", strerror(errno));
	ti = info_of(afd);
	EXPECT_EQ(TAPS_STATE_ESTABLISHED, ti.ti_state);
	EXPECT_EQ(proto, ti.ti_protocol);
	EXPECT_EQ(5, read(afd, buf, sizeof(buf)));
	EXPECT_STREQ("hello", buf);
	EXPECT_EQ(3, write(afd, "bye", 3));
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(3, read(cfd, buf, sizeof(buf)));
	EXPECT_STREQ("bye", buf);
	close(afd);
	return 0;
}

TEST_F(lsn, info_and_name)
{
	struct taps_info ti = info_of(self->fd);
	struct sockaddr_in6 sin6;
	socklen_t len = sizeof(sin6);

	EXPECT_EQ(TAPS_STATE_LISTENING, ti.ti_state);
	ASSERT_EQ(0, getsockname(self->fd, (void *)&sin6, &len));
	EXPECT_EQ(AF_INET6, sin6.sin6_family);
	EXPECT_EQ(-1, getpeername(self->fd, (void *)&sin6, &len));
	EXPECT_EQ(ENOTCONN, errno);
	/* A second listen() only changes the backlog. */
	EXPECT_EQ(0, listen(self->fd, 8));
	EXPECT_EQ(self->port, listen_port(self->fd));
}

TEST_F(lsn, plain_tcp_clients)
{
	int cfd;

	cfd = plain_connect(AF_INET, IPPROTO_TCP, self->port);
	ASSERT_LE(0, cfd) TH_LOG("TCP/IPv4 connect: %s", strerror(errno));
	accept_echo(_metadata, self->fd, cfd, IPPROTO_TCP);
	close(cfd);
	cfd = plain_connect(AF_INET6, IPPROTO_TCP, self->port);
	ASSERT_LE(0, cfd) TH_LOG("TCP/IPv6 connect: %s", strerror(errno));
	accept_echo(_metadata, self->fd, cfd, IPPROTO_TCP);
	close(cfd);
}

TEST_F(lsn, plain_sctp_clients)
{
	int cfd;

	cfd = plain_connect(AF_INET, IPPROTO_SCTP, self->port);
	ASSERT_LE(0, cfd) TH_LOG("SCTP/IPv4 connect: %s", strerror(errno));
	accept_echo(_metadata, self->fd, cfd, IPPROTO_SCTP);
	close(cfd);
	cfd = plain_connect(AF_INET6, IPPROTO_SCTP, self->port);
	ASSERT_LE(0, cfd) TH_LOG("SCTP/IPv6 connect: %s", strerror(errno));
	accept_echo(_metadata, self->fd, cfd, IPPROTO_SCTP);
	close(cfd);
}

TEST_F(lsn, taps_client)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(self->port) };
	int cfd = taps_socket(SOCK_STREAM);

	ASSERT_LE(0, cfd);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ASSERT_EQ(0, connect(cfd, (void *)&sin, sizeof(sin)));
	EXPECT_EQ(IPPROTO_TCP, info_of(cfd).ti_protocol);
	accept_echo(_metadata, self->fd, cfd, IPPROTO_TCP);
	close(cfd);
}

TEST_F(lsn, nonblocking_accept_and_epoll)
{
	struct epoll_event ev = { .events = EPOLLIN }, out;
	struct pollfd pfd = { .fd = self->fd, .events = POLLIN };
	int ep, cfd, afd;

	/* SOCK_NONBLOCK is for the new socket; the listener's own flag decides. */
	ASSERT_EQ(0, fcntl(self->fd, F_SETFL, O_NONBLOCK));
	EXPECT_EQ(-1, accept(self->fd, NULL, NULL));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(0, poll(&pfd, 1, 0));
	ep = epoll_create1(0);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, self->fd, &ev));
	EXPECT_EQ(0, epoll_wait(ep, &out, 1, 0));

	cfd = plain_connect(AF_INET, IPPROTO_SCTP, self->port);
	ASSERT_LE(0, cfd);
	ASSERT_EQ(1, epoll_wait(ep, &out, 1, 5000));
	EXPECT_TRUE(out.events & EPOLLIN);
	EXPECT_EQ(1, poll(&pfd, 1, 0));
	afd = accept4(self->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	ASSERT_LE(0, afd);
	EXPECT_TRUE(fcntl(afd, F_GETFL) & O_NONBLOCK);
	EXPECT_TRUE(fcntl(afd, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(IPPROTO_SCTP, info_of(afd).ti_protocol);
	close(afd);
	close(cfd);
	close(ep);
}

TEST_F(lsn, backlog_of_many)
{
	enum { N = 50 };
	int cfd[N], i;

	for (i = 0; i < N; i++) {
		cfd[i] = plain_connect(i % 2 ? AF_INET : AF_INET6,
				       i % 3 ? IPPROTO_TCP : IPPROTO_SCTP, self->port);
		ASSERT_LE(0, cfd[i]) TH_LOG("client %d: %s", i, strerror(errno));
	}
	for (i = 0; i < N; i++) {
		int afd = accept(self->fd, NULL, NULL);

		ASSERT_LE(0, afd);
		close(afd);
	}
	for (i = 0; i < N; i++)
		close(cfd[i]);
}

TEST_F(lsn, io_uring_accept)
{
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	int cfd;

	pid_t pid;

	ASSERT_EQ(0, io_uring_queue_init(4, &ring, 0));
	/* Queued before any client: completes when one arrives. */
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_accept(sqe, self->fd, NULL, NULL, 0);
	ASSERT_EQ(1, io_uring_submit(&ring));
	/* The client in another process: the completion's task_work would
	 * interrupt (and restart into EISCONN) a blocking connect here.
	 */
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		usleep(100000);
		cfd = plain_connect(AF_INET6, IPPROTO_SCTP, self->port);
		usleep(500000);
		_exit(cfd < 0);
	}
	ASSERT_EQ(0, io_uring_wait_cqe(&ring, &cqe));
	ASSERT_LE(0, cqe->res) TH_LOG("accept: %s", strerror(-cqe->res));
	EXPECT_EQ(IPPROTO_SCTP, info_of(cqe->res).ti_protocol);
	close(cqe->res);
	io_uring_cqe_seen(&ring, cqe);
	io_uring_queue_exit(&ring);
	ASSERT_EQ(pid, waitpid(pid, &cfd, 0));
	EXPECT_EQ(0, cfd);
}

/* MULTIPATH Prefer on both sides: MPTCP end to end. */
TEST(mptcp_both_sides)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int lfd, cfd, afd, mp = TAPS_PREF_PREFER, all = TAPS_P_ALL;
	socklen_t len = sizeof(sin);

	ASSERT_EQ(0, netns_lo());
	lfd = taps_socket(SOCK_STREAM);
	ASSERT_LE(0, lfd);
	ASSERT_EQ(0, setsockopt(lfd, SOL_TAPS, TAPS_PROTOCOLS, &all, sizeof(all)));
	ASSERT_EQ(0, setsockopt(lfd, SOL_TAPS, TAPS_SEL_MULTIPATH, &mp, sizeof(mp)));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ASSERT_EQ(0, bind(lfd, (void *)&sin, sizeof(sin)));
	ASSERT_EQ(0, listen(lfd, 4));
	ASSERT_EQ(0, getsockname(lfd, (void *)&sin, &len));

	/* A plain TCP client reaches the MPTCP listener too, as TCP. */
	cfd = plain_connect(AF_INET, IPPROTO_TCP, ntohs(sin.sin_port));
	ASSERT_LE(0, cfd);
	accept_echo(_metadata, lfd, cfd, IPPROTO_TCP);
	close(cfd);

	cfd = taps_socket(SOCK_STREAM);
	ASSERT_LE(0, cfd);
	ASSERT_EQ(0, setsockopt(cfd, SOL_TAPS, TAPS_PROTOCOLS, &all, sizeof(all)));
	ASSERT_EQ(0, setsockopt(cfd, SOL_TAPS, TAPS_SEL_MULTIPATH, &mp, sizeof(mp)));
	ASSERT_EQ(0, connect(cfd, (void *)&sin, sizeof(sin)));
	EXPECT_EQ(IPPROTO_MPTCP, info_of(cfd).ti_protocol);
	afd = accept(lfd, NULL, NULL);
	ASSERT_LE(0, afd);
	EXPECT_EQ(IPPROTO_MPTCP, info_of(afd).ti_protocol);
	EXPECT_EQ(2, write(cfd, "mp", 2));
	close(afd);
	close(cfd);
	close(lfd);
}

TEST(bind_errors)
{
	struct sockaddr_taps st = { .stap_family = taps_family() };
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sockaddr_un_like { unsigned short f; char p[20]; } un = { .f = AF_UNIX };
	int fd;

	ASSERT_EQ(0, netns_lo());
	fd = taps_socket(SOCK_STREAM);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, bind(fd, (void *)&sin, sizeof(sin) - 1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, bind(fd, (void *)&un, sizeof(un)));
	EXPECT_EQ(EAFNOSUPPORT, errno);
	EXPECT_EQ(-1, bind(fd, (void *)&st, sizeof(st) - 1));
	EXPECT_EQ(EINVAL, errno);
	st.stap_flags = 1;
	EXPECT_EQ(-1, bind(fd, (void *)&st, sizeof(st)));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, bind(fd, NULL, 0));
	EXPECT_EQ(EINVAL, errno);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	EXPECT_EQ(0, bind(fd, (void *)&sin, sizeof(sin)));
	/* Bound once. */
	EXPECT_EQ(-1, bind(fd, (void *)&sin, sizeof(sin)));
	EXPECT_EQ(EINVAL, errno);
	close(fd);
}

TEST(port_in_use)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int tcp, fd, one = 1;
	socklen_t len = sizeof(sin);

	ASSERT_EQ(0, netns_lo());
	tcp = socket(AF_INET, SOCK_STREAM, 0);
	ASSERT_LE(0, tcp);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ASSERT_EQ(0, setsockopt(tcp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)));
	ASSERT_EQ(0, bind(tcp, (void *)&sin, sizeof(sin)));
	ASSERT_EQ(0, listen(tcp, 1));
	ASSERT_EQ(0, getsockname(tcp, (void *)&sin, &len));

	fd = taps_socket(SOCK_STREAM);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, bind(fd, (void *)&sin, sizeof(sin)));
	EXPECT_EQ(-1, listen(fd, 1));
	EXPECT_EQ(EADDRINUSE, errno);
	EXPECT_EQ(TAPS_STATE_UNCONNECTED, info_of(fd).ti_state);
	close(fd);
	close(tcp);
}

TEST(only_sctp_listener)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int fd, cfd, afd, val = TAPS_PREF_REQUIRE;
	socklen_t len = sizeof(sin);

	ASSERT_EQ(0, netns_lo());
	fd = taps_socket(SOCK_STREAM);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, setsockopt(fd, SOL_TAPS, TAPS_SEL_MULTISTREAMING, &val, sizeof(val)));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ASSERT_EQ(0, bind(fd, (void *)&sin, sizeof(sin)));
	ASSERT_EQ(0, listen(fd, 4));
	ASSERT_EQ(0, getsockname(fd, (void *)&sin, &len));
	/* TCP is refused, SCTP gets through. */
	EXPECT_EQ(-1, plain_connect(AF_INET, IPPROTO_TCP, ntohs(sin.sin_port)));
	EXPECT_EQ(ECONNREFUSED, errno);
	cfd = plain_connect(AF_INET, IPPROTO_SCTP, ntohs(sin.sin_port));
	ASSERT_LE(0, cfd);
	afd = accept(fd, NULL, NULL);
	ASSERT_LE(0, afd);
	EXPECT_EQ(IPPROTO_SCTP, info_of(afd).ti_protocol);
	close(afd);
	close(cfd);
	close(fd);
}

TEST(accept_errors)
{
	int fd = taps_socket(SOCK_STREAM);

	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, accept(fd, NULL, NULL));
	EXPECT_EQ(EINVAL, errno);
	close(fd);
}

TEST_HARNESS_MAIN
