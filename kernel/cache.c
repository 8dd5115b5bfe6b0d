// SPDX-License-Identifier: GPL-2.0
/*
 * AF_TAPS: cached state (RFC 9623 section 4.2.2), per network namespace.
 *
 * One entry per (owner uid, remote address, port, socket type) that took
 * part in a race: the protocol that won last, a smoothed handshake RTT of
 * winners and, per protocol, how often it won or failed and when.  The
 * next race of the same user in the namespace, whichever process makes it,
 * tries the last winner first and a protocol that failed more recently
 * than it won last.
 *
 * The cache is partitioned by the AF_TAPS socket owner's uid: a user's
 * races read and write that user's entries only, so one user can neither
 * learn where another connected (TAPS_INFO_F_CACHED, the racing order,
 * the time to connect) nor steer another's races by making a protocol fail
 * on purpose (a blackhole of one's own through SO_BINDTODEVICE, IP_TTL 1,
 * TCP_SYNCNT 1).  Only administrators of the namespace see every
 * partition, through netlink.
 *
 * A hash table and an LRU list under one spinlock: a race looks up its
 * candidates once and updates an entry once per outcome, so the lock is
 * held for a few list operations each time.  The size is bounded by the
 * policy's cache-size (the least recently used entry goes first) and an
 * entry expires cache-lifetime after its last update.
 */

#include <linux/jhash.h>
#include <linux/slab.h>
#include <net/net_namespace.h>

#include "taps.h"

/*
 * The key of a remote endpoint, as the policy's rules and the cache see it.
 * An IPv4-mapped IPv6 address is the IPv4 address it carries: the same
 * host and path, so the same rules and the same cached state.
 */
void taps_sockaddr_to_addr(const struct sockaddr_storage *ss, struct taps_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->family = ss->ss_family;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;

		a->a4 = sin->sin_addr.s_addr;
		a->port = ntohs(sin->sin_port);
	} else {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

		a->port = ntohs(sin6->sin6_port);
		if (ipv6_addr_v4mapped(&sin6->sin6_addr)) {
			a->family = AF_INET;
			a->a4 = sin6->sin6_addr.s6_addr32[3];
		} else {
			a->a6 = sin6->sin6_addr;
		}
	}
}

static u32 taps_cache_hash(const struct taps_addr *key, kuid_t uid, u32 type)
{
	BUILD_BUG_ON(sizeof(*key) % sizeof(u32));
	return jhash2((const u32 *)key, sizeof(*key) / sizeof(u32),
		      type ^ __kuid_val(uid)) & ((1 << TAPS_CACHE_HASH_BITS) - 1);
}

static bool taps_cache_expired(const struct taps_cache_entry *e, unsigned long lifetime)
{
	return time_after(jiffies, e->updated + lifetime);
}

static void taps_cache_free(struct taps_cache *c, struct taps_cache_entry *e)
{
	hlist_del(&e->hnode);
	list_del(&e->lru);
	c->n--;
	kfree(e);
}

/* Under c->lock: the live entry for @key, or NULL; drops an expired one. */
static struct taps_cache_entry *taps_cache_find(struct taps_cache *c, const struct taps_addr *key,
						kuid_t uid, u32 type, unsigned long lifetime)
{
	struct taps_cache_entry *e;

	lockdep_assert_held(&c->lock);
	hlist_for_each_entry(e, &c->hash[taps_cache_hash(key, uid, type)], hnode) {
		if (e->type != type || !uid_eq(e->uid, uid) || memcmp(&e->key, key, sizeof(*key)))
			continue;
		if (taps_cache_expired(e, lifetime)) {
			taps_cache_free(c, e);
			return NULL;
		}
		list_move(&e->lru, &c->lru);
		return e;
	}
	return NULL;
}

/* Under c->lock: drop expired entries from the cold end, then go to @size. */
static void taps_cache_evict(struct taps_cache *c, u32 size, unsigned long lifetime)
{
	struct taps_cache_entry *e;

	while (!list_empty(&c->lru)) {
		e = list_last_entry(&c->lru, struct taps_cache_entry, lru);
		if (c->n <= size && !taps_cache_expired(e, lifetime))
			break;
		taps_cache_free(c, e);
	}
}

/* Whether the race may read and write the cache, and its bounds. */
static bool taps_cache_params(struct net *net, unsigned long *lifetime, u32 *size)
{
	const struct taps_policy *pol;
	bool on;

	rcu_read_lock();
	pol = rcu_dereference(taps_pernet(net)->policy);
	on = pol->cache;
	*lifetime = msecs_to_jiffies(pol->cache_lifetime_ms);
	*size = pol->cache_size;
	rcu_read_unlock();
	return on;
}

/*
 * Rank each candidate: 2 when its protocol failed at its endpoint more
 * recently than it won there; 0 for the candidate that won most recently
 * of all (the last winner among these endpoints, so that when IPv6 won
 * yesterday and IPv4 today, IPv4 goes first); 1 otherwise.  Returns false
 * when the cache is off.
 */
bool taps_cache_rank(struct net *net, kuid_t uid, u32 type, struct taps_candidate *cand,
		     u32 n, bool *hit)
{
	struct taps_cache *c = &taps_pernet(net)->cache;
	unsigned long lifetime, newest = 0;
	struct taps_addr key;
	u32 i, size;

	*hit = false;
	if (!taps_cache_params(net, &lifetime, &size))
		return false;

	spin_lock_bh(&c->lock);
	for (i = 0; i < n; i++) {
		const struct taps_cache_proto *p;
		struct taps_cache_entry *e;

		cand[i].rank = 1;
		cand[i].won_at = 0;
		taps_sockaddr_to_addr(&cand[i].addr, &key);
		e = taps_cache_find(c, &key, uid, type, lifetime);
		if (!e)
			continue;
		*hit = true;
		p = &e->p[taps_proto_idx(cand[i].protocol)];
		if (p->last_failure &&
		    (!p->last_success || time_after(p->last_failure, p->last_success))) {
			cand[i].rank = 2;
		} else if (e->winner == cand[i].protocol) {
			cand[i].won_at = p->last_success;
			if (!newest || time_after(p->last_success, newest))
				newest = p->last_success;
		}
	}
	spin_unlock_bh(&c->lock);

	for (i = 0; i < n && newest; i++)
		if (cand[i].won_at == newest)
			cand[i].rank = 0;
	return true;
}

/*
 * Record the outcome of candidate @cand in @uid's partition: won (@err 0,
 * handshake RTT @rtt_us) or failed with -@err.  Tells the monitor what
 * changed.  A new entry is charged to the caller's memory cgroup (the
 * race's owner: taps_owner_enter()).
 */
void taps_cache_update(struct net *net, kuid_t uid, u32 type, const struct taps_candidate *cand,
		       int err, u32 rtt_us)
{
	struct taps_cache *c = &taps_pernet(net)->cache;
	struct taps_cache_entry *e, *fresh = NULL, snap;
	unsigned long lifetime, now = jiffies ?: 1;
	struct taps_cache_proto *p;
	struct taps_addr key;
	u32 size;

	if (!taps_cache_params(net, &lifetime, &size))
		return;
	taps_sockaddr_to_addr(&cand->addr, &key);

	spin_lock_bh(&c->lock);
	e = taps_cache_find(c, &key, uid, type, lifetime);
	if (!e) {
		/* New destination: allocate outside the lock, look again. */
		spin_unlock_bh(&c->lock);
		fresh = kzalloc(sizeof(*fresh), GFP_KERNEL_ACCOUNT);
		if (!fresh)
			return;
		spin_lock_bh(&c->lock);
		e = taps_cache_find(c, &key, uid, type, lifetime);
	}
	if (!e) {
		e = fresh;
		fresh = NULL;
		e->key = key;
		e->uid = uid;
		e->type = type;
		hlist_add_head(&e->hnode, &c->hash[taps_cache_hash(&key, uid, type)]);
		list_add(&e->lru, &c->lru);
		c->n++;
	}
	p = &e->p[taps_proto_idx(cand->protocol)];
	if (!err) {
		e->winner = cand->protocol;
		/* RFC 6298's smoothing of RTT samples, alpha 1/8 */
		e->srtt_us = e->srtt_us ? e->srtt_us - (e->srtt_us >> 3) + (rtt_us >> 3) : rtt_us;
		p->success++;
		p->last_success = now;
	} else {
		p->failure++;
		p->last_failure = now;
	}
	e->updated = now;
	snap = *e;
	taps_cache_evict(c, size, lifetime);
	spin_unlock_bh(&c->lock);
	kfree(fresh);

	taps_nl_cache_event(net, &snap);
}

void taps_cache_shrink(struct net *net, u32 size)
{
	struct taps_cache *c = &taps_pernet(net)->cache;
	unsigned long lifetime;
	u32 unused;

	taps_cache_params(net, &lifetime, &unused);
	spin_lock_bh(&c->lock);
	taps_cache_evict(c, size, lifetime);
	spin_unlock_bh(&c->lock);
}

static bool taps_cache_match(const struct taps_cache_entry *e, const struct taps_addr *filter,
			     u8 prefixlen)
{
	if (!filter)
		return true;
	if (filter->port && filter->port != e->key.port)
		return false;
	return taps_addr_in_prefix(&e->key, filter, prefixlen);
}

/* Delete the entries whose address is in the prefix (and port, if any). */
int taps_cache_del(struct net *net, const struct taps_addr *a, u8 prefixlen)
{
	struct taps_cache *c = &taps_pernet(net)->cache;
	struct taps_cache_entry *e, *tmp;
	int err = -ENOENT;

	spin_lock_bh(&c->lock);
	list_for_each_entry_safe(e, tmp, &c->lru, lru) {
		if (taps_cache_match(e, a, prefixlen)) {
			taps_cache_free(c, e);
			err = 0;
		}
	}
	spin_unlock_bh(&c->lock);
	return err;
}

void taps_cache_flush(struct net *net)
{
	struct taps_cache *c = &taps_pernet(net)->cache;

	spin_lock_bh(&c->lock);
	taps_cache_evict(c, 0, 0);
	spin_unlock_bh(&c->lock);
}

/*
 * Copy up to @max live entries matching the filter, in hash order, from
 * the cursor @pos on: a netlink dump takes the cache in such batches
 * without holding the lock while it fills messages.  @pos holds the
 * bucket and the number of entries of that bucket already passed, so each
 * batch costs what it copies plus one bucket's chain, whatever the size of
 * the cache.  An entry added or removed between two batches may be missed
 * or seen twice, as in any dump.
 */
int taps_cache_snapshot(struct net *net, const struct taps_addr *filter, u8 prefixlen,
			struct taps_cache_pos *pos, struct taps_cache_entry *out, u32 max)
{
	struct taps_cache *c = &taps_pernet(net)->cache;
	struct taps_cache_entry *e;
	unsigned long lifetime;
	u32 n = 0, size, i;

	taps_cache_params(net, &lifetime, &size);
	spin_lock_bh(&c->lock);
	for (; pos->bucket < ARRAY_SIZE(c->hash); pos->bucket++, pos->skip = 0) {
		i = 0;
		hlist_for_each_entry(e, &c->hash[pos->bucket], hnode) {
			if (i++ < pos->skip)
				continue;
			if (n == max)
				goto out;
			pos->skip++;
			if (taps_cache_expired(e, lifetime) ||
			    !taps_cache_match(e, filter, prefixlen))
				continue;
			out[n++] = *e;
		}
	}
out:
	spin_unlock_bh(&c->lock);
	return n;
}

u32 taps_cache_count(struct net *net)
{
	return READ_ONCE(taps_pernet(net)->cache.n);
}

void taps_cache_init(struct taps_cache *c)
{
	int i;

	spin_lock_init(&c->lock);
	for (i = 0; i < ARRAY_SIZE(c->hash); i++)
		INIT_HLIST_HEAD(&c->hash[i]);
	INIT_LIST_HEAD(&c->lru);
	c->n = 0;
}

void taps_cache_exit(struct taps_cache *c)
{
	spin_lock_bh(&c->lock);
	taps_cache_evict(c, 0, 0);
	spin_unlock_bh(&c->lock);
}
