#!/bin/bash
# Killed nodes are seen dead by every running node, at both profiles, and
# no node that runs is declared dead on the way.
. "$(dirname "$0")/lib.bash"
for profile in lan fast; do
    sim "$TMP/$profile" --nodes 50 --seconds 90 --profile $profile --kill 3@20s --kill 10-11@25s
    check "$TMP/$profile" '.death_seen_by_all.n == 3 and .death_seen_by_all.never == 0' \
        "$profile: all 3 deaths seen by all"
    check "$TMP/$profile" '.false_deaths == 0' "$profile: no false death"
    check "$TMP/$profile" '.missing_pairs == 0' "$profile: the 47 left see each other"
done
