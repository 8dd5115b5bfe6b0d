// SPDX-License-Identifier: GPL-2.0
/*
 * tapsctl: values on the command line and in the output: TIME, PROTO,
 * LIST, ADDR, PREFIX, and the address nests of the "taps" family.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "tapsctl.h"

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP	262
#endif

#define NSEC_PER_USEC	1000ULL
#define NSEC_PER_MSEC	1000000ULL
#define NSEC_PER_SEC	1000000000ULL
#define FRAC_DIGITS	6	/* keeps frac * unit below 2^64 */

static const struct proto {
	const char	*name;
	uint32_t	bit;		/* TAPS_P_* */
	uint32_t	ipproto;	/* IPPROTO_* */
} protos[] = {
	{ "tcp",	TAPS_P_TCP,	IPPROTO_TCP },
	{ "sctp",	TAPS_P_SCTP,	IPPROTO_SCTP },
	{ "mptcp",	TAPS_P_MPTCP,	IPPROTO_MPTCP },
};

#define NPROTOS	ARRAY_SIZE(protos)

/* ip(8)-style abbreviation: @arg is a non-empty prefix of @word */
bool matches(const char *arg, const char *word)
{
	size_t n = strlen(arg);

	return n && n <= strlen(word) && !strncmp(arg, word, n);
}

/* Decimal digits at *@p into @v; false on overflow or no digit */
static bool parse_digits(const char **p, uint64_t *v)
{
	const char *s = *p;

	if (!isdigit((unsigned char)*s))
		return false;
	for (*v = 0; isdigit((unsigned char)*s); s++) {
		if (*v > (UINT64_MAX - 9) / 10)
			return false;
		*v = *v * 10 + (uint64_t)(*s - '0');
	}
	*p = s;
	return true;
}

static bool time_unit(const char *s, uint64_t *ns)
{
	static const struct {
		const char	*suffix;
		uint64_t	ns;
	} units[] = {
		{ "",	NSEC_PER_MSEC },
		{ "us",	NSEC_PER_USEC },
		{ "ms",	NSEC_PER_MSEC },
		{ "s",	NSEC_PER_SEC },
		{ "m",	60 * NSEC_PER_SEC },
		{ "h",	3600 * NSEC_PER_SEC },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(units); i++) {
		if (!strcmp(s, units[i].suffix)) {
			*ns = units[i].ns;
			return true;
		}
	}
	return false;
}

/*
 * TIME: a decimal number with an optional fraction and unit (us, ms, s, m,
 * h; none means ms), rounded up to whole milliseconds.  -1 if malformed or
 * beyond a u32 of ms.
 */
int parse_time_ms(const char *s, uint32_t *ms)
{
	uint64_t ip, frac = 0, scale = 1, unit, ns, v;
	bool rest = false;
	const char *p = s;

	if (!parse_digits(&p, &ip))
		return -1;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		for (; isdigit((unsigned char)*p); p++) {
			if (scale < 1000000) {
				frac = frac * 10 + (uint64_t)(*p - '0');
				scale *= 10;
			} else if (*p != '0') {
				rest = true;
			}
		}
	}
	if (!time_unit(p, &unit) || ip > UINT64_MAX / unit)
		return -1;
	ns = ip * unit;
	v = (frac * unit + scale - 1) / scale + rest;
	if (ns > UINT64_MAX - v)
		return -1;
	ns += v;
	v = (ns + NSEC_PER_MSEC - 1) / NSEC_PER_MSEC;
	if (v > UINT32_MAX)
		return -1;
	*ms = (uint32_t)v;
	return 0;
}

int parse_u32(const char *s, uint32_t *v)
{
	const char *p = s;
	uint64_t n;

	if (!parse_digits(&p, &n) || *p || n > UINT32_MAX)
		return -1;
	*v = (uint32_t)n;
	return 0;
}

int parse_proto(const char *s, uint32_t *bit)
{
	size_t i;

	for (i = 0; i < NPROTOS; i++) {
		if (!strcmp(s, protos[i].name)) {
			*bit = protos[i].bit;
			return 0;
		}
	}
	return -1;
}

typedef int (*word_fn)(const char *w, void *data);

/* Calls @fn for each comma separated word of @s; -1 on an empty one */
static int walk_words(const char *s, word_fn fn, void *data)
{
	char word[32];
	const char *end;
	size_t n;

	for (;;) {
		end = strchr(s, ',');
		n = end ? (size_t)(end - s) : strlen(s);
		if (!n || n >= sizeof(word))
			return -1;
		memcpy(word, s, n);
		word[n] = '\0';
		if (fn(word, data) < 0)
			return -1;
		if (!end)
			return 0;
		s = end + 1;
	}
}

static int add_to_mask(const char *w, void *data)
{
	uint32_t *mask = data, bit;

	if (parse_proto(w, &bit) < 0)
		return -1;
	*mask |= bit;
	return 0;
}

/* LIST: "all" or comma separated PROTOs, into TAPS_P_* bits */
int parse_proto_list(const char *s, uint32_t *mask)
{
	*mask = 0;
	if (!strcmp(s, "all")) {
		*mask = TAPS_P_ALL;
		return 0;
	}
	return walk_words(s, add_to_mask, mask);
}

struct order {
	uint8_t	*bits;
	size_t	n;
};

static int add_to_order(const char *w, void *data)
{
	struct order *o = data;
	uint32_t bit;
	size_t i;

	if (parse_proto(w, &bit) < 0 || o->n >= NPROTOS)
		return -1;
	for (i = 0; i < o->n; i++)
		if (o->bits[i] == bit)
			return -1;
	o->bits[o->n++] = (uint8_t)bit;
	return 0;
}

/* An order LIST: PROTOs, each once, most preferred first; @order holds 3 */
int parse_proto_order(const char *s, uint8_t *order, size_t *n)
{
	struct order o = { .bits = order, .n = 0 };
	size_t i;

	if (!strcmp(s, "all")) {
		for (i = 0; i < NPROTOS; i++)
			order[i] = (uint8_t)protos[i].bit;
		*n = NPROTOS;
		return 0;
	}
	if (walk_words(s, add_to_order, &o) < 0)
		return -1;
	*n = o.n;
	return 0;
}

int parse_addr(const char *s, struct taps_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, &a->a4) == 1)
		a->family = AF_INET;
	else if (inet_pton(AF_INET6, s, &a->a6) == 1)
		a->family = AF_INET6;
	else
		return -1;
	return 0;
}

/* PREFIX: ADDR[/LEN]; a bare address is a host prefix */
int parse_prefix(const char *s, struct taps_prefix *p)
{
	char buf[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	uint32_t len, max;

	if (n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (parse_addr(buf, &p->addr) < 0)
		return -1;
	max = p->addr.family == AF_INET ? 32 : 128;
	if (!slash) {
		p->len = (uint8_t)max;
		return 0;
	}
	if (parse_u32(slash + 1, &len) < 0 || len > max)
		return -1;
	p->len = (uint8_t)len;
	return 0;
}

const char *proto_bit_name(uint32_t bit)
{
	size_t i;

	for (i = 0; i < NPROTOS; i++)
		if (protos[i].bit == bit)
			return protos[i].name;
	return NULL;
}

const char *ipproto_name(uint32_t ipproto)
{
	size_t i;

	for (i = 0; i < NPROTOS; i++)
		if (protos[i].ipproto == ipproto)
			return protos[i].name;
	return NULL;
}

const char *sock_type_name(uint32_t type)
{
	switch (type) {
	case SOCK_STREAM:
		return "stream";
	case SOCK_DGRAM:
		return "dgram";
	case SOCK_SEQPACKET:
		return "seqpacket";
	case SOCK_RDM:
		return "rdm";
	}
	return NULL;
}

/* A TIME as it is given back: "250ms", "2s", "600s", "12.5s", "0ms" */
void fmt_time_ms(char *buf, size_t len, uint64_t ms)
{
	char frac[8];
	int i;

	if (ms % 1000 == 0 && ms) {
		snprintf(buf, len, "%llus", (unsigned long long)(ms / 1000));
		return;
	}
	if (ms < 10000) {
		snprintf(buf, len, "%llums", (unsigned long long)ms);
		return;
	}
	snprintf(frac, sizeof(frac), "%03u", (unsigned int)(ms % 1000));
	for (i = 2; i > 0 && frac[i] == '0'; i--)
		frac[i] = '\0';
	snprintf(buf, len, "%llu.%ss", (unsigned long long)(ms / 1000), frac);
}

/* An age: as a TIME below 10 s, whole seconds above */
void fmt_age_ms(char *buf, size_t len, uint64_t ms)
{
	if (ms < 10000)
		fmt_time_ms(buf, len, ms);
	else
		snprintf(buf, len, "%llus", (unsigned long long)(ms / 1000));
}

/* A duration in us: "812us", "251ms" below 10 s, then seconds (rounded) */
void fmt_usec(char *buf, size_t len, uint64_t us)
{
	if (us < 1000)
		snprintf(buf, len, "%lluus", (unsigned long long)us);
	else if (us < 10000000)
		snprintf(buf, len, "%llums", (unsigned long long)((us + 500) / 1000));
	else
		snprintf(buf, len, "%llus", (unsigned long long)((us + 500000) / 1000000));
}

/* TAPS_P_* bits as a LIST: "tcp,sctp", unknown bits in hex, "none" */
void print_proto_mask(FILE *f, uint32_t mask)
{
	const char *sep = "";
	uint32_t bit;

	if (!mask) {
		fputs("none", f);
		return;
	}
	for (bit = 1; bit; bit <<= 1) {
		if (!(mask & bit))
			continue;
		if (proto_bit_name(bit))
			fprintf(f, "%s%s", sep, proto_bit_name(bit));
		else
			fprintf(f, "%s%#x", sep, bit);
		sep = ",";
	}
}

void json_proto_mask(struct json *j, const char *key, uint32_t mask)
{
	char hex[16];
	uint32_t bit;

	json_arr_open(j, key);
	for (bit = 1; bit; bit <<= 1) {
		if (!(mask & bit))
			continue;
		snprintf(hex, sizeof(hex), "%#x", bit);
		json_str(j, NULL, proto_bit_name(bit) ? proto_bit_name(bit) : hex);
	}
	json_arr_close(j);
}

/* An IPPROTO_*: its name, null for 0, the number if unknown */
void json_ipproto(struct json *j, const char *key, uint32_t ipproto)
{
	if (!ipproto)
		json_null(j, key);
	else if (ipproto_name(ipproto))
		json_str(j, key, ipproto_name(ipproto));
	else
		json_uint(j, key, ipproto);
}

void put_addr(struct nlmsghdr *nlh, uint16_t type, const struct taps_addr *a)
{
	struct nlattr *nest = mnl_attr_nest_start(nlh, type);

	mnl_attr_put_u16(nlh, TAPS_ADDR_A_FAMILY, (uint16_t)a->family);
	if (a->family == AF_INET)
		mnl_attr_put(nlh, TAPS_ADDR_A_ADDR4, sizeof(a->a4), &a->a4);
	else
		mnl_attr_put(nlh, TAPS_ADDR_A_ADDR6, sizeof(a->a6), &a->a6);
	if (a->has_port)
		mnl_attr_put_u16(nlh, TAPS_ADDR_A_PORT, a->port);
	mnl_attr_nest_end(nlh, nest);
}

static const struct nl_attr_spec addr_spec[TAPS_ADDR_A_MAX + 1] = {
	[TAPS_ADDR_A_FAMILY]	= { MNL_TYPE_U16, 0 },
	[TAPS_ADDR_A_ADDR4]	= { MNL_TYPE_BINARY, sizeof(struct in_addr) },
	[TAPS_ADDR_A_ADDR6]	= { MNL_TYPE_BINARY, sizeof(struct in6_addr) },
	[TAPS_ADDR_A_PORT]	= { MNL_TYPE_U16, 0 },
};

/* An address nest; the family follows the address if FAMILY is missing */
int get_addr(const struct nlattr *nest, struct taps_addr *a)
{
	const struct nlattr *tb[TAPS_ADDR_A_MAX + 1];
	int family = 0;

	memset(a, 0, sizeof(*a));
	if (nl_parse_nest(nest, addr_spec, TAPS_ADDR_A_MAX, tb) < 0)
		return -1;
	if (tb[TAPS_ADDR_A_FAMILY])
		family = mnl_attr_get_u16(tb[TAPS_ADDR_A_FAMILY]);
	else if (tb[TAPS_ADDR_A_ADDR4])
		family = AF_INET;
	else if (tb[TAPS_ADDR_A_ADDR6])
		family = AF_INET6;
	if (family == AF_INET && tb[TAPS_ADDR_A_ADDR4])
		memcpy(&a->a4, mnl_attr_get_payload(tb[TAPS_ADDR_A_ADDR4]), sizeof(a->a4));
	else if (family == AF_INET6 && tb[TAPS_ADDR_A_ADDR6])
		memcpy(&a->a6, mnl_attr_get_payload(tb[TAPS_ADDR_A_ADDR6]), sizeof(a->a6));
	else
		return -1;
	a->family = family;
	if (tb[TAPS_ADDR_A_PORT]) {
		a->port = mnl_attr_get_u16(tb[TAPS_ADDR_A_PORT]);
		a->has_port = true;
	}
	return 0;
}

const char *addr_str(const struct taps_addr *a, char *buf, size_t len)
{
	if (!inet_ntop(a->family, &a->a6, buf, (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

/* "192.0.2.1:8080", "[2001:db8::1]:8080" */
void print_endpoint(FILE *f, const struct taps_addr *a)
{
	char buf[INET6_ADDRSTRLEN];

	addr_str(a, buf, sizeof(buf));
	if (!a->has_port)
		fputs(buf, f);
	else if (a->family == AF_INET6)
		fprintf(f, "[%s]:%u", buf, a->port);
	else
		fprintf(f, "%s:%u", buf, a->port);
}

void json_endpoint(struct json *j, const char *key, const struct taps_addr *a)
{
	char buf[INET6_ADDRSTRLEN];

	json_obj_open(j, key);
	json_str(j, "addr", addr_str(a, buf, sizeof(buf)));
	if (a->has_port)
		json_uint(j, "port", a->port);
	json_obj_close(j);
}
