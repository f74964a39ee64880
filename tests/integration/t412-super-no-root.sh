#!/bin/bash
# No root by accident: a spec asking for root (user or group root, added
# capabilities, a port below 1024 on the host's network) is refused with a
# 403 naming the field and what it needs, from the API and from the config
# dir (the refused file is logged by name, the others still load), unless
# the agent was started with --allow-root-services; then the instance runs
# as uid 0.
. "$(dirname "$0")/sup_lib.sh"
[ "$(id -u)" = 0 ] || { say "needs root"; exit 1; }
mkdir -p "$TMP/conf/run"
cat >"$TMP/conf/run/as-root.json" <<JSON
{"name": "as-root", "command": "/bin/sh", "args": ["-c", "exec sleep 300"], "user": "root"}
JSON
cat >"$TMP/conf/run/plain.json" <<JSON
{"name": "plain", "command": "/bin/sh", "args": ["-c", "exec sleep 300"], "user": "$SUP_USER", "stop_grace_ms": 1000}
JSON
sup_agent --config-dir "$TMP/conf"
wait_until 5 "plain from the config dir runs" state_is plain 0 running
grep -q 'as-root.json refused, the running version (if any) stays: field "user": "root" needs an agent started with --allow-root-services' \
    "$TMP/solo.log" || fail "the refused file is not logged by name and field: $(grep as-root "$TMP/solo.log")"
say "config dir: $(grep -o 'as-root.json refused.*' "$TMP/solo.log")"
[ -z "$(field as-root 0 pid)" ] || fail "as-root runs"

# refused_api JSON FIELD: a 403 naming the field and the flag
refused_api() {
    local code
    code=$(curl -s -o "$TMP/out" -w '%{http_code}' -X PUT --data "$1" "127.0.0.1:$H/v1/agent/run")
    [ "$code" = 403 ] || fail "API answered $code to $1: $(cat "$TMP/out")"
    jq -e --arg f "field \"$2\":" '.error | contains($f) and contains("--allow-root-services") and contains("run:write on service")' \
        "$TMP/out" >/dev/null || fail "the error does not name $2 and the flag: $(cat "$TMP/out")"
    say "refused: $(jq -r .error "$TMP/out")"
}
refused_api '{"name": "web", "command": "/bin/sh", "args": ["-c", "exec sleep 300"], "user": "root"}' user
refused_api '{"name": "web", "command": "/bin/sh", "user": "0"}' user
refused_api "{\"name\": \"web\", \"command\": \"/bin/sh\", \"user\": \"$SUP_USER\", \"group\": \"root\"}" group
refused_api "{\"name\": \"web\", \"command\": \"/bin/sh\", \"user\": \"$SUP_USER\", \"ports\": {\"http\": 80}}" ports.http
refused_api '{"name": "web", "runtime": "crun", "rootfs": "/", "command": "/bin/sh", "capabilities": ["CAP_SYS_ADMIN"]}' capabilities
# root under another name: uid 0 is refused too
if ! getent passwd troupe-toor >/dev/null; then
    useradd -o -u 0 -g 0 -M -N -s /usr/sbin/nologin troupe-toor 2>/dev/null && ADDED_TOOR=1
fi
if [ -n "${ADDED_TOOR:-}" ]; then
    # -f: the account shares uid 0 with every root process
    trap 'rc=$?; userdel -f troupe-toor 2>/dev/null; (exit $rc); sup_cleanup' EXIT
    refused_api '{"name": "web", "command": "/bin/sh", "user": "troupe-toor"}' user
    userdel -f troupe-toor 2>/dev/null
fi
[ -z "$(T ps --json | jq '.[] | select(.service == "web")')" ] || fail "a refused spec runs: $(T ps)"

say "restart the agent with --allow-root-services"
kill -TERM "${PID[1]}"
wait "${PID[1]}" 2>/dev/null
sup_agent --config-dir "$TMP/conf" --allow-root-services
wait_until 5 "as-root from the config dir runs" state_is as-root 0 running
code=$(curl -s -o "$TMP/out" -w '%{http_code}' -X PUT --data \
    '{"name": "web", "command": "/bin/sh", "args": ["-c", "exec sleep 300"], "user": "root", "stop_grace_ms": 1000}' \
    "127.0.0.1:$H/v1/agent/run")
[ "$code" = 200 ] || fail "the root spec is refused with --allow-root-services: $code $(cat "$TMP/out")"
wait_until 5 "web runs" state_is web 0 running
for svc in web as-root; do
    pid=$(field $svc 0 pid)
    uid=$(awk '/^Uid:/ {print $2 $3 $4 $5}' "/proc/$pid/status")
    [ "$uid" = 0000 ] || fail "$svc (pid $pid) runs as uid $uid, not 0"
    say "$svc runs as uid 0 (pid $pid): $(grep ^Uid: "/proc/$pid/status")"
done
pid=$(field plain 0 pid)
[ "$(awk '/^Uid:/ {print $2}' "/proc/$pid/status")" = "$(id -u "$SUP_USER")" ] || fail "plain is not $SUP_USER"
T rm web >/dev/null && T rm as-root >/dev/null && T rm plain >/dev/null || fail "troupe rm"
true
