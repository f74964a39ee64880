#!/bin/bash
# Specs in CONFIG_DIR/run/*.json run at start and on SIGHUP; a bad file is
# refused naming the file and the field, and the version that runs stays;
# a service whose file is removed is stopped and forgotten on SIGHUP.
. "$(dirname "$0")/sup_lib.sh"
mkdir -p "$TMP/conf/run"
cat >"$TMP/conf/run/app.json" <<JSON
{"name": "app", "command": "/bin/sh", "args": ["-c", "echo v1; exec sleep 300"], "user": "$SUP_USER", "stop_grace_ms": 1000}
JSON
sup_agent --config-dir "$TMP/conf"
wait_until 5 "app from the config dir runs" state_is app 0 running
pid=$(field app 0 pid)
cat >"$TMP/conf/run/app.json" <<JSON
{"name": "app", "command": "/bin/sh", "args": ["-c", "echo v2; exec sleep 300"], "user": "$SUP_USER", "restart": "maybe"}
JSON
kill -HUP "${PID[1]}"
wait_until 5 "the bad file is refused naming restart" grep -q "app.json refused, the running version (if any) stays: restart:" "$TMP/solo.log"
[ "$(field app 0 pid)" = "$pid" ] || fail "the running version was replaced by a refused file"
rm "$TMP/conf/run/app.json"
kill -HUP "${PID[1]}"
wait_until 5 "app is forgotten" sh -c "[ \"\$(\"$BIN\" --http 127.0.0.1:$H ps --json | jq length)\" = 0 ]"
kill -0 "$pid" 2>/dev/null && fail "app still runs"
true
