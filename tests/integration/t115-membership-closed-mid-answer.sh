#!/bin/bash
# Clients that go away in the middle of an answer, on every TCP path of
# the agent: a large API answer read in part then reset, DNS over TCP
# closed before the answer is read, gossip streams cut mid-frame. The
# agent ignores SIGPIPE: each write fails on its own connection, and the
# agent keeps running and answering, and stays in the cluster.
. "$(dirname "$0")/lib.sh"
net_up 2
start 1 --join 10.77.0.1
start 2 --join 10.77.0.1
for i in 1 2; do wait_until 15 "h$i sees 2 alive" sees_count "$i" alive 2; done
say "600 keys of 1 KiB on h1: the answer to ?recurse is about 800 KB"
v=$(head -c 1024 /dev/zero | tr '\0' x)
for k in $(seq 1 600); do api 1 PUT "/v1/kv/big/$k" --data-binary "$v" >/dev/null || fail "put $k"; done
cat >"$TMP/cut.py" <<'PY'
import socket, struct, sys
def conn(host, port):
    s = socket.create_connection((host, port), timeout=5)
    # close with a reset: the agent's next write fails at once
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    return s
for _ in range(30):
    s = conn("127.0.0.1", 7421)  # a large API answer, read in part
    s.sendall(b"GET /v1/kv/big/?recurse HTTP/1.1\r\nHost: x\r\n\r\n")
    s.recv(4096)
    s.close()
    s = conn("127.0.0.1", 7453)  # DNS over TCP: ask, then go
    q = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x02h2\x04node\x06troupe\x00\x00\x01\x00\x01"
    s.sendall(struct.pack("!H", len(q)) + q)
    s.close()
    s = conn("10.77.0.1", 7420)  # a gossip stream cut mid-frame
    s.sendall(b"\x00\x00\x10\x00" + b"\x01" * 64)
    s.close()
PY
say "30 rounds of cut connections against h1"
ip netns exec "$(ns 1)" python3 "$TMP/cut.py" || fail "the client script failed"
kill -0 "${PID[1]}" || fail "h1 died (signal?)"
n=$(api 1 GET "/v1/kv/big/?recurse" | jq length) || fail "h1 does not answer"
[ "$n" = 600 ] || fail "h1 lists $n keys, not 600"
wait_until 10 "h1 and h2 still see each other alive" all_see h2 alive 1
wait_until 10 "h2 sees h1 alive" all_see h1 alive 2
