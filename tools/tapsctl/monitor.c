// SPDX-License-Identifier: GPL-2.0
/*
 * tapsctl monitor: the events of the "events" multicast group, one line
 * (or one JSON object) each, until SIGINT or SIGTERM.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <linux/genetlink.h>
#include <sys/signalfd.h>

#include "tapsctl.h"

/* What an event's text line shows after "ino N" */
#define F_PROTO		0x1
#define F_REMOTE	0x2
#define F_CANDIDATES	0x4
#define F_ERROR		0x8
#define F_TIME		0x10

static const struct event {
	uint8_t		cmd;
	const char	*name;
	unsigned int	fields;
} events[] = {
	{ TAPS_EVENT_RACE_START, "race-start", F_REMOTE | F_CANDIDATES },
	{ TAPS_EVENT_ATTEMPT_FAILED, "attempt-failed", F_PROTO | F_REMOTE | F_ERROR },
	{ TAPS_EVENT_WINNER, "winner", F_PROTO | F_REMOTE | F_TIME },
	{ TAPS_EVENT_RACE_FAILED, "race-failed", F_ERROR },
	{ TAPS_EVENT_CACHE_UPDATE, "cache-update", 0 },
};

#define NEVENTS	ARRAY_SIZE(events)

static const struct nl_attr_spec top_spec[TAPS_A_MAX + 1] = {
	[TAPS_A_CACHE]	= { MNL_TYPE_NESTED, 0 },
	[TAPS_A_CONN]	= { MNL_TYPE_NESTED, 0 },
};

void monitor_usage(FILE *f)
{
	fprintf(f, "Usage: tapsctl monitor\n");
}

static void print_errno(uint32_t err)
{
	const char *name = strerrorname_np((int)err);

	if (name)
		printf(" error %s", name);
	else
		printf(" error %u", err);
}

static void print_conn_event(const struct event *e, const struct nlattr **tb)
{
	uint32_t proto;
	char buf[32];

	if (tb[TAPS_CONN_A_INODE])
		printf(" ino %llu", (unsigned long long)mnl_attr_get_u64(tb[TAPS_CONN_A_INODE]));
	if ((e->fields & F_PROTO) && tb[TAPS_CONN_A_PROTOCOL]) {
		proto = mnl_attr_get_u32(tb[TAPS_CONN_A_PROTOCOL]);
		if (ipproto_name(proto))
			printf(" %s", ipproto_name(proto));
		else if (proto)
			printf(" %u", proto);
	}
	if (e->fields & F_REMOTE)
		print_remote(tb);
	if ((e->fields & F_CANDIDATES) && tb[TAPS_CONN_A_CANDIDATES])
		printf(" candidates %u", mnl_attr_get_u32(tb[TAPS_CONN_A_CANDIDATES]));
	if ((e->fields & F_ERROR) && tb[TAPS_CONN_A_ERROR])
		print_errno(mnl_attr_get_u32(tb[TAPS_CONN_A_ERROR]));
	if ((e->fields & F_TIME) && tb[TAPS_CONN_A_CONNECT_TIME]) {
		fmt_usec(buf, sizeof(buf), mnl_attr_get_u64(tb[TAPS_CONN_A_CONNECT_TIME]));
		printf(" time %s", buf);
	}
}

static void json_conn_event(struct json *j, const struct nlattr **tb)
{
	uint32_t err;
	const char *name;

	json_conn_members(j, tb);
	if (!tb[TAPS_CONN_A_ERROR])
		return;
	err = mnl_attr_get_u32(tb[TAPS_CONN_A_ERROR]);
	name = strerrorname_np((int)err);
	if (name)
		json_str(j, "error", name);
	else
		json_uint(j, "error", err);
}

static void show_event(struct ctx *c, const struct event *e, const struct nlattr **top)
{
	const struct nlattr *tb[TAPS_CONN_A_MAX + 1];

	if (e->cmd != TAPS_EVENT_CACHE_UPDATE)
		parse_conn(top[TAPS_A_CONN], tb);
	if (c->json) {
		json_obj_open(&c->js, NULL);
		json_str(&c->js, "event", e->name);
		if (e->cmd == TAPS_EVENT_CACHE_UPDATE)
			json_cache_members(&c->js, top[TAPS_A_CACHE]);
		else
			json_conn_event(&c->js, tb);
		json_obj_close(&c->js);
		json_end(&c->js);
	} else {
		fputs(e->name, stdout);
		if (e->cmd == TAPS_EVENT_CACHE_UPDATE) {
			putchar(' ');
			print_cache_entry(top[TAPS_A_CACHE]);
		} else {
			print_conn_event(e, tb);
		}
		putchar('\n');
	}
	fflush(stdout);
}

/* Unknown events and events without their nest are skipped */
static int event_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct genlmsghdr *g = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *top[TAPS_A_MAX + 1];
	struct ctx *c = data;
	size_t i;

	if (nl_parse_msg(nlh, top_spec, TAPS_A_MAX, top) < 0)
		return MNL_CB_OK;
	for (i = 0; i < NEVENTS && events[i].cmd != g->cmd; i++)
		;
	if (i == NEVENTS)
		return MNL_CB_OK;
	if (!top[events[i].cmd == TAPS_EVENT_CACHE_UPDATE ? TAPS_A_CACHE : TAPS_A_CONN])
		return MNL_CB_OK;
	show_event(c, &events[i], top);
	return ferror(stdout) ? MNL_CB_ERROR : MNL_CB_OK;
}

/* SIGINT and SIGTERM, as a file descriptor to poll */
static int signal_fd(void)
{
	sigset_t mask;
	int fd;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return -1;
	fd = signalfd(-1, &mask, SFD_CLOEXEC);
	return fd;
}

static int monitor_loop(struct ctx *c, int sfd)
{
	struct pollfd pfd[2] = {
		{ .fd = mnl_socket_get_fd(c->nl.sock), .events = POLLIN },
		{ .fd = sfd, .events = POLLIN },
	};

	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "Error: poll: %s.\n", strerror(errno));
			return EXIT_KERNEL;
		}
		if (pfd[1].revents)
			return EXIT_OK;
		if (pfd[0].revents && nl_recv(&c->nl, event_cb, c) < 0)
			return EXIT_KERNEL;
	}
}

int do_monitor(struct ctx *c, int argc, char **argv)
{
	int sfd, ret;

	if (argc > 0)
		return unknown_word(c, "argument", argv[0]);
	if (ctx_nl(c) < 0 || nl_join_events(&c->nl) < 0)
		return EXIT_KERNEL;
	sfd = signal_fd();
	if (sfd < 0) {
		fprintf(stderr, "Error: signalfd: %s.\n", strerror(errno));
		return EXIT_KERNEL;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	c->js.pretty = false;	/* one event per line, even with -p */
	ret = monitor_loop(c, sfd);
	close(sfd);
	return ret;
}
