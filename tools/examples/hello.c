// SPDX-License-Identifier: GPL-2.0
/*
 * hello: open an AF_TAPS stream socket and print what it reports.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "taps.h"

int main(void)
{
	int fd, dom, type;
	socklen_t len = sizeof(int);
	struct taps_info info;
	socklen_t ilen = sizeof(info);

	fd = socket(taps_family(), SOCK_STREAM, 0);
	if (fd < 0) {
		fprintf(stderr, "socket(%d, SOCK_STREAM, 0): %s\n", taps_family(), strerror(errno));
		return 1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &len) ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) ||
	    getsockopt(fd, SOL_TAPS, TAPS_INFO, &info, &ilen)) {
		perror("getsockopt");
		return 1;
	}
	printf("socket(AF_TAPS=%d, SOCK_STREAM, 0) = %d: domain %d, type %s, state %s\n",
	       taps_family(), fd, dom, type == SOCK_STREAM ? "SOCK_STREAM" : "?",
	       taps_state_name(info.ti_state));
	close(fd);
	return 0;
}
