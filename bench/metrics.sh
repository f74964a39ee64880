#!/bin/bash
# metrics: what a scrape of GET /metrics costs the agent with INSTANCES
# instances (each with a ttl check) in its catalog. One agent on loopback;
# the instances are registered over one kept-alive connection, then SCRAPES
# scrapes run over another, and the agent's CPU time across them is read
# from /proc/PID/stat (utime + stime, clock ticks) and, finer, from
# /proc/PID/schedstat (ns on the CPU). Prints CPU per scrape and the bytes
# of one scrape. Fails over 1 ms of agent CPU per scrape.
#
# usage: bench/metrics.sh   (environment: TROUPE_BIN, INSTANCES=1000, SCRAPES=100)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
INSTANCES=${INSTANCES:-1000}
SCRAPES=${SCRAPES:-100}
TMP=$(mktemp -d /tmp/troupe-bench.XXXXXX)
PORT=27521
P=
cleanup() {
    [ -n "$P" ] && kill -TERM "$P" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
[ -x "$BIN" ] || { echo "metrics: no troupe binary at $BIN"; exit 2; }

"$BIN" agent --node bench --bind 127.0.7.1:27520 --http "127.0.7.1:$PORT" --dns off \
    --data-dir "$TMP/d" --log-level warn >"$TMP/agent.log" 2>&1 &
P=$!
for _ in $(seq 1 100); do curl -sf -o /dev/null "http://127.0.7.1:$PORT/v1/health" && break; sleep 0.1; done

python3 - "$PORT" "$INSTANCES" <<'PY' || { echo "metrics: registering failed"; exit 1; }
import http.client, json, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
c = http.client.HTTPConnection("127.0.7.1", port, timeout=30)
for i in range(n):
    body = json.dumps({"name": "svc%d" % (i % 50), "id": "inst-%d" % i, "port": 10000 + i,
                       "tags": ["bench"], "checks": [{"id": "ttl-%d" % i, "ttl": "1h"}]})
    c.request("PUT", "/v1/agent/service/register", body)
    r = c.getresponse()
    r.read()
    if r.status != 200:
        sys.exit("register %d: HTTP %d" % (i, r.status))
PY
n=$(curl -sf "http://127.0.7.1:$PORT/metrics" | awk '$1 == "troupe_catalog_local_instances" {print $2}')
[ "$n" = "$INSTANCES" ] || { echo "metrics: the agent holds $n instances, not $INSTANCES"; exit 1; }
bytes=$(curl -sf "http://127.0.7.1:$PORT/metrics" | wc -c)

ticks() { awk '{print $14 + $15}' "/proc/$P/stat"; }
ns() { awk '{print $1}' "/proc/$P/schedstat"; }
hz=$(getconf CLK_TCK)
t0=$(ticks) n0=$(ns) w0=$(date +%s%N)
ok=$(curl -s -o /dev/null -w '%{http_code}\n' "http://127.0.7.1:$PORT/metrics?[1-$SCRAPES]" | grep -c '^200$')
t1=$(ticks) n1=$(ns) w1=$(date +%s%N)
[ "$ok" = "$SCRAPES" ] || { echo "metrics: $ok of $SCRAPES scrapes answered 200"; exit 1; }
awk -v t="$((t1 - t0))" -v hz="$hz" -v ns="$((n1 - n0))" -v s="$SCRAPES" -v b="$bytes" \
    -v w="$((w1 - w0))" -v n="$INSTANCES" 'BEGIN {
    printf "metrics: %d instances, %d scrapes of %d bytes in %.1f ms wall\n", n, s, b, w / 1e6
    printf "  agent CPU per scrape: %.3f ms (/proc/PID/stat: %d ticks at %d Hz)\n", t * 1000 / hz / s, t, hz
    printf "  agent CPU per scrape: %.3f ms (/proc/PID/schedstat: %.1f ms on the CPU)\n", ns / 1e6 / s, ns / 1e6
}'
# the floor: under 1 ms of agent CPU per scrape (schedstat, the finer clock)
[ $(( (n1 - n0) / SCRAPES )) -lt 1000000 ] || { echo "metrics: over 1 ms of CPU per scrape"; exit 1; }
