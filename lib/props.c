// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libtaps: transport properties (RFC 9622 sections 6.2 and 8.1) and the
 * socket options of AF_TAPS they map to.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/tcp.h>

#include "internal.h"

enum prop_type { T_PREF, T_BOOL, T_ENUM, T_INT, T_RO };

static const struct {
	const char	*name;
	enum prop_type	type;
	int64_t		def;
	int64_t		min, max;	/* T_ENUM, T_INT */
	bool		selection;
} props[TAPS_PROP_COUNT] = {
	[TAPS_PROP_RELIABILITY] = { "reliability", T_PREF, TAPS_PREF_REQUIRE, 0, 0, true },
	[TAPS_PROP_PRESERVE_MSG_BOUNDARIES] = { "preserveMsgBoundaries", T_PREF,
						TAPS_PREF_NO_PREFERENCE, 0, 0, true },
	[TAPS_PROP_PER_MSG_RELIABILITY] = { "perMsgReliability", T_PREF,
					    TAPS_PREF_NO_PREFERENCE, 0, 0, true },
	[TAPS_PROP_PRESERVE_ORDER] = { "preserveOrder", T_PREF, TAPS_PREF_REQUIRE, 0, 0, true },
	[TAPS_PROP_ZERO_RTT_MSG] = { "zeroRttMsg", T_PREF, TAPS_PREF_NO_PREFERENCE, 0, 0, true },
	/* RFC 9622: Prefer.  As in taps.ko (uapi.md): a byte stream has one
	 * stream, and Prefer would race SCTP ahead of TCP for everybody. */
	[TAPS_PROP_MULTISTREAMING] = { "multistreaming", T_PREF, TAPS_PREF_NO_PREFERENCE,
				       0, 0, true },
	[TAPS_PROP_FULL_CHECKSUM_SEND] = { "fullChecksumSend", T_PREF, TAPS_PREF_REQUIRE,
					   0, 0, true },
	[TAPS_PROP_FULL_CHECKSUM_RECV] = { "fullChecksumRecv", T_PREF, TAPS_PREF_REQUIRE,
					   0, 0, true },
	[TAPS_PROP_CONGESTION_CONTROL] = { "congestionControl", T_PREF, TAPS_PREF_REQUIRE,
					   0, 0, true },
	[TAPS_PROP_KEEP_ALIVE] = { "keepAlive", T_PREF, TAPS_PREF_NO_PREFERENCE, 0, 0, true },
	[TAPS_PROP_USE_TEMPORARY_LOCAL_ADDRESS] = { "useTemporaryLocalAddress", T_PREF,
						    TAPS_PREF_NO_PREFERENCE, 0, 0, true },
	[TAPS_PROP_MULTIPATH] = { "multipath", T_ENUM, TAPS_MULTIPATH_DISABLED,
				  TAPS_MULTIPATH_DISABLED, TAPS_MULTIPATH_PASSIVE, true },
	[TAPS_PROP_ADVERTISES_ALTADDR] = { "advertisesAltaddr", T_BOOL, 0, 0, 1, true },
	[TAPS_PROP_DIRECTION] = { "direction", T_ENUM, TAPS_DIRECTION_BIDIRECTIONAL,
				  TAPS_DIRECTION_BIDIRECTIONAL,
				  TAPS_DIRECTION_UNIDIRECTIONAL_RECV, true },
	[TAPS_PROP_SOFT_ERROR_NOTIFY] = { "softErrorNotify", T_PREF, TAPS_PREF_NO_PREFERENCE,
					  0, 0, true },
	[TAPS_PROP_ACTIVE_READ_BEFORE_SEND] = { "activeReadBeforeSend", T_PREF,
						TAPS_PREF_NO_PREFERENCE, 0, 0, true },
	[TAPS_PROP_PROTOCOLS] = { "protocols", T_INT, 0, 0, TAPS_P_ALL, true },
	[TAPS_PROP_CONN_TIMEOUT] = { "connTimeout", T_INT, -1, -1, INT32_MAX, false },
	[TAPS_PROP_KEEP_ALIVE_TIMEOUT] = { "keepAliveTimeout", T_INT, -1, -1, 32767, false },
	[TAPS_PROP_CONN_PRIORITY] = { "connPriority", T_INT, 100, 0, INT32_MAX, false },
	[TAPS_PROP_CONN_CAPACITY_PROFILE] = { "connCapacityProfile", T_INT, 0, 0, 5, false },
	[TAPS_PROP_ISOLATE_SESSION] = { "isolateSession", T_BOOL, 0, 0, 1, false },
	[TAPS_PROP_ATTEMPT_DELAY] = { "attemptDelay", T_INT, 0, 0, 2000, false },
	[TAPS_PROP_CONN_STATE] = { "connState", T_RO, TAPS_CONN_ESTABLISHING, 0, 0, false },
	[TAPS_PROP_CAN_SEND] = { "canSend", T_RO, 0, 0, 0, false },
	[TAPS_PROP_CAN_RECEIVE] = { "canReceive", T_RO, 0, 0, 0, false },
	[TAPS_PROP_SEND_MSG_MAX_LEN] = { "sendMsgMaxLen", T_RO, -1, 0, 0, false },
	[TAPS_PROP_RECV_MSG_MAX_LEN] = { "recvMsgMaxLen", T_RO, -1, 0, 0, false },
	[TAPS_PROP_PROTOCOL] = { "protocol", T_RO, 0, 0, 0, false },
};

const char *taps_property_name(enum taps_property prop)
{
	if ((unsigned int)prop >= TAPS_PROP_COUNT)
		return NULL;
	return props[prop].name;
}

int taps_property_lookup(const char *name)
{
	int i;

	for (i = 0; name && i < TAPS_PROP_COUNT; i++)
		if (!strcmp(props[i].name, name))
			return i;
	return -1;
}

const char *taps_pref_name(int pref)
{
	static const char * const names[] = {
		[TAPS_PREF_NO_PREFERENCE] = "No Preference",
		[TAPS_PREF_REQUIRE] = "Require",
		[TAPS_PREF_PREFER] = "Prefer",
		[TAPS_PREF_AVOID] = "Avoid",
		[TAPS_PREF_PROHIBIT] = "Prohibit",
	};

	if (pref < 0 || pref > TAPS_PREF_PROHIBIT)
		return "?";
	return names[pref];
}

void taps__props_init(struct taps_props *p)
{
	int i;

	for (i = 0; i < TAPS_PROP_COUNT; i++)
		p->v[i] = props[i].def;
}


bool taps__prop_is_selection(enum taps_property prop)
{
	return (unsigned int)prop < TAPS_PROP_COUNT && props[prop].selection;
}

int taps__prop_validate(enum taps_property prop, int64_t value)
{
	if ((unsigned int)prop >= TAPS_PROP_COUNT)
		return -ENOENT;
	switch (props[prop].type) {
	case T_PREF:
		return value >= TAPS_PREF_NO_PREFERENCE && value <= TAPS_PREF_PROHIBIT ?
			0 : -EINVAL;
	case T_BOOL:
		return value == 0 || value == 1 ? 0 : -EINVAL;
	case T_ENUM:
	case T_INT:
		if (value < props[prop].min || value > props[prop].max)
			return -EINVAL;
		if (prop == TAPS_PROP_ATTEMPT_DELAY && value && value < 10)
			return -EINVAL;	/* the kernel's 10..2000 */
		if (prop == TAPS_PROP_PROTOCOLS && value && (value & ~TAPS_P_ALL))
			return -EINVAL;
		return 0;
	case T_RO:
		return -EROFS;
	}
	return -EINVAL;
}

/* The protocols a race may use, as the kernel will see them. */
static int64_t effective_protocols(const struct taps_props *p)
{
	int64_t m = p->v[TAPS_PROP_PROTOCOLS];

	if (!m) {
		m = TAPS_P_TCP | TAPS_P_SCTP;
		if (p->v[TAPS_PROP_MULTIPATH] != TAPS_MULTIPATH_DISABLED)
			m |= TAPS_P_MPTCP;
	}
	if (p->v[TAPS_PROP_MULTIPATH] == TAPS_MULTIPATH_DISABLED)
		m &= ~TAPS_P_MPTCP;
	if (p->v[TAPS_PROP_MULTISTREAMING] == TAPS_PREF_REQUIRE)
		m &= TAPS_P_SCTP;
	if (p->v[TAPS_PROP_MULTISTREAMING] == TAPS_PREF_PROHIBIT)
		m &= ~TAPS_P_SCTP;
	return m;
}

int taps__props_check(const struct taps_props *p, bool framer, const char **reason)
{
	static const enum taps_property always[] = {
		TAPS_PROP_RELIABILITY, TAPS_PROP_PRESERVE_ORDER, TAPS_PROP_CONGESTION_CONTROL,
		TAPS_PROP_FULL_CHECKSUM_SEND, TAPS_PROP_FULL_CHECKSUM_RECV,
	};
	static char buf[160];
	unsigned int i;

	for (i = 0; i < sizeof(always) / sizeof(always[0]); i++) {
		if (p->v[always[i]] == TAPS_PREF_PROHIBIT) {
			snprintf(buf, sizeof(buf),
				 "%s is Prohibit, but every AF_TAPS protocol (TCP, SCTP, MPTCP) provides it",
				 props[always[i]].name);
			goto bad;
		}
	}
	if (p->v[TAPS_PROP_PRESERVE_MSG_BOUNDARIES] == TAPS_PREF_REQUIRE && !framer) {
		snprintf(buf, sizeof(buf),
			 "preserveMsgBoundaries is Require: a byte stream needs a framer (message sockets: not yet)");
		goto bad;
	}
	if (p->v[TAPS_PROP_PER_MSG_RELIABILITY] == TAPS_PREF_REQUIRE) {
		snprintf(buf, sizeof(buf),
			 "perMsgReliability is Require: no stream protocol has per-message reliability");
		goto bad;
	}
	if (p->v[TAPS_PROP_ZERO_RTT_MSG] == TAPS_PREF_REQUIRE) {
		snprintf(buf, sizeof(buf),
			 "zeroRttMsg is Require: AF_TAPS does not race 0-RTT data");
		goto bad;
	}
	if (p->v[TAPS_PROP_SOFT_ERROR_NOTIFY] == TAPS_PREF_REQUIRE) {
		snprintf(buf, sizeof(buf), "softErrorNotify is Require: SoftError is not yet supported");
		goto bad;
	}
	if (p->v[TAPS_PROP_USE_TEMPORARY_LOCAL_ADDRESS] == TAPS_PREF_REQUIRE) {
		snprintf(buf, sizeof(buf),
			 "useTemporaryLocalAddress is Require: not yet supported");
		goto bad;
	}
	if (!effective_protocols(p)) {
		snprintf(buf, sizeof(buf),
			 "no protocol left: protocols 0x%llx with multistreaming %s and multipath %s",
			 (unsigned long long)p->v[TAPS_PROP_PROTOCOLS],
			 taps_pref_name(p->v[TAPS_PROP_MULTISTREAMING]),
			 p->v[TAPS_PROP_MULTIPATH] ? "enabled" : "Disabled");
		goto bad;
	}
	if (reason)
		*reason = NULL;
	return 0;
bad:
	if (reason)
		*reason = buf;
	return -EPROTONOSUPPORT;
}

static int setint(int fd, int level, int opt, int v)
{
	return setsockopt(fd, level, opt, &v, sizeof(v)) ? -errno : 0;
}

int taps__props_apply(const struct taps_props *p, int fd, const char *ifname,
		      const char **reason)
{
	static const struct { enum taps_property prop; int opt; } sel[] = {
		{ TAPS_PROP_RELIABILITY, TAPS_SEL_RELIABILITY },
		{ TAPS_PROP_PRESERVE_ORDER, TAPS_SEL_PRESERVE_ORDER },
		{ TAPS_PROP_CONGESTION_CONTROL, TAPS_SEL_CONGESTION_CONTROL },
		{ TAPS_PROP_MULTISTREAMING, TAPS_SEL_MULTISTREAMING },
		{ TAPS_PROP_ZERO_RTT_MSG, TAPS_SEL_ZERO_RTT_MSG },
	};
	int64_t protos = effective_protocols(p);
	unsigned int i;
	int err;

	for (i = 0; i < sizeof(sel) / sizeof(sel[0]); i++) {
		err = setint(fd, SOL_TAPS, sel[i].opt, p->v[sel[i].prop]);
		if (err) {
			*reason = "setting a selection property (TAPS_SEL_*) failed";
			return err;
		}
	}
	err = setint(fd, SOL_TAPS, TAPS_SEL_MULTIPATH,
		     p->v[TAPS_PROP_MULTIPATH] == TAPS_MULTIPATH_DISABLED ?
		     TAPS_PREF_NO_PREFERENCE : TAPS_PREF_PREFER);
	if (!err && (p->v[TAPS_PROP_PROTOCOLS] ||
		     p->v[TAPS_PROP_MULTIPATH] != TAPS_MULTIPATH_DISABLED))
		err = setint(fd, SOL_TAPS, TAPS_PROTOCOLS, protos);
	if (err) {
		*reason = "setting the protocols (TAPS_PROTOCOLS, TAPS_SEL_MULTIPATH) failed";
		return err;
	}
	if (p->v[TAPS_PROP_CONN_TIMEOUT] > 0 &&
	    (err = setint(fd, SOL_TAPS, TAPS_CONN_TIMEOUT, p->v[TAPS_PROP_CONN_TIMEOUT]))) {
		*reason = "setting connTimeout (TAPS_CONN_TIMEOUT) failed";
		return err;
	}
	if (p->v[TAPS_PROP_ATTEMPT_DELAY] > 0 &&
	    (err = setint(fd, SOL_TAPS, TAPS_ATTEMPT_DELAY, p->v[TAPS_PROP_ATTEMPT_DELAY]))) {
		*reason = "setting the attempt delay (TAPS_ATTEMPT_DELAY) failed";
		return err;
	}
	if (p->v[TAPS_PROP_ISOLATE_SESSION] &&
	    (err = setint(fd, SOL_TAPS, TAPS_ISOLATE, 1))) {
		*reason = "setting isolateSession (TAPS_ISOLATE) failed";
		return err;
	}
	if ((p->v[TAPS_PROP_KEEP_ALIVE] == TAPS_PREF_REQUIRE ||
	     p->v[TAPS_PROP_KEEP_ALIVE] == TAPS_PREF_PREFER ||
	     p->v[TAPS_PROP_KEEP_ALIVE_TIMEOUT] >= 0) &&
	    (err = setint(fd, SOL_SOCKET, SO_KEEPALIVE, 1))) {
		*reason = "setting keepAlive (SO_KEEPALIVE) failed";
		return err;
	}
	if (ifname && *ifname &&
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, strlen(ifname))) {
		*reason = "binding to the interface (SO_BINDTODEVICE) failed";
		return -errno;
	}
	return 0;
}

/* ---- preconnection ---- */

struct taps_preconnection *taps_preconnection_new(struct taps_loop *loop)
{
	struct taps_preconnection *pre;

	if (!loop) {
		errno = EINVAL;
		return NULL;
	}
	pre = calloc(1, sizeof(*pre));
	if (!pre)
		return NULL;
	pre->loop = loop;
	taps__props_init(&pre->props);
	return pre;
}

void taps_preconnection_free(struct taps_preconnection *pre)
{
	if (pre)
		taps__tls_config_put(pre->tls);
	free(pre);
}

static int parse_service(const char *service, in_port_t *port)
{
	struct servent se, *res = NULL;
	char buf[1024], *end;
	long v;

	*port = 0;
	if (!service || !*service)
		return 0;
	v = strtol(service, &end, 10);
	if (!*end) {
		if (v < 0 || v > 65535)
			return -EINVAL;
		*port = v;
		return 0;
	}
	if (getservbyname_r(service, "tcp", &se, buf, sizeof(buf), &res) || !res)
		return -EINVAL;
	*port = ntohs(res->s_port);
	return 0;
}

int taps_preconnection_add_remote(struct taps_preconnection *pre, const char *host,
				  const char *service)
{
	struct taps_remote *r;
	int err;

	if (!pre || !host || !*host || strlen(host) >= TAPS_HOST_MAX)
		return -EINVAL;
	if (pre->nremote == TAPS_MAX_ENDPOINTS)
		return -ENOSPC;
	r = &pre->remote[pre->nremote];
	err = parse_service(service, &r->port);
	if (err)
		return err;
	strcpy(r->host, host);
	pre->nremote++;
	return 0;
}

int taps_preconnection_set_local(struct taps_preconnection *pre, const char *host,
				 const char *service)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE };
	struct addrinfo *ai = NULL;
	in_port_t port;
	int err;

	if (!pre)
		return -EINVAL;
	err = parse_service(service, &port);
	if (err)
		return err;
	memset(&pre->local, 0, sizeof(pre->local));
	if (host && *host) {
		/* Local names come from /etc/hosts or DNS here, not on the loop. */
		if (getaddrinfo(host, NULL, &hints, &ai) || !ai)
			return -EADDRNOTAVAIL;
		memcpy(&pre->local, ai->ai_addr, ai->ai_addrlen);
		freeaddrinfo(ai);
		if (pre->local.sa.sa_family == AF_INET)
			pre->local.sin.sin_port = htons(port);
		else
			pre->local.sin6.sin6_port = htons(port);
	}
	pre->local_port = port;
	pre->has_local = true;
	return 0;
}

int taps_preconnection_set_interface(struct taps_preconnection *pre, const char *ifname)
{
	if (!pre || !ifname || strlen(ifname) >= sizeof(pre->ifname))
		return -EINVAL;
	strcpy(pre->ifname, ifname);
	return 0;
}

int taps_preconnection_set(struct taps_preconnection *pre, enum taps_property prop,
			   int64_t value)
{
	int err;

	if (!pre)
		return -EINVAL;
	err = taps__prop_validate(prop, value);
	if (!err)
		pre->props.v[prop] = value;
	return err;
}

int taps_preconnection_get(const struct taps_preconnection *pre, enum taps_property prop,
			   int64_t *value)
{
	if (!pre || !value)
		return -EINVAL;
	if ((unsigned int)prop >= TAPS_PROP_COUNT)
		return -ENOENT;
	*value = pre->props.v[prop];
	return 0;
}

int taps_preconnection_check(const struct taps_preconnection *pre, const char **reason)
{
	if (!pre)
		return -EINVAL;
	return taps__props_check(&pre->props, pre->framers.n > 0, reason);
}

void taps_preconnection_set_callbacks(struct taps_preconnection *pre,
				      const struct taps_callbacks *cbs)
{
	if (pre && cbs)
		pre->cbs = *cbs;
}

int taps_preconnection_add_framer(struct taps_preconnection *pre,
				  const struct taps_framer_ops *ops, void *arg)
{
	if (!pre || !ops)
		return -EINVAL;
	if (!ops->handle_received_data || !ops->new_sent_message)
		return -EINVAL;
	if (pre->framers.n == TAPS_MAX_FRAMERS)
		return -ENOSPC;
	pre->framers.f[pre->framers.n].ops = ops;
	pre->framers.f[pre->framers.n].arg = arg;
	pre->framers.n++;
	return 0;
}
