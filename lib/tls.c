// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libtaps: TLS over a raced AF_TAPS connection.
 *
 * The handshake runs in userspace with OpenSSL 3 on the connection's
 * non-blocking fd; conn.c drives it from the io_uring loop (a poll SQE
 * each time OpenSSL wants to read or write), and Ready comes only after
 * the handshake and every verification succeeded.  Then the record layer
 * moves into the kernel (kTLS): OpenSSL programs what it can itself
 * (SSL_OP_ENABLE_KTLS: both directions for TLS 1.2, transmit only for
 * TLS 1.3 in OpenSSL 3.0); the TLS 1.3 receive direction is installed
 * here from the handshake's traffic secret.  A direction the kernel does
 * not take stays in OpenSSL's record layer, and taps_connection_tls()
 * says which.  Never plaintext: every failure here fails the connection.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/stat.h>
#include <linux/tls.h>

#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/core_names.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "internal.h"

#ifndef SOL_TLS
#define SOL_TLS		282
#endif
#ifndef TCP_ULP
#define TCP_ULP		31
#endif

#define TLS_RT_CCS		20
#define TLS_RT_ALERT		21
#define TLS_RT_HANDSHAKE	22
#define TLS_RT_DATA		23
#define TLS_HS_NEW_SESSION_TICKET	4
#define TLS_HS_KEY_UPDATE		24
#define TLS_HS_HELLO_REQUEST		0

#define MAX_PINS	8

struct taps_tls_config {
	int		refs;
	uint64_t	id;		/* unique in the process: the session key */
	SSL_CTX		*ctx;
	char		*server_name;
	uint8_t		pins[MAX_PINS][32];
	int		npins;
	bool		resumption;
	bool		has_cert;
	unsigned char	alpn[256];	/* wire format, for listeners to choose */
	size_t		alpn_len;
	taps_tls_verify_cb	verify;
	void		*verify_arg;
};

struct taps_tls {
	struct taps_tls_config	*cfg;
	SSL			*ssl;
	int			fd;
	bool			server, done, no_ktls;
	unsigned int		ktls;
	char			host[TAPS_HOST_MAX];	/* session cache key: name */
	in_port_t		port;
	char			reason[256];
	/* the peer's application traffic secret (TLS 1.3), until installed */
	uint8_t			rx_secret[EVP_MAX_MD_SIZE];
	size_t			rx_secret_len;
	char			alpn[64];
	bool			resumed;
};

/* ---- SIGPIPE ---- */

/*
 * OpenSSL's socket BIO writes with write(), and sendfile() has no
 * MSG_NOSIGNAL: a write to a connection the peer reset would raise
 * SIGPIPE in the application.  Block it around those calls and swallow
 * one that they caused (not one that was already pending).
 */
void taps__sigpipe_block(struct taps_sigpipe *sp)
{
	sigset_t pipe, pending;

	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	sigpending(&pending);
	sp->was_pending = sigismember(&pending, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, &sp->old);
}

void taps__sigpipe_restore(struct taps_sigpipe *sp)
{
	struct timespec zero = { 0 };
	sigset_t pipe, pending;

	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	if (!sp->was_pending) {
		sigpending(&pending);
		if (sigismember(&pending, SIGPIPE))
			while (sigtimedwait(&pipe, NULL, &zero) < 0 && errno == EINTR)
				;
	}
	pthread_sigmask(SIG_SETMASK, &sp->old, NULL);
}

static int ex_index = -1;
static pthread_once_t ex_once = PTHREAD_ONCE_INIT;
static uint64_t cfg_ids;

/* ---- the per-process session cache (clients) ---- */

#define SESS_MAX	64

static pthread_mutex_t sess_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	char		key[TAPS_HOST_MAX + 32];
	SSL_SESSION	*s;
	uint64_t	used;
} sess_cache[SESS_MAX];
static uint64_t sess_clock;

/*
 * Keyed by the TLS parameters object too: a session is offered again only
 * by connections of the preconnection (the SSL_CTX) that made it.  (Offered
 * from another SSL_CTX, a TLS 1.2 session made the resumed handshake fail
 * in tests with OpenSSL 3.0: not worth the risk.)
 */
static void sess_key(const struct taps_tls *t, char *key, size_t len)
{
	snprintf(key, len, "%llu/%s:%u", (unsigned long long)t->cfg->id, t->host, t->port);
}

static SSL_SESSION *sess_get(const struct taps_tls *t)
{
	char key[sizeof(sess_cache[0].key)];
	SSL_SESSION *s = NULL;
	int i;

	sess_key(t, key, sizeof(key));
	pthread_mutex_lock(&sess_lock);
	for (i = 0; i < SESS_MAX; i++) {
		if (sess_cache[i].s && !strcmp(sess_cache[i].key, key)) {
			s = sess_cache[i].s;
			SSL_SESSION_up_ref(s);
			sess_cache[i].used = ++sess_clock;
			break;
		}
	}
	pthread_mutex_unlock(&sess_lock);
	return s;
}

static void sess_put(const struct taps_tls *t, SSL_SESSION *s)
{
	char key[sizeof(sess_cache[0].key)];
	int i, slot = 0;

	sess_key(t, key, sizeof(key));
	pthread_mutex_lock(&sess_lock);
	for (i = 0; i < SESS_MAX; i++) {
		if (sess_cache[i].s && !strcmp(sess_cache[i].key, key)) {
			slot = i;
			break;
		}
		if (!sess_cache[i].s || sess_cache[i].used < sess_cache[slot].used)
			slot = i;
	}
	if (sess_cache[slot].s)
		SSL_SESSION_free(sess_cache[slot].s);
	SSL_SESSION_up_ref(s);
	sess_cache[slot].s = s;
	snprintf(sess_cache[slot].key, sizeof(sess_cache[slot].key), "%s", key);
	sess_cache[slot].used = ++sess_clock;
	pthread_mutex_unlock(&sess_lock);
}

/* A client's new session (TLS 1.2: at the handshake's end; TLS 1.3: with
 * each NewSessionTicket OpenSSL reads) goes to the process' cache. */
static int new_session(SSL *ssl, SSL_SESSION *s)
{
	struct taps_tls *t = SSL_get_ex_data(ssl, ex_index);
	if (t && !t->server && *t->host && SSL_SESSION_is_resumable(s))
		sess_put(t, s);
	return 0;	/* sess_put() took its own reference */
}

/* ---- configuration ---- */


static void ex_init(void)
{
	ex_index = SSL_get_ex_new_index(0, "taps_tls", NULL, NULL, NULL);
}

/* base64 of a SHA-256 (44 characters with padding) into 32 bytes */
static int parse_pin(const char *s, size_t len, uint8_t out[32])
{
	unsigned char buf[64];
	int n;

	if (len >= 7 && !strncmp(s, "sha256/", 7)) {
		s += 7;
		len -= 7;
	}
	if (len != 44)
		return -EINVAL;
	n = EVP_DecodeBlock(buf, (const unsigned char *)s, 44);
	if (n != 33)	/* 32 bytes and a padding byte decoded as zero */
		return -EINVAL;
	memcpy(out, buf, 32);
	return 0;
}

static int parse_alpn(const char *list, unsigned char *wire, size_t cap, size_t *len)
{
	const char *p = list;

	*len = 0;
	while (*p) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);

		if (!n || n > 255 || *len + 1 + n > cap)
			return -EINVAL;
		wire[(*len)++] = n;
		memcpy(wire + *len, p, n);
		*len += n;
		p += n + (e ? 1 : 0);
	}
	return *len ? 0 : -EINVAL;
}

/* A listener picks its first protocol that the client offers; none in
 * common: the handshake fails (RFC 7301 section 3.2). */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		       const unsigned char *in, unsigned int inlen, void *arg)
{
	struct taps_tls_config *cfg = arg;
	unsigned char *o;

	(void)ssl;
	if (SSL_select_next_proto(&o, outlen, cfg->alpn, cfg->alpn_len, in, inlen) !=
	    OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	*out = o;
	return SSL_TLSEXT_ERR_OK;
}

static int file_errno(const char *path)
{
	struct stat st;

	return stat(path, &st) ? -errno : -EINVAL;
}

static void keylog(const SSL *ssl, const char *line);

void taps__tls_config_put(struct taps_tls_config *cfg)
{
	if (!cfg || --cfg->refs)
		return;
	SSL_CTX_free(cfg->ctx);
	free(cfg->server_name);
	free(cfg);
}

struct taps_tls_config *taps__tls_config_get(struct taps_tls_config *cfg)
{
	if (cfg)
		cfg->refs++;
	return cfg;
}

int taps__tls_config_new(const struct taps_tls_params *p, struct taps_tls_config **out)
{
	struct taps_tls_config *cfg;
	unsigned char alpn[256];
	size_t alpn_len;
	int minv, maxv, err = -EINVAL;

	*out = NULL;
	minv = p->min_version ? p->min_version : TAPS_TLS_1_2;
	maxv = p->max_version ? p->max_version : TAPS_TLS_1_3;
	if (minv != TAPS_TLS_1_2 && minv != TAPS_TLS_1_3)
		return -EINVAL;		/* nothing older than TLS 1.2 */
	if (maxv != TAPS_TLS_1_2 && maxv != TAPS_TLS_1_3)
		return -EINVAL;
	if (maxv < minv)
		return -EINVAL;
	if (!p->cert_file != !p->key_file)
		return -EINVAL;
	pthread_once(&ex_once, ex_init);
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		return -ENOMEM;
	cfg->refs = 1;
	cfg->id = __atomic_add_fetch(&cfg_ids, 1, __ATOMIC_RELAXED);
	cfg->resumption = !(p->flags & TAPS_TLS_NO_RESUMPTION);
	cfg->verify = p->verify;
	cfg->verify_arg = p->verify_arg;
	cfg->ctx = SSL_CTX_new(TLS_method());
	if (!cfg->ctx) {
		err = -ENOMEM;
		goto fail;
	}
	SSL_CTX_set_keylog_callback(cfg->ctx, keylog);
	SSL_CTX_set_min_proto_version(cfg->ctx, minv);
	SSL_CTX_set_max_proto_version(cfg->ctx, maxv);
	SSL_CTX_set_options(cfg->ctx, SSL_OP_ENABLE_KTLS | SSL_OP_NO_RENEGOTIATION |
			    SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_mode(cfg->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
			 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (p->ca_file || p->ca_dir) {
		if (p->ca_file && access(p->ca_file, R_OK)) {
			err = -errno;
			goto fail;
		}
		if (p->ca_dir && access(p->ca_dir, R_OK)) {
			err = -errno;
			goto fail;
		}
		if (SSL_CTX_load_verify_locations(cfg->ctx, p->ca_file, p->ca_dir) != 1)
			goto fail;
	} else if (SSL_CTX_set_default_verify_paths(cfg->ctx) != 1) {
		goto fail;
	}
	if (p->cert_file) {
		if (SSL_CTX_use_certificate_chain_file(cfg->ctx, p->cert_file) != 1) {
			err = file_errno(p->cert_file);
			goto fail;
		}
		if (SSL_CTX_use_PrivateKey_file(cfg->ctx, p->key_file, SSL_FILETYPE_PEM) != 1) {
			err = file_errno(p->key_file);
			goto fail;
		}
		if (SSL_CTX_check_private_key(cfg->ctx) != 1)
			goto fail;
		cfg->has_cert = true;
	}
	if (p->alpn) {
		if (parse_alpn(p->alpn, alpn, sizeof(alpn), &alpn_len))
			goto fail;
		if (SSL_CTX_set_alpn_protos(cfg->ctx, alpn, alpn_len))
			goto fail;
		memcpy(cfg->alpn, alpn, alpn_len);
		cfg->alpn_len = alpn_len;
		SSL_CTX_set_alpn_select_cb(cfg->ctx, alpn_select, cfg);
	}
	if (p->pins) {
		const char *s = p->pins;

		while (*s) {
			const char *e = strchr(s, ',');
			size_t n = e ? (size_t)(e - s) : strlen(s);

			if (cfg->npins == MAX_PINS || parse_pin(s, n, cfg->pins[cfg->npins]))
				goto fail;
			cfg->npins++;
			s += n + (e ? 1 : 0);
		}
	}
	if (cfg->resumption) {
		SSL_CTX_set_session_cache_mode(cfg->ctx, SSL_SESS_CACHE_BOTH);
		SSL_CTX_set_session_id_context(cfg->ctx, (const unsigned char *)"libtaps", 7);
		SSL_CTX_sess_set_new_cb(cfg->ctx, new_session);
	} else {
		SSL_CTX_set_session_cache_mode(cfg->ctx, SSL_SESS_CACHE_OFF);
		SSL_CTX_set_options(cfg->ctx, SSL_OP_NO_TICKET);
		SSL_CTX_set_num_tickets(cfg->ctx, 0);
	}
	if (p->server_name) {
		cfg->server_name = strdup(p->server_name);
		if (!cfg->server_name) {
			err = -ENOMEM;
			goto fail;
		}
	}
	ERR_clear_error();
	*out = cfg;
	return 0;
fail:
	ERR_clear_error();
	taps__tls_config_put(cfg);
	return err;
}

bool taps__tls_config_has_cert(const struct taps_tls_config *cfg)
{
	return cfg && cfg->has_cert;
}

/* ---- one connection ---- */

/* OpenSSL logs each secret as it derives it: keep the peer's first
 * application traffic secret, for the kTLS receive direction of TLS 1.3. */
static void keylog(const SSL *ssl, const char *line)
{
	struct taps_tls *t = SSL_get_ex_data(ssl, ex_index);
	const char *want = t && t->server ? "CLIENT_TRAFFIC_SECRET_0 " :
			   "SERVER_TRAFFIC_SECRET_0 ";
	const char *hex;
	size_t n, i;

	if (!t || strncmp(line, want, strlen(want)))
		return;
	hex = strchr(line + strlen(want), ' ');
	if (!hex)
		return;
	hex++;
	n = strlen(hex) / 2;
	if (n > sizeof(t->rx_secret))
		return;
	for (i = 0; i < n; i++) {
		unsigned int b;

		if (sscanf(hex + 2 * i, "%2x", &b) != 1)
			return;
		t->rx_secret[i] = b;
	}
	t->rx_secret_len = n;
}

static bool is_ip_literal(const char *h)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, h, buf) == 1 || inet_pton(AF_INET6, h, buf) == 1;
}

struct taps_tls *taps__tls_new(struct taps_tls_config *cfg, int fd, bool server,
			       const char *host, in_port_t port)
{
	struct taps_tls *t = calloc(1, sizeof(*t));
	const char *name;

	if (!t)
		return NULL;
	t->fd = fd;
	t->server = server;
	t->port = port;
	t->ssl = SSL_new(cfg->ctx);
	if (!t->ssl || SSL_set_fd(t->ssl, fd) != 1)
		goto fail;
	t->cfg = taps__tls_config_get(cfg);
	SSL_set_ex_data(t->ssl, ex_index, t);
	/* LIBTAPS_NO_KTLS=1: OpenSSL's record layer both ways (tests, debugging) */
	t->no_ktls = secure_getenv("LIBTAPS_NO_KTLS") != NULL;
	if (t->no_ktls)
		SSL_clear_options(t->ssl, SSL_OP_ENABLE_KTLS);
	if (server) {
		SSL_set_accept_state(t->ssl);
		return t;
	}
	SSL_set_connect_state(t->ssl);
	name = cfg->server_name ? cfg->server_name : host;
	if (!name || !*name) {
		errno = EDESTADDRREQ;
		goto fail_free;
	}
	snprintf(t->host, sizeof(t->host), "%s", name);
	if (is_ip_literal(name)) {
		if (!X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), name))
			goto fail_free;
	} else {
		if (SSL_set_tlsext_host_name(t->ssl, name) != 1 ||
		    SSL_set1_host(t->ssl, name) != 1)
			goto fail_free;
	}
	/* With an application's callback, the chain's verdict goes to it. */
	SSL_set_verify(t->ssl, cfg->verify ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, NULL);
	if (cfg->resumption) {
		SSL_SESSION *s = sess_get(t);

		if (s) {
			SSL_set_session(t->ssl, s);
			SSL_SESSION_free(s);
		}
	}
	ERR_clear_error();
	return t;
fail_free:
	SSL_free(t->ssl);
	taps__tls_config_put(t->cfg);
	free(t);
	if (!errno)
		errno = EINVAL;
	ERR_clear_error();
	return NULL;
fail:
	SSL_free(t->ssl);
	free(t);
	errno = ENOMEM;
	ERR_clear_error();
	return NULL;
}

void taps__tls_free(struct taps_tls *t)
{
	if (!t)
		return;
	OPENSSL_cleanse(t->rx_secret, sizeof(t->rx_secret));
	SSL_free(t->ssl);
	taps__tls_config_put(t->cfg);
	free(t);
}

const char *taps__tls_reason(const struct taps_tls *t)
{
	return t ? t->reason : "";
}

unsigned int taps__tls_ktls(const struct taps_tls *t)
{
	return t ? t->ktls : 0;
}

/* ---- kTLS for the TLS 1.3 receive direction ---- */

/* HKDF-Expand-Label (RFC 8446 section 7.1) with an empty context. */
int taps__tls13_expand_label(const char *md_name, const uint8_t *secret, size_t slen,
			     const char *label, uint8_t *out, size_t olen)
{
	uint8_t info[2 + 1 + 255 + 1];
	size_t ll = 6 + strlen(label), ilen = 0;
	OSSL_PARAM params[5], *p = params;
	int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
	EVP_KDF_CTX *kctx;
	EVP_KDF *kdf;
	int ret;

	if (ll > 255)
		return -EINVAL;
	info[ilen++] = olen >> 8;
	info[ilen++] = olen & 0xff;
	info[ilen++] = ll;
	memcpy(info + ilen, "tls13 ", 6);
	memcpy(info + ilen + 6, label, ll - 6);
	ilen += ll;
	info[ilen++] = 0;	/* empty context */
	kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	if (!kdf)
		return -ENOSYS;
	kctx = EVP_KDF_CTX_new(kdf);
	EVP_KDF_free(kdf);
	if (!kctx)
		return -ENOMEM;
	*p++ = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)md_name, 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)secret, slen);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, ilen);
	*p = OSSL_PARAM_construct_end();
	ret = EVP_KDF_derive(kctx, out, olen, params) == 1 ? 0 : -EINVAL;
	EVP_KDF_CTX_free(kctx);
	return ret;
}

union tls_crypto {
	struct tls12_crypto_info_aes_gcm_128		g128;
	struct tls12_crypto_info_aes_gcm_256		g256;
	struct tls12_crypto_info_chacha20_poly1305	chacha;
};

/*
 * Fill the kernel's crypto_info for a TLS 1.3 suite from a traffic
 * secret, record sequence number seq; the size, or -EOPNOTSUPP for a
 * suite the kernel's kTLS does not take.
 */
int taps__tls13_crypto_info(uint16_t suite, const uint8_t *secret, size_t slen,
			    uint64_t seq, void *out)
{
	union tls_crypto *ci = out;
	uint8_t key[32], iv[12], rec[8];
	const char *md;
	size_t klen, size;
	int i, err;

	switch (suite) {
	case 0x1301:	/* TLS_AES_128_GCM_SHA256 */
		md = "SHA256";
		klen = 16;
		break;
	case 0x1302:	/* TLS_AES_256_GCM_SHA384 */
		md = "SHA384";
		klen = 32;
		break;
	case 0x1303:	/* TLS_CHACHA20_POLY1305_SHA256 */
		md = "SHA256";
		klen = 32;
		break;
	default:
		return -EOPNOTSUPP;
	}
	err = taps__tls13_expand_label(md, secret, slen, "key", key, klen);
	if (!err)
		err = taps__tls13_expand_label(md, secret, slen, "iv", iv, sizeof(iv));
	if (err)
		return err;
	for (i = 7; i >= 0; i--, seq >>= 8)
		rec[i] = seq & 0xff;
	memset(ci, 0, sizeof(*ci));
	switch (suite) {
	case 0x1301:
		ci->g128.info.version = TLS_1_3_VERSION;
		ci->g128.info.cipher_type = TLS_CIPHER_AES_GCM_128;
		memcpy(ci->g128.key, key, 16);
		memcpy(ci->g128.salt, iv, 4);
		memcpy(ci->g128.iv, iv + 4, 8);
		memcpy(ci->g128.rec_seq, rec, 8);
		size = sizeof(ci->g128);
		break;
	case 0x1302:
		ci->g256.info.version = TLS_1_3_VERSION;
		ci->g256.info.cipher_type = TLS_CIPHER_AES_GCM_256;
		memcpy(ci->g256.key, key, 32);
		memcpy(ci->g256.salt, iv, 4);
		memcpy(ci->g256.iv, iv + 4, 8);
		memcpy(ci->g256.rec_seq, rec, 8);
		size = sizeof(ci->g256);
		break;
	default:
		ci->chacha.info.version = TLS_1_3_VERSION;
		ci->chacha.info.cipher_type = TLS_CIPHER_CHACHA20_POLY1305;
		memcpy(ci->chacha.key, key, 32);
		memcpy(ci->chacha.iv, iv, 12);
		memcpy(ci->chacha.rec_seq, rec, 8);
		size = sizeof(ci->chacha);
		break;
	}
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(iv, sizeof(iv));
	return size;
}

/*
 * The receive direction of TLS 1.3 into the kernel.  Safe only while
 * OpenSSL has read no record under the application key: right after the
 * handshake, with nothing buffered (no read-ahead), the peer's next record
 * is its first application-key record, sequence number 0.  Otherwise the
 * direction stays with OpenSSL.
 */
static void ktls_rx13(struct taps_tls *t)
{
	const SSL_CIPHER *cipher = SSL_get_current_cipher(t->ssl);
	union tls_crypto ci;
	int size;

	if (!cipher || !t->rx_secret_len || SSL_has_pending(t->ssl) || t->no_ktls)
		return;
	size = taps__tls13_crypto_info(SSL_CIPHER_get_id(cipher) & 0xffff, t->rx_secret,
				       t->rx_secret_len, 0, &ci);
	if (size < 0)
		return;
	/* OpenSSL attached the ULP for its transmit direction; if not, we do. */
	if (!(t->ktls & TAPS_TLS_KTLS_TX) &&
	    setsockopt(t->fd, SOL_TCP, TCP_ULP, "tls", sizeof("tls")) && errno != EEXIST)
		goto out;
	if (!setsockopt(t->fd, SOL_TLS, TLS_RX, &ci, size))
		t->ktls |= TAPS_TLS_KTLS_RX;
out:
	OPENSSL_cleanse(&ci, sizeof(ci));
}

/* ---- the handshake ---- */

static int fail_ssl(struct taps_tls *t, int code, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	long vr = SSL_get_verify_result(t->ssl);

	if (!t->server && vr != X509_V_OK) {
		snprintf(t->reason, sizeof(t->reason),
			 "TLS: the server's certificate failed verification: %s",
			 X509_verify_cert_error_string(vr));
		code = EKEYREJECTED;
	} else if (e) {
		char buf[200];

		ERR_error_string_n(e, buf, sizeof(buf));
		snprintf(t->reason, sizeof(t->reason), "TLS: %s: %s", what,
			 ERR_reason_error_string(e) ? ERR_reason_error_string(e) : buf);
	} else {
		snprintf(t->reason, sizeof(t->reason), "TLS: %s", what);
	}
	ERR_clear_error();
	return -code;
}

static int check_pins(struct taps_tls *t)
{
	X509 *cert = SSL_get0_peer_certificate(t->ssl);
	unsigned char *der = NULL;
	uint8_t md[32];
	int i, n;

	if (!cert)
		return -EKEYREJECTED;
	n = i2d_PUBKEY(X509_get0_pubkey(cert), &der);
	if (n <= 0)
		return -EKEYREJECTED;
	SHA256(der, n, md);
	OPENSSL_free(der);
	for (i = 0; i < t->cfg->npins; i++)
		if (!memcmp(md, t->cfg->pins[i], 32))
			return 0;
	return -EKEYREJECTED;
}

static int call_verify(struct taps_tls *t)
{
	X509 *cert = SSL_get0_peer_certificate(t->ssl);
	long vr = SSL_get_verify_result(t->ssl);
	struct taps_tls_peer peer = {
		.preverified = cert && vr == X509_V_OK,
		.error = !cert ? "no certificate" :
			 vr != X509_V_OK ? X509_verify_cert_error_string(vr) : NULL,
		.server_name = t->host,
	};
	unsigned char *der = NULL;
	int n = cert ? i2d_X509(cert, &der) : 0, r;

	if (n > 0) {
		peer.cert_der = der;
		peer.cert_len = n;
	}
	r = t->cfg->verify(t->cfg->verify_arg, &peer);
	OPENSSL_free(der);
	return r;
}

/* After the handshake: the checks that come on top of OpenSSL's. */
static int handshake_done(struct taps_tls *t)
{
	const unsigned char *alpn;
	unsigned int alen;
	int r;

	if (!t->server && t->cfg->verify) {
		r = call_verify(t);
		if (r) {
			snprintf(t->reason, sizeof(t->reason),
				 "TLS: the application refused the server's certificate");
			return -(r > 0 ? r : EKEYREJECTED);
		}
	}
	if (!t->server && t->cfg->npins && check_pins(t)) {
		snprintf(t->reason, sizeof(t->reason),
			 "TLS: the server's public key matches no pinned key");
		return -EKEYREJECTED;
	}
	SSL_get0_alpn_selected(t->ssl, &alpn, &alen);
	if (alen && alen < sizeof(t->alpn)) {
		memcpy(t->alpn, alpn, alen);
		t->alpn[alen] = 0;
	}
	t->resumed = SSL_session_reused(t->ssl);
	if (BIO_get_ktls_send(SSL_get_wbio(t->ssl)))
		t->ktls |= TAPS_TLS_KTLS_TX;
	if (BIO_get_ktls_recv(SSL_get_rbio(t->ssl)))
		t->ktls |= TAPS_TLS_KTLS_RX;
	else if (SSL_version(t->ssl) == TLS1_3_VERSION)
		ktls_rx13(t);
	OPENSSL_cleanse(t->rx_secret, sizeof(t->rx_secret));
	t->rx_secret_len = 0;
	t->done = true;
	return 1;
}

/* One step: 1 done, 0 poll for *events and call again, -errno with the reason. */
int taps__tls_handshake(struct taps_tls *t, short *events)
{
	struct taps_sigpipe sp;
	int r, e, se;

	ERR_clear_error();
	taps__sigpipe_block(&sp);
	errno = 0;
	r = SSL_do_handshake(t->ssl);
	se = errno;
	taps__sigpipe_restore(&sp);
	errno = se;
	if (r == 1)
		return handshake_done(t);
	e = SSL_get_error(t->ssl, r);
	switch (e) {
	case SSL_ERROR_WANT_READ:
		*events = POLLIN;
		return 0;
	case SSL_ERROR_WANT_WRITE:
		*events = POLLOUT;
		return 0;
	case SSL_ERROR_SYSCALL:
		if (errno && errno != EPIPE && errno != ECONNRESET)
			return fail_ssl(t, errno, strerror(errno));
		return fail_ssl(t, ECONNRESET, "the peer closed the connection during the handshake");
	case SSL_ERROR_ZERO_RETURN:
		return fail_ssl(t, ECONNRESET, "the peer closed the connection during the handshake");
	default:
		return fail_ssl(t, EPROTO, "the handshake failed");
	}
}

/* ---- records in userspace ---- */

static int io_result(struct taps_tls *t, int r, short *events, const char *what)
{
	int e = SSL_get_error(t->ssl, r);

	switch (e) {
	case SSL_ERROR_WANT_READ:
		*events = POLLIN;
		return -EAGAIN;
	case SSL_ERROR_WANT_WRITE:
		*events = POLLOUT;
		return -EAGAIN;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		e = errno ? errno : ECONNRESET;
		snprintf(t->reason, sizeof(t->reason), "TLS: %s: %s", what, strerror(e));
		ERR_clear_error();
		return -e;
	default:
		return fail_ssl(t, EPROTO, what);
	}
}

/* Bytes into buf: n > 0, 0 at the end (close_notify or FIN), -EAGAIN with
 * *events to poll for, or -errno with the reason. */
ssize_t taps__tls_read(struct taps_tls *t, void *buf, size_t len, short *events)
{
	struct taps_sigpipe sp;
	size_t n = 0;
	int r, se;

	ERR_clear_error();
	taps__sigpipe_block(&sp);
	errno = 0;
	r = SSL_read_ex(t->ssl, buf, len, &n);
	se = errno;
	taps__sigpipe_restore(&sp);
	errno = se;
	if (r == 1)
		return n;
	return io_result(t, r, events, "receiving failed");
}

ssize_t taps__tls_write(struct taps_tls *t, const void *buf, size_t len, short *events)
{
	struct taps_sigpipe sp;
	size_t n = 0;
	int r, se;

	if (!len)
		return 0;
	ERR_clear_error();
	taps__sigpipe_block(&sp);
	errno = 0;
	r = SSL_write_ex(t->ssl, buf, len, &n);
	se = errno;
	taps__sigpipe_restore(&sp);
	errno = se;
	if (r == 1)
		return n;
	r = io_result(t, r, events, "sending failed");
	return r ? r : -EPIPE;
}

/* close_notify, before the FIN; best effort (the socket is non-blocking). */
void taps__tls_close_notify(struct taps_tls *t)
{
	struct taps_sigpipe sp;

	if (!t || !t->done)
		return;
	ERR_clear_error();
	taps__sigpipe_block(&sp);
	SSL_shutdown(t->ssl);
	taps__sigpipe_restore(&sp);
	ERR_clear_error();
}

/*
 * The kTLS receive direction returned EIO: the next record is not
 * application data.  Read it with its type and handle it.  Returns bytes
 * of application data put in buf (a data record after all), 0 with *eof
 * set for close_notify, 0 for a record handled and dropped, or -errno
 * with the reason (the connection is then unusable).
 */
ssize_t taps__tls_recv_control(struct taps_tls *t, void *buf, size_t len, bool *eof)
{
	char cbuf[CMSG_SPACE(sizeof(unsigned char))];
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	const uint8_t *p = buf;
	struct cmsghdr *cm;
	int type = -1;
	ssize_t n;

	*eof = false;
	n = recvmsg(t->fd, &msg, MSG_DONTWAIT);
	if (n < 0) {
		if (errno == EAGAIN)
			return 0;
		snprintf(t->reason, sizeof(t->reason), "TLS: receiving a record failed: %s%s",
			 strerror(errno), errno == EBADMSG ?
			 " (a record did not decrypt: the connection is not safe to use)" : "");
		return -errno;
	}
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm))
		if (cm->cmsg_level == SOL_TLS && cm->cmsg_type == TLS_GET_RECORD_TYPE)
			type = *(unsigned char *)CMSG_DATA(cm);
	if (n == 0 && type < 0) {
		*eof = true;	/* FIN without close_notify */
		return 0;
	}
	switch (type) {
	case TLS_RT_DATA:
		return n;
	case TLS_RT_ALERT:
		if (n >= 2 && p[1] == 0) {	/* close_notify */
			*eof = true;
			return 0;
		}
		if (n >= 2 && p[0] == 1 && p[1] == 90)	/* user_canceled, a warning */
			return 0;
		snprintf(t->reason, sizeof(t->reason), "TLS: the peer sent the alert %s",
			 n >= 2 ? SSL_alert_desc_string_long(p[1]) : "(truncated)");
		return -ECONNRESET;
	case TLS_RT_HANDSHAKE:
		if (n >= 1 && p[0] == TLS_HS_NEW_SESSION_TICKET)
			return 0;	/* TLS 1.3 resumption is not offered on kTLS rx */
		if (n >= 1 && p[0] == TLS_HS_HELLO_REQUEST && !t->server)
			return 0;	/* renegotiation: ignored, as RFC 5246 allows */
		if (n >= 1 && p[0] == TLS_HS_KEY_UPDATE) {
			snprintf(t->reason, sizeof(t->reason),
				 "TLS: the peer updated its keys (KeyUpdate), which this kernel's "
				 "kTLS receive direction cannot follow");
			return -EPROTO;
		}
		snprintf(t->reason, sizeof(t->reason),
			 "TLS: unexpected handshake message %d after the handshake",
			 n >= 1 ? p[0] : -1);
		return -EPROTO;
	default:
		snprintf(t->reason, sizeof(t->reason), "TLS: unexpected record type %d", type);
		return -EPROTO;
	}
}

/* ---- queries ---- */

int taps__tls_info(const struct taps_tls *t, struct taps_tls_info *info)
{
	const SSL_CIPHER *c;

	if (!t)
		return -ENOPROTOOPT;
	if (!t->done)
		return -ENOTCONN;
	memset(info, 0, sizeof(*info));
	c = SSL_get_current_cipher(t->ssl);
	info->version = SSL_get_version(t->ssl);
	info->cipher = c ? SSL_CIPHER_get_name(c) : "";
	info->alpn = t->alpn;
	info->server_name = t->server ? (SSL_get_servername(t->ssl, TLSEXT_NAMETYPE_host_name) ?
					 SSL_get_servername(t->ssl, TLSEXT_NAMETYPE_host_name) : "") :
			    t->host;
	info->ktls = t->ktls;
	info->resumed = t->resumed;
	return 0;
}

const char *taps_tls_ktls_name(unsigned int ktls)
{
	switch (ktls & (TAPS_TLS_KTLS_TX | TAPS_TLS_KTLS_RX)) {
	case TAPS_TLS_KTLS_TX | TAPS_TLS_KTLS_RX:
		return "kTLS tx+rx";
	case TAPS_TLS_KTLS_TX:
		return "kTLS tx";
	case TAPS_TLS_KTLS_RX:
		return "kTLS rx";
	}
	return "no kTLS";
}

/* ---- the preconnection ---- */

int taps_preconnection_set_tls(struct taps_preconnection *pre, const struct taps_tls_params *p)
{
	struct taps_tls_config *cfg = NULL;
	int err;

	if (!pre)
		return -EINVAL;
	if (p) {
		err = taps__tls_config_new(p, &cfg);
		if (err)
			return err;
	}
	taps__tls_config_put(pre->tls);
	pre->tls = cfg;
	return 0;
}

/* Security equivalence: only protocols that carry TLS race (TCP, MPTCP). */
int64_t taps__tls_protocols(int64_t protocols)
{
	return (protocols ? protocols : TAPS_P_ALL) & (TAPS_P_TCP | TAPS_P_MPTCP);
}
