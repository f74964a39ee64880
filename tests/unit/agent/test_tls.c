/* Tests of agent/api/tls: certificate and key errors name the file and the
 * reason; a server session over memory buffers and the CLI's client over a
 * socket pair shake hands and carry bytes both ways; plain HTTP to a
 * server session is a protocol error; the client checks the CA and the IP
 * address; a reload that fails keeps the running certificate. The
 * certificates are made with the openssl command at setup. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "agent/api/tls.h"

static char dir[64];
static char ca[128], cert[128], key[128], other_key[128], garbage[128];

static int make_pki(void **state)
{
    char cmd[2048];

    snprintf(dir, sizeof(dir), "/tmp/troupe-tls-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
    snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
    snprintf(key, sizeof(key), "%s/key.pem", dir);
    snprintf(other_key, sizeof(other_key), "%s/other.key", dir);
    snprintf(garbage, sizeof(garbage), "%s/garbage.pem", dir);
    snprintf(cmd, sizeof(cmd),
             "(cd %s && E='-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes' && "
             "openssl req -x509 $E -keyout ca.key -out ca.pem -days 1 -subj /CN=ca && "
             "openssl req $E -keyout key.pem -out req.csr -subj /CN=agent && "
             "echo subjectAltName=IP:127.0.0.1 >ext && "
             "openssl x509 -req -in req.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
             "-out cert.pem -days 1 -extfile ext && "
             "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out other.key && "
             "echo not a certificate >garbage.pem) >%s/openssl.log 2>&1",
             dir, dir);
    if (system(cmd) != 0)
        fail_msg("openssl could not make the test certificates (is it installed?): see "
                 "%s/openssl.log",
                 dir);
    return 0;
}

static int remove_pki(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static void test_missing_or_garbage_files_are_refused_naming_them(void **state)
{
    struct tls_server *s = NULL;
    struct err e;
    char missing[160];

    snprintf(missing, sizeof(missing), "%s/missing.pem", dir);
    assert_int_equal(tls_server_new(&s, missing, key, &e), -ENOENT);
    assert_null(s);
    assert_non_null(strstr(e.msg, missing));
    assert_non_null(strstr(e.msg, "No such file"));

    assert_int_equal(tls_server_new(&s, garbage, key, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "certificate"));
    assert_non_null(strstr(e.msg, garbage));
    assert_non_null(strstr(e.msg, "no start line"));

    assert_int_equal(tls_server_new(&s, cert, garbage, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "private key"));
    assert_non_null(strstr(e.msg, garbage));
}

static void test_key_of_another_certificate_is_refused_naming_both(void **state)
{
    struct tls_server *s = NULL;
    struct err e;

    assert_int_equal(tls_server_new(&s, cert, other_key, &e), -EINVAL);
    assert_null(s);
    assert_non_null(strstr(e.msg, other_key));
    assert_non_null(strstr(e.msg, "does not match"));
    assert_non_null(strstr(e.msg, cert));
}

/* The server's output into fd, and fd's input into the server, until
 * neither moves. */
static void pump(struct tls_conn *c, int fd)
{
    uint8_t buf[16384];
    size_t n;
    ssize_t r;

    while ((n = tls_conn_take(c, buf, sizeof(buf))) > 0)
        assert_int_equal(write(fd, buf, n), (ssize_t)n);
    while ((r = read(fd, buf, sizeof(buf))) > 0)
        tls_conn_feed(c, buf, (size_t)r);
}

/* Drives the client's handshake against the server session c. */
static int handshake(struct tls_client *cl, struct tls_conn *c, int sfd, struct err *e)
{
    uint8_t sink[64];

    for (int i = 0; i < 100; i++) {
        short want = 0;
        int rc = tls_client_handshake(cl, &want, e);
        if (rc != -EAGAIN)
            return rc;
        pump(c, sfd);
        /* the server answers only once it is read from */
        if (tls_conn_read(c, sink, sizeof(sink)) < 0)
            return -EPROTO;
        pump(c, sfd);
    }
    return -ETIMEDOUT;
}

static void pair(int fds[2])
{
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
}

static void test_client_and_server_carry_bytes_both_ways(void **state)
{
    struct tls_server *s;
    struct tls_conn *c;
    struct tls_client *cl;
    struct err e;
    int fds[2];
    char got[64];
    short want;
    ssize_t n;

    pair(fds);
    assert_int_equal(tls_server_new(&s, cert, key, &e), 0);
    c = tls_conn_new(s);
    assert_non_null(c);
    assert_int_equal(tls_client_new(&cl, fds[0], ca, "127.0.0.1", &e), 0);
    assert_int_equal(handshake(cl, c, fds[1], &e), 0);

    /* client to server */
    assert_int_equal(tls_client_write(cl, "GET / HTTP/1.1\r\n\r\n", 18, &want, &e), 18);
    pump(c, fds[1]);
    n = tls_conn_read(c, got, sizeof(got));
    assert_int_equal(n, 18);
    assert_memory_equal(got, "GET / HTTP/1.1\r\n\r\n", 18);
    assert_int_equal(tls_conn_read(c, got, sizeof(got)), 0); /* nothing more yet */

    /* server to client, then the server's close_notify */
    assert_int_equal(tls_conn_write(c, "HTTP/1.1 200 OK\r\n", 17), 0);
    tls_conn_shutdown(c);
    pump(c, fds[1]);
    n = tls_client_read(cl, got, sizeof(got), &want, &e);
    assert_int_equal(n, 17);
    assert_memory_equal(got, "HTTP/1.1 200 OK\r\n", 17);
    assert_int_equal(tls_client_read(cl, got, sizeof(got), &want, &e), 0); /* the end */

    /* the server session outlives the server (its own reference) */
    tls_server_free(s);
    tls_conn_free(c);
    tls_client_free(cl);
    close(fds[0]);
    close(fds[1]);
}

static void test_plain_http_to_a_server_session_is_a_protocol_error(void **state)
{
    struct tls_server *s;
    struct tls_conn *c;
    struct err e;
    char got[64];
    const char *req = "GET /v1/self HTTP/1.1\r\nHost: x\r\n\r\n";

    assert_int_equal(tls_server_new(&s, cert, key, &e), 0);
    c = tls_conn_new(s);
    tls_conn_feed(c, req, strlen(req));
    assert_int_equal(tls_conn_read(c, got, sizeof(got)), -EPROTO);
    assert_string_not_equal(tls_conn_error(c), "");
    tls_conn_free(c);
    tls_server_free(s);
}

static void test_client_refuses_another_ca_or_another_address(void **state)
{
    struct tls_server *s;
    struct err e;
    const struct {
        const char *ca, *ip;
    } cases[] = {{cert, "127.0.0.1"}, {ca, "127.0.0.2"}};

    assert_int_equal(tls_server_new(&s, cert, key, &e), 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct tls_conn *c = tls_conn_new(s);
        struct tls_client *cl;
        int fds[2];

        pair(fds);
        assert_int_equal(tls_client_new(&cl, fds[0], cases[i].ca, cases[i].ip, &e), 0);
        err_clear(&e);
        assert_int_equal(handshake(cl, c, fds[1], &e), -EPROTO);
        if (!strstr(e.msg, "not trusted"))
            fail_msg("case %zu: \"%s\"", i, e.msg);
        tls_client_free(cl);
        tls_conn_free(c);
        close(fds[0]);
        close(fds[1]);
    }
    tls_server_free(s);
}

static void test_a_failed_reload_keeps_the_running_certificate(void **state)
{
    struct tls_server *s;
    struct tls_conn *c;
    struct tls_client *cl;
    struct err e;
    char cmd[512];
    int fds[2];

    /* a copy of the files, so the test can break them */
    snprintf(cmd, sizeof(cmd), "cp %s %s/live.pem && cp %s %s/live.key", cert, dir, key, dir);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof(cmd), "%s/live.pem", dir);
    assert_int_equal(tls_server_new(&s, cmd, key, &e), 0);
    assert_int_equal(tls_server_reload(s, &e), 0);
    snprintf(cmd, sizeof(cmd), "cp %s %s/live.pem", garbage, dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(tls_server_reload(s, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "live.pem"));
    /* still serving */
    pair(fds);
    c = tls_conn_new(s);
    assert_int_equal(tls_client_new(&cl, fds[0], ca, "127.0.0.1", &e), 0);
    assert_int_equal(handshake(cl, c, fds[1], &e), 0);
    tls_client_free(cl);
    tls_conn_free(c);
    tls_server_free(s);
    close(fds[0]);
    close(fds[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_missing_or_garbage_files_are_refused_naming_them),
        cmocka_unit_test(test_key_of_another_certificate_is_refused_naming_both),
        cmocka_unit_test(test_client_and_server_carry_bytes_both_ways),
        cmocka_unit_test(test_plain_http_to_a_server_session_is_a_protocol_error),
        cmocka_unit_test(test_client_refuses_another_ca_or_another_address),
        cmocka_unit_test(test_a_failed_reload_keeps_the_running_certificate),
    };
    return cmocka_run_group_tests(tests, make_pki, remove_pki);
}
