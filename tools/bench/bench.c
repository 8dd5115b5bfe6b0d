// SPDX-License-Identifier: GPL-2.0
/*
 * bench: AF_TAPS against plain TCP, measured in one process.
 *
 *   bench connect  [-p] [-i] [-D] [-n NETNS] [-l LABEL] [-r ROUNDS] [-b BATCH] ADDR PORT
 *   bench failover [-D] [-r ROUNDS] [-d DELAY_MS] [-t TIMEOUT_MS] ADDR6 ADDR4 PORT
 *   bench cache    [-n NETNS] [-l LABEL] [-r ROUNDS] [-d DELAY_MS] [-e ADDR] [-S | -D]
 *                  [-T TAPSCTL] ADDR PORT
 *   bench bulk     [-p] [-n NETNS] [-l LABEL] [-r ROUNDS] [-s MIB] ADDR PORT
 *   bench rr       [-p] [-n NETNS] [-l LABEL] [-r ROUNDS] [-c COUNT] ADDR PORT
 *   bench mem      [-p] [-n NETNS] [-r ROUNDS] [-c CONNS] ADDR PORT
 *   bench accept   [-n NETNS] [-r ROUNDS] [-c CLIENTS] [-t SECONDS] ADDR PORT
 *   bench churn    [-n NETNS] [-c RACES] ADDR PORT
 *   bench echo | framer | name ...: libtaps against plain sockets, in bench-libtaps.c
 *
 * connect, bulk, rr and mem fork their own plain TCP server, listening on
 * [::]:PORT (both families) in the network namespace NETNS
 * (/run/netns/NETNS, as made by "ip netns add"), or in the current one.
 * failover needs a server on ADDR4 PORT (run.sh starts python3 http.server)
 * and ADDR6 blackholed; it runs curl for its happy eyeballs.  Its AF_TAPS
 * socket sets TAPS_ISOLATE, so that every round races.  cache forks its
 * own server too (-S: with an SCTP listener on the same port); the first
 * candidate (ADDR with TCP) must be blackholed, and -e ADDR (another
 * endpoint) or -S (TCP|SCTP) gives the race a second one; it empties the
 * cached state with "TAPSCTL cache flush" before every round.  connect -i
 * compares AF_TAPS with and without (TAPS_ISOLATE) the cached state.
 *
 * AF_TAPS sockets are pinned to TAPS_PROTOCOLS = TAPS_P_TCP, one candidate
 * per endpoint, unless -D: then they keep the default properties, as an
 * application that just asks for a stream would (TCP and SCTP race; for
 * cache, -D also serves SCTP).
 *
 * -p pins the client and the server to CPU 0.  connect, bulk and rr time
 * single samples (a connection, a block, a round trip), alternating AF_TAPS
 * and TCP sample by sample within a round (the order flips each round);
 * a round's figure for each is the median of its samples, and the result
 * is the median of the per-round ratios AF_TAPS/TCP.  mem alternates whole
 * rounds.  Each result also goes out as one line starting with "SUMMARY "
 * for run.sh.
 * accept forks an AF_TAPS listener (default properties: TCP and SCTP) or a
 * plain TCP listener in NETNS, alternately, and measures the connections
 * per second CLIENTS plain TCP clients get served.  churn makes RACES
 * AF_TAPS connections to its own server one after the other, then RACES / 10
 * at once, and reports the time per race by thousand and what slab memory
 * and taps.ko's reference count did.
 * Exit status 0 when everything ran, whatever the figures; 1 on any error.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "taps.h"
#include "bench.h"

#define MAX_SLABS	1024

int af_taps;
static bool pin;
static char buf[CHUNK];

void die(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	fprintf(stderr, "bench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (err)
		fprintf(stderr, ": %s", strerror(err));
	fprintf(stderr, "\n");
	exit(1);
}

void summary(const char *fmt, ...)
{
	va_list ap;

	printf("SUMMARY ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Sorts v in place. */
double median_sort(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double median(const double *v, int n)
{
	double s[MAX_ROUNDS];

	memcpy(s, v, n * sizeof(*v));
	return median_sort(s, n);
}

double mean(const double *v, int n)
{
	double sum = 0;
	int i;

	for (i = 0; i < n; i++)
		sum += v[i];
	return sum / n;
}

static double *alloc_samples(size_t n)
{
	double *v = calloc(n, sizeof(*v));

	if (!v)
		die("calloc");
	return v;
}

const char *goal(double ratio, double limit, bool at_most)
{
	bool met = at_most ? ratio <= limit : ratio >= limit;

	return met ? "met" : "missed";
}

int parse_int(const char *s, int min, int max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max) {
		errno = 0;
		die("%s: not a number in %d..%d", s, min, max);
	}
	return v;
}

void parse_target(struct target *t, const char *addr, const char *port)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&t->ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&t->ss;
	int p = parse_int(port, 1, 65535);

	memset(t, 0, sizeof(*t));
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(p);
		t->len = sizeof(*sin);
	} else if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(p);
		t->len = sizeof(*sin6);
	} else {
		die("%s: not an IPv4 or IPv6 address", addr);
	}
}

void write_all(int fd, const void *p, size_t len)
{
	const char *c = p;

	while (len) {
		ssize_t n = write(fd, c, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("write");
		c += n;
		len -= n;
	}
}

void read_all(int fd, void *p, size_t len)
{
	char *c = p;

	while (len) {
		ssize_t n = read(fd, c, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("read");
		if (n == 0) {
			errno = 0;
			die("read: unexpected end of stream");
		}
		c += n;
		len -= n;
	}
}

/*
 * -p: the client, the server and its children all on CPU 0, so that no
 * wakeup crosses vCPUs (under TCG one costs milliseconds).
 */
static void pin_to(int cpu)
{
	cpu_set_t set;

	if (!pin)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("sched_setaffinity(CPU %d)", cpu);
}

static void raise_nofile(void)
{
	struct rlimit rl = { 65536, 65536 };

	if (setrlimit(RLIMIT_NOFILE, &rl))
		die("setrlimit(RLIMIT_NOFILE)");
}

/* -D: AF_TAPS sockets keep the default properties (TCP and SCTP race). */
static bool defaults;

/*
 * The client side.  An AF_TAPS socket is pinned to TCP, so that it races
 * exactly one candidate per endpoint and compares with plain TCP, unless
 * -D asks for the defaults.
 */
static int client_socket(bool taps, int family)
{
	int fd, p = TAPS_P_TCP;

	if (!taps) {
		fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			die("socket(AF_INET%s)", family == AF_INET6 ? "6" : "");
		return fd;
	}
	fd = socket(af_taps, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket(AF_TAPS=%d)", af_taps);
	if (!defaults && setsockopt(fd, SOL_TAPS, TAPS_PROTOCOLS, &p, sizeof(p)))
		die("setsockopt(TAPS_PROTOCOLS)");
	return fd;
}

/*
 * TAPS_ISOLATE: the socket neither uses nor updates the namespace's cached
 * state, so its race is run as if nothing had been learnt before.
 */
static void set_isolate(int fd)
{
	int one = 1;

	if (setsockopt(fd, SOL_TAPS, TAPS_ISOLATE, &one, sizeof(one)))
		die("setsockopt(TAPS_ISOLATE)");
}

static int dial(bool taps, const struct target *t)
{
	int fd = client_socket(taps, t->ss.ss_family);

	if (connect(fd, (const struct sockaddr *)&t->ss, t->len))
		die("%s connect", taps ? "AF_TAPS" : "TCP");
	return fd;
}

void set_nodelay(int fd)
{
	int one = 1;

	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)))
		die("setsockopt(TCP_NODELAY)");
}

/* RST on close: nothing stays in TIME_WAIT to blur the next measurement. */
void close_abort(int fd)
{
	struct linger l = { 1, 0 };

	if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)))
		die("setsockopt(SO_LINGER)");
	close(fd);
}

static void check_taps_info(int fd, int winner_family)
{
	struct taps_info ti;
	socklen_t len = sizeof(ti);

	if (getsockopt(fd, SOL_TAPS, TAPS_INFO, &ti, &len))
		die("getsockopt(TAPS_INFO)");
	errno = 0;
	if (ti.ti_state != TAPS_STATE_ESTABLISHED || ti.ti_protocol != IPPROTO_TCP)
		die("AF_TAPS socket is %s over protocol %u, not established over TCP",
		    taps_state_name(ti.ti_state), ti.ti_protocol);
	if (winner_family && ti.ti_remote.ss_family != winner_family)
		die("AF_TAPS connected over family %u, expected %d",
		    ti.ti_remote.ss_family, winner_family);
}

/*
 * The server: plain TCP on [::]:port.  A connection's first byte says what
 * it wants: 'e' echo; 'b' blocks: then, repeatedly, one byte 'u' or 'd' and
 * 8 bytes of length: 'u' reads that many bytes and answers one byte, 'd'
 * sends that many.  Those are served by a forked child.  A connection that
 * sends nothing is held until the peer closes.  With greet, every accepted
 * connection gets one byte.
 */
static void serve_one(int fd, char cmd)
{
	unsigned long long len;
	ssize_t n;
	size_t c;
	char op;

	if (cmd == 'e') {
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			write_all(fd, buf, n);
		return;
	}
	while (read(fd, &op, 1) == 1) {
		read_all(fd, &len, sizeof(len));
		while (len) {
			c = len < sizeof(buf) ? len : sizeof(buf);
			if (op == 'u') {
				n = read(fd, buf, c);
				if (n <= 0)
					return;
				len -= n;
			} else {
				write_all(fd, buf, c);
				len -= c;
			}
		}
		if (op == 'u')
			write_all(fd, "k", 1);
	}
}

static void __attribute__((noreturn)) server_run(const int *lfds, int n_lfd, bool greet)
{
	struct epoll_event ev = { .events = EPOLLIN }, evs[64];
	int ep, i, k, n, fd, lfd;
	char cmd;

	signal(SIGCHLD, SIG_IGN);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		die("epoll_create1");
	for (k = 0; k < n_lfd; k++) {
		ev.data.fd = lfds[k];
		if (epoll_ctl(ep, EPOLL_CTL_ADD, lfds[k], &ev))
			die("epoll_ctl");
	}
	for (;;) {
		n = epoll_wait(ep, evs, 64, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("epoll_wait");
		for (i = 0; i < n; i++) {
			for (k = 0; k < n_lfd && evs[i].data.fd != lfds[k]; k++)
				;
			if (k < n_lfd) {
				lfd = lfds[k];
				while ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
					int one = 1;

					/* A peer may be gone already: no error is fatal. */
					setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
					if (greet && send(fd, "h", 1, MSG_DONTWAIT) != 1) {
						close(fd);
						continue;
					}
					ev.data.fd = fd;
					if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev))
						die("epoll_ctl");
				}
				if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
					die("accept");
				continue;
			}
			fd = evs[i].data.fd;
			if (recv(fd, &cmd, 1, 0) == 1 &&
			    (cmd == 'e' || cmd == 'b')) {
				pid_t pid = fork();

				if (pid < 0)
					die("fork");
				if (pid == 0) {
					prctl(PR_SET_PDEATHSIG, SIGKILL);
					close(ep);
					for (k = 0; k < n_lfd; k++)
						close(lfds[k]);
					serve_one(fd, cmd);
					_exit(0);
				}
			}
			/* End of stream, an error, or handed to a child. */
			close(fd);
		}
	}
}

void enter_netns(const char *name)
{
	char path[256];
	int fd;

	if (strchr(name, '/'))
		snprintf(path, sizeof(path), "%s", name);
	else
		snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("open %s", path);
	if (setns(fd, CLONE_NEWNET))
		die("setns %s", path);
	close(fd);
}

/* A listener of @protocol on [::]:port, both families. */
int server_listen(int protocol, int port)
{
	struct sockaddr_in6 sin6 = {
		.sin6_family = AF_INET6,
		.sin6_addr = IN6ADDR_ANY_INIT,
		.sin6_port = htons(port),
	};
	int lfd, zero = 0, one = 1;
	const char *name = protocol == IPPROTO_SCTP ? "SCTP" : "TCP";

	lfd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
	if (lfd < 0)
		die("server %s socket", name);
	if (setsockopt(lfd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
		die("server %s setsockopt", name);
	if (bind(lfd, (struct sockaddr *)&sin6, sizeof(sin6)))
		die("server %s bind [::]:%d", name, port);
	if (listen(lfd, 4096))
		die("server %s listen", name);
	return lfd;
}

/* The plain TCP server; with sctp, an SCTP listener on the same port too. */
static pid_t server_start_sctp(const char *netns, int port, bool greet, bool sctp)
{
	int pfd[2], lfds[2], n_lfd = 0;
	pid_t pid;
	char c;

	if (pipe2(pfd, O_CLOEXEC))
		die("pipe");
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		close(pfd[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		pin_to(0);
		if (netns)
			enter_netns(netns);
		lfds[n_lfd++] = server_listen(IPPROTO_TCP, port);
		if (sctp)
			lfds[n_lfd++] = server_listen(IPPROTO_SCTP, port);
		write_all(pfd[1], "r", 1);
		close(pfd[1]);
		server_run(lfds, n_lfd, greet);
	}
	close(pfd[1]);
	if (read(pfd[0], &c, 1) != 1) {
		errno = 0;
		die("the server did not start");
	}
	close(pfd[0]);
	pin_to(0);
	return pid;
}

static pid_t server_start(const char *netns, int port, bool greet)
{
	return server_start_sctp(netns, port, greet, false);
}

static void server_stop(pid_t pid)
{
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

struct common {
	const char	*netns;
	const char	*label;
	int		rounds;
	int		count;
	bool		isolate;	/* connect -i */
	struct target	t;
};

static void parse_common(struct common *c, int argc, char **argv, const char *opts,
			 int def_rounds, int def_count)
{
	int opt;

	c->netns = NULL;
	c->label = NULL;
	c->rounds = def_rounds;
	c->count = def_count;
	c->isolate = false;
	while ((opt = getopt(argc, argv, opts)) != -1) {
		switch (opt) {
		case 'n':
			c->netns = optarg;
			break;
		case 'l':
			c->label = optarg;
			break;
		case 'p':
			pin = true;
			break;
		case 'i':
			c->isolate = true;
			break;
		case 'D':
			defaults = true;
			break;
		case 'r':
			c->rounds = parse_int(optarg, 1, MAX_ROUNDS);
			break;
		case 'b':
		case 'c':
		case 's':
			c->count = parse_int(optarg, 1, 1000000);
			break;
		default:
			errno = 0;
			die("bad option (see the comment at the top of tools/bench/bench.c)");
		}
	}
	if (argc - optind != 2) {
		errno = 0;
		die("%s: ADDR PORT expected", argv[0]);
	}
	parse_target(&c->t, argv[optind], argv[optind + 1]);
	if (!c->label)
		c->label = c->netns ? "veth" : "loopback";
}

/*
 * 1. socket(), connect(), close(), timed one by one.  A round makes BATCH
 * connections of each kind, alternating AF_TAPS and TCP connection by
 * connection; its ratio is that of the two medians, so that the moments
 * the emulator's host deschedules the guest do not count.  With -i the
 * two kinds are AF_TAPS (cached state on, as by default) and AF_TAPS with
 * TAPS_ISOLATE: what looking the destination up in the cache and
 * recording the win costs a connect() that races one candidate.
 */
/* Phases of one connection: socket() (and TAPS_PROTOCOLS), connect(), close() */
enum { PH_SOCKET, PH_CONNECT, PH_CLOSE, PH_N };
static double *phase[2][PH_N];	/* [side][phase], every sample of the run */
static int n_phase[2];

/* What a connect() sample opens: side 1 is measured against side 0. */
enum { K_TCP, K_TAPS, K_ISOLATED };
static int kinds[2] = { K_TCP, K_TAPS };

static double connect_once(int side, const struct target *t)
{
	bool taps = kinds[side] != K_TCP;
	double t0, t1, t2, t3;
	int fd;

	t0 = now_us();
	fd = client_socket(taps, t->ss.ss_family);
	if (kinds[side] == K_ISOLATED)
		set_isolate(fd);
	t1 = now_us();
	if (connect(fd, (const struct sockaddr *)&t->ss, t->len))
		die("%s connect", taps ? "AF_TAPS" : "TCP");
	t2 = now_us();
	close(fd);
	t3 = now_us();
	if (phase[side][0]) {
		phase[side][PH_SOCKET][n_phase[side]] = t1 - t0;
		phase[side][PH_CONNECT][n_phase[side]] = t2 - t1;
		phase[side][PH_CLOSE][n_phase[side]++] = t3 - t2;
	}
	return t3 - t0;
}

static int cmd_connect(int argc, char **argv)
{
	double taps[MAX_ROUNDS], tcp[MAX_ROUNDS], ratio[MAX_ROUNDS], r;
	double *s_taps, *s_tcp, *all_taps, *all_tcp;
	const char *name[2] = { "TCP", "AF_TAPS" };
	struct common c;
	int i, j, k, n = 0;
	pid_t srv;

	parse_common(&c, argc, argv, "n:l:pr:b:iD", 10, 50);
	if (c.isolate) {
		kinds[0] = K_ISOLATED;
		name[0] = "TAPS_ISOLATE";
		name[1] = "cache on";
	}
	s_taps = alloc_samples(c.count);
	s_tcp = alloc_samples(c.count);
	all_taps = alloc_samples(c.rounds * c.count);
	all_tcp = alloc_samples(c.rounds * c.count);
	srv = server_start(c.netns, ntohs(((struct sockaddr_in *)&c.t.ss)->sin_port), false);

	j = dial(true, &c.t);
	check_taps_info(j, c.t.ss.ss_family);
	close(j);
	for (j = 0; j < 20; j++) {
		connect_once(1, &c.t);
		connect_once(0, &c.t);
	}
	for (i = 0; i < 2; i++)
		for (k = 0; k < PH_N; k++)
			phase[i][k] = alloc_samples(c.rounds * c.count);

	for (i = 0; i < c.rounds; i++) {
		for (j = 0; j < c.count; j++) {
			if ((i + j) % 2) {
				s_tcp[j] = connect_once(0, &c.t);
				s_taps[j] = connect_once(1, &c.t);
			} else {
				s_taps[j] = connect_once(1, &c.t);
				s_tcp[j] = connect_once(0, &c.t);
			}
			all_taps[n] = s_taps[j];
			all_tcp[n++] = s_tcp[j];
		}
		taps[i] = median_sort(s_taps, c.count);
		tcp[i] = median_sort(s_tcp, c.count);
		ratio[i] = taps[i] / tcp[i];
		printf("connect %s round %d: median %s %.1f us, %s %.1f us, ratio %.3f\n",
		       c.label, i + 1, name[1], taps[i], name[0], tcp[i], ratio[i]);
	}
	server_stop(srv);
	r = median(ratio, c.rounds);
	printf("connect %s: mean %s %.1f us, %s %.1f us over %d connects each\n",
	       c.label, name[1], mean(all_taps, n), name[0], mean(all_tcp, n), n);
	printf("connect %s: median socket() %.1f / %.1f us, connect() %.1f / %.1f us, close() %.1f / %.1f us (%s / %s)\n",
	       c.label,
	       median_sort(phase[1][PH_SOCKET], n), median_sort(phase[0][PH_SOCKET], n),
	       median_sort(phase[1][PH_CONNECT], n), median_sort(phase[0][PH_CONNECT], n),
	       median_sort(phase[1][PH_CLOSE], n), median_sort(phase[0][PH_CLOSE], n),
	       name[1], name[0]);
	if (c.isolate)
		summary("connect latency %s, AF_TAPS cache on vs TAPS_ISOLATE: cached/isolated = %.2f (cache on %.0f us, isolated %.0f us median; means %.0f, %.0f us; %d connects)",
			c.label, r, median_sort(all_taps, n), median_sort(all_tcp, n),
			mean(all_taps, n), mean(all_tcp, n), n);
	else
		summary("connect latency %s, %s: AF_TAPS/TCP = %.2f (taps %.0f us, tcp %.0f us median; means %.0f, %.0f us; %d connects) [goal <= 1.05: %s]",
			c.label, defaults ? "default properties" : "TAPS_PROTOCOLS TCP", r,
			median_sort(all_taps, n), median_sort(all_tcp, n),
			mean(all_taps, n), mean(all_tcp, n), n, goal(r, 1.05, true));
	for (i = 0; i < 2; i++)
		for (k = 0; k < PH_N; k++)
			free(phase[i][k]);
	free(s_taps);
	free(s_tcp);
	free(all_taps);
	free(all_tcp);
	return 0;
}

/*
 * 2. First candidate blackholed, the second works.  Times in ms.  The
 * AF_TAPS socket sets TAPS_ISOLATE: otherwise the cached state of the
 * namespace would put the IPv4 candidate first from the second round on,
 * and the figure would be a plain connect, not a race (the cache has its
 * own benchmark, below).
 */
static double failover_taps(const struct target *t6, const struct target *t4, int delay,
			    struct taps_info *ti)
{
	socklen_t len = sizeof(*ti);
	struct taps_endpoint ep;
	double t0, dt;
	int fd;

	fd = client_socket(true, 0);
	memset(&ep, 0, sizeof(ep));
	memcpy(&ep, &t4->ss, t4->len);
	if (setsockopt(fd, SOL_TAPS, TAPS_REMOTE_ENDPOINTS, &ep, sizeof(ep)))
		die("setsockopt(TAPS_REMOTE_ENDPOINTS)");
	if (delay && setsockopt(fd, SOL_TAPS, TAPS_ATTEMPT_DELAY, &delay, sizeof(delay)))
		die("setsockopt(TAPS_ATTEMPT_DELAY)");
	set_isolate(fd);
	t0 = now_us();
	if (connect(fd, (const struct sockaddr *)&t6->ss, t6->len))
		die("AF_TAPS connect");
	dt = now_us() - t0;
	check_taps_info(fd, AF_INET);
	if (getsockopt(fd, SOL_TAPS, TAPS_INFO, ti, &len))
		die("getsockopt(TAPS_INFO)");
	errno = 0;
	if ((ti->ti_flags & (TAPS_INFO_F_ISOLATED | TAPS_INFO_F_CACHED)) != TAPS_INFO_F_ISOLATED)
		die("AF_TAPS failover: TAPS_INFO flags %#x, expected isolated, not cached",
		    ti->ti_flags);
	close(fd);
	return dt / 1000;
}

static double failover_seq(const struct target *const *t, int n, int timeout_ms)
{
	double t0 = now_us();
	struct pollfd pfd;
	socklen_t len;
	int i, fd, err;

	for (i = 0; i < n; i++) {
		fd = socket(t[i]->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			die("socket");
		if (connect(fd, (const struct sockaddr *)&t[i]->ss, t[i]->len) &&
		    errno != EINPROGRESS) {
			close(fd);
			continue;
		}
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, timeout_ms) == 1) {
			len = sizeof(err);
			if (!getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) && !err) {
				close(fd);
				if (i != n - 1) {
					errno = 0;
					die("sequential connect: candidate %d was meant to be blackholed", i);
				}
				return (now_us() - t0) / 1000;
			}
		}
		close(fd);
	}
	errno = 0;
	die("sequential connect: no candidate connected");
}

static double failover_curl(const char *a6, const char *a4, int port, int he_ms)
{
	char resolve[256], url[128], he[16], out[64];
	int pfd[2], status;
	double v;
	ssize_t n;
	pid_t pid;

	snprintf(resolve, sizeof(resolve), "bench.test:%d:[%s],%s", port, a6, a4);
	snprintf(url, sizeof(url), "http://bench.test:%d/", port);
	snprintf(he, sizeof(he), "%d", he_ms);
	if (pipe2(pfd, O_CLOEXEC))
		die("pipe");
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		dup2(pfd[1], 1);
		execlp("curl", "curl", "-sS", "-o", "/dev/null", "--max-time", "10",
		       "-w", "%{time_connect} %{remote_ip}", "--happy-eyeballs-timeout-ms", he,
		       "--resolve", resolve, url, (char *)NULL);
		die("exec curl");
	}
	close(pfd[1]);
	n = read(pfd[0], out, sizeof(out) - 1);
	close(pfd[0]);
	if (waitpid(pid, &status, 0) < 0)
		die("waitpid");
	errno = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) || n <= 0)
		die("curl %s failed", url);
	out[n] = 0;
	if (!strstr(out, a4))
		die("curl connected elsewhere than %s: %s", a4, out);
	v = strtod(out, NULL);
	return v * 1000;
}

static int cmd_failover(int argc, char **argv)
{
	double taps[MAX_ROUNDS], curl[MAX_ROUNDS], seq[MAX_ROUNDS];
	int opt, i, rounds = 5, delay = 0, timeout = 1000, port;
	const struct target *order[2];
	struct target t6, t4;
	struct taps_info ti;

	while ((opt = getopt(argc, argv, "Dr:d:t:")) != -1) {
		switch (opt) {
		case 'D':
			defaults = true;
			break;
		case 'r':
			rounds = parse_int(optarg, 1, MAX_ROUNDS);
			break;
		case 'd':
			delay = parse_int(optarg, 10, 2000);
			break;
		case 't':
			timeout = parse_int(optarg, 1, 60000);
			break;
		default:
			errno = 0;
			die("bad option");
		}
	}
	if (argc - optind != 3) {
		errno = 0;
		die("failover: ADDR6 ADDR4 PORT expected");
	}
	parse_target(&t6, argv[optind], argv[optind + 2]);
	parse_target(&t4, argv[optind + 1], argv[optind + 2]);
	if (t6.ss.ss_family != AF_INET6 || t4.ss.ss_family != AF_INET) {
		errno = 0;
		die("failover: an IPv6 then an IPv4 address");
	}
	port = parse_int(argv[optind + 2], 1, 65535);
	order[0] = &t6;
	order[1] = &t4;

	for (i = 0; i < rounds; i++) {
		taps[i] = failover_taps(&t6, &t4, delay, &ti);
		curl[i] = failover_curl(argv[optind], argv[optind + 1], port, delay ?: 250);
		seq[i] = failover_seq(order, 2, timeout);
		printf("failover round %d: AF_TAPS (TAPS_ISOLATE) %.1f ms (TAPS_INFO: %.1f ms, %u candidates, %u attempts, %u failed, winner %u), curl %.1f ms, sequential %.1f ms\n",
		       i + 1, taps[i], ti.ti_connect_us / 1000.0, ti.ti_candidates, ti.ti_attempts,
		       ti.ti_failed, ti.ti_winner, curl[i], seq[i]);
	}
	summary("time to connect, first candidate (IPv6) blackholed: AF_TAPS %.1f ms, curl %.1f ms, AF_TAPS/curl %.2f, sequential connect() %.0f ms (median of %d; AF_TAPS %s, with TAPS_ISOLATE, racing every round; attempt delay %d ms, curl happy eyeballs %d ms, %d ms per-attempt timeout)",
		median(taps, rounds), median(curl, rounds),
		median(taps, rounds) / median(curl, rounds), median(seq, rounds), rounds,
		defaults ? "default properties (TCP and SCTP)" : "TAPS_PROTOCOLS TCP",
		delay ?: 250, delay ?: 250, timeout);
	return 0;
}

/*
 * 2b. Cached state.  Each round empties the namespace's cache ("tapsctl
 * cache flush"), then makes the same AF_TAPS connection twice, one after
 * the other: the first races with its first candidate blackholed and
 * waits the attempt delay; the second finds the first one's winner in the
 * cache and tries it first.  Both are timed around connect(), in ms.
 */
void cache_flush(const char *tapsctl)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		execl(tapsctl, tapsctl, "cache", "flush", (char *)NULL);
		die("exec %s", tapsctl);
	}
	if (waitpid(pid, &status, 0) < 0)
		die("waitpid");
	errno = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		die("%s cache flush failed", tapsctl);
}

static double cache_connect(const struct target *t, const struct target *alt, int protocols,
			    int delay, struct taps_info *ti)
{
	socklen_t len = sizeof(*ti);
	struct taps_endpoint ep;
	double t0, dt;
	int fd;

	fd = socket(af_taps, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket(AF_TAPS=%d)", af_taps);
	if (!defaults && setsockopt(fd, SOL_TAPS, TAPS_PROTOCOLS, &protocols, sizeof(protocols)))
		die("setsockopt(TAPS_PROTOCOLS)");
	if (alt) {
		memset(&ep, 0, sizeof(ep));
		memcpy(&ep, &alt->ss, alt->len);
		if (setsockopt(fd, SOL_TAPS, TAPS_REMOTE_ENDPOINTS, &ep, sizeof(ep)))
			die("setsockopt(TAPS_REMOTE_ENDPOINTS)");
	}
	if (delay && setsockopt(fd, SOL_TAPS, TAPS_ATTEMPT_DELAY, &delay, sizeof(delay)))
		die("setsockopt(TAPS_ATTEMPT_DELAY)");
	t0 = now_us();
	if (connect(fd, (const struct sockaddr *)&t->ss, t->len))
		die("AF_TAPS connect");
	dt = now_us() - t0;
	if (getsockopt(fd, SOL_TAPS, TAPS_INFO, ti, &len))
		die("getsockopt(TAPS_INFO)");
	errno = 0;
	if (ti->ti_state != TAPS_STATE_ESTABLISHED)
		die("AF_TAPS socket is %s after connect()", taps_state_name(ti->ti_state));
	close(fd);
	return dt / 1000;
}

static const char *family_name(unsigned int family)
{
	return family == AF_INET ? "IPv4" : family == AF_INET6 ? "IPv6" : "?";
}

static int cmd_cache(int argc, char **argv)
{
	double first[MAX_ROUNDS], second[MAX_ROUNDS], ratio[MAX_ROUNDS];
	const char *netns = NULL, *label = "cache", *tapsctl = "tapsctl", *alt_addr = NULL;
	int opt, i, rounds = 11, delay = 0, protocols = TAPS_P_TCP, port;
	int n_slow = 0, n_cached = 0, n_same = 0;
	struct taps_info ti1, ti2;
	struct target t, alt;
	unsigned int d = 0;
	pid_t srv;

	while ((opt = getopt(argc, argv, "n:l:r:d:e:SDT:")) != -1) {
		switch (opt) {
		case 'n':
			netns = optarg;
			break;
		case 'l':
			label = optarg;
			break;
		case 'r':
			rounds = parse_int(optarg, 1, MAX_ROUNDS);
			break;
		case 'd':
			delay = parse_int(optarg, 10, 2000);
			break;
		case 'e':
			alt_addr = optarg;
			break;
		case 'S':
			protocols |= TAPS_P_SCTP;
			break;
		case 'D':
			defaults = true;
			protocols |= TAPS_P_SCTP;	/* the default: serve SCTP too */
			break;
		case 'T':
			tapsctl = optarg;
			break;
		default:
			errno = 0;
			die("bad option (see the comment at the top of tools/bench/bench.c)");
		}
	}
	if (argc - optind != 2) {
		errno = 0;
		die("cache: ADDR PORT expected");
	}
	parse_target(&t, argv[optind], argv[optind + 1]);
	if (alt_addr)
		parse_target(&alt, alt_addr, argv[optind + 1]);
	port = parse_int(argv[optind + 1], 1, 65535);
	srv = server_start_sctp(netns, port, false, protocols & TAPS_P_SCTP);

	for (i = 0; i < rounds; i++) {
		cache_flush(tapsctl);
		first[i] = cache_connect(&t, alt_addr ? &alt : NULL, protocols, delay, &ti1);
		second[i] = cache_connect(&t, alt_addr ? &alt : NULL, protocols, delay, &ti2);
		ratio[i] = first[i] / second[i];
		errno = 0;
		if (ti1.ti_flags & TAPS_INFO_F_CACHED)
			die("cache: the first connect after a flush had cached state");
		d = ti1.ti_attempt_delay_ms;
		n_slow += first[i] >= d;
		n_cached += (ti2.ti_flags & TAPS_INFO_F_CACHED) && ti2.ti_winner == 0;
		n_same += ti2.ti_protocol == ti1.ti_protocol &&
			  ti2.ti_remote.ss_family == ti1.ti_remote.ss_family;
		printf("cache %s round %d: first %.1f ms (%s over %s, %u attempts, winner %u, flags %#x), second %.1f ms (%s over %s, %u attempts, winner %u, flags %#x%s), ratio %.1f\n",
		       label, i + 1,
		       first[i], taps_protocol_name(ti1.ti_protocol), family_name(ti1.ti_remote.ss_family),
		       ti1.ti_attempts, ti1.ti_winner, ti1.ti_flags,
		       second[i], taps_protocol_name(ti2.ti_protocol), family_name(ti2.ti_remote.ss_family),
		       ti2.ti_attempts, ti2.ti_winner, ti2.ti_flags,
		       ti2.ti_flags & TAPS_INFO_F_CACHED ? " cached" : "", ratio[i]);
	}
	server_stop(srv);
	summary("cached state, %s: first connect %.0f ms, second %.1f ms, first/second = %.0f (median of %d rounds, cache flushed before each; first >= %u ms attempt delay in %d of %d, second cached and won by its first candidate in %d of %d, same winner in %d of %d)",
		label, median(first, rounds), median(second, rounds), median(ratio, rounds), rounds,
		d, n_slow, rounds, n_cached, rounds, n_same, rounds);
	return 0;
}

/*
 * 3. Bulk transfer.  One AF_TAPS and one TCP connection per round and
 * direction; each moves MIB MiB in blocks of BULK_BLOCK MiB, the two
 * alternating block by block, so that the emulator's slow moments (which
 * last seconds) fall on both.  A block is timed from its request to its
 * last byte (down) or to the server's one-byte answer (up).  Rates from the
 * median block time, in MiB/s.
 */
#define BULK_BLOCK	1

static double bulk_block(int fd, bool up)
{
	unsigned long long len = BULK_BLOCK << 20, done = 0;
	char hdr[9], c;
	double t0;
	size_t chunk;
	ssize_t n;

	hdr[0] = up ? 'u' : 'd';
	memcpy(hdr + 1, &len, sizeof(len));
	t0 = now_us();
	write_all(fd, hdr, sizeof(hdr));
	while (done < len) {
		chunk = len - done < sizeof(buf) ? len - done : sizeof(buf);
		if (up) {
			write_all(fd, buf, chunk);
			done += chunk;
			continue;
		}
		n = read(fd, buf, chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("read");
		if (n == 0) {
			errno = 0;
			die("received %llu bytes of %llu", done, len);
		}
		done += n;
	}
	if (up)
		read_all(fd, &c, 1);
	return now_us() - t0;
}

static int bulk_open(bool taps, const struct target *t, bool up)
{
	int fd = dial(taps, t);

	write_all(fd, "b", 1);
	bulk_block(fd, up);
	return fd;
}

static void bulk_round(const struct target *t, int mib, bool up, int round,
		       double *taps, double *tcp, double *v_taps, double *v_tcp)
{
	int j, n = mib / BULK_BLOCK;
	int fd_taps = bulk_open(true, t, up);
	int fd_tcp = bulk_open(false, t, up);

	for (j = 0; j < n; j++) {
		if ((j + round) % 2) {
			v_tcp[j] = bulk_block(fd_tcp, up);
			v_taps[j] = bulk_block(fd_taps, up);
		} else {
			v_taps[j] = bulk_block(fd_taps, up);
			v_tcp[j] = bulk_block(fd_tcp, up);
		}
	}
	close(fd_taps);
	close(fd_tcp);
	*taps = BULK_BLOCK * 1e6 / median_sort(v_taps, n);
	*tcp = BULK_BLOCK * 1e6 / median_sort(v_tcp, n);
}

static int cmd_bulk(int argc, char **argv)
{
	double taps[2][MAX_ROUNDS], tcp[2][MAX_ROUNDS], ratio[2][MAX_ROUNDS];
	static const char * const dir[2] = { "client->server", "server->client" };
	double *v_taps, *v_tcp;
	struct common c;
	int i, d;
	pid_t srv;

	parse_common(&c, argc, argv, "n:l:pr:s:", 5, 64);
	errno = 0;
	if (c.count < 2 * BULK_BLOCK || c.count % BULK_BLOCK)
		die("bulk: a multiple of %d MiB, at least %d", BULK_BLOCK, 2 * BULK_BLOCK);
	v_taps = alloc_samples(c.count / BULK_BLOCK);
	v_tcp = alloc_samples(c.count / BULK_BLOCK);
	memset(buf, 'x', sizeof(buf));
	srv = server_start(c.netns, ntohs(((struct sockaddr_in *)&c.t.ss)->sin_port), false);

	for (i = 0; i < c.rounds; i++) {
		for (d = 0; d < 2; d++) {
			bulk_round(&c.t, c.count, !d, i, &taps[d][i], &tcp[d][i], v_taps, v_tcp);
			ratio[d][i] = taps[d][i] / tcp[d][i];
			printf("bulk %s %s round %d: AF_TAPS %.1f MiB/s, TCP %.1f MiB/s, ratio %.3f\n",
			       c.label, dir[d], i + 1, taps[d][i], tcp[d][i], ratio[d][i]);
		}
	}
	server_stop(srv);
	for (d = 0; d < 2; d++) {
		double r = median(ratio[d], c.rounds);

		summary("bulk throughput %s %s: AF_TAPS/TCP = %.2f (taps %.0f MiB/s, tcp %.0f MiB/s, %d x %d MiB) [goal >= 0.97: %s]",
			c.label, dir[d], r, median(taps[d], c.rounds), median(tcp[d], c.rounds),
			c.rounds, c.count, goal(r, 0.97, false));
	}
	free(v_taps);
	free(v_tcp);
	return 0;
}

/*
 * 4. One-byte request/response.  One AF_TAPS and one TCP connection stay
 * open; a round times COUNT round trips on each, one by one, alternating
 * between the two.  Rates from the median round trip.
 */
static double rr_one(int fd)
{
	double t0 = now_us();
	char c = 'p';

	write_all(fd, &c, 1);
	read_all(fd, &c, 1);
	return now_us() - t0;
}

static int rr_open(bool taps, const struct target *t)
{
	int fd = dial(taps, t), i;

	set_nodelay(fd);
	write_all(fd, "e", 1);
	for (i = 0; i < 200; i++)
		rr_one(fd);
	return fd;
}

static int cmd_rr(int argc, char **argv)
{
	double taps[MAX_ROUNDS], tcp[MAX_ROUNDS], ratio[MAX_ROUNDS], r, *v_taps, *v_tcp;
	int i, j, fd_taps, fd_tcp;
	struct common c;
	pid_t srv;

	parse_common(&c, argc, argv, "n:l:pr:c:", 10, 5000);
	v_taps = alloc_samples(c.count);
	v_tcp = alloc_samples(c.count);
	srv = server_start(c.netns, ntohs(((struct sockaddr_in *)&c.t.ss)->sin_port), false);
	fd_taps = rr_open(true, &c.t);
	fd_tcp = rr_open(false, &c.t);
	for (i = 0; i < c.rounds; i++) {
		for (j = 0; j < c.count; j++) {
			if ((i + j) % 2) {
				v_tcp[j] = rr_one(fd_tcp);
				v_taps[j] = rr_one(fd_taps);
			} else {
				v_taps[j] = rr_one(fd_taps);
				v_tcp[j] = rr_one(fd_tcp);
			}
		}
		taps[i] = 1e6 / median_sort(v_taps, c.count);
		tcp[i] = 1e6 / median_sort(v_tcp, c.count);
		ratio[i] = taps[i] / tcp[i];
		printf("request/response %s round %d: AF_TAPS %.0f/s, TCP %.0f/s, ratio %.3f\n",
		       c.label, i + 1, taps[i], tcp[i], ratio[i]);
	}
	close(fd_taps);
	close(fd_tcp);
	server_stop(srv);
	r = median(ratio, c.rounds);
	summary("request/response %s, 1 byte: AF_TAPS/TCP = %.2f (taps %.0f/s, tcp %.0f/s, %d x %d round trips) [goal >= 0.95: %s]",
		c.label, r, median(taps, c.rounds), median(tcp, c.rounds), c.rounds, c.count,
		goal(r, 0.95, false));
	free(v_taps);
	free(v_tcp);
	return 0;
}

/*
 * 5. Slab memory per established connection, both ends, the whole system:
 * the sum of active_objs * objsize over /proc/slabinfo.
 */
struct slab {
	char			name[64];
	long long		bytes;
};

static struct slab slab_names[MAX_SLABS];
static int n_slab_names;
static long long slab_delta[2][MAX_SLABS];	/* [taps], summed over rounds */

static int slab_index(const char *name)
{
	int i;

	for (i = 0; i < n_slab_names; i++)
		if (!strcmp(slab_names[i].name, name))
			return i;
	if (n_slab_names == MAX_SLABS) {
		errno = 0;
		die("more than %d slab caches", MAX_SLABS);
	}
	snprintf(slab_names[i].name, sizeof(slab_names[i].name), "%s", name);
	return n_slab_names++;
}

/*
 * SLUB counts the objects of the per-CPU slabs as active, free or not:
 * flush those first (the "shrink" attribute), so that active_objs is the
 * number of objects in use.
 */
static void slab_shrink_all(void)
{
	char path[512];
	struct dirent *d;
	DIR *dir;
	int fd;

	dir = opendir("/sys/kernel/slab");
	if (!dir)
		return;
	while ((d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/kernel/slab/%s/shrink", d->d_name);
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		/* A cache that cannot shrink is counted as it is. */
		if (write(fd, "1", 1) != 1)
			errno = 0;
		close(fd);
	}
	closedir(dir);
}

/* Fills bytes[] per cache (indexed by slab_index()), returns the sum. */
static long long slab_read(long long *bytes)
{
	unsigned long active, total, size;
	char line[512], name[64];
	long long sum = 0;
	FILE *f;

	slab_shrink_all();
	memset(bytes, 0, MAX_SLABS * sizeof(*bytes));
	f = fopen("/proc/slabinfo", "re");
	if (!f)
		die("/proc/slabinfo");
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#' || !strncmp(line, "slabinfo", 8))
			continue;
		if (sscanf(line, "%63s %lu %lu %lu", name, &active, &total, &size) != 4)
			continue;
		bytes[slab_index(name)] = (long long)active * size;
		sum += (long long)active * size;
	}
	fclose(f);
	return sum;
}

static void settle(void)
{
	/* RCU-freed sockets and files, deferred fput: let them go. */
	usleep(1500 * 1000);
}

static double mem_once(bool taps, const struct target *t, int n, int *fds)
{
	static long long before[MAX_SLABS], after[MAX_SLABS];
	long long b, a;
	int i;
	char c;

	settle();
	b = slab_read(before);
	for (i = 0; i < n; i++) {
		fds[i] = dial(taps, t);
		read_all(fds[i], &c, 1);
	}
	settle();
	a = slab_read(after);
	for (i = 0; i < n_slab_names; i++)
		slab_delta[taps][i] += after[i] - before[i];
	for (i = 0; i < n; i++)
		close_abort(fds[i]);
	return (double)(a - b) / n;
}

static int cmp_delta(const void *a, const void *b)
{
	const int x = *(const int *)a, y = *(const int *)b;
	long long dx = llabs(slab_delta[1][x] - slab_delta[0][x]);
	long long dy = llabs(slab_delta[1][y] - slab_delta[0][y]);

	return dx < dy ? 1 : dx > dy ? -1 : 0;
}

static void slab_object_size(const char *cache)
{
	char path[128], link[256];
	unsigned long size = 0;
	ssize_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/kernel/slab/%s/object_size", cache);
	f = fopen(path, "re");
	if (!f) {
		printf("memory: no %s slab cache in /sys/kernel/slab\n", cache);
		return;
	}
	if (fscanf(f, "%lu", &size) != 1)
		size = 0;
	fclose(f);
	snprintf(path, sizeof(path), "/sys/kernel/slab/%s", cache);
	n = readlink(path, link, sizeof(link) - 1);
	if (n > 0) {
		link[n] = 0;
		printf("memory: slab cache %s: object size %lu, merged into %s\n", cache, size, link);
	} else {
		printf("memory: slab cache %s: object size %lu\n", cache, size);
	}
}

static int cmd_mem(int argc, char **argv)
{
	double taps[MAX_ROUNDS], tcp[MAX_ROUNDS], diff[MAX_ROUNDS];
	int idx[MAX_SLABS], i, *fds;
	struct common c;
	pid_t srv;

	parse_common(&c, argc, argv, "n:l:pr:c:", 3, 500);
	fds = calloc(c.count, sizeof(*fds));
	if (!fds)
		die("calloc");
	srv = server_start(c.netns, ntohs(((struct sockaddr_in *)&c.t.ss)->sin_port), true);
	/* Warm the caches up: the first connections grow them. */
	mem_once(true, &c.t, c.count, fds);
	mem_once(false, &c.t, c.count, fds);
	memset(slab_delta, 0, sizeof(slab_delta));

	for (i = 0; i < c.rounds; i++) {
		if (i % 2) {
			tcp[i] = mem_once(false, &c.t, c.count, fds);
			taps[i] = mem_once(true, &c.t, c.count, fds);
		} else {
			taps[i] = mem_once(true, &c.t, c.count, fds);
			tcp[i] = mem_once(false, &c.t, c.count, fds);
		}
		diff[i] = taps[i] - tcp[i];
		printf("memory round %d: AF_TAPS %.0f B, TCP %.0f B per connection, difference %.0f B\n",
		       i + 1, taps[i], tcp[i], diff[i]);
	}
	server_stop(srv);
	free(fds);

	slab_object_size("TAPS");
	for (i = 0; i < n_slab_names; i++)
		idx[i] = i;
	qsort(idx, n_slab_names, sizeof(idx[0]), cmp_delta);
	printf("memory: caches that differ most, bytes per connection (mean of %d rounds):\n",
	       c.rounds);
	for (i = 0; i < n_slab_names && i < 8; i++) {
		double dt = (double)slab_delta[1][idx[i]] / c.rounds / c.count;
		double dc = (double)slab_delta[0][idx[i]] / c.rounds / c.count;

		if (dt - dc < 8 && dc - dt < 8)
			break;
		printf("  %-24s AF_TAPS %7.0f  TCP %7.0f  difference %7.0f\n",
		       slab_names[idx[i]].name, dt, dc, dt - dc);
	}
	summary("memory per established connection (slab, both ends): AF_TAPS %.0f B, TCP %.0f B, AF_TAPS extra %.0f B (median of %d x %d connections)",
		median(taps, c.rounds), median(tcp, c.rounds), median(diff, c.rounds),
		c.rounds, c.count);
	return 0;
}

/*
 * 6. accept() rate.  One server process accepts and closes (RST, so that
 * nothing lingers in TIME_WAIT) as fast as it can, on an AF_TAPS listener
 * with the default properties (a TCP and an SCTP listener) or on a plain
 * TCP listener; CLIENTS threads connect with plain TCP and wait for the
 * close, over and over, for SECONDS.  Rounds alternate the two kinds.
 */
static volatile int accept_stop;
static struct target accept_t;
static long accept_done[1024];

static void *accept_client(void *arg)
{
	long *done = arg;
	char c;
	int fd;

	while (!accept_stop) {
		fd = socket(accept_t.ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			die("client socket");
		if (connect(fd, (const struct sockaddr *)&accept_t.ss, accept_t.len)) {
			close(fd);
			continue;
		}
		/* Served: the server closed (EOF or RST). */
		if (read(fd, &c, 1) <= 0)
			(*done)++;
		close(fd);
	}
	return NULL;
}

static pid_t accept_server(bool taps, const char *netns, int port)
{
	struct sockaddr_in6 sin6 = {
		.sin6_family = AF_INET6,
		.sin6_addr = IN6ADDR_ANY_INIT,
		.sin6_port = htons(port),
	};
	struct linger l = { 1, 0 };
	int pfd[2], lfd, fd, one = 1;
	pid_t pid;
	char c;

	if (pipe2(pfd, O_CLOEXEC))
		die("pipe");
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		close(pfd[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (netns)
			enter_netns(netns);
		if (taps) {
			struct sockaddr_taps st = { .stap_family = af_taps,
						    .stap_port = htons(port) };

			lfd = socket(af_taps, SOCK_STREAM | SOCK_CLOEXEC, 0);
			if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
			    bind(lfd, (struct sockaddr *)&st, sizeof(st)))
				die("AF_TAPS listener");
		} else {
			lfd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
			if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
			    bind(lfd, (struct sockaddr *)&sin6, sizeof(sin6)))
				die("TCP listener");
		}
		if (listen(lfd, 4096))
			die("listen");
		write_all(pfd[1], "r", 1);
		close(pfd[1]);
		for (;;) {
			fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			if (fd < 0) {
				if (errno == EINTR || errno == ECONNABORTED)
					continue;
				die("accept");
			}
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
			close(fd);
		}
	}
	close(pfd[1]);
	if (read(pfd[0], &c, 1) != 1) {
		errno = 0;
		die("the accept server did not start");
	}
	close(pfd[0]);
	return pid;
}

static double accept_round(bool taps, const char *netns, int port, int clients, int seconds)
{
	pthread_t th[1024];
	double t0, dt;
	long total = 0;
	pid_t srv;
	int i;

	srv = accept_server(taps, netns, port);
	accept_stop = 0;
	t0 = now_us();
	for (i = 0; i < clients; i++) {
		accept_done[i] = 0;
		if (pthread_create(&th[i], NULL, accept_client, &accept_done[i]))
			die("pthread_create");
	}
	sleep(seconds);
	accept_stop = 1;
	for (i = 0; i < clients; i++) {
		pthread_join(th[i], NULL);
		total += accept_done[i];
	}
	dt = (now_us() - t0) / 1e6;
	server_stop(srv);
	return total / dt;
}

static int cmd_accept(int argc, char **argv)
{
	double taps[MAX_ROUNDS], tcp[MAX_ROUNDS], ratio[MAX_ROUNDS];
	int opt, i, rounds = 5, clients = 100, seconds = 3, port;
	const char *netns = NULL;

	while ((opt = getopt(argc, argv, "n:r:c:t:")) != -1) {
		switch (opt) {
		case 'n':
			netns = optarg;
			break;
		case 'r':
			rounds = parse_int(optarg, 1, MAX_ROUNDS);
			break;
		case 'c':
			clients = parse_int(optarg, 1, 1024);
			break;
		case 't':
			seconds = parse_int(optarg, 1, 60);
			break;
		default:
			errno = 0;
			die("bad option");
		}
	}
	if (argc - optind != 2) {
		errno = 0;
		die("accept: ADDR PORT expected");
	}
	parse_target(&accept_t, argv[optind], argv[optind + 1]);
	port = parse_int(argv[optind + 1], 1, 65535);
	for (i = 0; i < rounds; i++) {
		/* The order flips each round. */
		if (i % 2) {
			tcp[i] = accept_round(false, netns, port, clients, seconds);
			taps[i] = accept_round(true, netns, port, clients, seconds);
		} else {
			taps[i] = accept_round(true, netns, port, clients, seconds);
			tcp[i] = accept_round(false, netns, port, clients, seconds);
		}
		ratio[i] = taps[i] / tcp[i];
		printf("accept round %d: AF_TAPS listener %.0f/s, TCP listener %.0f/s, ratio %.2f\n",
		       i + 1, taps[i], tcp[i], ratio[i]);
	}
	summary("accept rate, %d concurrent TCP clients: AF_TAPS/TCP = %.2f (AF_TAPS %.0f/s, TCP %.0f/s median of %d rounds of %d s; AF_TAPS with the default properties, TCP and SCTP listeners) [goal >= 0.95: %s]",
		clients, median(ratio, rounds), median(taps, rounds), median(tcp, rounds),
		rounds, seconds, goal(median(ratio, rounds), 0.95, false));
	return 0;
}

/*
 * 7. Many races: RACES sequential ones, then RACES / 10 at once (all
 * connect()s non-blocking and in flight together, then waited for), all to
 * the forked server, with the default properties.  The time per race by
 * thousand shows whether anything grows with use; slab memory
 * (/proc/slabinfo as mem reads it, after closing everything and a few
 * moments for RCU and teardown; closes are RST, so nothing waits in
 * TIME_WAIT) and taps.ko's reference count (held by every AF_TAPS socket)
 * must come back to where they started.
 */
static int churn_sequential(int n)
{
	int i, fd, errors = 0;

	for (i = 0; i < n; i++) {
		fd = client_socket(true, 0);
		if (connect(fd, (const struct sockaddr *)&accept_t.ss, accept_t.len))
			errors++;
		close_abort(fd);
	}
	return errors;
}

/* @n races in flight at once; returns the failures. */
static int churn_concurrent(int n)
{
	struct pollfd *p = calloc(n, sizeof(*p));
	int i, left = n, errors = 0, err;
	socklen_t len;

	if (!p)
		die("calloc");
	for (i = 0; i < n; i++) {
		p[i].fd = client_socket(true, 0);
		p[i].events = POLLOUT;
		if (fcntl(p[i].fd, F_SETFL, O_NONBLOCK))
			die("fcntl");
		if (!connect(p[i].fd, (const struct sockaddr *)&accept_t.ss, accept_t.len)) {
			p[i].fd = -p[i].fd - 1;	/* done: poll ignores it */
			left--;
		} else if (errno != EINPROGRESS) {
			errors++;
			p[i].fd = -p[i].fd - 1;
			left--;
		}
	}
	while (left > 0) {
		if (poll(p, n, 10000) <= 0)
			die("poll: %d races still in flight", left);
		for (i = 0; i < n; i++) {
			if (p[i].fd < 0 || !p[i].revents)
				continue;
			err = 0;
			len = sizeof(err);
			if (getsockopt(p[i].fd, SOL_SOCKET, SO_ERROR, &err, &len) || err)
				errors++;
			p[i].fd = -p[i].fd - 1;
			left--;
		}
	}
	for (i = 0; i < n; i++)
		close_abort(-p[i].fd - 1);
	free(p);
	return errors;
}

static long read_refcnt(void)
{
	long v = -1;
	FILE *f;

	f = fopen("/sys/module/taps/refcnt", "re");
	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static int cmd_churn(int argc, char **argv)
{
	int opt, i, k, races = 10000, errors = 0, conc;
	static long long slabs[MAX_SLABS];
	double t0, per[64] = { 0 }, first, last, tc;
	long long slab0, slab1;
	const char *netns = NULL;
	long ref0, ref1;
	pid_t srv;

	defaults = true;
	while ((opt = getopt(argc, argv, "n:c:")) != -1) {
		switch (opt) {
		case 'n':
			netns = optarg;
			break;
		case 'c':
			races = parse_int(optarg, 1000, 64000);
			break;
		default:
			errno = 0;
			die("bad option");
		}
	}
	if (argc - optind != 2) {
		errno = 0;
		die("churn: ADDR PORT expected");
	}
	parse_target(&accept_t, argv[optind], argv[optind + 1]);
	srv = server_start(netns, parse_int(argv[optind + 1], 1, 65535), false);
	settle();
	slab0 = slab_read(slabs);
	ref0 = read_refcnt();

	/* Sequential, timed by thousand. */
	for (k = 0; k < races / 1000; k++) {
		t0 = now_us();
		errors += churn_sequential(1000);
		per[k] = (now_us() - t0) / 1000;
	}
	first = per[0];
	last = per[races / 1000 - 1];
	for (k = 0; k < races / 1000; k++)
		printf("churn: races %d-%d: %.0f us per race\n", k * 1000 + 1, (k + 1) * 1000, per[k]);

	/* Concurrent. */
	conc = races / 10;
	t0 = now_us();
	errors += churn_concurrent(conc);
	tc = (now_us() - t0) / conc;
	server_stop(srv);
	/* TCP and SCTP teardown, RCU-freed sockets: give them time. */
	for (i = 0; i < 5; i++)
		settle();
	slab1 = slab_read(slabs);
	ref1 = read_refcnt();
	printf("churn: %d races at once: %.0f us per race; slab %lld -> %lld kB, taps.ko refcnt %ld -> %ld, %d failed connects\n",
	       conc, tc, slab0 / 1024, slab1 / 1024, ref0, ref1, errors);
	summary("churn, %d sequential races and %d at once (default properties): %.0f us per race in the first thousand, %.0f us in the last (ratio %.2f); slab %+lld kB; taps.ko refcnt %ld -> %ld; %d failed",
		races, conc, first, last, last / first, (slab1 - slab0) / 1024,
		ref0, ref1, errors);
	return errors || ref1 != ref0;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int argc, char **argv);
	} cmds[] = {
		{ "connect", cmd_connect },
		{ "failover", cmd_failover },
		{ "cache", cmd_cache },
		{ "bulk", cmd_bulk },
		{ "rr", cmd_rr },
		{ "mem", cmd_mem },
		{ "accept", cmd_accept },
		{ "churn", cmd_churn },
		{ "echo", cmd_echo },
		{ "framer", cmd_framer },
		{ "name", cmd_name },
	};
	unsigned int i;

	if (argc < 2) {
		fprintf(stderr,
			"Usage: bench connect  [-p] [-i] [-D] [-n NETNS] [-l LABEL] [-r ROUNDS] [-b BATCH] ADDR PORT\n"
			"       bench failover [-D] [-r ROUNDS] [-d DELAY_MS] [-t TIMEOUT_MS] ADDR6 ADDR4 PORT\n"
			"       bench cache    [-n NETNS] [-l LABEL] [-r ROUNDS] [-d DELAY_MS] [-e ADDR] [-S | -D] [-T TAPSCTL] ADDR PORT\n"
			"       bench bulk     [-p] [-n NETNS] [-l LABEL] [-r ROUNDS] [-s MIB] ADDR PORT\n"
			"       bench rr       [-p] [-n NETNS] [-l LABEL] [-r ROUNDS] [-c COUNT] ADDR PORT\n"
			"       bench mem      [-p] [-n NETNS] [-r ROUNDS] [-c CONNS] ADDR PORT\n"
			"       bench accept   [-n NETNS] [-r ROUNDS] [-c CLIENTS] [-t SECONDS] ADDR PORT\n"
			"       bench churn    [-n NETNS] [-c RACES] ADDR PORT\n"
			"       bench echo     [-n NETNS] [-r ROUNDS] [-c CLIENTS] [-t SECONDS] [-s SIZE] ADDR PORT\n"
			"       bench framer   [-n NETNS] [-r ROUNDS] [-m MS] ADDR PORT\n"
			"       bench name     [-r ROUNDS] [-d DELAY_MS] [-T TAPSCTL] NAME ADDR4 PORT\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	af_taps = taps_family();
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "bench: unknown command %s\n", argv[1]);
	return 2;
}
