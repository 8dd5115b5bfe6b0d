// SPDX-License-Identifier: GPL-2.0
/*
 * The "taps" generic netlink family with raw netlink sockets: the family
 * resolves, requests round-trip, and malformed requests (missing, unknown,
 * wrong-typed, oversized, out-of-range attributes, nested garbage,
 * truncated headers, bad nla_len) get an error and change nothing; then a
 * bounded, seeded random fuzz.  Every test runs in a network namespace of
 * its own (the fixture unshares one), so nothing it sets leaks into other
 * tests.  The VM runner fails the run on any kernel report.
 *
 * TAPS_FUZZ_SEED and TAPS_FUZZ_SECONDS (default 8) steer the fuzz; the
 * seed is printed so that a failure can be replayed.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include "kselftest_harness.h"
#include "taps_test.h"

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK	11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK	10
#endif

#define ARRAY_LEN(a)	(sizeof(a) / sizeof((a)[0]))
#define REPLY_WAIT_MS	2000

/* ---- messages ---------------------------------------------------------- */

struct msg {
	union {
		struct nlmsghdr nh;
		char buf[32768];
	};
};

static __u32 next_seq = 1;

static struct genlmsghdr *msg_genl(struct msg *m)
{
	return (struct genlmsghdr *)(m->buf + NLMSG_HDRLEN);
}

static void msg_init(struct msg *m, int type, int flags, int cmd)
{
	memset(m->buf, 0, NLMSG_HDRLEN + GENL_HDRLEN);
	m->nh.nlmsg_len = NLMSG_HDRLEN + GENL_HDRLEN;
	m->nh.nlmsg_type = type;
	m->nh.nlmsg_flags = flags;
	m->nh.nlmsg_seq = next_seq++;
	msg_genl(m)->cmd = cmd;
	msg_genl(m)->version = TAPS_GENL_VERSION;
}

/* Append an attribute; returns its offset in the message. */
static int put(struct msg *m, int type, const void *data, int len)
{
	int off = NLMSG_ALIGN(m->nh.nlmsg_len);
	struct nlattr *a = (struct nlattr *)(m->buf + off);

	if (off + NLA_HDRLEN + len > (int)sizeof(m->buf))
		return -1;
	memset(m->buf + m->nh.nlmsg_len, 0, off - m->nh.nlmsg_len);
	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	if (len)
		memcpy((char *)a + NLA_HDRLEN, data, len);
	memset((char *)a + NLA_HDRLEN + len, 0, NLA_ALIGN(len) - len);
	m->nh.nlmsg_len = off + NLA_ALIGN(a->nla_len);
	return off;
}

static int put_u8(struct msg *m, int type, __u8 v) { return put(m, type, &v, 1); }
static int put_u16(struct msg *m, int type, __u16 v) { return put(m, type, &v, 2); }
static int put_u32(struct msg *m, int type, __u32 v) { return put(m, type, &v, 4); }

static int nest_start(struct msg *m, int type)
{
	return put(m, type | NLA_F_NESTED, NULL, 0);
}

static void nest_end(struct msg *m, int off)
{
	((struct nlattr *)(m->buf + off))->nla_len = m->nh.nlmsg_len - off;
}

/* An address nest: "192.0.2.0" or "2001:db8::", @port 0 for none. */
static void put_addr(struct msg *m, int type, const char *addr, int port)
{
	int n = nest_start(m, type);
	struct in6_addr a6;
	struct in_addr a4;

	if (inet_pton(AF_INET, addr, &a4) == 1) {
		put_u16(m, TAPS_ADDR_A_FAMILY, AF_INET);
		put(m, TAPS_ADDR_A_ADDR4, &a4, 4);
	} else if (inet_pton(AF_INET6, addr, &a6) == 1) {
		put_u16(m, TAPS_ADDR_A_FAMILY, AF_INET6);
		put(m, TAPS_ADDR_A_ADDR6, &a6, 16);
	}
	if (port)
		put_u16(m, TAPS_ADDR_A_PORT, port);
	nest_end(m, n);
}

/* ---- attributes -------------------------------------------------------- */

#define MAX_TB	32

static void parse(const void *buf, int len, const struct nlattr **tb, int max)
{
	const struct nlattr *a = buf;

	memset(tb, 0, (max + 1) * sizeof(*tb));
	while (len >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= len) {
		int type = a->nla_type & NLA_TYPE_MASK;

		if (type <= max)
			tb[type] = a;
		len -= NLA_ALIGN(a->nla_len);
		a = (const struct nlattr *)((const char *)a + NLA_ALIGN(a->nla_len));
	}
}

static void parse_nest(const struct nlattr *nest, const struct nlattr **tb, int max)
{
	parse((const char *)nest + NLA_HDRLEN, nest->nla_len - NLA_HDRLEN, tb, max);
}

static const void *nla_data(const struct nlattr *a)
{
	return (const char *)a + NLA_HDRLEN;
}

static int nla_plen(const struct nlattr *a)
{
	return a->nla_len - NLA_HDRLEN;
}

static __u64 nla_uint(const struct nlattr *a)
{
	__u64 v64;
	__u32 v32;
	__u16 v16;

	switch (nla_plen(a)) {
	case 1:
		return *(const __u8 *)nla_data(a);
	case 2:
		memcpy(&v16, nla_data(a), 2);
		return v16;
	case 4:
		memcpy(&v32, nla_data(a), 4);
		return v32;
	case 8:
		memcpy(&v64, nla_data(a), 8);
		return v64;
	}
	return ~0ULL;
}

/* ---- the socket -------------------------------------------------------- */

struct nl {
	int fd;
	int family;		/* generic netlink id of "taps" */
	int version;
	int events;		/* id of the "events" group, 0 if none */
	__u32 portid;
};

struct reply {
	int err;		/* 0, -errno from the kernel, 1: no answer */
	char ext[256];		/* extack message */
	int n;			/* data messages */
	int dlen;
	char data[16384];	/* the first data message, from its genlmsghdr */
};

typedef void (*msg_cb)(const struct nlattr **tb, void *arg);

static int nl_socket(struct nl *nl)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	socklen_t len = sizeof(sa);
	int one = 1;

	memset(nl, 0, sizeof(*nl));
	nl->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (nl->fd < 0)
		return -1;
	if (bind(nl->fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    getsockname(nl->fd, (struct sockaddr *)&sa, &len))
		return -1;
	nl->portid = sa.nl_pid;
	setsockopt(nl->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(nl->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	return 0;
}

static int send_raw(struct nl *nl, const void *buf, size_t len)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };

	return sendto(nl->fd, buf, len, 0, (struct sockaddr *)&sa, sizeof(sa)) == (ssize_t)len ? 0 : -1;
}

/*
 * Collect the answers to the request with sequence number @seq: data
 * messages (@cb for each, the first kept in @r), then the ack, error or
 * NLMSG_DONE.  r->err is 1 when nothing ends it within @wait_ms.
 */
static void collect(struct nl *nl, __u32 seq, struct reply *r, msg_cb cb, void *arg, int wait_ms)
{
	static char buf[65536];

	memset(r, 0, offsetof(struct reply, data));
	r->err = 1;
	for (;;) {
		struct pollfd p = { .fd = nl->fd, .events = POLLIN };
		struct nlmsghdr *nh;
		ssize_t n;

		if (poll(&p, 1, wait_ms) != 1)
			return;
		n = recv(nl->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			r->err = -errno;	/* ENOBUFS and the like */
			return;
		}
		for (nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, n); nh = NLMSG_NEXT(nh, n)) {
			if (nh->nlmsg_seq != seq)
				continue;	/* a late answer to an earlier request */
			if (nh->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(nh);
				int off = sizeof(*e), len = nh->nlmsg_len - NLMSG_HDRLEN;

				r->err = e->error;
				if (!(nh->nlmsg_flags & NLM_F_CAPPED))
					off += e->msg.nlmsg_len - NLMSG_HDRLEN;
				if ((nh->nlmsg_flags & NLM_F_ACK_TLVS) && off < len) {
					const struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];

					parse((char *)e + off, len - off, tb, NLMSGERR_ATTR_MAX);
					if (tb[NLMSGERR_ATTR_MSG])
						snprintf(r->ext, sizeof(r->ext), "%.*s",
							 nla_plen(tb[NLMSGERR_ATTR_MSG]),
							 (const char *)nla_data(tb[NLMSGERR_ATTR_MSG]));
				}
				return;
			}
			if (nh->nlmsg_type == NLMSG_DONE) {
				if (nh->nlmsg_len >= NLMSG_HDRLEN + sizeof(int))
					memcpy(&r->err, NLMSG_DATA(nh), sizeof(int));
				else
					r->err = 0;
				return;
			}
			if (nh->nlmsg_len >= NLMSG_HDRLEN + GENL_HDRLEN) {
				const char *payload = (const char *)NLMSG_DATA(nh) + GENL_HDRLEN;
				int plen = nh->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN;

				if (!r->n && plen <= (int)sizeof(r->data)) {
					memcpy(r->data, payload, plen);
					r->dlen = plen;
				}
				if (cb) {
					const struct nlattr *tb[MAX_TB];

					parse(payload, plen, tb, TAPS_A_MAX);
					cb(tb, arg);
				}
			}
			r->n++;
		}
	}
}

/* Send @m and collect its answers. */
static void xfer(struct nl *nl, struct msg *m, struct reply *r, msg_cb cb, void *arg)
{
	if (send_raw(nl, m->buf, m->nh.nlmsg_len)) {
		memset(r, 0, offsetof(struct reply, data));
		r->err = -errno;
		return;
	}
	collect(nl, m->nh.nlmsg_seq, r, cb, arg, REPLY_WAIT_MS);
}

static int resolve(struct nl *nl)
{
	const struct nlattr *tb[CTRL_ATTR_MAX + 1], *g, *gtb[CTRL_ATTR_MCAST_GRP_MAX + 1];
	struct reply *r = calloc(1, sizeof(*r));
	struct msg *m = malloc(sizeof(*m));
	int len;

	msg_init(m, GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_ACK, CTRL_CMD_GETFAMILY);
	put(m, CTRL_ATTR_FAMILY_NAME, TAPS_GENL_NAME, sizeof(TAPS_GENL_NAME));
	xfer(nl, m, r, NULL, NULL);
	if (r->err || !r->n) {
		fprintf(stderr, "# resolving \"taps\": %s\n", strerror(-r->err));
		free(r);
		free(m);
		return -1;
	}
	parse(r->data, r->dlen, tb, CTRL_ATTR_MAX);
	if (tb[CTRL_ATTR_FAMILY_ID])
		nl->family = nla_uint(tb[CTRL_ATTR_FAMILY_ID]);
	if (tb[CTRL_ATTR_VERSION])
		nl->version = nla_uint(tb[CTRL_ATTR_VERSION]);
	if (tb[CTRL_ATTR_MCAST_GROUPS]) {
		g = nla_data(tb[CTRL_ATTR_MCAST_GROUPS]);
		len = nla_plen(tb[CTRL_ATTR_MCAST_GROUPS]);
		while (len >= NLA_HDRLEN && g->nla_len >= NLA_HDRLEN && g->nla_len <= len) {
			parse_nest(g, gtb, CTRL_ATTR_MCAST_GRP_MAX);
			if (gtb[CTRL_ATTR_MCAST_GRP_NAME] && gtb[CTRL_ATTR_MCAST_GRP_ID] &&
			    !strcmp(nla_data(gtb[CTRL_ATTR_MCAST_GRP_NAME]), TAPS_GENL_MCGRP_EVENTS))
				nl->events = nla_uint(gtb[CTRL_ATTR_MCAST_GRP_ID]);
			len -= NLA_ALIGN(g->nla_len);
			g = (const struct nlattr *)((const char *)g + NLA_ALIGN(g->nla_len));
		}
	}
	free(r);
	free(m);
	return nl->family ? 0 : -1;
}

/* ---- requests ---------------------------------------------------------- */

struct policy {
	__u64 v[TAPS_POLICY_A_MAX + 1];	/* ~0: absent */
	__u8 order[8];
	int order_len;
	__u32 af;
};

static int policy_get(struct nl *nl, struct policy *p)
{
	const struct nlattr *tb[MAX_TB], *pt[TAPS_POLICY_A_MAX + 1];
	struct reply *r = calloc(1, sizeof(*r));
	struct msg *m = malloc(sizeof(*m));
	int i, err;

	msg_init(m, nl->family, NLM_F_REQUEST | NLM_F_ACK, TAPS_CMD_POLICY_GET);
	xfer(nl, m, r, NULL, NULL);
	err = r->err;
	memset(p, 0, sizeof(*p));
	for (i = 0; i <= TAPS_POLICY_A_MAX; i++)
		p->v[i] = ~0ULL;
	if (!err && !r->n)
		err = -ENODATA;
	if (!err) {
		parse(r->data, r->dlen, tb, TAPS_A_MAX);
		if (tb[TAPS_A_AF])
			p->af = nla_uint(tb[TAPS_A_AF]);
		if (!tb[TAPS_A_POLICY]) {
			err = -ENODATA;
		} else {
			parse_nest(tb[TAPS_A_POLICY], pt, TAPS_POLICY_A_MAX);
			for (i = 1; i <= TAPS_POLICY_A_MAX; i++)
				if (pt[i] && i != TAPS_POLICY_A_ORDER)
					p->v[i] = nla_uint(pt[i]);
			if (pt[TAPS_POLICY_A_ORDER] && nla_plen(pt[TAPS_POLICY_A_ORDER]) <= 8) {
				p->order_len = nla_plen(pt[TAPS_POLICY_A_ORDER]);
				memcpy(p->order, nla_data(pt[TAPS_POLICY_A_ORDER]), p->order_len);
			}
		}
	}
	free(r);
	free(m);
	return err;
}

static bool policy_eq(const struct policy *a, const struct policy *b)
{
	return !memcmp(a->v, b->v, sizeof(a->v)) && a->order_len == b->order_len &&
	       !memcmp(a->order, b->order, a->order_len);
}

static void policy_log(const char *what, const struct policy *p)
{
	fprintf(stderr, "# %s: delay %lld protocols %lld max %lld cache %lld life %lld size %lld "
		"entries %lld rules %lld order %d bytes\n", what,
		(long long)p->v[1], (long long)p->v[2], (long long)p->v[4], (long long)p->v[5],
		(long long)p->v[6], (long long)p->v[7], (long long)p->v[8], (long long)p->v[9],
		p->order_len);
}

/* POLICY_SET with one attribute of @len bytes of @val. */
static int policy_set1(struct nl *nl, int attr, const void *val, int len, struct reply *r)
{
	struct msg *m = malloc(sizeof(*m));
	int n;

	msg_init(m, nl->family, NLM_F_REQUEST | NLM_F_ACK, TAPS_CMD_POLICY_SET);
	n = nest_start(m, TAPS_A_POLICY);
	put(m, attr, val, len);
	nest_end(m, n);
	xfer(nl, m, r, NULL, NULL);
	free(m);
	return r->err;
}

/* A do request without attributes: its error. */
static int simple(struct nl *nl, int cmd, int flags)
{
	struct reply *r = calloc(1, sizeof(*r));
	struct msg *m = malloc(sizeof(*m));
	int err;

	msg_init(m, nl->family, NLM_F_REQUEST | flags, cmd);
	xfer(nl, m, r, NULL, NULL);
	err = r->err;
	free(r);
	free(m);
	return err;
}

/* A dump: the number of messages, or -errno. */
static int dump(struct nl *nl, int cmd, msg_cb cb, void *arg)
{
	struct reply *r = calloc(1, sizeof(*r));
	struct msg *m = malloc(sizeof(*m));
	int ret;

	msg_init(m, nl->family, NLM_F_REQUEST | NLM_F_DUMP, cmd);
	xfer(nl, m, r, cb, arg);
	ret = r->err ? r->err : r->n;
	free(r);
	free(m);
	return ret;
}

/* RULE_ADD of @prefix/@plen prohibiting @prohibit (0: none, then prefer TCP). */
static int rule_add(struct nl *nl, const char *prefix, int plen, __u32 prohibit)
{
	struct reply *r = calloc(1, sizeof(*r));
	struct msg *m = malloc(sizeof(*m));
	int n, err;

	msg_init(m, nl->family, NLM_F_REQUEST | NLM_F_ACK, TAPS_CMD_RULE_ADD);
	n = nest_start(m, TAPS_A_RULE);
	put_addr(m, TAPS_RULE_A_ADDR, prefix, 0);
	put_u8(m, TAPS_RULE_A_PREFIXLEN, plen);
	if (prohibit)
		put_u32(m, TAPS_RULE_A_PROHIBIT, prohibit);
	else
		put_u32(m, TAPS_RULE_A_PREFER, TAPS_P_TCP);
	nest_end(m, n);
	xfer(nl, m, r, NULL, NULL);
	err = r->err;
	free(r);
	free(m);
	return err;
}

static void lo_up(void)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (fd >= 0 && !ioctl(fd, SIOCGIFFLAGS, &ifr)) {
		ifr.ifr_flags |= IFF_UP;
		ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	if (fd >= 0)
		close(fd);
}

/* An AF_TAPS connect to 127.0.0.1:@port (refused: a cache entry). */
static int taps_connect_lo(int port, int protocols)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = taps_socket(SOCK_STREAM), err;

	if (fd < 0)
		return -errno;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (protocols)
		setsockopt(fd, SOL_TAPS, TAPS_PROTOCOLS, &protocols, sizeof(protocols));
	err = connect(fd, (struct sockaddr *)&sin, sizeof(sin)) ? -errno : 0;
	close(fd);
	return err;
}

static bool is_range_err(int err)
{
	return err == -EINVAL || err == -ERANGE;
}

/* ---- the fixture: a fresh network namespace and a resolved socket ----- */

FIXTURE(nl) {
	struct nl nl;
	struct reply r;
	struct msg m;
};

FIXTURE_SETUP(nl)
{
	ASSERT_EQ(0, unshare(CLONE_NEWNET)) TH_LOG("unshare: %s", strerror(errno));
	lo_up();
	ASSERT_EQ(0, nl_socket(&self->nl));
	ASSERT_EQ(0, resolve(&self->nl)) TH_LOG("generic netlink family \"taps\" not found");
}

FIXTURE_TEARDOWN(nl)
{
	close(self->nl.fd);
}

#define ERRLOG	TH_LOG("err %d (%s), extack \"%s\"", self->r.err, \
		       self->r.err < 0 ? strerror(-self->r.err) : "no answer", self->r.ext)

TEST_F(nl, family)
{
	struct policy p;

	EXPECT_EQ(TAPS_GENL_VERSION, self->nl.version);
	EXPECT_NE(0, self->nl.events) TH_LOG("no \"events\" multicast group");
	ASSERT_EQ(0, policy_get(&self->nl, &p));
	EXPECT_EQ(taps_family(), (int)p.af);
}

TEST_F(nl, policy_defaults)
{
	static const __u8 order[] = { TAPS_P_TCP, TAPS_P_SCTP, TAPS_P_MPTCP };
	struct policy p;

	ASSERT_EQ(0, policy_get(&self->nl, &p));
	EXPECT_EQ(250, p.v[TAPS_POLICY_A_ATTEMPT_DELAY]);
	EXPECT_EQ(TAPS_P_ALL, p.v[TAPS_POLICY_A_PROTOCOLS]);
	EXPECT_EQ(99, p.v[TAPS_POLICY_A_MAX_CANDIDATES]);
	EXPECT_EQ(1, p.v[TAPS_POLICY_A_CACHE]);
	EXPECT_EQ(600000, p.v[TAPS_POLICY_A_CACHE_LIFETIME]);
	EXPECT_EQ(1024, p.v[TAPS_POLICY_A_CACHE_SIZE]);
	EXPECT_EQ(0, p.v[TAPS_POLICY_A_CACHE_ENTRIES]);
	EXPECT_EQ(0, p.v[TAPS_POLICY_A_RULES]);
	ASSERT_EQ(3, p.order_len);
	EXPECT_EQ(0, memcmp(order, p.order, 3));
}

TEST_F(nl, policy_set_roundtrip)
{
	static const __u8 order[] = { TAPS_P_SCTP, TAPS_P_MPTCP, TAPS_P_TCP };
	struct policy p;
	int n;

	msg_init(&self->m, self->nl.family, NLM_F_REQUEST | NLM_F_ACK, TAPS_CMD_POLICY_SET);
	n = nest_start(&self->m, TAPS_A_POLICY);
	put_u32(&self->m, TAPS_POLICY_A_ATTEMPT_DELAY, 10);
	put_u32(&self->m, TAPS_POLICY_A_PROTOCOLS, TAPS_P_SCTP);
	put(&self->m, TAPS_POLICY_A_ORDER, order, 3);
	put_u32(&self->m, TAPS_POLICY_A_MAX_CANDIDATES, 1);
	put_u8(&self->m, TAPS_POLICY_A_CACHE, 0);
	put_u32(&self->m, TAPS_POLICY_A_CACHE_LIFETIME, 1000);
	put_u32(&self->m, TAPS_POLICY_A_CACHE_SIZE, 1);
	nest_end(&self->m, n);
	xfer(&self->nl, &self->m, &self->r, NULL, NULL);
	ASSERT_EQ(0, self->r.err) ERRLOG;
	ASSERT_EQ(0, policy_get(&self->nl, &p));
	EXPECT_EQ(10, p.v[TAPS_POLICY_A_ATTEMPT_DELAY]);
	EXPECT_EQ(TAPS_P_SCTP, p.v[TAPS_POLICY_A_PROTOCOLS]);
	EXPECT_EQ(1, p.v[TAPS_POLICY_A_MAX_CANDIDATES]);
	EXPECT_EQ(0, p.v[TAPS_POLICY_A_CACHE]);
	EXPECT_EQ(1000, p.v[TAPS_POLICY_A_CACHE_LIFETIME]);
	EXPECT_EQ(1, p.v[TAPS_POLICY_A_CACHE_SIZE]);
	ASSERT_EQ(3, p.order_len);
	EXPECT_EQ(0, memcmp(order, p.order, 3));

	/* The upper ends of the ranges. */
	msg_init(&self->m, self->nl.family, NLM_F_REQUEST | NLM_F_ACK, TAPS_CMD_POLICY_SET);
	n = nest_start(&self->m, TAPS_A_POLICY);
	put_u32(&self->m, TAPS_POLICY_A_ATTEMPT_DELAY, 2000);
	put_u32(&self->m, TAPS_POLICY_A_PROTOCOLS, TAPS_P_ALL);
	put_u32(&self->m, TAPS_POLICY_A_MAX_CANDIDATES, TAPS_POLICY_MAX_CANDIDATES);
	put_u8(&self->m, TAPS_POLICY_A_CACHE, 1);
	put_u32(&self->m, TAPS_POLICY_A_CACHE_LIFETIME, 86400000);
	put_u32(&self->m, TAPS_POLICY_A_CACHE_SIZE, TAPS_POLICY_MAX_CACHE_SIZE);
	nest_end(&self->m, n);
	xfer(&self->nl, &self->m, &self->r, NULL, NULL);
	ASSERT_EQ(0, self->r.err) ERRLOG;
	ASSERT_EQ(0, policy_get(&self->nl, &p));
	EXPECT_EQ(2000, p.v[TAPS_POLICY_A_ATTEMPT_DELAY]);
	EXPECT_EQ(TAPS_P_ALL, p.v[TAPS_POLICY_A_PROTOCOLS]);
	EXPECT_EQ(TAPS_POLICY_MAX_CANDIDATES, p.v[TAPS_POLICY_A_MAX_CANDIDATES]);
	EXPECT_EQ(86400000, p.v[TAPS_POLICY_A_CACHE_LIFETIME]);
	EXPECT_EQ(TAPS_POLICY_MAX_CACHE_SIZE, p.v[TAPS_POLICY_A_CACHE_SIZE]);
}

TEST_F(nl, policy_set_missing)
{
	struct policy before, after;
	int n;

	ASSERT_EQ(0, policy_get(&self->nl, &before));
	/* No TAPS_A_POLICY at all */
	EXPECT_EQ(-EINVAL, simple(&self->nl, TAPS_CMD_POLICY_SET, NLM_F_ACK));
	/* An empty one */
	msg_init(&self->m, self->nl.family, NLM_F_REQUEST | NLM_F_ACK, TAPS_CMD_POLICY_SET);
	n = nest_start(&self->m, TAPS_A_POLICY);
	nest_end(&self->m, n);
	xfer(&self->nl, &self->m, &self->r, NULL, NULL);
	EXPECT_EQ(-EINVAL, self->r.err) ERRLOG;
	ASSERT_EQ(0, policy_get(&self->nl, &after));
	EXPECT_TRUE(policy_eq(&before, &after));
}

struct bad_value {
	int attr;
	__u64 val;
	int len;
};

/* Out of range: EINVAL or ERANGE with an extack message, nothing changes. */
TEST_F(nl, policy_set_out_of_range)
{
	static const struct bad_value bad[] = {
		{ TAPS_POLICY_A_ATTEMPT_DELAY, 0, 4 },
		{ TAPS_POLICY_A_ATTEMPT_DELAY, 5, 4 },
		{ TAPS_POLICY_A_ATTEMPT_DELAY, 9, 4 },
		{ TAPS_POLICY_A_ATTEMPT_DELAY, 2001, 4 },
		{ TAPS_POLICY_A_ATTEMPT_DELAY, 3000, 4 },
		{ TAPS_POLICY_A_ATTEMPT_DELAY, 0xffffffff, 4 },
		{ TAPS_POLICY_A_PROTOCOLS, 0, 4 },
		{ TAPS_POLICY_A_PROTOCOLS, 0x8, 4 },
		{ TAPS_POLICY_A_PROTOCOLS, 0xf, 4 },
		{ TAPS_POLICY_A_PROTOCOLS, 0xffffffff, 4 },
		{ TAPS_POLICY_A_MAX_CANDIDATES, 0, 4 },
		{ TAPS_POLICY_A_MAX_CANDIDATES, TAPS_POLICY_MAX_CANDIDATES + 1, 4 },
		{ TAPS_POLICY_A_CACHE, 2, 1 },
		{ TAPS_POLICY_A_CACHE, 255, 1 },
		{ TAPS_POLICY_A_CACHE_LIFETIME, 999, 4 },
		{ TAPS_POLICY_A_CACHE_LIFETIME, 86400001, 4 },
		{ TAPS_POLICY_A_CACHE_SIZE, 0, 4 },
		{ TAPS_POLICY_A_CACHE_SIZE, TAPS_POLICY_MAX_CACHE_SIZE + 1, 4 },
	};
	struct policy before, after;
	unsigned int i;

	ASSERT_EQ(0, policy_get(&self->nl, &before));
	for (i = 0; i < ARRAY_LEN(bad); i++) {
		policy_set1(&self->nl, bad[i].attr, &bad[i].val, bad[i].len, &self->r);
		EXPECT_TRUE(is_range_err(self->r.err))
			TH_LOG("attr %d value %llu: err %d", bad[i].attr,
			       (unsigned long long)bad[i].val, self->r.err);
		EXPECT_NE(0, self->r.ext[0])
			TH_LOG("attr %d value %llu: no extack message", bad[i].attr,
			       (unsigned long long)bad[i].val);
	}
	ASSERT_EQ(0, policy_get(&self->nl, &after));
	EXPECT_TRUE(policy_eq(&before, &after)) {
		policy_log("before", &before);
		policy_log("after", &after);
	}
}

/* One good and one bad attribute: the good one is not applied either. */
TEST_F(nl, policy_set_atomic)
{
	struct policy before, after;
	int n;

	ASSERT_EQ(0, policy_get(&self->nl, &before));
	msg_init(&self->m, self->nl.family, NLM_F_REQUEST | NLM_F_ACK, TAPS_CMD_POLICY_SET);
	n = nest_start(&self->m, TAPS_A_POLICY);
	put_u32(&self->m, TAPS_POLICY_A_ATTEMPT_DELAY, 100);
	put_u32(&self->m, TAPS_POLICY_A_CACHE_SIZE, 5);
	put_u32(&self->m, TAPS_POLICY_A_MAX_CANDIDATES, 0);
	nest_end(&self->m, n);
	xfer(&self->nl, &self->m, &self->r, NULL, NULL);
	EXPECT_TRUE(is_range_err(self->r.err)) ERRLOG;
	ASSERT_EQ(0, policy_get(&self->nl, &after));
	EXPECT_TRUE(policy_eq(&before, &after)) {
		policy_log("before", &before);
		policy_log("after", &after);
	}
}

/* Wrong lengths and types: EINVAL. */
TEST_F(nl, policy_set_wrong_types)
{
	static const struct bad_value bad[] = {
		{ TAPS_POLICY_A_ATTEMPT_DELAY, 100, 1 },
		{ TAPS_POLICY_A_ATTEMPT_DELAY, 100, 2 },
		{ TAPS_POLICY_A_ATTEMPT_DELAY, 100, 8 },
		{ TAPS_POLICY_A_ATTEMPT_DELAY, 100, 0 },
		{ TAPS_POLICY_A_PROTOCOLS, 1, 8 },
		{ TAPS_POLICY_A_PROTOCOLS, 1, 1 },
		{ TAPS_POLICY_A_MAX_CANDIDATES, 5, 2 },
		{ TAPS_POLICY_A_CACHE, 1, 4 },
		{ TAPS_POLICY_A_CACHE, 1, 0 },
		{ TAPS_POLICY_A_CACHE_LIFETIME, 5000, 8 },
		{ TAPS_POLICY_A_CACHE_SIZE, 5, 3 },
	};
	static const __u8 orders[][5] = {
		{ 0 },					/* empty */
		{ 0x8 },				/* not a protocol */
		{ TAPS_P_TCP | TAPS_P_SCTP },		/* two in one byte */
		{ TAPS_P_TCP, TAPS_P_TCP },		/* twice */
		{ 1, 2, 4, 1 },				/* four */
		{ 0 },					/* a zero byte */
	};
	static const int order_len[] = { 0, 1, 1, 2, 4, 1 };
	struct policy before, after;
	unsigned int i;
	int n;

	ASSERT_EQ(0, policy_get(&self->nl, &before));
	for (i = 0; i < ARRAY_LEN(bad); i++) {
		policy_set1(&self->nl, bad[i].attr, &bad[i].val, bad[i].len, &self->r);
		EXPECT_EQ(-EINVAL, self->r.err)
			TH_LOG("attr %d with %d bytes: err %d (%s)", bad[i].attr, bad[i].len,
			       self->r.err, self->r.ext);
	}
	for (i = 0; i < ARRAY_LEN(orders); i++) {
		policy_set1(&self->nl, TAPS_POLICY_A_ORDER, orders[i], order_len[i], &self->r);
		EXPECT_TRUE(is_range_err(self->r.err))
			TH_LOG("order case %u: err %d (%s)", i, self->r.err, self->r.ext);
	}
	/* A nest where a u32 belongs, a u32 where the nest belongs */
	msg_init(&self->m, self->nl.family, NLM_F_REQUEST | NLM_F_ACK, TAPS_CMD_POLICY_SET);
	n = nest_start(&self->m, TAPS_A_POLICY);
	nest_end(&self->m, nest_start(&self->m, TAPS_POLICY_A_ATTEMPT_DELAY));
	nest_end(&self->m, n);
	xfer(&self->nl, &self->m, &self->r, NULL, NULL);
	EXPECT_EQ(-EINVAL, self->r.err) ERRLOG;
	msg_init(&self->m, self->nl.family, NLM_F_REQUEST | NLM_F_ACK, TAPS_CMD_POLICY_SET);
	put_u32(&self->m, TAPS_A_POLICY, 100);
	xfer(&self->nl, &self->m, &self->r, NULL, NULL);
	EXPECT_EQ(-EINVAL, self->r.err) ERRLOG;
	/* The nest without NLA_F_NESTED (strict validation) */
	msg_init(&self->m, self->nl.family, NLM_F_REQUEST | NLM_F_ACK, TAPS_CMD_POLICY_SET);
	n = put(&self->m, TAPS_A_POLICY, NULL, 0);
	put_u32(&self->m, TAPS_POLICY_A_ATTEMPT_DELAY, 100);
	nest_end(&self->m, n);
	xfer(&self->nl, &self->m, &self->r, NULL, NULL);
	EXPECT_EQ(-EINVAL, self->r.err) ERRLOG;
	/* Read-only attributes in a set */
	policy_set1(&self->nl, TAPS_POLICY_A_CACHE_ENTRIES, "\0\0\0\0", 4, &self->r);
	EXPECT_GT(0, self->r.err) ERRLOG;
	policy_set1(&self->nl, TAPS_POLICY_A_RULES, "\0\0\0\0", 4, &self->r);
	EXPECT_GT(0, self->r.err) ERRLOG;
	ASSERT_EQ(0, policy_get(&self->nl, &after));
	EXPECT_TRUE(policy_eq(&before, &after)) {
		policy_log("before", &before);
		policy_log("after", &after);
	}
}

/* Unknown attributes anywhere: EINVAL. */
TEST_F(nl, unknown_attributes)
{
	struct policy before, after;
	int n, a;

	ASSERT_EQ(0, policy_get(&self->nl, &before));
	/* top level, in a get and in a set */
	msg_init(&self->m, self->nl.family, NLM_F_REQUEST | NLM_F_ACK, TAPS_CMD_POLICY_GET);
	put_u32(&self->m, TAPS_A_MAX + 1, 1);
	xfer(&self->nl, &self->m, &self->r, NULL, NULL);
	EXPECT_EQ(-EINVAL, self->r.err) ERRLOG;
	msg_init(&self->m, self->nl.family, NLM_F_REQUEST | NLM_F_ACK, TAPS_CMD_POLICY_SET);
	n = nest_start(&self->m, TAPS_A_POLICY);
	put_u32(&self->m, TAPS_POLICY_A_ATTEMPT_DELAY, 100);
	nest_end(&self->m, n);
	put_u32(&self->m, 200, 1);
	xfer(&self->nl, &self->m, &self->r, NULL, NULL);
	EXPECT_EQ(-EINVAL, self->r.err) ERRLOG;
	/* type 0 (UNSPEC) */
	msg_init(&self->m, self->nl.family, NLM_F_REQUEST | NLM_F_ACK, TAPS_CMD_POLICY_SET);
	n = nest_start(&self->m, TAPS_A_POLICY);
	put_u32(&self->m, TAPS_POLICY_A_UNSPEC, 100);
	put_u32(&self->m, TAPS_POLICY_A_ATTEMPT_DELAY, 100);
	nest_end(&self->m, n);
	xfer(&self->nl, &self->m, &self->r, NULL, NULL);
	EXPECT_EQ(-EINVAL, self->r.err) ERRLOG;
	/* in the policy nest */
	msg_init(&self->m, self->nl.family, NLM_F_REQUEST | NLM_F_ACK, TAPS_CMD_POLICY_SET);
	n = nest_start(&self->m, TAPS_A_POLICY);
	put_u32(&self->m, TAPS_POLICY_A_ATTEMPT_DELAY, 100);
	put_u32(&self->m, TAPS_POLICY_A_MAX + 1, 1);
	nest_end(&self->m, n);
	xfer(&self->nl, &self->m, &self->r, NULL, NULL);
	EXPECT_EQ(-EINVAL, self->r.err) ERRLOG;
	/* in a rule, and in the rule's address */
	msg_init(&self->m, self->nl.family, NLM_F_REQUEST | NLM_F_ACK, TAPS_CMD_RULE_ADD);
	n = nest_start(&self->m, TAPS_A_RULE);
	put_addr(&self->m, TAPS_RULE_A_ADDR, "192.0.2.0", 0);
	put_u8(&self->m, TAPS_RULE_A_PREFIXLEN, 24);
	put_u32(&self->m, TAPS_RULE_A_PROHIBIT, TAPS_P_SCTP);
	put_u32(&self->m, TAPS_RULE_A_MAX + 1, 1);
	nest_end(&self->m, n);
	xfer(&self->nl, &self->m, &self->r, NULL, NULL);
	EXPECT_EQ(-EINVAL, self->r.err) ERRLOG;
	msg_init(&self->m, self->nl.family, NLM_F_REQUEST | NLM_F_ACK, TAPS_CMD_RULE_ADD);
	n = nest_start(&self->m, TAPS_A_RULE);
	a = nest_start(&self->m, TAPS_RULE_A_ADDR);
	put_u16(&self->m, TAPS_ADDR_A_FAMILY, AF_INET);
	put(&self->m, TAPS_ADDR_A_ADDR4, "\xc0\x00\x02\x00", 4);
	put_u32(&self->m, TAPS_ADDR_A_MAX + 1, 1);
	nest_end(&self->m, a);
	put_u8(&self->m, TAPS_RULE_A_PREFIXLEN, 24);
	put_u32(&self->m, TAPS_RULE_A_PROHIBIT, TAPS_P_SCTP);
	nest_end(&self->m, n);
	xfer(&self->nl, &self->m, &self->r, NULL, NULL);
	EXPECT_EQ(-EINVAL, self->r.err) ERRLOG;
	/* in a cache filter */
	msg_init(&self->m, self->nl.family, NLM_F_REQUEST | NLM_F_ACK, TAPS_CMD_CACHE_DEL);
	n = nest_start(&self->m, TAPS_A_CACHE);
	put_addr(&self->m, TAPS_CACHE_A_ADDR, "192.0.2.1", 0);
	put_u32(&self->m, TAPS_CACHE_A_MAX + 1, 1);
	nest_end(&self->m, n);
	xfer(&self->nl, &self->m, &self->r, NULL, NULL);
	EXPECT_EQ(-EINVAL, self->r.err) ERRLOG;
	EXPECT_EQ(0, dump(&self->nl, TAPS_CMD_RULE_GET, NULL, NULL));
	ASSERT_EQ(0, policy_get(&self->nl, &after));
	EXPECT_TRUE(policy_eq(&before, &after));
}

/* Nested garbage, bad nla_len, trailing bytes: EINVAL. */
TEST_F(nl, garbage)
{
	struct policy before, after;
	struct nlattr *a;
	int n;

	ASSERT_EQ(0, policy_get(&self->nl, &before));
	/* The policy nest holds bytes that are no attributes */
	msg_init(&self->m, self->nl.family, NLM_F_REQUEST | NLM_F_ACK, TAPS_CMD_POLICY_SET);
	put(&self->m, TAPS_A_POLICY | NLA_F_NESTED, "\x02\x00\x01\x00\xff\xff\xff\xff", 8);
	xfer(&self->nl, &self->m, &self->r, NULL, NULL);
	EXPECT_EQ(-EINVAL, self->r.err) ERRLOG;
	/* an inner nla_len beyond the nest */
	msg_init(&self->m, self->nl.family, NLM_F_REQUEST | NLM_F_ACK, TAPS_CMD_POLICY_SET);
	n = nest_start(&self->m, TAPS_A_POLICY);
	a = (struct nlattr *)(self->m.buf + put_u32(&self->m, TAPS_POLICY_A_ATTEMPT_DELAY, 100));
	a->nla_len = 200;
	nest_end(&self->m, n);
	xfer(&self->nl, &self->m, &self->r, NULL, NULL);
	EXPECT_EQ(-EINVAL, self->r.err) ERRLOG;
	/* a top-level nla_len beyond the message */
	msg_init(&self->m, self->nl.family, NLM_F_REQUEST | NLM_F_ACK, TAPS_CMD_POLICY_SET);
	n = nest_start(&self->m, TAPS_A_POLICY);
	put_u32(&self->m, TAPS_POLICY_A_ATTEMPT_DELAY, 100);
	nest_end(&self->m, n);
	((struct nlattr *)(self->m.buf + n))->nla_len += 64;
	xfer(&self->nl, &self->m, &self->r, NULL, NULL);
	EXPECT_EQ(-EINVAL, self->r.err) ERRLOG;
	/* nla_len 2: shorter than its own header */
	msg_init(&self->m, self->nl.family, NLM_F_REQUEST | NLM_F_ACK, TAPS_CMD_POLICY_SET);
	n = put_u32(&self->m, TAPS_A_POLICY | NLA_F_NESTED, 0);
	((struct nlattr *)(self->m.buf + n))->nla_len = 2;
	xfer(&self->nl, &self->m, &self->r, NULL, NULL);
	EXPECT_EQ(-EINVAL, self->r.err) ERRLOG;
	/* three bytes after the last attribute */
	msg_init(&self->m, self->nl.family, NLM_F_REQUEST | NLM_F_ACK, TAPS_CMD_POLICY_SET);
	n = nest_start(&self->m, TAPS_A_POLICY);
	put_u32(&self->m, TAPS_POLICY_A_ATTEMPT_DELAY, 100);
	nest_end(&self->m, n);
	memset(self->m.buf + self->m.nh.nlmsg_len, 0xab, 3);
	self->m.nh.nlmsg_len += 3;
	xfer(&self->nl, &self->m, &self->r, NULL, NULL);
	EXPECT_EQ(-EINVAL, self->r.err) ERRLOG;
	/* deep nesting inside the rule's address */
	msg_init(&self->m, self->nl.family, NLM_F_REQUEST | NLM_F_ACK, TAPS_CMD_RULE_ADD);
	n = nest_start(&self->m, TAPS_A_RULE);
	{
		int lv[16], i;

		for (i = 0; i < 16; i++)
			lv[i] = nest_start(&self->m, TAPS_RULE_A_ADDR);
		for (i = 15; i >= 0; i--)
			nest_end(&self->m, lv[i]);
	}
	put_u8(&self->m, TAPS_RULE_A_PREFIXLEN, 24);
	put_u32(&self->m, TAPS_RULE_A_PROHIBIT, TAPS_P_SCTP);
	nest_end(&self->m, n);
	xfer(&self->nl, &self->m, &self->r, NULL, NULL);
	EXPECT_EQ(-EINVAL, self->r.err) ERRLOG;
	ASSERT_EQ(0, policy_get(&self->nl, &after));
	EXPECT_TRUE(policy_eq(&before, &after));
	EXPECT_EQ(0, dump(&self->nl, TAPS_CMD_RULE_GET, NULL, NULL));
}

/* An oversized request: a big attribute and many attributes. */
TEST_F(nl, oversized)
{
	static char big[16000];
	struct policy before, after;
	int n, i;

	ASSERT_EQ(0, policy_get(&self->nl, &before));
	memset(big, 0x41, sizeof(big));
	policy_set1(&self->nl, TAPS_POLICY_A_ORDER, big, sizeof(big), &self->r);
	EXPECT_TRUE(is_range_err(self->r.err)) ERRLOG;
	policy_set1(&self->nl, TAPS_POLICY_A_ATTEMPT_DELAY, big, 4000, &self->r);
	EXPECT_EQ(-EINVAL, self->r.err) ERRLOG;
	/* 2000 copies of a valid attribute: the kernel may take the last or
	 * refuse; it must answer and stay consistent.
	 */
	msg_init(&self->m, self->nl.family, NLM_F_REQUEST | NLM_F_ACK, TAPS_CMD_POLICY_SET);
	n = nest_start(&self->m, TAPS_A_POLICY);
	for (i = 0; i < 2000; i++)
		put_u32(&self->m, TAPS_POLICY_A_CACHE_SIZE, 1 + i % 7);
	nest_end(&self->m, n);
	xfer(&self->nl, &self->m, &self->r, NULL, NULL);
	EXPECT_NE(1, self->r.err) TH_LOG("no answer");
	ASSERT_EQ(0, policy_get(&self->nl, &after));
	if (self->r.err)
		EXPECT_TRUE(policy_eq(&before, &after));
	/* a thousand address nests in one rule: refused, or the last one taken */
	msg_init(&self->m, self->nl.family, NLM_F_REQUEST | NLM_F_ACK, TAPS_CMD_RULE_ADD);
	n = nest_start(&self->m, TAPS_A_RULE);
	for (i = 0; i < 1000 && self->m.nh.nlmsg_len < sizeof(self->m.buf) - 64; i++)
		put_addr(&self->m, TAPS_RULE_A_ADDR, "2001:db8::", 0);
	put_u8(&self->m, TAPS_RULE_A_PREFIXLEN, 32);
	put_u32(&self->m, TAPS_RULE_A_PROHIBIT, TAPS_P_SCTP);
	nest_end(&self->m, n);
	xfer(&self->nl, &self->m, &self->r, NULL, NULL);
	EXPECT_NE(1, self->r.err) TH_LOG("no answer");
	EXPECT_GE(1, dump(&self->nl, TAPS_CMD_RULE_GET, NULL, NULL));
}

/* Truncated headers: ignored (no answer) or EINVAL, and the socket works. */
TEST_F(nl, truncated)
{
	struct policy p;

	/* nlmsg_len shorter than the netlink header: dropped */
	msg_init(&self->m, self->nl.family, NLM_F_REQUEST | NLM_F_ACK, TAPS_CMD_POLICY_GET);
	self->m.nh.nlmsg_len = 8;
	ASSERT_EQ(0, send_raw(&self->nl, self->m.buf, 16));
	collect(&self->nl, self->m.nh.nlmsg_seq, &self->r, NULL, NULL, 300);
	EXPECT_EQ(1, self->r.err) ERRLOG;
	/* nlmsg_len beyond the datagram: dropped */
	msg_init(&self->m, self->nl.family, NLM_F_REQUEST | NLM_F_ACK, TAPS_CMD_POLICY_GET);
	self->m.nh.nlmsg_len = 400;
	ASSERT_EQ(0, send_raw(&self->nl, self->m.buf, NLMSG_HDRLEN + GENL_HDRLEN));
	collect(&self->nl, self->m.nh.nlmsg_seq, &self->r, NULL, NULL, 300);
	EXPECT_EQ(1, self->r.err) ERRLOG;
	/* the generic netlink header cut short: EINVAL */
	msg_init(&self->m, self->nl.family, NLM_F_REQUEST | NLM_F_ACK, TAPS_CMD_POLICY_SET);
	self->m.nh.nlmsg_len = NLMSG_HDRLEN + 2;
	ASSERT_EQ(0, send_raw(&self->nl, self->m.buf, NLMSG_HDRLEN + 2));
	collect(&self->nl, self->m.nh.nlmsg_seq, &self->r, NULL, NULL, REPLY_WAIT_MS);
	EXPECT_EQ(-EINVAL, self->r.err) ERRLOG;
	/* only the netlink header */
	msg_init(&self->m, self->nl.family, NLM_F_REQUEST | NLM_F_ACK, TAPS_CMD_POLICY_SET);
	self->m.nh.nlmsg_len = NLMSG_HDRLEN;
	ASSERT_EQ(0, send_raw(&self->nl, self->m.buf, NLMSG_HDRLEN));
	collect(&self->nl, self->m.nh.nlmsg_seq, &self->r, NULL, NULL, REPLY_WAIT_MS);
	EXPECT_EQ(-EINVAL, self->r.err) ERRLOG;
	/* a dump request cut short */
	msg_init(&self->m, self->nl.family, NLM_F_REQUEST | NLM_F_DUMP, TAPS_CMD_RULE_GET);
	self->m.nh.nlmsg_len = NLMSG_HDRLEN + 1;
	ASSERT_EQ(0, send_raw(&self->nl, self->m.buf, NLMSG_HDRLEN + 1));
	collect(&self->nl, self->m.nh.nlmsg_seq, &self->r, NULL, NULL, REPLY_WAIT_MS);
	EXPECT_EQ(-EINVAL, self->r.err) ERRLOG;
	ASSERT_EQ(0, policy_get(&self->nl, &p));
	EXPECT_EQ(250, p.v[TAPS_POLICY_A_ATTEMPT_DELAY]);
}

/* Unknown commands, events as requests, do/dump mixed up: EOPNOTSUPP. */
TEST_F(nl, commands)
{
	int cmd;

	EXPECT_EQ(-EOPNOTSUPP, simple(&self->nl, TAPS_CMD_UNSPEC, NLM_F_ACK));
	for (cmd = TAPS_EVENT_RACE_START; cmd <= TAPS_CMD_MAX + 2; cmd++)
		EXPECT_EQ(-EOPNOTSUPP, simple(&self->nl, cmd, NLM_F_ACK)) TH_LOG("cmd %d", cmd);
	EXPECT_EQ(-EOPNOTSUPP, simple(&self->nl, 255, NLM_F_ACK));
	EXPECT_EQ(-EOPNOTSUPP, simple(&self->nl, TAPS_CMD_POLICY_GET, NLM_F_DUMP));
	EXPECT_EQ(-EOPNOTSUPP, simple(&self->nl, TAPS_CMD_STATS_GET, NLM_F_DUMP));
	EXPECT_EQ(-EOPNOTSUPP, simple(&self->nl, TAPS_CMD_POLICY_SET, NLM_F_DUMP));
	/* every dump works in a fresh namespace */
	EXPECT_EQ(0, dump(&self->nl, TAPS_CMD_RULE_GET, NULL, NULL));
	EXPECT_EQ(0, dump(&self->nl, TAPS_CMD_CACHE_GET, NULL, NULL));
	EXPECT_LE(0, dump(&self->nl, TAPS_CMD_CONN_GET, NULL, NULL));
	EXPECT_EQ(0, simple(&self->nl, TAPS_CMD_CACHE_FLUSH, NLM_F_ACK));
	EXPECT_EQ(0, simple(&self->nl, TAPS_CMD_STATS_GET, NLM_F_ACK));
}

struct rules_seen {
	int n, bad_order, last_plen;
	__u32 ids[300];
	char prefix[300][64];	/* "addr/len" of each, in dump order */
};

static bool rules_have(const struct rules_seen *s, const char *prefix)
{
	int i;

	for (i = 0; i < s->n && i < 300; i++)
		if (!strcmp(s->prefix[i], prefix))
			return true;
	return false;
}

static void rule_cb(const struct nlattr **tb, void *arg)
{
	const struct nlattr *rt[TAPS_RULE_A_MAX + 1], *at[TAPS_ADDR_A_MAX + 1];
	struct rules_seen *s = arg;
	int plen;

	if (!tb[TAPS_A_RULE])
		return;
	parse_nest(tb[TAPS_A_RULE], rt, TAPS_RULE_A_MAX);
	if (!rt[TAPS_RULE_A_PREFIXLEN] || !rt[TAPS_RULE_A_ID] || !rt[TAPS_RULE_A_ADDR])
		return;
	plen = nla_uint(rt[TAPS_RULE_A_PREFIXLEN]);
	if (s->n && plen > s->last_plen)
		s->bad_order++;
	s->last_plen = plen;
	if (s->n < 300) {
		char *pfx = s->prefix[s->n];

		s->ids[s->n] = nla_uint(rt[TAPS_RULE_A_ID]);
		parse_nest(rt[TAPS_RULE_A_ADDR], at, TAPS_ADDR_A_MAX);
		pfx[0] = 0;
		if (at[TAPS_ADDR_A_ADDR4] && nla_plen(at[TAPS_ADDR_A_ADDR4]) == 4)
			inet_ntop(AF_INET, nla_data(at[TAPS_ADDR_A_ADDR4]), pfx, 64);
		else if (at[TAPS_ADDR_A_ADDR6] && nla_plen(at[TAPS_ADDR_A_ADDR6]) == 16)
			inet_ntop(AF_INET6, nla_data(at[TAPS_ADDR_A_ADDR6]), pfx, 64);
		snprintf(pfx + strlen(pfx), 64 - strlen(pfx), "/%d", plen);
	}
	s->n++;
}

/* RULE_ADD of a rule built by the caller between these two. */
static void rule_begin(struct msg *m, struct nl *nl, int cmd, int *n)
{
	msg_init(m, nl->family, NLM_F_REQUEST | NLM_F_ACK, cmd);
	*n = nest_start(m, TAPS_A_RULE);
}

TEST_F(nl, rules)
{
	struct rules_seen *s = calloc(1, sizeof(*s));
	char pfx[64];
	int n, a, i, err;

	ASSERT_EQ(0, rule_add(&self->nl, "192.0.2.77", 24, TAPS_P_SCTP));
	ASSERT_EQ(0, rule_add(&self->nl, "2001:db8::", 32, 0));
	ASSERT_EQ(0, rule_add(&self->nl, "2001:db8:1:2::77", 64, 0));
	ASSERT_EQ(3, dump(&self->nl, TAPS_CMD_RULE_GET, rule_cb, s));
	EXPECT_STREQ("2001:db8:1:2::/64", s->prefix[0]);
	EXPECT_TRUE(rules_have(s, "192.0.2.0/24")) TH_LOG("%s %s %s", s->prefix[0], s->prefix[1], s->prefix[2]);
	EXPECT_TRUE(rules_have(s, "2001:db8::/32")) TH_LOG("%s %s %s", s->prefix[0], s->prefix[1], s->prefix[2]);
	EXPECT_LE(1, s->ids[0]);
	EXPECT_EQ(-EEXIST, rule_add(&self->nl, "2001:db8:0:1::", 32, TAPS_P_TCP));
	for (i = 0; i < 3; i++) {
		rule_begin(&self->m, &self->nl, TAPS_CMD_RULE_DEL, &n);
		put_u32(&self->m, TAPS_RULE_A_ID, s->ids[i]);
		nest_end(&self->m, n);
		xfer(&self->nl, &self->m, &self->r, NULL, NULL);
		EXPECT_EQ(0, self->r.err) ERRLOG;
	}
	ASSERT_EQ(0, rule_add(&self->nl, "192.0.2.77", 24, TAPS_P_SCTP));
	/* the same prefix, however written */
	EXPECT_EQ(-EEXIST, rule_add(&self->nl, "192.0.2.0", 24, TAPS_P_TCP));
	EXPECT_EQ(-EEXIST, rule_add(&self->nl, "192.0.2.1", 24, 0));
	/* prefix lengths beyond the family */
	err = rule_add(&self->nl, "192.0.2.0", 33, TAPS_P_SCTP);
	EXPECT_TRUE(is_range_err(err)) TH_LOG("v4 /33: %d", err);
	err = rule_add(&self->nl, "2001:db8::", 129, TAPS_P_SCTP);
	EXPECT_TRUE(is_range_err(err)) TH_LOG("v6 /129: %d", err);
	/* no rule nest, no address */
	EXPECT_EQ(-EINVAL, simple(&self->nl, TAPS_CMD_RULE_ADD, NLM_F_ACK));
	rule_begin(&self->m, &self->nl, TAPS_CMD_RULE_ADD, &n);
	put_u8(&self->m, TAPS_RULE_A_PREFIXLEN, 24);
	put_u32(&self->m, TAPS_RULE_A_PROHIBIT, TAPS_P_SCTP);
	nest_end(&self->m, n);
	xfer(&self->nl, &self->m, &self->r, NULL, NULL);
	EXPECT_EQ(-EINVAL, self->r.err) ERRLOG;
	/* family AF_INET with an IPv6 address; a 3-byte IPv4 address; AF_UNIX */
	rule_begin(&self->m, &self->nl, TAPS_CMD_RULE_ADD, &n);
	a = nest_start(&self->m, TAPS_RULE_A_ADDR);
	put_u16(&self->m, TAPS_ADDR_A_FAMILY, AF_INET);
	put(&self->m, TAPS_ADDR_A_ADDR6, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\0", 16);
	nest_end(&self->m, a);
	put_u32(&self->m, TAPS_RULE_A_PROHIBIT, TAPS_P_SCTP);
	nest_end(&self->m, n);
	xfer(&self->nl, &self->m, &self->r, NULL, NULL);
	EXPECT_EQ(-EINVAL, self->r.err) ERRLOG;
	rule_begin(&self->m, &self->nl, TAPS_CMD_RULE_ADD, &n);
	a = nest_start(&self->m, TAPS_RULE_A_ADDR);
	put_u16(&self->m, TAPS_ADDR_A_FAMILY, AF_INET);
	put(&self->m, TAPS_ADDR_A_ADDR4, "\xc6\x33\x64", 3);
	nest_end(&self->m, a);
	put_u32(&self->m, TAPS_RULE_A_PROHIBIT, TAPS_P_SCTP);
	nest_end(&self->m, n);
	xfer(&self->nl, &self->m, &self->r, NULL, NULL);
	EXPECT_EQ(-EINVAL, self->r.err) ERRLOG;
	rule_begin(&self->m, &self->nl, TAPS_CMD_RULE_ADD, &n);
	a = nest_start(&self->m, TAPS_RULE_A_ADDR);
	put_u16(&self->m, TAPS_ADDR_A_FAMILY, AF_UNIX);
	put(&self->m, TAPS_ADDR_A_ADDR4, "\xc6\x33\x64\x00", 4);
	nest_end(&self->m, a);
	put_u32(&self->m, TAPS_RULE_A_PROHIBIT, TAPS_P_SCTP);
	nest_end(&self->m, n);
	xfer(&self->nl, &self->m, &self->r, NULL, NULL);
	EXPECT_TRUE(is_range_err(self->r.err)) ERRLOG;
	/* bad actions: prohibit 0x8, prefer two protocols, delay 5 ms */
	rule_begin(&self->m, &self->nl, TAPS_CMD_RULE_ADD, &n);
	put_addr(&self->m, TAPS_RULE_A_ADDR, "198.51.100.0", 0);
	put_u8(&self->m, TAPS_RULE_A_PREFIXLEN, 24);
	put_u32(&self->m, TAPS_RULE_A_PROHIBIT, 0x8);
	nest_end(&self->m, n);
	xfer(&self->nl, &self->m, &self->r, NULL, NULL);
	EXPECT_TRUE(is_range_err(self->r.err)) ERRLOG;
	rule_begin(&self->m, &self->nl, TAPS_CMD_RULE_ADD, &n);
	put_addr(&self->m, TAPS_RULE_A_ADDR, "198.51.100.0", 0);
	put_u8(&self->m, TAPS_RULE_A_PREFIXLEN, 24);
	put_u32(&self->m, TAPS_RULE_A_PREFER, TAPS_P_TCP | TAPS_P_SCTP);
	nest_end(&self->m, n);
	xfer(&self->nl, &self->m, &self->r, NULL, NULL);
	EXPECT_TRUE(is_range_err(self->r.err)) ERRLOG;
	rule_begin(&self->m, &self->nl, TAPS_CMD_RULE_ADD, &n);
	put_addr(&self->m, TAPS_RULE_A_ADDR, "198.51.100.0", 0);
	put_u8(&self->m, TAPS_RULE_A_PREFIXLEN, 24);
	put_u32(&self->m, TAPS_RULE_A_ATTEMPT_DELAY, 5);
	nest_end(&self->m, n);
	xfer(&self->nl, &self->m, &self->r, NULL, NULL);
	EXPECT_TRUE(is_range_err(self->r.err)) ERRLOG;
	/* an ID in RULE_ADD is the kernel's to choose */
	rule_begin(&self->m, &self->nl, TAPS_CMD_RULE_ADD, &n);
	put_u32(&self->m, TAPS_RULE_A_ID, 7);
	put_addr(&self->m, TAPS_RULE_A_ADDR, "198.51.100.0", 0);
	put_u8(&self->m, TAPS_RULE_A_PREFIXLEN, 24);
	put_u32(&self->m, TAPS_RULE_A_PROHIBIT, TAPS_P_TCP);
	nest_end(&self->m, n);
	xfer(&self->nl, &self->m, &self->r, NULL, NULL);
	EXPECT_GT(0, self->r.err) ERRLOG;
	memset(s, 0, sizeof(*s));
	EXPECT_EQ(1, dump(&self->nl, TAPS_CMD_RULE_GET, rule_cb, s));

	/* RULE_DEL: missing ones, by prefix, by id */
	rule_begin(&self->m, &self->nl, TAPS_CMD_RULE_DEL, &n);
	put_addr(&self->m, TAPS_RULE_A_ADDR, "203.0.113.0", 0);
	put_u8(&self->m, TAPS_RULE_A_PREFIXLEN, 24);
	nest_end(&self->m, n);
	xfer(&self->nl, &self->m, &self->r, NULL, NULL);
	EXPECT_EQ(-ENOENT, self->r.err) ERRLOG;
	rule_begin(&self->m, &self->nl, TAPS_CMD_RULE_DEL, &n);
	put_u32(&self->m, TAPS_RULE_A_ID, 99999);
	nest_end(&self->m, n);
	xfer(&self->nl, &self->m, &self->r, NULL, NULL);
	EXPECT_EQ(-ENOENT, self->r.err) ERRLOG;
	EXPECT_EQ(-EINVAL, simple(&self->nl, TAPS_CMD_RULE_DEL, NLM_F_ACK));
	rule_begin(&self->m, &self->nl, TAPS_CMD_RULE_DEL, &n);
	put_u32(&self->m, TAPS_RULE_A_ID, s->ids[0]);
	nest_end(&self->m, n);
	xfer(&self->nl, &self->m, &self->r, NULL, NULL);
	EXPECT_EQ(0, self->r.err) ERRLOG;
	EXPECT_EQ(0, dump(&self->nl, TAPS_CMD_RULE_GET, NULL, NULL));

	/* 256 rules of mixed lengths fit, the 257th is ENOSPC */
	for (i = 0; i < TAPS_POLICY_MAX_RULES; i++) {
		snprintf(pfx, sizeof(pfx), "10.%d.%d.0", i / 8, (i % 8) * 32);
		err = rule_add(&self->nl, pfx, 16 + i % 9, TAPS_P_SCTP);
		if (err == -EEXIST) {	/* two lengths of one address can coincide */
			snprintf(pfx, sizeof(pfx), "2001:db8:%x::", i);
			err = rule_add(&self->nl, pfx, 48, TAPS_P_SCTP);
		}
		ASSERT_EQ(0, err) TH_LOG("rule %d (%s): %s", i, pfx, strerror(-err));
	}
	EXPECT_EQ(-ENOSPC, rule_add(&self->nl, "203.0.113.0", 24, TAPS_P_SCTP));
	memset(s, 0, sizeof(*s));
	EXPECT_EQ(TAPS_POLICY_MAX_RULES, dump(&self->nl, TAPS_CMD_RULE_GET, rule_cb, s));
	EXPECT_EQ(TAPS_POLICY_MAX_RULES, s->n);
	EXPECT_EQ(0, s->bad_order) TH_LOG("rules not dumped longest prefix first");
	{
		struct policy p;

		ASSERT_EQ(0, policy_get(&self->nl, &p));
		EXPECT_EQ(TAPS_POLICY_MAX_RULES, p.v[TAPS_POLICY_A_RULES]);
	}
	/* delete one, and one fits again */
	rule_begin(&self->m, &self->nl, TAPS_CMD_RULE_DEL, &n);
	put_u32(&self->m, TAPS_RULE_A_ID, s->ids[100]);
	nest_end(&self->m, n);
	xfer(&self->nl, &self->m, &self->r, NULL, NULL);
	EXPECT_EQ(0, self->r.err) ERRLOG;
	EXPECT_EQ(0, rule_add(&self->nl, "203.0.113.0", 24, TAPS_P_SCTP));
	free(s);
}

struct cache_seen {
	int n, lo_entries, lo_fail, type_ok;
};

static void cache_cb(const struct nlattr **tb, void *arg)
{
	const struct nlattr *ct[TAPS_CACHE_A_MAX + 1], *at[TAPS_ADDR_A_MAX + 1];
	const struct nlattr *pt[TAPS_CACHE_PROTO_A_MAX + 1], *p;
	struct cache_seen *s = arg;
	int len;

	s->n++;
	if (!tb[TAPS_A_CACHE])
		return;
	parse_nest(tb[TAPS_A_CACHE], ct, TAPS_CACHE_A_MAX);
	if (!ct[TAPS_CACHE_A_ADDR])
		return;
	parse_nest(ct[TAPS_CACHE_A_ADDR], at, TAPS_ADDR_A_MAX);
	if (!at[TAPS_ADDR_A_ADDR4] || nla_plen(at[TAPS_ADDR_A_ADDR4]) != 4 ||
	    memcmp(nla_data(at[TAPS_ADDR_A_ADDR4]), "\x7f\0\0\x01", 4))
		return;
	s->lo_entries++;
	if (ct[TAPS_CACHE_A_TYPE] && nla_uint(ct[TAPS_CACHE_A_TYPE]) == SOCK_STREAM)
		s->type_ok++;
	/* every PROTO nest after the first attribute */
	p = nla_data(tb[TAPS_A_CACHE]);
	len = nla_plen(tb[TAPS_A_CACHE]);
	while (len >= NLA_HDRLEN && p->nla_len >= NLA_HDRLEN && p->nla_len <= len) {
		if ((p->nla_type & NLA_TYPE_MASK) == TAPS_CACHE_A_PROTO) {
			parse_nest(p, pt, TAPS_CACHE_PROTO_A_MAX);
			if (pt[TAPS_CACHE_PROTO_A_FAILURE] && nla_uint(pt[TAPS_CACHE_PROTO_A_FAILURE]))
				s->lo_fail++;
		}
		len -= NLA_ALIGN(p->nla_len);
		p = (const struct nlattr *)((const char *)p + NLA_ALIGN(p->nla_len));
	}
}

TEST_F(nl, cache)
{
	struct cache_seen s = {};
	struct msg *m = &self->m;
	struct policy p;
	int n, i;

	EXPECT_EQ(-EINVAL, simple(&self->nl, TAPS_CMD_CACHE_DEL, NLM_F_ACK));
	msg_init(m, self->nl.family, NLM_F_REQUEST | NLM_F_ACK, TAPS_CMD_CACHE_DEL);
	n = nest_start(m, TAPS_A_CACHE);
	put_addr(m, TAPS_CACHE_A_ADDR, "198.51.100.1", 0);
	nest_end(m, n);
	xfer(&self->nl, m, &self->r, NULL, NULL);
	EXPECT_EQ(-ENOENT, self->r.err) ERRLOG;

	/* refused connects to three closed ports: three entries with failures */
	for (i = 0; i < 3; i++)
		EXPECT_EQ(-ECONNREFUSED, taps_connect_lo(7000 + i, TAPS_P_TCP));
	EXPECT_EQ(3, dump(&self->nl, TAPS_CMD_CACHE_GET, cache_cb, &s));
	EXPECT_EQ(3, s.lo_entries);
	EXPECT_EQ(3, s.type_ok);
	EXPECT_EQ(3, s.lo_fail);
	ASSERT_EQ(0, policy_get(&self->nl, &p));
	EXPECT_EQ(3, p.v[TAPS_POLICY_A_CACHE_ENTRIES]);

	/* a filtered dump: another prefix sees none, the port sees one */
	msg_init(m, self->nl.family, NLM_F_REQUEST | NLM_F_DUMP, TAPS_CMD_CACHE_GET);
	n = nest_start(m, TAPS_A_CACHE);
	put_addr(m, TAPS_CACHE_A_ADDR, "10.0.0.0", 0);
	put_u8(m, TAPS_CACHE_A_PREFIXLEN, 8);
	nest_end(m, n);
	xfer(&self->nl, m, &self->r, NULL, NULL);
	EXPECT_EQ(0, self->r.err) ERRLOG;
	EXPECT_EQ(0, self->r.n);
	msg_init(m, self->nl.family, NLM_F_REQUEST | NLM_F_DUMP, TAPS_CMD_CACHE_GET);
	n = nest_start(m, TAPS_A_CACHE);
	put_addr(m, TAPS_CACHE_A_ADDR, "127.0.0.1", 7001);
	nest_end(m, n);
	xfer(&self->nl, m, &self->r, NULL, NULL);
	EXPECT_EQ(0, self->r.err) ERRLOG;
	EXPECT_EQ(1, self->r.n);
	/* a bad filter: prefix length 33 */
	msg_init(m, self->nl.family, NLM_F_REQUEST | NLM_F_DUMP, TAPS_CMD_CACHE_GET);
	n = nest_start(m, TAPS_A_CACHE);
	put_addr(m, TAPS_CACHE_A_ADDR, "127.0.0.0", 0);
	put_u8(m, TAPS_CACHE_A_PREFIXLEN, 33);
	nest_end(m, n);
	xfer(&self->nl, m, &self->r, NULL, NULL);
	EXPECT_TRUE(is_range_err(self->r.err)) ERRLOG;

	/* delete one port, then the address (all ports), then ENOENT */
	msg_init(m, self->nl.family, NLM_F_REQUEST | NLM_F_ACK, TAPS_CMD_CACHE_DEL);
	n = nest_start(m, TAPS_A_CACHE);
	put_addr(m, TAPS_CACHE_A_ADDR, "127.0.0.1", 7000);
	nest_end(m, n);
	xfer(&self->nl, m, &self->r, NULL, NULL);
	EXPECT_EQ(0, self->r.err) ERRLOG;
	EXPECT_EQ(2, dump(&self->nl, TAPS_CMD_CACHE_GET, NULL, NULL));
	msg_init(m, self->nl.family, NLM_F_REQUEST | NLM_F_ACK, TAPS_CMD_CACHE_DEL);
	n = nest_start(m, TAPS_A_CACHE);
	put_addr(m, TAPS_CACHE_A_ADDR, "127.0.0.1", 0);
	nest_end(m, n);
	xfer(&self->nl, m, &self->r, NULL, NULL);
	EXPECT_EQ(0, self->r.err) ERRLOG;
	EXPECT_EQ(0, dump(&self->nl, TAPS_CMD_CACHE_GET, NULL, NULL));
	xfer(&self->nl, m, &self->r, NULL, NULL);
	EXPECT_EQ(-ENOENT, self->r.err) ERRLOG;

	/* flush */
	EXPECT_EQ(-ECONNREFUSED, taps_connect_lo(7010, 0));
	EXPECT_EQ(1, dump(&self->nl, TAPS_CMD_CACHE_GET, NULL, NULL));
	EXPECT_EQ(0, simple(&self->nl, TAPS_CMD_CACHE_FLUSH, NLM_F_ACK));
	EXPECT_EQ(0, dump(&self->nl, TAPS_CMD_CACHE_GET, NULL, NULL));
}

struct stats_seen {
	__u64 v[TAPS_STATS_A_MAX + 1];
	int present, bad_len;
};

static void stats_parse(struct reply *r, struct stats_seen *s)
{
	const struct nlattr *tb[MAX_TB], *st[TAPS_STATS_A_MAX + 1];
	int i;

	memset(s, 0, sizeof(*s));
	parse(r->data, r->dlen, tb, TAPS_A_MAX);
	if (!tb[TAPS_A_STATS])
		return;
	parse_nest(tb[TAPS_A_STATS], st, TAPS_STATS_A_MAX);
	for (i = TAPS_STATS_A_RACES; i <= TAPS_STATS_A_MAX; i++) {
		if (!st[i])
			continue;
		s->present++;
		if (nla_plen(st[i]) != 8)
			s->bad_len++;
		s->v[i] = nla_uint(st[i]);
	}
}

TEST_F(nl, stats)
{
	struct stats_seen a, b;

	msg_init(&self->m, self->nl.family, NLM_F_REQUEST | NLM_F_ACK, TAPS_CMD_STATS_GET);
	xfer(&self->nl, &self->m, &self->r, NULL, NULL);
	ASSERT_EQ(0, self->r.err) ERRLOG;
	stats_parse(&self->r, &a);
	EXPECT_EQ(TAPS_STATS_A_MAX - TAPS_STATS_A_RACES + 1, a.present);
	EXPECT_EQ(0, a.bad_len);
	EXPECT_EQ(0, a.v[TAPS_STATS_A_RACES]) TH_LOG("a new namespace starts at 0");
	EXPECT_EQ(-ECONNREFUSED, taps_connect_lo(7100, 0));
	msg_init(&self->m, self->nl.family, NLM_F_REQUEST | NLM_F_ACK, TAPS_CMD_STATS_GET);
	xfer(&self->nl, &self->m, &self->r, NULL, NULL);
	ASSERT_EQ(0, self->r.err) ERRLOG;
	stats_parse(&self->r, &b);
	EXPECT_EQ(1, b.v[TAPS_STATS_A_RACES] - a.v[TAPS_STATS_A_RACES]);
	EXPECT_EQ(1, b.v[TAPS_STATS_A_RACES_FAILED] - a.v[TAPS_STATS_A_RACES_FAILED]);
	EXPECT_EQ(2, b.v[TAPS_STATS_A_ATTEMPTS] - a.v[TAPS_STATS_A_ATTEMPTS]);
	EXPECT_EQ(2, b.v[TAPS_STATS_A_FAIL_REFUSED] - a.v[TAPS_STATS_A_FAIL_REFUSED]);
	EXPECT_EQ(1, b.v[TAPS_STATS_A_CACHE_MISSES] - a.v[TAPS_STATS_A_CACHE_MISSES]);
}

struct conn_seen {
	__u64 ino[3];
	int state[3], proto[3], remote_port[3], uid[3];
	int n;
};

static void conn_cb(const struct nlattr **tb, void *arg)
{
	const struct nlattr *ct[TAPS_CONN_A_MAX + 1], *at[TAPS_ADDR_A_MAX + 1];
	struct conn_seen *s = arg;
	__u64 ino;
	int i;

	s->n++;
	if (!tb[TAPS_A_CONN])
		return;
	parse_nest(tb[TAPS_A_CONN], ct, TAPS_CONN_A_MAX);
	if (!ct[TAPS_CONN_A_INODE])
		return;
	ino = nla_uint(ct[TAPS_CONN_A_INODE]);
	for (i = 0; i < 3; i++) {
		if (s->ino[i] != ino)
			continue;
		s->state[i] = ct[TAPS_CONN_A_STATE] ? (int)nla_uint(ct[TAPS_CONN_A_STATE]) : -1;
		s->proto[i] = ct[TAPS_CONN_A_PROTOCOL] ? (int)nla_uint(ct[TAPS_CONN_A_PROTOCOL]) : -1;
		s->uid[i] = ct[TAPS_CONN_A_UID] ? (int)nla_uint(ct[TAPS_CONN_A_UID]) : -1;
		if (ct[TAPS_CONN_A_REMOTE]) {
			parse_nest(ct[TAPS_CONN_A_REMOTE], at, TAPS_ADDR_A_MAX);
			s->remote_port[i] = at[TAPS_ADDR_A_PORT] ? (int)nla_uint(at[TAPS_ADDR_A_PORT]) : -1;
		}
	}
}

TEST_F(nl, conn)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(4711) };
	struct sockaddr_taps st = { .stap_port = htons(4711) };
	struct conn_seen s = {};
	int fds[3], i;
	struct stat sb;

	st.stap_family = taps_family();
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fds[0] = taps_socket(SOCK_STREAM);
	ASSERT_LE(0, fds[0]);
	ASSERT_EQ(0, bind(fds[0], (struct sockaddr *)&st, sizeof(st)));
	ASSERT_EQ(0, listen(fds[0], 8));
	fds[1] = taps_socket(SOCK_STREAM);
	ASSERT_LE(0, fds[1]);
	ASSERT_EQ(0, connect(fds[1], (struct sockaddr *)&sin, sizeof(sin))) TH_LOG("%s", strerror(errno));
	fds[2] = accept(fds[0], NULL, NULL);
	ASSERT_LE(0, fds[2]);
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, fstat(fds[i], &sb));
		s.ino[i] = sb.st_ino;
		s.state[i] = s.proto[i] = s.remote_port[i] = s.uid[i] = -2;
	}
	EXPECT_LE(3, dump(&self->nl, TAPS_CMD_CONN_GET, conn_cb, &s));
	EXPECT_EQ(TAPS_STATE_LISTENING, s.state[0]);
	EXPECT_EQ(TAPS_STATE_ESTABLISHED, s.state[1]);
	EXPECT_EQ(IPPROTO_TCP, s.proto[1]);
	EXPECT_EQ(4711, s.remote_port[1]);
	EXPECT_EQ(0, s.uid[1]);
	EXPECT_EQ(TAPS_STATE_ESTABLISHED, s.state[2]);
	for (i = 0; i < 3; i++)
		close(fds[i]);
}

/* Without CAP_NET_ADMIN: admin commands and the events group EPERM. */
TEST_F(nl, unprivileged)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = {};
	struct nl nl;
	struct policy before, after;
	int grp, n;

	ASSERT_EQ(0, rule_add(&self->nl, "192.0.2.0", 24, TAPS_P_SCTP));
	ASSERT_EQ(0, policy_get(&self->nl, &before));
	ASSERT_EQ(0, syscall(SYS_capset, &hdr, data)) TH_LOG("capset: %s", strerror(errno));
	ASSERT_EQ(0, nl_socket(&nl));
	ASSERT_EQ(0, resolve(&nl));
	policy_set1(&nl, TAPS_POLICY_A_ATTEMPT_DELAY, "\x64\0\0\0", 4, &self->r);
	EXPECT_EQ(-EPERM, self->r.err) ERRLOG;
	EXPECT_EQ(-EPERM, rule_add(&nl, "198.51.100.0", 24, TAPS_P_SCTP));
	rule_begin(&self->m, &nl, TAPS_CMD_RULE_DEL, &n);
	put_addr(&self->m, TAPS_RULE_A_ADDR, "192.0.2.0", 0);
	put_u8(&self->m, TAPS_RULE_A_PREFIXLEN, 24);
	nest_end(&self->m, n);
	xfer(&nl, &self->m, &self->r, NULL, NULL);
	EXPECT_EQ(-EPERM, self->r.err) ERRLOG;
	EXPECT_EQ(-EPERM, dump(&nl, TAPS_CMD_CACHE_GET, NULL, NULL));
	EXPECT_EQ(-EPERM, simple(&nl, TAPS_CMD_CACHE_FLUSH, NLM_F_ACK));
	msg_init(&self->m, nl.family, NLM_F_REQUEST | NLM_F_ACK, TAPS_CMD_CACHE_DEL);
	n = nest_start(&self->m, TAPS_A_CACHE);
	put_addr(&self->m, TAPS_CACHE_A_ADDR, "127.0.0.1", 0);
	nest_end(&self->m, n);
	xfer(&nl, &self->m, &self->r, NULL, NULL);
	EXPECT_EQ(-EPERM, self->r.err) ERRLOG;
	grp = nl.events;
	EXPECT_NE(0, grp);
	EXPECT_EQ(-1, setsockopt(nl.fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &grp, sizeof(grp)));
	EXPECT_EQ(EPERM, errno);
	/* what anyone may do */
	ASSERT_EQ(0, policy_get(&nl, &after));
	EXPECT_TRUE(policy_eq(&before, &after));
	EXPECT_EQ(1, dump(&nl, TAPS_CMD_RULE_GET, NULL, NULL));
	EXPECT_EQ(0, simple(&nl, TAPS_CMD_STATS_GET, NLM_F_ACK));
	EXPECT_LE(0, dump(&nl, TAPS_CMD_CONN_GET, NULL, NULL));
	close(nl.fd);
}

/* ---- the fuzz ---------------------------------------------------------- */

static __u64 rng_state;

static __u32 rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state >> 11;
}

static void put_random_value(struct msg *m, int type)
{
	static const int lens[] = { 0, 1, 2, 3, 4, 4, 4, 8, 16, 5, 33 };
	char data[64];
	int len = lens[rnd() % ARRAY_LEN(lens)], i;
	__u32 v;

	for (i = 0; i < len; i++)
		data[i] = rnd();
	if (len == 4 && rnd() % 2) {
		/* plausible values: near the edges of the ranges */
		static const __u32 vals[] = { 0, 1, 2, 3, 4, 7, 8, 9, 10, 24, 32, 33, 99, 100,
					      128, 129, 250, 999, 1000, 2000, 2001, 65536,
					      65537, 86400000, 0xffffffff };

		v = vals[rnd() % ARRAY_LEN(vals)];
		memcpy(data, &v, 4);
	}
	put(m, type, data, len);
}

static void put_random_attrs(struct msg *m, int depth)
{
	int n = rnd() % 6, i;

	for (i = 0; i < n && m->nh.nlmsg_len < sizeof(m->buf) - 512; i++) {
		int type = rnd() % 12;

		if (depth < 3 && rnd() % 3 == 0) {
			int off = nest_start(m, type);

			if (rnd() % 8 == 0)	/* the flag missing now and then */
				((struct nlattr *)(m->buf + off))->nla_type &= ~NLA_F_NESTED;
			if (type == TAPS_A_RULE && rnd() % 2)
				put_addr(m, TAPS_RULE_A_ADDR, rnd() % 2 ? "192.0.2.0" : "2001:db8::",
					 rnd() % 4 ? 0 : rnd() % 65536);
			put_random_attrs(m, depth + 1);
			nest_end(m, off);
		} else {
			put_random_value(m, type);
		}
	}
}

static void drain(int fd)
{
	static char buf[65536];

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0 || errno == ENOBUFS)
		;
}

TEST_F_TIMEOUT(nl, fuzz, 120)
{
	const char *env = getenv("TAPS_FUZZ_SEED");
	int seconds = getenv("TAPS_FUZZ_SECONDS") ? atoi(getenv("TAPS_FUZZ_SECONDS")) : 8;
	struct nl mon;
	struct timespec t0, t;
	unsigned long sent = 0, answered = 0, errors = 0, connects = 0;
	__u64 seed;
	struct policy p;
	int grp, lfd;
	struct sockaddr_taps st = { .stap_port = htons(4800) };

	if (env)
		seed = strtoull(env, NULL, 0);
	else {
		clock_gettime(CLOCK_REALTIME, &t0);
		seed = t0.tv_sec * 1000003ULL ^ t0.tv_nsec ^ getpid();
	}
	rng_state = seed ? seed : 1;
	ksft_print_msg("fuzz seed %llu (TAPS_FUZZ_SEED=%llu to replay), %d s\n",
		       (unsigned long long)seed, (unsigned long long)seed, seconds);

	/* Something to dump: a listener, cache entries; and an event listener. */
	st.stap_family = taps_family();
	lfd = taps_socket(SOCK_STREAM);
	ASSERT_LE(0, lfd);
	ASSERT_EQ(0, bind(lfd, (struct sockaddr *)&st, sizeof(st)));
	ASSERT_EQ(0, listen(lfd, 64));
	ASSERT_EQ(0, nl_socket(&mon));
	ASSERT_EQ(0, resolve(&mon));
	grp = mon.events;
	ASSERT_EQ(0, setsockopt(mon.fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &grp, sizeof(grp)));

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		struct msg *m = &self->m;
		int cmd = rnd() % (TAPS_CMD_MAX + 3), flags = NLM_F_REQUEST;
		__u32 r = rnd();

		if (r % 2)
			flags |= NLM_F_ACK;
		if (r % 5 == 0)
			flags |= NLM_F_DUMP;
		if (r % 13 == 0)
			flags |= NLM_F_ECHO;
		if (r % 17 == 0)
			flags |= rnd() & 0xff00;
		msg_init(m, self->nl.family, flags, cmd);
		if (rnd() % 16 == 0)
			msg_genl(m)->version = rnd();
		if (rnd() % 32 == 0)
			msg_genl(m)->reserved = rnd();
		put_random_attrs(m, 0);
		switch (rnd() % 24) {
		case 0:		/* corrupt a length somewhere */
			if (m->nh.nlmsg_len > NLMSG_HDRLEN + GENL_HDRLEN + 2)
				*(__u16 *)(m->buf + NLMSG_HDRLEN + GENL_HDRLEN) = rnd();
			break;
		case 1:		/* cut the message anywhere */
			m->nh.nlmsg_len = rnd() % (m->nh.nlmsg_len + 1);
			break;
		case 2:		/* flip a byte in the attributes */
			if (m->nh.nlmsg_len > NLMSG_HDRLEN + GENL_HDRLEN)
				m->buf[NLMSG_HDRLEN + GENL_HDRLEN +
				       rnd() % (m->nh.nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN)] ^= 1 << (rnd() % 8);
			break;
		}
		if (send_raw(&self->nl, m->buf, m->nh.nlmsg_len < 16 ? 16 : NLMSG_ALIGN(m->nh.nlmsg_len)) == 0)
			sent++;
		else
			errors++;
		if (rnd() % 4 == 0) {
			collect(&self->nl, m->nh.nlmsg_seq, &self->r, NULL, NULL, 50);
			if (self->r.err != 1)
				answered++;
		}
		drain(self->nl.fd);
		drain(mon.fd);
		if (rnd() % 16 == 0) {	/* races that feed the cache and the events */
			taps_connect_lo(rnd() % 2 ? 4800 : 7200 + rnd() % 64, rnd() % 8);
			connects++;
		}
		if (rnd() % 64 == 0) {	/* accept what connected */
			int c;

			fcntl(lfd, F_SETFL, O_NONBLOCK);
			while ((c = accept(lfd, NULL, NULL)) >= 0)
				close(c);
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (t.tv_sec - t0.tv_sec < seconds);
	ksft_print_msg("fuzz: %lu sent, %lu answered in time, %lu send errors, %lu connects\n",
		       sent, answered, errors, connects);
	EXPECT_LT(100, sent);

	/* The family still answers sensibly. */
	drain(self->nl.fd);
	EXPECT_EQ(0, policy_get(&self->nl, &p));
	EXPECT_LE(0, dump(&self->nl, TAPS_CMD_RULE_GET, NULL, NULL));
	EXPECT_LE(0, dump(&self->nl, TAPS_CMD_CACHE_GET, NULL, NULL));
	EXPECT_LE(0, dump(&self->nl, TAPS_CMD_CONN_GET, NULL, NULL));
	EXPECT_EQ(0, simple(&self->nl, TAPS_CMD_CACHE_FLUSH, NLM_F_ACK));
	EXPECT_EQ(0, dump(&self->nl, TAPS_CMD_CACHE_GET, NULL, NULL));
	close(mon.fd);
	close(lfd);
}

TEST_HARNESS_MAIN
