// SPDX-License-Identifier: GPL-2.0
/*
 * AF_TAPS: the protocol-level options an AF_TAPS socket passes on.
 *
 * setsockopt() and getsockopt() at SOL_TCP, SOL_SCTP, SOL_IP, SOL_IPV6,
 * SOL_MPTCP and SOL_TLS reach the inner sockets: recorded before the
 * connection and replayed on every attempt and listener, possibly from a
 * work item (optrec.c), and passed to the winner after (sockopt.c).  Only
 * the options below do, as net/mptcp lets only mptcp_supported_sockopt()
 * reach its subflows: options that set a value of the connection, or read
 * one.  Nothing that blocks, acts on the network by itself, changes state
 * beyond the socket, hands out a secret, or changes the service the race
 * promised (reliable, ordered bytes) passes.
 *
 * An option not listed fails with ENOPROTOOPT, as an unknown one does; one
 * refused for a reason (TAPS_OPT_DENY) fails with EOPNOTSUPP.
 * Documentation/uapi.md has the table; keep the two in step.
 */

#include <linux/in.h>
#include <linux/in6.h>
#include <linux/sctp.h>
#include <linux/sockptr.h>
#include <linux/tcp.h>
#include <net/tcp.h>

#include "taps.h"

#ifndef SOL_TLS
#define SOL_TLS		282
#endif
#ifndef SOL_MPTCP
#define SOL_MPTCP	284
#endif

#define SET	TAPS_OPT_SET
#define GET	TAPS_OPT_GET
#define CONN	TAPS_OPT_CONN
#define DENY	TAPS_OPT_DENY

static u8 taps_opt_tcp(int optname)
{
	switch (optname) {
	case TCP_NODELAY:
	case TCP_MAXSEG:
	case TCP_CORK:
	case TCP_KEEPIDLE:
	case TCP_KEEPINTVL:
	case TCP_KEEPCNT:
	case TCP_SYNCNT:
	case TCP_LINGER2:
	case TCP_DEFER_ACCEPT:
	case TCP_WINDOW_CLAMP:
	case TCP_QUICKACK:
	case TCP_CONGESTION:
	case TCP_THIN_LINEAR_TIMEOUTS:
	case TCP_THIN_DUPACK:
	case TCP_USER_TIMEOUT:
	case TCP_FASTOPEN:		/* a listener's queue length */
	case TCP_FASTOPEN_NO_COOKIE:
	case TCP_NOTSENT_LOWAT:
	case TCP_SAVE_SYN:
	case TCP_INQ:
		return SET | GET;
	case TCP_MD5SIG:		/* keys: TCP never returns them */
	case TCP_MD5SIG_EXT:
		return SET;
	case TCP_INFO:
	case TCP_CC_INFO:
	case TCP_SAVED_SYN:
		return GET | CONN;
	case TCP_ULP:			/* "tls" only: taps_opt_check_set() */
		return SET | GET | CONN;
	case TCP_REPAIR:		/* a connection without a handshake */
	case TCP_REPAIR_QUEUE:
	case TCP_QUEUE_SEQ:
	case TCP_REPAIR_OPTIONS:
	case TCP_REPAIR_WINDOW:
	case TCP_TIMESTAMP:		/* repair mode only */
	case TCP_FASTOPEN_CONNECT:	/* connect() waits for the first write */
	case TCP_FASTOPEN_KEY:		/* a key, and the namespace's on read */
	case TCP_ZEROCOPY_RECEIVE:	/* needs an mmap() of the TCP socket */
	case TCP_TX_DELAY:		/* turns on a global static key */
		return DENY;
	}
	return 0;
}

static u8 taps_opt_sctp(int optname)
{
	switch (optname) {
	case SCTP_RTOINFO:
	case SCTP_ASSOCINFO:
	case SCTP_INITMSG:
	case SCTP_NODELAY:
	case SCTP_AUTOCLOSE:
	case SCTP_PRIMARY_ADDR:
	case SCTP_ADAPTATION_LAYER:
	case SCTP_PEER_ADDR_PARAMS:
	case SCTP_EVENTS:
	case SCTP_I_WANT_MAPPED_V4_ADDR:
	case SCTP_MAXSEG:
	case SCTP_DELAYED_ACK_TIME:
	case SCTP_CONTEXT:
	case SCTP_FRAGMENT_INTERLEAVE:
	case SCTP_PARTIAL_DELIVERY_POINT:
	case SCTP_MAX_BURST:
	case SCTP_HMAC_IDENT:
	case SCTP_AUTH_ACTIVE_KEY:
	case SCTP_PEER_ADDR_THLDS:
	case SCTP_PEER_ADDR_THLDS_V2:
	case SCTP_RECVRCVINFO:
	case SCTP_RECVNXTINFO:
	case SCTP_REUSE_PORT:
	case SCTP_PR_SUPPORTED:
	case SCTP_RECONFIG_SUPPORTED:
	case SCTP_ENABLE_STREAM_RESET:
	case SCTP_STREAM_SCHEDULER:
	case SCTP_STREAM_SCHEDULER_VALUE:
	case SCTP_INTERLEAVING_SUPPORTED:
	case SCTP_EVENT:
	case SCTP_ASCONF_SUPPORTED:
	case SCTP_AUTH_SUPPORTED:
	case SCTP_ECN_SUPPORTED:
	case SCTP_EXPOSE_POTENTIALLY_FAILED_STATE:
	case SCTP_REMOTE_UDP_ENCAPS_PORT:
	case SCTP_PLPMTUD_PROBE_INTERVAL:
		return SET | GET;
	case SCTP_AUTH_CHUNK:		/* set only in SCTP too */
	case SCTP_AUTH_KEY:
	case SCTP_AUTH_DELETE_KEY:
	case SCTP_AUTH_DEACTIVATE_KEY:
		return SET;
	case SCTP_STATUS:
	case SCTP_GET_PEER_ADDR_INFO:
	case SCTP_PEER_AUTH_CHUNKS:
	case SCTP_LOCAL_AUTH_CHUNKS:
	case SCTP_GET_ASSOC_NUMBER:
	case SCTP_GET_ASSOC_ID_LIST:
	case SCTP_GET_PEER_ADDRS:
	case SCTP_GET_LOCAL_ADDRS:
	case SCTP_GET_ASSOC_STATS:
	case SCTP_PR_ASSOC_STATUS:
	case SCTP_PR_STREAM_STATUS:
		return GET | CONN;
	case SCTP_SOCKOPT_BINDX_ADD:	/* binds, as bind() does */
	case SCTP_SOCKOPT_BINDX_REM:
	case SCTP_SOCKOPT_CONNECTX_OLD:	/* connects, and blocks */
	case SCTP_SOCKOPT_CONNECTX:
	case SCTP_SOCKOPT_CONNECTX3:
	case SCTP_SOCKOPT_PEELOFF:	/* makes a new file */
	case SCTP_SOCKOPT_PEELOFF_FLAGS:
	case SCTP_SET_PEER_PRIMARY_ADDR: /* sends ASCONF */
	case SCTP_RESET_STREAMS:	/* send RE-CONFIG */
	case SCTP_RESET_ASSOC:
	case SCTP_ADD_STREAMS:
	case SCTP_AUTO_ASCONF:		/* the namespace's address list */
	case SCTP_SENDMSG_CONNECT:	/* sendmsg() would connect */
	case SCTP_DEFAULT_SEND_PARAM:	/* unordered or timed-out data */
	case SCTP_DEFAULT_SNDINFO:
	case SCTP_DEFAULT_PRINFO:	/* partial reliability */
	case SCTP_DISABLE_FRAGMENTS:	/* large writes fail */
		return DENY;
	}
	return 0;
}

static u8 taps_opt_ip(int optname)
{
	switch (optname) {
	case IP_TOS:
	case IP_TTL:
	case IP_RECVOPTS:
	case IP_RETOPTS:
	case IP_PKTINFO:
	case IP_MTU_DISCOVER:
	case IP_RECVERR:
	case IP_RECVTTL:
	case IP_RECVTOS:
	case IP_FREEBIND:
	case IP_PASSSEC:
	case IP_TRANSPARENT:		/* CAP_NET_RAW or CAP_NET_ADMIN */
	case IP_RECVORIGDSTADDR:
	case IP_MINTTL:
	case IP_CHECKSUM:
	case IP_BIND_ADDRESS_NO_PORT:
	case IP_RECVFRAGSIZE:
	case IP_RECVERR_RFC4884:
		return SET | GET;
	case IP_MTU:
		return GET | CONN;
	case IP_IPSEC_POLICY:		/* per-socket IPsec policy */
	case IP_XFRM_POLICY:
		return DENY;
	}
	/* Netfilter's and multicast routing's commands and the multicast
	 * options are not a connection's: ENOPROTOOPT.
	 */
	return 0;
}

static u8 taps_opt_ipv6(int optname)
{
	switch (optname) {
	case IPV6_2292PKTINFO:
	case IPV6_FLOWINFO:
	case IPV6_UNICAST_HOPS:
	case IPV6_MTU_DISCOVER:
	case IPV6_RECVERR:
	case IPV6_V6ONLY:
	case IPV6_RECVERR_RFC4884:
	case IPV6_RECVPKTINFO:
	case IPV6_RECVHOPLIMIT:
	case IPV6_RECVTCLASS:
	case IPV6_TCLASS:
	case IPV6_RECVPATHMTU:
	case IPV6_DONTFRAG:
	case IPV6_AUTOFLOWLABEL:
	case IPV6_ADDR_PREFERENCES:
	case IPV6_MINHOPCOUNT:
	case IPV6_TRANSPARENT:		/* CAP_NET_RAW or CAP_NET_ADMIN */
	case IPV6_FREEBIND:
	case IPV6_RECVORIGDSTADDR:
	case IPV6_RECVFRAGSIZE:
		return SET | GET;
	case IPV6_MTU:
		return GET | CONN;
	case IPV6_ADDRFORM:		/* turns the socket into IPv4 */
	case IPV6_FLOWLABEL_MGR:	/* the namespace's flow labels */
	case IPV6_FLOWINFO_SEND:	/* needs IPV6_FLOWLABEL_MGR */
	case IPV6_IPSEC_POLICY:
	case IPV6_XFRM_POLICY:
		return DENY;
	}
	return 0;
}

/* SOL_MPTCP in 6.1: MPTCP_INFO, MPTCP_TCPINFO, MPTCP_SUBFLOW_ADDRS. */
static u8 taps_opt_mptcp(int optname)
{
	return optname >= 1 && optname <= 3 ? GET | CONN : 0;
}

/* SOL_TLS: TLS_TX, TLS_RX, TLS_TX_ZEROCOPY_RO, TLS_RX_EXPECT_NO_PAD. */
static u8 taps_opt_tls(int optname)
{
	return optname >= 1 && optname <= 4 ? SET | GET | CONN : 0;
}

/* The TAPS_OPT_* flags of (@level, @optname); 0: not passed on. */
u8 taps_opt_flags(int level, int optname)
{
	switch (level) {
	case SOL_TCP:
		return taps_opt_tcp(optname);
	case SOL_SCTP:
		return taps_opt_sctp(optname);
	case SOL_IP:
		return taps_opt_ip(optname);
	case SOL_IPV6:
		return taps_opt_ipv6(optname);
	case SOL_MPTCP:
		return taps_opt_mptcp(optname);
	case SOL_TLS:
		return taps_opt_tls(optname);
	}
	return 0;
}

static int taps_opt_refused(u8 flags)
{
	return flags & DENY ? -EOPNOTSUPP : -ENOPROTOOPT;
}

/*
 * May setsockopt(@level, @optname) reach an inner socket now?  0, or the
 * errno for the caller.  TCP_ULP takes "tls" only, from @name, a copy the
 * caller passes on instead of the user's buffer, which could change in
 * between; @name is set for TCP_ULP only.
 */
int taps_opt_check_set(int level, int optname, sockptr_t optval, unsigned int optlen,
		       bool connected, char *name)
{
	u8 flags = taps_opt_flags(level, optname);
	long len;

	if (!(flags & SET))
		return taps_opt_refused(flags);
	if (level == SOL_TCP && optname == TCP_ULP) {
		/* As do_tcp_setsockopt() reads it. */
		len = strncpy_from_sockptr(name, optval,
					   min_t(long, TCP_ULP_NAME_MAX - 1, optlen));
		if (len < 0)
			return -EFAULT;
		name[len] = '\0';
		if (strcmp(name, "tls"))
			return -EOPNOTSUPP;
	}
	/* kTLS needs an established TCP connection (tls_init()). */
	if ((flags & CONN) && !connected)
		return -ENOTCONN;
	return 0;
}

/* May getsockopt(@level, @optname) read a record or an inner socket? */
int taps_opt_check_get(int level, int optname)
{
	u8 flags = taps_opt_flags(level, optname);

	return flags & GET ? 0 : taps_opt_refused(flags);
}
