// SPDX-License-Identifier: GPL-2.0
/*
 * tapsctl: AF_TAPS configuration tool.
 *
 * Exit status as ip(8): 0 success, 1 the kernel said no, 2 usage error.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "taps.h"

#define TAPSCTL_VERSION "0.1"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: tapsctl [ OPTIONS ] OBJECT { COMMAND | help }\n"
		"where  OBJECT := { family }\n"
		"       OPTIONS := { -V[ersion] | -h[elp] }\n"
		"\n"
		"tapsctl family            print the address family number taps.ko registered\n");
}

static int do_family(int argc, char **argv)
{
	if (argc > 0 && strcmp(argv[0], "show")) {
		fprintf(stderr, "Command \"%s\" is unknown, try \"tapsctl help\".\n", argv[0]);
		return 2;
	}
	if (access("/sys/module/taps", F_OK)) {
		fprintf(stderr, "taps.ko is not loaded (default AF_TAPS is %d)\n", AF_TAPS);
		return 1;
	}
	printf("%d\n", taps_family());
	return 0;
}

int main(int argc, char **argv)
{
	while (argc > 1 && argv[1][0] == '-') {
		const char *opt = argv[1] + 1 + (argv[1][1] == '-');

		if (!strcmp(opt, "V") || !strcmp(opt, "Version") || !strcmp(opt, "version")) {
			printf("tapsctl %s\n", TAPSCTL_VERSION);
			return 0;
		}
		if (!strcmp(opt, "h") || !strcmp(opt, "help")) {
			usage(stdout);
			return 0;
		}
		fprintf(stderr, "Option \"%s\" is unknown, try \"tapsctl -help\".\n", argv[1]);
		return 2;
	}
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "family"))
		return do_family(argc - 2, argv + 2);

	fprintf(stderr, "Object \"%s\" is unknown, try \"tapsctl help\".\n", argv[1]);
	return 2;
}
