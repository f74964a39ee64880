#!/bin/bash
# api: what the authorization check costs an API request, in the same run.
# Two agents on loopback (in a network namespace of their own as root):
#   - A at the default policy (--acl-default read), with a replicated token
#     "bench" (service:read, kv:write:bench/): every request with it pays
#     the check, a SHA-256 of the secret and a lookup in the token cache;
#   - B with --acl-default off: no token, nothing to look up.
# Workloads, each over one keep-alive connection of one curl process
# (curl -K: a list of requests, so no process start is measured):
#   - catalog read: GET /v1/catalog/services (one service registered),
#     on A with the token against A without a token (anonymous reads are
#     allowed at the default policy);
#   - KV write: PUT /v1/kv/bench/k (durable on answer, audited), on A with
#     the token against B without one (A refuses anonymous writes).
# The two sides of a workload take turns, ROUNDS times, back to back and
# the order swapped every round, so that a busy spell of the machine hits
# both. Printed: requests per second of each turn, the median of each
# side, the ratio with/without (the median of the rounds' ratios: each
# round compares two turns run within a second of each other), and each
# agent's CPU time per request over all its turns. The agents run at nice
# -10 as root, their data on tmpfs (/dev/shm) when there is one: a KV write
# is then not an fsync, so the check is a larger share of what is
# measured, not a smaller. PIN=1 puts the agents on one core and curl on
# another (taskset): steadier on an idle machine, slower on a busy one.
# Floor: the ratio at least 0.95 for both workloads. Exits 1 when missed.
#
# usage: bench/api.sh   (environment: TROUPE_BIN, ROUNDS=21, READS=2000,
#        WRITES=500, PIN=0)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ROUNDS=${ROUNDS:-21}
READS=${READS:-2000}
WRITES=${WRITES:-500}
TMP=$(mktemp -d "$( [ -d /dev/shm ] && [ -w /dev/shm ] && echo /dev/shm || echo /tmp)/troupe-bench.XXXXXX")
NS=""
BASE=7420
if [ "$(id -u)" -eq 0 ] && ip netns add "troupe-bench-api-$$" 2>/dev/null; then
    NS=troupe-bench-api-$$
    ip -n "$NS" link set lo up
else
    BASE=$((40000 + $$ % 10000))
fi
IN=()
[ "$(id -u)" -eq 0 ] && IN=(nice -n -10)
[ -n "$NS" ] && IN+=(ip netns exec "$NS")
in_ns() { "${IN[@]}" "$@"; }
SERVER_CPU=() LOAD_CPU=()
if [ "${PIN:-0}" = 1 ] && [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
    SERVER_CPU=(taskset -c 1) LOAD_CPU=(taskset -c 0)
fi
declare -A PID

cleanup() {
    local rc=$? p
    for p in "${PID[@]}"; do { kill -9 "$p" && wait "$p"; } 2>/dev/null; done
    [ -n "$NS" ] && ip netns del "$NS" 2>/dev/null
    rm -rf "$TMP"
    exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM
die() { echo "api: $*" >&2; exit 2; }
[ -x "$BIN" ] || die "no troupe binary at $BIN (build first, or set TROUPE_BIN)"
command -v curl >/dev/null || die "curl is needed (scripts/deps)"
command -v jq >/dev/null || die "jq is needed (scripts/deps)"

# agent NAME GOSSIP HTTP [flags]: starts an agent, waits for its API
agent() {
    local name=$1 g=$2 h=$3
    shift 3
    "${IN[@]}" "${SERVER_CPU[@]}" "$BIN" agent --node "$name" --bind 127.0.0.1:$g --http 127.0.0.1:$h --dns off \
        --data-dir "$TMP/$name" --log-level warn "$@" >"$TMP/$name.log" 2>&1 &
    PID[$name]=$!
    for _ in $(seq 1 50); do in_ns curl -q -sf "127.0.0.1:$h/v1/health" >/dev/null && return; sleep 0.1; done
    die "agent $name did not start: $(cat "$TMP/$name.log")"
}
A=$((BASE + 1)) B=$((BASE + 11))
agent a "$BASE" "$A"
agent b $((BASE + 10)) "$B" --acl-default off
M=$(cat "$TMP/a/acl/management-token")
S=$(in_ns curl -q -sf -X PUT -H "X-Troupe-Token: $M" "127.0.0.1:$A/v1/acl/tokens" \
    -d '{"name": "bench", "rules": ["service:read", "kv:write:bench/"]}' | jq -r .secret)
[ -n "$S" ] && [ "$S" != null ] || die "could not make the bench token"
for n in a b; do
    h=$A && [ $n = b ] && h=$B
    in_ns curl -q -sf -X PUT -H "X-Troupe-Token: $(cat "$TMP/$n/acl/management-token")" \
        "127.0.0.1:$h/v1/agent/service/register" -d '{"name": "web", "id": "web-1", "port": 80}' \
        >/dev/null || die "register on agent $n"
done
[ "$(in_ns curl -q -s -o /dev/null -w '%{http_code}' -X PUT -d v "127.0.0.1:$A/v1/kv/bench/k")" = 403 ] ||
    die "agent a takes anonymous writes"
say "${NS:+in namespace $NS: }agent a (--acl-default read, token \"bench\") on :$A, agent b (--acl-default off) on :$B"

# list FILE N METHOD URL [TOKEN]: a curl config of N requests
list() {
    local f=$1 n=$2 m=$3 url=$4 tok=${5:-}
    : >"$f"
    for i in $(seq 1 "$n"); do
        [ "$i" -gt 1 ] && printf 'next\n' # options hold for one transfer each
        printf 'url = "%s"\nrequest = %s\noutput = /dev/null\nsilent\nwrite-out = "%%{http_code}\\n"\n' "$url" "$m"
        [ "$m" = PUT ] && printf 'data = "v"\n'
        [ -n "$tok" ] && printf 'header = "X-Troupe-Token: %s"\n' "$tok"
    done >"$f"
}
list "$TMP/read-with" "$READS" GET "http://127.0.0.1:$A/v1/catalog/services" "$S"
list "$TMP/read-without" "$READS" GET "http://127.0.0.1:$A/v1/catalog/services"
list "$TMP/write-with" "$WRITES" PUT "http://127.0.0.1:$A/v1/kv/bench/k" "$S"
list "$TMP/write-without" "$WRITES" PUT "http://127.0.0.1:$B/v1/kv/bench/k"

# run FILE N: requests per second of one pass (every answer must be a 200)
run() {
    local t0 t1 codes
    t0=$(date +%s%N)
    codes=$(in_ns "${LOAD_CPU[@]}" curl -q -K "$1" | sort | uniq -c | awk '{printf "%s:%s ", $2, $1}')
    t1=$(date +%s%N)
    [ "$codes" = "200:$2 " ] || die "$(basename "$1"): answers $codes"
    awk -v n="$2" -v ns=$((t1 - t0)) 'BEGIN {printf "%d", n / (ns / 1e9)}'
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; } # user + system, clock ticks
declare -A CPU
declare -A RPS
# turn NAME FILE N AGENT: one run; its req/s goes to RPS[NAME], the agent's CPU to CPU[NAME]
turn() {
    local t0 rps
    t0=$(cpu_ticks "${PID[$4]}")
    rps=$(run "$2" "$3") || exit 2
    CPU[$1]=$(( ${CPU[$1]:-0} + $(cpu_ticks "${PID[$4]}") - t0 ))
    RPS[$1]+="$rps "
}
median() { tr ' ' '\n' | grep . | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

# warm up both sides once
run "$TMP/read-with" "$READS" >/dev/null && run "$TMP/read-without" "$READS" >/dev/null
run "$TMP/write-with" "$WRITES" >/dev/null && run "$TMP/write-without" "$WRITES" >/dev/null
for r in $(seq 1 "$ROUNDS"); do
    # the order within a round alternates, so a drift of the machine hits both
    if [ $((r % 2)) -eq 1 ]; then
        turn rw "$TMP/read-with" "$READS" a && turn ro "$TMP/read-without" "$READS" a
        turn ww "$TMP/write-with" "$WRITES" a && turn wo "$TMP/write-without" "$WRITES" b
    else
        turn ro "$TMP/read-without" "$READS" a && turn rw "$TMP/read-with" "$READS" a
        turn wo "$TMP/write-without" "$WRITES" b && turn ww "$TMP/write-with" "$WRITES" a
    fi
done
rc=0
hz=$(getconf CLK_TCK)
report() { # NAME WITH WITHOUT CPU_WITH CPU_WITHOUT N
    local mw mo ratio
    mw=$(median <<<"$2") mo=$(median <<<"$3")
    ratio=$(paste <(tr ' ' '\n' <<<"$2" | grep .) <(tr ' ' '\n' <<<"$3" | grep .) |
        awk '{printf "%.4f\n", $1 / $2}' | median)
    echo "$1: with a token $mw req/s, without $mo req/s (medians of $ROUNDS);" \
        "ratio $ratio (median of the rounds' ratios)"
    echo "  with:    $2"
    echo "  without: $3"
    awk -v a="$4" -v b="$5" -v n="$6" -v r="$ROUNDS" -v hz="$hz" 'BEGIN {
        printf "  agent CPU per request: with %.1f us, without %.1f us\n",
            a / hz * 1e6 / (n * r), b / hz * 1e6 / (n * r) }'
    awk -v r="$ratio" 'BEGIN {exit !(r >= 0.95)}' || { echo "  MISSED: floor 0.95"; rc=1; }
}
report "catalog read (GET /v1/catalog/services)" "${RPS[rw]}" "${RPS[ro]}" "${CPU[rw]}" "${CPU[ro]}" "$READS"
report "KV write (PUT /v1/kv/bench/k)" "${RPS[ww]}" "${RPS[wo]}" "${CPU[ww]}" "${CPU[wo]}" "$WRITES"
hits=$(in_ns curl -q -s -H "X-Troupe-Token: $M" "127.0.0.1:$A/metrics" | awk '/^troupe_acl_cache_rebuilds_total/ {print $2}')
echo "token cache rebuilds on agent a during the run: $hits (writes change the replica, not the tokens)"
exit $rc
