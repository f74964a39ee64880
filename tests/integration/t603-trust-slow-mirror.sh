#!/bin/bash
# A mirror that answers the head, then goes silent, is given up after
# --trust-fetch-idle-ms, and the agent stays responsive meanwhile (the fetch
# runs off its loop). A mirror that cannot be reached is an error that says
# so, not a refusal.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || fail "python3 is needed for the stalling mirror"
trust_workdir
reserve_ports G H M
"$BIN" trust init repo --passphrase-file pass >/dev/null || fail "trust init"

# answers every request with a head announcing 1000 bytes, sends 10, stalls
python3 - "$M" >stall.log 2>&1 <<'EOF' &
import socket, sys, time, threading
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", int(sys.argv[1])))
srv.listen(16)
def stall(c):
    c.recv(4096)
    c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789")
    print("stalling", flush=True)
    time.sleep(60)
while True:
    c, _ = srv.accept()
    threading.Thread(target=stall, args=(c,), daemon=True).start()
EOF
PID[stall]=$!
wait_until 10 "the stalling mirror listens" bash -c "exec 3<>/dev/tcp/127.0.0.1/$M"

"$BIN" agent --node solo --bind 127.0.0.1:$G --http 127.0.0.1:$H --data-dir "$TMP/data" \
    --trust-repo "http://127.0.0.1:$M" --trust-root "$TMP/repo/repository/root.json" \
    --trust-fetch-idle-ms 700 >"$TMP/agent.log" 2>&1 &
PID[agent]=$!
wait_until 10 "the agent answers" "$BIN" --http 127.0.0.1:$H info

t0=$(date +%s%N)
"$BIN" --http 127.0.0.1:$H bundle fetch web@1.0 >out.txt 2>&1 &
fetch=$!
wait_until 5 "the mirror sent its first bytes and stalls" grep -q stalling stall.log
"$BIN" --http 127.0.0.1:$H info >/dev/null || fail "the agent does not answer while fetching"
kill -0 $fetch 2>/dev/null || fail "the fetch ended before the agent was asked: $(cat out.txt)"
wait $fetch
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
[ $rc -eq 1 ] || fail "fetch from a stalling mirror exited $rc: $(cat out.txt)"
grep -q "timed out (the server went silent)" out.txt || fail "no timeout named: $(cat out.txt)"
[ $ms -lt 5000 ] || fail "giving up took $ms ms"
say "gave up on the silent mirror after $ms ms: $(cat out.txt)"

kill -9 "${PID[stall]}"
wait "${PID[stall]}" 2>/dev/null
code=$(curl -s -o out.json -w '%{http_code}' -X PUT -d '{"bundle": "web@1.0"}' \
    "127.0.0.1:$H/v1/bundle/fetch")
[ "$code" = 502 ] && jq -e '(.error | test("cannot connect")) and (.refused == null)' out.json \
    >/dev/null || fail "an unreachable mirror: $code $(cat out.json)"
say "an unreachable mirror: $code $(jq -r .error out.json)"
