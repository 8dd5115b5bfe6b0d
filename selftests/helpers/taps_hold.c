// SPDX-License-Identifier: GPL-2.0
/*
 * taps_hold N: open N AF_TAPS stream sockets, print "ready", keep them open
 * until standard input reaches end of file.  Used by the shell tests.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/socket.h>

#include "taps.h"

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1;
	char buf[64];
	int i;

	for (i = 0; i < n; i++) {
		if (socket(taps_family(), SOCK_STREAM, 0) < 0) {
			perror("socket");
			return 1;
		}
	}
	printf("ready\n");
	fflush(stdout);
	while (read(0, buf, sizeof(buf)) > 0)
		;
	return 0;
}
