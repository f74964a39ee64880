#!/bin/bash
# consul: what Consul's shape costs a health read, in the same run. One
# agent on loopback (in a network namespace of its own as root) with
# INSTANCES instances of "web" registered, answering the same question on
# its two listeners:
#   - troupe's API:  GET /v1/health/service/web?passing (127.0.0.1:H)
#   - Consul's API:  GET /v1/health/service/web?passing (127.0.0.1:C),
#     Consul's JSON (node, service, serfHealth and checks per entry) and
#     headers (X-Consul-Index, ...).
# Each turn is READS requests over one keep-alive connection of one curl
# process (curl -K). The two take turns, ROUNDS times, the order swapped
# every round. Printed: requests per second of each turn, the medians, the
# ratio Consul/troupe (the median of the rounds' ratios) and the agent's
# CPU time per request of each. Floor: Consul's shape costs at most 10%
# more, a ratio of at least 1/1.10. Exits 1 when missed.
#
# usage: bench/consul.sh   (environment: TROUPE_BIN, ROUNDS=15, READS=2000,
#        INSTANCES=5)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ROUNDS=${ROUNDS:-15}
READS=${READS:-2000}
INSTANCES=${INSTANCES:-5}
TMP=$(mktemp -d "$( [ -d /dev/shm ] && [ -w /dev/shm ] && echo /dev/shm || echo /tmp)/troupe-bench.XXXXXX")
NS=""
BASE=7420
if [ "$(id -u)" -eq 0 ] && ip netns add "troupe-bench-consul-$$" 2>/dev/null; then
    NS=troupe-bench-consul-$$
    ip -n "$NS" link set lo up
else
    BASE=$((40000 + $$ % 10000))
fi
IN=()
[ "$(id -u)" -eq 0 ] && IN=(nice -n -10)
[ -n "$NS" ] && IN+=(ip netns exec "$NS")
in_ns() { "${IN[@]}" "$@"; }
PID=""

cleanup() {
    local rc=$?
    [ -n "$PID" ] && { kill -9 "$PID" && wait "$PID"; } 2>/dev/null
    [ -n "$NS" ] && ip netns del "$NS" 2>/dev/null
    rm -rf "$TMP"
    exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM
die() { echo "consul: $*" >&2; exit 2; }
[ -x "$BIN" ] || die "no troupe binary at $BIN (build first, or set TROUPE_BIN)"
command -v curl >/dev/null || die "curl is needed (scripts/deps)"

H=$((BASE + 1)) C=$((BASE + 2))
"${IN[@]}" "$BIN" agent --node a --bind "127.0.0.1:$BASE" --http "127.0.0.1:$H" --dns off \
    --consul-http "127.0.0.1:$C" --data-dir "$TMP/a" --log-level warn >"$TMP/a.log" 2>&1 &
PID=$!
for _ in $(seq 1 50); do in_ns curl -q -sf "127.0.0.1:$H/v1/health" >/dev/null && break; sleep 0.1; done
in_ns curl -q -sf "127.0.0.1:$C/v1/status/leader" >/dev/null || die "the agent did not start: $(cat "$TMP/a.log")"
M=$(cat "$TMP/a/acl/management-token")
for i in $(seq 1 "$INSTANCES"); do
    in_ns curl -q -sf -X PUT -H "X-Troupe-Token: $M" "127.0.0.1:$H/v1/agent/service/register" \
        -d "{\"name\": \"web\", \"id\": \"web-$i\", \"port\": $((8000 + i)), \"tags\": [\"v1\"]}" \
        >/dev/null || die "register web-$i"
done
n=$(in_ns curl -q -sf "127.0.0.1:$C/v1/health/service/web?passing" | grep -o '"ServiceID"\|"ID":"web-' | grep -c ID)
[ "$n" -ge "$INSTANCES" ] || die "Consul's answer lacks the instances"
say "${NS:+in namespace $NS: }one agent, $INSTANCES instances of web; troupe's API on :$H, Consul's on :$C"

list() { # FILE URL: a curl config of READS requests
    for i in $(seq 1 "$READS"); do
        [ "$i" -gt 1 ] && printf 'next\n'
        printf 'url = "%s"\noutput = /dev/null\nsilent\nwrite-out = "%%{http_code}\\n"\n' "$2"
    done >"$1"
}
list "$TMP/troupe" "http://127.0.0.1:$H/v1/health/service/web?passing"
list "$TMP/consul" "http://127.0.0.1:$C/v1/health/service/web?passing"

run() { # FILE: requests per second of one pass (every answer must be a 200)
    local t0 t1 codes
    t0=$(date +%s%N)
    codes=$(in_ns curl -q -K "$1" | sort | uniq -c | awk '{printf "%s:%s ", $2, $1}')
    t1=$(date +%s%N)
    [ "$codes" = "200:$READS " ] || die "$(basename "$1"): answers $codes"
    awk -v n="$READS" -v ns=$((t1 - t0)) 'BEGIN {printf "%d", n / (ns / 1e9)}'
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
declare -A CPU RPS
turn() { # NAME
    local t0 rps
    t0=$(cpu_ticks)
    rps=$(run "$TMP/$1") || exit 2
    CPU[$1]=$(( ${CPU[$1]:-0} + $(cpu_ticks) - t0 ))
    RPS[$1]+="$rps "
}
median() { tr ' ' '\n' | grep . | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

run "$TMP/troupe" >/dev/null && run "$TMP/consul" >/dev/null # warm up
for r in $(seq 1 "$ROUNDS"); do
    if [ $((r % 2)) -eq 1 ]; then turn troupe && turn consul; else turn consul && turn troupe; fi
done
mt=$(median <<<"${RPS[troupe]}") mc=$(median <<<"${RPS[consul]}")
ratio=$(paste <(tr ' ' '\n' <<<"${RPS[consul]}" | grep .) <(tr ' ' '\n' <<<"${RPS[troupe]}" | grep .) |
    awk '{printf "%.4f\n", $1 / $2}' | median)
echo "health read, $INSTANCES passing instances: Consul's API $mc req/s, troupe's $mt req/s" \
    "(medians of $ROUNDS); ratio $ratio (median of the rounds' ratios)"
echo "  consul: ${RPS[consul]}"
echo "  troupe: ${RPS[troupe]}"
awk -v a="${CPU[consul]}" -v b="${CPU[troupe]}" -v n="$READS" -v r="$ROUNDS" -v hz="$(getconf CLK_TCK)" \
    'BEGIN { printf "  agent CPU per request: Consul %.1f us, troupe %.1f us\n",
        a / hz * 1e6 / (n * r), b / hz * 1e6 / (n * r) }'
awk -v r="$ratio" 'BEGIN {exit !(r >= 1 / 1.10)}' || { echo "  MISSED: floor 0.909 (at most 10% more cost)"; exit 1; }
