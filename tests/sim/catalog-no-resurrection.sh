#!/bin/bash
# Catalog churn under faults: 8 nodes write and delete records of every
# kind (KV, specs, routes and tokens shared, last writer wins), collecting tombstones every
# 5 s, while partitions and freezes of 10 to 60 s (longer than the
# collection period) and restarts from an old snapshot of the replica come
# and go. Once they are over every node holds the same live records, each
# as its origin holds it, and each shared key reads as its newest write or
# delete: nothing deleted is back, nothing written is lost. Eight seeds,
# with and without restarts (docs/catalog.md gives the figures over forty
# and two hundred).
. "$(dirname "$0")/lib.bash"
for kinds in partition,freeze partition,freeze,restart; do
    for seed in 1 2 3 4 5 6 7 8; do
        sim "$TMP/r" --nodes 8 --seconds 5m --churn 20 --faults 12 --fault-kinds "$kinds" \
            --gc 5s --seed "$seed"
        what="seed $seed, $kinds"
        check "$TMP/r" '.churn.ops > 300 and .churn.deletes > 0 and .churn.kv_deletes > 0 and
            .churn.gc_collected > 0' "$what: writes, deletes, collections"
        check "$TMP/r" '.churn.faults | .partitions + .freezes + .restarts >= 8' "$what: faults"
        check "$TMP/r" '.churn.unseen_pairs == 0' "$what: every node sees every other alive"
        check "$TMP/r" '.churn.diverged == 0 and .churn.resurrected == 0 and .churn.lost == 0' \
            "$what: the same records everywhere, nothing deleted back, nothing lost"
        check "$TMP/r" '.churn.agree_after_heal_ms != null and .churn.agree_after_heal_ms < 60000' \
            "$what: agreed within a minute of the last fault"
    done
done
# the census at work: with collection counting only live members (the old
# rule), members cut off miss tombstones that are collected, and learn of
# the deletes by census
sim "$TMP/s" --nodes 8 --seconds 5m --churn 20 --faults 12 --fault-kinds partition,freeze \
    --gc 5s --gc-rule serving --seed 1
check "$TMP/s" '.churn.census_dropped > 0 and .churn.resurrected == 0 and .churn.diverged == 0' \
    "old collection rule: censuses dropped $(jq .churn.census_dropped "$TMP/s") records, nothing back"
