/* SPDX-License-Identifier: GPL-2.0 */
/*
 * AF_TAPS: Transport Services sockets, private definitions.
 */
#ifndef __TAPS_H
#define __TAPS_H

#include <linux/workqueue.h>
#include <net/sock.h>
#include <linux/taps.h>

/* Address family number registered at load time (module parameter). */
extern int taps_family;
extern struct workqueue_struct *taps_wq;

#define TAPS_DEFAULT_ATTEMPT_DELAY_MS	250	/* RFC 8305 section 5 */
#define TAPS_MIN_ATTEMPT_DELAY_MS	10
#define TAPS_MAX_ATTEMPT_DELAY_MS	2000

/* connect()'s own address plus the TAPS_REMOTE_ENDPOINTS list */
#define TAPS_MAX_RACE_ENDPOINTS		(TAPS_MAX_ENDPOINTS + 1)
#define TAPS_NPROTO			3	/* TCP, SCTP, MPTCP */
#define TAPS_MAX_CANDIDATES		(TAPS_MAX_RACE_ENDPOINTS * TAPS_NPROTO)

/* Selection properties, indexed by TAPS_SEL_* - TAPS_SEL_FIRST */
#define TAPS_SEL_FIRST			TAPS_SEL_RELIABILITY
#define TAPS_SEL_LAST			TAPS_SEL_ZERO_RTT_MSG
#define TAPS_SEL_COUNT			(TAPS_SEL_LAST - TAPS_SEL_FIRST + 1)

static inline int taps_sel_idx(int optname)
{
	return optname - TAPS_SEL_FIRST;
}

/* struct taps_candidate - one (endpoint, protocol) pair to race */
struct taps_candidate {
	struct sockaddr_storage	addr;
	int			addrlen;
	int			protocol;	/* IPPROTO_* */
};

/*
 * struct taps_attempt - one connection attempt of a race
 * @node: in taps_sock.attempts
 * @tsk: the racing socket
 * @sock: the kernel socket connecting
 * @idx: index of its candidate
 * @state_change, @error_report: the kernel socket's own callbacks
 */
struct taps_attempt {
	struct list_head	node;
	struct taps_sock	*tsk;
	struct socket		*sock;
	u32			idx;
	void			(*state_change)(struct sock *sk);
	void			(*error_report)(struct sock *sk);
};

/*
 * struct taps_sock - the AF_TAPS socket ("tsk")
 * @sk: the outer sock, first so that taps_sk() is a cast
 * @state: TAPS_STATE_*; written under the socket lock, read locklessly
 * @inner: the connection carrying the data once established
 * @ep: remote endpoints set with TAPS_REMOTE_ENDPOINTS
 * @sel: selection properties, TAPS_PREF_* each
 * @local: the address bind() gave, when @bound
 * @listeners: the kernel listeners of a Listener
 * @optrecs: protocol-level options recorded before connect(), or NULL
 * @cand: gathered candidates, in racing order
 * @attempts: attempts under way
 * @delay_work: starts the next attempt when the attempt delay expires
 * @timeout_work: ends the race after TAPS_CONN_TIMEOUT
 * @event_work: looks at attempts whose state changed (from callbacks)
 * @race_err: the most informative errno seen in this race
 */
struct taps_sock {
	struct sock		sk;
	u32			state;
	struct socket		*inner;

	/* Preconnection: what the application asked for */
	struct taps_endpoint	ep[TAPS_MAX_ENDPOINTS];
	u32			n_ep;
	u8			sel[TAPS_SEL_COUNT];
	u32			protocols;
	u32			attempt_delay_ms;
	u32			conn_timeout_ms;
	struct taps_endpoint	local;
	bool			bound;

	/* Listener: one kernel listener per protocol */
	struct socket		*listeners[TAPS_NPROTO];
	u32			n_listeners;

	/* Protocol-level options set before connect() (optrec.c) */
	struct taps_optrecs	*optrecs;

	/* Race */
	struct taps_candidate	*cand;
	u32			n_cand;
	u32			next_cand;
	struct list_head	attempts;
	struct delayed_work	delay_work;
	struct delayed_work	timeout_work;
	struct work_struct	event_work;
	int			race_err;
	u32			n_attempts;
	u32			n_failed;
	u32			winner;
	ktime_t			start;
	u64			connect_us;
	int			protocol;
};

static inline struct taps_sock *taps_sk(const struct sock *sk)
{
	return (struct taps_sock *)sk;
}

/* The established connection, or NULL; no lock needed. */
static inline struct socket *taps_inner(const struct taps_sock *tsk)
{
	/* Pairs with the smp_store_release() of the state in
	 * taps_race_won(), taps_accept_wrap() and taps_shutdown(): @inner is
	 * set before the state says established or closing.
	 */
	u32 state = smp_load_acquire(&tsk->state);

	if (state != TAPS_STATE_ESTABLISHED && state != TAPS_STATE_CLOSING)
		return NULL;
	return tsk->inner;
}

static inline int taps_ep_len(const struct taps_endpoint *ep)
{
	return ep->family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

/*
 * The connection sees the AF_TAPS socket's file, as net/smc's clcsock does
 * after fallback: tcp_splice_read() and others read sock->file->f_flags.
 * No reference is taken: the file outlives the connection, whose release
 * clears the pointer first (__sock_release() would skip the inode else).
 */
static inline void taps_attach_file(struct socket *inner, struct socket *sock)
{
	inner->file = sock->file;
}

/* af_taps.c */
void taps_sock_init(struct taps_sock *tsk);
int taps_endpoint_from(struct taps_endpoint *ep, const struct sockaddr *uaddr, int len);
int taps_addr_is_taps(const struct sockaddr *uaddr, int len);

/* listen.c */
void taps_redirect_wq(struct sock *isk, struct socket *sock);
int taps_kern_socket(struct net *net, int family, int protocol, struct socket **res);
int taps_bind(struct socket *sock, struct sockaddr *uaddr, int addr_len);
int taps_listen(struct socket *sock, int backlog);
int taps_accept(struct socket *sock, struct socket *newsock, int flags, bool kern);
void taps_listen_stop(struct taps_sock *tsk);
bool taps_listen_pending(struct taps_sock *tsk);

/* optrec.c */
int taps_optrec_set(struct taps_sock *tsk, int level, int optname, sockptr_t optval,
		    unsigned int optlen);
int taps_optrec_get(struct taps_sock *tsk, int level, int optname, char __user *optval,
		    int __user *optlen);
int taps_optrec_apply(struct taps_sock *tsk, struct socket *sock);
void taps_optrec_free(struct taps_sock *tsk);

/* race.c */
void taps_race_init(struct taps_sock *tsk);
int taps_gather_protocols(const struct taps_sock *tsk, int *proto, bool listener);
int taps_race_start(struct taps_sock *tsk, const struct taps_endpoint *first);
void taps_race_stop(struct taps_sock *tsk);
void taps_sync_sockopts(struct sock *sk, struct sock *isk);

/* sockopt.c */
int taps_setsockopt(struct socket *sock, int level, int optname,
		    sockptr_t optval, unsigned int optlen);
int taps_getsockopt(struct socket *sock, int level, int optname,
		    char __user *optval, int __user *optlen);
void taps_sockopt_init(struct taps_sock *tsk);

#endif /* __TAPS_H */
