#!/usr/bin/env python3
"""proxy_load.py PORT [options]: steady GET load through a proxy listener on
127.0.0.1:PORT, over CONNS keep-alive connections (one thread each), with
no retry of its own: a request that gets no 200 is a failed request.
  --n N          stop after N requests in all
  --until FILE   stop once FILE exists
  --conns C      connections (threads), 1 by default
  --header K:V   a header on every request
  --progress F   writes the running counts (JSON) to F every 100 requests
Prints one JSON object: answers (body -> count), failed, failures (kind ->
count), requests, seconds, and first/last: per answer, the index of the
request that first and last got it."""
import http.client
import json
import os
import sys
import threading
import time

args = sys.argv[1:]
port = int(args.pop(0))
opt = {"--n": None, "--until": None, "--conns": "1", "--header": None, "--progress": None}
while args:
    k = args.pop(0)
    opt[k] = args.pop(0)
n_max = int(opt["--n"]) if opt["--n"] else None
conns = int(opt["--conns"])
headers = {}
if opt["--header"]:
    k, v = opt["--header"].split(":", 1)
    headers[k] = v

lock = threading.Lock()
state = {"answers": {}, "failed": 0, "failures": {}, "requests": 0, "first": {}, "last": {}}
stop = threading.Event()


def record(answer, ok):
    with lock:
        i = state["requests"]
        if n_max is not None and i >= n_max:
            stop.set()
            return
        state["requests"] = i + 1
        if ok:
            state["answers"][answer] = state["answers"].get(answer, 0) + 1
            state["first"].setdefault(answer, i)
            state["last"][answer] = i
        else:
            state["failed"] += 1
            state["failures"][answer] = state["failures"].get(answer, 0) + 1
        if opt["--progress"] and state["requests"] % 100 == 0:
            tmp = opt["--progress"] + ".tmp"
            with open(tmp, "w") as f:
                json.dump(state, f, sort_keys=True)
            os.replace(tmp, opt["--progress"])
        if n_max is not None and state["requests"] >= n_max:
            stop.set()


def worker():
    conn = None
    while not stop.is_set():
        if opt["--until"] and os.path.exists(opt["--until"]):
            stop.set()
            break
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
            conn.request("GET", "/", headers=headers)
            r = conn.getresponse()
            body = r.read().decode().strip()
            if r.status == 200:
                record(body, True)
            else:
                record("status %d %s" % (r.status, r.getheader("x-troupe-reason", "")), False)
            if r.getheader("connection", "").lower() == "close":
                conn.close()
                conn = None
        except (http.client.HTTPException, OSError) as e:
            record("error %s" % type(e).__name__, False)
            if conn:
                conn.close()
            conn = None


t0 = time.time()
threads = [threading.Thread(target=worker) for _ in range(conns)]
for t in threads:
    t.start()
for t in threads:
    t.join()
state["seconds"] = round(time.time() - t0, 3)
print(json.dumps(state, sort_keys=True))
