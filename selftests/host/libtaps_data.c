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
	(void)mc;
	(void)user;
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
	CALL(taps_receive(c, 1, 0));
}

static void on_partial(struct taps_connection *c, const void *d, size_t len,
		       const struct taps_message_context *mc, void *user)
{
	ev();
	(void)d;
	(void)user;
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

TEST_HARNESS_MAIN
