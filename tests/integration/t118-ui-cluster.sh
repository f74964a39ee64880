#!/bin/bash
# The web UI on a cluster of three hosts in network namespaces, in headless
# Chromium driven through chromedriver (tests/integration/ui_cluster_driver.py)
# from h1's namespace: the page lists the three nodes on its map and table;
# the keyboard reaches every control with a visible focus ring;
# the instance view of a supervised service follows its logs live; a
# failing TTL check on h2 turns its instance critical; h3 killed with
# SIGKILL is shown dead at most 2 s after h1 declares it dead; the event
# timeline shows the death and filters by node and kind; the page fits a
# phone's width; no JavaScript error happens, and the page never reloads.
# Then `troupe top` with its output in a file prints one snapshot of the
# same picture. Screenshots go to BUILD/test-artifacts/t118/.
. "$(dirname "$0")/lib.sh"
need_netns
command -v chromium >/dev/null && command -v chromedriver >/dev/null ||
    { echo "needs chromium and chromedriver (chromium-driver, scripts/deps)"; exit 77; }
command -v python3 >/dev/null || { echo "needs python3"; exit 77; }
ART=$(cd "$(dirname "$BIN")/.." && pwd)/test-artifacts/t118
rm -rf "$ART" && mkdir -p "$ART" || fail "cannot make $ART"

# the instances the supervisor of h1 runs outlive a stopped agent: stop them
t118_cleanup() {
    local rc=$?
    if [ -n "${PID[1]:-}" ]; then
        cli 1 rm ticker >/dev/null 2>&1
    fi
    kill_instances "$TMP/h1"
    (exit $rc)
    cleanup
}
trap t118_cleanup EXIT

net_up 3
cluster 3
cat >"$TMP/ticker.json" <<'JSON'
{"name": "ticker", "command": "/bin/sh", "user": "nobody", "ports": {"http": 18080},
 "args": ["-c", "while :; do echo \"tick $(date +%s%3N)\"; sleep 0.3; done"]}
JSON
cli 1 run "$TMP/ticker.json" >/dev/null || fail "troupe run ticker on h1"
api 2 PUT /v1/agent/service/register \
    -d '{"name": "api", "port": 9000, "checks": [{"id": "api-ttl", "ttl": "60s"}]}' >/dev/null ||
    fail "register api on h2"
api 2 PUT /v1/agent/check/api-ttl/pass >/dev/null || fail "pass api-ttl"
api 1 PUT /v1/kv/app/db/url -d 'postgres://db.internal/shop' >/dev/null || fail "kv put"
api 1 PUT /v1/kv/app/name -d 'shop' >/dev/null || fail "kv put"
api 1 PUT /v1/kv/motd -d 'hello' >/dev/null || fail "kv put"
api_passing() { [ "$(api 1 GET '/v1/health/service/api?passing' | jq length)" = 1 ]; }
wait_until 10 "h1 sees api passing" api_passing
ticker_logs() { api 1 GET '/v1/agent/logs/ticker?tail=1' | jq -e '.lines | length == 1'; }
wait_until 10 "ticker logged a line" ticker_logs

W=9515
ip netns exec "$(ns 1)" chromedriver --port=$W >"$TMP/chromedriver.log" 2>&1 &
PID[9]=$!
say "started chromedriver (pid ${PID[9]}) in h1's namespace, port $W"
wait_until 10 "chromedriver answers" ip netns exec "$(ns 1)" curl -sf "http://127.0.0.1:$W/status"
# this node's instances and their logs need a token that may read them
# (run:read): the page is given the test's management token, as a user
# who holds one types it
TROUPE_UI_TOKEN=$TEST_TOKEN \
    ip netns exec "$(ns 1)" python3 "$(dirname "$0")/ui_cluster_driver.py" "http://127.0.0.1:$W" \
    http://127.0.0.1:7421 "$ART" h3 "${PID[3]}" \
    "ip netns exec $(ns 2) curl -sf -X PUT 'http://127.0.0.1:7421/v1/agent/check/api-ttl/fail?note=disk%20full'" ||
    fail "the UI in Chromium (above)"
{ wait "${PID[3]}"; } 2>/dev/null
unset 'PID[3]' # killed by the driver
rm -rf "$ART/chromium-profile"
say "ok: screenshots in $ART"

# troupe top, not on a terminal: one snapshot, then it ends
cli 1 top >"$TMP/top.out" 2>&1 || fail "troupe top: $(cat "$TMP/top.out")"
cat "$TMP/top.out"
grep -Eq '^ *h1 +alive' "$TMP/top.out" && grep -Eq '^ *h2 +alive' "$TMP/top.out" &&
    grep -Eq '^ *h3 +dead' "$TMP/top.out" || fail "troupe top: the nodes and their status"
grep -Eq '^ *api +h2 +.*critical' "$TMP/top.out" || fail "troupe top: api critical on h2"
grep -Eq '^ *ticker +0 +running' "$TMP/top.out" || fail "troupe top: ticker running"
grep -Eq 'member +h3 +dead' "$TMP/top.out" || fail "troupe top: the kill in the events"
[ "$(grep -c '^NODES' "$TMP/top.out")" = 1 ] || fail "troupe top printed more than one snapshot"
say "ok: troupe top prints one snapshot when not on a terminal"
