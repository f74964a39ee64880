#!/usr/bin/env python3
"""slow_load.py PORT CLIENTS STOPFILE: CLIENTS threads, each sending GET /
to 127.0.0.1:PORT over one keep-alive connection, one request after the
other, until STOPFILE exists. Prints {"ok": N, "failed": N, "errors": [...]}:
a request fails on any answer but 200, or a connection error.
SLOW_LOAD_PATH sends another path than /."""
import http.client
import json
import os
import sys
import threading

PORT, CLIENTS, STOP = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
PATH = os.environ.get("SLOW_LOAD_PATH", "/")
lock = threading.Lock()
counts = {"ok": 0, "failed": 0, "errors": []}


def client():
    conn = None
    while not os.path.exists(STOP):
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=20)
            conn.request("GET", PATH)
            r = conn.getresponse()
            r.read()
            ok = r.status == 200
            why = "%d %s" % (r.status, r.getheader("x-troupe-reason", ""))
            if r.getheader("connection", "").lower() == "close":
                conn.close()
                conn = None
        except Exception as e:  # a failed request, counted and told
            ok, why = False, repr(e)
            if conn is not None:
                conn.close()
            conn = None
        with lock:
            counts["ok" if ok else "failed"] += 1
            if not ok and len(counts["errors"]) < 10:
                counts["errors"].append(why)
    if conn is not None:
        conn.close()


threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
for t in threads:
    t.start()
while any(t.is_alive() for t in threads):
    threads[0].join(2)
    if os.environ.get("SLOW_LOAD_PROGRESS"):
        with lock:
            print(json.dumps(counts), file=sys.stderr, flush=True)
for t in threads:
    t.join()
print(json.dumps(counts))
