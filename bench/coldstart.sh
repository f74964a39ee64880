#!/bin/bash
# coldstart: how fast a service at zero instances answers its first
# request through troupe's proxy. One agent in a network namespace of its
# own (as root), one route per service, each a cluster spec with
# "scale": {"min": 0, "idle_after_ms": 100}. N times (50) per kind, once
# the service is back at zero: a client connects to the route's port and
# the time to the first byte of the answer is taken (the proxy holds the
# connection, the agent starts the instance, its readiness is probed every
# few ms, the request goes on). Beside it, the physical limit: the same
# program's own time from exec to accepting (started by the bench, a
# connect tried in a tight loop). Kinds: a process that binds its port, the
# same process socket-activated (the agent binds the port and passes it as
# fd 3, LISTEN_FDS/LISTEN_PID, as systemd does), and the same program in a
# crun container when crun runs here (else skipped, saying so).
#
# Floors (issue 14): a process cold start under 20 ms plus the program's
# own start time, crun under 150 ms plus the same; the median against its
# own median, the p99 against its own p99. For scale:
# Knative documents 2 to 15 s for a cold start (its activator waits for
# Kubernetes to schedule a pod).
#
# usage: bench/coldstart.sh   (environment: TROUPE_BIN, N=50)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
N=${N:-50}
[ "$(id -u)" -eq 0 ] || { echo "coldstart: needs root (a network namespace)"; exit 77; }
[ -x "$BIN" ] || { echo "coldstart: no troupe binary at $BIN"; exit 2; }
command -v cc >/dev/null || { echo "coldstart: needs cc"; exit 77; }
PY=/usr/bin/python3
[ -x "$PY" ] || { echo "coldstart: needs $PY"; exit 77; }
TMP=$(mktemp -d /tmp/troupe-bench.XXXXXX)
NS="troupe-bench-cold-$$"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    pkill -9 -f "$TMP/bin/srv" 2>/dev/null
    ip netns del "$NS" 2>/dev/null
    [ -n "${KEEP:-}" ] && echo "kept $TMP" || rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
ip netns add "$NS" || { echo "coldstart: cannot make a network namespace"; exit 2; }
ip -n "$NS" link set lo up
in_ns() { ip netns exec "$NS" "$@"; }

# the server, statically linked (a container runs it too), where nobody reads it
chmod 711 "$TMP"
mkdir -m 755 "$TMP/bin" "$TMP/rootfs" "$TMP/rootfs/bin"
cc -O2 -static -o "$TMP/bin/srv" "$SRC/bench/coldstart_srv.c" ||
    { echo "coldstart: cannot build bench/coldstart_srv.c"; exit 2; }
cp "$TMP/bin/srv" "$TMP/rootfs/bin/srv"
chmod -R a+rX "$TMP/bin" "$TMP/rootfs"

ip netns exec "$NS" "$BIN" agent --node bench --bind 127.0.0.1:7420 --data-dir "$TMP/agent" \
    --dns off --log-level "${LOG_LEVEL:-info}" >"$TMP/agent.log" 2>&1 &
PIDS+=($!)
T() { in_ns "$BIN" "$@"; }
for _ in $(seq 1 50); do T info >/dev/null 2>&1 && break; sleep 0.1; done
T info >/dev/null 2>&1 || { echo "coldstart: the agent does not answer"; tail "$TMP/agent.log"; exit 2; }

cat >"$TMP/measure.py" <<'PY'
import json, os, socket, subprocess, sys, time, urllib.request

def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, int(round(p * len(xs) + 0.5)) - 1))]

def report(key, label, xs):
    print("  %-34s median %8.2f ms   p99 %8.2f ms   (n=%d)" % (label, pct(xs, 0.5), pct(xs, 0.99), len(xs)))
    with open(os.environ["OUT"] + "/res." + key, "w") as f:
        f.write("%.3f %.3f\n" % (pct(xs, 0.5), pct(xs, 0.99)))

def accepting(port, deadline):
    while time.perf_counter() < deadline:
        s = socket.socket()
        try:
            s.connect(("127.0.0.1", port))
            return True
        except OSError:
            pass
        finally:
            s.close()
    return False

def exec_to_accept(n, srv, port):
    xs = []
    for _ in range(n):
        t0 = time.perf_counter()
        p = subprocess.Popen([srv, str(port)])
        ok = accepting(port, t0 + 5)
        t1 = time.perf_counter()
        p.kill(); p.wait()
        if not ok:
            sys.exit("the server did not accept within 5 s")
        xs.append((t1 - t0) * 1000)
    return xs

def metric(token, name):
    req = urllib.request.Request("http://127.0.0.1:7421/metrics", headers={"X-Troupe-Token": token})
    for line in urllib.request.urlopen(req, timeout=5).read().decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return -1

def at_zero(token, service):
    req = urllib.request.Request("http://127.0.0.1:7421/v1/health/service/" + service,
                                 headers={"X-Troupe-Token": token})
    return (json.loads(urllib.request.urlopen(req, timeout=5).read()) == [] and
            metric(token, "troupe_place_cold_start_instances") == 0)

def first_byte(port):
    t0 = time.perf_counter()
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(b"GET / HTTP/1.1\r\nhost: bench\r\nconnection: close\r\n\r\n")
    b = s.recv(1)
    t1 = time.perf_counter()
    rest = b
    while True:
        x = s.recv(4096)
        if not x:
            break
        rest += x
    s.close()
    if not rest.startswith(b"HTTP/1.1 200"):
        sys.exit("not a 200: %r" % rest[:200])
    return (t1 - t0) * 1000

def cold(n, port, service, token):
    xs = []
    for _ in range(n):
        deadline = time.time() + 30
        while not at_zero(token, service):
            if time.time() > deadline:
                sys.exit("%s did not go back to zero within 30 s" % service)
            time.sleep(0.02)
        xs.append(first_byte(port))
    return xs

mode = sys.argv[1]
if mode == "exec":
    report("own", "own start (exec -> accepting)", exec_to_accept(int(sys.argv[2]), sys.argv[3], int(sys.argv[4])))
else:
    token = open(sys.argv[5]).read().strip()
    report(sys.argv[4], sys.argv[6], cold(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], token))
PY
export OUT=$TMP
mkdir -p "$TMP/specs"

# service NAME PORT EXTRA: a spec at zero and its route on PORT
service() {
    cat >"$TMP/specs/$1.json" <<JSON
{"name": "$1", "user": "nobody", "args": ["\${PORT}"], "ports": {"http": "auto"},
 "scale": {"min": 0, "max": 1, "idle_after_ms": 100, "start_timeout_ms": 10000}, $3}
JSON
    T apply "$TMP/specs/$1.json" >/dev/null || { echo "coldstart: apply $1 refused"; exit 2; }
    echo "{\"service\": \"$1\", \"port\": $2}" | T route set - >/dev/null ||
        { echo "coldstart: route $1"; exit 2; }
    for _ in $(seq 1 50); do in_ns bash -c "exec 3<>/dev/tcp/127.0.0.1/$2" 2>/dev/null && break; sleep 0.1; done
}
measure() { in_ns "$PY" "$TMP/measure.py" "$@" || { echo "coldstart: $*: failed"; tail -20 "$TMP/agent.log"; exit 2; }; }

TOKEN=$TMP/agent/acl/management-token
echo "coldstart: $N cold starts per kind, time from connect to the first byte of the answer"
echo "  (Knative documents 2-15 s for a cold start: its activator waits for Kubernetes)"
measure exec "$N" "$TMP/bin/srv" 18500
service process 19101 "\"command\": \"$TMP/bin/srv\""
service socket 19102 "\"command\": \"$TMP/bin/srv\", \"socket_activation\": true"
# one start of each first, not counted: placement waits a few seconds after
# the agent starts alone (docs/place.md), and the first start pays for cold caches
measure cold 1 19101 process "$TOKEN" "warm-up" >/dev/null
measure cold 1 19102 socket "$TOKEN" "warm-up" >/dev/null
measure cold "$N" 19101 process "$TOKEN" "process at zero (binds its port)"
measure cold "$N" 19102 socket "$TOKEN" "process at zero, socket-activated"
if command -v crun >/dev/null && crun --version >/dev/null 2>&1; then
    service box 19103 "\"command\": \"/bin/srv\", \"runtime\": \"crun\", \"rootfs\": \"$TMP/rootfs\""
    if in_ns "$PY" "$TMP/measure.py" cold 1 19103 box "$TOKEN" "crun probe" >/dev/null 2>&1; then
        measure cold "$N" 19103 box "$TOKEN" "crun container at zero"
    else
        echo "  crun: installed, but a container does not start here: skipped ($(tail -n 1 \
            "$TMP/agent/logs/box/63.log" 2>/dev/null | cut -d' ' -f3-))"
    fi
else
    echo "  crun: not installed here: skipped"
fi

read -r own own99 <"$TMP/res.own"
rc=0
# verdict KIND FLOOR_MS: the median under FLOOR_MS + the program's own
# median start, the p99 under FLOOR_MS + its own p99 start (the same
# machine's noise on both sides)
verdict() {
    local m p
    [ -f "$TMP/res.$1" ] || return 0
    read -r m p <"$TMP/res.$1"
    awk -v n="$1" -v m="$m" -v p="$p" -v f="$2" -v o="$own" -v o99="$own99" 'BEGIN {
        ok = m < f + o && p < f + o99
        printf "floor %-8s median %.2f < %d + %.2f ms, p99 %.2f < %d + %.2f ms: %s\n",
            n, m, f, o, p, f, o99, ok ? "met" : "MISSED"
        exit !ok }' || rc=1
}
verdict process 20
verdict socket 20
verdict box 150
exit $rc
