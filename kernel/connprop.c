// SPDX-License-Identifier: GPL-2.0
/*
 * AF_TAPS: connection properties (RFC 9622 section 8.1).
 *
 * An application sets a property at SOL_TAPS without knowing which
 * protocol will win; each maps to the options the protocol has
 * (Documentation/uapi.md, "Connection properties"):
 *
 *  TAPS_CONN_ABORT_TIMEOUT    TCP: TCP_USER_TIMEOUT.  SCTP: SCTP_RTOINFO,
 *                             SCTP_ASSOCINFO and SCTP_PEER_ADDR_THLDS, so
 *                             that the association aborts after the
 *                             timeout (below).
 *  TAPS_CONN_CAPACITY_PROFILE DSCP (IP_TOS, IPV6_TCLASS), no Nagle
 *                             (TCP_NODELAY, SCTP_NODELAY) and a small
 *                             TCP_NOTSENT_LOWAT for the low-latency ones.
 *  TAPS_CONN_SEND_LOWAT       TCP_NOTSENT_LOWAT.
 *  TAPS_CONN_PRIORITY         SO_PRIORITY of every protocol.
 *
 * TAPS_QUERY_PROPERTIES reads them back with what the connection's
 * protocol offers and has in force (taps_connprop_query()).
 *
 * Before connect() the options are recorded with the application's own
 * (optrec.c, taps_optrec_put()) and so replayed on every attempt and
 * kernel listener; on a connection they are set on it at once.  Nothing
 * here needs a privilege a plain socket would not: DSCP, SO_PRIORITY 0..6
 * and the protocol options are the owner's to set on their own sockets.
 */

#include <linux/in.h>
#include <linux/in6.h>
#include <linux/pkt_sched.h>
#include <linux/sctp.h>
#include <linux/sockptr.h>
#include <linux/tcp.h>
#include <net/inet_connection_sock.h>
#include <net/net_namespace.h>
#include <net/sock.h>
#include <net/tcp.h>
#if IS_ENABLED(CONFIG_IP_SCTP)
#include <net/sctp/structs.h>
#endif

#include "taps.h"

/* The not-sent low-water mark of the low-latency profiles, in bytes. */
#define TAPS_PROFILE_LOWAT		16384
/* SCTP: the shortest retransmission timeout the abort timeout sets, ms. */
#define TAPS_SCTP_MIN_RTO		10
/* SCTP: timeouts before the abort when RTO.Max is the abort timeout / 8. */
#define TAPS_SCTP_ABORT_SLICES		8

/* One protocol option a property maps to. */
struct taps_propopt {
	int		level;
	int		optname;
	unsigned int	len;
	union {
		int			i;
		struct sctp_rtoinfo	rto;
		struct sctp_assocparams	ap;
		struct sctp_paddrthlds	th;
	} v;
};

/* At most: IP_TOS, IPV6_TCLASS, TCP_NODELAY, SCTP_NODELAY, TCP_NOTSENT_LOWAT. */
#define TAPS_PROP_MAX_OPTS	5

void taps_connprop_init(struct taps_sock *tsk)
{
	memset(&tsk->prop, 0, sizeof(tsk->prop));
	tsk->prop.priority = TAPS_PRIORITY_DEFAULT;
}

/*
 * DSCPs of RFC 4594's service classes, as RFC 9622 section 8.1.6 suggests:
 * Low-Latency Data for the non-interactive low-latency profile, Multimedia
 * Streaming for constant rate, High-Throughput Data for capacity seeking,
 * Lower Effort (RFC 8622) for the scavenger.
 */
static int taps_profile_tos(u32 profile)
{
	switch (profile) {
	case TAPS_PROFILE_SCAVENGER:
		return 1 << 2;		/* LE */
	case TAPS_PROFILE_INTERACTIVE:
		return 32 << 2;		/* CS4, real-time interactive */
	case TAPS_PROFILE_LOW_LATENCY:
		return 18 << 2;		/* AF21 */
	case TAPS_PROFILE_CONSTANT_RATE:
		return 26 << 2;		/* AF31 */
	case TAPS_PROFILE_CAPACITY_SEEKING:
		return 10 << 2;		/* AF11 */
	}
	return 0;
}

static bool taps_profile_low_latency(u32 profile)
{
	return profile == TAPS_PROFILE_INTERACTIVE || profile == TAPS_PROFILE_LOW_LATENCY;
}

/* TCP_NOTSENT_LOWAT: the property, else the profile's, else the sysctl's (0). */
static int taps_prop_lowat(const struct taps_connprop *p)
{
	if (p->send_lowat)
		return p->send_lowat;
	return taps_profile_low_latency(p->profile) ? TAPS_PROFILE_LOWAT : 0;
}

/* The low-water mark of DRAINED notifications (notify.c); 0: none. */
u32 taps_connprop_lowat(const struct taps_sock *tsk)
{
	return taps_prop_lowat(&tsk->prop);
}

/* SO_PRIORITY of connPriority: lower is more important, 100 the default. */
static int taps_prop_so_priority(u32 prio)
{
	if (prio < TAPS_PRIORITY_DEFAULT)
		return TC_PRIO_INTERACTIVE;
	if (prio > TAPS_PRIORITY_DEFAULT)
		return TC_PRIO_BULK;
	return TC_PRIO_BESTEFFORT;
}

static void taps_opt_int(struct taps_propopt *o, int level, int optname, int val)
{
	o->level = level;
	o->optname = optname;
	o->len = sizeof(int);
	o->v.i = val;
}

/*
 * SCTP has no user timeout: an association aborts when a timeout finds
 * Association.Max.Retrans timeouts before it (RFC 9260 section 8.1; in
 * 6.1, at timeout max_retrans + 1), each RTO doubling up to RTO.Max.  For
 * an abort timeout @t: RTO.Max = @t / 8, and the timeouts counted from
 * RTO.Min, doubling up to RTO.Max, until they reach @t; when @t / 8 is
 * below RTO.Min, RTO.Min = RTO.Initial = RTO.Max = @t / 8 and 8 timeouts.
 * The abort comes after @t plus at most @t / 8 when the path's RTO is
 * RTO.Min (a short RTT), earlier on a path whose RTO is larger.
 *
 * Heartbeats count too: a path in the potentially-failed state (RFC 7829,
 * on by default in 6.1) is probed every RTO, and each probe unanswered
 * adds to the count, which would abort the association at about 2/3 of
 * @t.  So the abort timeout keeps paths out of that state (@th: the
 * threshold at its maximum); a multihomed peer then fails over after
 * Path.Max.Retrans timeouts instead, as without RFC 7829.
 *
 * @t = 0 restores the namespace's defaults.  False when SCTP is not loaded.
 */
static bool taps_prop_sctp_abort(struct net *net, u32 t, struct sctp_rtoinfo *rto,
				 struct sctp_assocparams *ap, struct sctp_paddrthlds *th)
{
#if IS_ENABLED(CONFIG_IP_SCTP)
	u32 min = READ_ONCE(net->sctp.rto_min);
	u32 init = READ_ONCE(net->sctp.rto_initial);
	u32 max, cur, k = 0;
	u64 sum = 0;

	if (!min)
		return false;	/* no SCTP in this namespace yet */
	memset(rto, 0, sizeof(*rto));
	memset(ap, 0, sizeof(*ap));
	memset(th, 0, sizeof(*th));	/* any address: every path */
	th->spt_pathpfthld = t ? U16_MAX : READ_ONCE(net->sctp.pf_retrans);
	if (!t) {
		rto->srto_initial = init;
		rto->srto_min = min;
		rto->srto_max = READ_ONCE(net->sctp.rto_max);
		ap->sasoc_asocmaxrxt = READ_ONCE(net->sctp.max_retrans_association);
		return true;
	}
	max = max_t(u32, t / TAPS_SCTP_ABORT_SLICES, TAPS_SCTP_MIN_RTO);
	if (max <= min)
		min = max;
	rto->srto_min = min;
	rto->srto_max = max;
	rto->srto_initial = min(init, max);
	/* At most log2(max / min) + TAPS_SCTP_ABORT_SLICES rounds. */
	for (cur = min; sum < t && k < U16_MAX; k++) {
		sum += cur;
		cur = min(cur * 2, max);
	}
	/* Abort at timeout k: k - 1 before it; 0 would mean "unchanged". */
	ap->sasoc_asocmaxrxt = max_t(u32, k - 1, 1);
	return true;
#else
	return false;
#endif
}

/* The options @optname maps to with the values @p; their number. */
static int taps_prop_opts(struct taps_sock *tsk, int optname, const struct taps_connprop *p,
			  struct taps_propopt *o)
{
	int n = 0, tos;

	switch (optname) {
	case TAPS_CONN_ABORT_TIMEOUT:
		taps_opt_int(&o[n++], SOL_TCP, TCP_USER_TIMEOUT, p->abort_ms);
		if (taps_prop_sctp_abort(sock_net(&tsk->sk), p->abort_ms, &o[n].v.rto,
					 &o[n + 1].v.ap, &o[n + 2].v.th)) {
			o[n].level = SOL_SCTP;
			o[n].optname = SCTP_RTOINFO;
			o[n++].len = sizeof(struct sctp_rtoinfo);
			o[n].level = SOL_SCTP;
			o[n].optname = SCTP_ASSOCINFO;
			o[n++].len = sizeof(struct sctp_assocparams);
			o[n].level = SOL_SCTP;
			o[n].optname = SCTP_PEER_ADDR_THLDS;
			o[n++].len = sizeof(struct sctp_paddrthlds);
		}
		break;
	case TAPS_CONN_CAPACITY_PROFILE:
		tos = taps_profile_tos(p->profile);
		taps_opt_int(&o[n++], SOL_IP, IP_TOS, tos);
		taps_opt_int(&o[n++], SOL_IPV6, IPV6_TCLASS, tos);
		taps_opt_int(&o[n++], SOL_TCP, TCP_NODELAY,
			     p->profile == TAPS_PROFILE_INTERACTIVE);
		taps_opt_int(&o[n++], SOL_SCTP, SCTP_NODELAY,
			     p->profile == TAPS_PROFILE_INTERACTIVE);
		fallthrough;
	case TAPS_CONN_SEND_LOWAT:
		taps_opt_int(&o[n++], SOL_TCP, TCP_NOTSENT_LOWAT, taps_prop_lowat(p));
		break;
	}
	return n;
}

/* Is it an error that the connection refused @err for a property? */
static bool taps_prop_missing(int err)
{
	/* 6.1's MPTCP takes neither TCP_USER_TIMEOUT nor TCP_NOTSENT_LOWAT. */
	return err == -EOPNOTSUPP || err == -ENOPROTOOPT;
}

/* Set the options on the connection @inner; the caller holds the socket lock. */
static int taps_prop_apply(struct socket *inner, const struct taps_propopt *o, int n)
{
	int i, err;

	for (i = 0; i < n; i++) {
		if (!taps_optrec_fits(o[i].level, inner->sk))
			continue;
		err = inner->ops->setsockopt(inner, o[i].level, o[i].optname,
					     KERNEL_SOCKPTR((void *)&o[i].v), o[i].len);
		if (err && !taps_prop_missing(err))
			return err;
	}
	return 0;
}

static int taps_prop_record(struct taps_sock *tsk, const struct taps_propopt *o, int n)
{
	int i, err;

	for (i = 0; i < n; i++) {
		err = taps_optrec_put(tsk, o[i].level, o[i].optname, &o[i].v, o[i].len);
		if (err)
			return err;
	}
	return 0;
}

/* Check @val for @optname and put it in @p. */
static int taps_prop_parse(int optname, int val, struct taps_connprop *p)
{
	switch (optname) {
	case TAPS_CONN_ABORT_TIMEOUT:
		if (val < 0 || val > TAPS_ABORT_TIMEOUT_MAX)
			return -EINVAL;
		p->abort_ms = val;
		return 0;
	case TAPS_CONN_PRIORITY:
		if (val < 0 || val > TAPS_PRIORITY_MAX)
			return -EINVAL;
		p->priority = val;
		return 0;
	case TAPS_CONN_CAPACITY_PROFILE:
		if (val < TAPS_PROFILE_DEFAULT || val > TAPS_PROFILE_CAPACITY_SEEKING)
			return -EINVAL;
		p->profile = val;
		return 0;
	case TAPS_CONN_SEND_LOWAT:
		if (val < 0)
			return -EINVAL;
		p->send_lowat = val;
		return 0;
	}
	return -ENOPROTOOPT;
}

bool taps_connprop_is(int optname)
{
	return optname >= TAPS_CONN_ABORT_TIMEOUT && optname <= TAPS_CONN_SEND_LOWAT;
}

int taps_connprop_set(struct taps_sock *tsk, int optname, sockptr_t optval, unsigned int optlen)
{
	struct taps_propopt o[TAPS_PROP_MAX_OPTS];
	struct sock *sk = &tsk->sk;
	struct taps_connprop p;
	struct socket *inner;
	int val, n, err;

	if (optlen < sizeof(int))
		return -EINVAL;
	if (copy_from_sockptr(&val, optval, sizeof(val)))
		return -EFAULT;

	lock_sock(sk);
	p = tsk->prop;
	err = taps_prop_parse(optname, val, &p);
	if (err)
		goto out;
	n = taps_prop_opts(tsk, optname, &p, o);
	inner = taps_inner(tsk);
	switch (tsk->state) {
	case TAPS_STATE_UNCONNECTED:
	case TAPS_STATE_CLOSED:
		err = taps_prop_record(tsk, o, n);
		break;
	case TAPS_STATE_ESTABLISHED:
	case TAPS_STATE_CLOSING:
		err = taps_prop_apply(inner, o, n);
		break;
	case TAPS_STATE_ESTABLISHING:
		err = -EALREADY;
		break;
	default:	/* a Listener: as for protocol options */
		err = -ENOTCONN;
		break;
	}
	if (err)
		goto out;
	tsk->prop = p;
	if (optname == TAPS_CONN_PRIORITY) {
		/* Copied to attempts and the connection (taps_sync_sockopts()). */
		WRITE_ONCE(sk->sk_priority, taps_prop_so_priority(p.priority));
		if (inner)
			taps_sync_sockopts(tsk, inner->sk);
	}
out:
	release_sock(sk);
	return err;
}

int taps_connprop_get(struct taps_sock *tsk, int optname, int *val)
{
	const struct taps_connprop *p = &tsk->prop;

	sock_owned_by_me(&tsk->sk);
	switch (optname) {
	case TAPS_CONN_ABORT_TIMEOUT:
		*val = p->abort_ms;
		return 0;
	case TAPS_CONN_PRIORITY:
		*val = p->priority;
		return 0;
	case TAPS_CONN_CAPACITY_PROFILE:
		*val = p->profile;
		return 0;
	case TAPS_CONN_SEND_LOWAT:
		*val = p->send_lowat;
		return 0;
	}
	return -ENOPROTOOPT;
}

/* ---- QUERY_PROPERTIES -------------------------------------------------- */

#if IS_ENABLED(CONFIG_IP_SCTP)
/*
 * SCTP's state, under its socket lock: the association of a one-to-one
 * socket, its path MTU, the largest message sent in one packet, whether
 * the peer does PR-SCTP, and when it aborts with no answer: the timeouts,
 * RTO.Min doubling up to RTO.Max, until the one after max_retrans.
 */
static void taps_query_sctp(struct sock *isk, struct taps_properties *tp)
{
	const struct sctp_association *asoc;
	u64 sum = 0, cur;
	u32 k;

	lock_sock(isk);
	asoc = list_first_entry_or_null(&sctp_sk(isk)->ep->asocs,
					struct sctp_association, asocs);
	if (asoc) {
		tp->tp_path_mtu = asoc->pathmtu;
		tp->tp_singular_max = asoc->frag_point;
		if (asoc->peer.prsctp_capable)
			tp->tp_caps |= TAPS_CAP_PARTIAL_RELIABILITY;
		cur = jiffies_to_msecs(asoc->rto_min);
		for (k = 0; k <= asoc->max_retrans; k++) {
			sum += cur;
			cur = min_t(u64, cur * 2, jiffies_to_msecs(asoc->rto_max));
		}
		tp->tp_user_timeout = min_t(u64, sum, U32_MAX);
	}
	release_sock(isk);
}
#endif

/* What the connection @inner offers and has in force. */
static void taps_query_conn(struct taps_sock *tsk, struct socket *inner,
			    struct taps_properties *tp)
{
	struct sock *isk = inner->sk;
	struct dst_entry *dst;

	tp->tp_protocol = tsk->protocol;
	tp->tp_caps = TAPS_CAP_RELIABLE | TAPS_CAP_ORDERED | TAPS_CAP_CONGESTION_CONTROL;
	/* A byte stream: no message boundary to keep, any size. */
	tp->tp_send_msg_max = U64_MAX;
	tp->tp_recv_msg_max = U64_MAX;
	dst = sk_dst_get(isk);
	if (dst) {
		tp->tp_path_mtu = dst_mtu(dst);
		dst_release(dst);
	}
	switch (isk->sk_protocol) {
	case IPPROTO_TCP:
		tp->tp_user_timeout = READ_ONCE(inet_csk(isk)->icsk_user_timeout);
		break;
	case IPPROTO_MPTCP:
		tp->tp_caps |= TAPS_CAP_MULTIPATH;
		break;
	case IPPROTO_SCTP:
		tp->tp_caps |= TAPS_CAP_MULTISTREAMING;
#if IS_ENABLED(CONFIG_IP_SCTP)
		taps_query_sctp(isk, tp);
#endif
		break;
	}
}

/* getsockopt(TAPS_QUERY_PROPERTIES), without the socket lock. */
int taps_connprop_query(struct taps_sock *tsk, char __user *optval, int __user *optlen)
{
	struct sock *sk = &tsk->sk;
	struct taps_properties tp;
	struct socket *inner;
	int len;

	if (get_user(len, optlen))
		return -EFAULT;
	if (len < 0)
		return -EINVAL;
	len = min_t(unsigned int, len, sizeof(tp));
	memset(&tp, 0, sizeof(tp));

	lock_sock(sk);
	tp.tp_abort_timeout = tsk->prop.abort_ms;
	tp.tp_priority = tsk->prop.priority;
	tp.tp_capacity_profile = tsk->prop.profile;
	tp.tp_send_lowat = tsk->prop.send_lowat;
	inner = taps_inner(tsk);
	/* No early data: TCP_FASTOPEN_CONNECT is refused, SCTP has none. */
	tp.tp_zero_rtt_max = 0;
	if (inner)
		taps_query_conn(tsk, inner, &tp);
	release_sock(sk);

	if (copy_to_user(optval, &tp, len))
		return -EFAULT;
	if (put_user(len, optlen))
		return -EFAULT;
	return 0;
}
