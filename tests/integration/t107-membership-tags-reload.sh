#!/bin/bash
# Tags come from the --config file; SIGHUP reloads them and others see the change.
. "$(dirname "$0")/lib.sh"
net_up 2
start 1
echo '{"tags": {"role": "web", "zone": "a"}}' >"$TMP/h2.json"
start 2 --join 10.77.0.1 --config "$TMP/h2.json"
tags_are() {
    [ "$(cli 1 members --json | jq -c '.[] | select(.name == "h2") | .tags')" = "$1" ]
}
wait_until 15 "h1 sees h2 with role=web,zone=a" tags_are '{"role":"web","zone":"a"}'
echo '{"tags": {"role": "db"}}' >"$TMP/h2.json"
kill -HUP "${PID[2]}"
wait_until 10 "h1 sees h2 with role=db" tags_are '{"role":"db"}'
echo '{"tags": {"role": 7}}' >"$TMP/h2.json"
kill -HUP "${PID[2]}"
wait_until 5 "the bad reload is refused with the key named" grep -q 'reload refused.*tags' "$TMP/h2.log"
# h2's own tags change at once on a reload; h1's view would follow by gossip
own_tags() { api 2 GET /v1/self | jq -c .tags; }
[ "$(own_tags)" = '{"role":"db"}' ] || fail "a refused reload changed h2's tags: $(own_tags)"
tags_are '{"role":"db"}' || fail "h1 sees other tags after a refused reload"
kill -0 "${PID[2]}" || fail "a bad reload stopped the agent"
