// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libtaps: connection groups (RFC 9622 section 7.4).
 *
 * taps_clone() (conn.c) opens a new connection to the peer of one that is
 * Ready and puts both in a group.  AF_TAPS has no multistreaming clone
 * yet, so each member is a connection of its own, raced with the
 * protocol the first one won: the group shares one protocol and, set
 * through any member, its connection properties (all but connPriority).
 * connPriority orders the members' sends strictly: a member's next
 * message waits while a member of higher priority (lower value) has
 * bytes in the library's queue (RFC 9622 section 7.4, a priority
 * scheduler as RFC 8260 section 3.4's).  CloseGroup and AbortGroup act
 * on every member.  A group lives as long as it has a member.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct taps_group {
	struct taps_connection	**m;
	int			n, cap;
};

int taps__group_reserve(struct taps_connection *c)
{
	struct taps_group **gp = taps__conn_group(c), *g = *gp;
	struct taps_connection **m;

	if (!g) {
		g = calloc(1, sizeof(*g));
		if (!g)
			return -ENOMEM;
		*gp = g;
	}
	if (!g->n) {
		g->m = calloc(4, sizeof(*g->m));
		if (!g->m)
			return -ENOMEM;
		g->cap = 4;
		g->m[g->n++] = c;
	}
	if (g->n < g->cap)
		return 0;
	m = realloc(g->m, 2 * g->cap * sizeof(*m));
	if (!m)
		return -ENOMEM;
	g->m = m;
	g->cap *= 2;
	return 0;
}

void taps__group_join(struct taps_connection *parent, struct taps_connection *child)
{
	struct taps_group *g = *taps__conn_group(parent);

	if (!g || g->n >= g->cap)
		return;		/* not reserved: a caller's bug */
	g->m[g->n++] = child;
	*taps__conn_group(child) = g;
}

void taps__group_leave(struct taps_connection *c)
{
	struct taps_group **gp = taps__conn_group(c), *g = *gp;
	int i;

	if (!g)
		return;
	*gp = NULL;
	for (i = 0; i < g->n; i++) {
		if (g->m[i] == c) {
			memmove(&g->m[i], &g->m[i + 1], (g->n - i - 1) * sizeof(*g->m));
			g->n--;
			break;
		}
	}
	for (i = 0; i < g->n; i++)
		taps__conn_unhold(g->m[i]);
	if (g->n == 1) {	/* the last one is alone again */
		*taps__conn_group(g->m[0]) = NULL;
		g->n = 0;
	}
	if (!g->n) {
		free(g->m);
		free(g);
	}
}

int taps_grouped_connections(const struct taps_connection *c, struct taps_connection **out,
			     int max)
{
	struct taps_group *g;
	int i;

	if (!c || max < 0 || (max && !out))
		return -EINVAL;
	g = *taps__conn_group((struct taps_connection *)c);
	if (!g || !g->n) {
		if (max)
			out[0] = (struct taps_connection *)c;
		return 1;
	}
	for (i = 0; i < g->n && i < max; i++)
		out[i] = g->m[i];
	return g->n;
}

bool taps__group_holds(struct taps_connection *c)
{
	struct taps_group *g = *taps__conn_group(c);
	int64_t mine, theirs;
	int i;

	taps__conn_backlog(c, &mine);
	for (i = 0; g && i < g->n; i++)
		if (g->m[i] != c && taps__conn_backlog(g->m[i], &theirs) && theirs < mine)
			return true;
	return false;
}

void taps__group_kick(struct taps_connection *c)
{
	struct taps_group *g = *taps__conn_group(c);
	int i;

	for (i = 0; g && i < g->n; i++)
		if (g->m[i] != c)
			taps__conn_unhold(g->m[i]);
}

void taps__group_set(struct taps_connection *c, enum taps_property prop, int64_t value)
{
	struct taps_group *g = *taps__conn_group(c);
	int i;

	for (i = 0; g && i < g->n; i++)
		if (g->m[i] != c)
			taps__conn_set_one(g->m[i], prop, value);
}

/* Each member: taps_close() and taps_abort() free nothing during the
 * call (events and frees come from the loop), so the list stays put. */
static void group_each(struct taps_connection *c, void (*fn)(struct taps_connection *))
{
	struct taps_group *g;
	int i;

	if (!c)
		return;
	g = *taps__conn_group(c);
	if (!g || !g->n) {
		fn(c);
		return;
	}
	for (i = 0; i < g->n; i++)
		fn(g->m[i]);
}

void taps_close_group(struct taps_connection *c)
{
	group_each(c, taps_close);
}

void taps_abort_group(struct taps_connection *c)
{
	group_each(c, taps_abort);
}
