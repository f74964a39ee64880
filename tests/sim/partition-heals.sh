#!/bin/bash
# A network split in two for a minute: each side declares the other dead,
# and after the split ends the halves merge into one cluster again.
. "$(dirname "$0")/lib.bash"
sim "$TMP/r" --nodes 100 --seconds 4m --partition '0-39|40-99@30s-90s'
check "$TMP/r" '.formed_ms != null and .formed_ms < 30000' "formed before the split"
check "$TMP/r" '.partition_deaths > 0' "the halves saw each other die"
check "$TMP/r" '.whole_since_ms != null and .whole_since_ms > 90000' \
    "one cluster again after the split (since $(jq .whole_since_ms "$TMP/r") ms)"
check "$TMP/r" '.missing_pairs == 0 and .false_deaths == 0' "nothing missing, no false death"
