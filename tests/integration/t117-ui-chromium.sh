#!/bin/bash
# The web UI at /ui, in headless Chromium driven through chromedriver
# (tests/integration/ui_driver.py): it lists the node and the services with
# their health (a passing one, a critical one), a service registered after
# the page opened appears without a reload, a route of the proxy with a
# 90/10 split shows under its service with its versions and weights, a peer
# killed with SIGKILL is shown dead without a reload, and no JavaScript
# error happens. Screenshots go to BUILD/test-artifacts/t117/.
. "$(dirname "$0")/lib.sh"
[ -x "$BIN" ] || fail "no troupe binary at $BIN"
command -v chromium >/dev/null && command -v chromedriver >/dev/null ||
    { echo "needs chromium and chromedriver (chromium-driver, scripts/deps)"; exit 77; }
command -v python3 >/dev/null || { echo "needs python3"; exit 77; }
ART=$(cd "$(dirname "$BIN")/.." && pwd)/test-artifacts/t117
rm -rf "$ART" && mkdir -p "$ART" || fail "cannot make $ART"
reserve_ports G H W G2 H2 R
U="http://127.0.0.1:$H"
"$BIN" agent --node solo --bind 127.0.0.1:$G --http 127.0.0.1:$H --data-dir "$TMP/solo" \
    --profile fast >"$TMP/solo.log" 2>&1 &
PID[1]=$!
say "started solo (pid ${PID[1]})"
wait_until 10 "solo answers" curl -sf "$U/v1/health"
"$BIN" agent --node peer --bind 127.0.0.1:$G2 --http 127.0.0.1:$H2 --data-dir "$TMP/peer" \
    --profile fast --join 127.0.0.1:$G >"$TMP/peer.log" 2>&1 &
PID[2]=$!
say "started peer (pid ${PID[2]}) joining solo"
alive2() { [ "$(curl -s "$U/v1/members" | jq '[.[] | select(.status == "alive")] | length')" = 2 ]; }
wait_until 10 "solo sees peer alive" alive2
register_at "$U" "{\"name\": \"web\", \"port\": 80, \"version\": \"v1\", \"checks\": [{\"tcp\": \"127.0.0.1:$H\", \"interval\": \"1s\"}]}"
register_at "$U" '{"name": "shut", "port": 81, "checks": [{"tcp": "127.0.0.1:1", "interval": "1s"}]}'
curl -sf "$U/ui" | grep -q '<title>troupe</title>' || fail "GET /ui is not the page"
[ "$(curl -s -o /dev/null -w '%{content_type}' "$U/ui/ui.js")" = "text/javascript; charset=utf-8" ] ||
    fail "ui.js has the wrong content type"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$U/ui/nothing.js")" = 404 ] || fail "a missing file is not 404"

chromedriver --port="$W" >"$TMP/chromedriver.log" 2>&1 &
PID[3]=$!
say "started chromedriver (pid ${PID[3]}) on port $W"
wait_until 10 "chromedriver answers" curl -sf "http://127.0.0.1:$W/status"
ROUTE_PORT=$R TROUPE_UI_TOKEN=$TEST_TOKEN python3 "$(dirname "$0")/ui_driver.py" "http://127.0.0.1:$W" \
    "$U" solo "$ART" peer "${PID[2]}" ||
    fail "the UI in Chromium (above)"
wait "${PID[2]}" 2>/dev/null
unset 'PID[2]' # killed by the driver
rm -rf "$ART/chromium-profile"
say "ok: screenshots in $ART"
