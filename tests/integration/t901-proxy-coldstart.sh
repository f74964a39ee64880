#!/bin/bash
# Scale from zero on three hosts: a cluster spec with "scale": {"min": 0}
# runs nothing until a route of its service gets a connection; then the
# proxy that holds it has an instance started on its node and the first
# request is answered (through every node's listener, no request fails).
# With a short idle_after_ms it goes back to zero: no instance anywhere.
# A socket-activated service gets its listening socket from the agent
# (fd 3, LISTEN_FDS, LISTEN_PID). A connection held on a node that may
# not run the spec (constraints) is answered by an instance the eligible
# node starts for it. Past scale.queue_limit a held connection
# is answered 503 cold-start-queue-full, past start_timeout_ms 503
# cold-start-timeout.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || { echo "needs python3"; exit 77; }
command -v jq >/dev/null || { echo "needs jq (scripts/deps)"; exit 77; }
trap instances_cleanup EXIT
net_up 3
start 1
start 2 --join 10.77.0.1
start 3 --join 10.77.0.1 --tag role=edge
for i in 1 2 3; do wait_until 20 "h$i sees 3 alive" sees_count "$i" alive 3; done

# the backend, where the service user (nobody) can read it
chmod 711 "$TMP"
mkdir -m 755 "$TMP/bin"
install -m 755 "$SRC/tests/integration/coldstart_backend.py" "$TMP/bin/backend.py"
PY=/usr/bin/python3
[ -x "$PY" ] || { echo "needs /usr/bin/python3 (runs as nobody)"; exit 77; }

spec() { # NAME ANSWER SCALE [EXTRA_FIELDS [DELAY_S]]: a cluster spec on stdout
    cat <<JSON
{"name": "$1", "command": "$PY", "user": "nobody",
 "args": ["$TMP/bin/backend.py", "\${PORT}", "$2"${5:+, \"$5\"}],
 "ports": {"http": "auto"}, "scale": $3 ${4:+, $4}}
JSON
}
get() { # I PORT: a GET through hI's proxy; prints "STATUS BODY" (headers: $TMP/h.I.PORT)
    local i=$1 port=$2 body code
    body=$(mktemp "$TMP/body.XXXXXX")
    code=$(ip netns exec "$(ns "$i")" curl -s --max-time 30 -D "$TMP/h.$i.$port" -o "$body" \
        -w '%{http_code}' "http://127.0.0.1:$port/")
    echo "$code $(cat "$body")"
    rm -f "$body"
}
instances() { # I NAME: how many instances of NAME hI's catalog holds, any health
    api "$1" GET "/v1/health/service/$2" | jq length
}
nowhere() { # NAME: no host lists an instance of NAME, and no process runs it
    local i
    for i in 1 2 3; do [ "$(instances "$i" "$1")" = 0 ] || return 1; done
    ! pgrep -f "backend.py .* $1\$" >/dev/null
}
routed() { # PORT: every host listens on PORT
    local i
    for i in 1 2 3; do
        ip netns exec "$(ns "$i")" bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null || return 1
    done
}

say "spec cold: scale from 0 to 3, idle after 3 s, a readiness check over http"
spec cold cold '{"min": 0, "max": 3, "idle_after_ms": 3000}' \
    '"checks": [{"name": "up", "http": "http://127.0.0.1:${PORT}/", "interval_ms": 10000}]' \
    >"$TMP/cold.json"
cli 1 apply "$TMP/cold.json" || fail "troupe apply cold"
echo '{"service": "cold", "port": 9101}' | cli 1 route set - || fail "route set cold"
wait_until 10 "every host listens on 9101" routed 9101
hold 2 "no instance of cold runs anywhere before a request" nowhere cold

say "the first requests, through the three listeners at once"
pids=()
for i in 1 2 3; do
    get "$i" 9101 >"$TMP/first.$i" &
    pids+=($!)
done
wait "${pids[@]}"
for i in 1 2 3; do
    grep -q '^200 cold bound$' "$TMP/first.$i" || fail "first request via h$i: $(cat "$TMP/first.$i")"
done
say "ok: h1, h2, h3 answered their first request: $(cat "$TMP/first.1" | tr '\n' ' ')"
api 1 GET /v1/events?limit=100 | grep -q cold-start || fail "no cold-start event in h1's history"

say "200 more requests through the three listeners: none fails"
pids=()
for i in 1 2 3; do
    for _ in $(seq 1 70); do get "$i" 9101; done >"$TMP/more.$i" &
    pids+=($!)
done
wait "${pids[@]}"
bad=$(cat "$TMP"/more.* | grep -cv '^200 cold bound$')
[ "$bad" = 0 ] || fail "$bad requests failed: $(grep -v '^200 cold bound$' "$TMP"/more.* | head -5)"
say "ok: 210 requests answered 200"

say "idle for 3 s: back to zero"
wait_until 30 "no instance of cold on any host, no process" nowhere cold
api 1 GET /v1/events?limit=200 | grep -q idle-stop || fail "no idle-stop event in h1's history"

say "after zero, a request starts it again"
out=$(get 2 9101)
[ "$out" = "200 cold bound" ] || fail "request after the idle stop: $out"

say "spec sock: socket_activation, the agent passes the listening socket"
spec sock sock '{"min": 0, "max": 1, "idle_after_ms": 60000}' '"socket_activation": true' \
    >"$TMP/sock.json"
cli 1 apply "$TMP/sock.json" || fail "troupe apply sock"
echo '{"service": "sock", "port": 9102}' | cli 1 route set - || fail "route set sock"
wait_until 10 "every host listens on 9102" routed 9102
out=$(get 3 9102)
[ "$out" = "200 sock fd3" ] || fail "socket-activated first request: $out"
say "ok: the instance served on the socket the agent gave it: $out"

say "spec edge: only h3 (role=edge) may run it; the first request comes through h1"
spec edge edge '{"min": 0, "max": 1, "idle_after_ms": 60000}' '"constraints": {"role": "edge"}' \
    >"$TMP/edge.json"
cli 1 apply "$TMP/edge.json" || fail "troupe apply edge"
echo '{"service": "edge", "port": 9105}' | cli 1 route set - || fail "route set edge"
wait_until 10 "every host listens on 9105" routed 9105
out=$(get 1 9105)
[ "$out" = "200 edge bound" ] || fail "first request to edge through h1: $out"
runs_edge() { api "$1" GET /v1/agent/ps | jq -e '[.[] | select(.service == "edge")] | length > 0'; }
runs_edge 3 >/dev/null || fail "edge does not run on h3: $(api 3 GET /v1/agent/ps)"
runs_edge 1 >/dev/null && fail "edge runs on h1, which lacks role=edge"
say "ok: answered through h1 by the instance h3 started for it"

say "spec slow: starts in 3 s, queue_limit 1: a second held connection is refused"
spec slow slow '{"min": 0, "max": 1, "queue_limit": 1, "start_timeout_ms": 20000}' "" 3 \
    >"$TMP/slow.json"
cli 1 apply "$TMP/slow.json" || fail "troupe apply slow"
echo '{"service": "slow", "port": 9103}' | cli 1 route set - || fail "route set slow"
wait_until 10 "every host listens on 9103" routed 9103
get 1 9103 >"$TMP/slow.a" &
held=$!
waiting() { api 1 GET /metrics | grep -q '^troupe_cold_start_queue_depth 1$'; }
wait_until 5 "h1 holds one connection" waiting
out=$(get 1 9103)
[ "$out" = "503 no instance ready: the service is starting from zero: route slow" ] ||
    fail "the second connection: $out"
grep -qi '^x-troupe-reason: cold-start-queue-full' "$TMP/h.1.9103" ||
    fail "no x-troupe-reason: cold-start-queue-full: $(cat "$TMP/h.1.9103")"
wait "$held"
grep -q '^200 slow bound$' "$TMP/slow.a" || fail "the held connection: $(cat "$TMP/slow.a")"
say "ok: the held one answered 200 once ready, the one past the queue 503 cold-start-queue-full"

say "spec never: never listens, start_timeout_ms 1000: 503 cold-start-timeout"
cat >"$TMP/never.json" <<JSON
{"name": "never", "command": "/bin/sleep", "args": ["100000"], "user": "nobody",
 "ports": {"http": "auto"}, "scale": {"min": 0, "max": 1, "start_timeout_ms": 1000},
 "checks": [{"name": "up", "tcp": "127.0.0.1:\${PORT}", "interval_ms": 10000}]}
JSON
cli 1 apply "$TMP/never.json" || fail "troupe apply never"
echo '{"service": "never", "port": 9104}' | cli 1 route set - || fail "route set never"
wait_until 10 "every host listens on 9104" routed 9104
out=$(get 2 9104)
case "$out" in 503*) ;; *) fail "a start that never ends: $out" ;; esac
grep -qi '^x-troupe-reason: cold-start-timeout' "$TMP/h.2.9104" ||
    fail "no x-troupe-reason: cold-start-timeout: $(cat "$TMP/h.2.9104")"
api 2 GET /metrics | grep -q '^troupe_cold_start_seconds_count [1-9]' ||
    fail "troupe_cold_start_seconds has no observation on h2"
say "ok"
