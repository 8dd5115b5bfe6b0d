/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bench: what bench.c (AF_TAPS against plain TCP) shares with
 * bench-libtaps.c (libtaps against the plain-socket equivalent).
 */
#ifndef _BENCH_H
#define _BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#define MAX_ROUNDS	64
#define CHUNK		(128 * 1024)

struct target {
	struct sockaddr_storage	ss;
	socklen_t		len;
};

extern int af_taps;	/* taps_family() */

void __attribute__((noreturn, format(printf, 1, 2))) die(const char *fmt, ...);
/* One line "SUMMARY ..." on stdout, which run.sh collects. */
void __attribute__((format(printf, 1, 2))) summary(const char *fmt, ...);
double now_us(void);
double median_sort(double *v, int n);	/* sorts v */
double median(const double *v, int n);
double mean(const double *v, int n);
/* "met" or "missed" */
const char *goal(double ratio, double limit, bool at_most);
int parse_int(const char *s, int min, int max);
void parse_target(struct target *t, const char *addr, const char *port);
void write_all(int fd, const void *p, size_t len);
void read_all(int fd, void *p, size_t len);
void set_nodelay(int fd);
/* close with SO_LINGER {1, 0}: RST, nothing left in TIME_WAIT */
void close_abort(int fd);
/* setns() into /run/netns/NAME (or a path) */
void enter_netns(const char *name);
/* a non-blocking listener of protocol on [::]:port, both families */
int server_listen(int protocol, int port);
/* "TAPSCTL cache flush" */
void cache_flush(const char *tapsctl);

/* bench-libtaps.c */
int cmd_echo(int argc, char **argv);
int cmd_framer(int argc, char **argv);
int cmd_name(int argc, char **argv);

#endif /* _BENCH_H */
