/* SPDX-License-Identifier: GPL-2.0 */
/*
 * AF_TAPS: Transport Services sockets, private definitions.
 */
#ifndef __TAPS_H
#define __TAPS_H

#include <linux/hrtimer.h>
#include <linux/in6.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/workqueue.h>
#include <net/ipv6.h>
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
/*
 * Attempts open at once: a race holds at most this many kernel sockets
 * besides the AF_TAPS one; the next candidate waits for one to fail.
 */
#define TAPS_MAX_INFLIGHT		8

/* Selection properties, indexed by TAPS_SEL_* - TAPS_SEL_FIRST */
#define TAPS_SEL_FIRST			TAPS_SEL_RELIABILITY
#define TAPS_SEL_LAST			TAPS_SEL_ZERO_RTT_MSG
#define TAPS_SEL_COUNT			(TAPS_SEL_LAST - TAPS_SEL_FIRST + 1)

static inline int taps_sel_idx(int optname)
{
	return optname - TAPS_SEL_FIRST;
}

/* Protocol index: TAPS_P_* is BIT(index). */
static inline int taps_proto_idx(int protocol)
{
	switch (protocol) {
	case IPPROTO_TCP:
		return 0;
	case IPPROTO_SCTP:
		return 1;
	default:
		return 2;	/* IPPROTO_MPTCP */
	}
}

static inline int taps_proto_of_bit(u32 bit)
{
	switch (bit) {
	case TAPS_P_TCP:
		return IPPROTO_TCP;
	case TAPS_P_SCTP:
		return IPPROTO_SCTP;
	case TAPS_P_MPTCP:
		return IPPROTO_MPTCP;
	}
	return 0;
}

/*
 * The protocols a socket type may race (TAPS_P_*): SOCK_STREAM any byte
 * stream; SOCK_SEQPACKET SCTP one-to-one, whose messages keep their
 * boundaries (Documentation/uapi.md, "SOCK_SEQPACKET").
 */
static inline u32 taps_type_protocols(int type)
{
	return type == SOCK_SEQPACKET ? TAPS_P_SCTP | TAPS_P_TCP : TAPS_P_ALL;
}

/* An address prefix or remote address, as policy rules and the cache key it. */
struct taps_addr {
	u16			family;
	u16			port;		/* host order; 0: any */
	union {
		__be32		a4;
		struct in6_addr	a6;
	};
};

/*
 * struct taps_rule - a destination rule of the system policy
 * @prefix: the destination prefix, masked to @prefixlen
 * @prohibit: TAPS_P_* never raced to it
 * @prefer: one TAPS_P_* raced first to it, or 0
 * @attempt_delay_ms: attempt delay of races to it, or 0
 */
struct taps_rule {
	u32			id;
	struct taps_addr	prefix;
	u8			prefixlen;
	u32			prohibit;
	u32			prefer;
	u32			attempt_delay_ms;
};

/*
 * struct taps_policy - the system policy of a network namespace.  Readers
 * see it under RCU; a change replaces the whole object (copy, update,
 * publish) under taps_net.lock.  @rules are longest prefix first, so the
 * first match is the longest.
 */
struct taps_policy {
	struct rcu_head		rcu;
	u32			attempt_delay_ms;
	u32			protocols;
	u8			order[TAPS_NPROTO];	/* TAPS_P_* bits */
	u32			max_candidates;
	bool			cache;
	u32			cache_lifetime_ms;
	u32			cache_size;
	u32			next_rule_id;
	u32			n_rules;
	struct taps_rule	rules[];
};

#define TAPS_DEFAULT_CACHE_LIFETIME_MS	600000
#define TAPS_DEFAULT_CACHE_SIZE		1024
#define TAPS_CACHE_HASH_BITS		10

/* Cached state of one (remote address, port, service) */
struct taps_cache_proto {
	u32			success;
	u32			failure;
	unsigned long		last_success;	/* jiffies; 0: never */
	unsigned long		last_failure;
};

struct taps_cache_entry {
	struct hlist_node	hnode;
	struct list_head	lru;
	struct taps_addr	key;
	kuid_t			uid;		/* whose races: partitions */
	u32			type;
	u32			winner;		/* IPPROTO_*, 0: none */
	u32			srtt_us;
	unsigned long		updated;	/* jiffies */
	struct taps_cache_proto	p[TAPS_NPROTO];
};

struct taps_cache {
	spinlock_t		lock;		/* the table, the list, @n */
	struct hlist_head	hash[1 << TAPS_CACHE_HASH_BITS];
	struct list_head	lru;		/* most recently used first */
	u32			n;
};

/*
 * struct taps_net - per network namespace state
 * @policy: system policy, RCU
 * @lock: serialises policy writers
 * @socks: every AF_TAPS socket of the namespace, under @socks_lock
 * @stats: counters, indexed by TAPS_STATS_A_*; CONNECT_MEAN holds the sum
 */
struct taps_net {
	struct taps_policy __rcu *policy;
	struct mutex		lock;		/* policy writers */
	struct taps_cache	cache;
	spinlock_t		socks_lock;	/* @socks */
	struct list_head	socks;
	atomic64_t		stats[__TAPS_STATS_A_MAX];
};

struct taps_net *taps_pernet(const struct net *net);

static inline void taps_stat_inc(struct net *net, int idx)
{
	atomic64_inc(&taps_pernet(net)->stats[idx]);
}

/* struct taps_candidate - one (endpoint, protocol) pair to race */
struct taps_candidate {
	struct sockaddr_storage	addr;
	int			addrlen;
	int			protocol;	/* IPPROTO_* */
	u8			slot;		/* the protocol's place at its endpoint */
	u8			rank;		/* cache: 0 last winner, 1, 2 failed */
	unsigned long		won_at;		/* cache: jiffies of its last win */
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
	ktime_t			start;
	void			(*state_change)(struct sock *sk);
	void			(*error_report)(struct sock *sk);
};

/* Connection properties as set at SOL_TAPS (connprop.c) */
struct taps_connprop {
	u32			abort_ms;	/* TAPS_CONN_ABORT_TIMEOUT */
	u32			priority;	/* TAPS_CONN_PRIORITY */
	u32			profile;	/* TAPS_CONN_CAPACITY_PROFILE */
	u32			send_lowat;	/* TAPS_CONN_SEND_LOWAT */
};

/*
 * Notifications (notify.c): @wait on the AF_TAPS socket's wait queue while
 * @waiting; @mask subscribed kinds, TAPS_NOTE_BIT()s; @flags TAPS_NF_*.
 */
struct taps_notify {
	struct wait_queue_entry	wait;
	struct work_struct	report_work;
	u32			mask;
	bool			waiting;
	unsigned long		flags;
	atomic_t		dropped;
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
 * @attempts: attempts under way, @n_inflight of them
 * @delay_timer: the attempt delay; its expiry queues @event_work
 * @timeout_timer: TAPS_CONN_TIMEOUT; its expiry queues @event_work
 * @next_at: when the next candidate starts, unless one fails first
 * @deadline: when the race fails with ETIMEDOUT; 0: never
 * @event_work: steps the race: attempts whose state changed, the timers
 * @race_err: the most informative errno seen in this race
 *
 * The Preconnection, the race and the listeners are under the socket lock
 * (lock_sock()), which the work item takes and the callbacks and timers
 * never do; @state and @inner are read without it (taps_inner()).
 */
struct taps_sock {
	struct sock		sk;
	u32			state;
	struct socket		*inner;
	struct list_head	net_node;	/* taps_net.socks */
	const struct cred	*cred;		/* of the connect() racing */
	const struct cred	*bind_cred;	/* of bind(), when @bound */

	/* Preconnection: what the application asked for */
	struct taps_endpoint	*ep;	/* @n_ep of them, or NULL */
	u32			n_ep;
	u8			sel[TAPS_SEL_COUNT];
	u32			protocols;
	u32			attempt_delay_ms;	/* 0: from the policy */
	u32			conn_timeout_ms;
	struct taps_endpoint	local;
	bool			bound;
	bool			isolate;

	/* Listener: one kernel listener per protocol */
	struct socket		*listeners[TAPS_NPROTO];
	u32			n_listeners;

	/* SOCK_SEQPACKET that may race TCP: the framing (frame.c), or NULL.
	 * Allocated and attached under the socket lock before the connection
	 * is published, read with it (taps_inner()), freed at release.
	 */
	struct taps_frame	*frame;

	/* Protocol-level options set before connect() (optrec.c) */
	struct taps_optrecs	*optrecs;

	/* Race */
	struct taps_candidate	*cand;
	u32			n_cand;
	u32			next_cand;
	struct list_head	attempts;
	u32			n_inflight;
	struct hrtimer		delay_timer;
	struct hrtimer		timeout_timer;
	ktime_t			next_at;
	ktime_t			deadline;
	struct work_struct	event_work;
	int			race_err;
	u32			n_attempts;
	u32			n_failed;
	u32			winner;
	ktime_t			start;
	u64			connect_us;
	int			protocol;
	u32			race_delay_ms;	/* attempt delay in force */
	bool			starting;	/* connect() is starting the race */
	int			priority_synced; /* SO_PRIORITY last copied */
	int			rcvlowat_synced; /* SO_RCVLOWAT last copied */
	u32			info_flags;	/* TAPS_INFO_F_* */

	/* Connection properties, under the socket lock (connprop.c) */
	struct taps_connprop	prop;
	struct taps_notify	notify;
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

/* The family an endpoint's packets use: ::ffff:a.b.c.d is IPv4. */
static inline int taps_ep_family(const struct taps_endpoint *ep)
{
	if (ep->family == AF_INET6 && ipv6_addr_v4mapped(&ep->sin6.sin6_addr))
		return AF_INET;
	return ep->family;
}

static inline int taps_ep_len(const struct taps_endpoint *ep)
{
	return ep->family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

/* pernet.c */
int taps_pernet_init(void);
void taps_pernet_exit(void);
void taps_net_link(struct taps_sock *tsk);
void taps_net_unlink(struct taps_sock *tsk);
u32 taps_policy_delay(struct net *net);
u32 taps_policy_protocols(struct net *net);
int taps_policy_set(struct net *net, struct nlattr **tb, struct netlink_ext_ack *extack);
int taps_rule_add(struct net *net, const struct taps_rule *rule, struct netlink_ext_ack *extack);
int taps_rule_del(struct net *net, u32 id, const struct taps_addr *prefix, u8 prefixlen);
bool taps_addr_in_prefix(const struct taps_addr *a, const struct taps_addr *prefix,
			 u8 prefixlen);
void taps_stat_connect_time(struct net *net, u64 us);

/* cache.c */
void taps_cache_init(struct taps_cache *c);
void taps_cache_exit(struct taps_cache *c);
bool taps_cache_rank(struct net *net, kuid_t uid, u32 type, struct taps_candidate *cand,
		     u32 n, bool *hit);
u32 taps_cache_count(struct net *net);
void taps_cache_update(struct net *net, kuid_t uid, u32 type, const struct taps_candidate *c,
		       int err, u32 rtt_us);
void taps_cache_shrink(struct net *net, u32 size);
int taps_cache_del(struct net *net, const struct taps_addr *a, u8 prefixlen);
void taps_cache_flush(struct net *net);
/* A dump's place in the cache: a hash bucket, entries of it passed. */
struct taps_cache_pos {
	u32	bucket;
	u32	skip;
};

int taps_cache_snapshot(struct net *net, const struct taps_addr *filter, u8 prefixlen,
			struct taps_cache_pos *pos, struct taps_cache_entry *out, u32 max);
void taps_sockaddr_to_addr(const struct sockaddr_storage *ss, struct taps_addr *a);

/* netlink.c */
int taps_nl_init(void);
void taps_nl_exit(void);
void taps_nl_conn_event(struct taps_sock *tsk, int cmd, const struct taps_candidate *c, int err);
void taps_nl_cache_event(struct net *net, const struct taps_cache_entry *e);

/* inner.c */
struct taps_frame;

struct taps_owner {
	const struct cred	*cred;
	struct mem_cgroup	*memcg;
};

int taps_inner_create(struct taps_sock *tsk, int family, int protocol, struct socket **res);
void taps_inner_adopt(struct sock *sk, struct socket *sock);
void taps_inner_release(struct socket *sock);
int taps_inner_bind(struct taps_sock *tsk, struct socket *sock, const struct taps_endpoint *addr);
int taps_bind_permitted(struct net *net, __be16 port);
void taps_redirect_wq(struct sock *isk, struct socket *sock);
void taps_owner_enter(struct taps_sock *tsk, struct taps_owner *o);
void taps_owner_exit(struct taps_owner *o);
void taps_sync_sockopts(struct taps_sock *tsk, struct sock *isk);
void taps_sync_sockopts_fresh(struct taps_sock *tsk, struct sock *isk);

/* allowlist.c */
#define TAPS_OPT_SET	BIT(0)	/* setsockopt(): recorded before connect, passed after */
#define TAPS_OPT_GET	BIT(1)	/* getsockopt(): the record before connect, passed after */
#define TAPS_OPT_CONN	BIT(2)	/* only on a connection: ENOTCONN before */
#define TAPS_OPT_DENY	BIT(3)	/* known and refused: EOPNOTSUPP */

u8 taps_opt_flags(int level, int optname);
int taps_opt_check_set(int level, int optname, sockptr_t optval, unsigned int optlen,
		       bool connected, char *name);
int taps_opt_check_get(int level, int optname);

/* af_taps.c */
void taps_sock_init(struct taps_sock *tsk);
int taps_endpoint_from(struct taps_endpoint *ep, const struct sockaddr *uaddr, int len);
int taps_addr_is_taps(const struct sockaddr *uaddr, int len);

/* listen.c */
int taps_bind(struct socket *sock, struct sockaddr *uaddr, int addr_len);
int taps_listen(struct socket *sock, int backlog);
int taps_accept(struct socket *sock, struct socket *newsock, int flags, bool kern);
void taps_listen_stop(struct taps_sock *tsk);
bool taps_listen_pending(struct taps_sock *tsk);
int taps_listen_shutdown(struct taps_sock *tsk, int how);
int taps_listen_getname(struct taps_sock *tsk, struct sockaddr *uaddr);

/* optrec.c */
int taps_optrec_set(struct taps_sock *tsk, int level, int optname, sockptr_t optval,
		    unsigned int optlen);
int taps_optrec_get(struct taps_sock *tsk, int level, int optname, char __user *optval,
		    int __user *optlen);
int taps_optrec_apply(struct taps_sock *tsk, struct socket *sock);
void taps_optrec_free(struct taps_sock *tsk);
int taps_optrec_put(struct taps_sock *tsk, int level, int optname, const void *val,
		    unsigned int len);
bool taps_optrec_fits(int level, const struct sock *isk);

/* connprop.c */
void taps_connprop_init(struct taps_sock *tsk);
bool taps_connprop_is(int optname);
int taps_connprop_set(struct taps_sock *tsk, int optname, sockptr_t optval, unsigned int optlen);
int taps_connprop_get(struct taps_sock *tsk, int optname, int *val);
int taps_connprop_query(struct taps_sock *tsk, char __user *optval, int __user *optlen);
u32 taps_connprop_lowat(const struct taps_sock *tsk);

/* notify.c */
void taps_notify_init(struct taps_sock *tsk);
int taps_notify_set(struct taps_sock *tsk, sockptr_t optval, unsigned int optlen);
u32 taps_notify_mask(const struct taps_sock *tsk);
void taps_notify_sent(struct taps_sock *tsk, struct socket *inner);
__poll_t taps_notify_poll(const struct taps_sock *tsk);
int taps_notify_recv(struct taps_sock *tsk, struct msghdr *msg, int flags);
void taps_notify_release(struct taps_sock *tsk);

/* race.c */
void taps_race_init(struct taps_sock *tsk);
int taps_gather_protocols(const struct taps_sock *tsk, const u8 *order, int *proto,
			  int *n_pref, bool listener);
int taps_race_start(struct taps_sock *tsk, const struct taps_endpoint *first);
void taps_race_stop(struct taps_sock *tsk);

/* frame.c */
struct taps_frame *taps_frame_new(void);
int taps_frame_alloc(struct taps_sock *tsk);
void taps_frame_attach(struct taps_sock *tsk, struct socket *sock);
void taps_frame_release(struct taps_sock *tsk);
bool taps_frame_owns(const struct taps_sock *tsk, const struct sock *isk);
int taps_frame_sendmsg(struct taps_sock *tsk, struct msghdr *msg, size_t len);
int taps_frame_recvmsg(struct taps_sock *tsk, struct msghdr *msg, size_t len, int flags);
__poll_t taps_frame_poll(struct taps_sock *tsk, __poll_t mask);
int taps_frame_shutdown(struct taps_sock *tsk);

/* sockopt.c */
int taps_setsockopt(struct socket *sock, int level, int optname,
		    sockptr_t optval, unsigned int optlen);
int taps_getsockopt(struct socket *sock, int level, int optname,
		    char __user *optval, int __user *optlen);
void taps_sockopt_init(struct taps_sock *tsk);

#endif /* __TAPS_H */
