#!/bin/bash
# A crash-looping service hits the start limit (5 starts in 10 s) and goes
# to failed, reported, and stays there; troupe restart brings it back.
. "$(dirname "$0")/sup_lib.sh"
sup_agent
cat >"$TMP/loop.json" <<JSON
{"name": "loop", "command": "/bin/false", "user": "$SUP_USER"}
JSON
T run "$TMP/loop.json" || fail "troupe run refused the spec"
wait_until 10 "loop is failed" state_is loop 0 failed
[ "$(field loop 0 restarts)" = 4 ] || fail "expected 5 starts (4 restarts), got $(field loop 0 restarts) restarts"
grep -q 'loop/0 give-up: 5 starts within 10000 ms' "$TMP/solo.log" || fail "the give-up is not reported"
n=$(grep -c 'loop/0 exit' "$TMP/solo.log")
# Failed must stay failed. No event marks that long enough went by, so watch
# for 2.5 s: had the give-up not held, the next restart would have come
# 1.6 s after the last exit (the backoff after 100, 200, 400 and 800 ms).
stays_failed() { state_is loop 0 failed && [ "$(grep -c 'loop/0 exit' "$TMP/solo.log")" = "$n" ]; }
hold 2.5 "loop stays failed and is not started again" stays_failed
T restart loop >/dev/null || fail "troupe restart loop"
wait_until 5 "loop started again after troupe restart" grep -q 'loop/0 restart: pid .* (restart 5)' "$TMP/solo.log"
curl -sf "127.0.0.1:$H/v1/events?kind=sup-give-up" | jq -e 'length == 1' >/dev/null || fail "the give-up is not in the event history"
