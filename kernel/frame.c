// SPDX-License-Identifier: GPL-2.0
/*
 * AF_TAPS: messages over TCP in the length-prefix framing.
 *
 * A SOCK_SEQPACKET socket whose race TCP won (the application allowed
 * TCP in TAPS_PROTOCOLS) sends each message as a 4-byte big-endian length
 * and the message, the contract of Documentation/framing.md that libtaps'
 * length-prefix framer speaks too.
 *
 * Receiving reads the header, then the body, straight from the TCP
 * socket into the caller's buffer: nothing is assembled in the kernel, so
 * a message may be larger than any buffer, a short buffer gets the rest in
 * the next recvmsg() (MSG_EOR on the last part) as SCTP delivers a message
 * partially, and a peer's length costs no memory.  The strparser (KCM,
 * kTLS) was the alternative: it assembles every message whole in skbs
 * before handing it up, bounded by the TCP socket's receive buffer, which
 * would cap messages at the receive buffer and could not deliver a part.
 * A non-blocking reader is told EPOLLIN only when a part worth delivering
 * is there: after each non-blocking call the TCP socket's SO_RCVLOWAT is
 * what the frame needs next (the rest of the header, then the body up to
 * a quarter of the receive buffer), and recvmsg() says EAGAIN below that,
 * so poll and recvmsg agree and a level-triggered loop does not spin.  A
 * blocking call sets it to 1, as TCP must wake it for every arrival.
 *
 * Sending writes the header and the body to TCP.  A message is atomic: a
 * send that TCP takes nothing of fails (EAGAIN, EINTR) and the application
 * sends it again; one that TCP takes a part of is accepted whole and the
 * rest is kept in the kernel (@pend, at most one message, charged to the
 * owner's memory cgroup) and written as TCP makes room (write_space queues
 * @tx_work), before the next message.  EPOLLOUT is not reported while
 * anything is kept.
 *
 * What is kept is bounded by the owner's send buffer, as SCTP bounds its
 * messages (sctp_sendmsg_to_asoc()): a message longer than the TCP
 * socket's sk_sndbuf fails with EMSGSIZE, the answer the SCTP candidate
 * gives, and a non-blocking send finding less free send space than the
 * message (sk_stream_wspace()) fails with EAGAIN before anything is
 * written.  So a part is kept only when TCP's skb overhead or memory
 * pressure cut a message that fitted, or a blocking send was interrupted:
 * at most sk_sndbuf bytes beside a write queue itself within sk_sndbuf,
 * the 2 * sk_sndbuf a plain SCTP socket may hold.  After such an EAGAIN,
 * EPOLLOUT waits for that much space (@tx_need), so poll and send agree.
 */

#define pr_fmt(fmt) "taps: " fmt

#include <asm/unaligned.h>
#include <linux/mm.h>
#include <linux/net.h>
#include <linux/uio.h>
#include <net/sock.h>
#include <net/tcp.h>

#include "taps.h"

#define TAPS_FRAME_HDR	4

/*
 * struct taps_frame - the framing state of one TCP connection
 * @sk: the AF_TAPS sock
 * @sock: the TCP connection, once attached; NULL before
 * @rx_lock: the receive fields; held across reading from @sock
 * @hdr, @hdr_have: the header read so far
 * @rx_left: body bytes of the current message not yet read
 * @rx_err: EPROTO or EMSGSIZE: the stream is broken, every read says so
 * @tx_lock: the send fields; held across writing to @sock
 * @pend, @pend_off: the rest of a frame TCP did not take yet
 * @pend_len: its length; written under @tx_lock, read locklessly
 * @tx_need: free send space the last non-blocking send lacked, 0 if none;
 *	written under @tx_lock, read locklessly by poll
 * @tx_work: writes @pend when TCP has room
 * @write_space: the TCP socket's own callback
 */
struct taps_frame {
	struct sock		*sk;
	struct socket		*sock;

	struct mutex		rx_lock;	/* readers, the receive fields */
	u8			hdr[TAPS_FRAME_HDR];
	u8			hdr_have;
	u32			rx_left;
	int			rx_err;

	struct mutex		tx_lock;	/* writers, the send fields */
	u8			*pend;
	u32			pend_off;
	u32			pend_len;
	u32			tx_need;
	struct work_struct	tx_work;
	void			(*write_space)(struct sock *sk);
};

static int taps_frame_send_kvec(struct socket *sock, const void *buf, size_t len, int flags)
{
	struct kvec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr m = { .msg_flags = flags };

	return kernel_sendmsg(sock, &m, &iov, 1, len);
}

/* Write what is kept; 0 when nothing is left, else -errno. */
static int taps_frame_flush(struct taps_frame *f, int flags)
{
	int n;

	lockdep_assert_held(&f->tx_lock);
	while (f->pend_len) {
		n = taps_frame_send_kvec(f->sock, f->pend + f->pend_off, f->pend_len, flags);
		if (n <= 0)
			return n ?: -EAGAIN;
		f->pend_off += n;
		WRITE_ONCE(f->pend_len, f->pend_len - n);
	}
	kvfree(f->pend);
	f->pend = NULL;
	f->pend_off = 0;
	return 0;
}

/* Nothing can be kept any more: the connection is gone or a frame cut. */
static void taps_frame_drop(struct taps_frame *f)
{
	lockdep_assert_held(&f->tx_lock);
	kvfree(f->pend);
	f->pend = NULL;
	f->pend_off = 0;
	WRITE_ONCE(f->pend_len, 0);
}

static void taps_frame_tx_work(struct work_struct *work)
{
	struct taps_frame *f = container_of(work, struct taps_frame, tx_work);
	bool done;
	int err;

	mutex_lock(&f->tx_lock);
	err = taps_frame_flush(f, MSG_DONTWAIT | MSG_NOSIGNAL);
	/* A dead connection: its error reaches the application anyway. */
	if (err && err != -EAGAIN)
		taps_frame_drop(f);
	done = !f->pend_len;
	mutex_unlock(&f->tx_lock);
	/* EPOLLOUT again: the AF_TAPS socket's waiters share the queue. */
	if (done)
		f->sk->sk_write_space(f->sk);
}

static void taps_frame_write_space(struct sock *isk)
{
	void (*chain)(struct sock *sk);
	struct taps_frame *f;

	read_lock_bh(&isk->sk_callback_lock);
	f = isk->sk_user_data;
	if (f) {
		chain = f->write_space;
		if (READ_ONCE(f->pend_len))
			queue_work(taps_wq, &f->tx_work);
	} else {
		chain = isk->sk_write_space;
	}
	read_unlock_bh(&isk->sk_callback_lock);
	if (chain && chain != taps_frame_write_space)
		chain(isk);
}

/* The errnos after which a part-sent frame may still be finished. */
static bool taps_frame_retry(int err)
{
	return err == -EAGAIN || err == -EINTR || err == -ERESTARTSYS;
}

/*
 * TCP took part of the frame: keep the rest (@hlen bytes of header at
 * @head, then @blen bytes left in @msg) and have it written.  If it cannot
 * be kept, the frame is cut and the connection is reset.
 */
static int taps_frame_keep(struct taps_frame *f, const u8 *head, size_t hlen,
			   struct msghdr *msg, size_t blen)
{
	u8 *p = kvmalloc(hlen + blen, GFP_KERNEL_ACCOUNT);
	int err = -ENOMEM;

	if (!p)
		goto cut;
	memcpy(p, head, hlen);
	if (copy_from_iter(p + hlen, blen, &msg->msg_iter) != blen) {
		kvfree(p);
		err = -EFAULT;
		goto cut;
	}
	f->pend = p;
	f->pend_off = 0;
	WRITE_ONCE(f->pend_len, hlen + blen);
	/* TCP may have made room already: write_space would not come. */
	queue_work(taps_wq, &f->tx_work);
	return 0;
cut:
	tcp_abort(f->sock->sk, ECONNABORTED);
	return err;
}

/*
 * Is there free send space for @len bytes?  If not, TCP is asked to call
 * write_space as it frees some (SOCK_NOSPACE), as tcp_poll() does, and
 * the space is checked again after that, so no wakeup is lost.
 */
static bool taps_frame_room(struct sock *isk, u32 len)
{
	u32 want = min_t(u32, len, max(READ_ONCE(isk->sk_sndbuf), 0));

	if (sk_stream_wspace(isk) >= (int)want)
		return true;
	if (!isk->sk_socket)
		return false;
	set_bit(SOCK_NOSPACE, &isk->sk_socket->flags);
	smp_mb__after_atomic();	/* pairs with tcp_check_space() */
	return sk_stream_wspace(isk) >= (int)want;
}

int taps_frame_sendmsg(struct taps_sock *tsk, struct msghdr *msg, size_t len)
{
	struct taps_frame *f = tsk->frame;
	int flags = msg->msg_flags, tflags;
	__be32 hdr = cpu_to_be32(len);
	struct sock *isk = f->sock->sk;
	int n, err;

	if (flags & MSG_OOB)
		return -EOPNOTSUPP;
	/* SCTP's answer: no message beyond what the send buffer holds. */
	if (len > TAPS_FRAME_MAX_LEN || len > READ_ONCE(isk->sk_sndbuf))
		return -EMSGSIZE;
	tflags = flags & (MSG_DONTWAIT | MSG_NOSIGNAL);
	if (flags & MSG_DONTWAIT) {
		if (!mutex_trylock(&f->tx_lock))
			return -EAGAIN;
	} else if (mutex_lock_interruptible(&f->tx_lock)) {
		return -ERESTARTSYS;
	}
	err = taps_frame_flush(f, tflags);
	if (err) {
		if (!taps_frame_retry(err))
			taps_frame_drop(f);
		goto out;
	}
	/* Non-blocking: all of it fits now, or nothing is written. */
	if ((flags & MSG_DONTWAIT) && !taps_frame_room(isk, len + sizeof(hdr))) {
		WRITE_ONCE(f->tx_need, len + sizeof(hdr));
		err = -EAGAIN;
		goto out;
	}
	WRITE_ONCE(f->tx_need, 0);

	n = taps_frame_send_kvec(f->sock, &hdr, sizeof(hdr), tflags | (len ? MSG_MORE : 0));
	if (n <= 0) {
		err = n ?: -EAGAIN;
		goto out;
	}
	if (n < (int)sizeof(hdr)) {
		err = taps_frame_keep(f, (u8 *)&hdr + n, sizeof(hdr) - n, msg, len);
		goto out;
	}
	if (len) {
		n = f->sock->ops->sendmsg(f->sock, msg, len);
		if (n < 0 && !taps_frame_retry(n)) {
			err = n;
			goto out;
		}
		n = max(n, 0);
		if (n < len) {
			err = taps_frame_keep(f, NULL, 0, msg, len - n);
			goto out;
		}
	}
	err = 0;
out:
	mutex_unlock(&f->tx_lock);
	return err ?: len;
}

static int taps_frame_recv_kvec(struct socket *sock, void *buf, size_t len, int flags)
{
	struct kvec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr m = {};

	return kernel_recvmsg(sock, &m, &iov, 1, len, flags);
}

/* The bytes the next delivery needs: SO_RCVLOWAT of the TCP socket. */
static int taps_frame_need(const struct taps_frame *f, const struct sock *isk)
{
	int cap = max(READ_ONCE(isk->sk_rcvbuf) >> 2, 1);

	if (f->hdr_have < TAPS_FRAME_HDR)
		return TAPS_FRAME_HDR - f->hdr_have;
	return min_t(u32, f->rx_left, cap) ?: 1;
}

/*
 * Non-blocking: may @want body bytes be read now?  Yes when they are there,
 * when a quarter of the receive buffer is (a part worth delivering, as
 * SCTP's partial delivery), or when nothing more will come.
 */
static bool taps_frame_ready(struct taps_frame *f, struct sock *isk, size_t want)
{
	bool ready;
	int avail;

	lock_sock(isk);
	avail = tcp_inq(isk);
	ready = avail >= want || avail >= max(READ_ONCE(isk->sk_rcvbuf) >> 2, 1) ||
		isk->sk_err || (isk->sk_shutdown & RCV_SHUTDOWN) || isk->sk_state == TCP_CLOSE;
	release_sock(isk);
	return ready;
}

/*
 * Point the TCP socket's SO_RCVLOWAT, and so poll's EPOLLIN and TCP's
 * wakeups, at the need, or at @max when a blocked reader wants less.
 */
static void taps_frame_set_lowat(struct taps_frame *f, size_t max)
{
	struct sock *isk = f->sock->sk;
	int need = min_t(size_t, taps_frame_need(f, isk), max ?: 1);

	if (READ_ONCE(isk->sk_rcvlowat) == need)
		return;
	lock_sock(isk);
	tcp_set_rcvlowat(isk, need);
	release_sock(isk);
}

/* The header: 1 when whole, 0 at a clean end, -errno. */
static int taps_frame_read_hdr(struct taps_frame *f, int flags)
{
	u32 len;
	int n;

	lockdep_assert_held(&f->rx_lock);
	/* A short read is the end, a signal or a timeout: the next says which. */
	while (f->hdr_have < TAPS_FRAME_HDR) {
		n = taps_frame_recv_kvec(f->sock, f->hdr + f->hdr_have,
					 TAPS_FRAME_HDR - f->hdr_have, flags);
		if (n < 0)
			return n;
		if (!n) {
			if (!f->hdr_have)
				return 0;
			f->rx_err = EPROTO;	/* the stream ended inside a header */
			return -EPROTO;
		}
		f->hdr_have += n;
	}
	len = get_unaligned_be32(f->hdr);
	if (len > TAPS_FRAME_MAX_LEN) {
		/* Delivered: nothing of it, nor of anything after. */
		f->rx_err = EMSGSIZE;
		tcp_abort(f->sock->sk, ECONNABORTED);
		return -EMSGSIZE;
	}
	f->rx_left = len;
	return 1;
}

int taps_frame_recvmsg(struct taps_sock *tsk, struct msghdr *msg, size_t len, int flags)
{
	struct taps_frame *f = tsk->frame;
	struct socket *sock = f->sock;
	int rflags, n;
	size_t want;

	if (flags & (MSG_PEEK | MSG_OOB))
		return -EOPNOTSUPP;
	if (flags & MSG_ERRQUEUE)	/* timestamps, zerocopy: not frame data */
		return sock->ops->recvmsg(sock, msg, len, flags);
	if (flags & MSG_DONTWAIT) {
		if (!mutex_trylock(&f->rx_lock))
			return -EAGAIN;
	} else if (mutex_lock_interruptible(&f->rx_lock)) {
		return -ERESTARTSYS;
	}
	if (f->rx_err) {
		n = -f->rx_err;
		goto out;
	}
	/* A blocked reader must be woken by every arrival: TCP wakes it
	 * only when SO_RCVLOWAT bytes are there, and what it still waits
	 * for can be less than the need set for poll.
	 */
	if (!(flags & MSG_DONTWAIT))
		taps_frame_set_lowat(f, 1);
	rflags = flags & MSG_DONTWAIT ? MSG_DONTWAIT : MSG_WAITALL;
	if (f->hdr_have < TAPS_FRAME_HDR) {
		n = taps_frame_read_hdr(f, rflags);
		if (n <= 0)
			goto out;
		if (!f->rx_left) {
			/* An empty message: 0 with MSG_EOR, unlike the end. */
			f->hdr_have = 0;
			msg->msg_flags |= MSG_EOR;
			n = 0;
			goto out;
		}
	}
	want = min_t(size_t, len, f->rx_left);
	if (!want) {
		n = 0;
		goto out;
	}
	if ((flags & MSG_DONTWAIT) && !taps_frame_ready(f, sock->sk, want)) {
		n = -EAGAIN;
		goto out;
	}
	n = sock->ops->recvmsg(sock, msg, want, (flags & ~(MSG_TRUNC | MSG_WAITALL)) | rflags);
	if (n < 0)
		goto out;
	if (!n) {
		f->rx_err = EPROTO;	/* the stream ended inside a message */
		n = -EPROTO;
		goto out;
	}
	f->rx_left -= n;
	msg->msg_flags &= ~MSG_EOR;
	if (!f->rx_left) {
		f->hdr_have = 0;
		msg->msg_flags |= MSG_EOR;
	}
out:
	/* Non-blocking: poll's EPOLLIN waits for what the next call needs. */
	if (flags & MSG_DONTWAIT)
		taps_frame_set_lowat(f, SIZE_MAX);
	mutex_unlock(&f->rx_lock);
	return n;
}

/*
 * poll(): EPOLLOUT only when nothing is kept back and, after a send said
 * EAGAIN, when the space it lacked is free: what that send would need.
 */
__poll_t taps_frame_poll(struct taps_sock *tsk, __poll_t mask)
{
	struct taps_frame *f = tsk->frame;
	u32 need = READ_ONCE(f->tx_need);

	if (READ_ONCE(f->pend_len) || (need && !taps_frame_room(f->sock->sk, need)))
		mask &= ~(EPOLLOUT | EPOLLWRNORM);
	return mask;
}

/* shutdown(SHUT_WR): what is kept goes before the FIN. */
int taps_frame_shutdown(struct taps_sock *tsk)
{
	struct taps_frame *f = tsk->frame;
	int err;

	if (mutex_lock_interruptible(&f->tx_lock))
		return -ERESTARTSYS;
	err = taps_frame_flush(f, MSG_NOSIGNAL);
	if (err && !taps_frame_retry(err)) {
		taps_frame_drop(f);
		err = 0;
	}
	mutex_unlock(&f->tx_lock);
	return err;
}

/* A framing state, not attached to a socket yet (kfree() it unused). */
struct taps_frame *taps_frame_new(void)
{
	struct taps_frame *f = kzalloc(sizeof(*f), GFP_KERNEL_ACCOUNT);

	if (!f)
		return NULL;
	mutex_init(&f->rx_lock);
	mutex_init(&f->tx_lock);
	INIT_WORK(&f->tx_work, taps_frame_tx_work);
	return f;
}

/* A SOCK_SEQPACKET race that may pick TCP needs one; under the socket lock. */
int taps_frame_alloc(struct taps_sock *tsk)
{
	sock_owned_by_me(&tsk->sk);
	if (!tsk->frame)
		tsk->frame = taps_frame_new();
	return tsk->frame ? 0 : -ENOMEM;
}

/*
 * TCP won (or was accepted): frame it.  Before the connection is
 * published (taps_inner()), so the data path sees the frame with it.
 */
void taps_frame_attach(struct taps_sock *tsk, struct socket *sock)
{
	struct taps_frame *f = tsk->frame;
	struct sock *isk = sock->sk;

	f->sk = &tsk->sk;
	f->sock = sock;
	write_lock_bh(&isk->sk_callback_lock);
	f->write_space = isk->sk_write_space;
	isk->sk_user_data = f;
	isk->sk_write_space = taps_frame_write_space;
	write_unlock_bh(&isk->sk_callback_lock);
	taps_frame_set_lowat(f, SIZE_MAX);
}

/*
 * Close: before the TCP socket is released.  What is still kept is
 * written if TCP takes it now; else the connection is reset (SO_LINGER
 * {1, 0}), so the peer sees an error rather than a frame cut short.
 */
void taps_frame_release(struct taps_sock *tsk)
{
	struct taps_frame *f = tsk->frame;
	struct sock *isk;

	if (!f)
		return;
	tsk->frame = NULL;
	if (f->sock) {
		isk = f->sock->sk;
		write_lock_bh(&isk->sk_callback_lock);
		isk->sk_user_data = NULL;
		isk->sk_write_space = f->write_space;
		write_unlock_bh(&isk->sk_callback_lock);
		cancel_work_sync(&f->tx_work);
		mutex_lock(&f->tx_lock);
		if (taps_frame_flush(f, MSG_DONTWAIT | MSG_NOSIGNAL))
			sock_no_linger(isk);
		mutex_unlock(&f->tx_lock);
	}
	kvfree(f->pend);
	kfree(f);
}

/* The TCP socket of @isk is framed: its SO_RCVLOWAT is the frame's. */
bool taps_frame_owns(const struct taps_sock *tsk, const struct sock *isk)
{
	const struct taps_frame *f = tsk->frame;

	return f && f->sock && f->sock->sk == isk;
}
