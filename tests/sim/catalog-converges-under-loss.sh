#!/bin/bash
# The catalog: 200 nodes each register 5 service instances; with 10% of
# datagrams lost, every node ends up holding all 1,000, and the figures
# (time until held by all, traffic) are reported.
. "$(dirname "$0")/lib.bash"
sim "$TMP/c.json" --nodes 200 --seconds 60 --services 5 --loss 0.1
check "$TMP/c.json" '.services.instances == 1000' "1000 instances registered"
check "$TMP/c.json" '.services.held_by_all.never == 0' "every instance held by every node"
check "$TMP/c.json" '.services.all_held_ms != null and .services.all_held_ms < 60000' \
    "all held by all within the run"
check "$TMP/c.json" '.services.held_by_all.p99_ms < 20000' "p99 time to held by all under 20 s"
check "$TMP/c.json" '.services.held_by_all_since_join.p99_ms < 8000' \
    "p99 time to held by all, each node counted from its join, under 8 s"
check "$TMP/c.json" '.services.bytes_per_node_s > 0 and .services.dropped == 0' \
    "traffic reported, no repl output dropped"
# without --services the report has no catalog section
sim "$TMP/n.json" --nodes 5 --seconds 5
check "$TMP/n.json" '.services == null' "no catalog figures without --services"
