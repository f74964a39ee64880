/* balance: version choice, power of two choices over peak-EWMA load, round
 * robin, rendezvous hashing of a stickiness key, and outlier ejection (see
 * balance.h). */
#include "core/balance.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/mem.h"

/* Two loads are equal within BAL_TIE of each other, or within BAL_TIE_MS:
 * latencies come in whole milliseconds, so 1 ms against 2 is the
 * resolution of the measure, not a slower endpoint. */
#define BAL_TIE    0.25
#define BAL_TIE_MS 1.5

static uint64_t next_rand(struct bal *b)
{
    uint64_t z = (b->rng += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* splitmix64's finalizer: every bit of x moves about half of the result's */
static uint64_t mix64(uint64_t x)
{
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* FNV-1a over bytes, then mixed: the same on every agent and every run */
static uint64_t hash_bytes(const char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;

    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 0x100000001b3ull;
    }
    return mix64(h);
}

static uint64_t rand_below(struct bal *b, uint64_t n)
{
    return n ? next_rand(b) % n : 0;
}

void bal_cfg_route(struct bal_cfg *c, const struct route *r)
{
    c->failures = r->outlier_failures;
    c->base_ms = r->outlier_base_ms;
    c->max_ms = r->outlier_max_ms;
    c->max_percent = r->outlier_max_percent;
    c->decay_ms = 10000;
    c->balance = r->balance;
}

void bal_init(struct bal *b, const struct bal_cfg *cfg, uint64_t seed)
{
    memset(b, 0, sizeof(*b));
    b->cfg = *cfg;
    b->rng = seed;
}

void bal_release(struct bal *b)
{
    free(b->ep);
    b->ep = NULL;
    b->n = 0;
}

int bal_find(const struct bal *b, const char *key)
{
    for (size_t i = 0; i < b->n; i++)
        if (strcmp(b->ep[i].key, key) == 0)
            return (int)i;
    return -1;
}

void bal_set(struct bal *b, const struct bal_ep *eps, size_t n)
{
    struct bal_ep *ep = n ? xcalloc(n, sizeof(*ep)) : NULL;

    for (size_t i = 0; i < n; i++) {
        int old = bal_find(b, eps[i].key);
        if (old >= 0)
            ep[i] = b->ep[old];
        memcpy(ep[i].key, eps[i].key, sizeof(ep[i].key));
        ep[i].key[BAL_KEY_MAX - 1] = '\0';
        memcpy(ep[i].version, eps[i].version, sizeof(ep[i].version));
        ep[i].version[ROUTE_VERSION_MAX] = '\0';
        ep[i].local = eps[i].local;
        ep[i].zone = eps[i].zone;
        ep[i].ud = eps[i].ud;
        ep[i].key_hash = hash_bytes(ep[i].key, strlen(ep[i].key));
    }
    free(b->ep);
    b->ep = ep;
    b->n = n;
}

int bal_is_ejected(const struct bal *b, int i, uint64_t now_ms)
{
    return b->ep[i].ejected_until && now_ms < b->ep[i].ejected_until;
}

static int has_version(const struct bal *b, const char *version)
{
    for (size_t i = 0; i < b->n; i++)
        if (strcmp(b->ep[i].version, version) == 0)
            return 1;
    return 0;
}

const char *bal_version(struct bal *b, const struct route *r, bal_header_fn header, void *ud)
{
    uint32_t total = 0;
    uint64_t x;

    for (size_t i = 0; header && i < r->n_match; i++) {
        size_t len;
        const char *v = header(ud, r->match[i].header, &len);
        if (v && len == strlen(r->match[i].value) && memcmp(v, r->match[i].value, len) == 0)
            return r->match[i].version;
    }
    for (size_t i = 0; i < r->n_split; i++)
        if (has_version(b, r->split[i].version))
            total += r->split[i].weight;
    if (total == 0)
        return NULL;
    x = rand_below(b, total);
    for (size_t i = 0; i < r->n_split; i++) {
        if (!has_version(b, r->split[i].version))
            continue;
        if (x < r->split[i].weight)
            return r->split[i].version;
        x -= r->split[i].weight;
    }
    return NULL; /* not reached: x < total */
}

/* The latency estimate of ep at now: the peak-EWMA decays toward 0 while
 * no request ends, so an endpoint that was slow once gets tried again. */
static double cost_at(const struct bal *b, const struct bal_ep *ep, uint64_t now_ms)
{
    double dt = now_ms > ep->stamp_ms ? (double)(now_ms - ep->stamp_ms) : 0.0;

    return ep->cost_ms * exp(-dt / (double)(b->cfg.decay_ms ? b->cfg.decay_ms : 1));
}

static double load_of(const struct bal *b, const struct bal_ep *ep, uint64_t now_ms)
{
    return (cost_at(b, ep, now_ms) + 1.0) * ((double)ep->outstanding + 1.0);
}

/* The k-th endpoint (0-based) of version, not skip, ejected or not as
 * `in` asks (in: only those not ejected). */
static int nth(const struct bal *b, const char *version, int skip, int in, uint64_t now_ms,
               size_t k)
{
    for (size_t i = 0; i < b->n; i++) {
        if ((int)i == skip || (version && strcmp(b->ep[i].version, version) != 0))
            continue;
        if (in && bal_is_ejected(b, (int)i, now_ms))
            continue;
        if (k-- == 0)
            return (int)i;
    }
    return -1;
}

/* 1 when endpoint i is one of version's, not skip and, with in, not
 * ejected: the candidates of a pick. */
static int candidate(const struct bal *b, size_t i, const char *version, int skip, int in,
                     uint64_t now_ms)
{
    if ((int)i == skip || (version && strcmp(b->ep[i].version, version) != 0))
        return 0;
    return !in || !bal_is_ejected(b, (int)i, now_ms);
}

/* Whether any endpoint is a candidate not ejected: 1; else 0, and the
 * pick spreads over the ejected ones too (panic). */
static int any_in(const struct bal *b, const char *version, int skip, uint64_t now_ms)
{
    for (size_t i = 0; i < b->n; i++)
        if (candidate(b, i, version, skip, 1, now_ms))
            return 1;
    return 0;
}

/* Round robin: the candidate picked longest ago (never picked first, then
 * the lowest index). Turns are kept per endpoint rather than as one
 * cursor, so a split's versions, a retry's skip and ejections do not make
 * one endpoint wait for another's turn. */
static int pick_round_robin(struct bal *b, const char *version, int skip, uint64_t now_ms)
{
    int in = any_in(b, version, skip, now_ms), best = -1;

    for (size_t i = 0; i < b->n; i++)
        if (candidate(b, i, version, skip, in, now_ms) &&
            (best < 0 || b->ep[i].rr_seq < b->ep[best].rr_seq))
            best = (int)i;
    if (best >= 0)
        b->ep[best].rr_seq = ++b->rr_seq;
    return best;
}

int bal_pick_key(const struct bal *b, const char *version, int skip, uint64_t key, uint64_t now_ms)
{
    int in = any_in(b, version, skip, now_ms), best = -1;
    uint64_t top = 0;

    for (size_t i = 0; i < b->n; i++) {
        uint64_t w;
        if (!candidate(b, i, version, skip, in, now_ms))
            continue;
        w = mix64(key ^ b->ep[i].key_hash);
        /* a tie (one in 2^64) by key, so that every agent agrees */
        if (best < 0 || w > top || (w == top && strcmp(b->ep[i].key, b->ep[best].key) < 0)) {
            best = (int)i;
            top = w;
        }
    }
    return best;
}

/* Preference among equal loads: this node, then this zone, then others. */
static int tier(const struct bal_ep *ep)
{
    return ep->local ? 2 : ep->zone ? 1 : 0;
}

int bal_pick(struct bal *b, const char *version, int skip, uint64_t now_ms)
{
    size_t m = 0;
    int in = 1, x, y;
    double lx, ly;

    if (b->cfg.balance == ROUTE_ROUND_ROBIN)
        return pick_round_robin(b, version, skip, now_ms);
    while (nth(b, version, skip, in, now_ms, m) >= 0)
        m++;
    if (m == 0) {
        /* panic: every candidate is ejected; better any of them than none */
        in = 0;
        while (nth(b, version, skip, in, now_ms, m) >= 0)
            m++;
    }
    if (m == 0)
        return -1;
    if (m == 1)
        return nth(b, version, skip, in, now_ms, 0);
    {
        size_t i = (size_t)rand_below(b, m), j = (size_t)rand_below(b, m - 1);
        if (j >= i)
            j++;
        x = nth(b, version, skip, in, now_ms, i);
        y = nth(b, version, skip, in, now_ms, j);
    }
    lx = load_of(b, &b->ep[x], now_ms);
    ly = load_of(b, &b->ep[y], now_ms);
    /* Loads within BAL_TIE of each other are equal: without it, sequential
     * requests to endpoints a fraction of a millisecond apart all go to
     * whichever had the lower last sample, which is noise. x is random. */
    if ((lx <= ly * (1.0 + BAL_TIE) && ly <= lx * (1.0 + BAL_TIE)) || fabs(lx - ly) <= BAL_TIE_MS)
        return tier(&b->ep[y]) > tier(&b->ep[x]) ? y : x;
    return lx < ly ? x : y;
}

void bal_begin(struct bal *b, int i)
{
    if (i >= 0 && (size_t)i < b->n)
        b->ep[i].outstanding++;
}

static size_t ejected_now(const struct bal *b, uint64_t now_ms)
{
    size_t k = 0;

    for (size_t i = 0; i < b->n; i++)
        k += bal_is_ejected(b, (int)i, now_ms);
    return k;
}

int bal_end(struct bal *b, int i, int ok, uint32_t latency_ms, uint64_t now_ms)
{
    struct bal_ep *ep;
    double rtt = latency_ms, cost, w;
    size_t cap;
    uint64_t len;

    if (i < 0 || (size_t)i >= b->n)
        return 0;
    ep = &b->ep[i];
    if (ep->outstanding)
        ep->outstanding--;
    /* peak-EWMA: a slower sample is taken at once, a faster one decays in */
    cost = cost_at(b, ep, now_ms);
    w = exp(-(double)(now_ms > ep->stamp_ms ? now_ms - ep->stamp_ms : 0) /
            (double)(b->cfg.decay_ms ? b->cfg.decay_ms : 1));
    ep->cost_ms = rtt > cost ? rtt : ep->cost_ms * w + rtt * (1.0 - w);
    ep->stamp_ms = now_ms;
    if (ok) {
        ep->failures = 0;
        return 0;
    }
    if (bal_is_ejected(b, i, now_ms) || ++ep->failures < b->cfg.failures)
        return 0;
    cap = b->n * b->cfg.max_percent / 100;
    if (cap == 0 && b->cfg.max_percent > 0)
        cap = 1;
    if (ejected_now(b, now_ms) >= cap)
        return 0;
    ep->failures = 0;
    ep->ejections++;
    len = (uint64_t)b->cfg.base_ms * ep->ejections;
    if (len > b->cfg.max_ms)
        len = b->cfg.max_ms;
    ep->ejected_until = now_ms + (len ? len : 1);
    b->ejections_total++;
    return 1;
}

const char *bal_cookie(const char *text, size_t text_len, const char *name, size_t *len)
{
    size_t nl = strlen(name), i = 0;

    if (!text)
        return NULL;
    while (i < text_len) {
        size_t ks, ke, vs, ve, end = i;
        while (end < text_len && text[end] != ';')
            end++;
        ks = i;
        while (ks < end && (text[ks] == ' ' || text[ks] == '\t'))
            ks++;
        ke = ks;
        while (ke < end && text[ke] != '=')
            ke++;
        if (ke < end) {
            vs = ke + 1;
            while (ke > ks && (text[ke - 1] == ' ' || text[ke - 1] == '\t'))
                ke--;
            while (vs < end && (text[vs] == ' ' || text[vs] == '\t'))
                vs++;
            ve = end;
            while (ve > vs && (text[ve - 1] == ' ' || text[ve - 1] == '\t'))
                ve--;
            if (ve - vs >= 2 && text[vs] == '"' && text[ve - 1] == '"') {
                vs++;
                ve--;
            }
            if (ke - ks == nl && memcmp(text + ks, name, nl) == 0) {
                *len = ve - vs;
                return text + vs;
            }
        }
        i = end + 1;
    }
    return NULL;
}

int bal_sticky_key(const struct route *r, bal_header_fn header, void *ud, uint64_t *key)
{
    const char *v = NULL;
    size_t len = 0;

    if (!header || r->sticky == ROUTE_STICKY_NONE)
        return 0;
    if (r->sticky == ROUTE_STICKY_HEADER) {
        v = header(ud, r->sticky_name, &len);
    } else {
        size_t cl = 0;
        const char *c = header(ud, "cookie", &cl);
        v = c ? bal_cookie(c, cl, r->sticky_name, &len) : NULL;
    }
    if (!v || len == 0)
        return 0;
    *key = hash_bytes(v, len);
    return 1;
}
