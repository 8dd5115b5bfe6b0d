// SPDX-License-Identifier: GPL-2.0
/*
 * AF_TAPS: protocol-level options set before connect(), recorded and
 * replayed.
 *
 * Before the race there is no protocol socket to take SOL_TCP, SOL_SCTP,
 * SOL_IP, SOL_IPV6 or SOL_MPTCP options, yet applications set TCP_NODELAY,
 * TCP_CONGESTION, IP_TOS or SCTP_INITMSG before connect() and expect the
 * connection to have them.  setsockopt() records (level, optname, value);
 * each attempt's kernel socket, and each kernel listener, gets every record
 * whose level fits its protocol and family before it connects or binds.
 *
 * Only what allowlist.c lets through is recorded: options that set a value,
 * which replaying on a socket a work item creates cannot turn into an
 * action the caller did not take, and which no attempt's socket does more
 * with than the caller's own socket would.
 *
 * Nothing recorded may silently vanish:
 * - at record time the option is set on a short-lived kernel socket of a
 *   protocol of its level, after the records that would come before it on
 *   an attempt, in the caller's context: an invalid value, an unknown
 *   option or a missing privilege fails setsockopt() with the errno the
 *   protocol gives, as it would on a TCP or SCTP socket;
 * - at replay time an option the attempt's socket refuses (MPTCP does not
 *   take every TCP option) fails that attempt with that errno, as a refused
 *   connection would, and the race goes on with the next candidate.
 *
 * The connection properties (connprop.c) use the same records for what
 * they map to, through taps_optrec_put(): their values are computed and
 * bounded by the kernel, and a protocol that lacks an option (6.1's MPTCP
 * has no TCP_USER_TIMEOUT) keeps its default instead of failing the
 * attempt, as RFC 9622 properties are not selection properties.  A
 * property's record and the application's own for the same option are one
 * record: the later setsockopt() wins.
 *
 * The records belong to the AF_TAPS socket, under its lock, and are freed
 * by release().
 */

#include <linux/in.h>
#include <linux/in6.h>
#include <linux/net.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/sockptr.h>
#include <linux/tcp.h>
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

/*
 * Bounds (Documentation/uapi.md): 16 distinct (level, optname) pairs, each
 * value up to 256 bytes, enough for struct tcp_md5sig (216 bytes).
 */
#define TAPS_OPTREC_MAX		16
#define TAPS_OPTREC_MAX_LEN	256
/* The distinct options the connection properties map to (connprop.c). */
#define TAPS_OPTREC_PROP_MAX	9

/* struct taps_optrec - one option set before connect() */
struct taps_optrec {
	int		level;
	int		optname;
	unsigned int	len;
	bool		prop;	/* a connection property's: best effort */
	u8		val[];
};

/* struct taps_optrecs - the records of a socket, in the order first set */
struct taps_optrecs {
	u32			n;
	struct taps_optrec	*rec[TAPS_OPTREC_MAX + TAPS_OPTREC_PROP_MAX];
};

/* Does an option at @level go to the kernel socket @isk? */
bool taps_optrec_fits(int level, const struct sock *isk)
{
	switch (level) {
	case SOL_TCP:
		return isk->sk_protocol == IPPROTO_TCP || isk->sk_protocol == IPPROTO_MPTCP;
	case SOL_SCTP:
		return isk->sk_protocol == IPPROTO_SCTP;
	case SOL_MPTCP:
		return isk->sk_protocol == IPPROTO_MPTCP;
	case SOL_IP:
		/* IPv6 sockets take SOL_IP too: it is what their IPv4
		 * (v4-mapped) traffic uses, e.g. on a dual-stack listener.
		 */
		return true;
	case SOL_IPV6:
		return isk->sk_family == AF_INET6;
	}
	return false;
}

static int taps_optrec_set_one(struct socket *sock, const struct taps_optrec *rec)
{
	return sock->ops->setsockopt(sock, rec->level, rec->optname,
				     KERNEL_SOCKPTR((void *)rec->val), rec->len);
}

/*
 * Replay the records on an attempt's socket or a kernel listener, before
 * bind() and connect().  The caller holds the AF_TAPS socket lock; the
 * inner socket's lock nests inside it, as for kernel_connect().
 */
int taps_optrec_apply(struct taps_sock *tsk, struct socket *sock)
{
	const struct taps_optrecs *r = tsk->optrecs;
	u32 i;
	int err;

	if (!r)
		return 0;
	for (i = 0; i < r->n; i++) {
		if (!taps_optrec_fits(r->rec[i]->level, sock->sk))
			continue;
		err = taps_optrec_set_one(sock, r->rec[i]);
		if (err && !r->rec[i]->prop)
			return err;
	}
	return 0;
}

/* The kernel sockets an option at a level is tried on when recorded. */
static const struct {
	int	level;
	int	family;
	int	protocol;
} taps_optrec_probes[] = {
	{ SOL_TCP,	AF_INET,	IPPROTO_TCP },
	{ SOL_TCP,	AF_INET6,	IPPROTO_TCP },	/* e.g. TCP_MD5SIG for IPv6 */
	{ SOL_IP,	AF_INET,	IPPROTO_TCP },
	{ SOL_IPV6,	AF_INET6,	IPPROTO_TCP },
	{ SOL_SCTP,	AF_INET,	IPPROTO_SCTP },
	{ SOL_SCTP,	AF_INET6,	IPPROTO_SCTP },
};

/*
 * Set @rec on a fresh kernel socket, after the records an attempt would get
 * before it (SCTP_AUTH_CHUNK needs SCTP_AUTH_SUPPORTED first), leaving out
 * @old, the record @rec replaces.  Runs in the caller's context, so the
 * protocol checks the caller's privileges (TCP_CONGESTION outside
 * tcp_allowed_congestion_control, IP_TRANSPARENT).
 */
static int taps_optrec_probe(struct taps_sock *tsk, int family, int protocol,
			     const struct taps_optrec *rec, const struct taps_optrec *old)
{
	const struct taps_optrecs *r = tsk->optrecs;
	struct socket *sock;
	int err;
	u32 i;

	err = taps_inner_create(tsk, family, protocol, &sock);
	if (err)
		return err;
	for (i = 0; r && i < r->n; i++) {
		/* Already recorded, so accepted once: errors do not count. */
		if (r->rec[i] != old && taps_optrec_fits(r->rec[i]->level, sock->sk))
			taps_optrec_set_one(sock, r->rec[i]);
	}
	err = taps_optrec_set_one(sock, rec);
	taps_inner_release(sock);
	return err;
}

static bool taps_optrec_proto_missing(int err)
{
	return err == -EPROTONOSUPPORT || err == -ESOCKTNOSUPPORT || err == -EAFNOSUPPORT;
}

/* 0 when a socket of the level takes @rec, else the first socket's errno. */
static int taps_optrec_validate(struct taps_sock *tsk, const struct taps_optrec *rec,
				const struct taps_optrec *old)
{
	int err, first = -ENOPROTOOPT;	/* no protocol of this level here */
	bool tried = false;
	u32 i;

	for (i = 0; i < ARRAY_SIZE(taps_optrec_probes); i++) {
		if (taps_optrec_probes[i].level != rec->level)
			continue;
		err = taps_optrec_probe(tsk, taps_optrec_probes[i].family,
					taps_optrec_probes[i].protocol, rec, old);
		if (!err)
			return 0;
		if (taps_optrec_proto_missing(err))
			continue;
		if (!tried)
			first = err;
		tried = true;
	}
	return first;
}

static int taps_optrec_find(const struct taps_optrecs *r, int level, int optname)
{
	u32 i;

	for (i = 0; r && i < r->n; i++) {
		if (r->rec[i]->level == level && r->rec[i]->optname == optname)
			return i;
	}
	return -1;
}

/* The application's own records, which TAPS_OPTREC_MAX bounds. */
static u32 taps_optrec_user_count(const struct taps_optrecs *r)
{
	u32 i, n = 0;

	for (i = 0; i < r->n; i++)
		n += !r->rec[i]->prop;
	return n;
}

/* Recording is for the Preconnection: unconnected, or after a failed race. */
static bool taps_optrec_settable(const struct taps_sock *tsk)
{
	u32 state = READ_ONCE(tsk->state);

	return state == TAPS_STATE_UNCONNECTED || state == TAPS_STATE_CLOSED;
}

/*
 * setsockopt() at a protocol level with no connection yet.  The same
 * (level, optname) replaces its record in place; a failed call leaves the
 * records as they were.
 */
int taps_optrec_set(struct taps_sock *tsk, int level, int optname, sockptr_t optval,
		    unsigned int optlen)
{
	struct sock *sk = &tsk->sk;
	char ulp[TCP_ULP_NAME_MAX];
	struct taps_optrec *rec;
	struct taps_optrecs *r;
	int i, err;

	/* kTLS and other TAPS_OPT_CONN options need the connection. */
	err = taps_opt_check_set(level, optname, optval, optlen, false, ulp);
	if (err)
		return err;
	if (!taps_optrec_settable(tsk))
		return -ENOTCONN;
	if (optlen > TAPS_OPTREC_MAX_LEN)
		return -EINVAL;
	rec = kmalloc(struct_size(rec, val, optlen), GFP_KERNEL_ACCOUNT);
	if (!rec)
		return -ENOMEM;
	rec->level = level;
	rec->optname = optname;
	rec->len = optlen;
	rec->prop = false;
	if (optlen && copy_from_sockptr(rec->val, optval, optlen)) {
		kfree(rec);
		return -EFAULT;
	}

	lock_sock(sk);
	if (!taps_optrec_settable(tsk)) {
		err = -ENOTCONN;
		goto out;
	}
	if (!tsk->optrecs) {
		tsk->optrecs = kzalloc(sizeof(*tsk->optrecs), GFP_KERNEL_ACCOUNT);
		if (!tsk->optrecs) {
			err = -ENOMEM;
			goto out;
		}
	}
	r = tsk->optrecs;
	i = taps_optrec_find(r, level, optname);
	if (i < 0 && (taps_optrec_user_count(r) >= TAPS_OPTREC_MAX ||
		      r->n >= ARRAY_SIZE(r->rec))) {
		err = -ENOBUFS;
		goto out;
	}
	err = taps_optrec_validate(tsk, rec, i < 0 ? NULL : r->rec[i]);
	if (err)
		goto out;
	if (i < 0) {
		r->rec[r->n++] = rec;
	} else {
		kfree(r->rec[i]);
		r->rec[i] = rec;
	}
	rec = NULL;
out:
	release_sock(sk);
	kfree(rec);
	return err;
}

/*
 * getsockopt() at a protocol level with no connection yet: the value
 * recorded, as many bytes as fit, @optlen set to the bytes copied;
 * ENOTCONN when nothing is recorded.
 */
int taps_optrec_get(struct taps_sock *tsk, int level, int optname, char __user *optval,
		    int __user *optlen)
{
	struct sock *sk = &tsk->sk;
	int i, len, err = 0;

	lock_sock(sk);
	i = taps_optrec_find(tsk->optrecs, level, optname);
	if (i < 0) {
		err = -ENOTCONN;
		goto out;
	}
	if (get_user(len, optlen)) {
		err = -EFAULT;
		goto out;
	}
	if (len < 0) {
		err = -EINVAL;
		goto out;
	}
	len = min_t(unsigned int, len, tsk->optrecs->rec[i]->len);
	/* Copy under the lock: a setsockopt() may replace the record. */
	if (copy_to_user(optval, tsk->optrecs->rec[i]->val, len))
		err = -EFAULT;
out:
	release_sock(sk);
	if (!err && put_user(len, optlen))
		err = -EFAULT;
	return err;
}

/*
 * Record a connection property's option (connprop.c), with the socket lock
 * held and the state checked by the caller: @val is the kernel's, at most
 * TAPS_OPTREC_MAX_LEN bytes, one of at most TAPS_OPTREC_PROP_MAX options.
 */
int taps_optrec_put(struct taps_sock *tsk, int level, int optname, const void *val,
		    unsigned int len)
{
	struct taps_optrec *rec;
	struct taps_optrecs *r;
	int i;

	sock_owned_by_me(&tsk->sk);
	if (WARN_ON_ONCE(len > TAPS_OPTREC_MAX_LEN))
		return -EINVAL;
	if (!tsk->optrecs) {
		tsk->optrecs = kzalloc(sizeof(*tsk->optrecs), GFP_KERNEL_ACCOUNT);
		if (!tsk->optrecs)
			return -ENOMEM;
	}
	r = tsk->optrecs;
	i = taps_optrec_find(r, level, optname);
	if (i < 0 && r->n >= ARRAY_SIZE(r->rec))
		return -ENOBUFS;
	rec = kmalloc(struct_size(rec, val, len), GFP_KERNEL_ACCOUNT);
	if (!rec)
		return -ENOMEM;
	rec->level = level;
	rec->optname = optname;
	rec->len = len;
	rec->prop = true;
	memcpy(rec->val, val, len);
	if (i < 0) {
		r->rec[r->n++] = rec;
	} else {
		kfree(r->rec[i]);
		r->rec[i] = rec;
	}
	return 0;
}

/* From release(), with the socket lock held. */
void taps_optrec_free(struct taps_sock *tsk)
{
	struct taps_optrecs *r = tsk->optrecs;
	u32 i;

	if (!r)
		return;
	for (i = 0; i < r->n; i++)
		kfree(r->rec[i]);
	kfree(r);
	tsk->optrecs = NULL;
}
