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
	__u32	ti_flags;	/* none defined yet: 0 */
	__u32	ti_candidates;	/* candidates gathered for the race */
	__u32	ti_attempts;	/* connection attempts started */
	__u32	ti_failed;	/* attempts that failed */
	__u32	ti_winner;	/* index of the winning candidate */
	__u32	ti_attempt_delay_ms;	/* attempt delay in force */
	__u64	ti_connect_us;	/* from connect() to established */
	struct __kernel_sockaddr_storage ti_local;	/* AF_UNSPEC before */
	struct __kernel_sockaddr_storage ti_remote;	/* AF_UNSPEC before */
};

#endif /* _UAPI_LINUX_TAPS_H */
