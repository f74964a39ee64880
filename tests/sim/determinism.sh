#!/bin/bash
# The same flags and seed give byte-identical output; another seed gives
# another run.
. "$(dirname "$0")/lib.bash"
args=(--nodes 60 --seconds 90 --loss 0.05 --latency-ms 1-20 --kill 7@20s
      --partition '0-19|20-59@30s-50s' --join-late 3@10s)
for fmt in text json; do
    flag=(); [ $fmt = json ] && flag=(--json)
    say "troupe-sim ${args[*]} ${flag[*]} --seed 42 (twice) and --seed 43"
    "$SIM" "${args[@]}" "${flag[@]}" --seed 42 >"$TMP/a.$fmt" 2>/dev/null || fail "first run failed"
    "$SIM" "${args[@]}" "${flag[@]}" --seed 42 >"$TMP/b.$fmt" 2>/dev/null || fail "second run failed"
    "$SIM" "${args[@]}" "${flag[@]}" --seed 43 >"$TMP/c.$fmt" 2>/dev/null || fail "third run failed"
    cmp "$TMP/a.$fmt" "$TMP/b.$fmt" || fail "same seed, different $fmt output"
    say "ok: same seed, identical $fmt output"
    cmp -s "$TMP/a.$fmt" "$TMP/c.$fmt" && fail "seeds 42 and 43 gave the same $fmt output"
    say "ok: another seed, another $fmt output"
done
[ "$(jq -r .trace "$TMP/a.json")" != "$(jq -r .trace "$TMP/c.json")" ] ||
    fail "seeds 42 and 43 have the same trace"
