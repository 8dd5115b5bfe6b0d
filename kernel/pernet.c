// SPDX-License-Identifier: GPL-2.0
/*
 * AF_TAPS: per network namespace state: the system policy and its
 * destination rules (RFC 9621 section 4.2, "System Policy"), the list of
 * AF_TAPS sockets and the counters.  The cached state is in cache.c.
 *
 * The policy is read under RCU by every connect(); a change copies it,
 * updates the copy and publishes it under taps_net.lock, so a race sees
 * one consistent policy.
 */

#define pr_fmt(fmt) "taps: " fmt

#include <linux/inetdevice.h>
#include <linux/slab.h>
#include <net/ipv6.h>
#include <net/net_namespace.h>
#include <net/netlink.h>
#include <net/netns/generic.h>

#include "taps.h"

static unsigned int taps_net_id __read_mostly;

struct taps_net *taps_pernet(const struct net *net)
{
	return net_generic(net, taps_net_id);
}

static struct taps_policy *taps_policy_alloc(u32 n_rules)
{
	struct taps_policy *pol;

	return kzalloc(struct_size(pol, rules, n_rules), GFP_KERNEL);
}

static struct taps_policy *taps_policy_default(void)
{
	struct taps_policy *pol = taps_policy_alloc(0);

	if (!pol)
		return NULL;
	pol->attempt_delay_ms = TAPS_DEFAULT_ATTEMPT_DELAY_MS;
	pol->protocols = TAPS_P_ALL;
	pol->order[0] = TAPS_P_TCP;
	pol->order[1] = TAPS_P_SCTP;
	pol->order[2] = TAPS_P_MPTCP;
	pol->max_candidates = TAPS_POLICY_MAX_CANDIDATES;
	pol->cache = true;
	pol->cache_lifetime_ms = TAPS_DEFAULT_CACHE_LIFETIME_MS;
	pol->cache_size = TAPS_DEFAULT_CACHE_SIZE;
	pol->next_rule_id = 1;
	return pol;
}

/* A copy of the current policy with room for @extra more rules. */
static struct taps_policy *taps_policy_copy(struct taps_net *tn, u32 extra)
{
	struct taps_policy *old, *pol;

	old = rcu_dereference_protected(tn->policy, lockdep_is_held(&tn->lock));
	pol = taps_policy_alloc(old->n_rules + extra);
	if (!pol)
		return NULL;
	memcpy(pol, old, struct_size(old, rules, old->n_rules));
	return pol;
}

static void taps_policy_publish(struct taps_net *tn, struct taps_policy *pol)
{
	struct taps_policy *old;

	old = rcu_replace_pointer(tn->policy, pol, lockdep_is_held(&tn->lock));
	kfree_rcu(old, rcu);
}

u32 taps_policy_delay(struct net *net)
{
	u32 delay;

	rcu_read_lock();
	delay = rcu_dereference(taps_pernet(net)->policy)->attempt_delay_ms;
	rcu_read_unlock();
	return delay;
}

u32 taps_policy_protocols(struct net *net)
{
	u32 mask;

	rcu_read_lock();
	mask = rcu_dereference(taps_pernet(net)->policy)->protocols;
	rcu_read_unlock();
	return mask;
}

static int taps_policy_parse_order(const struct nlattr *nla, u8 *order,
				   struct netlink_ext_ack *extack)
{
	const u8 *v = nla_data(nla);
	int len = nla_len(nla), i;
	u32 seen = 0;

	if (len < 1 || len > TAPS_NPROTO) {
		NL_SET_ERR_MSG_ATTR(extack, nla, "order lists 1 to 3 protocols");
		return -EINVAL;
	}
	for (i = 0; i < len; i++) {
		if (!taps_proto_of_bit(v[i]) || (seen & v[i])) {
			NL_SET_ERR_MSG_ATTR(extack, nla,
					    "order: unknown or repeated protocol");
			return -EINVAL;
		}
		seen |= v[i];
		order[i] = v[i];
	}
	/* Protocols left out keep their relative order, after those given. */
	for (i = 0; i < TAPS_NPROTO && len < TAPS_NPROTO; i++) {
		if (!(seen & BIT(i))) {
			order[len++] = BIT(i);
			seen |= BIT(i);
		}
	}
	return 0;
}

/* @tb: TAPS_POLICY_A_*, validated by the family's nla_policy. */
int taps_policy_set(struct net *net, struct nlattr **tb, struct netlink_ext_ack *extack)
{
	struct taps_net *tn = taps_pernet(net);
	struct taps_policy *pol;
	u32 cache_size;
	bool flush;
	int err;

	mutex_lock(&tn->lock);
	pol = taps_policy_copy(tn, 0);
	if (!pol) {
		mutex_unlock(&tn->lock);
		return -ENOMEM;
	}
	if (tb[TAPS_POLICY_A_ATTEMPT_DELAY])
		pol->attempt_delay_ms = nla_get_u32(tb[TAPS_POLICY_A_ATTEMPT_DELAY]);
	if (tb[TAPS_POLICY_A_PROTOCOLS])
		pol->protocols = nla_get_u32(tb[TAPS_POLICY_A_PROTOCOLS]);
	if (tb[TAPS_POLICY_A_ORDER]) {
		err = taps_policy_parse_order(tb[TAPS_POLICY_A_ORDER], pol->order, extack);
		if (err) {
			mutex_unlock(&tn->lock);
			kfree(pol);
			return err;
		}
	}
	if (tb[TAPS_POLICY_A_MAX_CANDIDATES])
		pol->max_candidates = nla_get_u32(tb[TAPS_POLICY_A_MAX_CANDIDATES]);
	if (tb[TAPS_POLICY_A_CACHE])
		pol->cache = nla_get_u8(tb[TAPS_POLICY_A_CACHE]);
	if (tb[TAPS_POLICY_A_CACHE_LIFETIME])
		pol->cache_lifetime_ms = nla_get_u32(tb[TAPS_POLICY_A_CACHE_LIFETIME]);
	if (tb[TAPS_POLICY_A_CACHE_SIZE])
		pol->cache_size = nla_get_u32(tb[TAPS_POLICY_A_CACHE_SIZE]);
	cache_size = pol->cache_size;
	flush = !pol->cache;
	taps_policy_publish(tn, pol);
	mutex_unlock(&tn->lock);

	/* Turning the cache off forgets it: it is connection history. */
	if (flush)
		taps_cache_flush(net);
	else
		taps_cache_shrink(net, cache_size);
	return 0;
}

bool taps_addr_in_prefix(const struct taps_addr *a, const struct taps_addr *prefix,
			 u8 prefixlen)
{
	if (a->family != prefix->family)
		return false;
	if (a->family == AF_INET)
		return !((a->a4 ^ prefix->a4) & inet_make_mask(prefixlen));
	return ipv6_prefix_equal(&a->a6, &prefix->a6, prefixlen);
}

static bool taps_rule_same_prefix(const struct taps_rule *r, const struct taps_addr *prefix,
				  u8 prefixlen)
{
	return r->prefixlen == prefixlen && taps_addr_in_prefix(&r->prefix, prefix, prefixlen);
}

int taps_rule_add(struct net *net, const struct taps_rule *rule, struct netlink_ext_ack *extack)
{
	struct taps_net *tn = taps_pernet(net);
	struct taps_policy *old, *pol;
	u32 i, at;

	mutex_lock(&tn->lock);
	old = rcu_dereference_protected(tn->policy, lockdep_is_held(&tn->lock));
	if (old->n_rules >= TAPS_POLICY_MAX_RULES) {
		mutex_unlock(&tn->lock);
		NL_SET_ERR_MSG_MOD(extack, "too many rules (at most 256)");
		return -ENOSPC;
	}
	at = old->n_rules;
	for (i = 0; i < old->n_rules; i++) {
		const struct taps_rule *r = &old->rules[i];

		if (taps_rule_same_prefix(r, &rule->prefix, rule->prefixlen)) {
			mutex_unlock(&tn->lock);
			NL_SET_ERR_MSG_MOD(extack, "a rule for this prefix exists");
			return -EEXIST;
		}
		/* Longest prefix first; equal lengths in the order added. */
		if (at == old->n_rules && r->prefixlen < rule->prefixlen)
			at = i;
	}
	pol = taps_policy_copy(tn, 1);
	if (!pol) {
		mutex_unlock(&tn->lock);
		return -ENOMEM;
	}
	memmove(&pol->rules[at + 1], &pol->rules[at], (old->n_rules - at) * sizeof(*rule));
	pol->rules[at] = *rule;
	pol->rules[at].id = pol->next_rule_id++;
	pol->n_rules++;
	taps_policy_publish(tn, pol);
	mutex_unlock(&tn->lock);
	return 0;
}

/* Delete the rule @id, or with @id 0 the rule for @prefix / @prefixlen. */
int taps_rule_del(struct net *net, u32 id, const struct taps_addr *prefix, u8 prefixlen)
{
	struct taps_net *tn = taps_pernet(net);
	struct taps_policy *pol;
	u32 i;

	mutex_lock(&tn->lock);
	pol = taps_policy_copy(tn, 0);
	if (!pol) {
		mutex_unlock(&tn->lock);
		return -ENOMEM;
	}
	for (i = 0; i < pol->n_rules; i++) {
		const struct taps_rule *r = &pol->rules[i];

		if (id ? r->id == id : taps_rule_same_prefix(r, prefix, prefixlen))
			break;
	}
	if (i == pol->n_rules) {
		mutex_unlock(&tn->lock);
		kfree(pol);
		return -ENOENT;
	}
	pol->n_rules--;
	memmove(&pol->rules[i], &pol->rules[i + 1], (pol->n_rules - i) * sizeof(pol->rules[0]));
	taps_policy_publish(tn, pol);
	mutex_unlock(&tn->lock);
	return 0;
}

void taps_net_link(struct taps_sock *tsk)
{
	struct taps_net *tn = taps_pernet(sock_net(&tsk->sk));

	spin_lock_bh(&tn->socks_lock);
	list_add_tail(&tsk->net_node, &tn->socks);
	spin_unlock_bh(&tn->socks_lock);
}

void taps_net_unlink(struct taps_sock *tsk)
{
	struct taps_net *tn = taps_pernet(sock_net(&tsk->sk));

	spin_lock_bh(&tn->socks_lock);
	list_del_init(&tsk->net_node);
	spin_unlock_bh(&tn->socks_lock);
}

void taps_stat_connect_time(struct net *net, u64 us)
{
	struct taps_net *tn = taps_pernet(net);
	s64 max = atomic64_read(&tn->stats[TAPS_STATS_A_CONNECT_MAX]);

	atomic64_add(us, &tn->stats[TAPS_STATS_A_CONNECT_MEAN]);
	while ((s64)us > max) {
		s64 seen = atomic64_cmpxchg(&tn->stats[TAPS_STATS_A_CONNECT_MAX], max, us);

		if (seen == max)
			break;
		max = seen;
	}
}

static int __net_init taps_net_init(struct net *net)
{
	struct taps_net *tn = taps_pernet(net);
	struct taps_policy *pol;
	int i;

	pol = taps_policy_default();
	if (!pol)
		return -ENOMEM;
	RCU_INIT_POINTER(tn->policy, pol);
	mutex_init(&tn->lock);
	taps_cache_init(&tn->cache);
	spin_lock_init(&tn->socks_lock);
	INIT_LIST_HEAD(&tn->socks);
	for (i = 0; i < ARRAY_SIZE(tn->stats); i++)
		atomic64_set(&tn->stats[i], 0);
	return 0;
}

/*
 * Every AF_TAPS socket holds a reference on its namespace (user sockets
 * and the kernel sockets of attempts and listeners alike), so no socket
 * is left when this runs.
 */
static void __net_exit taps_net_exit(struct net *net)
{
	struct taps_net *tn = taps_pernet(net);

	WARN_ON_ONCE(!list_empty(&tn->socks));
	taps_cache_exit(&tn->cache);
	kfree(rcu_dereference_protected(tn->policy, true));
}

static struct pernet_operations taps_net_ops = {
	.init	= taps_net_init,
	.exit	= taps_net_exit,
	.id	= &taps_net_id,
	.size	= sizeof(struct taps_net),
};

int taps_pernet_init(void)
{
	return register_pernet_subsys(&taps_net_ops);
}

void taps_pernet_exit(void)
{
	unregister_pernet_subsys(&taps_net_ops);
}
