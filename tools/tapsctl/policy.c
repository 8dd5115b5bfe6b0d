// SPDX-License-Identifier: GPL-2.0
/*
 * tapsctl family, tapsctl policy { show | set }: TAPS_CMD_POLICY_GET/SET.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tapsctl.h"

#define FAMILY_PARAM	"/sys/module/taps/parameters/family"

#define DELAY_MIN	10
#define DELAY_MAX	2000
#define LIFETIME_MIN	1000
#define LIFETIME_MAX	86400000

static const struct nl_attr_spec top_spec[TAPS_A_MAX + 1] = {
	[TAPS_A_AF]	= { MNL_TYPE_U32, 0 },
	[TAPS_A_POLICY]	= { MNL_TYPE_NESTED, 0 },
};

static const struct nl_attr_spec policy_spec[TAPS_POLICY_A_MAX + 1] = {
	[TAPS_POLICY_A_ATTEMPT_DELAY]	= { MNL_TYPE_U32, 0 },
	[TAPS_POLICY_A_PROTOCOLS]	= { MNL_TYPE_U32, 0 },
	[TAPS_POLICY_A_ORDER]		= { MNL_TYPE_BINARY, 0 },
	[TAPS_POLICY_A_MAX_CANDIDATES]	= { MNL_TYPE_U32, 0 },
	[TAPS_POLICY_A_CACHE]		= { MNL_TYPE_U8, 0 },
	[TAPS_POLICY_A_CACHE_LIFETIME]	= { MNL_TYPE_U32, 0 },
	[TAPS_POLICY_A_CACHE_SIZE]	= { MNL_TYPE_U32, 0 },
	[TAPS_POLICY_A_CACHE_ENTRIES]	= { MNL_TYPE_U32, 0 },
	[TAPS_POLICY_A_RULES]		= { MNL_TYPE_U32, 0 },
};

void family_usage(FILE *f)
{
	fprintf(f, "Usage: tapsctl family [ show ]\n");
}

void policy_usage(FILE *f)
{
	fprintf(f,
		"Usage: tapsctl policy [ show ]\n"
		"       tapsctl policy set [ delay TIME ] [ protocols LIST ] [ order LIST ]\n"
		"                          [ max-candidates N ] [ cache { on | off } ]\n"
		"                          [ cache-lifetime TIME ] [ cache-size N ]\n"
		"where  TIME := NUMBER[.FRACTION][ us | ms | s | m | h ] (ms if no unit)\n"
		"       LIST := { all | PROTO[,PROTO]... }\n"
		"       PROTO := { tcp | sctp | mptcp }\n");
}

/* --- family --- */

static int af_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[TAPS_A_MAX + 1];
	int64_t *af = data;

	if (nl_parse_msg(nlh, top_spec, TAPS_A_MAX, tb) == 0 && tb[TAPS_A_AF])
		*af = mnl_attr_get_u32(tb[TAPS_A_AF]);
	return MNL_CB_OK;
}

/* The module parameter, when the kernel cannot be asked: -1 if none */
static int64_t family_from_sysfs(void)
{
	char buf[32], *end;
	FILE *f = fopen(FAMILY_PARAM, "r");
	long v;

	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	v = strtol(buf, &end, 10);
	if (end == buf || (*end && *end != '\n') || v < 0)
		return -1;
	return v;
}

static int64_t family_from_kernel(struct ctx *c)
{
	struct nlmsghdr *nlh;
	int64_t af = -1;
	int err;

	err = nl_open(&c->nl, c->netns, true);
	c->nl_open = true;
	if (err == -ENOENT)
		return -1;
	if (err < 0)
		return -2;
	nlh = nl_req(&c->nl, TAPS_CMD_POLICY_GET, NLM_F_ACK);
	if (nl_talk(&c->nl, nlh, af_cb, &af) < 0)
		return -2;
	return af;
}

int do_family(struct ctx *c, int argc, char **argv)
{
	int64_t af;

	if (argc > 0 && !matches(argv[0], "show"))
		return unknown_word(c, "command", argv[0]);
	if (argc > 1)
		return unknown_word(c, "argument", argv[1]);
	af = family_from_kernel(c);
	if (af == -2)
		return EXIT_KERNEL;
	if (af < 0)
		af = family_from_sysfs();
	if (af < 0) {
		fprintf(stderr, "Error: taps.ko is not loaded (generic netlink family \"%s\" not found).\n",
			TAPS_GENL_NAME);
		return EXIT_KERNEL;
	}
	if (c->json) {
		json_obj_open(&c->js, NULL);
		json_uint(&c->js, "af", (uint64_t)af);
		json_obj_close(&c->js);
		json_end(&c->js);
	} else {
		printf("%lld\n", (long long)af);
	}
	return EXIT_OK;
}

/* --- policy show --- */

static void print_order(const struct nlattr *a)
{
	const uint8_t *p = mnl_attr_get_payload(a);
	uint16_t i, n = mnl_attr_get_payload_len(a);

	for (i = 0; i < n; i++) {
		if (proto_bit_name(p[i]))
			printf("%s%s", i ? "," : "", proto_bit_name(p[i]));
		else
			printf("%s%#x", i ? "," : "", p[i]);
	}
}

static void json_order(struct json *j, const struct nlattr *a)
{
	const uint8_t *p = mnl_attr_get_payload(a);
	uint16_t i, n = mnl_attr_get_payload_len(a);
	char hex[8];

	json_arr_open(j, "order");
	for (i = 0; i < n; i++) {
		snprintf(hex, sizeof(hex), "%#x", p[i]);
		json_str(j, NULL, proto_bit_name(p[i]) ? proto_bit_name(p[i]) : hex);
	}
	json_arr_close(j);
}

/* A u32 TIME attribute as "KEY TIME" */
static void print_time(const char **sep, const char *key, const struct nlattr *a)
{
	char buf[32];

	if (!a)
		return;
	fmt_time_ms(buf, sizeof(buf), mnl_attr_get_u32(a));
	printf("%s%s %s", *sep, key, buf);
	*sep = " ";
}

static void print_u32(const char **sep, const char *key, const struct nlattr *a)
{
	if (!a)
		return;
	printf("%s%s %u", *sep, key, mnl_attr_get_u32(a));
	*sep = " ";
}

static void print_policy(const struct nlattr **tb)
{
	const char *sep = "";

	print_time(&sep, "delay", tb[TAPS_POLICY_A_ATTEMPT_DELAY]);
	if (tb[TAPS_POLICY_A_PROTOCOLS]) {
		printf("%sprotocols ", sep);
		print_proto_mask(stdout, mnl_attr_get_u32(tb[TAPS_POLICY_A_PROTOCOLS]));
		sep = " ";
	}
	if (tb[TAPS_POLICY_A_ORDER] && mnl_attr_get_payload_len(tb[TAPS_POLICY_A_ORDER])) {
		printf("%sorder ", sep);
		print_order(tb[TAPS_POLICY_A_ORDER]);
		sep = " ";
	}
	print_u32(&sep, "max-candidates", tb[TAPS_POLICY_A_MAX_CANDIDATES]);
	if (tb[TAPS_POLICY_A_CACHE]) {
		printf("%scache %s", sep, mnl_attr_get_u8(tb[TAPS_POLICY_A_CACHE]) ? "on" : "off");
		sep = " ";
	}
	print_time(&sep, "cache-lifetime", tb[TAPS_POLICY_A_CACHE_LIFETIME]);
	print_u32(&sep, "cache-size", tb[TAPS_POLICY_A_CACHE_SIZE]);
	print_u32(&sep, "entries", tb[TAPS_POLICY_A_CACHE_ENTRIES]);
	print_u32(&sep, "rules", tb[TAPS_POLICY_A_RULES]);
	printf("\n");
}

static void json_u32(struct json *j, const char *key, const struct nlattr *a)
{
	if (a)
		json_uint(j, key, mnl_attr_get_u32(a));
}

static void json_policy(struct json *j, const struct nlattr *af, const struct nlattr **tb)
{
	json_obj_open(j, NULL);
	json_u32(j, "af", af);
	json_u32(j, "delay_ms", tb[TAPS_POLICY_A_ATTEMPT_DELAY]);
	if (tb[TAPS_POLICY_A_PROTOCOLS])
		json_proto_mask(j, "protocols", mnl_attr_get_u32(tb[TAPS_POLICY_A_PROTOCOLS]));
	if (tb[TAPS_POLICY_A_ORDER])
		json_order(j, tb[TAPS_POLICY_A_ORDER]);
	json_u32(j, "max_candidates", tb[TAPS_POLICY_A_MAX_CANDIDATES]);
	if (tb[TAPS_POLICY_A_CACHE])
		json_bool(j, "cache", mnl_attr_get_u8(tb[TAPS_POLICY_A_CACHE]));
	json_u32(j, "cache_lifetime_ms", tb[TAPS_POLICY_A_CACHE_LIFETIME]);
	json_u32(j, "cache_size", tb[TAPS_POLICY_A_CACHE_SIZE]);
	json_u32(j, "entries", tb[TAPS_POLICY_A_CACHE_ENTRIES]);
	json_u32(j, "rules", tb[TAPS_POLICY_A_RULES]);
	json_obj_close(j);
	json_end(j);
}

static int policy_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *top[TAPS_A_MAX + 1], *tb[TAPS_POLICY_A_MAX + 1];
	struct ctx *c = data;

	if (nl_parse_msg(nlh, top_spec, TAPS_A_MAX, top) < 0)
		return MNL_CB_OK;
	nl_parse_nest(top[TAPS_A_POLICY], policy_spec, TAPS_POLICY_A_MAX, tb);
	if (c->json)
		json_policy(&c->js, top[TAPS_A_AF], tb);
	else
		print_policy(tb);
	return MNL_CB_OK;
}

static int policy_show(struct ctx *c, int argc, char **argv)
{
	struct nlmsghdr *nlh;

	if (argc > 0)
		return unknown_word(c, "argument", argv[0]);
	if (ctx_nl(c) < 0)
		return EXIT_KERNEL;
	nlh = nl_req(&c->nl, TAPS_CMD_POLICY_GET, NLM_F_ACK);
	return nl_talk(&c->nl, nlh, policy_cb, c) < 0 ? EXIT_KERNEL : EXIT_OK;
}

/* --- policy set --- */

enum kw_kind { KW_TIME, KW_U32, KW_LIST, KW_ORDER, KW_BOOL };

static const struct policy_kw {
	const char	*name;
	uint16_t	attr;
	enum kw_kind	kind;
	uint32_t	min, max;
} policy_kws[] = {
	{ "delay", TAPS_POLICY_A_ATTEMPT_DELAY, KW_TIME, DELAY_MIN, DELAY_MAX },
	{ "protocols", TAPS_POLICY_A_PROTOCOLS, KW_LIST, 0, 0 },
	{ "order", TAPS_POLICY_A_ORDER, KW_ORDER, 0, 0 },
	{ "max-candidates", TAPS_POLICY_A_MAX_CANDIDATES, KW_U32,
	  1, TAPS_POLICY_MAX_CANDIDATES },
	{ "cache", TAPS_POLICY_A_CACHE, KW_BOOL, 0, 0 },
	{ "cache-lifetime", TAPS_POLICY_A_CACHE_LIFETIME, KW_TIME,
	  LIFETIME_MIN, LIFETIME_MAX },
	{ "cache-size", TAPS_POLICY_A_CACHE_SIZE, KW_U32,
	  1, TAPS_POLICY_MAX_CACHE_SIZE },
};

#define NPOLICY_KWS	ARRAY_SIZE(policy_kws)

/* Parse the value of @kw and add its attribute to @nlh */
static int put_policy_kw(const struct ctx *c, struct nlmsghdr *nlh,
			 const struct policy_kw *kw, const char *arg)
{
	uint8_t order[3];
	uint32_t v;
	size_t n;

	switch (kw->kind) {
	case KW_TIME:
		if (parse_time_arg(c, kw->name, arg, kw->min, kw->max, &v))
			return EXIT_USAGE;
		break;
	case KW_U32:
		if (parse_u32_arg(c, kw->name, arg, kw->min, kw->max, &v))
			return EXIT_USAGE;
		break;
	case KW_LIST:
		if (parse_proto_list(arg, &v) < 0)
			return usage_error(c, "invalid LIST \"%s\" for \"%s\"", arg, kw->name);
		break;
	case KW_ORDER:
		if (parse_proto_order(arg, order, &n) < 0)
			return usage_error(c, "invalid order \"%s\" (PROTOs, each once)", arg);
		mnl_attr_put(nlh, kw->attr, n, order);
		return 0;
	case KW_BOOL:
		if (strcmp(arg, "on") && strcmp(arg, "off"))
			return usage_error(c, "\"%s\" is not \"on\" or \"off\" for \"%s\"",
					   arg, kw->name);
		mnl_attr_put_u8(nlh, kw->attr, !strcmp(arg, "on"));
		return 0;
	}
	mnl_attr_put_u32(nlh, kw->attr, v);
	return 0;
}

static const struct policy_kw *find_policy_kw(const char *word)
{
	size_t i;

	for (i = 0; i < NPOLICY_KWS; i++)
		if (!strcmp(word, policy_kws[i].name))
			return &policy_kws[i];
	return NULL;
}

static int policy_set(struct ctx *c, int argc, char **argv)
{
	const struct policy_kw *kw;
	struct nlmsghdr *nlh;
	struct nlattr *nest;
	unsigned int seen = 0;
	int ret;

	if (argc < 1)
		return usage_error(c, "\"set\" needs at least one keyword");
	nlh = nl_req(&c->nl, TAPS_CMD_POLICY_SET, NLM_F_ACK);
	nest = mnl_attr_nest_start(nlh, TAPS_A_POLICY);
	for (; argc > 0; argc -= 2, argv += 2) {
		kw = find_policy_kw(argv[0]);
		if (!kw)
			return unknown_word(c, "keyword", argv[0]);
		if (seen & (1u << kw->attr))
			return usage_error(c, "\"%s\" is given twice", argv[0]);
		seen |= 1u << kw->attr;
		ret = need_value(c, argc, argv);
		if (!ret)
			ret = put_policy_kw(c, nlh, kw, argv[1]);
		if (ret)
			return ret;
	}
	mnl_attr_nest_end(nlh, nest);
	if (ctx_nl(c) < 0)
		return EXIT_KERNEL;
	return nl_talk(&c->nl, nlh, NULL, NULL) < 0 ? EXIT_KERNEL : EXIT_OK;
}

int do_policy(struct ctx *c, int argc, char **argv)
{
	if (argc < 1 || matches(argv[0], "show") || matches(argv[0], "list"))
		return policy_show(c, argc > 0 ? argc - 1 : 0, argv + 1);
	if (matches(argv[0], "set"))
		return policy_set(c, argc - 1, argv + 1);
	return unknown_word(c, "command", argv[0]);
}
