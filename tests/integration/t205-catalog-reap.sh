#!/bin/bash
# A dead agent's instances stop being served at once, come back when it
# does, and are forgotten when it is reaped; the KV keys it wrote last are
# adopted by a live agent instead of vanishing with it.
. "$(dirname "$0")/lib.sh"
net_up 3
cluster 3 --reap-after-s 4
api 3 PUT /v1/agent/service/register -d '{"name": "eph", "id": "eph-3", "port": 1}' >/dev/null ||
    fail "register on h3"
api 3 PUT /v1/kv/cfg/owner -d "written by h3" >/dev/null || fail "kv put on h3"
wait_until 5 "eph-3 served everywhere" all_passing eph 1 1 2 3
kill -9 "${PID[3]}"
wait_until 15 "eph-3 no longer served on h1 and h2" all_passing eph 0 1 2
listed() { [ "$(api "$1" GET /v1/catalog/service/eph | jq length)" = "$2" ]; }
listed 1 1 || fail "a dead node's instance should stay listed until it is reaped"
forgotten() { listed 1 0 && listed 2 0; }
wait_until 20 "eph-3 forgotten once h3 is reaped" forgotten
for i in 1 2; do
    [ "$(api "$i" GET "/v1/kv/cfg/owner?raw")" = "written by h3" ] ||
        fail "h$i lost the key h3 wrote last when h3 was reaped"
done
cli 1 events --kind member | grep -q "h3 .*reaped" || fail "the reap is not in h1's history"
wait_until 10 "the same digest on h1 and h2" same_digest 1 2
