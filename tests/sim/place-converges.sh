#!/bin/bash
# Placement over every node's own view (troupe-sim --place), 100 nodes and
# 1,000 slots: after a death, every slot runs exactly once within 2 s of
# every node knowing it, and only the dead node's slots moved; a join
# moves about slots/N (1.5 x slots/N on average over the joins); after a
# 2-group partition heals, every slot runs exactly once within 10 s of the
# membership being whole again, on the nodes it ran on before. A rolling
# update never has more than max_parallel slots of one spec down.
. "$(dirname "$0")/lib.bash"
o=$TMP/place
sim "$o" --nodes 100 --place 1000 --profile fast --seconds 100 --kill 7@15s --kill 60-61@25s \
    --join-late 1@35s --join-late 1@40s --join-late 1@45s --join-late 1@50s \
    --partition '0-39|40-99@60s-70s'
check "$o" '.place.slots == 1000 and .place.ticks > 0' "placement ran"
check "$o" '[.place.events[] | select(.kind == "death")] | length == 2 and
    all(.[]; .known_after_ms != null and .converged_after_known_ms <= 2000 and .moved == .owned)' \
    "deaths: exactly once within 2 s of being known, only the dead's slots moved"
check "$o" '[.place.events[] | select(.kind == "join")] as $j | ($j | length) == 4 and
    all($j[]; .converged_after_known_ms <= 2000 and .moved > 0) and
    ([$j[].moved] | add / length) <= 1.5 * .place.slots / 100' \
    "joins: exactly once within 2 s, moves per join within 1.5 x slots/N on average"
check "$o" '[.place.events[] | select(.kind == "heal")] | length == 1 and
    all(.[]; .known_after_ms != null and .converged_after_known_ms <= 10000 and .moved == 0)' \
    "heal: exactly once within 10 s of the view being whole, back where it ran"
check "$o" '.place.double_slot_s > 0 and .place.max_copies >= 2' \
    "the partition ran slots on both sides (at-least-once)"
say "$(jq -c '.place | {computes, double_slot_s, missing_slot_s, events: [.events[] |
    {kind, known_after_ms, converged_after_known_ms, moved}]}' "$o")"
check "$o" '.place.check_views > 0 and .place.check_mismatch == 0' \
    "the simulator's placement gives what core/place gives"

# a rolling update of every spec, max_parallel 2, each node seeing the
# slots up to 1 s late: never more than 2 slots of one spec down at once
r=$TMP/rollout
sim "$r" --nodes 100 --place 1000 --profile fast --seconds 200 --place-update 20s \
    --place-parallel 2 --place-lag 1s
check "$r" '.place.rollout.max_down <= 2 and .place.rollout.replaced == 1000 and
    .place.rollout.done_after_ms != null' \
    "rolling update: every slot replaced, at most max_parallel of one spec down at once"
say "$(jq -c '.place.rollout' "$r")"
