// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libtaps: name resolution off the loop thread (RFC 8305 sections 3 and 4).
 *
 * Each name gets two queries, A and AAAA, each on a thread of its own
 * (getaddrinfo() blocks), so they run in parallel and the loop never
 * waits.  Answers come back through a mutex-protected list and the loop's
 * eventfd.  Once every query of one family has answered with an address,
 * the other family has the resolution delay (50 ms) to answer; then the
 * addresses are ordered and handed over, all of them, for one connect().
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "internal.h"

#define QUERY_MAX_ADDRS	TAPS_MAX_ENDPOINTS

struct taps_query {
	struct taps_query	*next;
	struct taps_resq	*q;
	struct taps_resolution	*res;	/* NULL once the resolution is cancelled */
	taps_query_fn		fn;
	int			family;
	in_port_t		port;
	int			n;		/* addresses, or -errno */
	char			reason[160];
	struct taps_addr	out[QUERY_MAX_ADDRS];
	char			host[TAPS_HOST_MAX];
};

/* Shared by the loop and its resolver threads; the last one out frees it. */
struct taps_resq {
	pthread_mutex_t		mu;
	int			refs;
	int			efd;
	bool			loop_gone;
	struct taps_query	*done;
};

struct taps_resolution {
	struct taps_loop	*loop;
	struct taps_op		timer_op;
	struct __kernel_timespec ts;
	bool			timer_armed;
	bool			finished;
	bool			cancelled;
	int			queries;	/* out on threads */
	int			pending[2];	/* [0] A, [1] AAAA not answered */
	int			got[2];
	struct taps_addr	addr[2][TAPS_MAX_ENDPOINTS];
	int			err;
	char			reason[200];
	taps_resolved_cb	done;
	void			*arg;
};

static int fidx(int family)
{
	return family == AF_INET6;
}

int taps__query_getaddrinfo(const char *host, int family, struct taps_addr *out, int max,
			    char *reason, size_t rlen)
{
	struct addrinfo hints = { .ai_family = family, .ai_socktype = SOCK_STREAM };
	struct addrinfo *ai = NULL, *p;
	int err, n = 0;

	err = getaddrinfo(host, NULL, &hints, &ai);
	if (err) {
		snprintf(reason, rlen, "%s: %s", host,
			 err == EAI_SYSTEM ? strerror(errno) : gai_strerror(err));
		switch (err) {
		case EAI_NONAME:
		case EAI_NODATA:
		case EAI_ADDRFAMILY:
			return -ENXIO;
		case EAI_AGAIN:
			return -EAGAIN;
		case EAI_MEMORY:
			return -ENOMEM;
		default:
			return -EIO;
		}
	}
	for (p = ai; p && n < max; p = p->ai_next) {
		if (p->ai_family != family || p->ai_addrlen > sizeof(*out))
			continue;
		memset(&out[n], 0, sizeof(out[n]));
		memcpy(&out[n], p->ai_addr, p->ai_addrlen);
		n++;
	}
	freeaddrinfo(ai);
	if (!n)
		snprintf(reason, rlen, "%s: no %s address", host,
			 family == AF_INET ? "IPv4" : "IPv6");
	return n;
}

static void resq_put(struct taps_resq *q)
{
	bool last;

	pthread_mutex_lock(&q->mu);
	last = --q->refs == 0;
	pthread_mutex_unlock(&q->mu);
	if (last) {
		while (q->done) {
			struct taps_query *n = q->done->next;

			free(q->done);
			q->done = n;
		}
		close(q->efd);
		pthread_mutex_destroy(&q->mu);
		free(q);
	}
}

static void *query_thread(void *arg)
{
	struct taps_query *qu = arg;
	struct taps_resq *q = qu->q;
	uint64_t one = 1;

	qu->n = qu->fn(qu->host, qu->family, qu->out, QUERY_MAX_ADDRS, qu->reason,
		       sizeof(qu->reason));
	pthread_mutex_lock(&q->mu);
	if (q->loop_gone) {
		free(qu);
	} else {
		qu->next = q->done;
		q->done = qu;
		/* cannot fail: the counter does not reach 2^64 - 2 */
		(void)!write(q->efd, &one, sizeof(one));
	}
	pthread_mutex_unlock(&q->mu);
	resq_put(q);
	return NULL;
}

static int start_query(struct taps_resolution *res, const char *host, int family,
		       in_port_t port)
{
	struct taps_loop *loop = res->loop;
	struct taps_query *qu;
	pthread_attr_t attr;
	pthread_t tid;
	int err;

	if (!loop->resq) {
		loop->resq = calloc(1, sizeof(*loop->resq));
		if (!loop->resq)
			return -ENOMEM;
		pthread_mutex_init(&loop->resq->mu, NULL);
		loop->resq->refs = 1;
		loop->resq->efd = loop->efd;
	}
	qu = calloc(1, sizeof(*qu));
	if (!qu)
		return -ENOMEM;
	qu->q = loop->resq;
	qu->res = res;
	qu->fn = loop->query;
	qu->family = family;
	qu->port = port;
	snprintf(qu->host, sizeof(qu->host), "%s", host);
	pthread_mutex_lock(&loop->resq->mu);
	loop->resq->refs++;
	pthread_mutex_unlock(&loop->resq->mu);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	err = pthread_create(&tid, &attr, query_thread, qu);
	pthread_attr_destroy(&attr);
	if (err) {
		free(qu);
		resq_put(loop->resq);
		return -err;
	}
	res->queries++;
	res->pending[fidx(family)]++;
	loop->resolving++;
	taps__arm_eventfd(loop);
	return 0;
}

static void res_maybe_free(struct taps_resolution *res)
{
	if ((res->finished || res->cancelled) && !res->queries && !res->timer_armed)
		free(res);
}

static void add_addr(struct taps_resolution *res, const struct taps_addr *a, in_port_t port)
{
	int f = fidx(a->sa.sa_family);
	struct taps_addr *d;

	if (res->got[f] == TAPS_MAX_ENDPOINTS)
		return;
	d = &res->addr[f][res->got[f]++];
	*d = *a;
	if (a->sa.sa_family == AF_INET)
		d->sin.sin_port = htons(port);
	else
		d->sin6.sin6_port = htons(port);
}

static void finish(struct taps_resolution *res)
{
	struct taps_addr all[2 * TAPS_MAX_ENDPOINTS];
	int n = 0, i, f;

	if (res->finished)
		return;
	res->finished = true;
	if (res->timer_armed) {
		struct io_uring_sqe *sqe = taps__sqe(res->loop);

		io_uring_prep_timeout_remove(sqe, (__u64)(uintptr_t)&res->timer_op, 0);
		io_uring_sqe_set_data(sqe, &res->loop->ignore_op);
	}
	for (f = 1; f >= 0; f--)
		for (i = 0; i < res->got[f]; i++)
			all[n++] = res->addr[f][i];
	taps__order_addresses(all, n);
	if (n > TAPS_MAX_ENDPOINTS)
		n = TAPS_MAX_ENDPOINTS;
	if (!res->cancelled) {
		if (n)
			res->done(res->arg, all, n, 0, NULL);
		else
			res->done(res->arg, NULL, 0, res->err ? res->err : ENXIO,
				  res->reason[0] ? res->reason : "no address");
	}
}

static void arm_timer(struct taps_resolution *res)
{
	struct io_uring_sqe *sqe;

	if (res->timer_armed)
		return;
	res->timer_armed = true;
	res->ts.tv_sec = 0;
	res->ts.tv_nsec = TAPS_RESOLUTION_DELAY_MS * 1000000ll;
	sqe = taps__sqe(res->loop);
	io_uring_prep_timeout(sqe, &res->ts, 0, 0);
	io_uring_sqe_set_data(sqe, &res->timer_op);
	res->loop->inflight++;
}

/* RFC 8305 section 3: start once both answered, or one family has
 * addresses and the other had the resolution delay to answer. */
static void res_step(struct taps_resolution *res)
{
	if (res->finished)
		return;
	if (!res->pending[0] && !res->pending[1]) {
		finish(res);
		return;
	}
	if ((!res->pending[0] && res->got[0]) || (!res->pending[1] && res->got[1]))
		arm_timer(res);
}

void taps__resolution_timer(struct taps_loop *loop, struct taps_op *op, int r)
{
	struct taps_resolution *res = (void *)((char *)op -
		offsetof(struct taps_resolution, timer_op));

	(void)r;
	loop->inflight--;
	res->timer_armed = false;
	if (!res->finished && !res->cancelled)
		finish(res);
	res_maybe_free(res);
}

void taps__resolution_query_done(struct taps_loop *loop, void *arg)
{
	struct taps_query *qu = arg;
	struct taps_resolution *res = qu->res;
	int i;

	(void)loop;
	res->queries--;
	res->pending[fidx(qu->family)]--;
	if (!res->cancelled && !res->finished) {
		if (qu->n < 0 && (!res->err || qu->n != -ENXIO)) {
			res->err = -qu->n;
			snprintf(res->reason, sizeof(res->reason), "name resolution failed: %s",
				 qu->reason);
		} else if (qu->n == 0 && !res->reason[0]) {
			res->err = ENXIO;
			snprintf(res->reason, sizeof(res->reason), "name resolution failed: %s",
				 qu->reason);
		}
		for (i = 0; i < qu->n; i++)
			add_addr(res, &qu->out[i], qu->port);
		res_step(res);
	}
	free(qu);
	res_maybe_free(res);
}

/* From the eventfd's completion (q == NULL) or taps_loop_free() (q == loop). */
void taps__loop_query_done(struct taps_loop *loop, void *q)
{
	struct taps_query *list, *next;
	struct taps_resq *rq = loop->resq;

	if (!rq) {
		if (q)
			close(loop->efd);
		return;
	}
	if (q) {	/* the loop goes: threads still out free their queries */
		pthread_mutex_lock(&rq->mu);
		rq->loop_gone = true;
		pthread_mutex_unlock(&rq->mu);
		loop->resq = NULL;
		resq_put(rq);
		return;
	}
	pthread_mutex_lock(&rq->mu);
	list = rq->done;
	rq->done = NULL;
	pthread_mutex_unlock(&rq->mu);
	/* oldest first */
	for (next = NULL; list; ) {
		struct taps_query *n = list->next;

		list->next = next;
		next = list;
		list = n;
	}
	for (list = next; list; list = next) {
		next = list->next;
		loop->resolving--;
		taps__resolution_query_done(loop, list);
	}
}

struct taps_resolution *taps__resolve(struct taps_loop *loop, const struct taps_remote *r,
				      int n, taps_resolved_cb done, void *arg)
{
	struct taps_resolution *res = calloc(1, sizeof(*res));
	struct taps_addr a;
	int i, err = 0;

	if (!res)
		return NULL;
	res->loop = loop;
	res->timer_op.kind = OP_RES_TIMER;
	res->done = done;
	res->arg = arg;
	for (i = 0; i < n; i++) {
		memset(&a, 0, sizeof(a));
		if (inet_pton(AF_INET, r[i].host, &a.sin.sin_addr) == 1) {
			a.sa.sa_family = AF_INET;
			add_addr(res, &a, r[i].port);
		} else if (inet_pton(AF_INET6, r[i].host, &a.sin6.sin6_addr) == 1) {
			a.sa.sa_family = AF_INET6;
			add_addr(res, &a, r[i].port);
		} else {
			err = start_query(res, r[i].host, AF_INET6, r[i].port);
			if (!err)
				err = start_query(res, r[i].host, AF_INET, r[i].port);
			if (err)
				break;
		}
	}
	if (err) {
		res->err = -err;
		snprintf(res->reason, sizeof(res->reason),
			 "name resolution failed: cannot start a resolver thread: %s",
			 strerror(-err));
		res->got[0] = res->got[1] = 0;
		res->cancelled = false;
		res->pending[0] = res->pending[1] = 0;
	}
	if (!res->queries || err) {
		finish(res);
		if (err)
			res->cancelled = true;	/* late answers are dropped */
		res_maybe_free(res);
		return NULL;	/* done has been called */
	}
	return res;
}

void taps__resolve_cancel(struct taps_resolution *res)
{
	if (!res || res->finished)
		return;
	res->cancelled = true;
	if (res->timer_armed) {
		struct io_uring_sqe *sqe = taps__sqe(res->loop);

		io_uring_prep_timeout_remove(sqe, (__u64)(uintptr_t)&res->timer_op, 0);
		io_uring_sqe_set_data(sqe, &res->loop->ignore_op);
	}
	res_maybe_free(res);
}

/* ---- RFC 6724 section 6 (the rules that need no source address) ---- */

static bool v4mapped(const struct in6_addr *a)
{
	return IN6_IS_ADDR_V4MAPPED(a);
}

int taps__addr_precedence(const struct taps_addr *a)
{
	const struct in6_addr *s;

	if (a->sa.sa_family == AF_INET)
		return 35;			/* ::ffff:0:0/96 */
	s = &a->sin6.sin6_addr;
	if (IN6_IS_ADDR_LOOPBACK(s))
		return 50;
	if (v4mapped(s))
		return 35;
	if (s->s6_addr[0] == 0x20 && s->s6_addr[1] == 0x02)
		return 30;			/* 2002::/16 6to4 */
	if (s->s6_addr[0] == 0x20 && s->s6_addr[1] == 0x01 &&
	    s->s6_addr[2] == 0 && s->s6_addr[3] == 0)
		return 5;			/* 2001::/32 Teredo */
	if ((s->s6_addr[0] & 0xfe) == 0xfc)
		return 3;			/* fc00::/7 ULA */
	if (IN6_IS_ADDR_SITELOCAL(s) || (s->s6_addr[0] == 0x3f && s->s6_addr[1] == 0xfe))
		return 1;			/* fec0::/10, 3ffe::/16 */
	{
		static const uint8_t zero[12];

		if (!memcmp(s->s6_addr, zero, 12))
			return 1;		/* ::/96 IPv4-compatible */
	}
	return 40;
}

static int addr_scope(const struct taps_addr *a)
{
	uint32_t v4;

	if (a->sa.sa_family == AF_INET6) {
		const struct in6_addr *s = &a->sin6.sin6_addr;

		if (IN6_IS_ADDR_LOOPBACK(s) || IN6_IS_ADDR_LINKLOCAL(s))
			return 2;
		if (IN6_IS_ADDR_SITELOCAL(s))
			return 5;
		if (!v4mapped(s))
			return 14;
		memcpy(&v4, &s->s6_addr[12], 4);
	} else {
		v4 = a->sin.sin_addr.s_addr;
	}
	v4 = ntohl(v4);
	if ((v4 >> 24) == 127 || (v4 >> 16) == 0xa9fe)
		return 2;			/* loopback, 169.254/16 */
	return 14;
}

static int family_of(const struct taps_addr *a)
{
	if (a->sa.sa_family == AF_INET6 && v4mapped(&a->sin6.sin6_addr))
		return AF_INET;
	return a->sa.sa_family;
}

/*
 * Rule 6 (higher precedence first), rule 8 (smaller scope first), rule 10
 * (otherwise keep the order); then RFC 8305 section 4: the first
 * address's family, then alternate (First Address Family Count 1).
 */
void taps__order_addresses(struct taps_addr *a, int n)
{
	struct taps_addr tmp[2 * TAPS_MAX_ENDPOINTS], fam[2][2 * TAPS_MAX_ENDPOINTS];
	int nf[2] = { 0, 0 }, take[2] = { 0, 0 }, i, j, k, cur;

	if (n <= 1 || n > 2 * TAPS_MAX_ENDPOINTS)
		return;
	for (i = 1; i < n; i++) {	/* stable insertion sort */
		struct taps_addr x = a[i];
		int px = taps__addr_precedence(&x), sx = addr_scope(&x);

		for (j = i - 1; j >= 0; j--) {
			int pj = taps__addr_precedence(&a[j]), sj = addr_scope(&a[j]);

			if (pj > px || (pj == px && sj <= sx))
				break;
			a[j + 1] = a[j];
		}
		a[j + 1] = x;
	}
	for (i = 0; i < n; i++) {
		k = family_of(&a[i]) == AF_INET6;
		fam[k][nf[k]++] = a[i];
	}
	cur = family_of(&a[0]) == AF_INET6;
	for (i = 0; i < n; i++) {
		if (take[cur] == nf[cur])
			cur = !cur;
		tmp[i] = fam[cur][take[cur]++];
		if (take[!cur] < nf[!cur])
			cur = !cur;
	}
	memcpy(a, tmp, n * sizeof(*a));
}
