#!/bin/bash
# One agent on loopback, no namespaces: it lists itself alive, answers its
# API, refuses bad requests with JSON errors, and stops on SIGTERM with exit
# 0 within 2 s. Also run with the sanitizer build.
. "$(dirname "$0")/lib.sh"
[ -x "$BIN" ] || fail "no troupe binary at $BIN"
G=$((20000 + $$ % 20000))
H=$((G + 1))
"$BIN" agent --node solo --bind 127.0.0.1:$G --http 127.0.0.1:$H --data-dir "$TMP/solo" \
    --tag role=test >"$TMP/solo.log" 2>&1 &
PID[1]=$!
say "started solo (pid ${PID[1]}) gossip $G, http $H"
T() { "$BIN" --http 127.0.0.1:$H "$@"; }
wait_until 10 "solo answers" T info
[ "$(T members --json | jq -r '.[0].name + " " + .[0].status + " " + .[0].tags.role')" = "solo alive test" ] ||
    fail "members --json does not list solo alive with its tag: $(T members --json)"
T members | grep -q "^solo .*alive" || fail "members table lacks solo"
[ "$(T members --status dead --json | jq length)" = 0 ] || fail "--status dead lists someone"
curl -sf "127.0.0.1:$H/v1/health" | jq -e '.status == "ok"' >/dev/null || fail "/v1/health"
curl -sf "127.0.0.1:$H/metrics" | grep -q '^troupe_members{status="alive"} 1' || fail "/metrics"
code=$(curl -s -o "$TMP/out" -w '%{http_code}' "127.0.0.1:$H/v1/nothing")
[ "$code" = 404 ] && jq -e .error "$TMP/out" >/dev/null || fail "unknown path: $code $(cat "$TMP/out")"
code=$(curl -s -o "$TMP/out" -w '%{http_code}' -X PUT -d '{"addrs": 5}' "127.0.0.1:$H/v1/join")
[ "$code" = 400 ] && grep -q addrs "$TMP/out" || fail "bad join body: $code $(cat "$TMP/out")"
code=$(curl -s -o "$TMP/out" -w '%{http_code}' -X PUT -d 'nope' "127.0.0.1:$H/v1/join")
[ "$code" = 400 ] || fail "non-JSON join body: $code"
code=$(curl -s -o "$TMP/out" -w '%{http_code}' -X DELETE "127.0.0.1:$H/v1/members")
[ "$code" = 405 ] || fail "DELETE /v1/members: $code"
printf 'GET / HTTP/1.1\r\nHost: x\r\nBad header\r\n\r\n' >"$TMP/req"
curl -s --max-time 2 "telnet://127.0.0.1:$H" <"$TMP/req" 2>/dev/null | head -n 1 | grep -q " 400 " ||
    fail "a malformed request is not answered 400"
grep -q "NOT encrypted" "$TMP/solo.log" || fail "no warning about clear gossip"
t0=$(date +%s%N)
kill -TERM "${PID[1]}"
wait "${PID[1]}"
rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ $rc -eq 0 ] || fail "exit $rc after SIGTERM"
[ $ms -le 2000 ] || fail "took $ms ms to stop"
say "stopped in $ms ms with exit 0"
