// SPDX-License-Identifier: GPL-2.0
/*
 * AF_TAPS: candidate gathering and racing (RFC 9623 section 4, RFC 8305).
 *
 * Every attempt is an inner socket (inner.c) connecting with O_NONBLOCK.
 * Its state_change and error_report callbacks run in softirq context, and
 * the attempt delay and connection timeout are hrtimers: all of them only
 * queue event_work, which steps the race under the outer socket lock, as
 * the socket's owner (taps_owner_enter()): the first attempt to reach
 * ESTABLISHED wins, a failed one starts the next candidate at once, and the
 * next one starts when the attempt delay has passed.  Decisions compare
 * ktime_get() with the race's own @next_at and @deadline, so a stray wakeup
 * does nothing.
 */

#define pr_fmt(fmt) "taps: " fmt

#include <linux/cred.h>
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

/*
 * An attempt's state changed.  While the race is starting an attempt it
 * looks at the attempts itself right after (taps_start_next_and_look()),
 * so no work item is needed: the barrier pairs with the one there, and
 * either the race sees this change or this sees it no longer looking.
 */
static void taps_attempt_event(struct taps_sock *tsk)
{
	/* Order the attempt's state change before reading @starting. */
	smp_mb();
	if (!READ_ONCE(tsk->starting))
		taps_kick(tsk);
}

static void taps_attempt_state_change(struct sock *isk)
{
	void (*chain)(struct sock *sk);
	struct taps_attempt *at;

	read_lock_bh(&isk->sk_callback_lock);
	at = isk->sk_user_data;
	if (at) {
		chain = at->state_change;
		taps_attempt_event(at->tsk);
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
		taps_attempt_event(at->tsk);
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
	at->tsk->n_inflight--;
	taps_attempt_unhook(at);
	sock_no_linger(at->sock->sk);
	taps_inner_release(at->sock);
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

/* Candidate @c failed with errno @err: count it, cache it, tell the monitor. */
static void taps_attempt_failed(struct taps_sock *tsk, const struct taps_candidate *c, int err)
{
	struct net *net = sock_net(&tsk->sk);
	int stat;

	tsk->n_failed++;
	taps_note_err(tsk, err);
	switch (taps_err_rank(err)) {
	case 3:
		stat = TAPS_STATS_A_FAIL_REFUSED;
		break;
	case 2:
		stat = TAPS_STATS_A_FAIL_UNREACH;
		break;
	case 1:
		stat = TAPS_STATS_A_FAIL_TIMEOUT;
		break;
	default:
		stat = TAPS_STATS_A_FAIL_OTHER;
		break;
	}
	taps_stat_inc(net, stat);
	/* Only what the network said is a property of the path: a local
	 * error (an option the protocol refused, no memory, a taken port)
	 * says nothing about the destination to other sockets.
	 */
	if (!tsk->isolate && taps_err_rank(err))
		taps_cache_update(net, tsk->sk.sk_uid, tsk->sk.sk_type, c, err, 0);
	taps_nl_conn_event(tsk, TAPS_EVENT_ATTEMPT_FAILED, c, err);
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
	taps_stat_inc(net, TAPS_STATS_A_ATTEMPTS);
	at = kzalloc(sizeof(*at), GFP_KERNEL_ACCOUNT);
	if (!at)
		return -ENOMEM;

	err = taps_inner_create(tsk, c->addr.ss_family, c->protocol, &sock);
	if (err) {
		kfree(at);
		return err;
	}
	isk = sock->sk;
	taps_sync_sockopts_fresh(tsk, isk);
	err = taps_optrec_apply(tsk, sock);
	if (err) {
		taps_inner_release(sock);
		kfree(at);
		return err;
	}

	at->tsk = tsk;
	at->sock = sock;
	at->idx = idx;
	at->start = ktime_get();
	write_lock_bh(&isk->sk_callback_lock);
	at->state_change = isk->sk_state_change;
	at->error_report = isk->sk_error_report;
	isk->sk_user_data = at;
	isk->sk_state_change = taps_attempt_state_change;
	isk->sk_error_report = taps_attempt_error_report;
	write_unlock_bh(&isk->sk_callback_lock);
	list_add_tail(&at->node, &tsk->attempts);
	tsk->n_inflight++;

	/* bind() before connect(): the source address of its family. */
	if (tsk->bound && tsk->local.family == c->addr.ss_family) {
		isk->sk_reuse = SK_CAN_REUSE;
		err = taps_inner_bind(tsk, sock, &tsk->local);
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
	taps_attempt_event(tsk);
	return 0;
}

/*
 * Start the next candidate that can be started, if an attempt may open;
 * false when none did.  The next one after it waits the attempt delay.
 */
static bool taps_start_next(struct taps_sock *tsk)
{
	while (tsk->next_cand < tsk->n_cand && tsk->n_inflight < TAPS_MAX_INFLIGHT) {
		u32 idx = tsk->next_cand++;
		int err = taps_attempt_start(tsk, idx);

		if (!err) {
			tsk->next_at = ktime_add_ms(ktime_get(), tsk->race_delay_ms);
			return true;
		}
		taps_attempt_failed(tsk, &tsk->cand[idx], -err);
	}
	return false;
}

static void taps_race_free(struct taps_sock *tsk)
{
	struct taps_attempt *at, *tmp;

	sock_owned_by_me(&tsk->sk);
	list_for_each_entry_safe(at, tmp, &tsk->attempts, node)
		taps_attempt_abort(at);
	kfree(tsk->cand);
	tsk->cand = NULL;
	/* The callbacks only queue event_work: no deadlock under the lock. */
	hrtimer_cancel(&tsk->delay_timer);
	hrtimer_cancel(&tsk->timeout_timer);
}

static void taps_race_fail(struct taps_sock *tsk, int err)
{
	struct sock *sk = &tsk->sk;

	taps_stat_inc(sock_net(sk), TAPS_STATS_A_RACES_FAILED);
	taps_nl_conn_event(tsk, TAPS_EVENT_RACE_FAILED, NULL, err);
	taps_race_free(tsk);
	WRITE_ONCE(tsk->state, TAPS_STATE_CLOSED);
	sk->sk_state = TCP_CLOSE;
	sk->sk_socket->state = SS_UNCONNECTED;
	WRITE_ONCE(sk->sk_err, err);
	sk_error_report(sk);	/* SIGIO with POLL_ERR, as TCP */
	sk->sk_state_change(sk);
}

static void taps_race_won(struct taps_sock *tsk, struct taps_attempt *at)
{
	const struct taps_candidate *c = &tsk->cand[at->idx];
	struct sock *sk = &tsk->sk;
	struct net *net = sock_net(sk);
	struct socket *inner = at->sock;
	struct sock *isk = inner->sk;
	ktime_t now = ktime_get();

	list_del(&at->node);
	tsk->n_inflight--;
	taps_attempt_unhook(at);
	tsk->winner = at->idx;
	tsk->protocol = c->protocol;
	tsk->connect_us = ktime_us_delta(now, tsk->start);

	taps_stat_inc(net, TAPS_STATS_A_WINS_TCP + taps_proto_idx(c->protocol));
	taps_stat_inc(net, c->addr.ss_family == AF_INET ? TAPS_STATS_A_WINS_INET :
			   TAPS_STATS_A_WINS_INET6);
	taps_stat_connect_time(net, tsk->connect_us);
	if (!tsk->isolate)
		taps_cache_update(net, sk->sk_uid, sk->sk_type, c, 0,
				  ktime_us_delta(now, at->start));
	kfree(at);
	taps_race_free(tsk);

	/* Wakeups of the connection go to the waiters of the AF_TAPS socket:
	 * poll, epoll, blocking calls and kTLS all sleep on sk_sleep(sk).
	 */
	taps_redirect_wq(isk, sk->sk_socket);
	/* A message socket's TCP carries frames; any other needs none.
	 * (@c went with the candidates: tsk->protocol is its protocol.)
	 */
	if (tsk->frame && tsk->protocol == IPPROTO_TCP)
		taps_frame_attach(tsk, inner);
	else
		taps_frame_release(tsk);
	tsk->inner = inner;
	sk->sk_state = TCP_ESTABLISHED;
	sk->sk_socket->state = SS_CONNECTED;
	/* Publish @inner before the state: pairs with taps_inner(). */
	smp_store_release(&tsk->state, TAPS_STATE_ESTABLISHED);
	taps_nl_conn_event(tsk, TAPS_EVENT_WINNER, NULL, 0);
	sk->sk_state_change(sk);
	sk->sk_write_space(sk);
	sk_wake_async(sk, SOCK_WAKE_IO, POLL_OUT);	/* as tcp_finish_connect() */
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

/*
 * Start the next candidate, then look at it at once: on loopback and veth
 * its handshake is over before kernel_connect() returns, and deciding here
 * saves a work item and a wakeup.  @starting keeps its callbacks from
 * queueing one meanwhile; the barrier pairs with the one in
 * taps_attempt_event(): either this sees the attempt's state change, or
 * the callback sees @starting clear and queues the work.
 */
static bool taps_start_next_and_look(struct taps_sock *tsk)
{
	bool started;

	WRITE_ONCE(tsk->starting, true);
	started = taps_start_next(tsk);
	WRITE_ONCE(tsk->starting, false);
	/* Clear @starting before the caller reads the attempts' states. */
	smp_mb();
	return started;
}

/*
 * Step the race: look at every attempt, start the next candidate when one
 * failed or the attempt delay has passed, end the race when nothing is
 * left or the connection timeout has passed, and arm the delay timer for
 * the next candidate.  Caller holds the socket lock.
 */
static void __taps_race_step(struct taps_sock *tsk)
{
	struct taps_attempt *at, *tmp;
	bool failed;
	ktime_t now;
	int err;

	sock_owned_by_me(&tsk->sk);
again:
	failed = false;
	list_for_each_entry_safe(at, tmp, &tsk->attempts, node) {
		struct sock *isk = at->sock->sk;
		int st = READ_ONCE(isk->sk_state);

		/* A peer that accepted and closed at once leaves the attempt
		 * in CLOSE_WAIT (SCTP: SCTP_SS_CLOSING) before we look: it was
		 * established, and the application reads EOF, as with TCP.
		 */
		if ((1 << st) & (TCPF_ESTABLISHED | TCPF_CLOSE_WAIT)) {
			taps_race_won(tsk, at);
			return;
		}
		err = taps_attempt_error(at);
		if (!err)
			continue;
		taps_attempt_failed(tsk, &tsk->cand[at->idx], -err);
		taps_attempt_abort(at);
		failed = true;
	}

	now = ktime_get();
	if (tsk->deadline && ktime_compare(now, tsk->deadline) >= 0) {
		taps_race_fail(tsk, ETIMEDOUT);
		return;
	}
	/* A failure starts the next candidate at once (RFC 8305 section 5). */
	if ((failed || ktime_compare(now, tsk->next_at) >= 0) &&
	    taps_start_next_and_look(tsk))
		goto again;
	if (list_empty(&tsk->attempts) && tsk->next_cand >= tsk->n_cand) {
		taps_race_fail(tsk, tsk->race_err ?: ETIMEDOUT);
		return;
	}
	/* With TAPS_MAX_INFLIGHT open, the next one waits for a failure. */
	if (tsk->next_cand < tsk->n_cand && tsk->n_inflight < TAPS_MAX_INFLIGHT)
		hrtimer_start(&tsk->delay_timer, tsk->next_at, HRTIMER_MODE_ABS);
}

static void taps_event_work(struct work_struct *work)
{
	struct taps_sock *tsk = container_of(work, struct taps_sock, event_work);
	struct sock *sk = &tsk->sk;
	struct taps_owner owner;

	lock_sock(sk);
	if (tsk->state == TAPS_STATE_ESTABLISHING) {
		taps_owner_enter(tsk, &owner);
		__taps_race_step(tsk);
		taps_owner_exit(&owner);
	}
	release_sock(sk);
	sock_put(sk);
}

/* The attempt delay and the connection timeout: the work item decides. */
static enum hrtimer_restart taps_delay_timer_fn(struct hrtimer *timer)
{
	taps_kick(container_of(timer, struct taps_sock, delay_timer));
	return HRTIMER_NORESTART;
}

static enum hrtimer_restart taps_timeout_timer_fn(struct hrtimer *timer)
{
	taps_kick(container_of(timer, struct taps_sock, timeout_timer));
	return HRTIMER_NORESTART;
}

/*
 * Protocols for a race, in preference order.  For SOCK_STREAM, TCP, SCTP
 * on stream 0 and MPTCP all give a reliable, ordered, congestion-controlled
 * byte stream (RFC 9621 section 4.2, protocol stack equivalence); for
 * SOCK_SEQPACKET only what keeps message boundaries (taps_type_protocols()).
 * What the application prefers comes first (*@n_pref of them), the rest in
 * the system policy's @order.  The policy's prohibitions are applied after.
 */
int taps_gather_protocols(const struct taps_sock *tsk, const u8 *order, int *proto,
			  int *n_pref, bool listener)
{
	const u8 *sel = tsk->sel;
	u32 mask = tsk->protocols & taps_type_protocols(tsk->sk.sk_type), pref = 0;
	int n = 0, i;

	*n_pref = 0;
	if (sel[taps_sel_idx(TAPS_SEL_RELIABILITY)] == TAPS_PREF_PROHIBIT ||
	    sel[taps_sel_idx(TAPS_SEL_PRESERVE_ORDER)] == TAPS_PREF_PROHIBIT ||
	    sel[taps_sel_idx(TAPS_SEL_CONGESTION_CONTROL)] == TAPS_PREF_PROHIBIT)
		return 0;

	switch (sel[taps_sel_idx(TAPS_SEL_MULTISTREAMING)]) {
	case TAPS_PREF_REQUIRE:
		mask &= TAPS_P_SCTP;
		break;
	case TAPS_PREF_PREFER:
		pref |= TAPS_P_SCTP;
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
		/* MPTCP only ever races because the application asked. */
		pref |= TAPS_P_MPTCP;
		break;
	default:
		mask &= ~TAPS_P_MPTCP;
		break;
	}

	/* Messages: SCTP carries them natively, framed TCP is the fallback. */
	if (tsk->sk.sk_type == SOCK_SEQPACKET &&
	    sel[taps_sel_idx(TAPS_SEL_MULTISTREAMING)] != TAPS_PREF_AVOID)
		pref |= TAPS_P_SCTP;
	/* A listener's MPTCP socket takes plain TCP too, on the same port. */
	if (listener && (mask & TAPS_P_MPTCP))
		mask &= ~TAPS_P_TCP;
	pref &= mask;
	if (pref & TAPS_P_MPTCP)
		proto[n++] = IPPROTO_MPTCP;
	if (pref & TAPS_P_SCTP)
		proto[n++] = IPPROTO_SCTP;
	*n_pref = n;
	for (i = 0; i < TAPS_NPROTO; i++)
		if ((mask & order[i]) && !(pref & order[i]))
			proto[n++] = taps_proto_of_bit(order[i]);
	return n;
}

/*
 * Order endpoints as RFC 8305 section 4 does: the first endpoint's family
 * first, then alternate families, keeping the given order within each.
 * An IPv4-mapped IPv6 address counts as IPv4.
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

	fam = taps_ep_family(all[0]);
	while (used < n) {
		for (k = 0; k < n; k++) {
			if (!taken[k] && taps_ep_family(all[k]) == fam)
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

/* The longest-prefix rule for @ep, or NULL; under rcu_read_lock(). */
static const struct taps_rule *taps_rule_match(const struct taps_policy *pol,
					       const struct taps_endpoint *ep)
{
	struct sockaddr_storage ss = {};
	struct taps_addr a;
	u32 i;

	memcpy(&ss, ep, taps_ep_len(ep));
	taps_sockaddr_to_addr(&ss, &a);
	for (i = 0; i < pol->n_rules; i++)
		if (taps_addr_in_prefix(&a, &pol->rules[i].prefix, pol->rules[i].prefixlen))
			return &pol->rules[i];
	return NULL;
}

/* The sort keys of a candidate, 0 to TAPS_NPROTO - 1 both. */
enum taps_cand_key {
	TAPS_KEY_SLOT,		/* the protocol's place at its endpoint */
	TAPS_KEY_RANK,		/* the cache's rank */
};

static u8 taps_cand_key(const struct taps_candidate *c, enum taps_cand_key key)
{
	return key == TAPS_KEY_RANK ? c->rank : c->slot;
}

/* Stable sort of the candidates by @key; true if the order changed. */
static bool taps_cand_sort(struct taps_candidate *cand, u32 n, enum taps_cand_key key)
{
	struct taps_candidate *tmp;
	bool changed = false;
	u32 i, k = 0;
	u8 v;

	for (i = 1; i < n; i++)
		if (taps_cand_key(&cand[i], key) < taps_cand_key(&cand[i - 1], key))
			changed = true;
	if (!changed)
		return false;
	tmp = kmemdup(cand, n * sizeof(*cand), GFP_KERNEL_ACCOUNT);
	if (!tmp)
		return false;
	for (v = 0; v < TAPS_NPROTO; v++)
		for (i = 0; i < n; i++)
			if (taps_cand_key(&tmp[i], key) == v)
				cand[k++] = tmp[i];
	kfree(tmp);
	return true;
}

/*
 * Candidates = endpoints (RFC 8305 order) x protocols the application
 * allows (its preference first, then the policy's order), less what the
 * policy and the endpoint's rule prohibit; the rule's preferred protocol
 * goes ahead of the policy's order.  They race protocol-major: every
 * endpoint with its first protocol, families interleaved, then every
 * endpoint with its second, as Happy Eyeballs v3 sorts QUIC and TCP: a
 * broken family costs one attempt delay (the next candidate is the other
 * family), and so does a blocked protocol to one address (the next is the
 * next protocol).  Then the cached state moves the last winner first and
 * recent failures last, and the policy caps the count.
 * Documentation/design.md has the rule with an example per failure.
 */
static int taps_gather(struct taps_sock *tsk, const struct taps_endpoint *first)
{
	const struct taps_endpoint *ep[TAPS_MAX_RACE_ENDPOINTS];
	struct net *net = sock_net(&tsk->sk);
	u32 n_ep, e, n = 0, max, rule_delay = 0, pol_delay, first_c;
	int proto[TAPS_NPROTO], n_proto, n_pref, p;
	const struct taps_policy *pol;
	bool hit;

	n_ep = taps_order_endpoints(first, tsk, ep);
	if (!n_ep)
		return -EDESTADDRREQ;
	tsk->cand = kcalloc(n_ep * TAPS_NPROTO, sizeof(*tsk->cand), GFP_KERNEL_ACCOUNT);
	if (!tsk->cand)
		return -ENOMEM;

	rcu_read_lock();
	pol = rcu_dereference(taps_pernet(net)->policy);
	n_proto = taps_gather_protocols(tsk, pol->order, proto, &n_pref, false);
	if (!n_proto) {
		rcu_read_unlock();
		return -EPROTONOSUPPORT;
	}
	for (e = 0; e < n_ep; e++) {
		const struct taps_rule *rule = taps_rule_match(pol, ep[e]);
		u32 allowed = pol->protocols, at = n;

		if (rule) {
			tsk->info_flags |= TAPS_INFO_F_POLICY;
			allowed &= ~rule->prohibit;
			if (!e)
				rule_delay = rule->attempt_delay_ms;
		}
		first_c = n;
		for (p = 0; p < n_proto; p++) {
			struct taps_candidate *c;

			if (!(allowed & BIT(taps_proto_idx(proto[p]))))
				continue;
			if (p < n_pref)
				at = n + 1;
			c = &tsk->cand[n++];
			c->addrlen = taps_ep_len(ep[e]);
			memcpy(&c->addr, ep[e], c->addrlen);
			c->protocol = proto[p];
		}
		/* The rule's preference goes after the application's own. */
		if (rule && rule->prefer && at < n) {
			for (p = at; p < n; p++) {
				if (tsk->cand[p].protocol == taps_proto_of_bit(rule->prefer)) {
					struct taps_candidate c = tsk->cand[p];

					memmove(&tsk->cand[at + 1], &tsk->cand[at],
						(p - at) * sizeof(c));
					tsk->cand[at] = c;
					break;
				}
			}
		}
		for (p = first_c; p < n; p++)
			tsk->cand[p].slot = p - first_c;
	}
	max = pol->max_candidates;
	pol_delay = pol->attempt_delay_ms;
	rcu_read_unlock();

	if (!n) {
		taps_stat_inc(net, TAPS_STATS_A_POLICY_DENIED);
		return -EPERM;
	}
	taps_cand_sort(tsk->cand, n, TAPS_KEY_SLOT);
	if (tsk->isolate) {
		tsk->info_flags |= TAPS_INFO_F_ISOLATED;
	} else if (taps_cache_rank(net, tsk->sk.sk_uid, tsk->sk.sk_type, tsk->cand, n, &hit)) {
		taps_stat_inc(net, hit ? TAPS_STATS_A_CACHE_HITS : TAPS_STATS_A_CACHE_MISSES);
		if (taps_cand_sort(tsk->cand, n, TAPS_KEY_RANK))
			tsk->info_flags |= TAPS_INFO_F_CACHED;
	}
	tsk->n_cand = min(n, max);
	tsk->race_delay_ms = tsk->attempt_delay_ms ?: rule_delay ?: pol_delay;
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
	tsk->info_flags = 0;
	tsk->start = ktime_get();
	tsk->deadline = 0;

	err = taps_gather(tsk, first);
	if (err)
		return err;
	if (tsk->sk.sk_type == SOCK_SEQPACKET && (tsk->protocols & TAPS_P_TCP)) {
		err = taps_frame_alloc(tsk);
		if (err)
			return err;
	}
	/* Later attempts start from a work item, with these credentials. */
	put_cred(tsk->cred);
	tsk->cred = get_current_cred();
	taps_stat_inc(sock_net(&tsk->sk), TAPS_STATS_A_RACES);
	taps_nl_conn_event(tsk, TAPS_EVENT_RACE_START, &tsk->cand[0], 0);

	WRITE_ONCE(tsk->state, TAPS_STATE_ESTABLISHING);
	tsk->sk.sk_state = TCP_SYN_SENT;
	tsk->sk.sk_socket->state = SS_CONNECTING;
	if (tsk->conn_timeout_ms) {
		tsk->deadline = ktime_add_ms(tsk->start, tsk->conn_timeout_ms);
		hrtimer_start(&tsk->timeout_timer, tsk->deadline, HRTIMER_MODE_ABS);
	}
	/* The first candidate starts now, in connect() itself. */
	tsk->next_at = tsk->start;
	__taps_race_step(tsk);
	return 0;
}

/*
 * Cancel a race: called from release with the socket lock held.  Attempts
 * are unhooked and the timers cancelled here, so nothing queues event_work
 * afterwards; the caller then cancels it without the lock (it takes it).
 */
void taps_race_stop(struct taps_sock *tsk)
{
	taps_race_free(tsk);
}

void taps_race_init(struct taps_sock *tsk)
{
	INIT_LIST_HEAD(&tsk->attempts);
	hrtimer_init(&tsk->delay_timer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS);
	tsk->delay_timer.function = taps_delay_timer_fn;
	hrtimer_init(&tsk->timeout_timer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS);
	tsk->timeout_timer.function = taps_timeout_timer_fn;
	INIT_WORK(&tsk->event_work, taps_event_work);
}
