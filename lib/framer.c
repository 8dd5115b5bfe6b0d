// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libtaps: message framers (RFC 9622 section 9.1.2), their stacks
 * (9.1.2.1), messages delivered in parts of at most max_len (9.3.2), and
 * two built-in framers, length-prefix (Documentation/framing.md) and line
 * (HTTP/1.1: framer_http.c).
 *
 * A framer's receive buffer holds buf[off..off+len); framers parse it in
 * place and deliver pointers into it.  The rest of a message delivered in
 * parts stays in it (hold_off) until its last part is out.  Only
 * taps__framer_space() moves or reallocates it, between recvs.
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

static bool holding_in_buf(const struct taps_framer *f)
{
	return f->holding && !f->hold_side;
}

void taps_framer_advance(struct taps_framer *f, size_t n)
{
	if (n > f->len)
		n = f->len;
	/* (nothing moves here: a connection's recv may be writing after the
	 * buffered bytes; taps__framer_space() moves them, between recvs) */
	f->off += n;
	f->len -= n;
}

struct taps_framer *taps__framer_top(struct taps_framer *f)
{
	while (f->above)
		f = f->above;
	return f;
}

static struct taps_framer *framer_bottom(struct taps_framer *f)
{
	while (f->below)
		f = f->below;
	return f;
}

bool taps_framer_wants_message(const struct taps_framer *f)
{
	const struct taps_framer *top = f;

	if (f->failed)
		return false;
	while (top->above)
		top = top->above;
	/* the top one delivers a message's rest before the next message */
	if (f == top && f->holding)
		return false;
	return top->wants ? top->wants(top->sink.user) : true;
}

static void deliver_top(struct taps_framer *f, const uint8_t *msg, size_t len)
{
	struct taps_message_context mc = {
		.end_of_message = true, .framer = f->ops, .framer_meta = f->meta,
	};
	size_t max = f->max_part ? f->max_part(f->sink.user) : 0;

	if (!f->deliver_part) {
		if (f->sink.deliver)
			f->sink.deliver(f->sink.user, msg, len);
		return;
	}
	if (!max || len <= max) {
		f->deliver_part(f->sink.user, msg, len, &mc, true);
		return;
	}
	/* RFC 9622 section 9.3.2: parts of at most max, the rest held */
	if (msg >= f->buf + f->off && msg + len <= f->buf + f->off + f->len) {
		f->hold_off = msg + max - f->buf;
	} else {
		/* (a framer that delivers from its own memory: one copy) */
		f->hold_side = malloc(len - max);
		if (!f->hold_side) {
			taps_framer_fail(f, ENOMEM, "no memory for the rest of a message");
			return;
		}
		memcpy(f->hold_side, msg + max, len - max);
		f->hold_off = 0;
	}
	f->hold_len = len - max;
	f->hold_meta = f->meta;
	f->holding = true;
	mc.end_of_message = false;
	f->deliver_part(f->sink.user, msg, max, &mc, false);
}

/* The held rest of a message, a part per pending Receive. */
static void deliver_held(struct taps_framer *f)
{
	struct taps_message_context mc = { .framer = f->ops };
	uint8_t *side, *p;
	size_t max, n;

	while (f->holding && !f->failed && (!f->wants || f->wants(f->sink.user))) {
		max = f->max_part ? f->max_part(f->sink.user) : 0;
		n = max && max < f->hold_len ? max : f->hold_len;
		side = f->hold_side;
		p = side ? side + f->hold_off : f->buf + f->hold_off;
		f->hold_off += n;
		f->hold_len -= n;
		mc.end_of_message = !f->hold_len;
		mc.framer_meta = f->hold_meta;
		if (mc.end_of_message) {
			f->holding = false;
			f->hold_side = NULL;
			f->hold_meta = NULL;
		}
		f->deliver_part(f->sink.user, p, n, &mc, false);
		if (mc.end_of_message)
			free(side);
	}
}

static int framer_feed(struct taps_framer *f, const void *data, size_t len);

void taps_framer_deliver(struct taps_framer *f, const void *msg, size_t len)
{
	if (f->failed)
		return;
	if (f->above)
		framer_feed(f->above, msg, len);	/* one copy per framer above */
	else
		deliver_top(f, msg, len);
	f->meta = NULL;
}

#define PASS_IOV_MAX	8

static int lp_send_iov(struct taps_framer *f, const struct iovec *iov, int iovcnt);
static int line_send_iov(struct taps_framer *f, const struct iovec *iov, int iovcnt);

/* The built-in framers send each message with one taps_framer_send();
 * length-prefix and line can frame a message given as iovecs. */
static bool sends_once(const struct taps_framer_ops *ops)
{
	return ops == &taps_framer_length_prefix || ops == &taps_framer_line ||
	       ops == &taps_framer_http;
}

static int (*iov_framer(const struct taps_framer_ops *ops))(struct taps_framer *,
							     const struct iovec *, int)
{
	if (ops == &taps_framer_length_prefix)
		return lp_send_iov;
	if (ops == &taps_framer_line)
		return line_send_iov;
	return NULL;
}

/* f frames one message (msg, or iov when iov_fn): down to the connection */
static int frame_down(struct taps_framer *f, const void *msg, size_t len,
		      int (*iov_fn)(struct taps_framer *, const struct iovec *, int),
		      const struct iovec *iov, int iovcnt)
{
	int err;

	f->out_len = 0;
	f->gathered = false;
	err = iov_fn ? iov_fn(f, iov, iovcnt) : f->ops->new_sent_message(f, msg, len);
	if (!err && f->gathered)
		err = frame_down(f->below, f->out, f->out_len, NULL, NULL, 0);
	return err;
}

int taps_framer_send(struct taps_framer *f, const struct iovec *iov, int iovcnt)
{
	int (*iov_fn)(struct taps_framer *, const struct iovec *, int);
	size_t len = 0;
	uint8_t *b;
	int i;

	if (!f->below) {
		if (!f->sink.send)
			return -ENOTCONN;
		return f->sink.send(f->sink.user, iov, iovcnt);
	}
	/* built-in over built-in: the iovecs go down, nothing copied here */
	iov_fn = iov_framer(f->below->ops);
	if (iov_fn && sends_once(f->ops) && iovcnt < PASS_IOV_MAX && !f->gathered)
		return frame_down(f->below, NULL, 0, iov_fn, iov, iovcnt);
	/* else gathered: everything sent for one message is one message below */
	for (i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	if (f->out_len + len > f->out_cap) {
		size_t cap = (f->out_len + len) * 2;

		b = realloc(f->out, cap);
		if (!b)
			return -ENOMEM;
		f->out = b;
		f->out_cap = cap;
	}
	for (i = 0; i < iovcnt; i++) {
		memcpy(f->out + f->out_len, iov[i].iov_base, iov[i].iov_len);
		f->out_len += iov[i].iov_len;
	}
	f->gathered = true;
	return 0;
}

static void fail_stack(struct taps_framer *f, int code)
{
	struct taps_framer *g;

	for (g = framer_bottom(f); g; g = g->above) {
		g->failed = true;
		g->fail_code = code;
	}
}

int taps_framer_fail(struct taps_framer *f, int code, const char *reason)
{
	if (!f->failed) {
		fail_stack(f, code);
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

int taps__framer_push(struct taps_framer *bottom, const struct taps_framer_ops *ops, void *arg)
{
	struct taps_framer *top = taps__framer_top(bottom), *f;
	int err;

	if (!ops || !ops->handle_received_data || !ops->new_sent_message)
		return -EINVAL;
	f = malloc(sizeof(*f));
	if (!f)
		return -ENOMEM;
	err = taps__framer_init(f, ops, arg, &bottom->sink);
	if (err) {
		free(f);
		return err;
	}
	/* the connection's hooks belong to the top */
	f->wants = top->wants;
	f->max_part = top->max_part;
	f->deliver_part = top->deliver_part;
	top->wants = NULL;
	top->max_part = NULL;
	top->deliver_part = NULL;
	f->below = top;
	top->above = f;
	return 0;
}

int taps__framer_stack_init(struct taps_framer *bottom, const struct taps_framer_stack *st,
			    const struct taps_framer_sink *sink)
{
	int i, err;

	err = taps__framer_init(bottom, st->f[0].ops, st->f[0].arg, sink);
	if (err)
		return err;
	for (i = 1; i < st->n; i++) {
		err = taps__framer_push(bottom, st->f[i].ops, st->f[i].arg);
		if (err) {
			taps__framer_fini(bottom);
			return err;
		}
	}
	return 0;
}

static void framer_fini_one(struct taps_framer *f)
{
	if (f->started && f->ops->stop)
		f->ops->stop(f);
	f->started = false;
	free(f->buf);
	f->buf = NULL;
	free(f->hold_side);
	f->hold_side = NULL;
	free(f->out);
	f->out = NULL;
}

void taps__framer_fini(struct taps_framer *f)
{
	struct taps_framer *up = f->above, *next;

	framer_fini_one(f);
	f->above = NULL;
	for (; up; up = next) {
		next = up->above;
		framer_fini_one(up);
		free(up);
	}
}

uint8_t *taps__framer_space(struct taps_framer *f, size_t n, size_t *avail)
{
	/* the rest of a message delivered in parts moves with the rest */
	size_t from = holding_in_buf(f) && f->hold_off < f->off ? f->hold_off : f->off;

	if (!f->len && !holding_in_buf(f)) {
		f->off = 0;	/* empty: start again at the beginning */
		from = 0;
	}

	if (from && f->cap - f->off - f->len < n) {
		memmove(f->buf, f->buf + from, f->off + f->len - from);
		f->off -= from;
		if (holding_in_buf(f))
			f->hold_off -= from;
	}
	if (f->cap - f->off - f->len < n) {
		size_t cap = f->cap ? f->cap : 4096;
		uint8_t *b;

		while (cap - f->off - f->len < n)
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

/* Bytes for f: what the framer below delivered, or the standalone input. */
static int framer_feed(struct taps_framer *f, const void *data, size_t len)
{
	uint8_t *p;
	size_t avail;

	if (f->failed)
		return -EPROTO;
	p = taps__framer_space(f, len, &avail);
	if (!p)
		return taps_framer_fail(f, ENOMEM, "no memory for received data");
	memcpy(p, data, len);
	taps__framer_commit(f, len);
	return taps__framer_process(f);
}

int taps__framer_pump(struct taps_framer *bottom)
{
	struct taps_framer *top = taps__framer_top(bottom), *f;

	deliver_held(top);
	/* the top first: what it has buffered comes before what arrives */
	for (f = top; f && !f->failed; f = f->below)
		if (f->len && taps_framer_wants_message(top))
			taps__framer_process(f);
	return bottom->failed ? -EPROTO : 0;
}

bool taps__framer_drained(const struct taps_framer *bottom)
{
	const struct taps_framer *f;

	for (f = bottom; f; f = f->above)
		if (f->len || f->holding)
			return false;
	return true;
}

static int framer_eof_one(struct taps_framer *f)
{
	if (f->failed)
		return -EPROTO;
	if (f->ops->handle_eof)
		return f->ops->handle_eof(f);
	if (f->len)
		return taps_framer_fail(f, EPROTO, "the stream ended inside a message");
	return 0;
}

/* The end of the stream, up the stack as each framer empties. */
int taps__framer_eof(struct taps_framer *f)
{
	int err;

	for (; f; f = f->above) {
		err = framer_eof_one(f);
		if (err)
			return err;
		if (f->len || f->holding)
			return 0;	/* the rest later, when Receives come */
	}
	return 0;
}

int taps__framer_output(struct taps_framer *bottom, const void *msg, size_t len)
{
	struct taps_framer *top = taps__framer_top(bottom);

	if (top->failed)
		return -EPROTO;
	return frame_down(top, msg, len, NULL, NULL, 0);
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
	if (!f->failed) {
		if (len)
			framer_feed(f, data, len);
		else
			taps__framer_eof(f);
	}
	return f->failed ? -f->fail_code : 0;
}

int taps_framer_output(struct taps_framer *f, const void *msg, size_t len)
{
	return taps__framer_output(f, msg, len);
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

static int lp_send_iov(struct taps_framer *f, const struct iovec *iov, int iovcnt)
{
	struct limit_state *st = taps_framer_state(f);
	struct iovec v[PASS_IOV_MAX + 1];
	size_t len = 0;
	uint8_t hdr[4];
	int i;

	for (i = 0; i < iovcnt; i++) {
		len += iov[i].iov_len;
		v[i + 1] = iov[i];
	}
	if (len > st->max)
		return -EMSGSIZE;
	hdr[0] = len >> 24;
	hdr[1] = len >> 16;
	hdr[2] = len >> 8;
	hdr[3] = len;
	v[0].iov_base = hdr;
	v[0].iov_len = 4;
	return taps_framer_send(f, v, iovcnt + 1);
}

static int lp_send(struct taps_framer *f, const void *msg, size_t len)
{
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = len };

	return lp_send_iov(f, &iov, 1);
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

static int line_send_iov(struct taps_framer *f, const struct iovec *iov, int iovcnt)
{
	struct limit_state *st = taps_framer_state(f);
	struct iovec v[PASS_IOV_MAX + 1];
	size_t len = 0;
	int i;

	for (i = 0; i < iovcnt; i++) {
		len += iov[i].iov_len;
		if (memchr(iov[i].iov_base, '\n', iov[i].iov_len))
			return -EINVAL;	/* the message would be two */
		v[i] = iov[i];
	}
	if (len > st->max)
		return -EMSGSIZE;
	v[iovcnt].iov_base = "\n";
	v[iovcnt].iov_len = 1;
	return taps_framer_send(f, v, iovcnt + 1);
}

static int line_send(struct taps_framer *f, const void *msg, size_t len)
{
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = len };

	return line_send_iov(f, &iov, 1);
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
