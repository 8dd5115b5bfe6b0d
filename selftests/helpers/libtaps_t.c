// SPDX-License-Identifier: GPL-2.0
/*
 * libtaps_t: libtaps driven by selftests/libtaps.sh.
 *
 *   libtaps_t connect [-i] [-f FRAMERS] [-w MS] [-p MASK] [-m N] HOST PORT
 *	initiate; print "ready proto=P ms=T remote=ADDR" or
 *	"establishment_error code=N reason=..."; with -m N, send N messages
 *	(framed) and check each comes back.  Exit 0 ready (and echoed), 1 not.
 *   libtaps_t serve [-f FRAMERS] [-L LIMIT] [-S N] PORT
 *	echo server on one loop: "listening port=P", then "accepted proto=P"
 *	per connection; every message (or byte) received is sent back.
 *	-L: the listener's connection limit; -S: stop the listener after N
 *	connections ("stopped" once it has).
 *	Runs until standard input ends.
 *   libtaps_t many [-f lp] N M HOST PORT
 *	N connections at once on one loop, M messages each, every echo
 *	checked; "many ready=R echoed=E failed=F ms=T".
 *   libtaps_t http [-x MAXLEN] [-t CAFILE] HOST PORT DIR METHOD:PATH...
 *	the HTTP/1.1 framer: every request sent at once (pipelined) on one
 *	connection, then "response n=N status=S body=B chunked=C cl=L
 *	parts=P" per response, its body in DIR/N.body; with -x, received
 *	with max_len MAXLEN (parts reassembled).  "done responses=N".
 *	With -t, over TLS trusting CAFILE (the server name is HOST), and
 *	after the ready line "tls version=V cipher=C records=R" (R as
 *	taps_tls_ktls_name() says it).
 *   FRAMERS: lp, line or http, or a stack, e.g. "lp,line" (added in that
 *	order: line nearest the application, inside lp frames).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "taps.h"

static struct taps_loop *loop;
static int framer, msgs = 0, nready, nechoed, nfailed, nconns, exit_code = 1;
static bool serve_mode;
static int stop_after, accepted;
/* http mode */
static const char *http_dir;
static char **http_reqs;
static int http_nreq, http_got;
static size_t http_max;
static uint8_t *http_acc;
static size_t http_acc_len;
static int http_parts;

static void http_send_all(struct taps_connection *c);

struct cl {
	int	id, sent, got;
};

static const char *pname(int64_t p)
{
	return p == IPPROTO_TCP ? "tcp" : p == IPPROTO_SCTP ? "sctp" :
	       p == IPPROTO_MPTCP ? "mptcp" : "?";
}

static void send_next(struct taps_connection *c, struct cl *cl)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "msg %d of client %d", cl->sent, cl->id);
	if (taps_send(c, buf, strlen(buf), NULL, 0))
		nfailed++;
	cl->sent++;
}

static void done_one(void)
{
	if (nready + nfailed == nconns && nechoed + nfailed >= nconns)
		taps_loop_stop(loop);
}

static void print_tls(struct taps_connection *c)
{
	struct taps_tls_info ti;

	if (!taps_connection_tls(c, &ti))
		printf("tls version=%s cipher=%s records=%s\n", ti.version, ti.cipher,
		       taps_tls_ktls_name(ti.ktls));
}

static void on_ready(struct taps_connection *c, void *user)
{
	struct cl *cl = user;
	struct taps_info ti;
	char buf[160];
	int64_t p = 0;

	nready++;
	taps_connection_get(c, TAPS_PROP_PROTOCOL, &p);
	if (nconns == 1) {
		taps_connection_info(c, &ti);
		printf("ready proto=%s ms=%llu remote=%s attempts=%u\n", pname(p),
		       (unsigned long long)taps_connection_ready_us(c) / 1000,
		       taps_connection_describe(c, buf, sizeof(buf)), ti.ti_attempts);
		fflush(stdout);
	}
	if (http_dir) {
		print_tls(c);
		http_send_all(c);
		return;
	}
	if (!msgs) {
		nechoed++;
		taps_close(c);
		done_one();
		return;
	}
	taps_receive(c, 1, 0);
	send_next(c, cl);
}

static void on_estab_error(struct taps_connection *c, const struct taps_error *e, void *user)
{
	(void)c;
	(void)user;
	nfailed++;
	if (nconns == 1)
		printf("establishment_error code=%d reason=%s\n", e->code, e->reason);
	fflush(stdout);
	done_one();
}

static void http_send_all(struct taps_connection *c)
{
	char buf[512];
	int i, n;

	for (i = 0; i < http_nreq; i++) {
		const char *colon = strchr(http_reqs[i], ':');

		n = snprintf(buf, sizeof(buf), "%.*s %s HTTP/1.1\r\nHost: test\r\n\r\n",
			     (int)(colon - http_reqs[i]), http_reqs[i], colon + 1);
		if (taps_send(c, buf, n, NULL, 0))
			nfailed++;
	}
	taps_receive(c, 1, http_max);
}

/* a whole response (data[0..len)), its view m */
static void http_response(struct taps_connection *c, const uint8_t *data,
			  const struct taps_http_message *m)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%d.body", http_dir, http_got);
	f = fopen(path, "w");
	if (!f || fwrite(data + m->body_off, 1, m->body_len, f) != m->body_len)
		nfailed++;
	if (f)
		fclose(f);
	printf("response n=%d status=%d body=%zu chunked=%d cl=%lld parts=%d\n", http_got,
	       m->status, m->body_len, m->chunked, (long long)m->content_length, http_parts);
	http_got++;
	http_parts = 0;
	http_acc_len = 0;
	if (http_got == http_nreq) {
		printf("done responses=%d\n", http_got);
		nechoed++;
		taps_close(c);
		return;
	}
	taps_receive(c, 1, http_max);
}

static void http_part(struct taps_connection *c, const void *data, size_t len,
		      const struct taps_message_context *mc)
{
	const struct taps_http_message *m = taps_http_message(mc);
	uint8_t *b;

	if (!m) {	/* the end of the stream before every response */
		printf("# end of stream after %d responses\n", http_got);
		nfailed++;
		taps_close(c);
		return;
	}
	b = realloc(http_acc, http_acc_len + len);
	if (!b)
		exit(1);
	http_acc = b;
	memcpy(http_acc + http_acc_len, data, len);
	http_acc_len += len;
	http_parts++;
	if (len > http_max)
		printf("# a part of %zu bytes, more than %zu\n", len, http_max), nfailed++;
	if (mc->end_of_message)
		http_response(c, http_acc, m);
	else
		taps_receive(c, 1, http_max);
}

static void on_received(struct taps_connection *c, const void *data, size_t len,
			const struct taps_message_context *mc, void *user)
{
	struct cl *cl = user;
	char want[64];

	if (http_dir) {
		const struct taps_http_message *m = taps_http_message(mc);

		(void)len;
		http_parts = 1;
		if (m)
			http_response(c, data, m);
		return;
	}
	if (serve_mode) {
		taps_send(c, data, len, NULL, 0);
		taps_receive(c, 1, 0);
		return;
	}
	snprintf(want, sizeof(want), "msg %d of client %d", cl->got, cl->id);
	if (len != strlen(want) || memcmp(data, want, len)) {
		printf("# client %d: got '%.*s', want '%s'\n", cl->id, (int)len,
		       (const char *)data, want);
		nfailed++;
		taps_abort(c);
		done_one();
		return;
	}
	if (++cl->got == msgs) {
		nechoed++;
		taps_close(c);
		done_one();
		return;
	}
	taps_receive(c, 1, 0);
	send_next(c, cl);
}

static void on_received_partial(struct taps_connection *c, const void *data, size_t len,
				const struct taps_message_context *mc, void *user)
{
	(void)user;
	if (http_dir) {
		http_part(c, data, len, mc);
		return;
	}
	if (serve_mode && len)
		taps_send(c, data, len, NULL, 0);
	if (mc->end_of_message)
		taps_close(c);
	else
		taps_receive(c, 1, 0);
}

static void on_conn_error(struct taps_connection *c, const struct taps_error *e, void *user)
{
	(void)c;
	(void)user;
	printf("connection_error code=%d reason=%s\n", e->code, e->reason);
	fflush(stdout);
	if (!serve_mode) {
		nfailed++;
		done_one();
	}
}

static void on_receive_error(struct taps_connection *c, const struct taps_error *e, void *user)
{
	(void)c;
	(void)user;
	printf("receive_error code=%d reason=%s\n", e->code, e->reason);
	fflush(stdout);
}

static void on_conn_received(struct taps_listener *l, struct taps_connection *c, void *user)
{
	int64_t p = 0;

	(void)user;
	taps_connection_get(c, TAPS_PROP_PROTOCOL, &p);
	printf("accepted proto=%s\n", pname(p));
	fflush(stdout);
	taps_receive(c, 1, 0);
	if (++accepted == stop_after)
		taps_listener_stop(l);
}

static void on_listen_error(struct taps_listener *l, const struct taps_error *e, void *user)
{
	(void)l;
	(void)user;
	printf("listen_error code=%d reason=%s\n", e->code, e->reason);
	exit(1);
}

static void on_stopped(struct taps_listener *l, void *user)
{
	(void)l;
	(void)user;
	printf("stopped\n");
	fflush(stdout);
}

static const struct taps_callbacks cbs = {
	.stopped = on_stopped,
	.ready = on_ready,
	.establishment_error = on_estab_error,
	.connection_received = on_conn_received,
	.listen_error = on_listen_error,
	.received = on_received,
	.received_partial = on_received_partial,
	.receive_error = on_receive_error,
	.connection_error = on_conn_error,
};

/* "lp,line": each added in turn, the first nearest the transport */
static void add_framers(struct taps_preconnection *pre, char *list)
{
	char *tok, *save = NULL;

	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		const struct taps_framer_ops *ops = !strcmp(tok, "lp") ?
			&taps_framer_length_prefix : !strcmp(tok, "http") ?
			&taps_framer_http : &taps_framer_line;

		if (taps_preconnection_add_framer(pre, ops, NULL)) {
			fprintf(stderr, "cannot add framer %s\n", tok);
			exit(2);
		}
		framer++;
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: see the head of selftests/helpers/libtaps_t.c\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct taps_preconnection *pre;
	const char *mode;
	int opt, limit = 0, i;
	uint64_t t0;

	if (argc < 2)
		usage();
	mode = argv[1];
	argv++;
	argc--;
	setvbuf(stdout, NULL, _IOLBF, 0);
	loop = taps_loop_new();
	if (!loop)
		return 1;
	pre = taps_preconnection_new(loop);
	taps_preconnection_set_callbacks(pre, &cbs);
	while ((opt = getopt(argc, argv, "if:w:p:m:L:S:x:t:")) != -1) {
		switch (opt) {
		case 'i':
			taps_preconnection_set(pre, TAPS_PROP_ISOLATE_SESSION, 1);
			break;
		case 'f':
			add_framers(pre, optarg);
			break;
		case 'x':
			http_max = strtoul(optarg, NULL, 0);
			break;
		case 't': {
			struct taps_tls_params tp = { .ca_file = optarg };

			if (taps_preconnection_set_tls(pre, &tp)) {
				fprintf(stderr, "cannot use TLS with %s\n", optarg);
				exit(2);
			}
			break;
		}
		case 'w':
			taps_preconnection_set(pre, TAPS_PROP_CONN_TIMEOUT, atoi(optarg));
			break;
		case 'p':
			taps_preconnection_set(pre, TAPS_PROP_PROTOCOLS, atoi(optarg));
			break;
		case 'm':
			msgs = atoi(optarg);
			break;
		case 'L':
			limit = atoi(optarg);
			break;
		case 'S':
			stop_after = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (!strcmp(mode, "connect") && argc == 2) {
		struct cl *cl = calloc(1, sizeof(*cl));

		nconns = 1;
		taps_preconnection_add_remote(pre, argv[0], argv[1]);
		taps_initiate(pre, cl);
		taps_loop_run(loop);
		return nready == 1 && nechoed == 1 && !nfailed ? 0 : 1;
	}
	if (!strcmp(mode, "http") && argc >= 4) {
		nconns = 1;
		taps_preconnection_add_framer(pre, &taps_framer_http, NULL);
		taps_preconnection_add_remote(pre, argv[0], argv[1]);
		http_dir = argv[2];
		http_reqs = argv + 3;
		http_nreq = argc - 3;
		taps_initiate(pre, NULL);
		taps_loop_run(loop);
		return nready == 1 && http_got == http_nreq && !nfailed ? 0 : 1;
	}
	if (!strcmp(mode, "many") && argc == 4) {
		nconns = atoi(argv[0]);
		msgs = atoi(argv[1]);
		taps_preconnection_add_remote(pre, argv[2], argv[3]);
		{
			struct timespec ts;

			clock_gettime(CLOCK_MONOTONIC, &ts);
			t0 = ts.tv_sec * 1000ull + ts.tv_nsec / 1000000;
		}
		for (i = 0; i < nconns; i++) {
			struct cl *cl = calloc(1, sizeof(*cl));

			cl->id = i;
			taps_initiate(pre, cl);
		}
		taps_loop_run(loop);
		{
			struct timespec ts;

			clock_gettime(CLOCK_MONOTONIC, &ts);
			printf("many ready=%d echoed=%d failed=%d ms=%llu\n", nready, nechoed,
			       nfailed, ts.tv_sec * 1000ull + ts.tv_nsec / 1000000 - t0);
		}
		exit_code = nechoed == nconns && !nfailed ? 0 : 1;
		taps_loop_free(loop);
		return exit_code;
	}
	if (!strcmp(mode, "serve") && argc == 1) {
		struct taps_listener *l;
		struct pollfd pfd[2];

		serve_mode = true;
		taps_preconnection_set_local(pre, NULL, argv[0]);
		l = taps_listen(pre, NULL);
		if (limit)
			taps_listener_set_limit(l, limit);
		taps_loop_process(loop);
		printf("listening port=%d pid=%d\n", taps_listener_port(l), (int)getpid());
		/* embedded: our poll() has the loop's fd and standard input */
		for (;;) {
			pfd[0].fd = taps_loop_fd(loop);
			pfd[0].events = POLLIN;
			pfd[1].fd = STDIN_FILENO;
			pfd[1].events = POLLIN;
			if (poll(pfd, 2, -1) < 0 && errno != EINTR)
				return 1;
			if (pfd[1].revents) {
				char b[64];

				if (read(STDIN_FILENO, b, sizeof(b)) <= 0)
					break;
			}
			taps_loop_process(loop);
		}
		taps_loop_free(loop);
		return 0;
	}
	usage();
	return 2;
}
