// SPDX-License-Identifier: GPL-2.0
/*
 * Notifications on the AF_TAPS socket's error queue (TAPS_NOTIFY): each
 * kind provoked for real over loopback in a private network namespace and
 * received with recvmsg(MSG_ERRQUEUE) after poll() said POLLERR; nothing
 * for a kind not subscribed; the queue bounded by the receive buffer.
 */
#include <errno.h>
#include <fcntl.h>
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
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "taps_test.h"

#define NOBODY	65534

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

static int plain_listener(int *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || bind(fd, (void *)&sin, sizeof(sin)) || listen(fd, 16) ||
	    getsockname(fd, (void *)&sin, &len))
		return -1;
	*port = ntohs(sin.sin_port);
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

/* Wait up to @ms for POLLERR; the revents, or 0. */
static int wait_err(int fd, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = 0 };

	if (poll(&pfd, 1, ms) != 1)
		return 0;
	return pfd.revents;
}

/* One notification: its kind (the cmsg type), or -errno. */
static int read_note(int fd, struct taps_note *note)
{
	char cbuf[CMSG_SPACE(sizeof(*note))];
	struct msghdr msg = { .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;

	if (recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
		return -errno;
	if (!(msg.msg_flags & MSG_ERRQUEUE))
		return -EPROTO;
	cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_level != SOL_TAPS || cm->cmsg_len != CMSG_LEN(sizeof(*note)))
		return -EBADMSG;
	memcpy(note, CMSG_DATA(cm), sizeof(*note));
	return cm->cmsg_type;
}

FIXTURE(note)
{
	int fd;		/* AF_TAPS, connected to lfd's */
	int lfd;	/* a plain TCP listener */
	int afd;	/* what it accepted */
};

FIXTURE_SETUP(note)
{
	int port;

	ASSERT_EQ(0, unshare(CLONE_NEWNET));
	ASSERT_EQ(0, lo_up());
	self->lfd = plain_listener(&port);
	ASSERT_LE(0, self->lfd);
	self->fd = taps_socket(SOCK_STREAM);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, set_int(self->fd, SOL_TAPS, TAPS_PROTOCOLS, TAPS_P_TCP));
	ASSERT_EQ(0, connect_lo(self->fd, port)) TH_LOG("connect: %s", strerror(errno));
	self->afd = accept(self->lfd, NULL, NULL);
	ASSERT_LE(0, self->afd);
}

FIXTURE_TEARDOWN(note)
{
	close(self->fd);
	if (self->afd >= 0)
		close(self->afd);
	close(self->lfd);
}

TEST_F(note, option_errors)
{
	int all = TAPS_NOTE_BIT(TAPS_NOTE_PEER_CLOSED) | TAPS_NOTE_BIT(TAPS_NOTE_PEER_ABORTED) |
		  TAPS_NOTE_BIT(TAPS_NOTE_CONN_ERROR) | TAPS_NOTE_BIT(TAPS_NOTE_DRAINED);
	struct taps_note note;

	EXPECT_EQ(0, get_int(self->fd, SOL_TAPS, TAPS_NOTIFY));
	EXPECT_EQ(-1, set_int(self->fd, SOL_TAPS, TAPS_NOTIFY, 1));	/* bit 0: no kind */
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, set_int(self->fd, SOL_TAPS, TAPS_NOTIFY, TAPS_NOTE_BIT(__TAPS_NOTE_MAX)));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, setsockopt(self->fd, SOL_TAPS, TAPS_NOTIFY, &all, 2));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(0, set_int(self->fd, SOL_TAPS, TAPS_NOTIFY, all));
	EXPECT_EQ(all, get_int(self->fd, SOL_TAPS, TAPS_NOTIFY));
	/* Nothing happened: nothing queued, no POLLERR. */
	EXPECT_EQ(-EAGAIN, read_note(self->fd, &note));
	EXPECT_EQ(0, wait_err(self->fd, 100) & POLLERR);
}

TEST_F(note, peer_closed)
{
	struct taps_note note;
	int re;

	ASSERT_EQ(0, set_int(self->fd, SOL_TAPS, TAPS_NOTIFY,
			     TAPS_NOTE_BIT(TAPS_NOTE_PEER_CLOSED)));
	close(self->afd);
	self->afd = -1;
	re = wait_err(self->fd, 5000);
	EXPECT_TRUE(re & POLLERR) TH_LOG("revents %#x", re);
	memset(&note, 0xff, sizeof(note));
	ASSERT_EQ(TAPS_NOTE_PEER_CLOSED, read_note(self->fd, &note));
	EXPECT_EQ(0, note.tn_errno);
	EXPECT_NE(0, note.tn_time_ns);
	/* Once, and then no POLLERR. */
	EXPECT_EQ(-EAGAIN, read_note(self->fd, &note));
	EXPECT_EQ(0, wait_err(self->fd, 100) & POLLERR);
	/* The data path is the connection's: EOF. */
	EXPECT_EQ(0, recv(self->fd, &note, 1, MSG_DONTWAIT));
}

/* SO_LINGER {1, 0} on the peer: RST. */
static void peer_abort(int afd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(afd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(afd);
}

TEST_F(note, peer_aborted)
{
	struct taps_note note;
	char c;

	ASSERT_EQ(0, set_int(self->fd, SOL_TAPS, TAPS_NOTIFY,
			     TAPS_NOTE_BIT(TAPS_NOTE_PEER_ABORTED) |
			     TAPS_NOTE_BIT(TAPS_NOTE_PEER_CLOSED)));
	peer_abort(self->afd);
	self->afd = -1;
	EXPECT_TRUE(wait_err(self->fd, 5000) & POLLERR);
	ASSERT_EQ(TAPS_NOTE_PEER_ABORTED, read_note(self->fd, &note));
	EXPECT_EQ(ECONNRESET, note.tn_errno);
	/* An abort is not also a close. */
	EXPECT_EQ(-EAGAIN, read_note(self->fd, &note));
	EXPECT_EQ(-1, recv(self->fd, &c, 1, MSG_DONTWAIT));
	EXPECT_EQ(ECONNRESET, errno);
}

/* Not subscribed: nothing queued, no POLLERR for it. */
TEST_F(note, unsubscribed_kind_queues_nothing)
{
	struct taps_note note;

	ASSERT_EQ(0, set_int(self->fd, SOL_TAPS, TAPS_NOTIFY,
			     TAPS_NOTE_BIT(TAPS_NOTE_DRAINED)));
	close(self->afd);
	self->afd = -1;
	usleep(300 * 1000);
	EXPECT_EQ(-EAGAIN, read_note(self->fd, &note));
	EXPECT_EQ(0, wait_err(self->fd, 100) & POLLERR);
}

/* The abort timeout passing: ETIMEDOUT. */
TEST_F(note, conn_error_timeout)
{
	struct taps_note note;
	char c = 'x';

	ASSERT_EQ(0, set_int(self->fd, SOL_TAPS, TAPS_NOTIFY,
			     TAPS_NOTE_BIT(TAPS_NOTE_CONN_ERROR)));
	ASSERT_EQ(0, set_int(self->fd, SOL_TAPS, TAPS_CONN_ABORT_TIMEOUT, 1000));
	ASSERT_EQ(0, system("tc qdisc add dev lo root netem loss 100%"));
	ASSERT_EQ(1, send(self->fd, &c, 1, 0));
	EXPECT_TRUE(wait_err(self->fd, 10000) & POLLERR);
	ASSERT_EQ(TAPS_NOTE_CONN_ERROR, read_note(self->fd, &note));
	EXPECT_EQ(ETIMEDOUT, note.tn_errno);
}

/* Fill until the socket says EAGAIN; the bytes written. */
static long fill(int fd)
{
	static char buf[65536];
	long total = 0;
	ssize_t n;

	for (;;) {
		n = send(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n <= 0)
			break;
		total += n;
	}
	return total;
}

static void drain(int fd, long bytes)
{
	static char buf[65536];
	ssize_t n;

	while (bytes > 0) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0)
			break;
		bytes -= n;
	}
}

/* A slow reader, then a fast one: DRAINED once below the mark. */
TEST_F(note, drained_below_lowat)
{
	struct taps_note note;
	long n;

	ASSERT_EQ(0, set_int(self->fd, SOL_TAPS, TAPS_CONN_SEND_LOWAT, 65536));
	ASSERT_EQ(0, set_int(self->fd, SOL_TAPS, TAPS_NOTIFY, TAPS_NOTE_BIT(TAPS_NOTE_DRAINED)));
	n = fill(self->fd);
	ASSERT_LT(65536, n);
	/* Nobody reads: nothing. */
	usleep(200 * 1000);
	EXPECT_EQ(-EAGAIN, read_note(self->fd, &note));
	drain(self->afd, n);
	EXPECT_TRUE(wait_err(self->fd, 5000) & POLLERR);
	ASSERT_EQ(TAPS_NOTE_DRAINED, read_note(self->fd, &note));
	EXPECT_GT(65536, note.tn_value);
	EXPECT_EQ(-EAGAIN, read_note(self->fd, &note));
}

/*
 * The queue is bounded by the AF_TAPS socket's receive buffer: at the
 * smallest one, most of 20 notifications are dropped, not queued.
 */
TEST_F(note, queue_bounded)
{
	struct taps_note note;
	int i, got = 0;
	long n;

	ASSERT_EQ(0, set_int(self->fd, SOL_SOCKET, SO_RCVBUF, 1));
	ASSERT_EQ(0, set_int(self->fd, SOL_TAPS, TAPS_CONN_SEND_LOWAT, 16384));
	ASSERT_EQ(0, set_int(self->fd, SOL_TAPS, TAPS_NOTIFY, TAPS_NOTE_BIT(TAPS_NOTE_DRAINED)));
	for (i = 0; i < 20; i++) {
		n = fill(self->fd);
		drain(self->afd, n);
		usleep(20 * 1000);
	}
	while (read_note(self->fd, &note) == TAPS_NOTE_DRAINED)
		got++;
	TH_LOG("%d of 20 queued", got);
	EXPECT_LT(0, got);
	EXPECT_GT(10, got);
}

/* An unprivileged user in their own namespaces gets them too. */
TEST(nobody_in_own_namespaces)
{
	int status;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct taps_note note;
		int lfd, fd, afd, port;

		if (setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) ||
		    setresuid(NOBODY, NOBODY, NOBODY))
			_exit(10);
		if (unshare(CLONE_NEWUSER | CLONE_NEWNET))
			_exit(errno == EPERM || errno == EINVAL ? 4 : 11);
		if (lo_up())
			_exit(12);
		lfd = plain_listener(&port);
		fd = taps_socket(SOCK_STREAM);
		if (lfd < 0 || fd < 0)
			_exit(13);
		if (set_int(fd, SOL_TAPS, TAPS_NOTIFY, TAPS_NOTE_BIT(TAPS_NOTE_PEER_ABORTED)) ||
		    connect_lo(fd, port))
			_exit(14);
		afd = accept(lfd, NULL, NULL);
		if (afd < 0)
			_exit(15);
		peer_abort(afd);
		if (!(wait_err(fd, 5000) & POLLERR))
			_exit(16);
		if (read_note(fd, &note) != TAPS_NOTE_PEER_ABORTED || note.tn_errno != ECONNRESET)
			_exit(17);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	if (WEXITSTATUS(status) == 4)
		SKIP(return, "no unprivileged user namespaces");
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST_HARNESS_MAIN
