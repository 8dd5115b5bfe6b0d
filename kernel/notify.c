// SPDX-License-Identifier: GPL-2.0
/*
 * AF_TAPS: notifications on the socket's error queue (the minimal set's
 * NOTIFICATIONS; RFC 9622 Closed, ConnectionError, SoftError).
 *
 * An application subscribes per kind with TAPS_NOTIFY.  Each notification
 * is an skb on the AF_TAPS socket's own sk_error_queue, charged to its
 * sk_rmem_alloc as sock_queue_err_skb() charges one; recvmsg(MSG_ERRQUEUE)
 * returns it as one SOL_TAPS cmsg whose type is the kind, and poll()
 * reports EPOLLERR while one is queued.  When the queue holds the socket's
 * receive buffer's worth (the AF_TAPS socket's sk_rcvbuf: the data sits on
 * the connection's), a new notification is dropped.
 *
 * How the events are seen, from a module, without patching the kernel:
 * every wakeup of the connection goes to the AF_TAPS socket's wait queue
 * (taps_redirect_wq()), state changes (FIN, RST, ABORT, timeouts), errors
 * and write space alike.  A subscribed socket puts a wait queue entry of
 * its own there, whose function looks at the connection's state at each
 * wakeup: no callback of the protocol is replaced, so kTLS and the
 * protocol's own callbacks are left alone.  That function runs under the
 * wait queue's lock, where sk_error_report() (which wakes the same queue)
 * cannot be called: a work item wakes the pollers for EPOLLERR after.
 */

#include <linux/skbuff.h>
#include <linux/tcp.h>
#include <linux/wait.h>
#include <net/sock.h>
#include <net/tcp.h>

#include "taps.h"

/* taps_notify.flags */
enum {
	TAPS_NF_ERROR,		/* PEER_ABORTED or CONN_ERROR queued */
	TAPS_NF_CLOSED,		/* PEER_CLOSED queued */
	TAPS_NF_ARMED,		/* above the low-water mark: DRAINED may come */
};

#define TAPS_NOTE_ALL	(TAPS_NOTE_BIT(TAPS_NOTE_PEER_CLOSED) |		\
			 TAPS_NOTE_BIT(TAPS_NOTE_PEER_ABORTED) |	\
			 TAPS_NOTE_BIT(TAPS_NOTE_CONN_ERROR) |		\
			 TAPS_NOTE_BIT(TAPS_NOTE_DRAINED))

static void taps_note_rfree(struct sk_buff *skb)
{
	atomic_sub(skb->truesize, &skb->sk->sk_rmem_alloc);
}

/* Queue a notification of @kind, if subscribed and if there is room. */
static void taps_note_queue(struct taps_sock *tsk, u32 kind, int err, u64 value)
{
	struct sock *sk = &tsk->sk;
	struct taps_note *note;
	struct sk_buff *skb;

	if (!(READ_ONCE(tsk->notify.mask) & TAPS_NOTE_BIT(kind)))
		return;
	skb = alloc_skb(sizeof(*note), GFP_ATOMIC);
	if (!skb)
		return;
	if (atomic_read(&sk->sk_rmem_alloc) + skb->truesize >
	    (unsigned int)READ_ONCE(sk->sk_rcvbuf)) {
		atomic_inc(&tsk->notify.dropped);
		kfree_skb(skb);
		return;
	}
	note = skb_put_zero(skb, sizeof(*note));
	note->tn_errno = err;
	note->tn_value = value;
	note->tn_time_ns = ktime_get_ns();
	*(u32 *)skb->cb = kind;
	skb->sk = sk;
	skb->destructor = taps_note_rfree;
	atomic_add(skb->truesize, &sk->sk_rmem_alloc);
	skb_queue_tail(&sk->sk_error_queue, skb);

	sock_hold(sk);
	if (!queue_work(taps_wq, &tsk->notify.report_work))
		sock_put(sk);
}

/* Bytes of the connection not yet sent (TCP), else queued unacknowledged. */
static u64 taps_notsent(const struct sock *isk)
{
	if (isk->sk_protocol == IPPROTO_TCP) {
		const struct tcp_sock *tp = tcp_sk(isk);

		return (u32)(READ_ONCE(tp->write_seq) - READ_ONCE(tp->snd_nxt));
	}
	return READ_ONCE(isk->sk_wmem_queued);
}

/* Look at the connection: what happened since the last look? */
static void taps_notify_check(struct taps_sock *tsk)
{
	struct taps_notify *n = &tsk->notify;
	struct socket *inner = taps_inner(tsk);
	struct sock *isk;
	u32 lowat;
	u64 notsent;
	int err, st;

	if (!inner || !READ_ONCE(n->mask))
		return;
	isk = inner->sk;
	err = READ_ONCE(isk->sk_err);
	st = READ_ONCE(isk->sk_state);
	if (err && !test_and_set_bit(TAPS_NF_ERROR, &n->flags))
		taps_note_queue(tsk, err == ECONNRESET || err == EPIPE ?
				TAPS_NOTE_PEER_ABORTED : TAPS_NOTE_CONN_ERROR, err, 0);
	/* The peer's FIN or SHUTDOWN: CLOSE_WAIT (SCTP's CLOSING is the same
	 * number), or the states after ours crossed it.  A local SHUT_RD
	 * leaves ESTABLISHED; an abort sets sk_err first, and a read may clear
	 * it after: an error reported is not also a close.
	 */
	if (!err && !test_bit(TAPS_NF_ERROR, &n->flags) &&
	    (READ_ONCE(isk->sk_shutdown) & RCV_SHUTDOWN) &&
	    ((1 << st) & (TCPF_CLOSE_WAIT | TCPF_LAST_ACK | TCPF_CLOSING | TCPF_TIME_WAIT |
			  TCPF_CLOSE)) &&
	    !test_and_set_bit(TAPS_NF_CLOSED, &n->flags))
		taps_note_queue(tsk, TAPS_NOTE_PEER_CLOSED, 0, 0);
	if (test_bit(TAPS_NF_ARMED, &n->flags)) {
		lowat = taps_connprop_lowat(tsk);
		notsent = taps_notsent(isk);
		if (notsent < lowat && test_and_clear_bit(TAPS_NF_ARMED, &n->flags))
			taps_note_queue(tsk, TAPS_NOTE_DRAINED, 0, notsent);
	}
}

/* Every wakeup of the connection (and of the AF_TAPS socket itself). */
static int taps_notify_wake(struct wait_queue_entry *wait, unsigned int mode, int sync,
			    void *key)
{
	taps_notify_check(container_of(wait, struct taps_sock, notify.wait));
	return 0;
}

/* Outside the wait queue's lock: EPOLLERR to pollers, SIGIO with POLL_ERR. */
static void taps_notify_report_work(struct work_struct *work)
{
	struct taps_sock *tsk = container_of(work, struct taps_sock, notify.report_work);
	struct sock *sk = &tsk->sk;

	if (!sock_flag(sk, SOCK_DEAD))
		sk_error_report(sk);
	sock_put(sk);
}

void taps_notify_init(struct taps_sock *tsk)
{
	init_waitqueue_func_entry(&tsk->notify.wait, taps_notify_wake);
	INIT_WORK(&tsk->notify.report_work, taps_notify_report_work);
}

int taps_notify_set(struct taps_sock *tsk, sockptr_t optval, unsigned int optlen)
{
	struct sock *sk = &tsk->sk;
	int val;

	if (optlen < sizeof(int))
		return -EINVAL;
	if (copy_from_sockptr(&val, optval, sizeof(val)))
		return -EFAULT;
	if (val & ~TAPS_NOTE_ALL)
		return -EINVAL;
	lock_sock(sk);
	if (val && !tsk->notify.waiting) {
		add_wait_queue(sk_sleep(sk), &tsk->notify.wait);
		tsk->notify.waiting = true;
	}
	WRITE_ONCE(tsk->notify.mask, val);
	release_sock(sk);
	/* What already happened counts, once. */
	taps_notify_check(tsk);
	return 0;
}

u32 taps_notify_mask(const struct taps_sock *tsk)
{
	return READ_ONCE(tsk->notify.mask);
}

/*
 * After a write: above the low-water mark, a DRAINED may follow.  TCP
 * tells of new space only to a writer that found none (SOCK_NOSPACE), so
 * the connection is told someone waits; then look at once, in case it
 * drained already.
 */
void taps_notify_sent(struct taps_sock *tsk, struct socket *inner)
{
	u32 lowat;

	if (!(READ_ONCE(tsk->notify.mask) & TAPS_NOTE_BIT(TAPS_NOTE_DRAINED)))
		return;
	lowat = taps_connprop_lowat(tsk);
	if (!lowat || taps_notsent(inner->sk) < lowat)
		return;
	set_bit(SOCK_NOSPACE, &inner->flags);
	set_bit(TAPS_NF_ARMED, &tsk->notify.flags);
	taps_notify_check(tsk);
}

__poll_t taps_notify_poll(const struct taps_sock *tsk)
{
	return skb_queue_empty_lockless(&tsk->sk.sk_error_queue) ? 0 : EPOLLERR;
}

/*
 * recvmsg(MSG_ERRQUEUE): the oldest notification as a SOL_TAPS cmsg; no
 * data.  -EAGAIN when none is queued (the caller then asks the connection,
 * whose own error queue IP_RECVERR fills).
 */
int taps_notify_recv(struct taps_sock *tsk, struct msghdr *msg, int flags)
{
	struct sk_buff *skb;
	int err;

	skb = skb_dequeue(&tsk->sk.sk_error_queue);
	if (!skb)
		return -EAGAIN;
	err = put_cmsg(msg, SOL_TAPS, *(u32 *)skb->cb, skb->len, skb->data);
	if (!err)
		msg->msg_flags |= MSG_ERRQUEUE;
	consume_skb(skb);
	return err;
}

/* From release(), before the connection goes: no wakeup reaches us after. */
void taps_notify_release(struct taps_sock *tsk)
{
	struct sock *sk = &tsk->sk;

	if (tsk->notify.waiting) {
		remove_wait_queue(sk_sleep(sk), &tsk->notify.wait);
		tsk->notify.waiting = false;
	}
	WRITE_ONCE(tsk->notify.mask, 0);
	if (cancel_work(&tsk->notify.report_work))
		sock_put(sk);
	skb_queue_purge(&sk->sk_error_queue);
}
