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

#include <linux/module.h>
#include <linux/net.h>
#include <net/sock.h>

#include "taps.h"

static int family = AF_TAPS;
module_param(family, int, 0444);
MODULE_PARM_DESC(family, "address family number to register (default 18, AF_ASH, never implemented)");

int taps_family __read_mostly;

static struct proto taps_proto = {
	.name		= "TAPS",
	.owner		= THIS_MODULE,
	.obj_size	= sizeof(struct taps_sock),
};

static int taps_release(struct socket *sock)
{
	struct sock *sk = sock->sk;

	if (!sk)
		return 0;

	lock_sock(sk);
	taps_sk(sk)->state = TAPS_STATE_CLOSED;
	sk->sk_state = TCP_CLOSE;
	sock_orphan(sk);
	sock->sk = NULL;
	release_sock(sk);
	sock_put(sk);
	return 0;
}

static void taps_fill_info(struct taps_sock *tsk, struct taps_info *info)
{
	memset(info, 0, sizeof(*info));
	info->ti_state = tsk->state;
	info->ti_local.ss_family = AF_UNSPEC;
	info->ti_remote.ss_family = AF_UNSPEC;
}

static int taps_getsockopt(struct socket *sock, int level, int optname,
			   char __user *optval, int __user *optlen)
{
	struct sock *sk = sock->sk;
	struct taps_info info;
	int len;

	if (level != SOL_TAPS)
		return -ENOPROTOOPT;

	if (get_user(len, optlen))
		return -EFAULT;
	if (len < 0)
		return -EINVAL;

	switch (optname) {
	case TAPS_INFO:
		lock_sock(sk);
		taps_fill_info(taps_sk(sk), &info);
		release_sock(sk);
		len = min_t(unsigned int, len, sizeof(info));
		if (copy_to_user(optval, &info, len))
			return -EFAULT;
		break;
	default:
		return -ENOPROTOOPT;
	}

	if (put_user(len, optlen))
		return -EFAULT;
	return 0;
}

static int taps_setsockopt(struct socket *sock, int level, int optname,
			   sockptr_t optval, unsigned int optlen)
{
	return -ENOPROTOOPT;
}

static const struct proto_ops taps_stream_ops = {
	.family		= PF_TAPS,
	.owner		= THIS_MODULE,
	.release	= taps_release,
	.bind		= sock_no_bind,
	.connect	= sock_no_connect,
	.socketpair	= sock_no_socketpair,
	.accept		= sock_no_accept,
	.getname	= sock_no_getname,
	.poll		= datagram_poll,
	.ioctl		= sock_no_ioctl,
	.listen		= sock_no_listen,
	.shutdown	= sock_no_shutdown,
	.setsockopt	= taps_setsockopt,
	.getsockopt	= taps_getsockopt,
	.sendmsg	= sock_no_sendmsg,
	.recvmsg	= sock_no_recvmsg,
	.mmap		= sock_no_mmap,
	.sendpage	= sock_no_sendpage,
};

static int taps_create(struct net *net, struct socket *sock, int protocol,
		       int kern)
{
	struct taps_sock *tsk;
	struct sock *sk;

	/* SOCK_SEQPACKET and SOCK_DGRAM come with the message services. */
	if (sock->type != SOCK_STREAM)
		return -ESOCKTNOSUPPORT;
	if (protocol != 0)
		return -EPROTONOSUPPORT;

	sk = sk_alloc(net, taps_family, GFP_KERNEL, &taps_proto, kern);
	if (!sk)
		return -ENOBUFS;

	sock->ops = &taps_stream_ops;
	sock->state = SS_UNCONNECTED;
	sock_init_data(sock, sk);
	sk->sk_protocol = protocol;

	tsk = taps_sk(sk);
	tsk->state = TAPS_STATE_UNCONNECTED;
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

	err = proto_register(&taps_proto, 1);
	if (err)
		return err;

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
	return err;
}

static void __exit taps_exit(void)
{
	sock_unregister(taps_family);
	proto_unregister(&taps_proto);
}

module_init(taps_init);
module_exit(taps_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("AF_TAPS: Transport Services sockets");
MODULE_AUTHOR("The AF_TAPS developers");
