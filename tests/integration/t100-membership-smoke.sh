#!/bin/bash
# One agent on loopback, no namespaces: it lists itself alive, answers its
# API, refuses bad requests with JSON errors, sees a peer join and leave, and
# stops on SIGTERM with exit 0 within 2 s. Also run with the sanitizer build, and with TROUPE_VALGRIND=1
# under valgrind (memcheck: any memory error or definite leak fails it).
. "$(dirname "$0")/lib.sh"
[ -x "$BIN" ] || fail "no troupe binary at $BIN"
reserve_ports G H P PH # gossip and HTTP of solo, then of its peer
WRAP=() CLI_WRAP=() stop_ms=2000 start_s=10
if [ -n "${TROUPE_VALGRIND:-}" ]; then
    command -v valgrind >/dev/null || fail "TROUPE_VALGRIND is set but valgrind is not installed"
    vg=(valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite
        --errors-for-leak-kinds=definite)
    WRAP=("${vg[@]}" --log-file="$TMP/valgrind.log")
    CLI_WRAP=("${vg[@]}" --log-file="$TMP/valgrind-cli.%p.log")
    stop_ms=10000 start_s=60 # valgrind runs the agent 20-50 times slower
    say "the agent and the CLI run under valgrind (memcheck)"
fi
"${WRAP[@]}" "$BIN" agent --node solo --bind 127.0.0.1:$G --http 127.0.0.1:$H --data-dir "$TMP/solo" \
    --tag role=test >"$TMP/solo.log" 2>&1 &
PID[1]=$!
say "started solo (pid ${PID[1]}) gossip $G, http $H"
T() { "${CLI_WRAP[@]}" "$BIN" --http 127.0.0.1:$H "$@"; }
wait_until "$start_s" "solo answers" T info
[ "$(T members --json | jq -r '.[0].name + " " + .[0].status + " " + .[0].tags.role')" = "solo alive test" ] ||
    fail "members --json does not list solo alive with its tag: $(T members --json)"
T members | grep -q "^solo .*alive" || fail "members table lacks solo"
[ "$(T members --status dead --json | jq length)" = 0 ] || fail "--status dead lists someone"
curl -sf "127.0.0.1:$H/v1/health" | jq -e '.status == "ok"' >/dev/null || fail "/v1/health"
curl -sf "127.0.0.1:$H/metrics" | grep -q '^troupe_membership_members{status="alive"} 1' || fail "/metrics"
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
# a peer joins over gossip (so that path runs under the sanitizers too) and leaves
"$BIN" agent --node peer --bind 127.0.0.1:$P --http 127.0.0.1:$PH --data-dir "$TMP/peer" \
    --join 127.0.0.1:$G >"$TMP/peer.log" 2>&1 &
PID[2]=$!
say "started peer (pid ${PID[2]}) gossip $P, joining solo"
solo_sees() { [ "$(T members --json | jq -r --arg n "$1" '.[] | select(.name == $n) | .status')" = "$2" ]; }
wait_until "$start_s" "solo sees peer alive" solo_sees peer alive
kill -TERM "${PID[2]}"
wait_until "$start_s" "solo sees peer left" solo_sees peer left
t0=$(date +%s%N)
kill -TERM "${PID[1]}"
wait "${PID[1]}"
rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
for f in "$TMP"/valgrind*.log; do
    [ -s "$f" ] || continue
    echo "--- valgrind found, in $(basename "$f"):"
    cat "$f"
    fail "valgrind found memory errors or leaks (agent exit $rc)"
done
[ $rc -eq 0 ] || fail "exit $rc after SIGTERM"
[ $ms -le $stop_ms ] || fail "took $ms ms to stop"
say "stopped in $ms ms with exit 0"
