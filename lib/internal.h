/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libtaps: private declarations shared by the lib/ sources (and the host tests,
 * which link libtaps.a).  Nothing here is exported from libtaps.so.
 */
#ifndef _TAPS_INTERNAL_H
#define _TAPS_INTERNAL_H

#include <pthread.h>
#include <signal.h>
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

/* The framers of a preconnection, in the order added: [0] nearest the
 * transport, [n - 1] nearest the application (RFC 9622 section 9.1.2.1). */
#define TAPS_MAX_FRAMERS	4
struct taps_framer_stack {
	int	n;
	struct {
		const struct taps_framer_ops	*ops;
		void				*arg;
	} f[TAPS_MAX_FRAMERS];
};

struct taps_remote {
	char		host[TAPS_HOST_MAX];	/* "" = none */
	in_port_t	port;			/* host order */
};

struct taps_tls_config;

struct taps_preconnection {
	struct taps_loop	*loop;
	struct taps_props	props;
	struct taps_remote	remote[TAPS_MAX_ENDPOINTS];
	int			nremote;
	bool			has_local;
	struct taps_addr	local;		/* family 0: wildcard */
	in_port_t		local_port;
	char			ifname[16];
	struct taps_framer_stack	framers;
	struct taps_callbacks	cbs;
	struct taps_tls_config	*tls;		/* NULL: no TLS */
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
	/* A stack (RFC 9622 section 9.1.2.1): above is nearer the application,
	 * below nearer the transport.  Every framer of a stack shares the
	 * sink; only the bottom one sends to it, only the top one delivers. */
	struct taps_framer		*above, *below;
	/* the top framer of a connection: is a Receive pending; the largest
	 * part it takes (0: whole messages); the Received(Partial) event */
	bool				(*wants)(void *user);
	size_t				(*max_part)(void *user);
	void				(*deliver_part)(void *user, const void *msg, size_t len,
							const struct taps_message_context *mc,
							bool whole);
	/* what the framer tells about the message it delivers (framer_http.c) */
	const void			*meta;
	/* a message delivered in parts: its rest, in buf (kept across
	 * compaction) or, if the framer delivered it from elsewhere, in side */
	bool				holding;
	size_t				hold_off, hold_len;
	uint8_t				*hold_side;
	const void			*hold_meta;
	/* a framer with another below: what it sends for one message,
	 * gathered into one message for the framer below (unless both are
	 * built-in: then its iovecs go straight down, see framer.c) */
	uint8_t				*out;
	size_t				out_len, out_cap;
	bool				gathered;
	bool				failed;
	int				fail_code;
	bool				started;
};

int taps__framer_init(struct taps_framer *f, const struct taps_framer_ops *ops, void *arg,
		      const struct taps_framer_sink *sink);
/* bottom = the framer nearest the transport; the others are allocated */
int taps__framer_stack_init(struct taps_framer *bottom, const struct taps_framer_stack *st,
			    const struct taps_framer_sink *sink);
/* add a framer above the top of bottom's stack: 0 or -errno */
int taps__framer_push(struct taps_framer *bottom, const struct taps_framer_ops *ops, void *arg);
struct taps_framer *taps__framer_top(struct taps_framer *f);
/* stops and frees the framers above too */
void taps__framer_fini(struct taps_framer *f);
/* make room for at least n more bytes at the end; returns the space or NULL */
uint8_t *taps__framer_space(struct taps_framer *f, size_t n, size_t *avail);
void taps__framer_commit(struct taps_framer *f, size_t n);
/* parse what is buffered: 0, or the failure's -code */
int taps__framer_process(struct taps_framer *f);
/* a connection's receive path: the rest of a message in parts, then
 * whatever every framer of the stack has buffered; 0 or -code */
int taps__framer_pump(struct taps_framer *bottom);
/* nothing buffered anywhere in the stack */
bool taps__framer_drained(const struct taps_framer *bottom);
int taps__framer_eof(struct taps_framer *f);
/* frame one message from the application through the whole stack */
int taps__framer_output(struct taps_framer *bottom, const void *msg, size_t len);

/* ---- TLS (tls.c) ---- */

struct taps_tls;

struct taps_sigpipe {
	sigset_t	old;
	bool		was_pending;
};
/* around calls that may write to a reset connection without MSG_NOSIGNAL */
void taps__sigpipe_block(struct taps_sigpipe *sp);
void taps__sigpipe_restore(struct taps_sigpipe *sp);

int taps__tls_config_new(const struct taps_tls_params *p, struct taps_tls_config **out);
struct taps_tls_config *taps__tls_config_get(struct taps_tls_config *cfg);
void taps__tls_config_put(struct taps_tls_config *cfg);
bool taps__tls_config_has_cert(const struct taps_tls_config *cfg);
/* the protocols that may race when TLS is required */
int64_t taps__tls_protocols(int64_t protocols);

/* host: the name given (SNI and the name checked), port: the session key */
struct taps_tls *taps__tls_new(struct taps_tls_config *cfg, int fd, bool server,
			       const char *host, in_port_t port);
void taps__tls_free(struct taps_tls *t);
/* 1 done, 0 poll for *events and call again, -errno (taps__tls_reason()) */
int taps__tls_handshake(struct taps_tls *t, short *events);
const char *taps__tls_reason(const struct taps_tls *t);
unsigned int taps__tls_ktls(const struct taps_tls *t);
ssize_t taps__tls_read(struct taps_tls *t, void *buf, size_t len, short *events);
ssize_t taps__tls_write(struct taps_tls *t, const void *buf, size_t len, short *events);
ssize_t taps__tls_recv_control(struct taps_tls *t, void *buf, size_t len, bool *eof);
void taps__tls_close_notify(struct taps_tls *t);
int taps__tls_info(const struct taps_tls *t, struct taps_tls_info *info);
/* RFC 8446 section 7.1, empty context; for the tests */
int taps__tls13_expand_label(const char *md_name, const uint8_t *secret, size_t slen,
			     const char *label, uint8_t *out, size_t olen);
int taps__tls13_crypto_info(uint16_t suite, const uint8_t *secret, size_t slen,
			    uint64_t seq, void *out);
/* a connection over a connected stream socket running TLS (tests) */
struct taps_connection *taps__conn_adopt_tls(struct taps_preconnection *pre, int fd,
					     bool server, const char *host, void *user);

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
	bool		inflight;	/* in the sendmsg the kernel has now */
	int		file_fd;	/* taps_send_file(): -1 for bytes */
	off_t		file_off;
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
 * never before one the kernel has started on (written in part, in flight,
 * or the head while head_busy). */
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
