/* tls: TLS for the HTTP API through OpenSSL 3, loaded with dlopen the first
 * time a certificate is configured (as libarchive is, see trust/arc.h): an
 * agent whose API stays on loopback without TLS never maps libssl and
 * libcrypto (about 1.5 MB resident). The server side works over memory
 * buffers and never touches a socket: httpd feeds it what the peer sent,
 * reads back plaintext, hands it plaintext and takes what to send. The
 * client side (the CLI) drives a blocking-with-deadline socket itself.
 * Owns the OpenSSL objects; knows nothing of HTTP or the loop. */
#ifndef TROUPE_TLS_H
#define TROUPE_TLS_H

#include <stddef.h>
#include <sys/types.h>

#include "core/err.h"

/* 0 when libssl is loaded (once, thread-safe); -ENOENT naming the library
 * and dlerror() when not. The functions below call it themselves. */
int tls_load(struct err *e);

/* ---- server: one certificate chain and key, many connections ---- */

struct tls_server;
struct tls_conn;

/* Loads the certificate chain (PEM, leaf first) and the private key (PEM)
 * and checks that they match. Errors name the file and the reason. Free
 * with tls_server_free. */
int tls_server_new(struct tls_server **out, const char *cert_file, const char *key_file,
                   struct err *e);
/* Reads the same files again (SIGHUP); new connections use them, open ones
 * keep what they started with. On an error the old ones stay. */
int tls_server_reload(struct tls_server *s, struct err *e);
/* Open connections stay valid (each holds a reference of its own). NULL: no-op. */
void tls_server_free(struct tls_server *s);

/* A connection in the accepting state; NULL when out of memory. Free with
 * tls_conn_free (NULL: no-op). */
struct tls_conn *tls_conn_new(struct tls_server *s);
void tls_conn_free(struct tls_conn *c);
/* Hands bytes that came from the peer to c (copied). */
void tls_conn_feed(struct tls_conn *c, const void *buf, size_t len);
/* Decrypts into out: the number of bytes (> 0); 0 when more input is
 * needed; -EPIPE when the peer closed the session; -EPROTO when the peer
 * speaks no TLS or it failed (tls_conn_error says why). May queue output
 * (the handshake): send tls_conn_pending afterwards. */
ssize_t tls_conn_read(struct tls_conn *c, void *out, size_t cap);
/* Encrypts len bytes, all of them, into the output: 0 or -EPROTO. */
int tls_conn_write(struct tls_conn *c, const void *buf, size_t len);
/* Queues the close_notify alert (the last thing sent before a close). */
void tls_conn_shutdown(struct tls_conn *c);
/* Bytes waiting to be sent to the peer; tls_conn_take moves up to cap of
 * them into out and returns how many. */
size_t tls_conn_pending(struct tls_conn *c);
size_t tls_conn_take(struct tls_conn *c, void *out, size_t cap);
/* 1 once the peer sent its first bytes and until the handshake is done. */
int tls_conn_handshaking(const struct tls_conn *c);
/* Why the last call failed ("" when none). */
const char *tls_conn_error(const struct tls_conn *c);

/* ---- client: the CLI on a connected, non-blocking socket ---- */

struct tls_client;

/* A client over fd that trusts the CA certificates of ca_file (PEM; NULL:
 * the system's) and checks that the server's certificate names ip (an IP
 * address as text). Free with tls_client_free (NULL: no-op); fd stays the
 * caller's. */
int tls_client_new(struct tls_client **out, int fd, const char *ca_file, const char *ip,
                   struct err *e);
void tls_client_free(struct tls_client *c);
/* Each returns -EAGAIN with *want set to POLLIN or POLLOUT when the socket
 * must be waited for (then call again), or a negative code with a message.
 * tls_client_handshake returns 0 once the server is verified;
 * tls_client_write the bytes written (> 0); tls_client_read the bytes read
 * (> 0), or 0 at the end of the stream. */
int tls_client_handshake(struct tls_client *c, short *want, struct err *e);
ssize_t tls_client_write(struct tls_client *c, const void *buf, size_t len, short *want,
                         struct err *e);
ssize_t tls_client_read(struct tls_client *c, void *buf, size_t cap, short *want, struct err *e);

#endif
