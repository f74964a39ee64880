#!/bin/bash
# A service that crashes at once is restarted with a growing backoff
# (100, 200, 400, 800 ms), and the crashes are reported: ps shows the
# restarts and the last exit, the log has every exit and restart.
. "$(dirname "$0")/sup_lib.sh"
sup_agent
cat >"$TMP/crash.json" <<JSON
{"name": "crash", "command": "/bin/sh", "args": ["-c", "echo started; exit 3"],
 "user": "$SUP_USER", "start_limit": {"burst": 10, "interval_ms": 60000}}
JSON
T run "$TMP/crash.json" || fail "troupe run refused the spec"
wait_until 10 "crash restarted 4 times" restarts_ge crash 0 4
delays=$(grep -o 'crash/0 restart: in [0-9]* ms (backoff)' "$TMP/solo.log" | awk '{print $4}' | head -n 4 | tr '\n' ' ')
say "backoff delays: $delays"
[ "$delays" = "100 200 400 800 " ] || fail "backoff is not 100 200 400 800 ms: $delays"
# the real gaps between starts grow too
starts=$(grep -E 'crash/0 (start|restart): pid' "$TMP/solo.log" | head -n 5 | cut -c12-23 |
    awk -F: '{print ($1 * 3600 + $2 * 60 + $3) * 1000}')
gaps=$(echo "$starts" | awk 'NR > 1 {printf "%d ", $1 - prev} {prev = $1}')
say "gaps between starts (ms): $gaps"
echo "$gaps" | awk '{for (i = 2; i <= NF; i++) if ($i <= $(i-1)) exit 1; if ($1 < 100) exit 1}' ||
    fail "gaps between starts do not grow: $gaps"
[ "$(field crash 0 last_exit)" = "exit 3" ] || fail "last exit is not reported: $(field crash 0 last_exit)"
grep -q 'crash/0 exit: exit 3' "$TMP/solo.log" || fail "exits are not logged"
T ps | grep -q '^crash .*exit 3' || fail "troupe ps does not show the crash"
T logs crash | grep -q '^started$' || fail "logs lack the output"
# every start, exit and restart is in the event history
curl -sf "127.0.0.1:$H/v1/events?kind=sup-exit" | jq -e '[.[] | select(.subject == "crash/0")] | length >= 4' >/dev/null ||
    fail "exits are not in the event history: $(curl -s "127.0.0.1:$H/v1/events?kind=sup-exit" | head -c 300)"
curl -sf "127.0.0.1:$H/v1/events?kind=sup-restart" | jq -e 'length >= 4' >/dev/null || fail "restarts are not in the history"
