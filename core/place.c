/* place: the placement function (see place.h). Rendezvous hashing: every
 * (service, slot) ranks every member by a 64-bit hash of the three, and the
 * slot goes to the first in rank that can take it. A join or a death only
 * changes the ranking where the member that came or went was first, which
 * is what keeps moves to about 1/N. Capacity, distinct_hosts and spread are
 * filters on the ranking, applied slot by slot in one fixed order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/place.h"

static uint64_t mix64(uint64_t h)
{
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    h ^= h >> 31;
    return h;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ ((const uint8_t *)p)[i]) * 0x100000001b3ull;
    return h;
}

/* The two halves of a score: one per (service, slot), one per member, each
 * FNV-1a then a 64-bit finalizer; the score mixes them once more. Hashing
 * each member name once per placement, not once per slot, is what keeps
 * 10,000 slots over 1,000 members near 100 ms. */
static uint64_t slot_hash(const char *service, uint32_t slot)
{
    uint8_t sb[4] = {(uint8_t)slot, (uint8_t)(slot >> 8), (uint8_t)(slot >> 16),
                     (uint8_t)(slot >> 24)};
    uint64_t h = fnv(0xcbf29ce484222325ull, service, strlen(service));

    return mix64(fnv(fnv(h, "\xff", 1), sb, 4));
}

static uint64_t member_hash(const char *member)
{
    return mix64(fnv(0x84222325cbf29ce4ull, member, strlen(member)));
}

static uint64_t score_of(uint64_t sh, uint64_t mh)
{
    return mix64(sh ^ mh);
}

uint64_t place_score(const char *service, uint32_t slot, const char *member)
{
    return score_of(slot_hash(service, slot), member_hash(member));
}

static const char *tag_get(const struct tags *t, const char *key)
{
    if (!t)
        return NULL;
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->t[i].key, key) == 0)
            return t->t[i].val;
    return NULL;
}

static int matches(const struct place_spec *p, const struct place_member *m)
{
    for (size_t i = 0; i < p->constraints.n; i++) {
        const char *v = tag_get(m->tags, p->constraints.t[i].key);
        if (!v || strcmp(v, p->constraints.t[i].val) != 0)
            return 0;
    }
    return 1;
}

static int fits(const struct place_res *cap, const struct place_res *used,
                const struct place_res *want)
{
    if (cap->cpu_millis && (uint64_t)used->cpu_millis + want->cpu_millis > cap->cpu_millis)
        return 0;
    if (cap->memory_mb && (uint64_t)used->memory_mb + want->memory_mb > cap->memory_mb)
        return 0;
    return 1;
}

static int by_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Is a ranked before b for (service, slot)? Equal hashes: the higher name. */
static int ranks_before(uint64_t sa, const char *na, uint64_t sb, const char *nb)
{
    return sa != sb ? sa > sb : strcmp(na, nb) > 0;
}

static void constraints_text(const struct place_spec *p, char *out, size_t cap)
{
    size_t o = 0;

    out[0] = '\0';
    for (size_t i = 0; i < p->constraints.n && o < cap; i++)
        o += (size_t)snprintf(out + o, cap - o, "%s%s=%s", i ? "," : "", p->constraints.t[i].key,
                              p->constraints.t[i].val);
}

/* Marks the members the spec's constraints allow in elig (and none as
 * holding a slot yet); the distinct values of the spread tag among them go
 * to vals, sorted, their count to *nv. Returns how many are eligible. */
static size_t eligible(const struct place_spec *p, const struct place_member *m, size_t n_m,
                       uint8_t *elig, uint32_t *held, const char **vals, size_t *nv)
{
    size_t n_elig = 0, n = 0;

    for (size_t i = 0; i < n_m; i++) {
        held[i] = 0;
        elig[i] = (uint8_t)matches(p, &m[i]);
        if (!elig[i])
            continue;
        n_elig++;
        if (p->spread[0]) {
            const char *v = tag_get(m[i].tags, p->spread);
            if (v)
                vals[n++] = v;
        }
    }
    if (n) {
        size_t w = 1;
        qsort(vals, n, sizeof(*vals), by_str);
        for (size_t i = 1; i < n; i++)
            if (strcmp(vals[i], vals[w - 1]) != 0)
                vals[w++] = vals[i];
        n = w;
    }
    *nv = n;
    return n_elig;
}

/* Why slot s found no member: none live, none eligible, distinct_hosts
 * used them all up (taken), or none with room (full). */
static void unplaced_reason(const struct place_spec *p, size_t n_m, size_t n_elig, size_t full,
                            size_t taken, struct place_slot *s)
{
    if (n_m == 0) {
        snprintf(s->reason, sizeof(s->reason), "no live members");
    } else if (n_elig == 0) {
        char c[PLACE_REASON_MAX - 48];
        constraints_text(p, c, sizeof(c));
        snprintf(s->reason, sizeof(s->reason), "constraints: no live member has %s", c);
    } else if (full == 0 && taken) {
        snprintf(s->reason, sizeof(s->reason), "distinct_hosts: %zu eligible members for %u slots",
                 n_elig, p->count);
    } else {
        snprintf(s->reason, sizeof(s->reason),
                 "resources: no eligible member has room for cpu_millis=%u memory_mb=%u "
                 "(%zu full)",
                 p->res.cpu_millis, p->res.memory_mb, full);
    }
}

/* Places the slots of one spec; used (per member) is spent as it goes. */
static void place_one(const struct place_spec *p, uint32_t spec_idx, const struct place_member *m,
                      size_t n_m, const uint64_t *mh, uint8_t *elig, struct place_res *used,
                      uint32_t *held, const char **vals, struct place_slot *out)
{
    size_t nv, n_elig = eligible(p, m, n_m, elig, held, vals, &nv);

    for (uint32_t k = 0; k < p->count; k++) {
        struct place_slot *s = &out[k];
        const char *target = nv ? vals[k % nv] : NULL;
        int best = -1, other = -1; /* in the spread share, outside it */
        uint64_t best_sc = 0, other_sc = 0;
        size_t full = 0, taken = 0;
        uint64_t sh = slot_hash(p->name, k);

        s->spec = spec_idx;
        s->slot = k;
        s->member = -1;
        s->reason[0] = '\0';
        for (size_t i = 0; i < n_m; i++) {
            uint64_t sc;
            const char *v;
            if (!elig[i])
                continue;
            if (p->distinct_hosts && held[i]) {
                taken++;
                continue;
            }
            if (!fits(&m[i].cap, &used[i], &p->res)) {
                full++;
                continue;
            }
            sc = score_of(sh, mh[i]);
            v = target ? tag_get(m[i].tags, p->spread) : NULL;
            if (!target || (v && strcmp(v, target) == 0)) {
                if (best < 0 || ranks_before(sc, m[i].name, best_sc, m[best].name))
                    best = (int)i, best_sc = sc;
            } else if (other < 0 || ranks_before(sc, m[i].name, other_sc, m[other].name)) {
                other = (int)i, other_sc = sc;
            }
        }
        if (best < 0)
            best = other;
        if (best < 0) {
            unplaced_reason(p, n_m, n_elig, full, taken, s);
            continue;
        }
        s->member = best;
        held[best]++;
        used[best].cpu_millis += p->res.cpu_millis;
        used[best].memory_mb += p->res.memory_mb;
    }
}

int place_compute(const struct place_spec *specs, size_t n_specs,
                  const struct place_member *members, size_t n_members, struct place_result *out,
                  struct err *e)
{
    uint32_t *order = NULL, *held = NULL;
    uint64_t *mh = NULL;
    uint8_t *elig = NULL;
    struct place_res *used = NULL;
    const char **vals = NULL;
    size_t total = 0, at = 0;
    int rc = 0;

    out->s = NULL;
    out->n = 0;
    if (n_specs > PLACE_SPECS_MAX)
        return err_set(e, -EINVAL, "%zu specs, at most %d", n_specs, PLACE_SPECS_MAX);
    for (size_t i = 0; i < n_specs; i++) {
        if (specs[i].count > PLACE_COUNT_MAX)
            return err_set(e, -EINVAL, "%s: count: %u is above %d", specs[i].name, specs[i].count,
                           PLACE_COUNT_MAX);
        total += specs[i].count;
    }
    for (size_t i = 0; i < n_members; i++)
        for (size_t j = i + 1; j < n_members; j++)
            if (strcmp(members[i].name, members[j].name) == 0)
                return err_set(e, -EINVAL, "member %s given twice", members[i].name);
    order = xcalloc(n_specs + 1, sizeof(*order));
    for (uint32_t i = 0; i < n_specs; i++) { /* insertion sort by name: few specs */
        uint32_t j = i;
        for (; j > 0 && strcmp(specs[order[j - 1]].name, specs[i].name) > 0; j--)
            order[j] = order[j - 1];
        order[j] = i;
    }
    for (size_t i = 1; i < n_specs; i++) {
        if (strcmp(specs[order[i]].name, specs[order[i - 1]].name) == 0) {
            rc = err_set(e, -EINVAL, "spec %s given twice", specs[order[i]].name);
            goto out;
        }
    }
    used = xcalloc(n_members + 1, sizeof(*used));
    held = xcalloc(n_members + 1, sizeof(*held));
    vals = xcalloc(n_members + 1, sizeof(*vals));
    mh = xcalloc(n_members + 1, sizeof(*mh));
    elig = xcalloc(n_members + 1, sizeof(*elig));
    for (size_t i = 0; i < n_members; i++)
        mh[i] = member_hash(members[i].name);
    out->s = xcalloc(total + 1, sizeof(*out->s));
    for (size_t i = 0; i < n_specs; i++) {
        const struct place_spec *p = &specs[order[i]];
        place_one(p, order[i], members, n_members, mh, elig, used, held, vals, out->s + at);
        at += p->count;
    }
    out->n = total;
out:
    free(order);
    free(used);
    free(held);
    free(vals);
    free(mh);
    free(elig);
    return rc;
}

void place_result_release(struct place_result *r)
{
    if (!r)
        return;
    free(r->s);
    r->s = NULL;
    r->n = 0;
}

uint64_t place_mine(const struct place_result *r, uint32_t spec, int member)
{
    uint64_t mask = 0;

    for (size_t i = 0; i < r->n; i++)
        if (r->s[i].spec == spec && r->s[i].member == member && r->s[i].slot < 64)
            mask |= 1ull << r->s[i].slot;
    return mask;
}
