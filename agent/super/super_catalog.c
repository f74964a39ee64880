/* super_catalog: the supervisor and the catalog. Every running instance is
 * registered (id NAME-N, the service's name, the node's address, its first
 * port, the spec's tags, meta pid and restarts) with the spec's checks, ${PORT} and ${PORT_name}
 * replaced by the instance's ports, and deregistered when it stops or
 * exits; readiness checks gate passing as every check does. A liveness
 * check that goes critical restarts its instance (check ids carry their
 * role: NAME-N:live:CHECK or NAME-N:ready:CHECK). The checks of an instance
 * started cold (a connection waits for it) probe every few ms until they
 * pass; one with no check of its own gets a tcp check on its first port.
 * Supervisor events go to the agent's event history. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent_impl.h"
#include "agent/catalog/catalog.h"
#include "agent/catalog/catalog_impl.h"
#include "agent/log.h"
#include "agent/super/super_impl.h"
#include "core/mem.h"
#include "core/tags.h"

#define SUPER_COLD_PROBE_MS     2     /* a cold start's checks, until they pass */
#define SUPER_COLD_PROBE_FOR_MS 60000 /* ... for at most this long */

/* Started for a connection that waits (agent/place's cold start). */
static int cold_start(const struct inst *in)
{
    return in->svc->placed && in->idx < 64 && (in->svc->cold >> in->idx & 1);
}

static void inst_id(const struct inst *in, char *out, size_t cap)
{
    snprintf(out, cap, "%s-%u", in->svc->spec.name, in->idx);
}

/* Replaces ${PORT} and ${PORT_name} in text with the instance's ports. */
void super_expand_ports(const struct inst *in, const char *text, char *out, size_t cap)
{
    const struct sup_spec *sp = &in->svc->spec;
    size_t o = 0;

    for (const char *p = text; *p && o + 1 < cap;) {
        int done = 0;
        if (strncmp(p, "${PORT", 6) == 0) {
            const char *end = strchr(p, '}');
            if (end) {
                char name[SUP_PORT_NAME_MAX + 2] = "";
                size_t n = (size_t)(end - p) - 6;
                if (n == 0 || (p[6] == '_' && n - 1 <= SUP_PORT_NAME_MAX)) {
                    if (n)
                        memcpy(name, p + 7, n - 1), name[n - 1] = '\0';
                    for (size_t i = 0; i < sp->n_ports; i++) {
                        if (n == 0 ? i == 0 : strcmp(sp->ports[i].name, name) == 0) {
                            o += (size_t)snprintf(out + o, cap - o, "%u", in->ports[i]);
                            p = end + 1;
                            done = 1;
                            break;
                        }
                    }
                }
            }
        }
        if (!done)
            out[o++] = *p++;
        if (o >= cap)
            o = cap - 1;
    }
    out[o < cap ? o : cap - 1] = '\0';
}

static const uint8_t health_type[] = {[SUP_CHECK_HTTP] = HEALTH_HTTP,
                                      [SUP_CHECK_TCP] = HEALTH_TCP,
                                      [SUP_CHECK_EXEC] = HEALTH_EXEC,
                                      [SUP_CHECK_TTL] = HEALTH_TTL};

void super_catalog_register(struct inst *in)
{
    const struct sup_spec *sp = &in->svc->spec;
    struct catalog_def d;
    char id[72];
    struct err e;

    if (in->draining)
        return; /* out of the catalog until super_drain puts it back */
    memset(&d, 0, sizeof(d));
    inst_id(in, id, sizeof(id));
    snprintf(d.inst.id, sizeof(d.inst.id), "%s", id);
    snprintf(d.inst.service, sizeof(d.inst.service), "%s", sp->name);
    d.inst.port = sp->n_ports ? in->ports[0] : 0;
    d.inst.weight = 1;
    {
        char v[32];
        snprintf(v, sizeof(v), "%d", (int)in->pid);
        tags_set(&d.inst.meta, "pid", v, NULL);
        snprintf(v, sizeof(v), "%u", in->sm.restarts);
        tags_set(&d.inst.meta, "restarts", v, NULL);
        if (in->svc->placed) {
            snprintf(v, sizeof(v), "%u", in->idx);
            tags_set(&d.inst.meta, "slot", v, NULL);
            snprintf(v, sizeof(v), "%016llx", (unsigned long long)in->ver);
            tags_set(&d.inst.meta, "ver", v, NULL);
        }
    }
    for (size_t i = 0; i < sp->n_tags && i < CAT_TAGS_MAX; i++)
        snprintf(d.inst.tags[d.inst.n_tags++], CAT_TAG_MAX + 1, "%s", sp->tags[i]);
    for (size_t i = 0; i < sp->n_checks && i < CATALOG_CHECKS_MAX; i++) {
        const struct sup_check *c = &sp->checks[i];
        struct catalog_check_def *k = &d.checks[d.n_checks++];
        if (cold_start(in)) {
            k->fast_probe_ms = SUPER_COLD_PROBE_MS;
            k->fast_for_ms = SUPER_COLD_PROBE_FOR_MS;
        }
        k->start_passing = sp->socket_activation;
        snprintf(k->id, sizeof(k->id), "%s:%s:%.48s", id,
                 c->role == SUP_CHECK_LIVENESS ? "live" : "ready", c->name);
        snprintf(k->name, sizeof(k->name), "%s", c->name);
        health_cfg_default(&k->cfg, health_type[c->type]);
        if (c->type != SUP_CHECK_TTL) {
            k->cfg.interval_ms = c->interval_ms;
            k->cfg.timeout_ms = c->timeout_ms;
        } else {
            k->cfg.ttl_ms = c->ttl_ms;
        }
        k->cfg.successes_before_passing = c->successes_before_passing;
        k->cfg.failures_before_critical = c->failures_before_critical;
        if (c->type == SUP_CHECK_EXEC) {
            char cmd[CATALOG_TARGET_MAX];
            super_expand_ports(in, c->target, cmd, sizeof(cmd));
            k->argc = 3;
            k->argv[0] = xstrdup("/bin/sh");
            k->argv[1] = xstrdup("-c");
            k->argv[2] = xstrdup(cmd);
        } else if (c->target) {
            super_expand_ports(in, c->target, k->target, sizeof(k->target));
        }
    }
    if (cold_start(in) && !sp->n_checks && sp->n_ports && !sp->socket_activation) {
        /* a cold start forwards its held connections once the instance is
         * ready: without a check of the spec's, once its port accepts */
        struct catalog_check_def *k = &d.checks[d.n_checks++];
        snprintf(k->id, sizeof(k->id), "%s:ready:port", id);
        snprintf(k->name, sizeof(k->name), "port");
        health_cfg_default(&k->cfg, HEALTH_TCP);
        k->cfg.interval_ms = 10000;
        k->cfg.timeout_ms = 1000;
        snprintf(k->target, sizeof(k->target), "127.0.0.1:%u", in->ports[0]);
        k->fast_probe_ms = SUPER_COLD_PROBE_MS;
        k->fast_for_ms = SUPER_COLD_PROBE_FOR_MS;
    }
    d.save_later = (uint8_t)cold_start(in); /* re-registered after a restart anyway */
    if (catalog_register(in->super->a, &d, CATALOG_SRC_SUPERVISOR, &e) < 0)
        log_warn("super", "%s: not registered in the catalog: %s", id, e.msg);
    else
        in->registered = 1;
    catalog_def_release(&d);
}

void super_catalog_deregister(struct inst *in)
{
    char id[CAT_ID_MAX + 1];
    struct err e;

    if (!in->registered)
        return;
    inst_id(in, id, sizeof(id));
    if (catalog_deregister(in->super->a, id, &e) < 0 && e.code != -ENOENT)
        log_warn("super", "%s: deregistering: %s", id, e.msg);
    in->registered = 0;
}

static void check_changed(void *ud, const char *instance_id, const char *check_id, uint8_t from,
                          uint8_t to)
{
    struct super *s = ud;
    const char *live = strstr(check_id, ":live:");

    if (to != CAT_CRITICAL || !live)
        return;
    for (size_t k = 0; k < s->n_svc; k++) {
        struct svc *v = s->svc[k];
        for (uint32_t i = 0; i < v->n_inst; i++) {
            char id[CAT_ID_MAX + 1];
            if (!v->inst[i])
                continue;
            inst_id(v->inst[i], id, sizeof(id));
            if (strcmp(id, instance_id) == 0) {
                super_unhealthy(v->inst[i], check_id);
                return;
            }
        }
    }
}

int super_catalog_open(struct super *s, struct err *e)
{
    return catalog_on_check_change(s->a, check_changed, s) < 0
               ? err_set(e, -ENOSPC, "no room for the supervisor's catalog hook")
               : 0;
}

void super_history(struct super *s, const char *kind, const char *subject, const char *detail)
{
    char k[16];

    snprintf(k, sizeof(k), "sup-%s", kind);
    history_add(s->a, k, subject, "%s", detail);
}
