#!/bin/bash
# Leaves, kills and restarts under 10% datagram loss, every node joining
# through node 0 alone (the seed's join list is its own address, as with
# one config for all machines): each restarted node is back, seeing and
# seen by every running node, within 5 s, and the cluster ends whole.
# Seeds 1-8.
. "$(dirname "$0")/lib.bash"
for seed in 1 2 3 4 5 6 7 8; do
    sim "$TMP/r$seed" --nodes 30 --seconds 5m --profile fast --loss 10% --seeds 1 --seed $seed \
        --leave 0@30s --restart 0@32s --kill 5@40s --restart 5@41s --leave 7-9@60s \
        --restart 7-9@90s --kill 0@120s --restart 0@150s --leave 3@180s --restart 3@181s
    check "$TMP/r$seed" '.rejoin_seen_by_all.n == 7 and .rejoin_seen_by_all.never == 0' \
        "seed $seed: all 7 restarts back"
    check "$TMP/r$seed" '.rejoin_seen_by_all.max_ms < 5000' \
        "seed $seed: back within 5 s (max $(jq .rejoin_seen_by_all.max_ms "$TMP/r$seed") ms)"
    check "$TMP/r$seed" '.missing_pairs == 0' "seed $seed: whole at the end"
done
