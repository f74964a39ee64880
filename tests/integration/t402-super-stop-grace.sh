#!/bin/bash
# A service that ignores SIGTERM is killed with SIGKILL after its stop
# grace (1 s here), not before and not much after.
. "$(dirname "$0")/sup_lib.sh"
sup_agent
cat >"$TMP/stubborn.json" <<JSON
{"name": "stubborn", "command": "/bin/sh",
 "args": ["-c", "trap '' TERM; echo ready; while :; do sleep 0.1; done"],
 "user": "$SUP_USER", "stop_grace_ms": 1000}
JSON
T run "$TMP/stubborn.json" || fail "troupe run refused the spec"
wait_until 5 "stubborn is running" state_is stubborn 0 running
pid=$(field stubborn 0 pid)
sleep 0.3
t0=$(date +%s%N)
T stop stubborn >/dev/null || fail "troupe stop"
sleep 0.5
kill -0 "$pid" 2>/dev/null || fail "stubborn died before its grace ran out"
wait_until 5 "stubborn is down" state_is stubborn 0 down
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
say "down $ms ms after troupe stop"
kill -0 "$pid" 2>/dev/null && fail "pid $pid still runs"
[ "$ms" -ge 1000 ] && [ "$ms" -le 2500 ] || fail "took $ms ms, expected the 1000 ms grace"
grep -q 'stubborn/0 kill: still running 1000 ms after SIGTERM: SIGKILL' "$TMP/solo.log" ||
    fail "the kill after grace is not reported"
grep -q 'stubborn/0 exit: signal 9 (SIGKILL)' "$TMP/solo.log" || fail "the exit by SIGKILL is not reported"
curl -sf "127.0.0.1:$H/v1/events?kind=sup-kill" | jq -e '[.[] | select(.subject == "stubborn/0")] | length == 1' >/dev/null ||
    fail "the kill after grace is not in the event history"
