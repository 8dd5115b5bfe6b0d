// SPDX-License-Identifier: GPL-2.0
/*
 * SOCK_STREAM racing end to end.
 *
 * First the SOL_TAPS options and connect()'s argument checks, which need no
 * network.  Then races over a veth pair: the test process unshares a client
 * network namespace (192.0.2.1, 2001:db8::1), "ip netns add" makes a server
 * one (192.0.2.2, 2001:db8::2), and a child in it runs plain TCP and SCTP
 * echo servers.  A port with no listener refuses (TCP RST, SCTP ABORT);
 * nft in the server namespace blackholes or rejects with ICMP.
 */
#include <errno.h>
#include <fcntl.h>
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
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "taps_test.h"

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP	262
#endif

#define CLIENT4		"192.0.2.1"
#define SERVER4		"192.0.2.2"
#define CLIENT6		"2001:db8::1"
#define SERVER6		"2001:db8::2"
#define NOROUTE4	"198.51.100.1"	/* no route to it from the client */
#define PORT		4242		/* where the servers listen */
#define CLOSED_PORT	4300		/* nothing listens from here up */

/* Which listeners the server namespace runs, on SERVER4/SERVER6:PORT */
#define SRV_TCP4	0x1
#define SRV_TCP6	0x2
#define SRV_SCTP4	0x4
#define SRV_SCTP6	0x8
#define SRV_TCP		(SRV_TCP4 | SRV_TCP6)
#define SRV_SCTP	(SRV_SCTP4 | SRV_SCTP6)
#define SRV_ALL		(SRV_TCP | SRV_SCTP)

/* nft rules for the server's input chain */
#define DROP6		"meta l4proto { tcp, sctp } ip6 daddr 2001:db8::2 drop"
#define DROP4		"meta l4proto { tcp, sctp } ip daddr 192.0.2.2 drop"
#define REJECT		"reject with icmpx type host-unreachable"
#define REJECT6		"meta l4proto tcp ip6 daddr 2001:db8::2 " REJECT
#define REJECT4		"meta l4proto tcp ip daddr 192.0.2.2 " REJECT

#define ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ---- addresses --------------------------------------------------------- */

static struct taps_endpoint mkep(const char *addr, int port)
{
	struct taps_endpoint ep;

	memset(&ep, 0, sizeof(ep));
	if (strchr(addr, ':')) {
		ep.sin6.sin6_family = AF_INET6;
		ep.sin6.sin6_port = htons(port);
		inet_pton(AF_INET6, addr, &ep.sin6.sin6_addr);
	} else {
		ep.sin.sin_family = AF_INET;
		ep.sin.sin_port = htons(port);
		inet_pton(AF_INET, addr, &ep.sin.sin_addr);
	}
	return ep;
}

static socklen_t ep_len(const struct taps_endpoint *ep)
{
	return ep->family == AF_INET6 ? sizeof(ep->sin6) : sizeof(ep->sin);
}

/* "[addr]:port" of a sockaddr_in/in6, for the logs. */
static const char *sa_str(const void *sa, char *buf, size_t size)
{
	const struct sockaddr_in6 *sin6 = sa;
	const struct sockaddr_in *sin = sa;
	char a[INET6_ADDRSTRLEN];

	if (sin->sin_family == AF_INET6)
		snprintf(buf, size, "[%s]:%d", inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a)),
			 ntohs(sin6->sin6_port));
	else if (sin->sin_family == AF_INET)
		snprintf(buf, size, "%s:%d", inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a)),
			 ntohs(sin->sin_port));
	else
		snprintf(buf, size, "(family %d)", sin->sin_family);
	return buf;
}

/* Whether @sa is @addr and, unless @port < 0, @port. */
static bool sa_is(const void *sa, const char *addr, int port)
{
	struct taps_endpoint want = mkep(addr, port < 0 ? 0 : port);
	const struct sockaddr_in6 *sin6 = sa;
	const struct sockaddr_in *sin = sa;

	if (sin->sin_family != want.family)
		return false;
	if (want.family == AF_INET6)
		return !memcmp(&sin6->sin6_addr, &want.sin6.sin6_addr, sizeof(struct in6_addr)) &&
		       (port < 0 || sin6->sin6_port == want.sin6.sin6_port);
	return sin->sin_addr.s_addr == want.sin.sin_addr.s_addr &&
	       (port < 0 || sin->sin_port == want.sin.sin_port);
}

/* ---- AF_TAPS helpers --------------------------------------------------- */

static int set_int(int fd, int opt, int val)
{
	return setsockopt(fd, SOL_TAPS, opt, &val, sizeof(val));
}

/* The value of an int option, or -1 (errno set). */
static int get_int(int fd, int opt)
{
	socklen_t len = sizeof(int);
	int val = -1;

	if (getsockopt(fd, SOL_TAPS, opt, &val, &len))
		return -1;
	return val;
}

static int set_eps(int fd, const struct taps_endpoint *ep, int n)
{
	return setsockopt(fd, SOL_TAPS, TAPS_REMOTE_ENDPOINTS, ep, n * sizeof(*ep));
}

static struct taps_info info_of(int fd)
{
	struct taps_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0xff, sizeof(ti));
	if (getsockopt(fd, SOL_TAPS, TAPS_INFO, &ti, &len))
		fprintf(stderr, "# TAPS_INFO: %s\n", strerror(errno));
	return ti;
}

/* TAPS_INFO in one line, for the logs. */
static const char *info_str(const struct taps_info *ti, char *buf, size_t size)
{
	snprintf(buf, size, "state %u proto %u candidates %u attempts %u failed %u winner %u "
		 "delay %u ms connect %llu us", ti->ti_state, ti->ti_protocol, ti->ti_candidates,
		 ti->ti_attempts, ti->ti_failed, ti->ti_winner, ti->ti_attempt_delay_ms,
		 (unsigned long long)ti->ti_connect_us);
	return buf;
}

static char ibuf[256];
/* After an expectation on the taps_info "ti": the whole of it when it fails. */
#define ILOG	TH_LOG("%s", info_str(&ti, ibuf, sizeof(ibuf)))

/*
 * A SOCK_STREAM AF_TAPS socket allowed @protocols (0: the default).  These
 * tests are about racing itself: the namespace's cached state, which
 * reorders candidates by what won before, is kept out (TAPS_ISOLATE; the
 * cache has its own tests in cache.sh).
 */
static int taps_new(int flags, int protocols)
{
	int fd = taps_socket(SOCK_STREAM | flags);

	if (fd >= 0 && set_int(fd, TAPS_ISOLATE, 1)) {
		close(fd);
		return -1;
	}
	if (fd >= 0 && protocols && set_int(fd, TAPS_PROTOCOLS, protocols)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* connect() to @addr:@port as a sockaddr_in/in6. */
static int connect_to(int fd, const char *addr, int port)
{
	struct taps_endpoint ep = mkep(addr, port);

	return connect(fd, (struct sockaddr *)&ep, ep_len(&ep));
}

/* connect() to a sockaddr_taps: race exactly the endpoint list. */
static int connect_list(int fd)
{
	struct sockaddr_taps st;

	memset(&st, 0, sizeof(st));
	st.stap_family = taps_family();
	return connect(fd, (struct sockaddr *)&st, sizeof(st));
}

/* Wait for a non-blocking connect() to end: its SO_ERROR, -1 on timeout. */
static int wait_connect(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	socklen_t len = sizeof(int);
	int err;

	if (poll(&p, 1, timeout_ms) != 1 || !(p.revents & POLLOUT))
		return -1;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
		return -1;
	return err;
}

/* ---- data -------------------------------------------------------------- */

static ssize_t write_all(int fd, const void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = send(fd, (const char *)buf + done, len - done, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return done ? (ssize_t)done : n;
		done += n;
	}
	return done;
}

/* Read @len bytes unless EOF, an error or @timeout_ms of silence ends it. */
static ssize_t read_full(int fd, void *buf, size_t len, int timeout_ms)
{
	size_t got = 0;

	while (got < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, timeout_ms) != 1)
			break;
		n = recv(fd, (char *)buf + got, len - got, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			break;
		got += n;
	}
	return got;
}

static void pattern(char *buf, size_t off, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (char)((off + i) * 7 + (off + i) / 251);
}

/* Ping-pong @total bytes through the echo server in @chunk pieces. */
static int echo(int fd, size_t total, size_t chunk)
{
	static char out[65536], in[65536];
	size_t off, n;

	if (chunk > sizeof(out))
		return -1;
	for (off = 0; off < total; off += n) {
		n = total - off < chunk ? total - off : chunk;
		pattern(out, off, n);
		if (write_all(fd, out, n) != (ssize_t)n) {
			fprintf(stderr, "# echo: write at %zu: %s\n", off, strerror(errno));
			return -1;
		}
		memset(in, 0, n);
		if (read_full(fd, in, n, 5000) != (ssize_t)n) {
			fprintf(stderr, "# echo: short read at %zu\n", off);
			return -1;
		}
		if (memcmp(in, out, n)) {
			fprintf(stderr, "# echo: data differs at %zu\n", off);
			return -1;
		}
	}
	return 0;
}

/* Wait up to @timeout_ms until FIONREAD says @want; the last value. */
static int wait_inq(int fd, int want, int timeout_ms)
{
	double end = now_ms() + timeout_ms;
	int inq = -1;

	do {
		if (ioctl(fd, FIONREAD, &inq))
			return -1;
		if (inq == want)
			break;
		usleep(5000);
	} while (now_ms() < end);
	return inq;
}

/* ---- sockstat ---------------------------------------------------------- */

/* TCP sockets in use in this namespace. */
static long tcp_inuse(void)
{
	FILE *f = fopen("/proc/net/sockstat", "r");
	char line[256];
	long v = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "TCP: inuse %ld", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* SCTP associations in this namespace. */
static long sctp_assocs(void)
{
	FILE *f = fopen("/proc/net/sctp/assocs", "r");
	char line[512];
	long n = -1;	/* the header */

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		n++;
	fclose(f);
	return n;
}

/* Wait up to 10 s for @get() to return @want; the last value. */
static long settle(long (*get)(void), long want)
{
	long v = get();
	int i;

	for (i = 0; i < 100 && v != want; i++) {
		usleep(100000);
		v = get();
	}
	return v;
}

/* ---- the topology ------------------------------------------------------ */

struct topo {
	char ns[32];		/* the server namespace, /run/netns/@ns */
	bool ns_added;
	bool nft_table;		/* the server's nft table and input chain exist */
	pid_t server;		/* the echo server, 0 when none runs */
	int report;		/* its report pipe: "acc tcp|sctp", "eof N", "err E N" */
	char rbuf[256];		/* partial report line */
	size_t rlen;
};

/*
 * Run a program without a shell, in the server namespace when @t is not
 * NULL, with @input (if any) on its standard input: 0 when it exited 0.
 * Every exec costs a few hundred ms in the guest (TCG, root over 9p), so
 * the topology is built with as few of them as can be.
 */
static int run(struct topo *t, const char *input, const char *const argv[])
{
	int in[2] = { -1, -1 }, status, nsfd = -1;
	size_t len = input ? strlen(input) : 0;
	pid_t pid;

	if (t) {
		char path[80];

		snprintf(path, sizeof(path), "/run/netns/%s", t->ns);
		nsfd = open(path, O_RDONLY | O_CLOEXEC);
		if (nsfd < 0)
			return -1;
	}
	if (input && (pipe2(in, O_CLOEXEC) || write(in[1], input, len) != (ssize_t)len))
		goto fail;
	if (in[1] >= 0)
		close(in[1]);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		goto fail;
	if (!pid) {
		if ((nsfd >= 0 && setns(nsfd, CLONE_NEWNET)) || (in[0] >= 0 && dup2(in[0], 0) < 0))
			_exit(127);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (in[0] >= 0)
		close(in[0]);
	if (nsfd >= 0)
		close(nsfd);
	if (waitpid(pid, &status, 0) == pid && WIFEXITED(status) && !WEXITSTATUS(status))
		return 0;
	fprintf(stderr, "# %s%s %s %s ... failed (status %#x)%s%s\n", t ? "in the server: " : "",
		argv[0], argv[1] ?: "", argv[1] && argv[2] ? argv[2] : "", status,
		input ? ", input:\n" : "", input ?: "");
	return -1;
fail:
	if (in[0] >= 0)
		close(in[0]);
	if (nsfd >= 0)
		close(nsfd);
	return -1;
}

static int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n = -1;

	if (fd >= 0) {
		n = write(fd, val, strlen(val));
		close(fd);
	}
	if (n != (ssize_t)strlen(val)) {
		fprintf(stderr, "# %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* No DAD in this namespace: IPv6 addresses, link-local ones too, work at once. */
static int no_dad(void)
{
	return write_file("/proc/sys/net/ipv6/conf/all/accept_dad", "0") ||
	       write_file("/proc/sys/net/ipv6/conf/default/accept_dad", "0");
}

/* Whether a SYN to a closed port of @addr comes back refused within @ms. */
static bool path_works(const char *addr, int ms)
{
	struct taps_endpoint ep = mkep(addr, CLOSED_PORT);
	struct pollfd p = { .events = POLLOUT };
	socklen_t len = sizeof(int);
	int err = 0;

	p.fd = socket(ep.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p.fd < 0)
		return false;
	if (!connect(p.fd, (struct sockaddr *)&ep, ep_len(&ep)) || errno != EINPROGRESS ||
	    poll(&p, 1, ms) != 1 || getsockopt(p.fd, SOL_SOCKET, SO_ERROR, &err, &len))
		err = 0;
	close(p.fd);
	return err == ECONNREFUSED;
}

static int __topo_setup(struct topo *t)
{
	const char *const netns_add[] = { "ip", "netns", "add", t->ns, NULL };
	const char *const ip_batch[] = { "ip", "-batch", "-", NULL };
	const char *const ip_batch_srv[] = { "ip", "-n", t->ns, "-batch", "-", NULL };
	char cmds[512], path[80];
	int self_ns, srv_ns, i;

	if (!t->ns[0])
		snprintf(t->ns, sizeof(t->ns), "tapsstream%d", getpid());
	t->server = 0;
	t->report = -1;
	signal(SIGPIPE, SIG_IGN);
	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "# unshare(CLONE_NEWNET): %s\n", strerror(errno));
		return -1;
	}
	if (run(NULL, NULL, netns_add))
		return -1;
	t->ns_added = true;

	/* Sysctls of the server namespace: from in there, before veth1 exists. */
	snprintf(path, sizeof(path), "/run/netns/%s", t->ns);
	self_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	srv_ns = open(path, O_RDONLY | O_CLOEXEC);
	if (self_ns < 0 || srv_ns < 0 || setns(srv_ns, CLONE_NEWNET))
		return -1;
	i = no_dad();
	if (setns(self_ns, CLONE_NEWNET))
		return -1;
	close(self_ns);
	close(srv_ns);
	if (i || no_dad())
		return -1;

	snprintf(cmds, sizeof(cmds),
		 "link set lo up\n"
		 "link add veth0 type veth peer name veth1 netns %s\n"
		 "addr add " CLIENT4 "/24 dev veth0\n"
		 "addr add " CLIENT6 "/64 dev veth0 nodad\n"
		 "link set veth0 up\n", t->ns);
	if (run(NULL, cmds, ip_batch))
		return -1;
	if (run(NULL, "link set lo up\n"
		"addr add " SERVER4 "/24 dev veth1\n"
		"addr add " SERVER6 "/64 dev veth1 nodad\n"
		"link set veth1 up\n", ip_batch_srv))
		return -1;

	/* Until linkwatch gives the new veth devices their qdisc, they drop
	 * what they send (noop): the first SYN or INIT of a test would be
	 * lost and retransmitted a second later.  Wait until a SYN to each
	 * server address comes back refused, which also resolves the
	 * neighbours both ways.
	 */
	for (i = 0; i < 50 && !path_works(SERVER4, 100); i++)
		;
	if (i == 50)
		return -1;
	for (i = 0; i < 50 && !path_works(SERVER6, 100); i++)
		;
	return i == 50 ? -1 : 0;
}

static int topo_setup(struct topo *t)
{
	double t0 = now_ms();
	int ret = __topo_setup(t);

	if (now_ms() - t0 > 3000)
		fprintf(stderr, "# topology setup took %.0f ms\n", now_ms() - t0);
	return ret;
}

/* Delay every packet by @ms each way (an RTT of 2 x @ms). */
static int netem_delay(struct topo *t, int ms)
{
	char delay[16];
	const char *const tc0[] = {
		"tc", "qdisc", "add", "dev", "veth0", "root", "netem", "delay", delay, NULL,
	};
	const char *const tc1[] = {
		"tc", "qdisc", "add", "dev", "veth1", "root", "netem", "delay", delay, NULL,
	};

	snprintf(delay, sizeof(delay), "%dms", ms);
	return run(NULL, NULL, tc0) || run(t, NULL, tc1);
}

/* Add a rule to the input chain of the server namespace. */
static int nft_rule(struct topo *t, const char *rule)
{
	const char *const nft[] = { "nft", "-f", "/dev/stdin", NULL };
	char cmds[512];

	snprintf(cmds, sizeof(cmds), "%sadd rule inet t in %s\n",
		 t->nft_table ? "" : "add table inet t\n"
		 "add chain inet t in { type filter hook input priority 0; }\n", rule);
	if (run(t, cmds, nft))
		return -1;
	t->nft_table = true;
	return 0;
}

static void server_stop(struct topo *t)
{
	if (t->server > 0) {
		kill(t->server, SIGKILL);
		waitpid(t->server, NULL, 0);
	}
	t->server = 0;
	if (t->report >= 0)
		close(t->report);
	t->report = -1;
	t->rlen = 0;
}

static void topo_teardown(struct topo *t)
{
	char path[80];

	server_stop(t);
	if (t->ns_added) {
		/* What "ip netns del" does, without an exec. */
		snprintf(path, sizeof(path), "/run/netns/%s", t->ns);
		umount2(path, MNT_DETACH);
		unlink(path);
	}
	t->ns_added = false;
}

static void report(int fd, const char *fmt, ...)
{
	char line[64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* A full pipe nobody reads loses the line: reports are informative. */
	if (write(fd, line, n) != n)
		return;
}

static int server_listener(int i)
{
	bool v6 = i & 1, sctp = i & 2;
	struct taps_endpoint ep = mkep(v6 ? SERVER6 : SERVER4, PORT);
	int fd, one = 1;

	fd = socket(ep.family, SOCK_STREAM | SOCK_NONBLOCK, sctp ? IPPROTO_SCTP : IPPROTO_TCP);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (v6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ep, ep_len(&ep)) || listen(fd, 1024))
		return -1;
	return fd;
}

static void server_send(int fd, const char *buf, size_t len)
{
	while (len) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n > 0) {
			buf += n;
			len -= n;
		} else if (n < 0 && errno == EAGAIN && poll(&p, 1, 5000) == 1) {
			continue;
		} else if (!(n < 0 && errno == EINTR)) {
			return;
		}
	}
}

#define SRV_MAX_FDS	1100

/* The echo server: runs in the server namespace until killed. */
static void __attribute__((noreturn)) server_main(const char *ns, int mask, int ready, int rep)
{
	static struct pollfd pfd[SRV_MAX_FDS];
	static unsigned long long bytes[SRV_MAX_FDS];
	static bool is_sctp[SRV_MAX_FDS];
	static char buf[65536];
	int nl = 0, nfds, i, fd, nsfd;
	char path[80];

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	snprintf(path, sizeof(path), "/run/netns/%s", ns);
	nsfd = open(path, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0 || setns(nsfd, CLONE_NEWNET))
		goto fail;
	close(nsfd);
	fcntl(rep, F_SETFL, O_NONBLOCK);
	for (i = 0; i < 4; i++) {
		if (!(mask & (1 << i)))
			continue;
		fd = server_listener(i);
		if (fd < 0) {
			fprintf(stderr, "# server: listener %d: %s\n", i, strerror(errno));
			goto fail;
		}
		pfd[nl].fd = fd;
		pfd[nl].events = POLLIN;
		is_sctp[nl] = i & 2;
		nl++;
	}
	if (write(ready, "y", 1) != 1)
		_exit(1);
	close(ready);

	nfds = nl;
	for (;;) {
		if (poll(pfd, nfds, -1) < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		for (i = 0; i < nl; i++) {
			if (!pfd[i].revents)
				continue;
			while (nfds < SRV_MAX_FDS &&
			       (fd = accept4(pfd[i].fd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
				pfd[nfds].fd = fd;
				pfd[nfds].events = POLLIN;
				pfd[nfds].revents = 0;
				bytes[nfds] = 0;
				is_sctp[nfds] = is_sctp[i];
				nfds++;
				report(rep, "acc %s\n", is_sctp[i] ? "sctp" : "tcp");
			}
		}
		for (i = nl; i < nfds; i++) {
			ssize_t n;

			if (!pfd[i].revents)
				continue;
			n = recv(pfd[i].fd, buf, sizeof(buf), 0);
			if (n > 0) {
				server_send(pfd[i].fd, buf, n);
				bytes[i] += n;
				continue;
			}
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (n == 0) {
				report(rep, "eof %llu\n", bytes[i]);
				shutdown(pfd[i].fd, SHUT_WR);
			} else {
				report(rep, "err %d %llu\n", errno, bytes[i]);
			}
			close(pfd[i].fd);
			nfds--;
			pfd[i] = pfd[nfds];
			bytes[i] = bytes[nfds];
			is_sctp[i] = is_sctp[nfds];
			i--;
		}
	}
fail:
	if (write(ready, "n", 1) != 1)
		_exit(1);
	_exit(1);
}

/* (Re)start the echo server with the listeners in @mask. */
static int server_start(struct topo *t, int mask)
{
	int ready[2], rep[2];
	pid_t pid;
	char c = 0;

	server_stop(t);
	if (pipe2(ready, O_CLOEXEC))
		return -1;
	if (pipe2(rep, O_CLOEXEC)) {
		close(ready[0]);
		close(ready[1]);
		return -1;
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		close(ready[0]);
		close(rep[0]);
		server_main(t->ns, mask, ready[1], rep[1]);
	}
	close(ready[1]);
	close(rep[1]);
	t->server = pid;
	t->report = rep[0];
	if (read(ready[0], &c, 1) != 1)
		c = 0;
	close(ready[0]);
	return c == 'y' ? 0 : -1;
}

/* The next report line of the server, within @timeout_ms; false if none. */
static bool server_line(struct topo *t, char *line, size_t size, int timeout_ms)
{
	double end = now_ms() + timeout_ms;

	for (;;) {
		char *nl = memchr(t->rbuf, '\n', t->rlen);
		struct pollfd p = { .fd = t->report, .events = POLLIN };
		int left = end - now_ms();
		ssize_t n;

		if (nl) {
			size_t len = nl - t->rbuf;

			snprintf(line, size, "%.*s", (int)len, t->rbuf);
			memmove(t->rbuf, nl + 1, t->rlen - len - 1);
			t->rlen -= len + 1;
			return true;
		}
		if (t->report < 0 || left <= 0 || poll(&p, 1, left) != 1)
			return false;
		n = read(t->report, t->rbuf + t->rlen, sizeof(t->rbuf) - 1 - t->rlen);
		if (n <= 0)
			return false;
		t->rlen += n;
	}
}

/* Skip report lines until one starts with @prefix; the rest of it or NULL. */
static const char *server_wait(struct topo *t, const char *prefix, char *line, size_t size,
			       int timeout_ms)
{
	double end = now_ms() + timeout_ms;

	while (server_line(t, line, size, end - now_ms()))
		if (!strncmp(line, prefix, strlen(prefix)))
			return line + strlen(prefix);
	return NULL;
}

/* ======================================================================== */
/* Options, no network                                                      */
/* ======================================================================== */

TEST(opt_defaults)
{
	int fd = taps_socket(SOCK_STREAM);
	struct taps_endpoint ep[2];
	socklen_t len = sizeof(ep);

	ASSERT_LE(0, fd);
	EXPECT_EQ(250, get_int(fd, TAPS_ATTEMPT_DELAY));
	EXPECT_EQ(0, get_int(fd, TAPS_CONN_TIMEOUT));
	EXPECT_EQ(TAPS_P_TCP | TAPS_P_SCTP, get_int(fd, TAPS_PROTOCOLS));
	EXPECT_EQ(TAPS_PREF_REQUIRE, get_int(fd, TAPS_SEL_RELIABILITY));
	EXPECT_EQ(TAPS_PREF_REQUIRE, get_int(fd, TAPS_SEL_PRESERVE_ORDER));
	EXPECT_EQ(TAPS_PREF_REQUIRE, get_int(fd, TAPS_SEL_CONGESTION_CONTROL));
	EXPECT_EQ(TAPS_PREF_NO_PREFERENCE, get_int(fd, TAPS_SEL_MULTISTREAMING));
	EXPECT_EQ(TAPS_PREF_NO_PREFERENCE, get_int(fd, TAPS_SEL_MULTIPATH));
	EXPECT_EQ(TAPS_PREF_NO_PREFERENCE, get_int(fd, TAPS_SEL_ZERO_RTT_MSG));
	/* No endpoints: nothing copied. */
	ASSERT_EQ(0, getsockopt(fd, SOL_TAPS, TAPS_REMOTE_ENDPOINTS, ep, &len));
	EXPECT_EQ(0, len);
	close(fd);
}

TEST(opt_remote_endpoints)
{
	struct taps_endpoint ep[TAPS_MAX_ENDPOINTS + 1], got[TAPS_MAX_ENDPOINTS + 1];
	const size_t esz = sizeof(struct taps_endpoint);
	int fd = taps_socket(SOCK_STREAM);
	socklen_t len;
	int i;

	ASSERT_LE(0, fd);
	for (i = 0; i < (int)ARRAY_LEN(ep); i++)
		ep[i] = i % 2 ? mkep(SERVER6, 1000 + i) : mkep(SERVER4, 1000 + i);

	/* One, then read back. */
	ASSERT_EQ(0, set_eps(fd, ep, 1));
	len = sizeof(got);
	memset(got, 0, sizeof(got));
	ASSERT_EQ(0, getsockopt(fd, SOL_TAPS, TAPS_REMOTE_ENDPOINTS, got, &len));
	EXPECT_EQ(esz, len);
	EXPECT_EQ(0, memcmp(got, ep, esz));

	/* The maximum, read back whole and in part (whole entries only). */
	ASSERT_EQ(0, set_eps(fd, ep, TAPS_MAX_ENDPOINTS));
	len = sizeof(got);
	ASSERT_EQ(0, getsockopt(fd, SOL_TAPS, TAPS_REMOTE_ENDPOINTS, got, &len));
	EXPECT_EQ(TAPS_MAX_ENDPOINTS * esz, len);
	EXPECT_EQ(0, memcmp(got, ep, TAPS_MAX_ENDPOINTS * esz));
	len = esz * 3 / 2;
	memset(got, 0, sizeof(got));
	ASSERT_EQ(0, getsockopt(fd, SOL_TAPS, TAPS_REMOTE_ENDPOINTS, got, &len));
	EXPECT_EQ(esz, len);
	EXPECT_EQ(0, memcmp(got, ep, esz));
	len = esz - 1;
	ASSERT_EQ(0, getsockopt(fd, SOL_TAPS, TAPS_REMOTE_ENDPOINTS, got, &len));
	EXPECT_EQ(0, len);

	/* Too many, a partial entry, a bad family: EINVAL / EAFNOSUPPORT. */
	EXPECT_EQ(-1, set_eps(fd, ep, TAPS_MAX_ENDPOINTS + 1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, setsockopt(fd, SOL_TAPS, TAPS_REMOTE_ENDPOINTS, ep, esz - 1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, setsockopt(fd, SOL_TAPS, TAPS_REMOTE_ENDPOINTS, ep, esz + 1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, setsockopt(fd, SOL_TAPS, TAPS_REMOTE_ENDPOINTS, ep, 2 * esz + 4));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, setsockopt(fd, SOL_TAPS, TAPS_REMOTE_ENDPOINTS, ep, 1));
	EXPECT_EQ(EINVAL, errno);
	ep[1].family = AF_UNIX;
	EXPECT_EQ(-1, set_eps(fd, ep, 2));
	EXPECT_EQ(EAFNOSUPPORT, errno);
	ep[1].family = AF_UNSPEC;
	EXPECT_EQ(-1, set_eps(fd, ep, 2));
	EXPECT_EQ(EAFNOSUPPORT, errno);
	ep[1].family = taps_family();
	EXPECT_EQ(-1, set_eps(fd, ep, 2));
	EXPECT_EQ(EAFNOSUPPORT, errno);
	ep[1] = mkep(SERVER6, 1001);
	/* NULL with a length. */
	EXPECT_EQ(-1, setsockopt(fd, SOL_TAPS, TAPS_REMOTE_ENDPOINTS, NULL, esz));
	EXPECT_EQ(EFAULT, errno);

	/* None of the failures changed the list. */
	len = sizeof(got);
	ASSERT_EQ(0, getsockopt(fd, SOL_TAPS, TAPS_REMOTE_ENDPOINTS, got, &len));
	EXPECT_EQ(TAPS_MAX_ENDPOINTS * esz, len);

	/* A bad pointer on get. */
	len = sizeof(got);
	EXPECT_EQ(-1, getsockopt(fd, SOL_TAPS, TAPS_REMOTE_ENDPOINTS, NULL, &len));
	EXPECT_EQ(EFAULT, errno);

	/* Length 0 clears it (the pointer does not matter then). */
	ASSERT_EQ(0, setsockopt(fd, SOL_TAPS, TAPS_REMOTE_ENDPOINTS, NULL, 0));
	len = sizeof(got);
	ASSERT_EQ(0, getsockopt(fd, SOL_TAPS, TAPS_REMOTE_ENDPOINTS, got, &len));
	EXPECT_EQ(0, len);
	close(fd);
}

/* Common checks of an int option: short length, bad pointers, get length. */
static void int_opt_lengths(struct __test_metadata *_metadata, int fd, int opt, int good)
{
	socklen_t len;
	int val[2];
	short s = 0;

	EXPECT_EQ(-1, setsockopt(fd, SOL_TAPS, opt, &s, sizeof(s))) TH_LOG("option %d", opt);
	EXPECT_EQ(EINVAL, errno) TH_LOG("option %d", opt);
	EXPECT_EQ(-1, setsockopt(fd, SOL_TAPS, opt, &good, 0)) TH_LOG("option %d", opt);
	EXPECT_EQ(EINVAL, errno) TH_LOG("option %d", opt);
	EXPECT_EQ(-1, setsockopt(fd, SOL_TAPS, opt, NULL, sizeof(int))) TH_LOG("option %d", opt);
	EXPECT_EQ(EFAULT, errno) TH_LOG("option %d", opt);
	/* A longer buffer: the int is taken. */
	val[0] = good;
	val[1] = -1;
	EXPECT_EQ(0, setsockopt(fd, SOL_TAPS, opt, val, sizeof(val))) TH_LOG("option %d", opt);
	EXPECT_EQ(good, get_int(fd, opt)) TH_LOG("option %d", opt);
	/* get: sizeof(int) back from a longer buffer, EINVAL from a shorter one. */
	len = sizeof(val);
	val[0] = -1;
	val[1] = -1;
	EXPECT_EQ(0, getsockopt(fd, SOL_TAPS, opt, val, &len)) TH_LOG("option %d", opt);
	EXPECT_EQ(sizeof(int), len) TH_LOG("option %d", opt);
	EXPECT_EQ(good, val[0]) TH_LOG("option %d", opt);
	EXPECT_EQ(-1, val[1]) TH_LOG("option %d", opt);
	len = sizeof(s);
	EXPECT_EQ(-1, getsockopt(fd, SOL_TAPS, opt, &s, &len)) TH_LOG("option %d", opt);
	EXPECT_EQ(EINVAL, errno) TH_LOG("option %d", opt);
	len = sizeof(int);
	EXPECT_EQ(-1, getsockopt(fd, SOL_TAPS, opt, NULL, &len)) TH_LOG("option %d", opt);
	EXPECT_EQ(EFAULT, errno) TH_LOG("option %d", opt);
}

TEST(opt_attempt_delay)
{
	static const int bad[] = { INT_MIN, -1, 0, 1, 9, 2001, 60000, INT_MAX };
	static const int good[] = { 10, 11, 100, 250, 1999, 2000 };
	int fd = taps_socket(SOCK_STREAM);
	unsigned int i;

	ASSERT_LE(0, fd);
	for (i = 0; i < ARRAY_LEN(good); i++) {
		EXPECT_EQ(0, set_int(fd, TAPS_ATTEMPT_DELAY, good[i])) TH_LOG("%d", good[i]);
		EXPECT_EQ(good[i], get_int(fd, TAPS_ATTEMPT_DELAY));
	}
	ASSERT_EQ(0, set_int(fd, TAPS_ATTEMPT_DELAY, 123));
	for (i = 0; i < ARRAY_LEN(bad); i++) {
		EXPECT_EQ(-1, set_int(fd, TAPS_ATTEMPT_DELAY, bad[i])) TH_LOG("%d", bad[i]);
		EXPECT_EQ(EINVAL, errno) TH_LOG("%d", bad[i]);
	}
	EXPECT_EQ(123, get_int(fd, TAPS_ATTEMPT_DELAY));
	int_opt_lengths(_metadata, fd, TAPS_ATTEMPT_DELAY, 77);
	/* TAPS_INFO reports the delay in force. */
	EXPECT_EQ(77, info_of(fd).ti_attempt_delay_ms);
	close(fd);
}

TEST(opt_conn_timeout)
{
	static const int good[] = { 0, 1, 500, 3600000, INT_MAX };
	int fd = taps_socket(SOCK_STREAM);
	unsigned int i;

	ASSERT_LE(0, fd);
	for (i = 0; i < ARRAY_LEN(good); i++) {
		EXPECT_EQ(0, set_int(fd, TAPS_CONN_TIMEOUT, good[i])) TH_LOG("%d", good[i]);
		EXPECT_EQ(good[i], get_int(fd, TAPS_CONN_TIMEOUT));
	}
	ASSERT_EQ(0, set_int(fd, TAPS_CONN_TIMEOUT, 500));
	EXPECT_EQ(-1, set_int(fd, TAPS_CONN_TIMEOUT, -1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, set_int(fd, TAPS_CONN_TIMEOUT, INT_MIN));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(500, get_int(fd, TAPS_CONN_TIMEOUT));
	int_opt_lengths(_metadata, fd, TAPS_CONN_TIMEOUT, 42);
	close(fd);
}

TEST(opt_protocols)
{
	static const int bad[] = { 0, 8, 0x10, TAPS_P_ALL | 8, -1, INT_MIN, INT_MAX };
	int fd = taps_socket(SOCK_STREAM);
	unsigned int i;
	int m;

	ASSERT_LE(0, fd);
	for (m = 1; m <= TAPS_P_ALL; m++) {
		EXPECT_EQ(0, set_int(fd, TAPS_PROTOCOLS, m)) TH_LOG("mask %#x", m);
		EXPECT_EQ(m, get_int(fd, TAPS_PROTOCOLS));
	}
	ASSERT_EQ(0, set_int(fd, TAPS_PROTOCOLS, TAPS_P_SCTP));
	for (i = 0; i < ARRAY_LEN(bad); i++) {
		EXPECT_EQ(-1, set_int(fd, TAPS_PROTOCOLS, bad[i])) TH_LOG("mask %#x", bad[i]);
		EXPECT_EQ(EINVAL, errno) TH_LOG("mask %#x", bad[i]);
	}
	EXPECT_EQ(TAPS_P_SCTP, get_int(fd, TAPS_PROTOCOLS));
	int_opt_lengths(_metadata, fd, TAPS_PROTOCOLS, TAPS_P_TCP);
	close(fd);
}

TEST(opt_selection_properties)
{
	static const int opts[] = {
		TAPS_SEL_RELIABILITY, TAPS_SEL_PRESERVE_ORDER, TAPS_SEL_MULTISTREAMING,
		TAPS_SEL_MULTIPATH, TAPS_SEL_CONGESTION_CONTROL, TAPS_SEL_ZERO_RTT_MSG,
	};
	static const int bad[] = { -1, 5, 6, 255, 256, INT_MAX, INT_MIN };
	int fd = taps_socket(SOCK_STREAM);
	unsigned int i, j;
	int p;

	ASSERT_LE(0, fd);
	for (i = 0; i < ARRAY_LEN(opts); i++) {
		for (p = TAPS_PREF_NO_PREFERENCE; p <= TAPS_PREF_PROHIBIT; p++) {
			EXPECT_EQ(0, set_int(fd, opts[i], p)) TH_LOG("option %d = %d", opts[i], p);
			EXPECT_EQ(p, get_int(fd, opts[i])) TH_LOG("option %d", opts[i]);
		}
		ASSERT_EQ(0, set_int(fd, opts[i], TAPS_PREF_AVOID));
		for (j = 0; j < ARRAY_LEN(bad); j++) {
			EXPECT_EQ(-1, set_int(fd, opts[i], bad[j]))
				TH_LOG("option %d = %d", opts[i], bad[j]);
			EXPECT_EQ(EINVAL, errno) TH_LOG("option %d = %d", opts[i], bad[j]);
		}
		EXPECT_EQ(TAPS_PREF_AVOID, get_int(fd, opts[i])) TH_LOG("option %d", opts[i]);
		int_opt_lengths(_metadata, fd, opts[i], TAPS_PREF_PREFER);
	}
	/* Each is its own: setting one left the others alone. */
	for (i = 0; i < ARRAY_LEN(opts); i++)
		EXPECT_EQ(TAPS_PREF_PREFER, get_int(fd, opts[i]));
	close(fd);
}

TEST(opt_unknown)
{
	static const int unknown[] = { 0, 7, 15, 22, 23, 100, -1 };
	int fd = taps_socket(SOCK_STREAM);
	socklen_t len;
	unsigned int i;
	int val = 1;

	ASSERT_LE(0, fd);
	for (i = 0; i < ARRAY_LEN(unknown); i++) {
		EXPECT_EQ(-1, set_int(fd, unknown[i], 1)) TH_LOG("option %d", unknown[i]);
		EXPECT_EQ(ENOPROTOOPT, errno) TH_LOG("option %d", unknown[i]);
		len = sizeof(val);
		EXPECT_EQ(-1, getsockopt(fd, SOL_TAPS, unknown[i], &val, &len))
			TH_LOG("option %d", unknown[i]);
		EXPECT_EQ(ENOPROTOOPT, errno) TH_LOG("option %d", unknown[i]);
	}
	close(fd);
}

TEST(connect_argument_errors)
{
	struct sockaddr_storage ss;
	struct sockaddr_taps st;
	struct taps_endpoint ep4 = mkep(SERVER4, PORT), ep6 = mkep(SERVER6, PORT);
	int fd = taps_socket(SOCK_STREAM);

	ASSERT_LE(0, fd);
	/* sockaddr_taps without endpoints. */
	EXPECT_EQ(-1, connect_list(fd));
	EXPECT_EQ(EDESTADDRREQ, errno);
	/* Other families. */
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_UNIX;
	EXPECT_EQ(-1, connect(fd, (struct sockaddr *)&ss, sizeof(ss)));
	EXPECT_EQ(EAFNOSUPPORT, errno);
	ss.ss_family = AF_PACKET;
	EXPECT_EQ(-1, connect(fd, (struct sockaddr *)&ss, sizeof(ss)));
	EXPECT_EQ(EAFNOSUPPORT, errno);
	/* Too short. */
	EXPECT_EQ(-1, connect(fd, (struct sockaddr *)&ep4, sizeof(struct sockaddr_in) - 1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, connect(fd, (struct sockaddr *)&ep6, sizeof(struct sockaddr_in)));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, connect(fd, (struct sockaddr *)&ep6, sizeof(struct sockaddr_in6) - 1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, connect(fd, (struct sockaddr *)&ep4, 1));
	EXPECT_EQ(EINVAL, errno);
	memset(&st, 0, sizeof(st));
	st.stap_family = taps_family();
	EXPECT_EQ(-1, connect(fd, (struct sockaddr *)&st, sizeof(st) - 1));
	EXPECT_EQ(EINVAL, errno);
	/* sockaddr_taps flags and padding must be zero. */
	ASSERT_EQ(0, set_eps(fd, &ep4, 1));
	st.stap_flags = 1;
	EXPECT_EQ(-1, connect(fd, (struct sockaddr *)&st, sizeof(st)));
	EXPECT_EQ(EINVAL, errno);
	st.stap_flags = 0;
	st.stap_zero[7] = 1;
	EXPECT_EQ(-1, connect(fd, (struct sockaddr *)&st, sizeof(st)));
	EXPECT_EQ(EINVAL, errno);
	/* Nothing started. */
	EXPECT_EQ(TAPS_STATE_UNCONNECTED, info_of(fd).ti_state);
	close(fd);
}

TEST(calls_before_connect)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char buf[16] = "x";
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	int fd = taps_socket(SOCK_STREAM | SOCK_NONBLOCK);
	int inq;

	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, getpeername(fd, (struct sockaddr *)&ss, &len));
	EXPECT_EQ(ENOTCONN, errno);
	EXPECT_EQ(-1, send(fd, buf, 1, MSG_NOSIGNAL));
	EXPECT_EQ(ENOTCONN, errno);
	EXPECT_EQ(-1, write(fd, buf, 1));
	EXPECT_EQ(ENOTCONN, errno);
	EXPECT_EQ(-1, recv(fd, buf, sizeof(buf), 0));
	EXPECT_EQ(ENOTCONN, errno);
	EXPECT_EQ(-1, read(fd, buf, sizeof(buf)));
	EXPECT_EQ(ENOTCONN, errno);
	EXPECT_EQ(-1, sendmsg(fd, &msg, MSG_NOSIGNAL));
	EXPECT_EQ(ENOTCONN, errno);
	EXPECT_EQ(-1, recvmsg(fd, &msg, 0));
	EXPECT_EQ(ENOTCONN, errno);
	EXPECT_EQ(-1, writev(fd, &iov, 1));
	EXPECT_EQ(ENOTCONN, errno);
	EXPECT_EQ(-1, readv(fd, &iov, 1));
	EXPECT_EQ(ENOTCONN, errno);
	EXPECT_EQ(-1, shutdown(fd, SHUT_WR));
	EXPECT_EQ(ENOTCONN, errno);
	EXPECT_EQ(-1, ioctl(fd, FIONREAD, &inq));
	EXPECT_EQ(ENOTCONN, errno);
	/* getsockname: a sockaddr_taps until connected. */
	len = sizeof(ss);
	memset(&ss, 0xa5, sizeof(ss));
	ASSERT_EQ(0, getsockname(fd, (struct sockaddr *)&ss, &len));
	EXPECT_EQ(taps_family(), ss.ss_family);
	close(fd);
}

/* ======================================================================== */
/* Races over a veth pair                                                   */
/* ======================================================================== */

FIXTURE(race) {
	struct topo t;
};

FIXTURE_SETUP(race)
{
	ASSERT_EQ(0, topo_setup(&self->t));
}

FIXTURE_TEARDOWN(race)
{
	topo_teardown(&self->t);
}

/* The topology itself, with plain TCP and SCTP sockets. */
TEST_F(race, topology_sanity)
{
	static const char * const addrs[] = { SERVER4, SERVER6 };
	static const int protos[] = { IPPROTO_TCP, IPPROTO_SCTP };
	struct timeval tv = { .tv_sec = 5 };
	char line[64];
	unsigned int k, p;
	int fd;

	ASSERT_EQ(0, server_start(&self->t, SRV_ALL));
	/* Both families, both protocols: PORT answers, CLOSED_PORT refuses. */
	for (k = 0; k < 8; k++) {
		const char *addr = addrs[k & 1];
		int proto = protos[k >> 1 & 1];
		bool refused = k & 4;
		struct taps_endpoint ep = mkep(addr, refused ? CLOSED_PORT : PORT);

		fd = socket(ep.family, SOCK_STREAM, proto);
		ASSERT_LE(0, fd) TH_LOG("%s", strerror(errno));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (refused) {
			EXPECT_EQ(-1, connect(fd, (struct sockaddr *)&ep, ep_len(&ep)));
			EXPECT_EQ(ECONNREFUSED, errno)
				TH_LOG("%s proto %d: %s", addr, proto, strerror(errno));
		} else {
			ASSERT_EQ(0, connect(fd, (struct sockaddr *)&ep, ep_len(&ep)))
				TH_LOG("%s proto %d: %s", addr, proto, strerror(errno));
			EXPECT_EQ(0, echo(fd, 4096, 1024));
			EXPECT_NE(NULL, server_wait(&self->t, "acc ", line, sizeof(line), 2000));
		}
		close(fd);
	}

	/* Blackholed: a non-blocking connect stays in progress. */
	ASSERT_EQ(0, nft_rule(&self->t, DROP6));
	for (p = 0; p < ARRAY_LEN(protos); p++) {
		struct taps_endpoint ep = mkep(SERVER6, PORT);
		struct pollfd pfd = { .events = POLLOUT };

		fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, protos[p]);
		ASSERT_LE(0, fd);
		EXPECT_EQ(-1, connect(fd, (struct sockaddr *)&ep, ep_len(&ep)));
		EXPECT_EQ(EINPROGRESS, errno);
		pfd.fd = fd;
		EXPECT_EQ(0, poll(&pfd, 1, 700)) TH_LOG("proto %d revents %#x", protos[p],
							pfd.revents);
		close(fd);
	}
	/* IPv4 still answers. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, connect_to(fd, SERVER4, PORT));
	EXPECT_EQ(0, echo(fd, 100, 100));
	close(fd);

	/* Rejected with ICMP: EHOSTUNREACH. */
	ASSERT_EQ(0, nft_rule(&self->t, REJECT4));
	fd = socket(AF_INET, SOCK_STREAM, 0);
	ASSERT_LE(0, fd);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	EXPECT_EQ(-1, connect_to(fd, SERVER4, PORT));
	EXPECT_EQ(EHOSTUNREACH, errno) TH_LOG("%s", strerror(errno));
	close(fd);
}

TEST_F(race, tcp_only_server)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct taps_info ti;
	char b1[64], b2[64];
	int fd;

	ASSERT_EQ(0, server_start(&self->t, SRV_TCP));
	fd = taps_new(0, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, connect_to(fd, SERVER6, PORT)) TH_LOG("%s", strerror(errno));
	ti = info_of(fd);
	EXPECT_EQ(TAPS_STATE_ESTABLISHED, ti.ti_state) ILOG;
	EXPECT_EQ(IPPROTO_TCP, ti.ti_protocol) ILOG;
	EXPECT_EQ(TAPS_INFO_F_ISOLATED, ti.ti_flags);	/* taps_new() */
	EXPECT_EQ(2, ti.ti_candidates);	/* v6/TCP, v6/SCTP */
	EXPECT_EQ(1, ti.ti_attempts) ILOG;
	EXPECT_EQ(0, ti.ti_failed) ILOG;
	EXPECT_EQ(0, ti.ti_winner) ILOG;
	EXPECT_EQ(250, ti.ti_attempt_delay_ms);
	EXPECT_GT(ti.ti_connect_us, 0) ILOG;
	EXPECT_LT(ti.ti_connect_us, 200000) ILOG;
	EXPECT_TRUE(sa_is(&ti.ti_remote, SERVER6, PORT))
		TH_LOG("%s", sa_str(&ti.ti_remote, b1, 64));
	EXPECT_TRUE(sa_is(&ti.ti_local, CLIENT6, -1)) TH_LOG("%s", sa_str(&ti.ti_local, b1, 64));
	ASSERT_EQ(0, getpeername(fd, (struct sockaddr *)&ss, &len));
	EXPECT_TRUE(sa_is(&ss, SERVER6, PORT)) TH_LOG("%s", sa_str(&ss, b1, 64));
	len = sizeof(ss);
	ASSERT_EQ(0, getsockname(fd, (struct sockaddr *)&ss, &len));
	EXPECT_TRUE(sa_is(&ss, CLIENT6, -1)) TH_LOG("%s", sa_str(&ss, b1, 64));
	EXPECT_EQ(0, memcmp(&ss, &ti.ti_local, sizeof(struct sockaddr_in6)))
		TH_LOG("%s vs %s", sa_str(&ss, b1, 64), sa_str(&ti.ti_local, b2, 64));
	EXPECT_EQ(0, echo(fd, 65536, 8192));
	close(fd);
}

TEST_F(race, sctp_only_server)
{
	struct taps_info ti;
	double t0, ms;
	char b[64];
	int fd;

	ASSERT_EQ(0, server_start(&self->t, SRV_SCTP));
	fd = taps_new(0, 0);
	ASSERT_LE(0, fd);
	t0 = now_ms();
	ASSERT_EQ(0, connect_to(fd, SERVER6, PORT)) TH_LOG("%s", strerror(errno));
	ms = now_ms() - t0;
	ti = info_of(fd);
	EXPECT_EQ(TAPS_STATE_ESTABLISHED, ti.ti_state) ILOG;
	EXPECT_EQ(IPPROTO_SCTP, ti.ti_protocol) ILOG;
	EXPECT_EQ(2, ti.ti_candidates) ILOG;
	EXPECT_EQ(2, ti.ti_attempts) ILOG;
	EXPECT_LE(1, ti.ti_failed) ILOG;
	EXPECT_EQ(1, ti.ti_winner) ILOG;
	/* TCP refused at once, so SCTP did not wait for the 250 ms delay. */
	EXPECT_LT(ms, 200) TH_LOG("connect took %.1f ms", ms);
	EXPECT_LT(ti.ti_connect_us, 200000) ILOG;
	EXPECT_TRUE(sa_is(&ti.ti_remote, SERVER6, PORT)) TH_LOG("%s", sa_str(&ti.ti_remote, b, 64));
	EXPECT_EQ(0, echo(fd, 65536, 8192));
	close(fd);
}

/*
 * With a real round trip no handshake completes inside connect(): each
 * protocol's attempt must be seen through to ESTABLISHED or a failure.
 */
TEST_F(race, round_trip_tcp_and_sctp)
{
	static const int masks[] = { TAPS_P_TCP, TAPS_P_SCTP, TAPS_P_TCP | TAPS_P_SCTP };
	static const int protos[] = { IPPROTO_TCP, IPPROTO_SCTP, IPPROTO_TCP };
	struct taps_info ti;
	unsigned int i;
	int fd;

	ASSERT_EQ(0, server_start(&self->t, SRV_ALL));
	ASSERT_EQ(0, netem_delay(&self->t, 20));
	for (i = 0; i < ARRAY_LEN(masks); i++) {
		fd = taps_new(0, masks[i]);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, connect_to(fd, i % 2 ? SERVER4 : SERVER6, PORT))
			TH_LOG("mask %#x: %s", masks[i], strerror(errno));
		ti = info_of(fd);
		EXPECT_EQ(TAPS_STATE_ESTABLISHED, ti.ti_state) ILOG;
		EXPECT_EQ(protos[i], ti.ti_protocol) ILOG;
		EXPECT_EQ(0, ti.ti_failed) ILOG;
		EXPECT_EQ(0, ti.ti_winner) ILOG;
		/* One round trip (TCP) or two (SCTP) of 40 ms. */
		EXPECT_LE(35000, ti.ti_connect_us) ILOG;
		EXPECT_GE(2000000, ti.ti_connect_us) ILOG;
		EXPECT_EQ(0, echo(fd, 16384, 8192));
		close(fd);
	}
	/* SCTP behind a refused TCP, both a round trip away. */
	ASSERT_EQ(0, server_start(&self->t, SRV_SCTP));
	fd = taps_new(0, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, connect_to(fd, SERVER6, PORT)) TH_LOG("%s", strerror(errno));
	ti = info_of(fd);
	EXPECT_EQ(IPPROTO_SCTP, ti.ti_protocol) ILOG;
	EXPECT_EQ(1, ti.ti_winner) ILOG;
	EXPECT_EQ(1, ti.ti_failed) ILOG;
	close(fd);
}

/* An attempt still handshaking when the next one starts is not dropped. */
TEST_F(race, slow_first_attempt_kept)
{
	struct taps_info ti;
	int fd;

	/* TCP refused after 300 ms, SCTP answering after 2 x 300 ms: SCTP
	 * starts at the 100 ms delay and must win although TCP fails
	 * meanwhile, and vice versa with TCP answering.
	 */
	ASSERT_EQ(0, server_start(&self->t, SRV_SCTP));
	ASSERT_EQ(0, netem_delay(&self->t, 150));
	fd = taps_new(0, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, set_int(fd, TAPS_ATTEMPT_DELAY, 100));
	ASSERT_EQ(0, connect_to(fd, SERVER4, PORT)) TH_LOG("%s", strerror(errno));
	ti = info_of(fd);
	EXPECT_EQ(IPPROTO_SCTP, ti.ti_protocol) ILOG;
	EXPECT_EQ(2, ti.ti_attempts) ILOG;
	EXPECT_EQ(1, ti.ti_failed) ILOG;
	EXPECT_EQ(1, ti.ti_winner) ILOG;
	EXPECT_LE(600000, ti.ti_connect_us) ILOG;
	close(fd);

	ASSERT_EQ(0, server_start(&self->t, SRV_TCP));
	fd = taps_new(0, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, set_int(fd, TAPS_ATTEMPT_DELAY, 100));
	ASSERT_EQ(0, connect_to(fd, SERVER4, PORT)) TH_LOG("%s", strerror(errno));
	ti = info_of(fd);
	EXPECT_EQ(IPPROTO_TCP, ti.ti_protocol) ILOG;
	EXPECT_EQ(2, ti.ti_attempts) ILOG;
	EXPECT_EQ(0, ti.ti_winner) ILOG;
	EXPECT_LE(300000, ti.ti_connect_us) ILOG;
	close(fd);
}

TEST_F(race, ipv6_blackholed_ipv4_fine)
{
	struct taps_endpoint ep[2] = { mkep(SERVER6, PORT), mkep(SERVER4, PORT) };
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct taps_info ti;
	char b[64];
	int fd;

	ASSERT_EQ(0, server_start(&self->t, SRV_TCP));
	ASSERT_EQ(0, nft_rule(&self->t, DROP6));
	fd = taps_new(0, TAPS_P_TCP);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, set_int(fd, TAPS_ATTEMPT_DELAY, 100));
	ASSERT_EQ(0, set_eps(fd, ep, 2));
	ASSERT_EQ(0, connect_list(fd)) TH_LOG("%s", strerror(errno));
	ti = info_of(fd);
	EXPECT_EQ(TAPS_STATE_ESTABLISHED, ti.ti_state) ILOG;
	EXPECT_EQ(IPPROTO_TCP, ti.ti_protocol) ILOG;
	EXPECT_EQ(2, ti.ti_candidates) ILOG;
	EXPECT_EQ(2, ti.ti_attempts) ILOG;
	EXPECT_EQ(1, ti.ti_winner) ILOG;
	EXPECT_EQ(100, ti.ti_attempt_delay_ms);
	/* The winner started no earlier than the attempt delay (RFC 8305):
	 * the race's clock is ktime, the delay an hrtimer.
	 */
	EXPECT_LE(100000, ti.ti_connect_us) ILOG;
	EXPECT_GE(1500000, ti.ti_connect_us) ILOG;
	ASSERT_EQ(0, getpeername(fd, (struct sockaddr *)&ss, &len));
	EXPECT_TRUE(sa_is(&ss, SERVER4, PORT)) TH_LOG("%s", sa_str(&ss, b, 64));
	EXPECT_TRUE(sa_is(&ti.ti_remote, SERVER4, PORT)) TH_LOG("%s", sa_str(&ti.ti_remote, b, 64));
	EXPECT_TRUE(sa_is(&ti.ti_local, CLIENT4, -1)) TH_LOG("%s", sa_str(&ti.ti_local, b, 64));
	EXPECT_EQ(0, echo(fd, 4096, 4096));
	close(fd);
}

/* connect()'s own address goes ahead of the list. */
TEST_F(race, connect_address_first)
{
	struct taps_endpoint ep[1] = { mkep(SERVER6, CLOSED_PORT) };
	struct taps_endpoint two[2] = { mkep(SERVER6, CLOSED_PORT), mkep(SERVER6, PORT) };
	struct taps_info ti;
	int fd;

	ASSERT_EQ(0, server_start(&self->t, SRV_TCP));
	fd = taps_new(0, TAPS_P_TCP);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, set_eps(fd, ep, 1));
	ASSERT_EQ(0, connect_to(fd, SERVER6, PORT)) TH_LOG("%s", strerror(errno));
	ti = info_of(fd);
	EXPECT_EQ(2, ti.ti_candidates) ILOG;
	EXPECT_EQ(0, ti.ti_winner) ILOG;
	EXPECT_EQ(0, ti.ti_failed) ILOG;
	close(fd);

	/* With sockaddr_taps, exactly the list: the closed port, then PORT. */
	fd = taps_new(0, TAPS_P_TCP);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, set_eps(fd, two, 2));
	ASSERT_EQ(0, connect_list(fd)) TH_LOG("%s", strerror(errno));
	ti = info_of(fd);
	EXPECT_EQ(2, ti.ti_candidates) ILOG;
	EXPECT_EQ(1, ti.ti_winner) ILOG;
	EXPECT_EQ(1, ti.ti_failed) ILOG;
	close(fd);
}

/* RFC 8305 section 4: families alternate from the first one's. */
TEST_F(race, family_interleaving)
{
	struct taps_endpoint v6first[4] = {
		mkep(SERVER6, CLOSED_PORT), mkep(SERVER6, CLOSED_PORT + 1),
		mkep(SERVER6, PORT), mkep(SERVER4, CLOSED_PORT),
	};
	struct taps_endpoint v4first[3] = {
		mkep(SERVER4, CLOSED_PORT), mkep(SERVER4, PORT), mkep(SERVER6, CLOSED_PORT),
	};
	struct taps_info ti;
	char b[64];
	int fd;

	ASSERT_EQ(0, server_start(&self->t, SRV_TCP));
	/* v6:closed, v4:closed, v6:closed+1, v6:PORT -> index 3 */
	fd = taps_new(0, TAPS_P_TCP);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, set_eps(fd, v6first, 4));
	ASSERT_EQ(0, connect_list(fd)) TH_LOG("%s", strerror(errno));
	ti = info_of(fd);
	EXPECT_EQ(4, ti.ti_candidates) ILOG;
	EXPECT_EQ(4, ti.ti_attempts) ILOG;
	EXPECT_EQ(3, ti.ti_failed) ILOG;
	EXPECT_EQ(3, ti.ti_winner) ILOG;
	EXPECT_TRUE(sa_is(&ti.ti_remote, SERVER6, PORT)) TH_LOG("%s", sa_str(&ti.ti_remote, b, 64));
	close(fd);

	/* v4:closed, v6:closed, v4:PORT -> index 2 */
	fd = taps_new(0, TAPS_P_TCP);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, set_eps(fd, v4first, 3));
	ASSERT_EQ(0, connect_list(fd)) TH_LOG("%s", strerror(errno));
	ti = info_of(fd);
	EXPECT_EQ(3, ti.ti_candidates) ILOG;
	EXPECT_EQ(2, ti.ti_failed) ILOG;
	EXPECT_EQ(2, ti.ti_winner) ILOG;
	EXPECT_TRUE(sa_is(&ti.ti_remote, SERVER4, PORT)) TH_LOG("%s", sa_str(&ti.ti_remote, b, 64));
	close(fd);
}

/* Endpoint-major: v6/TCP, v6/SCTP, v4/TCP, v4/SCTP; only v4/SCTP listens. */
TEST_F(race, candidate_order)
{
	struct taps_endpoint ep = mkep(SERVER4, PORT);
	struct taps_info ti;
	double t0, ms;
	int fd;

	ASSERT_EQ(0, server_start(&self->t, SRV_SCTP4));
	fd = taps_new(0, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, set_eps(fd, &ep, 1));
	t0 = now_ms();
	ASSERT_EQ(0, connect_to(fd, SERVER6, PORT)) TH_LOG("%s", strerror(errno));
	ms = now_ms() - t0;
	ti = info_of(fd);
	EXPECT_EQ(IPPROTO_SCTP, ti.ti_protocol) ILOG;
	EXPECT_EQ(4, ti.ti_candidates) ILOG;
	EXPECT_EQ(4, ti.ti_attempts) ILOG;
	EXPECT_EQ(3, ti.ti_failed) ILOG;
	EXPECT_EQ(3, ti.ti_winner) ILOG;
	/* Three refusals, no attempt delay waited for (that would be 750 ms). */
	EXPECT_LT(ms, 600) TH_LOG("connect took %.1f ms", ms);
	EXPECT_EQ(0, echo(fd, 1000, 1000));
	close(fd);
}

TEST_F(race, all_refused)
{
	struct taps_endpoint ep = mkep(SERVER4, PORT);
	struct taps_info ti;
	double t0, ms;
	int fd, ret, err;

	fd = taps_new(0, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, set_eps(fd, &ep, 1));
	t0 = now_ms();
	ret = connect_to(fd, SERVER6, PORT);
	err = errno;
	ms = now_ms() - t0;
	EXPECT_EQ(-1, ret);
	EXPECT_EQ(ECONNREFUSED, err) TH_LOG("%s", strerror(err));
	EXPECT_LT(ms, 700) TH_LOG("connect took %.1f ms", ms);
	ti = info_of(fd);
	EXPECT_EQ(TAPS_STATE_CLOSED, ti.ti_state) ILOG;
	EXPECT_EQ(0, ti.ti_protocol) ILOG;
	EXPECT_EQ(4, ti.ti_candidates) ILOG;
	EXPECT_EQ(ti.ti_candidates, ti.ti_attempts) ILOG;
	EXPECT_EQ(ti.ti_attempts, ti.ti_failed) ILOG;
	EXPECT_EQ(AF_UNSPEC, ti.ti_remote.ss_family);
	close(fd);
}

/* A socket whose race failed can connect() again. */
TEST_F(race, connect_again_after_failure)
{
	struct taps_info ti;
	int fd;

	fd = taps_new(0, 0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, connect_to(fd, SERVER4, PORT));
	EXPECT_EQ(ECONNREFUSED, errno);
	ASSERT_EQ(0, server_start(&self->t, SRV_TCP));
	ASSERT_EQ(0, connect_to(fd, SERVER4, PORT)) TH_LOG("%s", strerror(errno));
	ti = info_of(fd);
	EXPECT_EQ(TAPS_STATE_ESTABLISHED, ti.ti_state) ILOG;
	EXPECT_EQ(1, ti.ti_attempts) ILOG;
	EXPECT_EQ(0, ti.ti_failed) ILOG;
	EXPECT_EQ(0, echo(fd, 1000, 1000));
	close(fd);
}

/* ICMP host unreachable for every candidate. */
TEST_F(race, all_unreachable)
{
	struct taps_endpoint ep = mkep(SERVER4, PORT);
	struct taps_info ti;
	double t0, ms;
	int fd, ret, err;

	ASSERT_EQ(0, server_start(&self->t, SRV_TCP));
	ASSERT_EQ(0, nft_rule(&self->t, REJECT6));
	ASSERT_EQ(0, nft_rule(&self->t, REJECT4));
	fd = taps_new(0, TAPS_P_TCP);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, set_eps(fd, &ep, 1));
	t0 = now_ms();
	ret = connect_to(fd, SERVER6, PORT);
	err = errno;
	ms = now_ms() - t0;
	EXPECT_EQ(-1, ret);
	EXPECT_EQ(EHOSTUNREACH, err) TH_LOG("%s", strerror(err));
	/* Over veth the ICMP error can come back while connect() still owns
	 * the TCP socket, which then takes it as a soft error and fails only
	 * on the retransmitted SYN's (1 s later).
	 */
	EXPECT_LT(ms, 5000) TH_LOG("connect took %.1f ms", ms);
	ti = info_of(fd);
	EXPECT_EQ(TAPS_STATE_CLOSED, ti.ti_state) ILOG;
	EXPECT_EQ(2, ti.ti_attempts) ILOG;
	EXPECT_EQ(2, ti.ti_failed) ILOG;
	close(fd);
}

/* No route at all: the attempt fails locally. */
TEST_F(race, no_route)
{
	struct taps_info ti;
	int fd, ret, err;

	fd = taps_new(0, TAPS_P_TCP);
	ASSERT_LE(0, fd);
	ret = connect_to(fd, NOROUTE4, PORT);
	err = errno;
	EXPECT_EQ(-1, ret);
	EXPECT_EQ(ENETUNREACH, err) TH_LOG("%s", strerror(err));
	ti = info_of(fd);
	EXPECT_EQ(TAPS_STATE_CLOSED, ti.ti_state) ILOG;
	EXPECT_EQ(1, ti.ti_candidates) ILOG;
	EXPECT_EQ(1, ti.ti_attempts) ILOG;
	EXPECT_EQ(1, ti.ti_failed) ILOG;
	close(fd);
}

/* Refused wins over unreachable, whichever came first. */
TEST_F(race, refused_beats_unreachable)
{
	struct taps_endpoint ep;
	int fd, ret, err;

	ASSERT_EQ(0, nft_rule(&self->t, REJECT6));
	/* v6 unreachable first, v4 refused last. */
	ep = mkep(SERVER4, PORT);
	fd = taps_new(0, TAPS_P_TCP);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, set_eps(fd, &ep, 1));
	ret = connect_to(fd, SERVER6, PORT);
	err = errno;
	EXPECT_EQ(-1, ret);
	EXPECT_EQ(ECONNREFUSED, err) TH_LOG("%s", strerror(err));
	EXPECT_EQ(2, info_of(fd).ti_failed);
	close(fd);
	/* v4 refused first, v6 unreachable last. */
	ep = mkep(SERVER6, PORT);
	fd = taps_new(0, TAPS_P_TCP);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, set_eps(fd, &ep, 1));
	ret = connect_to(fd, SERVER4, PORT);
	err = errno;
	EXPECT_EQ(-1, ret);
	EXPECT_EQ(ECONNREFUSED, err) TH_LOG("%s", strerror(err));
	EXPECT_EQ(2, info_of(fd).ti_failed);
	close(fd);
	/* Unreachable only, of either kind. */
	ep = mkep(NOROUTE4, PORT);
	fd = taps_new(0, TAPS_P_TCP);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, set_eps(fd, &ep, 1));
	ret = connect_to(fd, SERVER6, PORT);
	err = errno;
	EXPECT_EQ(-1, ret);
	EXPECT_TRUE(err == EHOSTUNREACH || err == ENETUNREACH) TH_LOG("%s", strerror(err));
	close(fd);
}

TEST_F(race, all_blackholed_conn_timeout)
{
	struct taps_endpoint ep = mkep(SERVER4, PORT);
	struct taps_info ti;
	double t0, ms;
	int fd, ret, err;

	ASSERT_EQ(0, server_start(&self->t, SRV_ALL));
	ASSERT_EQ(0, nft_rule(&self->t, DROP6));
	ASSERT_EQ(0, nft_rule(&self->t, DROP4));
	fd = taps_new(0, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, set_eps(fd, &ep, 1));
	ASSERT_EQ(0, set_int(fd, TAPS_CONN_TIMEOUT, 500));
	t0 = now_ms();
	ret = connect_to(fd, SERVER6, PORT);
	err = errno;
	ms = now_ms() - t0;
	EXPECT_EQ(-1, ret);
	EXPECT_EQ(ETIMEDOUT, err) TH_LOG("%s", strerror(err));
	EXPECT_LE(400, ms);
	EXPECT_GE(3000, ms);
	ti = info_of(fd);
	EXPECT_EQ(TAPS_STATE_CLOSED, ti.ti_state) ILOG;
	EXPECT_EQ(4, ti.ti_candidates) ILOG;
	EXPECT_LE(2, ti.ti_attempts) TH_LOG("0 ms and 250 ms at least");
	close(fd);
}

/* Without TAPS_CONN_TIMEOUT each protocol's own timeout ends it. */
TEST_F_TIMEOUT(race, all_blackholed_protocol_timeout, 90)
{
	static const int masks[] = { TAPS_P_TCP, TAPS_P_SCTP, TAPS_P_TCP | TAPS_P_SCTP };
	struct taps_info ti;
	unsigned int i;
	double t0, ms;
	int fd, ret, err;

	/* TCP gives up after 1 + 2 s, SCTP after INITs at 0, 100 and 300 ms. */
	ASSERT_EQ(0, write_file("/proc/sys/net/ipv4/tcp_syn_retries", "1"));
	ASSERT_EQ(0, write_file("/proc/sys/net/sctp/rto_min", "100"));
	ASSERT_EQ(0, write_file("/proc/sys/net/sctp/rto_max", "200"));
	ASSERT_EQ(0, write_file("/proc/sys/net/sctp/rto_initial", "100"));
	ASSERT_EQ(0, write_file("/proc/sys/net/sctp/max_init_retransmits", "2"));
	ASSERT_EQ(0, nft_rule(&self->t, DROP4));
	for (i = 0; i < ARRAY_LEN(masks); i++) {
		fd = taps_new(0, masks[i]);
		ASSERT_LE(0, fd);
		t0 = now_ms();
		ret = connect_to(fd, SERVER4, PORT);
		err = errno;
		ms = now_ms() - t0;
		ti = info_of(fd);
		EXPECT_EQ(-1, ret) TH_LOG("mask %#x", masks[i]);
		EXPECT_EQ(ETIMEDOUT, err) TH_LOG("mask %#x: %s", masks[i], strerror(err));
		EXPECT_LE(masks[i] & TAPS_P_TCP ? 2000 : 300, ms) TH_LOG("mask %#x", masks[i]);
		EXPECT_GE(15000, ms) TH_LOG("mask %#x", masks[i]);
		EXPECT_EQ(TAPS_STATE_CLOSED, ti.ti_state) ILOG;
		EXPECT_EQ(ti.ti_candidates, ti.ti_failed) ILOG;
		close(fd);
	}
}

TEST_F(race, last_of_32_works)
{
	struct taps_endpoint ep[TAPS_MAX_ENDPOINTS];
	struct taps_info ti;
	double t0, ms;
	char b[64];
	int fd, i;

	ASSERT_EQ(0, server_start(&self->t, SRV_TCP));
	for (i = 0; i < TAPS_MAX_ENDPOINTS - 1; i++)
		ep[i] = mkep(SERVER4, CLOSED_PORT + i);
	ep[TAPS_MAX_ENDPOINTS - 1] = mkep(SERVER4, PORT);
	fd = taps_new(0, TAPS_P_TCP);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, set_eps(fd, ep, TAPS_MAX_ENDPOINTS));
	t0 = now_ms();
	ASSERT_EQ(0, connect_list(fd)) TH_LOG("%s", strerror(errno));
	ms = now_ms() - t0;
	ti = info_of(fd);
	EXPECT_EQ(TAPS_STATE_ESTABLISHED, ti.ti_state) ILOG;
	EXPECT_EQ(32, ti.ti_candidates) ILOG;
	EXPECT_EQ(32, ti.ti_attempts) ILOG;
	EXPECT_EQ(31, ti.ti_failed) ILOG;
	EXPECT_EQ(31, ti.ti_winner) ILOG;
	EXPECT_TRUE(sa_is(&ti.ti_remote, SERVER4, PORT)) TH_LOG("%s", sa_str(&ti.ti_remote, b, 64));
	/* Refusals start the next at once: far less than 31 x 250 ms. */
	EXPECT_LT(ms, 3000) TH_LOG("connect took %.1f ms", ms);
	EXPECT_EQ(0, echo(fd, 1000, 1000));
	close(fd);
}

TEST_F(race, nonblocking_connect)
{
	struct taps_endpoint ep = mkep(SERVER4, PORT);
	struct pollfd pfd = { .events = POLLOUT };
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct taps_info ti;
	int fd;

	ASSERT_EQ(0, server_start(&self->t, SRV_TCP));
	ASSERT_EQ(0, nft_rule(&self->t, DROP6));
	fd = taps_new(SOCK_NONBLOCK, TAPS_P_TCP);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, set_int(fd, TAPS_ATTEMPT_DELAY, 300));
	ASSERT_EQ(0, set_eps(fd, &ep, 1));
	EXPECT_EQ(-1, connect_to(fd, SERVER6, PORT));
	ASSERT_EQ(EINPROGRESS, errno);

	/* Racing: v6 hangs, v4 waits for the 300 ms delay. */
	ti = info_of(fd);
	EXPECT_EQ(TAPS_STATE_ESTABLISHING, ti.ti_state) ILOG;
	EXPECT_EQ(1, ti.ti_attempts) ILOG;
	EXPECT_EQ(-1, connect_to(fd, SERVER6, PORT));
	EXPECT_EQ(EALREADY, errno);
	EXPECT_EQ(-1, set_eps(fd, &ep, 1));
	EXPECT_EQ(EALREADY, errno);
	EXPECT_EQ(-1, getpeername(fd, (struct sockaddr *)&ss, &len));
	EXPECT_EQ(ENOTCONN, errno);
	pfd.fd = fd;
	EXPECT_EQ(0, poll(&pfd, 1, 50)) TH_LOG("revents %#x while racing", pfd.revents);

	EXPECT_EQ(0, wait_connect(fd, 5000));
	ti = info_of(fd);
	EXPECT_EQ(TAPS_STATE_ESTABLISHED, ti.ti_state) ILOG;
	EXPECT_EQ(1, ti.ti_winner) ILOG;
	EXPECT_EQ(-1, connect_to(fd, SERVER4, PORT));
	EXPECT_EQ(EISCONN, errno);
	EXPECT_EQ(-1, set_eps(fd, &ep, 1));
	EXPECT_EQ(EISCONN, errno);
	len = sizeof(ss);
	EXPECT_EQ(0, getpeername(fd, (struct sockaddr *)&ss, &len));
	EXPECT_TRUE(sa_is(&ss, SERVER4, PORT));
	EXPECT_EQ(0, echo(fd, 1000, 1000));
	close(fd);
}

TEST_F(race, nonblocking_all_refused)
{
	struct taps_endpoint ep = mkep(SERVER4, PORT);
	struct taps_info ti;
	int fd, ret;

	fd = taps_new(SOCK_NONBLOCK, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, set_eps(fd, &ep, 1));
	ret = connect_to(fd, SERVER6, PORT);
	/* Refusals may all be in before connect() returns. */
	if (ret == -1 && errno == EINPROGRESS) {
		EXPECT_EQ(ECONNREFUSED, wait_connect(fd, 5000));
	} else {
		EXPECT_EQ(-1, ret);
		EXPECT_EQ(ECONNREFUSED, errno);
	}
	ti = info_of(fd);
	EXPECT_EQ(TAPS_STATE_CLOSED, ti.ti_state) ILOG;
	EXPECT_EQ(4, ti.ti_attempts) ILOG;
	EXPECT_EQ(4, ti.ti_failed) ILOG;
	close(fd);
}

TEST_F_TIMEOUT(race, close_during_race, 120)
{
	struct taps_endpoint ep = mkep(SERVER4, PORT);
	double t0;
	int i, fd;

	ASSERT_EQ(0, server_start(&self->t, SRV_ALL));
	ASSERT_EQ(0, nft_rule(&self->t, DROP6));
	ASSERT_EQ(0, nft_rule(&self->t, DROP4));
	t0 = now_ms();
	for (i = 0; i < 100; i++) {
		fd = taps_new(SOCK_NONBLOCK, 0);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, set_int(fd, TAPS_ATTEMPT_DELAY, 10));
		ASSERT_EQ(0, set_eps(fd, &ep, 1));
		ASSERT_EQ(-1, connect_to(fd, SERVER6, PORT));
		ASSERT_EQ(EINPROGRESS, errno);
		/* At once, or with one to four attempts under way. */
		if (i % 5)
			usleep(i % 5 * 10000);
		ASSERT_EQ(0, close(fd));
	}
	EXPECT_LT(now_ms() - t0, 30000);
	EXPECT_EQ(0, settle(tcp_inuse, 0));
	EXPECT_EQ(0, settle(sctp_assocs, 0));
}

/* close() while the winner is being chosen. */
TEST_F_TIMEOUT(race, close_while_winning, 120)
{
	struct taps_endpoint ep = mkep(SERVER4, PORT);
	int i, fd;

	ASSERT_EQ(0, server_start(&self->t, SRV_ALL));
	ASSERT_EQ(0, nft_rule(&self->t, DROP6));
	for (i = 0; i < 100; i++) {
		fd = taps_new(SOCK_NONBLOCK, 0);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, set_int(fd, TAPS_ATTEMPT_DELAY, 10));
		ASSERT_EQ(0, set_eps(fd, &ep, 1));
		ASSERT_EQ(-1, connect_to(fd, SERVER6, PORT));
		ASSERT_EQ(EINPROGRESS, errno);
		usleep(i % 25 * 1000);
		ASSERT_EQ(0, close(fd));
	}
	EXPECT_EQ(0, settle(tcp_inuse, 0));
	EXPECT_EQ(0, settle(sctp_assocs, 0));
}

TEST_F_TIMEOUT(race, many_concurrent, 120)
{
	enum { N = 200 };
	static struct pollfd pfd[N];
	int i, left = N, eofs = 0;
	double end;
	char line[64];
	char c;

	ASSERT_EQ(0, server_start(&self->t, SRV_TCP));
	for (i = 0; i < N; i++) {
		pfd[i].fd = taps_new(SOCK_NONBLOCK, 0);
		pfd[i].events = POLLOUT;
		ASSERT_LE(0, pfd[i].fd) TH_LOG("socket %d: %s", i, strerror(errno));
		ASSERT_EQ(-1, connect_to(pfd[i].fd, i % 2 ? SERVER6 : SERVER4, PORT));
		ASSERT_EQ(EINPROGRESS, errno);
	}
	end = now_ms() + 30000;
	while (left) {
		int n = poll(pfd, N, end - now_ms());

		ASSERT_LT(0, n) TH_LOG("%d of %d still connecting", left, N);
		for (i = 0; i < N; i++) {
			struct taps_info ti;
			int err;
			socklen_t len = sizeof(err);

			if (!pfd[i].revents || !pfd[i].events)
				continue;
			ASSERT_EQ(0, getsockopt(pfd[i].fd, SOL_SOCKET, SO_ERROR, &err, &len));
			ASSERT_EQ(0, err) TH_LOG("socket %d: %s", i, strerror(err));
			ti = info_of(pfd[i].fd);
			ASSERT_EQ(TAPS_STATE_ESTABLISHED, ti.ti_state) TH_LOG("socket %d", i);
			ASSERT_EQ(IPPROTO_TCP, ti.ti_protocol);
			pfd[i].events = 0;
			left--;
		}
	}
	/* One byte each way on every connection. */
	for (i = 0; i < N; i++) {
		c = (char)i;
		ASSERT_EQ(1, write_all(pfd[i].fd, &c, 1));
	}
	for (i = 0; i < N; i++) {
		ASSERT_EQ(1, read_full(pfd[i].fd, &c, 1, 5000)) TH_LOG("socket %d", i);
		ASSERT_EQ((char)i, c);
	}
	for (i = 0; i < N; i++)
		ASSERT_EQ(0, close(pfd[i].fd));
	/* The server saw every connection end. */
	while (eofs < N && server_wait(&self->t, "eof ", line, sizeof(line), 10000))
		eofs++;
	EXPECT_EQ(N, eofs);
	EXPECT_EQ(0, settle(tcp_inuse, 0));
}

/* MSG_WAITALL waits for the second half (TCP: a byte stream). */
struct delayed_write {
	int fd;
	int delay_ms;
	const char *buf;
	size_t len;
};

static void *delayed_write_fn(void *arg)
{
	struct delayed_write *dw = arg;

	usleep(dw->delay_ms * 1000);
	write_all(dw->fd, dw->buf, dw->len);
	return NULL;
}

TEST_F(race, data_waitall_tcp)
{
	static char out[1000], in[1000];
	struct delayed_write dw;
	pthread_t th;
	int fd;

	ASSERT_EQ(0, server_start(&self->t, SRV_TCP));
	fd = taps_new(0, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, connect_to(fd, SERVER4, PORT));
	pattern(out, 0, sizeof(out));
	ASSERT_EQ(500, write_all(fd, out, 500));
	dw = (struct delayed_write){ fd, 200, out + 500, 500 };
	ASSERT_EQ(0, pthread_create(&th, NULL, delayed_write_fn, &dw));
	EXPECT_EQ(sizeof(in), recv(fd, in, sizeof(in), MSG_WAITALL));
	EXPECT_EQ(0, memcmp(in, out, sizeof(in)));
	pthread_join(th, NULL);
	close(fd);
}

TEST_F(race, multistreaming_prefer)
{
	struct taps_info ti;
	int fd;

	ASSERT_EQ(0, server_start(&self->t, SRV_ALL));
	/* Prefer: SCTP first, and it answers. */
	fd = taps_new(0, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, set_int(fd, TAPS_SEL_MULTISTREAMING, TAPS_PREF_PREFER));
	ASSERT_EQ(0, connect_to(fd, SERVER4, PORT)) TH_LOG("%s", strerror(errno));
	ti = info_of(fd);
	EXPECT_EQ(IPPROTO_SCTP, ti.ti_protocol) ILOG;
	EXPECT_EQ(2, ti.ti_candidates) ILOG;
	EXPECT_EQ(0, ti.ti_winner) ILOG;
	EXPECT_EQ(0, echo(fd, 1000, 1000));
	close(fd);
	/* Default: TCP first. */
	fd = taps_new(0, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, connect_to(fd, SERVER4, PORT)) TH_LOG("%s", strerror(errno));
	ti = info_of(fd);
	EXPECT_EQ(IPPROTO_TCP, ti.ti_protocol) ILOG;
	EXPECT_EQ(0, ti.ti_winner) ILOG;
	close(fd);
	/* Prefer with only TCP listening: SCTP refused, TCP at once. */
	ASSERT_EQ(0, server_start(&self->t, SRV_TCP));
	fd = taps_new(0, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, set_int(fd, TAPS_SEL_MULTISTREAMING, TAPS_PREF_PREFER));
	ASSERT_EQ(0, connect_to(fd, SERVER4, PORT)) TH_LOG("%s", strerror(errno));
	ti = info_of(fd);
	EXPECT_EQ(IPPROTO_TCP, ti.ti_protocol) ILOG;
	EXPECT_EQ(1, ti.ti_winner) ILOG;
	EXPECT_EQ(1, ti.ti_failed) ILOG;
	close(fd);
}

TEST_F(race, multistreaming_require_prohibit)
{
	struct taps_info ti;
	int fd;

	/* Require: SCTP only, and only TCP listens. */
	ASSERT_EQ(0, server_start(&self->t, SRV_TCP));
	fd = taps_new(0, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, set_int(fd, TAPS_SEL_MULTISTREAMING, TAPS_PREF_REQUIRE));
	EXPECT_EQ(-1, connect_to(fd, SERVER4, PORT));
	EXPECT_EQ(ECONNREFUSED, errno);
	ti = info_of(fd);
	EXPECT_EQ(1, ti.ti_candidates) ILOG;
	EXPECT_EQ(1, ti.ti_attempts) ILOG;
	close(fd);
	/* Prohibit: TCP only, and only SCTP listens. */
	ASSERT_EQ(0, server_start(&self->t, SRV_SCTP));
	fd = taps_new(0, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, set_int(fd, TAPS_SEL_MULTISTREAMING, TAPS_PREF_PROHIBIT));
	EXPECT_EQ(-1, connect_to(fd, SERVER6, PORT));
	EXPECT_EQ(ECONNREFUSED, errno);
	ti = info_of(fd);
	EXPECT_EQ(1, ti.ti_candidates) ILOG;
	EXPECT_EQ(1, ti.ti_attempts) ILOG;
	close(fd);
	/* Require, SCTP listening. */
	fd = taps_new(0, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, set_int(fd, TAPS_SEL_MULTISTREAMING, TAPS_PREF_REQUIRE));
	ASSERT_EQ(0, connect_to(fd, SERVER6, PORT)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(IPPROTO_SCTP, info_of(fd).ti_protocol);
	close(fd);
}

TEST_F(race, protocols_prohibited)
{
	static const int stream_props[] = {
		TAPS_SEL_RELIABILITY, TAPS_SEL_PRESERVE_ORDER, TAPS_SEL_CONGESTION_CONTROL,
	};
	static const struct {
		int protocols, opt, pref;
	} none[] = {
		{ TAPS_P_SCTP, TAPS_SEL_MULTISTREAMING, TAPS_PREF_PROHIBIT },
		{ TAPS_P_TCP, TAPS_SEL_MULTISTREAMING, TAPS_PREF_REQUIRE },
		{ TAPS_P_TCP | TAPS_P_SCTP, TAPS_SEL_MULTIPATH, TAPS_PREF_REQUIRE },
		{ TAPS_P_MPTCP, TAPS_SEL_MULTIPATH, TAPS_PREF_NO_PREFERENCE },
		{ TAPS_P_MPTCP, TAPS_SEL_MULTIPATH, TAPS_PREF_PROHIBIT },
		{ TAPS_P_MPTCP, TAPS_SEL_MULTISTREAMING, TAPS_PREF_REQUIRE },
	};
	struct taps_endpoint ep = mkep(SERVER6, PORT);
	unsigned int i;
	int fd;

	ASSERT_EQ(0, server_start(&self->t, SRV_ALL));
	for (i = 0; i < ARRAY_LEN(stream_props); i++) {
		fd = taps_new(0, 0);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, set_int(fd, stream_props[i], TAPS_PREF_PROHIBIT));
		EXPECT_EQ(-1, connect_to(fd, SERVER4, PORT)) TH_LOG("option %d", stream_props[i]);
		EXPECT_EQ(EPROTONOSUPPORT, errno) TH_LOG("option %d", stream_props[i]);
		/* Nothing was started: fixed, the same socket connects. */
		EXPECT_NE(TAPS_STATE_ESTABLISHING, info_of(fd).ti_state);
		ASSERT_EQ(0, set_int(fd, stream_props[i], TAPS_PREF_REQUIRE));
		EXPECT_EQ(0, connect_to(fd, SERVER4, PORT)) TH_LOG("%s", strerror(errno));
		close(fd);
	}
	for (i = 0; i < ARRAY_LEN(none); i++) {
		fd = taps_new(0, none[i].protocols);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, set_int(fd, none[i].opt, none[i].pref));
		EXPECT_EQ(-1, connect_to(fd, SERVER4, PORT)) TH_LOG("case %u", i);
		EXPECT_EQ(EPROTONOSUPPORT, errno) TH_LOG("case %u: %s", i, strerror(errno));
		close(fd);
	}
	/* The same through sockaddr_taps. */
	fd = taps_new(0, TAPS_P_SCTP);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, set_eps(fd, &ep, 1));
	ASSERT_EQ(0, set_int(fd, TAPS_SEL_MULTISTREAMING, TAPS_PREF_PROHIBIT));
	EXPECT_EQ(-1, connect_list(fd));
	EXPECT_EQ(EPROTONOSUPPORT, errno);
	close(fd);
}

TEST_F(race, multipath)
{
	struct taps_info ti;
	int fd;

	/* Require: MPTCP only; against a plain TCP server it falls back. */
	ASSERT_EQ(0, server_start(&self->t, SRV_TCP));
	fd = taps_new(0, TAPS_P_ALL);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, set_int(fd, TAPS_SEL_MULTIPATH, TAPS_PREF_REQUIRE));
	ASSERT_EQ(0, connect_to(fd, SERVER6, PORT)) TH_LOG("%s", strerror(errno));
	ti = info_of(fd);
	EXPECT_EQ(IPPROTO_MPTCP, ti.ti_protocol) ILOG;
	EXPECT_EQ(1, ti.ti_candidates) ILOG;
	EXPECT_EQ(0, echo(fd, 65536, 8192));
	close(fd);
	/* Not asked for: no MPTCP even when allowed. */
	fd = taps_new(0, TAPS_P_ALL);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, connect_to(fd, SERVER6, PORT)) TH_LOG("%s", strerror(errno));
	ti = info_of(fd);
	EXPECT_EQ(IPPROTO_TCP, ti.ti_protocol) ILOG;
	EXPECT_EQ(2, ti.ti_candidates) ILOG;
	close(fd);
	/* Prefer: MPTCP, TCP, SCTP; only SCTP listens. */
	ASSERT_EQ(0, server_start(&self->t, SRV_SCTP));
	fd = taps_new(0, TAPS_P_ALL);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, set_int(fd, TAPS_SEL_MULTIPATH, TAPS_PREF_PREFER));
	ASSERT_EQ(0, connect_to(fd, SERVER6, PORT)) TH_LOG("%s", strerror(errno));
	ti = info_of(fd);
	EXPECT_EQ(IPPROTO_SCTP, ti.ti_protocol) ILOG;
	EXPECT_EQ(3, ti.ti_candidates) ILOG;
	EXPECT_EQ(2, ti.ti_winner) ILOG;
	EXPECT_EQ(2, ti.ti_failed) ILOG;
	close(fd);
}

/* ======================================================================== */
/* The data path, over each protocol and family                             */
/* ======================================================================== */

FIXTURE(data) {
	struct topo t;
	int fd;
};

FIXTURE_VARIANT(data) {
	int protocols;
	int ipproto;
	const char *server;
};

FIXTURE_VARIANT_ADD(data, tcp4) {
	.protocols = TAPS_P_TCP, .ipproto = IPPROTO_TCP, .server = SERVER4,
};

FIXTURE_VARIANT_ADD(data, tcp6) {
	.protocols = TAPS_P_TCP, .ipproto = IPPROTO_TCP, .server = SERVER6,
};

FIXTURE_VARIANT_ADD(data, sctp4) {
	.protocols = TAPS_P_SCTP, .ipproto = IPPROTO_SCTP, .server = SERVER4,
};

FIXTURE_VARIANT_ADD(data, sctp6) {
	.protocols = TAPS_P_SCTP, .ipproto = IPPROTO_SCTP, .server = SERVER6,
};

/*
 * The data tests change nothing in the topology (no nft rule, no netem),
 * so they share one: the first builds it, the others join it, and the
 * harness's own process removes it when it exits.  Built for each test it
 * cost 3 to 6 s on the debug kernel, most of it namespace creation and
 * teardown.  Each test still starts its own server.
 */
static void shared_paths(pid_t harness, char *srv, char *cli, size_t size)
{
	snprintf(srv, size, "/run/netns/tapsdata%d", harness);
	snprintf(cli, size, "/run/netns/tapsdata%dc", harness);
}

static int topo_join_shared(struct topo *t)
{
	char srv[64], cli[64];
	int fd, ret;

	shared_paths(getppid(), srv, cli, sizeof(srv));
	snprintf(t->ns, sizeof(t->ns), "tapsdata%d", getppid());
	fd = open(cli, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ret = setns(fd, CLONE_NEWNET);
		close(fd);
		t->server = 0;
		t->report = -1;
		signal(SIGPIPE, SIG_IGN);
		return ret;
	}
	if (topo_setup(t))
		return -1;
	/* Keep the client side too: what "ip netns attach" does. */
	fd = open(cli, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
	if (fd < 0)
		return -1;
	close(fd);
	if (mount("/proc/self/ns/net", cli, "none", MS_BIND, NULL))
		return -1;
	t->ns_added = false;	/* the harness removes it */
	return 0;
}

static void __attribute__((destructor)) topo_shared_remove(void)
{
	char srv[64], cli[64];

	/* Only the harness's process has its pid in the names. */
	shared_paths(getpid(), srv, cli, sizeof(srv));
	if (!umount2(cli, MNT_DETACH))
		unlink(cli);
	if (!umount2(srv, MNT_DETACH))
		unlink(srv);
}

FIXTURE_SETUP(data)
{
	struct taps_info ti;

	self->fd = -1;
	ASSERT_EQ(0, topo_join_shared(&self->t));
	ASSERT_EQ(0, server_start(&self->t, SRV_ALL));
	self->fd = taps_new(0, variant->protocols);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, connect_to(self->fd, variant->server, PORT)) TH_LOG("%s", strerror(errno));
	ti = info_of(self->fd);
	ASSERT_EQ(TAPS_STATE_ESTABLISHED, ti.ti_state);
	ASSERT_EQ(variant->ipproto, ti.ti_protocol);
}

FIXTURE_TEARDOWN(data)
{
	if (self->fd >= 0)
		close(self->fd);
	topo_teardown(&self->t);
}

TEST_F(data, echo_64k)
{
	char buf[8] = "abcdefg", in[8];

	EXPECT_EQ(0, echo(self->fd, 65536, 8192));
	/* write/read and send/recv too */
	ASSERT_EQ(7, write(self->fd, buf, 7));
	EXPECT_EQ(7, read_full(self->fd, in, 7, 5000));
	EXPECT_EQ(0, memcmp(buf, in, 7));
}

struct bulk {
	int fd;
	size_t len;
	ssize_t sent;
};

static void *bulk_writer(void *arg)
{
	static char buf[16384];
	struct bulk *b = arg;
	size_t off;

	b->sent = 0;
	for (off = 0; off < b->len; off += sizeof(buf)) {
		pattern(buf, off, sizeof(buf));
		if (write_all(b->fd, buf, sizeof(buf)) != sizeof(buf))
			return NULL;
		b->sent += sizeof(buf);
	}
	return NULL;
}

/* 4 MiB written while reading: flow control both ways. */
TEST_F_TIMEOUT(data, bulk_4m, 120)
{
	static char in[65536], want[65536];
	struct bulk b = { .fd = self->fd, .len = 4 << 20 };
	size_t got = 0;
	pthread_t th;
	ssize_t n;

	ASSERT_EQ(0, pthread_create(&th, NULL, bulk_writer, &b));
	while (got < b.len) {
		n = read_full(self->fd, in, sizeof(in) < b.len - got ? sizeof(in) : b.len - got,
			      10000);
		ASSERT_LT(0, n) TH_LOG("at %zu", got);
		pattern(want, got, n);
		ASSERT_EQ(0, memcmp(in, want, n)) TH_LOG("at %zu", got);
		got += n;
	}
	pthread_join(th, NULL);
	EXPECT_EQ(b.len, b.sent);
}

TEST_F(data, peek_dontwait)
{
	struct pollfd pfd = { .fd = self->fd, .events = POLLIN };
	char buf[64];

	EXPECT_EQ(-1, recv(self->fd, buf, sizeof(buf), MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(0, poll(&pfd, 1, 0));
	ASSERT_EQ(11, send(self->fd, "hello world", 11, 0));
	ASSERT_EQ(1, poll(&pfd, 1, 5000));
	ASSERT_TRUE(pfd.revents & POLLIN);
	EXPECT_EQ(11, wait_inq(self->fd, 11, 3000));
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(5, recv(self->fd, buf, 5, MSG_PEEK));
	EXPECT_EQ(0, memcmp(buf, "hello", 5));
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(11, recv(self->fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT));
	EXPECT_EQ(0, memcmp(buf, "hello world", 11));
	/* Peeking consumed nothing. */
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(11, recv(self->fd, buf, sizeof(buf), MSG_DONTWAIT));
	EXPECT_EQ(0, memcmp(buf, "hello world", 11));
	EXPECT_EQ(-1, recv(self->fd, buf, sizeof(buf), MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
}

TEST_F(data, waitall)
{
	static char out[1000], in[1000];
	struct delayed_write dw;
	pthread_t th;
	ssize_t n;

	pattern(out, 0, sizeof(out));
	ASSERT_EQ(500, write_all(self->fd, out, 500));
	dw = (struct delayed_write){ self->fd, 200, out + 500, 500 };
	ASSERT_EQ(0, pthread_create(&th, NULL, delayed_write_fn, &dw));
	n = recv(self->fd, in, sizeof(in), MSG_WAITALL);
	if (variant->ipproto == IPPROTO_TCP) {
		EXPECT_EQ(sizeof(in), n);
	} else {
		/* SCTP returns one message at a time, as its own socket does. */
		EXPECT_EQ(500, n);
		EXPECT_EQ(500, recv(self->fd, in + 500, 500, MSG_WAITALL));
	}
	EXPECT_EQ(0, memcmp(in, out, sizeof(in)));
	pthread_join(th, NULL);
}

TEST_F(data, readv_writev)
{
	char a[3] = "abc", b[5] = "defgh", c[2] = "ij", x[4], y[16];
	struct iovec out[3] = { { a, 3 }, { b, 5 }, { c, 2 } };
	struct iovec in[2] = { { x, 4 }, { y, sizeof(y) } };

	ASSERT_EQ(10, writev(self->fd, out, 3));
	ASSERT_EQ(10, wait_inq(self->fd, 10, 3000));
	memset(y, 0, sizeof(y));
	ASSERT_EQ(10, readv(self->fd, in, 2));
	EXPECT_EQ(0, memcmp(x, "abcd", 4));
	EXPECT_EQ(0, memcmp(y, "efghij", 6));
}

TEST_F(data, sendmsg_recvmsg)
{
	char a[] = "taps ", b[] = "stream", buf[64];
	struct iovec out[2] = { { a, 5 }, { b, 6 } };
	struct iovec in = { buf, sizeof(buf) };
	struct msghdr msg = { .msg_iov = out, .msg_iovlen = 2 };

	ASSERT_EQ(11, sendmsg(self->fd, &msg, MSG_NOSIGNAL));
	ASSERT_EQ(11, wait_inq(self->fd, 11, 3000));
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = &in;
	msg.msg_iovlen = 1;
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(11, recvmsg(self->fd, &msg, 0));
	EXPECT_EQ(0, memcmp(buf, "taps stream", 11));
	EXPECT_FALSE(msg.msg_flags & MSG_TRUNC);
}

TEST_F(data, fionread)
{
	char buf[100];
	int inq = -1;

	ASSERT_EQ(0, ioctl(self->fd, FIONREAD, &inq));
	EXPECT_EQ(0, inq);
	pattern(buf, 0, sizeof(buf));
	ASSERT_EQ(100, write_all(self->fd, buf, 100));
	EXPECT_EQ(100, wait_inq(self->fd, 100, 3000));
	ASSERT_EQ(100, read_full(self->fd, buf, 100, 1000));
	ASSERT_EQ(0, ioctl(self->fd, FIONREAD, &inq));
	EXPECT_EQ(0, inq);
}

TEST_F(data, shutdown_wr)
{
	char buf[200], line[64];
	const char *eof;
	ssize_t n;

	pattern(buf, 0, 100);
	ASSERT_EQ(100, write_all(self->fd, buf, 100));
	if (variant->ipproto == IPPROTO_TCP)
		/* TCP half-closes: the echo comes back after our FIN. */
		ASSERT_EQ(100, read_full(self->fd, buf, 100, 5000));
	ASSERT_EQ(0, shutdown(self->fd, SHUT_WR));
	/* The server saw EOF after all 100 bytes. */
	eof = server_wait(&self->t, "eof ", line, sizeof(line), 5000);
	ASSERT_NE(NULL, eof);
	EXPECT_EQ(100, atoi(eof));
	/* Writing after SHUT_WR: EPIPE (SCTP: ESHUTDOWN while shutting down). */
	EXPECT_EQ(-1, send(self->fd, buf, 1, MSG_NOSIGNAL));
	EXPECT_TRUE(errno == EPIPE || (variant->ipproto == IPPROTO_SCTP && errno == ESHUTDOWN))
		TH_LOG("%s", strerror(errno));
	/* And we see the server's EOF in turn (SCTP: its echo may be lost). */
	n = read_full(self->fd, buf, sizeof(buf), 5000);
	EXPECT_TRUE(n == 0 || (variant->ipproto == IPPROTO_SCTP && n <= 100)) TH_LOG("%zd", n);
	if (variant->ipproto == IPPROTO_TCP)
		EXPECT_EQ(0, recv(self->fd, buf, sizeof(buf), MSG_DONTWAIT));
}

TEST_F(data, poll_epoll_et)
{
	struct pollfd pfd = { .fd = self->fd, .events = POLLIN };
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET }, got;
	char buf[16];
	int ep;

	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	ev.data.fd = self->fd;
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, self->fd, &ev));
	EXPECT_EQ(0, epoll_wait(ep, &got, 1, 0));
	EXPECT_EQ(0, poll(&pfd, 1, 0));
	/* Writable now. */
	pfd.events = POLLOUT;
	EXPECT_EQ(1, poll(&pfd, 1, 0));
	pfd.events = POLLIN;

	/* Data arriving wakes epoll_wait. */
	ASSERT_EQ(1, send(self->fd, "x", 1, 0));
	ASSERT_EQ(1, epoll_wait(ep, &got, 1, 5000));
	EXPECT_TRUE(got.events & EPOLLIN);
	EXPECT_EQ(self->fd, got.data.fd);
	/* Edge-triggered: no new edge while the byte sits there. */
	EXPECT_EQ(0, epoll_wait(ep, &got, 1, 100));
	EXPECT_EQ(1, poll(&pfd, 1, 0));
	ASSERT_EQ(1, recv(self->fd, buf, sizeof(buf), 0));
	EXPECT_EQ('x', buf[0]);
	/* New data: a new edge. */
	ASSERT_EQ(2, send(self->fd, "yz", 2, 0));
	ASSERT_EQ(1, epoll_wait(ep, &got, 1, 5000));
	EXPECT_TRUE(got.events & EPOLLIN);
	EXPECT_EQ(2, read_full(self->fd, buf, 2, 1000));
	EXPECT_EQ(0, memcmp(buf, "yz", 2));
	close(ep);
}

TEST_HARNESS_MAIN
