#!/bin/bash
# The proxy's worker threads: an agent with --proxy-workers 2 serves a
# route's listener from both threads (SO_REUSEPORT spreads the
# connections: /metrics counts requests per worker, and each served
# some); the node's counters add up the workers' (every request counted
# once); a route changed afterwards is in force on every worker (each
# serves requests again and all of them follow the new split); the
# agent runs a thread per worker (proxy-0, proxy-1); it stops cleanly.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || { echo "needs python3"; exit 77; }
command -v jq >/dev/null || { echo "needs jq (scripts/deps)"; exit 77; }
net_up 1
start 1 --proxy-workers 2

backend() { # PORT ANSWER: a backend in h1's namespace
    ip netns exec "$(ns 1)" python3 "$SRC/tests/integration/proxy_backend.py" "$1" "$2" \
        >>"$TMP/backend.log" 2>&1 &
    PID[b$1]=$!
    say "backend on h1:$1 answers \"$2\" (pid ${PID[b$1]})"
}
register() { # ID PORT VERSION: an instance of web with a ttl check that passes
    api 1 PUT /v1/agent/service/register -d "{\"name\": \"web\", \"id\": \"$1\",
        \"address\": \"10.77.0.1\", \"port\": $2, \"version\": \"$3\",
        \"checks\": [{\"id\": \"$1-ttl\", \"ttl\": \"120s\"}]}" >/dev/null || fail "register $1"
    api 1 PUT "/v1/agent/check/$1-ttl/pass" >/dev/null || fail "pass $1"
}
# N requests to 127.0.0.1:9001, each on a new connection: answer -> count
burst() {
    ip netns exec "$(ns 1)" python3 - "$1" <<'PY'
import http.client, json, sys
counts = {}
for _ in range(int(sys.argv[1])):
    try:
        c = http.client.HTTPConnection("127.0.0.1", 9001, timeout=10)
        c.request("GET", "/", headers={"connection": "close"})
        r = c.getresponse()
        body = r.read().decode().strip()
        key = body if r.status == 200 else "status %d" % r.status
        c.close()
    except (http.client.HTTPException, OSError) as e:
        key = "error %s" % type(e).__name__
    counts[key] = counts.get(key, 0) + 1
print(json.dumps(counts, sort_keys=True))
PY
}
metric() { # NAME{LABELS}: its value in h1's /metrics (0 when absent)
    api 1 GET /metrics | awk -v m="$1" '$1 == m {print $2; found=1} END {if (!found) print 0}'
}
worker_requests() { metric "troupe_proxy_worker_requests_total{worker=\"$1\"}"; }
node_requests() { # every 2xx of route web, whatever the version
    api 1 GET /metrics |
        awk '/^troupe_proxy_requests_total\{route="web",/ && /code_class="2xx"/ {s += $2} END {print s + 0}'
}

backend 8080 "v1 a"
backend 8081 "v2 b"
register web-a 8080 v1
register web-b 8081 v2
wait_until 10 "two web instances passing" eval '[ "$(passing_count 1 web)" = 2 ]'

echo '{"service": "web", "port": 9001, "split": {"v1": 100, "v2": 0}}' | cli 1 route set - ||
    fail "route set web"
served() { burst 1 | grep -q '"v1 a": 1'; }
wait_until 10 "h1's proxy on 127.0.0.1:9001 answers from v1" served
# the workers report every 100 ms: the route says it listens once one did
says_listening() { [ "$(api 1 GET /v1/proxy/routes | jq -r '.[0].listening')" = true ]; }
wait_until 5 "the route says it listens" says_listening

say "400 requests, each on a new connection"
out=$(burst 400)
[ "$out" = '{"v1 a": 400}' ] || fail "400 requests to v1: $out"
counted() { [ "$(node_requests)" -ge 401 ]; }
wait_until 5 "the node's counter has every request" counted
w0=$(worker_requests 0)
w1=$(worker_requests 1)
say "worker 0 served $w0, worker 1 served $w1"
[ "$w0" -gt 0 ] && [ "$w1" -gt 0 ] || fail "one worker served nothing: $w0 and $w1"
[ $((w0 + w1)) -eq "$(node_requests)" ] ||
    fail "the workers' $((w0 + w1)) requests are not the node's $(node_requests)"
say "ok: both workers served, and the node counted each request once"

say "the split becomes v2 100: every worker follows"
echo '{"service": "web", "port": 9001, "split": {"v1": 0, "v2": 100}}' | cli 1 route set - ||
    fail "route set web to v2"
on_v2() { [ "$(burst 20)" = '{"v2 b": 20}' ]; }
wait_until 5 "20 requests in a row go to v2" on_v2
b0=$(worker_requests 0)
b1=$(worker_requests 1)
out=$(burst 400)
[ "$out" = '{"v2 b": 400}' ] || fail "after the change, 400 requests: $out"
more() { [ "$(worker_requests 0)" -gt "$b0" ] && [ "$(worker_requests 1)" -gt "$b1" ]; }
wait_until 5 "both workers served the 400 requests after the change" more
say "ok: both workers served after the change, every answer from v2"

names=$(cat /proc/"${PID[1]}"/task/*/comm | grep -c '^proxy-[01]$')
[ "$names" = 2 ] || fail "threads proxy-0 and proxy-1: $(cat /proc/"${PID[1]}"/task/*/comm)"
say "ok: the agent runs threads proxy-0 and proxy-1"

say "SIGTERM: the agent stops its workers and exits 0"
kill -TERM "${PID[1]}"
ended() { ! kill -0 "${PID[1]}" 2>/dev/null; }
wait_until 10 "h1 exits" ended
wait "${PID[1]}"
rc=$?
[ "$rc" = 0 ] || fail "the agent exited $rc"
unset "PID[1]"
say "ok: the agent exited 0"
