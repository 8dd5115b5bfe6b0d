// SPDX-License-Identifier: GPL-2.0
/*
 * AF_TAPS: the "taps" generic netlink family (Documentation/netlink.md).
 *
 * Everything acts on the namespace of the requesting netlink socket.
 * Changing policy or the cache, dumping the cache and listening to events
 * need CAP_NET_ADMIN over that namespace's user namespace: the cache and
 * the events are connection history.  Anybody may read the policy and the
 * counters, and dump the AF_TAPS sockets they own.
 */

#define pr_fmt(fmt) "taps: " fmt

#include <linux/inetdevice.h>
#include <linux/slab.h>
#include <net/genetlink.h>
#include <net/ipv6.h>
#include <net/net_namespace.h>

#include "taps.h"

enum {
	TAPS_NLGRP_EVENTS,
};

static const struct genl_multicast_group taps_nl_mcgrps[] = {
	[TAPS_NLGRP_EVENTS] = {
		.name	= TAPS_GENL_MCGRP_EVENTS,
		.flags	= GENL_MCAST_CAP_NET_ADMIN,
	},
};

static const struct nla_policy taps_addr_nl_policy[TAPS_ADDR_A_MAX + 1] = {
	[TAPS_ADDR_A_FAMILY]	= { .type = NLA_U16 },
	[TAPS_ADDR_A_ADDR4]	= { .type = NLA_BE32 },
	[TAPS_ADDR_A_ADDR6]	= NLA_POLICY_EXACT_LEN(sizeof(struct in6_addr)),
	[TAPS_ADDR_A_PORT]	= { .type = NLA_U16 },
};

static struct netlink_range_validation taps_lifetime_range = {
	.min	= 1000,
	.max	= 86400000,	/* a day */
};

static struct netlink_range_validation taps_cache_size_range = {
	.min	= 1,
	.max	= TAPS_POLICY_MAX_CACHE_SIZE,
};

static const struct nla_policy taps_policy_nl_policy[TAPS_POLICY_A_MAX + 1] = {
	[TAPS_POLICY_A_ATTEMPT_DELAY]	= NLA_POLICY_RANGE(NLA_U32, TAPS_MIN_ATTEMPT_DELAY_MS,
							   TAPS_MAX_ATTEMPT_DELAY_MS),
	[TAPS_POLICY_A_PROTOCOLS]	= NLA_POLICY_RANGE(NLA_U32, 1, TAPS_P_ALL),
	[TAPS_POLICY_A_ORDER]		= { .type = NLA_BINARY, .len = TAPS_NPROTO },
	[TAPS_POLICY_A_MAX_CANDIDATES]	= NLA_POLICY_RANGE(NLA_U32, 1,
							   TAPS_POLICY_MAX_CANDIDATES),
	[TAPS_POLICY_A_CACHE]		= NLA_POLICY_MAX(NLA_U8, 1),
	[TAPS_POLICY_A_CACHE_LIFETIME]	= NLA_POLICY_FULL_RANGE(NLA_U32, &taps_lifetime_range),
	[TAPS_POLICY_A_CACHE_SIZE]	= NLA_POLICY_FULL_RANGE(NLA_U32, &taps_cache_size_range),
	[TAPS_POLICY_A_CACHE_ENTRIES]	= { .type = NLA_REJECT },
	[TAPS_POLICY_A_RULES]		= { .type = NLA_REJECT },
};

static const struct nla_policy taps_rule_nl_policy[TAPS_RULE_A_MAX + 1] = {
	[TAPS_RULE_A_ID]		= NLA_POLICY_MIN(NLA_U32, 1),
	[TAPS_RULE_A_ADDR]		= NLA_POLICY_NESTED(taps_addr_nl_policy),
	[TAPS_RULE_A_PREFIXLEN]		= NLA_POLICY_MAX(NLA_U8, 128),
	[TAPS_RULE_A_PROHIBIT]		= NLA_POLICY_MASK(NLA_U32, TAPS_P_ALL),
	[TAPS_RULE_A_PREFER]		= NLA_POLICY_RANGE(NLA_U32, TAPS_P_TCP, TAPS_P_MPTCP),
	[TAPS_RULE_A_ATTEMPT_DELAY]	= NLA_POLICY_RANGE(NLA_U32, TAPS_MIN_ATTEMPT_DELAY_MS,
							   TAPS_MAX_ATTEMPT_DELAY_MS),
};

static const struct nla_policy taps_cache_nl_policy[TAPS_CACHE_A_MAX + 1] = {
	[TAPS_CACHE_A_ADDR]		= NLA_POLICY_NESTED(taps_addr_nl_policy),
	[TAPS_CACHE_A_PREFIXLEN]	= NLA_POLICY_MAX(NLA_U8, 128),
	[TAPS_CACHE_A_TYPE]		= { .type = NLA_REJECT },
	[TAPS_CACHE_A_WINNER]		= { .type = NLA_REJECT },
	[TAPS_CACHE_A_SRTT]		= { .type = NLA_REJECT },
	[TAPS_CACHE_A_AGE]		= { .type = NLA_REJECT },
	[TAPS_CACHE_A_PROTO]		= { .type = NLA_REJECT },
	[TAPS_CACHE_A_UID]		= { .type = NLA_REJECT },
};

static const struct nla_policy taps_nl_policy[TAPS_A_MAX + 1] = {
	[TAPS_A_AF]		= { .type = NLA_REJECT },
	[TAPS_A_POLICY]		= NLA_POLICY_NESTED(taps_policy_nl_policy),
	[TAPS_A_RULE]		= NLA_POLICY_NESTED(taps_rule_nl_policy),
	[TAPS_A_CACHE]		= NLA_POLICY_NESTED(taps_cache_nl_policy),
	[TAPS_A_CONN]		= { .type = NLA_REJECT },
	[TAPS_A_STATS]		= { .type = NLA_REJECT },
};

static struct genl_family taps_nl_family;

/* Parse an address nest; @prefixlen, when given, must fit the family. */
static int taps_nl_parse_addr(const struct nlattr *nest, struct taps_addr *a,
			      const struct nlattr *plen_attr, u8 *prefixlen,
			      struct netlink_ext_ack *extack)
{
	struct nlattr *tb[TAPS_ADDR_A_MAX + 1];
	int err, max;

	err = nla_parse_nested(tb, TAPS_ADDR_A_MAX, nest, taps_addr_nl_policy, extack);
	if (err)
		return err;
	memset(a, 0, sizeof(*a));
	if (!tb[TAPS_ADDR_A_FAMILY]) {
		NL_SET_ERR_MSG_ATTR(extack, nest, "address without family");
		return -EINVAL;
	}
	a->family = nla_get_u16(tb[TAPS_ADDR_A_FAMILY]);
	if (a->family == AF_INET && tb[TAPS_ADDR_A_ADDR4] && !tb[TAPS_ADDR_A_ADDR6]) {
		a->a4 = nla_get_in_addr(tb[TAPS_ADDR_A_ADDR4]);
		max = 32;
	} else if (a->family == AF_INET6 && tb[TAPS_ADDR_A_ADDR6] && !tb[TAPS_ADDR_A_ADDR4]) {
		a->a6 = nla_get_in6_addr(tb[TAPS_ADDR_A_ADDR6]);
		max = 128;
	} else {
		NL_SET_ERR_MSG_ATTR(extack, nest,
				    "address needs AF_INET with ADDR4 or AF_INET6 with ADDR6");
		return -EINVAL;
	}
	if (tb[TAPS_ADDR_A_PORT])
		a->port = nla_get_u16(tb[TAPS_ADDR_A_PORT]);
	if (!prefixlen)
		return 0;
	*prefixlen = plen_attr ? nla_get_u8(plen_attr) : max;
	if (*prefixlen > max) {
		NL_SET_ERR_MSG_ATTR(extack, plen_attr, "prefix length too long for the family");
		return -EINVAL;
	}
	/* Keep the prefix canonical: 192.0.2.1/24 is 192.0.2.0/24. */
	if (a->family == AF_INET) {
		a->a4 &= inet_make_mask(*prefixlen);
	} else {
		struct in6_addr full = a->a6;

		/* Not in place: ipv6_addr_prefix() clears its output first. */
		ipv6_addr_prefix(&a->a6, &full, *prefixlen);
	}
	return 0;
}

static int taps_nl_put_addr(struct sk_buff *skb, int type, const struct taps_addr *a)
{
	struct nlattr *nest = nla_nest_start(skb, type);

	if (!nest)
		return -EMSGSIZE;
	if (nla_put_u16(skb, TAPS_ADDR_A_FAMILY, a->family) ||
	    (a->family == AF_INET && nla_put_in_addr(skb, TAPS_ADDR_A_ADDR4, a->a4)) ||
	    (a->family == AF_INET6 && nla_put_in6_addr(skb, TAPS_ADDR_A_ADDR6, &a->a6)) ||
	    (a->port && nla_put_u16(skb, TAPS_ADDR_A_PORT, a->port))) {
		nla_nest_cancel(skb, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(skb, nest);
	return 0;
}

static int taps_nl_put_sockaddr(struct sk_buff *skb, int type, const struct sockaddr_storage *ss)
{
	struct taps_addr a;

	if (ss->ss_family != AF_INET && ss->ss_family != AF_INET6)
		return 0;
	taps_sockaddr_to_addr(ss, &a);
	return taps_nl_put_addr(skb, type, &a);
}

static void *taps_nl_put_hdr(struct sk_buff *skb, struct genl_info *info, int cmd)
{
	return genlmsg_put(skb, info->snd_portid, info->snd_seq, &taps_nl_family, 0, cmd);
}

/* Policy */

static int taps_nl_fill_policy(struct sk_buff *skb, struct net *net)
{
	const struct taps_policy *pol;
	struct nlattr *nest;
	u8 order[TAPS_NPROTO];
	int err = -EMSGSIZE;

	if (nla_put_u32(skb, TAPS_A_AF, taps_family))
		return -EMSGSIZE;
	nest = nla_nest_start(skb, TAPS_A_POLICY);
	if (!nest)
		return -EMSGSIZE;
	rcu_read_lock();
	pol = rcu_dereference(taps_pernet(net)->policy);
	memcpy(order, pol->order, sizeof(order));
	if (nla_put_u32(skb, TAPS_POLICY_A_ATTEMPT_DELAY, pol->attempt_delay_ms) ||
	    nla_put_u32(skb, TAPS_POLICY_A_PROTOCOLS, pol->protocols) ||
	    nla_put(skb, TAPS_POLICY_A_ORDER, sizeof(order), order) ||
	    nla_put_u32(skb, TAPS_POLICY_A_MAX_CANDIDATES, pol->max_candidates) ||
	    nla_put_u8(skb, TAPS_POLICY_A_CACHE, pol->cache) ||
	    nla_put_u32(skb, TAPS_POLICY_A_CACHE_LIFETIME, pol->cache_lifetime_ms) ||
	    nla_put_u32(skb, TAPS_POLICY_A_CACHE_SIZE, pol->cache_size) ||
	    nla_put_u32(skb, TAPS_POLICY_A_CACHE_ENTRIES, taps_cache_count(net)) ||
	    nla_put_u32(skb, TAPS_POLICY_A_RULES, pol->n_rules))
		goto out;
	err = 0;
out:
	rcu_read_unlock();
	if (err)
		nla_nest_cancel(skb, nest);
	else
		nla_nest_end(skb, nest);
	return err;
}

static int taps_nl_policy_get(struct sk_buff *skb, struct genl_info *info)
{
	struct sk_buff *msg;
	void *hdr;

	msg = nlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = taps_nl_put_hdr(msg, info, TAPS_CMD_POLICY_GET);
	if (!hdr || taps_nl_fill_policy(msg, genl_info_net(info))) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

static int taps_nl_policy_set(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *tb[TAPS_POLICY_A_MAX + 1];
	int err, i;

	if (GENL_REQ_ATTR_CHECK(info, TAPS_A_POLICY))
		return -EINVAL;
	err = nla_parse_nested(tb, TAPS_POLICY_A_MAX, info->attrs[TAPS_A_POLICY],
			       taps_policy_nl_policy, info->extack);
	if (err)
		return err;
	for (i = 1; i <= TAPS_POLICY_A_MAX; i++)
		if (tb[i])
			break;
	if (i > TAPS_POLICY_A_MAX) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[TAPS_A_POLICY],
				    "nothing to set");
		return -EINVAL;
	}
	return taps_policy_set(genl_info_net(info), tb, info->extack);
}

/* Rules */

static int taps_nl_rule_add(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *tb[TAPS_RULE_A_MAX + 1];
	struct netlink_ext_ack *extack = info->extack;
	struct taps_rule rule = {};
	int err;

	if (GENL_REQ_ATTR_CHECK(info, TAPS_A_RULE))
		return -EINVAL;
	err = nla_parse_nested(tb, TAPS_RULE_A_MAX, info->attrs[TAPS_A_RULE],
			       taps_rule_nl_policy, extack);
	if (err)
		return err;
	if (NL_REQ_ATTR_CHECK(extack, info->attrs[TAPS_A_RULE], tb, TAPS_RULE_A_ADDR))
		return -EINVAL;
	if (tb[TAPS_RULE_A_ID]) {
		NL_SET_ERR_MSG_ATTR(extack, tb[TAPS_RULE_A_ID], "the kernel chooses rule ids");
		return -EINVAL;
	}
	err = taps_nl_parse_addr(tb[TAPS_RULE_A_ADDR], &rule.prefix, tb[TAPS_RULE_A_PREFIXLEN],
				 &rule.prefixlen, extack);
	if (err)
		return err;
	if (rule.prefix.port) {
		NL_SET_ERR_MSG_ATTR(extack, tb[TAPS_RULE_A_ADDR],
				    "rules match addresses, not ports");
		return -EINVAL;
	}
	if (tb[TAPS_RULE_A_PROHIBIT])
		rule.prohibit = nla_get_u32(tb[TAPS_RULE_A_PROHIBIT]);
	if (tb[TAPS_RULE_A_PREFER]) {
		rule.prefer = nla_get_u32(tb[TAPS_RULE_A_PREFER]);
		if (!taps_proto_of_bit(rule.prefer) || (rule.prefer & rule.prohibit)) {
			NL_SET_ERR_MSG_ATTR(extack, tb[TAPS_RULE_A_PREFER],
					    "prefer names one protocol the rule does not prohibit");
			return -EINVAL;
		}
	}
	if (tb[TAPS_RULE_A_ATTEMPT_DELAY])
		rule.attempt_delay_ms = nla_get_u32(tb[TAPS_RULE_A_ATTEMPT_DELAY]);
	if (!rule.prohibit && !rule.prefer && !rule.attempt_delay_ms) {
		NL_SET_ERR_MSG_ATTR(extack, info->attrs[TAPS_A_RULE],
				    "a rule needs PROHIBIT, PREFER or ATTEMPT_DELAY");
		return -EINVAL;
	}
	return taps_rule_add(genl_info_net(info), &rule, extack);
}

static int taps_nl_rule_del(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *tb[TAPS_RULE_A_MAX + 1];
	struct netlink_ext_ack *extack = info->extack;
	struct taps_addr prefix = {};
	u8 prefixlen = 0;
	u32 id = 0;
	int err;

	if (GENL_REQ_ATTR_CHECK(info, TAPS_A_RULE))
		return -EINVAL;
	err = nla_parse_nested(tb, TAPS_RULE_A_MAX, info->attrs[TAPS_A_RULE],
			       taps_rule_nl_policy, extack);
	if (err)
		return err;
	if (tb[TAPS_RULE_A_ID]) {
		id = nla_get_u32(tb[TAPS_RULE_A_ID]);
	} else if (tb[TAPS_RULE_A_ADDR]) {
		err = taps_nl_parse_addr(tb[TAPS_RULE_A_ADDR], &prefix, tb[TAPS_RULE_A_PREFIXLEN],
					 &prefixlen, extack);
		if (err)
			return err;
	} else {
		NL_SET_ERR_MSG_ATTR(extack, info->attrs[TAPS_A_RULE], "rule needs ID or ADDR");
		return -EINVAL;
	}
	err = taps_rule_del(genl_info_net(info), id, &prefix, prefixlen);
	if (err == -ENOENT)
		NL_SET_ERR_MSG_MOD(extack, "no such rule");
	return err;
}

static int taps_nl_fill_rule(struct sk_buff *skb, const struct taps_rule *r)
{
	struct nlattr *nest = nla_nest_start(skb, TAPS_A_RULE);

	if (!nest)
		return -EMSGSIZE;
	if (nla_put_u32(skb, TAPS_RULE_A_ID, r->id) ||
	    taps_nl_put_addr(skb, TAPS_RULE_A_ADDR, &r->prefix) ||
	    nla_put_u8(skb, TAPS_RULE_A_PREFIXLEN, r->prefixlen) ||
	    (r->prohibit && nla_put_u32(skb, TAPS_RULE_A_PROHIBIT, r->prohibit)) ||
	    (r->prefer && nla_put_u32(skb, TAPS_RULE_A_PREFER, r->prefer)) ||
	    (r->attempt_delay_ms &&
	     nla_put_u32(skb, TAPS_RULE_A_ATTEMPT_DELAY, r->attempt_delay_ms))) {
		nla_nest_cancel(skb, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(skb, nest);
	return 0;
}

/* cb->args[0]: rules sent.  A change between two parts may skip or repeat one. */
static int taps_nl_rule_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct net *net = sock_net(skb->sk);
	const struct taps_policy *pol;
	u32 i;

	rcu_read_lock();
	pol = rcu_dereference(taps_pernet(net)->policy);
	for (i = cb->args[0]; i < pol->n_rules; i++) {
		void *hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
					&taps_nl_family, NLM_F_MULTI, TAPS_CMD_RULE_GET);

		if (!hdr)
			break;
		if (taps_nl_fill_rule(skb, &pol->rules[i])) {
			genlmsg_cancel(skb, hdr);
			break;
		}
		genlmsg_end(skb, hdr);
	}
	rcu_read_unlock();
	cb->args[0] = i;
	return skb->len;
}

/* Cached state */

static int taps_nl_fill_cache(struct sk_buff *skb, const struct taps_cache_entry *e,
			      struct user_namespace *ns)
{
	unsigned long now = jiffies;
	struct nlattr *nest, *pn;
	int i;

	nest = nla_nest_start(skb, TAPS_A_CACHE);
	if (!nest)
		return -EMSGSIZE;
	if (taps_nl_put_addr(skb, TAPS_CACHE_A_ADDR, &e->key) ||
	    nla_put_u32(skb, TAPS_CACHE_A_TYPE, e->type) ||
	    nla_put_u32(skb, TAPS_CACHE_A_UID, from_kuid_munged(ns, e->uid)) ||
	    nla_put_u32(skb, TAPS_CACHE_A_WINNER, e->winner) ||
	    nla_put_u32(skb, TAPS_CACHE_A_SRTT, e->srtt_us) ||
	    nla_put_u64_64bit(skb, TAPS_CACHE_A_AGE, jiffies_to_msecs(now - e->updated),
			      TAPS_CACHE_A_PAD))
		goto cancel;
	for (i = 0; i < TAPS_NPROTO; i++) {
		const struct taps_cache_proto *p = &e->p[i];

		if (!p->success && !p->failure)
			continue;
		pn = nla_nest_start(skb, TAPS_CACHE_A_PROTO);
		if (!pn ||
		    nla_put_u32(skb, TAPS_CACHE_PROTO_A_PROTOCOL, taps_proto_of_bit(BIT(i))) ||
		    nla_put_u32(skb, TAPS_CACHE_PROTO_A_SUCCESS, p->success) ||
		    nla_put_u32(skb, TAPS_CACHE_PROTO_A_FAILURE, p->failure) ||
		    (p->last_success &&
		     nla_put_u64_64bit(skb, TAPS_CACHE_PROTO_A_LAST_SUCCESS,
				       jiffies_to_msecs(now - p->last_success),
				       TAPS_CACHE_PROTO_A_PAD)) ||
		    (p->last_failure &&
		     nla_put_u64_64bit(skb, TAPS_CACHE_PROTO_A_LAST_FAILURE,
				       jiffies_to_msecs(now - p->last_failure),
				       TAPS_CACHE_PROTO_A_PAD)))
			goto cancel;
		nla_nest_end(skb, pn);
	}
	nla_nest_end(skb, nest);
	return 0;
cancel:
	nla_nest_cancel(skb, nest);
	return -EMSGSIZE;
}

/* The filter of a cache dump or delete: TAPS_A_CACHE with ADDR [PREFIXLEN]. */
static int taps_nl_cache_filter(struct nlattr *attr, struct taps_addr *a, u8 *prefixlen,
				struct netlink_ext_ack *extack)
{
	struct nlattr *tb[TAPS_CACHE_A_MAX + 1];
	int err;

	err = nla_parse_nested(tb, TAPS_CACHE_A_MAX, attr, taps_cache_nl_policy, extack);
	if (err)
		return err;
	if (NL_REQ_ATTR_CHECK(extack, attr, tb, TAPS_CACHE_A_ADDR))
		return -EINVAL;
	return taps_nl_parse_addr(tb[TAPS_CACHE_A_ADDR], a, tb[TAPS_CACHE_A_PREFIXLEN],
				  prefixlen, extack);
}

#define TAPS_NL_CACHE_BATCH	32

/* cb->args[0], [1]: the cursor (struct taps_cache_pos) after what was sent */
static int taps_nl_cache_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	const struct genl_dumpit_info *info = genl_dumpit_info(cb);
	struct user_namespace *ns = sk_user_ns(NETLINK_CB(cb->skb).sk);
	struct net *net = sock_net(skb->sk);
	struct taps_cache_entry *batch;
	struct taps_cache_pos pos, next;
	struct taps_addr filter;
	u8 prefixlen = 0;
	int n, i, err;

	if (info->attrs[TAPS_A_CACHE]) {
		err = taps_nl_cache_filter(info->attrs[TAPS_A_CACHE], &filter, &prefixlen,
					   cb->extack);
		if (err)
			return err;
	}
	batch = kmalloc_array(TAPS_NL_CACHE_BATCH, sizeof(*batch), GFP_KERNEL);
	if (!batch)
		return -ENOMEM;
	pos.bucket = cb->args[0];
	pos.skip = cb->args[1];
	for (;;) {
		/* A batch that does not fit is taken again from @pos. */
		next = pos;
		n = taps_cache_snapshot(net, info->attrs[TAPS_A_CACHE] ? &filter : NULL,
					prefixlen, &next, batch, TAPS_NL_CACHE_BATCH);
		for (i = 0; i < n; i++) {
			void *hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid,
						cb->nlh->nlmsg_seq, &taps_nl_family,
						NLM_F_MULTI, TAPS_CMD_CACHE_GET);

			if (!hdr)
				goto full;
			if (taps_nl_fill_cache(skb, &batch[i], ns)) {
				genlmsg_cancel(skb, hdr);
				goto full;
			}
			genlmsg_end(skb, hdr);
		}
		pos = next;
		if (n < TAPS_NL_CACHE_BATCH)
			break;
	}
full:
	if (i < n && i > 0) {
		/* Part of the batch went out: resume after those @i. */
		next = pos;
		taps_cache_snapshot(net, info->attrs[TAPS_A_CACHE] ? &filter : NULL,
				    prefixlen, &next, batch, i);
		pos = next;
	}
	cb->args[0] = pos.bucket;
	cb->args[1] = pos.skip;
	kfree(batch);
	return skb->len;
}

static int taps_nl_cache_del(struct sk_buff *skb, struct genl_info *info)
{
	struct taps_addr a;
	u8 prefixlen;
	int err;

	if (GENL_REQ_ATTR_CHECK(info, TAPS_A_CACHE))
		return -EINVAL;
	err = taps_nl_cache_filter(info->attrs[TAPS_A_CACHE], &a, &prefixlen, info->extack);
	if (err)
		return err;
	err = taps_cache_del(genl_info_net(info), &a, prefixlen);
	if (err == -ENOENT)
		NL_SET_ERR_MSG_MOD(info->extack, "no cached state for this destination");
	return err;
}

static int taps_nl_cache_flush(struct sk_buff *skb, struct genl_info *info)
{
	taps_cache_flush(genl_info_net(info));
	return 0;
}

/* Connections */

static int taps_nl_put_local_remote(struct sk_buff *skb, struct taps_sock *tsk)
{
	struct sockaddr_storage ss;
	struct socket *sock = taps_inner(tsk);

	if (!sock && tsk->state == TAPS_STATE_LISTENING && tsk->n_listeners)
		sock = tsk->listeners[0];
	if (!sock)
		return 0;
	if (sock->ops->getname(sock, (struct sockaddr *)&ss, 0) >= 0 &&
	    taps_nl_put_sockaddr(skb, TAPS_CONN_A_LOCAL, &ss))
		return -EMSGSIZE;
	if (sock == tsk->inner &&
	    sock->ops->getname(sock, (struct sockaddr *)&ss, 1) >= 0 &&
	    taps_nl_put_sockaddr(skb, TAPS_CONN_A_REMOTE, &ss))
		return -EMSGSIZE;
	return 0;
}

/*
 * One AF_TAPS socket, under its lock.  @c: the candidate an event is
 * about (its address is the remote one), @err: the errno it reports.
 */
static int taps_nl_fill_conn(struct sk_buff *skb, struct taps_sock *tsk,
			     struct user_namespace *ns, const struct taps_candidate *c, int err)
{
	struct sock *sk = &tsk->sk;
	struct nlattr *nest;
	u32 delay = tsk->race_delay_ms ?: tsk->attempt_delay_ms;

	nest = nla_nest_start(skb, TAPS_A_CONN);
	if (!nest)
		return -EMSGSIZE;
	if (nla_put_u64_64bit(skb, TAPS_CONN_A_INODE, sock_i_ino(sk), TAPS_CONN_A_PAD) ||
	    nla_put_u32(skb, TAPS_CONN_A_UID, from_kuid_munged(ns, sock_i_uid(sk))) ||
	    nla_put_u32(skb, TAPS_CONN_A_STATE, tsk->state) ||
	    nla_put_u32(skb, TAPS_CONN_A_PROTOCOL, c ? c->protocol : tsk->protocol) ||
	    nla_put_u32(skb, TAPS_CONN_A_CANDIDATES, tsk->n_cand) ||
	    nla_put_u32(skb, TAPS_CONN_A_ATTEMPTS, tsk->n_attempts) ||
	    nla_put_u32(skb, TAPS_CONN_A_FAILED, tsk->n_failed) ||
	    nla_put_u64_64bit(skb, TAPS_CONN_A_CONNECT_TIME, tsk->connect_us, TAPS_CONN_A_PAD) ||
	    nla_put_u32(skb, TAPS_CONN_A_FLAGS, tsk->info_flags) ||
	    (delay && nla_put_u32(skb, TAPS_CONN_A_ATTEMPT_DELAY, delay)) ||
	    (err && nla_put_u32(skb, TAPS_CONN_A_ERROR, err)))
		goto cancel;
	if (c) {
		if (taps_nl_put_sockaddr(skb, TAPS_CONN_A_REMOTE, &c->addr))
			goto cancel;
	} else if (taps_nl_put_local_remote(skb, tsk)) {
		goto cancel;
	}
	nla_nest_end(skb, nest);
	return 0;
cancel:
	nla_nest_cancel(skb, nest);
	return -EMSGSIZE;
}

#define TAPS_NL_CONN_BATCH	16

/*
 * cb->args[0]: position in the namespace's socket list.  Sockets are
 * taken in batches with a reference and filled under their own lock; a
 * socket created or closed between two parts may be skipped or repeated,
 * as with other socket dumps.  Without CAP_NET_ADMIN only the caller's own.
 */
static int taps_nl_conn_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct sock *nlsk = NETLINK_CB(cb->skb).sk;
	struct net *net = sock_net(skb->sk);
	struct taps_net *tn = taps_pernet(net);
	struct taps_sock *batch[TAPS_NL_CONN_BATCH], *tsk;
	bool admin = netlink_net_capable(cb->skb, CAP_NET_ADMIN);
	kuid_t me = sock_i_uid(nlsk);
	int n, i, pos;
	bool full = false;

	while (!full) {
		n = 0;
		pos = 0;
		spin_lock_bh(&tn->socks_lock);
		list_for_each_entry(tsk, &tn->socks, net_node) {
			if (pos++ < cb->args[0])
				continue;
			if (n == TAPS_NL_CONN_BATCH)
				break;
			sock_hold(&tsk->sk);
			batch[n++] = tsk;
		}
		spin_unlock_bh(&tn->socks_lock);

		for (i = 0; i < n; i++) {
			struct sock *sk = &batch[i]->sk;
			void *hdr;
			int err = 0;

			if (!full && (admin || uid_eq(sock_i_uid(sk), me))) {
				hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid,
						  cb->nlh->nlmsg_seq, &taps_nl_family,
						  NLM_F_MULTI, TAPS_CMD_CONN_GET);
				lock_sock(sk);
				err = hdr ? taps_nl_fill_conn(skb, batch[i], sk_user_ns(nlsk),
							      NULL, 0) : -EMSGSIZE;
				release_sock(sk);
				if (err) {
					if (hdr)
						genlmsg_cancel(skb, hdr);
					full = true;
				} else {
					genlmsg_end(skb, hdr);
				}
			}
			if (!full)
				cb->args[0]++;
			sock_put(sk);
		}
		if (n < TAPS_NL_CONN_BATCH)
			break;
	}
	return skb->len;
}

/* Counters */

static int taps_nl_stats_get(struct sk_buff *skb, struct genl_info *info)
{
	struct taps_net *tn = taps_pernet(genl_info_net(info));
	struct nlattr *nest;
	struct sk_buff *msg;
	u64 v, wins;
	void *hdr;
	int i;

	msg = nlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = taps_nl_put_hdr(msg, info, TAPS_CMD_STATS_GET);
	if (!hdr)
		goto nomem;
	nest = nla_nest_start(msg, TAPS_A_STATS);
	if (!nest)
		goto nomem;
	wins = atomic64_read(&tn->stats[TAPS_STATS_A_WINS_INET]) +
	       atomic64_read(&tn->stats[TAPS_STATS_A_WINS_INET6]);
	for (i = TAPS_STATS_A_RACES; i <= TAPS_STATS_A_MAX; i++) {
		v = atomic64_read(&tn->stats[i]);
		/* The sum of connect times is kept; the mean is reported. */
		if (i == TAPS_STATS_A_CONNECT_MEAN)
			v = wins ? div64_u64(v, wins) : 0;
		if (nla_put_u64_64bit(msg, i, v, TAPS_STATS_A_PAD))
			goto nomem;
	}
	nla_nest_end(msg, nest);
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
nomem:
	nlmsg_free(msg);
	return -EMSGSIZE;
}

/* Events */

static struct sk_buff *taps_nl_event_new(struct net *net, int cmd, void **hdr)
{
	struct sk_buff *skb;

	if (!genl_has_listeners(&taps_nl_family, net, TAPS_NLGRP_EVENTS))
		return NULL;
	skb = nlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!skb)
		return NULL;
	*hdr = genlmsg_put(skb, 0, 0, &taps_nl_family, 0, cmd);
	if (!*hdr) {
		nlmsg_free(skb);
		return NULL;
	}
	return skb;
}

static void taps_nl_event_send(struct net *net, struct sk_buff *skb, void *hdr)
{
	genlmsg_end(skb, hdr);
	genlmsg_multicast_netns(&taps_nl_family, net, skb, 0, TAPS_NLGRP_EVENTS, GFP_KERNEL);
}

/* Called with the socket lock held, in process context. */
void taps_nl_conn_event(struct taps_sock *tsk, int cmd, const struct taps_candidate *c, int err)
{
	struct net *net = sock_net(&tsk->sk);
	struct sk_buff *skb;
	void *hdr;

	skb = taps_nl_event_new(net, cmd, &hdr);
	if (!skb)
		return;
	if (taps_nl_fill_conn(skb, tsk, net->user_ns, c, err)) {
		nlmsg_free(skb);
		return;
	}
	taps_nl_event_send(net, skb, hdr);
}

void taps_nl_cache_event(struct net *net, const struct taps_cache_entry *e)
{
	struct sk_buff *skb;
	void *hdr;

	skb = taps_nl_event_new(net, TAPS_EVENT_CACHE_UPDATE, &hdr);
	if (!skb)
		return;
	if (taps_nl_fill_cache(skb, e, net->user_ns)) {
		nlmsg_free(skb);
		return;
	}
	taps_nl_event_send(net, skb, hdr);
}

static const struct genl_small_ops taps_nl_ops[] = {
	{
		.cmd	= TAPS_CMD_POLICY_GET,
		.doit	= taps_nl_policy_get,
	},
	{
		.cmd	= TAPS_CMD_POLICY_SET,
		.doit	= taps_nl_policy_set,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd	= TAPS_CMD_RULE_ADD,
		.doit	= taps_nl_rule_add,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd	= TAPS_CMD_RULE_DEL,
		.doit	= taps_nl_rule_del,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd	= TAPS_CMD_RULE_GET,
		.dumpit	= taps_nl_rule_dump,
	},
	{
		.cmd	= TAPS_CMD_CACHE_GET,
		.dumpit	= taps_nl_cache_dump,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd	= TAPS_CMD_CACHE_DEL,
		.doit	= taps_nl_cache_del,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd	= TAPS_CMD_CACHE_FLUSH,
		.doit	= taps_nl_cache_flush,
		.flags	= GENL_UNS_ADMIN_PERM,
	},
	{
		.cmd	= TAPS_CMD_CONN_GET,
		.dumpit	= taps_nl_conn_dump,
	},
	{
		.cmd	= TAPS_CMD_STATS_GET,
		.doit	= taps_nl_stats_get,
	},
};

static struct genl_family taps_nl_family __ro_after_init = {
	.name		= TAPS_GENL_NAME,
	.version	= TAPS_GENL_VERSION,
	.maxattr	= TAPS_A_MAX,
	.policy		= taps_nl_policy,
	.netnsok	= true,
	.parallel_ops	= true,
	.module		= THIS_MODULE,
	.small_ops	= taps_nl_ops,
	.n_small_ops	= ARRAY_SIZE(taps_nl_ops),
	.resv_start_op	= TAPS_CMD_UNSPEC,	/* new family: strict everywhere */
	.mcgrps		= taps_nl_mcgrps,
	.n_mcgrps	= ARRAY_SIZE(taps_nl_mcgrps),
};

int taps_nl_init(void)
{
	return genl_register_family(&taps_nl_family);
}

void taps_nl_exit(void)
{
	genl_unregister_family(&taps_nl_family);
}
