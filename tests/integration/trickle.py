#!/usr/bin/env python3
"""trickle.py: a slow client. Sends TEXT to HOST:PORT one byte every
INTERVAL seconds until the server closes the connection, then prints the
seconds from the first byte to the close and the first line the server
answered ("-" when none). A test helper of tests/integration (t112).

usage: trickle.py HOST PORT INTERVAL PREFIX TEXT
  PREFIX goes at once (e.g. the headers, so that only the body trickles)."""
import socket
import sys
import time

host, port, interval = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
prefix = sys.argv[4].encode().decode("unicode_escape").encode()
text = sys.argv[5].encode()
s = socket.create_connection((host, port))
start = time.monotonic()
got = b""
if prefix:
    s.sendall(prefix)
s.settimeout(interval)
for i in range(len(text) * 10):
    try:
        if i < len(text):
            s.sendall(text[i:i + 1])
        data = s.recv(4096)
        if not data:
            break
        got += data
    except socket.timeout:
        continue
    except OSError:
        break
line = got.split(b"\r\n", 1)[0].decode(errors="replace") or "-"
print("%.2f %s" % (time.monotonic() - start, line))
