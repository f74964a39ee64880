#!/bin/bash
# 100 nodes lose 10% of the datagrams on every link for 10 simulated
# minutes: suspicions come and get refuted, but no node that runs is ever
# declared dead, and in the end every node sees every other.
. "$(dirname "$0")/lib.bash"
for seed in 1 2 3; do
    sim "$TMP/r$seed" --nodes 100 --seconds 10m --loss 0.1 --seed "$seed"
    check "$TMP/r$seed" '.false_deaths == 0' "seed $seed: no false death"
    check "$TMP/r$seed" '.datagrams_lost > 0' "seed $seed: the network did lose datagrams"
    check "$TMP/r$seed" '.missing_pairs == 0' "seed $seed: everyone sees everyone at the end"
done
