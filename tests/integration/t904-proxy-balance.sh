#!/bin/bash
# The balancer's options on 3 hosts (h1 and h2 in zone a, h3 in zone b),
# measured from outside:
#   - "balance": "round_robin" gives each of 3 instances its share of
#     3,000 requests within a few percent;
#   - "sticky": {"header": "x-user"} sends every request with the same
#     value to the same instance, through any node's listener, and
#     different values to all instances; "sticky": {"cookie": "session"}
#     the same by a cookie of the Cookie header;
#   - with equal loads, h1's proxy prefers the instance on h2 (its zone)
#     over the one on h3 (zone b), and /v1/proxy/endpoints says so.
# The figures are printed ("measured: ...").
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || { echo "needs python3"; exit 77; }
command -v jq >/dev/null || { echo "needs jq (scripts/deps)"; exit 77; }
command -v curl >/dev/null || { echo "needs curl"; exit 77; }
net_up 3
start 1 --tag zone=a
start 2 --join 10.77.0.1 --tag zone=a
start 3 --join 10.77.0.1 --tag zone=b
for i in 1 2 3; do wait_until 20 "h$i sees 3 alive" sees_count "$i" alive 3; done

backend() { # I PORT ANSWER [DELAY_MS]: a backend in hI's namespace
    ip netns exec "$(ns "$1")" python3 "$SRC/tests/integration/proxy_backend.py" "$2" "$3" \
        ${4:+"$4"} >>"$TMP/backend-h$1-$2.log" 2>&1 &
    PID[b$1$2]=$!
    say "backend on h$1:$2 answers \"$3\"${4:+ after $4 ms} (pid ${PID[b$1$2]})"
}
register() { # I SERVICE PORT: SERVICE-I on hI with a ttl check that passes
    api "$1" PUT /v1/agent/service/register -d "{\"name\": \"$2\", \"id\": \"$2-$1\",
        \"address\": \"10.77.0.$1\", \"port\": $3, \"version\": \"v1\",
        \"checks\": [{\"id\": \"$2-$1-ttl\", \"ttl\": \"600s\"}]}" >/dev/null ||
        fail "register $2-$1"
    api "$1" PUT "/v1/agent/check/$2-$1-ttl/pass" >/dev/null || fail "pass $2-$1"
}
load() { # I PORT [proxy_load.py options]: load through hI's listener; prints its JSON
    local i=$1
    shift
    ip netns exec "$(ns "$i")" python3 "$SRC/tests/integration/proxy_load.py" "$@"
}
route() { # I JSON: troupe route set on hI
    echo "$2" | cli "$1" route set - >/dev/null || fail "route set on h$1: $2"
}
answers() { # I PORT N HEADER: N requests on one keep-alive connection; the answers, counted
    local i=$1 port=$2 n=$3 h=$4 urls=()
    for _ in $(seq 1 "$n"); do urls+=("http://127.0.0.1:$port/"); done
    ip netns exec "$(ns "$i")" curl -sf -H "$h" "${urls[@]}" | sort | uniq -c |
        awk '{print $1 "x " $2 " " $3}' | paste -sd, -
}

for i in 1 2 3; do backend "$i" 8080 "web h$i"; done
for i in 1 2 3; do register "$i" web 8080; done
wait_until 10 "three web instances passing on h1" eval '[ "$(passing_count 1 web)" = 3 ]'

say "-- round_robin: 3000 requests through h1 over 3 instances"
route 1 '{"name": "web-rr", "service": "web", "port": 9011, "balance": "round_robin"}'
wait_until 10 "h1's listener on 9011 reaches all 3" \
    eval "load 1 9011 --n 30 | jq -e '.failed == 0 and (.answers | length == 3)'"
out=$(load 1 9011 --n 3000 --conns 4)
[ "$(jq .failed <<<"$out")" = 0 ] || fail "round robin: failed requests: $out"
say "measured: round_robin over 3000 requests: $(jq -c .answers <<<"$out")"
for i in 1 2 3; do
    c=$(jq --arg k "web h$i" '.answers[$k] // 0' <<<"$out")
    # a third each, within 3 points (round robin alone gives 1000 each; the
    # slack is for a request that failed over to another endpoint)
    [ "$c" -ge 910 ] && [ "$c" -le 1090 ] || fail "round robin: h$i got $c of 3000, want 1000 +- 90"
done
api 1 GET /v1/routes/web-rr | jq -e '.balance == "round_robin"' >/dev/null ||
    fail "GET /v1/routes/web-rr lacks balance: $(api 1 GET /v1/routes/web-rr)"

say "-- sticky by header: the same x-user, the same instance, through any node"
route 2 '{"name": "web-sticky", "service": "web", "port": 9012, "sticky": {"header": "x-user"}}'
for i in 1 2 3; do
    wait_until 10 "h$i's listener on 9012 answers" eval "load $i 9012 --n 1 | jq -e '.failed == 0'"
done
declare -A where
for u in $(seq 1 30); do
    a=$(answers 1 9012 20 "x-user: user-$u")
    case "$a" in
    "20x web "h[123]) ;;
    *) fail "x-user: user-$u through h1 went to more than one instance (or failed): $a" ;;
    esac
    where[$u]=${a#20x web }
done
spread=$(printf '%s\n' "${where[@]}" | sort | uniq -c | awk '{print $2 ": " $1}' | paste -sd, -)
say "measured: 30 users x 20 requests through h1, each user on one instance; users per instance: $spread"
[ "$(printf '%s\n' "${where[@]}" | sort -u | wc -l)" = 3 ] ||
    fail "30 users did not spread over the 3 instances: $spread"
for u in 1 2 3 4 5 6; do
    for i in 2 3; do
        a=$(answers "$i" 9012 5 "x-user: user-$u")
        [ "$a" = "5x web ${where[$u]}" ] ||
            fail "user-$u went to ${where[$u]} through h1 but to \"$a\" through h$i"
    done
done
say "ok: users 1-6 reach the same instance through h2 and h3 as through h1"
out=$(load 1 9012 --n 300 --conns 3)
[ "$(jq .failed <<<"$out")" = 0 ] && [ "$(jq '.answers | length' <<<"$out")" -ge 2 ] ||
    fail "requests without x-user were not balanced: $out"
say "ok: without x-user, balanced as usual: $(jq -c .answers <<<"$out")"

say "-- sticky by cookie: the session cookie of the Cookie header"
route 3 '{"name": "web-cookie", "service": "web", "port": 9013, "sticky": {"cookie": "session"}}'
wait_until 10 "h1's listener on 9013 answers" eval "load 1 9013 --n 1 | jq -e '.failed == 0'"
declare -A cw
for u in $(seq 1 30); do
    a=$(answers 1 9013 10 "Cookie: theme=dark; session=s-$u; lang=fr")
    case "$a" in
    "10x web "h[123]) ;;
    *) fail "session=s-$u went to more than one instance (or failed): $a" ;;
    esac
    cw[$u]=${a#10x web }
done
spread=$(printf '%s\n' "${cw[@]}" | sort | uniq -c | awk '{print $2 ": " $1}' | paste -sd, -)
say "measured: 30 sessions x 10 requests through h1, each on one instance; sessions per instance: $spread"
[ "$(printf '%s\n' "${cw[@]}" | sort -u | wc -l)" = 3 ] ||
    fail "30 sessions did not spread over the 3 instances: $spread"

say "-- zone: h1 (zone a) prefers h2 (zone a) over h3 (zone b) when loads are equal"
# Both answer after 250 ms: equal loads. With answers in a millisecond, a
# scheduling hiccup of a few ms on a busy machine is a real difference to
# the balancer (peak-EWMA takes a slow sample at once and forgets it over
# seconds), and the other zone rightly wins meanwhile; at 250 ms such
# noise (tens of ms at a load average of 10 on 2 CPUs) stays inside the
# 25% that counts as a tie, and a hiccup beyond it is forgotten sooner.
backend 2 8090 "zoned h2" 250
backend 3 8090 "zoned h3" 250
register 2 zoned 8090
register 3 zoned 8090
wait_until 10 "two zoned instances passing on h1" eval '[ "$(passing_count 1 zoned)" = 2 ]'
route 1 '{"service": "zoned", "port": 9014}'
wait_until 10 "h1's listener on 9014 answers" eval "load 1 9014 --n 1 | jq -e '.failed == 0'"
eps=$(api 1 GET /v1/proxy/endpoints/zoned | jq -c '[.endpoints[] | {node, local, same_zone}] | sort_by(.node)')
say "h1's /v1/proxy/endpoints/zoned: $eps"
[ "$eps" = '[{"node":"h2","local":false,"same_zone":true},{"node":"h3","local":false,"same_zone":false}]' ] ||
    fail "h1 does not see h2 in its zone and h3 outside it: $eps"
# Without the preference two equal endpoints get half each (40 +- 4.5 of
# 80). A sample of h2 slower than the tie margin sends requests to h3 for
# the seconds peak-EWMA takes to forget it: up to 3 rounds, one of them at
# 80% or more passes (a coin gets there about once in 10^8).
for round in 1 2 3; do
    out=$(load 1 9014 --n 80)
    [ "$(jq .failed <<<"$out")" = 0 ] || fail "zoned: failed requests: $out"
    near=$(jq '.answers["zoned h2"] // 0' <<<"$out")
    far=$(jq '.answers["zoned h3"] // 0' <<<"$out")
    say "measured: zone preference, one request at a time through h1, round $round: h2 (zone a) $near, h3 (zone b) $far of 80"
    say "h1's view: $(api 1 GET /v1/proxy/endpoints/zoned | jq -c '[.endpoints[] | {node, ewma_ms}]')"
    [ "$near" -ge 64 ] && break
done
[ "$near" -ge 64 ] || fail "h2, in h1's zone, got less than 80% of 80 in each of 3 rounds (last: $near)"
# printed, not asserted: with requests at once, outstanding ones make
# loads unequal, and then the lighter endpoint wins wherever it is
out=$(load 1 9014 --n 80 --conns 4)
say "measured: the same with 4 connections at once: $(jq -c .answers <<<"$out")"
[ "$(jq .failed <<<"$out")" = 0 ] || fail "zoned, 8 connections: failed requests: $out"
