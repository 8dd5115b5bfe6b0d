// SPDX-License-Identifier: GPL-2.0
/*
 * AF_TAPS: inner sockets.
 *
 * Every protocol socket taps.ko opens for an AF_TAPS socket, a racing
 * attempt, a kernel listener or a connection accepted from one, belongs to
 * the AF_TAPS socket's owner and must give the owner nothing a plain TCP or
 * SCTP socket would not (Documentation/design.md, "Security model").  This
 * file makes them so, whether the code runs in the owner's system call or
 * in a work item of the race:
 *
 * - created as a user's socket (not kern), with the credentials of the
 *   owner's call, so that socket creation is checked (LSM, address family
 *   restrictions) as the owner's own socket() would be, and code that trusts
 *   kernel sockets (MPTCP's ULP) does not trust these;
 * - carrying the owner's uid and inode number (uid routing rules, ss -e,
 *   ss -p), cgroup (cgroup BPF programs, nft "socket cgroupv2") and memory
 *   cgroup (socket memory), as net/mptcp does for the subflows its worker
 *   creates (mptcp_attach_cgroup());
 * - pointing at the AF_TAPS socket's file (nft "meta skuid", xt_owner,
 *   splice), which outlives them;
 * - holding a network namespace reference for as long as their timers can
 *   run (user sockets do; kernel ones and SCTP children accepted for a
 *   kernel caller get one here);
 * - SOCK_FASYNC set, so that SIGIO reaches the AF_TAPS file's owner: their
 *   wakeups go to the AF_TAPS socket's wait queue and its fasync list.
 */

#include <linux/cgroup.h>
#include <linux/cred.h>
#include <linux/memcontrol.h>
#include <linux/net.h>
#include <linux/sched/mm.h>
#include <net/ip.h>
#include <net/sock.h>

#include "taps.h"

/* Point @isk's wakeups at @sock's waiters. */
void taps_redirect_wq(struct sock *isk, struct socket *sock)
{
	write_lock_bh(&isk->sk_callback_lock);
	rcu_assign_pointer(isk->sk_wq, &sock->wq);
	write_unlock_bh(&isk->sk_callback_lock);
}

/*
 * Move @isk into @sk's cgroup and memory cgroup.  cgroup_sk_clone() and
 * cgroup_sk_free() are not exported: the same reference counting, inline.
 */
static void taps_inner_attach_cgroup(struct sock *sk, struct sock *isk)
{
#ifdef CONFIG_SOCK_CGROUP_DATA
	struct cgroup *cgrp = sock_cgroup_ptr(&sk->sk_cgrp_data);
	struct cgroup *old = sock_cgroup_ptr(&isk->sk_cgrp_data);

	cgroup_get(cgrp);
	cgroup_bpf_get(cgrp);
	isk->sk_cgrp_data = sk->sk_cgrp_data;	/* and the v1 classid, prioidx */
	cgroup_bpf_put(old);
	cgroup_put(old);
#endif
#ifdef CONFIG_MEMCG
	if (isk->sk_memcg != sk->sk_memcg) {
		/* Nothing is charged yet: the socket never held memory. */
		if (isk->sk_memcg)
			css_put(&isk->sk_memcg->css);
		isk->sk_memcg = NULL;
		if (sk->sk_memcg && css_tryget(&sk->sk_memcg->css))
			isk->sk_memcg = sk->sk_memcg;
	}
#endif
}

/*
 * What every inner socket gets, new or accepted: the namespace reference,
 * the owner's uid and inode number, the file, SOCK_FASYNC.  Called before
 * the socket is used, or for an accepted one under its lock.
 */
static void taps_inner_own(struct sock *sk, struct socket *sock)
{
	struct socket *osock = sk->sk_socket;
	struct sock *isk = sock->sk;

	if (!isk->sk_net_refcnt) {
		isk->sk_net_refcnt = 1;
		get_net_track(sock_net(isk), &isk->ns_tracker, GFP_KERNEL);
		sock_inuse_add(sock_net(isk), 1);
	}
	if (osock) {
		SOCK_INODE(sock)->i_ino = SOCK_INODE(osock)->i_ino;
		SOCK_INODE(sock)->i_uid = SOCK_INODE(osock)->i_uid;
		SOCK_INODE(sock)->i_gid = SOCK_INODE(osock)->i_gid;
		WRITE_ONCE(sock->file, osock->file);
	}
	isk->sk_uid = sk->sk_uid;
	sock_set_flag(isk, SOCK_FASYNC);
}

/*
 * A new inner socket of @family and @protocol for @tsk (an attempt or a
 * kernel listener).  The caller holds @tsk's lock and runs as its owner:
 * in connect() or listen(), or between taps_owner_enter() and
 * taps_owner_exit().  Only an AF_TAPS socket a kernel user made has kernel
 * inner sockets, except MPTCP's: its subflows are kernel sockets, and
 * lockdep tells them from the MPTCP socket by that alone ("possible
 * recursive locking" in mptcp_bind() and sk_clone_lock()).
 */
int taps_inner_create(struct taps_sock *tsk, int family, int protocol, struct socket **res)
{
	struct sock *sk = &tsk->sk;
	bool kern = sk->sk_kern_sock && protocol != IPPROTO_MPTCP;
	struct socket *sock;
	int err;

	sock_owned_by_me(sk);
	err = __sock_create(sock_net(sk), family, SOCK_STREAM, protocol, &sock, kern);
	if (err)
		return err;
	taps_inner_attach_cgroup(sk, sock->sk);
	taps_inner_own(sk, sock);
	*res = sock;
	return 0;
}

/*
 * A connection accepted from one of our listeners becomes @sk's: it is
 * already live, so under its lock.  Its cgroup is the listener's (TCP) or
 * the accepting task's (SCTP), as for a plain accept().
 */
void taps_inner_adopt(struct sock *sk, struct socket *sock)
{
	lock_sock(sock->sk);
	taps_inner_own(sk, sock);
	release_sock(sock->sk);
}

/* The file is the AF_TAPS socket's: drop the pointer, not a reference. */
void taps_inner_release(struct socket *sock)
{
	WRITE_ONCE(sock->file, NULL);
	sock_release(sock);
}

/*
 * kernel_bind() to @addr with the credentials bind() was called with (the
 * current ones when the application never called it): each attempt and
 * listener binds anew, maybe from a work item, and inet checks
 * CAP_NET_BIND_SERVICE against the current credentials.
 */
int taps_inner_bind(struct taps_sock *tsk, struct socket *sock, const struct taps_endpoint *addr)
{
	const struct cred *old;
	int err;

	old = override_creds(tsk->bound ? tsk->bind_cred : current_cred());
	err = kernel_bind(sock, (struct sockaddr *)addr, taps_ep_len(addr));
	revert_creds(old);
	return err;
}

/*
 * The check inet_bind() makes, at bind() time: a port below
 * net.ipv4.ip_unprivileged_port_start needs CAP_NET_BIND_SERVICE in the
 * namespace's user namespace.  IPv6 uses the same sysctl.
 */
int taps_bind_permitted(struct net *net, __be16 port)
{
	if (port && inet_port_requires_bind_service(net, ntohs(port)) &&
	    !ns_capable(net->user_ns, CAP_NET_BIND_SERVICE))
		return -EACCES;
	return 0;
}

/*
 * A work item acting for @tsk's owner: the credentials of the connect()
 * call that started the race, and its memory cgroup for what is allocated
 * meanwhile (the inner socket's inode, cache entries).
 */
void taps_owner_enter(struct taps_sock *tsk, struct taps_owner *o)
{
	o->cred = override_creds(tsk->cred);
	o->memcg = set_active_memcg(tsk->sk.sk_memcg);
}

void taps_owner_exit(struct taps_owner *o)
{
	set_active_memcg(o->memcg);
	revert_creds(o->cred);
}

/*
 * SOL_SOCKET options never reach a family's setsockopt in 6.1
 * (sock_use_custom_sol_socket()): what the application set on the AF_TAPS
 * socket is copied to the inner socket, as net/smc copies it to its TCP
 * socket.  taps_sync_sockopts() runs when an inner socket starts and before
 * each forwarded call: it compares without a lock and writes under the
 * inner socket's lock, as sk_setsockopt() does, because sk_flags and
 * sk_userlocks are plain read-modify-write fields that the protocol changes
 * too.
 */
static bool taps_sockopts_differ(const struct taps_sock *tsk, const struct sock *isk)
{
	const struct sock *sk = &tsk->sk;

	return READ_ONCE(isk->sk_rcvtimeo) != READ_ONCE(sk->sk_rcvtimeo) ||
	       READ_ONCE(isk->sk_sndtimeo) != READ_ONCE(sk->sk_sndtimeo) ||
	       READ_ONCE(isk->sk_mark) != READ_ONCE(sk->sk_mark) ||
	       READ_ONCE(sk->sk_rcvlowat) != READ_ONCE(tsk->rcvlowat_synced) ||
	       READ_ONCE(sk->sk_priority) != READ_ONCE(tsk->priority_synced) ||
	       ((sk->sk_userlocks & SOCK_SNDBUF_LOCK) &&
		READ_ONCE(isk->sk_sndbuf) != READ_ONCE(sk->sk_sndbuf)) ||
	       ((sk->sk_userlocks & SOCK_RCVBUF_LOCK) &&
		READ_ONCE(isk->sk_rcvbuf) != READ_ONCE(sk->sk_rcvbuf)) ||
	       sock_flag(sk, SOCK_LINGER) != sock_flag(isk, SOCK_LINGER) ||
	       READ_ONCE(isk->sk_lingertime) != READ_ONCE(sk->sk_lingertime) ||
	       (READ_ONCE(isk->sk_bound_dev_if) != READ_ONCE(sk->sk_bound_dev_if) &&
		READ_ONCE(isk->sk_state) == TCP_CLOSE);
}

/*
 * Copy the options to @isk, under its lock.  @fresh: a new inner socket,
 * which gets SO_PRIORITY and SO_RCVLOWAT when they are not the defaults;
 * else they are copied when the application changed them since the last
 * copy (IP_TOS and IPV6_TCLASS set the priority too; TCP caps the
 * low-water mark and sizes its receive buffer to it).
 */
static void __taps_sync_sockopts(struct taps_sock *tsk, struct sock *isk, bool fresh)
{
	struct sock *sk = &tsk->sk;
	int prio, lowat;

	sock_owned_by_me(isk);
	WRITE_ONCE(isk->sk_rcvtimeo, READ_ONCE(sk->sk_rcvtimeo));
	WRITE_ONCE(isk->sk_sndtimeo, READ_ONCE(sk->sk_sndtimeo));
	if (isk->sk_mark != READ_ONCE(sk->sk_mark)) {
		WRITE_ONCE(isk->sk_mark, READ_ONCE(sk->sk_mark));
		sk_dst_reset(isk);
	}
	prio = READ_ONCE(sk->sk_priority);
	if (fresh ? prio != 0 : prio != READ_ONCE(tsk->priority_synced))
		WRITE_ONCE(isk->sk_priority, prio);
	WRITE_ONCE(tsk->priority_synced, prio);
	lowat = READ_ONCE(sk->sk_rcvlowat);
	/* A framed TCP socket's SO_RCVLOWAT is the framing's (frame.c). */
	if (!taps_frame_owns(tsk, isk) &&
	    (fresh ? lowat != 1 : lowat != READ_ONCE(tsk->rcvlowat_synced))) {
		if (isk->sk_socket && isk->sk_socket->ops->set_rcvlowat)
			isk->sk_socket->ops->set_rcvlowat(isk, lowat);
		else
			WRITE_ONCE(isk->sk_rcvlowat, lowat);
	}
	WRITE_ONCE(tsk->rcvlowat_synced, lowat);
	if ((sk->sk_userlocks & SOCK_SNDBUF_LOCK) &&
	    isk->sk_sndbuf != READ_ONCE(sk->sk_sndbuf)) {
		isk->sk_userlocks |= SOCK_SNDBUF_LOCK;
		WRITE_ONCE(isk->sk_sndbuf, READ_ONCE(sk->sk_sndbuf));
		/* As sk_setsockopt(): writers may go on with more room. */
		isk->sk_write_space(isk);
	}
	if (sk->sk_userlocks & SOCK_RCVBUF_LOCK) {
		isk->sk_userlocks |= SOCK_RCVBUF_LOCK;
		WRITE_ONCE(isk->sk_rcvbuf, READ_ONCE(sk->sk_rcvbuf));
	}
	WRITE_ONCE(isk->sk_lingertime, READ_ONCE(sk->sk_lingertime));
	if (sock_flag(sk, SOCK_LINGER))
		sock_set_flag(isk, SOCK_LINGER);
	else
		sock_reset_flag(isk, SOCK_LINGER);
	/* SO_BINDTODEVICE routes a connection only before it connects. */
	if (isk->sk_state == TCP_CLOSE)
		WRITE_ONCE(isk->sk_bound_dev_if, READ_ONCE(sk->sk_bound_dev_if));
	/* Later changes come through taps_keepalive(). */
	if (fresh && sock_flag(sk, SOCK_KEEPOPEN)) {
		if (isk->sk_prot->keepalive)
			isk->sk_prot->keepalive(isk, true);
		sock_set_flag(isk, SOCK_KEEPOPEN);
	}
}

/* A new inner socket, before it binds, listens or connects. */
void taps_sync_sockopts_fresh(struct taps_sock *tsk, struct sock *isk)
{
	lock_sock(isk);
	__taps_sync_sockopts(tsk, isk, true);
	release_sock(isk);
}

void taps_sync_sockopts(struct taps_sock *tsk, struct sock *isk)
{
	if (likely(!taps_sockopts_differ(tsk, isk)))
		return;
	lock_sock(isk);
	__taps_sync_sockopts(tsk, isk, false);
	release_sock(isk);
}
