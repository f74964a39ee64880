#!/bin/bash
# The agent under a Type=notify unit, without systemd: a test socket stands
# in for $NOTIFY_SOCKET. READY=1 arrives once the API, DNS and gossip
# answer; WATCHDOG=1 every half of $WATCHDOG_USEC, from the loop, and none
# when $WATCHDOG_PID names another process; STOPPING=1 on SIGTERM; the
# abstract-namespace form (@name) works; the supervised services do not
# inherit NOTIFY_SOCKET.
. "$(dirname "$0")/sup_lib.sh"
command -v python3 >/dev/null || { echo "no python3: run scripts/deps"; exit 77; }
[ "$(id -u)" -eq 0 ] || { echo "this test runs a service as root"; exit 77; }
reserve_ports D # the DNS server

# listen.py SOCKET: prints every datagram with the time since start; on
# READY=1 it asks the API, the gossip port and the DNS server at once
cat >"$TMP/listen.py" <<PY
import socket, sys, time, urllib.request
path = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + path[1:] if path[0] == "@" else path)
t0 = time.time()
print("listening", flush=True)
while True:
    msg = s.recv(4096).decode()
    print("%.3f %s" % (time.time() - t0, msg), flush=True)
    if msg != "READY=1":
        continue
    try:
        ok = urllib.request.urlopen("http://127.0.0.1:$H/v1/health", timeout=1).status == 200
        print("api", "ok" if ok else "bad", flush=True)
    except Exception as e:
        print("api fail", e, flush=True)
    try:
        socket.create_connection(("127.0.0.1", $G), timeout=1).close()
        print("gossip ok", flush=True)
    except Exception as e:
        print("gossip fail", e, flush=True)
    q = bytes.fromhex("1234010000010000000000000473736f6c6f046e6f646506747275706500" + "00010001")
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(1)
    try:
        u.sendto(q, ("127.0.0.1", $D))
        print("dns", "ok" if u.recv(512)[:2] == q[:2] else "bad", flush=True)
    except Exception as e:
        print("dns fail", e, flush=True)
PY
listen() { # SOCKET LOG
    python3 -u "$TMP/listen.py" "$1" >"$2" 2>&1 &
    PID[9]=$!
    wait_until 5 "the test socket listens" grep -q listening "$2"
}
count() { grep -c "$1" "$2"; }

say "agent 1: NOTIFY_SOCKET=$TMP/notify.sock WATCHDOG_USEC=400000"
listen "$TMP/notify.sock" "$TMP/n1.txt"
NOTIFY_SOCKET=$TMP/notify.sock WATCHDOG_USEC=400000 WATCHDOG_PID= sup_agent --dns 127.0.0.1:$D \
    --allow-root-services
wait_until 5 "READY=1" grep -q '^[0-9.]* READY=1$' "$TMP/n1.txt"
wait_until 3 "the checks after READY=1" grep -q '^dns' "$TMP/n1.txt"
grep -q '^api ok' "$TMP/n1.txt" || fail "READY=1 before the API answered: $(cat "$TMP/n1.txt")"
grep -q '^gossip ok' "$TMP/n1.txt" || fail "READY=1 before gossip listened: $(cat "$TMP/n1.txt")"
grep -q '^dns ok' "$TMP/n1.txt" || fail "READY=1 before DNS answered: $(cat "$TMP/n1.txt")"
[ "$(count 'READY=1' "$TMP/n1.txt")" = 1 ] || fail "READY=1 more than once"

cat >"$TMP/env.json" <<JSON
{"name": "envdump", "command": "/bin/sh", "args": ["-c", "env >$TMP/env.txt; exec sleep 300"], "user": "root"}
JSON
T run "$TMP/env.json" >/dev/null || fail "troupe run refused the spec"
wait_until 5 "the service wrote its environment" test -s "$TMP/env.txt"
! grep -q '^NOTIFY_SOCKET=\|^WATCHDOG_' "$TMP/env.txt" || fail "the service inherited: $(grep 'NOTIFY\|WATCHDOG' "$TMP/env.txt")"
T rm envdump >/dev/null

sleep 1.2
n=$(count 'WATCHDOG=1' "$TMP/n1.txt")
say "$n watchdog pings (one every 200 ms)"
[ "$n" -ge 5 ] || fail "only $n WATCHDOG=1 in about 1.4 s at 200 ms: $(cat "$TMP/n1.txt")"
kill -TERM "${PID[1]}"
wait "${PID[1]}" 2>/dev/null
wait_until 3 "STOPPING=1" grep -q 'STOPPING=1' "$TMP/n1.txt"
kill "${PID[9]}"

say "agent 2: NOTIFY_SOCKET=@abstract, WATCHDOG_PID of another process"
listen "@troupe-t801-$$" "$TMP/n2.txt"
NOTIFY_SOCKET=@troupe-t801-$$ WATCHDOG_USEC=200000 WATCHDOG_PID=1 sup_agent --dns 127.0.0.1:$D
wait_until 5 "READY=1 on the abstract socket" grep -q 'READY=1' "$TMP/n2.txt"
sleep 0.5
[ "$(count 'WATCHDOG=1' "$TMP/n2.txt")" = 0 ] || fail "pinged a watchdog that is another process's"
grep -q 'ignoring\|warn.*systemd' "$TMP/solo.log" && fail "the agent warned: $(grep systemd "$TMP/solo.log")"
say "ok"
