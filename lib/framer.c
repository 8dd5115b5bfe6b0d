// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libtaps: message framers (RFC 9622 section 9.1.2) and the two built-in
 * ones, length-prefix (Documentation/framing.md) and line.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define LP_DEFAULT_MAX		(16u << 20)
#define LINE_DEFAULT_MAX	(64u << 10)

void taps_framer_set_state(struct taps_framer *f, void *state)
{
	f->state = state;
}

void *taps_framer_state(const struct taps_framer *f)
{
	return f->state;
}

size_t taps_framer_parse(struct taps_framer *f, const uint8_t **data)
{
	*data = f->buf + f->off;
	return f->len;
}

void taps_framer_advance(struct taps_framer *f, size_t n)
{
	if (n > f->len)
		n = f->len;
	f->off += n;
	f->len -= n;
	if (!f->len)
		f->off = 0;
}

bool taps_framer_wants_message(const struct taps_framer *f)
{
	if (f->failed)
		return false;
	return f->wants ? f->wants(f->sink.user) : true;
}

void taps_framer_deliver(struct taps_framer *f, const void *msg, size_t len)
{
	if (f->sink.deliver && !f->failed)
		f->sink.deliver(f->sink.user, msg, len);
}

int taps_framer_send(struct taps_framer *f, const struct iovec *iov, int iovcnt)
{
	if (!f->sink.send)
		return -ENOTCONN;
	return f->sink.send(f->sink.user, iov, iovcnt);
}

int taps_framer_fail(struct taps_framer *f, int code, const char *reason)
{
	if (!f->failed) {
		f->failed = true;
		if (f->sink.fail)
			f->sink.fail(f->sink.user, code, reason);
	}
	return -code;
}

int taps__framer_init(struct taps_framer *f, const struct taps_framer_ops *ops, void *arg,
		      const struct taps_framer_sink *sink)
{
	int err = 0;

	memset(f, 0, sizeof(*f));
	f->ops = ops;
	if (sink)
		f->sink = *sink;
	if (ops->start)
		err = ops->start(f, arg);
	f->started = !err;
	return err;
}

void taps__framer_fini(struct taps_framer *f)
{
	if (f->started && f->ops->stop)
		f->ops->stop(f);
	f->started = false;
	free(f->buf);
	f->buf = NULL;
}

uint8_t *taps__framer_space(struct taps_framer *f, size_t n, size_t *avail)
{
	if (f->off && f->cap - f->off - f->len < n) {
		memmove(f->buf, f->buf + f->off, f->len);
		f->off = 0;
	}
	if (f->cap - f->off - f->len < n) {
		size_t cap = f->cap ? f->cap : 4096;
		uint8_t *b;

		while (cap - f->len < n)
			cap *= 2;
		b = realloc(f->buf, cap);
		if (!b)
			return NULL;
		f->buf = b;
		f->cap = cap;
	}
	*avail = f->cap - f->off - f->len;
	return f->buf + f->off + f->len;
}

void taps__framer_commit(struct taps_framer *f, size_t n)
{
	f->len += n;
}

int taps__framer_process(struct taps_framer *f)
{
	if (f->failed)
		return -EPROTO;
	return f->ops->handle_received_data(f);
}

int taps__framer_eof(struct taps_framer *f)
{
	if (f->failed)
		return -EPROTO;
	if (f->ops->handle_eof)
		return f->ops->handle_eof(f);
	if (f->len)
		return taps_framer_fail(f, EPROTO, "the stream ended inside a message");
	return 0;
}

/* ---- standalone framers ---- */

struct taps_framer *taps_framer_new(const struct taps_framer_ops *ops, void *arg,
				    const struct taps_framer_sink *sink)
{
	struct taps_framer *f;
	int err;

	if (!ops || !ops->handle_received_data || !ops->new_sent_message) {
		errno = EINVAL;
		return NULL;
	}
	f = malloc(sizeof(*f));
	if (!f)
		return NULL;
	err = taps__framer_init(f, ops, arg, sink);
	if (err) {
		free(f);
		errno = -err;
		return NULL;
	}
	return f;
}

void taps_framer_free(struct taps_framer *f)
{
	if (!f)
		return;
	taps__framer_fini(f);
	free(f);
}

int taps_framer_input(struct taps_framer *f, const void *data, size_t len)
{
	uint8_t *p;
	size_t avail;

	if (f->failed)
		return -EPROTO;
	if (!len)
		return taps__framer_eof(f);
	p = taps__framer_space(f, len, &avail);
	if (!p)
		return -ENOMEM;
	memcpy(p, data, len);
	taps__framer_commit(f, len);
	return taps__framer_process(f);
}

int taps_framer_output(struct taps_framer *f, const void *msg, size_t len)
{
	if (f->failed)
		return -EPROTO;
	return f->ops->new_sent_message(f, msg, len);
}

/* ---- length-prefix ---- */

struct limit_state {
	size_t	max;
};

static int limit_start(struct taps_framer *f, void *arg, size_t def)
{
	const struct taps_framer_limits *lim = arg;
	struct limit_state *st = malloc(sizeof(*st));

	if (!st)
		return -ENOMEM;
	st->max = lim && lim->max_len ? lim->max_len : def;
	taps_framer_set_state(f, st);
	return 0;
}

static void limit_stop(struct taps_framer *f)
{
	free(taps_framer_state(f));
}

static int lp_start(struct taps_framer *f, void *arg)
{
	const struct taps_framer_limits *lim = arg;

	if (lim && lim->max_len > 0xffffffffu)
		return -EINVAL;
	return limit_start(f, arg, LP_DEFAULT_MAX);
}

static int lp_send(struct taps_framer *f, const void *msg, size_t len)
{
	struct limit_state *st = taps_framer_state(f);
	uint8_t hdr[4];
	struct iovec iov[2] = {
		{ .iov_base = hdr, .iov_len = 4 },
		{ .iov_base = (void *)msg, .iov_len = len },
	};

	if (len > st->max)
		return -EMSGSIZE;
	hdr[0] = len >> 24;
	hdr[1] = len >> 16;
	hdr[2] = len >> 8;
	hdr[3] = len;
	return taps_framer_send(f, iov, 2);
}

static int lp_recv(struct taps_framer *f)
{
	struct limit_state *st = taps_framer_state(f);
	const uint8_t *p;
	size_t n, len;
	char why[96];

	while ((n = taps_framer_parse(f, &p)) >= 4) {
		len = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
		if (len > st->max) {
			snprintf(why, sizeof(why),
				 "length-prefix frame of %zu bytes, more than the %zu allowed",
				 len, st->max);
			return taps_framer_fail(f, EMSGSIZE, why);
		}
		if (n - 4 < len || !taps_framer_wants_message(f))
			break;
		taps_framer_deliver(f, p + 4, len);
		taps_framer_advance(f, 4 + len);
	}
	return 0;
}

static int lp_eof(struct taps_framer *f)
{
	const uint8_t *p;

	if (taps_framer_parse(f, &p))
		return taps_framer_fail(f, EPROTO,
					"the stream ended inside a length-prefix frame");
	return 0;
}

const struct taps_framer_ops taps_framer_length_prefix = {
	.name = "length-prefix",
	.start = lp_start,
	.stop = limit_stop,
	.new_sent_message = lp_send,
	.handle_received_data = lp_recv,
	.handle_eof = lp_eof,
};

/* ---- line ---- */

static int line_start(struct taps_framer *f, void *arg)
{
	return limit_start(f, arg, LINE_DEFAULT_MAX);
}

static int line_send(struct taps_framer *f, const void *msg, size_t len)
{
	struct limit_state *st = taps_framer_state(f);
	struct iovec iov[2] = {
		{ .iov_base = (void *)msg, .iov_len = len },
		{ .iov_base = "\n", .iov_len = 1 },
	};

	if (len > st->max)
		return -EMSGSIZE;
	if (memchr(msg, '\n', len))
		return -EINVAL;	/* the message would be two */
	return taps_framer_send(f, iov, 2);
}

static int line_recv(struct taps_framer *f)
{
	struct limit_state *st = taps_framer_state(f);
	const uint8_t *p, *nl;
	size_t n, len;
	char why[96];

	while ((n = taps_framer_parse(f, &p)) > 0) {
		nl = memchr(p, '\n', n);
		len = nl ? (size_t)(nl - p) : n;
		if (len && p[len - 1] == '\r' && nl)
			len--;
		/* a line of max bytes may still get its CR LF */
		if (nl ? len > st->max : n > st->max + 1) {
			snprintf(why, sizeof(why), "line longer than the %zu bytes allowed",
				 st->max);
			return taps_framer_fail(f, EMSGSIZE, why);
		}
		if (!nl || !taps_framer_wants_message(f))
			break;
		taps_framer_deliver(f, p, len);
		taps_framer_advance(f, nl - p + 1);
	}
	return 0;
}

static int line_eof(struct taps_framer *f)
{
	const uint8_t *p;
	size_t n = taps_framer_parse(f, &p);

	/* A last line without its LF is still a line (as for text files). */
	if (n && taps_framer_wants_message(f)) {
		if (p[n - 1] == '\r')
			n--;
		taps_framer_deliver(f, p, n);
		taps_framer_advance(f, taps_framer_parse(f, &p));
	}
	return 0;
}

const struct taps_framer_ops taps_framer_line = {
	.name = "line",
	.start = line_start,
	.stop = limit_stop,
	.new_sent_message = line_send,
	.handle_received_data = line_recv,
	.handle_eof = line_eof,
};
