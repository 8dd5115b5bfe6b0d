// SPDX-License-Identifier: GPL-2.0
/*
 * tapsctl stats: the counters of the namespace, TAPS_CMD_STATS_GET.
 */
#include "tapsctl.h"

static const struct nl_attr_spec top_spec[TAPS_A_MAX + 1] = {
	[TAPS_A_STATS]	= { MNL_TYPE_NESTED, 0 },
};

/* In attribute order; a NULL name is not a counter */
static const char *const stat_names[TAPS_STATS_A_MAX + 1] = {
	[TAPS_STATS_A_RACES]		= "races",
	[TAPS_STATS_A_RACES_FAILED]	= "races_failed",
	[TAPS_STATS_A_ATTEMPTS]		= "attempts",
	[TAPS_STATS_A_WINS_TCP]		= "wins_tcp",
	[TAPS_STATS_A_WINS_SCTP]	= "wins_sctp",
	[TAPS_STATS_A_WINS_MPTCP]	= "wins_mptcp",
	[TAPS_STATS_A_WINS_INET]	= "wins_inet",
	[TAPS_STATS_A_WINS_INET6]	= "wins_inet6",
	[TAPS_STATS_A_FAIL_REFUSED]	= "fail_refused",
	[TAPS_STATS_A_FAIL_UNREACH]	= "fail_unreach",
	[TAPS_STATS_A_FAIL_TIMEOUT]	= "fail_timeout",
	[TAPS_STATS_A_FAIL_OTHER]	= "fail_other",
	[TAPS_STATS_A_CACHE_HITS]	= "cache_hits",
	[TAPS_STATS_A_CACHE_MISSES]	= "cache_misses",
	[TAPS_STATS_A_POLICY_DENIED]	= "policy_denied",
	[TAPS_STATS_A_CONNECT_MEAN]	= "connect_mean_us",
	[TAPS_STATS_A_CONNECT_MAX]	= "connect_max_us",
};

void stats_usage(FILE *f)
{
	fprintf(f, "Usage: tapsctl stats [ show ]\n");
}

static int stats_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *top[TAPS_A_MAX + 1], *tb[TAPS_STATS_A_MAX + 1];
	struct nl_attr_spec spec[TAPS_STATS_A_MAX + 1] = { { 0 } };
	struct ctx *c = data;
	unsigned int i;
	uint64_t v;

	for (i = 0; i <= TAPS_STATS_A_MAX; i++)
		if (stat_names[i])
			spec[i].type = MNL_TYPE_U64;
	if (nl_parse_msg(nlh, top_spec, TAPS_A_MAX, top) < 0 ||
	    nl_parse_nest(top[TAPS_A_STATS], spec, TAPS_STATS_A_MAX, tb) < 0)
		return MNL_CB_OK;
	if (c->json)
		json_obj_open(&c->js, NULL);
	for (i = 0; i <= TAPS_STATS_A_MAX; i++) {
		if (!tb[i])
			continue;
		v = mnl_attr_get_u64(tb[i]);
		if (c->json)
			json_uint(&c->js, stat_names[i], v);
		else
			printf("%s %llu\n", stat_names[i], (unsigned long long)v);
	}
	if (c->json) {
		json_obj_close(&c->js);
		json_end(&c->js);
	}
	return MNL_CB_OK;
}

int do_stats(struct ctx *c, int argc, char **argv)
{
	struct nlmsghdr *nlh;

	if (argc > 0 && !matches(argv[0], "show"))
		return unknown_word(c, "command", argv[0]);
	if (argc > 1)
		return unknown_word(c, "argument", argv[1]);
	if (ctx_nl(c) < 0)
		return EXIT_KERNEL;
	nlh = nl_req(&c->nl, TAPS_CMD_STATS_GET, NLM_F_ACK);
	return nl_talk(&c->nl, nlh, stats_cb, c) < 0 ? EXIT_KERNEL : EXIT_OK;
}
