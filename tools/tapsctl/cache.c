// SPDX-License-Identifier: GPL-2.0
/*
 * tapsctl cache { show | del | flush }: the cached state of remote
 * endpoints, TAPS_CMD_CACHE_GET/DEL/FLUSH.  The entry printers serve the
 * monitor's cache-update events too.
 */
#include <string.h>

#include "tapsctl.h"

static const struct nl_attr_spec top_spec[TAPS_A_MAX + 1] = {
	[TAPS_A_CACHE]	= { MNL_TYPE_NESTED, 0 },
};

static const struct nl_attr_spec cache_spec[TAPS_CACHE_A_MAX + 1] = {
	[TAPS_CACHE_A_ADDR]	= { MNL_TYPE_NESTED, 0 },
	[TAPS_CACHE_A_TYPE]	= { MNL_TYPE_U32, 0 },
	[TAPS_CACHE_A_WINNER]	= { MNL_TYPE_U32, 0 },
	[TAPS_CACHE_A_SRTT]	= { MNL_TYPE_U32, 0 },
	[TAPS_CACHE_A_AGE]	= { MNL_TYPE_U64, 0 },
	[TAPS_CACHE_A_UID]	= { MNL_TYPE_U32, 0 },
	/* TAPS_CACHE_A_PROTO repeats: walked by walk_protos() */
};

static const struct nl_attr_spec proto_spec[TAPS_CACHE_PROTO_A_MAX + 1] = {
	[TAPS_CACHE_PROTO_A_PROTOCOL]	= { MNL_TYPE_U32, 0 },
	[TAPS_CACHE_PROTO_A_SUCCESS]	= { MNL_TYPE_U32, 0 },
	[TAPS_CACHE_PROTO_A_FAILURE]	= { MNL_TYPE_U32, 0 },
	[TAPS_CACHE_PROTO_A_LAST_SUCCESS] = { MNL_TYPE_U64, 0 },
	[TAPS_CACHE_PROTO_A_LAST_FAILURE] = { MNL_TYPE_U64, 0 },
};

void cache_usage(FILE *f)
{
	fprintf(f,
		"Usage: tapsctl cache [ show [ to PREFIX ] ]\n"
		"       tapsctl cache del ADDR [ port PORT ]\n"
		"       tapsctl cache flush\n"
		"where  PREFIX := ADDR[/LEN]\n");
}

static uint32_t get_u32(const struct nlattr *a)
{
	return a ? mnl_attr_get_u32(a) : 0;
}

typedef void (*proto_fn)(const struct nlattr **tb, void *data);

/* Call @fn with the parsed attributes of each TAPS_CACHE_A_PROTO */
static void walk_protos(const struct nlattr *nest, proto_fn fn, void *data)
{
	const struct nlattr *a, *tb[TAPS_CACHE_PROTO_A_MAX + 1];

	mnl_attr_for_each_nested(a, nest) {
		if (mnl_attr_get_type(a) != TAPS_CACHE_A_PROTO ||
		    mnl_attr_validate(a, MNL_TYPE_NESTED) < 0 ||
		    nl_parse_nest(a, proto_spec, TAPS_CACHE_PROTO_A_MAX, tb) < 0 ||
		    !tb[TAPS_CACHE_PROTO_A_PROTOCOL])
			continue;
		fn(tb, data);
	}
}

static void print_ipproto(uint32_t ipproto)
{
	if (ipproto_name(ipproto))
		fputs(ipproto_name(ipproto), stdout);
	else
		printf("%u", ipproto);
}

static void print_proto(const struct nlattr **tb, void *data)
{
	(void)data;
	putchar(' ');
	print_ipproto(mnl_attr_get_u32(tb[TAPS_CACHE_PROTO_A_PROTOCOL]));
	printf(" %u/%u", get_u32(tb[TAPS_CACHE_PROTO_A_SUCCESS]),
	       get_u32(tb[TAPS_CACHE_PROTO_A_FAILURE]));
}

static void print_type(uint32_t type)
{
	if (sock_type_name(type))
		printf(" %s", sock_type_name(type));
	else
		printf(" type %u", type);
}

/* "192.0.2.1 port 8080 stream uid 1000 winner tcp srtt 812us age 3s tcp 1/0" */
void print_cache_entry(const struct nlattr *nest)
{
	const struct nlattr *tb[TAPS_CACHE_A_MAX + 1];
	char buf[INET6_ADDRSTRLEN];
	struct taps_addr a;

	nl_parse_nest(nest, cache_spec, TAPS_CACHE_A_MAX, tb);
	if (get_addr(tb[TAPS_CACHE_A_ADDR], &a) < 0)
		fputs("?", stdout);
	else
		fputs(addr_str(&a, buf, sizeof(buf)), stdout);
	if (a.has_port)
		printf(" port %u", a.port);
	if (tb[TAPS_CACHE_A_TYPE])
		print_type(mnl_attr_get_u32(tb[TAPS_CACHE_A_TYPE]));
	if (tb[TAPS_CACHE_A_UID])
		printf(" uid %u", mnl_attr_get_u32(tb[TAPS_CACHE_A_UID]));
	if (tb[TAPS_CACHE_A_WINNER]) {
		fputs(" winner ", stdout);
		if (mnl_attr_get_u32(tb[TAPS_CACHE_A_WINNER]))
			print_ipproto(mnl_attr_get_u32(tb[TAPS_CACHE_A_WINNER]));
		else
			fputs("none", stdout);
	}
	if (tb[TAPS_CACHE_A_SRTT]) {
		fmt_usec(buf, sizeof(buf), mnl_attr_get_u32(tb[TAPS_CACHE_A_SRTT]));
		printf(" srtt %s", buf);
	}
	if (tb[TAPS_CACHE_A_AGE]) {
		fmt_age_ms(buf, sizeof(buf), mnl_attr_get_u64(tb[TAPS_CACHE_A_AGE]));
		printf(" age %s", buf);
	}
	if (nest)
		walk_protos(nest, print_proto, NULL);
}

static void json_proto(const struct nlattr **tb, void *data)
{
	uint32_t ipproto = mnl_attr_get_u32(tb[TAPS_CACHE_PROTO_A_PROTOCOL]);
	struct json *j = data;
	char num[16];

	snprintf(num, sizeof(num), "%u", ipproto);
	json_obj_open(j, ipproto_name(ipproto) ? ipproto_name(ipproto) : num);
	json_uint(j, "success", get_u32(tb[TAPS_CACHE_PROTO_A_SUCCESS]));
	json_uint(j, "failure", get_u32(tb[TAPS_CACHE_PROTO_A_FAILURE]));
	if (tb[TAPS_CACHE_PROTO_A_LAST_SUCCESS])
		json_uint(j, "last_success_ms",
			  mnl_attr_get_u64(tb[TAPS_CACHE_PROTO_A_LAST_SUCCESS]));
	if (tb[TAPS_CACHE_PROTO_A_LAST_FAILURE])
		json_uint(j, "last_failure_ms",
			  mnl_attr_get_u64(tb[TAPS_CACHE_PROTO_A_LAST_FAILURE]));
	json_obj_close(j);
}

/* The members of one entry, into the object the caller opened */
void json_cache_members(struct json *j, const struct nlattr *nest)
{
	const struct nlattr *tb[TAPS_CACHE_A_MAX + 1];
	char buf[INET6_ADDRSTRLEN];
	struct taps_addr a;
	uint32_t type;

	nl_parse_nest(nest, cache_spec, TAPS_CACHE_A_MAX, tb);
	if (get_addr(tb[TAPS_CACHE_A_ADDR], &a) == 0) {
		json_str(j, "addr", addr_str(&a, buf, sizeof(buf)));
		if (a.has_port)
			json_uint(j, "port", a.port);
	}
	if (tb[TAPS_CACHE_A_TYPE]) {
		type = mnl_attr_get_u32(tb[TAPS_CACHE_A_TYPE]);
		if (sock_type_name(type))
			json_str(j, "type", sock_type_name(type));
		else
			json_uint(j, "type", type);
	}
	if (tb[TAPS_CACHE_A_UID])
		json_uint(j, "uid", mnl_attr_get_u32(tb[TAPS_CACHE_A_UID]));
	if (tb[TAPS_CACHE_A_WINNER])
		json_ipproto(j, "winner", mnl_attr_get_u32(tb[TAPS_CACHE_A_WINNER]));
	if (tb[TAPS_CACHE_A_SRTT])
		json_uint(j, "srtt_us", mnl_attr_get_u32(tb[TAPS_CACHE_A_SRTT]));
	if (tb[TAPS_CACHE_A_AGE])
		json_uint(j, "age_ms", mnl_attr_get_u64(tb[TAPS_CACHE_A_AGE]));
	json_obj_open(j, "protocols");
	if (nest)
		walk_protos(nest, json_proto, j);
	json_obj_close(j);
}

static int cache_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *top[TAPS_A_MAX + 1];
	struct ctx *c = data;

	if (nl_parse_msg(nlh, top_spec, TAPS_A_MAX, top) < 0 || !top[TAPS_A_CACHE])
		return MNL_CB_OK;
	if (c->json) {
		json_obj_open(&c->js, NULL);
		json_cache_members(&c->js, top[TAPS_A_CACHE]);
		json_obj_close(&c->js);
	} else {
		print_cache_entry(top[TAPS_A_CACHE]);
		putchar('\n');
	}
	return MNL_CB_OK;
}

static int cache_show(struct ctx *c, int argc, char **argv)
{
	struct taps_prefix p;
	struct nlmsghdr *nlh;
	struct nlattr *nest;
	int ret;

	nlh = nl_req(&c->nl, TAPS_CMD_CACHE_GET, NLM_F_DUMP);
	if (argc > 0 && strcmp(argv[0], "to"))
		return unknown_word(c, "keyword", argv[0]);
	if (argc > 0) {
		if (need_value(c, argc, argv))
			return EXIT_USAGE;
		if (parse_prefix(argv[1], &p) < 0)
			return usage_error(c, "invalid PREFIX \"%s\"", argv[1]);
		if (argc > 2)
			return unknown_word(c, "argument", argv[2]);
		nest = mnl_attr_nest_start(nlh, TAPS_A_CACHE);
		put_addr(nlh, TAPS_CACHE_A_ADDR, &p.addr);
		mnl_attr_put_u8(nlh, TAPS_CACHE_A_PREFIXLEN, p.len);
		mnl_attr_nest_end(nlh, nest);
	}
	if (ctx_nl(c) < 0)
		return EXIT_KERNEL;
	if (c->json)
		json_arr_open(&c->js, NULL);
	ret = nl_talk(&c->nl, nlh, cache_cb, c);
	if (c->json) {
		json_arr_close(&c->js);
		json_end(&c->js);
	}
	return ret < 0 ? EXIT_KERNEL : EXIT_OK;
}

static int cache_del(struct ctx *c, int argc, char **argv)
{
	struct taps_addr a;
	struct nlmsghdr *nlh;
	struct nlattr *nest;
	uint32_t port;

	if (argc < 1)
		return usage_error(c, "\"del\" needs an ADDR");
	if (parse_addr(argv[0], &a) < 0)
		return usage_error(c, "invalid ADDR \"%s\"", argv[0]);
	argc--;
	argv++;
	if (argc > 0 && strcmp(argv[0], "port"))
		return unknown_word(c, "keyword", argv[0]);
	if (argc > 0) {
		if (need_value(c, argc, argv) ||
		    parse_u32_arg(c, "port", argv[1], 0, 65535, &port))
			return EXIT_USAGE;
		if (argc > 2)
			return unknown_word(c, "argument", argv[2]);
		a.port = (uint16_t)port;
		a.has_port = true;
	}
	nlh = nl_req(&c->nl, TAPS_CMD_CACHE_DEL, NLM_F_ACK);
	nest = mnl_attr_nest_start(nlh, TAPS_A_CACHE);
	put_addr(nlh, TAPS_CACHE_A_ADDR, &a);
	mnl_attr_nest_end(nlh, nest);
	if (ctx_nl(c) < 0)
		return EXIT_KERNEL;
	return nl_talk(&c->nl, nlh, NULL, NULL) < 0 ? EXIT_KERNEL : EXIT_OK;
}

static int cache_flush(struct ctx *c, int argc, char **argv)
{
	struct nlmsghdr *nlh;

	if (argc > 0)
		return unknown_word(c, "argument", argv[0]);
	if (ctx_nl(c) < 0)
		return EXIT_KERNEL;
	nlh = nl_req(&c->nl, TAPS_CMD_CACHE_FLUSH, NLM_F_ACK);
	return nl_talk(&c->nl, nlh, NULL, NULL) < 0 ? EXIT_KERNEL : EXIT_OK;
}

int do_cache(struct ctx *c, int argc, char **argv)
{
	if (argc < 1 || matches(argv[0], "show") || matches(argv[0], "list"))
		return cache_show(c, argc > 0 ? argc - 1 : 0, argv + 1);
	if (matches(argv[0], "delete"))
		return cache_del(c, argc - 1, argv + 1);
	if (matches(argv[0], "flush"))
		return cache_flush(c, argc - 1, argv + 1);
	return unknown_word(c, "command", argv[0]);
}
