// SPDX-License-Identifier: GPL-2.0
/*
 * AF_TAPS: socket options.
 *
 * SOL_TAPS holds the Preconnection (endpoints, selection properties,
 * racing parameters) and TAPS_INFO.  The protocol levels (SOL_TCP,
 * SOL_SCTP, SOL_IP, SOL_IPV6, SOL_TLS, SOL_MPTCP) go, for the options
 * allowlist.c lets through, to the connection that won, so that e.g.
 * kTLS is set up exactly as on a TCP socket; before it, optrec.c records
 * them for the attempts.
 */

#include <linux/in.h>
#include <linux/in6.h>
#include <linux/uaccess.h>
#include <net/sock.h>
#include <net/tcp.h>

#include "taps.h"

#ifndef SOL_TLS
#define SOL_TLS		282
#endif
#ifndef SOL_MPTCP
#define SOL_MPTCP	284
#endif

/* RFC 9622 section 6.2 defaults, for a byte stream. */
static const u8 taps_sel_default[TAPS_SEL_COUNT] = {
	[TAPS_SEL_RELIABILITY - TAPS_SEL_FIRST]		= TAPS_PREF_REQUIRE,
	[TAPS_SEL_PRESERVE_ORDER - TAPS_SEL_FIRST]	= TAPS_PREF_REQUIRE,
	[TAPS_SEL_CONGESTION_CONTROL - TAPS_SEL_FIRST]	= TAPS_PREF_REQUIRE,
	/* RFC 9622 prefers multistreaming, but one byte stream cannot use
	 * it: No Preference keeps TCP first (Documentation/uapi.md).
	 */
	[TAPS_SEL_MULTISTREAMING - TAPS_SEL_FIRST]	= TAPS_PREF_NO_PREFERENCE,
	[TAPS_SEL_MULTIPATH - TAPS_SEL_FIRST]		= TAPS_PREF_NO_PREFERENCE,
	[TAPS_SEL_ZERO_RTT_MSG - TAPS_SEL_FIRST]	= TAPS_PREF_NO_PREFERENCE,
};

void taps_sockopt_init(struct taps_sock *tsk)
{
	memcpy(tsk->sel, taps_sel_default, sizeof(tsk->sel));
	/* Framed TCP needs a peer that frames: only when asked for. */
	tsk->protocols = tsk->sk.sk_type == SOCK_SEQPACKET ? TAPS_P_SCTP :
			 TAPS_P_TCP | TAPS_P_SCTP;
	tsk->attempt_delay_ms = 0;	/* the namespace's policy decides */
	tsk->conn_timeout_ms = 0;
	tsk->isolate = false;
	taps_connprop_init(tsk);
	taps_notify_init(tsk);
}

static bool taps_pass_level(int level)
{
	switch (level) {
	case SOL_TCP:
	case SOL_SCTP:
	case SOL_IP:
	case SOL_IPV6:
	case SOL_TLS:
	case SOL_MPTCP:
		return true;
	}
	return false;
}

/* The Preconnection can change only before connect(). */
static int taps_check_unconnected(const struct taps_sock *tsk)
{
	switch (tsk->state) {
	case TAPS_STATE_ESTABLISHING:
		return -EALREADY;
	case TAPS_STATE_ESTABLISHED:
	case TAPS_STATE_CLOSING:
		return -EISCONN;
	}
	return 0;
}

/*
 * The list lives outside the sock, allocated to its length (most sockets
 * never set one): read and checked before the lock, swapped under it.
 */
static int taps_set_endpoints(struct taps_sock *tsk, sockptr_t optval, unsigned int optlen)
{
	struct taps_endpoint *ep = NULL, *old;
	u32 n, i;
	int err;

	if (optlen % sizeof(*ep) || optlen > TAPS_MAX_ENDPOINTS * sizeof(*ep))
		return -EINVAL;
	n = optlen / sizeof(*ep);
	if (n) {
		ep = kmalloc(optlen, GFP_KERNEL_ACCOUNT);
		if (!ep)
			return -ENOMEM;
		if (copy_from_sockptr(ep, optval, optlen)) {
			kfree(ep);
			return -EFAULT;
		}
	}
	for (i = 0; i < n; i++) {
		if (ep[i].family != AF_INET && ep[i].family != AF_INET6) {
			kfree(ep);
			return -EAFNOSUPPORT;
		}
	}
	lock_sock(&tsk->sk);
	err = taps_check_unconnected(tsk);
	if (!err) {
		old = tsk->ep;
		tsk->ep = ep;
		tsk->n_ep = n;
		ep = old;
	}
	release_sock(&tsk->sk);
	kfree(ep);
	return err;
}

int taps_setsockopt(struct socket *sock, int level, int optname,
		    sockptr_t optval, unsigned int optlen)
{
	struct sock *sk = sock->sk;
	struct taps_sock *tsk = taps_sk(sk);
	struct socket *inner;
	int val, err = 0;

	if (taps_pass_level(level)) {
		char ulp[TCP_ULP_NAME_MAX];

		inner = taps_inner(tsk);
		if (!inner)
			return taps_optrec_set(tsk, level, optname, optval, optlen);
		err = taps_opt_check_set(level, optname, optval, optlen, true, ulp);
		if (err)
			return err;
		/* A ULP would take the bytes the framing reads and writes. */
		if (level == SOL_TCP && optname == TCP_ULP && tsk->frame)
			return -EOPNOTSUPP;
		/* The name checked, not the user's buffer, which may change. */
		if (level == SOL_TCP && optname == TCP_ULP) {
			optval = KERNEL_SOCKPTR(ulp);
			optlen = strlen(ulp);
		}
		return inner->ops->setsockopt(inner, level, optname, optval, optlen);
	}
	if (level != SOL_TAPS)
		return -ENOPROTOOPT;

	if (optname == TAPS_REMOTE_ENDPOINTS)
		return taps_set_endpoints(tsk, optval, optlen);
	if (taps_connprop_is(optname))
		return taps_connprop_set(tsk, optname, optval, optlen);
	if (optname == TAPS_NOTIFY)
		return taps_notify_set(tsk, optval, optlen);

	switch (optname) {
	case TAPS_ATTEMPT_DELAY:
	case TAPS_CONN_TIMEOUT:
	case TAPS_PROTOCOLS:
	case TAPS_ISOLATE:
	case TAPS_SEL_FIRST ... TAPS_SEL_LAST:
		break;
	default:
		return -ENOPROTOOPT;
	}
	if (optlen < sizeof(int))
		return -EINVAL;
	if (copy_from_sockptr(&val, optval, sizeof(val)))
		return -EFAULT;

	lock_sock(sk);
	switch (optname) {
	case TAPS_ATTEMPT_DELAY:
		if (val < TAPS_MIN_ATTEMPT_DELAY_MS || val > TAPS_MAX_ATTEMPT_DELAY_MS)
			err = -EINVAL;
		else
			tsk->attempt_delay_ms = val;
		break;
	case TAPS_CONN_TIMEOUT:
		if (val < 0)
			err = -EINVAL;
		else
			tsk->conn_timeout_ms = val;
		break;
	case TAPS_PROTOCOLS:
		if (!val || (val & ~taps_type_protocols(sk->sk_type)))
			err = -EINVAL;
		else
			tsk->protocols = val;
		break;
	case TAPS_ISOLATE:
		if (val != 0 && val != 1)
			err = -EINVAL;
		else
			tsk->isolate = val;
		break;
	default:
		if (val < TAPS_PREF_NO_PREFERENCE || val > TAPS_PREF_PROHIBIT)
			err = -EINVAL;
		else
			tsk->sel[taps_sel_idx(optname)] = val;
		break;
	}
	release_sock(sk);
	return err;
}

static void taps_fill_addr(struct socket *inner, struct __kernel_sockaddr_storage *ss, int peer)
{
	memset(ss, 0, sizeof(*ss));
	ss->ss_family = AF_UNSPEC;
	if (inner && inner->ops->getname(inner, (struct sockaddr *)ss, peer) < 0)
		ss->ss_family = AF_UNSPEC;
}

/* The attempt delay of the race, or the one the next race would get. */
static u32 taps_attempt_delay(struct taps_sock *tsk)
{
	if (tsk->n_cand)
		return tsk->race_delay_ms;
	return tsk->attempt_delay_ms ?: taps_policy_delay(sock_net(&tsk->sk));
}

static void taps_fill_info(struct taps_sock *tsk, struct taps_info *info)
{
	struct socket *inner = taps_inner(tsk);

	memset(info, 0, sizeof(*info));
	info->ti_state = tsk->state;
	info->ti_protocol = tsk->protocol;
	info->ti_candidates = tsk->n_cand;
	info->ti_attempts = tsk->n_attempts;
	info->ti_failed = tsk->n_failed;
	info->ti_winner = tsk->winner;
	info->ti_flags = tsk->info_flags;
	info->ti_attempt_delay_ms = taps_attempt_delay(tsk);
	info->ti_connect_us = tsk->connect_us;
	taps_fill_addr(inner, &info->ti_local, 0);
	taps_fill_addr(inner, &info->ti_remote, 1);
}

int taps_getsockopt(struct socket *sock, int level, int optname,
		    char __user *optval, int __user *optlen)
{
	struct sock *sk = sock->sk;
	struct taps_sock *tsk = taps_sk(sk);
	struct taps_info info;
	struct socket *inner;
	const void *src;
	int len, val;

	if (taps_pass_level(level)) {
		int err = taps_opt_check_get(level, optname);

		if (err)
			return err;
		inner = taps_inner(tsk);
		if (!inner)
			return taps_optrec_get(tsk, level, optname, optval, optlen);
		return inner->ops->getsockopt(inner, level, optname, optval, optlen);
	}
	if (level != SOL_TAPS)
		return -ENOPROTOOPT;
	if (optname == TAPS_QUERY_PROPERTIES)
		return taps_connprop_query(tsk, optval, optlen);

	if (get_user(len, optlen))
		return -EFAULT;
	if (len < 0)
		return -EINVAL;

	lock_sock(sk);
	switch (optname) {
	case TAPS_INFO:
		taps_fill_info(tsk, &info);
		src = &info;
		len = min_t(unsigned int, len, sizeof(info));
		break;
	case TAPS_REMOTE_ENDPOINTS:
		len = min_t(unsigned int, len, tsk->n_ep * sizeof(*tsk->ep));
		len -= len % sizeof(*tsk->ep);
		src = tsk->ep;
		break;
	case TAPS_ATTEMPT_DELAY:
	case TAPS_CONN_TIMEOUT:
	case TAPS_PROTOCOLS:
	case TAPS_ISOLATE:
	case TAPS_SEL_FIRST ... TAPS_SEL_LAST:
	case TAPS_CONN_ABORT_TIMEOUT ... TAPS_CONN_SEND_LOWAT:
	case TAPS_NOTIFY:
		if (optname == TAPS_NOTIFY)
			val = taps_notify_mask(tsk);
		else if (taps_connprop_is(optname))
			taps_connprop_get(tsk, optname, &val);
		else if (optname == TAPS_ATTEMPT_DELAY)
			val = tsk->attempt_delay_ms ?: taps_policy_delay(sock_net(sk));
		else if (optname == TAPS_ISOLATE)
			val = tsk->isolate;
		else if (optname == TAPS_CONN_TIMEOUT)
			val = tsk->conn_timeout_ms;
		else if (optname == TAPS_PROTOCOLS)
			val = tsk->protocols;
		else
			val = tsk->sel[taps_sel_idx(optname)];
		if (len < sizeof(int)) {
			release_sock(sk);
			return -EINVAL;
		}
		len = sizeof(int);
		src = &val;
		break;
	default:
		release_sock(sk);
		return -ENOPROTOOPT;
	}
	/* Copy under the lock: the endpoint list may change otherwise. */
	if (copy_to_user(optval, src, len)) {
		release_sock(sk);
		return -EFAULT;
	}
	release_sock(sk);

	if (put_user(len, optlen))
		return -EFAULT;
	return 0;
}
