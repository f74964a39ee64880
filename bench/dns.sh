#!/bin/bash
# dns: troupe's DNS server against dnsmasq serving the same answer, in the
# same run. One troupe agent on loopback has service "web" with N_ADDRS
# instances (10.1.0.1..N, registered through the HTTP API); dnsmasq serves
# the same N_ADDRS addresses for web.service.troupe from a hosts file. Both
# get the same dnsperf load (UDP, EDNS):
#   - throughput: SECONDS seconds with CLIENTS clients and OUTSTANDING
#     queries in flight: queries per second;
#   - latency: SECONDS seconds at a fixed RATE queries per second, every
#     query's latency kept: mean and p99.
# Prints the figures for both and the ratios. Floors: troupe's QPS at
# least 2x dnsmasq's; troupe's mean and p99 latency at the fixed rate no
# worse than dnsmasq's (within 10%, the noise between two runs). Exits 1
# when one is missed.
#
# usage: bench/dns.sh   (environment: TROUPE_BIN, N_ADDRS=50, SECONDS_=10,
#        CLIENTS=8, OUTSTANDING=500, RATE=20000)
set -u
export LC_ALL=C
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${TROUPE_BIN:-$SRC/build/cli/troupe}
N_ADDRS=${N_ADDRS:-50}
SECS=${SECONDS_:-10}
CLIENTS=${CLIENTS:-8}
OUTSTANDING=${OUTSTANDING:-500}
RATE=${RATE:-20000}
TMP=$(mktemp -d /tmp/troupe-bench.XXXXXX)
BASE=$((30000 + $$ % 10000))
GOSSIP=$BASE HTTP=$((BASE + 1)) TDNS=$((BASE + 2)) MDNS=$((BASE + 3))
declare -A PID

say() { echo "[$(date +%H:%M:%S)] $*"; }
cleanup() {
    local rc=$? p
    for p in "${PID[@]}"; do kill -9 "$p" 2>/dev/null; done
    wait 2>/dev/null
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

"$BIN" agent --node bench --bind 127.0.0.1:$GOSSIP --http 127.0.0.1:$HTTP --dns 127.0.0.1:$TDNS \
    --dns-upstream 127.0.0.1:$MDNS --data-dir "$TMP/agent" --log-level warn >"$TMP/agent.log" 2>&1 &
PID[agent]=$!
for i in $(seq 1 50); do curl -sf "127.0.0.1:$HTTP/v1/health" >/dev/null && break; sleep 0.1; done
curl -sf "127.0.0.1:$HTTP/v1/health" >/dev/null || die "the agent did not start: $(cat "$TMP/agent.log")"
for i in $(seq 1 "$N_ADDRS"); do
    ip="10.1.$((i / 250)).$((i % 250 + 1))"
    echo "$ip web.service.troupe" >>"$TMP/hosts"
    curl -sf -X PUT "127.0.0.1:$HTTP/v1/agent/service/register" \
        -d "{\"name\": \"web\", \"id\": \"web-$i\", \"address\": \"$ip\", \"port\": 80}" \
        >/dev/null || die "registering web-$i failed"
done
dnsmasq --no-daemon --no-resolv --no-hosts --addn-hosts="$TMP/hosts" --port=$MDNS \
    --listen-address=127.0.0.1 --bind-interfaces --cache-size=1000 -u root \
    >"$TMP/dnsmasq.log" 2>&1 &
PID[dnsmasq]=$!
sleep 0.3
n_t=$(dig +short +tries=1 -p $TDNS @127.0.0.1 web.service.troupe A | wc -l)
n_m=$(dig +short +tries=1 -p $MDNS @127.0.0.1 web.service.troupe A | wc -l)
[ "$n_t" = "$N_ADDRS" ] && [ "$n_m" = "$N_ADDRS" ] ||
    die "want $N_ADDRS addresses from both: troupe $n_t, dnsmasq $n_m"
say "troupe on :$TDNS and dnsmasq on :$MDNS both answer web.service.troupe with $N_ADDRS addresses"
echo "web.service.troupe A" >"$TMP/queries"

# throughput PORT: prints "QPS"
throughput() {
    dnsperf -s 127.0.0.1 -p "$1" -d "$TMP/queries" -e -l "$SECS" -c "$CLIENTS" -q "$OUTSTANDING" \
        >"$TMP/tp.$1" 2>&1 || die "dnsperf failed: $(tail -5 "$TMP/tp.$1")"
    grep -q 'Queries lost: *0 ' "$TMP/tp.$1" || say "note: $(grep 'Queries lost' "$TMP/tp.$1")"
    awk '/Queries per second/ {printf "%d", $4}' "$TMP/tp.$1"
}

# latency PORT: prints "MEAN_US P99_US" at RATE queries per second
latency() {
    dnsperf -s 127.0.0.1 -p "$1" -d "$TMP/queries" -e -l "$SECS" -Q "$RATE" -v \
        >"$TMP/lat.$1" 2>&1 || die "dnsperf failed: $(tail -5 "$TMP/lat.$1")"
    awk '/^> NOERROR/ {print $5 * 1000000}' "$TMP/lat.$1" | sort -n | awk '
        { v[NR] = $1; s += $1 }
        END { if (NR == 0) { print "0 0"; exit }
              i = int(NR * 0.99); if (i < 1) i = 1
              printf "%.1f %.1f", s / NR, v[i] }'
}

say "throughput: $SECS s each, $CLIENTS clients, $OUTSTANDING queries in flight"
q_m=$(throughput $MDNS)
q_t=$(throughput $TDNS)
say "latency: $SECS s each at $RATE queries per second"
read -r mean_m p99_m <<<"$(latency $MDNS)"
read -r mean_t p99_t <<<"$(latency $TDNS)"

printf '%-8s %12s %14s %12s\n' server "QPS" "mean (us)" "p99 (us)"
printf '%-8s %12d %14.1f %12.1f\n' dnsmasq "$q_m" "$mean_m" "$p99_m"
printf '%-8s %12d %14.1f %12.1f\n' troupe "$q_t" "$mean_t" "$p99_t"
ratio=$(awk -v a="$q_t" -v b="$q_m" 'BEGIN { printf "%.2f", b ? a / b : 0 }')
echo "QPS ratio troupe/dnsmasq: $ratio (floor 2.00)"
echo "latency ratio troupe/dnsmasq: mean $(awk -v a="$mean_t" -v b="$mean_m" 'BEGIN{printf "%.2f", a/b}'), p99 $(awk -v a="$p99_t" -v b="$p99_m" 'BEGIN{printf "%.2f", a/b}') (floor: at most 1.10)"
curl -sf "127.0.0.1:$HTTP/v1/dns/stats" | jq -c '{requests, cache_hits, cache_misses, truncated, udp}' 2>/dev/null
ok=1
awk -v r="$ratio" 'BEGIN { exit !(r >= 2.0) }' || { echo "FLOOR MISSED: troupe's QPS is not 2x dnsmasq's"; ok=0; }
awk -v a="$mean_t" -v b="$mean_m" -v c="$p99_t" -v d="$p99_m" 'BEGIN { exit !(a <= b * 1.1 && c <= d * 1.1) }' ||
    { echo "FLOOR MISSED: troupe's latency is worse than dnsmasq's"; ok=0; }
[ $ok = 1 ]
