#!/usr/bin/env python3
"""cut_conns.py: peers that go away in the middle of an answer. A test
helper of tests/integration (t115).

usage: cut_conns.py client KIND HOST PORT ROUNDS [WAYS]
  Asks the agent at HOST:PORT for a large answer, ROUNDS times in each of
  three ways (WAYS, comma-separated: all of them by default), and says how
  many bytes of answers it read:
    early   asks, half-closes (FIN) and resets (RST) at once, before the
            agent answers: the agent's first write meets a peer that reset
            a half-closed connection, which the kernel reports with
            SIGPIPE (EPIPE where the signal is ignored);
    reset   reads a few bytes of the answer through a small receive
            buffer, so that the agent is blocked mid-answer, then resets;
    halfrst the same, but half-closes first and resets after: the agent's
            next write, mid-answer, meets EPIPE (SIGPIPE).
  KIND is what is asked: http (GET /v1/kv/big/?recurse), dns (100
  pipelined SRV queries of _big._tcp.service.troupe over TCP), gossip (a
  catalog sync in the clear with an empty digest: the answer is every
  record; and a frame cut short). Exits 1 when the agent refuses a
  connection: it is gone.

usage: cut_conns.py mirror PORT DIR MODEFILE
  An HTTP mirror of DIR on 127.0.0.1:PORT. MODEFILE holds how it answers
  the next requests: ok; early (half-close and reset before reading the
  request); mid (a bundle under targets/ is cut half way with a
  half-close and a reset; metadata is served whole)."""
import os
import socket
import struct
import sys
import threading
import time


def reset(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def request(kind):
    if kind == "http":
        return b"GET /v1/kv/big/?recurse HTTP/1.1\r\nHost: x\r\n\r\n"
    if kind == "dns":
        q = (b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
             b"\x04_big\x04_tcp\x07service\x06troupe\x00\x00\x21\x00\x01")
        return (struct.pack("!H", len(q)) + q) * 100
    # gossip: [len][TRP v1, key id 0: clear][codec 1, MSG_REPL 12, SYNC 1][digest: 0 origins]
    body = b"TRP\x01\x00\x00\x00\x00" + b"\x01\x0c\x01" + b"\x00\x00\x00\x00"
    return struct.pack("!I", len(body)) + body


def client(kind, host, port, rounds, ways):
    req = request(kind)
    read = {w: 0 for w in ways}

    def connect(rcvbuf):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:  # before connect: the window the agent sees stays small
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.settimeout(10)
        try:
            s.connect((host, port))
        except ConnectionRefusedError:
            print("connection refused: the agent is gone")
            sys.exit(1)
        return s

    for _ in range(rounds):
        if "early" in ways:
            s = connect(0)
            s.sendall(req)
            s.shutdown(socket.SHUT_WR)
            reset(s)
        for way in [w for w in ("reset", "halfrst") if w in ways]:
            s = connect(4096)
            s.sendall(req)
            try:
                read[way] += len(s.recv(100))
                time.sleep(0.05)  # the agent fills what the window takes, and waits
                if way == "halfrst":
                    s.shutdown(socket.SHUT_WR)
                    time.sleep(0.01)
            except OSError:
                pass
            reset(s)
        if kind == "gossip":  # a frame announcing 4096 bytes, cut after 64
            s = connect(0)
            s.sendall(b"\x00\x00\x10\x00" + b"\x01" * 64)
            reset(s)
    print("%s: %d rounds, bytes of answers read before the cut: %s" % (kind, rounds, read))
    if not all(read[w] for w in ways if w != "early"):
        print("the agent never started answering: nothing was cut mid-answer")
        sys.exit(1)


def mirror(port, root, modefile):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(64)

    def serve(c):
        try:
            with open(modefile) as f:
                mode = f.read().strip()
        except OSError:
            mode = "ok"
        if mode == "early":
            c.shutdown(socket.SHUT_WR)
            reset(c)
            print("cut before reading a request", flush=True)
            return
        req = b""
        while b"\r\n\r\n" not in req:
            d = c.recv(4096)
            if not d:
                c.close()
                return
            req += d
        path = req.split(b" ")[1].decode()
        try:
            with open(os.path.join(root, path.lstrip("/")), "rb") as f:
                body = f.read()
        except OSError:
            c.sendall(b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            c.close()
            return
        head = b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body)
        if mode == "mid" and path.startswith("/targets/"):
            c.sendall(head + body[: len(body) // 2])
            c.shutdown(socket.SHUT_WR)
            reset(c)
            print("cut %s after %d of %d bytes" % (path, len(body) // 2, len(body)), flush=True)
            return
        c.sendall(head + body)
        c.close()

    while True:
        c, _ = srv.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


if __name__ == "__main__":
    if len(sys.argv) in (6, 7) and sys.argv[1] == "client":
        ways = sys.argv[6].split(",") if len(sys.argv) == 7 else ["early", "reset", "halfrst"]
        if not ways or any(w not in ("early", "reset", "halfrst") for w in ways):
            sys.exit(__doc__)
        client(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), ways)
    elif len(sys.argv) == 5 and sys.argv[1] == "mirror":
        mirror(int(sys.argv[2]), sys.argv[3], sys.argv[4])
    else:
        sys.exit(__doc__)
