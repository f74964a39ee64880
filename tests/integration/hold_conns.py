#!/usr/bin/env python3
"""hold_conns.py: opens N TCP connections to HOST:PORT and holds them.

usage: hold_conns.py HOST PORT N MODE STATUS_FILE
  MODE idle: sends nothing; head: half a request line of HTTP (a client
  that never finishes its headers); bytes: one byte (half a DNS or gossip
  length prefix). Every 100 ms STATUS_FILE is replaced by "OPEN CLOSED":
  how many connections are open, and how many the server has closed. Runs
  until killed. A test helper of tests/integration (t112)."""
import os
import selectors
import socket
import sys
import time

host, port, n, mode, status = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
first = {"idle": b"", "head": b"GET /v1/self HTTP/1.1\r\nHost: x", "bytes": b"\x00"}[mode]
sel = selectors.DefaultSelector()
open_, closed = 0, 0


def write_status():
    tmp = status + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d %d\n" % (open_, closed))
    os.replace(tmp, status)


for i in range(n):
    s = socket.create_connection((host, port))
    if first:
        s.sendall(first)
    sel.register(s, selectors.EVENT_READ)
    open_ += 1
while True:
    for key, _ in sel.select(timeout=0.1):
        s = key.fileobj
        try:
            data = s.recv(4096)
        except OSError:
            data = b""
        if not data:
            sel.unregister(s)
            s.close()
            open_ -= 1
            closed += 1
    write_status()
