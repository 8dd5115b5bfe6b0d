/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tapsctl: AF_TAPS configuration tool, shared declarations.
 */
#ifndef _TAPSCTL_H
#define _TAPSCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <netinet/in.h>
#include <libmnl/libmnl.h>

#include "taps.h"

#define TAPSCTL_VERSION	"1.0"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define __printf(a, b)	__attribute__((format(printf, a, b)))

/* Exit status, as ip(8) */
#define EXIT_OK		0
#define EXIT_KERNEL	1
#define EXIT_USAGE	2

/* The tiny JSON writer (json.c) */
struct json {
	FILE	*f;
	bool	pretty;
	bool	first;		/* nothing written yet at this level */
	int	depth;
};

void json_init(struct json *j, FILE *f, bool pretty);
void json_obj_open(struct json *j, const char *key);
void json_obj_close(struct json *j);
void json_arr_open(struct json *j, const char *key);
void json_arr_close(struct json *j);
void json_str(struct json *j, const char *key, const char *s);
void json_uint(struct json *j, const char *key, uint64_t v);
void json_bool(struct json *j, const char *key, bool v);
void json_null(struct json *j, const char *key);
void json_end(struct json *j);

/* Generic netlink, family "taps" (nl.c) */
#define NL_SBUF_SIZE	8192

struct nl {
	struct mnl_socket	*sock;
	uint16_t		family;		/* genl family id of "taps" */
	uint32_t		mcgrp;		/* id of "events", 0 if none */
	uint32_t		portid;
	uint32_t		seq;
	char			*rbuf;		/* receive buffer */
	char			sbuf[NL_SBUF_SIZE];	/* request */
};

/* Expected type of one attribute of a nest, for nl_parse_*() */
struct nl_attr_spec {
	uint8_t		type;		/* enum mnl_attr_data_type */
	uint8_t		len;		/* MNL_TYPE_BINARY: exact length, 0: any */
};

int nl_open(struct nl *nl, const char *netns, bool quiet_enoent);
void nl_close(struct nl *nl);
struct nlmsghdr *nl_req(struct nl *nl, uint8_t cmd, uint16_t flags);
int nl_talk(struct nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data);
int nl_join_events(struct nl *nl);
int nl_recv(struct nl *nl, mnl_cb_t cb, void *data);
int nl_parse_msg(const struct nlmsghdr *nlh, const struct nl_attr_spec *spec,
		 unsigned int max, const struct nlattr **tb);
int nl_parse_nest(const struct nlattr *nest, const struct nl_attr_spec *spec,
		  unsigned int max, const struct nlattr **tb);

/* Values: parsing and printing (util.c) */
struct taps_addr {
	int		family;		/* AF_INET, AF_INET6, 0: none */
	union {
		struct in_addr	a4;
		struct in6_addr	a6;
	};
	uint16_t	port;
	bool		has_port;
};

struct taps_prefix {
	struct taps_addr	addr;
	uint8_t			len;
};

bool matches(const char *arg, const char *word);
int parse_time_ms(const char *s, uint32_t *ms);
int parse_u32(const char *s, uint32_t *v);
int parse_proto(const char *s, uint32_t *bit);
int parse_proto_list(const char *s, uint32_t *mask);
int parse_proto_order(const char *s, uint8_t *order, size_t *n);
int parse_addr(const char *s, struct taps_addr *a);
int parse_prefix(const char *s, struct taps_prefix *p);

const char *proto_bit_name(uint32_t bit);
const char *ipproto_name(uint32_t ipproto);
const char *sock_type_name(uint32_t type);
void fmt_time_ms(char *buf, size_t len, uint64_t ms);
void fmt_age_ms(char *buf, size_t len, uint64_t ms);
void fmt_usec(char *buf, size_t len, uint64_t us);
void print_proto_mask(FILE *f, uint32_t mask);
void json_proto_mask(struct json *j, const char *key, uint32_t mask);
void json_ipproto(struct json *j, const char *key, uint32_t ipproto);

void put_addr(struct nlmsghdr *nlh, uint16_t type, const struct taps_addr *a);
int get_addr(const struct nlattr *nest, struct taps_addr *a);
const char *addr_str(const struct taps_addr *a, char *buf, size_t len);
void print_endpoint(FILE *f, const struct taps_addr *a);
void json_endpoint(struct json *j, const char *key, const struct taps_addr *a);

/* Everything a command needs: the options and the kernel connection */
struct ctx {
	bool		json;
	bool		pretty;
	const char	*netns;
	const char	*object;	/* for "try tapsctl OBJECT help" */
	void		(*usage)(FILE *f);	/* the object's usage */
	struct json	js;
	struct nl	nl;
	bool		nl_open;	/* nl_open() was called: nl_close() */
	bool		nl_failed;	/* and failed (said so) */
};

int ctx_nl(struct ctx *c);
__printf(2, 3) int usage_error(const struct ctx *c, const char *fmt, ...);
int unknown_word(const struct ctx *c, const char *what, const char *word);
int need_value(const struct ctx *c, int argc, char **argv);
bool is_help(const char *arg);
int parse_time_arg(const struct ctx *c, const char *kw, const char *arg,
		   uint32_t min, uint32_t max, uint32_t *ms);
int parse_u32_arg(const struct ctx *c, const char *kw, const char *arg,
		  uint32_t min, uint32_t max, uint32_t *v);

/* Objects, and their usage text */
void family_usage(FILE *f);
void policy_usage(FILE *f);
void rule_usage(FILE *f);
void cache_usage(FILE *f);
void conn_usage(FILE *f);
void stats_usage(FILE *f);
void monitor_usage(FILE *f);
int do_family(struct ctx *c, int argc, char **argv);
int do_policy(struct ctx *c, int argc, char **argv);
int do_rule(struct ctx *c, int argc, char **argv);
int do_cache(struct ctx *c, int argc, char **argv);
int do_conn(struct ctx *c, int argc, char **argv);
int do_stats(struct ctx *c, int argc, char **argv);
int do_monitor(struct ctx *c, int argc, char **argv);

/* Shared by the dumps and the monitor */
void print_cache_entry(const struct nlattr *nest);
void json_cache_members(struct json *j, const struct nlattr *nest);
void parse_conn(const struct nlattr *nest, const struct nlattr **tb);
void json_conn_members(struct json *j, const struct nlattr **tb);
void print_remote(const struct nlattr **tb);

#endif /* _TAPSCTL_H */
