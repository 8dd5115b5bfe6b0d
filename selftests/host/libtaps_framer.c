// SPDX-License-Identifier: GPL-2.0
/*
 * libtaps framers on the build host: each built-in framer fed its own
 * output split at every byte offset (and byte by byte) delivers exactly
 * the messages sent, once each, in order; oversized, malformed and
 * truncated input fails once with a clear reason, after delivering every
 * message before it and none after.
 */
#include <string.h>

#include "kselftest_harness.h"
#include "internal.h"

#define MAXMSG	64
#define OUT(f, str)	taps_framer_output(f, str, strlen(str))

static struct out {
	uint8_t	wire[1 << 17];
	size_t	wire_len;
	char	*msg[MAXMSG];
	size_t	len[MAXMSG];
	int	n;
	int	fails, code;
	char	reason[160];
} o;

static void reset(void)
{
	int i;

	for (i = 0; i < o.n; i++)
		free(o.msg[i]);
	memset(&o, 0, sizeof(o));
}

static void deliver(void *user, const void *msg, size_t len)
{
	(void)user;
	if (o.n == MAXMSG)
		return;
	o.msg[o.n] = malloc(len + 1);
	memcpy(o.msg[o.n], msg, len);
	o.msg[o.n][len] = 0;
	o.len[o.n++] = len;
}

static int send_cb(void *user, const struct iovec *iov, int iovcnt)
{
	int i;

	(void)user;
	for (i = 0; i < iovcnt; i++) {
		memcpy(o.wire + o.wire_len, iov[i].iov_base, iov[i].iov_len);
		o.wire_len += iov[i].iov_len;
	}
	return 0;
}

static void fail_cb(void *user, int code, const char *reason)
{
	(void)user;
	o.fails++;
	o.code = code;
	snprintf(o.reason, sizeof(o.reason), "%s", reason);
}

static const struct taps_framer_sink sink = {
	.deliver = deliver, .send = send_cb, .fail = fail_cb,
};

static const char *msgs[] = { "hello", "", "x", "a somewhat longer message, 40 bytes long",
			      "bytes \x01\x02\xff and \r inside", "last" };
#define NMSGS	(int)(sizeof(msgs) / sizeof(msgs[0]))

/* A framer for every_split(): ops alone, or over stack_over */
static const struct taps_framer_ops *stack_over;

static struct taps_framer *mk(const struct taps_framer_ops *ops)
{
	struct taps_framer *f;

	if (!stack_over)
		return taps_framer_new(ops, NULL, &sink);
	f = taps_framer_new(stack_over, NULL, &sink);
	if (f && taps__framer_push(f, ops, NULL)) {
		taps_framer_free(f);
		return NULL;
	}
	return f;
}

/* Frame msgs into o.wire with a framer of ops. */
static size_t frame_all(struct __test_metadata *_metadata, const struct taps_framer_ops *ops,
			uint8_t *wire)
{
	struct taps_framer *f = mk(ops);
	size_t len;
	int i;

	reset();
	for (i = 0; i < NMSGS; i++)
		ASSERT_EQ(0, taps_framer_output(f, msgs[i], strlen(msgs[i])));
	memcpy(wire, o.wire, o.wire_len);
	len = o.wire_len;
	taps_framer_free(f);
	return len;
}

static void check_all(struct __test_metadata *_metadata, const char *how)
{
	int i;

	ASSERT_EQ(NMSGS, o.n) TH_LOG("%s", how);
	for (i = 0; i < NMSGS; i++) {
		EXPECT_EQ(strlen(msgs[i]), o.len[i]) TH_LOG("%s, message %d", how, i);
		EXPECT_EQ(0, memcmp(msgs[i], o.msg[i], o.len[i])) TH_LOG("%s, message %d", how, i);
	}
	EXPECT_EQ(0, o.fails) TH_LOG("%s: %s", how, o.reason);
}

static void every_split(struct __test_metadata *_metadata, const struct taps_framer_ops *ops)
{
	static uint8_t wire[1 << 17];
	size_t len = frame_all(_metadata, ops, wire), k, j;
	char how[64];

	ASSERT_GT(len, 0);
	for (k = 0; k <= len; k++) {
		struct taps_framer *f;

		reset();
		f = mk(ops);
		if (k)
			ASSERT_EQ(0, taps_framer_input(f, wire, k));
		if (len - k)
			ASSERT_EQ(0, taps_framer_input(f, wire + k, len - k));
		ASSERT_EQ(0, taps_framer_input(f, NULL, 0));	/* end of stream */
		snprintf(how, sizeof(how), "split at %zu of %zu", k, len);
		check_all(_metadata, how);
		taps_framer_free(f);
	}
	/* three pieces: every pair of offsets */
	for (k = 1; k < len; k += 3) {
		for (j = k; j < len; j += 5) {
			struct taps_framer *f;

			reset();
			f = mk(ops);
			ASSERT_EQ(0, taps_framer_input(f, wire, k));
			if (j > k)
				ASSERT_EQ(0, taps_framer_input(f, wire + k, j - k));
			ASSERT_EQ(0, taps_framer_input(f, wire + j, len - j));
			taps_framer_input(f, NULL, 0);
			snprintf(how, sizeof(how), "split at %zu and %zu", k, j);
			check_all(_metadata, how);
			taps_framer_free(f);
		}
	}
	/* byte by byte */
	{
		struct taps_framer *f;

		reset();
		f = mk(ops);
		for (k = 0; k < len; k++)
			ASSERT_EQ(0, taps_framer_input(f, wire + k, 1));
		taps_framer_input(f, NULL, 0);
		check_all(_metadata, "byte by byte");
		taps_framer_free(f);
	}
}

TEST(lp_wire_format)
{
	struct taps_framer *f = taps_framer_new(&taps_framer_length_prefix, NULL, &sink);

	reset();
	ASSERT_EQ(0, OUT(f, "abc"));
	ASSERT_EQ(0, OUT(f, ""));
	ASSERT_EQ(11, o.wire_len);
	EXPECT_EQ(0, memcmp("\0\0\0\3abc\0\0\0\0", o.wire, 11));
	taps_framer_free(f);
}

TEST(lp_every_split)
{
	every_split(_metadata, &taps_framer_length_prefix);
}

TEST(line_wire_format)
{
	struct taps_framer *f = taps_framer_new(&taps_framer_line, NULL, &sink);

	reset();
	ASSERT_EQ(0, OUT(f, "abc"));
	ASSERT_EQ(0, OUT(f, ""));
	ASSERT_EQ(5, o.wire_len);
	EXPECT_EQ(0, memcmp("abc\n\n", o.wire, 5));
	EXPECT_EQ(-EINVAL, OUT(f, "two\nlines"));
	taps_framer_free(f);
}

TEST(line_every_split)
{
	/* "\r inside" is not CR LF: kept */
	every_split(_metadata, &taps_framer_line);
}

TEST(line_crlf_and_last_line)
{
	static const char in[] = "one\r\ntwo\n\r\nthree";
	struct taps_framer *f;
	size_t k;

	for (k = 0; k <= sizeof(in) - 1; k++) {
		reset();
		f = taps_framer_new(&taps_framer_line, NULL, &sink);
		if (k)	/* (a zero length is the end of the stream) */
			taps_framer_input(f, in, k);
		if (sizeof(in) - 1 - k)
			taps_framer_input(f, in + k, sizeof(in) - 1 - k);
		ASSERT_EQ(3, o.n) TH_LOG("split at %zu", k);
		taps_framer_input(f, NULL, 0);	/* the last line has no LF */
		ASSERT_EQ(4, o.n);
		EXPECT_STREQ("one", o.msg[0]);
		EXPECT_STREQ("two", o.msg[1]);
		EXPECT_STREQ("", o.msg[2]);
		EXPECT_STREQ("three", o.msg[3]);
		EXPECT_EQ(0, o.fails);
		taps_framer_free(f);
	}
}

TEST(lp_oversized)
{
	struct taps_framer_limits lim = { .max_len = 8 };
	static const uint8_t in[] = "\0\0\0\2ok\0\0\0\x09" "123456789\0\0\0\2no";
	struct taps_framer *f;
	size_t k;

	for (k = 0; k <= sizeof(in) - 1; k++) {
		reset();
		f = taps_framer_new(&taps_framer_length_prefix, &lim, &sink);
		if (k)
			taps_framer_input(f, in, k);
		if (sizeof(in) - 1 - k)
			taps_framer_input(f, in + k, sizeof(in) - 1 - k);
		ASSERT_EQ(1, o.n) TH_LOG("split at %zu", k);	/* "ok" once, nothing after */
		EXPECT_STREQ("ok", o.msg[0]);
		ASSERT_EQ(1, o.fails);
		EXPECT_EQ(EMSGSIZE, o.code);
		EXPECT_NE(NULL, strstr(o.reason, "9 bytes")) TH_LOG("%s", o.reason);
		/* failed for good: more input delivers nothing, fails no more */
		EXPECT_NE(0, taps_framer_input(f, "\0\0\0\1z", 5));
		EXPECT_EQ(1, o.n);
		EXPECT_EQ(1, o.fails);
		taps_framer_free(f);
	}
	f = taps_framer_new(&taps_framer_length_prefix, &lim, &sink);
	EXPECT_EQ(-EMSGSIZE, OUT(f, "123456789"));
	EXPECT_EQ(0, OUT(f, "12345678"));
	taps_framer_free(f);
}

TEST(lp_huge_length_and_truncation)
{
	struct taps_framer *f;

	/* 0xffffffff is more than the default 16 MiB: refused before buffering */
	reset();
	f = taps_framer_new(&taps_framer_length_prefix, NULL, &sink);
	EXPECT_EQ(-EMSGSIZE, taps_framer_input(f, "\xff\xff\xff\xff", 4));
	EXPECT_EQ(0, o.n);
	EXPECT_EQ(1, o.fails);
	taps_framer_free(f);

	/* the stream ends inside a frame: EPROTO, the whole frames kept */
	reset();
	f = taps_framer_new(&taps_framer_length_prefix, NULL, &sink);
	EXPECT_EQ(0, taps_framer_input(f, "\0\0\0\1a\0\0\0\5abc", 12));
	EXPECT_EQ(1, o.n);
	EXPECT_EQ(-EPROTO, taps_framer_input(f, NULL, 0));
	EXPECT_EQ(1, o.fails);
	EXPECT_EQ(EPROTO, o.code);
	EXPECT_NE(NULL, strstr(o.reason, "ended inside")) TH_LOG("%s", o.reason);
	taps_framer_free(f);
}

TEST(line_too_long)
{
	struct taps_framer_limits lim = { .max_len = 4 };
	struct taps_framer *f;

	/* 4 bytes and CR LF fit; 5 do not, with or without the LF yet */
	reset();
	f = taps_framer_new(&taps_framer_line, &lim, &sink);
	EXPECT_EQ(0, taps_framer_input(f, "abcd\r", 5));
	EXPECT_EQ(0, taps_framer_input(f, "\nabcd\n", 6));
	EXPECT_EQ(2, o.n);
	EXPECT_EQ(-EMSGSIZE, taps_framer_input(f, "abcdef", 6));
	EXPECT_EQ(2, o.n);
	EXPECT_EQ(1, o.fails);
	EXPECT_NE(NULL, strstr(o.reason, "4 bytes")) TH_LOG("%s", o.reason);
	taps_framer_free(f);

	reset();
	f = taps_framer_new(&taps_framer_line, &lim, &sink);
	EXPECT_EQ(-EMSGSIZE, taps_framer_input(f, "abcde\n", 6));
	EXPECT_EQ(0, o.n);
	taps_framer_free(f);
}

/* A framer written against the public helpers: 1-byte length. */
static int tiny_send(struct taps_framer *f, const void *msg, size_t len)
{
	uint8_t h = len;
	struct iovec iov[2] = { { &h, 1 }, { (void *)msg, len } };

	if (len > 255)
		return -EMSGSIZE;
	return taps_framer_send(f, iov, 2);
}

static int tiny_recv(struct taps_framer *f)
{
	const uint8_t *p;
	size_t n;

	while ((n = taps_framer_parse(f, &p)) >= 1 && n - 1 >= p[0] &&
	       taps_framer_wants_message(f)) {
		taps_framer_deliver(f, p + 1, p[0]);
		taps_framer_advance(f, 1 + p[0]);
	}
	return 0;
}

static const struct taps_framer_ops tiny = {
	.name = "tiny", .new_sent_message = tiny_send, .handle_received_data = tiny_recv,
};

TEST(custom_framer)
{
	every_split(_metadata, &tiny);
}

/* stacks with a custom framer: its output gathered into one message */
TEST(stack_custom_over_lp)
{
	stack_over = &taps_framer_length_prefix;
	every_split(_metadata, &tiny);
	stack_over = NULL;
}

TEST(stack_lp_over_custom)
{
	stack_over = &tiny;
	every_split(_metadata, &taps_framer_length_prefix);
	stack_over = NULL;
}

/* ---- stacks (RFC 9622 section 9.1.2.1) ---- */

/* line added last: nearest the application; each line is one lp frame */
TEST(stack_line_in_lp_wire_format)
{
	struct taps_framer *f = taps_framer_new(&taps_framer_length_prefix, NULL, &sink);

	reset();
	ASSERT_EQ(0, taps__framer_push(f, &taps_framer_line, NULL));
	ASSERT_EQ(0, OUT(f, "abc"));
	ASSERT_EQ(0, OUT(f, ""));
	ASSERT_EQ(13, o.wire_len);
	EXPECT_EQ(0, memcmp("\0\0\0\4abc\n\0\0\0\1\n", o.wire, 13));
	/* the line framer's refusal comes back through the stack */
	EXPECT_EQ(-EINVAL, OUT(f, "a\nb"));
	EXPECT_EQ(13, o.wire_len);
	taps_framer_free(f);
}

TEST(stack_line_in_lp_every_split)
{
	stack_over = &taps_framer_length_prefix;
	every_split(_metadata, &taps_framer_line);
	stack_over = NULL;
}

TEST(stack_lp_in_line_every_split)
{
	/* lp frames inside lines: only messages without LF in their frames */
	static const char *m[] = { "ab", "cd" };
	struct taps_framer *f = taps_framer_new(&taps_framer_line, NULL, &sink);
	size_t k;

	reset();
	ASSERT_EQ(0, taps__framer_push(f, &taps_framer_length_prefix, NULL));
	ASSERT_EQ(0, taps_framer_output(f, m[0], 2));
	ASSERT_EQ(0, taps_framer_output(f, m[1], 2));
	ASSERT_EQ(14, o.wire_len);
	EXPECT_EQ(0, memcmp("\0\0\0\2ab\n\0\0\0\2cd\n", o.wire, 14));
	taps_framer_free(f);
	for (k = 1; k < 14; k++) {
		uint8_t w[14];

		memcpy(w, o.wire, 14);
		reset();
		f = taps_framer_new(&taps_framer_line, NULL, &sink);
		ASSERT_EQ(0, taps__framer_push(f, &taps_framer_length_prefix, NULL));
		ASSERT_EQ(0, taps_framer_input(f, w, k));
		ASSERT_EQ(0, taps_framer_input(f, w + k, 14 - k));
		ASSERT_EQ(0, taps_framer_input(f, NULL, 0));
		ASSERT_EQ(2, o.n) TH_LOG("split at %zu", k);
		EXPECT_STREQ("ab", o.msg[0]);
		EXPECT_STREQ("cd", o.msg[1]);
		memcpy(o.wire, w, 14);
		o.wire_len = 14;
		taps_framer_free(f);
	}
}

/* a failure in the framer above: one failure, nothing after */
TEST(stack_upper_fails_once)
{
	struct taps_framer_limits lim = { .max_len = 4 };
	static const char in[] = "\0\0\0\3ok\n\0\0\0\x09" "abcdefgh\n\0\0\0\3no\n";
	struct taps_framer *f;
	size_t k;

	for (k = 1; k < sizeof(in) - 1; k++) {
		reset();
		f = taps_framer_new(&taps_framer_length_prefix, NULL, &sink);
		ASSERT_EQ(0, taps__framer_push(f, &taps_framer_line, &lim));
		taps_framer_input(f, in, k);
		taps_framer_input(f, in + k, sizeof(in) - 1 - k);
		EXPECT_EQ(-EMSGSIZE, taps_framer_input(f, "\0\0\0\2x\n", 6));
		ASSERT_EQ(1, o.n) TH_LOG("split at %zu", k);
		EXPECT_STREQ("ok", o.msg[0]);
		EXPECT_EQ(1, o.fails);
		EXPECT_EQ(EMSGSIZE, o.code);
		taps_framer_free(f);
	}
}

/* the stream ends: the framer below empties first, then the one above
 * gets its end (a last line without LF is still a line) */
TEST(stack_eof_goes_up)
{
	struct taps_framer *f = taps_framer_new(&taps_framer_length_prefix, NULL, &sink);

	reset();
	ASSERT_EQ(0, taps__framer_push(f, &taps_framer_line, NULL));
	EXPECT_EQ(0, taps_framer_input(f, "\0\0\0\5a\nbcd", 9));
	EXPECT_EQ(1, o.n);
	EXPECT_EQ(0, taps_framer_input(f, NULL, 0));
	ASSERT_EQ(2, o.n);
	EXPECT_STREQ("bcd", o.msg[1]);
	taps_framer_free(f);

	reset();
	f = taps_framer_new(&taps_framer_length_prefix, NULL, &sink);
	ASSERT_EQ(0, taps__framer_push(f, &taps_framer_line, NULL));
	EXPECT_EQ(0, taps_framer_input(f, "\0\0\0\5a\nb", 7));
	EXPECT_EQ(-EPROTO, taps_framer_input(f, NULL, 0));	/* inside an lp frame */
	EXPECT_EQ(0, o.n);
	EXPECT_EQ(1, o.fails);
	taps_framer_free(f);
}

/* ---- max_len: a message in parts (RFC 9622 section 9.3.2) ---- */

static struct parts {
	size_t	max;
	int	receives;		/* Receives pending */
	uint8_t	msg[MAXMSG][8192];
	size_t	len[MAXMSG];
	int	n, nparts, whole, bad;
	bool	in_msg;
} pt;

static bool pt_wants(void *user)
{
	(void)user;
	return pt.receives > 0;
}

static size_t pt_max(void *user)
{
	(void)user;
	return pt.max;
}

static void pt_deliver(void *user, const void *msg, size_t len,
		       const struct taps_message_context *mc, bool whole)
{
	(void)user;
	if (pt.receives-- <= 0 || len > pt.max || pt.n == MAXMSG ||
	    (whole && (pt.in_msg || !mc->end_of_message)))
		pt.bad++;
	if (pt.n == MAXMSG)
		return;
	pt.nparts++;
	pt.whole += whole;
	memcpy(pt.msg[pt.n] + pt.len[pt.n], msg, len);
	pt.len[pt.n] += len;
	pt.in_msg = !mc->end_of_message;
	if (mc->end_of_message)
		pt.n++;
}

static struct taps_framer *pt_framer(const struct taps_framer_ops *ops, void *arg)
{
	struct taps_framer *f = taps_framer_new(ops, arg, &sink);

	f->wants = pt_wants;
	f->max_part = pt_max;
	f->deliver_part = pt_deliver;
	return f;
}

TEST(max_len_parts_every_split)
{
	static uint8_t wire[1 << 16];
	static char big[3][5000];
	struct taps_framer *f;
	size_t len, k, sizes[3] = { 4999, 7, 3001 };
	int i, j;

	/* three messages, framed by lp: 4999, 7 and 3001 bytes */
	reset();
	f = taps_framer_new(&taps_framer_length_prefix, NULL, &sink);
	for (i = 0; i < 3; i++) {
		for (j = 0; j < (int)sizes[i]; j++)
			big[i][j] = 'a' + (i * 7 + j) % 26;
		ASSERT_EQ(0, taps_framer_output(f, big[i], sizes[i]));
	}
	taps_framer_free(f);
	len = o.wire_len;
	memcpy(wire, o.wire, len);
	for (k = 0; k <= len; k += 97) {
		memset(&pt, 0, sizeof(pt));
		pt.max = 1000;
		f = pt_framer(&taps_framer_length_prefix, NULL);
		/* one Receive now and then while the bytes come in two pieces */
		pt.receives = 1;
		if (k)
			ASSERT_EQ(0, taps_framer_input(f, wire, k));
		pt.receives++;
		taps__framer_pump(f);
		if (len - k)
			ASSERT_EQ(0, taps_framer_input(f, wire + k, len - k));
		for (i = 0; i < 40 && !taps__framer_drained(f); i++) {
			pt.receives++;
			taps__framer_pump(f);
		}
		ASSERT_EQ(3, pt.n) TH_LOG("split at %zu", k);
		for (i = 0; i < 3; i++) {
			EXPECT_EQ(sizes[i], pt.len[i]) TH_LOG("split at %zu, message %d", k, i);
			EXPECT_EQ(0, memcmp(big[i], pt.msg[i], sizes[i]));
		}
		EXPECT_EQ(0, pt.bad) TH_LOG("split at %zu", k);
		EXPECT_EQ(5 + 1 + 4, pt.nparts);
		EXPECT_EQ(1, pt.whole);		/* the 7 bytes, as a Received */
		taps_framer_free(f);
	}
}

/* ---- HTTP/1.1 ---- */

static struct taps_framer *cur;		/* its meta, read in deliver */
static struct taps_http_message views[MAXMSG];

static void http_deliver(void *user, const void *msg, size_t len)
{
	if (o.n < MAXMSG && cur && cur->meta)
		views[o.n] = *(const struct taps_http_message *)cur->meta;
	deliver(user, msg, len);
}

static const struct taps_framer_sink http_sink = {
	.deliver = http_deliver, .send = send_cb, .fail = fail_cb,
};

#define RESP_CHUNKED_BODY "hello" "abcdefghijklmnopqrstuvwxyz"
static const char requests_out[] =
	"GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
	"HEAD /a HTTP/1.1\r\nHost: x\r\n\r\n"
	"GET /c HTTP/1.1\r\nHost: x\r\n\r\n"
	"GET /d HTTP/1.1\r\nHost: x\r\n\r\n"
	"GET /e HTTP/1.1\r\nHost: x\r\n\r\n"
	"GET /f HTTP/1.1\r\nHost: x\r\n\r\n";
static const char *resp_wire[] = {
	"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
	"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n",		/* HEAD */
	"HTTP/1.1 100 Continue\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	"5;name=value\r\nhello\r\n1a ; a=\"b\"\r\nabcdefghijklmnopqrstuvwxyz\r\n"
	"0\r\nX-Trailer: yes\r\nY:z\r\n\r\n",
	"\r\nHTTP/1.1 204 No Content\r\n\r\n",
	"HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\n",
	"HTTP/1.0 200 OK\r\nServer: t\r\n\r\nuntil the end",
};
#define NRESP	7

static struct taps_framer *http_client(const struct taps_http_limits *lim)
{
	struct taps_framer *f = taps_framer_new(&taps_framer_http, (void *)lim, &http_sink);
	const char *p = requests_out, *e;

	/* the requests go out first: the framer remembers the HEAD */
	while ((e = strstr(p, "\r\n\r\n"))) {
		if (taps_framer_output(f, p, e + 4 - p))
			return NULL;
		p = e + 4;
	}
	cur = f;
	return f;
}

static void check_responses(struct __test_metadata *_metadata, const char *how)
{
	static const char *chunked_head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
	size_t hl = strlen(chunked_head);

	ASSERT_EQ(NRESP, o.n) TH_LOG("%s: %s", how, o.reason);
	EXPECT_EQ(0, o.fails) TH_LOG("%s: %s", how, o.reason);
	EXPECT_STREQ(resp_wire[0], o.msg[0]);
	EXPECT_EQ(5, views[0].body_len);
	EXPECT_EQ(200, views[0].status);
	EXPECT_EQ(5, views[0].content_length);
	EXPECT_STREQ(resp_wire[1], o.msg[1]);		/* no body after HEAD */
	EXPECT_EQ(0, views[1].body_len);
	EXPECT_EQ(1000, views[1].content_length);
	EXPECT_EQ(100, views[2].status);
	/* chunked: the head, the body de-chunked, the trailer fields */
	EXPECT_EQ(0, memcmp(chunked_head, o.msg[3], hl)) TH_LOG("%s", how);
	EXPECT_EQ(hl, views[3].head_len);
	EXPECT_EQ(hl, views[3].body_off);
	EXPECT_EQ(31, views[3].body_len);
	EXPECT_TRUE(views[3].chunked);
	EXPECT_EQ(0, memcmp(RESP_CHUNKED_BODY, o.msg[3] + hl, 31));
	EXPECT_EQ(hl + 31, views[3].trailer_off);
	EXPECT_EQ(strlen("X-Trailer: yes\r\nY:z\r\n"), views[3].trailer_len);
	EXPECT_STREQ("X-Trailer: yes\r\nY:z\r\n", o.msg[3] + hl + 31);
	EXPECT_EQ(hl + 31 + views[3].trailer_len, o.len[3]);
	EXPECT_STREQ(resp_wire[4] + 2, o.msg[4]);	/* the empty line before: skipped */
	EXPECT_EQ(204, views[4].status);
	EXPECT_STREQ(resp_wire[5], o.msg[5]);
	EXPECT_EQ(0, views[5].body_len);
	EXPECT_STREQ(resp_wire[6], o.msg[6]);
	EXPECT_TRUE(views[6].until_close);
	EXPECT_EQ(10, views[6].version);
	EXPECT_EQ(13, views[6].body_len);
}

TEST(http_responses_every_split)
{
	static uint8_t wire[4096];
	struct taps_framer *f;
	size_t len = 0, k, j;
	int i;

	for (i = 0; i < NRESP; i++) {
		memcpy(wire + len, resp_wire[i], strlen(resp_wire[i]));
		len += strlen(resp_wire[i]);
	}
	for (k = 0; k <= len; k++) {
		reset();
		f = http_client(NULL);
		ASSERT_NE(NULL, f);
		if (k)
			ASSERT_EQ(0, taps_framer_input(f, wire, k));
		if (len - k)
			ASSERT_EQ(0, taps_framer_input(f, wire + k, len - k));
		EXPECT_EQ(NRESP - 1, o.n);	/* the last one ends with the stream */
		ASSERT_EQ(0, taps_framer_input(f, NULL, 0));
		check_responses(_metadata, "two pieces");
		taps_framer_free(f);
	}
	for (k = 1; k < len; k += 7) {
		for (j = k; j < len; j += 11) {
			reset();
			f = http_client(NULL);
			taps_framer_input(f, wire, k);
			if (j > k)
				taps_framer_input(f, wire + k, j - k);
			taps_framer_input(f, wire + j, len - j);
			taps_framer_input(f, NULL, 0);
			check_responses(_metadata, "three pieces");
			taps_framer_free(f);
		}
	}
	reset();
	f = http_client(NULL);
	for (k = 0; k < len; k++)
		ASSERT_EQ(0, taps_framer_input(f, wire + k, 1));
	taps_framer_input(f, NULL, 0);
	check_responses(_metadata, "byte by byte");
	taps_framer_free(f);
}

static const char *req_wire[] = {
	"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
	"\r\nPOST /p?q=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc",
	"PUT /q HTTP/1.1\nTransfer-Encoding: gzip, chunked\n\n3\nxyz\n0\n\n",
	"HEAD /h HTTP/1.1\r\nHost: a\r\n\r\n",
};

TEST(http_requests_and_responses_sent)
{
	struct taps_framer *f;
	char in[512], *w;
	size_t len = 0, k;
	int i;

	for (i = 0; i < 4; i++) {
		memcpy(in + len, req_wire[i], strlen(req_wire[i]));
		len += strlen(req_wire[i]);
	}
	for (k = 0; k <= len; k++) {
		reset();
		f = taps_framer_new(&taps_framer_http, NULL, &http_sink);
		cur = f;
		if (k)
			taps_framer_input(f, in, k);
		taps_framer_input(f, in + k, len - k);
		ASSERT_EQ(4, o.n) TH_LOG("split at %zu: %s", k, o.reason);
		EXPECT_EQ(0, o.fails);
		EXPECT_STREQ(req_wire[0], o.msg[0]);
		EXPECT_TRUE(views[0].request);
		EXPECT_EQ(3, views[0].method_len);
		EXPECT_EQ(4, views[1].method_len);
		EXPECT_EQ(0, memcmp("/p?q=1", o.msg[1] + views[1].target_off, 6));
		EXPECT_EQ(6, views[1].target_len);
		EXPECT_EQ(3, views[1].body_len);
		EXPECT_STREQ("abc", o.msg[1] + views[1].body_off);
		EXPECT_EQ(3, views[2].body_len);
		EXPECT_EQ(0, memcmp("xyz", o.msg[2] + views[2].body_off, 3));
		EXPECT_EQ(0, views[3].body_len);
		if (k < len)
			taps_framer_free(f);
	}
	/* the server's responses: Content-Length added where needed */
	reset();
	ASSERT_EQ(0, OUT(f, "HTTP/1.1 200 OK\r\nX: y\r\n\r\nbody"));
	ASSERT_EQ(0, OUT(f, "HTTP/1.1 201 Created\r\n\r\n"));
	ASSERT_EQ(0, OUT(f, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
				       "2;x=y\r\nok\r\n0\r\nT: 1\r\n\r\n"));
	/* to the HEAD: no body, its Content-Length as given */
	EXPECT_EQ(-EINVAL, OUT(f, "HTTP/1.1 200 OK\r\n\r\nbody"));
	ASSERT_EQ(0, OUT(f, "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n"));
	o.wire[o.wire_len] = 0;
	w = (char *)o.wire;
	EXPECT_STREQ("HTTP/1.1 200 OK\r\nX: y\r\nContent-Length: 4\r\n\r\nbody"
		     "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"
		     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;x=y\r\nok\r\n0\r\nT: 1\r\n\r\n"
		     "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", w);
	taps_framer_free(f);
}

TEST(http_send_refusals)
{
	struct taps_http_limits lim = { .max_header = 64, .max_body = 8 };
	struct taps_framer *f = taps_framer_new(&taps_framer_http, &lim, &http_sink);

	reset();
	EXPECT_EQ(-EINVAL, OUT(f, "GET / HTTP/1.1\r\n"));	/* no end */
	EXPECT_EQ(-EINVAL, OUT(f, "GET / HTTP/2\r\n\r\n"));
	EXPECT_EQ(-EINVAL, OUT(f, "POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nab"));
	EXPECT_EQ(-EINVAL, OUT(f, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
					     "2\r\nab\r\n"));	/* no last chunk */
	EXPECT_EQ(-EMSGSIZE, OUT(f, "POST / HTTP/1.1\r\n\r\n123456789"));
	EXPECT_EQ(-EMSGSIZE, OUT(f, "GET / HTTP/1.1\r\nX: 01234567890123456789012345678901234567890123456789\r\n\r\n"));
	EXPECT_EQ(0, o.wire_len);
	ASSERT_EQ(0, OUT(f, "POST / HTTP/1.1\r\n\r\n12345678"));
	o.wire[o.wire_len] = 0;
	EXPECT_STREQ("POST / HTTP/1.1\r\nContent-Length: 8\r\n\r\n12345678", (char *)o.wire);
	taps_framer_free(f);
}

/* malformed and oversized input: the message before it once, then one
 * failure with a clear reason, nothing after, whatever the split */
static const struct bad {
	const char	*in;
	int		code;
	const char	*why;
} bads[] = {
	{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", EPROTO, "chunk size" },
	{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", EPROTO, "chunk size" },
	{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX", EPROTO, "CRLF" },
	{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n",
	  EPROTO, "chunk size" },
	{ "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", EPROTO,
	  "conflicting" },
	{ "HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\nhello!", EPROTO, "Content-Length" },
	{ "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", EPROTO, "Content-Length" },
	{ "HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n", EPROTO, "obs-fold" },
	{ "HTTP/1.1 200 OK\r\nX : a\r\n\r\n", EPROTO, "field line" },
	{ "HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n", EPROTO, "bare CR" },
	{ "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
	  EPROTO, "both" },
	{ "HTTP/2 200 OK\r\n\r\n", EPROTO, "status line" },
	{ "HTTP/1.1 200 OK\r\nX-Long: 0123456789012345678901234567890123456789"
	  "012345678901234567890123456789012345678901234567890123456789\r\n\r\n",
	  EMSGSIZE, "100 bytes" },
	{ "HTTP/1.1 200 OK\r\nX-Long: 0123456789012345678901234567890123456789"
	  "012345678901234567890123456789012345678901234567890123456789",
	  EMSGSIZE, "100 bytes" },
	{ "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n", EMSGSIZE, "10 bytes" },
	{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n123456\r\n5\r\n",
	  EMSGSIZE, "10 bytes" },
	{ "HTTP/1.1 200 OK\r\n\r\n12345678901", EMSGSIZE, "10 bytes" },
	{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT: 01234567890123456789"
	  "01234567890123456789012345678901234567890123456789"
	  "01234567890123456789012345678901234567890123456789\r\n\r\n", EMSGSIZE, "trailer" },
	{ "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab", EPROTO, "ended inside" },
	{ "HTTP/1.1 200", EPROTO, "ended inside" },
};

TEST(http_malformed_and_oversized)
{
	struct taps_http_limits lim = { .max_header = 100, .max_body = 10 };
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
	char in[512];
	size_t i, k, len;
	struct taps_framer *f;

	for (i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		len = snprintf(in, sizeof(in), "%s%s", ok, bads[i].in);
		for (k = 1; k <= len; k++) {
			reset();
			f = taps_framer_new(&taps_framer_http, &lim, &http_sink);
			cur = f;
			taps_framer_input(f, in, k);
			if (len - k)
				taps_framer_input(f, in + k, len - k);
			/* more, then the end: nothing delivered, no second failure
			 * (the truncated ones: the end at once) */
			if (!strstr(bads[i].why, "ended"))
				taps_framer_input(f, ok, sizeof(ok) - 1);
			EXPECT_EQ(-bads[i].code, taps_framer_input(f, NULL, 0))
				TH_LOG("case %zu split %zu: %s", i, k, o.reason);
			ASSERT_EQ(1, o.n) TH_LOG("case %zu split %zu", i, k);
			EXPECT_STREQ(ok, o.msg[0]);
			ASSERT_EQ(1, o.fails) TH_LOG("case %zu split %zu", i, k);
			EXPECT_EQ(bads[i].code, o.code) TH_LOG("case %zu split %zu: %s", i, k,
								o.reason);
			EXPECT_NE(NULL, strstr(o.reason, bads[i].why))
				TH_LOG("case %zu split %zu: '%s'", i, k, o.reason);
			taps_framer_free(f);
		}
	}
}

/* a field by name, and the view's type check */
TEST(http_field_and_view)
{
	static const char m[] = "HTTP/1.1 200 OK\r\nContent-Type:  text/plain \r\nX: 1\r\n\r\n";
	struct taps_http_message v = { .head_len = sizeof(m) - 1 };
	struct taps_message_context mc = { .framer = &taps_framer_line, .framer_meta = &v };
	const char *p;
	size_t len = 0;

	p = taps_http_field(m, &v, "content-type", &len);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(10, len);
	EXPECT_EQ(0, memcmp("text/plain", p, 10));
	EXPECT_EQ(NULL, taps_http_field(m, &v, "Content", &len));
	EXPECT_EQ(NULL, taps_http_message(&mc));
	mc.framer = &taps_framer_http;
	EXPECT_EQ(&v, taps_http_message(&mc));
}

TEST_HARNESS_MAIN
