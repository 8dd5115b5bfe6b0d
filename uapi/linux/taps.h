/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * AF_TAPS: Transport Services sockets (RFC 9621, RFC 9622).
 *
 * The stable user/kernel contract of taps.ko.  Documentation/uapi.md
 * describes every name here with its errno list.
 */
#ifndef _UAPI_LINUX_TAPS_H
#define _UAPI_LINUX_TAPS_H

#include <linux/types.h>
#include <linux/socket.h>
#include <linux/in.h>
#include <linux/in6.h>

/*
 * Address family.  Every number below AF_MAX (46 in 6.1) already has a name,
 * so AF_TAPS reuses AF_ASH's, which no kernel ever implemented.  Where
 * another out-of-tree family holds it, taps.ko takes its "family" module
 * parameter instead; the live value is in
 * /sys/module/taps/parameters/family (libtaps: taps_family()).
 */
#define AF_TAPS		18
#define PF_TAPS		AF_TAPS

/* Socket option level.  9622: the RFC number of the abstract interface. */
#define SOL_TAPS	9622

/* Socket options at SOL_TAPS */
#define TAPS_INFO		1	/* struct taps_info, read only */
#define TAPS_REMOTE_ENDPOINTS	2	/* struct taps_endpoint[] */
#define TAPS_ATTEMPT_DELAY	3	/* int, ms, 10..2000 */
#define TAPS_CONN_TIMEOUT	4	/* int, ms, 0 = the protocol's own */
#define TAPS_PROTOCOLS		5	/* int, TAPS_P_* mask of allowed protocols */
#define TAPS_ISOLATE		6	/* int, 0/1: RFC 9622 isolateSession */

/* Selection properties (RFC 9622 section 6.2), int TAPS_PREF_* each */
#define TAPS_SEL_RELIABILITY		16
#define TAPS_SEL_PRESERVE_ORDER		17
#define TAPS_SEL_MULTISTREAMING		18
#define TAPS_SEL_MULTIPATH		19
#define TAPS_SEL_CONGESTION_CONTROL	20
#define TAPS_SEL_ZERO_RTT_MSG		21

/* Preference levels (RFC 9622 section 6.2) */
enum {
	TAPS_PREF_NO_PREFERENCE = 0,
	TAPS_PREF_REQUIRE,
	TAPS_PREF_PREFER,
	TAPS_PREF_AVOID,
	TAPS_PREF_PROHIBIT,
};

/* TAPS_PROTOCOLS bits */
#define TAPS_P_TCP	0x1
#define TAPS_P_SCTP	0x2
#define TAPS_P_MPTCP	0x4
#define TAPS_P_ALL	(TAPS_P_TCP | TAPS_P_SCTP | TAPS_P_MPTCP)

#define TAPS_MAX_ENDPOINTS	32

/*
 * SOCK_SEQPACKET over TCP: the longest message of the length-prefix
 * framing (Documentation/framing.md), sent or received; longer: EMSGSIZE.
 */
#define TAPS_FRAME_MAX_LEN	(16U << 20)

/* One remote endpoint: a sockaddr_in or sockaddr_in6, family first. */
struct taps_endpoint {
	union {
		__kernel_sa_family_t	family;
		struct sockaddr_in	sin;
		struct sockaddr_in6	sin6;
	};
};

/*
 * connect() to a sockaddr_taps races exactly the endpoints set with
 * TAPS_REMOTE_ENDPOINTS; bind() to one binds that port on the wildcard
 * address of both families and every protocol.
 */
struct sockaddr_taps {
	__kernel_sa_family_t	stap_family;	/* AF_TAPS */
	__be16			stap_port;	/* bind: the local port, 0 = any */
	__u32			stap_flags;	/* must be 0 */
	__u8			stap_zero[8];	/* must be 0 */
};

/* ti_state: where the socket is, in RFC 9622 terms (section 11.1.1) */
enum {
	TAPS_STATE_UNCONNECTED = 0,	/* a Preconnection: nothing started */
	TAPS_STATE_ESTABLISHING,	/* racing candidates */
	TAPS_STATE_ESTABLISHED,		/* one connection carries the data */
	TAPS_STATE_CLOSING,		/* shut down, not yet closed */
	TAPS_STATE_CLOSED,		/* closed, or establishment failed */
	TAPS_STATE_LISTENING,		/* a Listener */
};

/*
 * getsockopt(fd, SOL_TAPS, TAPS_INFO, &info, &len): a snapshot of the socket.
 * A shorter len gets the leading part of the structure (and len is set to
 * what was copied), so fields are only ever appended.
 */
struct taps_info {
	__u32	ti_state;	/* TAPS_STATE_* */
	__u32	ti_protocol;	/* IPPROTO_* of the connection; 0 before */
	__u32	ti_flags;	/* TAPS_INFO_F_* */
	__u32	ti_candidates;	/* candidates gathered for the race */
	__u32	ti_attempts;	/* connection attempts started */
	__u32	ti_failed;	/* attempts that failed */
	__u32	ti_winner;	/* index of the winning candidate */
	__u32	ti_attempt_delay_ms;	/* attempt delay in force */
	__u64	ti_connect_us;	/* from connect() to established */
	struct __kernel_sockaddr_storage ti_local;	/* AF_UNSPEC before */
	struct __kernel_sockaddr_storage ti_remote;	/* AF_UNSPEC before */
};

/* ti_flags */
#define TAPS_INFO_F_CACHED	0x1	/* cached state changed the racing order */
#define TAPS_INFO_F_POLICY	0x2	/* a policy rule matched a candidate */
#define TAPS_INFO_F_ISOLATED	0x4	/* TAPS_ISOLATE: the cache was not used */

/*
 * Connection properties (RFC 9622 section 8.1), int each, at SOL_TAPS.
 * Set before connect() they are recorded and applied to every attempt and
 * kernel listener; set on a connection they are applied to it at once.
 * Each maps to what the connection's protocol has: Documentation/uapi.md,
 * "Connection properties", has the table.
 */
#define TAPS_CONN_ABORT_TIMEOUT		64	/* connTimeout: ms, 0..86400000, 0: protocol's */
#define TAPS_CONN_PRIORITY		65	/* connPriority: 0..1000, default 100 */
#define TAPS_CONN_CAPACITY_PROFILE	66	/* connCapacityProfile: TAPS_PROFILE_* */
#define TAPS_CONN_SEND_LOWAT		67	/* bytes not yet sent before POLLOUT, 0: default */

/* TAPS_CONN_CAPACITY_PROFILE values (RFC 9622 section 8.1.6) */
enum {
	TAPS_PROFILE_DEFAULT = 0,
	TAPS_PROFILE_SCAVENGER,
	TAPS_PROFILE_INTERACTIVE,	/* Low Latency/Interactive */
	TAPS_PROFILE_LOW_LATENCY,	/* Low Latency/Non-Interactive */
	TAPS_PROFILE_CONSTANT_RATE,	/* Constant-Rate Streaming */
	TAPS_PROFILE_CAPACITY_SEEKING,
};

/*
 * getsockopt(fd, SOL_TAPS, TAPS_QUERY_PROPERTIES, &p, &len): the minimal
 * set's QUERY_PROPERTIES, read only.  As TAPS_INFO: a shorter len gets the
 * leading part (len is set to what was copied), fields are only appended.
 */
#define TAPS_QUERY_PROPERTIES		72	/* struct taps_properties */

struct taps_properties {
	__u32	tp_protocol;		/* IPPROTO_* of the connection; 0 before */
	__u32	tp_caps;		/* TAPS_CAP_* of the connection; 0 before */
	__u32	tp_path_mtu;		/* bytes; 0: unknown */
	__u32	tp_singular_max;	/* singularTransmissionMsgMaxLen; 0: n/a */
	__u64	tp_send_msg_max;	/* sendMsgMaxLen; ~0: unlimited */
	__u64	tp_recv_msg_max;	/* recvMsgMaxLen; ~0: unlimited */
	__u32	tp_zero_rtt_max;	/* zeroRTTMsgMaxLen: early data, bytes */
	__u32	tp_abort_timeout;	/* TAPS_CONN_* as set */
	__u32	tp_priority;
	__u32	tp_capacity_profile;
	__u32	tp_send_lowat;
	__u32	tp_user_timeout;	/* ms: the protocol's own, in force; 0: none */
};

/* tp_caps */
#define TAPS_CAP_RELIABLE		0x01
#define TAPS_CAP_ORDERED		0x02
#define TAPS_CAP_CONGESTION_CONTROL	0x04
#define TAPS_CAP_MULTISTREAMING		0x08
#define TAPS_CAP_PARTIAL_RELIABILITY	0x10	/* the peer negotiated it */
#define TAPS_CAP_MULTIPATH		0x20

/*
 * Notifications (the minimal set's NOTIFICATIONS; RFC 9622 SoftError,
 * Closed, ConnectionError): subscribe with setsockopt(fd, SOL_TAPS,
 * TAPS_NOTIFY, &mask, sizeof(int)), mask = TAPS_NOTE_BIT(kind) | ...; each
 * arrives on the socket's error queue (POLLERR, recvmsg(MSG_ERRQUEUE)) as
 * one cmsg of level SOL_TAPS, type the kind, data a struct taps_note.
 * Nothing is queued for a kind not subscribed; the queue is bounded by
 * the socket's receive buffer (Documentation/uapi.md, "Notifications").
 */
#define TAPS_NOTIFY			73	/* int: TAPS_NOTE_BIT() mask */

enum {
	TAPS_NOTE_PEER_CLOSED = 1,	/* the peer closed its side (FIN, SHUTDOWN) */
	TAPS_NOTE_PEER_ABORTED,		/* the peer aborted (RST, ABORT) */
	TAPS_NOTE_CONN_ERROR,		/* the connection failed: tn_errno */
	TAPS_NOTE_DRAINED,		/* not-yet-sent bytes fell below the low-water mark */
	__TAPS_NOTE_MAX
};

#define TAPS_NOTE_BIT(kind)		(1U << (kind))

struct taps_note {
	__u32	tn_errno;	/* PEER_ABORTED, CONN_ERROR: the connection's errno */
	__u32	tn_reserved;	/* 0 */
	__u64	tn_value;	/* DRAINED: bytes not yet sent */
	__u64	tn_time_ns;	/* CLOCK_MONOTONIC when it happened */
};

#define TAPS_PRIORITY_DEFAULT		100
#define TAPS_PRIORITY_MAX		1000
#define TAPS_ABORT_TIMEOUT_MAX		86400000	/* one day, in ms */

/*
 * Generic netlink family "taps" (version 1): system policy, cached state,
 * connections and counters of the caller's network namespace.
 * Documentation/netlink.md describes every command and attribute.
 */
#define TAPS_GENL_NAME		"taps"
#define TAPS_GENL_VERSION	1
#define TAPS_GENL_MCGRP_EVENTS	"events"

enum taps_cmd {
	TAPS_CMD_UNSPEC,
	TAPS_CMD_POLICY_GET,	/* do: TAPS_A_POLICY, TAPS_A_AF */
	TAPS_CMD_POLICY_SET,	/* do: TAPS_A_POLICY, any subset; admin */
	TAPS_CMD_RULE_ADD,	/* do: TAPS_A_RULE; admin */
	TAPS_CMD_RULE_DEL,	/* do: TAPS_A_RULE with ID, or ADDR + PREFIXLEN; admin */
	TAPS_CMD_RULE_GET,	/* dump: TAPS_A_RULE each */
	TAPS_CMD_CACHE_GET,	/* dump: TAPS_A_CACHE each, filter TAPS_A_CACHE; admin */
	TAPS_CMD_CACHE_DEL,	/* do: TAPS_A_CACHE with ADDR (port 0: all ports); admin */
	TAPS_CMD_CACHE_FLUSH,	/* do; admin */
	TAPS_CMD_CONN_GET,	/* dump: TAPS_A_CONN each; others' sockets need admin */
	TAPS_CMD_STATS_GET,	/* do: TAPS_A_STATS */

	/* Notifications on TAPS_GENL_MCGRP_EVENTS (needs CAP_NET_ADMIN) */
	TAPS_EVENT_RACE_START,		/* TAPS_A_CONN */
	TAPS_EVENT_ATTEMPT_FAILED,	/* TAPS_A_CONN with REMOTE, PROTOCOL, ERROR */
	TAPS_EVENT_WINNER,		/* TAPS_A_CONN */
	TAPS_EVENT_RACE_FAILED,		/* TAPS_A_CONN with ERROR */
	TAPS_EVENT_CACHE_UPDATE,	/* TAPS_A_CACHE */

	__TAPS_CMD_MAX
};

#define TAPS_CMD_MAX	(__TAPS_CMD_MAX - 1)

/* Top-level attributes */
enum {
	TAPS_A_UNSPEC,
	TAPS_A_PAD,
	TAPS_A_AF,		/* u32: the live AF_TAPS number */
	TAPS_A_POLICY,		/* nest: TAPS_POLICY_A_* */
	TAPS_A_RULE,		/* nest: TAPS_RULE_A_* */
	TAPS_A_CACHE,		/* nest: TAPS_CACHE_A_* */
	TAPS_A_CONN,		/* nest: TAPS_CONN_A_* */
	TAPS_A_STATS,		/* nest: TAPS_STATS_A_* */

	__TAPS_A_MAX
};

#define TAPS_A_MAX	(__TAPS_A_MAX - 1)

/* An address: nest of these, wherever an attribute says "address" */
enum {
	TAPS_ADDR_A_UNSPEC,
	TAPS_ADDR_A_FAMILY,	/* u16: AF_INET or AF_INET6 */
	TAPS_ADDR_A_ADDR4,	/* be32 (struct in_addr) */
	TAPS_ADDR_A_ADDR6,	/* 16 bytes (struct in6_addr) */
	TAPS_ADDR_A_PORT,	/* u16, host order; 0 or absent: any */

	__TAPS_ADDR_A_MAX
};

#define TAPS_ADDR_A_MAX	(__TAPS_ADDR_A_MAX - 1)

/* TAPS_A_POLICY */
enum {
	TAPS_POLICY_A_UNSPEC,
	TAPS_POLICY_A_ATTEMPT_DELAY,	/* u32, ms, 10..2000; default 250 */
	TAPS_POLICY_A_PROTOCOLS,	/* u32, TAPS_P_* allowed; default TAPS_P_ALL */
	TAPS_POLICY_A_ORDER,		/* binary: u8 TAPS_P_* bits, most preferred first */
	TAPS_POLICY_A_MAX_CANDIDATES,	/* u32, 1..TAPS_POLICY_MAX_CANDIDATES */
	TAPS_POLICY_A_CACHE,		/* u8, 0/1: cached state on; default 1 */
	TAPS_POLICY_A_CACHE_LIFETIME,	/* u32, ms, 1000..86400000; default 600000 */
	TAPS_POLICY_A_CACHE_SIZE,	/* u32, entries, 1..TAPS_POLICY_MAX_CACHE_SIZE */
	TAPS_POLICY_A_CACHE_ENTRIES,	/* u32, read only: entries now */
	TAPS_POLICY_A_RULES,		/* u32, read only: rules now */

	__TAPS_POLICY_A_MAX
};

#define TAPS_POLICY_A_MAX	(__TAPS_POLICY_A_MAX - 1)

#define TAPS_POLICY_MAX_CANDIDATES	99	/* (1 + TAPS_MAX_ENDPOINTS) x 3 */
#define TAPS_POLICY_MAX_CACHE_SIZE	65536
#define TAPS_POLICY_MAX_RULES		256

/* TAPS_A_RULE: applies to candidates whose remote address is in the prefix */
enum {
	TAPS_RULE_A_UNSPEC,
	TAPS_RULE_A_ID,			/* u32, chosen by the kernel, from 1 */
	TAPS_RULE_A_ADDR,		/* nest: address (FAMILY + ADDR4/ADDR6) */
	TAPS_RULE_A_PREFIXLEN,		/* u8, 0..32 or 0..128 */
	TAPS_RULE_A_PROHIBIT,		/* u32, TAPS_P_* never raced */
	TAPS_RULE_A_PREFER,		/* u32, one TAPS_P_* raced first */
	TAPS_RULE_A_ATTEMPT_DELAY,	/* u32, ms, 10..2000 */

	__TAPS_RULE_A_MAX
};

#define TAPS_RULE_A_MAX	(__TAPS_RULE_A_MAX - 1)

/* TAPS_A_CACHE: cached state of one remote endpoint and service */
enum {
	TAPS_CACHE_A_UNSPEC,
	TAPS_CACHE_A_PAD,
	TAPS_CACHE_A_ADDR,		/* nest: address with PORT */
	TAPS_CACHE_A_PREFIXLEN,		/* u8: dump and del filter only */
	TAPS_CACHE_A_TYPE,		/* u32: SOCK_STREAM, ... */
	TAPS_CACHE_A_WINNER,		/* u32: IPPROTO_* of the last winner, 0 none */
	TAPS_CACHE_A_SRTT,		/* u32, us: smoothed handshake RTT of winners */
	TAPS_CACHE_A_AGE,		/* u64, ms since the last update */
	TAPS_CACHE_A_PROTO,		/* nest, one per protocol: TAPS_CACHE_PROTO_A_* */
	TAPS_CACHE_A_UID,		/* u32: whose races the entry is about */

	__TAPS_CACHE_A_MAX
};

#define TAPS_CACHE_A_MAX	(__TAPS_CACHE_A_MAX - 1)

enum {
	TAPS_CACHE_PROTO_A_UNSPEC,
	TAPS_CACHE_PROTO_A_PAD,
	TAPS_CACHE_PROTO_A_PROTOCOL,	/* u32: IPPROTO_* */
	TAPS_CACHE_PROTO_A_SUCCESS,	/* u32: races won */
	TAPS_CACHE_PROTO_A_FAILURE,	/* u32: attempts failed */
	TAPS_CACHE_PROTO_A_LAST_SUCCESS, /* u64, ms ago; absent: never */
	TAPS_CACHE_PROTO_A_LAST_FAILURE, /* u64, ms ago; absent: never */

	__TAPS_CACHE_PROTO_A_MAX
};

#define TAPS_CACHE_PROTO_A_MAX	(__TAPS_CACHE_PROTO_A_MAX - 1)

/* TAPS_A_CONN: one AF_TAPS socket, or the subject of an event */
enum {
	TAPS_CONN_A_UNSPEC,
	TAPS_CONN_A_PAD,
	TAPS_CONN_A_INODE,		/* u64: as in /proc/PID/fd, ss -e */
	TAPS_CONN_A_UID,		/* u32: owner */
	TAPS_CONN_A_STATE,		/* u32: TAPS_STATE_* */
	TAPS_CONN_A_PROTOCOL,		/* u32: IPPROTO_*, 0 before */
	TAPS_CONN_A_LOCAL,		/* nest: address with PORT */
	TAPS_CONN_A_REMOTE,		/* nest: address with PORT */
	TAPS_CONN_A_CANDIDATES,		/* u32 */
	TAPS_CONN_A_ATTEMPTS,		/* u32 */
	TAPS_CONN_A_FAILED,		/* u32 */
	TAPS_CONN_A_CONNECT_TIME,	/* u64, us */
	TAPS_CONN_A_FLAGS,		/* u32: TAPS_INFO_F_* */
	TAPS_CONN_A_ERROR,		/* u32: errno of a failed attempt or race */
	TAPS_CONN_A_ATTEMPT_DELAY,	/* u32, ms */

	__TAPS_CONN_A_MAX
};

#define TAPS_CONN_A_MAX	(__TAPS_CONN_A_MAX - 1)

/* TAPS_A_STATS: counters of the namespace since it was created, u64 each */
enum {
	TAPS_STATS_A_UNSPEC,
	TAPS_STATS_A_PAD,
	TAPS_STATS_A_RACES,		/* connect() races started */
	TAPS_STATS_A_RACES_FAILED,	/* races no candidate won */
	TAPS_STATS_A_ATTEMPTS,		/* attempts started */
	TAPS_STATS_A_WINS_TCP,
	TAPS_STATS_A_WINS_SCTP,
	TAPS_STATS_A_WINS_MPTCP,
	TAPS_STATS_A_WINS_INET,
	TAPS_STATS_A_WINS_INET6,
	TAPS_STATS_A_FAIL_REFUSED,	/* attempts refused (RST, ABORT) */
	TAPS_STATS_A_FAIL_UNREACH,	/* host or network unreachable */
	TAPS_STATS_A_FAIL_TIMEOUT,	/* timed out */
	TAPS_STATS_A_FAIL_OTHER,	/* any other errno */
	TAPS_STATS_A_CACHE_HITS,	/* races whose candidates had cached state */
	TAPS_STATS_A_CACHE_MISSES,	/* races that looked and found none */
	TAPS_STATS_A_POLICY_DENIED,	/* connect()s policy left no candidate (EPERM) */
	TAPS_STATS_A_CONNECT_MEAN,	/* us, mean time to connect of won races */
	TAPS_STATS_A_CONNECT_MAX,	/* us, the longest */

	__TAPS_STATS_A_MAX
};

#define TAPS_STATS_A_MAX	(__TAPS_STATS_A_MAX - 1)

#endif /* _UAPI_LINUX_TAPS_H */
