#!/bin/bash
# A bad spec is refused with an error naming the field, and the running
# version keeps running (same pid); a good new version replaces it.
. "$(dirname "$0")/sup_lib.sh"
sup_agent
cat >"$TMP/v1.json" <<JSON
{"name": "app", "command": "/bin/sh", "args": ["-c", "echo v1; exec sleep 300"], "user": "$SUP_USER"}
JSON
T run "$TMP/v1.json" >/dev/null || fail "v1 refused"
wait_until 5 "app runs" state_is app 0 running
pid=$(field app 0 pid)
refused() { # json field
    printf '%s' "$1" >"$TMP/bad.json"
    T run "$TMP/bad.json" 2>"$TMP/err" && fail "applied a bad spec: $1"
    grep -q -- "$2" "$TMP/err" || fail "the error does not name $2: $(cat "$TMP/err")"
    say "refused, naming $2: $(cat "$TMP/err")"
}
refused '{"name": "app", "command": "/bin/sh", "restart": "sometimes"}' 'restart'
refused '{"name": "app", "command": "/bin/sh", "instances": 100}' 'instances'
refused '{"name": "app", "command": "/bin/sh", "ports": {"http": 99999}}' 'ports.http'
refused '{"name": "app", "command": "/bin/sh", "colour": "blue"}' 'colour'
refused "{\"name\": \"app\", \"command\": \"/no/such/binary\", \"user\": \"$SUP_USER\"}" command
refused '{"name": "app", "command": "/bin/sh", "user": "no-such-user-x"}' 'user'
refused '{"name": "app", "command": "/bin/sh", "checks": [{"http": "ftp://x"}]}' 'checks\[0\].http'
refused '{"name": "app", "command": "/bin/sh"' 'not JSON'
refused '{"name": "app", "bundle": "app@1"}' 'bundle: this agent verifies no bundles; start it with --trust-repo'
refused '{"name": "app", "command": "/bin/sh", "bundle": "app@1"}' 'not both'
code=$(curl -s -o "$TMP/out" -w '%{http_code}' -X PUT --data '{"name": 5}' "127.0.0.1:$H/v1/agent/run")
[ "$code" = 400 ] && grep -q '"name' "$TMP/out" || fail "API: $code $(cat "$TMP/out")"
[ "$(field app 0 pid)" = "$pid" ] && state_is app 0 running || fail "the running version was touched: $(T ps)"
cat >"$TMP/v2.json" <<JSON
{"name": "app", "command": "/bin/sh", "args": ["-c", "echo v2; exec sleep 300"], "user": "$SUP_USER", "stop_grace_ms": 2000}
JSON
T run "$TMP/v2.json" >/dev/null || fail "v2 refused"
wait_until 10 "app runs v2" sh -c "\"$BIN\" --http 127.0.0.1:$H logs app | grep -q v2"
[ "$(field app 0 pid)" != "$pid" ] || fail "v2 did not replace v1"
T ps nosuch 2>"$TMP/err" && fail "ps of an unknown service"
grep -q 'no service named' "$TMP/err" || fail "ps nosuch: $(cat "$TMP/err")"
T scale app x 2>/dev/null; [ $? = 2 ] || fail "scale with a bad N is not a usage error"
T rm app >/dev/null || fail "troupe rm"
