#!/bin/bash
# proxy_isolation: does a proxy under full load delay the rest of its
# agent? Item 9 of issue 12: under full proxy load the agent keeps
# answering probes on time (no suspicion of this node) and its DNS p99
# stays under 1 ms.
#
# Three agents a, b, c as three hosts in network namespaces on a bridge
# (10.78.0.1-3, profile PROFILE), an nginx backend (1 KiB bodies) on a's
# host registered as service "web" on a, and a route "web" (http) on
# RPORT. Each round has two phases of DNS_S seconds each:
#   - idle: dnsperf asks a's DNS server for web.service.troupe at RATE
#     queries per second, every query's latency kept;
#   - load: the same while wrk (as many threads as the machine has CPUs,
#     CONNS keep-alive connections) saturates a's proxy; wrk starts WARM_S
#     before dnsperf and ends after it.
# Nothing is pinned: the agent, the backend, wrk and dnsperf share every
# CPU, as they would on a busy node (dnsperf's own scheduling delays are in
# the figures too, so they are an upper bound of the server's).
# Suspicions: b's and c's logs say "a is suspect" whenever they suspect a;
# counted during each phase and WATCH_S after it (a late probe is
# suspected within a probe interval or two); a's refutations
# (troupe_membership_refutations_total) and b's and c's late acks
# (troupe_membership_acks_late_total) are printed beside them.
# Prints both phases (latencies pooled over the rounds: p50, p99, max, and
# the median of the rounds' p99), the ratio load/idle, the proxy's req/s
# and the agent's CPU under load, and the floors (DNS p99 under load below
# 1 ms; no suspicion of a) as met or MISSED; exits 1 when one is missed.
#
# usage: bench/proxy_isolation.sh   (environment: TROUPE_BIN, PROFILE=fast,
#        ROUNDS=3, DNS_S=5, RATE=1000, CONNS=64, WARM_S=1, WATCH_S=3,
#        PROXY_WORKERS: passed as --proxy-workers when set and the agent
#        has that option)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PROFILE=${PROFILE:-fast}
ROUNDS=${ROUNDS:-3}
DNS_S=${DNS_S:-5}
RATE=${RATE:-1000}
CONNS=${CONNS:-64}
WARM_S=${WARM_S:-1}
WATCH_S=${WATCH_S:-3}
PROXY_WORKERS=${PROXY_WORKERS:-}
BACKEND=18080 RPORT=19001
for t in wrk nginx dnsperf curl jq; do
    command -v "$t" >/dev/null || { echo "proxy_isolation: needs $t (scripts/deps)"; exit 77; }
done
[ "$(id -u)" -eq 0 ] || { echo "proxy_isolation: needs root (network namespaces)"; exit 77; }
[ -x "$BIN" ] || { echo "proxy_isolation: no troupe binary at $BIN"; exit 2; }
TMP=$(mktemp -d /tmp/troupe-bench.XXXXXX)
ID=troupe-bench-iso-$$
NS_LIST=()
declare -A PID
cleanup() {
    local rc=$? p ns
    for p in "${PID[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    for ns in "${NS_LIST[@]}"; do ip netns del "$ns" 2>/dev/null; done
    rm -rf "$TMP"
    exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM
die() {
    echo "proxy_isolation: $*" >&2
    tail -n 5 "$TMP"/*.log 2>/dev/null >&2
    exit 2
}

# ---- three hosts on a bridge ----
ns() { echo "$ID-$1"; }
ip netns add "$(ns br)" || die "cannot make a network namespace"
NS_LIST+=("$(ns br)")
ip -n "$(ns br)" link add br0 type bridge
ip -n "$(ns br)" link set br0 up
HOSTS=(a b c)
for i in 1 2 3; do
    h=${HOSTS[i - 1]}
    ip netns add "$(ns "$h")" || die "cannot make a network namespace"
    NS_LIST+=("$(ns "$h")")
    ip link add eth0 netns "$(ns "$h")" type veth peer name "p$i" netns "$(ns br)"
    ip -n "$(ns "$h")" addr add "10.78.0.$i/24" dev eth0
    ip -n "$(ns "$h")" link set eth0 up
    ip -n "$(ns "$h")" link set lo up
    ip -n "$(ns br)" link set "p$i" master br0 up
done
in_h() { # HOST COMMAND...
    local h=$1
    shift
    ip netns exec "$(ns "$h")" "$@"
}

# ---- the agents, the backend, the route ----
TOKEN=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
export TROUPE_INITIAL_MANAGEMENT_TOKEN=$TOKEN TROUPE_TOKEN=$TOKEN
WORKERS=()
if [ -n "$PROXY_WORKERS" ]; then
    "$BIN" agent --help 2>&1 | grep -q -- '--proxy-workers' ||
        die "PROXY_WORKERS is set but this troupe has no --proxy-workers"
    WORKERS=(--proxy-workers "$PROXY_WORKERS")
fi
start() { # I [FLAGS...]
    local i=$1 h=${HOSTS[$1 - 1]}
    shift
    # ip netns exec itself, not in_h: $! is then the agent's pid
    ip netns exec "$(ns "$h")" "$BIN" agent --node "$h" --bind "10.78.0.$i:7420" --data-dir "$TMP/$h" \
        --profile "$PROFILE" --log-level info "$@" >"$TMP/$h.log" 2>&1 &
    PID[$h]=$!
}
api() { # HOST PATH: GET the path of HOST's API
    in_h "$1" curl -sf --max-time 2 -H "X-Troupe-Token: $TOKEN" "http://127.0.0.1:7421$2"
}
# wait_for SECONDS WHAT COMMAND...: polls every 100 ms until COMMAND is true
wait_for() {
    local limit=$1 what=$2 end
    shift 2
    end=$(($(date +%s) + limit))
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -lt $end ] || die "after ${limit}s: $what"
        sleep 0.1
    done
}
start 1 "${WORKERS[@]}"
wait_for 10 "a answers its API" api a /v1/self
start 2 --join 10.78.0.1:7420
start 3 --join 10.78.0.1:7420
alive3() { [ "$(api "$1" /v1/members | jq '[.[] | select(.status == "alive")] | length')" = 3 ]; }
for h in a b c; do wait_for 20 "$h sees 3 members alive" alive3 "$h"; done

nginx_backend "$TMP/nginx.conf" "$TMP" "$BACKEND"
ip netns exec "$(ns a)" nginx -p "$TMP" -c "$TMP/nginx.conf" >"$TMP/nginx.log" 2>&1 &
PID[nginx]=$!
in_h a curl -sf -X PUT -H "X-Troupe-Token: $TOKEN" http://127.0.0.1:7421/v1/agent/service/register -d \
    "{\"name\": \"web\", \"id\": \"web-1\", \"address\": \"127.0.0.1\", \"port\": $BACKEND}" \
    >/dev/null || die "cannot register the backend"
echo "{\"service\": \"web\", \"port\": $RPORT}" | in_h a "$BIN" route set - >/dev/null ||
    die "cannot set the route"
wait_for 10 "a's proxy answers" in_h a curl -sf -o /dev/null --max-time 1 "http://127.0.0.1:$RPORT/"
dns_ok() { in_h a dig +short +tries=1 +time=1 -p 7453 @127.0.0.1 web.service.troupe A | grep -q 127.0.0.1; }
wait_for 10 "a's DNS answers web.service.troupe" dns_ok
echo "web.service.troupe A" >"$TMP/queries"
say "proxy_isolation: agents a b c (profile $PROFILE${WORKERS:+, ${WORKERS[*]}}), route web on a:$RPORT to nginx;" \
    "$ROUNDS rounds of ${DNS_S}s idle and ${DNS_S}s under wrk -t$(nproc) -c$CONNS, DNS at $RATE/s"

# ---- measuring ----
metric() { # HOST NAME: the value of an unlabelled metric
    api "$1" /metrics | awk -v n="$2" '$1 == n {print $2; f = 1} END {if (!f) print 0}'
}
suspicions() { cat "$TMP/b.log" "$TMP/c.log" | grep -c "\] a is suspect" || true; }
late_acks() { echo $(($(metric b troupe_membership_acks_late_total) + $(metric c troupe_membership_acks_late_total))); }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# dns PHASE ROUND: dnsperf for DNS_S at RATE; latencies (us) to $TMP/lat.PHASE
# and $TMP/lat.PHASE.ROUND, lost queries added to $TMP/lost.PHASE
dns() {
    in_h a dnsperf -s 127.0.0.1 -p 7453 -d "$TMP/queries" -l "$DNS_S" -Q "$RATE" -v \
        >"$TMP/dnsperf.out" 2>&1 || die "dnsperf failed: $(tail -n 5 "$TMP/dnsperf.out")"
    awk '/^> NOERROR/ {printf "%d\n", $5 * 1000000}' "$TMP/dnsperf.out" | tee -a "$TMP/lat.$1" >"$TMP/lat.$1.$2"
    awk '/Queries lost:/ {print $3}' "$TMP/dnsperf.out" >>"$TMP/lost.$1"
}
# pct FILE P: the P-th percentile of the numbers in FILE (nearest rank)
pct() {
    sort -n "$1" | awk -v p="$2" '{v[NR] = $1} END {i = int(NR * p / 100 + 0.999999); if (i < 1) i = 1; print NR ? v[i] : 0}'
}
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

# phase NAME ROUND: one phase; appends "suspicions late_acks refutations" to
# $TMP/susp.NAME, and under load "rps cpu%" to $TMP/load
phase() {
    local s0 l0 f0 t0 c0 t1 c1 wpid end
    s0=$(suspicions) l0=$(late_acks) f0=$(metric a troupe_membership_refutations_total)
    if [ "$1" = load ]; then
        t0=$(date +%s%N) c0=$(cpu_ticks "${PID[a]}")
        in_h a wrk -t"$(nproc)" -c"$CONNS" -d"$((DNS_S + 2 * WARM_S))s" "http://127.0.0.1:$RPORT/" \
            >"$TMP/wrk.out" 2>&1 &
        wpid=$!
        sleep "$WARM_S" # wrk's ramp up: dnsperf starts under full load
    fi
    dns "$1" "$2"
    if [ "$1" = load ]; then
        wait "$wpid"
        c1=$(cpu_ticks "${PID[a]}") t1=$(date +%s%N)
        awk -v c=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" -v ns=$((t1 - t0)) \
            '/^Requests\/sec:/ {printf "%.0f %.0f\n", $2, 100 * c / hz / (ns / 1e9)}' "$TMP/wrk.out" >>"$TMP/load"
        grep -E 'Non-2xx|Socket errors' "$TMP/wrk.out" | sed 's/^/  wrk: /'
    fi
    # a suspicion of a late probe is raised within a probe interval or two
    end=$(($(date +%s) + WATCH_S))
    while [ "$(date +%s)" -lt $end ]; do sleep 0.2; done
    echo "$(($(suspicions) - s0)) $(($(late_acks) - l0)) $(($(metric a troupe_membership_refutations_total) - f0))" \
        >>"$TMP/susp.$1"
    local extra=""
    [ "$1" = load ] && extra="; proxy req/s, agent CPU %: $(tail -n 1 "$TMP/load")"
    say "  round $2 $1: DNS p50 $(pct "$TMP/lat.$1.$2" 50) us, p99 $(pct "$TMP/lat.$1.$2" 99) us," \
        "max $(pct "$TMP/lat.$1.$2" 100) us; suspicions of a, late acks, refutations: $(tail -n 1 "$TMP/susp.$1")$extra"
}
for r in $(seq 1 "$ROUNDS"); do
    phase idle "$r"
    phase load "$r"
done

# ---- the figures ----
sum() { awk -v k="$2" '{s += $k} END {print s + 0}' "$1"; }
echo
echo "proxy_isolation: $ROUNDS rounds; DNS latency pooled over the rounds (us), the median of the rounds' p99 beside it"
printf "%-6s %8s %6s %8s %8s %10s %8s %12s %10s %12s %10s %14s\n" phase queries lost "p50" "p99" "p99 (med)" max \
    "suspicions" "late acks" "refutations" "proxy rps" "agent CPU %"
for p in idle load; do
    p99s=$(for r in $(seq 1 "$ROUNDS"); do pct "$TMP/lat.$p.$r" 99; done | median)
    rps=- cpu=-
    [ $p = load ] && rps=$(cut -d' ' -f1 "$TMP/load" | median) cpu=$(cut -d' ' -f2 "$TMP/load" | median)
    printf "%-6s %8s %6s %8s %8s %10s %8s %12s %10s %12s %10s %14s\n" $p "$(wc -l <"$TMP/lat.$p")" \
        "$(sum "$TMP/lost.$p" 1)" "$(pct "$TMP/lat.$p" 50)" "$(pct "$TMP/lat.$p" 99)" "$p99s" "$(pct "$TMP/lat.$p" 100)" \
        "$(sum "$TMP/susp.$p" 1)" "$(sum "$TMP/susp.$p" 2)" "$(sum "$TMP/susp.$p" 3)" "$rps" "$cpu"
done
div() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "n/a"}'; }
echo "load/idle: DNS p50 $(div "$(pct "$TMP/lat.load" 50)" "$(pct "$TMP/lat.idle" 50)")," \
    "p99 $(div "$(pct "$TMP/lat.load" 99)" "$(pct "$TMP/lat.idle" 99)")"
ok=1
p99=$(pct "$TMP/lat.load" 99) lost=$(sum "$TMP/lost.load" 1) susp=$(sum "$TMP/susp.load" 1)
if [ "$p99" -lt 1000 ] && [ "$lost" -eq 0 ]; then f=met; else f=MISSED ok=0; fi
echo "floor DNS p99 under proxy load < 1000 us (no query lost): $f ($p99 us, $lost lost)"
if [ "$susp" -eq 0 ]; then f=met; else f=MISSED ok=0; fi
echo "floor no suspicion of a under proxy load: $f ($susp)"
[ $ok -eq 1 ]
