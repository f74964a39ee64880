#!/bin/bash
# A route set on h1 is served by h3's proxy on 127.0.0.1:PORT within a few
# seconds, with instances on the three hosts: a 90/10 version split over
# 1000 requests lands within a tolerance, a header match always goes to
# v2, an instance whose check fails gets no more requests, a route without
# instances answers 503 with x-troupe-reason: no-endpoints, and a tcp route
# passes the bytes through.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || { echo "needs python3"; exit 77; }
command -v jq >/dev/null || { echo "needs jq (scripts/deps)"; exit 77; }
net_up 3
cluster 3

backend() { # I PORT ANSWER: a backend in hI's namespace
    ip netns exec "$(ns "$1")" python3 "$SRC/tests/integration/proxy_backend.py" "$2" "$3" \
        >>"$TMP/backend-h$1.log" 2>&1 &
    PID[b$1]=$!
    say "backend on h$1:$2 answers \"$3\" (pid ${PID[b$1]})"
}
register() { # I VERSION: web-I on hI, port 8080, with a ttl check that passes
    api "$1" PUT /v1/agent/service/register -d "{\"name\": \"web\", \"id\": \"web-$1\",
        \"address\": \"10.77.0.$1\", \"port\": 8080, \"version\": \"$2\",
        \"checks\": [{\"id\": \"web-$1-ttl\", \"ttl\": \"120s\"}]}" >/dev/null ||
        fail "register web-$1 on h$1"
    api "$1" PUT "/v1/agent/check/web-$1-ttl/pass" >/dev/null || fail "pass web-$1"
}
client() { # I PORT N [HEADER:VALUE]: counts of answers through hI's proxy (JSON)
    local i=$1
    shift
    ip netns exec "$(ns "$i")" python3 "$SRC/tests/integration/proxy_client.py" "$@"
}

backend 1 8080 "v1 h1"
backend 2 8080 "v1 h2"
backend 3 8080 "v2 h3"
register 1 v1
register 2 v1
register 3 v2
wait_until 10 "three web instances passing on h3" eval '[ "$(passing_count 3 web)" = 3 ]'

say "route web on port 9001 set on h1: v1 90, v2 10, x-canary: 1 -> v2"
cat >"$TMP/route.json" <<'JSON'
{"service": "web", "port": 9001, "split": {"v1": 90, "v2": 10},
 "match": [{"header": "x-canary", "value": "1", "version": "v2"}],
 "timeouts": {"connect_ms": 500, "request_ms": 5000}}
JSON
cli 1 route set "$TMP/route.json" || fail "troupe route set on h1"
listed() { cli 3 route list | grep -q "^web .*9001 .*http .*web .*v1=90,v2=10"; }
wait_until 5 "h3 lists the route set on h1" listed
served() { client 3 9001 1 | grep -q '"v[12] h[123]": 1'; }
wait_until 5 "h3's proxy on 127.0.0.1:9001 answers from an instance" served

out=$(client 3 9001 1000) || fail "1000 requests through h3: $out"
say "1000 requests through h3: $out"
v1=$(jq '(.["v1 h1"] // 0) + (.["v1 h2"] // 0)' <<<"$out")
v2=$(jq '.["v2 h3"] // 0' <<<"$out")
[ $((v1 + v2)) -eq 1000 ] || fail "not every request got an answer from an instance: $out"
# binomial(1000, 0.1): sd 9.5; 60..140 is beyond 4 sd either way
[ "$v2" -ge 60 ] && [ "$v2" -le 140 ] || fail "v2 got $v2 of 1000 requests, want 100 +- 40"
say "ok: split 90/10 measured $v1/$v2"
# the two v1 instances share v1's requests by latency (peak EWMA), not
# evenly: each must get some. One slow first answer (a cold start under
# the sanitizers) may keep an instance out for seconds while its
# estimate decays, so the requests are counted over more bursts if need be
h1=$(jq '.["v1 h1"] // 0' <<<"$out")
h2=$(jq '.["v1 h2"] // 0' <<<"$out")
both_served() {
    [ "$h1" -gt 20 ] && [ "$h2" -gt 20 ] && return 0
    local more
    more=$(client 3 9001 300) || return 1
    h1=$((h1 + $(jq '.["v1 h1"] // 0' <<<"$more")))
    h2=$((h2 + $(jq '.["v1 h2"] // 0' <<<"$more")))
    [ "$h1" -gt 20 ] && [ "$h2" -gt 20 ]
}
wait_until 30 "both v1 instances served more than 20 requests" both_served
say "ok: v1's instances served $h1 and $h2"

out=$(client 3 9001 200 x-canary:1)
[ "$out" = '{"v2 h3": 200}' ] || fail "x-canary: 1 did not always go to v2: $out"
say "ok: the header match sent 200 of 200 requests to v2"

out=$(client 3 9001 100 "" /chunked)
[ "$(jq '[.[]] | add' <<<"$out")" = 100 ] && ! grep -q 'status\|error' <<<"$out" ||
    fail "chunked responses through one keep-alive connection: $out"
say "ok: 100 chunked responses over one client connection (upstreams kept alive): $out"

say "web-2's check fails on h2"
api 2 PUT "/v1/agent/check/web-2-ttl/fail?note=down" >/dev/null || fail "fail web-2"
no_h2() { ! client 3 9001 30 | grep -q 'h2'; }
wait_until 5 "h3's proxy stops sending to web-2" no_h2
out=$(client 3 9001 300)
grep -q 'h2' <<<"$out" && fail "web-2 still got requests after its check failed: $out"
grep -q '"v1 h1"' <<<"$out" || fail "web-1 got nothing once web-2 was out: $out"
say "ok: 300 requests, none to web-2: $out"

say "route none on port 9002 to a service without instances"
echo '{"service": "none", "port": 9002}' | cli 1 route set - || fail "route set none"
answer_503() {
    ip netns exec "$(ns 3)" curl -s -D - -o /dev/null --max-time 5 http://127.0.0.1:9002/ |
        tr -d '\r' >"$TMP/h503"
    grep -q '^HTTP/1.1 503' "$TMP/h503" && grep -qi '^x-troupe-reason: no-endpoints$' "$TMP/h503"
}
wait_until 5 "h3 answers 503 with x-troupe-reason: no-endpoints on 9002" answer_503

say "tcp route web-tcp on port 9003"
echo '{"name": "web-tcp", "service": "web", "port": 9003, "protocol": "tcp"}' |
    cli 2 route set - || fail "route set web-tcp"
tcp_ok() { client 3 9003 5 | grep -q '"v[12] h[13]": 5'; }
wait_until 5 "h3's tcp listener on 9003 passes a keep-alive HTTP exchange" tcp_ok

say "route rm web on h2: h3 stops listening on 9001"
cli 2 route rm web || fail "troupe route rm web"
gone() { ! ip netns exec "$(ns 3)" curl -s --max-time 2 -o /dev/null http://127.0.0.1:9001/; }
wait_until 5 "nothing listens on h3's 9001" gone
