// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libtaps: message properties (RFC 9622 section 9.1.3) and the order of a
 * connection's send queue.
 *
 * AF_TAPS connections are reliable, ordered byte streams (TCP, SCTP,
 * MPTCP), with a framer for message boundaries.  What the library can do
 * for one message is decided here: msgPriority and msgLifetime act on the
 * library's send queue (messages not yet handed to the kernel), final
 * ends the sending side after the message; a property a stream cannot
 * honour (an unordered or unreliable message, no segmentation, a
 * capacity profile other than the connection's) is refused with
 * EOPNOTSUPP, never ignored.  Documentation/libtaps.md has the table.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

static const struct {
	const char	*name;
	int64_t		min, max;
} mprops[TAPS_MSG_PROP_COUNT] = {
	[TAPS_MSG_PROP_LIFETIME] = { "msgLifetime", 0, INT32_MAX },
	[TAPS_MSG_PROP_PRIORITY] = { "msgPriority", 0, INT32_MAX },
	[TAPS_MSG_PROP_ORDERED] = { "msgOrdered", 0, 1 },
	[TAPS_MSG_PROP_SAFELY_REPLAYABLE] = { "safelyReplayable", 0, 1 },
	[TAPS_MSG_PROP_FINAL] = { "final", 0, 1 },
	[TAPS_MSG_PROP_CHECKSUM_LEN] = { "msgChecksumLen", -1, INT32_MAX },
	[TAPS_MSG_PROP_RELIABLE] = { "msgReliable", 0, 1 },
	[TAPS_MSG_PROP_CAPACITY_PROFILE] = { "msgCapacityProfile", 0, 5 },
	[TAPS_MSG_PROP_NO_FRAGMENTATION] = { "noFragmentation", 0, 1 },
	[TAPS_MSG_PROP_NO_SEGMENTATION] = { "noSegmentation", 0, 1 },
};

const char *taps_msg_property_name(enum taps_msg_property prop)
{
	if ((unsigned int)prop >= TAPS_MSG_PROP_COUNT)
		return NULL;
	return mprops[prop].name;
}

struct taps_msg_props *taps_msg_props_new(void)
{
	return calloc(1, sizeof(struct taps_msg_props));
}

void taps_msg_props_free(struct taps_msg_props *mp)
{
	free(mp);
}

int taps_msg_props_set(struct taps_msg_props *mp, enum taps_msg_property prop, int64_t value)
{
	if (!mp)
		return -EINVAL;
	if ((unsigned int)prop >= TAPS_MSG_PROP_COUNT)
		return -ENOENT;
	if (value < mprops[prop].min || value > mprops[prop].max)
		return -EINVAL;
	mp->v[prop] = value;
	mp->set |= 1u << prop;
	return 0;
}

/* The default of each property, on a connection with properties cp (NULL:
 * a preconnection's defaults). */
static int64_t msg_default(enum taps_msg_property prop, const struct taps_props *cp)
{
	switch (prop) {
	case TAPS_MSG_PROP_PRIORITY:
		return 100;
	case TAPS_MSG_PROP_ORDERED:		/* preserveOrder: every AF_TAPS protocol */
	case TAPS_MSG_PROP_RELIABLE:		/* reliability: likewise */
		return 1;
	case TAPS_MSG_PROP_CHECKSUM_LEN:
		return -1;
	case TAPS_MSG_PROP_CAPACITY_PROFILE:
		return cp ? cp->v[TAPS_PROP_CONN_CAPACITY_PROFILE] : 0;
	default:
		return 0;
	}
}

int taps_msg_props_get(const struct taps_msg_props *mp, enum taps_msg_property prop,
		       int64_t *value)
{
	if (!mp || !value)
		return -EINVAL;
	if ((unsigned int)prop >= TAPS_MSG_PROP_COUNT)
		return -ENOENT;
	if (!(mp->set & (1u << prop))) {
		*value = msg_default(prop, NULL);
		return -ENODATA;
	}
	*value = mp->v[prop];
	return 0;
}

int taps__msg_props_resolve(const struct taps_msg_props *mp, const struct taps_props *cp,
			    struct taps_msg_props *out, const char **reason)
{
	int i;

	for (i = 0; i < TAPS_MSG_PROP_COUNT; i++)
		out->v[i] = mp && (mp->set & (1u << i)) ? mp->v[i] : msg_default(i, cp);
	out->set = mp ? mp->set : 0;
	*reason = NULL;
	/* RFC 9622 section 9.1.3: a property inconsistent with the
	 * connection is an error.  Every AF_TAPS protocol is a reliable,
	 * ordered stream, without per-message reliability. */
	if (!out->v[TAPS_MSG_PROP_ORDERED])
		*reason = "msgOrdered false: the connection is an ordered stream";
	else if (!out->v[TAPS_MSG_PROP_RELIABLE])
		*reason = "msgReliable false: the connection has no per-message reliability";
	else if (out->v[TAPS_MSG_PROP_NO_SEGMENTATION])
		*reason = "noSegmentation: a byte stream is segmented as the transport sees fit";
	else if (out->v[TAPS_MSG_PROP_CAPACITY_PROFILE] != msg_default(TAPS_MSG_PROP_CAPACITY_PROFILE, cp))
		*reason = "msgCapacityProfile: a byte stream cannot mark one message differently";
	return *reason ? -EOPNOTSUPP : 0;
}

/* ---- the send queue ---- */

void taps__sendbuf_free(struct sendbuf *s)
{
	if (s->timer)
		taps_timer_cancel(s->timer);
	if (s->file_fd >= 0)
		close(s->file_fd);
	free(s->ctx);
	free(s);
}

/* Has the kernel started on s (those it has are the queue's first)? */
static bool started(const struct taps_sendq *q, const struct sendbuf *s, bool head_busy)
{
	return s->off || s->done || s->inflight || (s == q->head && head_busy);
}

/* The piece after which a message of priority prio goes (NULL: at the
 * head): after every message of lower or equal priority. */
static struct sendbuf *place_after(struct taps_sendq *q, int64_t prio, bool final,
				   bool head_busy)
{
	struct sendbuf *prev = NULL, *s;

	for (s = q->head; s; prev = s, s = s->next) {
		if (final || s->final)
			continue;	/* a final message goes last, stays last */
		if (started(q, s, head_busy))
			continue;	/* the kernel has started on it */
		if (prev && prev->msg == s->msg)
			continue;	/* not inside a message */
		if (s->prio > prio)
			return prev;
	}
	return prev;
}

void taps__sendq_place(struct taps_sendq *q, struct sendbuf *first, bool head_busy)
{
	struct sendbuf *before = NULL, *s, *last = q->tail, *prev;

	if (first == q->head)
		return;		/* the whole queue: nothing to pass */
	for (s = q->head; s && s != first; s = s->next)
		before = s;
	if (!s)
		return;
	/* detach first..last, the queue's end */
	if (before)
		before->next = NULL;
	else
		q->head = NULL;
	q->tail = before;
	prev = place_after(q, first->prio, first->final, head_busy);
	if (prev) {
		last->next = prev->next;
		prev->next = first;
	} else {
		last->next = q->head;
		q->head = first;
	}
	if (q->tail == prev)
		q->tail = last;
}

struct sendbuf *taps__sendq_take(struct taps_sendq *q, uint64_t msg, bool head_busy)
{
	struct sendbuf *prev = NULL, *s, *first, *last;

	for (s = q->head; s && s->msg != msg; s = s->next)
		prev = s;
	if (!s)
		return NULL;
	if (started(q, s, head_busy))
		return NULL;
	first = s;
	while (s->next && s->next->msg == msg)
		s = s->next;
	last = s;
	if (prev)
		prev->next = last->next;
	else
		q->head = last->next;
	if (q->tail == last)
		q->tail = prev;
	last->next = NULL;
	return first;
}
