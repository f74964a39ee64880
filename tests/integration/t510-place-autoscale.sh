#!/bin/bash
# Autoscaling on concurrency across 3 hosts. A spec with "scale" (min 1,
# max 8, target_concurrency 2, utilization 1, windows shortened) runs one
# slow instance (0.5 s per request) behind a route. 12 clients holding a
# request each through h1's proxy make every agent ask for 6 instances (on
# stable or the panic window, whichever sees it first); 6 run; no request
# fails. Once the load stops, the count falls back to min after the
# stabilization window; one client keeps sending through the scale-down and
# none of its requests fails (the slots that go drain before they stop).
# Every agent decides the same count, the decisions are events with their
# reasons, troupe status and /metrics show them.
# The test also reports what the load records cost in bytes per node per second.
# Last, a spec scaled on a backlog its service reports (PUT
# /v1/agent/metric/worker on h2) follows the backlog on every agent.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || { echo "needs python3"; exit 77; }
command -v jq >/dev/null || { echo "needs jq (scripts/deps)"; exit 77; }

load_cleanup() {
    local rc=$?
    [ $rc = 0 ] || tail -n 5 "$TMP/load.err" 2>/dev/null
    touch "$TMP/stop"
    [ -n "${LOAD:-}" ] && wait "$LOAD" 2>/dev/null
    (exit $rc)
    instances_cleanup
}
trap load_cleanup EXIT

net_up 3
cluster 3

read -r -d '' CODE <<'PY'
import http.server, sys, time
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        stream = self.path == "/stream"  # the head at once, the body later
        if not stream:
            time.sleep(0.5)
        self.send_response(200)
        self.send_header("content-length", "3")
        self.end_headers()
        if stream:
            self.wfile.flush()
            time.sleep(0.5)
        self.wfile.write(b"ok\n")
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer.daemon_threads = True
http.server.ThreadingHTTPServer(("0.0.0.0", int(sys.argv[1])), H).serve_forever()
PY
jq -n --arg code "$CODE" '{name: "slow", command: "/usr/bin/python3",
    args: ["-c", $code, "${PORT}"], ports: {http: "auto"}, user: "nobody", dir: "/",
    stop_grace_ms: 500,
    checks: [{name: "ready", role: "readiness", tcp: "127.0.0.1:${PORT}", interval_ms: 100,
              timeout_ms: 90}],
    scale: {min: 1, max: 8, target_concurrency: 2, utilization: 1,
            stable_window_ms: 6000, panic_window_ms: 2000, scale_down_delay_ms: 10000}}' \
    >"$TMP/slow.json"
cli 1 apply "$TMP/slow.json" || fail "apply the scaled spec"
echo '{"service": "slow", "port": 9101, "timeouts": {"request_ms": 10000}}' |
    cli 1 route set - || fail "route set slow"

desired() { api "$1" GET /v1/place/slow | jq -r '.specs[0].scale.desired'; }
passing() { [ "$(passing_count "$1" slow)" = "$2" ]; }
all_desire() { local i; for i in 1 2 3; do [ "$(desired "$i")" = "$1" ] || return 1; done; }
served() { ip netns exec "$(ns 1)" curl -sf --max-time 5 http://127.0.0.1:9101/ | grep -q ok; }

wait_until 30 "one instance of slow passes, every agent wants 1" eval 'passing 1 1 && all_desire 1'
# the first request must find the placed instance among h1's endpoints,
# or h1 would start one more for it from zero (a cold start)
h1_has_it() {
    api 1 GET /v1/proxy/endpoints/slow |
        jq -e '[.endpoints[] | select(.state == "healthy")] | length == 1' >/dev/null
}
wait_until 10 "h1's proxy has slow's instance as an endpoint" h1_has_it
wait_until 10 "h1's proxy on 9101 answers from it" served

user_bytes() { # I: gossip bytes out of user payloads (catalog deltas) on hI
    api "$1" GET /metrics | awk '/^troupe_membership_message_bytes_total\{dir="out",kind="user"\}/ {print $2}'
}
load_bytes() { api "$1" GET /metrics | awk '/^troupe_autoscale_load_record_bytes_total / {print $2}'; }
load_puts() { api "$1" GET /metrics | awk '/^troupe_autoscale_load_records_written_total / {print $2}'; }

# the baseline: catalog gossip with no load, over 10 s
u0=(0 "$(user_bytes 1)" "$(user_bytes 2)" "$(user_bytes 3)")
s0=$(date +%s%N)
hold 10 "the count stays 1 without load" all_desire 1
ms=$(( ($(date +%s%N) - s0) / 1000000 ))
for i in 1 2 3; do
    say "h$i, ${ms} ms idle: $(( ($(user_bytes "$i") - u0[i]) * 1000 / ms )) B/s of catalog gossip out"
done

say "12 clients, one request each in flight all the time, through h1's proxy"
rm -f "$TMP/stop"
ip netns exec "$(ns 1)" env SLOW_LOAD_PROGRESS=1 python3 "$SRC/tests/integration/slow_load.py" 9101 12 "$TMP/stop" \
    >"$TMP/load.json" 2>"$TMP/load.err" &
LOAD=$!
t0=$(date +%s%N)
wait_until 30 "every agent asks for 6 instances" all_desire 6
say "6 asked $(( ($(date +%s%N) - t0) / 1000000 )) ms after the load started"
wait_until 40 "6 instances of slow pass" passing 1 6
api 1 GET /v1/place/slow | jq -e '.specs[0].scale.decisions[0] | .to == 6 and
    (.reason | test("^(panic|stable): concurrency [0-9.]+"))' >/dev/null ||
    fail "h1's last decision is not the one to 6 with its reason: $(api 1 GET /v1/place/slow | jq -c .specs[0].scale)"
say "h1's decisions: $(api 1 GET /v1/place/slow | jq -c '[.specs[0].scale.decisions[] | "\(.from) -> \(.to): \(.reason)"]')"

# the record's cost, measured over 20 s of steady load on each node
b0=(0 "$(load_bytes 1)" "$(load_bytes 2)" "$(load_bytes 3)")
p0=(0 "$(load_puts 1)" "$(load_puts 2)" "$(load_puts 3)")
u0=(0 "$(user_bytes 1)" "$(user_bytes 2)" "$(user_bytes 3)")
s0=$(date +%s%N)
hold 20 "the count stays 6 under steady load" all_desire 6
ms=$(( ($(date +%s%N) - s0) / 1000000 ))
for i in 1 2 3; do
    say "h$i, ${ms} ms of load: $(( $(load_puts "$i") - p0[i] )) load records written," \
        "$(( ($(load_bytes "$i") - b0[i]) * 1000 / ms )) B/s of key and value," \
        "$(( ($(user_bytes "$i") - u0[i]) * 1000 / ms )) B/s of catalog gossip out (all records)"
done

touch "$TMP/stop"
wait "$LOAD"
LOAD=
out=$(cat "$TMP/load.json")
say "load: $out"
[ "$(jq .failed <<<"$out")" = 0 ] || fail "requests failed under load: $out"
[ "$(jq .ok <<<"$out")" -gt 100 ] || fail "too few requests answered: $out"

# 6 clients go on through the scale-down: the slots that go drain (out of
# the catalog, stopped later), so none of their requests fails. The
# service sends the head of /stream's answer at once and the body 0.5 s
# later: the proxy cannot send such a request again elsewhere (it does for
# one whose endpoint died before answering), so a slot stopped under one
# would show here; and the proxy counts a request in flight until its
# answer's head, so this load does not hold the count up.
say "6 clients, a request to /stream in flight each, through the scale-down"
rm -f "$TMP/stop"
ip netns exec "$(ns 1)" env SLOW_LOAD_PATH=/stream python3 "$SRC/tests/integration/slow_load.py" 9101 6 "$TMP/stop" \
    >"$TMP/load.json" 2>"$TMP/load.err" &
LOAD=$!
stopped() { # instances of slow stopped on every host, as their events say
    local i n=0
    for i in 1 2 3; do
        n=$(( n + $(api "$i" GET "/v1/events?kind=sup-stopped" |
            jq '[.[] | select(.subject | startswith("slow/"))] | length') ))
    done
    echo "$n"
}
stopped0=$(stopped)
t1=$(date +%s%N)
wait_until 60 "every agent is back to min (1)" all_desire 1
down_ms=$(( ($(date +%s%N) - t1) / 1000000 ))
say "back to 1 ${down_ms} ms after the load stopped (stable 6 s + delay 10 s)"
[ "$down_ms" -ge 8000 ] || fail "scaled down after ${down_ms} ms, before the delay window"
wait_until 30 "the 5 instances scaled away stopped" eval '[ $(( $(stopped) - stopped0 )) -ge 5 ]'
drains() { local i n=0; for i in 1 2 3; do
    n=$(( n + $(api "$i" GET "/v1/events?kind=sup-drain" |
        jq '[.[] | select(.subject | startswith("slow/"))] | length') )); done; echo "$n"; }
say "$(drains) drains of slow's slots in the history of the 3 agents"
touch "$TMP/stop"
wait "$LOAD"
LOAD=
out=$(cat "$TMP/load.json")
say "load through the scale-down: $out"
[ "$(jq .failed <<<"$out")" = 0 ] || fail "requests failed during the scale-down: $out"
[ "$(jq .ok <<<"$out")" -gt 10 ] || fail "too few requests answered during the scale-down: $out"
wait_until 30 "one instance of slow passes" passing 1 1

scale_events() { api 1 GET "/v1/events?kind=scale" | jq -c '[.[] | select(.subject == "slow") | .detail]'; }
scale_events | jq -e 'length >= 2' >/dev/null || fail "no scale events in h1's history: $(scale_events)"
say "h1's scale events: $(scale_events)"
cli 2 status slow | grep -q '^  scale: desired 1 (min 1, max 8)' ||
    fail "troupe status slow: $(cli 2 status slow)"
cli 2 status slow | sed 's/^/    /'
api 3 GET /metrics | grep -q '^troupe_autoscale_desired_instances{service="slow"} 1$' ||
    fail "no troupe_autoscale_desired_instances on h3"
api 3 GET /metrics | grep -q '^troupe_autoscale_observed_concurrency{service="slow"} ' ||
    fail "no troupe_autoscale_observed_concurrency on h3"

say "a worker scaled on the backlog it reports: on queue, target 10"
jq -n '{name: "worker", command: "/bin/sleep", args: ["100000"], user: "nobody",
    scale: {min: 1, max: 4, on: "queue", target: 10, stable_window_ms: 2000,
            panic_window_ms: 1000, scale_down_delay_ms: 2000}}' >"$TMP/worker.json"
cli 1 apply "$TMP/worker.json" || fail "apply worker"
wdesired() { api "$1" GET /v1/place/worker | jq -r '.specs[0].scale.desired'; }
wall() { local i; for i in 1 2 3; do [ "$(wdesired "$i")" = "$1" ] || return 1; done; }
wait_until 20 "every agent wants 1 worker" wall 1
api 2 PUT /v1/agent/metric/worker -d '{"value": 35}' >/dev/null || fail "PUT metric on h2"
api 2 GET /metrics | grep -q '^troupe_autoscale_reported_metrics 1$' || fail "h2 does not count the metric"
wait_until 20 "a backlog of 35 on h2: every agent wants 4 workers" wall 4
api 3 GET /v1/place/worker | jq -e '.specs[0].scale.observed_metric == 35' >/dev/null ||
    fail "h3 does not see the backlog: $(api 3 GET /v1/place/worker | jq -c .specs[0].scale)"
api 2 PUT /v1/agent/metric/worker -d '{"value": 0}' >/dev/null || fail "PUT metric 0 on h2"
wait_until 30 "the backlog gone: back to 1 worker" wall 1
code=$(ip netns exec "$(ns 2)" curl -s -o /dev/null -w '%{http_code}' -X PUT \
    http://127.0.0.1:7421/v1/agent/metric/worker -d '{"value": -1}')
[ "$code" = 400 ] || fail "a negative metric got $code, not 400"
say "ok"
