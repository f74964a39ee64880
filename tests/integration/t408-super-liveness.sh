#!/bin/bash
# Supervised instances are in the catalog: registered with their address
# and port when started (readiness gates passing), deregistered when
# stopped; a liveness check that goes critical restarts the instance.
. "$(dirname "$0")/sup_lib.sh"
command -v python3 >/dev/null || { echo "python3 is not installed"; exit 77; }
sup_agent
passing() { curl -sf "127.0.0.1:$H/v1/health/service/$1?passing=1" | jq -e --arg p "$2" 'any(.[]; .status == "passing" and .service.meta.pid == $p)' >/dev/null; }
listed() { curl -sf "127.0.0.1:$H/v1/catalog/service/$1" | jq -e 'length > 0' >/dev/null; }
cat >"$TMP/web.json" <<JSON
{"name": "web", "command": "/usr/bin/python3", "args": ["-m", "http.server", "--bind", "127.0.0.1"],
 "user": "$SUP_USER", "dir": "/", "ports": {"http": "auto"}, "stop_grace_ms": 500,
 "env": {"PYTHONUNBUFFERED": "1"},
 "checks": [{"name": "ready", "role": "readiness", "tcp": "127.0.0.1:\${PORT}", "interval_ms": 100, "timeout_ms": 90},
            {"name": "alive", "role": "liveness", "http": "http://127.0.0.1:\${PORT}/", "interval_ms": 200, "timeout_ms": 150,
             "failures_before_critical": 2}]}
JSON
# python's http.server takes the port as its last argument: give it $PORT through sh
jq '.command = "/bin/sh" | .args = ["-c", "exec /usr/bin/python3 -m http.server --bind 127.0.0.1 $PORT"]' \
    "$TMP/web.json" >"$TMP/web2.json"
T run "$TMP/web2.json" || fail "troupe run refused the spec"
wait_until 10 "web is running" state_is web 0 running
pid=$(field web 0 pid)
port=$(field web 0 ports | jq .http)
wait_until 10 "web/0 (pid $pid) is passing in the catalog" passing web "$pid"
curl -sf "127.0.0.1:$H/v1/catalog/service/web" | jq -e --argjson p "$port" '.[0].port == $p' >/dev/null ||
    fail "the catalog does not have port $port: $(curl -s "127.0.0.1:$H/v1/catalog/service/web")"
say "freeze web/0 (SIGSTOP): its liveness check must fail and restart it"
kill -STOP "$pid"
wait_until 15 "web/0 was restarted with a new pid" sh -c "p=\$(\"$BIN\" --http 127.0.0.1:$H ps web --json | jq '.[0].pid'); [ \"\$p\" -gt 0 ] && [ \"\$p\" != $pid ]"
grep -q 'web/0 unhealthy: a liveness check is critical' "$TMP/solo.log" || fail "the liveness restart is not reported"
newpid=$(field web 0 pid)
wait_until 10 "the replacement (pid $newpid) is passing" passing web "$newpid"
T stop web >/dev/null
wait_until 10 "web is down" state_is web 0 down
wait_until 5 "web is deregistered" sh -c "! curl -sf 127.0.0.1:$H/v1/catalog/service/web | jq -e 'length > 0' >/dev/null"
