#!/bin/bash
# ${PORT} and ${PORT_name} in a spec's args are replaced by the instance's
# ports, as in its checks: a program that takes its port as a flag needs no
# shell around it.
. "$(dirname "$0")/sup_lib.sh"
sup_agent
cat >"$TMP/app.json" <<'JSON'
{"name": "app", "command": "/bin/sh",
 "args": ["-c", "echo \"got $1 $2\"; exec sleep 300", "sh", "--port=${PORT}", "--admin=${PORT_admin}"],
 "ports": {"http": "auto", "admin": "auto"}, "user": "nobody", "stop_grace_ms": 1000}
JSON
T run "$TMP/app.json" >/dev/null || fail "troupe run refused the spec"
wait_until 5 "app runs" state_is app 0 running
http=$(T ps --json | jq -r '.[0].ports.http')
admin=$(T ps --json | jq -r '.[0].ports.admin')
[ -n "$http" ] && [ "$http" != null ] || fail "no http port in ps: $(T ps --json)"
wait_until 5 "the program got its ports as arguments" \
    sh -c "\"$BIN\" --http 127.0.0.1:$H logs app | grep -q -- 'got --port=$http --admin=$admin'"
true
