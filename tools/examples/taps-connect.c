// SPDX-License-Identifier: GPL-2.0
/*
 * taps-connect: race a connection to several endpoints and say who won.
 *
 *   taps-connect [-i] [-d DELAY_MS] [-p tcp,sctp,mptcp] [-m PREF] ADDR PORT [ADDR PORT...]
 *
 * -m sets TAPS_SEL_MULTISTREAMING (require, prefer, none, avoid, prohibit),
 * -i TAPS_ISOLATE (the race neither uses nor feeds the cached state).
 * Prints the winner, the time to connect and what was tried; exits with
 * the connect() errno on failure.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "taps.h"

static void addr_str(const struct __kernel_sockaddr_storage *ss, char *buf, size_t len)
{
	const struct sockaddr_in6 *sin6 = (const void *)ss;
	const struct sockaddr_in *sin = (const void *)ss;
	char a[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET)
		snprintf(buf, len, "%s:%u", inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a)),
			 ntohs(sin->sin_port));
	else if (ss->ss_family == AF_INET6)
		snprintf(buf, len, "[%s]:%u", inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a)),
			 ntohs(sin6->sin6_port));
	else
		snprintf(buf, len, "-");
}

static int parse_endpoint(const char *addr, const char *port, struct taps_endpoint *ep)
{
	memset(ep, 0, sizeof(*ep));
	if (inet_pton(AF_INET, addr, &ep->sin.sin_addr) == 1) {
		ep->sin.sin_family = AF_INET;
		ep->sin.sin_port = htons(atoi(port));
		return 0;
	}
	if (inet_pton(AF_INET6, addr, &ep->sin6.sin6_addr) == 1) {
		ep->sin6.sin6_family = AF_INET6;
		ep->sin6.sin6_port = htons(atoi(port));
		return 0;
	}
	return -1;
}

static int parse_pref(const char *s)
{
	static const char * const names[] = { "none", "require", "prefer", "avoid", "prohibit" };
	unsigned int i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(s, names[i]))
			return i;
	return -1;
}

/* TAPS_INFO_F_*: what shaped the race besides the application */
static const char *flags_str(unsigned int flags)
{
	static char buf[64];

	snprintf(buf, sizeof(buf), "%s%s%s",
		 flags & TAPS_INFO_F_CACHED ? " [cache reordered]" : "",
		 flags & TAPS_INFO_F_POLICY ? " [policy rule]" : "",
		 flags & TAPS_INFO_F_ISOLATED ? " [isolated]" : "");
	return buf;
}

static void usage(void)
{
	fprintf(stderr, "Usage: taps-connect [-i] [-d DELAY_MS] [-p tcp,sctp,mptcp] [-m PREF] ADDR PORT [ADDR PORT...]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct taps_endpoint ep[TAPS_MAX_ENDPOINTS];
	struct sockaddr_taps st = {};
	int fd, opt, n = 0, delay = 0, protos = 0, ms = -1, isolate = 0;
	struct taps_info ti;
	socklen_t len = sizeof(ti);
	char l[64], r[64];

	while ((opt = getopt(argc, argv, "id:p:m:")) != -1) {
		switch (opt) {
		case 'i':
			isolate = 1;
			break;
		case 'd':
			delay = atoi(optarg);
			break;
		case 'p':
			protos |= strstr(optarg, "tcp") && !strstr(optarg, "mptcp") ? TAPS_P_TCP : 0;
			protos |= strstr(optarg, "sctp") ? TAPS_P_SCTP : 0;
			protos |= strstr(optarg, "mptcp") ? TAPS_P_MPTCP : 0;
			break;
		case 'm':
			ms = parse_pref(optarg);
			if (ms < 0)
				usage();
			break;
		default:
			usage();
		}
	}
	if (optind >= argc || (argc - optind) % 2)
		usage();
	for (; optind < argc && n < TAPS_MAX_ENDPOINTS; optind += 2, n++)
		if (parse_endpoint(argv[optind], argv[optind + 1], &ep[n]))
			usage();

	fd = socket(taps_family(), SOCK_STREAM, 0);
	if (fd < 0) {
		perror("socket");
		return 1;
	}
	if (setsockopt(fd, SOL_TAPS, TAPS_REMOTE_ENDPOINTS, ep, n * sizeof(ep[0])) ||
	    (delay && setsockopt(fd, SOL_TAPS, TAPS_ATTEMPT_DELAY, &delay, sizeof(delay))) ||
	    (protos && setsockopt(fd, SOL_TAPS, TAPS_PROTOCOLS, &protos, sizeof(protos))) ||
	    (ms >= 0 && setsockopt(fd, SOL_TAPS, TAPS_SEL_MULTISTREAMING, &ms, sizeof(ms))) ||
	    (isolate && setsockopt(fd, SOL_TAPS, TAPS_ISOLATE, &isolate, sizeof(isolate)))) {
		perror("setsockopt");
		return 1;
	}
	st.stap_family = taps_family();
	if (connect(fd, (struct sockaddr *)&st, sizeof(st))) {
		int err = errno;

		getsockopt(fd, SOL_TAPS, TAPS_INFO, &ti, &len);
		printf("failed: %s after %u attempts of %u candidates (%u failed)%s\n",
		       strerror(err), ti.ti_attempts, ti.ti_candidates, ti.ti_failed,
		       flags_str(ti.ti_flags));
		return err;
	}
	getsockopt(fd, SOL_TAPS, TAPS_INFO, &ti, &len);
	addr_str(&ti.ti_local, l, sizeof(l));
	addr_str(&ti.ti_remote, r, sizeof(r));
	printf("won: %s %s -> %s in %.1f ms (candidate %u of %u, %u attempts, %u failed, delay %u ms)%s\n",
	       taps_protocol_name(ti.ti_protocol), l, r, ti.ti_connect_us / 1000.0, ti.ti_winner,
	       ti.ti_candidates, ti.ti_attempts, ti.ti_failed, ti.ti_attempt_delay_ms,
	       flags_str(ti.ti_flags));
	close(fd);
	return 0;
}
