// SPDX-License-Identifier: GPL-2.0
/*
 * sockfuzz: a bounded random syscall fuzzer of AF_TAPS sockets (issue 8,
 * test contract item 15), printing TAP.
 *
 * In a network namespace of its own (lo up, plain TCP and SCTP listeners
 * on loopback served by a root child, closed ports, a blackholed /24 on a
 * dummy interface), a child running as uid 65534 drives threads and one
 * forked process doing random operations on a shared table of AF_TAPS fds:
 * socket() of every type and protocol, setsockopt/getsockopt at SOL_TAPS,
 * SOL_SOCKET, SOL_TCP, SOL_SCTP, SOL_IP, SOL_IPV6, SOL_TLS, SOL_MPTCP and
 * random levels with random names, lengths, values and pointers (NULL,
 * unmapped, an arena with a guard page; never the fuzzer's own memory),
 * bind, connect (blocking under SO_SNDTIMEO, non-blocking; SOCK_STREAM
 * and SOCK_SEQPACKET, SCTP or framed TCP), listen,
 * accept, send/recv/sendfile/splice, shutdown, poll, ioctl, fcntl
 * (O_NONBLOCK, O_ASYNC, F_SETOWN), dup/dup2, close mid-race and fork with
 * inherited fds.  Then everything is closed and the module's reference
 * count must come back to its value at the start, with no AF_TAPS socket
 * left in the namespace.
 *
 * TAPS_FUZZ_SEED=N replays a run (thread scheduling aside),
 * TAPS_FUZZ_SECONDS bounds it (default 30; TAPS_SOCKFUZZ_SECONDS, if set,
 * wins: the Makefile passes that one, which netlink_fuzz does not read),
 * TAPS_FUZZ_THREADS (4); TAPS_FUZZ_SKIP=op,op... leaves operations out
 * (names as in the summary line), to narrow down a finding.
 * Every blocking call is bounded (socket timeouts, non-blocking pipes,
 * linger capped at 1 s); a watchdog names an operation stuck for 10 s.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
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
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <linux/sockios.h>

#include "taps.h"

#ifndef SOL_SCTP
#define SOL_SCTP	132
#endif
#ifndef SOL_TLS
#define SOL_TLS		282
#endif
#ifndef SOL_MPTCP
#define SOL_MPTCP	284
#endif
#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP	262
#endif
#ifndef TCP_ULP
#define TCP_ULP		31
#endif

#define NOBODY		65534
#define NSLOTS		48
#define MAX_THREADS	16
#define ARENA		8192	/* two pages, then a guard page */
#define PORT_BOTH	7000	/* 7000..7002: TCP and SCTP */
#define PORT_TCP	7003	/* TCP only */
#define PORT_SCTP	7004	/* SCTP only */
#define PORT_CLOSED	7100	/* nothing listens */
#define STUCK_MS	10000

/* Shared between the fuzzing processes and the parent (MAP_SHARED). */
struct shared {
	unsigned long ops;		/* operations done */
	unsigned long ok;		/* of which succeeded */
	unsigned long sockets;		/* AF_TAPS sockets created */
	unsigned long connected;	/* connect() that returned 0 */
	unsigned long accepted;
	unsigned long forks;
	volatile int stop;
	int stuck;			/* an operation exceeded STUCK_MS */
	char stuck_op[64];
	unsigned long op_n[32], op_ok[32];	/* per operation */
	int op_err[32];				/* its latest errno */
};

static struct shared *sh;
static char *arena;		/* ARENA bytes, a PROT_NONE page after */
static int fam;			/* the live AF_TAPS */
static int filefd = -1;		/* a 64 KB file for sendfile/splice */
static int slots[NSLOTS];
static pthread_mutex_t slot_lock = PTHREAD_MUTEX_INITIALIZER;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ---- randomness -------------------------------------------------------- */

struct rnd {
	unsigned long long s;
};

static unsigned long long next(struct rnd *r)
{
	/* xorshift64* */
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 2685821657736338717ULL;
}

static unsigned int below(struct rnd *r, unsigned int n)
{
	return n ? next(r) % n : 0;
}

static bool chance(struct rnd *r, unsigned int pct)
{
	return below(r, 100) < pct;
}

/* ---- the table of fds ---------------------------------------------------- */

/* An fd from the table (maybe closed meanwhile by another thread: fine). */
static int pick(struct rnd *r)
{
	return __atomic_load_n(&slots[below(r, NSLOTS)], __ATOMIC_RELAXED);
}

/* Take an fd out of the table: the caller owns it. */
static int take(struct rnd *r)
{
	return __atomic_exchange_n(&slots[below(r, NSLOTS)], -1, __ATOMIC_RELAXED);
}

/* Put @fd in a free slot, or close it. */
static void put(struct rnd *r, int fd)
{
	int i, s = below(r, NSLOTS);

	if (fd < 0)
		return;
	pthread_mutex_lock(&slot_lock);
	for (i = 0; i < NSLOTS; i++) {
		int k = (s + i) % NSLOTS;

		if (slots[k] < 0) {
			__atomic_store_n(&slots[k], fd, __ATOMIC_RELAXED);
			pthread_mutex_unlock(&slot_lock);
			return;
		}
	}
	pthread_mutex_unlock(&slot_lock);
	close(fd);
}

/* ---- values ---------------------------------------------------------------- */

/* A pointer for the kernel to read from or write to: never our own data. */
static void *rnd_ptr(struct rnd *r, size_t len)
{
	switch (below(r, 10)) {
	case 0:
		return NULL;
	case 1:
		return (void *)8;
	case 2:
		/* Ends in the guard page. */
		return arena + ARENA - (len ? below(r, len) : 0);
	default:
		return arena + below(r, ARENA);
	}
}

static unsigned int rnd_len(struct rnd *r)
{
	static const unsigned int lens[] = { 0, 1, 2, 4, 8, 12, 16, 28, 32, 64, 128, 216, 256,
					     257, 1024, 4096, 65536, 0x7fffffff };

	if (chance(r, 15))
		return below(r, 300);
	return lens[below(r, sizeof(lens) / sizeof(lens[0]))];
}

static const char * const words[] = {
	"tls", "mptcp", "espintcp", "", "reno", "cubic", "no-such", "smc", "lo", "tb0",
};

/* An address to bind or connect to, in @ss; its length. */
static socklen_t rnd_addr(struct rnd *r, struct sockaddr_storage *ss, bool for_bind)
{
	static const char * const v4[] = { "127.0.0.1", "127.0.0.2", "198.51.100.7",
					   "198.51.100.1", "0.0.0.0", "192.0.2.1" };
	static const char * const v6[] = { "::1", "::", "::ffff:127.0.0.1", "2001:db8::1",
					   "::ffff:198.51.100.7" };
	int port;

	memset(ss, 0, sizeof(*ss));
	if (for_bind)
		port = chance(r, 60) ? 0 : 7200 + below(r, 50);
	else
		port = chance(r, 70) ? PORT_BOTH + below(r, 5) :
		       chance(r, 50) ? PORT_CLOSED : below(r, 65536);
	switch (below(r, 10)) {
	case 0 ... 3: {
		struct sockaddr_in *sin = (void *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		inet_pton(AF_INET, v4[below(r, sizeof(v4) / sizeof(v4[0]))], &sin->sin_addr);
		return chance(r, 95) ? sizeof(*sin) : below(r, sizeof(*sin));
	}
	case 4 ... 6: {
		struct sockaddr_in6 *sin6 = (void *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		inet_pton(AF_INET6, v6[below(r, sizeof(v6) / sizeof(v6[0]))], &sin6->sin6_addr);
		return chance(r, 95) ? sizeof(*sin6) : below(r, sizeof(*sin6));
	}
	case 7 ... 8: {
		struct sockaddr_taps *st = (void *)ss;

		st->stap_family = fam;
		st->stap_port = htons(port);
		if (chance(r, 10))
			st->stap_flags = next(r);
		return chance(r, 95) ? sizeof(*st) : below(r, sizeof(*st));
	}
	default: {
		unsigned char *b = (void *)ss;
		size_t i;

		for (i = 0; i < sizeof(*ss); i++)
			b[i] = next(r);
		if (chance(r, 50))
			ss->ss_family = below(r, 50);
		return below(r, sizeof(*ss) + 1);
	}
	}
}

/* Up to 32 endpoints of every kind for TAPS_REMOTE_ENDPOINTS. */
static socklen_t rnd_endpoints(struct rnd *r, void *buf)
{
	struct taps_endpoint *ep = buf;
	int n = below(r, TAPS_MAX_ENDPOINTS + 2), i;

	for (i = 0; i < n && i < TAPS_MAX_ENDPOINTS + 1; i++) {
		struct sockaddr_storage ss;

		rnd_addr(r, &ss, false);
		memcpy(&ep[i], &ss, sizeof(ep[i]));
		if (ep[i].family == fam)
			ep[i].family = AF_INET;
	}
	return n * sizeof(*ep) + (chance(r, 5) ? below(r, 8) : 0);
}

/* ---- operations ------------------------------------------------------------ */

struct worker {
	struct rnd r;
	int idx;
	volatile double op_start;	/* 0 when idle */
	const char *volatile op;
	pthread_t th;
};

static void set_timeouts(int fd, struct rnd *r)
{
	struct timeval tv = { .tv_usec = 50000 + below(r, 250000) };

	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

static int op_socket(struct rnd *r)
{
	static const int types[] = { SOCK_DGRAM, SOCK_SEQPACKET, SOCK_RAW, SOCK_RDM, 0, 11 };
	int type = SOCK_STREAM, proto = 0, fd;

	if (chance(r, 10))
		type = types[below(r, sizeof(types) / sizeof(types[0]))];
	if (chance(r, 20))
		type |= SOCK_NONBLOCK;
	if (chance(r, 50))
		type |= SOCK_CLOEXEC;
	if (chance(r, 8))
		proto = chance(r, 50) ? (int)next(r) : IPPROTO_TCP;
	fd = socket(fam, type, proto);
	if (fd < 0)
		return -1;
	__atomic_add_fetch(&sh->sockets, 1, __ATOMIC_RELAXED);
	set_timeouts(fd, r);
	if (chance(r, 50)) {
		int p = 1 + below(r, TAPS_P_ALL);

		setsockopt(fd, SOL_TAPS, TAPS_PROTOCOLS, &p, sizeof(p));
	}
	if (chance(r, 40)) {
		int d = 10 + below(r, 100);

		setsockopt(fd, SOL_TAPS, TAPS_ATTEMPT_DELAY, &d, sizeof(d));
	}
	put(r, fd);
	return 0;
}

/* The levels and the optname ranges that mean something there. */
static void rnd_level(struct rnd *r, int *level, int *name)
{
	static const struct {
		int level, max;
	} lv[] = {
		{ SOL_TAPS, 24 }, { SOL_SOCKET, 80 }, { SOL_TCP, 40 }, { SOL_SCTP, 130 },
		{ SOL_IP, 70 }, { SOL_IPV6, 80 }, { SOL_TLS, 6 }, { SOL_MPTCP, 6 },
	};
	int i = below(r, sizeof(lv) / sizeof(lv[0]) + 1);

	if (i == sizeof(lv) / sizeof(lv[0])) {
		*level = chance(r, 50) ? (int)below(r, 300) : (int)next(r);
		*name = below(r, 100);
		return;
	}
	*level = lv[i].level;
	*name = chance(r, 95) ? (int)below(r, lv[i].max + 1) : (int)next(r);
	/* The connection properties and TAPS_QUERY_PROPERTIES: 64..72. */
	if (*level == SOL_TAPS && chance(r, 30))
		*name = 60 + below(r, 16);
}

static int op_setsockopt(struct rnd *r)
{
	int fd = pick(r), level, name, v;
	unsigned int len;
	void *val;

	rnd_level(r, &level, &name);
	if (level == SOL_SOCKET) {
		/* Timeouts keep every call bounded; linger is capped below. */
		if (name == SO_RCVTIMEO || name == SO_SNDTIMEO || name == 66 || name == 67)
			name = SO_KEEPALIVE;
		if (name == SO_LINGER) {
			struct linger lg = { .l_onoff = below(r, 2), .l_linger = below(r, 2) };

			memcpy(arena, &lg, sizeof(lg));
			return setsockopt(fd, level, name, arena, sizeof(lg));
		}
	}
	if (level == SOL_TAPS && name == TAPS_REMOTE_ENDPOINTS && chance(r, 80)) {
		len = rnd_endpoints(r, arena);
		return setsockopt(fd, level, name, arena, len > ARENA ? ARENA : len);
	}
	switch (below(r, 6)) {
	case 0:		/* an int */
		v = chance(r, 70) ? (int)below(r, 5) : (int)next(r);
		if (level == SOL_TAPS && name == TAPS_CONN_TIMEOUT)
			v = below(r, 500);
		return setsockopt(fd, level, name, &v, chance(r, 90) ? sizeof(v) : below(r, 8));
	case 1: {	/* a word: TCP_ULP, TCP_CONGESTION, SO_BINDTODEVICE */
		const char *w = words[below(r, sizeof(words) / sizeof(words[0]))];

		if (chance(r, 50))
			name = chance(r, 50) ? TCP_ULP : TCP_CONGESTION;
		if (chance(r, 60))
			level = SOL_TCP;
		strcpy(arena, w);
		return setsockopt(fd, level, name, arena, strlen(w) + below(r, 2));
	}
	default:	/* random bytes, random pointer and length */
		len = rnd_len(r);
		val = rnd_ptr(r, len);
		if (val >= (void *)arena && val < (void *)(arena + ARENA)) {
			size_t i, n = arena + ARENA - (char *)val;

			for (i = 0; i < n && i < 512; i++)
				((char *)val)[i] = chance(r, 50) ? 0 : next(r);
		}
		return setsockopt(fd, level, name, val, len);
	}
}

static int op_getsockopt(struct rnd *r)
{
	int fd = pick(r), level, name;
	socklen_t *lenp;

	rnd_level(r, &level, &name);
	if (chance(r, 10))
		return getsockopt(fd, level, name, rnd_ptr(r, 64), chance(r, 50) ? NULL :
				  (socklen_t *)(void *)8);
	/* optlen in the arena too: the kernel writes it. */
	lenp = (socklen_t *)(arena + ARENA - 2 * sizeof(socklen_t) * (1 + below(r, 4)));
	*lenp = chance(r, 80) ? rnd_len(r) % 600 : (socklen_t)next(r);
	return getsockopt(fd, level, name, rnd_ptr(r, *lenp), lenp);
}

/* A fresh socket connected to one of the plain servers: established
 * connections for the data path and the options that need one.
 */
static int op_connect_fresh(struct rnd *r)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons(PORT_BOTH + below(r, 5)) };
	/* A quarter of them message sockets, which race SCTP only. */
	int type = chance(r, 25) ? SOCK_SEQPACKET : SOCK_STREAM;
	int fd = socket(fam, type | SOCK_CLOEXEC, 0), p = 1 + below(r, 3);

	if (fd < 0)
		return -1;
	__atomic_add_fetch(&sh->sockets, 1, __ATOMIC_RELAXED);
	set_timeouts(fd, r);
	setsockopt(fd, SOL_TAPS, TAPS_PROTOCOLS, &p, sizeof(p));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (chance(r, 40)) {
		/* The port of another slot: one of our listeners, maybe. */
		struct sockaddr_in6 me;
		socklen_t mlen = sizeof(me);

		if (!getsockname(pick(r), (void *)&me, &mlen) && me.sin6_port)
			sin.sin_port = me.sin6_port;
	}
	if (connect(fd, (void *)&sin, sizeof(sin))) {
		put(r, fd);
		return -1;
	}
	__atomic_add_fetch(&sh->connected, 1, __ATOMIC_RELAXED);
	put(r, fd);
	return 0;
}

/* A listener on a port of its own, for the others to connect to. */
static int op_listener(struct rnd *r)
{
	struct sockaddr_taps st = { .stap_family = fam };
	int type = chance(r, 25) ? SOCK_SEQPACKET : SOCK_STREAM;
	int fd = socket(fam, type | SOCK_CLOEXEC, 0), p = 1 + below(r, 7);

	if (fd < 0)
		return -1;
	__atomic_add_fetch(&sh->sockets, 1, __ATOMIC_RELAXED);
	set_timeouts(fd, r);
	if (chance(r, 30))
		setsockopt(fd, SOL_TAPS, TAPS_PROTOCOLS, &p, sizeof(p));
	if (chance(r, 30)) {
		p = TAPS_PREF_PREFER;
		setsockopt(fd, SOL_TAPS, TAPS_SEL_MULTIPATH, &p, sizeof(p));
	}
	if (bind(fd, (void *)&st, sizeof(st)) || listen(fd, 8)) {
		put(r, fd);
		return -1;
	}
	put(r, fd);
	return 0;
}

static int op_bind(struct rnd *r)
{
	struct sockaddr_storage ss;
	socklen_t len = rnd_addr(r, &ss, true);

	return bind(pick(r), (void *)&ss, len);
}

static int op_connect(struct rnd *r)
{
	struct sockaddr_storage ss;
	socklen_t len = rnd_addr(r, &ss, false);
	int fd = pick(r), rc;

	if (chance(r, 25)) {
		/* sockaddr_taps: exactly the endpoint list */
		memset(&ss, 0, sizeof(ss));
		ss.ss_family = fam;
		len = sizeof(struct sockaddr_taps);
	} else if (chance(r, 30)) {
		/* Whatever port another slot has: maybe one of our listeners. */
		struct sockaddr_in6 me;
		socklen_t mlen = sizeof(me);

		if (!getsockname(pick(r), (void *)&me, &mlen) && me.sin6_port) {
			struct sockaddr_in *sin = (void *)&ss;

			memset(&ss, 0, sizeof(ss));
			sin->sin_family = AF_INET;
			sin->sin_port = me.sin6_port;
			sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			len = sizeof(*sin);
		}
	}
	rc = connect(fd, (void *)&ss, len);
	if (!rc)
		__atomic_add_fetch(&sh->connected, 1, __ATOMIC_RELAXED);
	/* Close mid-race, now and then. */
	if (rc && errno == EINPROGRESS && chance(r, 20)) {
		int own = take(r);

		if (own >= 0)
			close(own);
	}
	return rc;
}

static int op_listen(struct rnd *r)
{
	return listen(pick(r), chance(r, 90) ? (int)below(r, 64) : (int)next(r));
}

static int op_accept(struct rnd *r)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd = pick(r), a;
	struct pollfd p = { .fd = fd, .events = POLLIN };

	poll(&p, 1, below(r, 20));
	if (chance(r, 20))
		a = accept4(fd, rnd_ptr(r, 128), (socklen_t *)(arena + ARENA - 4),
			    SOCK_NONBLOCK);
	else
		a = accept4(fd, (void *)&ss, &len, SOCK_NONBLOCK | (chance(r, 50) ? SOCK_CLOEXEC : 0));
	if (a < 0)
		return -1;
	__atomic_add_fetch(&sh->accepted, 1, __ATOMIC_RELAXED);
	set_timeouts(a, r);
	put(r, a);
	return 0;
}

static int op_send(struct rnd *r)
{
	static const int fl[] = { 0, MSG_DONTWAIT, MSG_OOB, MSG_MORE, MSG_EOR, MSG_CONFIRM };
	int fd = pick(r);

	if (chance(r, 20)) {
		struct iovec iov[3] = {
			{ arena, below(r, 2000) }, { rnd_ptr(r, 64), below(r, 100) },
			{ arena + 100, below(r, 3000) },
		};
		struct msghdr m = { .msg_iov = iov, .msg_iovlen = 1 + below(r, 3) };

		if (chance(r, 20)) {
			m.msg_control = arena + below(r, 256);
			m.msg_controllen = below(r, 256);
		}
		return sendmsg(fd, &m, MSG_NOSIGNAL | fl[below(r, 6)]);
	}
	return send(fd, arena, below(r, 4000), MSG_NOSIGNAL | fl[below(r, 6)]);
}

static int op_recv(struct rnd *r)
{
	static const int fl[] = { 0, MSG_DONTWAIT, MSG_PEEK, MSG_WAITALL, MSG_TRUNC, MSG_OOB,
				  MSG_ERRQUEUE };
	int fd = pick(r);

	return recv(fd, arena, below(r, ARENA), MSG_DONTWAIT * chance(r, 50) |
		    fl[below(r, sizeof(fl) / sizeof(fl[0]))]);
}

static int op_sendfile(struct rnd *r)
{
	off_t off = below(r, 65536);

	return sendfile(pick(r), filefd, chance(r, 90) ? &off : NULL, below(r, 70000));
}

static int op_splice(struct rnd *r)
{
	int p[2], fd = pick(r), rc;
	loff_t off = below(r, 65536);

	if (pipe2(p, O_NONBLOCK | O_CLOEXEC))
		return -1;
	if (chance(r, 50)) {
		/* file -> pipe -> socket */
		rc = splice(filefd, &off, p[1], NULL, below(r, 65536), SPLICE_F_NONBLOCK);
		if (rc > 0)
			rc = splice(p[0], NULL, fd, NULL, rc, SPLICE_F_NONBLOCK * chance(r, 50));
	} else {
		/* socket -> pipe */
		rc = splice(fd, NULL, p[1], NULL, below(r, 65536), SPLICE_F_NONBLOCK);
	}
	close(p[0]);
	close(p[1]);
	return rc;
}

static int op_shutdown(struct rnd *r)
{
	return shutdown(pick(r), chance(r, 95) ? (int)below(r, 3) : (int)next(r));
}

static int op_poll(struct rnd *r)
{
	struct pollfd p[4];
	int i, n = 1 + below(r, 4);

	for (i = 0; i < n; i++) {
		p[i].fd = pick(r);
		p[i].events = next(r);
	}
	return poll(p, n, below(r, 30));
}

static int op_ioctl(struct rnd *r)
{
	static const unsigned long cmds[] = {
		FIONREAD, SIOCOUTQ, SIOCOUTQNSD, SIOCATMARK, FIONBIO, FIOASYNC, SIOCGSTAMP,
		SIOCGIFINDEX, SIOCGIFFLAGS, FIOCLEX, FIONCLEX,
	};
	unsigned long cmd;
	void *arg = rnd_ptr(r, 64);

	if (chance(r, 70))
		cmd = cmds[below(r, sizeof(cmds) / sizeof(cmds[0]))];
	else if (chance(r, 60))
		cmd = 0x8900 + below(r, 0x100);
	else
		cmd = next(r);
	/* Those that load modules (bridge, 8021q, dlci) even for nobody. */
	if ((cmd >= SIOCGIFBR && cmd <= SIOCSIFBR) || (cmd >= SIOCADDDLCI && cmd <= SIOCSIFVLAN) ||
	    (cmd >= SIOCBRADDBR && cmd <= SIOCBRDELIF))
		cmd = FIONREAD;
	/* FIONBIO/FIOASYNC read an int: keep it in the arena. */
	return ioctl(pick(r), cmd, arg);
}

static int op_fcntl(struct rnd *r)
{
	int fd = pick(r), fl;

	switch (below(r, 4)) {
	case 0:
		fl = fcntl(fd, F_GETFL);
		if (fl < 0)
			return -1;
		fl ^= chance(r, 50) ? O_NONBLOCK : O_ASYNC;
		return fcntl(fd, F_SETFL, fl);
	case 1:
		return fcntl(fd, F_SETOWN, chance(r, 80) ? getpid() : 0);
	case 2:
		return fcntl(fd, F_SETSIG, chance(r, 50) ? 0 : SIGIO);
	default:
		return fcntl(fd, F_GETOWN);
	}
}

static int op_getname(struct rnd *r)
{
	struct sockaddr_storage ss;
	socklen_t len = chance(r, 90) ? sizeof(ss) : below(r, 20);

	if (chance(r, 50))
		return getsockname(pick(r), (void *)&ss, &len);
	return getpeername(pick(r), (void *)&ss, &len);
}

static int op_dup(struct rnd *r)
{
	int fd = pick(r), own, d;

	if (chance(r, 50)) {
		d = dup(fd);
		if (d < 0)
			return -1;
		put(r, d);
		return 0;
	}
	/* dup2 onto a slot taken out of the table: it is ours to replace. */
	own = take(r);
	if (own < 0)
		return -1;
	d = dup2(fd, own);
	put(r, d < 0 ? own : d);
	return d < 0 ? -1 : 0;
}

static int op_close(struct rnd *r)
{
	int fd = take(r);

	if (fd < 0)
		return -1;
	if (chance(r, 10)) {
		/* Abort: SO_LINGER {1, 0} first. */
		struct linger lg = { 1, 0 };

		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	return close(fd);
}

static int run_ops(struct worker *w, int n);

/* A child with copies of the fds does a few operations and exits. */
static int op_fork(struct rnd *r)
{
	struct worker w = { .r = { next(r) | 1 } };
	pid_t pid;
	int st;

	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		/* Only this thread came along: a lock another held stays held. */
		pthread_mutex_init(&slot_lock, NULL);
		alarm(5);
		run_ops(&w, 2 + below(&w.r, 8));
		_exit(0);
	}
	__atomic_add_fetch(&sh->forks, 1, __ATOMIC_RELAXED);
	return waitpid(pid, &st, 0) < 0 ? -1 : 0;
}

static const struct {
	const char *name;
	int (*fn)(struct rnd *r);
	int weight;
} ops[] = {
	{ "socket", op_socket, 8 },
	{ "connect_fresh", op_connect_fresh, 4 },
	{ "listener", op_listener, 2 },
	{ "setsockopt", op_setsockopt, 25 },
	{ "getsockopt", op_getsockopt, 12 },
	{ "bind", op_bind, 4 },
	{ "connect", op_connect, 12 },
	{ "listen", op_listen, 4 },
	{ "accept", op_accept, 5 },
	{ "send", op_send, 8 },
	{ "recv", op_recv, 8 },
	{ "sendfile", op_sendfile, 3 },
	{ "splice", op_splice, 3 },
	{ "shutdown", op_shutdown, 3 },
	{ "poll", op_poll, 4 },
	{ "ioctl", op_ioctl, 4 },
	{ "fcntl", op_fcntl, 3 },
	{ "getname", op_getname, 3 },
	{ "dup", op_dup, 3 },
	{ "close", op_close, 7 },
	{ "fork", op_fork, 1 },
};

static int weight[sizeof(ops) / sizeof(ops[0])];

/* The weights, less the operations TAPS_FUZZ_SKIP names. */
static void set_weights(const char *skip)
{
	unsigned int i;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		const char *at = skip ? strstr(skip, ops[i].name) : NULL;
		size_t n = strlen(ops[i].name);

		weight[i] = ops[i].weight;
		if (at && (at == skip || at[-1] == ',') && (!at[n] || at[n] == ','))
			weight[i] = 0;
	}
}

static int run_ops(struct worker *w, int n)
{
	int total = 0, i, k;

	for (i = 0; i < (int)(sizeof(ops) / sizeof(ops[0])); i++)
		total += weight[i];
	if (!total)
		return 0;
	for (i = 0; n < 0 || i < n; i++) {
		int pickw = below(&w->r, total), rc;

		if (sh->stop)
			break;
		for (k = 0; pickw >= weight[k]; k++)
			pickw -= weight[k];
		w->op = ops[k].name;
		w->op_start = now_ms();
		rc = ops[k].fn(&w->r);
		w->op_start = 0;
		__atomic_add_fetch(&sh->ops, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&sh->op_n[k], 1, __ATOMIC_RELAXED);
		if (rc >= 0) {
			__atomic_add_fetch(&sh->ok, 1, __ATOMIC_RELAXED);
			__atomic_add_fetch(&sh->op_ok[k], 1, __ATOMIC_RELAXED);
		} else {
			sh->op_err[k] = errno;
		}
	}
	return 0;
}

static void *worker_main(void *arg)
{
	run_ops(arg, -1);
	return NULL;
}

/* ---- processes ----------------------------------------------------------- */

static int sh_run(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

static int listen_on(int port, int proto)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, proto), one = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (void *)&sin6, sizeof(sin6)) || listen(fd, 256)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Root child: plain listeners on loopback, accepting, draining, answering. */
static void server(int ready)
{
	static struct pollfd p[1024];
	static bool lsn[1024];
	int n = 0, i, port;
	char buf[4096];

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	signal(SIGPIPE, SIG_IGN);
	for (port = PORT_BOTH; port <= PORT_SCTP; port++) {
		if (port != PORT_SCTP) {
			p[n].fd = listen_on(port, IPPROTO_TCP);
			lsn[n++] = true;
		}
		if (port != PORT_TCP) {
			p[n].fd = listen_on(port, IPPROTO_SCTP);
			lsn[n++] = true;
		}
	}
	for (i = 0; i < n; i++)
		p[i].events = POLLIN;
	if (write(ready, "r", 1) != 1)
		_exit(1);
	close(ready);
	memset(buf, 'y', sizeof(buf));
	for (;;) {
		int k = n;

		if (poll(p, n, 1000) < 0)
			continue;
		for (i = 0; i < k; i++) {
			if (!p[i].revents || p[i].fd < 0)
				continue;
			if (lsn[i]) {
				int a;

				while (n < 1024 && (a = accept4(p[i].fd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
					p[n].fd = a;
					p[n].events = POLLIN;
					lsn[n++] = false;
				}
				continue;
			}
			if (read(p[i].fd, buf, sizeof(buf)) > 0) {
				if (send(p[i].fd, buf, 1 + (p[i].fd * 7919) % 2000,
					 MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
					;	/* full or gone: fine */
				continue;
			}
			close(p[i].fd);
			p[i].fd = -1;
		}
		/* Compact. */
		for (i = k = 0; i < n; i++) {
			if (p[i].fd < 0)
				continue;
			p[k] = p[i];
			lsn[k++] = lsn[i];
		}
		n = k;
	}
}

static int nworkers;

static void *watchdog(void *arg)
{
	struct worker *w = arg;
	int i, n = nworkers;

	while (!sh->stop) {
		for (i = 0; i < n; i++) {
			double t = w[i].op_start;

			if (t && now_ms() - t > STUCK_MS && !sh->stuck) {
				sh->stuck = 1;
				snprintf(sh->stuck_op, sizeof(sh->stuck_op), "%s", w[i].op);
				printf("# watchdog: thread %d stuck in %s for %.0f s\n", i, w[i].op,
				       (now_ms() - t) / 1000);
				fflush(stdout);
			}
		}
		usleep(200000);
	}
	return NULL;
}

/* The fuzzing child: uid 65534, threads plus one forked process. */
static int fuzz(unsigned long long seed, int seconds, int nthreads)
{
	struct worker w[MAX_THREADS];
	struct rnd r = { seed | 1 };
	pthread_t wd;
	pid_t sub;
	int i, st;

	if (setgroups(0, NULL) || setresgid(NOBODY, NOBODY, NOBODY) ||
	    setresuid(NOBODY, NOBODY, NOBODY)) {
		perror("sockfuzz: drop privileges");
		return 1;
	}
	signal(SIGIO, SIG_IGN);
	signal(SIGURG, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	alarm(seconds + 45);
	/* Some sockets to start with. */
	for (i = 0; i < NSLOTS / 2; i++)
		op_socket(&r);
	sub = fork();
	if (sub == 0) {
		struct worker cw = { .r = { next(&r) | 1 } };

		alarm(seconds + 40);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		run_ops(&cw, -1);
		for (i = 0; i < NSLOTS; i++)
			if (slots[i] >= 0)
				close(slots[i]);
		_exit(0);
	}
	memset(w, 0, sizeof(w));
	for (i = 0; i < nthreads; i++) {
		w[i].r.s = (seed + 0x9e3779b97f4a7c15ULL * (i + 1)) | 1;
		w[i].idx = i;
		if (pthread_create(&w[i].th, NULL, worker_main, &w[i]))
			return 1;
	}
	nworkers = nthreads;
	pthread_create(&wd, NULL, watchdog, w);
	sleep(seconds);
	sh->stop = 1;
	for (i = 0; i < nthreads; i++)
		pthread_join(w[i].th, NULL);
	pthread_join(wd, NULL);
	if (sub > 0)
		waitpid(sub, &st, 0);
	for (i = 0; i < NSLOTS; i++)
		if (slots[i] >= 0)
			close(slots[i]);
	return 0;
}

static long read_refcnt(void)
{
	FILE *f = fopen("/sys/module/taps/refcnt", "r");
	long v = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/* AF_TAPS sockets of this namespace, as tapsctl lists them; -1 if unknown. */
static int taps_sockets(void)
{
	char exe[PATH_MAX], cmd[PATH_MAX + 64], line[512], *s;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	FILE *p;
	int count = 0;

	if (n <= 0)
		return -1;
	exe[n] = 0;
	/* build/selftests/sockfuzz -> build/tools/tapsctl, else from PATH */
	s = strrchr(exe, '/');
	if (s)
		*s = 0;
	s = strrchr(exe, '/');
	if (s)
		*s = 0;
	snprintf(cmd, sizeof(cmd), "%s/tools/tapsctl", exe);
	if (access(cmd, X_OK))
		snprintf(cmd, sizeof(cmd), "tapsctl");
	strcat(cmd, " conn show 2>&1");
	p = popen(cmd, "r");
	if (!p)
		return -1;
	while (fgets(line, sizeof(line), p)) {
		printf("#   %s", line);
		count++;
	}
	if (pclose(p))
		return -1;
	return count;
}

static int tap_n, tap_bad;

static void tap(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d ", ok ? "" : "not ", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!ok)
		tap_bad = 1;
}

int main(void)
{
	const char *e_seed = getenv("TAPS_FUZZ_SEED");
	const char *e_sec = getenv("TAPS_SOCKFUZZ_SECONDS");
	const char *e_thr = getenv("TAPS_FUZZ_THREADS");
	unsigned long long seed;
	int seconds;
	int nthreads = e_thr ? atoi(e_thr) : 4;
	int i, st, ready[2], left;
	long ref0, ref;
	unsigned long min_ops;
	pid_t srv, fz;
	double end;
	bool exited;
	char c;

	if (!e_sec || !*e_sec)
		e_sec = getenv("TAPS_FUZZ_SECONDS");
	if (e_sec && !*e_sec)
		e_sec = NULL;
	seconds = e_sec ? atoi(e_sec) : 30;
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TAP version 13\n1..4\n");
	seed = e_seed ? strtoull(e_seed, NULL, 0) :
	       (unsigned long long)time(NULL) * 1000003ULL ^ getpid();
	if (seconds < 1)
		seconds = 1;
	if (nthreads < 1 || nthreads > MAX_THREADS)
		nthreads = 4;
	/* Fuzzing ops under TCG: hundreds per second on the stock kernel,
	 * far fewer on the debug one; this only proves it ran at all.
	 */
	min_ops = 20UL * seconds;
	printf("# seed %llu (TAPS_FUZZ_SEED=%llu to replay), %d s, %d threads and a process\n",
	       seed, seed, seconds, nthreads);
	set_weights(getenv("TAPS_FUZZ_SKIP"));
	if (getenv("TAPS_FUZZ_SKIP"))
		printf("# without: %s\n", getenv("TAPS_FUZZ_SKIP"));
	fam = taps_family();
	ref0 = read_refcnt();
	if (ref0 < 0 || fam <= 0) {
		printf("Bail out! taps.ko is not loaded\n");
		return 1;
	}

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	arena = mmap(NULL, ARENA + 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED || arena == MAP_FAILED || mprotect(arena + ARENA, 4096, PROT_NONE)) {
		printf("Bail out! mmap\n");
		return 1;
	}
	memset(sh, 0, sizeof(*sh));
	for (i = 0; i < NSLOTS; i++)
		slots[i] = -1;
	{
		char path[] = "/tmp/sockfuzz-XXXXXX";

		filefd = mkstemp(path);
		if (filefd < 0 || unlink(path) || ftruncate(filefd, 65536)) {
			printf("Bail out! temporary file\n");
			return 1;
		}
	}
	if (unshare(CLONE_NEWNET) || sh_run("ip link set lo up") ||
	    sh_run("ip link add tb0 type dummy && ip addr add 198.51.100.1/24 dev tb0 && "
		   "ip link set tb0 up")) {
		printf("Bail out! network namespace setup\n");
		return 1;
	}
	if (pipe(ready))
		return 1;
	srv = fork();
	if (srv == 0) {
		close(ready[0]);
		server(ready[1]);
		_exit(0);
	}
	close(ready[1]);
	if (read(ready[0], &c, 1) != 1) {
		printf("Bail out! the server did not start\n");
		return 1;
	}
	close(ready[0]);

	fz = fork();
	if (fz == 0)
		_exit(fuzz(seed, seconds, nthreads));
	/* The child stops itself after @seconds; then threads finish their
	 * operation (bounded by socket timeouts and linger) and it closes
	 * everything.
	 */
	end = now_ms() + (seconds + 60) * 1000.0;
	exited = false;
	while (now_ms() < end) {
		if (waitpid(fz, &st, WNOHANG) == fz) {
			exited = true;
			break;
		}
		usleep(100000);
	}
	if (!exited) {
		printf("# the fuzzing process did not exit %d s after its end\n", 60);
		kill(fz, SIGKILL);
		waitpid(fz, &st, 0);
	}
	kill(srv, SIGKILL);
	waitpid(srv, NULL, 0);
	printf("# %lu operations (%lu succeeded): %lu sockets, %lu connected, %lu accepted, "
	       "%lu forks\n", sh->ops, sh->ok, sh->sockets, sh->connected, sh->accepted, sh->forks);
	printf("# succeeded/done:");
	for (i = 0; i < (int)(sizeof(ops) / sizeof(ops[0])); i++)
		printf(" %s %lu/%lu (%s)", ops[i].name, sh->op_ok[i], sh->op_n[i],
		       strerror(sh->op_err[i]));
	printf("\n");
	tap(sh->ops >= min_ops && sh->sockets > 0,
	    "fuzz: %lu operations in %d s (at least %lu)", sh->ops, seconds, min_ops);
	tap(exited && WIFEXITED(st) && !WEXITSTATUS(st) && !sh->stuck,
	    "fuzz: every process ended in time, no operation stuck%s%s",
	    sh->stuck ? " (stuck: " : "", sh->stuck ? sh->stuck_op : "");
	if (sh->stuck)
		printf("# an operation was stuck for more than %d s: %s\n", STUCK_MS / 1000,
		       sh->stuck_op);

	/* TCP and SCTP teardown is asynchronous; our own references come back. */
	for (left = 100; left > 0; left--) {
		ref = read_refcnt();
		if (ref == ref0)
			break;
		usleep(100000);
	}
	tap(ref == ref0, "module reference count back to %ld (now %ld)", ref0, ref);
	i = taps_sockets();
	tap(i == 0, "no AF_TAPS socket left in the namespace (tapsctl conn show: %d)", i);
	return tap_bad;
}
