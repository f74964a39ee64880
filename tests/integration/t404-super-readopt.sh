#!/bin/bash
# kill -9 of the agent leaves the instances running; the restarted agent
# re-adopts them (same pids) and watches them again: a crash of an adopted
# instance is seen and it is restarted.
. "$(dirname "$0")/sup_lib.sh"
sup_agent
cat >"$TMP/web.json" <<JSON
{"name": "web", "command": "/bin/sh", "args": ["-c", "echo up; exec sleep 300"],
 "user": "$SUP_USER", "instances": 2, "ports": {"http": "auto"}}
JSON
T run "$TMP/web.json" || fail "troupe run refused the spec"
wait_until 5 "both web instances run" sh -c "[ \"\$(\"$BIN\" --http 127.0.0.1:$H ps web --json | jq '[.[] | select(.state == \"running\")] | length')\" = 2 ]"
p0=$(field web 0 pid); p1=$(field web 1 pid); port0=$(field web 0 ports | jq .http)
say "kill -9 the agent (instances $p0 $p1)"
kill -9 "${PID[1]}"
wait "${PID[1]}" 2>/dev/null
# a signal on the agent's death would come at once: 0.5 s is plenty (and the
# restarted agent must find the same pids below)
both_run() { kill -0 "$p0" && kill -0 "$p1"; }
hold 0.5 "the instances outlive the agent" both_run
sup_agent
state_is web 0 running && state_is web 1 running || fail "not running after the restart: $(T ps)"
[ "$(field web 0 pid)" = "$p0" ] && [ "$(field web 1 pid)" = "$p1" ] || fail "pids changed: $(T ps)"
[ "$(field web 0 ports | jq .http)" = "$port0" ] || fail "the port changed"
grep -q "web/0: re-adopted pid $p0" "$TMP/solo.log" || fail "no re-adoption logged"
say "kill the adopted instance $p0"
kill -9 "$p0"
wait_until 5 "web/0 was restarted with a new pid" sh -c "p=\$(\"$BIN\" --http 127.0.0.1:$H ps web --json | jq '.[] | select(.instance == 0) | .pid'); [ \"\$p\" -gt 0 ] && [ \"\$p\" != $p0 ]"
state_is web 1 running || fail "web/1 is not running"
T stop web >/dev/null
wait_until 15 "web stopped" sh -c "! kill -0 $p1 2>/dev/null"
