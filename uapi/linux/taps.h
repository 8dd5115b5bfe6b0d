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

/* getsockopt(fd, SOL_TAPS, ...) */
#define TAPS_INFO	1	/* struct taps_info, read only */

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

#endif /* _UAPI_LINUX_TAPS_H */
