// SPDX-License-Identifier: GPL-2.0
/*
 * taps_race: race AF_TAPS connections for the shell tests and print what
 * happened as one line of key=value words per connect().
 *
 *   taps_race [-N NETNS] [-u UID] [-p LIST] [-d MS] [-i] [-m PREF] [-M PREF]
 *             [-T MS] [-O LEVEL:NAME:VAL]... [-B DEV] [-b ADDR/PORT] [-G]
 *             [-F ADDR/PORT] [-r N] [-H] [-W] [-c] ADDR PORT [ADDR PORT...]
 *   taps_race [-N NETNS] [-u UID] [-S BYTES] -L PORT
 *   taps_race [-N NETNS] [-p LIST] [-j THREADS] -C FIRST:COUNT ADDR
 *
 * -N NETNS  setns() into /run/netns/NETNS first (saves an "ip netns exec")
 * -u UID    then become uid and gid UID, no groups, no capabilities (saves
 *           a setpriv; after -N, which needs root)
 * -p LIST   TAPS_PROTOCOLS: tcp,sctp,mptcp
 * -d MS     TAPS_ATTEMPT_DELAY
 * -i        TAPS_ISOLATE = 1
 * -m / -M   TAPS_SEL_MULTISTREAMING / TAPS_SEL_MULTIPATH: none, require,
 *           prefer, avoid, prohibit
 * -T MS     TAPS_CONN_TIMEOUT
 * -O L:N:V  setsockopt(LEVEL, NAME) with the int VAL before connect()
 *           (recorded at a protocol level); repeatable, up to 8
 * -B DEV    SO_BINDTODEVICE
 * -b A/P    bind() to ADDR port PORT first (ADDR "taps": a sockaddr_taps)
 * -G        gate: after socket setup and bind(), print "bound" and wait for
 *           a line on standard input before connecting
 * -F A/P    first connect() the same socket to ADDR port PORT alone and
 *           print its line, then race the endpoints on it (a second race)
 * -c        classic: a plain socket of the -p protocol (TCP unless sctp)
 *           connects to the first endpoint (-T MS: as SO_SNDTIMEO, so
 *           EINPROGRESS when it expires); prints rc, errno and err only
 * -r N      N connect()s one after the other, a new socket and a line each
 * -H        hold: keep the sockets open until standard input reaches EOF
 *           (after printing "ready")
 * -W        only wait (up to 10 s) until a plain TCP SYN to each endpoint
 *           is answered (refused or accepted): the veth path works; no
 *           AF_TAPS connect(), so the cache stays empty
 * -L PORT   an AF_TAPS listener on PORT (all protocols): prints its line,
 *           "ready", accepts and holds connections until stdin reaches EOF
 * -S BYTES  with -L: at that EOF, send BYTES (without blocking) on every
 *           connection accepted, then close everything and exit
 * -C F:N    churn: one connect() to each port F..F+N-1 of ADDR, spread over
 *           -j THREADS (default 4); prints one summary line
 *
 * The line: rc=0|-1 errno=N err=NAME ms=WALL_MS proto=tcp|sctp|mptcp|-
 * state=N flags=0xN cached=0|1 policy=0|1 isolated=0|1 candidates=N
 * attempts=N failed=N winner=N delay=MS connect_us=N local=A:P remote=A:P
 * ino=N.  Exit status 0 when every line could be printed (a refused
 * connect() is a result, not an error), 2 on a usage or setup error.
 */
#include <errno.h>
#include <fcntl.h>
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
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "taps.h"

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP	262
#endif

static struct taps_endpoint eps[TAPS_MAX_ENDPOINTS];
static int n_eps, protos, delay, isolate, sel_ms = -1, sel_mp = -1, timeout = -1;
static struct { int level, name, val; } opts[8];
static int n_opts;
static const char *bind_dev;
static struct sockaddr_storage bind_addr;
static socklen_t bind_len;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void __attribute__((noreturn)) usage(const char *why)
{
	fprintf(stderr, "taps_race: %s\n", why);
	exit(2);
}

static const char *proto_name(unsigned int p)
{
	switch (p) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_SCTP:
		return "sctp";
	case IPPROTO_MPTCP:
		return "mptcp";
	}
	return "-";
}

static const char *err_name(int e)
{
	switch (e) {
	case 0: return "OK";
	case EPERM: return "EPERM";
	case ECONNREFUSED: return "ECONNREFUSED";
	case ETIMEDOUT: return "ETIMEDOUT";
	case EHOSTUNREACH: return "EHOSTUNREACH";
	case ENETUNREACH: return "ENETUNREACH";
	case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
	case EINVAL: return "EINVAL";
	case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
	case EACCES: return "EACCES";
	case ENOPROTOOPT: return "ENOPROTOOPT";
	case EINTR: return "EINTR";
	case EALREADY: return "EALREADY";
	case EISCONN: return "EISCONN";
	case EINPROGRESS: return "EINPROGRESS";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case EADDRINUSE: return "EADDRINUSE";
	case ENOTCONN: return "ENOTCONN";
	}
	return "E?";
}

static void sa_str(const void *sa, char *buf, size_t len)
{
	const struct sockaddr_in6 *sin6 = sa;
	const struct sockaddr_in *sin = sa;
	char a[INET6_ADDRSTRLEN];

	if (sin->sin_family == AF_INET)
		snprintf(buf, len, "%s:%u", inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a)),
			 ntohs(sin->sin_port));
	else if (sin->sin_family == AF_INET6)
		snprintf(buf, len, "[%s]:%u", inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a)),
			 ntohs(sin6->sin6_port));
	else
		snprintf(buf, len, "-");
}

static int parse_ep(const char *addr, int port, struct taps_endpoint *ep)
{
	memset(ep, 0, sizeof(*ep));
	if (inet_pton(AF_INET, addr, &ep->sin.sin_addr) == 1) {
		ep->sin.sin_family = AF_INET;
		ep->sin.sin_port = htons(port);
		return 0;
	}
	if (inet_pton(AF_INET6, addr, &ep->sin6.sin6_addr) == 1) {
		ep->sin6.sin6_family = AF_INET6;
		ep->sin6.sin6_port = htons(port);
		return 0;
	}
	return -1;
}

/* "ADDR/PORT" into @ss (ADDR "taps": a sockaddr_taps); its length, 0 if bad. */
static socklen_t parse_addr_port(const char *arg, struct sockaddr_storage *ss)
{
	char addr[64];
	const char *slash = strrchr(arg, '/');
	struct taps_endpoint ep;

	memset(ss, 0, sizeof(*ss));
	if (!slash || slash - arg >= (int)sizeof(addr))
		return 0;
	memcpy(addr, arg, slash - arg);
	addr[slash - arg] = 0;
	if (!strcmp(addr, "taps")) {
		struct sockaddr_taps *st = (struct sockaddr_taps *)ss;

		st->stap_family = taps_family();
		st->stap_port = htons(atoi(slash + 1));
		return sizeof(*st);
	}
	if (parse_ep(addr, atoi(slash + 1), &ep))
		return 0;
	memcpy(ss, &ep, sizeof(ep));
	return ep.family == AF_INET ? sizeof(ep.sin) : sizeof(ep.sin6);
}

static int parse_pref(const char *s)
{
	static const char * const names[] = { "none", "require", "prefer", "avoid", "prohibit" };
	unsigned int i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(s, names[i]))
			return i;
	usage("bad preference");
}

static int parse_protos(const char *s)
{
	char *dup = strdup(s), *tok, *save = NULL;
	int m = 0;

	for (tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "tcp"))
			m |= TAPS_P_TCP;
		else if (!strcmp(tok, "sctp"))
			m |= TAPS_P_SCTP;
		else if (!strcmp(tok, "mptcp"))
			m |= TAPS_P_MPTCP;
		else
			usage("bad protocol");
	}
	free(dup);
	return m;
}

static int set_int(int fd, int opt, int val)
{
	return setsockopt(fd, SOL_TAPS, opt, &val, sizeof(val));
}

/* A socket with the options of the command line, or -1 (message printed). */
static int new_socket(void)
{
	int fd = socket(taps_family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
	int i;

	if (fd < 0) {
		perror("taps_race: socket");
		return -1;
	}
	if ((n_eps && setsockopt(fd, SOL_TAPS, TAPS_REMOTE_ENDPOINTS, eps, n_eps * sizeof(eps[0]))) ||
	    (protos && set_int(fd, TAPS_PROTOCOLS, protos)) ||
	    (delay && set_int(fd, TAPS_ATTEMPT_DELAY, delay)) ||
	    (isolate && set_int(fd, TAPS_ISOLATE, 1)) ||
	    (sel_ms >= 0 && set_int(fd, TAPS_SEL_MULTISTREAMING, sel_ms)) ||
	    (sel_mp >= 0 && set_int(fd, TAPS_SEL_MULTIPATH, sel_mp)) ||
	    (timeout >= 0 && set_int(fd, TAPS_CONN_TIMEOUT, timeout))) {
		perror("taps_race: setsockopt");
		close(fd);
		return -1;
	}
	for (i = 0; i < n_opts; i++) {
		if (setsockopt(fd, opts[i].level, opts[i].name, &opts[i].val, sizeof(int))) {
			fprintf(stderr, "taps_race: setsockopt(%d, %d, %d): %s\n", opts[i].level,
				opts[i].name, opts[i].val, strerror(errno));
			close(fd);
			return -1;
		}
	}
	if (bind_dev && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, bind_dev, strlen(bind_dev))) {
		perror("taps_race: SO_BINDTODEVICE");
		close(fd);
		return -1;
	}
	if (bind_len && bind(fd, (struct sockaddr *)&bind_addr, bind_len)) {
		perror("taps_race: bind");
		close(fd);
		return -1;
	}
	return fd;
}

static int connect_list(int fd)
{
	struct sockaddr_taps st;

	memset(&st, 0, sizeof(st));
	st.stap_family = taps_family();
	return connect(fd, (struct sockaddr *)&st, sizeof(st));
}

static void print_line(int fd, int rc, int err, double ms)
{
	struct taps_info ti;
	socklen_t len = sizeof(ti);
	char l[80], r[80];
	struct stat st;

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, SOL_TAPS, TAPS_INFO, &ti, &len))
		fprintf(stderr, "taps_race: TAPS_INFO: %s\n", strerror(errno));
	if (fstat(fd, &st))
		st.st_ino = 0;
	sa_str(&ti.ti_local, l, sizeof(l));
	sa_str(&ti.ti_remote, r, sizeof(r));
	printf("rc=%d errno=%d err=%s ms=%.0f proto=%s state=%u flags=%#x cached=%d policy=%d "
	       "isolated=%d candidates=%u attempts=%u failed=%u winner=%u delay=%u "
	       "connect_us=%llu local=%s remote=%s ino=%lu\n",
	       rc, err, err_name(err), ms, proto_name(ti.ti_protocol), ti.ti_state, ti.ti_flags,
	       !!(ti.ti_flags & TAPS_INFO_F_CACHED), !!(ti.ti_flags & TAPS_INFO_F_POLICY),
	       !!(ti.ti_flags & TAPS_INFO_F_ISOLATED), ti.ti_candidates, ti.ti_attempts,
	       ti.ti_failed, ti.ti_winner, ti.ti_attempt_delay_ms,
	       (unsigned long long)ti.ti_connect_us, l, r, (unsigned long)st.st_ino);
	fflush(stdout);
}

/* Until a plain TCP SYN to @ep is answered within 100 ms, up to 10 s. */
static int wait_path(const struct taps_endpoint *ep)
{
	socklen_t alen = ep->family == AF_INET6 ? sizeof(ep->sin6) : sizeof(ep->sin);
	int i;

	for (i = 0; i < 100; i++) {
		struct pollfd p = { .events = POLLOUT };
		socklen_t len = sizeof(int);
		double t0 = now_ms();
		int err = -1;

		p.fd = socket(ep->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (p.fd < 0)
			return -1;
		if (!connect(p.fd, (const struct sockaddr *)ep, alen))
			err = 0;
		else if (errno == EINPROGRESS && poll(&p, 1, 100) == 1)
			getsockopt(p.fd, SOL_SOCKET, SO_ERROR, &err, &len);
		close(p.fd);
		if (err == 0 || err == ECONNREFUSED)
			return 0;
		if (now_ms() - t0 < 100)
			usleep((100 - (now_ms() - t0)) * 1000);
	}
	fprintf(stderr, "taps_race: no path to the endpoint\n");
	return -1;
}

static void hold_until_eof(void)
{
	char buf[64];

	printf("ready\n");
	fflush(stdout);
	while (read(0, buf, sizeof(buf)) > 0)
		;
}

/* -S: send @bytes on @fd without blocking, as much as fits. */
static void send_some(int fd, int bytes)
{
	static char buf[4096];

	memset(buf, 'x', sizeof(buf));
	while (bytes > 0) {
		ssize_t n = send(fd, buf, bytes < (int)sizeof(buf) ? bytes : (int)sizeof(buf),
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n <= 0)
			return;
		bytes -= n;
	}
}

static int listen_mode(int port, int send_bytes)
{
	struct sockaddr_taps st;
	int fd = new_socket(), c, i, n_acc = 0;
	static int acc[1024];
	struct pollfd p[2];

	if (fd < 0)
		return 2;
	memset(&st, 0, sizeof(st));
	st.stap_family = taps_family();
	st.stap_port = htons(port);
	if (bind(fd, (struct sockaddr *)&st, sizeof(st)) || listen(fd, 64)) {
		perror("taps_race: bind/listen");
		return 2;
	}
	print_line(fd, 0, 0, 0);
	printf("ready\n");
	fflush(stdout);
	p[0].fd = 0;
	p[0].events = POLLIN;
	p[1].fd = fd;
	p[1].events = POLLIN;
	for (;;) {
		char buf[64];

		if (poll(p, 2, -1) < 0)
			continue;
		if (p[0].revents && read(0, buf, sizeof(buf)) <= 0)
			break;
		if (p[1].revents & POLLIN) {
			c = accept(fd, NULL, NULL);
			if (c >= 0) {
				print_line(c, 0, 0, 0);	/* held until exit */
				if (n_acc < (int)(sizeof(acc) / sizeof(acc[0])))
					acc[n_acc++] = c;
			}
		}
	}
	for (i = 0; i < n_acc && send_bytes; i++) {
		send_some(acc[i], send_bytes);
		close(acc[i]);
	}
	return 0;
}

/* ---- churn ------------------------------------------------------------- */

static pthread_mutex_t churn_lock = PTHREAD_MUTEX_INITIALIZER;
static int churn_next, churn_end, churn_ok, churn_refused, churn_other, churn_setup;
static int churn_errs[8];	/* errno of the first few unexpected failures */

static void *churn_thread(void *arg)
{
	struct taps_endpoint ep = *(struct taps_endpoint *)arg;
	socklen_t alen = ep.family == AF_INET6 ? sizeof(ep.sin6) : sizeof(ep.sin);

	for (;;) {
		int port, fd, rc, err;

		pthread_mutex_lock(&churn_lock);
		port = churn_next < churn_end ? churn_next++ : -1;
		pthread_mutex_unlock(&churn_lock);
		if (port < 0)
			return NULL;
		if (ep.family == AF_INET6)
			ep.sin6.sin6_port = htons(port);
		else
			ep.sin.sin_port = htons(port);
		fd = new_socket();
		if (fd < 0) {
			__atomic_add_fetch(&churn_setup, 1, __ATOMIC_RELAXED);
			continue;
		}
		rc = connect(fd, (struct sockaddr *)&ep, alen);
		err = rc ? errno : 0;
		close(fd);
		pthread_mutex_lock(&churn_lock);
		if (!rc) {
			churn_ok++;
		} else if (err == ECONNREFUSED) {
			churn_refused++;
		} else {
			if (churn_other < 8)
				churn_errs[churn_other] = err;
			churn_other++;
		}
		pthread_mutex_unlock(&churn_lock);
	}
}

static int churn_mode(const char *range, int threads, const char *addr)
{
	pthread_t th[64];
	struct taps_endpoint ep;
	double t0 = now_ms();
	int i, first, count;

	if (sscanf(range, "%d:%d", &first, &count) != 2 || parse_ep(addr, 0, &ep))
		usage("bad -C or address");
	if (threads < 1 || threads > 64)
		usage("bad -j");
	churn_next = first;
	churn_end = first + count;
	for (i = 0; i < threads; i++)
		if (pthread_create(&th[i], NULL, churn_thread, &ep))
			return 2;
	for (i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	printf("races=%d ok=%d refused=%d other=%d setup=%d ms=%.0f", count, churn_ok,
	       churn_refused, churn_other, churn_setup, now_ms() - t0);
	for (i = 0; i < churn_other && i < 8; i++)
		printf(" err%d=%s", i, err_name(churn_errs[i]));
	printf("\n");
	return 0;
}

/* -c: a plain TCP or SCTP client of the first endpoint. */
static int plain_client(int hold)
{
	socklen_t alen = eps[0].family == AF_INET6 ? sizeof(eps[0].sin6) : sizeof(eps[0].sin);
	int fd = socket(eps[0].family, SOCK_STREAM | SOCK_CLOEXEC,
			protos == TAPS_P_SCTP ? IPPROTO_SCTP : IPPROTO_TCP);
	int rc, err;

	if (fd < 0) {
		perror("taps_race: socket");
		return 2;
	}
	if (timeout > 0) {
		struct timeval tv = { .tv_sec = timeout / 1000, .tv_usec = timeout % 1000 * 1000 };

		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	rc = connect(fd, (struct sockaddr *)&eps[0], alen);
	err = rc ? errno : 0;
	printf("rc=%d errno=%d err=%s\n", rc, err, err_name(err));
	fflush(stdout);
	if (hold)
		hold_until_eof();
	return 0;
}

int main(int argc, char **argv)
{
	int opt, i, repeat = 1, hold = 0, wait = 0, listen_port = -1, threads = 4;
	int gate = 0, send_bytes = 0, plain = 0;
	struct sockaddr_storage first;
	socklen_t first_len = 0;
	const char *churn = NULL;
	int *fds;

	while ((opt = getopt(argc, argv, "N:u:p:d:im:M:T:r:HWL:C:j:O:B:b:GF:S:c")) != -1) {
		switch (opt) {
		case 'N': {
			char path[256];
			int nsfd;

			snprintf(path, sizeof(path), "/run/netns/%s", optarg);
			nsfd = open(path, O_RDONLY | O_CLOEXEC);
			if (nsfd < 0 || setns(nsfd, CLONE_NEWNET)) {
				perror(path);
				return 2;
			}
			close(nsfd);
			break;
		}
		case 'u': {
			uid_t u = atoi(optarg);

			if (setgroups(0, NULL) || setresgid(u, u, u) || setresuid(u, u, u)) {
				perror("taps_race: -u");
				return 2;
			}
			break;
		}
		case 'p':
			protos = parse_protos(optarg);
			break;
		case 'd':
			delay = atoi(optarg);
			break;
		case 'i':
			isolate = 1;
			break;
		case 'm':
			sel_ms = parse_pref(optarg);
			break;
		case 'M':
			sel_mp = parse_pref(optarg);
			break;
		case 'T':
			timeout = atoi(optarg);
			break;
		case 'r':
			repeat = atoi(optarg);
			break;
		case 'H':
			hold = 1;
			break;
		case 'W':
			wait = 1;
			break;
		case 'L':
			listen_port = atoi(optarg);
			break;
		case 'C':
			churn = optarg;
			break;
		case 'j':
			threads = atoi(optarg);
			break;
		case 'O':
			if (n_opts == (int)(sizeof(opts) / sizeof(opts[0])) ||
			    sscanf(optarg, "%d:%d:%d", &opts[n_opts].level, &opts[n_opts].name,
				   &opts[n_opts].val) != 3)
				usage("bad -O");
			n_opts++;
			break;
		case 'B':
			bind_dev = optarg;
			break;
		case 'b':
			bind_len = parse_addr_port(optarg, &bind_addr);
			if (!bind_len)
				usage("bad -b");
			break;
		case 'G':
			gate = 1;
			break;
		case 'F':
			first_len = parse_addr_port(optarg, &first);
			if (!first_len || first.ss_family == taps_family())
				usage("bad -F");
			break;
		case 'S':
			send_bytes = atoi(optarg);
			break;
		case 'c':
			plain = 1;
			break;
		default:
			usage("bad option");
		}
	}
	if (listen_port >= 0)
		return listen_mode(listen_port, send_bytes);
	if (churn) {
		if (optind + 1 != argc)
			usage("churn takes one address");
		return churn_mode(churn, threads, argv[optind]);
	}
	if (optind >= argc || (argc - optind) % 2)
		usage("endpoints are ADDR PORT pairs");
	for (; optind < argc; optind += 2, n_eps++) {
		if (n_eps == TAPS_MAX_ENDPOINTS || parse_ep(argv[optind], atoi(argv[optind + 1]),
							    &eps[n_eps]))
			usage("bad endpoint");
		if (wait && wait_path(&eps[n_eps]))
			return 2;
	}
	if (wait)
		return 0;
	if (plain)
		return plain_client(hold);
	fds = calloc(repeat > 0 ? repeat : 1, sizeof(*fds));
	for (i = 0; i < repeat; i++) {
		double t0;
		int rc, err;

		fds[i] = new_socket();
		if (fds[i] < 0)
			return 2;
		if (gate) {
			char buf[64];

			printf("bound\n");
			fflush(stdout);
			if (read(0, buf, sizeof(buf)) <= 0)
				return 2;
		}
		if (first_len) {
			/* Alone: the list is set again for the race after. */
			if (setsockopt(fds[i], SOL_TAPS, TAPS_REMOTE_ENDPOINTS, NULL, 0)) {
				perror("taps_race: TAPS_REMOTE_ENDPOINTS");
				return 2;
			}
			t0 = now_ms();
			rc = connect(fds[i], (struct sockaddr *)&first, first_len);
			err = rc ? errno : 0;
			print_line(fds[i], rc, err, now_ms() - t0);
			if (n_eps && setsockopt(fds[i], SOL_TAPS, TAPS_REMOTE_ENDPOINTS, eps,
						n_eps * sizeof(eps[0]))) {
				perror("taps_race: TAPS_REMOTE_ENDPOINTS");
				return 2;
			}
		}
		t0 = now_ms();
		rc = connect_list(fds[i]);
		err = rc ? errno : 0;
		print_line(fds[i], rc, err, now_ms() - t0);
		if (!hold) {
			close(fds[i]);
			fds[i] = -1;
		}
	}
	if (hold)
		hold_until_eof();
	return 0;
}
