/* balance: the proxy's choice of an endpoint for one request, pure. It
 * owns the per-endpoint state the choice needs and nothing that does I/O:
 *   - the version: the route's header matches first, then its split by
 *     weight over the versions that have endpoints now;
 *   - the endpoint: power of two choices (two at random among those of the
 *     version that are not ejected, the one with the lower load wins),
 *     load = (peak-EWMA latency + 1 ms) x (outstanding requests + 1), as
 *     Finagle's and linkerd's balancer; loads within 25% or 1.5 ms of
 *     each other are equal (a coin decides), and equal loads prefer this
 *     node's, then one in this node's zone;
 *   - or, when the route asks for round_robin, each endpoint of the
 *     version in turn (the one picked longest ago), load not considered;
 *   - or, for a request with a stickiness key (a header's or a cookie's
 *     value), rendezvous hashing: the endpoint whose hash with the key is
 *     highest, so the same key finds the same endpoint on every agent, and
 *     an endpoint that leaves moves only its own keys;
 *   - outlier ejection: N consecutive failures take an endpoint out for
 *     base x times ejected (capped), never more than max_percent of the
 *     endpoints (at least one); when every endpoint of a version is
 *     ejected, the choice spreads over all of them again (panic).
 * Time comes in as an argument and randomness from the caller's seed, so
 * the same inputs give the same choices. Not here: sockets, the catalog,
 * HTTP (agent/proxy). */
#ifndef TROUPE_BALANCE_H
#define TROUPE_BALANCE_H

#include <stddef.h>
#include <stdint.h>

#include "core/route.h"

#define BAL_KEY_MAX 256 /* bytes of an endpoint's key, with the NUL */

struct bal_ep {
    char key[BAL_KEY_MAX]; /* identity across refreshes, e.g. "node/instance-id" */
    char version[ROUTE_VERSION_MAX + 1];
    uint8_t local; /* on this node: preferred when loads are equal */
    uint8_t zone;  /* in this node's zone: preferred over other zones when loads are equal */
    void *ud;      /* the caller's (an address): copied, never read */
    /* state, kept by bal_set for an endpoint whose key stays */
    uint32_t outstanding;
    double cost_ms;         /* peak-EWMA latency */
    uint64_t stamp_ms;      /* when cost_ms was last updated */
    uint32_t failures;      /* consecutive */
    uint32_t ejections;     /* times ejected so far */
    uint64_t ejected_until; /* 0: not ejected; else until this time (ms) */
    /* the caller's, kept with the state and never read here: what it has
     * told of this endpoint's ejections (events) */
    uint32_t told_ejections;
    uint8_t told_ejected;
    /* kept here, set by bal_set */
    uint64_t key_hash; /* of key: rendezvous hashing */
    uint64_t rr_seq;   /* when round robin picked it last (b->rr_seq), 0: never */
};

struct bal_cfg {
    uint32_t failures;    /* consecutive failures that eject */
    uint32_t base_ms;     /* first ejection; the n-th lasts n x base_ms */
    uint32_t max_ms;      /* an ejection lasts at most this */
    uint32_t max_percent; /* of the endpoints ejected at once (at least one) */
    uint32_t decay_ms;    /* time constant of the latency EWMA */
    uint8_t balance;      /* enum route_balance: two choices or round robin */
};

struct bal {
    struct bal_cfg cfg;
    uint64_t rng; /* splitmix64 state */
    size_t n;
    struct bal_ep *ep; /* heap, n; bal_release frees */
    uint64_t ejections_total;
    uint64_t rr_seq; /* round robin picks so far */
};

/* The config of a route's outlier and balance fields, decay 10 s. */
void bal_cfg_route(struct bal_cfg *c, const struct route *r);
void bal_init(struct bal *b, const struct bal_cfg *cfg, uint64_t seed);
void bal_release(struct bal *b);

/* Replaces the endpoints with eps[0..n) (their key, version, local, zone
 * and ud are copied); an endpoint whose key was there keeps its state (outstanding
 * requests, latency, failures, ejection), a new one starts fresh. */
void bal_set(struct bal *b, const struct bal_ep *eps, size_t n);
/* The index of the endpoint with key, or -1. */
int bal_find(const struct bal *b, const char *key);

/* Looks up a request header (case-insensitive name); NULL when absent. */
typedef const char *(*bal_header_fn)(void *ud, const char *name, size_t *len);

/* The version a request goes to: the first of the route's matches whose
 * header equals its value, else one of the split's versions at random by
 * weight among those with at least one endpoint. NULL: any version (no
 * split, or no version of the split has an endpoint). header may be NULL
 * (no headers, TCP). The string belongs to r. */
const char *bal_version(struct bal *b, const struct route *r, bal_header_fn header, void *ud);

/* An endpoint for a request to version (NULL: any), other than skip (-1:
 * none), by the config's balance: its index, or -1 when there is none. */
int bal_pick(struct bal *b, const char *version, int skip, uint64_t now_ms);

/* The stickiness key of a request under r's sticky field: 1 and *key when
 * the request carries the header (or the Cookie header carries the
 * cookie) with a value, 0 when it does not or r has none. header may be
 * NULL (TCP). The key is a hash of the value, the same on every agent. */
int bal_sticky_key(const struct route *r, bal_header_fn header, void *ud, uint64_t *key);

/* The endpoint for key among those of version (NULL: any) that are not
 * ejected, other than skip: the highest hash of (key, endpoint key);
 * when all are ejected, among all of them (panic). -1 when there is none.
 * A retry that skips the first finds the second highest. */
int bal_pick_key(const struct bal *b, const char *version, int skip, uint64_t key, uint64_t now_ms);

/* The value of cookie name (exact, case-sensitive) in a Cookie header's
 * text (name=value pairs separated by ';' and optional spaces; a value in
 * double quotes is given without them): a pointer into text and *len, or
 * NULL when absent. Reads text[0..text_len) only. */
const char *bal_cookie(const char *text, size_t text_len, const char *name, size_t *len);

/* A request to endpoint i starts, and ends: ok or not (a connect failure,
 * a 5xx, a reset), with its latency. A failure may eject the endpoint:
 * bal_end returns 1 when it did. */
void bal_begin(struct bal *b, int i);
int bal_end(struct bal *b, int i, int ok, uint32_t latency_ms, uint64_t now_ms);

/* 1 when endpoint i is ejected at now. */
int bal_is_ejected(const struct bal *b, int i, uint64_t now_ms);

#endif
