#!/bin/bash
# The http proxy's pool of idle upstream connections on one host: a
# pooled connection is closed once idle for the route's
# timeouts.upstream_idle_ms; when an endpoint closes a reused connection
# under a request without answering, an idempotent GET goes again on a
# new connection and succeeds, while a POST is not sent twice: the client
# gets 502 and the endpoint saw it once. A removed route drains: a client
# between requests is closed, one in flight gets its answer with
# "connection: close".
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || { echo "needs python3"; exit 77; }
command -v jq >/dev/null || { echo "needs jq (scripts/deps)"; exit 77; }
command -v curl >/dev/null || { echo "needs curl"; exit 77; }
net_up 1
# one proxy worker: one pool, so the request after a pooled one finds it
# (with more, the kernel may hand it to a worker whose pool is empty)
start 1 --proxy-workers 1

pcurl() { ip netns exec "$(ns 1)" curl -s --max-time 20 "$@"; }
ip netns exec "$(ns 1)" python3 "$SRC/tests/integration/proxy_http_backend.py" 8081 web-1 \
    >>"$TMP/backend.log" 2>&1 &
PID[web]=$!
api 1 PUT /v1/agent/service/register -d '{"name": "web", "id": "web-1",
    "address": "10.77.0.1", "port": 8081, "checks": [{"id": "web-1-ttl", "ttl": "300s"}]}' \
    >/dev/null || fail "register web-1"
api 1 PUT /v1/agent/check/web-1-ttl/pass >/dev/null || fail "pass web-1"
wait_until 10 "web passing" has_passing 1 web 1

# the only route, so the gauges of upstream connections are its own
echo '{"name": "web", "service": "web", "port": 9181, "timeouts": {"upstream_idle_ms": 1000}}' |
    cli 1 route set - || fail "route set web"
wait_until 10 "the proxy answers on 9181" eval 'pcurl -f http://127.0.0.1:9181/ | grep -q web-1'
api 1 GET /v1/routes/web | jq -e '.timeouts.upstream_idle_ms == 1000' >/dev/null ||
    fail "the route does not show upstream_idle_ms 1000: $(api 1 GET /v1/routes/web)"

idle_conns() {
    api 1 GET /metrics | awk '/^troupe_proxy_upstream_connections\{state="idle"\}/ {print $2}'
}
say "a pooled connection closes after 1 s idle"
pcurl -f http://127.0.0.1:9181/ >/dev/null || fail "GET /"
# the gauge comes from the proxy worker's report, every 100 ms
wait_until 2 "an idle upstream connection after a request" eval '[ "$(idle_conns)" -ge 1 ]'
wait_until 5 "the idle upstream connection is closed" eval '[ "$(idle_conns)" = 0 ]'
say "ok: idle connections $(idle_conns)"

say "an endpoint closes a reused connection under the request"
drops() { grep -c "drop $1" "$TMP/backend.log"; }
echo '{"name": "web", "service": "web", "port": 9181, "timeouts": {"upstream_idle_ms": 60000}}' |
    cli 1 route set - || fail "route set web"
wait_until 10 "the route has upstream_idle_ms 60000" eval \
    "api 1 GET /v1/routes/web | jq -e '.timeouts.upstream_idle_ms == 60000' >/dev/null"
# the proxy reads routes each tick: wait until its pool keeps connections
wait_until 10 "a connection stays pooled" eval \
    'pcurl -f http://127.0.0.1:9181/ >/dev/null && [ "$(idle_conns)" -ge 1 ]'
# GET /drop: the pooled connection (its first request was GET /) is closed
# with no answer; the GET goes again on a new connection, whose first
# request it is
code=$(pcurl -o "$TMP/get.out" -w '%{http_code}' http://127.0.0.1:9181/drop)
[ "$code" = 200 ] || fail "GET /drop on a closing connection answered $code, want 200 (sent again)"
[ "$(drops GET)" = 1 ] || fail "the endpoint dropped GET $(drops GET) times, want 1"
say "ok: GET sent again on a new connection, 200"
# the connection that answered that GET is pooled again: a POST on it
wait_until 5 "a connection is pooled again" eval '[ "$(idle_conns)" -ge 1 ]'
code=$(pcurl -o "$TMP/post.out" -D "$TMP/post.h" -w "%{http_code}" -X POST \
    http://127.0.0.1:9181/drop)
[ "$code" = 502 ] || fail "POST /drop on a closing connection answered $code, want 502"
grep -qi '^x-troupe-reason: upstream-reset' "$TMP/post.h" ||
    fail "502 without x-troupe-reason: upstream-reset: $(cat "$TMP/post.h")"
[ "$(drops POST)" = 1 ] || fail "the endpoint dropped POST $(drops POST) times, want 1"
say "ok: POST not sent twice, 502 upstream-reset"
pcurl -f -X POST -d x http://127.0.0.1:9181/ | grep -q web-1 || fail "POST / after the 502"
say "ok: the route serves POST again"

say "a removed route drains: a client between requests is closed, one in flight gets its answer"
echo '{"name": "gone", "service": "web", "port": 9182}' | cli 1 route set - || fail "route set gone"
wait_until 10 "the proxy answers on 9182" eval 'pcurl -f http://127.0.0.1:9182/ | grep -q web-1'
# two keep-alive clients: one idle after its first answer, one whose
# second request (slow, 3 s) is in flight when the route goes
ip netns exec "$(ns 1)" python3 - 9182 "$TMP/drain" <<'PY' &
import socket, sys, time
port, out = int(sys.argv[1]), sys.argv[2]
def ask(s, path):
    s.sendall(b"GET " + path + b" HTTP/1.1\r\nhost: x\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        data += s.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    n = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0])
    while len(body) < n:
        body += s.recv(65536)
    return head.decode().lower()
idle, busy = socket.create_connection(("127.0.0.1", port)), socket.create_connection(("127.0.0.1", port))
ask(idle, b"/")
ask(busy, b"/")
open(out + ".ready", "w").close()
head = ask(busy, b"/slow?ms=3000")
idle.settimeout(10)
closed = idle.recv(1) == b""
with open(out, "w") as f:
    f.write("idle-closed=%d busy-status=%s busy-close=%d\n" % (
        closed, head.split(" ")[1], "connection: close" in head))
PY
client=$!
wait_until 10 "both clients have had an answer" test -f "$TMP/drain.ready"
wait_until 5 "the slow request is in flight" eval '[ "$(grep -c "slow start" "$TMP/backend.log")" -ge 1 ]'
cli 1 route rm gone || fail "route rm gone"
wait "$client" || fail "the drain client failed"
say "drain: $(cat "$TMP/drain")"
[ "$(cat "$TMP/drain")" = "idle-closed=1 busy-status=200 busy-close=1" ] ||
    fail "a removed route did not drain: $(cat "$TMP/drain")"
say "ok: the idle client was closed, the one in flight got 200 with connection: close"
