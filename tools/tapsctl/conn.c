// SPDX-License-Identifier: GPL-2.0
/*
 * tapsctl conn show: the AF_TAPS sockets of the namespace, TAPS_CMD_CONN_GET.
 * The attribute helpers serve the monitor's events too.
 */
#include <string.h>

#include "tapsctl.h"

static const struct nl_attr_spec top_spec[TAPS_A_MAX + 1] = {
	[TAPS_A_CONN]	= { MNL_TYPE_NESTED, 0 },
};

static const struct nl_attr_spec conn_spec[TAPS_CONN_A_MAX + 1] = {
	[TAPS_CONN_A_INODE]		= { MNL_TYPE_U64, 0 },
	[TAPS_CONN_A_UID]		= { MNL_TYPE_U32, 0 },
	[TAPS_CONN_A_STATE]		= { MNL_TYPE_U32, 0 },
	[TAPS_CONN_A_PROTOCOL]		= { MNL_TYPE_U32, 0 },
	[TAPS_CONN_A_LOCAL]		= { MNL_TYPE_NESTED, 0 },
	[TAPS_CONN_A_REMOTE]		= { MNL_TYPE_NESTED, 0 },
	[TAPS_CONN_A_CANDIDATES]	= { MNL_TYPE_U32, 0 },
	[TAPS_CONN_A_ATTEMPTS]		= { MNL_TYPE_U32, 0 },
	[TAPS_CONN_A_FAILED]		= { MNL_TYPE_U32, 0 },
	[TAPS_CONN_A_CONNECT_TIME]	= { MNL_TYPE_U64, 0 },
	[TAPS_CONN_A_FLAGS]		= { MNL_TYPE_U32, 0 },
	[TAPS_CONN_A_ERROR]		= { MNL_TYPE_U32, 0 },
	[TAPS_CONN_A_ATTEMPT_DELAY]	= { MNL_TYPE_U32, 0 },
};

static const struct {
	uint32_t	flag;
	const char	*name;
} conn_flags[] = {
	{ TAPS_INFO_F_CACHED,	"cached" },
	{ TAPS_INFO_F_POLICY,	"policy" },
	{ TAPS_INFO_F_ISOLATED,	"isolated" },
};

#define NFLAGS	ARRAY_SIZE(conn_flags)

void conn_usage(FILE *f)
{
	fprintf(f, "Usage: tapsctl conn [ show ]\n");
}

void parse_conn(const struct nlattr *nest, const struct nlattr **tb)
{
	nl_parse_nest(nest, conn_spec, TAPS_CONN_A_MAX, tb);
}

static void print_state(uint32_t state)
{
	const char *name = taps_state_name(state);

	if (strcmp(name, "?"))
		fputs(name, stdout);
	else
		printf("state-%u", state);
}

static void print_endpoint_attr(const char *prefix, const struct nlattr *nest)
{
	struct taps_addr a;

	if (!nest || get_addr(nest, &a) < 0)
		return;
	fputs(prefix, stdout);
	print_endpoint(stdout, &a);
}

/* " -> 192.0.2.1:8080" when the remote is known */
void print_remote(const struct nlattr **tb)
{
	print_endpoint_attr(" -> ", tb[TAPS_CONN_A_REMOTE]);
}

static void print_flags(uint32_t flags)
{
	const char *sep = " flags ";
	size_t i;

	for (i = 0; i < NFLAGS; i++) {
		if (flags & conn_flags[i].flag) {
			printf("%s%s", sep, conn_flags[i].name);
			sep = ",";
		}
	}
	flags &= ~(TAPS_INFO_F_CACHED | TAPS_INFO_F_POLICY | TAPS_INFO_F_ISOLATED);
	if (flags)
		printf("%s%#x", sep, flags);
}

static void print_u32(const char *key, const struct nlattr *a)
{
	if (a)
		printf(" %s %u", key, mnl_attr_get_u32(a));
}

/*
 * The kernel sends the race counters of every socket; the text leaves them
 * out for sockets that never raced (listeners, accepted connections).
 */
static bool raced(const struct nlattr **tb)
{
	return (tb[TAPS_CONN_A_CANDIDATES] && mnl_attr_get_u32(tb[TAPS_CONN_A_CANDIDATES])) ||
	       (tb[TAPS_CONN_A_ATTEMPTS] && mnl_attr_get_u32(tb[TAPS_CONN_A_ATTEMPTS]));
}

/* "established tcp 192.0.2.2:40000 -> 192.0.2.1:8080 uid 0 ino 12345 ..." */
static void print_conn(const struct nlattr **tb)
{
	uint32_t proto = 0;
	char buf[32];

	if (tb[TAPS_CONN_A_STATE])
		print_state(mnl_attr_get_u32(tb[TAPS_CONN_A_STATE]));
	else
		fputs("-", stdout);
	if (tb[TAPS_CONN_A_PROTOCOL])
		proto = mnl_attr_get_u32(tb[TAPS_CONN_A_PROTOCOL]);
	if (!proto)
		fputs(" -", stdout);
	else if (ipproto_name(proto))
		printf(" %s", ipproto_name(proto));
	else
		printf(" %u", proto);
	print_endpoint_attr(" ", tb[TAPS_CONN_A_LOCAL]);
	print_remote(tb);
	print_u32("uid", tb[TAPS_CONN_A_UID]);
	if (tb[TAPS_CONN_A_INODE])
		printf(" ino %llu", (unsigned long long)mnl_attr_get_u64(tb[TAPS_CONN_A_INODE]));
	if (raced(tb)) {
		print_u32("candidates", tb[TAPS_CONN_A_CANDIDATES]);
		print_u32("attempts", tb[TAPS_CONN_A_ATTEMPTS]);
		print_u32("failed", tb[TAPS_CONN_A_FAILED]);
	}
	if (tb[TAPS_CONN_A_CONNECT_TIME] && mnl_attr_get_u64(tb[TAPS_CONN_A_CONNECT_TIME])) {
		fmt_usec(buf, sizeof(buf), mnl_attr_get_u64(tb[TAPS_CONN_A_CONNECT_TIME]));
		printf(" time %s", buf);
	}
	if (tb[TAPS_CONN_A_FLAGS])
		print_flags(mnl_attr_get_u32(tb[TAPS_CONN_A_FLAGS]));
	putchar('\n');
}

static void json_flags(struct json *j, uint32_t flags)
{
	size_t i;

	json_arr_open(j, "flags");
	for (i = 0; i < NFLAGS; i++)
		if (flags & conn_flags[i].flag)
			json_str(j, NULL, conn_flags[i].name);
	json_arr_close(j);
}

static void json_endpoint_attr(struct json *j, const char *key, const struct nlattr *nest)
{
	struct taps_addr a;

	if (nest && get_addr(nest, &a) == 0)
		json_endpoint(j, key, &a);
}

static void json_u32(struct json *j, const char *key, const struct nlattr *a)
{
	if (a)
		json_uint(j, key, mnl_attr_get_u32(a));
}

static void json_state(struct json *j, uint32_t state)
{
	const char *name = taps_state_name(state);

	if (strcmp(name, "?"))
		json_str(j, "state", name);
	else
		json_uint(j, "state", state);
}

/* The members of one socket, into the object the caller opened */
void json_conn_members(struct json *j, const struct nlattr **tb)
{
	if (tb[TAPS_CONN_A_INODE])
		json_uint(j, "inode", mnl_attr_get_u64(tb[TAPS_CONN_A_INODE]));
	json_u32(j, "uid", tb[TAPS_CONN_A_UID]);
	if (tb[TAPS_CONN_A_STATE])
		json_state(j, mnl_attr_get_u32(tb[TAPS_CONN_A_STATE]));
	if (tb[TAPS_CONN_A_PROTOCOL])
		json_ipproto(j, "protocol", mnl_attr_get_u32(tb[TAPS_CONN_A_PROTOCOL]));
	json_endpoint_attr(j, "local", tb[TAPS_CONN_A_LOCAL]);
	json_endpoint_attr(j, "remote", tb[TAPS_CONN_A_REMOTE]);
	json_u32(j, "candidates", tb[TAPS_CONN_A_CANDIDATES]);
	json_u32(j, "attempts", tb[TAPS_CONN_A_ATTEMPTS]);
	json_u32(j, "failed", tb[TAPS_CONN_A_FAILED]);
	if (tb[TAPS_CONN_A_CONNECT_TIME])
		json_uint(j, "connect_us", mnl_attr_get_u64(tb[TAPS_CONN_A_CONNECT_TIME]));
	if (tb[TAPS_CONN_A_FLAGS])
		json_flags(j, mnl_attr_get_u32(tb[TAPS_CONN_A_FLAGS]));
}

static int conn_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *top[TAPS_A_MAX + 1], *tb[TAPS_CONN_A_MAX + 1];
	struct ctx *c = data;

	if (nl_parse_msg(nlh, top_spec, TAPS_A_MAX, top) < 0 || !top[TAPS_A_CONN])
		return MNL_CB_OK;
	parse_conn(top[TAPS_A_CONN], tb);
	if (c->json) {
		json_obj_open(&c->js, NULL);
		json_conn_members(&c->js, tb);
		json_obj_close(&c->js);
	} else {
		print_conn(tb);
	}
	return MNL_CB_OK;
}

static int conn_show(struct ctx *c, int argc, char **argv)
{
	struct nlmsghdr *nlh;
	int ret;

	if (argc > 0)
		return unknown_word(c, "argument", argv[0]);
	if (ctx_nl(c) < 0)
		return EXIT_KERNEL;
	nlh = nl_req(&c->nl, TAPS_CMD_CONN_GET, NLM_F_DUMP);
	if (c->json)
		json_arr_open(&c->js, NULL);
	ret = nl_talk(&c->nl, nlh, conn_cb, c);
	if (c->json) {
		json_arr_close(&c->js);
		json_end(&c->js);
	}
	return ret < 0 ? EXIT_KERNEL : EXIT_OK;
}

int do_conn(struct ctx *c, int argc, char **argv)
{
	if (argc < 1 || matches(argv[0], "show") || matches(argv[0], "list"))
		return conn_show(c, argc > 0 ? argc - 1 : 0, argv + 1);
	return unknown_word(c, "command", argv[0]);
}
