#!/bin/bash
# The proxy on 3 hosts with instances on every host, measured from outside:
#   - every node's listener reaches instances on the other hosts;
#   - a 90/10 split over 10,000 requests lands within 2 points;
#   - a header match always goes to its version;
#   - a route changed on h1 is in force on h3 within 2 s, and that change,
#     a blue/green switch (v1 100/0 -> 0/100) under load, fails no request;
#   - kill -9 of an instance under steady load fails no (idempotent GET)
#     request; its endpoint is ejected and, once it is back, restored, both
#     events of the history and visible in GET /v1/proxy/endpoints/NAME;
#   - an instance that answers 100 ms late gets a smaller share than its
#     fast peers;
#   - troupe routes and /metrics show it.
# The figures are printed ("measured: ...").
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || { echo "needs python3"; exit 77; }
command -v jq >/dev/null || { echo "needs jq (scripts/deps)"; exit 77; }
net_up 3
cluster 3

backend() { # I PORT ANSWER [DELAY_MS]: a backend in hI's namespace
    ip netns exec "$(ns "$1")" python3 "$SRC/tests/integration/proxy_backend.py" "$2" "$3" \
        ${4:+"$4"} >>"$TMP/backend-h$1-$2.log" 2>&1 &
    PID[b$1$2]=$!
    say "backend on h$1:$2 answers \"$3\"${4:+ after $4 ms} (pid ${PID[b$1$2]})"
}
register() { # I SERVICE PORT VERSION: SERVICE-I on hI with a ttl check that passes
    api "$1" PUT /v1/agent/service/register -d "{\"name\": \"$2\", \"id\": \"$2-$1\",
        \"address\": \"10.77.0.$1\", \"port\": $3, \"version\": \"$4\",
        \"checks\": [{\"id\": \"$2-$1-ttl\", \"ttl\": \"600s\"}]}" >/dev/null ||
        fail "register $2-$1"
    api "$1" PUT "/v1/agent/check/$2-$1-ttl/pass" >/dev/null || fail "pass $2-$1"
}
load() { # I PORT [proxy_load.py options]: load through hI's listener; prints its JSON
    local i=$1
    shift
    ip netns exec "$(ns "$i")" python3 "$SRC/tests/integration/proxy_load.py" "$@"
}
bg_load() { # OUT I PORT [options]: load in the background (PID[load] is the client itself)
    local out=$1 i=$2
    shift 2
    ip netns exec "$(ns "$i")" python3 "$SRC/tests/integration/proxy_load.py" "$@" >"$out" &
    PID[load]=$!
}
route() { # I JSON: troupe route set on hI
    echo "$2" | cli "$1" route set - >/dev/null || fail "route set on h$1: $2"
}
progress() { jq "${2:-.requests}" "$1" 2>/dev/null || echo 0; }

backend 1 8080 "v1 h1"
backend 2 8080 "v1 h2"
backend 3 8080 "v2 h3"
register 1 web 8080 v1
register 2 web 8080 v1
register 3 web 8080 v2
wait_until 10 "three web instances passing on h3" eval '[ "$(passing_count 3 web)" = 3 ]'
WEB='{"service": "web", "port": 9001, "split": {"v1": 90, "v2": 10},
 "match": [{"header": "x-canary", "value": "1", "version": "v2"}],
 "timeouts": {"connect_ms": 500, "request_ms": 5000},
 "outlier": {"consecutive_failures": 3, "base_ejection_ms": 2000, "max_ejection_ms": 4000}}'
route 1 "$WEB"
for i in 1 2 3; do
    wait_until 10 "h$i's listener on 9001 answers" eval "load $i 9001 --n 1 | jq -e '.answers | length == 1'"
done

say "-- every node's listener reaches the instances on the other hosts"
# reachability, not a spread: the balancer goes by latency, and an
# instance whose first answer was slow may wait seconds for its next
# request; rounds of 300 requests until each other host has answered
for i in 1 2 3; do
    seen=""
    for round in $(seq 1 20); do
        out=$(load "$i" 9001 --n 300 --conns 2)
        [ "$(jq .failed <<<"$out")" = 0 ] || fail "through h$i: failed requests: $out"
        seen="$seen $(jq -r '.answers | keys[]' <<<"$out" | awk '{print $2}' | tr '\n' ' ')"
        all=1
        for j in 1 2 3; do
            [ "$j" = "$i" ] && continue
            grep -qw "h$j" <<<"$seen" || all=0
        done
        [ $all = 1 ] && break
    done
    [ $all = 1 ] || fail "through h$i, 6000 requests did not reach both other hosts (seen:$seen)"
    say "ok: through h$i, both other hosts answered ($round rounds of 300; last: $(jq -c .answers <<<"$out"))"
done

say "-- a 90/10 split over 10,000 requests through h2"
out=$(load 2 9001 --n 10000 --conns 4)
v1=$(jq '(.answers["v1 h1"] // 0) + (.answers["v1 h2"] // 0)' <<<"$out")
v2=$(jq '.answers["v2 h3"] // 0' <<<"$out")
[ "$(jq .failed <<<"$out")" = 0 ] && [ $((v1 + v2)) -eq 10000 ] ||
    fail "not every request was answered by an instance: $out"
say "measured: split 90/10 over 10000 requests: v1 $v1, v2 $v2 ($(awk -v a="$v2" 'BEGIN {printf "%.2f", a / 100}')% to v2) in $(jq .seconds <<<"$out") s"
[ "$v2" -ge 800 ] && [ "$v2" -le 1200 ] || fail "v2 got $v2 of 10000, want 1000 +- 200 (2 points)"

out=$(load 3 9001 --n 300 --header x-canary:1)
[ "$(jq -c .answers <<<"$out")" = '{"v2 h3":300}' ] || fail "x-canary: 1 did not always go to v2: $out"
say "ok: the header match sent 300 of 300 requests to v2"

say "-- blue/green: v1 100, v2 0 -> v1 0, v2 100 set on h1, under load on h3"
route 1 "$(jq -c '.split = {"v1": 100, "v2": 0}' <<<"$WEB")"
only() { # I VERSION: 20 requests through hI all go to VERSION
    load "$1" 9001 --n 20 | jq -e --arg v "$2" \
        '.failed == 0 and ([.answers | keys[] | select(startswith($v) | not)] | length == 0)'
}
wait_until 5 "h3 sends everything to v1" only 3 v1
bg_load "$TMP/bg.out" 3 9001 --until "$TMP/stop-bg" --conns 4 --progress "$TMP/bg.json"
wait_until 20 "the load on h3 is running" eval '[ "$(progress "$TMP/bg.json")" -ge 500 ]'
t0=$(date +%s%N)
route 1 "$(jq -c '.split = {"v1": 0, "v2": 100}' <<<"$WEB")"
wait_until 2 "the switch set on h1 is in force on h3 (within 2 s)" only 3 v2
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
say "measured: a route changed on h1 was in force on h3 after $ms ms"
n=$(progress "$TMP/bg.json")
wait_until 20 "500 more requests under load after the switch" \
    eval '[ "$(progress "$TMP/bg.json")" -ge $((n + 500)) ]'
touch "$TMP/stop-bg"
wait "${PID[load]}"
unset 'PID[load]'
out=$(cat "$TMP/bg.out")
say "measured: blue/green under load: $(jq -c '{requests, failed, answers, failures}' <<<"$out")"
[ "$(jq .failed <<<"$out")" = 0 ] || fail "the blue/green switch failed requests: $out"
# after the switch was seen on h3, v1 got nothing more (the load's last v1
# answer came before its last v2 one, and v2 had the tail)
jq -e '(.last["v2 h3"] // -1) > ([.last["v1 h1"] // -1, .last["v1 h2"] // -1] | max)' \
    <<<"$out" >/dev/null || fail "v1 still answered after v2 took over: $out"

say "-- kill -9 of web-1's process under steady load on h3"
route 1 "$(jq -c '.split = {"v1": 50, "v2": 50}' <<<"$WEB")"
wait_until 20 "h3 splits v1/v2 again, web-1 on h1 among them" eval "load 3 9001 --n 200 | jq -e '.answers[\"v1 h1\"] > 0 and .answers[\"v2 h3\"] > 0'"
rm -f "$TMP/stop-k" "$TMP/k.json"
bg_load "$TMP/k.out" 3 9001 --until "$TMP/stop-k" --conns 4 --progress "$TMP/k.json"
wait_until 20 "the load on h3 is running" eval '[ "$(progress "$TMP/k.json")" -ge 500 ]'
kill -9 "${PID[b18080]}"
say "killed web-1's backend (pid ${PID[b18080]}) with SIGKILL"
unset 'PID[b18080]'
ejected() { api 3 GET "/v1/events?kind=proxy" | grep -q 'endpoint h1/web-1 ejected'; }
wait_until 10 "h3's history has web-1's endpoint ejected" ejected
state() { api 3 GET /v1/proxy/endpoints/web | jq -r '.endpoints[] | select(.id == "web-1") | .state'; }
say "h3's /v1/proxy/endpoints/web: $(api 3 GET /v1/proxy/endpoints/web | jq -c '[.endpoints[] | {id, state, ejections, ewma_ms}]')"
n=$(progress "$TMP/k.json" '.answers["v1 h2"] // 0')
wait_until 20 "web-2 goes on answering under load" \
    eval '[ "$(progress "$TMP/k.json" ".answers[\"v1 h2\"] // 0")" -ge $((n + 200)) ]'
backend 1 8080 "v1 h1"
restored() { api 3 GET "/v1/events?kind=proxy" | grep -q 'endpoint h1/web-1 restored'; }
wait_until 20 "h3's history has web-1's endpoint restored" restored
n=$(progress "$TMP/k.json" '.answers["v1 h1"] // 0')
wait_until 20 "web-1 answers again under load" \
    eval '[ "$(progress "$TMP/k.json" ".answers[\"v1 h1\"] // 0")" -ge $((n + 100)) ]'
[ "$(state)" = healthy ] || fail "web-1's endpoint is $(state) after it was restored"
touch "$TMP/stop-k"
wait "${PID[load]}"
unset 'PID[load]'
out=$(cat "$TMP/k.out")
say "measured: kill -9 under load: $(jq -c '{requests, failed, failures}' <<<"$out") (failed requests: $(jq .failed <<<"$out"))"
api 3 GET "/v1/events?kind=proxy" | jq -r '.[] | .text // .message // tostring' | head -5 |
    while read -r l; do say "  event: $l"; done
[ "$(jq .failed <<<"$out")" = 0 ] || fail "requests failed while web-1 was killed: $out"

say "-- an instance 100 ms slower than its peers"
backend 1 8090 "slow-1 fast"
backend 2 8090 "slow-2 late" 100
backend 3 8090 "slow-3 fast"
for i in 1 2 3; do register "$i" slow 8090 v1; done
wait_until 10 "three slow instances passing on h1" eval '[ "$(passing_count 1 slow)" = 3 ]'
route 3 '{"service": "slow", "port": 9005}'
wait_until 10 "h1's listener on 9005 answers" eval "load 1 9005 --n 1 | jq -e '.failed == 0'"
out=$(load 1 9005 --n 3000 --conns 4)
[ "$(jq .failed <<<"$out")" = 0 ] || fail "requests to slow failed: $out"
late=$(jq '.answers["slow-2 late"] // 0' <<<"$out")
f1=$(jq '.answers["slow-1 fast"] // 0' <<<"$out")
f3=$(jq '.answers["slow-3 fast"] // 0' <<<"$out")
say "measured: slow instance share: late $late, fast $f1 and $f3 of 3000 ($(awk -v a="$late" 'BEGIN {printf "%.1f", a / 30}')% for the slow one)"
[ "$late" -lt "$f1" ] && [ "$late" -lt "$f3" ] || fail "the slow instance did not get less: $out"

say "-- seen from outside"
cli 3 routes | tee "$TMP/routes.txt"
grep -q '^web .* 9001 .*http .*3/3 ' "$TMP/routes.txt" || fail "troupe routes has no healthy web line"
grep -q '^slow .* 9005 ' "$TMP/routes.txt" || fail "troupe routes has no slow line"
ip netns exec "$(ns 3)" curl -sf http://127.0.0.1:7421/metrics >"$TMP/metrics" || fail "/metrics"
for m in 'troupe_proxy_requests_total{route="web",version="v1",code_class="2xx"}' \
    'troupe_proxy_requests_total{route="web",version="v2",code_class="2xx"}' \
    'troupe_proxy_request_duration_seconds_count{route="web"}' \
    'troupe_proxy_upstream_connections{state="idle"}' 'troupe_proxy_ejections_total{route="web"}' \
    'troupe_proxy_retries_total{route="web"}' 'troupe_proxy_retry_budget_exhausted_total{route="web"}' \
    'troupe_proxy_overloaded_total{route="web"}'; do
    grep -qF "$m " "$TMP/metrics" || fail "/metrics on h3 lacks $m"
done
ej=$(grep -F 'troupe_proxy_ejections_total{route="web"}' "$TMP/metrics" | awk '{print $2}')
[ "$ej" -ge 1 ] || fail "troupe_proxy_ejections_total{route=\"web\"} is $ej after an ejection"
say "ok: /metrics: $(grep -c '^troupe_proxy_' "$TMP/metrics") troupe_proxy_ lines, $ej ejections of web"
