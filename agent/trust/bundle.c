/* bundle: fetch, verify and unpack on the thread pool, one job at a time
 * (see bundle.h). The loop thread reads and writes the store (trust state)
 * before and after each job; the worker only touches files and the
 * network, through trust_client and bundle_archive. */
#include "agent/trust/bundle.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "agent/agent_impl.h"
#include "agent/catalog/catalog_impl.h"
#include "agent/log.h"
#include "agent/trust/trust_client.h"
#include "core/mem.h"
#include "core/trust.h"

#define ATTACKS 9

struct bundle_job {
    uv_work_t work;
    struct bundle_job *next;
    struct agent *a;
    bundle_done_cb cb;
    void *ud;
    char name[TRUST_NAME_MAX + 1];
    char repo[PATH_MAX];
    char dest[PATH_MAX];
    char tarball[PATH_MAX + 16];
    char pin[17];
    char *pinned;
    size_t pinned_len;
    int64_t now;
    struct httpc_opts http;
    struct trust_saved saved;
    struct bundle_manifest m;
    int reused;
    int rc;
    struct err e;
};

struct bundles {
    struct bundle_job *head, *tail; /* waiting; head runs when running is set */
    int running;
    uint64_t prepared, reused, refused[ATTACKS + 2]; /* + unsafe contents, + other */
};

static const int attack_codes[ATTACKS] = {TRUST_MALFORMED, TRUST_FORGED,  TRUST_THRESHOLD,
                                          TRUST_ROLLBACK,  TRUST_FREEZE,  TRUST_MIX_AND_MATCH,
                                          TRUST_ARBITRARY, TRUST_ENDLESS, TRUST_UNKNOWN};

static int attack_index(int code)
{
    for (int i = 0; i < ATTACKS; i++)
        if (attack_codes[i] == code)
            return i;
    return ATTACKS + 1; /* not an attack: I/O, configuration */
}

const char *bundle_refusal(int code)
{
    if (code == BUNDLE_UNSAFE)
        return "unsafe bundle contents";
    return attack_index(code) < ATTACKS ? trust_attack_name(code) : NULL;
}

int bundle_http_status(int code)
{
    if (code == TRUST_UNKNOWN)
        return 404;
    if (bundle_refusal(code))
        return 403; /* refused: the metadata or the bundle is not trusted */
    if (code == -ENOSYS)
        return 503;
    if (code == -ECONNREFUSED || code == -ETIMEDOUT || code == -EHOSTUNREACH || code == -EIO ||
        code == -EPROTO || code == -ENOENT)
        return 502;
    return 500;
}

static struct bundles *state(struct agent *a)
{
    if (!a->bundles)
        a->bundles = xcalloc(1, sizeof(*a->bundles));
    return a->bundles;
}

/* ---- the worker (thread pool): no store, no loop ---- */

static void work_cb(uv_work_t *w)
{
    struct bundle_job *j = w->data;
    struct trust_targets tg = {0};
    const struct trust_target *t;
    struct stat st;

    j->rc = trust_client_refresh(j->repo, &j->http, j->pinned, j->pinned_len, j->now, &j->saved,
                                 &tg, &j->e);
    if (j->rc < 0)
        goto out;
    if (!(t = trust_targets_find(&tg, j->name, &j->e))) {
        j->rc = j->e.code;
        goto out;
    }
    /* unpacked before: reuse it when its tarball still has the recorded hash */
    if (stat(j->dest, &st) == 0 && trust_client_check_file(t, j->tarball, NULL) == 0 &&
        bundle_read_manifest(j->tarball, &j->m, NULL) == 0) {
        j->reused = 1;
        goto resolve;
    }
    bundle_rmtree(j->dest);
    unlink(j->tarball);
    if ((j->rc = trust_client_download(j->repo, &j->http, t, j->tarball, &j->e)) < 0)
        goto out;
    if ((j->rc = bundle_unpack(j->tarball, j->dest, &j->m, &j->e)) < 0) {
        /* signed, yet unsafe or broken inside: refused like an attack */
        if (j->rc == -EPERM || j->rc == -EINVAL || j->rc == -EBADMSG || j->rc == -EFBIG)
            j->rc = j->e.code = BUNDLE_UNSAFE;
        err_wrap(&j->e, "%s", j->name);
        unlink(j->tarball);
        goto out;
    }
resolve : {
    /* answer an absolute path, whatever the data dir was given as */
    char abs[PATH_MAX];
    if (realpath(j->dest, abs) && strlen(abs) < sizeof(j->dest))
        memcpy(j->dest, abs, strlen(abs) + 1);
}
out:
    trust_targets_release(&tg);
}

/* ---- the loop ---- */

static void start_next(struct agent *a);

static void finish(struct bundle_job *j)
{
    struct agent *a = j->a;
    struct bundles *b = state(a);
    struct bundle_result r = {.name = j->name, .e = &j->e, .reused = j->reused};
    struct err e;

    if (j->pin[0] && a->store && store_trust_save(a->store, j->pin, &j->saved, &e) < 0)
        log_warn("trust", "saving the trust versions: %s", e.msg);
    if (j->rc == 0) {
        r.path = j->dest;
        r.manifest = &j->m;
        b->prepared++;
        b->reused += (uint64_t)j->reused;
        log_info("bundle", "%s %s at %s (targets.json version %llu)", j->name,
                 j->reused ? "still trusted, unpacked" : "verified and unpacked", j->dest,
                 (unsigned long long)j->saved.st.targets);
        if (!j->reused)
            history_add(a, "bundle", j->name, "verified and unpacked (targets.json version %llu)",
                        (unsigned long long)j->saved.st.targets);
    } else {
        b->refused[j->rc == BUNDLE_UNSAFE ? ATTACKS : attack_index(j->rc)]++;
        log_warn("bundle", "refused %s: %s", j->name, j->e.msg);
        /* what was refused, whoever asked (the API, a service), stays in the history */
        if (bundle_refusal(j->rc))
            history_add(a, "bundle", j->name, "refused: %s", j->e.msg);
    }
    j->cb(j->ud, &r);
    trust_saved_release(&j->saved);
    free(j->pinned);
    free(j);
}

static void after_work_cb(uv_work_t *w, int status)
{
    struct bundle_job *j = w->data;
    struct agent *a = j->a;
    struct bundles *b = state(a);

    if (status < 0)
        j->rc = err_set(&j->e, -ECANCELED, "%s: cancelled", j->name);
    b->head = j->next;
    if (!b->head)
        b->tail = NULL;
    b->running = 0;
    finish(j);
    start_next(a);
}

static int load(struct bundle_job *j, struct err *e)
{
    struct agent *a = j->a;
    char dir[PATH_MAX];
    struct timeval tv;

    if (trust_read_file(a->cfg.trust_root, TRUST_ROOT_MAX, &j->pinned, &j->pinned_len, e) < 0)
        return err_wrap(e, "--trust-root");
    trust_client_pin_id(j->pinned, j->pinned_len, j->pin);
    if (store_trust_load(a->store, j->pin, &j->saved, e) < 0)
        return e->code;
    trust_client_resolve(a->cfg.trust_repo, j->repo, sizeof(j->repo));
    if ((size_t)snprintf(dir, sizeof(dir), "%s/bundles", a->cfg.data_dir) >= sizeof(dir) - 200 ||
        (mkdir(dir, 0755) < 0 && errno != EEXIST))
        return err_set(e, -errno, "%s: %s", dir, strerror(errno));
    if ((size_t)snprintf(j->dest, sizeof(j->dest), "%s/%s", dir, j->name) >= sizeof(j->dest) ||
        (size_t)snprintf(j->tarball, sizeof(j->tarball), "%s/%s.tar.zst", dir, j->name) >=
            sizeof(j->tarball))
        return err_set(e, -ENAMETOOLONG, "%s: path too long", dir);
    gettimeofday(&tv, NULL);
    j->now = tv.tv_sec;
    j->http.idle_ms = a->cfg.trust_fetch_idle_ms;
    return 0;
}

static void start_next(struct agent *a)
{
    struct bundles *b = state(a);
    struct bundle_job *j;

    while ((j = b->head) && !b->running) {
        /* the store is read on the loop, right before the job runs */
        if ((j->rc = load(j, &j->e)) == 0) {
            int rc;
            j->work.data = j;
            /* the worker owns j->rc from here: it may run, and set it, before
             * uv_queue_work returns; a job that never ran is not a success */
            j->rc = err_set(&j->e, -EINPROGRESS, "%s: not fetched", j->name);
            if ((rc = uv_queue_work(&a->loop, &j->work, work_cb, after_work_cb)) == 0) {
                b->running = 1;
                return;
            }
            j->rc = err_set(&j->e, rc, "%s: cannot queue the work: %s", j->name, uv_strerror(rc));
        }
        b->head = j->next;
        if (!b->head)
            b->tail = NULL;
        finish(j);
    }
}

void bundle_prepare(struct agent *a, const char *name, bundle_done_cb cb, void *ud)
{
    struct bundles *b = state(a);
    struct bundle_job *j;
    struct bundle_result r = {.name = name};
    struct err e;

    err_clear(&e);
    r.e = &e;
    if (!trust_target_name_valid(name)) {
        err_set(&e, -EINVAL, "\"%.64s\" is not NAME@VERSION", name);
        cb(ud, &r);
        return;
    }
    if (!a->cfg.trust_repo[0]) {
        err_set(&e, -ENOSYS,
                "no trust repository: start the agent with --trust-repo URL|DIR "
                "and --trust-root FILE");
        cb(ud, &r);
        return;
    }
    j = xcalloc(1, sizeof(*j));
    j->a = a;
    j->cb = cb;
    j->ud = ud;
    snprintf(j->name, sizeof(j->name), "%s", name);
    if (b->tail)
        b->tail->next = j;
    else
        b->head = j;
    b->tail = j;
    start_next(a);
}

void bundle_write_metrics(struct agent *a, FILE *f)
{
    struct bundles *b = state(a);

    fprintf(f,
            "# HELP troupe_trust_bundles_prepared_total Bundles verified and ready to run.\n"
            "# TYPE troupe_trust_bundles_prepared_total counter\n"
            "troupe_trust_bundles_prepared_total %llu\n"
            "# HELP troupe_trust_bundles_reused_total Of the bundles prepared, those already "
            "unpacked and still trusted (no download).\n"
            "# TYPE troupe_trust_bundles_reused_total counter\n"
            "troupe_trust_bundles_reused_total %llu\n"
            "# HELP troupe_trust_bundles_refused_total Bundles refused, by the attack seen.\n"
            "# TYPE troupe_trust_bundles_refused_total counter\n",
            (unsigned long long)b->prepared, (unsigned long long)b->reused);
    for (int i = 0; i <= ATTACKS + 1; i++) {
        const char *name = i < ATTACKS    ? trust_attack_name(attack_codes[i])
                           : i == ATTACKS ? "unsafe bundle contents"
                                          : "other error";
        fprintf(f, "troupe_trust_bundles_refused_total{reason=\"%s\"} %llu\n", name,
                (unsigned long long)b->refused[i]);
    }
}

int bundle_open(struct agent *a, struct err *e)
{
    struct trust_root root;
    char *buf;
    size_t len;
    int rc;

    if (!a->cfg.trust_root[0])
        return 0;
    if ((rc = trust_read_file(a->cfg.trust_root, TRUST_ROOT_MAX, &buf, &len, e)) < 0)
        return err_wrap(e, "--trust-root");
    rc = trust_root_load(&root, buf, len, e);
    free(buf);
    if (rc < 0)
        return err_wrap(e, "--trust-root %s", a->cfg.trust_root);
    log_info("trust", "bundles come from %s, verified against the pinned root.json version %llu",
             a->cfg.trust_repo, (unsigned long long)root.version);
    return 0;
}

void bundle_release(struct agent *a)
{
    free(a->bundles);
    a->bundles = NULL;
}
