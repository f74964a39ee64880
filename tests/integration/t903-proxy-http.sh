#!/bin/bash
# The http proxy's data path on one host, with two backends of service web:
# traceparent, x-request-id and x-forwarded-for reach the endpoint and
# hop-by-hop headers do not; a hung upstream answers 504 within the
# route's timeout; a route over its limits answers 503 overloaded at once;
# a client that ends its side after its request gets the whole answer;
# an upgrade (websocket) round trip; a 50 MB chunked upload streamed with
# the agent's peak RSS growing by less than 4 MiB; a tcp route passes a
# half-close; kill -9 of a backend under steady GETs fails none of them
# (x-troupe-attempts says which were retried); an instance that leaves
# the catalog finishes its request in flight and gets no new ones; GETs
# are retried past a 503 and POSTs with a body are not; a tcp route goes
# past a dead endpoint and, within its connect timeout, past a silent one;
# the access log has a line per request.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || { echo "needs python3"; exit 77; }
command -v jq >/dev/null || { echo "needs jq (scripts/deps)"; exit 77; }
command -v curl >/dev/null || { echo "needs curl"; exit 77; }
net_up 1
start 1

tool() { ip netns exec "$(ns 1)" python3 "$SRC/tests/integration/proxy_http_tool.py" "$@"; }
pcurl() { ip netns exec "$(ns 1)" curl -s --max-time 20 "$@"; }
backend() { # NAME PORT
    ip netns exec "$(ns 1)" python3 "$SRC/tests/integration/proxy_http_backend.py" "$2" "$1" \
        >>"$TMP/backend-$1.log" 2>&1 &
    PID[$1]=$!
    say "backend $1 on 10.77.0.1:$2 (pid ${PID[$1]})"
}
register() { # ID SERVICE PORT [VERSION]
    api 1 PUT /v1/agent/service/register -d "{\"name\": \"$2\", \"id\": \"$1\",
        \"address\": \"10.77.0.1\", \"port\": $3, \"version\": \"${4:-v1}\",
        \"checks\": [{\"id\": \"$1-ttl\", \"ttl\": \"300s\"}]}" >/dev/null || fail "register $1"
    api 1 PUT "/v1/agent/check/$1-ttl/pass" >/dev/null || fail "pass $1"
}
rss_peak_kb() { awk '/^VmHWM:/ {print $2}' "/proc/${PID[1]}/status"; }
# the RSS bound holds for a plain build: AddressSanitizer's quarantine
# keeps freed buffers, valgrind has its own heap
plain_bin() { ldd "$BIN" >/dev/null 2>&1 && ! ldd "$BIN" | grep -q libasan; }

backend web-1 8081
backend web-2 8082
ip netns exec "$(ns 1)" python3 "$SRC/tests/integration/proxy_http_backend.py" --tcp 8090 \
    >>"$TMP/backend-tcp.log" 2>&1 &
PID[tcp]=$!
register web-1 web 8081
register web-2 web 8082
register echo-1 echo 8090
# service flaky: web-1's and web-2's backends again, as versions v1 and v2
register flaky-1 flaky 8081 v1
register flaky-2 flaky 8082 v2
wait_until 10 "two web instances passing" eval '[ "$(passing_count 1 web)" = 2 ]'

cat >"$TMP/web.json" <<JSON
{"name": "web", "service": "web", "port": 9101, "timeouts": {"request_ms": 1500},
 "access_log": "$TMP/access.jsonl"}
JSON
cli 1 route set "$TMP/web.json" || fail "route set web"
echo '{"name": "lim", "service": "web", "port": 9102,
       "limits": {"max_requests": 1, "max_pending": 0}}' | cli 1 route set - ||
    fail "route set lim"
# flaky: every request goes to v2 (web-2) first, a retry to v1; web-2's
# 503s must not eject it, so that every request meets them
echo '{"name": "flaky", "service": "flaky", "port": 9105, "split": {"v2": 100},
       "outlier": {"consecutive_failures": 1000}}' | cli 1 route set - || fail "route set flaky"
# the steady load of the kill -9 runs on a route of its own, split by
# version: half of the requests go to web-2 (v2) first whatever its
# latency (peak-EWMA alone would give sequential requests to the faster
# instance), so after the kill they must be retried
echo "{\"name\": \"steady\", \"service\": \"flaky\", \"port\": 9104,
       \"split\": {\"v1\": 50, \"v2\": 50}, \"access_log\": \"$TMP/steady.jsonl\"}" |
    cli 1 route set - || fail "route set steady"
echo '{"name": "drain", "service": "web", "port": 9106}' | cli 1 route set - ||
    fail "route set drain"
echo '{"name": "echo", "service": "echo", "port": 9103, "protocol": "tcp"}' |
    cli 1 route set - || fail "route set echo"
wait_until 10 "the proxy answers on 9101" eval 'pcurl -f http://127.0.0.1:9101/ | grep -q web-'
wait_until 10 "the proxy answers on 9102" eval 'pcurl -f http://127.0.0.1:9102/ | grep -q web-'

say "headers: traceparent, x-request-id, x-forwarded-*, hop-by-hop"
tid=4bf92f3577b34da6a3ce929d0e0e4736
h=$(pcurl -f -H "traceparent: 00-$tid-00f067aa0ba902b7-01" -H "connection: x-secret" \
    -H "x-secret: 1" -H "te: trailers" -H "x-forwarded-for: 192.0.2.7" \
    http://127.0.0.1:9101/headers) || fail "GET /headers"
say "the endpoint got: $h"
jq -e --arg t "$tid" '.traceparent | test("^00-" + $t + "-[0-9a-f]{16}-01$")' <<<"$h" >/dev/null ||
    fail "traceparent did not keep the trace: $h"
[ "$(jq -r .traceparent <<<"$h")" != "00-$tid-00f067aa0ba902b7-01" ] ||
    fail "traceparent kept the caller's span id instead of a new one"
jq -e '."x-request-id" | test("^[0-9a-f]{32}$")' <<<"$h" >/dev/null || fail "no x-request-id made"
[ "$(jq -r '."x-forwarded-for"' <<<"$h")" = "192.0.2.7, 127.0.0.1" ] ||
    fail "x-forwarded-for not appended to: $h"
[ "$(jq -r '."x-forwarded-proto"' <<<"$h")" = http ] || fail "no x-forwarded-proto: $h"
jq -e 'has("x-secret") or has("te") or (.connection // "" | test("x-secret"))' <<<"$h" \
    >/dev/null && fail "hop-by-hop headers passed: $h"
h=$(pcurl -f -H "x-request-id: req-42" http://127.0.0.1:9101/headers) || fail "GET /headers"
[ "$(jq -r '."x-request-id"' <<<"$h")" = req-42 ] || fail "x-request-id not kept: $h"
jq -e '.traceparent | test("^00-[0-9a-f]{32}-[0-9a-f]{16}-00$")' <<<"$h" >/dev/null ||
    fail "no new trace for a request without one: $h"
say "ok: trace kept with a new span, a new trace when absent, ids and forwarding headers"

say "a hung upstream answers 504 within the route's 1.5 s"
out=$(pcurl -o /dev/null -D "$TMP/h504" -w '%{http_code} %{time_total}' \
    http://127.0.0.1:9101/hang)
say "GET /hang: $out"
read -r code secs <<<"$out"
[ "$code" = 504 ] || fail "GET /hang answered $code, want 504"
grep -qi '^x-troupe-reason: timeout' "$TMP/h504" || fail "504 without x-troupe-reason: timeout"
awk -v s="$secs" 'BEGIN {exit !(s >= 1.4 && s < 4)}' || fail "504 after ${secs}s, want ~1.5 s"
say "ok: 504 after ${secs}s"

say "a route at its limit (1 request, none pending) answers 503 overloaded at once"
slows() { cat "$TMP"/backend-web-*.log | grep -c 'slow start'; }
s0=$(slows)
pcurl -o /dev/null 'http://127.0.0.1:9102/slow?ms=4000' &
slow=$!
wait_until 5 "the slow request holds the slot (a backend has it)" eval '[ "$(slows)" -gt "$s0" ]'
overloaded() {
    pcurl -o /dev/null -D "$TMP/h503" -w '%{http_code} %{time_total}' http://127.0.0.1:9102/ \
        >"$TMP/o503"
    grep -q '^503 ' "$TMP/o503" && grep -qi '^x-troupe-reason: overloaded' "$TMP/h503"
}
wait_until 3 "9102 answers 503 overloaded while its one slot is taken" overloaded
secs=$(cut -d' ' -f2 <"$TMP/o503")
awk -v s="$secs" 'BEGIN {exit !(s < 0.5)}' || fail "503 overloaded took ${secs}s"
wait "$slow"
pcurl -f http://127.0.0.1:9102/ | grep -q web- || fail "9102 did not serve once its slot was free"
say "ok: 503 overloaded in ${secs}s, served again once the slot was free"

say "a client that ends its side after its request gets the whole 4 MiB answer"
out=$(tool halfclose 9101)
[ "$out" = "HTTP/1.1 200 OK 4194304" ] || fail "half-closed client got: $out"
say "ok: $out"

say "an upgrade (websocket) round trip"
out=$(tool ws 9101) || fail "websocket round trip: $out"
say "ok: 101, bytes echoed both ways, the end of our side passed on"

say "tcp route: 100000 bytes, then our side ended, the answer read to its end"
wait_until 10 "the tcp proxy answers on 9103" eval '[ "$(tool tcp 9103)" = "got 100000 bytes" ]'
say "ok: half-close passed through the tcp route"

say "a 50 MB chunked upload through the proxy"
before=$(rss_peak_kb)
out=$(head -c 52428800 /dev/zero | pcurl -v --max-time 120 -f -T - \
    -H 'transfer-encoding: chunked' -H 'expect: 100-continue' \
    http://127.0.0.1:9101/upload 2>"$TMP/upload.err") || fail "upload: $out"
after=$(rss_peak_kb)
say "upload answered $out; agent peak RSS ${before} kB -> ${after} kB"
[ "$(jq .bytes <<<"$out")" = 52428800 ] || fail "the endpoint got $(jq .bytes <<<"$out") bytes"
if plain_bin; then
    [ $((after - before)) -lt 4096 ] || fail "peak RSS grew by $((after - before)) kB (limit 4096)"
else
    say "(a sanitized or wrapped agent: its RSS is not checked)"
fi
grep -q '^< HTTP/1.1 100 Continue' "$TMP/upload.err" ||
    fail "no 100 Continue came back to the client's expect"
say "ok: 50 MB streamed after a 100 Continue, peak RSS +$((after - before)) kB"

say "retries on 503: web-2 (v2, where every request goes first) answers /flaky with 503"
wait_until 10 "the proxy answers on 9105" eval 'pcurl -f http://127.0.0.1:9105/ | grep -q web-2'
out=$(tool load 9105 40 GET /flaky)
say "40 GET /flaky: $out"
[ "$out" = '{"attempts": {"2": 40}, "errors": 0, "statuses": {"200": 40}}' ] ||
    fail "GETs not retried past web-2's 503 on the second try: $out"
out=$(tool load 9105 20 POST /flaky)
say "20 POST /flaky: $out"
[ "$out" = '{"attempts": {"1": 20}, "errors": 0, "statuses": {"503": 20}}' ] ||
    fail "POSTs with a body retried, or not answered web-2's 503: $out"
say "ok: GETs retried past the 503s, POSTs not"

say "tcp: a second echo instance on a port where nothing listens"
register echo-2 echo 8099
wait_until 10 "two echo instances passing" eval '[ "$(passing_count 1 echo)" = 2 ]'
for i in $(seq 1 20); do
    out=$(tool tcp 9103)
    [ "$out" = "got 100000 bytes" ] || fail "tcp round trip $i with a dead endpoint: $out"
done
say "ok: 20 tcp round trips, each retried past the dead endpoint when it was picked"

say "tcp connect timeout: v2 at 10.77.0.99, where no host answers, gets every connection first"
# a neighbour entry with a hardware address nobody has: h1 sends its SYNs
# there and nothing ever answers, not even an unreachable (without it ARP
# gives up after about 3 s and later connects fail at once)
ip -n "$(ns 1)" neigh replace 10.77.0.99 lladdr 02:00:00:00:00:99 dev eth0 nud permanent ||
    fail "cannot add a neighbour entry for 10.77.0.99"
api 1 PUT /v1/agent/service/register -d '{"name": "echoct", "id": "echoct-2",
    "address": "10.77.0.99", "port": 8090, "version": "v2",
    "checks": [{"id": "echoct-2-ttl", "ttl": "300s"}]}' >/dev/null || fail "register echoct-2"
api 1 PUT /v1/agent/check/echoct-2-ttl/pass >/dev/null || fail "pass echoct-2"
register echoct-1 echoct 8090
echo '{"name": "echoct", "service": "echoct", "port": 9107, "protocol": "tcp",
       "split": {"v2": 100}, "timeouts": {"connect_ms": 200}}' | cli 1 route set - ||
    fail "route set echoct"
wait_until 10 "two echoct instances passing" eval '[ "$(passing_count 1 echoct)" = 2 ]'
wait_until 10 "the tcp proxy answers on 9107" eval '[ "$(tool tcp 9107)" = "got 100000 bytes" ]'
for i in $(seq 1 10); do
    t0=$(date +%s%N)
    out=$(tool tcp 9107)
    ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    [ "$out" = "got 100000 bytes" ] || fail "tcp round trip $i past a silent endpoint: $out"
    # the connect timed out (200 ms) and the retry went to echoct-1
    [ "$ms" -ge 190 ] && [ "$ms" -lt 1500 ] || fail "tcp round trip $i took $ms ms, want 200-1500"
    say "round trip $i: $ms ms"
done
say "ok: 10 tcp round trips, each past the silent endpoint after its connect timeout"

say "kill -9 of web-2 under steady GETs"
both() { # 100 requests served, by both instances
    [ "$(wc -l <"$TMP/steady.jsonl")" -ge 100 ] && grep -q flaky-1 "$TMP/steady.jsonl" &&
        grep -q flaky-2 "$TMP/steady.jsonl"
}
wait_until 10 "the proxy answers on 9104" eval 'pcurl -f http://127.0.0.1:9104/ | grep -q web-'
tool load 9104 400 >"$TMP/load.json" &
load=$!
wait_until 30 "100 requests of the load served, by both instances" both
kill -9 "${PID[web-2]}"
unset 'PID[web-2]'
say "web-2 killed"
wait "$load" || fail "the load client failed"
out=$(cat "$TMP/load.json")
say "400 GETs: $out"
say "by endpoint and attempts: $(jq -c . "$TMP/steady.jsonl" |
    jq -sc 'group_by([.endpoint, .attempts]) | map({key: "\(.[0].endpoint) x\(.[0].attempts)",
    value: length}) | from_entries')"
[ "$(jq '.statuses["200"] // 0' <<<"$out")" = 400 ] && [ "$(jq .errors <<<"$out")" = 0 ] ||
    fail "failed requests after kill -9 of an instance: $out"
jq -e '[.attempts | to_entries[] | select(.key != "1") | .value] | add > 0' <<<"$out" \
    >/dev/null || fail "no request says it took more than one try: $out"
say "ok: no failed GET, $(jq '[.attempts | to_entries[] | select(.key != "1") | .value] | add' \
    <<<"$out") retried"

say "drain: web-1 leaves the catalog with a request in flight"
s0=$(slows)
pcurl -o "$TMP/drain.out" -w '%{http_code}' 'http://127.0.0.1:9106/slow?ms=2500' \
    >"$TMP/drain.code" &
slow=$!
wait_until 5 "web-1 has the request" eval '[ "$(slows)" -gt "$s0" ]'
api 1 PUT /v1/agent/service/deregister/web-1 >/dev/null || fail "deregister web-1"
api 1 PUT /v1/agent/service/deregister/web-2 >/dev/null || fail "deregister web-2"
no_new() {
    pcurl -o /dev/null -D "$TMP/hdrain" http://127.0.0.1:9101/
    grep -qi '^x-troupe-reason: no-endpoints' "$TMP/hdrain"
}
wait_until 5 "new requests get 503 no-endpoints" no_new
wait "$slow"
[ "$(cat "$TMP/drain.code")" = 200 ] && grep -q web-1 "$TMP/drain.out" ||
    fail "the request in flight did not finish: $(cat "$TMP/drain.code")"
say "ok: the request in flight finished with 200, new ones are refused"

say "access log"
tail -n 1 "$TMP/access.jsonl"
jq -se 'all(has("time") and has("route") and has("version") and has("endpoint") and
    has("status") and has("bytes") and has("duration_ms") and has("attempts") and
    (.trace_id | test("^[0-9a-f]{32}$")))' "$TMP/access.jsonl" >/dev/null ||
    fail "access log lines lack fields"
grep -q "\"trace_id\":\"$tid\"" "$TMP/access.jsonl" || fail "the access log lacks the trace id"
say "ok: $(wc -l <"$TMP/access.jsonl") access log lines, each with its fields"
say "PASS"
