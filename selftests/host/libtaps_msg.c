// SPDX-License-Identifier: GPL-2.0
/*
 * libtaps' message properties and connection groups on the build host, no
 * module: connections adopted over a socketpair.  Validation of every
 * message property, refusal of what a stream cannot honour, msgPriority
 * ordering of the send queue, msgLifetime expiry on the loop's timers,
 * final (the peer sees the end), group bookkeeping and entanglement.
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "internal.h"

static struct st {
	int in_call, violations;
	int sent, expired, send_errors, closed, conn_errors;
	uintptr_t sent_ctx[32], expired_ctx[8];
} st;

#define CALL(x) do { st.in_call++; x; st.in_call--; } while (0)

static void ev(void)
{
	if (st.in_call)
		st.violations++;
}

static void on_sent(struct taps_connection *c, void *ctx, void *user)
{
	(void)c, (void)user;
	ev();
	if (st.sent < 32)
		st.sent_ctx[st.sent] = (uintptr_t)ctx;
	st.sent++;
}

static void on_expired(struct taps_connection *c, void *ctx, void *user)
{
	(void)c, (void)user;
	ev();
	if (st.expired < 8)
		st.expired_ctx[st.expired] = (uintptr_t)ctx;
	st.expired++;
}

static void on_send_error(struct taps_connection *c, void *ctx, const struct taps_error *e,
			  void *user)
{
	(void)c, (void)ctx, (void)e, (void)user;
	ev();
	st.send_errors++;
}

static void on_closed(struct taps_connection *c, void *user)
{
	(void)c, (void)user;
	ev();
	st.closed++;
}

static void on_conn_error(struct taps_connection *c, const struct taps_error *e, void *user)
{
	(void)c, (void)e, (void)user;
	ev();
	st.conn_errors++;
}

static const struct taps_callbacks cbs = {
	.sent = on_sent, .send_error = on_send_error, .closed = on_closed,
	.connection_error = on_conn_error,
};

static const struct taps_callbacks_ext ext = {
	.size = sizeof(ext), .expired = on_expired,
};

static struct taps_connection *adopt(struct taps_loop *loop, const struct taps_framer_ops *fr,
				     int *peer)
{
	struct taps_preconnection *pre = taps_preconnection_new(loop);
	struct taps_connection *c;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return NULL;
	taps_preconnection_set_callbacks(pre, &cbs);
	taps_preconnection_set_callbacks_ext(pre, &ext);
	if (fr)
		taps_preconnection_add_framer(pre, fr, NULL);
	c = taps__conn_adopt(pre, sv[0], NULL);
	taps_preconnection_free(pre);
	*peer = sv[1];
	return c;
}

/* Read what the peer has now (non-blocking) into buf at *got. */
static void drain(int fd, char *buf, size_t cap, size_t *got)
{
	ssize_t n;

	while (*got < cap && (n = recv(fd, buf + *got, cap - *got, MSG_DONTWAIT)) > 0)
		*got += n;
}

TEST(props_validation)
{
	struct taps_msg_props *mp = taps_msg_props_new();
	int64_t v;

	ASSERT_NE(NULL, mp);
	EXPECT_STREQ("msgLifetime", taps_msg_property_name(TAPS_MSG_PROP_LIFETIME));
	EXPECT_STREQ("noSegmentation", taps_msg_property_name(TAPS_MSG_PROP_NO_SEGMENTATION));
	EXPECT_EQ(NULL, taps_msg_property_name(TAPS_MSG_PROP_COUNT));
	/* defaults, reported as not set */
	EXPECT_EQ(-ENODATA, taps_msg_props_get(mp, TAPS_MSG_PROP_PRIORITY, &v));
	EXPECT_EQ(100, v);
	EXPECT_EQ(-ENODATA, taps_msg_props_get(mp, TAPS_MSG_PROP_ORDERED, &v));
	EXPECT_EQ(1, v);
	EXPECT_EQ(-ENODATA, taps_msg_props_get(mp, TAPS_MSG_PROP_CHECKSUM_LEN, &v));
	EXPECT_EQ(-1, v);
	EXPECT_EQ(-ENODATA, taps_msg_props_get(mp, TAPS_MSG_PROP_LIFETIME, &v));
	EXPECT_EQ(0, v);
	/* ranges */
	EXPECT_EQ(-EINVAL, taps_msg_props_set(mp, TAPS_MSG_PROP_PRIORITY, -1));
	EXPECT_EQ(-EINVAL, taps_msg_props_set(mp, TAPS_MSG_PROP_LIFETIME, -5));
	EXPECT_EQ(-EINVAL, taps_msg_props_set(mp, TAPS_MSG_PROP_FINAL, 2));
	EXPECT_EQ(-EINVAL, taps_msg_props_set(mp, TAPS_MSG_PROP_CHECKSUM_LEN, -2));
	EXPECT_EQ(-EINVAL, taps_msg_props_set(mp, TAPS_MSG_PROP_CAPACITY_PROFILE, 6));
	EXPECT_EQ(-ENOENT, taps_msg_props_set(mp, TAPS_MSG_PROP_COUNT, 0));
	EXPECT_EQ(-ENOENT, taps_msg_props_set(mp, -1, 0));
	EXPECT_EQ(-EINVAL, taps_msg_props_set(NULL, TAPS_MSG_PROP_FINAL, 1));
	EXPECT_EQ(0, taps_msg_props_set(mp, TAPS_MSG_PROP_PRIORITY, 7));
	EXPECT_EQ(0, taps_msg_props_get(mp, TAPS_MSG_PROP_PRIORITY, &v));
	EXPECT_EQ(7, v);
	taps_msg_props_free(mp);
}

/* what a stream cannot do is refused, at once, with EOPNOTSUPP */
TEST(refused_on_a_stream)
{
	static const struct { enum taps_msg_property p; int64_t v; int want; } cases[] = {
		{ TAPS_MSG_PROP_ORDERED, 0, -EOPNOTSUPP },
		{ TAPS_MSG_PROP_RELIABLE, 0, -EOPNOTSUPP },
		{ TAPS_MSG_PROP_NO_SEGMENTATION, 1, -EOPNOTSUPP },
		{ TAPS_MSG_PROP_CAPACITY_PROFILE, 2, -EOPNOTSUPP },
		{ TAPS_MSG_PROP_ORDERED, 1, 0 },
		{ TAPS_MSG_PROP_RELIABLE, 1, 0 },
		{ TAPS_MSG_PROP_NO_FRAGMENTATION, 1, 0 },
		{ TAPS_MSG_PROP_CHECKSUM_LEN, 0, 0 },	/* advisory: full coverage */
		{ TAPS_MSG_PROP_SAFELY_REPLAYABLE, 1, 0 },
		{ TAPS_MSG_PROP_CAPACITY_PROFILE, 0, 0 },
	};
	struct taps_loop *loop = taps_loop_new();
	struct taps_preconnection *pre = taps_preconnection_new(loop);
	struct taps_connection *c;
	unsigned int i, ok = 0;
	int peer;

	memset(&st, 0, sizeof(st));
	c = adopt(loop, NULL, &peer);
	ASSERT_NE(NULL, c);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct taps_msg_props *mp = taps_msg_props_new();

		taps_msg_props_set(mp, cases[i].p, cases[i].v);
		CALL(EXPECT_EQ(cases[i].want, taps_send_message(c, "x", 1, NULL, 0, mp))
		     TH_LOG("%s = %lld", taps_msg_property_name(cases[i].p),
			    (long long)cases[i].v));
		ok += !cases[i].want;
		/* InitiateWithSend refuses the same, before anything starts */
		if (cases[i].want) {
			errno = 0;
			EXPECT_EQ(NULL, taps_initiate_with_send(pre, "x", 1, NULL, mp, NULL));
			EXPECT_EQ(EOPNOTSUPP, errno);
		}
		taps_msg_props_free(mp);
	}
	ASSERT_EQ(0, taps_loop_process(loop) < 0);
	while (st.sent < (int)ok && taps_loop_process(loop) >= 0)
		usleep(1000);
	EXPECT_EQ(ok, st.sent);		/* only what was accepted */
	EXPECT_EQ(0, st.send_errors);
	EXPECT_EQ(0, st.violations);
	taps_preconnection_free(pre);
	close(peer);
	taps_loop_free(loop);
}

/* a large send fills the socket; what is queued behind it goes out by
 * msgPriority (lower first), equal priorities in order; framed or not */
static void priority_order(struct __test_metadata *_metadata, const struct taps_framer_ops *fr)
{
	static const int prio[] = { 100, 5, 50, 5, 100, 0 };
	static const char want[] = "FBDCAE";
	struct taps_loop *loop = taps_loop_new();
	struct taps_msg_props *mp = taps_msg_props_new();
	static char big[1 << 20], buf[(1 << 20) + 256];
	struct taps_connection *c;
	size_t got = 0, i, j;
	int peer;

	memset(&st, 0, sizeof(st));
	memset(big, 'x', sizeof(big));
	c = adopt(loop, fr, &peer);
	ASSERT_NE(NULL, c);
	CALL(ASSERT_EQ(0, taps_send(c, big, sizeof(big), (void *)99, 0)));
	taps_loop_process(loop);	/* the big one is in the kernel's hands now */
	usleep(20000);
	taps_loop_process(loop);
	for (i = 0; i < 6; i++) {
		char m = 'A' + i;

		taps_msg_props_set(mp, TAPS_MSG_PROP_PRIORITY, prio[i]);
		CALL(ASSERT_EQ(0, taps_send_message(c, &m, 1, (void *)(uintptr_t)m, 0, mp)));
	}
	for (i = 0; i < 5000 && st.sent < 7; i++) {
		drain(peer, buf, sizeof(buf), &got);
		taps_loop_process(loop);
		usleep(200);
	}
	drain(peer, buf, sizeof(buf), &got);
	ASSERT_EQ(7, st.sent);
	EXPECT_EQ(99, st.sent_ctx[0]);
	for (j = 0; j < 6; j++)
		EXPECT_EQ(want[j], (char)st.sent_ctx[j + 1]);
	/* on the wire: the big one whole, then the six in that order */
	if (!fr) {
		ASSERT_EQ(sizeof(big) + 6, got);
		EXPECT_EQ(0, memcmp(buf + sizeof(big), want, 6)) TH_LOG("%.6s", buf + sizeof(big));
	} else {
		ASSERT_EQ(sizeof(big) + 4 + 6 * 5, got);
		for (j = 0; j < 6; j++)
			EXPECT_EQ(want[j], buf[sizeof(big) + 4 + j * 5 + 4]);
	}
	EXPECT_EQ(0, st.violations);
	taps_msg_props_free(mp);
	close(peer);
	taps_loop_free(loop);
}

TEST(priority_orders_the_queue)
{
	priority_order(_metadata, NULL);
}

TEST(priority_orders_framed_messages)
{
	priority_order(_metadata, &taps_framer_length_prefix);
}

/* a raw message in parts moves whole, its parts together */
TEST(priority_keeps_parts_together)
{
	struct taps_loop *loop = taps_loop_new();
	struct taps_msg_props *mp = taps_msg_props_new();
	static char big[1 << 20], buf[(1 << 20) + 64];
	struct taps_connection *c;
	size_t got = 0;
	int peer, i;

	memset(&st, 0, sizeof(st));
	memset(big, 'x', sizeof(big));
	c = adopt(loop, NULL, &peer);
	CALL(ASSERT_EQ(0, taps_send(c, big, sizeof(big), (void *)1, 0)));
	taps_loop_process(loop);
	usleep(20000);
	taps_loop_process(loop);
	CALL(ASSERT_EQ(0, taps_send(c, "[lo", 3, (void *)2, TAPS_SEND_PARTIAL)));
	CALL(ASSERT_EQ(0, taps_send(c, "w]", 2, (void *)3, 0)));
	taps_msg_props_set(mp, TAPS_MSG_PROP_PRIORITY, 0);
	CALL(ASSERT_EQ(0, taps_send_message(c, "[a", 2, (void *)4, TAPS_SEND_PARTIAL, mp)));
	taps_msg_props_set(mp, TAPS_MSG_PROP_PRIORITY, 500);	/* a later part's: ignored */
	CALL(ASSERT_EQ(0, taps_send_message(c, "b]", 2, (void *)5, 0, mp)));
	for (i = 0; i < 5000 && st.sent < 5; i++) {
		drain(peer, buf, sizeof(buf), &got);
		taps_loop_process(loop);
		usleep(200);
	}
	drain(peer, buf, sizeof(buf), &got);
	ASSERT_EQ(5, st.sent);
	ASSERT_EQ(sizeof(big) + 9, got);
	EXPECT_EQ(0, memcmp(buf + sizeof(big), "[ab][low]", 9)) TH_LOG("%.9s", buf + sizeof(big));
	EXPECT_EQ(4, st.sent_ctx[1]);
	EXPECT_EQ(5, st.sent_ctx[2]);
	EXPECT_EQ(2, st.sent_ctx[3]);
	EXPECT_EQ(0, st.violations);
	taps_msg_props_free(mp);
	close(peer);
	taps_loop_free(loop);
}

/* a message whose lifetime passes while it waits behind a stuck send is
 * not sent: Expired with its context; the others are Sent */
TEST(lifetime_expires_in_the_queue)
{
	struct taps_loop *loop = taps_loop_new();
	struct taps_msg_props *mp = taps_msg_props_new();
	static char big[1 << 20], buf[(1 << 20) + 256];
	struct taps_connection *c;
	size_t got = 0;
	uint64_t t0;
	int peer, i;

	memset(&st, 0, sizeof(st));
	memset(big, 'x', sizeof(big));
	c = adopt(loop, NULL, &peer);
	CALL(ASSERT_EQ(0, taps_send(c, big, sizeof(big), (void *)1, 0)));
	taps_msg_props_set(mp, TAPS_MSG_PROP_LIFETIME, 50);
	CALL(ASSERT_EQ(0, taps_send_message(c, "E", 1, (void *)2, 0, mp)));
	taps_msg_props_set(mp, TAPS_MSG_PROP_LIFETIME, 60000);
	CALL(ASSERT_EQ(0, taps_send_message(c, "L", 1, (void *)3, 0, mp)));
	CALL(ASSERT_EQ(0, taps_send(c, "N", 1, (void *)4, 0)));
	t0 = taps__now_us();
	while (!st.expired && taps__now_us() - t0 < 5000000) {
		taps_loop_process(loop);
		usleep(1000);
	}
	EXPECT_EQ(1, st.expired);
	EXPECT_EQ(2, st.expired_ctx[0]);
	EXPECT_GE(taps__now_us() - t0, 40000);
	EXPECT_EQ(0, st.sent);		/* the peer has read nothing yet */
	for (i = 0; i < 5000 && st.sent < 3; i++) {
		drain(peer, buf, sizeof(buf), &got);
		taps_loop_process(loop);
		usleep(200);
	}
	drain(peer, buf, sizeof(buf), &got);
	EXPECT_EQ(3, st.sent);
	EXPECT_EQ(1, st.expired);
	ASSERT_EQ(sizeof(big) + 2, got);
	EXPECT_EQ(0, memcmp(buf + sizeof(big), "LN", 2));
	EXPECT_EQ(0, st.violations);
	taps_msg_props_free(mp);
	close(peer);
	/* a sent message's timer is gone: the loop has nothing left */
	ASSERT_EQ(0, taps_loop_run(loop));
	taps_loop_free(loop);
}

/* final: the last message, then the peer sees the end; nothing after */
TEST(final_ends_the_sending_side)
{
	struct taps_loop *loop = taps_loop_new();
	struct taps_msg_props *mp = taps_msg_props_new();
	struct taps_connection *c;
	char buf[16];
	size_t got = 0;
	int64_t v = 1;
	int peer, i;
	ssize_t n = -1;

	memset(&st, 0, sizeof(st));
	c = adopt(loop, NULL, &peer);
	taps_msg_props_set(mp, TAPS_MSG_PROP_FINAL, 1);
	CALL(ASSERT_EQ(0, taps_send_message(c, "bye", 3, NULL, 0, mp)));
	taps_msg_props_set(mp, TAPS_MSG_PROP_FINAL, 0);
	taps_msg_props_set(mp, TAPS_MSG_PROP_PRIORITY, 0);	/* final stays last */
	EXPECT_EQ(-EPIPE, taps_send_message(c, "late", 4, NULL, 0, mp));
	EXPECT_EQ(-EPIPE, taps_send(c, "late", 4, NULL, 0));
	EXPECT_EQ(0, taps_connection_get(c, TAPS_PROP_CAN_SEND, &v));
	EXPECT_EQ(0, v);
	for (i = 0; i < 2000 && n; i++) {
		taps_loop_process(loop);
		n = recv(peer, buf + got, sizeof(buf) - got, MSG_DONTWAIT);
		if (n > 0)
			got += n;
		usleep(500);
	}
	EXPECT_EQ(0, n);		/* end of stream */
	EXPECT_EQ(3, got);
	EXPECT_EQ(0, memcmp(buf, "bye", 3));
	EXPECT_EQ(1, st.sent);
	EXPECT_EQ(0, taps_connection_get(c, TAPS_PROP_CAN_RECEIVE, &v));
	EXPECT_EQ(1, v);		/* the other direction stays open */
	close(peer);
	CALL(taps_close(c));
	ASSERT_EQ(0, taps_loop_run(loop));
	EXPECT_EQ(1, st.closed);
	EXPECT_EQ(0, st.violations);
	taps_msg_props_free(mp);
	taps_loop_free(loop);
}

TEST(callbacks_ext_size)
{
	struct taps_loop *loop = taps_loop_new();
	struct taps_preconnection *pre = taps_preconnection_new(loop);
	struct taps_callbacks_ext small = { .size = sizeof(size_t) };
	struct taps_callbacks_ext tiny = { .size = 1 };

	EXPECT_EQ(0, taps_preconnection_set_callbacks_ext(pre, &small));
	EXPECT_EQ(0, taps_preconnection_set_callbacks_ext(pre, &ext));
	EXPECT_EQ(-EINVAL, taps_preconnection_set_callbacks_ext(pre, &tiny));
	EXPECT_EQ(-EINVAL, taps_preconnection_set_callbacks_ext(pre, NULL));
	EXPECT_EQ(-EINVAL, taps_preconnection_set_callbacks_ext(NULL, &ext));
	taps_preconnection_free(pre);
	taps_loop_free(loop);
}

/* group bookkeeping: members, entangled properties but connPriority,
 * leaving, CloseGroup reaching every member */
TEST(group_bookkeeping)
{
	struct taps_loop *loop = taps_loop_new();
	struct taps_connection *a, *b, *d, *m[4];
	int64_t v;
	int pa, pb, pd;

	memset(&st, 0, sizeof(st));
	a = adopt(loop, NULL, &pa);
	b = adopt(loop, NULL, &pb);
	d = adopt(loop, NULL, &pd);
	EXPECT_EQ(1, taps_grouped_connections(a, m, 4));
	EXPECT_EQ(a, m[0]);
	ASSERT_EQ(0, taps__group_reserve(a));
	taps__group_join(a, b);
	ASSERT_EQ(0, taps__group_reserve(b));
	taps__group_join(b, d);
	EXPECT_EQ(3, taps_grouped_connections(d, m, 4));
	EXPECT_EQ(3, taps_grouped_connections(d, m, 1));	/* count beyond max */
	EXPECT_EQ(a, m[0]);
	/* entangled: connTimeout set on b is a's and d's too */
	EXPECT_EQ(0, taps_connection_set(b, TAPS_PROP_CONN_TIMEOUT, 1234));
	taps_connection_get(a, TAPS_PROP_CONN_TIMEOUT, &v);
	EXPECT_EQ(1234, v);
	taps_connection_get(d, TAPS_PROP_CONN_TIMEOUT, &v);
	EXPECT_EQ(1234, v);
	/* a bad value changes none */
	EXPECT_EQ(-EINVAL, taps_connection_set(b, TAPS_PROP_CONN_TIMEOUT, -7));
	taps_connection_get(d, TAPS_PROP_CONN_TIMEOUT, &v);
	EXPECT_EQ(1234, v);
	/* connPriority is not entangled */
	EXPECT_EQ(0, taps_connection_set(a, TAPS_PROP_CONN_PRIORITY, 3));
	taps_connection_get(b, TAPS_PROP_CONN_PRIORITY, &v);
	EXPECT_EQ(100, v);
	/* a clone of a connection that has no AF_TAPS peer: ENOTCONN */
	errno = 0;
	EXPECT_EQ(NULL, taps_clone(a, NULL));
	EXPECT_EQ(ENOTCONN, errno);
	/* d aborted: it leaves when freed; CloseGroup closes a and b */
	CALL(taps_abort(d));
	ASSERT_EQ(0, taps_loop_process(loop) < 0);
	usleep(10000);
	taps_loop_process(loop);
	EXPECT_EQ(1, st.conn_errors);
	EXPECT_EQ(2, taps_grouped_connections(a, m, 4));
	CALL(taps_close_group(b));
	EXPECT_EQ(0, st.closed);
	close(pa);		/* the peers' ends: Closed follows */
	close(pb);
	ASSERT_EQ(0, taps_loop_run(loop));
	EXPECT_EQ(2, st.closed);
	EXPECT_EQ(0, st.violations);
	close(pd);
	taps_loop_free(loop);
}

/* connPriority in a group: the lower-priority member's message waits
 * while the higher-priority member has bytes queued, then goes */
TEST(group_conn_priority)
{
	struct taps_loop *loop = taps_loop_new();
	static char big[1 << 20], buf[(1 << 20) + 16];
	struct taps_connection *hi, *lo;
	size_t got = 0, lgot = 0;
	char lbuf[8];
	int ph, pl, i;

	memset(&st, 0, sizeof(st));
	hi = adopt(loop, NULL, &ph);
	lo = adopt(loop, NULL, &pl);
	ASSERT_EQ(0, taps__group_reserve(hi));
	taps__group_join(hi, lo);
	EXPECT_EQ(0, taps_connection_set(hi, TAPS_PROP_CONN_PRIORITY, 1));
	CALL(ASSERT_EQ(0, taps_send(hi, big, sizeof(big), (void *)1, 0)));
	CALL(ASSERT_EQ(0, taps_send(lo, "lo", 2, (void *)2, 0)));
	for (i = 0; i < 100; i++) {	/* hi's peer reads nothing: lo waits */
		taps_loop_process(loop);
		usleep(1000);
	}
	EXPECT_EQ(0, st.sent);
	drain(pl, lbuf, sizeof(lbuf), &lgot);
	EXPECT_EQ(0, lgot);
	for (i = 0; i < 5000 && st.sent < 2; i++) {	/* hi drains: lo goes */
		drain(ph, buf, sizeof(buf), &got);
		taps_loop_process(loop);
		usleep(200);
	}
	EXPECT_EQ(2, st.sent);
	EXPECT_EQ(1, st.sent_ctx[0]);	/* hi first */
	EXPECT_EQ(2, st.sent_ctx[1]);
	drain(pl, lbuf, sizeof(lbuf), &lgot);
	EXPECT_EQ(2, lgot);
	/* the other way round nothing waits: lo's backlog does not hold hi */
	CALL(ASSERT_EQ(0, taps_send(lo, big, sizeof(big), (void *)3, 0)));
	CALL(ASSERT_EQ(0, taps_send(hi, "hi", 2, (void *)4, 0)));
	for (i = 0; i < 2000 && st.sent < 3; i++) {
		taps_loop_process(loop);
		usleep(500);
	}
	EXPECT_EQ(3, st.sent);
	EXPECT_EQ(4, st.sent_ctx[2]);
	EXPECT_EQ(0, st.violations);
	close(ph);
	close(pl);
	taps_loop_free(loop);
}

TEST_HARNESS_MAIN
