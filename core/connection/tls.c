/*
 * TLS through OpenSSL (see tls.h). Sessions run on the connection's own
 * non-blocking socket; OpenSSL's WANT_READ / WANT_WRITE tell the connection
 * which readiness to wait for.
 *
 * The socket is reached through our own small BIO rather than OpenSSL's
 * socket BIO, which writes with write(2): a peer that has gone away would
 * then raise SIGPIPE and kill a host program that has not ignored it. Ours
 * sends with MSG_NOSIGNAL, as the plain-text path does.
 */
#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "engine.h"

struct jw__tls_ctx {
    SSL_CTX *ssl_ctx;
    int verify;
    char *hostname; /* tls_hostname, or NULL: the URL's host */
};

struct jw__tls {
    SSL *ssl;
    jw_status error; /* of the last failed call */
};

/* --- the socket BIO ---------------------------------------------------- */

static int sock_fd(BIO *b)
{
    return (int)(intptr_t)BIO_get_data(b);
}

static int retryable(int e)
{
    return e == EAGAIN || e == EWOULDBLOCK || e == EINTR;
}

static int sock_write(BIO *b, const char *buf, int n)
{
    BIO_clear_retry_flags(b);
    ssize_t put = send(sock_fd(b), buf, (size_t)n, MSG_NOSIGNAL);
    if (put < 0 && retryable(errno))
        BIO_set_retry_write(b);
    return (int)put;
}

static int sock_read(BIO *b, char *buf, int n)
{
    BIO_clear_retry_flags(b);
    ssize_t got = recv(sock_fd(b), buf, (size_t)n, 0);
    if (got < 0 && retryable(errno))
        BIO_set_retry_read(b);
    return (int)got;
}

static long sock_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)b, (void)num, (void)ptr;
    switch (cmd) {
    case BIO_CTRL_FLUSH: /* nothing is buffered here */
    case BIO_CTRL_DUP:
        return 1;
    default:
        return 0;
    }
}

static BIO_METHOD *sock_method;
static pthread_once_t sock_method_once = PTHREAD_ONCE_INIT;

static void sock_method_init(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK |
                                     BIO_TYPE_DESCRIPTOR,
                                 "jetwire socket");
    if (m && BIO_meth_set_write(m, sock_write) == 1 &&
        BIO_meth_set_read(m, sock_read) == 1 &&
        BIO_meth_set_ctrl(m, sock_ctrl) == 1) {
        sock_method = m; /* lives as long as the process, like OpenSSL's */
        return;
    }
    BIO_meth_free(m);
}

/* A BIO on fd; the caller (or the SSL it is given to) owns it. */
static BIO *sock_bio_new(int fd)
{
    pthread_once(&sock_method_once, sock_method_init);
    BIO *b = sock_method ? BIO_new(sock_method) : NULL;
    if (b) {
        BIO_set_data(b, (void *)(intptr_t)fd);
        BIO_set_init(b, 1);
    }
    return b;
}

/* --- contexts and sessions --------------------------------------------- */

int jw__tls_wanted(const jw_opts *o)
{
    return o->tls_ca_file || o->tls_cert_file || o->tls_key_file ||
           o->tls_insecure_skip_verify;
}

/* OpenSSL's reason for the last failure, taken off its error queue. */
static const char *ssl_reason(char *buf, size_t size)
{
    unsigned long e = ERR_get_error();
    unsigned long next;
    while ((next = ERR_get_error()) != 0) /* keep the first, drop the rest */
        ;
    if (!e)
        snprintf(buf, size, "unknown TLS error");
    else
        ERR_error_string_n(e, buf, size);
    return buf;
}

jw_status jw__tls_ctx_new(const jw_opts *o, jw__tls_ctx **out)
{
    char why[256];
    jw__tls_ctx *ctx = calloc(1, sizeof(*ctx));
    if (!ctx)
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    ERR_clear_error();
    ctx->ssl_ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx->ssl_ctx) {
        free(ctx);
        return jw__fail(JW_ETLS, "cannot make a TLS context: %s",
                        ssl_reason(why, sizeof(why)));
    }
    SSL_CTX_set_min_proto_version(ctx->ssl_ctx, TLS1_2_VERSION);
    /* The connection retries a write from a buffer that may have moved
     * and takes partial writes as send() gives them. */
    SSL_CTX_set_mode(ctx->ssl_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
                                       SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    ctx->verify = !o->tls_insecure_skip_verify;
    jw_status st = JW_OK;
    if (o->tls_hostname && !(ctx->hostname = strdup(o->tls_hostname)))
        st = jw__fail(JW_ENO_MEMORY, "out of memory");
    if (st == JW_OK && ctx->verify) {
        int ok = o->tls_ca_file ? SSL_CTX_load_verify_locations(
                                      ctx->ssl_ctx, o->tls_ca_file, NULL)
                                : SSL_CTX_set_default_verify_paths(ctx->ssl_ctx);
        if (ok != 1)
            st = jw__fail(JW_ETLS, "cannot load the CA file '%s': %s",
                          o->tls_ca_file ? o->tls_ca_file : "(system)",
                          ssl_reason(why, sizeof(why)));
        SSL_CTX_set_verify(ctx->ssl_ctx, SSL_VERIFY_PEER, NULL);
    }
    if (st == JW_OK && (o->tls_cert_file || o->tls_key_file)) {
        if (!o->tls_cert_file || !o->tls_key_file)
            st = jw__fail(JW_ETLS, "a client certificate needs both "
                                   "tls_cert_file and tls_key_file");
        else if (SSL_CTX_use_certificate_chain_file(ctx->ssl_ctx,
                                                    o->tls_cert_file) != 1)
            st = jw__fail(JW_ETLS, "cannot load the certificate file '%s': %s",
                          o->tls_cert_file, ssl_reason(why, sizeof(why)));
        else if (SSL_CTX_use_PrivateKey_file(ctx->ssl_ctx, o->tls_key_file,
                                             SSL_FILETYPE_PEM) != 1 &&
                 ERR_GET_REASON(ERR_peek_error()) != X509_R_KEY_VALUES_MISMATCH)
            st = jw__fail(JW_ETLS, "cannot load the key file '%s': %s",
                          o->tls_key_file, ssl_reason(why, sizeof(why)));
        else if (ERR_peek_error() || SSL_CTX_check_private_key(ctx->ssl_ctx) != 1)
            st = jw__fail(JW_ETLS, "the key in '%s' does not match the "
                                   "certificate in '%s'",
                          o->tls_key_file, o->tls_cert_file);
    }
    if (st) {
        jw__tls_ctx_free(ctx);
        return st;
    }
    *out = ctx;
    return JW_OK;
}

void jw__tls_ctx_free(jw__tls_ctx *ctx)
{
    if (!ctx)
        return;
    SSL_CTX_free(ctx->ssl_ctx);
    free(ctx->hostname);
    free(ctx);
}

static int is_ip_address(const char *host)
{
    unsigned char addr[16];
    return inet_pton(AF_INET, host, addr) == 1 ||
           inet_pton(AF_INET6, host, addr) == 1;
}

jw_status jw__tls_new(jw__tls_ctx *ctx, int fd, const char *host,
                      jw__tls **out)
{
    char why[256];
    const char *name = ctx->hostname ? ctx->hostname : host;
    jw__tls *t = calloc(1, sizeof(*t));
    if (!t)
        return jw__fail(JW_ENO_MEMORY, "out of memory");
    ERR_clear_error();
    t->ssl = SSL_new(ctx->ssl_ctx);
    BIO *bio = t->ssl ? sock_bio_new(fd) : NULL;
    int ok = bio != NULL;
    if (ok)
        SSL_set_bio(t->ssl, bio, bio); /* the SSL now owns it */
    /* SNI for names only; the certificate check for names and addresses. */
    if (ok && name && !is_ip_address(name))
        ok = SSL_set_tlsext_host_name(t->ssl, name) == 1;
    if (ok && ctx->verify && name) {
        X509_VERIFY_PARAM *param = SSL_get0_param(t->ssl);
        ok = is_ip_address(name) ? X509_VERIFY_PARAM_set1_ip_asc(param, name)
                                 : X509_VERIFY_PARAM_set1_host(param, name, 0);
    }
    if (!ok) {
        jw__tls_free(t);
        return jw__fail(JW_ETLS, "cannot start TLS: %s",
                        ssl_reason(why, sizeof(why)));
    }
    SSL_set_connect_state(t->ssl);
    *out = t;
    return JW_OK;
}

void jw__tls_free(jw__tls *t)
{
    if (!t)
        return;
    SSL_free(t->ssl);
    free(t);
}

/* Map an SSL_get_error result: a JW__TLS_WANT_*, 0 for a clean close, or
 * -1 with the failure recorded. */
static int classify(jw__tls *t, int rc, const char *what)
{
    char why[256];
    int err = SSL_get_error(t->ssl, rc);
    switch (err) {
    case SSL_ERROR_WANT_READ:
        return JW__TLS_WANT_READ;
    case SSL_ERROR_WANT_WRITE:
        return JW__TLS_WANT_WRITE;
    case SSL_ERROR_ZERO_RETURN:
        return 0;
    case SSL_ERROR_SYSCALL:
        if (ERR_peek_error() == 0) {
            t->error = jw__fail(JW_EIO, "TLS %s: %s", what,
                                errno ? strerror(errno) : "connection closed");
            return -1;
        }
        break;
    default:
        break;
    }
    long verify = SSL_get_verify_result(t->ssl);
    if (verify != X509_V_OK)
        t->error = jw__fail(JW_ETLS, "TLS %s: certificate verify failed: %s",
                            what, X509_verify_cert_error_string(verify));
    else
        t->error = jw__fail(JW_ETLS, "TLS %s: %s", what,
                            ssl_reason(why, sizeof(why)));
    return -1;
}

int jw__tls_handshake(jw__tls *t)
{
    ERR_clear_error();
    errno = 0;
    int rc = SSL_do_handshake(t->ssl);
    if (rc == 1)
        return JW_OK;
    int c = classify(t, rc, "handshake");
    if (c > 0)
        return c;
    if (c == 0)
        return jw__fail(JW_ETLS, "TLS handshake: the server closed the "
                                 "connection");
    return t->error;
}

ssize_t jw__tls_read(jw__tls *t, void *buf, size_t n, int *want)
{
    ERR_clear_error();
    errno = 0;
    size_t got = 0;
    if (SSL_read_ex(t->ssl, buf, n, &got) == 1)
        return (ssize_t)got;
    int c = classify(t, 0, "read");
    if (c > 0) {
        *want = c;
        errno = EAGAIN;
        return -1;
    }
    return c == 0 ? 0 : -2;
}

ssize_t jw__tls_write(jw__tls *t, const void *buf, size_t n, int *want)
{
    ERR_clear_error();
    errno = 0;
    size_t put = 0;
    if (SSL_write_ex(t->ssl, buf, n, &put) == 1)
        return (ssize_t)put;
    int c = classify(t, 0, "write");
    if (c > 0) {
        *want = c;
        errno = EAGAIN;
        return -1;
    }
    if (c == 0)
        t->error = jw__fail(JW_EIO, "TLS write: connection closed");
    return -2;
}

size_t jw__tls_pending(const jw__tls *t)
{
    return (size_t)SSL_pending(t->ssl);
}

jw_status jw__tls_error(const jw__tls *t)
{
    return t->error ? t->error : JW_ETLS;
}
