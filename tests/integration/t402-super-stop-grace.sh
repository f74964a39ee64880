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
# it ignores SIGTERM once it said ready (the trap comes first)
wait_until 5 "stubborn said ready" sh -c "\"$BIN\" --http 127.0.0.1:$H logs stubborn | grep -q '^ready$'"
t0=$(date +%s%N)
T stop stubborn >/dev/null || fail "troupe stop"
# when the process dies, to 20 ms: not before the grace ran out, nor long after
while kill -0 "$pid" 2>/dev/null; do
    [ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 5000 ] || fail "pid $pid still runs 5 s after troupe stop"
    sleep 0.02
done
died=$(( ($(date +%s%N) - t0) / 1000000 ))
say "pid $pid died $died ms after troupe stop"
[ "$died" -ge 1000 ] || fail "stubborn died $died ms after troupe stop, before its 1000 ms grace ran out"
wait_until 5 "stubborn is down" state_is stubborn 0 down
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
say "down $ms ms after troupe stop"
[ "$died" -le 2500 ] && [ "$ms" -le 2500 ] || fail "took $died ms to die, $ms ms to be down: expected the 1000 ms grace"
grep -q 'stubborn/0 kill: still running 1000 ms after SIGTERM: SIGKILL' "$TMP/solo.log" ||
    fail "the kill after grace is not reported"
grep -q 'stubborn/0 exit: signal 9 (SIGKILL)' "$TMP/solo.log" || fail "the exit by SIGKILL is not reported"
curl -sf "127.0.0.1:$H/v1/events?kind=sup-kill" | jq -e '[.[] | select(.subject == "stubborn/0")] | length == 1' >/dev/null ||
    fail "the kill after grace is not in the event history"
