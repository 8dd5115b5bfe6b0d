// SPDX-License-Identifier: GPL-2.0
/*
 * libtaps' TLS on the build host, no module: the key schedule against
 * RFC 8448's vectors, the security parameters' checks, the security
 * equivalence rule, and whole handshakes and data between two libtaps
 * connections adopted over a socketpair, driven by the io_uring loop
 * (OpenSSL's record layer: there is no kTLS on a unix socket).  The
 * certificates are made at test time with openssl req.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/tls.h>

#include "kselftest_harness.h"
#include "internal.h"

static char dir[] = "/tmp/taps-tls-XXXXXX";
static char ca[128], cert[128], key[128], other[128], pin[64], badpin[64];

static void make_certs(void)
{
	char cmd[1024];
	FILE *f;

	if (ca[0])
		return;
	if (!mkdtemp(dir))
		abort();
	snprintf(cmd, sizeof(cmd),
		 "cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
		 "-days 1 -subj /CN=taps-test-ca -keyout ca.key -out ca.pem 2>/dev/null && "
		 "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
		 "-subj /CN=taps.test -keyout srv.key -out srv.csr 2>/dev/null && "
		 "printf 'subjectAltName=DNS:taps.test\\n' >ext && "
		 "openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 "
		 "-extfile ext -out srv.pem 2>/dev/null && "
		 "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 "
		 "-subj /CN=other -keyout other.key -out other.pem 2>/dev/null && "
		 "openssl x509 -in srv.pem -pubkey -noout | openssl pkey -pubin -outform der | "
		 "openssl dgst -sha256 -binary | base64 >pin && "
		 "openssl x509 -in other.pem -pubkey -noout | openssl pkey -pubin -outform der | "
		 "openssl dgst -sha256 -binary | base64 >badpin", dir);
	if (system(cmd))
		abort();
	snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
	snprintf(cert, sizeof(cert), "%s/srv.pem", dir);
	snprintf(key, sizeof(key), "%s/srv.key", dir);
	snprintf(other, sizeof(other), "%s/other.pem", dir);
	snprintf(cmd, sizeof(cmd), "%s/pin", dir);
	f = fopen(cmd, "r");
	if (!f || !fgets(pin, sizeof(pin), f))
		abort();
	fclose(f);
	pin[strcspn(pin, "\n")] = 0;
	snprintf(cmd, sizeof(cmd), "%s/badpin", dir);
	f = fopen(cmd, "r");
	if (!f || !fgets(badpin, sizeof(badpin), f))
		abort();
	fclose(f);
	badpin[strcspn(badpin, "\n")] = 0;
}

static pid_t owner;

/* made once, in the harness' process, before the tests fork */
static void __attribute__((constructor)) mk_certs(void)
{
	owner = getpid();
	make_certs();
}

static void __attribute__((destructor)) rm_certs(void)
{
	char cmd[128];

	if (ca[0] && getpid() == owner) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd))
			return;
	}
}

static void unhex(const char *h, uint8_t *out)
{
	while (*h) {
		unsigned int b;

		if (*h == ' ') {
			h++;
			continue;
		}
		sscanf(h, "%2x", &b);
		*out++ = b;
		h += 2;
	}
}

/* RFC 8448 section 3: the server's handshake traffic key and iv. */
TEST(expand_label_rfc8448)
{
	uint8_t secret[32], want_key[16], want_iv[12], k[16], iv[12];

	unhex("b6 7b 7d 69 0c c1 6c 4e 75 e5 42 13 cb 2d 37 b4 e9 c9 12 bc de d9 10 5d 42 be fd "
	      "59 d3 91 ad 38", secret);
	unhex("3f ce 51 60 09 c2 17 27 d0 f2 e4 e8 6e e4 03 bc", want_key);
	unhex("5d 31 3e b2 67 12 76 ee 13 00 0b 30", want_iv);
	ASSERT_EQ(0, taps__tls13_expand_label("SHA256", secret, 32, "key", k, 16));
	ASSERT_EQ(0, taps__tls13_expand_label("SHA256", secret, 32, "iv", iv, 12));
	EXPECT_EQ(0, memcmp(k, want_key, 16));
	EXPECT_EQ(0, memcmp(iv, want_iv, 12));
}

/* The kernel's layout: salt = iv[0..4), iv = iv[4..12), rec_seq big-endian. */
TEST(crypto_info_layout)
{
	uint8_t secret[32], iv[12], key[16];
	struct tls12_crypto_info_aes_gcm_128 ci;
	struct tls12_crypto_info_chacha20_poly1305 cc;
	union { struct tls12_crypto_info_aes_gcm_256 g; char b[128]; } u;
	const uint8_t seq[8] = { 0, 0, 0, 0, 0, 0, 1, 2 };

	unhex("b6 7b 7d 69 0c c1 6c 4e 75 e5 42 13 cb 2d 37 b4 e9 c9 12 bc de d9 10 5d 42 be fd "
	      "59 d3 91 ad 38", secret);
	unhex("3f ce 51 60 09 c2 17 27 d0 f2 e4 e8 6e e4 03 bc", key);
	unhex("5d 31 3e b2 67 12 76 ee 13 00 0b 30", iv);
	ASSERT_EQ((int)sizeof(ci), taps__tls13_crypto_info(0x1301, secret, 32, 0x102, &ci));
	EXPECT_EQ(TLS_1_3_VERSION, ci.info.version);
	EXPECT_EQ(TLS_CIPHER_AES_GCM_128, ci.info.cipher_type);
	EXPECT_EQ(0, memcmp(ci.key, key, 16));
	EXPECT_EQ(0, memcmp(ci.salt, iv, 4));
	EXPECT_EQ(0, memcmp(ci.iv, iv + 4, 8));
	EXPECT_EQ(0, memcmp(ci.rec_seq, seq, 8));
	ASSERT_EQ((int)sizeof(cc), taps__tls13_crypto_info(0x1303, secret, 32, 0, &cc));
	EXPECT_EQ(TLS_CIPHER_CHACHA20_POLY1305, cc.info.cipher_type);
	ASSERT_EQ((int)sizeof(u.g), taps__tls13_crypto_info(0x1302, secret, 32, 0, &u));
	EXPECT_EQ(TLS_CIPHER_AES_GCM_256, u.g.info.cipher_type);
	EXPECT_EQ(-EOPNOTSUPP, taps__tls13_crypto_info(0x1304, secret, 32, 0, &u));
}

TEST(params)
{
	struct taps_loop *loop = taps_loop_new();
	struct taps_preconnection *pre = taps_preconnection_new(loop);
	struct taps_tls_params p = { 0 };
	char pins[200];

	make_certs();
	ASSERT_NE(NULL, pre);
	EXPECT_EQ(0, taps_preconnection_set_tls(pre, &p));	/* the system store */
	p.min_version = 0x0301;					/* TLS 1.0: never */
	EXPECT_EQ(-EINVAL, taps_preconnection_set_tls(pre, &p));
	p.min_version = TAPS_TLS_1_3;
	p.max_version = TAPS_TLS_1_2;
	EXPECT_EQ(-EINVAL, taps_preconnection_set_tls(pre, &p));
	p.max_version = 0;
	p.ca_file = "/nonexistent/ca.pem";
	EXPECT_EQ(-ENOENT, taps_preconnection_set_tls(pre, &p));
	p.ca_file = ca;
	EXPECT_EQ(0, taps_preconnection_set_tls(pre, &p));
	p.cert_file = cert;
	EXPECT_EQ(-EINVAL, taps_preconnection_set_tls(pre, &p));	/* no key */
	p.key_file = "/nonexistent/key";
	EXPECT_EQ(-ENOENT, taps_preconnection_set_tls(pre, &p));
	p.cert_file = other;
	p.key_file = key;					/* not its key */
	EXPECT_EQ(-EINVAL, taps_preconnection_set_tls(pre, &p));
	p.cert_file = cert;
	EXPECT_EQ(0, taps_preconnection_set_tls(pre, &p));
	p.alpn = "h2,,http/1.1";
	EXPECT_EQ(-EINVAL, taps_preconnection_set_tls(pre, &p));
	p.alpn = "h2,http/1.1";
	EXPECT_EQ(0, taps_preconnection_set_tls(pre, &p));
	p.pins = "sha256/notbase64";
	EXPECT_EQ(-EINVAL, taps_preconnection_set_tls(pre, &p));
	snprintf(pins, sizeof(pins), "sha256/%s,%s", pin, badpin);
	p.pins = pins;
	EXPECT_EQ(0, taps_preconnection_set_tls(pre, &p));
	EXPECT_EQ(0, taps_preconnection_set_tls(pre, NULL));
	EXPECT_EQ(-EINVAL, taps_preconnection_set_tls(NULL, &p));
	taps_preconnection_free(pre);
	taps_loop_free(loop);
}

TEST(security_equivalence)
{
	EXPECT_EQ(TAPS_P_TCP | TAPS_P_MPTCP, taps__tls_protocols(0));
	EXPECT_EQ(TAPS_P_TCP | TAPS_P_MPTCP, taps__tls_protocols(TAPS_P_ALL));
	EXPECT_EQ(TAPS_P_TCP, taps__tls_protocols(TAPS_P_TCP | TAPS_P_SCTP));
	EXPECT_EQ(0, taps__tls_protocols(TAPS_P_SCTP));
}

/* ---- two libtaps connections over a socketpair ---- */

static struct tst {
	int ready, side_ready[2], estab_errors, srv_errors, closed, conn_errors;
	bool closing;
	int code;
	char reason[300];
	uint8_t *rx[2];
	size_t rxlen[2];
	bool eom[2];
	int verify_calls, verify_ret, preverified;
	size_t cert_len;
} ts;

static int side(void *user)
{
	return (int)(uintptr_t)user;
}

static void t_ready(struct taps_connection *c, void *user)
{
	ts.ready++;
	ts.side_ready[side(user)]++;
	taps_receive(c, 1, 0);
}

static void t_estab_error(struct taps_connection *c, const struct taps_error *e, void *user)
{
	(void)c;
	if (user == (void *)0) {	/* the server's side of the pair */
		ts.srv_errors++;
		return;
	}
	ts.estab_errors++;
	ts.code = e->code;
	snprintf(ts.reason, sizeof(ts.reason), "%s", e->reason);
}

static void t_partial(struct taps_connection *c, const void *d, size_t len,
		      const struct taps_message_context *mc, void *user)
{
	int s = side(user);

	ts.rx[s] = realloc(ts.rx[s], ts.rxlen[s] + len + 1);
	memcpy(ts.rx[s] + ts.rxlen[s], d, len);
	ts.rxlen[s] += len;
	if (mc->end_of_message) {
		ts.eom[s] = true;
		taps_close(c);
	} else {
		taps_receive(c, 1, 0);
	}
}

static void t_closed(struct taps_connection *c, void *user)
{
	(void)c;
	(void)user;
	ts.closed++;
}

static void t_conn_error(struct taps_connection *c, const struct taps_error *e, void *user)
{
	(void)c;
	(void)user;
	ts.conn_errors++;
	ts.code = e->code;
	snprintf(ts.reason, sizeof(ts.reason), "%s", e->reason);
}

static const struct taps_callbacks tcbs = {
	.ready = t_ready,
	.establishment_error = t_estab_error,
	.received_partial = t_partial,
	.closed = t_closed,
	.connection_error = t_conn_error,
};

static int t_verify(void *arg, const struct taps_tls_peer *peer)
{
	(void)arg;
	ts.verify_calls++;
	ts.preverified = peer->preverified;
	ts.cert_len = peer->cert_len;
	return ts.verify_ret;
}

struct pair {
	struct taps_loop *loop;
	struct taps_preconnection *srv, *cli;
	struct taps_connection *s, *c;
	int fd[2];
};

static void pair_init(struct pair *p, const struct taps_tls_params *sp,
		      const struct taps_tls_params *cp)
{
	memset(&ts, 0, sizeof(ts));
	make_certs();
	p->loop = taps_loop_new();
	p->srv = taps_preconnection_new(p->loop);
	taps_preconnection_set_callbacks(p->srv, &tcbs);
	if (taps_preconnection_set_tls(p->srv, sp))
		abort();
	p->cli = taps_preconnection_new(p->loop);
	taps_preconnection_set_callbacks(p->cli, &tcbs);
	if (taps_preconnection_set_tls(p->cli, cp))
		abort();
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, p->fd))
		abort();
	p->s = taps__conn_adopt_tls(p->srv, p->fd[0], true, NULL, (void *)0);
	p->c = taps__conn_adopt_tls(p->cli, p->fd[1], false, "taps.test", (void *)1);
	if (!p->s || !p->c)
		abort();
}

static void pair_run(struct pair *p, int ms)
{
	uint64_t end = taps__now_us() + ms * 1000ull;

	while (taps__now_us() < end && taps_loop_process(p->loop) >= 0) {
		/* until both closed, an error, or (not closing) the client's verdict */
		if (ts.closed == 2 || ts.conn_errors || ts.estab_errors ||
		    (!ts.closing && ts.ready == 2))
			break;
		usleep(100);
	}
}

static void pair_fini(struct pair *p)
{
	taps_preconnection_free(p->cli);
	taps_preconnection_free(p->srv);
	taps_loop_free(p->loop);
	free(ts.rx[0]);
	free(ts.rx[1]);
}

static struct taps_tls_params srv_params(void)
{
	struct taps_tls_params sp = { .cert_file = cert, .key_file = key };

	return sp;
}

TEST(handshake_and_data)
{
	static const size_t sizes[] = { 1, 16383, 16385, 1 << 20 };
	struct taps_tls_params sp = srv_params(), cp = { .ca_file = ca };
	struct taps_tls_info ti;
	unsigned int i;

	sp.alpn = "h2,http/1.1";
	cp.alpn = "http/1.1";
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct pair p;
		uint8_t *a = malloc(sizes[i]), *b = malloc(sizes[i]);
		size_t j;

		for (j = 0; j < sizes[i]; j++) {
			a[j] = j * 7 + i;
			b[j] = j * 13 + 1;
		}
		pair_init(&p, &sp, &cp);
		EXPECT_EQ(-ENOTCONN, taps_connection_tls(p.c, &ti));
		EXPECT_EQ(-ENOTCONN, taps_send(p.c, "x", 1, NULL, 0));	/* nothing before Ready */
		pair_run(&p, 5000);
		ASSERT_EQ(2, ts.ready) TH_LOG("%s", ts.reason);
		ASSERT_EQ(0, taps_connection_tls(p.c, &ti));
		EXPECT_STREQ("TLSv1.3", ti.version);
		EXPECT_STREQ("http/1.1", ti.alpn);
		EXPECT_STREQ("taps.test", ti.server_name);
		EXPECT_EQ(0u, ti.ktls);		/* no kTLS on a unix socket */
		ASSERT_EQ(0, taps_connection_tls(p.s, &ti));
		EXPECT_STREQ("taps.test", ti.server_name);	/* SNI as received */
		EXPECT_EQ(-EOPNOTSUPP, taps_send_file(p.c, 0, 0, 1, NULL));
		ASSERT_EQ(0, taps_send(p.c, a, sizes[i], NULL, 0));
		ASSERT_EQ(0, taps_send(p.s, b, sizes[i], NULL, 0));
		taps_close(p.c);
		taps_close(p.s);
		ts.closing = true;
		pair_run(&p, 10000);
		EXPECT_EQ(2, ts.closed) TH_LOG("size %zu: %s", sizes[i], ts.reason);
		ASSERT_EQ(sizes[i], ts.rxlen[0]);	/* the server got the client's */
		ASSERT_EQ(sizes[i], ts.rxlen[1]);
		EXPECT_EQ(0, memcmp(ts.rx[0], a, sizes[i]));
		EXPECT_EQ(0, memcmp(ts.rx[1], b, sizes[i]));
		pair_fini(&p);
		free(a);
		free(b);
	}
}

TEST(tls12)
{
	struct taps_tls_params sp = srv_params(), cp = { .ca_file = ca };
	struct taps_tls_info ti;
	struct pair p;

	cp.max_version = TAPS_TLS_1_2;
	pair_init(&p, &sp, &cp);
	pair_run(&p, 5000);
	ASSERT_EQ(2, ts.ready) TH_LOG("%s", ts.reason);
	ASSERT_EQ(0, taps_connection_tls(p.c, &ti));
	EXPECT_STREQ("TLSv1.2", ti.version);
	EXPECT_FALSE(ti.resumed);
	pair_fini(&p);
}

/* Sessions are resumed between connections of one preconnection (TLS 1.2
 * and 1.3; TLS 1.3 from the tickets OpenSSL's record layer read), not from
 * another preconnection's, and not with TAPS_TLS_NO_RESUMPTION. */
TEST(resumption)
{
	struct taps_tls_params sp = srv_params(), cp = { .ca_file = ca };
	int ver, round, flags;

	for (ver = 0; ver < 2; ver++) {
		for (flags = 0; flags <= TAPS_TLS_NO_RESUMPTION; flags += TAPS_TLS_NO_RESUMPTION) {
			struct taps_loop *loop = taps_loop_new();
			struct taps_preconnection *srv = taps_preconnection_new(loop);
			struct taps_preconnection *cli = taps_preconnection_new(loop);
			struct taps_preconnection *other = taps_preconnection_new(loop);

			cp.max_version = ver ? TAPS_TLS_1_3 : TAPS_TLS_1_2;
			cp.flags = flags;
			taps_preconnection_set_callbacks(srv, &tcbs);
			taps_preconnection_set_callbacks(cli, &tcbs);
			taps_preconnection_set_callbacks(other, &tcbs);
			ASSERT_EQ(0, taps_preconnection_set_tls(srv, &sp));
			ASSERT_EQ(0, taps_preconnection_set_tls(cli, &cp));
			ASSERT_EQ(0, taps_preconnection_set_tls(other, &cp));
			for (round = 0; round < 3; round++) {
				struct taps_connection *s, *c;
				struct taps_tls_info ti;
				struct pair p = { .loop = loop };
				int fd[2];

				memset(&ts, 0, sizeof(ts));
				ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fd));
				s = taps__conn_adopt_tls(srv, fd[0], true, NULL, (void *)0);
				c = taps__conn_adopt_tls(round == 2 ? other : cli, fd[1], false,
							 "taps.test", (void *)1);
				ASSERT_NE(NULL, s);
				ASSERT_NE(NULL, c);
				pair_run(&p, 5000);
				ASSERT_EQ(2, ts.ready) TH_LOG("%s", ts.reason);
				ASSERT_EQ(0, taps_connection_tls(c, &ti));
				EXPECT_EQ(round == 1 && !flags, ti.resumed)
					TH_LOG("TLS 1.%d flags %d round %d", 2 + ver, flags, round);
				taps_send(s, "x", 1, NULL, 0);	/* after the tickets */
				taps_close(c);
				taps_close(s);
				ts.closing = true;
				pair_run(&p, 5000);
				EXPECT_EQ(2, ts.closed);
				free(ts.rx[0]);
				free(ts.rx[1]);
			}
			taps_preconnection_free(srv);
			taps_preconnection_free(cli);
			taps_preconnection_free(other);
			taps_loop_free(loop);
		}
	}
}

static void expect_refused(struct __test_metadata *_metadata, struct taps_tls_params *sp,
			   struct taps_tls_params *cp, int code, const char *needle)
{
	struct pair p;

	pair_init(&p, sp, cp);
	pair_run(&p, 5000);
	EXPECT_EQ(0, ts.side_ready[1]);
	EXPECT_EQ(1, ts.estab_errors);
	EXPECT_EQ(code, ts.code) TH_LOG("%s", ts.reason);
	EXPECT_NE(NULL, strstr(ts.reason, needle)) TH_LOG("%s", ts.reason);
	EXPECT_EQ(0u, ts.rxlen[0]);
	pair_fini(&p);
}

TEST(refused)
{
	struct taps_tls_params sp = srv_params(), cp = { .ca_file = ca };
	char pins[100];

	/* a CA it does not know */
	cp.ca_file = other;
	expect_refused(_metadata, &sp, &cp, EKEYREJECTED, "unable to get local issuer");
	/* the name */
	cp.ca_file = ca;
	cp.server_name = "wrong.test";
	expect_refused(_metadata, &sp, &cp, EKEYREJECTED, "mismatch");
	cp.server_name = NULL;
	/* versions in common: none */
	sp.max_version = TAPS_TLS_1_2;
	cp.min_version = TAPS_TLS_1_3;
	expect_refused(_metadata, &sp, &cp, EPROTO, "TLS");
	sp.max_version = 0;
	cp.min_version = 0;
	/* a pin that does not match */
	snprintf(pins, sizeof(pins), "sha256/%s", badpin);
	cp.pins = pins;
	expect_refused(_metadata, &sp, &cp, EKEYREJECTED, "pinned");
	/* an application that says no */
	cp.pins = NULL;
	cp.verify = t_verify;
	ts.verify_ret = EPERM;
	{
		struct pair p;

		pair_init(&p, &sp, &cp);
		ts.verify_ret = EPERM;
		pair_run(&p, 5000);
		EXPECT_EQ(1, ts.verify_calls);
		EXPECT_EQ(1, ts.preverified);
		EXPECT_LT(100u, ts.cert_len);
		EXPECT_EQ(EPERM, ts.code);
		EXPECT_EQ(0, ts.side_ready[1]);
		pair_fini(&p);
	}
}

TEST(accepted)
{
	struct taps_tls_params sp = srv_params(), cp = { .ca_file = ca };
	char pins[100];
	struct pair p;

	snprintf(pins, sizeof(pins), "sha256/%s", pin);
	cp.pins = pins;
	pair_init(&p, &sp, &cp);
	pair_run(&p, 5000);
	EXPECT_EQ(2, ts.ready) TH_LOG("%s", ts.reason);
	pair_fini(&p);

	/* the application's callback decides against the chain's verdict */
	cp.pins = NULL;
	cp.ca_file = other;
	cp.verify = t_verify;
	pair_init(&p, &sp, &cp);
	ts.verify_ret = 0;
	pair_run(&p, 5000);
	EXPECT_EQ(1, ts.verify_calls);
	EXPECT_EQ(0, ts.preverified);
	EXPECT_EQ(2, ts.ready) TH_LOG("%s", ts.reason);
	pair_fini(&p);
}

/* TLS required and only SCTP allowed: EstablishmentError, no socket. */
TEST(sctp_only)
{
	struct taps_loop *loop = taps_loop_new();
	struct taps_preconnection *pre = taps_preconnection_new(loop);
	struct taps_tls_params cp = { 0 };

	memset(&ts, 0, sizeof(ts));
	ASSERT_EQ(0, taps_preconnection_set_tls(pre, &cp));
	taps_preconnection_set_callbacks(pre, &tcbs);
	ASSERT_EQ(0, taps_preconnection_set(pre, TAPS_PROP_PROTOCOLS, TAPS_P_SCTP));
	ASSERT_EQ(0, taps_preconnection_add_remote(pre, "192.0.2.1", "443"));
	ASSERT_NE(NULL, taps_initiate(pre, (void *)1));
	taps_preconnection_free(pre);
	taps_loop_run(loop);
	EXPECT_EQ(1, ts.estab_errors);
	EXPECT_EQ(EPROTONOSUPPORT, ts.code);
	EXPECT_NE(NULL, strstr(ts.reason, "SCTP")) TH_LOG("%s", ts.reason);
	taps_loop_free(loop);
}

TEST_HARNESS_MAIN
