// SPDX-License-Identifier: GPL-2.0
/*
 * tapsctl: AF_TAPS configuration tool, in the style of ip(8).
 *
 *	tapsctl [ OPTIONS ] OBJECT { COMMAND | help }
 *
 * Exit status as ip(8): 0 success, 1 the kernel said no (or is not there),
 * 2 usage error.  Documentation/tapsctl.8 is the manual.
 */
#include <stdarg.h>
#include <string.h>

#include "tapsctl.h"

static const struct object {
	const char	*name;
	int		(*fn)(struct ctx *c, int argc, char **argv);
	void		(*usage)(FILE *f);
} objects[] = {
	{ "family",	do_family,	family_usage },
	{ "policy",	do_policy,	policy_usage },
	{ "rule",	do_rule,	rule_usage },
	{ "cache",	do_cache,	cache_usage },
	{ "conn",	do_conn,	conn_usage },
	{ "stats",	do_stats,	stats_usage },
	{ "monitor",	do_monitor,	monitor_usage },
};

#define NOBJECTS	ARRAY_SIZE(objects)

static void usage(FILE *f)
{
	size_t i;

	fprintf(f,
		"Usage: tapsctl [ OPTIONS ] OBJECT { COMMAND | help }\n"
		"       tapsctl help\n"
		"where  OBJECT := { family | policy | rule | cache | conn | stats | monitor }\n"
		"       OPTIONS := { -j[son] | -p[retty] | -n[etns] NAME | -V[ersion] | -h[elp] }\n"
		"\n");
	for (i = 0; i < NOBJECTS; i++)
		objects[i].usage(f);
}

bool is_help(const char *arg)
{
	return matches(arg, "help");
}

int usage_error(const struct ctx *c, const char *fmt, ...)
{
	va_list ap;

	fputs("Error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (c->object)
		fprintf(stderr, ", try \"tapsctl %s help\".\n", c->object);
	else
		fputs(", try \"tapsctl help\".\n", stderr);
	return EXIT_USAGE;
}

/* "unknown command "foo"" and the like */
int unknown_word(const struct ctx *c, const char *what, const char *word)
{
	return usage_error(c, "unknown %s \"%s\"", what, word);
}

/* The keyword at argv[0] needs a value at argv[1] */
int need_value(const struct ctx *c, int argc, char **argv)
{
	if (argc > 1)
		return 0;
	return usage_error(c, "\"%s\" needs a value", argv[0]);
}

int parse_time_arg(const struct ctx *c, const char *kw, const char *arg,
		   uint32_t min, uint32_t max, uint32_t *ms)
{
	char lo[32], hi[32];

	if (parse_time_ms(arg, ms) < 0)
		return usage_error(c, "invalid TIME \"%s\" for \"%s\"", arg, kw);
	if (*ms < min || *ms > max) {
		fmt_time_ms(lo, sizeof(lo), min);
		fmt_time_ms(hi, sizeof(hi), max);
		return usage_error(c, "%s \"%s\" is out of range (%s..%s)", kw, arg, lo, hi);
	}
	return 0;
}

int parse_u32_arg(const struct ctx *c, const char *kw, const char *arg,
		  uint32_t min, uint32_t max, uint32_t *v)
{
	if (parse_u32(arg, v) < 0)
		return usage_error(c, "invalid number \"%s\" for \"%s\"", arg, kw);
	if (*v < min || *v > max)
		return usage_error(c, "%s \"%s\" is out of range (%u..%u)", kw, arg, min, max);
	return 0;
}

/* The netlink socket, opened on first use */
int ctx_nl(struct ctx *c)
{
	if (!c->nl_open) {
		c->nl_open = true;	/* nl_close() frees what a failed open left */
		c->nl_failed = nl_open(&c->nl, c->netns, false) < 0;
	}
	return c->nl_failed ? -1 : 0;
}

static bool option_is(const char *opt, const char *name)
{
	return matches(opt, name);
}

/*
 * Options, as ip(8) takes them: -j, -json, --json, any prefix.  Returns -1
 * to go on with the object, or an exit status.
 */
static int parse_options(struct ctx *c, int *argc, char ***argv)
{
	const char *arg, *opt;

	while (*argc > 0 && (*argv)[0][0] == '-') {
		arg = (*argv)[0];
		opt = arg + 1 + (arg[1] == '-');
		if (!strcmp(arg, "--")) {
			(*argc)--;
			(*argv)++;
			break;
		}
		if (option_is(opt, "json")) {
			c->json = true;
		} else if (option_is(opt, "pretty")) {
			c->pretty = true;
		} else if (option_is(opt, "netns")) {
			if (*argc < 2)
				return usage_error(c, "option \"%s\" needs a NAME", arg);
			c->netns = (*argv)[1];
			(*argc)--;
			(*argv)++;
		} else if (option_is(opt, "Version") || option_is(opt, "version")) {
			printf("tapsctl %s\n", TAPSCTL_VERSION);
			return EXIT_OK;
		} else if (option_is(opt, "help")) {
			usage(stdout);
			return EXIT_OK;
		} else {
			return usage_error(c, "option \"%s\" is unknown", arg);
		}
		(*argc)--;
		(*argv)++;
	}
	return -1;
}

static int run(struct ctx *c, int argc, char **argv)
{
	size_t i;
	int ret;

	ret = parse_options(c, &argc, &argv);
	if (ret >= 0)
		return ret;
	json_init(&c->js, stdout, c->pretty);
	if (argc < 1) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (is_help(argv[0])) {
		usage(stdout);
		return EXIT_OK;
	}
	for (i = 0; i < NOBJECTS; i++) {
		if (!matches(argv[0], objects[i].name))
			continue;
		c->object = objects[i].name;
		c->usage = objects[i].usage;
		if (argc > 1 && is_help(argv[1])) {
			c->usage(stdout);
			return EXIT_OK;
		}
		return objects[i].fn(c, argc - 1, argv + 1);
	}
	return unknown_word(c, "object", argv[0]);
}

int main(int argc, char **argv)
{
	struct ctx c = { 0 };
	int ret;

	ret = run(&c, argc - 1, argv + 1);
	if (c.nl_open)
		nl_close(&c.nl);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "Error: cannot write the output.\n");
		return EXIT_KERNEL;
	}
	return ret;
}
