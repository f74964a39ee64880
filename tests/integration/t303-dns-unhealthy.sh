#!/bin/bash
# An instance whose check fails on its own agent disappears from the DNS
# answers of the other agents within 1 s, and comes back when it passes;
# an agent that is killed takes its instances out of DNS once it is dead.
. "$(dirname "$0")/lib.sh"
command -v dig >/dev/null || { echo "needs dig (scripts/deps)"; exit 77; }
net_up 3
start 1
start 2 --join 10.77.0.1
start 3 --join 10.77.0.1
wait_until 10 "h1 sees h3 alive" is_status 1 h3 alive

api() { # I METHOD PATH [curl args]
    local i=$1 m=$2 p=$3
    shift 3
    ip netns exec "$(ns "$i")" curl -sf -X "$m" "127.0.0.1:7421$p" "$@"
}
addrs() { # I: web's addresses as hI's DNS answers them, sorted on one line
    ip netns exec "$(ns "$1")" dig -p 7453 @127.0.0.1 +time=2 +tries=1 +short web.service.troupe A |
        sort | tr '\n' ' '
}
for i in 1 2 3; do
    api "$i" PUT /v1/agent/service/register -d "{\"name\": \"web\", \"id\": \"web-$i\", \"port\": 80,
        \"checks\": [{\"id\": \"web-$i-ttl\", \"ttl\": \"60s\"}]}" >/dev/null || fail "register on h$i"
    api "$i" PUT "/v1/agent/check/web-$i-ttl/pass" >/dev/null || fail "pass on h$i"
done
all="10.77.0.1 10.77.0.2 10.77.0.3 "
both() { [ "$(addrs 1)" = "$1" ] && [ "$(addrs 3)" = "$1" ]; }
wait_until 5 "h1 and h3 answer web with the three instances" both "$all"

# within_ms LIMIT WANT: polls h1 and h3 until both answer WANT; prints the ms
within_ms() {
    local limit=$1 want=$2 t0=$3 ms
    while :; do
        ms=$(( ($(date +%s%N) - t0) / 1000000 ))
        both "$want" && { echo "$ms"; return 0; }
        [ "$ms" -gt "$limit" ] && { echo "$ms"; return 1; }
        sleep 0.02
    done
}

t0=$(date +%s%N)
api 2 PUT "/v1/agent/check/web-2-ttl/fail?note=down" >/dev/null || fail "fail on h2"
ms=$(within_ms 1000 "10.77.0.1 10.77.0.3 " "$t0") ||
    fail "web-2 still in h1's or h3's answers $ms ms after its check failed: h1 $(addrs 1), h3 $(addrs 3)"
say "ok: web-2 left the answers of h1 and h3 $ms ms after its check failed on h2"

t0=$(date +%s%N)
api 2 PUT "/v1/agent/check/web-2-ttl/pass" >/dev/null || fail "pass on h2"
ms=$(within_ms 1000 "$all" "$t0") || fail "web-2 not back within 1 s ($ms ms)"
say "ok: back in $ms ms once passing"

kill -9 "${PID[3]}"
say "killed h3"
h1_without_3() { [ "$(addrs 1)" = "10.77.0.1 10.77.0.2 " ]; }
wait_until 15 "web-3 gone from h1's answers once h3 is dead" h1_without_3
