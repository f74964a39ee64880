#!/bin/bash
# kill -9 of an agent in the middle of a KV write loop loses no write it
# acknowledged: after a restart it holds every acknowledged key, and so do
# the other agents once it reconciled with them.
. "$(dirname "$0")/lib.sh"
net_up 3
cluster 3
say "writing keys to h1 as fast as it acknowledges them"
(
    k=0
    while :; do
        k=$((k + 1))
        if api 1 PUT "/v1/kv/loop/$k" -d "value-$k" >/dev/null 2>&1; then echo "$k"; fi
    done
) >"$TMP/acked" &
writer=$!
PID[writer]=$writer # stopped by cleanup if the test ends early
acked_ge() { [ "$(wc -l <"$TMP/acked")" -ge "$1" ]; }
wait_until 20 "h1 acknowledged 100 writes" acked_ge 100
kill -9 "${PID[1]}"
wait "${PID[1]}" 2>/dev/null
# the writer's requests in flight fail now; what it logged as acknowledged stays
kill "$writer" 2>/dev/null
wait "$writer" 2>/dev/null
unset 'PID[writer]'
n=$(wc -l <"$TMP/acked")
say "$n writes acknowledged before kill -9; restarting h1"
start 1 --join 10.77.0.2
holds_all() { # I: hI holds every acknowledged key with its value
    local got
    got=$(api "$1" GET "/v1/kv/loop/?recurse" | jq -r '.[] | .key + "=" + (.value | @base64d)' | sort)
    while read -r k; do
        grep -qx "loop/$k=value-$k" <<<"$got" || { echo "h$1 lacks loop/$k"; return 1; }
    done <"$TMP/acked"
}
holds_all 1 || fail "h1 lost an acknowledged write across kill -9: $(holds_all 1)"
say "h1 kept all $n acknowledged writes"
wait_until 20 "h2 holds every acknowledged key" holds_all 2
wait_until 20 "h3 holds every acknowledged key" holds_all 3
wait_until 20 "the same digest everywhere" same_digest 1 2 3
