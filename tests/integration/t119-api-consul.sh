#!/bin/bash
# Consul's HTTP API (--consul-http, 127.0.0.1:8500 by default) driven by
# Consul's own client, Debian's python3-consul, on 3 hosts: a registration
# with a TTL check, the catalog, health with ?passing, KV put, get,
# recurse, keys and delete, events, and a blocking query on h3 that
# returns when a check changes on h1. Every endpoint's answer has the
# fields and types of Consul's documentation (tests/consul/golden, compared
# by tests/consul/shape.py); tokens come as Consul's clients send them;
# X-Consul-Index does not go back when the agent restarts.
. "$(dirname "$0")/lib.sh"
/usr/bin/python3 -c 'import consul' 2>/dev/null || { echo "needs python3-consul (scripts/deps)"; exit 77; }
net_up 3
cluster 3

# py I COMMAND...: python3-consul on hI (tests/integration/consul_client.py)
py() {
    local i=$1
    shift
    ip netns exec "$(ns "$i")" env CONSUL_TOKEN="$TEST_TOKEN" /usr/bin/python3 \
        "$SRC/tests/integration/consul_client.py" "$@"
}
# capi I PATH [curl args]: hI's Consul API with the test's token
capi() {
    local i=$1 p=$2
    shift 2
    ip netns exec "$(ns "$i")" curl -q -sf --max-time 20 -H "X-Consul-Token: $TEST_TOKEN" \
        "http://127.0.0.1:8500$p" "$@"
}
# status I METHOD PATH [curl args]: the HTTP status only, no token unless given
status() {
    local i=$1 m=$2 p=$3
    shift 3
    ip netns exec "$(ns "$i")" curl -q -s -o /dev/null -w '%{http_code}' --max-time 20 -X "$m" \
        "http://127.0.0.1:8500$p" "$@"
}
index_of() {
    ip netns exec "$(ns "$1")" curl -q -s -D - -o /dev/null -H "X-Consul-Token: $TEST_TOKEN" \
        "http://127.0.0.1:8500/v1/catalog/services" | tr -d '\r' | awk 'tolower($1) == "x-consul-index:" {print $2}'
}

say "python3-consul: register web-1 on h1 with a ttl check, pass it"
py 1 register web web-1 8080 v1 || fail "agent.service.register"
py 1 ttl pass service:web-1 || fail "agent.check.ttl_pass"
wait_until 10 "web-1 passing on h2, through health.service(passing=True)" py 2 passing web 1
py 3 catalog web h1 8080 v1 >/dev/null || fail "catalog on h3: $(py 3 catalog web h1 8080 v1 2>&1)"
py 1 leader || fail "status.leader, status.peers"

say "a blocking query on h3 returns when h2 registers a passing instance"
idx=$(py 3 index web) || fail "health.service index on h3"
py 3 block web "$idx" 2 >"$TMP/block.out" 2>&1 &
blocker=$!
py 2 register web web-2 8081 v1 || fail "register web-2 on h2"
py 2 ttl pass service:web-2 || fail "ttl pass on h2"
wait_until 30 "the blocking query on h3 returned" bash -c "! kill -0 $blocker 2>/dev/null"
wait "$blocker" || fail "blocking query: $(cat "$TMP/block.out")"
say "blocking query: $(cat "$TMP/block.out")"

say "KV through python3-consul"
py 1 kv-put app/config/a 1 && py 1 kv-put app/config/b 2 && py 1 kv-put app/top 3 || fail "kv.put"
wait_until 10 "app/config/a on h2" py 2 kv-get app/config/a 1
wait_until 10 "3 keys under app/ on h3" py 3 kv-recurse app/ 3
py 3 kv-keys app/ / app/config/ app/top >/dev/null || fail "keys: $(py 3 kv-keys app/ / x 2>&1)"
py 1 kv-get missing - >/dev/null || fail "an absent key is not None"
py 3 kv-delete app/ || fail "kv.delete recurse"
wait_until 10 "app/config/a gone on h1" py 1 kv-get app/config/a -
py 2 kv-cas app/x >/dev/null || fail "cas is not refused with its reason"

say "events through python3-consul"
py 2 fire deploy v2 >/dev/null || fail "event.fire"
wait_until 10 "the event on h3's event.list" py 3 events deploy v2

say "every endpoint has Consul's fields and types"
capi 1 /v1/kv/shape/k -X PUT -d v >/dev/null || fail "kv put"
capi 1 /v1/event/fire/deploy -X PUT -d v2 >"$TMP/event_fire.json" || fail "event fire"
wait_until 10 "shape/k on h1" capi 1 /v1/kv/shape/k
for p in agent_self:/v1/agent/self agent_members:/v1/agent/members \
    agent_services:/v1/agent/services agent_service:/v1/agent/service/web-1 \
    agent_checks:/v1/agent/checks catalog_datacenters:/v1/catalog/datacenters \
    catalog_nodes:/v1/catalog/nodes catalog_node:/v1/catalog/node/h1 \
    catalog_services:/v1/catalog/services catalog_service:/v1/catalog/service/web \
    health_service:/v1/health/service/web health_checks:/v1/health/checks/web \
    health_node:/v1/health/node/h1 health_state:/v1/health/state/any \
    kv_get:/v1/kv/shape/k "kv_keys:/v1/kv/shape/?keys" event_list:/v1/event/list \
    status_leader:/v1/status/leader status_peers:/v1/status/peers; do
    name=${p%%:*}
    capi 1 "${p#*:}" >"$TMP/$name.json" || fail "GET ${p#*:}"
done
for f in "$SRC"/tests/consul/golden/*.json; do
    name=$(basename "$f" .json)
    python3 "$SRC/tests/consul/shape.py" "$SRC/tests/consul/golden" "$name" <"$TMP/$name.json" ||
        fail "$name: not Consul's shape: $(cat "$TMP/$name.json")"
done
[ "$(capi 2 '/v1/catalog/service/web?filter=ServicePort%20==%208081' | jq -r '.[].ServiceID')" = web-2 ] ||
    fail "?filter=ServicePort == 8081"
[ "$(capi 2 '/v1/health/service/web?filter=Node.Node%20==%20h1' | jq length)" = 1 ] ||
    fail "?filter=Node.Node == h1"
[ "$(capi 2 '/v1/catalog/services?filter=ServicePort%20==%208081' | jq -c .)" = '{"web":["v1"]}' ] &&
    [ "$(capi 2 '/v1/catalog/services?node-meta=rack:none' | jq -c .)" = '{}' ] ||
    fail "?filter and ?node-meta on /v1/catalog/services"
[ "$(capi 2 '/v1/health/service/web?tag=v1&tag=v2' | jq length)" = 0 ] &&
    [ "$(capi 2 '/v1/health/service/web?tag=v1&tag=v1' | jq length)" = 2 ] ||
    fail "several ?tag= are not all applied"

say "tags as Traefik and Fabio write them"
rule='traefik.http.routers.api.rule=Host(`api.example`) && PathPrefix(`/v1`)'
jq -n --arg r "$rule" '{Name: "api", ID: "api-1", Port: 9000, Tags: [$r, "urlprefix-/v1", "v1"]}' |
    capi 1 /v1/agent/service/register -X PUT -d @- >/dev/null || fail "a registration with Traefik's tags"
rule_on_h2() { [ "$(capi 2 /v1/catalog/service/api | jq -r '.[0].ServiceTags[0]')" = "$rule" ]; }
wait_until 10 "api-1's rule tag on h2" rule_on_h2
[ "$(capi 2 '/v1/catalog/service/api?tag=urlprefix-/v1' | jq length)" = 1 ] || fail "?tag=urlprefix-/v1"
capi 1 /v1/agent/service/deregister/api-1 -X PUT >/dev/null || fail "deregister api-1"

say "checks of web-1: agent.check.register, pass, deregister (python3-consul, curl)"
py 1 check-register mem web-1 || fail "agent.check.register"
capi 1 /v1/agent/check/pass/mem -X PUT >/dev/null || fail "check pass mem"
mem_status_h2() { capi 2 /v1/health/checks/web | jq -r '.[] | select(.CheckID == "mem") | .Status'; }
mem_passing_h2() { [ "$(mem_status_h2)" = passing ]; }
wait_until 10 "the check mem of web-1 passing on h2" mem_passing_h2
[ "$(status 1 PUT /v1/agent/check/register -H "X-Consul-Token: $TEST_TOKEN" \
    -d '{"Name": "disk", "TTL": "30s"}')" = 400 ] || fail "a node-level check was not a 400"
[ "$(status 1 PUT /v1/agent/check/register -d '{"Name": "x", "ServiceID": "web-1", "TTL": "9s"}')" = 403 ] ||
    fail "an anonymous check registration was not refused"
capi 1 /v1/agent/check/register -X PUT \
    -d '{"Name": "up", "ServiceID": "web-1", "TTL": "30s", "Status": "passing"}' >/dev/null ||
    fail "check register with Status"
up_passing_h2() { [ "$(capi 2 /v1/health/checks/web | jq -r '.[] | select(.CheckID == "up") | .Status')" = passing ]; }
wait_until 10 "the check up starts passing (Status), seen on h2" up_passing_h2
capi 1 /v1/agent/check/deregister/up -X PUT >/dev/null || fail "check deregister by PUT"
py 1 check-deregister mem || fail "agent.check.deregister"
mem_gone_h2() { [ -z "$(mem_status_h2)" ]; }
wait_until 10 "the check mem gone on h2" mem_gone_h2

say "tokens: X-Consul-Token, ?token=, Authorization: Bearer; none may not write"
[ "$(status 1 PUT /v1/kv/t -d x)" = 403 ] || fail "an anonymous KV write was not refused"
[ "$(status 1 GET /v1/agent/service/deregister/web-1)" = 403 ] ||
    fail "an anonymous deregistration by GET was not refused"
[ "$(status 1 PUT "/v1/kv/t?token=$TEST_TOKEN" -d x)" = 200 ] || fail "?token="
[ "$(status 1 PUT /v1/kv/t -d x -H "Authorization: Bearer $TEST_TOKEN")" = 200 ] || fail "Bearer"
[ "$(status 1 PUT /v1/kv/t -d x -H "X-Consul-Token: nope")" = 403 ] || fail "an unknown token"
# refusals as Consul answers them: plain text, with X-Consul-Index
ip netns exec "$(ns 1)" curl -q -s -D "$TMP/deny.h" -o "$TMP/deny.b" --max-time 20 -X PUT \
    -d x -H "X-Consul-Token: nope" http://127.0.0.1:8500/v1/kv/t
[ "$(cat "$TMP/deny.b")" = "ACL not found" ] && grep -qi '^x-consul-index: [1-9]' "$TMP/deny.h" ||
    fail "an unknown token's answer: $(cat "$TMP/deny.h" "$TMP/deny.b")"
ip netns exec "$(ns 1)" curl -q -s -D "$TMP/deny.h" -o "$TMP/deny.b" --max-time 20 -X PUT \
    -d x http://127.0.0.1:8500/v1/kv/t
grep -q '^Permission denied' "$TMP/deny.b" && grep -qi '^content-type: text/plain' "$TMP/deny.h" &&
    grep -qi '^x-consul-index: [1-9]' "$TMP/deny.h" ||
    fail "a denial's answer: $(cat "$TMP/deny.h" "$TMP/deny.b")"
[ "$(status 1 GET /v1/session/list)" = 501 ] || fail "sessions are not refused"

say "X-Consul-Index does not go back when h1 restarts"
before=$(index_of 1)
[ -n "$before" ] && [ "$before" -gt 0 ] || fail "no X-Consul-Index"
kill -TERM "${PID[1]}"
wait "${PID[1]}" 2>/dev/null
start 1 --join 10.77.0.2
wait_until 10 "h1's Consul API answers again" capi 1 /v1/status/leader
after=$(index_of 1)
[ "$after" -gt "$before" ] || fail "X-Consul-Index went from $before to $after across a restart"
say "index $before before the restart, $after after"
capi 1 "/v1/agent/service/maintenance/web-1?enable=true&reason=upgrade" -X PUT >/dev/null ||
    fail "maintenance on"
wait_until 10 "web-1 in maintenance: only web-2 passes on h3" py 3 passing web 1
capi 1 "/v1/agent/service/maintenance/web-1?enable=false" -X PUT >/dev/null || fail "maintenance off"
wait_until 10 "web-1 out of maintenance: both pass on h3" py 3 passing web 2
py 1 deregister web-1 || fail "agent.service.deregister"
wait_until 10 "only web-2 passes on h3" py 3 passing web 1
