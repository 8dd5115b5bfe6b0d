// SPDX-License-Identifier: GPL-2.0
/*
 * tapsctl rule { add | del | show }: per-prefix policy rules,
 * TAPS_CMD_RULE_ADD/DEL/GET.
 */
#include <string.h>

#include "tapsctl.h"

#define DELAY_MIN	10
#define DELAY_MAX	2000

static const struct nl_attr_spec top_spec[TAPS_A_MAX + 1] = {
	[TAPS_A_RULE]	= { MNL_TYPE_NESTED, 0 },
};

static const struct nl_attr_spec rule_spec[TAPS_RULE_A_MAX + 1] = {
	[TAPS_RULE_A_ID]		= { MNL_TYPE_U32, 0 },
	[TAPS_RULE_A_ADDR]		= { MNL_TYPE_NESTED, 0 },
	[TAPS_RULE_A_PREFIXLEN]		= { MNL_TYPE_U8, 0 },
	[TAPS_RULE_A_PROHIBIT]		= { MNL_TYPE_U32, 0 },
	[TAPS_RULE_A_PREFER]		= { MNL_TYPE_U32, 0 },
	[TAPS_RULE_A_ATTEMPT_DELAY]	= { MNL_TYPE_U32, 0 },
};

void rule_usage(FILE *f)
{
	fprintf(f,
		"Usage: tapsctl rule add PREFIX [ prohibit LIST ] [ prefer PROTO ] [ delay TIME ]\n"
		"       tapsctl rule del { PREFIX | id ID }\n"
		"       tapsctl rule [ show ]\n"
		"where  PREFIX := ADDR[/LEN]\n"
		"       LIST := { all | PROTO[,PROTO]... }\n"
		"       PROTO := { tcp | sctp | mptcp }\n");
}

static void put_prefix(struct nlmsghdr *nlh, const struct taps_prefix *p)
{
	put_addr(nlh, TAPS_RULE_A_ADDR, &p->addr);
	mnl_attr_put_u8(nlh, TAPS_RULE_A_PREFIXLEN, p->len);
}

static int parse_prefix_arg(const struct ctx *c, const char *arg, struct taps_prefix *p)
{
	if (parse_prefix(arg, p) < 0)
		return usage_error(c, "invalid PREFIX \"%s\"", arg);
	return 0;
}

/* One of prohibit, prefer, delay into the nest; EXIT_USAGE if bad */
static int put_rule_kw(const struct ctx *c, struct nlmsghdr *nlh, const char *kw,
		       const char *arg)
{
	uint32_t v;

	if (!strcmp(kw, "prohibit")) {
		if (parse_proto_list(arg, &v) < 0)
			return usage_error(c, "invalid LIST \"%s\" for \"prohibit\"", arg);
		mnl_attr_put_u32(nlh, TAPS_RULE_A_PROHIBIT, v);
	} else if (!strcmp(kw, "prefer")) {
		if (parse_proto(arg, &v) < 0)
			return usage_error(c, "invalid PROTO \"%s\" for \"prefer\"", arg);
		mnl_attr_put_u32(nlh, TAPS_RULE_A_PREFER, v);
	} else {
		if (parse_time_arg(c, kw, arg, DELAY_MIN, DELAY_MAX, &v))
			return EXIT_USAGE;
		mnl_attr_put_u32(nlh, TAPS_RULE_A_ATTEMPT_DELAY, v);
	}
	return 0;
}

static int rule_add(struct ctx *c, int argc, char **argv)
{
	static const char *const kws[] = { "prohibit", "prefer", "delay" };
	const char *prefix = argc > 0 ? argv[0] : NULL;
	struct taps_prefix p;
	struct nlmsghdr *nlh;
	struct nlattr *nest;
	unsigned int seen = 0, i;
	int ret;

	if (!prefix)
		return usage_error(c, "\"add\" needs a PREFIX");
	if (parse_prefix_arg(c, prefix, &p))
		return EXIT_USAGE;
	nlh = nl_req(&c->nl, TAPS_CMD_RULE_ADD, NLM_F_ACK);
	nest = mnl_attr_nest_start(nlh, TAPS_A_RULE);
	put_prefix(nlh, &p);
	argc--;
	argv++;
	for (; argc > 0; argc -= 2, argv += 2) {
		for (i = 0; i < 3 && strcmp(argv[0], kws[i]); i++)
			;
		if (i == 3)
			return unknown_word(c, "keyword", argv[0]);
		if (seen & (1u << i))
			return usage_error(c, "\"%s\" is given twice", argv[0]);
		seen |= 1u << i;
		ret = need_value(c, argc, argv);
		if (!ret)
			ret = put_rule_kw(c, nlh, argv[0], argv[1]);
		if (ret)
			return ret;
	}
	if (!seen)
		return usage_error(c, "rule \"%s\" needs prohibit, prefer or delay", prefix);
	mnl_attr_nest_end(nlh, nest);
	if (ctx_nl(c) < 0)
		return EXIT_KERNEL;
	return nl_talk(&c->nl, nlh, NULL, NULL) < 0 ? EXIT_KERNEL : EXIT_OK;
}

static int rule_del(struct ctx *c, int argc, char **argv)
{
	struct taps_prefix p;
	struct nlmsghdr *nlh;
	struct nlattr *nest;
	uint32_t id;

	if (argc < 1)
		return usage_error(c, "\"del\" needs a PREFIX or \"id ID\"");
	nlh = nl_req(&c->nl, TAPS_CMD_RULE_DEL, NLM_F_ACK);
	nest = mnl_attr_nest_start(nlh, TAPS_A_RULE);
	if (!strcmp(argv[0], "id")) {
		if (need_value(c, argc, argv))
			return EXIT_USAGE;
		if (parse_u32_arg(c, "id", argv[1], 1, UINT32_MAX, &id))
			return EXIT_USAGE;
		mnl_attr_put_u32(nlh, TAPS_RULE_A_ID, id);
		argc -= 2;
		argv += 2;
	} else {
		if (parse_prefix_arg(c, argv[0], &p))
			return EXIT_USAGE;
		put_prefix(nlh, &p);
		argc--;
		argv++;
	}
	if (argc > 0)
		return unknown_word(c, "argument", argv[0]);
	mnl_attr_nest_end(nlh, nest);
	if (ctx_nl(c) < 0)
		return EXIT_KERNEL;
	return nl_talk(&c->nl, nlh, NULL, NULL) < 0 ? EXIT_KERNEL : EXIT_OK;
}

static void print_rule(const struct nlattr **tb, const struct taps_prefix *p)
{
	char buf[INET6_ADDRSTRLEN], t[32];

	printf("%s/%u", addr_str(&p->addr, buf, sizeof(buf)), p->len);
	if (tb[TAPS_RULE_A_PROHIBIT]) {
		printf(" prohibit ");
		print_proto_mask(stdout, mnl_attr_get_u32(tb[TAPS_RULE_A_PROHIBIT]));
	}
	if (tb[TAPS_RULE_A_PREFER]) {
		uint32_t bit = mnl_attr_get_u32(tb[TAPS_RULE_A_PREFER]);

		printf(" prefer ");
		print_proto_mask(stdout, bit);
	}
	if (tb[TAPS_RULE_A_ATTEMPT_DELAY]) {
		fmt_time_ms(t, sizeof(t), mnl_attr_get_u32(tb[TAPS_RULE_A_ATTEMPT_DELAY]));
		printf(" delay %s", t);
	}
	if (tb[TAPS_RULE_A_ID])
		printf(" id %u", mnl_attr_get_u32(tb[TAPS_RULE_A_ID]));
	printf("\n");
}

static void json_rule(struct json *j, const struct nlattr **tb, const struct taps_prefix *p)
{
	char buf[INET6_ADDRSTRLEN + 8];
	uint32_t bit;

	json_obj_open(j, NULL);
	if (tb[TAPS_RULE_A_ID])
		json_uint(j, "id", mnl_attr_get_u32(tb[TAPS_RULE_A_ID]));
	addr_str(&p->addr, buf, sizeof(buf));
	snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "/%u", p->len);
	json_str(j, "prefix", buf);
	if (tb[TAPS_RULE_A_PROHIBIT])
		json_proto_mask(j, "prohibit", mnl_attr_get_u32(tb[TAPS_RULE_A_PROHIBIT]));
	if (tb[TAPS_RULE_A_PREFER]) {
		bit = mnl_attr_get_u32(tb[TAPS_RULE_A_PREFER]);
		if (proto_bit_name(bit))
			json_str(j, "prefer", proto_bit_name(bit));
		else
			json_uint(j, "prefer", bit);
	}
	if (tb[TAPS_RULE_A_ATTEMPT_DELAY])
		json_uint(j, "delay_ms", mnl_attr_get_u32(tb[TAPS_RULE_A_ATTEMPT_DELAY]));
	json_obj_close(j);
}

static int rule_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *top[TAPS_A_MAX + 1], *tb[TAPS_RULE_A_MAX + 1];
	struct taps_prefix p;
	struct ctx *c = data;

	if (nl_parse_msg(nlh, top_spec, TAPS_A_MAX, top) < 0 ||
	    nl_parse_nest(top[TAPS_A_RULE], rule_spec, TAPS_RULE_A_MAX, tb) < 0 ||
	    get_addr(tb[TAPS_RULE_A_ADDR], &p.addr) < 0)
		return MNL_CB_OK;
	if (tb[TAPS_RULE_A_PREFIXLEN])
		p.len = mnl_attr_get_u8(tb[TAPS_RULE_A_PREFIXLEN]);
	else
		p.len = p.addr.family == AF_INET ? 32 : 128;
	if (c->json)
		json_rule(&c->js, tb, &p);
	else
		print_rule(tb, &p);
	return MNL_CB_OK;
}

static int rule_show(struct ctx *c, int argc, char **argv)
{
	struct nlmsghdr *nlh;
	int ret;

	if (argc > 0)
		return unknown_word(c, "argument", argv[0]);
	if (ctx_nl(c) < 0)
		return EXIT_KERNEL;
	nlh = nl_req(&c->nl, TAPS_CMD_RULE_GET, NLM_F_DUMP);
	if (c->json)
		json_arr_open(&c->js, NULL);
	ret = nl_talk(&c->nl, nlh, rule_cb, c);
	if (c->json) {
		json_arr_close(&c->js);
		json_end(&c->js);
	}
	return ret < 0 ? EXIT_KERNEL : EXIT_OK;
}

int do_rule(struct ctx *c, int argc, char **argv)
{
	if (argc < 1 || matches(argv[0], "show") || matches(argv[0], "list"))
		return rule_show(c, argc > 0 ? argc - 1 : 0, argv + 1);
	if (matches(argv[0], "add"))
		return rule_add(c, argc - 1, argv + 1);
	if (matches(argv[0], "delete"))
		return rule_del(c, argc - 1, argv + 1);
	return unknown_word(c, "command", argv[0]);
}
