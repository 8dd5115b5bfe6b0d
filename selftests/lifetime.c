// SPDX-License-Identifier: GPL-2.0
/*
 * Lifetime of AF_TAPS sockets and their kernel sockets: many concurrent
 * races leave nothing behind, close() during a race cancels it, and a
 * network namespace can go away with AF_TAPS sockets racing or connected.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

#include "kselftest_harness.h"
#include "taps_test.h"

#define DROP_PORT	9	/* SYNs to 127.0.0.1:9 are dropped by nft */

static long read_long(const char *path)
{
	long v = -1;
	FILE *f = fopen(path, "r");

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/* TCP sockets in use in this namespace, from /proc/net/sockstat. */
static long tcp_inuse(void)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/net/sockstat", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "TCP: inuse %ld", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* Wait up to 10 s for a counter to come back to where it started. */
static long settle(long (*get)(const char *), const char *arg, long want)
{
	long v = get(arg);
	int i;

	for (i = 0; i < 100 && v != want; i++) {
		usleep(100000);
		v = get(arg);
	}
	return v;
}

static long tcp_inuse_arg(const char *unused)
{
	return tcp_inuse();
}

static int setup_netns(void)
{
	if (unshare(CLONE_NEWNET) || system("ip link set lo up"))
		return -1;
	/* Blackhole one port: attempts to it stay in SYN-SENT. */
	return system("nft add table inet life && "
		      "nft add chain inet life out '{ type filter hook output priority 0; }' && "
		      "nft add rule inet life out tcp dport 9 drop");
}

static int listener(int *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (void *)&sin, sizeof(sin)) || listen(fd, 4096) ||
	    getsockname(fd, (void *)&sin, &len))
		return -1;
	*port = ntohs(sin.sin_port);
	return fd;
}

/*
 * Non-blocking race: blackholed port first, the real one 10 ms later.
 * Isolated: else the cached state sends the next race straight to the
 * port that won, and there is no race left to test.
 */
static int racing_socket(int port)
{
	struct taps_endpoint ep[2] = {};
	struct sockaddr_taps st = { .stap_family = taps_family() };
	int fd, delay = 10, tcp = TAPS_P_TCP, one = 1;

	ep[0].sin.sin_family = AF_INET;
	ep[0].sin.sin_port = htons(DROP_PORT);
	ep[0].sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ep[1] = ep[0];
	ep[1].sin.sin_port = htons(port);
	fd = taps_socket(SOCK_STREAM | SOCK_NONBLOCK);
	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_TAPS, TAPS_REMOTE_ENDPOINTS, ep, sizeof(ep)) ||
	    setsockopt(fd, SOL_TAPS, TAPS_ISOLATE, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_TAPS, TAPS_ATTEMPT_DELAY, &delay, sizeof(delay)) ||
	    setsockopt(fd, SOL_TAPS, TAPS_PROTOCOLS, &tcp, sizeof(tcp)))
		return -1;
	if (connect(fd, (void *)&st, sizeof(st)) != -1 || errno != EINPROGRESS)
		return -1;
	return fd;
}

/* The debug kernel (KASAN, lockdep) is slow: give the heavy tests time. */
FIXTURE(slow) {};
FIXTURE_SETUP(slow) {}
FIXTURE_TEARDOWN(slow) {}

TEST_F_TIMEOUT(slow, concurrent_races_leave_nothing, 900)
{
	enum { N = 1000 };
	struct rlimit rl = { .rlim_cur = 4 * N, .rlim_max = 4 * N };
	static struct pollfd pfd[N];
	long ref0, tcp0;
	int lfd, port, i, done = 0, won = 0;

	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &rl));
	ASSERT_EQ(0, setup_netns());
	ref0 = read_long("/sys/module/taps/refcnt");
	tcp0 = tcp_inuse();
	ASSERT_LE(0, ref0);
	lfd = listener(&port);
	ASSERT_LE(0, lfd);

	for (i = 0; i < N; i++) {
		pfd[i].fd = racing_socket(port);
		pfd[i].events = POLLOUT;
		ASSERT_LE(0, pfd[i].fd) TH_LOG("socket %d: %s", i, strerror(errno));
	}
	while (done < N) {
		int n = poll(pfd, N, 20000);

		ASSERT_LT(0, n) TH_LOG("%d of %d races still running", N - done, N);
		for (i = 0; i < N; i++) {
			struct taps_info ti;
			socklen_t len = sizeof(ti);

			if (pfd[i].fd < 0 || !pfd[i].revents)
				continue;
			ASSERT_EQ(0, getsockopt(pfd[i].fd, SOL_TAPS, TAPS_INFO, &ti, &len));
			if (ti.ti_state == TAPS_STATE_ESTABLISHED && ti.ti_winner == 1)
				won++;
			close(pfd[i].fd);
			pfd[i].fd = -1;
			done++;
		}
	}
	EXPECT_EQ(N, won);
	close(lfd);
	/* Every outer socket, attempt and connection is gone. */
	EXPECT_EQ(ref0, settle(read_long, "/sys/module/taps/refcnt", ref0));
	EXPECT_EQ(tcp0, settle(tcp_inuse_arg, NULL, tcp0));
}

static void *accept_close_fn(void *arg)
{
	int lfd = *(int *)arg, c;

	while ((c = accept(lfd, NULL, NULL)) >= 0)
		close(c);
	return NULL;
}

/*
 * A peer that accepts and closes at once: the winning attempt is in
 * CLOSE_WAIT by the time the race looks at it.  It still won (the
 * application reads EOF); it used to be taken for "still connecting"
 * and the race never ended.  The winner is decided by the work item here
 * (the real port starts on the 10 ms timer), where the window is widest.
 */
TEST_F_TIMEOUT(slow, peer_closes_at_once, 300)
{
	int lfd, port, i, fd, err;
	socklen_t len;
	pthread_t th;
	char c;

	ASSERT_EQ(0, setup_netns());
	lfd = listener(&port);
	ASSERT_LE(0, lfd);
	ASSERT_EQ(0, pthread_create(&th, NULL, accept_close_fn, &lfd));
	for (i = 0; i < 30; i++) {
		struct pollfd pfd = { .events = POLLOUT };
		struct taps_info ti;

		fd = racing_socket(port);
		ASSERT_LE(0, fd);
		pfd.fd = fd;
		ASSERT_EQ(1, poll(&pfd, 1, 10000)) TH_LOG("round %d: the race never ended", i);
		len = sizeof(err);
		ASSERT_EQ(0, getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len));
		EXPECT_EQ(0, err) TH_LOG("round %d: %s", i, strerror(err));
		len = sizeof(ti);
		ASSERT_EQ(0, getsockopt(fd, SOL_TAPS, TAPS_INFO, &ti, &len));
		EXPECT_EQ(TAPS_STATE_ESTABLISHED, ti.ti_state);
		EXPECT_EQ(1, ti.ti_winner);
		ASSERT_EQ(0, fcntl(fd, F_SETFL, 0));
		EXPECT_EQ(0, recv(fd, &c, 1, 0));	/* the peer's FIN */
		close(fd);
	}
	shutdown(lfd, SHUT_RDWR);
	pthread_join(th, NULL);
	close(lfd);
}

TEST_F_TIMEOUT(slow, close_during_race, 600)
{
	long ref0 = read_long("/sys/module/taps/refcnt");
	int lfd, port, i;

	ASSERT_EQ(0, setup_netns());
	lfd = listener(&port);
	ASSERT_LE(0, lfd);
	for (i = 0; i < 200; i++) {
		int fd = racing_socket(port);

		ASSERT_LE(0, fd);
		/* Half at once, half while the timer or the winner is due. */
		if (i % 2)
			usleep(i % 20 * 1000);
		close(fd);
	}
	close(lfd);
	EXPECT_EQ(ref0, settle(read_long, "/sys/module/taps/refcnt", ref0));
	EXPECT_EQ(0, settle(tcp_inuse_arg, NULL, 0));
}

TEST(blocking_connect_interrupted)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(DROP_PORT) };
	struct sigaction sa = { .sa_handler = SIG_IGN };
	int fd, tcp = TAPS_P_TCP;

	ASSERT_EQ(0, setup_netns());
	sa.sa_handler = (void (*)(int))(long)getpid; /* any handler, no SA_RESTART */
	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	fd = taps_socket(SOCK_STREAM);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, setsockopt(fd, SOL_TAPS, TAPS_PROTOCOLS, &tcp, sizeof(tcp)));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	alarm(1);
	EXPECT_EQ(-1, connect(fd, (void *)&sin, sizeof(sin)));
	EXPECT_EQ(EINTR, errno);
	/* The race goes on, as for TCP. */
	EXPECT_EQ(-1, connect(fd, (void *)&sin, sizeof(sin)));
	EXPECT_EQ(EALREADY, errno);
	close(fd);
}

TEST(blocking_connect_sndtimeo)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(DROP_PORT) };
	struct timeval tv = { .tv_usec = 300000 };
	struct timespec t0, t1;
	int fd, tcp = TAPS_P_TCP;
	double ms;

	ASSERT_EQ(0, setup_netns());
	fd = taps_socket(SOCK_STREAM);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, setsockopt(fd, SOL_TAPS, TAPS_PROTOCOLS, &tcp, sizeof(tcp)));
	ASSERT_EQ(0, setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* As TCP: EINPROGRESS when the send timeout expires first. */
	EXPECT_EQ(-1, connect(fd, (void *)&sin, sizeof(sin)));
	EXPECT_EQ(EINPROGRESS, errno);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
	EXPECT_LE(250, ms);
	EXPECT_GE(5000, ms);
	close(fd);
}

TEST_F_TIMEOUT(slow, netns_deleted_with_sockets, 300)
{
	char name[64], cmd[160];
	int p[2], status;
	long ref0 = read_long("/sys/module/taps/refcnt");
	pid_t pid;
	char c;

	snprintf(name, sizeof(name), "tapslife%d", getpid());
	snprintf(cmd, sizeof(cmd), "ip netns add %s", name);
	ASSERT_EQ(0, system(cmd));
	ASSERT_EQ(0, pipe(p));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int nfd, lfd, port, i;

		snprintf(cmd, sizeof(cmd), "/run/netns/%s", name);
		nfd = open(cmd, O_RDONLY);
		if (nfd < 0 || setns(nfd, CLONE_NEWNET) || system("ip link set lo up") ||
		    system("nft add table inet life && nft add chain inet life out "
			   "'{ type filter hook output priority 0; }' && "
			   "nft add rule inet life out tcp dport 9 drop"))
			_exit(1);
		lfd = listener(&port);
		if (lfd < 0)
			_exit(1);
		/* Racing (blackholed first candidate, 2 s delay) and won. */
		for (i = 0; i < 50; i++) {
			int fd = racing_socket(port), d = 2000;

			if (fd < 0)
				_exit(1);
			if (i % 2 && setsockopt(fd, SOL_TAPS, TAPS_ATTEMPT_DELAY, &d, sizeof(d)))
				_exit(1);
		}
		usleep(200000);
		if (write(p[1], "r", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(p[1]);
	ASSERT_EQ(1, read(p[0], &c, 1));
	snprintf(cmd, sizeof(cmd), "ip netns del %s", name);
	ASSERT_EQ(0, system(cmd));
	usleep(100000);
	kill(pid, SIGKILL);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status));
	EXPECT_EQ(ref0, settle(read_long, "/sys/module/taps/refcnt", ref0));
}

TEST_HARNESS_MAIN
