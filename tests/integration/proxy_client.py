#!/usr/bin/env python3
"""proxy_client.py PORT N [HEADER:VALUE] [PATH]: N GET requests to 127.0.0.1:PORT
over one keep-alive connection (a new one when the server closes it);
prints a JSON object answer -> count, with "status NNN" for a response
that is not 200."""
import http.client
import json
import sys

port, n = int(sys.argv[1]), int(sys.argv[2])
headers = {}
path = sys.argv[4] if len(sys.argv) > 4 else "/"
if len(sys.argv) > 3 and sys.argv[3]:
    k, v = sys.argv[3].split(":", 1)
    headers[k] = v
counts = {}
conn = None
for _ in range(n):
    for attempt in range(2):
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", path, headers=headers)
            r = conn.getresponse()
            body = r.read().decode().strip()
            key = body if r.status == 200 else "status %d" % r.status
            if r.getheader("connection", "").lower() == "close":
                conn.close()
                conn = None
            break
        except (http.client.HTTPException, OSError) as e:
            conn = None
            key = "error %s" % type(e).__name__
    counts[key] = counts.get(key, 0) + 1
print(json.dumps(counts, sort_keys=True))
