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

static struct out {
	uint8_t	wire[1 << 16];
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

/* Frame msgs into o.wire with a framer of ops. */
static size_t frame_all(struct __test_metadata *_metadata, const struct taps_framer_ops *ops,
			uint8_t *wire)
{
	struct taps_framer *f = taps_framer_new(ops, NULL, &sink);
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
	static uint8_t wire[1 << 16];
	size_t len = frame_all(_metadata, ops, wire), k, j;
	char how[64];

	ASSERT_GT(len, 0);
	for (k = 0; k <= len; k++) {
		struct taps_framer *f;

		reset();
		f = taps_framer_new(ops, NULL, &sink);
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
			f = taps_framer_new(ops, NULL, &sink);
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
		f = taps_framer_new(ops, NULL, &sink);
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
	ASSERT_EQ(0, taps_framer_output(f, "abc", 3));
	ASSERT_EQ(0, taps_framer_output(f, "", 0));
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
	ASSERT_EQ(0, taps_framer_output(f, "abc", 3));
	ASSERT_EQ(0, taps_framer_output(f, "", 0));
	ASSERT_EQ(5, o.wire_len);
	EXPECT_EQ(0, memcmp("abc\n\n", o.wire, 5));
	EXPECT_EQ(-EINVAL, taps_framer_output(f, "two\nlines", 9));
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
	EXPECT_EQ(-EMSGSIZE, taps_framer_output(f, "123456789", 9));
	EXPECT_EQ(0, taps_framer_output(f, "12345678", 8));
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

TEST_HARNESS_MAIN
