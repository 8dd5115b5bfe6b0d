// SPDX-License-Identifier: GPL-2.0
/*
 * libtaps on the build host, no module: properties and their validation,
 * RFC 6724/8305 address ordering, the RFC 8305 resolution delay with a
 * stub resolver, the loop's timers and embedding, and the events of an
 * initiate that cannot work here.
 */
#include <arpa/inet.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "internal.h"

/* ---- properties ---- */

TEST(property_defaults)
{
	struct taps_loop *loop = taps_loop_new();
	struct taps_preconnection *pre = taps_preconnection_new(loop);
	static const struct { enum taps_property p; int64_t v; } want[] = {
		{ TAPS_PROP_RELIABILITY, TAPS_PREF_REQUIRE },
		{ TAPS_PROP_PRESERVE_MSG_BOUNDARIES, TAPS_PREF_NO_PREFERENCE },
		{ TAPS_PROP_PER_MSG_RELIABILITY, TAPS_PREF_NO_PREFERENCE },
		{ TAPS_PROP_PRESERVE_ORDER, TAPS_PREF_REQUIRE },
		{ TAPS_PROP_ZERO_RTT_MSG, TAPS_PREF_NO_PREFERENCE },
		{ TAPS_PROP_MULTISTREAMING, TAPS_PREF_NO_PREFERENCE },
		{ TAPS_PROP_FULL_CHECKSUM_SEND, TAPS_PREF_REQUIRE },
		{ TAPS_PROP_FULL_CHECKSUM_RECV, TAPS_PREF_REQUIRE },
		{ TAPS_PROP_CONGESTION_CONTROL, TAPS_PREF_REQUIRE },
		{ TAPS_PROP_KEEP_ALIVE, TAPS_PREF_NO_PREFERENCE },
		{ TAPS_PROP_MULTIPATH, TAPS_MULTIPATH_DISABLED },
		{ TAPS_PROP_DIRECTION, TAPS_DIRECTION_BIDIRECTIONAL },
		{ TAPS_PROP_CONN_TIMEOUT, -1 },
		{ TAPS_PROP_KEEP_ALIVE_TIMEOUT, -1 },
		{ TAPS_PROP_CONN_PRIORITY, 100 },
		{ TAPS_PROP_ISOLATE_SESSION, 0 },
	};
	unsigned int i;
	int64_t v;

	ASSERT_NE(NULL, loop);
	ASSERT_NE(NULL, pre);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		v = -99;
		ASSERT_EQ(0, taps_preconnection_get(pre, want[i].p, &v));
		EXPECT_EQ(want[i].v, v) TH_LOG("%s", taps_property_name(want[i].p));
	}
	EXPECT_EQ(0, taps_preconnection_check(pre, NULL));
	taps_preconnection_free(pre);
	taps_loop_free(loop);
}

TEST(property_names)
{
	int i;

	for (i = 0; i < TAPS_PROP_COUNT; i++) {
		ASSERT_NE(NULL, taps_property_name(i));
		EXPECT_EQ(i, taps_property_lookup(taps_property_name(i)));
	}
	EXPECT_STREQ("connTimeout", taps_property_name(TAPS_PROP_CONN_TIMEOUT));
	EXPECT_STREQ("multistreaming", taps_property_name(TAPS_PROP_MULTISTREAMING));
	EXPECT_EQ(NULL, taps_property_name(TAPS_PROP_COUNT));
	EXPECT_EQ(-1, taps_property_lookup("noSuchProperty"));
	EXPECT_STREQ("Require", taps_pref_name(TAPS_PREF_REQUIRE));
	EXPECT_STREQ("Prohibit", taps_pref_name(TAPS_PREF_PROHIBIT));
	EXPECT_STREQ("?", taps_pref_name(5));
}

TEST(property_validation)
{
	struct taps_loop *loop = taps_loop_new();
	struct taps_preconnection *pre = taps_preconnection_new(loop);
	int64_t v;

	EXPECT_EQ(-EINVAL, taps_preconnection_set(pre, TAPS_PROP_RELIABILITY, 5));
	EXPECT_EQ(-EINVAL, taps_preconnection_set(pre, TAPS_PROP_RELIABILITY, -1));
	EXPECT_EQ(-EINVAL, taps_preconnection_set(pre, TAPS_PROP_MULTIPATH, 3));
	EXPECT_EQ(-EINVAL, taps_preconnection_set(pre, TAPS_PROP_ISOLATE_SESSION, 2));
	EXPECT_EQ(-EINVAL, taps_preconnection_set(pre, TAPS_PROP_CONN_TIMEOUT, -2));
	EXPECT_EQ(-EINVAL, taps_preconnection_set(pre, TAPS_PROP_ATTEMPT_DELAY, 5));
	EXPECT_EQ(-EINVAL, taps_preconnection_set(pre, TAPS_PROP_ATTEMPT_DELAY, 2001));
	EXPECT_EQ(-EINVAL, taps_preconnection_set(pre, TAPS_PROP_PROTOCOLS, 8));
	EXPECT_EQ(-EROFS, taps_preconnection_set(pre, TAPS_PROP_CONN_STATE, 0));
	EXPECT_EQ(-ENOENT, taps_preconnection_set(pre, TAPS_PROP_COUNT, 0));
	EXPECT_EQ(-ENOENT, taps_preconnection_get(pre, TAPS_PROP_COUNT, &v));
	/* a failed set leaves the value */
	ASSERT_EQ(0, taps_preconnection_get(pre, TAPS_PROP_RELIABILITY, &v));
	EXPECT_EQ(TAPS_PREF_REQUIRE, v);
	EXPECT_EQ(0, taps_preconnection_set(pre, TAPS_PROP_CONN_TIMEOUT, 1500));
	ASSERT_EQ(0, taps_preconnection_get(pre, TAPS_PROP_CONN_TIMEOUT, &v));
	EXPECT_EQ(1500, v);
	EXPECT_EQ(0, taps_preconnection_set(pre, TAPS_PROP_ATTEMPT_DELAY, 10));
	EXPECT_EQ(-EINVAL, taps_preconnection_add_remote(pre, "example.org", "99999"));
	EXPECT_EQ(-EINVAL, taps_preconnection_add_remote(pre, "example.org", "no-such-svc"));
	EXPECT_EQ(0, taps_preconnection_add_remote(pre, "example.org", "http"));
	EXPECT_EQ(80, pre->remote[0].port);
	taps_preconnection_free(pre);
	taps_loop_free(loop);
}

/* impossible combinations fail with a reason naming the property */
TEST(property_impossible)
{
	static const struct {
		enum taps_property p;
		int64_t v;
		int64_t protocols;
		const char *word;
	} cases[] = {
		{ TAPS_PROP_RELIABILITY, TAPS_PREF_PROHIBIT, 0, "reliability" },
		{ TAPS_PROP_PRESERVE_ORDER, TAPS_PREF_PROHIBIT, 0, "preserveOrder" },
		{ TAPS_PROP_CONGESTION_CONTROL, TAPS_PREF_PROHIBIT, 0, "congestionControl" },
		{ TAPS_PROP_FULL_CHECKSUM_RECV, TAPS_PREF_PROHIBIT, 0, "fullChecksumRecv" },
		{ TAPS_PROP_PRESERVE_MSG_BOUNDARIES, TAPS_PREF_REQUIRE, 0, "framer" },
		{ TAPS_PROP_PER_MSG_RELIABILITY, TAPS_PREF_REQUIRE, 0, "perMsgReliability" },
		{ TAPS_PROP_ZERO_RTT_MSG, TAPS_PREF_REQUIRE, 0, "zeroRttMsg" },
		{ TAPS_PROP_MULTISTREAMING, TAPS_PREF_REQUIRE, TAPS_P_TCP, "multistreaming" },
		{ TAPS_PROP_MULTISTREAMING, TAPS_PREF_PROHIBIT, TAPS_P_SCTP, "multistreaming" },
		{ TAPS_PROP_MULTIPATH, TAPS_MULTIPATH_DISABLED, TAPS_P_MPTCP, "multipath" },
	};
	struct taps_loop *loop = taps_loop_new();
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct taps_preconnection *pre = taps_preconnection_new(loop);
		const char *reason = NULL;

		ASSERT_EQ(0, taps_preconnection_set(pre, cases[i].p, cases[i].v));
		if (cases[i].protocols)
			ASSERT_EQ(0, taps_preconnection_set(pre, TAPS_PROP_PROTOCOLS,
							    cases[i].protocols));
		EXPECT_EQ(-EPROTONOSUPPORT, taps_preconnection_check(pre, &reason));
		ASSERT_NE(NULL, reason);
		EXPECT_NE(NULL, strstr(reason, cases[i].word)) TH_LOG("case %u: %s", i, reason);
		taps_preconnection_free(pre);
	}
	/* ... and the satisfiable neighbours pass */
	{
		struct taps_preconnection *pre = taps_preconnection_new(loop);

		taps_preconnection_set(pre, TAPS_PROP_PRESERVE_MSG_BOUNDARIES, TAPS_PREF_REQUIRE);
		taps_preconnection_add_framer(pre, &taps_framer_line, NULL);
		EXPECT_EQ(0, taps_preconnection_check(pre, NULL));
		/* a stack (RFC 9622 section 9.1.2.1): up to four framers */
		EXPECT_EQ(0, taps_preconnection_add_framer(pre, &taps_framer_length_prefix, NULL));
		EXPECT_EQ(0, taps_preconnection_add_framer(pre, &taps_framer_line, NULL));
		EXPECT_EQ(0, taps_preconnection_add_framer(pre, &taps_framer_line, NULL));
		EXPECT_EQ(-ENOSPC, taps_preconnection_add_framer(pre, &taps_framer_line, NULL));
		EXPECT_EQ(0, taps_preconnection_check(pre, NULL));
		taps_preconnection_set(pre, TAPS_PROP_MULTISTREAMING, TAPS_PREF_REQUIRE);
		taps_preconnection_set(pre, TAPS_PROP_PROTOCOLS, TAPS_P_TCP | TAPS_P_SCTP);
		EXPECT_EQ(0, taps_preconnection_check(pre, NULL));
		taps_preconnection_set(pre, TAPS_PROP_RELIABILITY, TAPS_PREF_AVOID);
		EXPECT_EQ(0, taps_preconnection_check(pre, NULL));
		taps_preconnection_free(pre);
	}
	taps_loop_free(loop);
}

/* ---- RFC 6724 / RFC 8305 ordering ---- */

static struct taps_addr A(const char *s)
{
	struct taps_addr a;

	memset(&a, 0, sizeof(a));
	if (inet_pton(AF_INET, s, &a.sin.sin_addr) == 1)
		a.sa.sa_family = AF_INET;
	else if (inet_pton(AF_INET6, s, &a.sin6.sin6_addr) == 1)
		a.sa.sa_family = AF_INET6;
	return a;
}

static const char *S(const struct taps_addr *a)
{
	static char buf[8][INET6_ADDRSTRLEN];
	static int i;
	char *b = buf[i++ % 8];

	if (a->sa.sa_family == AF_INET)
		inet_ntop(AF_INET, &a->sin.sin_addr, b, INET6_ADDRSTRLEN);
	else
		inet_ntop(AF_INET6, &a->sin6.sin6_addr, b, INET6_ADDRSTRLEN);
	return b;
}

static void order(struct __test_metadata *_metadata, const char *in, const char *want)
{
	struct taps_addr a[16];
	char buf[512], got[512] = "", *tok, *save;
	int n = 0, i;

	snprintf(buf, sizeof(buf), "%s", in);
	for (tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
		a[n++] = A(tok);
	taps__order_addresses(a, n);
	for (i = 0; i < n; i++) {
		strcat(got, i ? " " : "");
		strcat(got, S(&a[i]));
	}
	EXPECT_STREQ(want, got);
}

TEST(rfc8305_order)
{
	/* IPv6 (precedence 40) ahead of IPv4 (35), then alternate */
	order(_metadata, "192.0.2.1 192.0.2.2 2001:db8::1 2001:db8::2",
	      "2001:db8::1 192.0.2.1 2001:db8::2 192.0.2.2");
	/* one IPv6, several IPv4: the rest in their order */
	order(_metadata, "192.0.2.1 192.0.2.2 192.0.2.3 2001:db8::1",
	      "2001:db8::1 192.0.2.1 192.0.2.2 192.0.2.3");
	/* ULA (3) after IPv4 (35), global IPv6 first */
	order(_metadata, "fd00::1 192.0.2.1 2001:db8::9", "2001:db8::9 192.0.2.1 fd00::1");
	/* ::1 (50) first; loopback scope before global within IPv4 */
	order(_metadata, "192.0.2.1 127.0.0.1 ::1", "::1 127.0.0.1 192.0.2.1");
	/* Teredo (5) and 6to4 (30) below native IPv6 */
	order(_metadata, "2001::1 2002:c000:201::1 2001:db8::1",
	      "2001:db8::1 2002:c000:201::1 2001::1");
	/* one family only: unchanged */
	order(_metadata, "192.0.2.9 192.0.2.1 192.0.2.5", "192.0.2.9 192.0.2.1 192.0.2.5");
	/* a mapped address counts as IPv4 */
	order(_metadata, "::ffff:192.0.2.1 2001:db8::1 2001:db8::2",
	      "2001:db8::1 ::ffff:192.0.2.1 2001:db8::2");
}

/* ---- resolution with a stub resolver ---- */

static struct stub {
	int a_ms, aaaa_ms;	/* answer after; -1: no address */
	int a_n, aaaa_n;
} stub;

static int stub_query(const char *host, int family, struct taps_addr *out, int max,
		      char *reason, size_t rlen)
{
	int ms = family == AF_INET ? stub.a_ms : stub.aaaa_ms;
	int n = family == AF_INET ? stub.a_n : stub.aaaa_n, i;

	usleep((ms < 0 ? 5 : ms) * 1000);
	if (ms < 0 || !n) {
		snprintf(reason, rlen, "%s: stub: no %s", host, family == AF_INET ? "A" : "AAAA");
		return -ENXIO;
	}
	for (i = 0; i < n && i < max; i++) {
		char s[64];

		snprintf(s, sizeof(s), family == AF_INET ? "192.0.2.%d" : "2001:db8::%d", i + 1);
		out[i] = A(s);
	}
	return n;
}

static struct result {
	uint64_t t;
	int n, err;
	char reason[200];
	struct taps_addr a[64];
	int calls;
} result;

static void resolved(void *arg, const struct taps_addr *addrs, int n, int err,
		     const char *reason)
{
	result.t = taps__now_us() - *(uint64_t *)arg;
	result.n = n;
	result.err = err;
	result.calls++;
	if (n)
		memcpy(result.a, addrs, n * sizeof(*addrs));
	snprintf(result.reason, sizeof(result.reason), "%s", reason ? reason : "");
}

static void resolve(struct __test_metadata *_metadata, int a_ms, int aaaa_ms)
{
	struct taps_loop *loop = taps_loop_new();
	struct taps_remote r = { .host = "dual.test", .port = 80 };
	uint64_t t0;

	ASSERT_NE(NULL, loop);
	stub.a_ms = a_ms;
	stub.aaaa_ms = aaaa_ms;
	stub.a_n = stub.aaaa_n = 2;
	loop->query = stub_query;
	memset(&result, 0, sizeof(result));
	t0 = taps__now_us();
	ASSERT_NE(NULL, taps__resolve(loop, &r, 1, resolved, &t0));
	EXPECT_EQ(0, result.calls);	/* never from inside the call */
	ASSERT_EQ(0, taps_loop_run(loop));
	EXPECT_EQ(1, result.calls);
	taps_loop_free(loop);
}

TEST(resolution_both_answer)
{
	resolve(_metadata, 0, 20);	/* AAAA 20 ms after A: within the delay */
	ASSERT_EQ(4, result.n);
	EXPECT_STREQ("2001:db8::1", S(&result.a[0]));
	EXPECT_STREQ("192.0.2.1", S(&result.a[1]));
	EXPECT_STREQ("2001:db8::2", S(&result.a[2]));
	EXPECT_STREQ("192.0.2.2", S(&result.a[3]));
	EXPECT_EQ(80, ntohs(result.a[0].sin6.sin6_port));
	EXPECT_EQ(80, ntohs(result.a[1].sin.sin_port));
	/* started when AAAA came, not after another 50 ms */
	EXPECT_GE(result.t, 18000);
	EXPECT_LT(result.t, 60000) TH_LOG("took %llu us", (unsigned long long)result.t);
}

TEST(resolution_delay_then_ipv4_only)
{
	resolve(_metadata, 0, 400);	/* AAAA late: start with A after 50 ms */
	ASSERT_EQ(2, result.n);
	EXPECT_STREQ("192.0.2.1", S(&result.a[0]));
	EXPECT_STREQ("192.0.2.2", S(&result.a[1]));
	EXPECT_GE(result.t, 49000);
	EXPECT_LT(result.t, 300000) TH_LOG("took %llu us", (unsigned long long)result.t);
}

TEST(resolution_aaaa_first)
{
	resolve(_metadata, 20, 0);
	ASSERT_EQ(4, result.n);
	EXPECT_STREQ("2001:db8::1", S(&result.a[0]));
	EXPECT_LT(result.t, 60000) TH_LOG("took %llu us", (unsigned long long)result.t);
}

TEST(resolution_negative_a_waits_for_aaaa)
{
	/* a negative A answer starts no delay: AAAA is waited for */
	resolve(_metadata, -1, 150);
	ASSERT_EQ(2, result.n);
	EXPECT_STREQ("2001:db8::1", S(&result.a[0]));
	EXPECT_GE(result.t, 145000);
}

TEST(resolution_name_not_found)
{
	resolve(_metadata, -1, -1);
	EXPECT_EQ(0, result.n);
	EXPECT_EQ(ENXIO, result.err);
	EXPECT_NE(NULL, strstr(result.reason, "name resolution failed"));
	EXPECT_NE(NULL, strstr(result.reason, "dual.test")) TH_LOG("%s", result.reason);
}

TEST(resolution_literals_and_getaddrinfo)
{
	struct taps_loop *loop = taps_loop_new();
	struct taps_remote r[2] = { { "192.0.2.7", 443 }, { "2001:db8::7", 443 } };
	struct taps_addr out[4];
	char reason[160];
	uint64_t t0 = taps__now_us();

	memset(&result, 0, sizeof(result));
	/* literals need no thread: done at once */
	EXPECT_EQ(NULL, taps__resolve(loop, r, 2, resolved, &t0));
	EXPECT_EQ(1, result.calls);
	ASSERT_EQ(2, result.n);
	EXPECT_STREQ("2001:db8::7", S(&result.a[0]));
	EXPECT_EQ(443, ntohs(result.a[1].sin.sin_port));
	/* /etc/hosts through getaddrinfo(): localhost */
	EXPECT_GE(taps__query_getaddrinfo("localhost", AF_INET, out, 4, reason,
					  sizeof(reason)), 1);
	EXPECT_STREQ("127.0.0.1", S(&out[0]));
	EXPECT_EQ(-ENXIO, taps__query_getaddrinfo("no-such-host.invalid", AF_INET, out, 4,
						  reason, sizeof(reason)));
	taps_loop_free(loop);
}

/* ---- timers and embedding ---- */

static int fired[8], nfired;
static uint64_t fired_at[8], t_base;

static void on_timer(struct taps_timer *t, void *user)
{
	(void)t;
	fired_at[nfired] = taps__now_us() - t_base;
	fired[nfired++] = (int)(intptr_t)user;
}

TEST(timers_order_and_cancel)
{
	struct taps_loop *loop = taps_loop_new();
	struct taps_timer *t;

	nfired = 0;
	t_base = taps__now_us();
	ASSERT_NE(NULL, taps_timer_new(loop, 30, on_timer, (void *)30));
	ASSERT_NE(NULL, taps_timer_new(loop, 10, on_timer, (void *)10));
	t = taps_timer_new(loop, 15, on_timer, (void *)15);
	ASSERT_NE(NULL, t);
	ASSERT_NE(NULL, taps_timer_new(loop, 20, on_timer, (void *)20));
	taps_timer_cancel(t);
	ASSERT_EQ(0, taps_loop_run(loop));	/* returns: nothing left */
	ASSERT_EQ(3, nfired);
	EXPECT_EQ(10, fired[0]);
	EXPECT_EQ(20, fired[1]);
	EXPECT_EQ(30, fired[2]);
	EXPECT_GE(fired_at[0], 10000);
	EXPECT_GE(fired_at[1], 20000);
	EXPECT_GE(fired_at[2], 30000);
	taps_loop_free(loop);
}

static void stop_loop(struct taps_timer *t, void *user)
{
	(void)t;
	taps_loop_stop(user);
}

TEST(loop_stop_and_embedding)
{
	struct taps_loop *loop = taps_loop_new();
	struct pollfd pfd;
	int spins = 0;

	nfired = 0;
	t_base = taps__now_us();
	taps_timer_new(loop, 10, stop_loop, loop);
	taps_timer_new(loop, 5000, on_timer, (void *)1);
	ASSERT_EQ(0, taps_loop_run(loop));
	EXPECT_EQ(0, nfired);	/* stopped before the long one */
	EXPECT_LT(taps__now_us() - t_base, 1000000);

	/* embedded: poll the fd, process; nothing fires early, no spinning */
	taps_timer_new(loop, 20, on_timer, (void *)2);
	pfd.fd = taps_loop_fd(loop);
	pfd.events = POLLIN;
	EXPECT_EQ(0, taps_loop_process(loop));
	while (nfired == 0 && spins < 100) {
		ASSERT_GE(poll(&pfd, 1, 2000), 0);
		taps_loop_process(loop);
		spins++;
	}
	EXPECT_EQ(2, fired[0]);
	EXPECT_LE(spins, 3);
	taps_loop_free(loop);	/* the 5 s timer still pending: freed without firing */
}

/* ---- initiate without a module / with impossible properties ---- */

static struct ev {
	int ready, estab, code;
	char reason[256];
	void *user;
} ev;

static void on_ready(struct taps_connection *c, void *user)
{
	(void)c;
	(void)user;
	ev.ready++;
}

static void on_estab(struct taps_connection *c, const struct taps_error *e, void *user)
{
	(void)c;
	ev.estab++;
	ev.code = e->code;
	snprintf(ev.reason, sizeof(ev.reason), "%s", e->reason);
	ev.user = user;
}

static void initiate(struct __test_metadata *_metadata, struct taps_loop *loop,
		     struct taps_preconnection *pre)
{
	struct taps_callbacks cbs = { .ready = on_ready, .establishment_error = on_estab };

	memset(&ev, 0, sizeof(ev));
	taps_preconnection_set_callbacks(pre, &cbs);
	ASSERT_NE(NULL, taps_initiate(pre, (void *)0x1234));
	taps_preconnection_free(pre);	/* allowed right after */
	EXPECT_EQ(0, ev.estab);		/* never during the call */
	ASSERT_EQ(0, taps_loop_run(loop));
	EXPECT_EQ(0, ev.ready);
	EXPECT_EQ(1, ev.estab);
	EXPECT_EQ((void *)0x1234, ev.user);
}

TEST(initiate_errors)
{
	struct taps_loop *loop = taps_loop_new();
	struct taps_preconnection *pre;

	pre = taps_preconnection_new(loop);
	taps_preconnection_add_remote(pre, "192.0.2.1", "80");
	taps_preconnection_set(pre, TAPS_PROP_RELIABILITY, TAPS_PREF_PROHIBIT);
	initiate(_metadata, loop, pre);
	EXPECT_EQ(EPROTONOSUPPORT, ev.code);
	EXPECT_NE(NULL, strstr(ev.reason, "reliability")) TH_LOG("%s", ev.reason);

	pre = taps_preconnection_new(loop);
	initiate(_metadata, loop, pre);
	EXPECT_EQ(EDESTADDRREQ, ev.code);

	pre = taps_preconnection_new(loop);
	taps_preconnection_add_remote(pre, "dual.test", "80");
	loop->query = stub_query;
	stub.a_ms = stub.aaaa_ms = -1;
	initiate(_metadata, loop, pre);
	EXPECT_EQ(ENXIO, ev.code);
	EXPECT_NE(NULL, strstr(ev.reason, "name resolution failed")) TH_LOG("%s", ev.reason);

	if (access("/sys/module/taps", F_OK)) {
		pre = taps_preconnection_new(loop);
		taps_preconnection_add_remote(pre, "192.0.2.1", "80");
		initiate(_metadata, loop, pre);
		EXPECT_NE(NULL, strstr(ev.reason, "AF_TAPS")) TH_LOG("%s", ev.reason);
	}
	taps_loop_free(loop);
}

TEST(version)
{
	EXPECT_STREQ(TAPS_VERSION_STRING, taps_version());
}

TEST_HARNESS_MAIN
