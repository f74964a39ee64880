/* fuzz_api_routes: the whole HTTP API in one process. A real agent runs on
 * a temp data directory, with its catalog, its supervisor and a trust
 * repository of one signed bundle (web@1.0); each input becomes one request
 * injected into the API without a socket (httpd_inject), and every answer
 * must be well-formed HTTP (core/http1 reads it whole, nothing after it)
 * with a JSON body (a 200 of /metrics or of a raw KV read aside), and never
 * a 500: abort() otherwise, so that the fuzzer reports it.
 *
 * The Consul listener (agent/consul/) is fuzzed the same way: its routes
 * (consul_routes_each) follow troupe's in the list byte 0 picks from, and
 * go to its own server; its errors and its empty answers to writes are
 * plain text, as Consul's are, and its JSON may be a bare value (true, a
 * string); its tokens go in X-Consul-Token.
 *
 * An input: byte 0 picks the route (of every route api_routes_each lists),
 * byte 1 the method (mostly the route's own, else one of seven), then up
 * to three lines, the rest of the path (for a pattern ending in '*'), the
 * query and the token, and the remaining bytes are the body. Bytes that
 * cannot stand in a request target are percent-encoded ('%' is kept, so
 * that bad escapes come too). The token goes in X-Troupe-Token, or in
 * "Authorization: Bearer" when it starts with "B "; "@mgmt" stands for the
 * agent's management token, when it has one (DATA/acl/management-token).
 *
 * The agent is sandboxed: a network namespace of its own when it can have
 * one, through a user namespace when not root (joins to fuzzed addresses
 * go nowhere), a private /run when it runs as root, and no program can be
 * executed (seccomp refuses execve), so a fuzzed spec starts nothing.
 * State carries over between inputs; the agent is opened anew on a fresh
 * directory every RESET_EVERY inputs, and after a PUT /v1/leave stopped
 * it. So a failing input may need those before it: run it after the
 * corpus (FUZZ_API_ROUTES_VERBOSE=1 prints each request and its answer). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <sanitizer/common_interface_defs.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/agent_impl.h"
#include "agent/api/api.h"
#include "agent/api/httpd.h"
#include "agent/consul/consul.h"
#include "agent/trust/bundle_archive.h"
#include "cli/trust_repo.h"
#include "core/http1.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RESET_EVERY 4000
#define ROUTES_MAX  128
#define REQ_MAX     (16u << 10)

static const char *const methods[] = {"GET", "PUT", "POST", "DELETE", "HEAD", "PATCH", "OPTIONS"};

static struct {
    const char *method, *pattern;
    int consul; /* a route of the Consul listener */
} routes[ROUTES_MAX];
static size_t n_routes;

static char root[256];     /* the temp directory */
static char data_dir[300]; /* the agent's, under root */
static struct agent *agent;
static unsigned long inputs;
static int verbose;

struct answer {
    int done;
    char *bytes;
    size_t len;
};

static void die(const char *what)
{
    fprintf(stderr, "fuzz_api_routes: %s\n", what);
    abort();
}

static void add_route(void *ud, const char *method, const char *pattern)
{
    if (n_routes < ROUTES_MAX) {
        routes[n_routes].method = method;
        routes[n_routes].pattern = pattern;
        routes[n_routes].consul = ud != NULL;
        n_routes++;
    }
}

/* ---- the sandbox ---- */

static void loopback_up(void)
{
    struct ifreq ifr;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);

    if (fd < 0)
        return;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
        ifr.ifr_flags |= IFF_UP;
        ioctl(fd, SIOCSIFFLAGS, &ifr);
    }
    close(fd);
}

static void no_exec(void)
{
#if defined(__x86_64__)
#define ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define ARCH AUDIT_ARCH_AARCH64
#endif
#ifdef ARCH
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARCH, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_execve, 2, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_execveat, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
    };
    struct sock_fprog prog = {.len = sizeof(f) / sizeof(f[0]), .filter = f};
    char buf[256];

    /* start the sanitizers' symbolizer now: it cannot be executed later */
    __sanitizer_symbolize_pc(__builtin_return_address(0), "%p %F %L", buf, sizeof(buf));
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
        die("cannot forbid execve (seccomp); refusing to run fuzzed specs");
#else
    die("no seccomp filter for this architecture; refusing to run fuzzed specs");
#endif
}

static void sandbox(void)
{
    /* not root: a user namespace lets us have a network namespace */
    if (unshare(CLONE_NEWNET) == 0 || unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0)
        loopback_up();
    else
        fprintf(stderr, "fuzz_api_routes: no network namespace: fuzzed joins send gossip "
                        "to the addresses they name\n");
    if (geteuid() == 0) {
        /* a supervisor running as root writes secrets and bundles under /run/troupe */
        if (unshare(CLONE_NEWNS) < 0 || mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount("tmpfs", "/run", "tmpfs", 0, "size=64m,mode=0755") < 0)
            die("cannot give the agent a private /run");
    }
}

/* ---- the agent's directory ---- */

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    if (!f || fputs(text, f) < 0 || fclose(f) != 0)
        die(path);
}

/* A trust repository of one bundle, web@1.0, signed and published. */
static void make_trust_repo(void)
{
    struct trust_repo_opts o;
    struct bundle_manifest m;
    struct err e;
    char dir[400], app[400], tarball[400], name[160];

    trust_repo_opts_default(&o);
    snprintf(dir, sizeof(dir), "%s/trust", root);
    snprintf(app, sizeof(app), "%s/app", root);
    snprintf(tarball, sizeof(tarball), "%s/web.tar.zst", root);
    mkdir(app, 0755);
    write_file(strcat(strcpy(name, app), "/run"), "#!/bin/sh\necho hello\n");
    chmod(name, 0755);
    if (trust_repo_init(dir, &o, time(NULL), &e) < 0 ||
        bundle_manifest_set(&m, "web", "1.0", "run", "process", &e) < 0 ||
        bundle_pack(app, &m, tarball, &e) < 0 ||
        trust_repo_add(dir, tarball, name, sizeof(name), &e) < 0 ||
        trust_repo_publish(dir, &o, time(NULL), &e) < 0) {
        fprintf(stderr, "fuzz_api_routes: trust repository: %s\n", e.msg);
        abort();
    }
}

static void open_agent(void)
{
    static char trust_repo[400], trust_root[400], config_dir[400];
    char *argv[] = {"agent",        "--node",      "fuzz",          "--bind",       "127.0.0.1:0",
                    "--http",       "127.0.0.1:0", "--consul-http", "127.0.0.1:0",  "--dns",
                    "off",          "--data-dir",  data_dir,        "--config-dir", config_dir,
                    "--trust-repo", trust_repo,    "--trust-root",  trust_root,     "--log-level",
                    "error",        NULL};
    struct err e;

    snprintf(trust_repo, sizeof(trust_repo), "%s/trust/repository", root);
    snprintf(trust_root, sizeof(trust_root), "%s/trust/repository/root.json", root);
    snprintf(config_dir, sizeof(config_dir), "%s/conf", root);
    mkdir(config_dir, 0755);
    err_clear(&e);
    if (agent_open(&agent, (int)(sizeof(argv) / sizeof(argv[0])) - 1, argv, &e) < 0 || !agent) {
        fprintf(stderr, "fuzz_api_routes: the agent does not start: %s\n", e.msg);
        abort();
    }
}

/* Stops the agent and runs its loop to the end; with wipe, its data too. */
static void close_agent(int wipe)
{
    if (!agent)
        return;
    api_answer_parked(agent);
    agent_stop(agent);
    uv_run(&agent->loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&agent->loop) != 0)
        die("the agent's loop still has handles after it stopped");
    agent_free(agent);
    agent = NULL;
    if (wipe)
        nftw(data_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void remove_root(void)
{
    if (root[0])
        nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

    (void)argc;
    (void)argv;
    if (sodium_init() < 0)
        die("libsodium");
    verbose = getenv("FUZZ_API_ROUTES_VERBOSE") != NULL;
    api_routes_each(add_route, NULL);
    consul_routes_each(add_route, &n_routes);
    if (n_routes == 0)
        die("no routes");
    sandbox();
    snprintf(root, sizeof(root), "%s/fuzz-api-routes.XXXXXX", base);
    if (!mkdtemp(root))
        die("mkdtemp");
    atexit(remove_root);
    snprintf(data_dir, sizeof(data_dir), "%s/data", root);
    make_trust_repo();
    no_exec();
    return 0;
}

/* ---- one request ---- */

static void sink(void *ud, const char *resp, size_t len)
{
    struct answer *ans = ud;

    if (ans->done)
        die("a request was answered twice");
    ans->done = 1;
    ans->bytes = malloc(len ? len : 1);
    memcpy(ans->bytes, resp, len);
    ans->len = len;
}

/* Appends src, percent-encoding what cannot stand in a target (keep: bytes
 * kept as they are besides the unreserved ones). */
static size_t put_encoded(char *out, size_t o, size_t cap, const uint8_t *src, size_t len,
                          const char *keep)
{
    static const char hex[] = "0123456789ABCDEF";

    for (size_t i = 0; i < len && o + 4 < cap; i++) {
        uint8_t c = src[i];
        if (c > 0x20 && c < 0x7f && c != '?' && c != '#' && (c != '&' || strchr(keep, '&')) &&
            (c != '=' || strchr(keep, '='))) {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    return o;
}

/* The next line of the input (without '\n'); *p moves past it. */
static const uint8_t *next_line(const uint8_t **p, const uint8_t *end, size_t *len)
{
    const uint8_t *start = *p, *nl = memchr(start, '\n', (size_t)(end - start));

    if (!nl)
        nl = end;
    *len = (size_t)(nl - start);
    *p = nl < end ? nl + 1 : end;
    return start;
}

static void management_token(char *out, size_t cap)
{
    char path[400];
    FILE *f;

    out[0] = '\0';
    snprintf(path, sizeof(path), "%s/acl/management-token", data_dir);
    if ((f = fopen(path, "r"))) {
        if (fgets(out, (int)cap, f))
            out[strcspn(out, "\r\n")] = '\0';
        fclose(f);
    }
}

/* Builds the request of an input into out; returns its length. */
static size_t build(const uint8_t *data, size_t size, char *out, size_t cap)
{
    const uint8_t *p = data + 2, *end = data + size, *tail, *query, *token;
    size_t tail_len, query_len, token_len, body_len, o, plen;
    const char *method, *pattern = routes[data[0] % n_routes].pattern;
    char tok[256];

    method = data[1] < 160 ? routes[data[0] % n_routes].method
                           : methods[data[1] % (sizeof(methods) / sizeof(methods[0]))];
    tail = next_line(&p, end, &tail_len);
    query = next_line(&p, end, &query_len);
    token = next_line(&p, end, &token_len);
    body_len = (size_t)(end - p);
    plen = strlen(pattern);
    if (plen && pattern[plen - 1] == '*')
        plen--;
    o = (size_t)snprintf(out, cap, "%s %.*s", method, (int)plen, pattern);
    o = put_encoded(out, o, cap - 1024, tail, tail_len, "");
    if (query_len) {
        out[o++] = '?';
        o = put_encoded(out, o, cap - 1024, query, query_len, "&=");
    }
    o += (size_t)snprintf(out + o, cap - o, " HTTP/1.1\r\nHost: fuzz\r\n");
    if (token_len) {
        if (token_len == 5 && memcmp(token, "@mgmt", 5) == 0) {
            management_token(tok, sizeof(tok));
        } else {
            size_t n = token_len < sizeof(tok) - 1 ? token_len : sizeof(tok) - 1;
            for (size_t i = 0; i < n; i++) /* a header value holds no CR, LF or NUL */
                tok[i] = token[i] == '\r' || token[i] == 0 ? ' ' : (char)token[i];
            tok[n] = '\0';
        }
        if (tok[0] == 'B' && tok[1] == ' ')
            o += (size_t)snprintf(out + o, cap - o, "Authorization: Bearer %s\r\n", tok + 2);
        else
            o += (size_t)snprintf(
                out + o, cap - o, "%s: %s\r\n",
                routes[data[0] % n_routes].consul ? "X-Consul-Token" : "X-Troupe-Token", tok);
    }
    if (body_len > cap - o - 64)
        body_len = cap - o - 64;
    o += (size_t)snprintf(out + o, cap - o, "Content-Length: %zu\r\n\r\n", body_len);
    memcpy(out + o, p, body_len);
    return o + body_len;
}

static void check_answer(const struct answer *ans, int consul)
{
    struct http1_resp r;
    uint8_t *buf = malloc(ans->len ? ans->len : 1);
    const char *ct;
    size_t ct_len;
    long n;

    memcpy(buf, ans->bytes, ans->len);
    n = http1_parse_response(&r, buf, ans->len, 1, NULL);
    if (n <= 0 || (size_t)n != ans->len) {
        fprintf(stderr, "answer: %.*s\n", (int)(ans->len < 2000 ? ans->len : 2000), ans->bytes);
        die("the answer is not one well-formed HTTP response");
    }
    if (r.status < 200 || r.status > 599 || r.status == 500) {
        fprintf(stderr, "answer: %.*s\n", (int)(ans->len < 2000 ? ans->len : 2000), ans->bytes);
        die("the answer's status is an internal error or out of range");
    }
    ct = http1_header(r.h, r.n_headers, "content-type", &ct_len);
    if (!ct)
        die("an answer without Content-Type");
    if (ct_len == 16 && memcmp(ct, "application/json", 16) == 0) {
        json_error_t jerr;
        json_t *j = json_loadb((const char *)r.body, r.body_len, JSON_DECODE_ANY, &jerr);
        if (!j) {
            fprintf(stderr, "answer: %.*s\n", (int)(ans->len < 2000 ? ans->len : 2000), ans->bytes);
            die("a JSON answer whose body is not JSON");
        }
        json_decref(j);
    } else if (consul && ct_len >= 10 && memcmp(ct, "text/plain", 10) == 0) {
        /* Consul's errors and its answers to writes are plain text */
    } else if (r.status != 200) { /* /metrics and ?raw answer their bytes, with 200 */
        die("an error answered without JSON");
    }
    free(buf);
}

static void guard_cb(uv_timer_t *t)
{
    (void)t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char req[REQ_MAX];
    struct answer ans = {0};
    size_t len;
    int rc;

    if (size < 2)
        return 0;
    if (!agent)
        open_agent();
    len = build(data, size, req, sizeof(req));
    rc = httpd_inject(routes[data[0] % n_routes].consul ? consul_httpd(agent) : agent->httpd,
                      (const uint8_t *)req, len, sink, &ans);
    if (rc == 0)
        die("a whole request was taken for part of one");
    /* answered now, from the loop (bundles: the thread pool), or parked */
    for (int i = 0; !ans.done && i < 3; i++)
        uv_run(&agent->loop, UV_RUN_NOWAIT);
    if (!ans.done)
        api_answer_parked(agent);
    if (!ans.done) {
        uv_timer_t guard;
        uint64_t until = uv_now(&agent->loop) + 10000;
        uv_timer_init(&agent->loop, &guard);
        uv_timer_start(&guard, guard_cb, 100, 100);
        while (!ans.done && uv_now(&agent->loop) < until)
            uv_run(&agent->loop, UV_RUN_ONCE);
        uv_close((uv_handle_t *)&guard, NULL);
        uv_run(&agent->loop, UV_RUN_NOWAIT);
        if (!ans.done)
            die("no answer within 10 s");
    }
    if (verbose) /* FUZZ_API_ROUTES_VERBOSE=1: each request line and its answer */
        fprintf(stderr, "%.*s\n  -> %.*s\n", (int)strcspn(req, "\r"), req,
                (int)(ans.len < 300 ? ans.len : 300), ans.bytes);
    check_answer(&ans, routes[data[0] % n_routes].consul);
    free(ans.bytes);
    if (agent->stopping || agent->closed)
        close_agent(0); /* a PUT /v1/leave: opened again on the same data */
    else if (++inputs % RESET_EVERY == 0)
        close_agent(1);
    return 0;
}
