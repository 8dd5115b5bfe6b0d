// SPDX-License-Identifier: GPL-2.0
/*
 * libtaps_grp: InitiateWithSend, message properties and connection groups,
 * driven by selftests/libtaps.sh against real peers.  Each mode prints one
 * line of key=value results (and "# ..." comments) and exits 0 when the
 * events came as expected.
 *
 *   libtaps_grp iws HOST PORT      InitiateWithSend to the raw echo server:
 *	"iws order=ready,sent,echo bytes=N intact=1"
 *   libtaps_grp clone HOST PORT    Ready, then Clone; a message echoed on
 *	each, then CloseGroup: "clone ready=2 group=2 echoed=2 closed=2 proto=P,P"
 *   libtaps_grp clonegone MS HOST PORT   Ready, then Clone after MS ms (the
 *	test takes the server away meanwhile): "clonegone clone_error=CODE
 *	estab_error=CODE order=..."
 *   libtaps_grp expire LEN HOST PORT   LEN bytes to a peer that does not
 *	read, then a message with msgLifetime 300 ms and one without:
 *	"expire expired=1 sent=2 ..."
 *   libtaps_grp final HOST PORT    a final message to the raw echo server:
 *	"final got=BYTES eof=1 late=-32" (a send after it: -EPIPE)
 *   libtaps_grp refuse HOST PORT   what a stream cannot do: "refuse
 *	ordered=ERR reliable=ERR noseg=ERR iws=ERRNO"
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "taps.h"

static struct taps_loop *loop;
static const char *mode;
static char order[256];
static int nready, nclosed, nechoed, clone_err, estab_err, nexpired, nsent, nerr;
static size_t got;
static char gotbuf[4096];
static bool eof;
static struct taps_connection *first, *second;
static unsigned int clone_delay;
static size_t big_len;
static int late, ngroup;
static int64_t p1, p2;

static void note(const char *what)
{
	if (strlen(order) + strlen(what) + 2 < sizeof(order))
		strcat(strcat(order, *order ? "," : ""), what);
}

static void do_clone(struct taps_timer *t, void *user)
{
	(void)t;
	(void)user;
	second = taps_clone(first, (void *)2);
	if (!second) {
		printf("# taps_clone: %s\n", strerror(errno));
		taps_loop_stop(loop);
	}
}

static void on_ready(struct taps_connection *c, void *user)
{
	nready++;
	note("ready");
	if (!strcmp(mode, "clone") || !strcmp(mode, "clonegone")) {
		if (user == (void *)1) {
			first = c;
			if (clone_delay)
				taps_timer_new(loop, clone_delay, do_clone, NULL);
			else
				do_clone(NULL, NULL);
			if (!strcmp(mode, "clone"))
				return;
		}
		if (nready == 2) {	/* both: a message on each */
			struct taps_connection *m[4];

			ngroup = taps_grouped_connections(first, m, 4);
			taps_connection_get(first, TAPS_PROP_PROTOCOL, &p1);
			taps_connection_get(second, TAPS_PROP_PROTOCOL, &p2);
			taps_receive(first, 1, 0);
			taps_receive(second, 1, 0);
			taps_send(first, "one", 3, NULL, 0);
			taps_send(second, "two", 3, NULL, 0);
		}
		return;
	}
	if (!strcmp(mode, "expire")) {
		static char *big;
		struct taps_msg_props *mp = taps_msg_props_new();

		big = calloc(1, big_len);
		taps_send(c, big, big_len, (void *)1, 0);
		free(big);
		taps_msg_props_set(mp, TAPS_MSG_PROP_LIFETIME, 300);
		taps_send_message(c, "short-lived", 11, (void *)2, 0, mp);
		taps_send(c, "patient", 7, (void *)3, 0);
		taps_msg_props_free(mp);
		return;
	}
	if (!strcmp(mode, "final")) {
		struct taps_msg_props *mp = taps_msg_props_new();

		taps_msg_props_set(mp, TAPS_MSG_PROP_FINAL, 1);
		taps_send_message(c, "last-words", 10, NULL, 0, mp);
		late = taps_send(c, "late", 4, NULL, 0);
		taps_msg_props_free(mp);
		taps_receive(c, 1, 0);
		return;
	}
	if (!strcmp(mode, "refuse")) {
		static const enum taps_msg_property p[] = {
			TAPS_MSG_PROP_ORDERED, TAPS_MSG_PROP_RELIABLE, TAPS_MSG_PROP_NO_SEGMENTATION,
		};
		static const int64_t v[] = { 0, 0, 1 };
		int r[3], i;

		for (i = 0; i < 3; i++) {
			struct taps_msg_props *mp = taps_msg_props_new();

			taps_msg_props_set(mp, p[i], v[i]);
			r[i] = taps_send_message(c, "x", 1, NULL, 0, mp);
			taps_msg_props_free(mp);
		}
		printf("refuse ordered=%d reliable=%d noseg=%d", r[0], r[1], r[2]);
		taps_close(c);
		return;
	}
	taps_receive(c, 1, 0);		/* iws */
}

static void on_estab_error(struct taps_connection *c, const struct taps_error *e, void *user)
{
	(void)c;
	(void)user;
	estab_err = e->code;
	note("estab_error");
	printf("# establishment_error %d %s\n", e->code, e->reason);
	taps_close_group(first);
	taps_loop_stop(loop);
}

static void on_clone_error(struct taps_connection *c, const struct taps_error *e, void *user)
{
	struct taps_connection *m[4];

	(void)user;
	clone_err = e->code;
	note("clone_error");
	/* it has left the group already */
	printf("# clone_error %d %s; its group: %d\n", e->code, e->reason,
	       taps_grouped_connections(c, m, 4));
}

static void on_sent(struct taps_connection *c, void *ctx, void *user)
{
	(void)c;
	(void)user;
	nsent++;
	if (!strcmp(mode, "iws"))
		note("sent");
	if (!strcmp(mode, "expire"))
		note(ctx == (void *)1 ? "sent1" : ctx == (void *)2 ? "sent2" : "sent3");
	if (!strcmp(mode, "expire") && nsent + nexpired == 3)
		taps_close(c);
}

static void on_expired(struct taps_connection *c, void *ctx, void *user)
{
	(void)user;
	nexpired++;
	note(ctx == (void *)2 ? "expired2" : "expired?");
	if (nsent + nexpired == 3)
		taps_close(c);
}

static void on_send_error(struct taps_connection *c, void *ctx, const struct taps_error *e,
			  void *user)
{
	(void)c;
	(void)ctx;
	(void)user;
	nerr++;
	note("send_error");
	printf("# send_error %d %s\n", e->code, e->reason);
}

static void on_partial(struct taps_connection *c, const void *data, size_t len,
		       const struct taps_message_context *mc, void *user)
{
	if (len && got + len <= sizeof(gotbuf)) {
		memcpy(gotbuf + got, data, len);
		got += len;
	}
	if (!strcmp(mode, "iws") && len && !strstr(order, "echo"))
		note("echo");
	if ((!strcmp(mode, "clone") || !strcmp(mode, "clonegone")) && len) {
		if (++nechoed == 2)
			taps_close_group(c);
		(void)user;
		return;
	}
	if (mc->end_of_message) {
		eof = true;
		taps_close(c);
		return;
	}
	if (!strcmp(mode, "iws") && got >= 9)
		taps_close(c);
	else
		taps_receive(c, 1, 0);
}

static void on_closed(struct taps_connection *c, void *user)
{
	(void)c;
	(void)user;
	nclosed++;
	note("closed");
	if (!strcmp(mode, "clone") ? nclosed == 2 : !strcmp(mode, "clonegone") ? 0 : 1)
		taps_loop_stop(loop);
}

static void on_conn_error(struct taps_connection *c, const struct taps_error *e, void *user)
{
	(void)c;
	(void)user;
	nerr++;
	printf("# connection_error %d %s\n", e->code, e->reason);
	note("conn_error");
	if (strcmp(mode, "clonegone"))
		taps_loop_stop(loop);
}

static const struct taps_callbacks cbs = {
	.ready = on_ready, .establishment_error = on_estab_error, .sent = on_sent,
	.send_error = on_send_error, .received_partial = on_partial, .closed = on_closed,
	.connection_error = on_conn_error,
};

static const struct taps_callbacks_ext ext = {
	.size = sizeof(ext), .expired = on_expired, .clone_error = on_clone_error,
};

int main(int argc, char **argv)
{
	struct taps_preconnection *pre;
	if (argc < 4) {
		fprintf(stderr, "usage: see the head of selftests/helpers/libtaps_grp.c\n");
		return 2;
	}
	mode = argv[1];
	if (!strcmp(mode, "clonegone"))
		clone_delay = atoi(argv[2]), argv++, argc--;
	if (!strcmp(mode, "expire"))
		big_len = strtoul(argv[2], NULL, 0), argv++, argc--;
	setvbuf(stdout, NULL, _IOLBF, 0);
	loop = taps_loop_new();
	pre = taps_preconnection_new(loop);
	taps_preconnection_set_callbacks(pre, &cbs);
	taps_preconnection_set_callbacks_ext(pre, &ext);
	taps_preconnection_set(pre, TAPS_PROP_ISOLATE_SESSION, 1);
	taps_preconnection_add_remote(pre, argv[2], argv[3]);
	/* expire: TCP, whose buffers LEN is sized for; final: TCP, as SCTP has
	 * no half-close (the peer could not answer after our SHUTDOWN) */
	if (!strcmp(mode, "expire") || !strcmp(mode, "final"))
		taps_preconnection_set(pre, TAPS_PROP_PROTOCOLS, TAPS_P_TCP);
	if (!strcmp(mode, "iws")) {
		if (!taps_initiate_with_send(pre, "hello-iws", 9, NULL, NULL, (void *)1))
			return 1;
	} else if (!strcmp(mode, "refuse")) {
		struct taps_msg_props *mp = taps_msg_props_new();

		taps_msg_props_set(mp, TAPS_MSG_PROP_ORDERED, 0);
		errno = 0;
		if (taps_initiate_with_send(pre, "x", 1, NULL, mp, NULL))
			return 1;
		printf("# iws unordered: %s\n", strerror(errno));
		if (errno != EOPNOTSUPP)
			return 1;
		taps_msg_props_free(mp);
		taps_initiate(pre, (void *)1);
	} else {
		taps_initiate(pre, (void *)1);
	}
	taps_preconnection_free(pre);
	taps_loop_run(loop);
	if (!strcmp(mode, "iws")) {
		printf("iws order=%s bytes=%zu intact=%d\n", order, got,
		       got == 9 && !memcmp(gotbuf, "hello-iws", 9));
		return strncmp(order, "ready,sent,echo", 15) || got != 9;
	}
	if (!strcmp(mode, "clone")) {
		printf("clone ready=%d group=%d echoed=%d closed=%d proto=%s,%s order=%s\n",
		       nready, ngroup, nechoed,
		       nclosed, taps_protocol_name(p1), taps_protocol_name(p2), order);
		return !(nready == 2 && ngroup == 2 && nechoed == 2 && nclosed == 2 && !nerr);
	}
	if (!strcmp(mode, "clonegone")) {
		printf("clonegone clone_error=%d estab_error=%d order=%s\n", clone_err,
		       estab_err, order);
		return !(clone_err && estab_err);
	}
	if (!strcmp(mode, "expire")) {
		printf("expire expired=%d sent=%d errors=%d order=%s\n", nexpired, nsent, nerr,
		       order);
		return !(nexpired == 1 && nsent == 2 && !nerr);
	}
	if (!strcmp(mode, "final")) {
		printf("final got=%.*s eof=%d late=%d\n", (int)got, gotbuf, eof, late);
		return !(eof && got == 10 && late == -EPIPE);
	}
	if (!strcmp(mode, "refuse")) {
		printf(" closed=%d\n", nclosed);
		return 0;
	}
	return 2;
}
