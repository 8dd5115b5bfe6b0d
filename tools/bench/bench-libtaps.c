// SPDX-License-Identifier: GPL-2.0
/*
 * bench: libtaps (lib/, the RFC 9622 API on io_uring) against the same
 * program written on plain sockets, measured in one process.
 *
 *   bench echo   [-n NETNS] [-r ROUNDS] [-c CLIENTS] [-t SECONDS] [-s SIZE] ADDR PORT
 *   bench framer [-n NETNS] [-r ROUNDS] [-m MS] ADDR PORT
 *   bench name   [-r ROUNDS] [-d DELAY_MS] [-T TAPSCTL] NAME ADDR4 PORT
 *
 * echo forks an echo server into NETNS, one process, in turn on libtaps'
 * loop (taps_listen() with the default properties, ConnectionReceived,
 * then Receive and Send of what came), on epoll over a plain TCP listener
 * ([::]:PORT), and (to tell the socket's cost from the loop's) the same
 * epoll server on an AF_TAPS listener; CLIENTS plain TCP connections from
 * one epoll client (the same for every server) each send SIZE bytes and
 * wait for the echo, over and over, for SECONDS after a warm-up.  The
 * figure is requests per second, and the server's CPU time per request
 * (/proc/PID/stat).
 *
 * framer forks a plain length-prefix server (Documentation/framing.md)
 * into NETNS and moves 64-byte and 16 KiB messages each way through one
 * libtaps connection with the length-prefix framer (the default
 * properties) and through one plain TCP socket with a hand-written
 * length-prefix loop (writev() of header and message; 64 KiB reads parsed
 * in place), as many per measurement as the plain loop moved in MS
 * (500) milliseconds in the warm-up.  The libtaps sender keeps up to
 * 256 KiB sent and not yet Sent.  Every message carries its sequence
 * number; both ends check it.  The figure is messages per second.
 *
 * name times taps_initiate() to Ready with NAME as the remote endpoint
 * (run.sh puts an IPv6 and an IPv4 address for it in the client
 * namespace's /etc/hosts and drops IPv6 at the server), the default
 * properties and, without -d, the kernel's attempt delay; against curl's
 * happy eyeballs to the same NAME (its time_connect), curl's default
 * delay without -d, DELAY_MS for both with it.  The namespace's cached
 * state is flushed ("TAPSCTL cache flush") before each libtaps round, so
 * that every round races as on first contact.
 *
 * Rounds alternate the kinds and change their order each round; a result
 * is the median over rounds (of the per-round ratios for echo and framer).
 * Each result also goes out as a "SUMMARY " line for run.sh.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "taps.h"
#include "bench.h"

#define ECHO_MAX_CLIENTS	1024
#define LP_BUF			(64 * 1024)	/* libtaps reads 64 KiB at a time too */

static void fail(const char *what, const struct taps_error *e)
{
	errno = 0;
	die("%s: %s (%s)", what, e->reason, strerror(e->code));
}

/* Fork f(arg) into netns; returns once it wrote its one byte to fd. */
static pid_t fork_server(const char *netns, void (*f)(int ready_fd, void *arg), void *arg)
{
	int pfd[2];
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
		f(pfd[1], arg);
		_exit(0);
	}
	close(pfd[1]);
	if (read(pfd[0], &c, 1) != 1) {
		errno = 0;
		die("the server did not start");
	}
	close(pfd[0]);
	return pid;
}

static void stop_server(pid_t pid)
{
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

/* ---- 1. echo: a server on libtaps' loop against one on epoll --------- */

static void echo_taps_received(struct taps_connection *c, const void *data, size_t len,
			       const struct taps_message_context *mc, void *user)
{
	(void)user;
	if (len && taps_send(c, data, len, NULL, 0)) {
		taps_abort(c);
		return;
	}
	if (mc->end_of_message)
		taps_close(c);
	else
		taps_receive(c, 1, 64 * 1024);
}

static void echo_taps_conn_received(struct taps_listener *l, struct taps_connection *c,
				    void *user)
{
	(void)l;
	(void)user;
	taps_receive(c, 1, 64 * 1024);
}

static void echo_taps_listen_error(struct taps_listener *l, const struct taps_error *e,
				   void *user)
{
	(void)l;
	(void)user;
	fail("libtaps echo server", e);
}

static void echo_taps_server(int ready_fd, void *arg)
{
	static const struct taps_callbacks cbs = {
		.connection_received = echo_taps_conn_received,
		.listen_error = echo_taps_listen_error,
		.received_partial = echo_taps_received,
	};
	struct taps_preconnection *pre;
	struct taps_listener *l;
	struct taps_loop *loop;
	char port[16];
	int err;

	snprintf(port, sizeof(port), "%d", *(int *)arg);
	loop = taps_loop_new();
	if (!loop)
		die("taps_loop_new");
	pre = taps_preconnection_new(loop);
	if (!pre)
		die("taps_preconnection_new");
	err = taps_preconnection_set_local(pre, NULL, port);
	if (err) {
		errno = -err;
		die("taps_preconnection_set_local");
	}
	taps_preconnection_set_callbacks(pre, &cbs);
	l = taps_listen(pre, NULL);
	if (!l || taps_listener_port(l) <= 0)
		die("taps_listen on port %s", port);
	taps_preconnection_free(pre);
	write_all(ready_fd, "r", 1);
	close(ready_fd);
	err = taps_loop_run(loop);
	errno = -err;
	die("taps_loop_run returned");
}

/* Echo what came; false when the peer is gone. */
static bool echo_write(int fd, const char *p, ssize_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= n;
	}
	return true;
}

/* An AF_TAPS listener with the default properties (TCP and SCTP), blocking. */
static int taps_listen_fd(int port)
{
	struct sockaddr_taps st = { .stap_family = af_taps, .stap_port = htons(port) };
	int lfd, one = 1;

	lfd = socket(af_taps, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lfd, (struct sockaddr *)&st, sizeof(st)) || listen(lfd, 4096))
		die("AF_TAPS listener on port %d", port);
	return lfd;
}

/* The epoll server, on a plain TCP listener or (diagnosis) an AF_TAPS one. */
static void echo_epoll_server_on(int ready_fd, int port, bool taps)
{
	struct epoll_event ev = { .events = EPOLLIN }, evs[256];
	static char b[64 * 1024];
	int lfd, ep, i, n, fd;
	ssize_t r;

	lfd = taps ? taps_listen_fd(port) : server_listen(IPPROTO_TCP, port);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		die("epoll_create1");
	ev.data.fd = lfd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev))
		die("epoll_ctl");
	write_all(ready_fd, "r", 1);
	close(ready_fd);
	for (;;) {
		n = epoll_wait(ep, evs, 256, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("epoll_wait");
		for (i = 0; i < n; i++) {
			fd = evs[i].data.fd;
			if (fd == lfd) {
				/* blocking sockets: a write of an echo never fills them */
				while ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
					ev.data.fd = fd;
					if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev))
						die("epoll_ctl");
				}
				continue;
			}
			r = read(fd, b, sizeof(b));
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0 || !echo_write(fd, b, r))
				close(fd);
		}
	}
}

static void echo_epoll_server(int ready_fd, void *arg)
{
	echo_epoll_server_on(ready_fd, *(int *)arg, false);
}

static void echo_epoll_taps_server(int ready_fd, void *arg)
{
	echo_epoll_server_on(ready_fd, *(int *)arg, true);
}

/* The servers: [E_LIBTAPS] is measured against [E_EPOLL]; [E_EPOLL_TAPS]
 * tells the cost of the AF_TAPS sockets from that of libtaps' loop. */
enum { E_EPOLL, E_LIBTAPS, E_EPOLL_TAPS, E_N };
static void (*const echo_servers[E_N])(int, void *) = {
	echo_epoll_server, echo_taps_server, echo_epoll_taps_server,
};
static const char * const echo_names[E_N] = { "epoll", "libtaps", "epoll on AF_TAPS" };

/* utime + stime of pid, in seconds */
static double proc_cpu(pid_t pid)
{
	unsigned long ut = 0, st = 0;
	char path[64], line[1024], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (!f)
		die("%s", path);
	if (!fgets(line, sizeof(line), f))
		line[0] = 0;
	fclose(f);
	p = strrchr(line, ')');
	errno = 0;
	/* after the name: state and 10 more fields, then utime and stime */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
			 &ut, &st) != 2)
		die("%s: cannot parse", path);
	return (double)(ut + st) / sysconf(_SC_CLK_TCK);
}

struct echo_result {
	double	rate;		/* requests/s */
	double	cpu_us;		/* server CPU per request */
	double	load;		/* server CPU time / wall time */
};

static void echo_round(int kind, const char *netns, const struct target *t, int port,
		       int clients, int seconds, int size, struct echo_result *res)
{
	struct epoll_event ev = { .events = EPOLLIN }, evs[256];
	static int fds[ECHO_MAX_CLIENTS];
	static size_t got[ECHO_MAX_CLIENTS];
	static char req[64 * 1024], rsp[64 * 1024];
	double t0 = 0, t1, end, cpu0 = 0;
	long done = 0;
	bool counting = false;
	int i, n, ep, k;
	ssize_t r;
	pid_t srv;

	srv = fork_server(netns, echo_servers[kind], &port);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		die("epoll_create1");
	memset(req, 'q', size);
	for (i = 0; i < clients; i++) {
		fds[i] = socket(t->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fds[i] < 0 || connect(fds[i], (const struct sockaddr *)&t->ss, t->len))
			die("echo client %d: connect", i);
		set_nodelay(fds[i]);
		if (fcntl(fds[i], F_SETFL, O_NONBLOCK))
			die("fcntl");
		ev.data.u32 = i;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev))
			die("epoll_ctl");
		got[i] = 0;
	}
	for (i = 0; i < clients; i++)
		write_all(fds[i], req, size);
	/* half a second of warm-up, then SECONDS counted */
	end = now_us() + 500e3;
	for (;;) {
		t1 = now_us();
		if (t1 >= end) {
			if (counting)
				break;
			counting = true;
			t0 = t1;
			cpu0 = proc_cpu(srv);
			done = 0;
			end = t0 + seconds * 1e6;
		}
		n = epoll_wait(ep, evs, 256, 100);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("epoll_wait");
		for (k = 0; k < n; k++) {
			i = evs[k].data.u32;
			r = read(fds[i], rsp, size - got[i]);
			if (r < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (r <= 0) {
				errno = r ? errno : 0;
				die("echo client %d: the %s server ended the connection", i,
				    echo_names[kind]);
			}
			got[i] += r;
			if (got[i] < (size_t)size)
				continue;
			got[i] = 0;
			done++;
			write_all(fds[i], req, size);
		}
	}
	res->rate = done / ((t1 - t0) / 1e6);
	res->load = (proc_cpu(srv) - cpu0) / ((t1 - t0) / 1e6);
	res->cpu_us = done ? (proc_cpu(srv) - cpu0) * 1e6 / done : 0;
	for (i = 0; i < clients; i++)
		close_abort(fds[i]);
	close(ep);
	stop_server(srv);
}

int cmd_echo(int argc, char **argv)
{
	double ratio[MAX_ROUNDS], rate[E_N][MAX_ROUNDS], cpu[E_N][MAX_ROUNDS];
	double load[E_N][MAX_ROUNDS], ratio_t[MAX_ROUNDS];
	static const int order[E_N] = { E_LIBTAPS, E_EPOLL, E_EPOLL_TAPS };
	int opt, i, k, rounds = 5, clients = 100, seconds = 3, size = 64, port;
	const char *netns = NULL;
	struct echo_result res;
	struct target t;

	while ((opt = getopt(argc, argv, "n:r:c:t:s:")) != -1) {
		switch (opt) {
		case 'n':
			netns = optarg;
			break;
		case 'r':
			rounds = parse_int(optarg, 1, MAX_ROUNDS);
			break;
		case 'c':
			clients = parse_int(optarg, 1, ECHO_MAX_CLIENTS);
			break;
		case 't':
			seconds = parse_int(optarg, 1, 60);
			break;
		case 's':
			size = parse_int(optarg, 1, 64 * 1024);
			break;
		default:
			errno = 0;
			die("bad option (see the comment at the top of tools/bench/bench-libtaps.c)");
		}
	}
	if (argc - optind != 2) {
		errno = 0;
		die("echo: ADDR PORT expected");
	}
	parse_target(&t, argv[optind], argv[optind + 1]);
	port = parse_int(argv[optind + 1], 1, 65535);
	for (i = 0; i < rounds; i++) {
		for (k = 0; k < E_N; k++) {
			/* the order rotates each round */
			int kind = order[(i + k) % E_N];

			echo_round(kind, netns, &t, port, clients, seconds, size, &res);
			rate[kind][i] = res.rate;
			cpu[kind][i] = res.cpu_us;
			load[kind][i] = res.load;
		}
		ratio[i] = rate[E_LIBTAPS][i] / rate[E_EPOLL][i];
		ratio_t[i] = rate[E_EPOLL_TAPS][i] / rate[E_EPOLL][i];
		printf("echo round %d: ", i + 1);
		for (k = 0; k < E_N; k++)
			printf("%s %.0f/s (server %.1f us CPU per request, %.0f%% of a CPU), ",
			       echo_names[k], rate[k][i], cpu[k][i], load[k][i] * 100);
		printf("libtaps/epoll %.3f, epoll on AF_TAPS/epoll %.3f\n", ratio[i], ratio_t[i]);
	}
	summary("echo server, %d concurrent clients, %d-byte requests: libtaps/epoll = %.2f (libtaps %.0f/s, epoll %.0f/s; server CPU per request %.1f / %.1f us, load %.0f%% / %.0f%%; median of %d rounds of %d s; libtaps listener with the default properties) [goal >= 0.9: %s]",
		clients, size, median(ratio, rounds), median(rate[E_LIBTAPS], rounds),
		median(rate[E_EPOLL], rounds), median(cpu[E_LIBTAPS], rounds),
		median(cpu[E_EPOLL], rounds), median(load[E_LIBTAPS], rounds) * 100,
		median(load[E_EPOLL], rounds) * 100, rounds, seconds,
		goal(median(ratio, rounds), 0.9, false));
	summary("echo server (diagnosis), the same epoll server on an AF_TAPS listener: epoll on AF_TAPS/epoll = %.2f (%.0f/s, %.1f us CPU per request)",
		median(ratio_t, rounds), median(rate[E_EPOLL_TAPS], rounds),
		median(cpu[E_EPOLL_TAPS], rounds));
	return 0;
}

/* ---- 2. framer: length-prefix through libtaps against a plain loop --- */

/* The first message on a connection, and after each exchange: what next. */
struct lp_ctl {
	char		op;		/* 'u' client -> server, 'd' server -> client */
	uint8_t		pad[3];
	uint32_t	size;		/* bytes per message */
	uint64_t	count;		/* messages */
};

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The hand-written reader: LP_BUF bytes at a time, frames parsed in place. */
struct lp_reader {
	int		fd;
	uint8_t		buf[LP_BUF];
	size_t		off, len;
};

/* The next frame's payload (valid until the next call), NULL at EOF. */
static const uint8_t *lp_next(struct lp_reader *r, uint32_t *len)
{
	const uint8_t *p;
	uint32_t l = 0;
	ssize_t n;

	for (;;) {
		if (r->len >= 4) {
			l = get_be32(r->buf + r->off);
			errno = 0;
			if (l > LP_BUF - 4)
				die("length-prefix frame of %u bytes", l);
			if (r->len - 4 >= l) {
				p = r->buf + r->off + 4;
				r->off += 4 + l;
				r->len -= 4 + l;
				*len = l;
				return p;
			}
		}
		/* room for the whole frame, and reads of a quarter buffer at least */
		if (!r->len) {
			r->off = 0;
		} else if (r->off + (r->len >= 4 ? 4 + l : 4) > LP_BUF ||
			   LP_BUF - r->off - r->len < LP_BUF / 4) {
			memmove(r->buf, r->buf + r->off, r->len);
			r->off = 0;
		}
		n = read(r->fd, r->buf + r->off + r->len, LP_BUF - r->off - r->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("read");
		if (n == 0)
			return NULL;
		r->len += n;
	}
}

static void lp_write(int fd, const void *msg, uint32_t len)
{
	struct iovec iov[2];
	uint8_t hdr[4];
	size_t left = 4 + len;
	ssize_t n;
	int i = 0;

	put_be32(hdr, len);
	iov[0].iov_base = hdr;
	iov[0].iov_len = 4;
	iov[1].iov_base = (void *)msg;
	iov[1].iov_len = len;
	while (left) {
		n = writev(fd, iov + i, 2 - i);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("writev");
		left -= n;
		while (i < 2 && (size_t)n >= iov[i].iov_len) {
			n -= iov[i].iov_len;
			i++;
		}
		if (i < 2) {
			iov[i].iov_base = (char *)iov[i].iov_base + n;
			iov[i].iov_len -= n;
		}
	}
}

static void check_msg(const uint8_t *p, uint32_t len, uint32_t size, uint64_t seq)
{
	uint64_t s;

	errno = 0;
	if (len != size)
		die("message %llu: %u bytes, not %u", (unsigned long long)seq, len, size);
	memcpy(&s, p, sizeof(s));
	if (s != seq)
		die("message %llu came as number %llu", (unsigned long long)seq,
		    (unsigned long long)s);
}

/* One connection of the plain server: control frames, then what they say. */
static void lp_serve(int fd)
{
	static struct lp_reader r;
	static uint8_t out[CHUNK];
	const uint8_t *p;
	struct lp_ctl ctl;
	size_t used;
	uint64_t i;
	uint32_t len;

	r.fd = fd;
	while ((p = lp_next(&r, &len))) {
		errno = 0;
		if (len != sizeof(ctl))
			die("framer server: a control frame of %u bytes", len);
		memcpy(&ctl, p, sizeof(ctl));
		if (ctl.size < 8 || ctl.size > LP_BUF - 4)
			die("framer server: messages of %u bytes", ctl.size);
		if (ctl.op == 'u') {
			for (i = 0; i < ctl.count; i++) {
				p = lp_next(&r, &len);
				if (!p) {
					errno = 0;
					die("framer server: EOF after %llu messages",
					    (unsigned long long)i);
				}
				check_msg(p, len, ctl.size, i);
			}
			lp_write(fd, "k", 1);
			continue;
		}
		/* 'd': frames packed into CHUNK-byte writes */
		used = 0;
		for (i = 0; i < ctl.count; i++) {
			if (used + 4 + ctl.size > sizeof(out)) {
				write_all(fd, out, used);
				used = 0;
			}
			put_be32(out + used, ctl.size);
			memset(out + used + 4, 'm', ctl.size);
			memcpy(out + used + 4, &i, sizeof(i));
			used += 4 + ctl.size;
		}
		write_all(fd, out, used);
	}
}

static void lp_server(int ready_fd, void *arg)
{
	int lfd = server_listen(IPPROTO_TCP, *(int *)arg), fd;

	signal(SIGCHLD, SIG_IGN);
	if (fcntl(lfd, F_SETFL, 0))
		die("fcntl");
	write_all(ready_fd, "r", 1);
	close(ready_fd);
	for (;;) {
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			die("framer server: accept");
		}
		if (fork() == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			close(lfd);
			lp_serve(fd);
			_exit(0);
		}
		close(fd);
	}
}

/* The plain client: the same reader, writev() of header and message. */
static double lp_plain(int fd, struct lp_reader *r, bool up, uint32_t size, uint64_t count)
{
	static uint8_t msg[LP_BUF];
	struct lp_ctl ctl = { .op = up ? 'u' : 'd', .size = size, .count = count };
	const uint8_t *p;
	double t0 = now_us();
	uint64_t i;
	uint32_t len;

	lp_write(fd, &ctl, sizeof(ctl));
	if (up) {
		memset(msg, 'm', size);
		for (i = 0; i < count; i++) {
			memcpy(msg, &i, sizeof(i));
			lp_write(fd, msg, size);
		}
		p = lp_next(r, &len);
		errno = 0;
		if (!p || len != 1 || *p != 'k')
			die("framer: no acknowledgement from the server");
	} else {
		for (i = 0; i < count; i++) {
			p = lp_next(r, &len);
			if (!p) {
				errno = 0;
				die("framer: EOF after %llu messages", (unsigned long long)i);
			}
			check_msg(p, len, size, i);
		}
	}
	return count / ((now_us() - t0) / 1e6);
}

/* The libtaps client: one connection, its state here. */
static struct {
	struct taps_loop	*loop;
	struct taps_connection	*c;
	bool			up, ready;
	uint32_t		size;
	uint64_t		count, sent, got;
	size_t			queued, window;	/* bytes sent and not yet Sent */
	uint8_t			msg[LP_BUF];
} fl;

static void fl_fill(void)
{
	int err;

	while (fl.sent < fl.count && fl.queued < fl.window) {
		memcpy(fl.msg, &fl.sent, sizeof(fl.sent));
		err = taps_send(fl.c, fl.msg, fl.size, &fl, 0);
		if (err) {
			errno = -err;
			die("taps_send");
		}
		fl.sent++;
		fl.queued += fl.size;
	}
}

static void fl_ready(struct taps_connection *c, void *user)
{
	(void)c;
	(void)user;
	fl.ready = true;
	taps_loop_stop(fl.loop);
}

static void fl_estab_error(struct taps_connection *c, const struct taps_error *e, void *user)
{
	(void)c;
	(void)user;
	fail("framer: libtaps connection", e);
}

static void fl_conn_error(struct taps_connection *c, const struct taps_error *e, void *user)
{
	(void)c;
	(void)user;
	fail("framer: libtaps connection", e);
}

static void fl_send_error(struct taps_connection *c, void *ctx, const struct taps_error *e,
			  void *user)
{
	(void)c;
	(void)ctx;
	(void)user;
	fail("framer: libtaps send", e);
}

static void fl_receive_error(struct taps_connection *c, const struct taps_error *e,
			     void *user)
{
	(void)c;
	(void)user;
	fail("framer: libtaps receive", e);
}

static void fl_sent(struct taps_connection *c, void *ctx, void *user)
{
	(void)c;
	(void)user;
	if (!ctx)
		return;		/* the control message */
	fl.queued -= fl.size;
	fl_fill();
}

static void fl_received(struct taps_connection *c, const void *data, size_t len,
			const struct taps_message_context *mc, void *user)
{
	(void)mc;
	(void)user;
	if (fl.up) {
		errno = 0;
		if (len != 1 || *(const char *)data != 'k')
			die("framer: no acknowledgement from the server");
		taps_loop_stop(fl.loop);
		return;
	}
	check_msg(data, len, fl.size, fl.got);
	if (++fl.got == fl.count)
		taps_loop_stop(fl.loop);
	else
		taps_receive(c, 0, 0);
}

static void fl_received_partial(struct taps_connection *c, const void *data, size_t len,
				const struct taps_message_context *mc, void *user)
{
	(void)c;
	(void)data;
	(void)len;
	(void)mc;
	(void)user;
	errno = 0;
	die("framer: the server ended the connection");
}

static void fl_open(const char *addr, const char *port)
{
	static const struct taps_callbacks cbs = {
		.ready = fl_ready,
		.establishment_error = fl_estab_error,
		.sent = fl_sent,
		.send_error = fl_send_error,
		.received = fl_received,
		.received_partial = fl_received_partial,
		.receive_error = fl_receive_error,
		.connection_error = fl_conn_error,
	};
	struct taps_preconnection *pre;
	int64_t proto;

	fl.loop = taps_loop_new();
	if (!fl.loop)
		die("taps_loop_new");
	pre = taps_preconnection_new(fl.loop);
	if (!pre || taps_preconnection_add_remote(pre, addr, port) ||
	    taps_preconnection_add_framer(pre, &taps_framer_length_prefix, NULL))
		die("framer: preconnection");
	taps_preconnection_set_callbacks(pre, &cbs);
	fl.c = taps_initiate(pre, NULL);
	if (!fl.c)
		die("taps_initiate");
	taps_preconnection_free(pre);
	taps_loop_run(fl.loop);
	errno = 0;
	if (!fl.ready)
		die("framer: the libtaps connection did not get ready");
	if (taps_connection_get(fl.c, TAPS_PROP_PROTOCOL, &proto) || proto != IPPROTO_TCP)
		die("framer: the libtaps connection is not over TCP");
}

static double lp_taps(bool up, uint32_t size, uint64_t count)
{
	struct lp_ctl ctl = { .op = up ? 'u' : 'd', .size = size, .count = count };
	double t0 = now_us();
	int err;

	fl.up = up;
	fl.size = size;
	fl.count = count;
	fl.sent = fl.got = 0;
	fl.queued = 0;
	/* what a socket buffer would hold: the rest waits for Sent events */
	fl.window = 256 * 1024;
	memset(fl.msg, 'm', size);
	err = taps_send(fl.c, &ctl, sizeof(ctl), NULL, 0);
	if (!err)
		err = taps_receive(fl.c, 0, 0);
	if (err) {
		errno = -err;
		die("framer: libtaps send or receive");
	}
	if (up)
		fl_fill();
	err = taps_loop_run(fl.loop);
	if (err) {
		errno = -err;
		die("taps_loop_run");
	}
	errno = 0;
	if (up ? fl.sent != count : fl.got != count)
		die("framer: the libtaps loop stopped early");
	return count / ((now_us() - t0) / 1e6);
}

int cmd_framer(int argc, char **argv)
{
	static const uint32_t sizes[2] = { 64, 16 * 1024 };
	static const char * const dir[2] = { "client->server", "server->client" };
	double rate[2][2][2][MAX_ROUNDS], ratio[2][2][MAX_ROUNDS];	/* [size][up][taps] */
	int opt, i, s, d, k, rounds = 5, fd, ms = 500;
	uint64_t count[2][2];		/* [size][up] */
	static struct lp_reader r;
	const char *netns = NULL;
	struct target t;
	int port;
	pid_t srv;

	while ((opt = getopt(argc, argv, "n:r:m:")) != -1) {
		switch (opt) {
		case 'n':
			netns = optarg;
			break;
		case 'r':
			rounds = parse_int(optarg, 1, MAX_ROUNDS);
			break;
		case 'm':
			ms = parse_int(optarg, 10, 60000);
			break;
		default:
			errno = 0;
			die("bad option (see the comment at the top of tools/bench/bench-libtaps.c)");
		}
	}
	if (argc - optind != 2) {
		errno = 0;
		die("framer: ADDR PORT expected");
	}
	parse_target(&t, argv[optind], argv[optind + 1]);
	port = parse_int(argv[optind + 1], 1, 65535);
	srv = fork_server(netns, lp_server, &port);

	fd = socket(t.ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (const struct sockaddr *)&t.ss, t.len))
		die("framer: plain connect");
	r.fd = fd;
	fl_open(argv[optind], argv[optind + 1]);
	/* Warm-up, which also sets the count: what the plain loop moves in MS. */
	for (s = 0; s < 2; s++) {
		for (d = 0; d < 2; d++) {
			uint64_t n = s ? 500 : 5000;
			double q;

			lp_taps(d, sizes[s], n);
			q = lp_plain(fd, &r, d, sizes[s], n);
			count[s][d] = q * ms / 1000 > n ? q * ms / 1000 : n;
		}
	}

	for (i = 0; i < rounds; i++) {
		for (s = 0; s < 2; s++) {
			for (d = 1; d >= 0; d--) {
				for (k = 0; k < 2; k++) {
					bool taps = (i + k) % 2 == 0;

					rate[s][d][taps][i] = taps ?
						lp_taps(d, sizes[s], count[s][d]) :
						lp_plain(fd, &r, d, sizes[s], count[s][d]);
				}
				ratio[s][d][i] = rate[s][d][1][i] / rate[s][d][0][i];
				printf("framer %u B %s round %d: libtaps %.0f msg/s, plain %.0f msg/s, ratio %.3f\n",
				       sizes[s], dir[!d], i + 1, rate[s][d][1][i], rate[s][d][0][i],
				       ratio[s][d][i]);
			}
		}
	}
	close(fd);
	stop_server(srv);
	for (s = 0; s < 2; s++) {
		for (d = 1; d >= 0; d--) {
			double q = median(ratio[s][d], rounds);

			summary("length-prefix messages, %u B, %s: libtaps/plain = %.2f (libtaps %.0f msg/s, plain %.0f msg/s, %d x %llu messages) [goal >= 0.9: %s]",
				sizes[s], dir[!d], q, median(rate[s][d][1], rounds),
				median(rate[s][d][0], rounds), rounds,
				(unsigned long long)count[s][d], goal(q, 0.9, false));
		}
	}
	return 0;
}

/* ---- 3. name: taps_initiate() to Ready against curl ------------------ */

static struct {
	struct taps_loop	*loop;
	bool			ready;
	double			t_ready;
	struct taps_info	ti;
	char			reason[256];
} nm;

static void nm_ready(struct taps_connection *c, void *user)
{
	(void)user;
	nm.t_ready = now_us();
	nm.ready = true;
	if (taps_connection_info(c, &nm.ti))
		memset(&nm.ti, 0, sizeof(nm.ti));
	taps_loop_stop(nm.loop);
}

static void nm_error(struct taps_connection *c, const struct taps_error *e, void *user)
{
	(void)c;
	(void)user;
	snprintf(nm.reason, sizeof(nm.reason), "%s", e->reason);
	taps_loop_stop(nm.loop);
}

static void nm_closed(struct taps_connection *c, void *user)
{
	(void)c;
	(void)user;
	taps_loop_stop(nm.loop);
}

/* ms from taps_initiate() to Ready; *lib_ms: the library's own count */
static double name_taps(const char *name, const char *port, int delay, double *lib_ms)
{
	static const struct taps_callbacks cbs = {
		.ready = nm_ready,
		.establishment_error = nm_error,
		.connection_error = nm_error,
		.closed = nm_closed,
	};
	struct taps_preconnection *pre;
	struct taps_connection *c;
	double t0;

	pre = taps_preconnection_new(nm.loop);
	if (!pre || taps_preconnection_add_remote(pre, name, port))
		die("name: preconnection");
	if (delay && taps_preconnection_set(pre, TAPS_PROP_ATTEMPT_DELAY, delay))
		die("name: attemptDelay");
	taps_preconnection_set_callbacks(pre, &cbs);
	nm.ready = false;
	nm.reason[0] = 0;
	t0 = now_us();
	c = taps_initiate(pre, NULL);
	if (!c)
		die("taps_initiate");
	taps_loop_run(nm.loop);
	taps_preconnection_free(pre);
	errno = 0;
	if (!nm.ready)
		die("name: %s: %s", name, nm.reason[0] ? nm.reason : "no Ready");
	if (nm.ti.ti_remote.ss_family != AF_INET || nm.ti.ti_protocol != IPPROTO_TCP)
		die("name: %s: won by %s over family %u, not TCP over IPv4", name,
		    taps_protocol_name(nm.ti.ti_protocol), nm.ti.ti_remote.ss_family);
	*lib_ms = taps_connection_ready_us(c) / 1000.0;
	taps_abort(c);
	taps_loop_run(nm.loop);
	return (nm.t_ready - t0) / 1000;
}

/* curl's time_connect in ms (from its start: name lookup included) */
static double name_curl(const char *name, const char *addr4, const char *port, int he_ms,
			double *lookup_ms)
{
	char url[300], he[16], out[128];
	int pfd[2], status;
	double lookup, conn;
	ssize_t n;
	pid_t pid;

	snprintf(url, sizeof(url), "http://%s:%s/", name, port);
	snprintf(he, sizeof(he), "%d", he_ms);
	if (pipe2(pfd, O_CLOEXEC))
		die("pipe");
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		dup2(pfd[1], 1);
		if (he_ms)
			execlp("curl", "curl", "-sS", "-o", "/dev/null", "--max-time", "10",
			       "-w", "%{time_namelookup} %{time_connect} %{remote_ip}",
			       "--happy-eyeballs-timeout-ms", he, url, (char *)NULL);
		else
			execlp("curl", "curl", "-sS", "-o", "/dev/null", "--max-time", "10",
			       "-w", "%{time_namelookup} %{time_connect} %{remote_ip}",
			       url, (char *)NULL);
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
	if (!strstr(out, addr4) || sscanf(out, "%lf %lf", &lookup, &conn) != 2)
		die("curl connected elsewhere than %s: %s", addr4, out);
	*lookup_ms = lookup * 1000;
	return conn * 1000;
}

int cmd_name(int argc, char **argv)
{
	double taps[MAX_ROUNDS], lib[MAX_ROUNDS], race[MAX_ROUNDS], curl[MAX_ROUNDS];
	double lookup[MAX_ROUNDS], ratio[MAX_ROUNDS];
	const char *tapsctl = "tapsctl", *name, *addr4, *port;
	int opt, i, rounds = 7, delay = 0;
	unsigned int policy_delay = 0;

	while ((opt = getopt(argc, argv, "r:d:T:")) != -1) {
		switch (opt) {
		case 'r':
			rounds = parse_int(optarg, 1, MAX_ROUNDS);
			break;
		case 'd':
			delay = parse_int(optarg, 10, 2000);
			break;
		case 'T':
			tapsctl = optarg;
			break;
		default:
			errno = 0;
			die("bad option (see the comment at the top of tools/bench/bench-libtaps.c)");
		}
	}
	if (argc - optind != 3) {
		errno = 0;
		die("name: NAME ADDR4 PORT expected");
	}
	name = argv[optind];
	addr4 = argv[optind + 1];
	port = argv[optind + 2];
	parse_int(port, 1, 65535);
	nm.loop = taps_loop_new();
	if (!nm.loop)
		die("taps_loop_new");

	for (i = 0; i < rounds; i++) {
		if (i % 2)
			curl[i] = name_curl(name, addr4, port, delay, &lookup[i]);
		cache_flush(tapsctl);
		taps[i] = name_taps(name, port, delay, &lib[i]);
		race[i] = nm.ti.ti_connect_us / 1000.0;
		policy_delay = nm.ti.ti_attempt_delay_ms;
		if (i % 2 == 0)
			curl[i] = name_curl(name, addr4, port, delay, &lookup[i]);
		ratio[i] = taps[i] / curl[i];
		printf("name round %d: libtaps %.1f ms to Ready (library: %.1f ms; the kernel's race %.1f ms: %u candidates, %u attempts, winner %u, delay %u ms), curl %.1f ms (name lookup %.1f ms)\n",
		       i + 1, taps[i], lib[i], race[i], nm.ti.ti_candidates, nm.ti.ti_attempts,
		       nm.ti.ti_winner, nm.ti.ti_attempt_delay_ms, curl[i], lookup[i]);
	}
	taps_loop_free(nm.loop);
	if (delay)
		summary("initiate to Ready by name, IPv6 blackholed, attempt delay %d ms for both: libtaps %.1f ms, curl %.1f ms, libtaps/curl %.2f (median of %d; libtaps default properties with attemptDelay %d ms, its race %.1f ms of it; curl --happy-eyeballs-timeout-ms %d, name lookup %.1f ms of it)",
			delay, median(taps, rounds), median(curl, rounds), median(ratio, rounds),
			rounds, delay, median(race, rounds), delay, median(lookup, rounds));
	else
		summary("initiate to Ready by name, IPv6 blackholed, defaults: libtaps %.1f ms, curl %.1f ms, libtaps/curl %.2f (median of %d; libtaps default properties, the kernel policy's %u ms attempt delay, its race %.1f ms of it; curl's default happy eyeballs (200 ms), name lookup %.1f ms of it)",
			median(taps, rounds), median(curl, rounds), median(ratio, rounds), rounds,
			policy_delay, median(race, rounds), median(lookup, rounds));
	return 0;
}
