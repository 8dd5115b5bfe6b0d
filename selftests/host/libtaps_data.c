// SPDX-License-Identifier: GPL-2.0
/*
 * libtaps' data path on the build host, no module: connections adopted
 * over a socketpair run send, receive, framers, close and abort through
 * the io_uring loop exactly as over an AF_TAPS socket.  No event may fire
 * inside the call that caused it.
 */
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "internal.h"

static struct st {
	int in_call;		/* > 0 while inside a libtaps call */
	int violations;		/* events fired inside a call */
	int received, partial, sent, send_errors, closed, conn_errors, recv_errors;
	int last_code;
	char last_reason[160];
	size_t bytes, max_chunk, min_chunk;
	bool eom;
	uintptr_t sent_ctx[16];
	char msg[8][64];
	size_t big_len;
	bool echo;
	size_t rmin, rmax;
	/* framed: parts of long messages into acc; HTTP views */
	bool parts, http;
	uint8_t *acc;
	int eoms;
	struct taps_http_message views[8];
} st;

#define CALL(x) do { st.in_call++; x; st.in_call--; } while (0)

static void ev(void)
{
	if (st.in_call)
		st.violations++;
}

static void on_received(struct taps_connection *c, const void *d, size_t len,
			const struct taps_message_context *mc, void *user)
{
	ev();
	(void)user;
	if (st.http && st.received < 8 && taps_http_message(mc))
		st.views[st.received] = *taps_http_message(mc);
	if (st.echo) {
		CALL(taps_send(c, d, len, NULL, 0));
		CALL(taps_receive(c, 1, 0));
		return;
	}
	if (len > 1000)
		st.big_len = len;
	else if (st.received < 8)
		snprintf(st.msg[st.received], 64, "%.*s", (int)len, (const char *)d);
	st.received++;
	CALL(taps_receive(c, 1, st.parts ? st.rmax : 0));
}

static void on_partial(struct taps_connection *c, const void *d, size_t len,
		       const struct taps_message_context *mc, void *user)
{
	ev();
	(void)user;
	if (st.parts) {
		/* a framed message in parts: never more than max_len each */
		st.partial++;
		if (len > st.max_chunk)
			st.max_chunk = len;
		if (len > st.rmax || (!len && !mc->end_of_message))
			st.violations++;
		if (len)
			memcpy(st.acc + st.bytes, d, len);
		st.bytes += len;
		st.eoms += mc->end_of_message;
		CALL(taps_receive(c, 1, st.rmax));
		return;
	}
	(void)d;
	st.partial++;
	st.bytes += len;
	if (len > st.max_chunk)
		st.max_chunk = len;
	if (len && (!st.min_chunk || len < st.min_chunk) && !mc->end_of_message)
		st.min_chunk = len;
	if (mc->end_of_message) {
		st.eom = true;
		CALL(taps_close(c));
	} else {
		CALL(taps_receive(c, st.rmin, st.rmax));
	}
}

static void on_sent(struct taps_connection *c, void *ctx, void *user)
{
	ev();
	(void)c;
	(void)user;
	if (st.sent < 16)
		st.sent_ctx[st.sent] = (uintptr_t)ctx;
	st.sent++;
}

static void on_send_error(struct taps_connection *c, void *ctx, const struct taps_error *e,
			  void *user)
{
	ev();
	(void)c;
	(void)ctx;
	(void)user;
	st.send_errors++;
	st.last_code = e->code;
}

static void on_closed(struct taps_connection *c, void *user)
{
	ev();
	(void)c;
	(void)user;
	st.closed++;
}

static void on_conn_error(struct taps_connection *c, const struct taps_error *e, void *user)
{
	ev();
	(void)c;
	(void)user;
	st.conn_errors++;
	st.last_code = e->code;
	snprintf(st.last_reason, sizeof(st.last_reason), "%s", e->reason);
}

static void on_recv_error(struct taps_connection *c, const struct taps_error *e, void *user)
{
	ev();
	(void)c;
	(void)user;
	st.recv_errors++;
	st.last_code = e->code;
}

static const struct taps_callbacks cbs = {
	.received = on_received, .received_partial = on_partial, .sent = on_sent,
	.send_error = on_send_error, .closed = on_closed, .connection_error = on_conn_error,
	.receive_error = on_recv_error,
};

/* a connection over one end of a socketpair; *peer gets the other end */
static struct taps_connection *adopt(struct taps_loop *loop, const struct taps_framer_ops *fr,
				     int *peer)
{
	struct taps_preconnection *pre = taps_preconnection_new(loop);
	struct taps_connection *c;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return NULL;
	taps_preconnection_set_callbacks(pre, &cbs);
	if (fr)
		taps_preconnection_add_framer(pre, fr, NULL);
	c = taps__conn_adopt(pre, sv[0], NULL);
	taps_preconnection_free(pre);
	*peer = sv[1];
	return c;
}

/* a sends framed messages to a plain peer fd: the bytes are the contract */
TEST(lp_send_wire_and_sent_order)
{
	struct taps_loop *loop = taps_loop_new();
	struct taps_connection *c;
	char buf[64];
	int peer;
	ssize_t n, got = 0;

	memset(&st, 0, sizeof(st));
	c = adopt(loop, &taps_framer_length_prefix, &peer);
	ASSERT_NE(NULL, c);
	CALL(EXPECT_EQ(0, taps_send(c, "ab", 2, (void *)1, 0)));
	CALL(EXPECT_EQ(0, taps_send(c, "c", 1, (void *)2, TAPS_SEND_PARTIAL)));
	CALL(EXPECT_EQ(0, taps_send(c, "de", 2, (void *)3, 0)));
	CALL(EXPECT_EQ(0, taps_send(c, "", 0, (void *)4, 0)));
	EXPECT_EQ(0, st.sent);
	ASSERT_EQ(0, taps_loop_run(loop));
	EXPECT_EQ(4, st.sent);
	EXPECT_EQ(1, st.sent_ctx[0]);
	EXPECT_EQ(2, st.sent_ctx[1]);
	EXPECT_EQ(3, st.sent_ctx[2]);
	EXPECT_EQ(4, st.sent_ctx[3]);
	while (got < 17 && (n = read(peer, buf + got, sizeof(buf) - got)) > 0)
		got += n;
	ASSERT_EQ(17, got);
	EXPECT_EQ(0, memcmp("\0\0\0\2ab\0\0\0\3cde\0\0\0\0", buf, 17));
	EXPECT_EQ(0, st.violations);
	close(peer);
	taps_loop_free(loop);
}

/* framed receive from a plain peer, written in odd pieces, then FIN */
TEST(lp_receive_pieces_then_close)
{
	static const char wire[] = "\0\0\0\5hello\0\0\0\0\0\0\0\3abc";
	struct taps_loop *loop = taps_loop_new();
	struct taps_connection *c;
	int peer;
	char b;

	memset(&st, 0, sizeof(st));
	c = adopt(loop, &taps_framer_length_prefix, &peer);
	CALL(EXPECT_EQ(0, taps_receive(c, 1, 0)));
	ASSERT_EQ(7, write(peer, wire, 7));
	taps_loop_process(loop);
	usleep(10000);
	taps_loop_process(loop);
	EXPECT_EQ(0, st.received);	/* "hel": not a message yet */
	ASSERT_EQ((ssize_t)sizeof(wire) - 1 - 7, write(peer, wire + 7, sizeof(wire) - 1 - 7));
	shutdown(peer, SHUT_WR);
	ASSERT_EQ(0, taps_loop_run(loop));
	EXPECT_EQ(3, st.received);
	EXPECT_STREQ("hello", st.msg[0]);
	EXPECT_STREQ("", st.msg[1]);
	EXPECT_STREQ("abc", st.msg[2]);
	EXPECT_TRUE(st.eom);		/* then the end of the stream */
	EXPECT_EQ(1, st.closed);	/* closed both ways: Closed */
	EXPECT_EQ(0, read(peer, &b, 1));	/* our FIN reached the peer */
	EXPECT_EQ(0, st.violations);
	close(peer);
	taps_loop_free(loop);
}

TEST(raw_min_and_max)
{
	struct taps_loop *loop = taps_loop_new();
	struct taps_connection *c;
	char data[1000];
	int peer;

	memset(&st, 0, sizeof(st));
	memset(data, 'x', sizeof(data));
	st.rmin = 10;
	st.rmax = 30;
	c = adopt(loop, NULL, &peer);
	ASSERT_EQ(1000, write(peer, data, sizeof(data)));
	shutdown(peer, SHUT_WR);
	CALL(EXPECT_EQ(0, taps_receive(c, st.rmin, st.rmax)));
	EXPECT_EQ(0, st.partial);
	ASSERT_EQ(0, taps_loop_run(loop));
	EXPECT_EQ(1000, st.bytes);
	EXPECT_LE(st.max_chunk, 30);
	EXPECT_GE(st.min_chunk, 10);
	EXPECT_TRUE(st.eom);
	EXPECT_EQ(1, st.closed);
	EXPECT_EQ(0, st.violations);
	close(peer);
	taps_loop_free(loop);
}

TEST(oversized_frame_from_peer)
{
	struct taps_loop *loop = taps_loop_new();
	struct taps_connection *c;
	int peer;

	memset(&st, 0, sizeof(st));
	c = adopt(loop, &taps_framer_length_prefix, &peer);
	CALL(EXPECT_EQ(0, taps_receive(c, 1, 0)));
	ASSERT_EQ(14, write(peer, "\0\0\0\2ok\x7f\xff\xff\xffjunk", 14));
	ASSERT_EQ(0, taps_loop_run(loop));
	EXPECT_EQ(1, st.received);	/* "ok", once */
	EXPECT_EQ(1, st.recv_errors);
	EXPECT_EQ(1, st.conn_errors);
	EXPECT_EQ(EMSGSIZE, st.last_code);
	EXPECT_NE(NULL, strstr(st.last_reason, "length-prefix")) TH_LOG("%s", st.last_reason);
	EXPECT_EQ(0, st.closed);
	EXPECT_EQ(0, st.violations);
	close(peer);
	taps_loop_free(loop);
}

TEST(abort_fails_pending_sends)
{
	struct taps_loop *loop = taps_loop_new();
	struct taps_connection *c;
	int peer;

	memset(&st, 0, sizeof(st));
	c = adopt(loop, NULL, &peer);
	CALL(EXPECT_EQ(0, taps_send(c, "x", 1, NULL, 0)));
	CALL(taps_abort(c));
	EXPECT_EQ(0, st.conn_errors);	/* not inside the call */
	ASSERT_EQ(0, taps_loop_run(loop));
	EXPECT_EQ(1, st.send_errors);
	EXPECT_EQ(1, st.conn_errors);
	EXPECT_EQ(ECONNABORTED, st.last_code);
	EXPECT_EQ(0, st.sent);
	EXPECT_EQ(0, st.violations);
	close(peer);
	taps_loop_free(loop);
}

TEST(calls_after_close)
{
	struct taps_loop *loop = taps_loop_new();
	struct taps_connection *c;
	int peer;

	memset(&st, 0, sizeof(st));
	c = adopt(loop, &taps_framer_line, &peer);
	CALL(taps_close(c));
	EXPECT_EQ(-EPIPE, taps_send(c, "x", 1, NULL, 0));
	EXPECT_EQ(-EINVAL, taps_send(NULL, "x", 1, NULL, 0));
	close(peer);	/* the peer's FIN: then Closed */
	ASSERT_EQ(0, taps_loop_run(loop));
	EXPECT_EQ(1, st.closed);
	EXPECT_EQ(0, st.violations);
	taps_loop_free(loop);
}


/* a connection with a stack of framers, ops[0] nearest the transport */
static struct taps_connection *adopt_stack(struct taps_loop *loop,
					   const struct taps_framer_ops **ops, int n, int *peer)
{
	struct taps_preconnection *pre = taps_preconnection_new(loop);
	struct taps_connection *c;
	int sv[2], i;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return NULL;
	taps_preconnection_set_callbacks(pre, &cbs);
	for (i = 0; i < n; i++)
		if (taps_preconnection_add_framer(pre, ops[i], NULL))
			return NULL;
	c = taps__conn_adopt(pre, sv[0], NULL);
	taps_preconnection_free(pre);
	*peer = sv[1];
	return c;
}

/* line added after length-prefix: each line travels in an lp frame */
TEST(stacked_framers_line_in_lp)
{
	static const struct taps_framer_ops *ops[] = { &taps_framer_length_prefix,
						       &taps_framer_line };
	struct taps_loop *loop = taps_loop_new();
	struct taps_preconnection *pre = taps_preconnection_new(loop);
	struct taps_connection *c;
	char buf[64];
	int peer, i;
	ssize_t n, got = 0;

	memset(&st, 0, sizeof(st));
	for (i = 0; i < 4; i++)
		EXPECT_EQ(0, taps_preconnection_add_framer(pre, &taps_framer_line, NULL));
	EXPECT_EQ(-ENOSPC, taps_preconnection_add_framer(pre, &taps_framer_line, NULL));
	taps_preconnection_free(pre);
	c = adopt_stack(loop, ops, 2, &peer);
	ASSERT_NE(NULL, c);
	CALL(EXPECT_EQ(0, taps_send(c, "hello", 5, NULL, 0)));
	CALL(EXPECT_EQ(-EINVAL, taps_send(c, "a\nb", 3, NULL, 0)));	/* two lines */
	CALL(EXPECT_EQ(0, taps_receive(c, 1, 0)));
	CALL(EXPECT_EQ(0, taps_receive(c, 1, 0)));
	ASSERT_EQ(14, write(peer, "\0\0\0\3hi\n\0\0\0\4yo\r", 14));
	taps_loop_process(loop);
	usleep(10000);
	taps_loop_process(loop);
	while (got < 10 && (n = read(peer, buf + got, sizeof(buf) - got)) > 0)
		got += n;
	ASSERT_EQ(10, got);
	EXPECT_EQ(0, memcmp("\0\0\0\6hello\n", buf, 10));
	ASSERT_EQ(1, write(peer, "\n", 1));	/* ends the second lp frame's line */
	shutdown(peer, SHUT_WR);
	for (i = 0; i < 100 && st.received < 2; i++) {
		usleep(1000);
		taps_loop_process(loop);
	}
	EXPECT_EQ(2, st.received);
	EXPECT_STREQ("hi", st.msg[0]);
	EXPECT_STREQ("yo", st.msg[1]);
	EXPECT_EQ(0, st.conn_errors) TH_LOG("%s", st.last_reason);
	EXPECT_EQ(0, st.violations);
	close(peer);
	taps_loop_free(loop);
}

/* max_len on a framed connection: a long message in parts of at most
 * max_len (ReceivedPartial, end_of_message on the last), a short one whole */
TEST(framed_max_len_parts)
{
	struct taps_loop *loop = taps_loop_new();
	struct taps_connection *c;
	static uint8_t wire[4 + 100000 + 4 + 5];
	size_t i;
	int peer;

	memset(&st, 0, sizeof(st));
	st.parts = true;
	st.rmax = 30000;
	st.acc = malloc(200000);
	wire[1] = 100000 >> 16;
	wire[2] = (100000 >> 8) & 0xff;
	wire[3] = 100000 & 0xff;
	for (i = 0; i < 100000; i++)
		wire[4 + i] = i * 7 + 3;
	memcpy(wire + 100004, "\0\0\0\5short", 9);
	c = adopt(loop, &taps_framer_length_prefix, &peer);
	ASSERT_NE(NULL, c);
	CALL(EXPECT_EQ(0, taps_receive(c, 1, st.rmax)));
	ASSERT_EQ(sizeof(wire), write(peer, wire, sizeof(wire)));
	shutdown(peer, SHUT_WR);
	ASSERT_EQ(0, taps_loop_run(loop));
	EXPECT_EQ(5, st.partial);	/* 30000 * 3 + 10000, then the end of stream */
	EXPECT_EQ(30000, st.max_chunk);
	EXPECT_EQ(1, st.received);
	EXPECT_STREQ("short", st.msg[0]);
	ASSERT_EQ(100000, st.bytes);
	EXPECT_EQ(0, memcmp(wire + 4, st.acc, 100000));
	EXPECT_EQ(2, st.eoms);		/* the message's and the stream's */
	EXPECT_EQ(0, st.violations);
	free(st.acc);
	close(peer);
	taps_loop_free(loop);
}

/* parts delivered while a recv is already waiting for the next bytes:
 * those bytes land where the framer expects them */
TEST(framed_parts_then_more)
{
	struct taps_loop *loop = taps_loop_new();
	struct taps_connection *c;
	static uint8_t wire[4 + 50000];
	size_t i;
	int peer, k;

	memset(&st, 0, sizeof(st));
	st.parts = true;
	st.rmax = 10000;
	st.acc = malloc(100000);
	wire[2] = 50000 >> 8;
	wire[3] = 50000 & 0xff;
	for (i = 0; i < 50000; i++)
		wire[4 + i] = i * 11 + 1;
	c = adopt(loop, &taps_framer_length_prefix, &peer);
	ASSERT_NE(NULL, c);
	CALL(EXPECT_EQ(0, taps_receive(c, 1, st.rmax)));
	ASSERT_EQ(sizeof(wire), write(peer, wire, sizeof(wire)));
	for (k = 0; k < 200 && st.partial < 5; k++) {
		usleep(1000);
		taps_loop_process(loop);
	}
	EXPECT_EQ(5, st.partial);
	ASSERT_EQ(9, write(peer, "\0\0\0\5after", 9));
	shutdown(peer, SHUT_WR);
	ASSERT_EQ(0, taps_loop_run(loop));
	EXPECT_EQ(1, st.received);
	EXPECT_STREQ("after", st.msg[0]);
	ASSERT_EQ(50000, st.bytes);
	EXPECT_EQ(0, memcmp(wire + 4, st.acc, 50000));
	EXPECT_EQ(0, st.conn_errors) TH_LOG("%s", st.last_reason);
	EXPECT_EQ(0, st.violations);
	free(st.acc);
	close(peer);
	taps_loop_free(loop);
}

/* HTTP/1.1: pipelined requests out, responses in one write, the view */
TEST(http_pipelined_over_socketpair)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
	static const char head[] = "HEAD / HTTP/1.1\r\nHost: h\r\n\r\n";
	static const char resp[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
				   "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
				   "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n";
	struct taps_loop *loop = taps_loop_new();
	struct taps_connection *c;
	char buf[256];
	ssize_t n, got = 0;
	int peer;

	memset(&st, 0, sizeof(st));
	st.http = true;
	c = adopt(loop, &taps_framer_http, &peer);
	ASSERT_NE(NULL, c);
	CALL(EXPECT_EQ(0, taps_send(c, req, strlen(req), NULL, 0)));
	CALL(EXPECT_EQ(0, taps_send(c, head, strlen(head), NULL, 0)));
	CALL(EXPECT_EQ(-EINVAL, taps_send(c, "GET /\r\n\r\n", 9, NULL, 0)));
	CALL(EXPECT_EQ(0, taps_receive(c, 1, 0)));
	taps_loop_process(loop);
	usleep(10000);
	taps_loop_process(loop);
	while (got < (ssize_t)(strlen(req) + strlen(head)) &&
	       (n = read(peer, buf + got, sizeof(buf) - got)) > 0)
		got += n;
	ASSERT_EQ(strlen(req) + strlen(head), got);
	EXPECT_EQ(0, memcmp(buf, req, strlen(req)));
	ASSERT_EQ(strlen(resp), write(peer, resp, strlen(resp)));
	shutdown(peer, SHUT_WR);
	ASSERT_EQ(0, taps_loop_run(loop));
	ASSERT_EQ(2, st.received);
	EXPECT_EQ(200, st.views[0].status);
	EXPECT_EQ(5, st.views[0].body_len);
	EXPECT_TRUE(st.views[0].chunked);
	EXPECT_STREQ("abcde", st.msg[0] + st.views[0].body_off);
	EXPECT_EQ(0, st.views[1].body_len);	/* the answer to HEAD */
	EXPECT_EQ(5, st.views[1].content_length);
	EXPECT_TRUE(st.eom);
	EXPECT_EQ(0, st.violations);
	close(peer);
	taps_loop_free(loop);
}

TEST_HARNESS_MAIN
