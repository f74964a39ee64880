#!/bin/bash
# Routes read from h1's CONFIG_DIR/routes are in force on h2; a bad route
# file is refused naming the file and the field; SIGHUP reads a changed
# file again. h2's route listeners are on its own address (--proxy-bind),
# reached from h1. h2's HTTP ingress (--ingress) sends each request by its Host
# and longest path prefix to a route, on one keep-alive connection, and
# answers 404 with x-troupe-reason: no-route when no route matches.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || { echo "needs python3"; exit 77; }
command -v jq >/dev/null || { echo "needs jq (scripts/deps)"; exit 77; }
net_up 2

mkdir -p "$TMP/conf1/routes"
cat >"$TMP/conf1/routes/web.json" <<'JSON'
{"service": "web", "port": 9001, "hosts": ["web.example"]}
JSON
cat >"$TMP/conf1/routes/web-api.json" <<'JSON'
{"name": "web-api", "service": "api", "port": 9002, "hosts": ["web.example"], "prefix": "/api"}
JSON
cat >"$TMP/conf1/routes/zz-bad.json" <<'JSON'
{"service": "web", "port": 9003, "timeouts": {"connect_ms": 0}}
JSON
start 1 --config-dir "$TMP/conf1"
start 2 --join 10.77.0.1 --ingress 10.77.0.2:8080 --proxy-bind 10.77.0.2
wait_until 20 "h2 sees 2 alive" sees_count 2 alive 2

grep -q 'route file .*/routes/zz-bad.json refused: timeouts.connect_ms' "$TMP/h1.log" ||
    fail "h1 did not log the bad file with its field: $(grep zz-bad "$TMP/h1.log")"
say "ok: h1 logged: $(grep -o 'route file .*zz-bad.json refused.*' "$TMP/h1.log" | head -1)"

backend() { # I PORT ANSWER
    ip netns exec "$(ns "$1")" python3 "$SRC/tests/integration/proxy_backend.py" "$2" "$3" \
        >>"$TMP/backend-h$1.log" 2>&1 &
    PID[b$1$2]=$!
}
backend 1 8081 "web h1"
backend 2 8082 "api h2"
api 1 PUT /v1/agent/service/register -d '{"name": "web", "id": "web-1", "address": "10.77.0.1",
    "port": 8081}' >/dev/null || fail "register web"
api 2 PUT /v1/agent/service/register -d '{"name": "api", "id": "api-2", "address": "10.77.0.2",
    "port": 8082}' >/dev/null || fail "register api"

listed() { [ "$(cli 2 route list --json | jq -r '[.[].name] | sort | join(",")')" = "web,web-api" ]; }
wait_until 5 "h2 lists the two routes of h1's files (not the bad one)" listed

# GET HOST PATH...: one keep-alive connection to h2's ingress, from h1; prints
# "STATUS REASON BODY" per request
ingress_get() {
    ip netns exec "$(ns 1)" python3 - "$@" <<'PY'
import http.client, sys
conn = http.client.HTTPConnection("10.77.0.2", 8080, timeout=10)
host = sys.argv[1]
for path in sys.argv[2:]:
    h, p = (path.split(" ", 1) if " " in path else (host, path))
    conn.request("GET", p, headers={"Host": h})
    r = conn.getresponse()
    body = r.read().decode().strip().replace(" ", "_")
    print(r.status, r.getheader("x-troupe-reason", "-"), body)
PY
}
routed() { ingress_get web.example / | grep -q '^200 - web_h1$'; }
wait_until 5 "h2's ingress sends Host: web.example to web on h1" routed
out=$(ingress_get web.example / /api/v1 /apix "WEB.example:8080 /" "other.example /" /)
say "one connection, six requests: $(tr '\n' ';' <<<"$out")"
[ "$(sed -n 1p <<<"$out")" = "200 - web_h1" ] || fail "/ did not go to web: $out"
[ "$(sed -n 2p <<<"$out")" = "200 - api_h2" ] || fail "/api/v1 did not go to web-api: $out"
# a prefix is a string prefix, as in most proxies: /apix starts with /api
[ "$(sed -n 3p <<<"$out")" = "200 - api_h2" ] || fail "/apix did not go to web-api: $out"
[ "$(sed -n 4p <<<"$out")" = "200 - web_h1" ] || fail "Host in upper case with a port: $out"
sed -n 5p <<<"$out" | grep -q '^404 no-route .*route_ingress' || fail "an unknown host is not 404 no-route: $out"
[ "$(sed -n 6p <<<"$out")" = "200 - web_h1" ] || fail "the connection did not go on after 404: $out"
say "ok: by host and longest prefix, 404 no-route for an unknown host, keep-alive throughout"

say "web.json moves to port 9011 on h1; SIGHUP"
sed -i 's/9001/9011/' "$TMP/conf1/routes/web.json"
kill -HUP "${PID[1]}"
moved() { [ "$(cli 2 route list --json | jq -r '.[] | select(.name == "web") | .port')" = 9011 ]; }
wait_until 5 "h2 has web on port 9011" moved
from_h1() { ip netns exec "$(ns 1)" curl -sf --max-time 5 "http://10.77.0.2:$1/"; }
wait_until 5 "h2's listener on 10.77.0.2:9011 (--proxy-bind) answers h1" eval 'from_h1 9011 | grep -q "web h1"'
ip netns exec "$(ns 2)" curl -s --max-time 2 -o /dev/null http://127.0.0.1:9011/ &&
    fail "h2 listens on 127.0.0.1:9011 too, despite --proxy-bind"
say "ok: the changed file is in force on h2"
n=$(grep -c 'route web from .*web.json stored' "$TMP/h1.log")
[ "$n" = 2 ] || fail "h1 stored web $n times (want 2: at start and after the change)"
kill -HUP "${PID[1]}"
wait_until 5 "h1 read its route files again" \
    eval '[ "$(grep -c "route files in .*: 3 read, 0 stored, 2 unchanged, 1 refused" "$TMP/h1.log")" -ge 1 ]'
say "ok: an unchanged file is not stored again"
