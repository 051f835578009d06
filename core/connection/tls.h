/*
 * TLS for a connection's socket, through OpenSSL. The connection keeps
 * doing its own non-blocking I/O on libevent; this file only turns
 * handshake, read and write into calls that say which readiness they wait
 * for.
 *
 * A context (certificates, CA, verification policy) is made once per
 * connection from its options, so that a bad file fails jw_conn_connect at
 * once; a session is made per TCP connection.
 */
#ifndef JW_TLS_H
#define JW_TLS_H

#include <stddef.h>
#include <sys/types.h>

#include "jetwire.h"

typedef struct jw_opts jw_opts;
typedef struct jw__tls_ctx jw__tls_ctx;
typedef struct jw__tls jw__tls;

/* Whether the options ask for TLS whatever the URL and the server say. */
int jw__tls_wanted(const jw_opts *o);

/* The context for the options: CA file (else the system's trust store),
 * client certificate and key, verification on unless
 * tls_insecure_skip_verify. JW_ETLS naming the file and OpenSSL's reason
 * when one does not load. */
jw_status jw__tls_ctx_new(const jw_opts *o, jw__tls_ctx **out);
void jw__tls_ctx_free(jw__tls_ctx *ctx);

/* A session on a connected socket, for a server reached as `host` (used
 * for SNI and certificate checks unless the tls_hostname option names
 * another). */
jw_status jw__tls_new(jw__tls_ctx *ctx, int fd, const char *host,
                      jw__tls **out);
void jw__tls_free(jw__tls *t);

/* What a call waits for when it could not finish. */
enum { JW__TLS_WANT_READ = 1, JW__TLS_WANT_WRITE = 2 };

/* Advance the handshake: JW_OK when done; a positive JW__TLS_WANT_* to
 * call again when the socket is ready; JW_ETLS with the reason (for
 * example the certificate check that failed). */
int jw__tls_handshake(jw__tls *t);

/* Like recv/send: the byte count (> 0); 0 when the peer closed; -1 with
 * *want set when the socket is not ready; -2 on an error, whose status
 * (JW_ETLS for TLS, JW_EIO for the socket) jw__tls_error gives and
 * jw_last_error describes. */
ssize_t jw__tls_read(jw__tls *t, void *buf, size_t n, int *want);
ssize_t jw__tls_write(jw__tls *t, const void *buf, size_t n, int *want);

/* Bytes OpenSSL has decrypted but not yet handed out: a reader must take
 * them before waiting for the socket again. */
size_t jw__tls_pending(const jw__tls *t);
jw_status jw__tls_error(const jw__tls *t);

#endif
