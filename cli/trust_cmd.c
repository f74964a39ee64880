/* trust_cmd: the `troupe trust ...` and `troupe bundle ...` commands: their
 * flags, the passphrase prompt, the CLI's trust state under --state, and
 * the words printed. The work is trust_repo's (publisher), trust_client's
 * (verification) and bundle_archive's (format); `bundle fetch` asks the
 * agent. Exit codes as for every command: 0 done, 1 refused or failed,
 * 2 usage error, 3 the agent cannot be reached. */
#include "cli/trust_cmd.h"

#include <jansson.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "agent/trust/bundle_archive.h"
#include "agent/trust/trust_client.h"
#include "cli/client.h"
#include "cli/trust_repo.h"
#include "core/mem.h"

#define FETCH_TIMEOUT_MS (30 * 60 * 1000)

static const char usage[] =
    "Usage:\n"
    "  troupe trust init REPO [--root-keys N] [--root-threshold K] [--passphrase-file FILE]\n"
    "  troupe trust add REPO BUNDLE\n"
    "  troupe trust publish REPO [--targets-expires DUR] [--snapshot-expires DUR]\n"
    "                            [--timestamp-expires DUR] [--timestamp-only]\n"
    "  troupe trust rotate REPO --role root|targets|snapshot|timestamp [--passphrase-file FILE]\n"
    "  troupe trust verify BUNDLE --repo DIR|URL --root FILE [--state DIR]\n"
    "  troupe bundle build DIR --name NAME --version VERSION -o FILE\n"
    "                      [--entrypoint CMD] [--runtime process|oci]\n"
    "  troupe bundle fetch NAME@VERSION [--http ADDR] [--json]\n"
    "\n"
    "DUR is a number with s, m, h or d (90d, 12h). Defaults: root 365d, targets 90d,\n"
    "snapshot 7d, timestamp 1d. The root keys' passphrase is asked on the terminal\n"
    "unless --passphrase-file gives it. The verifier's last accepted versions live\n"
    "under --state (default $XDG_STATE_HOME/troupe/trust).\n";

struct args {
    const char *pos[4];
    int npos;
    char names[16][48];
    const char *values[16];
    int nflag;
    int timestamp_only, json;
};

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "troupe: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'troupe trust --help'.\n");
    return TRUST_EXIT_USAGE;
}

static const char *flag(const struct args *a, const char *name)
{
    for (int i = 0; i < a->nflag; i++)
        if (strcmp(a->names[i], name) == 0)
            return a->values[i];
    return NULL;
}

/* Parses argv (after the subcommand) against the flags allowed, "a,b,c". */
static int parse(int argc, char **argv, const char *allowed, int max_pos, struct args *a)
{
    memset(a, 0, sizeof(*a));
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i], *eq;
        char name[64];
        size_t nl;

        if (s[0] != '-' || !s[1]) {
            if (a->npos == max_pos)
                return usage_error("unexpected argument \"%s\"", s);
            a->pos[a->npos++] = s;
            continue;
        }
        if (strcmp(s, "--timestamp-only") == 0 && strstr(allowed, "timestamp-only")) {
            a->timestamp_only = 1;
            continue;
        }
        if (strcmp(s, "--json") == 0 && strstr(allowed, "json")) {
            a->json = 1;
            continue;
        }
        s += s[1] == '-' ? 2 : 1;
        eq = strchr(s, '=');
        nl = eq ? (size_t)(eq - s) : strlen(s);
        snprintf(name, sizeof(name), ",%.*s,", (int)nl, s);
        if (nl == 0 || nl > 40 || !strstr(allowed, name))
            return usage_error("unknown option %s", argv[i]);
        if (a->nflag == 16)
            return usage_error("too many options");
        if (!eq && i + 1 >= argc)
            return usage_error("--%.*s: missing value", (int)nl, s);
        memcpy(a->names[a->nflag], s, nl);
        a->names[a->nflag][nl] = '\0';
        a->values[a->nflag] = eq ? eq + 1 : argv[++i];
        a->nflag++;
    }
    return 0;
}

static int duration(const char *s, const char *what, int64_t *out)
{
    char *end;
    long long v;

    if (!s)
        return 0;
    v = strtoll(s, &end, 10);
    if (end == s || v <= 0 || v > 100000 || end[1] || !strchr("smhd", *end) || !*end)
        return usage_error("--%s: \"%s\" is not a duration like 90d, 12h, 30m or 45s", what, s);
    *out = v * (*end == 's' ? 1 : *end == 'm' ? 60 : *end == 'h' ? 3600 : 86400);
    return 0;
}

static int count(const char *s, const char *what, unsigned *out)
{
    char *end;
    long v;

    if (!s)
        return 0;
    v = strtol(s, &end, 10);
    if (end == s || *end || v < 1 || v > 8)
        return usage_error("--%s: \"%s\" is not a number from 1 to 8", what, s);
    *out = (unsigned)v;
    return 0;
}

/* ---- passphrase ---- */

static int ask(const char *prompt, char *out, size_t cap)
{
    FILE *tty = fopen("/dev/tty", "r+");
    struct termios old, quiet;
    int ok;

    if (!tty)
        return -1;
    fputs(prompt, tty);
    fflush(tty);
    tcgetattr(fileno(tty), &old);
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
    ok = fgets(out, (int)cap, tty) != NULL;
    tcsetattr(fileno(tty), TCSAFLUSH, &old);
    fputs("\n", tty);
    fclose(tty);
    out[strcspn(out, "\r\n")] = '\0';
    return ok ? 0 : -1;
}

static int passphrase(const struct args *a, int confirm, char *out, size_t cap)
{
    const char *file = flag(a, "passphrase-file");
    char again[TRUST_PASSPHRASE_MAX];

    if (file) {
        FILE *f = fopen(file, "r");
        if (!f || !fgets(out, (int)cap, f)) {
            fprintf(stderr, "troupe: --passphrase-file %s: %s\n", file,
                    f ? "empty" : strerror(errno));
            if (f)
                fclose(f);
            return TRUST_EXIT_FAIL;
        }
        fclose(f);
        out[strcspn(out, "\r\n")] = '\0';
    } else if (ask("Passphrase for the root keys: ", out, cap) < 0) {
        fprintf(stderr, "troupe: no terminal to ask the root keys' passphrase on; "
                        "use --passphrase-file FILE\n");
        return TRUST_EXIT_USAGE;
    } else if (confirm && (ask("Again: ", again, sizeof(again)) < 0 || strcmp(again, out) != 0)) {
        fprintf(stderr, "troupe: the passphrases differ\n");
        return TRUST_EXIT_FAIL;
    }
    if (strlen(out) < 8) {
        fprintf(stderr, "troupe: the passphrase must have at least 8 characters\n");
        return TRUST_EXIT_FAIL;
    }
    return 0;
}

static int failed(const struct err *e)
{
    fprintf(stderr, "troupe: %s\n", e->msg);
    return TRUST_EXIT_FAIL;
}

/* ---- troupe trust ... ---- */

static int expiry_flags(const struct args *a, struct trust_repo_opts *o)
{
    int rc;

    if ((rc = duration(flag(a, "root-expires"), "root-expires", &o->root_expires_s)) ||
        (rc = duration(flag(a, "targets-expires"), "targets-expires", &o->targets_expires_s)) ||
        (rc = duration(flag(a, "snapshot-expires"), "snapshot-expires", &o->snapshot_expires_s)))
        return rc;
    return duration(flag(a, "timestamp-expires"), "timestamp-expires", &o->timestamp_expires_s);
}

#define EXPIRY_FLAGS ",root-expires,targets-expires,snapshot-expires,timestamp-expires,"

static int cmd_init(int argc, char **argv)
{
    struct trust_repo_opts o;
    struct args a;
    struct err e;
    char pass[TRUST_PASSPHRASE_MAX];
    int rc;

    trust_repo_opts_default(&o);
    if ((rc = parse(argc, argv, ",root-keys,root-threshold,passphrase-file" EXPIRY_FLAGS, 1, &a)) ||
        (rc = count(flag(&a, "root-keys"), "root-keys", &o.root_keys)) ||
        (rc = count(flag(&a, "root-threshold"), "root-threshold", &o.root_threshold)) ||
        (rc = expiry_flags(&a, &o)))
        return rc;
    if (a.npos != 1)
        return usage_error("trust init: missing REPO");
    if (o.root_threshold > o.root_keys)
        return usage_error("--root-threshold %u is more than --root-keys %u", o.root_threshold,
                           o.root_keys);
    if ((rc = passphrase(&a, 1, pass, sizeof(pass))) != 0)
        return rc;
    o.passphrase = pass;
    rc = trust_repo_init(a.pos[0], &o, time(NULL), &e);
    sodium_memzero(pass, sizeof(pass));
    if (rc < 0)
        return failed(&e);
    printf("created trust repository %s: %u root key%s (threshold %u), sealed with the "
           "passphrase;\nserve %s/repository to agents, keep %s/keystore off the mirrors,\n"
           "and pin %s/repository/root.json on every agent (--trust-root).\n",
           a.pos[0], o.root_keys, o.root_keys == 1 ? "" : "s", o.root_threshold, a.pos[0], a.pos[0],
           a.pos[0]);
    return 0;
}

static int cmd_add(int argc, char **argv)
{
    struct args a;
    struct err e;
    char name[TRUST_NAME_MAX + 1];
    int rc;

    if ((rc = parse(argc, argv, ",", 2, &a)))
        return rc;
    if (a.npos != 2)
        return usage_error("trust add: expected REPO BUNDLE");
    if (trust_repo_add(a.pos[0], a.pos[1], name, sizeof(name), &e) < 0)
        return failed(&e);
    printf("staged %s; run 'troupe trust publish %s' to sign it\n", name, a.pos[0]);
    return 0;
}

static int cmd_publish(int argc, char **argv)
{
    struct trust_repo_opts o;
    struct args a;
    struct err e;
    int rc;

    trust_repo_opts_default(&o);
    if ((rc = parse(argc, argv, ",timestamp-only" EXPIRY_FLAGS, 1, &a)) ||
        (rc = expiry_flags(&a, &o)))
        return rc;
    if (a.npos != 1)
        return usage_error("trust publish: missing REPO");
    o.timestamp_only = a.timestamp_only;
    if (trust_repo_publish(a.pos[0], &o, time(NULL), &e) < 0)
        return failed(&e);
    printf("published %s\n",
           o.timestamp_only ? "timestamp.json" : "targets.json, snapshot.json, timestamp.json");
    return 0;
}

static int cmd_rotate(int argc, char **argv)
{
    struct trust_repo_opts o;
    struct args a;
    struct err e;
    char pass[TRUST_PASSPHRASE_MAX] = "";
    int rc;

    trust_repo_opts_default(&o);
    if ((rc = parse(argc, argv, ",role,passphrase-file" EXPIRY_FLAGS, 1, &a)) ||
        (rc = expiry_flags(&a, &o)))
        return rc;
    if (a.npos != 1 || !flag(&a, "role"))
        return usage_error("trust rotate: expected REPO --role ROLE");
    if (trust_repo_needs_passphrase(a.pos[0])) {
        if ((rc = passphrase(&a, 0, pass, sizeof(pass))) != 0)
            return rc;
        o.passphrase = pass;
    }
    rc = trust_repo_rotate(a.pos[0], flag(&a, "role"), &o, time(NULL), &e);
    sodium_memzero(pass, sizeof(pass));
    if (rc < 0)
        return failed(&e);
    printf("rotated the %s keys: new root.json signed by the old and the new root keys, "
           "metadata published anew\n",
           flag(&a, "role"));
    return 0;
}

/* ---- the verifier's state: DIR/<id of the pinned root>/{versions,root}.json ---- */

static int mkdirs(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0700) < 0 && errno != EEXIST) {
            *p = '/';
            return -errno;
        }
        *p = '/';
    }
    return mkdir(path, 0700) < 0 && errno != EEXIST ? -errno : 0;
}

static int state_dir(const char *given, const char *pinned, size_t len, char *out, struct err *e)
{
    const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    char id[17];
    int rc;

    trust_client_pin_id(pinned, len, id);
    if (given)
        snprintf(out, PATH_MAX, "%s/%s", given, id);
    else if (xdg && *xdg)
        snprintf(out, PATH_MAX, "%s/troupe/trust/%s", xdg, id);
    else if (home && *home)
        snprintf(out, PATH_MAX, "%s/.local/state/troupe/trust/%s", home, id);
    else
        return err_set(e, -EINVAL, "no --state DIR, $XDG_STATE_HOME or $HOME for the trust state");
    if ((rc = mkdirs(out)) < 0)
        return err_set(e, rc, "state dir %s: %s", out, strerror(-rc));
    return 0;
}

static void state_load(const char *dir, struct trust_saved *s)
{
    char path[PATH_MAX + 32], *buf;
    size_t len;
    json_t *j;

    memset(s, 0, sizeof(*s));
    snprintf(path, sizeof(path), "%s/versions.json", dir);
    if (trust_read_file(path, 4096, &buf, &len, NULL) == 0) {
        if ((j = json_loadb(buf, len, 0, NULL))) {
            s->st.root = (uint64_t)json_integer_value(json_object_get(j, "root"));
            s->st.timestamp = (uint64_t)json_integer_value(json_object_get(j, "timestamp"));
            s->st.snapshot = (uint64_t)json_integer_value(json_object_get(j, "snapshot"));
            s->st.targets = (uint64_t)json_integer_value(json_object_get(j, "targets"));
            json_decref(j);
        }
        free(buf);
    }
    snprintf(path, sizeof(path), "%s/root.json", dir);
    if (trust_read_file(path, TRUST_ROOT_MAX, &s->root, &s->root_len, NULL) < 0)
        s->root = NULL;
}

static int state_save(const char *dir, const struct trust_saved *s, struct err *e)
{
    char path[PATH_MAX + 32], tmp[PATH_MAX + 40];
    json_t *j = json_pack("{s:I, s:I, s:I, s:I}", "root", (json_int_t)s->st.root, "timestamp",
                          (json_int_t)s->st.timestamp, "snapshot", (json_int_t)s->st.snapshot,
                          "targets", (json_int_t)s->st.targets);
    int rc = 0;
    FILE *f;

    snprintf(path, sizeof(path), "%s/versions.json", dir);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    if (json_dump_file(j, tmp, JSON_SORT_KEYS) < 0 || rename(tmp, path) < 0)
        rc = err_set(e, -EIO, "saving %s", path);
    json_decref(j);
    if (rc == 0 && s->root) {
        snprintf(path, sizeof(path), "%s/root.json", dir);
        snprintf(tmp, sizeof(tmp), "%s.tmp", path);
        if (!(f = fopen(tmp, "w")) || fwrite(s->root, 1, s->root_len, f) != s->root_len ||
            fclose(f) != 0 || rename(tmp, path) < 0)
            rc = err_set(e, -EIO, "saving %s", path);
    }
    return rc;
}

static int cmd_verify(int argc, char **argv)
{
    struct args a;
    struct err e;
    struct trust_saved saved;
    struct trust_targets tg = {0};
    const struct trust_target *t = NULL;
    struct bundle_manifest m;
    char state[PATH_MAX], name[2 * BUNDLE_FIELD_MAX + 2], repo[PATH_MAX], *pinned = NULL;
    char hex[65], when[32];
    size_t plen;
    int rc;

    if ((rc = parse(argc, argv, ",repo,root,state,", 1, &a)))
        return rc;
    if (a.npos != 1 || !flag(&a, "repo") || !flag(&a, "root"))
        return usage_error("trust verify: expected BUNDLE --repo DIR|URL --root FILE");
    trust_client_resolve(flag(&a, "repo"), repo, sizeof(repo));
    if (trust_read_file(flag(&a, "root"), TRUST_ROOT_MAX, &pinned, &plen, &e) < 0) {
        fprintf(stderr, "troupe: --root: %s\n", e.msg);
        return TRUST_EXIT_USAGE;
    }
    if ((rc = state_dir(flag(&a, "state"), pinned, plen, state, &e)) < 0) {
        free(pinned);
        return failed(&e);
    }
    state_load(state, &saved);
    rc = trust_client_refresh(repo, NULL, pinned, plen, time(NULL), &saved, &tg, &e);
    {
        struct err se;
        if (state_save(state, &saved, &se) < 0)
            fprintf(stderr, "troupe: warning: %s\n", se.msg);
    }
    if (rc == 0 && bundle_read_manifest(a.pos[0], &m, &e) < 0) {
        char why[sizeof(e.msg)];
        memcpy(why, e.msg, sizeof(why));
        rc = err_set(&e, TRUST_ARBITRARY,
                     "arbitrary bundle: not a bundle targets.json can record (%.150s)", why);
    }
    if (rc == 0)
        snprintf(name, sizeof(name), "%s@%s", m.name, m.version);
    if (rc == 0 && !(t = trust_targets_find(&tg, name, &e)))
        rc = e.code;
    if (rc == 0)
        rc = trust_client_check_file(t, a.pos[0], &e);
    if (rc < 0) {
        printf("NOT trusted: %s: %s\n", a.pos[0], e.msg);
        rc = TRUST_EXIT_FAIL;
    } else {
        sodium_bin2hex(hex, sizeof(hex), t->sha256, 32);
        trust_time_format(tg.expires, when);
        printf("trusted: %s is %s, %llu bytes, sha256 %s\n"
               "  signed in targets.json version %llu (expires %s), from %s\n",
               a.pos[0], name, (unsigned long long)t->length, hex, (unsigned long long)tg.version,
               when, repo);
    }
    trust_targets_release(&tg);
    trust_saved_release(&saved);
    free(pinned);
    return rc;
}

/* ---- troupe bundle ... ---- */

static int cmd_build(int argc, char **argv)
{
    struct bundle_manifest m;
    struct args a;
    struct err e;
    int rc;

    if ((rc = parse(argc, argv, ",name,version,o,output,entrypoint,runtime,", 1, &a)))
        return rc;
    if (a.npos != 1 || !flag(&a, "name") || !flag(&a, "version") ||
        !(flag(&a, "o") || flag(&a, "output")))
        return usage_error("bundle build: expected DIR --name NAME --version VERSION -o FILE");
    if (bundle_manifest_set(&m, flag(&a, "name"), flag(&a, "version"),
                            flag(&a, "entrypoint") ?: "./run", flag(&a, "runtime") ?: "process",
                            &e) < 0)
        return usage_error("%s", e.msg);
    if (bundle_pack(a.pos[0], &m, flag(&a, "o") ?: flag(&a, "output"), &e) < 0)
        return failed(&e);
    printf("built %s@%s into %s\n", m.name, m.version, flag(&a, "o") ?: flag(&a, "output"));
    return 0;
}

static int cmd_fetch(int argc, char **argv, const char *http)
{
    struct node_addr addr;
    struct client_resp r;
    struct args a;
    struct err e;
    json_t *body, *res;
    char *text;
    int rc;

    if ((rc = parse(argc, argv, ",http,json,", 1, &a)))
        return rc;
    if (a.npos != 1)
        return usage_error("bundle fetch: missing NAME@VERSION");
    if (!trust_target_name_valid(a.pos[0]))
        return usage_error("bundle fetch: \"%s\" is not NAME@VERSION", a.pos[0]);
    if (flag(&a, "http"))
        http = flag(&a, "http");
    if (client_addr_parse(&addr, http ? http : "127.0.0.1:7421", getenv("TROUPE_CACERT"), &e) < 0)
        return usage_error("--http: %s", e.msg);
    body = json_pack("{s:s}", "bundle", a.pos[0]);
    text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    rc =
        client_call(&addr, "PUT", "/v1/bundle/fetch", text, strlen(text), FETCH_TIMEOUT_MS, &r, &e);
    free(text);
    if (rc < 0) {
        fprintf(stderr, "troupe: %s\n", e.msg);
        return e.code == -EPROTO ? TRUST_EXIT_FAIL : TRUST_EXIT_CONN;
    }
    res = json_loadb(r.body, r.len, 0, NULL);
    if (a.json || !res) {
        fputs(r.body, r.status >= 400 ? stderr : stdout);
    } else if (r.status >= 400) {
        fprintf(stderr, "troupe: %s refused: %s\n", a.pos[0],
                json_string_value(json_object_get(res, "error")) ?: r.body);
    } else {
        printf("%s\n", json_string_value(json_object_get(res, "path")) ?: r.body);
    }
    rc = r.status >= 400 ? TRUST_EXIT_FAIL : 0;
    json_decref(res);
    free(r.body);
    return rc;
}

const char *trust_cmd_usage(void)
{
    return usage;
}

int trust_cmd_main(int argc, char **argv, const char *http)
{
    const char *group = argv[0], *sub = argc > 1 ? argv[1] : NULL;

    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        }
    if (!sub)
        return usage_error("%s: missing subcommand", group);
    if (sodium_init() < 0) {
        fprintf(stderr, "troupe: libsodium failed to initialise\n");
        return TRUST_EXIT_FAIL;
    }
    argc -= 2;
    argv += 2;
    if (strcmp(group, "trust") == 0) {
        if (strcmp(sub, "init") == 0)
            return cmd_init(argc, argv);
        if (strcmp(sub, "add") == 0)
            return cmd_add(argc, argv);
        if (strcmp(sub, "publish") == 0)
            return cmd_publish(argc, argv);
        if (strcmp(sub, "rotate") == 0)
            return cmd_rotate(argc, argv);
        if (strcmp(sub, "verify") == 0)
            return cmd_verify(argc, argv);
    } else {
        if (strcmp(sub, "build") == 0)
            return cmd_build(argc, argv);
        if (strcmp(sub, "fetch") == 0)
            return cmd_fetch(argc, argv, http);
    }
    return usage_error("unknown command \"%s %s\"", group, sub);
}
