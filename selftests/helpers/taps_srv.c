// SPDX-License-Identifier: GPL-2.0
/*
 * taps_srv: plain TCP and SCTP listeners for the shell tests.
 *
 *   taps_srv [-N NETNS] [-l FILE] [-b PORTS] [-t PORTS] [-s PORTS]
 *
 * PORTS is a port or a range LO-HI; -b listens on TCP and SCTP, -t on TCP
 * only, -s on SCTP only (each repeatable), on the IPv6 wildcard, which
 * takes IPv4 too.  Prints "ready" once every listener is up, accepts and
 * keeps connections until the peer closes, and exits when standard input
 * reaches end of file (or on a signal).  -l FILE appends a line
 * "peer proto=tcp|sctp addr=ADDR port=PORT" to FILE for every connection
 * accepted (IPv4 peers as plain dotted quads).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define MAX_FDS	4096

static struct pollfd pfd[MAX_FDS];
static int is_listener[MAX_FDS];	/* the listener's protocol, or 0 */
static int nfds = 1;	/* pfd[0]: standard input */
static FILE *peer_log;

static void log_peer(const struct sockaddr_in6 *sin6, int proto)
{
	char a[INET6_ADDRSTRLEN];
	const void *src = &sin6->sin6_addr;
	int fam = AF_INET6;

	if (!peer_log)
		return;
	if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
		src = &sin6->sin6_addr.s6_addr[12];
		fam = AF_INET;
	}
	if (!inet_ntop(fam, src, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	fprintf(peer_log, "peer proto=%s addr=%s port=%u\n",
		proto == IPPROTO_SCTP ? "sctp" : "tcp", a, ntohs(sin6->sin6_port));
	fflush(peer_log);
}

static int listen_on(int port, int proto)
{
	struct sockaddr_in6 sin6;
	int fd, one = 1, zero = 0;

	if (nfds == MAX_FDS)
		return -1;
	fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(port);
	if (bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)) || listen(fd, 1024)) {
		fprintf(stderr, "taps_srv: port %d proto %d: %s\n", port, proto, strerror(errno));
		close(fd);
		return -1;
	}
	pfd[nfds].fd = fd;
	pfd[nfds].events = POLLIN;
	is_listener[nfds++] = proto;
	return 0;
}

static int listen_range(const char *arg, int tcp, int sctp)
{
	int lo, hi, p;

	if (sscanf(arg, "%d-%d", &lo, &hi) != 2)
		hi = lo = atoi(arg);
	for (p = lo; p <= hi; p++)
		if ((tcp && listen_on(p, IPPROTO_TCP)) || (sctp && listen_on(p, IPPROTO_SCTP)))
			return -1;
	return 0;
}

int main(int argc, char **argv)
{
	int opt, i;

	pfd[0].fd = 0;
	pfd[0].events = POLLIN;
	while ((opt = getopt(argc, argv, "N:l:b:t:s:")) != -1) {
		switch (opt) {
		case 'N': {
			char path[256];
			int nsfd;

			snprintf(path, sizeof(path), "/run/netns/%s", optarg);
			nsfd = open(path, O_RDONLY | O_CLOEXEC);
			if (nsfd < 0 || setns(nsfd, CLONE_NEWNET)) {
				perror(path);
				return 2;
			}
			close(nsfd);
			break;
		}
		case 'l':
			peer_log = fopen(optarg, "a");
			if (!peer_log) {
				perror(optarg);
				return 2;
			}
			break;
		case 'b':
		case 't':
		case 's':
			if (listen_range(optarg, opt != 's', opt != 't'))
				return 2;
			break;
		default:
			fprintf(stderr, "usage: taps_srv [-N NETNS] [-l FILE] [-b PORTS] [-t PORTS] [-s PORTS]\n");
			return 2;
		}
	}
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		int n = nfds;

		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		if (pfd[0].revents) {
			char buf[64];

			if (read(0, buf, sizeof(buf)) <= 0)
				return 0;
		}
		for (i = 1; i < n; i++) {
			char buf[4096];
			ssize_t r;
			int c;

			if (!pfd[i].revents)
				continue;
			if (is_listener[i]) {
				struct sockaddr_in6 peer;
				socklen_t plen = sizeof(peer);

				while (nfds < MAX_FDS &&
				       (c = accept4(pfd[i].fd, (struct sockaddr *)&peer, &plen,
						    SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
					log_peer(&peer, is_listener[i]);
					plen = sizeof(peer);
					pfd[nfds].fd = c;
					pfd[nfds].events = POLLIN;
					pfd[nfds].revents = 0;
					is_listener[nfds++] = 0;
				}
				continue;
			}
			r = read(pfd[i].fd, buf, sizeof(buf));
			if (r > 0 || (r < 0 && errno == EAGAIN))
				continue;
			/* EOF or error: poll() skips negative fds, compacted below. */
			close(pfd[i].fd);
			pfd[i].fd = -1;
		}
		for (i = n = 1; i < nfds; i++) {
			if (pfd[i].fd < 0)
				continue;
			pfd[n] = pfd[i];
			is_listener[n++] = is_listener[i];
		}
		nfds = n;
	}
}
