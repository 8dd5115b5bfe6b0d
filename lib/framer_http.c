// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libtaps: the HTTP/1.1 framer (RFC 9112), RFC 9622 section 9.1.2's
 * example of a real protocol's framer.  Documentation/framing.md is the
 * contract: what a delivered message holds, the limits, what fails.
 *
 * Receiving parses in the framer's buffer, without copying: the head and a
 * Content-Length body are delivered where they arrived; a chunked body is
 * de-chunked in place (each chunk's data moved down over the chunk
 * framing before it, each byte once), followed by the trailer fields.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include "internal.h"

#define HTTP_HEADER_DEFAULT	(64u << 10)
#define HTTP_BODY_DEFAULT	(16u << 20)
#define CHUNK_LINE_MAX		4096	/* a chunk size line with its extensions */

enum phase { H_IDLE, H_HEAD, H_BODY, H_CHUNK_SIZE, H_CHUNK_DATA, H_CHUNK_END, H_TRAILER,
	     H_UNTIL_CLOSE, H_DONE };

/* what the request a response answers was */
enum { REQ_OTHER = 0, REQ_HEAD, REQ_CONNECT };

struct http_state {
	size_t			max_body;	/* first: conn.c reads the limit here */
	size_t			max_header;
	enum phase		phase;
	size_t			rd;		/* bytes of the message parsed (wire) */
	size_t			wr;		/* bytes of the message as delivered */
	size_t			scan;		/* head: where to look for its end */
	size_t			need;		/* body or chunk bytes to come */
	struct taps_http_message m;		/* being parsed */
	struct taps_http_message out;		/* delivered */
	/* requests sent or received whose final response has not gone by */
	uint8_t			*q;
	size_t			qhead, qn, qcap;
};

struct head_info {
	struct taps_http_message m;
	bool	has_te;		/* a Transfer-Encoding field */
	int	req;		/* REQ_* of a request */
	char	why[120];
};

/* ---- the queue of requests awaiting their response ---- */

static int q_push(struct http_state *st, uint8_t v)
{
	if (st->qn == st->qcap) {
		size_t cap = st->qcap ? st->qcap * 2 : 16, i;
		uint8_t *q = malloc(cap);

		if (!q)
			return -ENOMEM;
		for (i = 0; i < st->qn; i++)
			q[i] = st->q[(st->qhead + i) % st->qcap];
		free(st->q);
		st->q = q;
		st->qcap = cap;
		st->qhead = 0;
	}
	st->q[(st->qhead + st->qn) % st->qcap] = v;
	st->qn++;
	return 0;
}

/* A response with no request recorded answers a GET (a framer used on
 * one direction of a stream only). */
static int q_peek(const struct http_state *st)
{
	return st->qn ? st->q[st->qhead] : REQ_OTHER;
}

static void q_pop(struct http_state *st)
{
	if (!st->qn)
		return;
	st->qhead = (st->qhead + 1) % st->qcap;
	st->qn--;
}

/* ---- parsing a head ---- */

static bool is_tchar(unsigned char c)
{
	return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* The end of the head in p[0..n): the byte after its empty line, or 0.
 * *scan: where the search resumes next time. */
static size_t head_end(const uint8_t *p, size_t n, size_t *scan)
{
	const uint8_t *lf;
	size_t i = *scan;

	while (i < n && (lf = memchr(p + i, '\n', n - i))) {
		i = lf - p + 1;
		if (i < n && p[i] == '\n')
			return i + 1;
		if (i + 1 < n && p[i] == '\r' && p[i + 1] == '\n')
			return i + 2;
		if (i == n || (i == n - 1 && p[i] == '\r')) {
			*scan = i - 1;	/* undecided: look at this LF again */
			return 0;
		}
	}
	*scan = n ? n - 1 : 0;
	return 0;
}

static void trim(const uint8_t **v, size_t *len)
{
	while (*len && ((*v)[0] == ' ' || (*v)[0] == '\t')) {
		(*v)++;
		(*len)--;
	}
	while (*len && ((*v)[*len - 1] == ' ' || (*v)[*len - 1] == '\t'))
		(*len)--;
}

/* "5" or "5, 5": one value, or -1 */
static int64_t parse_content_length(const uint8_t *v, size_t len)
{
	int64_t val = -1, x;
	size_t i = 0;

	while (i < len) {
		x = 0;
		while (i < len && (v[i] == ' ' || v[i] == '\t'))
			i++;
		if (i == len || !isdigit(v[i]))
			return -1;
		while (i < len && isdigit(v[i])) {
			if (x > (INT64_MAX - 9) / 10)
				return -1;
			x = x * 10 + (v[i++] - '0');
		}
		while (i < len && (v[i] == ' ' || v[i] == '\t'))
			i++;
		if (i < len && v[i++] != ',')
			return -1;
		if (val >= 0 && x != val)
			return -1;
		val = x;
	}
	return val;
}

/* is the last transfer coding of the list "chunked" */
static bool last_coding_chunked(const uint8_t *v, size_t len)
{
	const uint8_t *c = memrchr(v, ',', len);

	if (c) {
		len -= c + 1 - v;
		v = c + 1;
	}
	trim(&v, &len);
	return len == 7 && !strncasecmp((const char *)v, "chunked", 7);
}

static bool parse_version(const uint8_t *p, size_t len, int *version)
{
	if (len != 8 || memcmp(p, "HTTP/1.", 7) || (p[7] != '0' && p[7] != '1'))
		return false;
	*version = p[7] == '1' ? 11 : 10;
	return true;
}

static int parse_start_line(const uint8_t *p, size_t len, struct head_info *h)
{
	struct taps_http_message *m = &h->m;
	const uint8_t *sp, *sp2;
	size_t i;

	if (len >= 5 && !memcmp(p, "HTTP/", 5)) {
		/* status-line = HTTP-version SP 3DIGIT SP [ reason-phrase ] */
		m->request = false;
		if (len < 12 || !parse_version(p, 8, &m->version) || p[8] != ' ' ||
		    !isdigit(p[9]) || !isdigit(p[10]) || !isdigit(p[11]) ||
		    (len > 12 && p[12] != ' '))
			goto bad;
		m->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
		if (m->status < 100 || m->status > 599)
			goto bad;
		return 0;
	}
	/* request-line = method SP request-target SP HTTP-version */
	m->request = true;
	sp = memchr(p, ' ', len);
	if (!sp || sp == p)
		goto bad;
	for (i = 0; p + i < sp; i++)
		if (!is_tchar(p[i]))
			goto bad;
	m->method_len = sp - p;
	sp2 = memchr(sp + 1, ' ', len - (sp + 1 - p));
	if (!sp2 || sp2 == sp + 1 || !parse_version(sp2 + 1, len - (sp2 + 1 - p), &m->version))
		goto bad;
	m->target_off = sp + 1 - p;
	m->target_len = sp2 - (sp + 1);
	for (i = 0; i < m->target_len; i++)
		if (sp[1 + i] <= ' ' || sp[1 + i] == 0x7f)
			goto bad;
	h->req = m->method_len == 4 && !memcmp(p, "HEAD", 4) ? REQ_HEAD :
		 m->method_len == 7 && !memcmp(p, "CONNECT", 7) ? REQ_CONNECT : REQ_OTHER;
	return 0;
bad:
	snprintf(h->why, sizeof(h->why), "malformed HTTP %s line",
		 m->request ? "request" : "status");
	return -EPROTO;
}

/* A field line (no line end): name ":" OWS value OWS.  *v: the value. */
static int parse_field(const uint8_t *p, size_t len, const uint8_t **name, size_t *nlen,
		       const uint8_t **v, size_t *vlen, char *why, size_t wlen)
{
	const uint8_t *colon;
	size_t i;

	if (len && (p[0] == ' ' || p[0] == '\t')) {
		snprintf(why, wlen, "HTTP obs-fold (a field line continued on the next) is not accepted");
		return -EPROTO;
	}
	colon = memchr(p, ':', len);
	if (!colon || colon == p)
		goto bad;
	for (i = 0; p + i < colon; i++)
		if (!is_tchar(p[i]))
			goto bad;	/* also whitespace before the colon (RFC 9112 5.1) */
	for (i = colon + 1 - p; i < len; i++)
		if ((p[i] < ' ' && p[i] != '\t') || p[i] == 0x7f)
			goto bad;
	*name = p;
	*nlen = colon - p;
	*v = colon + 1;
	*vlen = len - (colon + 1 - p);
	trim(v, vlen);
	return 0;
bad:
	snprintf(why, wlen, "malformed HTTP field line");
	return -EPROTO;
}

/* The next line of p[*i..end): its bytes without CR LF; -EPROTO on a bare CR. */
static int next_line(const uint8_t *p, size_t end, size_t *i, const uint8_t **line,
		     size_t *len)
{
	const uint8_t *lf = memchr(p + *i, '\n', end - *i), *cr;

	if (!lf)
		return -EPROTO;
	*line = p + *i;
	*len = lf - *line;
	*i = lf - p + 1;
	if (*len && (*line)[*len - 1] == '\r')
		(*len)--;
	cr = memchr(*line, '\r', *len);
	return cr ? -EPROTO : 0;
}

/* The head p[0..end) (ending with its empty line). */
static int parse_head(const uint8_t *p, size_t end, struct head_info *h)
{
	struct taps_http_message *m = &h->m;
	const uint8_t *line, *name, *v;
	size_t i = 0, len, nlen, vlen;
	int64_t cl;
	int err;

	memset(h, 0, sizeof(*h));
	m->content_length = -1;
	if (next_line(p, end, &i, &line, &len))
		goto bare_cr;
	err = parse_start_line(line, len, h);
	if (err)
		return err;
	for (;;) {
		if (next_line(p, end, &i, &line, &len))
			goto bare_cr;
		if (!len)
			break;
		err = parse_field(line, len, &name, &nlen, &v, &vlen, h->why, sizeof(h->why));
		if (err)
			return err;
		if (nlen == 14 && !strncasecmp((const char *)name, "Content-Length", 14)) {
			cl = parse_content_length(v, vlen);
			if (cl < 0 || (m->content_length >= 0 && cl != m->content_length)) {
				snprintf(h->why, sizeof(h->why), "%s HTTP Content-Length",
					 cl < 0 ? "malformed" : "conflicting");
				return -EPROTO;
			}
			m->content_length = cl;
		} else if (nlen == 17 &&
			   !strncasecmp((const char *)name, "Transfer-Encoding", 17)) {
			h->has_te = true;
			m->chunked = last_coding_chunked(v, vlen);
		}
	}
	if (h->has_te && m->content_length >= 0) {
		/* RFC 9112 section 6.3: maybe request smuggling; an error */
		snprintf(h->why, sizeof(h->why),
			 "HTTP message with both Transfer-Encoding and Content-Length");
		return -EPROTO;
	}
	if (h->has_te && !m->chunked && m->request) {
		snprintf(h->why, sizeof(h->why),
			 "HTTP request whose last transfer coding is not chunked");
		return -EPROTO;
	}
	m->head_len = end;
	m->body_off = end;
	return 0;
bare_cr:
	snprintf(h->why, sizeof(h->why), "HTTP head with a bare CR");
	return -EPROTO;
}

/* How a message's body is delimited (RFC 9112 section 6.3). */
static enum phase body_phase(const struct head_info *h, int req)
{
	const struct taps_http_message *m = &h->m;

	if (!m->request && (m->status < 200 || m->status == 204 || m->status == 304 ||
			    req == REQ_HEAD || (req == REQ_CONNECT && m->status < 300)))
		return H_DONE;
	if (m->chunked)
		return H_CHUNK_SIZE;
	if (h->has_te)
		return H_UNTIL_CLOSE;	/* a response only */
	if (m->content_length >= 0)
		return m->content_length ? H_BODY : H_DONE;
	return m->request ? H_DONE : H_UNTIL_CLOSE;
}

/* ---- receiving ---- */

static int fail_fmt(struct taps_framer *f, int code, const char *fmt, size_t n)
{
	char why[128];

	snprintf(why, sizeof(why), fmt, n);
	return taps_framer_fail(f, code, why);
}

static int rx_head(struct taps_framer *f, struct http_state *st, const uint8_t *p, size_t n)
{
	struct head_info h;
	size_t end = head_end(p, n, &st->scan);
	int err;

	if ((!end && n > st->max_header) || end > st->max_header)
		return fail_fmt(f, EMSGSIZE, "HTTP head longer than the %zu bytes allowed",
				st->max_header);
	if (!end)
		return 1;	/* more to come */
	err = parse_head(p, end, &h);
	if (err)
		return taps_framer_fail(f, -err, h.why);
	st->m = h.m;
	if (h.m.request) {
		if (q_push(st, h.req))
			return taps_framer_fail(f, ENOMEM, "no memory");
		st->phase = body_phase(&h, REQ_OTHER);
	} else {
		st->phase = body_phase(&h, q_peek(st));
		if (h.m.status >= 200)
			q_pop(st);
	}
	if (h.m.content_length > (int64_t)st->max_body && st->phase == H_BODY)
		return fail_fmt(f, EMSGSIZE, "HTTP body longer than the %zu bytes allowed",
				st->max_body);
	st->need = st->phase == H_BODY ? (size_t)h.m.content_length : 0;
	st->m.until_close = st->phase == H_UNTIL_CLOSE;
	st->rd = st->wr = end;
	return 0;
}

/* One chunk size line at p[st->rd..n); 1: more to come. */
static int rx_chunk_size(struct taps_framer *f, struct http_state *st, const uint8_t *p,
			 size_t n)
{
	const uint8_t *lf = memchr(p + st->rd, '\n', n - st->rd), *s = p + st->rd;
	size_t size = 0, i = 0, len;

	if (!lf) {
		if (n - st->rd > CHUNK_LINE_MAX)
			return taps_framer_fail(f, EPROTO, "HTTP chunk size line too long");
		return 1;
	}
	len = lf - s;
	if (len && s[len - 1] == '\r')
		len--;
	while (i < len && isxdigit(s[i])) {
		if (size >> 56)
			return taps_framer_fail(f, EPROTO, "bad HTTP chunk size");
		size = size * 16 + (isdigit(s[i]) ? s[i] - '0' : (tolower(s[i]) - 'a' + 10));
		i++;
	}
	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	/* nothing but chunk extensions (";" ...) may follow */
	if (!i || !isxdigit(s[0]) || (i < len && s[i] != ';') || memchr(s, '\r', len))
		return taps_framer_fail(f, EPROTO, "bad HTTP chunk size");
	if (size > st->max_body - st->m.body_len)
		return fail_fmt(f, EMSGSIZE, "HTTP body longer than the %zu bytes allowed",
				st->max_body);
	st->rd = lf + 1 - p;
	st->need = size;
	if (size) {
		st->phase = H_CHUNK_DATA;
	} else {
		st->phase = H_TRAILER;
		st->m.trailer_off = st->wr;
	}
	return 0;
}

/* One trailer line; 1: more to come. */
static int rx_trailer(struct taps_framer *f, struct http_state *st, uint8_t *p, size_t n)
{
	const uint8_t *lf = memchr(p + st->rd, '\n', n - st->rd), *line, *name, *v;
	size_t i = st->rd, len, nlen, vlen, wire;
	char why[120];
	int err;

	if (!lf) {
		if (n - st->rd + st->m.trailer_len > st->max_header)
			goto big;
		return 1;
	}
	if (next_line(p, n, &i, &line, &len))
		return taps_framer_fail(f, EPROTO, "HTTP trailer with a bare CR");
	wire = i - st->rd;
	if (!len) {
		st->rd = i;
		st->phase = H_DONE;
		return 0;
	}
	err = parse_field(line, len, &name, &nlen, &v, &vlen, why, sizeof(why));
	if (err)
		return taps_framer_fail(f, -err, why);
	if (st->m.trailer_len + wire > st->max_header)
		goto big;
	memmove(p + st->wr, p + st->rd, wire);	/* after the body, as received */
	st->wr += wire;
	st->m.trailer_len += wire;
	st->rd = i;
	return 0;
big:
	return fail_fmt(f, EMSGSIZE, "HTTP trailer section longer than the %zu bytes allowed",
			st->max_header);
}

static void rx_deliver(struct taps_framer *f, struct http_state *st, const uint8_t *p)
{
	st->m.body_len = st->wr - st->m.body_off - st->m.trailer_len;
	st->out = st->m;
	st->phase = H_IDLE;
	f->meta = &st->out;
	taps_framer_deliver(f, p, st->wr);
	taps_framer_advance(f, st->rd);
}

static int http_recv(struct taps_framer *f)
{
	struct http_state *st = taps_framer_state(f);
	const uint8_t *p;
	uint8_t *w;
	size_t n, take;
	int err;

	for (;;) {
		n = taps_framer_parse(f, &p);
		w = f->buf + f->off;	/* our own buffer: de-chunked in place */
		switch (st->phase) {
		case H_IDLE:
			/* RFC 9112 section 2.2: empty lines before a message */
			while (n && (p[0] == '\r' || p[0] == '\n')) {
				taps_framer_advance(f, 1);
				n = taps_framer_parse(f, &p);
			}
			if (!n)
				return 0;
			memset(&st->m, 0, sizeof(st->m));
			st->scan = 0;
			st->phase = H_HEAD;
			break;
		case H_HEAD:
			err = rx_head(f, st, p, n);
			if (err)
				return err < 0 ? err : 0;
			break;
		case H_BODY:
			take = n - st->rd < st->need ? n - st->rd : st->need;
			st->rd += take;
			st->wr += take;
			st->need -= take;
			if (st->need)
				return 0;
			st->phase = H_DONE;
			break;
		case H_CHUNK_SIZE:
			err = rx_chunk_size(f, st, p, n);
			if (err)
				return err < 0 ? err : 0;
			break;
		case H_CHUNK_DATA:
			take = n - st->rd < st->need ? n - st->rd : st->need;
			if (st->wr != st->rd)
				memmove(w + st->wr, w + st->rd, take);
			st->rd += take;
			st->wr += take;
			st->need -= take;
			st->m.body_len += take;
			if (st->need)
				return 0;
			st->phase = H_CHUNK_END;
			break;
		case H_CHUNK_END:
			if (n - st->rd >= 1 && p[st->rd] == '\n') {
				st->rd += 1;
			} else if (n - st->rd >= 2 && p[st->rd] == '\r' && p[st->rd + 1] == '\n') {
				st->rd += 2;
			} else if (n - st->rd >= 2 || (n - st->rd == 1 && p[st->rd] != '\r')) {
				return taps_framer_fail(f, EPROTO,
							"HTTP chunk data not followed by CRLF");
			} else {
				return 0;
			}
			st->phase = H_CHUNK_SIZE;
			break;
		case H_TRAILER:
			err = rx_trailer(f, st, w, n);
			if (err)
				return err < 0 ? err : 0;
			break;
		case H_UNTIL_CLOSE:
			take = n - st->rd;
			if (st->wr - st->m.body_off + take > st->max_body)
				return fail_fmt(f, EMSGSIZE,
						"HTTP body longer than the %zu bytes allowed",
						st->max_body);
			st->rd += take;
			st->wr += take;
			return 0;	/* the end of the stream ends it */
		case H_DONE:
			if (!taps_framer_wants_message(f))
				return 0;
			rx_deliver(f, st, p);
			break;
		}
	}
}

static int http_eof(struct taps_framer *f)
{
	struct http_state *st = taps_framer_state(f);
	const uint8_t *p;

	taps_framer_parse(f, &p);
	if (st->phase == H_UNTIL_CLOSE)
		st->phase = H_DONE;
	if (st->phase == H_DONE) {
		if (taps_framer_wants_message(f))
			rx_deliver(f, st, p);
		return 0;
	}
	if (st->phase != H_IDLE || taps_framer_parse(f, &p))
		return taps_framer_fail(f, EPROTO, "the stream ended inside an HTTP message");
	return 0;
}

/* ---- sending ---- */

/* The length of the chunked body b[0..n) (chunks, last chunk, trailers,
 * empty line) and its de-chunked length; -1 if it is not one. */
static ssize_t chunked_len(const uint8_t *b, size_t n, size_t *data)
{
	size_t i = 0, len, size, k;
	const uint8_t *line;

	*data = 0;
	for (;;) {
		if (next_line(b, n, &i, &line, &len) || !len || !isxdigit(line[0]))
			return -1;
		for (size = 0, k = 0; k < len && isxdigit(line[k]); k++) {
			if (size >> 56)
				return -1;
			size = size * 16 + (isdigit(line[k]) ? line[k] - '0' :
					    (tolower(line[k]) - 'a' + 10));
		}
		if (!size)
			break;
		if (n - i < size + 1)
			return -1;
		i += size;
		*data += size;
		if (b[i] == '\r')
			i++;
		if (i >= n || b[i++] != '\n')
			return -1;
	}
	do {	/* trailer fields, then the empty line */
		if (next_line(b, n, &i, &line, &len))
			return -1;
	} while (len);
	return i;
}

static int http_send(struct taps_framer *f, const void *msg, size_t len)
{
	struct http_state *st = taps_framer_state(f);
	const uint8_t *p = msg;
	struct head_info h;
	size_t scan = 0, end = head_end(p, len, &scan), blen, dlen, eol;
	char cl[40];
	struct iovec iov[3];
	enum phase ph;
	int err;

	if (!end)
		return len > st->max_header ? -EMSGSIZE : -EINVAL;
	if (end > st->max_header)
		return -EMSGSIZE;
	if (parse_head(p, end, &h))
		return -EINVAL;
	blen = len - end;
	ph = body_phase(&h, h.m.request ? REQ_OTHER : q_peek(st));
	if (ph == H_CHUNK_SIZE) {
		if (chunked_len(p + end, blen, &dlen) != (ssize_t)blen)
			return -EINVAL;
		if (dlen > st->max_body)
			return -EMSGSIZE;
	} else if (blen > st->max_body) {
		return -EMSGSIZE;
	} else if (!h.m.request && ph == H_DONE) {
		if (blen)
			return -EINVAL;	/* a response without a body (its length as given) */
	} else if (h.m.content_length >= 0 && (size_t)h.m.content_length != blen) {
		return -EINVAL;
	}
	if (h.m.request) {
		if (q_push(st, h.req))
			return -ENOMEM;
	} else if (h.m.status >= 200) {
		q_pop(st);
	}
	iov[0].iov_base = (void *)p;
	iov[0].iov_len = len;
	/* neither length nor chunked, yet a body (or a response that may have
	 * one): Content-Length before the empty line */
	if (!h.has_te && h.m.content_length < 0 && (blen || ph == H_UNTIL_CLOSE)) {
		eol = p[end - 2] == '\r' ? 2 : 1;
		iov[0].iov_len = end - eol;
		iov[1].iov_base = cl;
		iov[1].iov_len = snprintf(cl, sizeof(cl), "Content-Length: %zu\r\n", blen);
		iov[2].iov_base = (void *)(p + end - eol);
		iov[2].iov_len = eol + blen;
		err = taps_framer_send(f, iov, 3);
	} else {
		err = taps_framer_send(f, iov, 1);
	}
	return err;
}

/* ---- the framer ---- */

static int http_start(struct taps_framer *f, void *arg)
{
	const struct taps_http_limits *lim = arg;
	struct http_state *st = calloc(1, sizeof(*st));

	if (!st)
		return -ENOMEM;
	st->max_header = lim && lim->max_header ? lim->max_header : HTTP_HEADER_DEFAULT;
	st->max_body = lim && lim->max_body ? lim->max_body : HTTP_BODY_DEFAULT;
	taps_framer_set_state(f, st);
	return 0;
}

static void http_stop(struct taps_framer *f)
{
	struct http_state *st = taps_framer_state(f);

	free(st->q);
	free(st);
}

const struct taps_framer_ops taps_framer_http = {
	.name = "http/1.1",
	.start = http_start,
	.stop = http_stop,
	.new_sent_message = http_send,
	.handle_received_data = http_recv,
	.handle_eof = http_eof,
};

const struct taps_http_message *taps_http_message(const struct taps_message_context *mc)
{
	return mc && mc->framer == &taps_framer_http ? mc->framer_meta : NULL;
}

const char *taps_http_field(const void *data, const struct taps_http_message *m,
			    const char *name, size_t *len)
{
	const uint8_t *p = data, *line, *fname, *v;
	size_t i = 0, n, nlen, vlen, want = strlen(name);
	char why[8];

	if (!data || !m || !name)
		return NULL;
	if (next_line(p, m->head_len, &i, &line, &n))
		return NULL;
	while (!next_line(p, m->head_len, &i, &line, &n) && n) {
		if (parse_field(line, n, &fname, &nlen, &v, &vlen, why, sizeof(why)))
			return NULL;
		if (nlen == want && !strncasecmp((const char *)fname, name, want)) {
			if (len)
				*len = vlen;
			return (const char *)v;
		}
	}
	return NULL;
}
