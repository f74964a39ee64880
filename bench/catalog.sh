#!/bin/bash
# catalog: N troupe agents on loopback at their default settings (the `lan`
# profile), each with a loopback address of its own (127.0.4.I; gossip on
# :27420, API on :27421, DNS on :27453, ports that an agent already running
# on the machine at 0.0.0.0:7420 does not block). It measures:
#   - visibility: ROUNDS times, a new instance is registered on one agent
#     (a different one each round) and the time until every agent's catalog
#     lists it is taken. Every agent is watched with a blocking query
#     (?index=), so the time is when the agent's answer changed, not a poll.
#     Median and p99 (the largest of up to 100 rounds) are printed.
#   - memory: INSTANCES instances are registered, spread over the agents,
#     and once every agent lists them all, the resident memory (VmRSS) of
#     every agent is read: mean and max are printed, and how much of it is
#     anonymous (the agent's own heap and stacks) and file-backed (the pages
#     of the shared libraries it links, shared with other processes).
# Floors: p99 under 1 s; max RSS under 8 MiB. Exits 1 when one is missed.
#
# usage: bench/catalog.sh   (environment: TROUPE_BIN, N=20, ROUNDS=30,
#        INSTANCES=1000, LIMIT_S=30: one measurement gives up after it)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
N=${N:-20}
ROUNDS=${ROUNDS:-30}
INSTANCES=${INSTANCES:-1000}
LIMIT_S=${LIMIT_S:-30}
TMP=$(mktemp -d /tmp/troupe-bench.XXXXXX)
declare -A PID

cleanup() {
    local rc=$? p
    for p in "${PID[@]}"; do kill -9 "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$TMP"
    exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM
die() {
    echo "catalog: $*" >&2
    [ -f "$TMP/b1.log" ] && { echo "--- last lines of b1's log" >&2; tail -n 5 "$TMP/b1.log" >&2; }
    exit 2
}
[ -x "$BIN" ] || die "no troupe binary at $BIN (build first, or set TROUPE_BIN)"
command -v curl >/dev/null && command -v jq >/dev/null || die "curl and jq are needed (scripts/deps)"

addr() { echo "127.0.4.$1"; }
url() { echo "http://$(addr "$1"):27421$2"; }

say "starting $N agents (lan profile) on 127.0.4.1-$N"
for i in $(seq 1 "$N"); do
    join=()
    [ "$i" -gt 1 ] && join=(--join "$(addr 1):27420")
    "$BIN" agent --node "b$i" --bind "$(addr "$i"):27420" --http "$(addr "$i"):27421" --http-insecure \
        --dns "$(addr "$i"):27453" --data-dir "$TMP/b$i" --log-level warn "${join[@]}" >"$TMP/b$i.log" 2>&1 &
    PID[$i]=$!
done
deadline=$((SECONDS + 60))
for i in $(seq 1 "$N"); do
    until [ "$(curl -s "$(url "$i" /v1/members)" | jq '[.[] | select(.status == "alive")] | length' 2>/dev/null)" = "$N" ]; do
        [ $SECONDS -lt $deadline ] || die "b$i does not see $N alive members after 60 s"
        sleep 0.2
    done
done
say "every agent sees $N alive"

# watch I NAME: prints the time at which agent I first lists an instance of NAME
watch() {
    local u idx=0 out t_end=$((SECONDS + LIMIT_S))
    u=$(url "$1" "/v1/catalog/service/$2")
    while [ $SECONDS -lt $t_end ]; do
        out=$(curl -s -D "$TMP/hdr.$1" "$u?index=$idx&wait=${LIMIT_S}s")
        if [ -n "$out" ] && [ "$out" != "[]" ]; then echo "$EPOCHREALTIME"; return; fi
        idx=$(awk -F': ' 'tolower($1) == "x-troupe-index" { print $2 + 0 }' "$TMP/hdr.$1")
    done
    echo "timeout"
}

ms=()
for r in $(seq 1 "$ROUNDS"); do
    name="vis-$r"
    owner=$(( (r - 1) % N + 1 ))
    watchers=()
    for i in $(seq 1 "$N"); do
        watch "$i" "$name" >"$TMP/seen.$i" &
        watchers+=($!)
    done
    sleep 0.5 # every watcher parked on its blocking query
    t0=$EPOCHREALTIME
    curl -sf -X PUT "$(url "$owner" /v1/agent/service/register)" \
        -d "{\"name\": \"$name\", \"id\": \"$name\", \"port\": 80}" >/dev/null || die "register on b$owner"
    wait "${watchers[@]}"
    grep -l timeout "$TMP"/seen.* >/dev/null 2>&1 && die "round $r: an agent never listed $name"
    last=$(cat "$TMP"/seen.* | sort -n | tail -1)
    t=$(awk -v a="$t0" -v b="$last" 'BEGIN { printf "%d", (b - a) * 1000 }')
    ms+=("$t")
    say "round $r: $name registered on b$owner, listed by all $N agents after $t ms"
    rm -f "$TMP"/seen.*
done
sorted=$(printf '%s\n' "${ms[@]}" | sort -n)
median=$(echo "$sorted" | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
p99=$(echo "$sorted" | awk '{ a[NR] = $1 } END { i = int(NR * 0.99 + 0.999); if (i > NR) i = NR; print a[i] }')

say "registering $INSTANCES instances spread over the $N agents"
for k in $(seq 1 "$INSTANCES"); do
    i=$(( (k - 1) % N + 1 ))
    echo "url = \"$(url "$i" /v1/agent/service/register)\""
    echo "data = \"{\\\"name\\\": \\\"load\\\", \\\"id\\\": \\\"load-$k\\\", \\\"port\\\": $((10000 + k)), \\\"tags\\\": [\\\"bench\\\"]}\""
    echo "request = \"PUT\""
    echo "output = \"/dev/null\""
    [ "$k" -lt "$INSTANCES" ] && echo "next"
done >"$TMP/load.curl"
curl -s --fail --no-progress-meter --parallel --parallel-max 20 -K "$TMP/load.curl" || die "registering the load"
deadline=$((SECONDS + ${LOAD_LIMIT_S:-120}))
for i in $(seq 1 "$N"); do
    until [ "$(curl -s "$(url "$i" /v1/catalog/services)" | jq '.[] | select(.name == "load") | .instances')" = "$INSTANCES" ]; do
        [ $SECONDS -lt $deadline ] || die "b$i does not list $INSTANCES instances after 120 s: $(
            for k in $(seq 1 "$N"); do curl -s "$(url "$k" /v1/catalog/services)" |
                jq -c '.[] | select(.name == "load") | .instances'; done | tr '\n' ' ')"
        sleep 0.5
    done
done
say "every agent lists $INSTANCES instances of load"
sleep 2
rss=() anon=() file=()
for i in $(seq 1 "$N"); do
    rss+=("$(awk '/^VmRSS/ { print $2 }' "/proc/${PID[$i]}/status")")
    anon+=("$(awk '/^RssAnon/ { print $2 }' "/proc/${PID[$i]}/status")")
    file+=("$(awk '/^RssFile/ { print $2 }' "/proc/${PID[$i]}/status")")
done
mean() { printf '%s\n' "$@" | awk '{ s += $1 } END { printf "%.0f", s / NR }'; }
rss_mean=$(mean "${rss[@]}")
rss_max=$(printf '%s\n' "${rss[@]}" | sort -n | tail -1)
anon_max=$(printf '%s\n' "${anon[@]}" | sort -n | tail -1)

echo
echo "catalog: $N agents, lan profile, $ROUNDS rounds"
echo "  registration visible on all $N agents: median $median ms, p99 $p99 ms (floor: p99 < 1000 ms)"
echo "  agent RSS with $INSTANCES instances: mean $rss_mean KiB, max $rss_max KiB (floor: max < 8192 KiB)"
echo "    of which anonymous (the agent's own memory): mean $(mean "${anon[@]}") KiB, max $anon_max KiB;"
echo "    file-backed (shared libraries' pages): mean $(mean "${file[@]}") KiB"
ok=0
[ "$p99" -lt 1000 ] || { echo "  MISSED: p99 visibility $p99 ms"; ok=1; }
[ "$rss_max" -lt 8192 ] || { echo "  MISSED: max RSS $rss_max KiB"; ok=1; }
[ $ok -eq 0 ] && echo "  floors met"
exit $ok
