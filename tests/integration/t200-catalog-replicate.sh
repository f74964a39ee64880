#!/bin/bash
# A registration on one agent appears in every agent's catalog with its
# health; a failing check turns the instance critical everywhere; kill -9
# of the owner drops its instances from ?passing everywhere, and they come
# back with it (state restored from its data dir).
. "$(dirname "$0")/lib.sh"
net_up 5
mkdir -p "$TMP/conf1"
cat >"$TMP/conf1/web.json" <<'JSON'
{"service": {"name": "web", "id": "web-1", "port": 8080, "tags": ["v1"],
  "checks": [{"http": "http://127.0.0.1:7421/v1/health", "interval": "500ms"}]}}
JSON
start 1 --config-dir "$TMP/conf1"
for i in 2 3 4 5; do start "$i" --join 10.77.0.1; done
wait_until 10 "web-1 (service file on h1) passing on every agent" all_passing web 1 1 2 3 4 5

say "registering api-1 on h3 with a ttl check, through the CLI"
cat >"$TMP/api.json" <<'JSON'
{"name": "api", "id": "api-1", "port": 9000, "meta": {"team": "core"},
 "checks": [{"id": "api-ttl", "ttl": "60s"}]}
JSON
cli 3 service register "$TMP/api.json" || fail "troupe service register"
api_status() { [ "$(api "$1" GET /v1/health/service/api | jq -r '.[0].status')" = "$2" ]; }
all_api() { local s=$1 i; shift; for i in "$@"; do api_status "$i" "$s" || return 1; done; }
wait_until 5 "api-1 known everywhere, critical until its ttl reports" all_api critical 1 2 3 4 5
t0=$(date +%s%N)
api 3 PUT /v1/agent/check/api-ttl/pass >/dev/null || fail "ttl pass"
wait_until 5 "api-1 passing everywhere" all_api passing 1 2 3 4 5
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ $ms -le 2000 ] || fail "a status change took $ms ms to reach every agent"
[ "$(api 5 GET /v1/catalog/service/api | jq -r '.[0].node + " " + .[0].meta.team')" = "h3 core" ] ||
    fail "catalog/service/api on h5: $(api 5 GET /v1/catalog/service/api)"
api 3 PUT "/v1/agent/check/api-ttl/fail?note=disk%20full" >/dev/null || fail "ttl fail"
wait_until 5 "api-1 critical everywhere" all_api critical 1 2 3 4 5
[ "$(api 4 GET /v1/health/service/api | jq -r '.[0].checks[0].output')" = "disk full" ] ||
    fail "the check output did not travel"
cli 2 health api | grep -q "api-1.*critical" || fail "troupe health api on h2"
cli 2 services | grep -q "^web .* 1 .* 1 " || fail "troupe services on h2: $(cli 2 services)"

say "kill -9 of h1, the owner of web-1"
kill -9 "${PID[1]}"
wait_until 15 "web-1 no longer passing on h2..h5" all_passing web 0 2 3 4 5
[ "$(api 2 GET /v1/health/service/web | jq -r '.[0].status + " " + (.[0].serving|tostring)')" = \
    "critical false" ] || fail "a dead node's instance is not shown critical and not serving"
start 1 --config-dir "$TMP/conf1"
wait_until 20 "web-1 passing everywhere again after h1 restarted" all_passing web 1 1 2 3 4 5
wait_until 20 "the same digest everywhere" same_digest 1 2 3 4 5
cli 1 events --kind member | grep -q "h2" || fail "h1's history lacks member events"
grep -q "restored .* records" "$TMP/h1.log" || fail "h1 did not restore its state from disk"
