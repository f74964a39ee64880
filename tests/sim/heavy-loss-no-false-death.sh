#!/bin/bash
# 100 nodes lose 20% of the datagrams on every link for 5 simulated minutes:
# many suspicions, and refutations that miss some members, but a member that
# holds a stale suspicion is set right (it gossips the suspicion again
# halfway through its timeout, and whoever knows the refutation answers),
# so no node that runs is declared dead. A killed node is still seen dead.
. "$(dirname "$0")/lib.bash"
for seed in 1 2; do
    sim "$TMP/r$seed" --nodes 100 --seconds 5m --loss 0.2 --seed "$seed" --kill 7@60s
    check "$TMP/r$seed" '.false_suspicions > 1000' "seed $seed: the loss did cause suspicions"
    check "$TMP/r$seed" '.false_deaths == 0' "seed $seed: no false death"
    check "$TMP/r$seed" '.death_seen_by_all.n == 1 and .death_seen_by_all.never == 0' \
        "seed $seed: the killed node is seen dead by all"
done
