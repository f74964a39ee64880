/* tls: OpenSSL 3 through dlopen (see tls.h). Every function troupe calls is
 * a field of one table filled by dlsym in tls_load; the fields take their
 * types from OpenSSL's headers, so a wrong signature does not compile.
 * OpenSSL's macros (SSL_CTX_set_mode, BIO_pending ...) are spelt out as the
 * ctrl calls they stand for. Server connections read from and write to
 * memory BIOs; the caller moves the bytes. */
#include "agent/api/tls.h"

#include <dlfcn.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

/* OpenSSL 3's sonames; libcrypto comes as libssl's dependency, and dlsym
 * on libssl's handle finds its symbols too. */
#define TLS_SONAME "libssl.so.3"

static struct {
    __typeof__(TLS_server_method) *TLS_server_method;
    __typeof__(TLS_client_method) *TLS_client_method;
    __typeof__(SSL_CTX_new) *SSL_CTX_new;
    __typeof__(SSL_CTX_free) *SSL_CTX_free;
    __typeof__(SSL_CTX_ctrl) *SSL_CTX_ctrl;
    __typeof__(SSL_CTX_use_certificate_chain_file) *SSL_CTX_use_certificate_chain_file;
    __typeof__(SSL_CTX_use_PrivateKey_file) *SSL_CTX_use_PrivateKey_file;
    __typeof__(SSL_CTX_check_private_key) *SSL_CTX_check_private_key;
    __typeof__(SSL_CTX_load_verify_file) *SSL_CTX_load_verify_file;
    __typeof__(SSL_CTX_set_default_verify_paths) *SSL_CTX_set_default_verify_paths;
    __typeof__(SSL_CTX_set_verify) *SSL_CTX_set_verify;
    __typeof__(SSL_CTX_set_options) *SSL_CTX_set_options;
    __typeof__(SSL_CTX_set_num_tickets) *SSL_CTX_set_num_tickets;
    __typeof__(SSL_new) *SSL_new;
    __typeof__(SSL_free) *SSL_free;
    __typeof__(SSL_set_bio) *SSL_set_bio;
    __typeof__(SSL_set_fd) *SSL_set_fd;
    __typeof__(SSL_set_accept_state) *SSL_set_accept_state;
    __typeof__(SSL_set_connect_state) *SSL_set_connect_state;
    __typeof__(SSL_do_handshake) *SSL_do_handshake;
    __typeof__(SSL_read) *SSL_read;
    __typeof__(SSL_write) *SSL_write;
    __typeof__(SSL_get_error) *SSL_get_error;
    __typeof__(SSL_in_before) *SSL_in_before;
    __typeof__(SSL_is_init_finished) *SSL_is_init_finished;
    __typeof__(SSL_shutdown) *SSL_shutdown;
    __typeof__(SSL_get0_param) *SSL_get0_param;
    __typeof__(SSL_get_verify_result) *SSL_get_verify_result;
    __typeof__(BIO_new) *BIO_new;
    __typeof__(BIO_s_mem) *BIO_s_mem;
    __typeof__(BIO_read) *BIO_read;
    __typeof__(BIO_write) *BIO_write;
    __typeof__(BIO_free) *BIO_free;
    __typeof__(BIO_ctrl) *BIO_ctrl;
    __typeof__(ERR_get_error) *ERR_get_error;
    __typeof__(ERR_peek_error) *ERR_peek_error;
    __typeof__(ERR_clear_error) *ERR_clear_error;
    __typeof__(ERR_reason_error_string) *ERR_reason_error_string;
    __typeof__(X509_VERIFY_PARAM_set1_ip_asc) *X509_VERIFY_PARAM_set1_ip_asc;
    __typeof__(X509_verify_cert_error_string) *X509_verify_cert_error_string;
} lib;

#define SYM(f)                                                                                     \
    {                                                                                              \
#f, offsetof(__typeof__(lib), f)                                                           \
    }
static const struct {
    const char *name;
    size_t off;
} syms[] = {
    SYM(TLS_server_method),
    SYM(TLS_client_method),
    SYM(SSL_CTX_new),
    SYM(SSL_CTX_free),
    SYM(SSL_CTX_ctrl),
    SYM(SSL_CTX_use_certificate_chain_file),
    SYM(SSL_CTX_use_PrivateKey_file),
    SYM(SSL_CTX_check_private_key),
    SYM(SSL_CTX_load_verify_file),
    SYM(SSL_CTX_set_default_verify_paths),
    SYM(SSL_CTX_set_verify),
    SYM(SSL_CTX_set_options),
    SYM(SSL_CTX_set_num_tickets),
    SYM(SSL_new),
    SYM(SSL_free),
    SYM(SSL_set_bio),
    SYM(SSL_set_fd),
    SYM(SSL_set_accept_state),
    SYM(SSL_set_connect_state),
    SYM(SSL_do_handshake),
    SYM(SSL_read),
    SYM(SSL_write),
    SYM(SSL_get_error),
    SYM(SSL_in_before),
    SYM(SSL_is_init_finished),
    SYM(SSL_shutdown),
    SYM(SSL_get0_param),
    SYM(SSL_get_verify_result),
    SYM(BIO_new),
    SYM(BIO_s_mem),
    SYM(BIO_read),
    SYM(BIO_write),
    SYM(BIO_free),
    SYM(BIO_ctrl),
    SYM(ERR_get_error),
    SYM(ERR_peek_error),
    SYM(ERR_clear_error),
    SYM(ERR_reason_error_string),
    SYM(X509_VERIFY_PARAM_set1_ip_asc),
    SYM(X509_verify_cert_error_string),
};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char why[256]; /* empty when loaded */

static void load(void)
{
    void *dl = dlopen(TLS_SONAME, RTLD_NOW | RTLD_LOCAL);

    if (!dl) {
        snprintf(why, sizeof(why), "%s", dlerror());
        return;
    }
    for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
        void *p = dlsym(dl, syms[i].name);
        if (!p) {
            snprintf(why, sizeof(why), "%s: no %s", TLS_SONAME, syms[i].name);
            dlclose(dl);
            return;
        }
        memcpy((char *)&lib + syms[i].off, &p, sizeof(p));
    }
}

int tls_load(struct err *e)
{
    pthread_once(&once, load);
    if (why[0])
        return err_set(e, -ENOENT, "cannot load OpenSSL 3 (needed for TLS): %s", why);
    return 0;
}

/* The reason of the first error in OpenSSL's queue, which is then emptied
 * (the last one is often only "PEM lib" or "system lib"). */
static const char *first_reason(void)
{
    unsigned long code = lib.ERR_peek_error();
    const char *r = code ? lib.ERR_reason_error_string(code) : NULL;

    lib.ERR_clear_error();
    return r ? r : "unknown OpenSSL error";
}

/* ---- server ---- */

struct tls_server {
    SSL_CTX *ctx;
    char *cert_file, *key_file;
};

/* Opens cert_file and key_file first so that a missing or unreadable one is
 * named with errno's text rather than OpenSSL's. */
static int readable(const char *what, const char *file, struct err *e)
{
    FILE *f = fopen(file, "r");

    if (!f)
        return err_set(e, -errno, "%s %s: %s", what, file, strerror(errno));
    fclose(f);
    return 0;
}

static int server_ctx(SSL_CTX **out, const char *cert_file, const char *key_file, struct err *e)
{
    SSL_CTX *ctx;
    int rc;

    *out = NULL;
    if ((rc = readable("certificate", cert_file, e)) < 0 ||
        (rc = readable("private key", key_file, e)) < 0)
        return rc;
    lib.ERR_clear_error();
    if (!(ctx = lib.SSL_CTX_new(lib.TLS_server_method())))
        return err_set(e, -ENOMEM, "TLS: %s", first_reason());
    lib.SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, TLS1_2_VERSION, NULL);
    /* an idle keep-alive connection gives its record buffers back */
    lib.SSL_CTX_ctrl(ctx, SSL_CTRL_MODE, SSL_MODE_RELEASE_BUFFERS, NULL);
    /* no resumption: neither curl nor the CLI keeps a session from one
     * process to the next, and a session cache or tickets cost memory and
     * a ticket's encryption on every handshake */
    lib.SSL_CTX_ctrl(ctx, SSL_CTRL_SET_SESS_CACHE_MODE, SSL_SESS_CACHE_OFF, NULL);
    lib.SSL_CTX_set_num_tickets(ctx, 0);
    if (lib.SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
        rc = err_set(e, -EINVAL, "certificate %s: %s", cert_file, first_reason());
        goto fail;
    }
    if (lib.SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
        int reason = ERR_GET_REASON(lib.ERR_peek_error());
        if (reason == X509_R_KEY_VALUES_MISMATCH || reason == X509_R_KEY_TYPE_MISMATCH)
            rc = err_set(e, -EINVAL, "private key %s does not match certificate %s: %s", key_file,
                         cert_file, first_reason());
        else
            rc = err_set(e, -EINVAL, "private key %s: %s", key_file, first_reason());
        goto fail;
    }
    if (lib.SSL_CTX_check_private_key(ctx) != 1) {
        rc = err_set(e, -EINVAL, "private key %s does not match certificate %s: %s", key_file,
                     cert_file, first_reason());
        goto fail;
    }
    *out = ctx;
    return 0;
fail:
    lib.SSL_CTX_free(ctx);
    return rc;
}

int tls_server_new(struct tls_server **out, const char *cert_file, const char *key_file,
                   struct err *e)
{
    struct tls_server *s;
    SSL_CTX *ctx;
    int rc;

    *out = NULL;
    if ((rc = tls_load(e)) < 0 || (rc = server_ctx(&ctx, cert_file, key_file, e)) < 0)
        return rc;
    s = xcalloc(1, sizeof(*s));
    s->ctx = ctx;
    s->cert_file = xstrdup(cert_file);
    s->key_file = xstrdup(key_file);
    *out = s;
    return 0;
}

int tls_server_reload(struct tls_server *s, struct err *e)
{
    SSL_CTX *ctx;
    int rc = server_ctx(&ctx, s->cert_file, s->key_file, e);

    if (rc < 0)
        return rc;
    lib.SSL_CTX_free(s->ctx); /* connections made with it hold references */
    s->ctx = ctx;
    return 0;
}

void tls_server_free(struct tls_server *s)
{
    if (!s)
        return;
    lib.SSL_CTX_free(s->ctx);
    free(s->cert_file);
    free(s->key_file);
    free(s);
}

struct tls_conn {
    SSL *ssl;
    BIO *in, *out; /* owned by ssl */
    char why[160];
};

struct tls_conn *tls_conn_new(struct tls_server *s)
{
    struct tls_conn *c = xcalloc(1, sizeof(*c));

    lib.ERR_clear_error();
    c->ssl = lib.SSL_new(s->ctx);
    c->in = lib.BIO_new(lib.BIO_s_mem());
    c->out = lib.BIO_new(lib.BIO_s_mem());
    if (!c->ssl || !c->in || !c->out) {
        /* SSL_free frees the BIOs only once they are set */
        if (c->ssl)
            lib.SSL_free(c->ssl);
        if (c->in)
            lib.BIO_free(c->in);
        if (c->out)
            lib.BIO_free(c->out);
        free(c);
        return NULL;
    }
    lib.SSL_set_bio(c->ssl, c->in, c->out);
    lib.SSL_set_accept_state(c->ssl);
    return c;
}

void tls_conn_free(struct tls_conn *c)
{
    if (!c)
        return;
    lib.SSL_free(c->ssl);
    free(c);
}

void tls_conn_feed(struct tls_conn *c, const void *buf, size_t len)
{
    /* a memory BIO takes all of it (or fails only out of memory, which
     * xmalloc's policy would abort on too) */
    while (len > 0) {
        int n = lib.BIO_write(c->in, buf, len > INT32_MAX ? INT32_MAX : (int)len);
        if (n <= 0)
            abort();
        buf = (const char *)buf + n;
        len -= (size_t)n;
    }
}

/* The outcome of an SSL call that returned rc <= 0, as tls.h's codes. */
static int conn_failed(struct tls_conn *c, int rc)
{
    switch (lib.SSL_get_error(c->ssl, rc)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
        return 0;
    case SSL_ERROR_ZERO_RETURN:
        snprintf(c->why, sizeof(c->why), "closed by the peer");
        return -EPIPE;
    case SSL_ERROR_SSL:
        snprintf(c->why, sizeof(c->why), "%s", first_reason());
        return -EPROTO;
    default:
        snprintf(c->why, sizeof(c->why), "TLS failed (%s)", first_reason());
        return -EPROTO;
    }
}

ssize_t tls_conn_read(struct tls_conn *c, void *out, size_t cap)
{
    int n;

    lib.ERR_clear_error();
    n = lib.SSL_read(c->ssl, out, cap > INT32_MAX ? INT32_MAX : (int)cap);
    return n > 0 ? n : conn_failed(c, n);
}

int tls_conn_write(struct tls_conn *c, const void *buf, size_t len)
{
    while (len > 0) {
        int n;
        lib.ERR_clear_error();
        n = lib.SSL_write(c->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
        if (n <= 0) { /* a memory BIO never asks to wait */
            conn_failed(c, n);
            return -EPROTO;
        }
        buf = (const char *)buf + n;
        len -= (size_t)n;
    }
    return 0;
}

void tls_conn_shutdown(struct tls_conn *c)
{
    lib.ERR_clear_error();
    lib.SSL_shutdown(c->ssl);
    lib.ERR_clear_error();
}

size_t tls_conn_pending(struct tls_conn *c)
{
    long n = lib.BIO_ctrl(c->out, BIO_CTRL_PENDING, 0, NULL);
    return n > 0 ? (size_t)n : 0;
}

size_t tls_conn_take(struct tls_conn *c, void *out, size_t cap)
{
    int n = lib.BIO_read(c->out, out, cap > INT32_MAX ? INT32_MAX : (int)cap);
    return n > 0 ? (size_t)n : 0;
}

int tls_conn_handshaking(const struct tls_conn *c)
{
    return !lib.SSL_in_before(c->ssl) && !lib.SSL_is_init_finished(c->ssl);
}

const char *tls_conn_error(const struct tls_conn *c)
{
    return c->why;
}

/* ---- client ---- */

struct tls_client {
    SSL_CTX *ctx;
    SSL *ssl;
};

int tls_client_new(struct tls_client **out, int fd, const char *ca_file, const char *ip,
                   struct err *e)
{
    struct tls_client *c;
    int rc;

    *out = NULL;
    if ((rc = tls_load(e)) < 0)
        return rc;
    if (ca_file && (rc = readable("CA certificate", ca_file, e)) < 0)
        return rc;
    c = xcalloc(1, sizeof(*c));
    lib.ERR_clear_error();
    if (!(c->ctx = lib.SSL_CTX_new(lib.TLS_client_method()))) {
        rc = err_set(e, -ENOMEM, "TLS: %s", first_reason());
        goto fail;
    }
    lib.SSL_CTX_ctrl(c->ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, TLS1_2_VERSION, NULL);
    if (ca_file ? lib.SSL_CTX_load_verify_file(c->ctx, ca_file) != 1
                : lib.SSL_CTX_set_default_verify_paths(c->ctx) != 1) {
        rc = err_set(e, -EINVAL, "CA certificate %s: %s", ca_file ? ca_file : "(system)",
                     first_reason());
        goto fail;
    }
    lib.SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
    /* the answer's length is HTTP's to check (Content-Length) */
    lib.SSL_CTX_set_options(c->ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    if (!(c->ssl = lib.SSL_new(c->ctx)) || lib.SSL_set_fd(c->ssl, fd) != 1) {
        rc = err_set(e, -ENOMEM, "TLS: %s", first_reason());
        goto fail;
    }
    if (lib.X509_VERIFY_PARAM_set1_ip_asc(lib.SSL_get0_param(c->ssl), ip) != 1) {
        rc = err_set(e, -EINVAL, "TLS: %s is not an IP address", ip);
        goto fail;
    }
    lib.SSL_set_connect_state(c->ssl);
    *out = c;
    return 0;
fail:
    tls_client_free(c);
    return rc;
}

void tls_client_free(struct tls_client *c)
{
    if (!c)
        return;
    lib.SSL_free(c->ssl);
    lib.SSL_CTX_free(c->ctx);
    free(c);
}

/* The outcome of a client call that returned rc <= 0. */
static int client_failed(struct tls_client *c, int rc, short *want, struct err *e)
{
    long v;

    switch (lib.SSL_get_error(c->ssl, rc)) {
    case SSL_ERROR_WANT_READ:
        *want = POLLIN;
        return -EAGAIN;
    case SSL_ERROR_WANT_WRITE:
        *want = POLLOUT;
        return -EAGAIN;
    case SSL_ERROR_ZERO_RETURN:
        return 0;
    case SSL_ERROR_SSL:
        if ((v = lib.SSL_get_verify_result(c->ssl)) != X509_V_OK) {
            lib.ERR_clear_error();
            return err_set(e, -EPROTO, "TLS: the agent's certificate is not trusted: %s",
                           lib.X509_verify_cert_error_string(v));
        }
        return err_set(e, -EPROTO, "TLS: %s", first_reason());
    default:
        return err_set(e, -EPROTO, "TLS: connection failed (%s)", first_reason());
    }
}

int tls_client_handshake(struct tls_client *c, short *want, struct err *e)
{
    int rc;

    lib.ERR_clear_error();
    rc = lib.SSL_do_handshake(c->ssl);
    if (rc == 1)
        return 0;
    rc = client_failed(c, rc, want, e);
    return rc == 0 ? err_set(e, -EPROTO, "TLS: the agent closed during the handshake") : rc;
}

ssize_t tls_client_write(struct tls_client *c, const void *buf, size_t len, short *want,
                         struct err *e)
{
    int n;

    lib.ERR_clear_error();
    n = lib.SSL_write(c->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
    if (n > 0)
        return n;
    n = client_failed(c, n, want, e);
    return n == 0 ? err_set(e, -EPIPE, "TLS: the agent closed the connection") : n;
}

ssize_t tls_client_read(struct tls_client *c, void *buf, size_t cap, short *want, struct err *e)
{
    int n;

    lib.ERR_clear_error();
    n = lib.SSL_read(c->ssl, buf, cap > INT32_MAX ? INT32_MAX : (int)cap);
    return n > 0 ? n : client_failed(c, n, want, e);
}
