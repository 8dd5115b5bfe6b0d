// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libtaps: connections and listeners over AF_TAPS sockets.
 *
 * A connection resolves its names (resolve.c), gives every address to the
 * kernel in one connect() of a non-blocking AF_TAPS socket, and waits
 * for the race with a poll SQE (the kernel signals the end of a race with
 * POLLOUT, then TAPS_INFO says how it ended).  Data moves with send and
 * recv SQEs, at most one of each in flight per connection, so bytes stay
 * in order; received bytes go through the framer, if any, and are handed
 * to the application without another copy.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/sendfile.h>

#include "internal.h"

#define RECV_CHUNK	(64u << 10)
#define SEND_IOV	16	/* queued buffers gathered into one sendmsg */

enum cstate { C_RESOLVING, C_CONNECTING, C_HANDSHAKE, C_READY, C_CLOSING, C_CLOSED };

enum defer_kind { D_NONE, D_ESTAB_ERROR, D_ABORTED, D_CLOSED, D_CONNECT };

struct taps_connection {
	struct taps_connection	*next, *prev;
	struct taps_loop	*loop;
	struct taps_listener	*listener;
	struct taps_callbacks	cbs;
	struct taps_callbacks_ext ext;
	void			*user;
	int			fd;
	enum cstate		state;
	struct taps_props	props;
	char			ifname[16];
	bool			has_local;
	struct taps_addr	local;
	in_port_t		local_port;
	struct taps_remote	remote[TAPS_MAX_ENDPOINTS];
	int			nremote;
	struct taps_resolution	*res;
	bool			res_done, in_initiate;
	struct taps_addr	*addrs;		/* resolved, for D_CONNECT */
	int			naddrs;

	struct taps_framer_stack	framers;
	struct taps_framer	in;		/* ops NULL: no framer, raw bytes */
	size_t			rmsgmax;	/* framed: max_len of taps_receive() */

	struct taps_op		op_poll, op_recv, op_send, op_shut, op_defer, op_pump;
	bool			poll_armed, recv_armed, send_armed, shut_armed, defer_armed;
	bool			pump_armed, again;
	int			inflight;

	unsigned int		want;		/* Receives pending */
	size_t			rmin, rmax;
	bool			eof, eof_told;

	struct sendbuf		*sq, *sq_tail;
	struct iovec		siov[SEND_IOV];	/* the sendmsg in flight */
	struct msghdr		smsg;
	uint8_t			*pbuf;		/* a framed message sent in parts */
	size_t			plen, pcap;
	void			**pctx;
	int			npctx;
	void			**cur_ctx;	/* ctxs for what the framer sends now */
	int			ncur;
	bool			cur_used;

	bool			close_req, shut_done, dead;

	/* message properties (msgprops.c), InitiateWithSend, groups (group.c) */
	struct taps_msg_props	cur_mp;		/* of the message being queued */
	uint64_t		cur_msg;	/* its number */
	bool			in_msg;		/* a raw message sent in parts */
	bool			final_req;	/* a final message is queued */
	struct sendbuf		*first_msg;	/* InitiateWithSend's, until Ready */
	struct taps_msg_props	first_mp;
	struct taps_group	*group;
	bool			accepted;
	bool			held;		/* a member of higher connPriority goes first */
	int			busy;
	enum defer_kind		defer;
	int			defer_err;
	char			reason[256];
	uint64_t		t_start, t_ready;

	/* TLS (tls.c): the handshake polls with op_poll; records in
	 * userspace poll with op_recv / op_send (recv_poll, send_poll) */
	struct taps_tls_config	*tls_cfg;
	struct taps_tls		*tls;
	bool			recv_poll, send_poll;
};

struct taps_listener {
	struct taps_listener	*next, *prev;
	struct taps_loop	*loop;
	struct taps_callbacks	cbs;
	struct taps_callbacks_ext ext;
	void			*user;
	int			fd;
	int			port;
	struct taps_props	props;
	struct taps_framer_stack	framers;
	struct taps_tls_config	*tls_cfg;
	struct taps_op		op_accept, op_defer;
	bool			accept_armed, defer_armed;
	int			inflight;
	unsigned int		limit, active;
	bool			stopping, stopped, failed;
	int			err;
	char			reason[200];
};

#define container_of(p, type, member) ((type *)((char *)(p) - offsetof(type, member)))

static void conn_pump(struct taps_connection *c);
static int conn_queue_msg(struct taps_connection *c, const void *data, size_t len, void *ctx,
			  unsigned int flags, const struct taps_msg_props *mp);
static void listener_arm(struct taps_listener *l);
static void listener_maybe_free(struct taps_listener *l);

/* ---- helpers ---- */

static struct io_uring_sqe *conn_sqe(struct taps_connection *c, struct taps_op *op, bool *armed)
{
	struct io_uring_sqe *sqe = taps__sqe(c->loop);

	io_uring_sqe_set_data(sqe, op);
	*armed = true;
	c->inflight++;
	c->loop->inflight++;
	return sqe;
}

static void conn_defer(struct taps_connection *c, enum defer_kind kind, int err,
		       const char *reason)
{
	struct io_uring_sqe *sqe;

	c->defer = kind;
	c->defer_err = err;
	snprintf(c->reason, sizeof(c->reason), "%s", reason ? reason : "");
	if (c->defer_armed)
		return;
	sqe = conn_sqe(c, &c->op_defer, &c->defer_armed);
	io_uring_prep_nop(sqe);
	taps__kick(c->loop);
}

static void conn_unlink(struct taps_connection *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else if (c->loop->conns == c)
		c->loop->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->next = c->prev = NULL;
}

static void conn_destroy(struct taps_connection *c)
{
	struct sendbuf *s;

	conn_unlink(c);
	if (c->fd >= 0)
		close(c->fd);
	while ((s = c->sq)) {
		c->sq = s->next;
		taps__sendbuf_free(s);
	}
	if (c->first_msg)
		taps__sendbuf_free(c->first_msg);
	taps__group_leave(c);
	taps__tls_free(c->tls);
	taps__tls_config_put(c->tls_cfg);
	free(c->pbuf);
	free(c->pctx);
	free(c->cur_ctx);
	free(c->addrs);
	if (c->in.ops)
		taps__framer_fini(&c->in);
	else
		free(c->in.buf);
	if (c->listener) {
		struct taps_listener *l = c->listener;

		l->active--;
		listener_arm(l);
		taps__kick(l->loop);
		listener_maybe_free(l);
	}
	free(c);
}

/* After an application call: pump now if inside a callback of c (the
 * pump that called it loops), else from the loop, never inside the call. */
static void conn_schedule(struct taps_connection *c)
{
	struct io_uring_sqe *sqe;

	if (c->busy) {
		c->again = true;
		return;
	}
	if (c->pump_armed || c->dead)
		return;
	sqe = conn_sqe(c, &c->op_pump, &c->pump_armed);
	io_uring_prep_nop(sqe);
	taps__kick(c->loop);
}

static void conn_maybe_free(struct taps_connection *c)
{
	if (c->dead && !c->inflight && !c->busy)
		conn_destroy(c);
}

/* Stop everything: cancel what is in flight, close the socket. */
static void conn_teardown(struct taps_connection *c, bool reset)
{
	struct taps_op *ops[] = { &c->op_poll, &c->op_recv, &c->op_send, &c->op_shut };
	bool armed[] = { c->poll_armed, c->recv_armed, c->send_armed, c->shut_armed };
	unsigned int i;

	if (c->res) {
		taps__resolve_cancel(c->res);
		c->res = NULL;
	}
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		if (armed[i]) {
			struct io_uring_sqe *sqe = taps__sqe(c->loop);

			io_uring_prep_cancel(sqe, ops[i], 0);
			io_uring_sqe_set_data(sqe, &c->loop->ignore_op);
		}
	}
	if (c->fd >= 0) {
		if (reset) {
			struct linger lg = { .l_onoff = 1, .l_linger = 0 };

			setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		}
		close(c->fd);
		c->fd = -1;
	}
	c->state = C_CLOSED;
	taps__kick(c->loop);
}

static void fail_sends(struct taps_connection *c, int err, const char *reason)
{
	struct taps_error e = { .code = err, .reason = reason };
	struct sendbuf *s;
	int i;

	while ((s = c->sq)) {
		c->sq = s->next;
		for (i = 0; i < s->nctx; i++)
			if (c->cbs.send_error)
				c->cbs.send_error(c, s->ctx[i], &e, c->user);
		taps__sendbuf_free(s);
	}
	c->sq_tail = NULL;
}

/* The connection broke (or the application aborted it): one ConnectionError. */
static void conn_error(struct taps_connection *c, int err, const char *reason, bool reset)
{
	struct taps_error e = { .code = err, .reason = reason };

	if (c->dead)
		return;
	conn_teardown(c, reset);
	fail_sends(c, err, reason);
	c->dead = true;
	if (c->cbs.connection_error)
		c->cbs.connection_error(c, &e, c->user);
}

static void conn_closed(struct taps_connection *c)
{
	if (c->dead)
		return;
	conn_teardown(c, false);
	c->dead = true;
	if (c->cbs.closed)
		c->cbs.closed(c, c->user);
}

static void estab_error(struct taps_connection *c, int err, const char *reason)
{
	struct taps_error e = { .code = err, .reason = reason };

	if (c->dead)
		return;
	conn_teardown(c, false);
	c->dead = true;
	if (c->group) {
		/* a clone that failed: it leaves the group (RFC 9622 section 7.4) */
		taps__group_leave(c);
		if (c->ext.clone_error)
			c->ext.clone_error(c, &e, c->user);
	}
	if (c->cbs.establishment_error)
		c->cbs.establishment_error(c, &e, c->user);
}

static void addr_str(const void *ss, char *buf, size_t len)
{
	const struct sockaddr_in6 *sin6 = ss;
	const struct sockaddr_in *sin = ss;
	char a[INET6_ADDRSTRLEN];

	if (sin->sin_family == AF_INET)
		snprintf(buf, len, "%s:%u", inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a)),
			 ntohs(sin->sin_port));
	else if (sin->sin_family == AF_INET6)
		snprintf(buf, len, "[%s]:%u",
			 inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a)),
			 ntohs(sin6->sin6_port));
	else
		snprintf(buf, len, "-");
}

/* ---- framer sink of a connection ---- */

/* A message (whole) or a part of one no longer than taps_receive()'s max_len. */
static void sink_deliver_part(void *user, const void *msg, size_t len,
			      const struct taps_message_context *mc, bool whole)
{
	struct taps_connection *c = user;

	if (c->dead || !c->want)
		return;
	c->want--;
	if (whole && c->cbs.received)
		c->cbs.received(c, msg, len, mc, c->user);
	else if (!whole && c->cbs.received_partial)
		c->cbs.received_partial(c, msg, len, mc, c->user);
}

static size_t sink_max_part(void *user)
{
	struct taps_connection *c = user;

	return c->rmsgmax;
}

static int queue_send(struct taps_connection *c, const struct iovec *iov, int iovcnt,
		      void **ctx, int nctx)
{
	struct sendbuf *s;
	size_t len = 0, off = 0;
	int i;

	for (i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	s = malloc(sizeof(*s) + len);
	if (!s)
		return -ENOMEM;
	for (i = 0; i < iovcnt; i++) {
		memcpy(s->data + off, iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	memset(s, 0, sizeof(*s));
	s->len = len;
	s->file_fd = -1;
	s->ctx = ctx;
	s->nctx = nctx;
	s->msg = c->cur_msg;
	s->prio = c->cur_mp.v[TAPS_MSG_PROP_PRIORITY];
	s->conn = c;
	if (c->sq_tail)
		c->sq_tail->next = s;
	else
		c->sq = s;
	c->sq_tail = s;
	return 0;
}

static int sink_send(void *user, const struct iovec *iov, int iovcnt)
{
	struct taps_connection *c = user;
	int err;

	/* The Sent events go with the last piece of the message. */
	err = queue_send(c, iov, iovcnt, NULL, 0);
	if (!err)
		c->cur_used = true;
	return err;
}

static void sink_fail(void *user, int code, const char *reason)
{
	struct taps_connection *c = user;
	struct taps_error e = { .code = code, .reason = reason };

	if (c->want && c->cbs.receive_error) {
		c->want--;
		c->cbs.receive_error(c, &e, c->user);
	}
	conn_error(c, code, reason, true);
}

static bool sink_wants(void *user)
{
	struct taps_connection *c = user;

	return !c->dead && c->want > 0;
}

static int conn_start_framer(struct taps_connection *c)
{
	struct taps_framer_sink sink = { .send = sink_send, .fail = sink_fail, .user = c };
	struct taps_framer *top;
	int err;

	if (!c->framers.n)
		return 0;
	err = taps__framer_stack_init(&c->in, &c->framers, &sink);
	if (err) {
		c->in.ops = NULL;
		return err;
	}
	top = taps__framer_top(&c->in);
	top->wants = sink_wants;
	top->max_part = sink_max_part;
	top->deliver_part = sink_deliver_part;
	return 0;
}

/* ---- the data path ---- */

static void send_failed(struct taps_connection *c, int err)
{
	char buf[300];

	if (c->tls && *taps__tls_reason(c->tls))
		snprintf(buf, sizeof(buf), "%s", taps__tls_reason(c->tls));
	else
		snprintf(buf, sizeof(buf), "sending failed: %s", strerror(err));
	fail_sends(c, err, buf);
	conn_error(c, err, buf, false);
}

/* Sends not done by a send SQE: a file (sendfile), or TLS records built
 * by OpenSSL; a poll SQE on op_send waits for room. */
static void send_sync(struct taps_connection *c, struct sendbuf *s)
{
	struct io_uring_sqe *sqe;
	size_t left = s->len - s->off;
	short ev = POLLOUT;
	ssize_t n;

	if (s->file_fd >= 0) {
		struct taps_sigpipe sp;

		taps__sigpipe_block(&sp);
		n = sendfile(c->fd, s->file_fd, &s->file_off, left > (1u << 20) ? 1u << 20 : left);
		if (n < 0)
			n = -errno;
		else if (!n && left)
			n = -ENODATA;	/* the file is shorter than asked */
		taps__sigpipe_restore(&sp);
	} else {
		n = taps__tls_write(c->tls, s->data + s->off, left, &ev);
	}
	if (n == -EAGAIN || n == -EINTR) {
		sqe = conn_sqe(c, &c->op_send, &c->send_armed);
		io_uring_prep_poll_add(sqe, c->fd, ev);
		c->send_poll = true;
		return;
	}
	if (n < 0) {
		send_failed(c, -n);
		return;
	}
	s->off += n;
	s->done = s->off == s->len;
	c->again = true;
}

static void send_pump(struct taps_connection *c)
{
	struct io_uring_sqe *sqe;
	struct sendbuf *s;
	int i, n = 0;

	while ((s = c->sq) && s->done && !c->send_armed) {
		c->sq = s->next;
		if (!c->sq)
			c->sq_tail = NULL;
		for (i = 0; i < s->nctx && !c->dead; i++)
			if (c->cbs.sent)
				c->cbs.sent(c, s->ctx[i], c->user);
		taps__sendbuf_free(s);
	}
	if (c->dead || c->send_armed || c->fd < 0)
		return;
	if ((s = c->sq)) {
		if (!s->off && c->group && taps__group_holds(c)) {
			c->held = true;		/* group.c calls us again */
			return;
		}
		/* a file, or TLS records built by OpenSSL: not through the ring */
		if (s->file_fd >= 0 ||
		    (c->tls && !(taps__tls_ktls(c->tls) & TAPS_TLS_KTLS_TX))) {
			send_sync(c, s);
			return;
		}
		/* what is queued goes in one sendmsg, up to a file: small
		 * messages do not cost a send each (empty buffers carry only
		 * Sent events); each piece in it is in flight, which msgPriority
		 * and msgLifetime never move or drop, so a message with a
		 * lifetime goes to the kernel only from the head of the queue */
		for (; s && n < SEND_IOV && s->file_fd < 0; s = s->next) {
			if (s->timer && s != c->sq)
				break;
			s->inflight = true;
			if (s->off == s->len)
				continue;
			c->siov[n].iov_base = s->data + s->off;
			c->siov[n++].iov_len = s->len - s->off;
		}
		memset(&c->smsg, 0, sizeof(c->smsg));
		c->smsg.msg_iov = c->siov;
		c->smsg.msg_iovlen = n;
		sqe = conn_sqe(c, &c->op_send, &c->send_armed);
		io_uring_prep_sendmsg(sqe, c->fd, &c->smsg, MSG_NOSIGNAL);
		return;
	}
	if (c->group)
		taps__group_kick(c);	/* nothing queued: the others may go */
	if ((c->close_req || c->final_req) && !c->shut_done && !c->shut_armed) {
		taps__tls_close_notify(c->tls);
		sqe = conn_sqe(c, &c->op_shut, &c->shut_armed);
		io_uring_prep_shutdown(sqe, c->fd, SHUT_WR);
	}
}

/* Hand buffered bytes to the application while it has Receives pending. */
static void recv_deliver(struct taps_connection *c)
{
	struct taps_message_context mc = { 0 };
	const uint8_t *p;
	size_t n;

	if (c->in.ops) {
		if (c->want)
			taps__framer_pump(&c->in);
		if (c->dead)
			return;
		if (c->eof && c->want && !c->eof_told) {
			taps__framer_eof(&c->in);
			if (c->dead)
				return;
			if (c->want && taps__framer_drained(&c->in)) {
				c->eof_told = true;
				c->want--;
				mc.end_of_message = true;
				if (c->cbs.received_partial)
					c->cbs.received_partial(c, NULL, 0, &mc, c->user);
			}
		}
		return;
	}
	while (c->want && !c->dead) {
		n = taps_framer_parse(&c->in, &p);
		if (!n && c->eof && !c->eof_told) {
			c->eof_told = true;
		} else if (!n || (n < c->rmin && !c->eof)) {
			return;
		}
		if (n > c->rmax)
			n = c->rmax;
		c->want--;
		mc.end_of_message = c->eof && n == c->in.len;
		if (mc.end_of_message)
			c->eof_told = true;
		c->busy++;
		if (c->cbs.received_partial)
			c->cbs.received_partial(c, n ? p : NULL, n, &mc, c->user);
		c->busy--;
		taps_framer_advance(&c->in, n);
	}
}

static void recv_result(struct taps_connection *c, int res);

static void recv_pump(struct taps_connection *c)
{
	struct io_uring_sqe *sqe;
	size_t avail, want_bytes;
	uint8_t *p;

	recv_deliver(c);
	if (c->dead || c->recv_armed || c->eof || c->fd < 0)
		return;
	if (!c->want && !(c->close_req && c->shut_done))
		return;
	want_bytes = c->in.ops ? RECV_CHUNK : (c->rmax > c->rmin ? c->rmax : c->rmin);
	if (want_bytes > RECV_CHUNK)
		want_bytes = RECV_CHUNK;
	p = taps__framer_space(&c->in, want_bytes, &avail);
	if (!p) {
		conn_error(c, ENOMEM, "no memory for received data", true);
		return;
	}
	if (c->tls && !(taps__tls_ktls(c->tls) & TAPS_TLS_KTLS_RX)) {
		short ev = POLLIN;
		ssize_t n = taps__tls_read(c->tls, p, avail, &ev);

		if (n == -EAGAIN) {
			sqe = conn_sqe(c, &c->op_recv, &c->recv_armed);
			io_uring_prep_poll_add(sqe, c->fd, ev);
			c->recv_poll = true;
			return;
		}
		recv_result(c, n);
		if (!c->dead)
			c->again = true;
		return;
	}
	sqe = conn_sqe(c, &c->op_recv, &c->recv_armed);
	io_uring_prep_recv(sqe, c->fd, p, avail, 0);
}

static void conn_pump(struct taps_connection *c)
{
	if (c->dead || (c->state != C_READY && c->state != C_CLOSING))
		return;
	c->busy++;
	do {
		c->again = false;
		recv_pump(c);
		if (!c->dead)
			send_pump(c);
		/* Closed once our FIN is out and the peer's has come. */
		if (!c->dead && c->close_req && c->shut_done && c->eof)
			conn_closed(c);
	} while (c->again && !c->dead);
	c->busy--;
	taps__kick(c->loop);
}

/* ---- establishment ---- */

static void conn_tls_start(struct taps_connection *c, bool server);
static void accepted_ready(struct taps_connection *c);

static void conn_ready(struct taps_connection *c)
{
	struct taps_info ti;
	socklen_t len = sizeof(ti);
	int err;

	if (c->tls_cfg && !c->tls) {
		conn_tls_start(c, false);
		return;
	}
	c->state = C_READY;
	c->t_ready = taps__now_us();
	if (c->props.v[TAPS_PROP_KEEP_ALIVE_TIMEOUT] > 0 &&
	    !getsockopt(c->fd, SOL_TAPS, TAPS_INFO, &ti, &len) &&
	    ti.ti_protocol != IPPROTO_SCTP) {
		int s = c->props.v[TAPS_PROP_KEEP_ALIVE_TIMEOUT];

		setsockopt(c->fd, SOL_TCP, TCP_KEEPIDLE, &s, sizeof(s));
	}
	err = conn_start_framer(c);
	if (err) {
		estab_error(c, -err, "the framer did not start");
		return;
	}
	/* InitiateWithSend: its message goes first, Sent after Ready */
	if (c->first_msg) {
		struct sendbuf *fm = c->first_msg;

		c->first_msg = NULL;
		err = conn_queue_msg(c, fm->data, fm->len, fm->ctx[0], 0, &c->first_mp);
		if (!err) {
			fm->nctx = 0;	/* the queue has the context now */
		}
		c->busy++;
		if (c->cbs.ready)
			c->cbs.ready(c, c->user);
		if (err && !c->dead && c->cbs.send_error) {
			struct taps_error e = { .code = -err,
						.reason = "the first message could not be framed" };

			c->cbs.send_error(c, fm->ctx[0], &e, c->user);
		}
		c->busy--;
		taps__sendbuf_free(fm);
		conn_pump(c);
		return;
	}
	if (c->cbs.ready)
		c->cbs.ready(c, c->user);
	conn_pump(c);
}

static const char *race_reason(int err)
{
	switch (err) {
	case ECONNREFUSED:
		return "connection refused";
	case ETIMEDOUT:
		return "connection timed out";
	case EHOSTUNREACH:
	case ENETUNREACH:
		return "no route to the remote endpoints";
	case EPERM:
		return "the system policy leaves no candidate";
	case EPROTONOSUPPORT:
		return "no protocol satisfies the selection properties";
	}
	return strerror(err);
}

static void conn_race_failed(struct taps_connection *c, int err)
{
	struct taps_info ti = { 0 };
	socklen_t len = sizeof(ti);
	char buf[256];

	getsockopt(c->fd, SOL_TAPS, TAPS_INFO, &ti, &len);
	snprintf(buf, sizeof(buf), "%s (%u attempts of %u candidates, %u failed)%s",
		 race_reason(err), ti.ti_attempts, ti.ti_candidates, ti.ti_failed,
		 c->tls_cfg ? "; TLS required: only TCP and MPTCP raced" : "");
	estab_error(c, err, buf);
}

static void arm_poll(struct taps_connection *c)
{
	struct io_uring_sqe *sqe = conn_sqe(c, &c->op_poll, &c->poll_armed);

	io_uring_prep_poll_add(sqe, c->fd, POLLOUT | POLLERR | POLLHUP);
}

static void conn_connect(struct taps_connection *c, const struct taps_addr *a, int n)
{
	struct taps_endpoint ep[TAPS_MAX_ENDPOINTS];
	struct sockaddr_taps st = { .stap_family = taps_family() };
	const char *reason = NULL;
	char buf[300];
	int i, err;

	c->state = C_CONNECTING;
	c->fd = socket(taps_family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		err = errno;
		snprintf(buf, sizeof(buf), "cannot open an AF_TAPS socket (is taps.ko loaded?): %s",
			 strerror(err));
		estab_error(c, err, buf);
		return;
	}
	err = taps__props_apply(&c->props, c->fd, c->ifname, &reason);
	if (err) {
		snprintf(buf, sizeof(buf), "%s: %s", reason, strerror(-err));
		estab_error(c, -err, buf);
		return;
	}
	if (c->has_local) {
		struct sockaddr_taps lt = { .stap_family = taps_family(),
					    .stap_port = htons(c->local_port) };
		socklen_t l = c->local.sa.sa_family == AF_INET ? sizeof(c->local.sin) :
			      sizeof(c->local.sin6);

		if (c->local.sa.sa_family ? bind(c->fd, &c->local.sa, l) :
		    bind(c->fd, (struct sockaddr *)&lt, sizeof(lt))) {
			err = errno;
			snprintf(buf, sizeof(buf), "cannot bind the local endpoint: %s",
				 strerror(err));
			estab_error(c, err, buf);
			return;
		}
	}
	memset(ep, 0, sizeof(ep));
	for (i = 0; i < n; i++)
		memcpy(&ep[i], &a[i], a[i].sa.sa_family == AF_INET ? sizeof(a[i].sin) :
		       sizeof(a[i].sin6));
	if (setsockopt(c->fd, SOL_TAPS, TAPS_REMOTE_ENDPOINTS, ep, n * sizeof(ep[0]))) {
		err = errno;
		snprintf(buf, sizeof(buf), "cannot set the remote endpoints: %s", strerror(err));
		estab_error(c, err, buf);
		return;
	}
	if (!connect(c->fd, (struct sockaddr *)&st, sizeof(st))) {
		conn_ready(c);
		return;
	}
	if (errno != EINPROGRESS) {
		conn_race_failed(c, errno);
		return;
	}
	arm_poll(c);
	taps__kick(c->loop);
}

/* ---- TLS: the handshake, between the race and Ready ---- */

static void conn_tls_failed(struct taps_connection *c, int err, const char *reason)
{
	if (c->listener) {
		/* an incoming handshake that failed: nobody to tell */
		if (c->loop->debug)
			fprintf(stderr, "libtaps: incoming TLS handshake: %s\n", reason);
		conn_teardown(c, true);
		c->dead = true;
		return;
	}
	estab_error(c, err, reason);
}

static void conn_tls_step(struct taps_connection *c)
{
	struct io_uring_sqe *sqe;
	short ev = 0;
	int r;

	r = taps__tls_handshake(c->tls, &ev);
	if (!r) {
		sqe = conn_sqe(c, &c->op_poll, &c->poll_armed);
		io_uring_prep_poll_add(sqe, c->fd, ev);
		taps__kick(c->loop);
		return;
	}
	if (r < 0) {
		conn_tls_failed(c, -r, taps__tls_reason(c->tls));
		return;
	}
	if (c->listener)
		accepted_ready(c);
	else
		conn_ready(c);
}

static void conn_tls_start(struct taps_connection *c, bool server)
{
	char buf[160];

	c->state = C_HANDSHAKE;
	c->tls = taps__tls_new(c->tls_cfg, c->fd, server, c->remote[0].host, c->remote[0].port);
	if (!c->tls) {
		snprintf(buf, sizeof(buf), "TLS: cannot set up the session: %s", strerror(errno));
		conn_tls_failed(c, errno, buf);
		return;
	}
	conn_tls_step(c);
}

static void conn_poll_done(struct taps_connection *c, int res)
{
	struct taps_info ti = { 0 };
	socklen_t len = sizeof(ti);
	int err = 0;

	if (c->dead || res == -ECANCELED)
		return;
	if (c->state == C_HANDSHAKE) {
		conn_tls_step(c);
		return;
	}
	if (getsockopt(c->fd, SOL_TAPS, TAPS_INFO, &ti, &len)) {
		conn_race_failed(c, errno);
		return;
	}
	if (ti.ti_state == TAPS_STATE_ESTABLISHED) {
		conn_ready(c);
		return;
	}
	if (ti.ti_state == TAPS_STATE_ESTABLISHING) {
		arm_poll(c);
		return;
	}
	len = sizeof(err);
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) || !err)
		err = ECONNABORTED;
	conn_race_failed(c, err);
}

static void conn_resolved(void *arg, const struct taps_addr *addrs, int n, int err,
			  const char *reason)
{
	struct taps_connection *c = arg;

	c->res = NULL;
	c->res_done = true;
	if (c->dead)
		return;
	c->busy++;
	if (c->in_initiate) {
		/* From taps_initiate() itself: events must come later. */
		if (!err) {
			c->addrs = malloc(n * sizeof(*addrs));
			if (!c->addrs) {
				err = ENOMEM;
				reason = "no memory for the addresses";
			} else {
				memcpy(c->addrs, addrs, n * sizeof(*addrs));
				c->naddrs = n;
			}
		}
		conn_defer(c, err ? D_ESTAB_ERROR : D_CONNECT, err, reason);
	} else if (err) {
		estab_error(c, err, reason);
	} else {
		conn_connect(c, addrs, n);
	}
	c->busy--;
}

static struct taps_connection *conn_new(struct taps_loop *loop, const struct taps_callbacks *cbs,
					void *user)
{
	struct taps_connection *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->loop = loop;
	c->cbs = *cbs;
	c->user = user;
	c->fd = -1;
	c->op_poll.kind = OP_CONN_POLL;
	c->op_recv.kind = OP_CONN_RECV;
	c->op_send.kind = OP_CONN_SEND;
	c->op_shut.kind = OP_CONN_SHUTDOWN;
	c->op_defer.kind = OP_CONN_DEFER;
	c->op_pump.kind = OP_CONN_PUMP;
	c->rmax = RECV_CHUNK;
	c->rmin = 1;
	c->t_start = taps__now_us();
	c->next = loop->conns;
	if (loop->conns)
		loop->conns->prev = c;
	loop->conns = c;
	return c;
}

struct taps_connection *taps_initiate(struct taps_preconnection *pre, void *user)
{
	struct taps_connection *c;
	const char *reason;
	int err;

	if (!pre) {
		errno = EINVAL;
		return NULL;
	}
	c = conn_new(pre->loop, &pre->cbs, user);
	if (!c)
		return NULL;
	c->ext = pre->ext;
	c->props = pre->props;
	memcpy(c->ifname, pre->ifname, sizeof(c->ifname));
	c->has_local = pre->has_local;
	c->local = pre->local;
	c->local_port = pre->local_port;
	memcpy(c->remote, pre->remote, sizeof(c->remote));
	c->nremote = pre->nremote;
	c->framers = pre->framers;
	c->state = C_RESOLVING;
	if (pre->tls) {
		c->tls_cfg = taps__tls_config_get(pre->tls);
		c->props.v[TAPS_PROP_PROTOCOLS] = taps__tls_protocols(c->props.v[TAPS_PROP_PROTOCOLS]);
		if (!c->props.v[TAPS_PROP_PROTOCOLS]) {
			conn_defer(c, D_ESTAB_ERROR, EPROTONOSUPPORT,
				   "TLS is required and no allowed protocol carries it "
				   "(TCP and MPTCP do; SCTP would need DTLS, not offered)");
			return c;
		}
	}

	err = taps__props_check(&c->props, c->framers.n > 0, &reason);
	if (err) {
		conn_defer(c, D_ESTAB_ERROR, -err, reason);
		return c;
	}
	if (!c->nremote) {
		conn_defer(c, D_ESTAB_ERROR, EDESTADDRREQ, "no remote endpoint");
		return c;
	}
	/* Ready or the race's end come later, from the loop; the work (the
	 * resolver threads, or a connect() that returns at once) starts now. */
	c->busy++;
	c->in_initiate = true;
	c->res = taps__resolve(c->loop, c->remote, c->nremote, conn_resolved, c);
	if (!c->res && !c->res_done)
		conn_defer(c, D_ESTAB_ERROR, ENOMEM, "no memory to resolve the endpoints");
	c->in_initiate = false;
	c->busy--;
	taps__kick(c->loop);
	return c;
}

/* InitiateWithSend (RFC 9622 section 9.2.5): the message waits for Ready. */
struct taps_connection *taps_initiate_with_send(struct taps_preconnection *pre,
						const void *data, size_t len, void *ctx,
						const struct taps_msg_props *mp, void *user)
{
	struct taps_connection *c;
	struct taps_msg_props eff;
	struct sendbuf *fm;
	const char *reason;

	if (!pre || (len && !data)) {
		errno = EINVAL;
		return NULL;
	}
	if (taps__msg_props_resolve(mp, &pre->props, &eff, &reason)) {
		errno = EOPNOTSUPP;
		return NULL;
	}
	fm = calloc(1, sizeof(*fm) + len);
	if (!fm || !(fm->ctx = malloc(sizeof(*fm->ctx)))) {
		free(fm);
		errno = ENOMEM;
		return NULL;
	}
	if (len)
		memcpy(fm->data, data, len);
	fm->len = len;
	fm->file_fd = -1;
	fm->ctx[0] = ctx;
	fm->nctx = 1;
	c = taps_initiate(pre, user);
	if (!c) {
		taps__sendbuf_free(fm);
		return NULL;
	}
	c->first_msg = fm;
	c->first_mp = eff;
	return c;
}

/* Clone (RFC 9622 section 7.4): the peer c reached, with the protocol c won. */
struct taps_connection *taps_clone(struct taps_connection *c, void *user)
{
	struct taps_preconnection pre;
	struct taps_connection *n;
	struct taps_info ti;
	const struct sockaddr_in6 *sin6 = (const void *)&ti.ti_remote;
	const struct sockaddr_in *sin = (const void *)&ti.ti_remote;

	if (!c) {
		errno = EINVAL;
		return NULL;
	}
	if (c->accepted) {
		errno = EOPNOTSUPP;	/* a clone is an active open */
		return NULL;
	}
	if (c->dead || c->state != C_READY || taps_connection_info(c, &ti) ||
	    (sin->sin_family != AF_INET && sin->sin_family != AF_INET6)) {
		errno = ENOTCONN;
		return NULL;
	}
	if (taps__group_reserve(c)) {
		errno = ENOMEM;
		return NULL;
	}
	memset(&pre, 0, sizeof(pre));
	pre.loop = c->loop;
	pre.props = c->props;
	pre.props.v[TAPS_PROP_PROTOCOLS] = ti.ti_protocol == IPPROTO_SCTP ? TAPS_P_SCTP :
					   ti.ti_protocol == IPPROTO_MPTCP ? TAPS_P_MPTCP :
					   TAPS_P_TCP;
	if (c->tls_cfg) {
		/* TLS checks the certificate against the name given: c's
		 * endpoints by name again, with the protocol c won */
		memcpy(pre.remote, c->remote, sizeof(pre.remote));
		pre.nremote = c->nremote;
	} else if (sin->sin_family == AF_INET) {
		inet_ntop(AF_INET, &sin->sin_addr, pre.remote[0].host, sizeof(pre.remote[0].host));
		pre.remote[0].port = ntohs(sin->sin_port);
		pre.nremote = 1;
	} else {
		inet_ntop(AF_INET6, &sin6->sin6_addr, pre.remote[0].host,
			  sizeof(pre.remote[0].host));
		pre.remote[0].port = ntohs(sin6->sin6_port);
		pre.nremote = 1;
	}
	pre.has_local = c->has_local && c->local.sa.sa_family;
	pre.local = c->local;	/* its address, a port of its own */
	if (pre.has_local)
		pre.local.sin.sin_port = 0;
	memcpy(pre.ifname, c->ifname, sizeof(pre.ifname));
	pre.framers = c->framers;
	pre.tls = c->tls_cfg;	/* the same security: a clone is in the group */
	pre.cbs = c->cbs;
	pre.ext = c->ext;
	n = taps_initiate(&pre, user);
	if (n)
		taps__group_join(c, n);	/* reserved: cannot fail */
	return n;
}

struct taps_group **taps__conn_group(struct taps_connection *c)
{
	return &c->group;
}

bool taps__conn_backlog(struct taps_connection *c, int64_t *prio)
{
	*prio = c->props.v[TAPS_PROP_CONN_PRIORITY];
	return !c->dead && c->sq && (c->state == C_READY || c->state == C_CLOSING);
}

void taps__conn_unhold(struct taps_connection *c)
{
	if (c->held && !c->dead) {
		c->held = false;
		conn_schedule(c);
	}
}

int taps_preconnection_set_callbacks_ext(struct taps_preconnection *pre,
					 const struct taps_callbacks_ext *ext)
{
	size_t n;

	if (!pre || !ext || ext->size < sizeof(ext->size))
		return -EINVAL;
	n = ext->size < sizeof(*ext) ? ext->size : sizeof(*ext);
	memset(&pre->ext, 0, sizeof(pre->ext));
	memcpy(&pre->ext, ext, n);
	pre->ext.size = sizeof(pre->ext);
	return 0;
}

/* ---- completions ---- */

/* kTLS receive said EIO: the next record is not data (tls.c reads it) */
static int recv_tls_control(struct taps_connection *c)
{
	size_t avail;
	uint8_t *p = taps__framer_space(&c->in, RECV_CHUNK, &avail);
	bool eof = false;
	ssize_t n;

	if (!p)
		return -ENOMEM;
	n = taps__tls_recv_control(c->tls, p, avail, &eof);
	if (!n && !eof)
		return -EAGAIN;		/* handled, nothing for the application */
	return n;
}

static void conn_recv_done(struct taps_connection *c, int res)
{
	if (c->dead || res == -ECANCELED)
		return;
	if (c->recv_poll) {
		c->recv_poll = false;	/* readable: OpenSSL reads in the pump */
	} else {
		if (res == -EIO && c->tls)
			res = recv_tls_control(c);
		recv_result(c, res);
		if (c->dead)
			return;
	}
	conn_pump(c);
}

static void recv_result(struct taps_connection *c, int res)
{
	char buf[300];

	if (res > 0) {
		if (c->close_req && c->shut_done && !c->want)
			;	/* closing: nobody asked, drain to the peer's FIN */
		else
			taps__framer_commit(&c->in, res);
	} else if (res == 0) {
		c->eof = true;
	} else if (res != -EAGAIN && res != -EINTR) {
		if (c->tls && *taps__tls_reason(c->tls))
			snprintf(buf, sizeof(buf), "%s", taps__tls_reason(c->tls));
		else if (c->tls && res == -EBADMSG)
			snprintf(buf, sizeof(buf), "TLS: a record did not decrypt (%s)",
				 strerror(-res));
		else
			snprintf(buf, sizeof(buf), "receiving failed: %s", strerror(-res));
		if (c->want && c->cbs.receive_error) {
			struct taps_error e = { .code = -res, .reason = buf };

			c->want--;
			c->cbs.receive_error(c, &e, c->user);
		}
		conn_error(c, -res, buf, false);
	}
}

static void conn_send_done(struct taps_connection *c, int res)
{
	struct sendbuf *s;
	size_t left, n;

	if (c->dead || res == -ECANCELED)
		return;
	for (s = c->sq; s && s->inflight; s = s->next)
		s->inflight = false;	/* the sendmsg is over */
	if (c->send_poll) {
		c->send_poll = false;	/* room again: send_sync() goes on */
		conn_pump(c);
		return;
	}
	if (res < 0 && res != -EAGAIN && res != -EINTR) {
		send_failed(c, -res);
		return;
	}
	/* res bytes went, across the buffers send_pump gathered */
	left = res > 0 ? res : 0;
	for (s = res >= 0 ? c->sq : NULL; s; s = s->next) {
		n = s->len - s->off < left ? s->len - s->off : left;
		s->off += n;
		left -= n;
		s->done = s->off == s->len;
		if (!s->done || (!left && s->next && s->next->off != s->next->len))
			break;
	}
	conn_pump(c);
}

void taps__conn_complete(struct taps_loop *loop, struct taps_op *op, int res, unsigned int flags)
{
	struct taps_connection *c;

	(void)flags;
	if (loop->debug && op->kind == OP_CONN_SEND) {
		c = container_of(op, struct taps_connection, op_send);
		fprintf(stderr, "libtaps: send %d of %zu\n", res,
			c->sq ? c->sq->len - c->sq->off : (size_t)0);
	}
	loop->inflight--;
	switch (op->kind) {
	case OP_CONN_POLL:
		c = container_of(op, struct taps_connection, op_poll);
		c->poll_armed = false;
		c->inflight--;
		c->busy++;
		conn_poll_done(c, res);
		break;
	case OP_CONN_RECV:
		c = container_of(op, struct taps_connection, op_recv);
		c->recv_armed = false;
		c->inflight--;
		c->busy++;
		conn_recv_done(c, res);
		break;
	case OP_CONN_SEND:
		c = container_of(op, struct taps_connection, op_send);
		c->send_armed = false;
		c->inflight--;
		c->busy++;
		conn_send_done(c, res);
		break;
	case OP_CONN_SHUTDOWN:
		c = container_of(op, struct taps_connection, op_shut);
		c->shut_armed = false;
		c->inflight--;
		c->busy++;
		if (!c->dead) {
			c->shut_done = true;
			conn_pump(c);
		}
		break;
	case OP_CONN_DEFER:
		c = container_of(op, struct taps_connection, op_defer);
		c->defer_armed = false;
		c->inflight--;
		c->busy++;
		switch (c->defer) {
		case D_ESTAB_ERROR:
			estab_error(c, c->defer_err, c->reason);
			break;
		case D_ABORTED:
			fail_sends(c, ECONNABORTED, "aborted by the application");
			if (c->cbs.connection_error) {
				struct taps_error e = { .code = ECONNABORTED,
							.reason = "aborted by the application" };

				c->cbs.connection_error(c, &e, c->user);
			}
			break;
		case D_CLOSED:
			if (c->cbs.closed)
				c->cbs.closed(c, c->user);
			break;
		case D_CONNECT:
			c->defer = D_NONE;
			conn_connect(c, c->addrs, c->naddrs);
			break;
		case D_NONE:
			break;
		}
		c->defer = D_NONE;
		break;
	case OP_CONN_PUMP:
		c = container_of(op, struct taps_connection, op_pump);
		c->pump_armed = false;
		c->inflight--;
		c->busy++;
		conn_pump(c);
		break;
	default:
		return;
	}
	c->busy--;
	conn_maybe_free(c);
}

/* ---- the application's calls ---- */

static void msg_expired(struct taps_timer *t, void *user);

/* A whole message is queued (after tail): its place by msgPriority, its
 * msgLifetime timer, final. */
static void conn_msg_queued(struct taps_connection *c, struct sendbuf *tail,
			    const struct taps_msg_props *mp)
{
	struct sendbuf *first = tail ? tail->next : c->sq;
	struct taps_sendq q = { c->sq, c->sq_tail };

	if (!first)
		return;
	if (mp->v[TAPS_MSG_PROP_FINAL]) {
		c->sq_tail->final = true;
		first->final = true;
		c->final_req = true;
	}
	/* pieces of a raw message sent in parts precede tail: find the first */
	if (c->in.ops == NULL) {
		struct sendbuf *s;

		for (s = c->sq; s && s->msg != c->cur_msg; s = s->next)
			;
		first = s;
	}
	taps__sendq_place(&q, first, c->send_armed);
	c->sq = q.head;
	c->sq_tail = q.tail;
	if (mp->v[TAPS_MSG_PROP_LIFETIME] > 0)
		first->timer = taps_timer_new(c->loop, mp->v[TAPS_MSG_PROP_LIFETIME], msg_expired,
					      first);
}

/* Queue one message (or part) with the effective properties mp. */
static int conn_queue_msg(struct taps_connection *c, const void *data, size_t len, void *ctx,
			  unsigned int flags, const struct taps_msg_props *mp)
{
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
	struct sendbuf *tail = c->sq_tail;
	void **ctxs;
	int err, n;

	if (!c->in_msg) {	/* a new message: its number and properties */
		c->cur_msg++;
		c->cur_mp = *mp;
	} else if (mp->v[TAPS_MSG_PROP_FINAL]) {
		c->cur_mp.v[TAPS_MSG_PROP_FINAL] = 1;	/* any part may say so */
	}
	if (!c->in.ops) {
		ctxs = malloc(sizeof(*ctxs));
		if (!ctxs)
			return -ENOMEM;
		ctxs[0] = ctx;
		err = queue_send(c, &iov, 1, ctxs, 1);
		if (err) {
			free(ctxs);
			return err;
		}
		c->in_msg = flags & TAPS_SEND_PARTIAL;
		goto out;
	}
	/* framed: gather the parts of the message, then frame it */
	ctxs = realloc(c->pctx, (c->npctx + 1) * sizeof(*ctxs));
	if (!ctxs)
		return -ENOMEM;
	c->pctx = ctxs;
	c->pctx[c->npctx++] = ctx;
	if (flags & TAPS_SEND_PARTIAL || c->plen) {
		if (c->plen + len > c->pcap) {
			size_t cap = (c->plen + len) * 2;
			uint8_t *b = realloc(c->pbuf, cap);

			if (!b) {
				c->npctx--;
				return -ENOMEM;
			}
			c->pbuf = b;
			c->pcap = cap;
		}
		memcpy(c->pbuf + c->plen, data, len);
		c->plen += len;
		c->in_msg = flags & TAPS_SEND_PARTIAL;
		if (c->in_msg)
			return 0;
		data = c->pbuf;
		len = c->plen;
	}
	c->cur_used = false;
	err = taps__framer_output(&c->in, data, len);
	n = c->npctx;
	ctxs = c->pctx;
	c->pctx = NULL;
	c->npctx = 0;
	c->plen = 0;
	if (err) {
		/* a SendError per part, from the loop: report it now, no event */
		free(ctxs);
		return err;
	}
	if (c->cur_used) {
		c->sq_tail->ctx = ctxs;
		c->sq_tail->nctx = n;
	} else {
		err = queue_send(c, NULL, 0, ctxs, n);	/* nothing on the wire */
		if (err) {
			free(ctxs);
			return err;
		}
	}
out:
	if (!c->in_msg)
		conn_msg_queued(c, tail, &c->cur_mp);	/* the first part's */
	conn_schedule(c);
	return 0;
}

static void msg_expired(struct taps_timer *t, void *user)
{
	struct sendbuf *s = user, *chain, *next;
	struct taps_connection *c = s->conn;
	struct taps_sendq q = { c->sq, c->sq_tail };
	int i;

	(void)t;
	s->timer = NULL;
	if (c->dead)
		return;		/* aborting: its SendError is on the way */
	chain = taps__sendq_take(&q, s->msg, c->send_armed);
	if (!chain)
		return;		/* started: Sent follows (msgLifetime is a hint) */
	c->sq = q.head;
	c->sq_tail = q.tail;
	c->busy++;
	for (; chain; chain = next) {
		next = chain->next;
		for (i = 0; i < chain->nctx && !c->dead; i++)
			if (c->ext.expired)
				c->ext.expired(c, chain->ctx[i], c->user);
		taps__sendbuf_free(chain);
	}
	c->busy--;
	conn_schedule(c);
	conn_maybe_free(c);
}

int taps_send_message(struct taps_connection *c, const void *data, size_t len, void *ctx,
		      unsigned int flags, const struct taps_msg_props *mp)
{
	struct taps_msg_props eff;
	const char *reason;
	int err;

	if (!c || (len && !data))
		return -EINVAL;
	if (c->dead || c->state != C_READY)
		return c->state < C_READY ? -ENOTCONN : -EPIPE;
	if (c->close_req || c->final_req)
		return -EPIPE;
	err = taps__msg_props_resolve(mp, &c->props, &eff, &reason);
	if (err)
		return err;
	return conn_queue_msg(c, data, len, ctx, flags, &eff);
}

int taps_send(struct taps_connection *c, const void *data, size_t len, void *ctx,
	      unsigned int flags)
{
	return taps_send_message(c, data, len, ctx, flags, NULL);
}

int taps_receive(struct taps_connection *c, size_t min_incomplete, size_t max_len)
{
	if (!c)
		return -EINVAL;
	if (c->dead)
		return -EPIPE;
	if (c->state < C_READY)
		return -ENOTCONN;
	if (c->eof_told)
		return -EPIPE;
	c->want++;
	c->rmin = min_incomplete ? min_incomplete : 1;
	c->rmax = max_len ? max_len : RECV_CHUNK;
	c->rmsgmax = max_len;
	if (c->rmax < c->rmin)
		c->rmax = c->rmin;
	conn_schedule(c);
	return 0;
}

void taps_close(struct taps_connection *c)
{
	if (!c || c->dead || c->close_req)
		return;
	if (c->state < C_READY) {
		/* before Ready: give up the race; Closed from the loop */
		conn_teardown(c, false);
		c->dead = true;
		conn_defer(c, D_CLOSED, 0, NULL);
		return;
	}
	c->close_req = true;
	c->state = C_CLOSING;
	conn_schedule(c);
}

void taps_abort(struct taps_connection *c)
{
	if (!c || c->dead)
		return;
	conn_teardown(c, true);
	c->dead = true;
	/* SendErrors and the ConnectionError come from the loop */
	conn_defer(c, D_ABORTED, ECONNABORTED, NULL);
}

void taps_connection_set_user(struct taps_connection *c, void *user)
{
	if (c)
		c->user = user;
}

void *taps_connection_user(const struct taps_connection *c)
{
	return c ? c->user : NULL;
}

struct taps_loop *taps_connection_loop(const struct taps_connection *c)
{
	return c ? c->loop : NULL;
}

uint64_t taps_connection_ready_us(const struct taps_connection *c)
{
	return c && c->t_ready ? c->t_ready - c->t_start : 0;
}

int taps_connection_info(const struct taps_connection *c, struct taps_info *info)
{
	socklen_t len = sizeof(*info);

	if (!c || !info)
		return -EINVAL;
	if (c->fd < 0)
		return -ENOTCONN;
	memset(info, 0, sizeof(*info));
	return getsockopt(c->fd, SOL_TAPS, TAPS_INFO, info, &len) ? -errno : 0;
}

const char *taps_connection_describe(const struct taps_connection *c, char *buf, size_t len)
{
	struct taps_info ti;
	char l[64], r[64];

	if (taps_connection_info(c, &ti)) {
		snprintf(buf, len, "-");
		return buf;
	}
	addr_str(&ti.ti_local, l, sizeof(l));
	addr_str(&ti.ti_remote, r, sizeof(r));
	snprintf(buf, len, "%s %s -> %s", taps_protocol_name(ti.ti_protocol), l, r);
	return buf;
}



int taps_connection_get(const struct taps_connection *c, enum taps_property prop,
			int64_t *value)
{
	struct taps_info ti = { 0 };
	bool ready;

	if (!c || !value)
		return -EINVAL;
	if ((unsigned int)prop >= TAPS_PROP_COUNT)
		return -ENOENT;
	ready = c->state >= C_READY && !taps_connection_info(c, &ti);
	switch (prop) {
	case TAPS_PROP_CONN_STATE:
		*value = c->dead || c->state == C_CLOSED ? TAPS_CONN_CLOSED :
			 c->state == C_CLOSING ? TAPS_CONN_CLOSING :
			 c->state == C_READY ? TAPS_CONN_ESTABLISHED : TAPS_CONN_ESTABLISHING;
		return 0;
	case TAPS_PROP_CAN_SEND:
		*value = !c->dead && c->state == C_READY && !c->close_req && !c->final_req;
		return 0;
	case TAPS_PROP_CAN_RECEIVE:
		*value = !c->dead && c->state >= C_READY && !c->eof;
		return 0;
	case TAPS_PROP_SEND_MSG_MAX_LEN:
	case TAPS_PROP_RECV_MSG_MAX_LEN:
		*value = -1;
		if (c->in.ops && c->in.state)
			*value = *(size_t *)c->in.state;	/* built-ins: the limit */
		return 0;
	case TAPS_PROP_PROTOCOL:
		*value = ready ? ti.ti_protocol : 0;
		return 0;
	default:
		break;
	}
	if (!taps__prop_is_selection(prop)) {
		*value = c->props.v[prop];
		return 0;
	}
	if (!ready)
		return -ENOTCONN;
	/* What the established connection provides (RFC 9622 section 6.2). */
	switch (prop) {
	case TAPS_PROP_MULTISTREAMING:
		*value = ti.ti_protocol == IPPROTO_SCTP;
		break;
	case TAPS_PROP_MULTIPATH:
		*value = ti.ti_protocol == IPPROTO_MPTCP ? TAPS_MULTIPATH_ACTIVE :
			 TAPS_MULTIPATH_DISABLED;
		break;
	case TAPS_PROP_PRESERVE_MSG_BOUNDARIES:
		*value = c->in.ops != NULL;
		break;
	case TAPS_PROP_PER_MSG_RELIABILITY:
	case TAPS_PROP_ZERO_RTT_MSG:
	case TAPS_PROP_USE_TEMPORARY_LOCAL_ADDRESS:
	case TAPS_PROP_SOFT_ERROR_NOTIFY:
	case TAPS_PROP_ADVERTISES_ALTADDR:
		*value = 0;
		break;
	case TAPS_PROP_DIRECTION:
		*value = TAPS_DIRECTION_BIDIRECTIONAL;
		break;
	case TAPS_PROP_KEEP_ALIVE: {
		int ka = 0;
		socklen_t l = sizeof(ka);

		getsockopt(c->fd, SOL_SOCKET, SO_KEEPALIVE, &ka, &l);
		*value = ka != 0;
		break;
	}
	case TAPS_PROP_PROTOCOLS:
		*value = ti.ti_protocol == IPPROTO_TCP ? TAPS_P_TCP :
			 ti.ti_protocol == IPPROTO_SCTP ? TAPS_P_SCTP : TAPS_P_MPTCP;
		break;
	default:	/* reliability, order, checksums, congestion control */
		*value = 1;
		break;
	}
	return 0;
}

int taps_connection_set(struct taps_connection *c, enum taps_property prop, int64_t value)
{
	int err;

	if (!c)
		return -EINVAL;
	if (taps__prop_is_selection(prop))
		return -EROFS;	/* fixed once the connection exists */
	err = taps__prop_validate(prop, value);
	if (err)
		return err;
	/* RFC 9622 section 7.4: a group's connection properties are
	 * entangled, all but connPriority */
	if (prop != TAPS_PROP_CONN_PRIORITY)
		taps__group_set(c, prop, value);
	return taps__conn_set_one(c, prop, value);
}

int taps__conn_set_one(struct taps_connection *c, enum taps_property prop, int64_t value)
{
	c->props.v[prop] = value;
	if (c->fd >= 0 && prop == TAPS_PROP_CONN_TIMEOUT && c->state < C_READY && value > 0) {
		int v = value;

		setsockopt(c->fd, SOL_TAPS, TAPS_CONN_TIMEOUT, &v, sizeof(v));
	}
	if (c->fd >= 0 && prop == TAPS_PROP_KEEP_ALIVE_TIMEOUT && c->state == C_READY) {
		int on = value > 0, s = value;

		setsockopt(c->fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
		if (on)
			setsockopt(c->fd, SOL_TCP, TCP_KEEPIDLE, &s, sizeof(s));
	}
	return 0;
}

/* ---- listeners ---- */

static void listener_unlink(struct taps_listener *l)
{
	if (l->prev)
		l->prev->next = l->next;
	else if (l->loop->listeners == l)
		l->loop->listeners = l->next;
	if (l->next)
		l->next->prev = l->prev;
	l->next = l->prev = NULL;
}

static void listener_maybe_free(struct taps_listener *l)
{
	if (l->stopped && !l->inflight && !l->active) {
		listener_unlink(l);
		taps__tls_config_put(l->tls_cfg);
		free(l);
	}
}

static void listener_arm(struct taps_listener *l)
{
	struct io_uring_sqe *sqe;

	if (l->accept_armed || l->stopping || l->fd < 0 || (l->limit && l->active >= l->limit))
		return;
	sqe = taps__sqe(l->loop);
	io_uring_prep_accept(sqe, l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	io_uring_sqe_set_data(sqe, &l->op_accept);
	l->accept_armed = true;
	l->inflight++;
	l->loop->inflight++;
}

static void listener_defer(struct taps_listener *l)
{
	struct io_uring_sqe *sqe;

	if (l->defer_armed)
		return;
	sqe = taps__sqe(l->loop);
	io_uring_prep_nop(sqe);
	io_uring_sqe_set_data(sqe, &l->op_defer);
	l->defer_armed = true;
	l->inflight++;
	l->loop->inflight++;
	taps__kick(l->loop);
}

static void listener_fail(struct taps_listener *l, int err, const char *what)
{
	l->failed = true;
	l->err = err;
	snprintf(l->reason, sizeof(l->reason), "%s: %s", what, strerror(err));
	listener_defer(l);
}

static void listener_close_fd(struct taps_listener *l)
{
	if (l->accept_armed) {
		struct io_uring_sqe *sqe = taps__sqe(l->loop);

		io_uring_prep_cancel(sqe, &l->op_accept, 0);
		io_uring_sqe_set_data(sqe, &l->loop->ignore_op);
	}
	if (l->fd >= 0) {
		shutdown(l->fd, SHUT_RDWR);
		close(l->fd);
		l->fd = -1;
	}
}

struct taps_listener *taps_listen(struct taps_preconnection *pre, void *user)
{
	struct taps_listener *l;
	struct sockaddr_taps st;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	const char *reason;
	int err;

	if (!pre) {
		errno = EINVAL;
		return NULL;
	}
	l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->loop = pre->loop;
	l->cbs = pre->cbs;
	l->ext = pre->ext;
	l->user = user;
	l->props = pre->props;
	l->framers = pre->framers;
	l->tls_cfg = taps__tls_config_get(pre->tls);
	if (l->tls_cfg)
		l->props.v[TAPS_PROP_PROTOCOLS] = taps__tls_protocols(l->props.v[TAPS_PROP_PROTOCOLS]);
	l->op_accept.kind = OP_ACCEPT;
	l->op_defer.kind = OP_LISTENER_DEFER;
	l->next = l->loop->listeners;
	if (l->loop->listeners)
		l->loop->listeners->prev = l;
	l->loop->listeners = l;

	err = taps__props_check(&l->props, l->framers.n > 0, &reason);
	if (!err && l->tls_cfg && !taps__tls_config_has_cert(l->tls_cfg)) {
		err = -EINVAL;
		reason = "TLS on a listener needs a certificate and its key";
	} else if (!err && l->tls_cfg && !l->props.v[TAPS_PROP_PROTOCOLS]) {
		err = -EPROTONOSUPPORT;
		reason = "TLS is required and no allowed protocol carries it "
			 "(TCP and MPTCP do; SCTP would need DTLS, not offered)";
	}
	if (err) {
		l->failed = true;
		l->err = -err;
		snprintf(l->reason, sizeof(l->reason), "%s", reason);
		listener_defer(l);
		return l;
	}
	l->fd = socket(taps_family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd < 0) {
		listener_fail(l, errno, "cannot open an AF_TAPS socket (is taps.ko loaded?)");
		return l;
	}
	err = taps__props_apply(&l->props, l->fd, pre->ifname, &reason);
	if (err) {
		listener_fail(l, -err, reason);
		return l;
	}
	/* As servers do (nginx, libuv, Python's socketserver): a listener
	 * restarted while its last connections are in TIME_WAIT binds. */
	if (setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &(int){ 1 }, sizeof(int))) {
		listener_fail(l, errno, "cannot set SO_REUSEADDR");
		return l;
	}
	memset(&st, 0, sizeof(st));
	st.stap_family = taps_family();
	st.stap_port = htons(pre->local_port);
	if (pre->has_local && pre->local.sa.sa_family)
		err = bind(l->fd, &pre->local.sa, pre->local.sa.sa_family == AF_INET ?
			   sizeof(pre->local.sin) : sizeof(pre->local.sin6));
	else
		err = bind(l->fd, (struct sockaddr *)&st, sizeof(st));
	if (err) {
		listener_fail(l, errno, "cannot bind the local endpoint");
		return l;
	}
	if (listen(l->fd, 4096)) {
		listener_fail(l, errno, "listen() failed");
		return l;
	}
	if (!getsockname(l->fd, (struct sockaddr *)&ss, &len))
		l->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	listener_arm(l);
	taps__kick(l->loop);
	return l;
}

int taps_listener_port(const struct taps_listener *l)
{
	return l ? l->port : -EINVAL;
}

void taps_listener_set_limit(struct taps_listener *l, unsigned int limit)
{
	if (!l)
		return;
	l->limit = limit;
	listener_arm(l);
	taps__kick(l->loop);
}

void taps_listener_stop(struct taps_listener *l)
{
	if (!l || l->stopping)
		return;
	l->stopping = true;
	listener_close_fd(l);
	listener_defer(l);
}

void taps_listener_set_user(struct taps_listener *l, void *user)
{
	if (l)
		l->user = user;
}

void *taps_listener_user(const struct taps_listener *l)
{
	return l ? l->user : NULL;
}

static void listener_accepted(struct taps_listener *l, int fd)
{
	struct taps_connection *c = conn_new(l->loop, &l->cbs, l->user);

	if (!c) {
		close(fd);
		return;
	}
	c->fd = fd;
	c->ext = l->ext;
	c->accepted = true;
	c->props = l->props;
	c->framers = l->framers;
	c->listener = l;
	l->active++;
	c->busy++;
	if (l->tls_cfg) {
		c->tls_cfg = taps__tls_config_get(l->tls_cfg);
		conn_tls_start(c, true);
	} else {
		accepted_ready(c);
	}
	c->busy--;
	conn_maybe_free(c);
}

/* An accepted connection is usable (after its TLS handshake, if any). */
static void accepted_ready(struct taps_connection *c)
{
	struct taps_listener *l = c->listener;
	int err;

	c->state = C_READY;
	c->t_ready = taps__now_us();
	err = l->stopping ? -ECANCELED : conn_start_framer(c);
	if (err) {
		conn_teardown(c, true);
		c->dead = true;
		return;
	}
	c->busy++;
	if (l->cbs.connection_received)
		l->cbs.connection_received(l, c, l->user);
	c->busy--;
	conn_pump(c);
}

void taps__listener_complete(struct taps_loop *loop, struct taps_op *op, int res)
{
	struct taps_listener *l;
	struct taps_error e;

	loop->inflight--;
	if (op->kind == OP_ACCEPT) {
		l = container_of(op, struct taps_listener, op_accept);
		l->accept_armed = false;
		l->inflight--;
		if (res >= 0) {
			if (l->stopping)
				close(res);
			else
				listener_accepted(l, res);
		} else if (!l->stopping && res != -ECANCELED) {
			if (res == -EMFILE || res == -ENFILE || res == -ENOBUFS ||
			    res == -ENOMEM || res == -ECONNABORTED || res == -EINTR) {
				/* transient: the next connection may do */
			} else {
				listener_fail(l, -res, "accepting failed");
				l->stopping = true;
				listener_close_fd(l);
			}
		}
		listener_arm(l);
	} else {
		l = container_of(op, struct taps_listener, op_defer);
		l->defer_armed = false;
		l->inflight--;
		if (l->failed && !l->stopped) {
			e.code = l->err;
			e.reason = l->reason;
			l->stopped = true;
			l->stopping = true;
			listener_close_fd(l);
			if (l->cbs.listen_error)
				l->cbs.listen_error(l, &e, l->user);
		} else if (l->stopping && !l->stopped) {
			l->stopped = true;
			if (l->cbs.stopped)
				l->cbs.stopped(l, l->user);
		}
	}
	listener_maybe_free(l);
}

/*
 * A connection over an already connected stream socket (tests: a
 * socketpair), as if accepted: no Ready event, usable at once.
 */
struct taps_connection *taps__conn_adopt(struct taps_preconnection *pre, int fd, void *user)
{
	struct taps_connection *c = conn_new(pre->loop, &pre->cbs, user);

	if (!c)
		return NULL;
	c->fd = fd;
	c->ext = pre->ext;
	c->props = pre->props;
	c->framers = pre->framers;
	c->state = C_READY;
	c->t_ready = c->t_start;
	if (conn_start_framer(c)) {
		c->fd = -1;
		c->dead = true;
		conn_maybe_free(c);
		return NULL;
	}
	return c;
}

/* taps_loop_free(): everything goes, without events. */
void taps__conn_free_all(struct taps_loop *loop)
{
	struct io_uring_sqe *sqe = taps__sqe(loop);
	struct __kernel_timespec ts = { .tv_nsec = 50 * 1000000 };
	struct io_uring_cqe *cqe;

	/* Nothing may still write into our buffers once they are freed. */
	io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
	io_uring_sqe_set_data(sqe, NULL);
	io_uring_submit(&loop->ring);
	while (!io_uring_wait_cqe_timeout(&loop->ring, &cqe, &ts))
		io_uring_cqe_seen(&loop->ring, cqe);
	while (loop->conns) {
		struct taps_connection *c = loop->conns;

		c->listener = NULL;
		conn_destroy(c);
	}
	while (loop->listeners) {
		struct taps_listener *l = loop->listeners;

		if (l->fd >= 0)
			close(l->fd);
		listener_unlink(l);
		taps__tls_config_put(l->tls_cfg);
		free(l);
	}
}

/* ---- TLS: queries, files, tests ---- */

int taps_connection_tls(const struct taps_connection *c, struct taps_tls_info *info)
{
	if (!c || !info)
		return -EINVAL;
	if (!c->tls_cfg)
		return -ENOPROTOOPT;
	return taps__tls_info(c->tls, info);
}

int taps_send_file(struct taps_connection *c, int fd, off_t off, size_t len, void *ctx)
{
	struct sendbuf *s;
	void **ctxs;

	if (!c || fd < 0 || off < 0)
		return -EINVAL;
	if (c->dead || c->state != C_READY)
		return c->state < C_READY ? -ENOTCONN : -EPIPE;
	if (c->close_req)
		return -EPIPE;
	if (c->in.ops)
		return -EINVAL;
	if (c->tls && !(taps__tls_ktls(c->tls) & TAPS_TLS_KTLS_TX))
		return -EOPNOTSUPP;
	ctxs = malloc(sizeof(*ctxs));
	if (!ctxs)
		return -ENOMEM;
	if (queue_send(c, NULL, 0, ctxs, 1)) {
		free(ctxs);
		return -ENOMEM;
	}
	ctxs[0] = ctx;
	s = c->sq_tail;
	s->file_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (s->file_fd < 0) {
		int err = -errno;

		s->file_fd = -1;
		s->nctx = 0;	/* unqueued below: no Sent for it */
		s->done = true;
		s->len = 0;
		return err;
	}
	s->file_off = off;
	s->len = len;
	conn_schedule(c);
	return 0;
}

/* Tests: TLS over an already connected stream socket (a socketpair). */
struct taps_connection *taps__conn_adopt_tls(struct taps_preconnection *pre, int fd,
					     bool server, const char *host, void *user)
{
	struct taps_connection *c;

	if (!pre->tls)
		return NULL;
	c = conn_new(pre->loop, &pre->cbs, user);
	if (!c)
		return NULL;
	c->fd = fd;
	c->props = pre->props;
	c->framers = pre->framers;
	c->tls_cfg = taps__tls_config_get(pre->tls);
	snprintf(c->remote[0].host, sizeof(c->remote[0].host), "%s", host ? host : "");
	c->nremote = 1;
	c->busy++;
	conn_tls_start(c, server);
	c->busy--;
	taps__kick(c->loop);
	return c;
}
