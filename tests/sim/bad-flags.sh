#!/bin/bash
# Bad flags are refused with exit 2 and a message naming what is wrong;
# a churn run whose catalog checks fail exits 1.
. "$(dirname "$0")/lib.bash"
expect() { # CODE PATTERN ARGS...
    local code=$1 pat=$2 out rc
    shift 2
    out=$("$SIM" "$@" 2>&1)
    rc=$?
    [ $rc -eq "$code" ] || fail "'troupe-sim $*' exited $rc, expected $code: $out"
    echo "$out" | grep -q -- "$pat" || fail "'troupe-sim $*' did not say '$pat': $out"
    say "ok: troupe-sim $* -> $code: $(echo "$out" | head -n 1)"
}
expect 2 "--nodes" --nodes 0
expect 2 "--nodes" --nodes ten
expect 2 "--loss" --loss 1.5
expect 2 "--loss" --loss lots
expect 2 "--latency-ms" --latency-ms 9-3
expect 2 "--seconds" --seconds 5h
expect 2 "--kill" --kill 3
expect 2 "--kill" --nodes 10 --kill 10@5s
expect 2 "--partition" --partition '0-4@5s'
expect 2 "--partition" --nodes 10 --partition '0-4|3-9@5s'
expect 2 "--partition" --partition '0-4|5-9@9s-5s'
expect 2 "--join-late" --join-late 5
expect 2 "--profile" --profile turbo
expect 2 "--services" --services lots
expect 2 "--services" --services 101
expect 2 "--churn" --churn many
expect 2 "--gc" --churn 5 --gc 0
expect 2 "--gc-rule" --gc-rule sometimes
expect 2 "--fault-kinds" --fault-kinds flood
expect 2 "--reap-after" --reap-after 0
expect 2 "--place" --place 0
expect 2 "--place" --place lots
expect 2 "--place-update" --place 10 --place-update 0
expect 2 "--place-update" --place 10 --place-update soon
expect 2 "--place-parallel" --place 10 --place-parallel 0
expect 2 "--place-parallel" --place 10 --place-parallel 65
expect 2 "--place-lag" --place 10 --place-lag lots
expect 2 "unknown option" --frobnicate
expect 2 "unexpected argument" extra
expect 0 "Usage: troupe-sim" --help
expect 0 "join seen by all" --nodes 3 --seconds 5
expect 0 "place exactly once" --nodes 3 --seconds 5 --place 10
expect 0 "place rollout" --nodes 3 --seconds 10 --place 10 --place-update 2s
# a partition still open at the end: the catalog cannot agree, and the
# exit code says so (scripts may trust it, not only the figures)
expect 1 "checks failed under churn" --nodes 8 --seconds 2m --churn 20 --gc 5s \
    --partition '0-3|4-7@30s-120s'
expect 0 "agreed" --nodes 8 --seconds 2m --churn 20 --gc 5s --partition '0-3|4-7@30s-60s'
