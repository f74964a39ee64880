/* super_bundle: services whose spec names "bundle": "NAME@VERSION" instead
 * of a command. Before the first start, and whenever the spec's bundle
 * changes (or the agent restarted), the bundle is fetched, verified and
 * unpacked through agent/bundle; meanwhile the instances are held by their
 * machines in "fetching". Verified: they run the manifest's entrypoint
 * (the spec's args appended) from the unpacked directory, with the
 * manifest's runtime unless the spec names one. As root, a process sees
 * its bundle read-only at /run/troupe/bundles/NAME@VERSION (the data dir
 * is private to the agent); a container has it as its root. Refused (an attack, unsafe
 * contents, a manifest that cannot run): the instances waiting go to
 * "failed" with the error, nothing runs, and only troupe restart (or a new
 * spec) fetches again. A mirror that cannot be reached, or a bundle it
 * does not list (yet), is retried with a growing delay while they wait. Fetches start from a timer,
 * never from inside a machine's transition. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "agent/agent_impl.h"
#include "agent/trust/bundle.h"
#include "agent/log.h"
#include "agent/super/super_impl.h"
#include "core/mem.h"

#define RETRY_FIRST_MS 1000
#define RETRY_MAX_MS   60000
#define ENTRY_WORDS    32

/* What a fetch was for; the service may be gone or changed when it ends. */
struct fetch_req {
    struct agent *a;
    char svc[SUP_NAME_MAX + 1];
    char bundle[TRUST_NAME_MAX + 1];
    uint64_t gen;
};

static void arm_retry(struct super *s);

int super_bundle_usable(struct super *s, const struct sup_spec *sp, struct err *e)
{
    if (!s->a->cfg.trust_repo[0] || !s->a->cfg.trust_root[0])
        return err_set(e, -ENOSYS,
                       "bundle: this agent verifies no bundles; start it with --trust-repo "
                       "URL|DIR and --trust-root FILE");
    return 0;
}

int super_bundle_held(const struct svc *v)
{
    return v->spec.bundle && !v->b.ready;
}

static void hold_all(struct svc *v, int on)
{
    for (uint32_t i = 0; i < v->n_inst; i++)
        if (v->inst[i])
            sup_hold(&v->inst[i]->sm, on);
}

/* Splits the entrypoint at spaces into words (at most ENTRY_WORDS). */
static size_t entry_words(const char *entry, char words[ENTRY_WORDS][BUNDLE_FIELD_MAX + 1])
{
    size_t n = 0;
    const char *p = entry;

    while (*p && n < ENTRY_WORDS) {
        size_t len;
        while (*p == ' ')
            p++;
        len = strcspn(p, " ");
        if (!len)
            break;
        memcpy(words[n], p, len);
        words[n++][len] = '\0';
        p += len;
    }
    return n;
}

/* The program of an entrypoint: absolute (the host's, or the container's),
 * or a path inside the bundle that does not climb out of it. */
static int entry_ok(const char *entry, struct err *e)
{
    char words[ENTRY_WORDS][BUNDLE_FIELD_MAX + 1];
    const char *prog;

    if (entry_words(entry, words) == 0)
        return err_set(e, -EINVAL, "entrypoint: empty");
    prog = words[0];
    if (prog[0] != '/' &&
        (strcmp(prog, "..") == 0 || strncmp(prog, "../", 3) == 0 || strstr(prog, "/../") ||
         (strlen(prog) >= 3 && strcmp(prog + strlen(prog) - 3, "/..") == 0)))
        return err_set(e, -EPERM, "entrypoint: \"%s\" climbs out of the bundle", prog);
    return 0;
}

char **super_bundle_argv(const struct svc *v, char *const *args, int inside)
{
    char words[ENTRY_WORDS][BUNDLE_FIELD_MAX + 1];
    size_t n = entry_words(v->b.entry, words), k = 0, n_args = 0;

    while (args && args[n_args])
        n_args++;
    char **argv = xcalloc(n + n_args + 1, sizeof(char *));

    for (size_t i = 0; i < n; i++) {
        const char *w = words[i];
        if (i == 0 && w[0] != '/') {
            /* relative to the bundle: from its root inside a container, and
             * from the working directory (the bundle) for a process */
            size_t skip = strncmp(w, "./", 2) == 0 ? 2 : 0;
            char *p = xmalloc(strlen(w) + 3);
            sprintf(p, "%s%s", inside ? "/" : "./", w + skip);
            argv[k++] = p;
            continue;
        }
        argv[k++] = xstrdup(w);
    }
    for (size_t i = 0; i < n_args; i++)
        argv[k++] = xstrdup(args[i]);
    return argv;
}

int super_bundle_where(struct super *s, const struct svc *v, char *out, size_t cap, struct err *e)
{
    if (!s->root) {
        snprintf(out, cap, "%s", v->b.dir);
        return 0;
    }
    if ((mkdir("/run/troupe", 0711) < 0 && errno != EEXIST) ||
        (mkdir("/run/troupe/bundles", 0711) < 0 && errno != EEXIST))
        return err_set(e, -errno, "/run/troupe/bundles: %s", strerror(errno));
    if ((size_t)snprintf(out, cap, "/run/troupe/bundles/%s", v->b.name) >= cap)
        return err_set(e, -ENAMETOOLONG, "/run/troupe/bundles/%s: too long", v->b.name);
    if (mkdir(out, 0755) < 0 && errno != EEXIST)
        return err_set(e, -errno, "%s: %s", out, strerror(errno));
    return 1;
}

/* The runtime a verified manifest asks for, unless the spec names one. */
static int resolve(struct svc *v, const struct bundle_result *r, struct err *e)
{
    const struct sup_spec *sp = &v->spec;
    uint8_t rt = strcmp(r->manifest->runtime, "oci") == 0 ? SUP_RUNTIME_CRUN : SUP_RUNTIME_PROCESS;

    if (sp->runtime_set)
        rt = sp->runtime;
    if (entry_ok(r->manifest->entrypoint, e) < 0)
        return err_wrap(e, "%s", r->name);
    if (rt != SUP_RUNTIME_CRUN && (sp->n_caps || sp->own_network))
        return err_set(e, -EINVAL, "%s: %s: only for runtime crun, and the manifest says %s",
                       r->name, sp->n_caps ? "capabilities" : "network", r->manifest->runtime);
    snprintf(v->b.dir, sizeof(v->b.dir), "%s", r->path);
    snprintf(v->b.entry, sizeof(v->b.entry), "%s", r->manifest->entrypoint);
    snprintf(v->b.name, sizeof(v->b.name), "%s", r->name);
    v->b.runtime = rt;
    return 0;
}

/* The bundle is verified and resolved: the waiting instances start, and
 * those of an older version restart where the rolling update allows. */
static void fetch_ready(struct super *s, struct svc *v, const struct bundle_result *r)
{
    int restart = v->b.restart_pending;
    char d[PATH_MAX + 512];

    v->b.ready = 1;
    v->b.error[0] = '\0';
    v->b.failures = 0;
    v->b.restart_pending = 0;
    hold_all(v, 0);
    snprintf(d, sizeof(d), "%s verified, runs %s from %s (%s)", r->name, v->b.entry, r->path,
             v->b.runtime == SUP_RUNTIME_CRUN ? "crun" : "process");
    log_info("super", "%s: %s", v->spec.name, d);
    super_history(s, "bundle", v->spec.name, d);
    for (uint32_t i = 0; i < v->n_inst; i++) {
        struct inst *in = v->inst[i];
        if (!in)
            continue;
        if (in->sm.state == SUP_FETCHING)
            super_drive(in, SUP_EV_START);
        else if (restart && super_may_replace(in) &&
                 (in->sm.state == SUP_RUNNING || in->sm.state == SUP_BACKOFF))
            super_drive(in, SUP_EV_RESTART);
    }
}

/* Not trusted, or cannot run: the waiting instances fail; what runs (the
 * version before) keeps running. */
static void fetch_refused(struct super *s, struct svc *v, const char *bundle, const char *why)
{
    int failed = 0;

    snprintf(v->b.error, sizeof(v->b.error), "refused %s: %s", bundle, why);
    v->b.restart_pending = 0;
    v->b.failures = 0;
    log_warn("super", "%s: %s", v->spec.name, v->b.error);
    for (uint32_t i = 0; i < v->n_inst; i++) {
        if (v->inst[i] && v->inst[i]->sm.state == SUP_FETCHING) {
            super_drive(v->inst[i], SUP_EV_REFUSED);
            failed++;
        }
    }
    if (!failed)
        super_history(s, "refused", v->spec.name, v->b.error);
}

/* The mirror or the disk failed: try again later, with a doubling delay;
 * the instances wait. */
static void fetch_retry(struct super *s, struct svc *v, const char *bundle, const char *why)
{
    uint64_t delay = RETRY_FIRST_MS;

    for (uint32_t i = 0; i < v->b.failures && delay < RETRY_MAX_MS; i++)
        delay *= 2;
    if (delay > RETRY_MAX_MS)
        delay = RETRY_MAX_MS;
    v->b.failures++;
    snprintf(v->b.error, sizeof(v->b.error), "%s: %s (trying again in %llu s)", bundle, why,
             (unsigned long long)delay / 1000);
    log_warn("super", "%s: %s", v->spec.name, v->b.error);
    super_history(s, "fetch-fail", v->spec.name, v->b.error);
    v->b.retry_at_ms = super_mono_ms() + delay;
    arm_retry(s);
}

static void fetch_done(void *ud, const struct bundle_result *r)
{
    struct fetch_req *q = ud;
    struct super *s = q->a->super;
    struct svc *v = s ? super_find(s, q->svc) : NULL;
    struct err e;
    int rc;

    if (!v || v->b.gen != q->gen || v->removing) {
        /* gone, or another bundle is wanted now: fetch that one */
        if (v && v->b.fetching && v->b.gen != q->gen) {
            v->b.fetching = 0;
            super_bundle_need(s, v);
        }
        free(q);
        return;
    }
    v->b.fetching = 0;
    err_clear(&e);
    rc = r->path ? resolve(v, r, &e) : r->e->code;
    if (!r->path)
        e = *r->e;
    if (rc == 0)
        fetch_ready(s, v, r);
    /* an unknown bundle (or a file the mirror lacks: the same code) may be
     * published yet: it is waited for like a mirror that is down */
    else if ((bundle_refusal(rc) && rc != TRUST_UNKNOWN) || r->path || rc == -ENOSYS ||
             rc == -EINVAL)
        fetch_refused(s, v, q->bundle, e.msg);
    else
        fetch_retry(s, v, q->bundle, e.msg);
    free(q);
}

static void fetch(struct super *s, struct svc *v)
{
    struct fetch_req *q = xcalloc(1, sizeof(*q));

    v->b.fetching = 1;
    v->b.retry_at_ms = 0;
    q->a = s->a;
    q->gen = v->b.gen;
    snprintf(q->svc, sizeof(q->svc), "%s", v->spec.name);
    snprintf(q->bundle, sizeof(q->bundle), "%s", v->spec.bundle);
    log_info("super", "%s: fetching bundle %s", v->spec.name, v->spec.bundle);
    bundle_prepare(s->a, q->bundle, fetch_done, q);
}

static void retry_cb(uv_timer_t *t)
{
    struct super *s = t->data;
    uint64_t now = super_mono_ms();

    for (size_t i = 0; i < s->n_svc; i++) {
        struct svc *v = s->svc[i];
        if (!v->b.retry_at_ms || v->b.retry_at_ms > now || v->b.fetching)
            continue;
        v->b.retry_at_ms = 0;
        if (super_bundle_held(v) && !v->removing) {
            fetch(s, v);
            i = (size_t)-1; /* a refusal at once may have changed the list */
            now = super_mono_ms();
        }
    }
    arm_retry(s);
}

/* Arms the timer for the earliest fetch due. */
static void arm_retry(struct super *s)
{
    uint64_t next = 0, now = super_mono_ms();

    for (size_t i = 0; i < s->n_svc; i++) {
        uint64_t at = s->svc[i]->b.retry_at_ms;
        if (at && !s->svc[i]->b.fetching && (!next || at < next))
            next = at;
    }
    if (!s->bundle_retry) {
        if (!next)
            return;
        s->bundle_retry = xcalloc(1, sizeof(*s->bundle_retry));
        uv_timer_init(s->loop, s->bundle_retry);
        s->bundle_retry->data = s;
    }
    if (!next)
        uv_timer_stop(s->bundle_retry);
    else
        uv_timer_start(s->bundle_retry, retry_cb, next > now ? next - now : 0, 0);
}

void super_bundle_need(struct super *s, struct svc *v)
{
    if (!super_bundle_held(v) || v->b.fetching)
        return;
    if (v->b.retry_at_ms && v->b.retry_at_ms > super_mono_ms() && v->b.failures)
        return; /* the mirror failed: the retry is already planned */
    v->b.retry_at_ms = super_mono_ms() ? super_mono_ms() : 1;
    arm_retry(s);
}

int super_bundle_changed(struct super *s, struct svc *v)
{
    const char *want = v->spec.bundle;

    if (!want) {
        /* runs a command now: nothing to wait for */
        v->b.ready = 0;
        v->b.error[0] = '\0';
        v->b.retry_at_ms = 0;
        v->b.gen = ++s->bundle_gen;
        hold_all(v, 0);
        for (uint32_t i = 0; i < v->n_inst; i++)
            if (v->inst[i] && v->inst[i]->sm.state == SUP_FETCHING)
                super_drive(v->inst[i], SUP_EV_START);
        return 1;
    }
    if (v->b.ready && strcmp(v->b.name, want) == 0)
        return 1;
    v->b.ready = 0;
    v->b.error[0] = '\0';
    v->b.failures = 0;
    v->b.restart_pending = 0;
    v->b.gen = ++s->bundle_gen;
    /* until verified, instances found running (after an agent restart) are
     * signalled as the runtime the spec or the unpacked manifest says */
    v->b.runtime = v->spec.runtime;
    if (!v->spec.runtime_set) {
        /* the manifest the bundle was unpacked with (plain JSON: no libarchive) */
        char file[PATH_MAX + TRUST_NAME_MAX + 32];
        json_t *m;
        snprintf(file, sizeof(file), "%s/bundles/%s/%s", s->data_dir, want, BUNDLE_MANIFEST);
        m = json_load_file(file, 0, NULL);
        if (m && json_string_value(json_object_get(m, "runtime")) &&
            strcmp(json_string_value(json_object_get(m, "runtime")), "oci") == 0)
            v->b.runtime = SUP_RUNTIME_CRUN;
        json_decref(m);
    }
    hold_all(v, 1);
    /* one in flight is for the old bundle: its end starts the new fetch */
    if (!v->b.fetching)
        super_bundle_need(s, v);
    return 0;
}

static void retry_closed(uv_handle_t *h)
{
    free(h);
}

void super_bundle_close(struct super *s)
{
    if (s->bundle_retry) {
        uv_timer_stop(s->bundle_retry);
        uv_close((uv_handle_t *)s->bundle_retry, retry_closed);
        s->bundle_retry = NULL;
    }
}
