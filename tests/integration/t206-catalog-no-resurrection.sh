#!/bin/bash
# A delete made while a member is away reaches it when it returns. Three
# hosts, gossip encrypted; h3 is cut off from h1 and h2 until they see it
# dead, h1 deletes an instance and a KV key, then the network heals:
# - away but not reaped: h1 and h2 keep the tombstones for h3, and h3
#   drops both within a sync round of the heal;
# - away past its reap: h1 and h2 forget h3 and collect the tombstones; at
#   the heal h3 learns by census that the records were deleted.
# Either way the three digests agree afterwards.
. "$(dirname "$0")/lib.sh"
net_up 3
KEY=$("$BIN" keygen)
# h1 and h2 reap a dead member after 12 s; h3 keeps them (the default), so
# that it still holds h1's records when it comes back
start 1 --encrypt "$KEY" --gc-interval-ms 500 --reap-after-s 12
start 2 --encrypt "$KEY" --gc-interval-ms 500 --reap-after-s 12 --join 10.77.0.1
start 3 --encrypt "$KEY" --gc-interval-ms 500 --join 10.77.0.1
for i in 1 2 3; do wait_until 20 "h$i sees 3 alive" sees_count "$i" alive 3; done

metric() { api "$1" GET /metrics | awk -v m="$2" '$1 == m {print $2}'; }
collected() { metric "$1" troupe_catalog_tombstones_collected_total; }
listed() { [ "$(api "$1" GET "/v1/catalog/service/$2" | jq length)" = "$3" ]; }
has_key() { api "$1" GET "/v1/kv/$2" >/dev/null 2>&1; }
no_key() { ! has_key "$@"; }
gone_on() { listed "$1" "$2" 0 && no_key "$1" "$3"; }
cut_h3() { cut_link 1 3; cut_link 2 3; }
heal_h3() { heal_link 1 3; heal_link 2 3; }

# ghost NAME KEY: 1. registered and written on h1, held by h3; 2. h3 is cut
# off until h1 and h2 see it dead; 3. both deleted on h1, dropped by h2
ghost() {
    api 1 PUT /v1/agent/service/register -d "{\"name\": \"$1\", \"id\": \"$1-1\", \"port\": 80}" \
        >/dev/null || fail "register $1-1 on h1"
    api 1 PUT "/v1/kv/$2" -d "haunts" >/dev/null || fail "kv put $2 on h1"
    wait_until 10 "h3 serves $1-1 and holds $2" eval "has_passing 3 $1 1 && has_key 3 $2"
    say "cutting h3 off from h1 and h2"
    cut_h3
    wait_until 30 "h1 and h2 see h3 dead" eval "is_status 1 h3 dead && is_status 2 h3 dead"
    api 1 PUT "/v1/agent/service/deregister/$1-1" >/dev/null || fail "deregister $1-1 on h1"
    api 1 DELETE "/v1/kv/$2" >/dev/null || fail "kv delete $2 on h1"
    wait_until 10 "h2 drops $1-1 and $2" gone_on 2 "$1" "$2"
    listed 3 "$1" 1 && has_key 3 "$2" || fail "h3 is cut off: it should still hold $1-1 and $2"
}

say "--- away, not reaped: the tombstones wait for h3"
ghost ghost ghost/key
c0=$(collected 1)
# 4. several collection rounds (every 500 ms) go by: h3 has not covered
# the deletes and is not reaped, so nothing may be collected
hold 3 "h1 keeps the tombstones for h3" eval '[ "$(collected 1)" = "$c0" ]'
# 5. heal
heal_h3
for i in 1 2 3; do wait_until 20 "h$i sees 3 alive after the heal" sees_count "$i" alive 3; done
wait_until 5 "h3 drops ghost-1 and ghost/key" gone_on 3 ghost ghost/key
wait_until 10 "the same digest on h1, h2, h3" same_digest 1 2 3
wait_until 10 "h1 collects the two tombstones once h3 has them" \
    eval '[ "$(collected 1)" -ge $((c0 + 2)) ]'

say "--- away past its reap: the tombstones are collected without h3"
ghost wraith wraith/key
c1=$(collected 1)
wait_until 30 "h1 and h2 reap h3" eval '[ -z "$(status_of 1 h3)" ] && [ -z "$(status_of 2 h3)" ]'
wait_until 10 "h1 collects the two tombstones once h3 is reaped" \
    eval '[ "$(collected 1)" -ge $((c1 + 2)) ]'
listed 3 wraith 1 && has_key 3 wraith/key || fail "h3 is cut off: it should still hold wraith-1"
heal_h3
for i in 1 2 3; do wait_until 30 "h$i sees 3 alive after the heal" sees_count "$i" alive 3; done
wait_until 5 "h3 drops wraith-1 and wraith/key" gone_on 3 wraith wraith/key
wait_until 10 "the same digest on h1, h2, h3" same_digest 1 2 3
dropped=$(metric 3 troupe_catalog_census_dropped_total)
[ "${dropped:-0}" -ge 2 ] || fail "h3 dropped ${dropped:-0} records by census, expected 2"
listed 3 ghost 0 && no_key 3 ghost/key || fail "ghost-1 or ghost/key came back on h3"
say "digest $(digest_of 1) on every agent; h3 dropped $dropped records by census"
