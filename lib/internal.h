/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libtaps: private declarations shared by the lib/ sources (and the host tests,
 * which link libtaps.a).  Nothing here is exported from libtaps.so.
 */
#ifndef _TAPS_INTERNAL_H
#define _TAPS_INTERNAL_H

#include <pthread.h>
#include <liburing.h>

#include "taps.h"

#ifndef TAPS_VERSION_STRING	/* the Makefile passes debian/changelog's */
#define TAPS_VERSION_STRING	"unknown"
#endif
#define TAPS_RESOLUTION_DELAY_MS	50	/* RFC 8305 section 3 */
#define TAPS_HOST_MAX		256

struct taps_addr {
	union {
		struct sockaddr		sa;
		struct sockaddr_in	sin;
		struct sockaddr_in6	sin6;
	};
};

/* What a completion is about: embedded in its object, passed as user_data. */
enum taps_op_kind {
	OP_TIMER = 1,
	OP_EVENTFD,
	OP_CONN_POLL,
	OP_CONN_RECV,
	OP_CONN_SEND,
	OP_CONN_SHUTDOWN,
	OP_CONN_DEFER,
	OP_CONN_PUMP,
	OP_ACCEPT,
	OP_LISTENER_DEFER,
	OP_RES_TIMER,
	OP_IGNORE,
};

struct taps_op {
	enum taps_op_kind	kind;
};

struct taps_props {
	int64_t	v[TAPS_PROP_COUNT];
};

void taps__props_init(struct taps_props *p);
/* 0 or -errno: is value one prop may take on a preconnection */
int taps__prop_validate(enum taps_property prop, int64_t value);
bool taps__prop_is_selection(enum taps_property prop);
/* 0, or -EPROTONOSUPPORT with *reason */
int taps__props_check(const struct taps_props *p, bool framer, const char **reason);
/* Set the socket options the properties map to; 0 or -errno with *reason */
int taps__props_apply(const struct taps_props *p, int fd, const char *ifname,
		      const char **reason);

struct taps_remote {
	char		host[TAPS_HOST_MAX];	/* "" = none */
	in_port_t	port;			/* host order */
};

struct taps_preconnection {
	struct taps_loop	*loop;
	struct taps_props	props;
	struct taps_remote	remote[TAPS_MAX_ENDPOINTS];
	int			nremote;
	bool			has_local;
	struct taps_addr	local;		/* family 0: wildcard */
	in_port_t		local_port;
	char			ifname[16];
	const struct taps_framer_ops	*framer_ops;
	void			*framer_arg;
	struct taps_callbacks	cbs;
	struct taps_callbacks_ext ext;
};

/* ---- resolution ---- */

/* A query: one name, one family; runs on a resolver thread. */
typedef int (*taps_query_fn)(const char *host, int family, struct taps_addr *out,
			     int max, char *reason, size_t rlen);
int taps__query_getaddrinfo(const char *host, int family, struct taps_addr *out,
			    int max, char *reason, size_t rlen);

typedef void (*taps_resolved_cb)(void *arg, const struct taps_addr *addrs, int n,
				 int err, const char *reason);

struct taps_resolution;
/*
 * Resolve hosts[0..n) (names or literals) for port, A and AAAA in
 * parallel on resolver threads; done is called on the loop thread, once,
 * with every address ordered (RFC 8305 section 4), or err and a reason.
 */
struct taps_resolution *taps__resolve(struct taps_loop *loop, const struct taps_remote *r,
				      int n, taps_resolved_cb done, void *arg);
/* done is then never called */
void taps__resolve_cancel(struct taps_resolution *res);
/* RFC 6724 destination precedence, then RFC 8305 family interleaving */
void taps__order_addresses(struct taps_addr *a, int n);
int taps__addr_precedence(const struct taps_addr *a);

/* ---- loop ---- */

struct taps_resq;	/* completed queries, handed over from resolver threads */

struct taps_loop {
	struct io_uring		ring;
	bool			stop;
	bool			debug;	/* LIBTAPS_DEBUG set */
	int			dispatching;
	unsigned int		inflight;	/* SQEs that count as work */
	unsigned int		resolving;	/* queries out on threads */
	int			efd;
	struct taps_op		efd_op;
	uint64_t		efd_val;
	bool			efd_armed;
	struct taps_resq	*resq;
	taps_query_fn		query;		/* tests replace it */
	struct taps_connection	*conns;		/* every live connection */
	struct taps_listener	*listeners;
	struct taps_op		ignore_op;
};

struct io_uring_sqe *taps__sqe(struct taps_loop *loop);
/* Submit now unless a callback is running (then on the way out). */
void taps__kick(struct taps_loop *loop);
void taps__loop_query_done(struct taps_loop *loop, void *q);
void taps__arm_eventfd(struct taps_loop *loop);
uint64_t taps__now_us(void);

/* dispatch a completion to its object */
void taps__conn_complete(struct taps_loop *loop, struct taps_op *op, int res, unsigned int flags);
void taps__listener_complete(struct taps_loop *loop, struct taps_op *op, int res);
void taps__resolution_timer(struct taps_loop *loop, struct taps_op *op, int res);
void taps__resolution_query_done(struct taps_loop *loop, void *q);
void taps__conn_free_all(struct taps_loop *loop);
struct taps_connection *taps__conn_adopt(struct taps_preconnection *pre, int fd, void *user);

/* ---- framers ---- */

struct taps_framer {
	const struct taps_framer_ops	*ops;
	void				*state;
	uint8_t				*buf;
	size_t				off, len, cap;	/* bytes buf[off..off+len) */
	struct taps_framer_sink		sink;
	/* a connection's framer asks it whether a Receive is pending */
	bool				(*wants)(void *user);
	bool				failed;
	bool				started;
};

int taps__framer_init(struct taps_framer *f, const struct taps_framer_ops *ops, void *arg,
		      const struct taps_framer_sink *sink);
void taps__framer_fini(struct taps_framer *f);
/* make room for at least n more bytes at the end; returns the space or NULL */
uint8_t *taps__framer_space(struct taps_framer *f, size_t n, size_t *avail);
void taps__framer_commit(struct taps_framer *f, size_t n);
/* parse what is buffered: 0, or the failure's -code */
int taps__framer_process(struct taps_framer *f);
int taps__framer_eof(struct taps_framer *f);

/* ---- message properties and the send queue (msgprops.c) ---- */

struct taps_msg_props {
	int64_t		v[TAPS_MSG_PROP_COUNT];
	uint32_t	set;		/* bit per property set */
};

/* What the connection's properties make of mp: the effective values, or
 * -EOPNOTSUPP with *reason (mp NULL: the defaults). */
int taps__msg_props_resolve(const struct taps_msg_props *mp, const struct taps_props *cp,
			    struct taps_msg_props *out, const char **reason);

/* A piece of a message on its way to the kernel (conn.c's send queue). */
struct sendbuf {
	struct sendbuf	*next;
	size_t		len, off;
	int		nctx;
	bool		done;		/* written */
	bool		final;		/* msgFinal: SHUT_WR after it */
	void		**ctx;		/* Sent events, in order, once written */
	uint64_t	msg;		/* the message it belongs to */
	int64_t		prio;		/* msgPriority */
	struct taps_timer *timer;	/* msgLifetime */
	void		*conn;		/* for the timer */
	uint8_t		data[];
};

struct taps_sendq {
	struct sendbuf	*head, *tail;
};

/* A message's pieces first..last (just appended at q's tail) move to their
 * place by priority: after every message of lower or equal msgPriority,
 * never before one the kernel has started on (head_busy: the head). */
void taps__sendq_place(struct taps_sendq *q, struct sendbuf *first, bool head_busy);
/* Unlink message msg's pieces if none is started; returns them (a chain)
 * or NULL. */
struct sendbuf *taps__sendq_take(struct taps_sendq *q, uint64_t msg, bool head_busy);
/* Frees one piece (its timer cancelled, its contexts freed). */
void taps__sendbuf_free(struct sendbuf *s);

/* ---- connection groups (group.c) ---- */

struct taps_group;
/* conn.c: the group slot of a connection */
struct taps_group **taps__conn_group(struct taps_connection *c);
/* room for one more member in c's group (made now); 0 or -ENOMEM */
int taps__group_reserve(struct taps_connection *c);
/* child joins parent's group (reserved first: cannot fail) */
void taps__group_join(struct taps_connection *parent, struct taps_connection *child);
/* connPriority in a group: does a member of higher priority (lower
 * value) have bytes queued?  Then c's next message waits. */
bool taps__group_holds(struct taps_connection *c);
/* c has nothing queued (or left): held members try again */
void taps__group_kick(struct taps_connection *c);
/* conn.c: has c bytes queued, and its connPriority */
bool taps__conn_backlog(struct taps_connection *c, int64_t *prio);
/* conn.c: try a held connection's send queue again */
void taps__conn_unhold(struct taps_connection *c);
/* set prop on every other member of c's group */
void taps__group_set(struct taps_connection *c, enum taps_property prop, int64_t value);
/* c leaves its group (the group goes with its last member) */
void taps__group_leave(struct taps_connection *c);
/* conn.c: set one connection property on one connection; 0 or -errno */
int taps__conn_set_one(struct taps_connection *c, enum taps_property prop, int64_t value);

#endif /* _TAPS_INTERNAL_H */
