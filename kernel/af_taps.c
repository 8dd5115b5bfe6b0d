// SPDX-License-Identifier: GPL-2.0
/*
 * AF_TAPS: Transport Services sockets.
 *
 * The application says what service it needs; the kernel gathers candidate
 * protocol stacks and endpoints, races them and hands back one connection
 * (RFC 9621 section 4, RFC 9623 section 4).  This file holds the family,
 * the socket lifetime and the SOL_TAPS options.
 */

#define pr_fmt(fmt) "taps: " fmt

#include <asm/ioctls.h>
#include <linux/cred.h>
#include <linux/genetlink.h>
#include <linux/module.h>
#include <linux/net.h>
#include <linux/sockios.h>
#include <net/sock.h>

#include "taps.h"

static int family = AF_TAPS;
module_param(family, int, 0444);
MODULE_PARM_DESC(family, "address family number to register (default 18, AF_ASH, never implemented)");

int taps_family __read_mostly;
struct workqueue_struct *taps_wq;

static int taps_release(struct socket *sock)
{
	struct sock *sk = sock->sk;
	struct taps_sock *tsk;
	struct socket *inner;

	if (!sk)
		return 0;
	tsk = taps_sk(sk);

	taps_net_unlink(tsk);
	lock_sock(sk);
	taps_notify_release(tsk);
	inner = tsk->inner;
	WRITE_ONCE(tsk->state, TAPS_STATE_CLOSED);
	taps_race_stop(tsk);
	taps_listen_stop(tsk);
	taps_optrec_free(tsk);
	release_sock(sk);

	/* No attempt is hooked and no timer armed any more: nothing queues
	 * event_work again.  A running one holds its own reference and finds
	 * the socket closed: no need to wait for it.
	 */
	if (cancel_work(&tsk->event_work))
		sock_put(sk);

	if (inner) {
		/* SO_LINGER {1, 0} on the AF_TAPS socket aborts (RST). */
		taps_sync_sockopts(tsk, inner->sk);
		taps_frame_release(tsk);
		taps_inner_release(inner);
		tsk->inner = NULL;
	}
	taps_frame_release(tsk);	/* a race that did not pick TCP */

	lock_sock(sk);
	sk->sk_state = TCP_CLOSE;
	sock_orphan(sk);
	sock->sk = NULL;
	release_sock(sk);
	sock_put(sk);
	return 0;
}

int taps_endpoint_from(struct taps_endpoint *ep, const struct sockaddr *uaddr, int len)
{
	memset(ep, 0, sizeof(*ep));
	switch (uaddr->sa_family) {
	case AF_INET:
		if (len < (int)sizeof(struct sockaddr_in))
			return -EINVAL;
		memcpy(&ep->sin, uaddr, sizeof(struct sockaddr_in));
		return 0;
	case AF_INET6:
		if (len < (int)sizeof(struct sockaddr_in6))
			return -EINVAL;
		memcpy(&ep->sin6, uaddr, sizeof(struct sockaddr_in6));
		return 0;
	}
	return -EAFNOSUPPORT;
}

/*
 * The address given to bind() or connect(): 1 for a valid sockaddr_taps,
 * 0 for another family (see taps_endpoint_from()), -EINVAL when too short
 * or when a sockaddr_taps has flags or padding set.
 */
int taps_addr_is_taps(const struct sockaddr *uaddr, int len)
{
	const struct sockaddr_taps *st = (const struct sockaddr_taps *)uaddr;

	if (len < (int)sizeof(uaddr->sa_family))
		return -EINVAL;
	if (uaddr->sa_family != taps_family)
		return 0;
	if (len < (int)sizeof(*st) || st->stap_flags ||
	    memchr_inv(st->stap_zero, 0, sizeof(st->stap_zero)))
		return -EINVAL;
	return 1;
}

static int taps_wait_connect(struct sock *sk, long *timeo)
{
	DEFINE_WAIT_FUNC(wait, woken_wake_function);
	struct taps_sock *tsk = taps_sk(sk);
	int err = 0;

	add_wait_queue(sk_sleep(sk), &wait);
	while (tsk->state == TAPS_STATE_ESTABLISHING) {
		if (!*timeo) {
			err = -EINPROGRESS;
			break;
		}
		if (signal_pending(current)) {
			err = sock_intr_errno(*timeo);
			break;
		}
		sk_wait_event(sk, timeo, tsk->state != TAPS_STATE_ESTABLISHING, &wait);
	}
	remove_wait_queue(sk_sleep(sk), &wait);
	return err;
}

static int taps_connect(struct socket *sock, struct sockaddr *uaddr, int addr_len, int flags)
{
	struct taps_endpoint first, *firstp = NULL;
	struct sock *sk = sock->sk;
	struct taps_sock *tsk = taps_sk(sk);
	long timeo;
	int err;

	err = taps_addr_is_taps(uaddr, addr_len);
	if (err < 0)
		return err;
	if (!err) {
		err = taps_endpoint_from(&first, uaddr, addr_len);
		if (err)
			return err;
		firstp = &first;
	}

	lock_sock(sk);
	switch (tsk->state) {
	case TAPS_STATE_ESTABLISHING:
		err = -EALREADY;
		goto out;
	case TAPS_STATE_ESTABLISHED:
	case TAPS_STATE_CLOSING:
		err = -EISCONN;
		goto out;
	case TAPS_STATE_LISTENING:
		err = -EINVAL;
		goto out;
	}

	sk->sk_err = 0;
	err = taps_race_start(tsk, firstp);
	if (err)
		goto out;

	timeo = sock_sndtimeo(sk, flags & O_NONBLOCK);
	/* As TCP: a non-blocking connect that got going says EINPROGRESS,
	 * even when the race was decided at once (loopback, veth); POLLOUT
	 * and SO_ERROR tell the rest.
	 */
	if (!timeo && tsk->state != TAPS_STATE_CLOSED) {
		err = -EINPROGRESS;
		goto out;
	}
	err = taps_wait_connect(sk, &timeo);
	if (err)
		goto out;
	if (tsk->state != TAPS_STATE_ESTABLISHED)
		err = sock_error(sk) ?: -ECONNABORTED;
out:
	release_sock(sk);
	return err;
}

static int taps_getname(struct socket *sock, struct sockaddr *uaddr, int peer)
{
	struct taps_sock *tsk = taps_sk(sock->sk);
	struct socket *inner = taps_inner(tsk);
	struct sockaddr_taps *st;
	int len;

	if (inner)
		return inner->ops->getname(inner, uaddr, peer);
	if (peer)
		return -ENOTCONN;
	lock_sock(sock->sk);
	if (tsk->state == TAPS_STATE_LISTENING) {
		len = taps_listen_getname(tsk, uaddr);
	} else {
		/* Not connected: no address yet, in the family's own form. */
		st = (struct sockaddr_taps *)uaddr;
		memset(st, 0, sizeof(*st));
		st->stap_family = taps_family;
		len = sizeof(*st);
	}
	release_sock(sock->sk);
	return len;
}

static __poll_t taps_poll(struct file *file, struct socket *sock, poll_table *wait)
{
	struct sock *sk = sock->sk;
	struct taps_sock *tsk = taps_sk(sk);
	struct socket *inner;
	__poll_t mask = 0;

	sock_poll_wait(file, sock, wait);
	inner = taps_inner(tsk);
	if (inner) {
		/* Its wakeups come to our wait queue (taps_race_won()). */
		mask = inner->ops->poll(file, inner, NULL);
		if (tsk->frame)
			mask = taps_frame_poll(tsk, mask);
		return mask | taps_notify_poll(tsk);
	}

	if (READ_ONCE(tsk->state) == TAPS_STATE_LISTENING)
		return taps_listen_pending(tsk) ? EPOLLIN | EPOLLRDNORM : 0;
	/* Unconnected, failed or a Listener shut down: as TCP in CLOSE. */
	if (READ_ONCE(tsk->state) != TAPS_STATE_ESTABLISHING)
		mask = EPOLLOUT | EPOLLWRNORM | EPOLLHUP;
	if (READ_ONCE(sk->sk_err))
		mask |= EPOLLERR;
	return mask;
}

/*
 * The data path forwards to the connection's own proto_ops, read at each
 * call (kTLS replaces them).  Every op is checked as the socket layer
 * checks it: SCTP's IPv6 ops, for one, have no sendpage or splice_read.
 */
static int taps_sendmsg(struct socket *sock, struct msghdr *msg, size_t len)
{
	struct taps_sock *tsk = taps_sk(sock->sk);
	struct socket *inner = taps_inner(tsk);
	int ret;

	if (!inner)
		return -ENOTCONN;
	taps_sync_sockopts(tsk, inner->sk);
	if (tsk->frame)
		ret = taps_frame_sendmsg(tsk, msg, len);
	else
		ret = inner->ops->sendmsg(inner, msg, len);
	if (ret > 0)
		taps_notify_sent(tsk, inner);
	return ret;
}

static int taps_recvmsg(struct socket *sock, struct msghdr *msg, size_t len, int flags)
{
	struct taps_sock *tsk = taps_sk(sock->sk);
	struct socket *inner = taps_inner(tsk);

	/* Ours first (TAPS_NOTIFY), then the connection's (IP_RECVERR). */
	if ((flags & MSG_ERRQUEUE) && taps_notify_poll(tsk))
		return taps_notify_recv(tsk, msg, flags);
	if (!inner)
		return -ENOTCONN;
	taps_sync_sockopts(tsk, inner->sk);
	if (tsk->frame)
		return taps_frame_recvmsg(tsk, msg, len, flags);
	return inner->ops->recvmsg(inner, msg, len, flags);
}

static ssize_t taps_sendpage(struct socket *sock, struct page *page, int offset,
			     size_t size, int flags)
{
	struct taps_sock *tsk = taps_sk(sock->sk);
	struct socket *inner = taps_inner(tsk);
	ssize_t (*sendpage)(struct socket *sock, struct page *page, int offset,
			    size_t size, int flags);

	if (!inner)
		return -ENOTCONN;
	/* Framed: each page is a message, through taps_sendmsg(). */
	if (tsk->frame)
		return sock_no_sendpage(sock, page, offset, size, flags);
	taps_sync_sockopts(tsk, inner->sk);
	/* As kernel_sendpage(): a copy through sendmsg when there is none. */
	sendpage = READ_ONCE(inner->ops)->sendpage ?: sock_no_sendpage;
	return sendpage(inner, page, offset, size, flags);
}

static ssize_t taps_splice_read(struct socket *sock, loff_t *ppos, struct pipe_inode_info *pipe,
				size_t len, unsigned int flags)
{
	struct socket *inner = taps_inner(taps_sk(sock->sk));
	const struct proto_ops *ops;

	if (!inner)
		return -ENOTCONN;
	ops = READ_ONCE(inner->ops);
	/* As sock_splice_read(); a kernel AF_TAPS socket has no file for
	 * the protocol to look at.  Framed TCP would hand out the headers.
	 */
	if (!ops->splice_read || !inner->file || taps_sk(sock->sk)->frame)
		return -EINVAL;
	return ops->splice_read(inner, ppos, pipe, len, flags);
}

/* The end of a sendfile() or splice(): push what MSG_MORE held back. */
static void taps_splice_eof(struct socket *sock)
{
	struct socket *inner = taps_inner(taps_sk(sock->sk));
	const struct proto_ops *ops;

	if (!inner || taps_sk(sock->sk)->frame)
		return;
	ops = READ_ONCE(inner->ops);
	if (ops->splice_eof)
		ops->splice_eof(inner);
}

/*
 * SO_RCVLOWAT: sk_setsockopt() calls this instead of setting the value
 * when the family has it.  The value is kept on the AF_TAPS socket for the
 * attempts (taps_sync_sockopts()) and given to the connection's protocol,
 * which caps it and sizes its receive buffer to it.
 */
static int taps_set_rcvlowat(struct sock *sk, int val)
{
	struct taps_sock *tsk = taps_sk(sk);
	struct socket *inner;

	WRITE_ONCE(sk->sk_rcvlowat, val ? : 1);
	inner = taps_inner(tsk);
	if (inner)
		taps_sync_sockopts(tsk, inner->sk);
	return 0;
}

static int taps_ioctl(struct socket *sock, unsigned int cmd, unsigned long arg)
{
	struct socket *inner = taps_inner(taps_sk(sock->sk));

	if (inner)
		return inner->ops->ioctl(inner, cmd, arg);
	if (cmd == SIOCINQ || cmd == SIOCOUTQ)
		return -ENOTCONN;
	return -ENOIOCTLCMD;
}

static int taps_shutdown(struct socket *sock, int how)
{
	struct taps_sock *tsk = taps_sk(sock->sk);
	struct socket *inner = taps_inner(tsk);
	int err;

	if (how < SHUT_RD || how > SHUT_RDWR)
		return -EINVAL;
	if (!inner) {
		lock_sock(sock->sk);
		err = tsk->state == TAPS_STATE_LISTENING ?
		      taps_listen_shutdown(tsk, how) : -ENOTCONN;
		release_sock(sock->sk);
		return err;
	}
	/* Framed: what the kernel keeps of a message goes before the FIN. */
	if (tsk->frame && how != SHUT_RD) {
		err = taps_frame_shutdown(tsk);
		if (err)
			return err;
	}
	err = inner->ops->shutdown(inner, how);
	/* Nothing more to send: the Connection is Closing (RFC 9622 11.1.1). */
	if (!err && how != SHUT_RD) {
		lock_sock(sock->sk);
		if (tsk->state == TAPS_STATE_ESTABLISHED) {
			/* Pairs with taps_inner(), as for established. */
			smp_store_release(&tsk->state, TAPS_STATE_CLOSING);
		}
		release_sock(sock->sk);
	}
	return err;
}

static const struct proto_ops taps_ops = {
	.family		= PF_TAPS,
	.owner		= THIS_MODULE,
	.release	= taps_release,
	.bind		= taps_bind,
	.connect	= taps_connect,
	.socketpair	= sock_no_socketpair,
	.accept		= taps_accept,
	.getname	= taps_getname,
	.poll		= taps_poll,
	.ioctl		= taps_ioctl,
	.listen		= taps_listen,
	.shutdown	= taps_shutdown,
	.setsockopt	= taps_setsockopt,
	.getsockopt	= taps_getsockopt,
	.sendmsg	= taps_sendmsg,
	.recvmsg	= taps_recvmsg,
	.mmap		= sock_no_mmap,
	.sendpage	= taps_sendpage,
	.splice_read	= taps_splice_read,
	.splice_eof	= taps_splice_eof,
	.set_rcvlowat	= taps_set_rcvlowat,
};

/*
 * SO_KEEPALIVE after connect, the only SOL_SOCKET option with a hook: do
 * on the connection what sk_setsockopt() did on the AF_TAPS socket, the
 * protocol's timer and SOCK_KEEPOPEN, without which TCP_KEEPIDLE does not
 * re-arm the timer and the timer does nothing.
 */
static void taps_keepalive(struct sock *sk, int valbool)
{
	struct socket *inner = taps_inner(taps_sk(sk));
	struct sock *isk;

	if (!inner)
		return;
	isk = inner->sk;
	lock_sock(isk);
	if (isk->sk_prot->keepalive)
		isk->sk_prot->keepalive(isk, valbool);
	if (valbool)
		sock_set_flag(isk, SOCK_KEEPOPEN);
	else
		sock_reset_flag(isk, SOCK_KEEPOPEN);
	release_sock(isk);
}

static struct proto taps_proto = {
	.name		= "TAPS",
	.owner		= THIS_MODULE,
	.keepalive	= taps_keepalive,
	.obj_size	= sizeof(struct taps_sock),
};

static void taps_sock_destruct(struct sock *sk)
{
	struct taps_sock *tsk = taps_sk(sk);

	put_cred(tsk->cred);
	put_cred(tsk->bind_cred);
	kfree(tsk->ep);
}

void taps_sock_init(struct taps_sock *tsk)
{
	tsk->state = TAPS_STATE_UNCONNECTED;
	tsk->sk.sk_destruct = taps_sock_destruct;
	tsk->rcvlowat_synced = 1;	/* sock_init_data()'s */
	taps_sockopt_init(tsk);
	taps_race_init(tsk);
	taps_net_link(tsk);
}

static int taps_create(struct net *net, struct socket *sock, int protocol,
		       int kern)
{
	struct sock *sk;

	/* SOCK_DGRAM is not there yet (issue 12). */
	if (sock->type != SOCK_STREAM && sock->type != SOCK_SEQPACKET)
		return -ESOCKTNOSUPPORT;
	if (protocol != 0)
		return -EPROTONOSUPPORT;

	sk = sk_alloc(net, taps_family, GFP_KERNEL, &taps_proto, kern);
	if (!sk)
		return -ENOBUFS;

	sock->ops = &taps_ops;
	sock->state = SS_UNCONNECTED;
	sock_init_data(sock, sk);
	sk->sk_protocol = protocol;

	taps_sock_init(taps_sk(sk));
	return 0;
}

static struct net_proto_family taps_family_ops = {
	.create	= taps_create,
	.owner	= THIS_MODULE,
};

static int __init taps_init(void)
{
	int err;

	if (family <= AF_UNSPEC || family >= NPROTO) {
		pr_err("family=%d is outside 1..%d\n", family, NPROTO - 1);
		return -EINVAL;
	}
	taps_family = family;
	taps_family_ops.family = family;

	taps_wq = alloc_workqueue("taps", 0, 0);
	if (!taps_wq)
		return -ENOMEM;

	err = taps_pernet_init();
	if (err)
		goto err_wq;
	err = taps_nl_init();
	if (err)
		goto err_pernet;
	err = proto_register(&taps_proto, 1);
	if (err)
		goto err_nl;

	err = sock_register(&taps_family_ops);
	if (err) {
		pr_err("cannot register address family %d (%d); load with family=N\n",
		       family, err);
		goto err_proto;
	}
	pr_info("AF_TAPS registered as address family %d\n", family);
	return 0;

err_proto:
	proto_unregister(&taps_proto);
err_nl:
	taps_nl_exit();
err_pernet:
	taps_pernet_exit();
err_wq:
	destroy_workqueue(taps_wq);
	return err;
}

static void __exit taps_exit(void)
{
	sock_unregister(taps_family);
	proto_unregister(&taps_proto);
	taps_nl_exit();
	taps_pernet_exit();
	destroy_workqueue(taps_wq);
}

module_init(taps_init);
module_exit(taps_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("AF_TAPS: Transport Services sockets");
MODULE_AUTHOR("The AF_TAPS developers");
MODULE_SOFTDEP("pre: sctp tls");
/*
 * Load on demand: socket(AF_TAPS, ...) asks for "net-pf-18" and opening the
 * "taps" generic netlink family for "net-pf-16-proto-16-family-taps".  The
 * alias is for the default number only: a module loaded with family=N is
 * not found by socket(N, ...) until it is loaded (Documentation/family.md).
 */
MODULE_ALIAS_NETPROTO(PF_TAPS);
MODULE_ALIAS_GENL_FAMILY(TAPS_GENL_NAME);
