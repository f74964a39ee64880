#!/bin/bash
# dns: troupe's DNS server against dnsmasq serving the same answer, in the
# same run. One troupe agent on loopback has service "web" with N_ADDRS
# instances (10.1.0.1..N, registered through the HTTP API); dnsmasq serves
# the same N_ADDRS addresses for web.service.troupe from a hosts file. Both
# get the same dnsperf load (UDP, EDNS):
#   - throughput: SECONDS_ seconds with CLIENTS clients and OUTSTANDING
#     queries in flight: queries per second (mean of ROUNDS runs);
#   - latency: SECONDS_ seconds at a fixed RATE queries per second, every
#     query's latency kept (ROUNDS runs pooled): mean and p99.
# The servers take turns, run by run, so that both meet the same load from
# anything else on the machine.
# Prints the figures for both and the ratios, and each server's CPU time
# per query (measured during the throughput runs: when dnsperf itself is
# what limits the QPS, this still shows what a query costs the server). Floors: troupe's QPS at
# least 2x dnsmasq's; troupe's mean and p99 latency at the fixed rate no
# worse than dnsmasq's (within 10%, the noise between two runs). Exits 1
# when one is missed.
#
# usage: bench/dns.sh   (environment: TROUPE_BIN, N_ADDRS=50, SECONDS_=5,
#        ROUNDS=3, CLIENTS=8, OUTSTANDING=500, RATE=10000)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
N_ADDRS=${N_ADDRS:-50}
SECS=${SECONDS_:-5}
CLIENTS=${CLIENTS:-8}
OUTSTANDING=${OUTSTANDING:-500}
RATE=${RATE:-10000}
ROUNDS=${ROUNDS:-3}
TMP=$(mktemp -d /tmp/troupe-bench.XXXXXX)
# Everything runs on the loopback of a network namespace of its own (as
# root), so fixed ports never collide with anything else on the machine.
NS=""
GOSSIP=7420 HTTP=7421 TDNS=7453 MDNS=7454
if [ "$(id -u)" -eq 0 ] && ip netns add "troupe-bench-dns-$$" 2>/dev/null; then
    NS="troupe-bench-dns-$$"
    ip -n "$NS" link set lo up
else
    BASE=$((40000 + $$ % 10000))
    GOSSIP=$BASE HTTP=$((BASE + 1)) TDNS=$((BASE + 2)) MDNS=$((BASE + 3))
fi
# As root, the servers and dnsperf also run at a higher priority (nice
# -10, the same for all), so that other work on a shared machine disturbs
# the comparison less.
# IN: the prefix that runs a command there (an array, so that a command
# started in the background is that process itself, not a subshell).
IN=()
[ "$(id -u)" -eq 0 ] && IN=(nice -n -10)
[ -n "$NS" ] && IN+=(ip netns exec "$NS")
in_ns() { "${IN[@]}" "$@"; }
declare -A PID

cleanup() {
    local rc=$? p
    for p in "${PID[@]}"; do kill -9 "$p" 2>/dev/null; done
    wait 2>/dev/null
    [ -n "$NS" ] && ip netns del "$NS" 2>/dev/null
    rm -rf "$TMP"
    exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM
die() { echo "dns: $*" >&2; exit 2; }
[ -x "$BIN" ] || die "no troupe binary at $BIN (build first, or set TROUPE_BIN)"
for c in dnsperf dnsmasq dig curl; do
    command -v $c >/dev/null || die "$c is needed (scripts/deps)"
done

SERVER_CPU="" LOAD_CPU=""
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
    # the server on one core, dnsperf on another: each server gets the same
    # one core, and the load generator never competes with it
    SERVER_CPU="taskset -c 1" LOAD_CPU="taskset -c 0"
fi
"${IN[@]}" $SERVER_CPU "$BIN" agent --node bench --bind 127.0.0.1:$GOSSIP --http 127.0.0.1:$HTTP --dns 127.0.0.1:$TDNS \
    --dns-upstream 127.0.0.1:$MDNS --data-dir "$TMP/agent" --log-level warn >"$TMP/agent.log" 2>&1 &
PID[agent]=$!
for i in $(seq 1 50); do in_ns curl -sf "127.0.0.1:$HTTP/v1/health" >/dev/null && break; sleep 0.1; done
in_ns curl -sf "127.0.0.1:$HTTP/v1/health" >/dev/null || die "the agent did not start: $(cat "$TMP/agent.log")"
for i in $(seq 1 "$N_ADDRS"); do
    ip="10.1.$((i / 250)).$((i % 250 + 1))"
    echo "$ip web.service.troupe" >>"$TMP/hosts"
    in_ns curl -sf -X PUT "127.0.0.1:$HTTP/v1/agent/service/register" \
        -d "{\"name\": \"web\", \"id\": \"web-$i\", \"address\": \"$ip\", \"port\": 80}" \
        >/dev/null || die "registering web-$i failed"
done
"${IN[@]}" $SERVER_CPU dnsmasq --no-daemon --no-resolv --no-hosts --addn-hosts="$TMP/hosts" --port=$MDNS \
    --listen-address=127.0.0.1 --bind-interfaces --cache-size=1000 -u root \
    >"$TMP/dnsmasq.log" 2>&1 &
PID[dnsmasq]=$!
sleep 0.3
n_t=$(in_ns dig +short +tries=1 -p $TDNS @127.0.0.1 web.service.troupe A | wc -l)
n_m=$(in_ns dig +short +tries=1 -p $MDNS @127.0.0.1 web.service.troupe A | wc -l)
[ "$n_t" = "$N_ADDRS" ] && [ "$n_m" = "$N_ADDRS" ] ||
    die "want $N_ADDRS addresses from both: troupe $n_t, dnsmasq $n_m"
say "${NS:+in namespace $NS: }troupe on :$TDNS and dnsmasq on :$MDNS both answer web.service.troupe with $N_ADDRS addresses"
echo "web.service.troupe A" >"$TMP/queries"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; } # user + system, in clock ticks

# throughput PORT PID ROUND: prints "QPS CPU_TICKS" of one run (the
# server's CPU time during it: what a query costs, whatever limits the QPS)
throughput() {
    local t0 t1
    t0=$(cpu_ticks "$2")
    in_ns $LOAD_CPU dnsperf -s 127.0.0.1 -p "$1" -d "$TMP/queries" -e -l "$SECS" -c "$CLIENTS" -q "$OUTSTANDING" \
        >"$TMP/tp.$1.$3" 2>&1 || die "dnsperf failed: $(tail -5 "$TMP/tp.$1.$3")"
    t1=$(cpu_ticks "$2")
    awk -v t=$((t1 - t0)) '/Queries per second/ {printf "%d %d", $4, t}' "$TMP/tp.$1.$3"
}

# latency PORT ROUND: one run at RATE queries per second; every query's
# latency in microseconds goes to $TMP/lat.PORT
latency() {
    in_ns $LOAD_CPU dnsperf -s 127.0.0.1 -p "$1" -d "$TMP/queries" -e -l "$SECS" -Q "$RATE" -v \
        >"$TMP/latrun.$1.$2" 2>&1 || die "dnsperf failed: $(tail -5 "$TMP/latrun.$1.$2")"
    awk '/^> NOERROR/ {print $5 * 1000000}' "$TMP/latrun.$1.$2" >>"$TMP/lat.$1"
}

# stats PORT: "MEAN P50 P99" of the latencies kept for PORT
stats() {
    sort -n "$TMP/lat.$1" | awk '
        { v[NR] = $1; s += $1 }
        END { if (NR == 0) { print "0 0 0"; exit }
              i = int(NR * 0.99); if (i < 1) i = 1
              h = int(NR * 0.5); if (h < 1) h = 1
              printf "%.1f %.1f %.1f", s / NR, v[h], v[i] }'
}

# The machine may be busy with other work: the two servers take turns,
# ROUNDS runs each, so both see the same background load.
say "throughput: $ROUNDS x $SECS s each, $CLIENTS clients, $OUTSTANDING queries in flight"
q_m=0 q_t=0 c_m=0 c_t=0
for r in $(seq 1 "$ROUNDS"); do
    read -r q c <<<"$(throughput $MDNS "${PID[dnsmasq]}" "$r")"
    q_m=$((q_m + q)) c_m=$((c_m + c))
    say "  round $r: dnsmasq $q QPS"
    read -r q c <<<"$(throughput $TDNS "${PID[agent]}" "$r")"
    q_t=$((q_t + q)) c_t=$((c_t + c))
    say "  round $r: troupe  $q QPS"
done
# CPU microseconds per query over all the rounds
hz=$(getconf CLK_TCK)
cpu_m=$(awk -v c=$c_m -v q=$q_m -v s="$SECS" -v hz="$hz" 'BEGIN { printf "%.2f", c / hz * 1e6 / (q * s) }')
cpu_t=$(awk -v c=$c_t -v q=$q_t -v s="$SECS" -v hz="$hz" 'BEGIN { printf "%.2f", c / hz * 1e6 / (q * s) }')
q_m=$((q_m / ROUNDS)) q_t=$((q_t / ROUNDS))
say "latency: $ROUNDS x $SECS s each at $RATE queries per second"
for r in $(seq 1 "$ROUNDS"); do
    latency $MDNS "$r"
    latency $TDNS "$r"
done
read -r mean_m p50_m p99_m <<<"$(stats $MDNS)"
read -r mean_t p50_t p99_t <<<"$(stats $TDNS)"

printf '%-8s %10s %18s %10s %10s %10s\n' server "QPS" "CPU/query (us)" "mean (us)" "p50 (us)" "p99 (us)"
printf '%-8s %10d %18s %10.1f %10.1f %10.1f\n' dnsmasq "$q_m" "$cpu_m" "$mean_m" "$p50_m" "$p99_m"
printf '%-8s %10d %18s %10.1f %10.1f %10.1f\n' troupe "$q_t" "$cpu_t" "$mean_t" "$p50_t" "$p99_t"
ratio=$(awk -v a="$q_t" -v b="$q_m" 'BEGIN { printf "%.2f", b ? a / b : 0 }')
echo "QPS ratio troupe/dnsmasq: $ratio (floor 2.00); CPU per query ratio dnsmasq/troupe: $(awk -v a="$cpu_m" -v b="$cpu_t" 'BEGIN{printf "%.2f", a/b}')"
echo "latency ratio troupe/dnsmasq: mean $(awk -v a="$mean_t" -v b="$mean_m" 'BEGIN{printf "%.2f", a/b}'), p99 $(awk -v a="$p99_t" -v b="$p99_m" 'BEGIN{printf "%.2f", a/b}') (floor: at most 1.10)"
in_ns curl -sf "127.0.0.1:$HTTP/v1/dns/stats" | jq -c '{requests, cache_hits, cache_misses, truncated, udp}' 2>/dev/null
ok=1
awk -v r="$ratio" 'BEGIN { exit !(r >= 2.0) }' || { echo "FLOOR MISSED: troupe's QPS is not 2x dnsmasq's"; ok=0; }
awk -v a="$mean_t" -v b="$mean_m" -v c="$p99_t" -v d="$p99_m" 'BEGIN { exit !(a <= b * 1.1 && c <= d * 1.1) }' ||
    { echo "FLOOR MISSED: troupe's latency is worse than dnsmasq's"; ok=0; }
[ $ok = 1 ]
