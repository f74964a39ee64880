#!/bin/bash
# Placement over every node's own view (troupe-sim --place), 100 nodes and
# 1,000 slots: after a death, every slot runs exactly once within 2 s of
# every node knowing it, and only the dead node's slots moved; a join
# moves about slots/N (1.5 x slots/N on average over the joins); after a
# 2-group partition heals, every slot runs exactly once within 10 s of the
# membership being whole again, on the nodes it ran on before.
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
