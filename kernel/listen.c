// SPDX-License-Identifier: GPL-2.0
/*
 * AF_TAPS: the Listener (RFC 9622 section 7.2).
 *
 * listen() opens one kernel listener per protocol the selection properties
 * allow (TCP, or MPTCP which also takes plain TCP, and SCTP) on the same
 * address and port.  Their sk_wq points at the AF_TAPS socket's wait queue,
 * so a connection arriving on any of them wakes accept(), poll and epoll on
 * the AF_TAPS socket.  accept() takes the first pending connection and
 * wraps it in a new AF_TAPS socket.
 *
 * The listeners are set up and torn down under the socket lock; accept()
 * takes it too.  poll() looks at them without it: listen() publishes them
 * with the LISTENING state (release), shutdown() unpublishes them and waits
 * for an RCU grace period before it releases them, and poll() reads the
 * state (acquire) and the listeners inside rcu_read_lock().
 */

#include <linux/cred.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <net/sock.h>

#include "taps.h"

int taps_bind(struct socket *sock, struct sockaddr *uaddr, int addr_len)
{
	struct sock *sk = sock->sk;
	struct taps_sock *tsk = taps_sk(sk);
	struct taps_endpoint local;
	int err;

	err = taps_addr_is_taps(uaddr, addr_len);
	if (err < 0)
		return err;
	if (err) {
		/* Both families: the IPv6 wildcard, which takes IPv4 too. */
		memset(&local, 0, sizeof(local));
		local.sin6.sin6_family = AF_INET6;
		local.sin6.sin6_port = ((const struct sockaddr_taps *)uaddr)->stap_port;
	} else {
		err = taps_endpoint_from(&local, uaddr, addr_len);
		if (err)
			return err;
	}

	/* As inet_bind(), now: the attempts and listeners bind later, and
	 * again with these credentials (taps_inner_bind()).
	 */
	err = taps_bind_permitted(sock_net(sk), local.sin.sin_port);
	if (err)
		return err;

	lock_sock(sk);
	if (tsk->state != TAPS_STATE_UNCONNECTED || tsk->bound) {
		err = -EINVAL;
	} else {
		tsk->local = local;
		tsk->bound = true;
		tsk->bind_cred = get_current_cred();
		err = 0;
	}
	release_sock(sk);
	return err;
}

static void taps_listen_free(struct taps_sock *tsk)
{
	u32 i;

	sock_owned_by_me(&tsk->sk);
	for (i = 0; i < tsk->n_listeners; i++) {
		taps_inner_release(tsk->listeners[i]);
		tsk->listeners[i] = NULL;
	}
	tsk->n_listeners = 0;
}

static int taps_listen_one(struct taps_sock *tsk, int protocol, struct taps_endpoint *local,
			   int backlog)
{
	struct socket *sock = tsk->sk.sk_socket;
	struct socket *l;
	int err;

	err = taps_inner_create(tsk, local->family, protocol, &l);
	if (err)
		return err;
	l->sk->sk_reuse = tsk->sk.sk_reuse;
	taps_sync_sockopts_fresh(tsk, l->sk);
	err = taps_optrec_apply(tsk, l);
	if (!err)
		err = taps_inner_bind(tsk, l, local);
	if (!err)
		err = kernel_listen(l, backlog);
	if (err) {
		taps_inner_release(l);
		return err;
	}
	/* Port 0: the first listener's port is everybody's. */
	if (!local->sin.sin_port) {
		struct taps_endpoint bound;

		if (kernel_getsockname(l, (struct sockaddr *)&bound) >= 0)
			local->sin.sin_port = bound.sin.sin_port;
	}
	taps_redirect_wq(l->sk, sock);
	tsk->listeners[tsk->n_listeners++] = l;
	return 0;
}

/* A protocol this kernel does not have is left out, not an error. */
static bool taps_proto_missing(int err)
{
	return err == -EPROTONOSUPPORT || err == -ESOCKTNOSUPPORT || err == -EAFNOSUPPORT;
}

int taps_listen(struct socket *sock, int backlog)
{
	struct sock *sk = sock->sk;
	struct taps_sock *tsk = taps_sk(sk);
	static const u8 taps_default_order[TAPS_NPROTO] = { TAPS_P_TCP, TAPS_P_SCTP, TAPS_P_MPTCP };
	int proto[TAPS_NPROTO], n, n_pref, i, k, tries;
	struct taps_endpoint local;
	u32 allowed;
	int err = 0;

	lock_sock(sk);
	if (tsk->state == TAPS_STATE_LISTENING) {
		WRITE_ONCE(sk->sk_max_ack_backlog, backlog);
		goto out;
	}
	/* As TCP: a socket that is not connected, also after a failed
	 * connect() or a shutdown() of its listener, may listen.
	 */
	if (tsk->state != TAPS_STATE_UNCONNECTED && tsk->state != TAPS_STATE_CLOSED) {
		err = -EINVAL;
		goto out;
	}
	n = taps_gather_protocols(tsk, taps_default_order, proto, &n_pref, true);
	if (!n) {
		err = -EPROTONOSUPPORT;
		goto out;
	}
	/* The system policy's allowed protocols bind listeners too. */
	allowed = taps_policy_protocols(sock_net(sk));
	for (i = 0, k = 0; i < n; i++)
		if (allowed & BIT(taps_proto_idx(proto[i])))
			proto[k++] = proto[i];
	n = k;
	if (!n) {
		taps_stat_inc(sock_net(sk), TAPS_STATS_A_POLICY_DENIED);
		err = -EPERM;
		goto out;
	}

	/* With port 0 the port the first protocol got can be taken for the
	 * next one: try a few ports before giving up.
	 */
	for (tries = 0; tries < 8; tries++) {
		if (tsk->bound) {
			local = tsk->local;
		} else {
			memset(&local, 0, sizeof(local));
			local.sin6.sin6_family = AF_INET6;
		}
		for (i = 0; i < n; i++) {
			err = taps_listen_one(tsk, proto[i], &local, backlog);
			if (err && taps_proto_missing(err))
				err = 0;
			if (err)
				break;
		}
		if (!err && !tsk->n_listeners)
			err = -EPROTONOSUPPORT;
		if (!err)
			break;
		taps_listen_free(tsk);
		if (err != -EADDRINUSE || (tsk->bound && tsk->local.sin.sin_port))
			break;
	}
	if (err)
		goto out;

	tsk->local = local;
	WRITE_ONCE(sk->sk_max_ack_backlog, backlog);
	sk->sk_state = TCP_LISTEN;
	/* Publish the listeners with the state: pairs with poll()'s acquire. */
	smp_store_release(&tsk->state, TAPS_STATE_LISTENING);
out:
	release_sock(sk);
	return err;
}

/* Release the listeners; the caller holds the socket lock. */
void taps_listen_stop(struct taps_sock *tsk)
{
	taps_listen_free(tsk);
}

/* poll(): is a connection waiting on any listener?  No lock needed. */
bool taps_listen_pending(struct taps_sock *tsk)
{
	bool pending = false;
	u32 i;

	rcu_read_lock();
	/* Pairs with the release in taps_listen(). */
	if (smp_load_acquire(&tsk->state) == TAPS_STATE_LISTENING) {
		for (i = 0; i < tsk->n_listeners && !pending; i++) {
			struct socket *l = tsk->listeners[i];

			pending = l->ops->poll(NULL, l, NULL) & EPOLLIN;
		}
	}
	rcu_read_unlock();
	return pending;
}

/*
 * shutdown() of a Listener, as TCP's: reading shut down (SHUT_RD,
 * SHUT_RDWR) stops listening, so new connections are refused and accept()
 * returns EINVAL, also in a thread blocked in it; SHUT_WR does nothing.
 * The socket may listen() again.  Connections not yet accepted are reset
 * with their listener.
 */
int taps_listen_shutdown(struct taps_sock *tsk, int how)
{
	struct sock *sk = &tsk->sk;

	if (how == SHUT_WR)
		return 0;
	sock_owned_by_me(sk);
	WRITE_ONCE(tsk->state, TAPS_STATE_CLOSED);
	sk->sk_state = TCP_CLOSE;
	/* poll() may be looking at the listeners: let it finish. */
	synchronize_rcu();
	taps_listen_free(tsk);
	sk->sk_state_change(sk);
	return 0;
}

/* getsockname() of a Listener: the address and port all its protocols share. */
int taps_listen_getname(struct taps_sock *tsk, struct sockaddr *uaddr)
{
	int len = taps_ep_len(&tsk->local);

	memcpy(uaddr, &tsk->local, len);
	return len;
}

/*
 * kernel_accept() sets the new socket's ops after the protocol's accept,
 * undoing MPTCP's switch of a child that fell back to TCP to
 * inet_stream_ops (mptcp_is_tcpsk()).  Accept as __sys_accept4() does:
 * ops first, and whatever the protocol leaves there stays.
 */
static int taps_kernel_accept(struct socket *l, struct socket **res, bool kern)
{
	struct socket *new;
	int err;

	err = sock_create_lite(l->sk->sk_family, l->sk->sk_type, l->sk->sk_protocol, &new);
	if (err)
		return err;
	new->ops = l->ops;
	/* @kern as the caller's: SCTP gives a user's child a namespace
	 * reference (sctp_v4_create_accept_sk()), a kernel one none.
	 */
	err = l->ops->accept(l, new, O_NONBLOCK, kern);
	if (err) {
		new->ops = NULL;	/* no module reference taken yet */
		sock_release(new);
		return err;
	}
	__module_get(new->ops->owner);
	*res = new;
	return 0;
}

static int taps_accept_wrap(struct sock *sk, struct socket *newsock, struct socket *conn,
			    bool kern)
{
	struct taps_frame *frame = NULL;
	struct taps_sock *ntsk;
	struct sock *newsk;

	/* Messages over TCP from a SOCK_SEQPACKET listener: framed. */
	if (newsock->type == SOCK_SEQPACKET && conn->sk->sk_protocol == IPPROTO_TCP) {
		frame = taps_frame_new();
		if (!frame)
			return -ENOMEM;
	}
	newsk = sk_alloc(sock_net(sk), taps_family, GFP_KERNEL, sk->sk_prot, kern);
	if (!newsk) {
		kfree(frame);
		return -ENOBUFS;
	}
	sock_init_data(newsock, newsk);
	ntsk = taps_sk(newsk);
	taps_sock_init(ntsk);
	ntsk->protocol = conn->sk->sk_protocol;

	taps_inner_adopt(newsk, conn);
	taps_redirect_wq(conn->sk, newsock);
	if (frame) {
		ntsk->frame = frame;
		taps_frame_attach(ntsk, conn);
	}
	ntsk->inner = conn;
	newsk->sk_state = TCP_ESTABLISHED;
	newsock->state = SS_CONNECTED;
	/* Publish @inner before the state: pairs with taps_inner(). */
	smp_store_release(&ntsk->state, TAPS_STATE_ESTABLISHED);
	return 0;
}

/* Take a connection from the first listener that has one; -EAGAIN: none. */
static int taps_accept_one(struct taps_sock *tsk, struct socket **conn, bool kern)
{
	int err = -EINVAL;
	u32 i;

	lock_sock(&tsk->sk);
	if (tsk->state == TAPS_STATE_LISTENING) {
		for (i = 0, err = -EAGAIN; i < tsk->n_listeners && err == -EAGAIN; i++)
			err = taps_kernel_accept(tsk->listeners[i], conn, kern);
	}
	release_sock(&tsk->sk);
	return err;
}

int taps_accept(struct socket *sock, struct socket *newsock, int flags, bool kern)
{
	DEFINE_WAIT_FUNC(wait, woken_wake_function);
	struct sock *sk = sock->sk;
	struct taps_sock *tsk = taps_sk(sk);
	struct socket *conn = NULL;
	long timeo;
	int err;

	timeo = sock_rcvtimeo(sk, flags & O_NONBLOCK);
	add_wait_queue(sk_sleep(sk), &wait);
	for (;;) {
		err = taps_accept_one(tsk, &conn, kern);
		if (err != -EAGAIN)
			break;
		if (!timeo)
			break;
		if (signal_pending(current)) {
			err = sock_intr_errno(timeo);
			break;
		}
		/* Not listening any more: taps_accept_one() says EINVAL. */
		if (!taps_listen_pending(tsk) &&
		    READ_ONCE(tsk->state) == TAPS_STATE_LISTENING)
			timeo = wait_woken(&wait, TASK_INTERRUPTIBLE, timeo);
	}
	remove_wait_queue(sk_sleep(sk), &wait);
	if (err)
		return err;

	err = taps_accept_wrap(sk, newsock, conn, kern);
	if (err)
		taps_inner_release(conn);
	return err;
}
