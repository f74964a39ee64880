#!/bin/bash
# place: cluster placement in the simulator at 1,000 nodes and 10,000 slots
# (157 specs), three scenarios, each node placing over its own view:
#   - deaths and joins: 5 deaths and 12 late joins, spaced; per death, the
#     time from every node knowing it until every slot runs exactly once,
#     and the slots moved (only the dead node's); per join, the slots moved;
#   - partition: a 500|500 cut from 30 s to 60 s, then heal: the
#     double-running slot-seconds, the time from the heal until every node
#     holds every member and until every slot runs exactly once, the slots
#     moved by it;
#   - rolling update: every spec changes at 20 s, max_parallel 2, each node
#     seeing the slots up to 1 s late: the most slots of one spec down at
#     once, and when every slot settled.
# Floors (issue 13): exactly once within 2 s of a death being known, with
# only the dead's slots moved; joins move at most 1.5 x slots/N on
# average; exactly once within 10 s of the heal being known, nothing
# moved; never more than max_parallel slots of one spec down; the
# simulator's placement equals core/place's wherever it was compared.
# About 5 minutes of wall-clock time on a quiet 2-core machine, 510 MB.
# usage: bench/place.sh   (environment: TROUPE_SIM, default the build's)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
SIM=${TROUPE_SIM:-$(dirname "$BIN")/../sim/troupe-sim}
[ -x "$SIM" ] || { echo "place: no troupe-sim at $SIM (make build)"; exit 2; }
command -v jq >/dev/null || { echo "place: jq is needed"; exit 2; }
TMP=$(mktemp -d /tmp/troupe-bench.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
missed=0

# run NAME ARGS...: one scenario into $TMP/NAME.json
run() {
    local name=$1 t0
    shift
    say "troupe-sim --nodes 1000 --place 10000 $*"
    t0=$(date +%s)
    "$SIM" --json --nodes 1000 --place 10000 "$@" >"$TMP/$name.json" 2>"$TMP/$name.err" ||
        { echo "place: troupe-sim failed: $(cat "$TMP/$name.err")"; exit 2; }
    say "$name: $(($(date +%s) - t0)) s of wall-clock time"
}
# floor NAME JQ WHAT: counts a missed floor unless JQ holds on NAME's report
floor() {
    if [ "$(jq -r "$2" "$TMP/$1.json")" = true ]; then
        echo "  met: $3"
    else
        echo "  MISSED: $3"
        missed=$((missed + 1))
    fi
}

joins=()
for t in 35 65 95 125 155 160 165 170 175 180 185 190; do joins+=(--join-late "1@${t}s"); done
run churn --seconds 200 --kill 5@20s --kill 17@50s --kill 333@80s --kill 600@110s \
    --kill 901@140s "${joins[@]}"
jq -r '.place.events[] | "  \(.kind) at \(.at_ms / 1000) s: known by all after " +
    "\(.known_after_ms) ms, exactly once \(.converged_after_known_ms) ms later, \(.moved) moved" +
    (if .kind == "death" then " (the dead held \(.owned))" else "" end)' "$TMP/churn.json"
floor churn '[.place.events[] | select(.kind == "death")] | length == 5 and
    all(.[]; .converged_after_known_ms != null and .converged_after_known_ms <= 2000 and
             .moved == .owned)' "deaths: exactly once within 2 s of being known, only the dead's moved"
floor churn '[.place.events[] | select(.kind == "join") | .moved] | add / length <= 15' \
    "joins: $(jq '[.place.events[] | select(.kind == "join") | .moved] | add / length' \
    "$TMP/churn.json") slots moved on average, at most 15 (1.5 x slots/N)"

run partition --seconds 300 --partition '0-499|500-999@30s-60s'
jq -r '.place | "  double \(.double_slot_s) slot-s, missing \(.missing_slot_s) slot-s, " +
    "at most \(.max_copies) copies, up to \(.max_views) views in one tick",
    (.events[] | "  heal at \(.at_ms / 1000) s: every member in every view after " +
    "\(.known_after_ms) ms, exactly once \(.converged_after_known_ms) ms later, \(.moved) moved")' \
    "$TMP/partition.json"
floor partition '.place.events[0].converged_after_known_ms != null and
    .place.events[0].converged_after_known_ms <= 10000 and .place.events[0].moved == 0' \
    "heal: exactly once within 10 s of being known, back where it ran"

run rollout --seconds 200 --place-update 20s --place-parallel 2 --place-lag 1s
jq -r '.place.rollout | "  at most \(.max_down) slots of one spec down at once " +
    "(max_parallel \(.max_parallel)), \(.replaced) replaced, every slot settled " +
    "\(.done_after_ms) ms after the change"' "$TMP/rollout.json"
floor rollout '.place.rollout.max_down <= 2 and .place.rollout.done_after_ms != null' \
    "rolling update: never more than max_parallel of one spec down, and it ends"

for s in churn partition rollout; do
    floor "$s" '.place.check_mismatch == 0' "$s: the simulator's placement is core/place's"
done
echo "place: $missed floor(s) missed"
[ "$missed" -eq 0 ]
