/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libtaps: the Transport Services API (RFC 9622) in C over AF_TAPS.
 *
 * Installed as <taps/taps.h>.  libtaps(3) is the overview; every object
 * and event below carries RFC 9622's name with a taps_ prefix.
 *
 * Threading: a taps_loop and everything made on it belong to one thread.
 * Callbacks run on that thread, from taps_loop_run() or
 * taps_loop_process(); they may call any function of this header except
 * taps_loop_free() on their own loop.
 */
#ifndef _TAPS_H
#define _TAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <linux/taps.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * taps_family - the address family number taps.ko registered
 *
 * Reads /sys/module/taps/parameters/family; when the module is not loaded
 * (or sysfs is not mounted) returns the default AF_TAPS.  Use it, not the
 * AF_TAPS constant, as socket()'s first argument.
 */
int taps_family(void);

/* taps_state_name - "established" for TAPS_STATE_ESTABLISHED, "?" if unknown */
const char *taps_state_name(unsigned int state);

/* taps_protocol_name - "TCP", "SCTP" or "MPTCP" for TAPS_INFO's ti_protocol
 * (an IPPROTO_* value), "?" if unknown */
const char *taps_protocol_name(unsigned int ipproto);

/* The library's version, "MAJOR.MINOR.PATCH". */
const char *taps_version(void);

struct taps_loop;
struct taps_preconnection;
struct taps_connection;
struct taps_listener;
struct taps_timer;
struct taps_framer;
struct taps_message_context;

/* Every error event carries one: an errno value and a sentence. */
struct taps_error {
	int		code;		/* positive errno value */
	const char	*reason;	/* valid during the callback */
};

/* ---- Event loop (taps_loop(3)) ---------------------------------------- */

/* A loop on io_uring; NULL and errno on failure. */
struct taps_loop *taps_loop_new(void);
/* Frees the loop; connections and listeners still open are aborted first
 * (without events). */
void taps_loop_free(struct taps_loop *loop);
/* Runs until taps_loop_stop() or nothing is left to wait for; 0 or -errno. */
int taps_loop_run(struct taps_loop *loop);
void taps_loop_stop(struct taps_loop *loop);
/* For another event loop: poll taps_loop_fd() for POLLIN, then call
 * taps_loop_process(), which never blocks; it returns the number of
 * completions handled or -errno. */
int taps_loop_fd(const struct taps_loop *loop);
int taps_loop_process(struct taps_loop *loop);

typedef void (*taps_timer_cb)(struct taps_timer *timer, void *user);
/* A one-shot timer after ms milliseconds; NULL and errno on failure. */
struct taps_timer *taps_timer_new(struct taps_loop *loop, unsigned int ms,
				  taps_timer_cb cb, void *user);
/* Cancels a timer that has not fired; the callback is not called. */
void taps_timer_cancel(struct taps_timer *timer);

/* ---- Properties (taps_properties(3)) ---------------------------------- */

/* Preference levels of the selection properties: TAPS_PREF_* from
 * <linux/taps.h> (NO_PREFERENCE, REQUIRE, PREFER, AVOID, PROHIBIT). */

/* multipath (RFC 9622 section 6.2.14) */
enum {
	TAPS_MULTIPATH_DISABLED = 0,
	TAPS_MULTIPATH_ACTIVE,
	TAPS_MULTIPATH_PASSIVE,
};

/* direction (RFC 9622 section 6.2.16) */
enum {
	TAPS_DIRECTION_BIDIRECTIONAL = 0,
	TAPS_DIRECTION_UNIDIRECTIONAL_SEND,
	TAPS_DIRECTION_UNIDIRECTIONAL_RECV,
};

/* connState (RFC 9622 section 8.1.11.1) */
enum {
	TAPS_CONN_ESTABLISHING = 0,
	TAPS_CONN_ESTABLISHED,
	TAPS_CONN_CLOSING,
	TAPS_CONN_CLOSED,
};

enum taps_property {
	/* Selection properties (RFC 9622 section 6.2): TAPS_PREF_* values
	 * on a preconnection; 0/1 (provided or not) on a connection. */
	TAPS_PROP_RELIABILITY = 0,		/* reliability: Require */
	TAPS_PROP_PRESERVE_MSG_BOUNDARIES,	/* preserveMsgBoundaries: No Preference */
	TAPS_PROP_PER_MSG_RELIABILITY,		/* perMsgReliability: No Preference */
	TAPS_PROP_PRESERVE_ORDER,		/* preserveOrder: Require */
	TAPS_PROP_ZERO_RTT_MSG,			/* zeroRttMsg: No Preference */
	TAPS_PROP_MULTISTREAMING,		/* multistreaming: No Preference (RFC: Prefer) */
	TAPS_PROP_FULL_CHECKSUM_SEND,		/* fullChecksumSend: Require */
	TAPS_PROP_FULL_CHECKSUM_RECV,		/* fullChecksumRecv: Require */
	TAPS_PROP_CONGESTION_CONTROL,		/* congestionControl: Require */
	TAPS_PROP_KEEP_ALIVE,			/* keepAlive: No Preference */
	TAPS_PROP_USE_TEMPORARY_LOCAL_ADDRESS,	/* useTemporaryLocalAddress: No Preference */
	TAPS_PROP_MULTIPATH,			/* multipath: TAPS_MULTIPATH_*, Disabled */
	TAPS_PROP_ADVERTISES_ALTADDR,		/* advertisesAltaddr: bool, false */
	TAPS_PROP_DIRECTION,			/* direction: TAPS_DIRECTION_* */
	TAPS_PROP_SOFT_ERROR_NOTIFY,		/* softErrorNotify: No Preference */
	TAPS_PROP_ACTIVE_READ_BEFORE_SEND,	/* activeReadBeforeSend: No Preference */
	/* libtaps: TAPS_P_* protocols allowed (TAPS_PROTOCOLS); 0 = the kernel's */
	TAPS_PROP_PROTOCOLS,

	/* Connection properties (RFC 9622 section 8.1) */
	TAPS_PROP_CONN_TIMEOUT,			/* connTimeout: ms, -1 = Disabled */
	TAPS_PROP_KEEP_ALIVE_TIMEOUT,		/* keepAliveTimeout: s, -1 = Disabled */
	TAPS_PROP_CONN_PRIORITY,		/* connPriority: 100 */
	TAPS_PROP_CONN_CAPACITY_PROFILE,	/* connCapacityProfile: 0 Default */
	TAPS_PROP_ISOLATE_SESSION,		/* isolateSession: bool (TAPS_ISOLATE) */
	TAPS_PROP_ATTEMPT_DELAY,		/* libtaps: ms, 0 = policy (TAPS_ATTEMPT_DELAY) */
	/* Read only (a connection): */
	TAPS_PROP_CONN_STATE,			/* connState: TAPS_CONN_* */
	TAPS_PROP_CAN_SEND,			/* canSend: bool */
	TAPS_PROP_CAN_RECEIVE,			/* canReceive: bool */
	TAPS_PROP_SEND_MSG_MAX_LEN,		/* sendMsgMaxLen: bytes, -1 = no limit */
	TAPS_PROP_RECV_MSG_MAX_LEN,		/* recvMsgMaxLen: bytes, -1 = no limit */
	TAPS_PROP_PROTOCOL,			/* libtaps: IPPROTO_* of the connection */

	TAPS_PROP_COUNT
};

/* "reliability" for TAPS_PROP_RELIABILITY; NULL if out of range. */
const char *taps_property_name(enum taps_property prop);
/* The property named name (RFC 9622 spelling), or -1. */
int taps_property_lookup(const char *name);
/* "Require" for TAPS_PREF_REQUIRE, ...; "?" if out of range. */
const char *taps_pref_name(int pref);

/* ---- Preconnection (taps_preconnection(3)) ---------------------------- */

struct taps_preconnection *taps_preconnection_new(struct taps_loop *loop);
void taps_preconnection_free(struct taps_preconnection *pre);

/*
 * Endpoints (RFC 9622 section 6.1).  host: a name or an address literal,
 * NULL for none (local: the wildcard); service: a port number or a
 * service name from /etc/services, NULL for 0.  A remote endpoint may be
 * added several times (several names or addresses, raced together).
 * 0, -EINVAL on a bad port or service, -ENOSPC beyond TAPS_MAX_ENDPOINTS.
 */
int taps_preconnection_add_remote(struct taps_preconnection *pre,
				  const char *host, const char *service);
int taps_preconnection_set_local(struct taps_preconnection *pre,
				 const char *host, const char *service);
/* The interface (SO_BINDTODEVICE) of the local endpoint; -EINVAL if too long. */
int taps_preconnection_set_interface(struct taps_preconnection *pre, const char *ifname);

/*
 * Properties: 0, -ENOENT no such property, -EINVAL a value it cannot take,
 * -EROFS a read-only one.  Each property starts at its RFC 9622 default
 * (see the enum).  A combination no protocol can satisfy is accepted
 * here and fails at taps_initiate()/taps_listen() with a reason.
 */
int taps_preconnection_set(struct taps_preconnection *pre, enum taps_property prop,
			   int64_t value);
int taps_preconnection_get(const struct taps_preconnection *pre,
			   enum taps_property prop, int64_t *value);
/*
 * Checks the selection properties against what AF_TAPS offers: 0 or
 * -EPROTONOSUPPORT with a sentence in reason (if non-NULL).
 */
int taps_preconnection_check(const struct taps_preconnection *pre, const char **reason);

/* ---- Framers (taps_framer(3), RFC 9622 section 9.1.2) ----------------- */

struct taps_framer_ops {
	const char *name;
	/* Connection established (or the framer added): may set state. */
	int (*start)(struct taps_framer *f, void *arg);
	void (*stop)(struct taps_framer *f);
	/* The application sent a whole message: frame it with
	 * taps_framer_send(); 0 or -errno (a SendError). */
	int (*new_sent_message)(struct taps_framer *f, const void *msg, size_t len);
	/* Bytes arrived: taps_framer_parse(), taps_framer_deliver() and
	 * taps_framer_advance() as many messages as wanted; 0, or -errno
	 * after taps_framer_fail(). */
	int (*handle_received_data)(struct taps_framer *f);
	/* The peer ended its stream with len bytes still buffered: 0 or
	 * taps_framer_fail() (e.g. a truncated message). */
	int (*handle_eof)(struct taps_framer *f);
};

/* The framer's own state (start() sets it). */
void taps_framer_set_state(struct taps_framer *f, void *state);
void *taps_framer_state(const struct taps_framer *f);
/* A view of the bytes received and not yet advanced over. */
size_t taps_framer_parse(struct taps_framer *f, const uint8_t **data);
/* Consume n bytes of the view. */
void taps_framer_advance(struct taps_framer *f, size_t n);
/* Deliver a message (a Received event); the bytes are not copied, so
 * advance over them only after delivering.  false when no Receive is
 * pending: stop parsing, handle_received_data() is called again later. */
bool taps_framer_wants_message(const struct taps_framer *f);
void taps_framer_deliver(struct taps_framer *f, const void *msg, size_t len);
/* Write bytes to the transport (iovecs gathered, copied once). */
int taps_framer_send(struct taps_framer *f, const struct iovec *iov, int iovcnt);
/* The stream is unusable: a ConnectionError / ReceiveError with code
 * and reason; returns -code. */
int taps_framer_fail(struct taps_framer *f, int code, const char *reason);

/*
 * Built-in framers; arg is a const struct taps_framer_limits * or NULL.
 * length-prefix: a 4-byte big-endian length then the message
 * (Documentation/framing.md); line: LF or CRLF ends a message.
 */
struct taps_framer_limits {
	size_t max_len;		/* largest message; 0: 16 MiB (lp), 64 KiB (line) */
};
extern const struct taps_framer_ops taps_framer_length_prefix;
extern const struct taps_framer_ops taps_framer_line;

/*
 * HTTP/1.1 messages (RFC 9112; Documentation/framing.md): arg is a const
 * struct taps_http_limits * or NULL.  A message is a request or a response,
 * start line, fields and body (Content-Length, chunked, none, or until the
 * end of the stream for a response).  Delivered: the head as received, then
 * the body de-chunked, then the trailer fields; taps_http_message() on the
 * message context says where each is.  Sent: a whole message, head and
 * body; Content-Length is added if the head has neither it nor chunked.
 */
struct taps_http_limits {
	size_t max_header;	/* head (or trailer section); 0: 64 KiB */
	size_t max_body;	/* body, de-chunked; 0: 16 MiB */
};
extern const struct taps_framer_ops taps_framer_http;

struct taps_http_message {
	bool	request;		/* else a response */
	int	version;		/* 10 (HTTP/1.0) or 11 (HTTP/1.1) */
	int	status;			/* a response's status code, 0 for a request */
	size_t	method_len;		/* a request's method: data[0..method_len) */
	size_t	target_off, target_len;	/* a request's target */
	size_t	head_len;		/* start line, fields and empty line */
	size_t	body_off, body_len;	/* the body (de-chunked); body_off = head_len */
	size_t	trailer_off, trailer_len;	/* chunked: the trailer fields */
	int64_t	content_length;		/* the Content-Length field, -1 if none */
	bool	chunked;		/* the body came chunked */
	bool	until_close;		/* a response body ended by the end of the stream */
};
/* The HTTP view of a message delivered by taps_framer_http (in a
 * Received or ReceivedPartial event's context), NULL for another framer.
 * Offsets are from the message's first byte; valid during the callback. */
const struct taps_http_message *taps_http_message(const struct taps_message_context *mc);
/* The value of the first field name (case-insensitive) in the head of
 * data (a whole message, m its view), without surrounding whitespace;
 * NULL if there is none. */
const char *taps_http_field(const void *data, const struct taps_http_message *m,
			    const char *name, size_t *len);

/*
 * Add a framer (RFC 9622 section 9.1.2.1): framers added to one
 * preconnection form a stack, the last added runs first on what the
 * application sends and last on what arrives (nearest the application);
 * the first added is nearest the transport.  Each message a framer frames
 * is one message for the framer below; each message the framer below
 * delivers is bytes for the framer above.  At most 4: -ENOSPC.
 */
int taps_preconnection_add_framer(struct taps_preconnection *pre,
				  const struct taps_framer_ops *ops, void *arg);

/*
 * A framer outside a connection, for tests and other transports: bytes
 * go in with taps_framer_input(), messages come out through deliver,
 * framed bytes through send, a failure through fail.
 */
struct taps_framer_sink {
	void (*deliver)(void *user, const void *msg, size_t len);
	int (*send)(void *user, const struct iovec *iov, int iovcnt);
	void (*fail)(void *user, int code, const char *reason);
	void *user;
};
struct taps_framer *taps_framer_new(const struct taps_framer_ops *ops, void *arg,
				    const struct taps_framer_sink *sink);
void taps_framer_free(struct taps_framer *f);
/* Feed received bytes (len 0: end of stream); 0 or the failure's -code. */
int taps_framer_input(struct taps_framer *f, const void *data, size_t len);
/* Frame and send one message through the sink; 0 or -errno. */
int taps_framer_output(struct taps_framer *f, const void *msg, size_t len);

/* ---- Events (taps_events(3)) ------------------------------------------ */

/* Message context (RFC 9622 section 9.1.1), per Received event. */
struct taps_message_context {
	bool		end_of_message;	/* the message is complete */
	void		*send_context;	/* Sent/SendError: taps_send()'s ctx */
	/* Received(Partial): the framer nearest the application and what it
	 * tells about the message (RFC 9622 section 9.1.2.2), e.g. through
	 * taps_http_message(); NULL if none. */
	const struct taps_framer_ops	*framer;
	const void			*framer_meta;
};

/*
 * The events, as RFC 9622 names them.  NULL members are not called.
 * Each gets the user pointer of its object (taps_*_set_user()).
 * Received data is valid during the callback only.
 */
struct taps_callbacks {
	/* Preconnection / Connection establishment */
	void (*ready)(struct taps_connection *c, void *user);
	void (*establishment_error)(struct taps_connection *c,
				    const struct taps_error *err, void *user);
	/* Listener */
	void (*connection_received)(struct taps_listener *l, struct taps_connection *c,
				    void *user);
	void (*listen_error)(struct taps_listener *l, const struct taps_error *err,
			     void *user);
	void (*stopped)(struct taps_listener *l, void *user);
	/* Sending */
	void (*sent)(struct taps_connection *c, void *ctx, void *user);
	void (*send_error)(struct taps_connection *c, void *ctx,
			   const struct taps_error *err, void *user);
	/* Receiving */
	void (*received)(struct taps_connection *c, const void *data, size_t len,
			 const struct taps_message_context *mc, void *user);
	void (*received_partial)(struct taps_connection *c, const void *data, size_t len,
				 const struct taps_message_context *mc, void *user);
	void (*receive_error)(struct taps_connection *c, const struct taps_error *err,
			      void *user);
	/* Termination */
	void (*closed)(struct taps_connection *c, void *user);
	void (*connection_error)(struct taps_connection *c, const struct taps_error *err,
				 void *user);
};

/* The callbacks connections and listeners made from pre get (copied). */
void taps_preconnection_set_callbacks(struct taps_preconnection *pre,
				      const struct taps_callbacks *cbs);

/* ---- Connections and listeners (taps_connection(3)) ------------------- */

/*
 * Initiate (RFC 9622 section 7.1): resolves the remote endpoints, then
 * races every address in one connect().  Ready or EstablishmentError
 * follows, never during this call.  The preconnection may be freed or
 * reused right after.  NULL and errno only on a bad argument or no
 * memory; everything else is an EstablishmentError.
 */
struct taps_connection *taps_initiate(struct taps_preconnection *pre, void *user);
/* Listen (RFC 9622 section 7.2) on the local endpoint; ConnectionReceived
 * for each connection, with the listener's user pointer. */
struct taps_listener *taps_listen(struct taps_preconnection *pre, void *user);
/* The local port a listener got (its endpoint's port, or the one picked). */
int taps_listener_port(const struct taps_listener *l);
/* At most limit connections accepted and open at once (0 = no limit). */
void taps_listener_set_limit(struct taps_listener *l, unsigned int limit);
/* Stop (RFC 9622 section 7.2): no more connections; Stopped follows. */
void taps_listener_stop(struct taps_listener *l);
void taps_listener_set_user(struct taps_listener *l, void *user);
void *taps_listener_user(const struct taps_listener *l);

void taps_connection_set_user(struct taps_connection *c, void *user);
void *taps_connection_user(const struct taps_connection *c);
struct taps_loop *taps_connection_loop(const struct taps_connection *c);

/* Flags of taps_send() */
#define TAPS_SEND_PARTIAL	0x1	/* not the end of the message */

/*
 * Send (RFC 9622 section 9.2): the bytes are copied (once); Sent or
 * SendError with ctx follows.  With a framer, a message sent in parts
 * (TAPS_SEND_PARTIAL) is framed when its last part arrives.
 * 0, or -ENOTCONN / -EPIPE / -ENOMEM (no event then).
 */
int taps_send(struct taps_connection *c, const void *data, size_t len, void *ctx,
	      unsigned int flags);
/*
 * Receive (RFC 9622 section 9.3): one Received, ReceivedPartial or
 * ReceiveError per call.  Without a framer, bytes as they come:
 * at least min_incomplete (1 if 0) and at most max_len (0: 64 KiB) as a
 * ReceivedPartial, end_of_message set at the peer's end of stream.
 * With a framer: a whole message as a Received if it is at most max_len
 * bytes (0: no limit but the framer's); a longer one comes as
 * ReceivedPartial events, one per call, of at most max_len bytes each
 * (the max_len of the latest call), end_of_message on the last
 * (RFC 9622 section 9.3.2.2).  min_incomplete is not used then.
 */
int taps_receive(struct taps_connection *c, size_t min_incomplete, size_t max_len);
/* Close (RFC 9622 section 10): after queued sends, FIN; Closed follows
 * once the peer ends too (or at once, if it has). */
void taps_close(struct taps_connection *c);
/* Abort: reset now, pending sends fail; ConnectionError (ECONNABORTED)
 * follows, then the connection is freed. */
void taps_abort(struct taps_connection *c);

/* Connection properties and queries; -ENOTCONN before Ready for the
 * selection properties (then 0/1: does the connection provide it). */
int taps_connection_get(const struct taps_connection *c, enum taps_property prop,
			int64_t *value);
int taps_connection_set(struct taps_connection *c, enum taps_property prop,
			int64_t value);
/* Addresses of the connection ("TCP 192.0.2.1:40112 -> 192.0.2.2:80");
 * buf of len bytes. */
const char *taps_connection_describe(const struct taps_connection *c, char *buf, size_t len);
/* TAPS_INFO of the connection's socket: 0 or -errno. */
int taps_connection_info(const struct taps_connection *c, struct taps_info *info);
/* Microseconds from taps_initiate() to Ready (0 before). */
uint64_t taps_connection_ready_us(const struct taps_connection *c);

/* ---- TLS (taps_tls(3), RFC 9622 section 6.3) -------------------------- */

/*
 * Security parameters: with them set on a preconnection, its connections
 * run TLS over the connection that won the race (only TCP and MPTCP race
 * then), and Ready / ConnectionReceived come once the handshake and the
 * verification succeeded.  The record layer goes into the kernel (kTLS)
 * where it can; taps_connection_tls() says where it is.
 */
#define TAPS_TLS_1_2	0x0303
#define TAPS_TLS_1_3	0x0304

#define TAPS_TLS_NO_RESUMPTION	0x1	/* no session cache, no tickets */

/* What a verification callback sees of the server's certificate. */
struct taps_tls_peer {
	int		preverified;	/* 1: chain, dates and name checked out */
	const char	*error;		/* why not, or NULL */
	const uint8_t	*cert_der;	/* the leaf certificate, DER; NULL if none */
	size_t		cert_len;
	const char	*server_name;	/* the name checked against it */
};
/* 0 accepts the certificate; a positive errno value refuses it
 * (EstablishmentError with that code). */
typedef int (*taps_tls_verify_cb)(void *arg, const struct taps_tls_peer *peer);

struct taps_tls_params {
	int		min_version;	/* TAPS_TLS_1_*; 0: TLS 1.2 */
	int		max_version;	/* 0: TLS 1.3 */
	const char	*ca_file;	/* trust: PEM file and/or ...      */
	const char	*ca_dir;	/* ... hashed folder; both NULL: the system store */
	const char	*server_name;	/* NULL: the remote host name given */
	const char	*alpn;		/* "h2,http/1.1"; NULL: none */
	const char	*cert_file;	/* PEM chain: the client's, or the listener's */
	const char	*key_file;	/* its private key */
	const char	*pins;		/* "sha256/BASE64,...": SPKI pins; NULL: none */
	taps_tls_verify_cb verify;	/* NULL: OpenSSL's verdict is final */
	void		*verify_arg;
	unsigned int	flags;		/* TAPS_TLS_NO_RESUMPTION */
};

/*
 * Require TLS on the preconnection's connections (p NULL: no TLS).  The
 * files are read now: 0, -EINVAL (a bad version, ALPN list, pin, key
 * that does not match its certificate), -ENOENT/-EACCES (a file).
 */
int taps_preconnection_set_tls(struct taps_preconnection *pre,
			       const struct taps_tls_params *p);

#define TAPS_TLS_KTLS_TX	0x1	/* records sent are built by the kernel */
#define TAPS_TLS_KTLS_RX	0x2	/* records received are opened by the kernel */

struct taps_tls_info {
	const char	*version;	/* "TLSv1.3" */
	const char	*cipher;	/* "TLS_AES_128_GCM_SHA256" */
	const char	*alpn;		/* negotiated protocol, "" if none */
	const char	*server_name;
	unsigned int	ktls;		/* TAPS_TLS_KTLS_* */
	bool		resumed;	/* the session was resumed */
};

/* The TLS state of a connection (strings live as long as it does): 0,
 * -ENOPROTOOPT without TLS, -ENOTCONN before the handshake finished. */
int taps_connection_tls(const struct taps_connection *c, struct taps_tls_info *info);
/* "kTLS tx+rx", "kTLS tx", "kTLS rx" or "no kTLS" */
const char *taps_tls_ktls_name(unsigned int ktls);

/*
 * Send len bytes of the file fd from offset off (RFC 9622 Send of a file
 * range): sendfile(2) into the socket, so that with kTLS transmit the
 * kernel builds the records with no copy through userspace.  Sent or
 * SendError with ctx follows, in order with taps_send()'s messages.  fd
 * is duplicated (the caller may close it).  0, or -EOPNOTSUPP on a TLS
 * connection whose records are built in userspace (no kTLS transmit),
 * -EINVAL with a framer, -ENOTCONN / -EPIPE as taps_send().
 */
int taps_send_file(struct taps_connection *c, int fd, off_t off, size_t len, void *ctx);

/* ---- Message properties (taps_msg_props(3), RFC 9622 section 9.1.3) --- */

/*
 * A set of message properties, passed to taps_send_message() and
 * taps_initiate_with_send(); the library reads it during the call only,
 * so one set may serve many messages.  A property not set takes its
 * default, from the connection where RFC 9622 says so.
 */
enum taps_msg_property {
	TAPS_MSG_PROP_LIFETIME = 0,		/* msgLifetime: ms, 0 = infinite */
	TAPS_MSG_PROP_PRIORITY,		/* msgPriority: 0.., 100; lower goes first */
	TAPS_MSG_PROP_ORDERED,		/* msgOrdered: bool, preserveOrder's */
	TAPS_MSG_PROP_SAFELY_REPLAYABLE,	/* safelyReplayable: bool, false */
	TAPS_MSG_PROP_FINAL,			/* final: bool, false */
	TAPS_MSG_PROP_CHECKSUM_LEN,		/* msgChecksumLen: bytes, -1 = Full Coverage */
	TAPS_MSG_PROP_RELIABLE,		/* msgReliable: bool, reliability's */
	TAPS_MSG_PROP_CAPACITY_PROFILE,	/* msgCapacityProfile: connCapacityProfile's */
	TAPS_MSG_PROP_NO_FRAGMENTATION,	/* noFragmentation: bool, false */
	TAPS_MSG_PROP_NO_SEGMENTATION,	/* noSegmentation: bool, false */
	TAPS_MSG_PROP_COUNT
};

struct taps_msg_props;

/* NULL and errno (ENOMEM) on failure. */
struct taps_msg_props *taps_msg_props_new(void);
void taps_msg_props_free(struct taps_msg_props *mp);
/* 0, -ENOENT no such property, -EINVAL a value it cannot take. */
int taps_msg_props_set(struct taps_msg_props *mp, enum taps_msg_property prop,
		       int64_t value);
/* 0 and the value (-ENODATA: not set, *value is the default then). */
int taps_msg_props_get(const struct taps_msg_props *mp, enum taps_msg_property prop,
		       int64_t *value);
/* "msgLifetime" for TAPS_MSG_PROP_LIFETIME; NULL if out of range. */
const char *taps_msg_property_name(enum taps_msg_property prop);

/*
 * taps_send() with message properties (mp NULL: the defaults).  Besides
 * taps_send()'s errors: -EOPNOTSUPP when mp asks for what the connection
 * cannot do (an unordered or unreliable message on a stream, see
 * taps_msg_props(3)), -EPIPE after a final message.  Exactly one of
 * Sent, Expired (msgLifetime passed before the library handed the
 * message to the kernel) or SendError follows each successful call.
 */
int taps_send_message(struct taps_connection *c, const void *data, size_t len, void *ctx,
		      unsigned int flags, const struct taps_msg_props *mp);

/*
 * InitiateWithSend (RFC 9622 section 9.2.5): taps_initiate(), and the
 * message queued to be sent once the connection is Ready (Sent after
 * Ready).  If establishment fails, EstablishmentError only, no separate
 * SendError (RFC 9622 section 9.2.5).  The message is not sent on the
 * handshake yet, even if safelyReplayable (see taps_connection(3)).
 * NULL and errno: EINVAL, ENOMEM, or EOPNOTSUPP as taps_send_message().
 */
struct taps_connection *taps_initiate_with_send(struct taps_preconnection *pre,
						const void *data, size_t len, void *ctx,
						const struct taps_msg_props *mp, void *user);

/* ---- More events (taps_events(3)) -------------------------------------- */

/*
 * Events added after struct taps_callbacks was frozen by the 0.1 ABI.
 * size is sizeof(struct taps_callbacks_ext) as the caller was built:
 * members beyond it are taken as NULL, so later versions can add events.
 */
struct taps_callbacks_ext {
	size_t	size;
	/* msgLifetime passed before the message was handed to the kernel */
	void (*expired)(struct taps_connection *c, void *ctx, void *user);
	/* A clone could not join its group, or left it (RFC 9622 section 7.4) */
	void (*clone_error)(struct taps_connection *c, const struct taps_error *err,
			    void *user);
};

/* The extra callbacks connections made from pre get (copied); -EINVAL if
 * ext is NULL or its size is too small to hold size itself. */
int taps_preconnection_set_callbacks_ext(struct taps_preconnection *pre,
					 const struct taps_callbacks_ext *ext);

/* ---- Connection groups (taps_clone(3), RFC 9622 section 7.4) ----------- */

/*
 * Clone: a new connection to the peer c is connected to, with c's
 * properties, framer and callbacks, in c's group (made on the first
 * clone).  The clone races only the protocol c won with, so the group
 * shares one protocol.  Ready follows, or CloneError then
 * EstablishmentError.  NULL and errno: EINVAL, ENOTCONN (c not Ready, or
 * accepted: a clone is an active open), ENOMEM.
 */
struct taps_connection *taps_clone(struct taps_connection *c, void *user);
/* The members of c's group (c included), at most max into out; returns
 * how many there are (1: c alone). */
int taps_grouped_connections(const struct taps_connection *c, struct taps_connection **out,
			     int max);
/* CloseGroup / AbortGroup (RFC 9622 section 10): taps_close() /
 * taps_abort() on every member of c's group, c included. */
void taps_close_group(struct taps_connection *c);
void taps_abort_group(struct taps_connection *c);

#ifdef __cplusplus
}
#endif

#endif /* _TAPS_H */
