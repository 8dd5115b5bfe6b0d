// SPDX-License-Identifier: GPL-2.0
/*
 * The AF_TAPS data path beyond read/write: sendfile, splice, io_uring,
 * SOL_SOCKET options reaching the connection, protocol-level options passed
 * through, epoll registered before the race ended, and kTLS set up by
 * OpenSSL on an AF_TAPS fd.
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "kselftest_harness.h"
#include "taps_test.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* A plain TCP listener on 127.0.0.1 in a private netns; returns its fd. */
static int tcp_server(int *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd;

	if (unshare(CLONE_NEWNET) || system("ip link set lo up"))
		return -1;
	fd = socket(AF_INET, SOCK_STREAM, 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (void *)&sin, sizeof(sin)) || listen(fd, 16) ||
	    getsockname(fd, (void *)&sin, &len))
		return -1;
	*port = ntohs(sin.sin_port);
	return fd;
}

static int taps_connect_port(int port, int flags)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	int p = TAPS_P_TCP;
	int fd;

	fd = taps_socket(SOCK_STREAM | flags);
	if (fd < 0)
		return -1;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (setsockopt(fd, SOL_TAPS, TAPS_PROTOCOLS, &p, sizeof(p)))
		return -1;
	if (connect(fd, (void *)&sin, sizeof(sin)) && errno != EINPROGRESS)
		return -1;
	return fd;
}

static ssize_t read_all(int fd, char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);

		if (n <= 0)
			return n < 0 ? n : (ssize_t)got;
		got += n;
	}
	return got;
}

FIXTURE(conn)
{
	int lfd, cfd, sfd, port;
};

FIXTURE_SETUP(conn)
{
	self->lfd = tcp_server(&self->port);
	ASSERT_LE(0, self->lfd);
	self->cfd = taps_connect_port(self->port, 0);
	ASSERT_LE(0, self->cfd) TH_LOG("connect: %s", strerror(errno));
	self->sfd = accept(self->lfd, NULL, NULL);
	ASSERT_LE(0, self->sfd);
}

FIXTURE_TEARDOWN(conn)
{
	close(self->cfd);
	close(self->sfd);
	close(self->lfd);
}

TEST_F(conn, sendfile_intact)
{
	enum { LEN = 1 << 20 };
	char *in = malloc(LEN), *out = malloc(LEN);
	char path[] = "/tmp/taps-sendfile-XXXXXX";
	int ffd = mkstemp(path);
	off_t off = 0;
	int i;

	ASSERT_LE(0, ffd);
	for (i = 0; i < LEN; i++)
		in[i] = i * 7 + (i >> 11);
	ASSERT_EQ(LEN, write(ffd, in, LEN));
	unlink(path);
	while (off < LEN)
		ASSERT_LT(0, sendfile(self->cfd, ffd, &off, LEN - off));
	ASSERT_EQ(LEN, read_all(self->sfd, out, LEN));
	EXPECT_EQ(0, memcmp(in, out, LEN));
	close(ffd);
	free(in);
	free(out);
}

TEST_F(conn, splice_to_pipe)
{
	char buf[16] = {};
	int p[2];

	ASSERT_EQ(0, pipe(p));
	ASSERT_EQ(6, write(self->sfd, "splice", 6));
	ASSERT_EQ(6, splice(self->cfd, NULL, p[1], NULL, 6, 0));
	ASSERT_EQ(6, read(p[0], buf, sizeof(buf)));
	EXPECT_STREQ("splice", buf);
	/* And from a pipe into the AF_TAPS socket. */
	ASSERT_EQ(4, write(p[1], "back", 4));
	ASSERT_EQ(4, splice(p[0], NULL, self->cfd, NULL, 4, 0));
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(4, read(self->sfd, buf, sizeof(buf)));
	EXPECT_STREQ("back", buf);
	close(p[0]);
	close(p[1]);
}

TEST_F(conn, rcvtimeo_before_and_after)
{
	struct timeval tv = { .tv_usec = 200000 };
	char c;
	double t;

	ASSERT_EQ(0, setsockopt(self->cfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	t = now_ms();
	EXPECT_EQ(-1, recv(self->cfd, &c, 1, 0));
	EXPECT_EQ(EAGAIN, errno);
	t = now_ms() - t;
	EXPECT_LE(150, t);
	EXPECT_GE(3000, t);
}

TEST_F(conn, linger_zero_aborts)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	char c;

	ASSERT_EQ(0, setsockopt(self->cfd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)));
	close(self->cfd);
	self->cfd = -1;
	EXPECT_EQ(-1, read(self->sfd, &c, 1));
	EXPECT_EQ(ECONNRESET, errno);
}

/* Packets the connection sent with mark 42, counted by nftables. */
static long marked_packets(void)
{
	char line[256];
	long n = -1;
	FILE *f = popen("nft list chain inet dp out", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, "counter packets ");

		if (p)
			n = atol(p + strlen("counter packets "));
	}
	pclose(f);
	return n;
}

/* nft runs once per look; on the debug guest that is most of a second. */
TEST_F_TIMEOUT(conn, mark_and_keepalive_reach_connection, 90)
{
	int mark = 42, one = 1, idle = 1;
	struct timespec t0, t;
	long before;

	ASSERT_EQ(0, system("nft add table inet dp && nft add chain inet dp out "
			    "'{ type filter hook output priority 0; }' && "
			    "nft add rule inet dp out meta mark 42 counter"));
	ASSERT_EQ(0, marked_packets());
	ASSERT_EQ(0, setsockopt(self->cfd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)));
	ASSERT_EQ(0, setsockopt(self->cfd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)));
	ASSERT_EQ(0, setsockopt(self->cfd, SOL_TCP, TCP_KEEPIDLE, &idle, sizeof(idle)));
	ASSERT_EQ(0, setsockopt(self->cfd, SOL_TCP, TCP_KEEPINTVL, &idle, sizeof(idle)));
	/* The mark is copied on the next call through the socket. */
	ASSERT_EQ(1, write(self->cfd, "x", 1));
	usleep(200000);
	before = marked_packets();
	EXPECT_LE(1, before);
	/* Idle: only keepalive probes, marked, leave the connection; the
	 * first is due after 1 s, allow 30 s for a slow (debug) guest.
	 */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		if (marked_packets() > before)
			break;
		usleep(250000);
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (t.tv_sec - t0.tv_sec < 30);
	EXPECT_LT(before, marked_packets());
}

TEST_F(conn, tcp_options_pass_through)
{
	int one = 1, val = 0;
	socklen_t len = sizeof(val);
	struct tcp_info ti;

	ASSERT_EQ(0, setsockopt(self->cfd, SOL_TCP, TCP_NODELAY, &one, sizeof(one)));
	ASSERT_EQ(0, getsockopt(self->cfd, SOL_TCP, TCP_NODELAY, &val, &len));
	EXPECT_EQ(1, val);
	len = sizeof(ti);
	ASSERT_EQ(0, getsockopt(self->cfd, SOL_TCP, TCP_INFO, &ti, &len));
	EXPECT_EQ(TCP_ESTABLISHED, ti.tcpi_state);
	/* Before connect SOL_TCP options are recorded (selftests/sockopt.c);
	 * kTLS needs the connection.
	 */
	val = taps_socket(SOCK_STREAM);
	ASSERT_LE(0, val);
	EXPECT_EQ(0, setsockopt(val, SOL_TCP, TCP_NODELAY, &one, sizeof(one)));
	EXPECT_EQ(-1, setsockopt(val, SOL_TLS, 1 /* TLS_TX */, &one, sizeof(one)));
	EXPECT_EQ(ENOTCONN, errno);
	close(val);
}

TEST_F(conn, ioctl_queues)
{
	int n = -1;

	ASSERT_EQ(3, write(self->sfd, "abc", 3));
	usleep(100000);
	ASSERT_EQ(0, ioctl(self->cfd, FIONREAD, &n));
	EXPECT_EQ(3, n);
	ASSERT_EQ(0, ioctl(self->cfd, TIOCOUTQ, &n));
	EXPECT_LE(0, n);
}

TEST_F(conn, shutdown_write_is_closing)
{
	struct taps_info ti;
	socklen_t len = sizeof(ti);
	char buf[8] = {};

	ASSERT_EQ(0, shutdown(self->cfd, SHUT_RD));
	ASSERT_EQ(0, getsockopt(self->cfd, SOL_TAPS, TAPS_INFO, &ti, &len));
	EXPECT_EQ(TAPS_STATE_ESTABLISHED, ti.ti_state);
	ASSERT_EQ(0, shutdown(self->cfd, SHUT_WR));
	ASSERT_EQ(0, getsockopt(self->cfd, SOL_TAPS, TAPS_INFO, &ti, &len));
	EXPECT_EQ(TAPS_STATE_CLOSING, ti.ti_state);
	/* The peer sees the end of the stream and can still send. */
	EXPECT_EQ(0, read(self->sfd, buf, sizeof(buf)));
	EXPECT_EQ(-1, send(self->cfd, "x", 1, MSG_NOSIGNAL));
	EXPECT_EQ(EPIPE, errno);
	EXPECT_EQ(-1, shutdown(self->cfd, 3));
	EXPECT_EQ(EINVAL, errno);
}

TEST(epoll_registered_before_race_ends)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLET }, out;
	int lfd, port, cfd, sfd, ep, n;
	char c;

	lfd = tcp_server(&port);
	ASSERT_LE(0, lfd);
	cfd = taps_socket(SOCK_STREAM | SOCK_NONBLOCK);
	ASSERT_LE(0, cfd);
	ep = epoll_create1(0);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &ev));
	close(cfd);
	cfd = taps_connect_port(port, SOCK_NONBLOCK);
	ASSERT_LE(0, cfd);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &ev));
	n = epoll_wait(ep, &out, 1, 5000);
	ASSERT_EQ(1, n);
	EXPECT_TRUE(out.events & EPOLLOUT);
	sfd = accept(lfd, NULL, NULL);
	ASSERT_LE(0, sfd);
	/* Data arriving later wakes the edge-triggered waiter. */
	ASSERT_EQ(1, write(sfd, "d", 1));
	n = epoll_wait(ep, &out, 1, 5000);
	ASSERT_EQ(1, n);
	EXPECT_TRUE(out.events & EPOLLIN);
	EXPECT_EQ(1, read(cfd, &c, 1));
	EXPECT_EQ(-1, read(cfd, &c, 1));
	EXPECT_EQ(EAGAIN, errno);
	close(sfd);
	close(cfd);
	close(ep);
	close(lfd);
}

TEST(io_uring_connect_send_recv)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	int lfd, port, fd, sfd;
	char buf[8] = {};

	lfd = tcp_server(&port);
	ASSERT_LE(0, lfd);
	ASSERT_EQ(0, io_uring_queue_init(8, &ring, 0));
	fd = taps_socket(SOCK_STREAM);
	ASSERT_LE(0, fd);
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_connect(sqe, fd, (void *)&sin, sizeof(sin));
	ASSERT_EQ(1, io_uring_submit(&ring));
	ASSERT_EQ(0, io_uring_wait_cqe(&ring, &cqe));
	EXPECT_EQ(0, cqe->res) TH_LOG("connect: %s", strerror(-cqe->res));
	io_uring_cqe_seen(&ring, cqe);

	sfd = accept(lfd, NULL, NULL);
	ASSERT_LE(0, sfd);
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_send(sqe, fd, "uring", 5, 0);
	ASSERT_EQ(1, io_uring_submit(&ring));
	ASSERT_EQ(0, io_uring_wait_cqe(&ring, &cqe));
	EXPECT_EQ(5, cqe->res);
	io_uring_cqe_seen(&ring, cqe);
	ASSERT_EQ(5, read(sfd, buf, sizeof(buf)));
	EXPECT_STREQ("uring", buf);

	/* A recv queued before the data arrives completes when it does. */
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_recv(sqe, fd, buf, sizeof(buf), 0);
	ASSERT_EQ(1, io_uring_submit(&ring));
	usleep(100000);
	ASSERT_EQ(4, write(sfd, "ring", 4));
	ASSERT_EQ(0, io_uring_wait_cqe(&ring, &cqe));
	EXPECT_EQ(4, cqe->res);
	io_uring_cqe_seen(&ring, cqe);
	io_uring_queue_exit(&ring);
	close(sfd);
	close(fd);
	close(lfd);
}

/* kTLS: OpenSSL sets TCP_ULP "tls" and TLS_TX/TLS_RX on the AF_TAPS fd. */
struct tls_srv {
	int lfd;
	SSL_CTX *ctx;
};

static void *tls_server(void *arg)
{
	struct tls_srv *srv = arg;
	char buf[64];
	SSL *ssl;
	int fd, n;

	fd = accept(srv->lfd, NULL, NULL);
	if (fd < 0)
		return NULL;
	ssl = SSL_new(srv->ctx);
	SSL_set_fd(ssl, fd);
	if (SSL_accept(ssl) == 1) {
		n = SSL_read(ssl, buf, sizeof(buf));
		if (n > 0)
			SSL_write(ssl, buf, n);
		SSL_shutdown(ssl);
	}
	SSL_free(ssl);
	close(fd);
	return NULL;
}

TEST(ktls_openssl)
{
	struct tls_srv srv;
	SSL_CTX *cctx;
	pthread_t thr;
	char buf[64] = {};
	int port, fd;
	SSL *ssl;

	ASSERT_EQ(0, system("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=taps "
			    "-keyout /tmp/taps-key.pem -out /tmp/taps-cert.pem 2>/dev/null"));
	srv.lfd = tcp_server(&port);
	ASSERT_LE(0, srv.lfd);
	srv.ctx = SSL_CTX_new(TLS_server_method());
	ASSERT_NE(NULL, srv.ctx);
	ASSERT_EQ(1, SSL_CTX_use_certificate_file(srv.ctx, "/tmp/taps-cert.pem", SSL_FILETYPE_PEM));
	ASSERT_EQ(1, SSL_CTX_use_PrivateKey_file(srv.ctx, "/tmp/taps-key.pem", SSL_FILETYPE_PEM));
	ASSERT_EQ(0, pthread_create(&thr, NULL, tls_server, &srv));

	fd = taps_connect_port(port, 0);
	ASSERT_LE(0, fd);
	cctx = SSL_CTX_new(TLS_client_method());
	ASSERT_NE(NULL, cctx);
	SSL_CTX_set_options(cctx, SSL_OP_ENABLE_KTLS);
	/* AES-GCM-128 over TLS 1.2: the cipher 6.1's kTLS offloads both ways. */
	SSL_CTX_set_max_proto_version(cctx, TLS1_2_VERSION);
	ASSERT_EQ(1, SSL_CTX_set_cipher_list(cctx, "ECDHE-RSA-AES128-GCM-SHA256"));
	ssl = SSL_new(cctx);
	SSL_set_fd(ssl, fd);
	ASSERT_EQ(1, SSL_connect(ssl)) ERR_print_errors_fp(stderr);
	EXPECT_EQ(1, BIO_get_ktls_send(SSL_get_wbio(ssl)));
	EXPECT_EQ(1, BIO_get_ktls_recv(SSL_get_rbio(ssl)));
	ASSERT_EQ(9, SSL_write(ssl, "over ktls", 9));
	ASSERT_EQ(9, SSL_read(ssl, buf, sizeof(buf)));
	EXPECT_STREQ("over ktls", buf);
	SSL_free(ssl);
	SSL_CTX_free(cctx);
	close(fd);
	pthread_join(thr, NULL);
	SSL_CTX_free(srv.ctx);
	close(srv.lfd);
}

TEST_HARNESS_MAIN
