// SPDX-License-Identifier: GPL-2.0
/*
 * AF_TAPS: candidate gathering and racing (RFC 9623 section 4, RFC 8305).
 *
 * Every attempt is a kernel socket connecting with O_NONBLOCK.  Its
 * state_change and error_report callbacks run in softirq context; they only
 * queue event_work, which looks at the attempts under the outer socket lock
 * and decides: the first attempt to reach ESTABLISHED wins, a failed one
 * starts the next candidate at once, and delay_work starts the next one
 * when the attempt delay expires.
 */

#define pr_fmt(fmt) "taps: " fmt

#include <linux/in.h>
#include <linux/in6.h>
#include <linux/slab.h>
#include <net/sock.h>
#include <net/tcp.h>

#include "taps.h"

static void taps_kick(struct taps_sock *tsk)
{
	sock_hold(&tsk->sk);
	if (!queue_work(taps_wq, &tsk->event_work))
		sock_put(&tsk->sk);
}

static void taps_attempt_state_change(struct sock *isk)
{
	void (*chain)(struct sock *sk);
	struct taps_attempt *at;

	read_lock_bh(&isk->sk_callback_lock);
	at = isk->sk_user_data;
	if (at) {
		chain = at->state_change;
		taps_kick(at->tsk);
	} else {
		chain = isk->sk_state_change;
	}
	read_unlock_bh(&isk->sk_callback_lock);
	if (chain && chain != taps_attempt_state_change)
		chain(isk);
}

static void taps_attempt_error_report(struct sock *isk)
{
	void (*chain)(struct sock *sk);
	struct taps_attempt *at;

	read_lock_bh(&isk->sk_callback_lock);
	at = isk->sk_user_data;
	if (at) {
		chain = at->error_report;
		taps_kick(at->tsk);
	} else {
		chain = isk->sk_error_report;
	}
	read_unlock_bh(&isk->sk_callback_lock);
	if (chain && chain != taps_attempt_error_report)
		chain(isk);
}

static void taps_attempt_unhook(struct taps_attempt *at)
{
	struct sock *isk = at->sock->sk;

	write_lock_bh(&isk->sk_callback_lock);
	isk->sk_user_data = NULL;
	isk->sk_state_change = at->state_change;
	isk->sk_error_report = at->error_report;
	write_unlock_bh(&isk->sk_callback_lock);
}

/* Tear a losing or cancelled attempt down: RST / ABORT, nothing lingers. */
static void taps_attempt_abort(struct taps_attempt *at)
{
	list_del(&at->node);
	taps_attempt_unhook(at);
	sock_no_linger(at->sock->sk);
	sock_release(at->sock);
	kfree(at);
}

/* The errno a failed race reports: refused > unreachable > timed out. */
static int taps_err_rank(int err)
{
	switch (err) {
	case ECONNREFUSED:
		return 3;
	case EHOSTUNREACH:
	case ENETUNREACH:
		return 2;
	case ETIMEDOUT:
		return 1;
	default:
		return 0;
	}
}

static void taps_note_err(struct taps_sock *tsk, int err)
{
	if (!tsk->race_err || taps_err_rank(err) > taps_err_rank(tsk->race_err))
		tsk->race_err = err;
}

static int taps_attempt_start(struct taps_sock *tsk, u32 idx)
{
	struct taps_candidate *c = &tsk->cand[idx];
	struct net *net = sock_net(&tsk->sk);
	struct taps_attempt *at;
	struct socket *sock;
	struct sock *isk;
	int err;

	tsk->n_attempts++;
	at = kzalloc(sizeof(*at), GFP_KERNEL);
	if (!at)
		return -ENOMEM;

	err = taps_kern_socket(net, c->addr.ss_family, c->protocol, &sock);
	if (err) {
		kfree(at);
		return err;
	}
	isk = sock->sk;
	taps_sync_sockopts(&tsk->sk, isk);
	err = taps_optrec_apply(tsk, sock);
	if (err) {
		sock_release(sock);
		kfree(at);
		return err;
	}
	if (sock_flag(&tsk->sk, SOCK_KEEPOPEN))
		sock_set_keepalive(isk);

	at->tsk = tsk;
	at->sock = sock;
	at->idx = idx;
	write_lock_bh(&isk->sk_callback_lock);
	at->state_change = isk->sk_state_change;
	at->error_report = isk->sk_error_report;
	isk->sk_user_data = at;
	isk->sk_state_change = taps_attempt_state_change;
	isk->sk_error_report = taps_attempt_error_report;
	write_unlock_bh(&isk->sk_callback_lock);
	list_add_tail(&at->node, &tsk->attempts);

	/* bind() before connect(): the source address of its family. */
	if (tsk->bound && tsk->local.family == c->addr.ss_family) {
		isk->sk_reuse = SK_CAN_REUSE;
		err = kernel_bind(sock, (struct sockaddr *)&tsk->local, taps_ep_len(&tsk->local));
		if (err) {
			taps_attempt_abort(at);
			return err;
		}
	}
	err = kernel_connect(sock, (struct sockaddr *)&c->addr, c->addrlen, O_NONBLOCK);
	if (err && err != -EINPROGRESS) {
		taps_attempt_abort(at);
		return err;
	}
	/* Already settled (loopback, SCTP on a closed port): look now. */
	taps_kick(tsk);
	return 0;
}

/* Start the next candidate that can be started; false when none is left. */
static bool taps_start_next(struct taps_sock *tsk)
{
	while (tsk->next_cand < tsk->n_cand) {
		int err = taps_attempt_start(tsk, tsk->next_cand++);

		if (!err)
			return true;
		tsk->n_failed++;
		taps_note_err(tsk, -err);
	}
	return false;
}

static void taps_race_free(struct taps_sock *tsk)
{
	struct taps_attempt *at, *tmp;

	list_for_each_entry_safe(at, tmp, &tsk->attempts, node)
		taps_attempt_abort(at);
	kfree(tsk->cand);
	tsk->cand = NULL;
	cancel_delayed_work(&tsk->delay_work);
	cancel_delayed_work(&tsk->timeout_work);
}

static void taps_race_fail(struct taps_sock *tsk, int err)
{
	struct sock *sk = &tsk->sk;

	taps_race_free(tsk);
	WRITE_ONCE(tsk->state, TAPS_STATE_CLOSED);
	sk->sk_state = TCP_CLOSE;
	sk->sk_socket->state = SS_UNCONNECTED;
	WRITE_ONCE(sk->sk_err, err);
	sk_error_report(sk);
	sk->sk_state_change(sk);
}

static void taps_race_won(struct taps_sock *tsk, struct taps_attempt *at)
{
	struct sock *sk = &tsk->sk;
	struct socket *inner = at->sock;
	struct sock *isk = inner->sk;

	list_del(&at->node);
	taps_attempt_unhook(at);
	tsk->winner = at->idx;
	tsk->protocol = tsk->cand[at->idx].protocol;
	tsk->connect_us = ktime_us_delta(ktime_get(), tsk->start);
	kfree(at);
	taps_race_free(tsk);

	/* Wakeups of the connection go to the waiters of the AF_TAPS socket:
	 * poll, epoll, blocking calls and kTLS all sleep on sk_sleep(sk).
	 */
	taps_redirect_wq(isk, sk->sk_socket);
	taps_attach_file(inner, sk->sk_socket);
	tsk->inner = inner;
	sk->sk_state = TCP_ESTABLISHED;
	sk->sk_socket->state = SS_CONNECTED;
	/* Publish @inner before the state: pairs with taps_inner(). */
	smp_store_release(&tsk->state, TAPS_STATE_ESTABLISHED);
	sk->sk_state_change(sk);
	sk->sk_write_space(sk);
}

/*
 * -errno of a failed attempt, 0 while it may still connect.  A failed
 * non-blocking connect is writable too: only the socket error and state
 * say anything.  A one-to-one SCTP socket stays in SCTP_SS_CLOSED (==
 * TCP_CLOSE) through COOKIE-WAIT and COOKIE-ECHOED, so for SCTP only
 * sk_err counts: ABORT, INIT retransmissions exhausted and ICMP errors
 * all set it.
 */
static int taps_attempt_error(const struct taps_attempt *at)
{
	const struct sock *isk = at->sock->sk;
	int err = READ_ONCE(isk->sk_err);

	if (err)
		return -err;
	if (isk->sk_protocol != IPPROTO_SCTP && READ_ONCE(isk->sk_state) == TCP_CLOSE)
		return -ETIMEDOUT;
	return 0;
}

/* Look at every attempt; caller holds the socket lock. */
static void __taps_race_step(struct taps_sock *tsk)
{
	struct taps_attempt *at, *tmp;
	bool failed = false;
	int err;

	list_for_each_entry_safe(at, tmp, &tsk->attempts, node) {
		struct sock *isk = at->sock->sk;
		int st = READ_ONCE(isk->sk_state);

		if (st == TCP_ESTABLISHED) {
			taps_race_won(tsk, at);
			return;
		}
		err = taps_attempt_error(at);
		if (!err)
			continue;
		taps_note_err(tsk, -err);
		tsk->n_failed++;
		taps_attempt_abort(at);
		failed = true;
	}

	if (failed && taps_start_next(tsk))
		mod_delayed_work(taps_wq, &tsk->delay_work,
				 msecs_to_jiffies(tsk->attempt_delay_ms));
	if (list_empty(&tsk->attempts) && tsk->next_cand >= tsk->n_cand)
		taps_race_fail(tsk, tsk->race_err ?: ETIMEDOUT);
}

static void taps_event_work(struct work_struct *work)
{
	struct taps_sock *tsk = container_of(work, struct taps_sock, event_work);
	struct sock *sk = &tsk->sk;

	lock_sock(sk);
	if (tsk->state == TAPS_STATE_ESTABLISHING)
		__taps_race_step(tsk);
	release_sock(sk);
	sock_put(sk);
}

static void taps_delay_work(struct work_struct *work)
{
	struct taps_sock *tsk = container_of(to_delayed_work(work), struct taps_sock,
					     delay_work);
	struct sock *sk = &tsk->sk;

	lock_sock(sk);
	if (tsk->state == TAPS_STATE_ESTABLISHING) {
		if (taps_start_next(tsk) && tsk->next_cand < tsk->n_cand)
			queue_delayed_work(taps_wq, &tsk->delay_work,
					   msecs_to_jiffies(tsk->attempt_delay_ms));
		if (list_empty(&tsk->attempts) && tsk->next_cand >= tsk->n_cand)
			taps_race_fail(tsk, tsk->race_err ?: ETIMEDOUT);
	}
	release_sock(sk);
}

static void taps_timeout_work(struct work_struct *work)
{
	struct taps_sock *tsk = container_of(to_delayed_work(work), struct taps_sock,
					     timeout_work);
	struct sock *sk = &tsk->sk;

	lock_sock(sk);
	if (tsk->state == TAPS_STATE_ESTABLISHING) {
		__taps_race_step(tsk);
		if (tsk->state == TAPS_STATE_ESTABLISHING)
			taps_race_fail(tsk, ETIMEDOUT);
	}
	release_sock(sk);
}

/*
 * Protocols for a SOCK_STREAM race, in preference order.  TCP, SCTP on
 * stream 0 and MPTCP all give a reliable, ordered, congestion-controlled
 * byte stream (RFC 9621 section 4.2, protocol stack equivalence).
 */
int taps_gather_protocols(const struct taps_sock *tsk, int *proto, bool listener)
{
	const u8 *sel = tsk->sel;
	u32 mask = tsk->protocols;
	int n = 0;

	if (sel[taps_sel_idx(TAPS_SEL_RELIABILITY)] == TAPS_PREF_PROHIBIT ||
	    sel[taps_sel_idx(TAPS_SEL_PRESERVE_ORDER)] == TAPS_PREF_PROHIBIT ||
	    sel[taps_sel_idx(TAPS_SEL_CONGESTION_CONTROL)] == TAPS_PREF_PROHIBIT)
		return 0;

	switch (sel[taps_sel_idx(TAPS_SEL_MULTISTREAMING)]) {
	case TAPS_PREF_REQUIRE:
		mask &= TAPS_P_SCTP;
		break;
	case TAPS_PREF_PROHIBIT:
		mask &= ~TAPS_P_SCTP;
		break;
	}
	switch (sel[taps_sel_idx(TAPS_SEL_MULTIPATH)]) {
	case TAPS_PREF_REQUIRE:
		mask &= TAPS_P_MPTCP;
		break;
	case TAPS_PREF_PREFER:
		break;
	default:
		mask &= ~TAPS_P_MPTCP;
		break;
	}

	/* A listener's MPTCP socket takes plain TCP too, on the same port. */
	if (listener && (mask & TAPS_P_MPTCP))
		mask &= ~TAPS_P_TCP;
	if (mask & TAPS_P_MPTCP)
		proto[n++] = IPPROTO_MPTCP;
	if ((mask & TAPS_P_SCTP) &&
	    sel[taps_sel_idx(TAPS_SEL_MULTISTREAMING)] == TAPS_PREF_PREFER)
		proto[n++] = IPPROTO_SCTP;
	if (mask & TAPS_P_TCP)
		proto[n++] = IPPROTO_TCP;
	if ((mask & TAPS_P_SCTP) &&
	    sel[taps_sel_idx(TAPS_SEL_MULTISTREAMING)] != TAPS_PREF_PREFER)
		proto[n++] = IPPROTO_SCTP;
	return n;
}

/*
 * Order endpoints as RFC 8305 section 4 does: the first endpoint's family
 * first, then alternate families, keeping the given order within each.
 */
static u32 taps_order_endpoints(const struct taps_endpoint *first, const struct taps_sock *tsk,
				const struct taps_endpoint **out)
{
	const struct taps_endpoint *all[TAPS_MAX_RACE_ENDPOINTS];
	u32 n = 0, i, k, used = 0;
	bool taken[TAPS_MAX_RACE_ENDPOINTS] = {};
	int fam;

	if (first)
		all[n++] = first;
	for (i = 0; i < tsk->n_ep; i++)
		all[n++] = &tsk->ep[i];
	if (!n)
		return 0;

	fam = all[0]->family;
	while (used < n) {
		for (k = 0; k < n; k++) {
			if (!taken[k] && all[k]->family == fam)
				break;
		}
		if (k == n) {
			/* This family is exhausted: the rest in order. */
			for (k = 0; k < n; k++)
				if (!taken[k])
					break;
		}
		taken[k] = true;
		out[used++] = all[k];
		fam = fam == AF_INET ? AF_INET6 : AF_INET;
	}
	return n;
}

static int taps_gather(struct taps_sock *tsk, const struct taps_endpoint *first)
{
	const struct taps_endpoint *ep[TAPS_MAX_RACE_ENDPOINTS];
	int proto[TAPS_NPROTO];
	u32 n_ep, e, n = 0;
	int n_proto, p;

	n_ep = taps_order_endpoints(first, tsk, ep);
	if (!n_ep)
		return -EDESTADDRREQ;
	n_proto = taps_gather_protocols(tsk, proto, false);
	if (!n_proto)
		return -EPROTONOSUPPORT;

	tsk->cand = kcalloc(n_ep * n_proto, sizeof(*tsk->cand), GFP_KERNEL);
	if (!tsk->cand)
		return -ENOMEM;
	for (e = 0; e < n_ep; e++) {
		for (p = 0; p < n_proto; p++) {
			struct taps_candidate *c = &tsk->cand[n++];

			c->addrlen = taps_ep_len(ep[e]);
			memcpy(&c->addr, ep[e], c->addrlen);
			c->protocol = proto[p];
		}
	}
	tsk->n_cand = n;
	return 0;
}

int taps_race_start(struct taps_sock *tsk, const struct taps_endpoint *first)
{
	int err;

	taps_race_free(tsk);
	tsk->n_cand = 0;
	tsk->next_cand = 0;
	tsk->n_attempts = 0;
	tsk->n_failed = 0;
	tsk->winner = 0;
	tsk->race_err = 0;
	tsk->protocol = 0;
	tsk->connect_us = 0;
	tsk->start = ktime_get();

	err = taps_gather(tsk, first);
	if (err)
		return err;

	WRITE_ONCE(tsk->state, TAPS_STATE_ESTABLISHING);
	tsk->sk.sk_state = TCP_SYN_SENT;
	tsk->sk.sk_socket->state = SS_CONNECTING;
	if (tsk->conn_timeout_ms)
		queue_delayed_work(taps_wq, &tsk->timeout_work,
				   msecs_to_jiffies(tsk->conn_timeout_ms));
	if (taps_start_next(tsk) && tsk->next_cand < tsk->n_cand)
		queue_delayed_work(taps_wq, &tsk->delay_work,
				   msecs_to_jiffies(tsk->attempt_delay_ms));
	if (list_empty(&tsk->attempts) && tsk->next_cand >= tsk->n_cand)
		taps_race_fail(tsk, tsk->race_err ?: ETIMEDOUT);
	return 0;
}

/*
 * Cancel a race: called from release with the socket lock held.  Attempts
 * are unhooked here, so no callback queues work afterwards; the caller
 * then cancels the works without the lock (they take it).
 */
void taps_race_stop(struct taps_sock *tsk)
{
	taps_race_free(tsk);
}

void taps_race_init(struct taps_sock *tsk)
{
	INIT_LIST_HEAD(&tsk->attempts);
	INIT_DELAYED_WORK(&tsk->delay_work, taps_delay_work);
	INIT_DELAYED_WORK(&tsk->timeout_work, taps_timeout_work);
	INIT_WORK(&tsk->event_work, taps_event_work);
}

/*
 * SOL_SOCKET options never reach a family's setsockopt in 6.1: copy what
 * the application set on the AF_TAPS socket to the connection.  Called
 * when an attempt starts and before each forwarded call.
 */
void taps_sync_sockopts(struct sock *sk, struct sock *isk)
{
	if (unlikely(READ_ONCE(isk->sk_rcvtimeo) != READ_ONCE(sk->sk_rcvtimeo)))
		WRITE_ONCE(isk->sk_rcvtimeo, READ_ONCE(sk->sk_rcvtimeo));
	if (unlikely(READ_ONCE(isk->sk_sndtimeo) != READ_ONCE(sk->sk_sndtimeo)))
		WRITE_ONCE(isk->sk_sndtimeo, READ_ONCE(sk->sk_sndtimeo));
	if (unlikely(READ_ONCE(isk->sk_mark) != READ_ONCE(sk->sk_mark))) {
		WRITE_ONCE(isk->sk_mark, READ_ONCE(sk->sk_mark));
		sk_dst_reset(isk);
	}
	if (unlikely(READ_ONCE(isk->sk_priority) != READ_ONCE(sk->sk_priority)))
		WRITE_ONCE(isk->sk_priority, READ_ONCE(sk->sk_priority));
	if (sk->sk_userlocks & SOCK_SNDBUF_LOCK &&
	    unlikely(READ_ONCE(isk->sk_sndbuf) != READ_ONCE(sk->sk_sndbuf))) {
		isk->sk_userlocks |= SOCK_SNDBUF_LOCK;
		WRITE_ONCE(isk->sk_sndbuf, READ_ONCE(sk->sk_sndbuf));
	}
	if (sk->sk_userlocks & SOCK_RCVBUF_LOCK &&
	    unlikely(READ_ONCE(isk->sk_rcvbuf) != READ_ONCE(sk->sk_rcvbuf))) {
		isk->sk_userlocks |= SOCK_RCVBUF_LOCK;
		WRITE_ONCE(isk->sk_rcvbuf, READ_ONCE(sk->sk_rcvbuf));
	}
	if (unlikely(sock_flag(sk, SOCK_LINGER) != sock_flag(isk, SOCK_LINGER) ||
		     isk->sk_lingertime != sk->sk_lingertime)) {
		isk->sk_lingertime = sk->sk_lingertime;
		if (sock_flag(sk, SOCK_LINGER))
			sock_set_flag(isk, SOCK_LINGER);
		else
			sock_reset_flag(isk, SOCK_LINGER);
	}
	if (unlikely(READ_ONCE(isk->sk_bound_dev_if) != READ_ONCE(sk->sk_bound_dev_if) &&
		     isk->sk_state == TCP_CLOSE))
		WRITE_ONCE(isk->sk_bound_dev_if, READ_ONCE(sk->sk_bound_dev_if));
}
