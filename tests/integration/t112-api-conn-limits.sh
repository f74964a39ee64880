#!/bin/bash
# Limits of every listener. 2,000 idle connections held open to the HTTP
# API do not keep a normal request from being answered in under 100 ms
# (median of 15). Over --http-max-conns an idle connection makes room for
# a new one; with none idle, new ones are closed at once, counted in
# /metrics and logged once. A client that sends its headers, or its body,
# one byte a second gets a 408 and is closed after the header (body)
# timeout (4 s here: time enough for 150 connections on a loaded machine). DNS over TCP and gossip TCP refuse connections over their limit
# and count them.
. "$(dirname "$0")/lib.sh"
[ -x "$BIN" ] || fail "no troupe binary at $BIN"
command -v python3 >/dev/null || fail "needs python3"
ulimit -n 16384 2>/dev/null || ulimit -n "$(ulimit -Hn)"
say "ulimit -n $(ulimit -n)"
HERE=$(cd "$(dirname "$0")" && pwd)
G=$((20000 + $$ % 12000)) # below the ephemeral ports (32768-)
H=$((G + 1)) D=$((G + 2))
U=http://127.0.0.1:$H
HOLD=()

agent() { # flags...: (re)starts the agent "solo"
    if [ -n "${PID[1]:-}" ]; then
        kill -TERM "${PID[1]}"
        wait "${PID[1]}" 2>/dev/null
    fi
    "$BIN" agent --node solo --bind 127.0.0.1:$G --http 127.0.0.1:$H --dns 127.0.0.1:$D \
        --data-dir "$TMP/solo" "$@" >>"$TMP/solo.log" 2>&1 &
    PID[1]=$!
    say "started solo (pid ${PID[1]}) gossip $G, http $H, dns $D: $*"
    wait_until 10 "solo answers" curl -sf "$U/v1/self"
}
hold() { # NAME PORT N MODE: a holder of N connections in the background
    python3 "$HERE/hold_conns.py" 127.0.0.1 "$2" "$3" "$4" "$TMP/$1.status" &
    HOLD+=($!)
    PID[hold-$1]=$!
}
unhold() { kill "${PID[hold-$1]}"; wait "${PID[hold-$1]}" 2>/dev/null; unset "PID[hold-$1]"; }
held() { [ -f "$TMP/$1.status" ] && read -r o c <"$TMP/$1.status" && [ "$o" = "$2" ] && [ "$c" = "$3" ]; }
metric() { curl -sf --max-time 2 "$U/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
metric_is() { [ "$(metric "$1")" = "$2" ]; }
metric_ge() { local v; v=$(metric "$1") && [ -n "$v" ] && [ "$v" -ge "$2" ]; }

say "--- 2,000 idle connections, the default limits"
agent
hold idle $H 2000 idle
wait_until 20 "2,000 idle connections are open" held idle 2000 0
wait_until 10 "the agent counts them" metric_ge troupe_api_connections_open 2001
times=()
for i in $(seq 1 15); do
    times+=("$(curl -sf -o /dev/null -w '%{time_total}' "$U/v1/self")") || fail "request $i failed"
done
median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 8p)
say "GET /v1/self with 2,000 idle connections open: ${times[*]} s; median $median s"
awk -v m="$median" 'BEGIN { exit !(m < 0.100) }' || fail "median $median s is not under 100 ms"
held idle 2000 0 || fail "idle connections were closed: $(cat "$TMP/idle.status")"
unhold idle
wait_until 10 "the idle connections are gone" metric_is troupe_api_connections_open 1

say "--- small limits: --http-max-conns 100, DNS and gossip TCP 20, timeouts 4 s"
agent --http-max-conns 100 --dns-tcp-max-conns 20 --gossip-tcp-max-conns 20 \
    --http-header-timeout-ms 4000 --http-body-timeout-ms 4000
hold idle $H 150 idle
wait_until 10 "idle connections over the limit make room for newer ones" held idle 100 50
curl -sf -o /dev/null "$U/v1/self" || fail "a request was kept out by idle connections"
wait_until 5 "evictions are counted" metric_ge troupe_api_connections_evicted_total 51
metric_is troupe_api_connections_refused_total 0 || fail "refused while idle ones could make room"
unhold idle
wait_until 10 "the idle connections are gone" metric_is troupe_api_connections_open 1
# 150 clients that never finish their headers. 99 come first, and a normal
# request answered after them shows the agent has read their first bytes
# (they are past idle, so none can be evicted); then 51 more: one takes the
# last place, 50 are closed at once: refused, or made room for by a newer
# one while still idle (accepted, first bytes not read yet).
evicted=$(metric troupe_api_connections_evicted_total)
refused=$(metric troupe_api_connections_refused_total)
hold head $H 99 head
wait_until 10 "99 half-sent requests are open" held head 99 0
curl -sf -o /dev/null "$U/v1/self" || fail "a request was kept out by 99 half-sent ones"
hold head2 $H 51 head
wait_until 10 "50 of 51 more half-sent requests are closed at once" held head2 1 50
held head 99 0 || fail "a half-sent request was taken for an idle one and evicted"
closed_at_once() {
    local r e
    r=$(metric troupe_api_connections_refused_total) && e=$(metric troupe_api_connections_evicted_total) &&
        [ $((r - refused + e - evicted)) = 50 ]
}
wait_until 10 "then the 100 time out on their headers" held head 0 99
wait_until 10 "the last one too" held head2 0 51
# (counted once places are free again: /metrics needs one too)
wait_until 5 "those closed at once are counted" closed_at_once
say "closed at once: $(( $(metric troupe_api_connections_refused_total) - refused )) refused, $(( $(metric troupe_api_connections_evicted_total) - evicted )) idle ones evicted"
wait_until 5 "header timeouts are counted" metric_ge 'troupe_api_timeouts_total{phase="header"}' 100
unhold head
unhold head2

# No connection is idle when all 100 places hold blocking queries waiting
# for a change: then every newer connection is refused, counted and logged
# once, however fast they come. A query is parked as soon as the agent has
# read it, which ss shows as an empty receive queue on the agent's side;
# they answer when their 15 s wait ends (a client gone is seen then).
index=$(curl -sf -D - -o /dev/null "$U/v1/catalog/services" | tr -d '\r' |
    awk -F': ' 'tolower($1) == "x-troupe-index" {print $2}')
[ -n "$index" ] || fail "no X-Troupe-Index on /v1/catalog/services"
refused=$(metric troupe_api_connections_refused_total)
WAITERS=()
for i in $(seq 1 100); do
    curl -s -o /dev/null --max-time 60 "$U/v1/catalog/services?index=$index&wait=15s" &
    WAITERS+=($!)
done
all_read() {
    [ "$(ss -Htn state established "( sport = :$H )" | awk '$1 == 0' | wc -l)" = 100 ]
}
wait_until 20 "100 blocking queries are read and parked" all_read
hold busy $H 20 idle
wait_until 10 "20 connections over the limit are refused" held busy 0 20
unhold busy
kill "${WAITERS[@]}" 2>/dev/null
wait "${WAITERS[@]}" 2>/dev/null
wait_until 25 "the blocking queries are answered when their wait ends" metric_is troupe_catalog_blocking_queries 0
wait_until 5 "the refusals are counted" metric_ge troupe_api_connections_refused_total $((refused + 20))
n=$(grep -c 'HTTP API: a connection refused' "$TMP/solo.log")
[ "$n" = 1 ] || fail "$n log lines for $(metric troupe_api_connections_refused_total) refusals, not 1"
say "logged once: $(grep -o 'HTTP API: a connection refused.*' "$TMP/solo.log")"

say "--- slow clients"
out=$(python3 "$HERE/trickle.py" 127.0.0.1 $H 1 "" $'GET /v1/self HTTP/1.1\r\nHost: x\r\nX-Slow: 1234567890\r\n\r\n')
say "headers one byte a second: closed after $out"
read -r secs line <<<"$out"
[ "$line" = "HTTP/1.1 408 Request Timeout" ] || fail "slow headers answered: $line"
awk -v s="$secs" 'BEGIN { exit !(s >= 3.5 && s < 7) }' || fail "closed after $secs s, not 4"
out=$(python3 "$HERE/trickle.py" 127.0.0.1 $H 1 'PUT /v1/kv/slow HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\n\r\n' \
    "0123456789012345678901234567890123456789")
say "a body one byte a second: closed after $out"
read -r secs line <<<"$out"
[ "$line" = "HTTP/1.1 408 Request Timeout" ] || fail "slow body answered: $line"
awk -v s="$secs" 'BEGIN { exit !(s >= 3.5 && s < 7) }' || fail "closed after $secs s, not 4"
wait_until 5 "the body timeout is counted" metric_ge 'troupe_api_timeouts_total{phase="body"}' 1
[ "$(curl -s "$U/v1/kv/slow" -o /dev/null -w '%{http_code}')" = 404 ] || fail "the slow body was written"

say "--- DNS over TCP and gossip TCP"
hold dns $D 30 bytes
wait_until 10 "DNS over TCP: 10 of 30 connections refused" held dns 20 10
wait_until 5 "DNS refusals are counted" metric_is troupe_dns_tcp_conns_refused_total 10
[ "$(grep -c 'DNS over TCP: a connection refused' "$TMP/solo.log")" = 1 ] || fail "DNS refusals not logged once"
wait_until 15 "a DNS connection that completes no message is closed" held dns 0 30
wait_until 5 "DNS timeouts are counted" metric_ge troupe_dns_tcp_timeouts_total 20
unhold dns
hold gossip $G 30 bytes
wait_until 10 "gossip TCP: 10 of 30 connections refused" held gossip 20 10
wait_until 5 "gossip refusals are counted" metric_is troupe_net_tcp_streams_refused_total 10
[ "$(grep -c 'gossip TCP: a connection refused' "$TMP/solo.log")" = 1 ] || fail "gossip refusals not logged once"
unhold gossip
curl -sf -o /dev/null "$U/v1/self" || fail "the agent does not answer at the end"
true
