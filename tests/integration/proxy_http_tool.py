#!/usr/bin/env python3
"""proxy_http_tool.py: clients for the proxy's http tests (t903).
  ws PORT        an upgrade (websocket) round trip through 127.0.0.1:PORT:
                 101, bytes echoed, the end of our side passed on; "ok"
  tcp PORT       a tcp round trip with half-close: 100000 bytes sent, our
                 side ended, the answer read to its end; prints it
  halfclose PORT a GET /big, our side ended right after it: prints the
                 status line and the body's length read to the close
  load PORT N [METHOD PATH]
                 N keep-alive requests one after another (GET /, or
                 METHOD PATH with a small body); prints a JSON object:
                 statuses, attempts (a histogram of x-troupe-attempts),
                 errors"""
import http.client
import json
import socket
import sys


def ws(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"GET /ws HTTP/1.1\r\nhost: t\r\nconnection: Upgrade\r\n"
              b"upgrade: websocket\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        b = s.recv(1)
        if not b:
            sys.exit("closed before the head: %r" % head)
        head += b
    if not head.startswith(b"HTTP/1.1 101"):
        sys.exit("not 101: %r" % head)
    if b"upgrade: websocket" not in head.lower():
        sys.exit("no upgrade header in %r" % head)
    for msg in (b"hello\n", b"x" * 100000):
        s.sendall(msg)
        got = b""
        while len(got) < len(msg):
            b = s.recv(65536)
            if not b:
                sys.exit("closed after %d bytes" % len(got))
            got += b
        if got != msg:
            sys.exit("echo differs")
    s.shutdown(socket.SHUT_WR)
    if s.recv(10) != b"":
        sys.exit("the end of our side did not end the other")
    print("ok")


def read_to_end(s):
    """Every byte s gives until the other side ends its own."""
    out = b""
    while True:
        b = s.recv(65536)
        if not b:
            return out
        out += b


def tcp(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"y" * 100000)
    s.shutdown(socket.SHUT_WR)
    out = read_to_end(s)
    print(out.decode().strip())


def halfclose(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"GET /big HTTP/1.1\r\nhost: t\r\n\r\n")
    s.shutdown(socket.SHUT_WR)
    out = read_to_end(s)
    head, _, body = out.partition(b"\r\n\r\n")
    print(head.split(b"\r\n")[0].decode(), len(body))


def load(port, n, method="GET", path="/"):
    out = {"statuses": {}, "attempts": {}, "errors": 0}
    conn = None
    for _ in range(n):
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request(method, path, body=None if method == "GET" else b"x" * 10)
            r = conn.getresponse()
            r.read()
            k = str(r.status)
            out["statuses"][k] = out["statuses"].get(k, 0) + 1
            a = r.getheader("x-troupe-attempts", "none")
            out["attempts"][a] = out["attempts"].get(a, 0) + 1
            if r.getheader("connection", "") == "close":
                conn.close()
                conn = None
        except (OSError, http.client.HTTPException):
            out["errors"] += 1
            conn = None
    print(json.dumps(out, sort_keys=True))


if sys.argv[1] == "ws":
    ws(int(sys.argv[2]))
elif sys.argv[1] == "tcp":
    tcp(int(sys.argv[2]))
elif sys.argv[1] == "halfclose":
    halfclose(int(sys.argv[2]))
elif sys.argv[1] == "load":
    load(int(sys.argv[2]), int(sys.argv[3]), *sys.argv[4:6])
