// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * taps-cat: netcat over libtaps; the example to read first.
 *
 *   taps-cat [OPTIONS] HOST PORT         connect: every address of HOST raced
 *   taps-cat -l [OPTIONS] [ADDR] PORT    listen, serve one connection (-k: many)
 *
 * The libtaps loop runs inside taps-cat's own poll() loop (taps_loop_fd()
 * and taps_loop_process()), next to standard input.  taps-cat(1) has the
 * options.
 *
 * -l -k: standard input goes to every connection open when it is read (as
 * ncat --keep-open does); at its end each connection is closed, and later
 * ones at once.  A listener never ends an SCTP connection's sending side
 * before the peer has ended its own: SCTP has no half-close (RFC 9260
 * section 9.2), and the peer could not send the rest.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "taps.h"

#define IN_CHUNK	(64 << 10)
#define MAX_UNSENT	(1 << 20)

struct peer;

static struct {
	bool			verbose, listen, keep, stdin_eof, done;
	bool			no_shutdown, peer_eof;
	int			framer;		/* 0 none, 1 line, 2 lp */
	int			quit_after;	/* -q, seconds; -1 wait for the peer */
	int			status;
	size_t			unsent;
	struct taps_loop	*loop;
	struct taps_listener	*listener;
	struct taps_connection	*conn;		/* the one stdin goes to */
	int			open;		/* connections open */
	const char		*sendfile;	/* --sendfile: then close */
	char			*line;		/* framer: a line being read */
	size_t			line_len, line_cap;
	struct peer		*peers;		/* -k: the open connections */
} g = { .quit_after = -1 };

/* -k: one per connection, its user pointer */
struct peer {
	struct peer		*next;
	struct taps_connection	*c;
	size_t			unsent;
};

static void usage(void)
{
	fprintf(stderr,
		"Usage: taps-cat [-v] [-i] [-p PROTO[,PROTO]] [--prefer PROTO] [--avoid PROTO]\n"
		"                [--framer line|lp] [-w SECS] [-q SECS] [--no-shutdown]\n"
		"                [--tls] [--cafile F] [--servername NAME] [--alpn LIST]\n"
		"                [--tls-version 1.2|1.3] [--sendfile F] HOST PORT\n"
		"       taps-cat -l [-k] [-v] [OPTIONS] [--cert F --key F] [ADDR] PORT\n");
	exit(2);
}

static void write_all(const void *p, size_t len)
{
	const char *b = p;
	ssize_t n;

	while (len) {
		n = write(STDOUT_FILENO, b, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "taps-cat: writing to stdout: %s\n", strerror(errno));
			exit(1);
		}
		b += n;
		len -= n;
	}
}

static void finish(int status)
{
	if (status > g.status)
		g.status = status;
	g.done = true;
}

static void arm_receive(struct taps_connection *c)
{
	taps_receive(c, 1, IN_CHUNK);
}

/* "TLSv1.3 TLS_AES_128_GCM_SHA256 kTLS tx+rx " or "" */
static const char *tls_desc(struct taps_connection *c, char *buf, size_t len)
{
	struct taps_tls_info ti;

	if (taps_connection_tls(c, &ti))
		return "";
	snprintf(buf, len, "%s %s %s%s%s ", ti.version, ti.cipher, taps_tls_ktls_name(ti.ktls),
		 *ti.alpn ? " alpn " : "", ti.alpn);
	return buf;
}

static void send_the_file(struct taps_connection *c)
{
	struct stat stb;
	int fd, err;

	fd = open(g.sendfile, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &stb)) {
		fprintf(stderr, "taps-cat: %s: %s\n", g.sendfile, strerror(errno));
		finish(1);
		taps_abort(c);
		return;
	}
	err = taps_send_file(c, fd, 0, stb.st_size, NULL);
	close(fd);
	if (err) {
		fprintf(stderr, "taps-cat: sendfile: %s\n", strerror(-err));
		finish(1);
		taps_abort(c);
		return;
	}
	g.stdin_eof = true;
	taps_close(c);
}

static void on_ready(struct taps_connection *c, void *user)
{
	char buf[160], tb[160];

	(void)user;
	if (g.verbose)
		fprintf(stderr, "ready: %s %sin %.1f ms\n",
			taps_connection_describe(c, buf, sizeof(buf)), tls_desc(c, tb, sizeof(tb)),
			taps_connection_ready_us(c) / 1000.0);
	g.open++;
	arm_receive(c);
	if (g.sendfile)
		send_the_file(c);
	else if (g.stdin_eof)
		taps_close(c);
}

static void on_estab_error(struct taps_connection *c, const struct taps_error *e, void *user)
{
	(void)c;
	(void)user;
	fprintf(stderr, "taps-cat: %s\n", e->reason);
	g.conn = NULL;
	finish(1);
}

static void on_received(struct taps_connection *c, const void *data, size_t len,
			const struct taps_message_context *mc, void *user)
{
	(void)mc;
	(void)user;
	write_all(data, len);
	write_all("\n", 1);
	arm_receive(c);
}

static void on_received_partial(struct taps_connection *c, const void *data, size_t len,
				const struct taps_message_context *mc, void *user)
{
	(void)user;
	if (len)
		write_all(data, len);
	if (mc->end_of_message && c == g.conn)
		g.peer_eof = true;
	if (!mc->end_of_message)
		arm_receive(c);
	else if (g.keep || g.stdin_eof || c != g.conn)
		taps_close(c);	/* the peer is done and so are we */
}

static void on_sent(struct taps_connection *c, void *ctx, void *user)
{
	struct peer *p = user;

	(void)c;
	if (p)
		p->unsent -= (size_t)(uintptr_t)ctx;
	else
		g.unsent -= (size_t)(uintptr_t)ctx;
}

/* Our end of c's stream, now: on SCTP (no half-close) a listener waits
 * for the peer's end first, which closes c (on_received_partial). */
static void end_ours(struct taps_connection *c)
{
	int64_t proto = 0;

	if (g.listen && !taps_connection_get(c, TAPS_PROP_PROTOCOL, &proto) &&
	    proto == IPPROTO_SCTP)
		return;
	taps_close(c);
}

/* -k: the largest backlog of any connection (standard input waits for it) */
static size_t peers_unsent(void)
{
	struct peer *p;
	size_t m = 0;

	for (p = g.peers; p; p = p->next)
		if (p->unsent > m)
			m = p->unsent;
	return m;
}

static void on_send_error(struct taps_connection *c, void *ctx, const struct taps_error *e,
			  void *user)
{
	(void)c;
	(void)ctx;
	(void)user;
	fprintf(stderr, "taps-cat: send: %s\n", e->reason);
	finish(1);
}

static void on_receive_error(struct taps_connection *c, const struct taps_error *e, void *user)
{
	(void)c;
	(void)user;
	fprintf(stderr, "taps-cat: receive: %s\n", e->reason);
	finish(1);
}

static void conn_gone(struct taps_connection *c)
{
	struct peer **pp, *p;

	for (pp = &g.peers; (p = *pp); pp = &p->next) {
		if (p->c == c) {
			*pp = p->next;
			free(p);
			break;
		}
	}
	g.open--;
	if (c == g.conn)
		g.conn = NULL;
	if (!g.keep)
		finish(0);
}

static void on_closed(struct taps_connection *c, void *user)
{
	(void)user;
	conn_gone(c);
}

static void on_conn_error(struct taps_connection *c, const struct taps_error *e, void *user)
{
	(void)user;
	fprintf(stderr, "taps-cat: %s\n", e->reason);
	conn_gone(c);
	finish(1);
}

static void on_conn_received(struct taps_listener *l, struct taps_connection *c, void *user)
{
	char buf[160], tb[160];

	(void)user;
	if (g.verbose)
		fprintf(stderr, "ready: %s %sin %.1f ms\n",
			taps_connection_describe(c, buf, sizeof(buf)), tls_desc(c, tb, sizeof(tb)),
			taps_connection_ready_us(c) / 1000.0);
	g.open++;
	if (!g.keep) {
		g.conn = c;
		taps_listener_stop(l);
		g.listener = NULL;
	}
	arm_receive(c);
	if (g.sendfile && c == g.conn) {
		send_the_file(c);
	} else if (g.stdin_eof && (c == g.conn || g.keep)) {
		end_ours(c);
	} else if (g.keep) {	/* standard input goes to it too */
		struct peer *p = calloc(1, sizeof(*p));

		if (!p) {
			end_ours(c);
			return;
		}
		p->c = c;
		p->next = g.peers;
		g.peers = p;
		taps_connection_set_user(c, p);
	}
}

static void on_listen_error(struct taps_listener *l, const struct taps_error *e, void *user)
{
	(void)l;
	(void)user;
	fprintf(stderr, "taps-cat: listen: %s\n", e->reason);
	g.listener = NULL;
	finish(1);
}

static void on_quit_timer(struct taps_timer *t, void *user)
{
	(void)t;
	(void)user;
	if (g.conn)
		taps_abort(g.conn);
	finish(0);
}

static int send_bytes(const void *p, size_t len)
{
	struct peer *pr;
	int err;

	for (pr = g.peers; pr; pr = pr->next) {	/* -k: to every connection */
		err = taps_send(pr->c, p, len, (void *)(uintptr_t)len, 0);
		if (err)
			fprintf(stderr, "taps-cat: send: %s\n", strerror(-err));
		else
			pr->unsent += len;
	}
	if (g.keep)
		return 0;
	err = taps_send(g.conn, p, len, (void *)(uintptr_t)len, 0);
	if (err) {
		fprintf(stderr, "taps-cat: send: %s\n", strerror(-err));
		finish(1);
		return err;
	}
	g.unsent += len;
	return 0;
}

/* framed: each line of standard input is one message */
static void send_lines(const char *p, size_t len, bool eof)
{
	const char *nl;

	while (len) {
		size_t n;

		nl = memchr(p, '\n', len);
		n = nl ? (size_t)(nl - p) : len;
		if (g.line_len + n > g.line_cap) {
			g.line_cap = (g.line_len + n) * 2;
			g.line = realloc(g.line, g.line_cap);
			if (!g.line) {
				perror("taps-cat");
				exit(1);
			}
		}
		memcpy(g.line + g.line_len, p, n);
		g.line_len += n;
		if (!nl)
			break;
		if (g.line_len && g.line[g.line_len - 1] == '\r')
			g.line_len--;
		if (send_bytes(g.line, g.line_len))
			return;
		g.line_len = 0;
		p = nl + 1;
		len -= n + 1;
	}
	if (eof && g.line_len) {
		send_bytes(g.line, g.line_len);
		g.line_len = 0;
	}
}

static void stdin_eof(void)
{
	g.stdin_eof = true;
	if (g.framer)
		send_lines(NULL, 0, true);
	while (g.peers) {	/* -k: each is closed, and forgotten */
		struct peer *p = g.peers;

		g.peers = p->next;
		taps_connection_set_user(p->c, NULL);
		end_ours(p->c);
		free(p);
	}
	if (g.conn && (!g.no_shutdown || g.peer_eof)) {
		end_ours(g.conn);
		if (g.quit_after >= 0)
			taps_timer_new(g.loop, g.quit_after * 1000, on_quit_timer, NULL);
	}
}

static void read_stdin(void)
{
	static char buf[IN_CHUNK];
	ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		stdin_eof();
		return;
	}
	if (g.framer)
		send_lines(buf, n, false);
	else
		send_bytes(buf, n);
}

static int proto_mask(const char *s)
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
			usage();
	}
	free(dup);
	return m;
}

/* --prefer / --avoid: the selection properties that order protocols */
static void prefer(struct taps_preconnection *pre, const char *proto, bool avoid)
{
	int m = proto_mask(proto);

	if (m & TAPS_P_SCTP)
		taps_preconnection_set(pre, TAPS_PROP_MULTISTREAMING,
				       avoid ? TAPS_PREF_AVOID : TAPS_PREF_PREFER);
	if (m & TAPS_P_TCP)
		taps_preconnection_set(pre, TAPS_PROP_MULTISTREAMING,
				       avoid ? TAPS_PREF_PREFER : TAPS_PREF_AVOID);
	if (m & TAPS_P_MPTCP)
		taps_preconnection_set(pre, TAPS_PROP_MULTIPATH,
				       avoid ? TAPS_MULTIPATH_DISABLED : TAPS_MULTIPATH_ACTIVE);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "framer", required_argument, NULL, 'F' },
		{ "prefer", required_argument, NULL, 'P' },
		{ "avoid", required_argument, NULL, 'A' },
		{ "no-shutdown", no_argument, NULL, 'n' },
		{ "tls", no_argument, NULL, 'T' },
		{ "cafile", required_argument, NULL, 'C' },
		{ "servername", required_argument, NULL, 'S' },
		{ "alpn", required_argument, NULL, 'N' },
		{ "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'K' },
		{ "tls-version", required_argument, NULL, 'V' },
		{ "sendfile", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct taps_callbacks cbs = {
		.ready = on_ready,
		.establishment_error = on_estab_error,
		.connection_received = on_conn_received,
		.listen_error = on_listen_error,
		.sent = on_sent,
		.send_error = on_send_error,
		.received = on_received,
		.received_partial = on_received_partial,
		.receive_error = on_receive_error,
		.closed = on_closed,
		.connection_error = on_conn_error,
	};
	struct taps_preconnection *pre;
	struct taps_tls_params tls = { 0 };
	bool use_tls = false;
	struct pollfd pfd[2];
	int opt, err;

	g.loop = taps_loop_new();
	if (!g.loop) {
		perror("taps-cat: io_uring");
		return 1;
	}
	pre = taps_preconnection_new(g.loop);
	if (!pre)
		return 1;
	while ((opt = getopt_long(argc, argv, "lkvip:w:q:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'l':
			g.listen = true;
			break;
		case 'k':
			g.keep = true;
			break;
		case 'v':
			g.verbose = true;
			break;
		case 'p':
			taps_preconnection_set(pre, TAPS_PROP_PROTOCOLS, proto_mask(optarg));
			break;
		case 'P':
		case 'A':
			prefer(pre, optarg, opt == 'A');
			break;
		case 'F':
			if (!strcmp(optarg, "line"))
				g.framer = 1;
			else if (!strcmp(optarg, "lp") || !strcmp(optarg, "length-prefix"))
				g.framer = 2;
			else
				usage();
			break;
		case 'w':
			if (atoi(optarg) <= 0)
				usage();
			taps_preconnection_set(pre, TAPS_PROP_CONN_TIMEOUT, atoi(optarg) * 1000LL);
			break;
		case 'q':
			g.quit_after = atoi(optarg);
			break;
		case 'T':
			use_tls = true;
			break;
		case 'n':
			g.no_shutdown = true;
			break;
		case 'i':
			taps_preconnection_set(pre, TAPS_PROP_ISOLATE_SESSION, 1);
			break;
		case 'C':
			use_tls = true;
			tls.ca_file = optarg;
			break;
		case 'S':
			use_tls = true;
			tls.server_name = optarg;
			break;
		case 'N':
			use_tls = true;
			tls.alpn = optarg;
			break;
		case 'c':
			use_tls = true;
			tls.cert_file = optarg;
			break;
		case 'K':
			use_tls = true;
			tls.key_file = optarg;
			break;
		case 'V':
			use_tls = true;
			if (!strcmp(optarg, "1.2"))
				tls.min_version = tls.max_version = TAPS_TLS_1_2;
			else if (!strcmp(optarg, "1.3"))
				tls.min_version = tls.max_version = TAPS_TLS_1_3;
			else
				usage();
			break;
		case 'f':
			g.sendfile = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (g.keep && !g.listen)
		usage();
	if (use_tls) {
		err = taps_preconnection_set_tls(pre, &tls);
		if (err) {
			fprintf(stderr, "taps-cat: TLS parameters: %s\n", strerror(-err));
			return 2;
		}
	}
	if (g.framer)
		taps_preconnection_add_framer(pre, g.framer == 1 ? &taps_framer_line :
					      &taps_framer_length_prefix, NULL);
	taps_preconnection_set_callbacks(pre, &cbs);
	if (g.listen) {
		if (argc < 1 || argc > 2)
			usage();
		err = taps_preconnection_set_local(pre, argc == 2 ? argv[0] : NULL,
						   argv[argc - 1]);
		if (err) {
			fprintf(stderr, "taps-cat: local endpoint: %s\n", strerror(-err));
			return 2;
		}
		g.listener = taps_listen(pre, NULL);
	} else {
		if (argc != 2)
			usage();
		err = taps_preconnection_add_remote(pre, argv[0], argv[1]);
		if (err) {
			fprintf(stderr, "taps-cat: remote endpoint: %s\n", strerror(-err));
			return 2;
		}
		g.conn = taps_initiate(pre, NULL);
	}
	taps_preconnection_free(pre);
	if (!g.conn && !g.listener) {
		perror("taps-cat");
		return 1;
	}
	if (g.sendfile)
		g.stdin_eof = true;

	/* Our loop: the libtaps loop's fd and standard input. */
	while (!g.done) {
		bool want_in = !g.stdin_eof && g.unsent < MAX_UNSENT &&
			       (g.conn || g.listen) && !(g.conn == NULL && g.listen && g.open);
		int n = 1;

		pfd[0].fd = taps_loop_fd(g.loop);
		pfd[0].events = POLLIN;
		if (g.keep && !g.stdin_eof && g.peers && peers_unsent() < MAX_UNSENT) {
			/* -k: read while a connection is open to take it */
			pfd[1].fd = STDIN_FILENO;
			pfd[1].events = POLLIN;
			pfd[1].revents = 0;
			n = 2;
		} else if (want_in && g.conn) {
			int64_t st;

			if (!taps_connection_get(g.conn, TAPS_PROP_CONN_STATE, &st) &&
			    st == TAPS_CONN_ESTABLISHED) {
				pfd[1].fd = STDIN_FILENO;
				pfd[1].events = POLLIN;
				pfd[1].revents = 0;
				n = 2;
			}
		}
		if (poll(pfd, n, -1) < 0 && errno != EINTR) {
			perror("taps-cat: poll");
			return 1;
		}
		if (n == 2 && pfd[1].revents)
			read_stdin();
		if (taps_loop_process(g.loop) < 0)
			break;
	}
	taps_loop_free(g.loop);
	return g.status;
}
