#!/bin/bash
# api-tls: what TLS costs the HTTP API. Two agents on loopback, one serving
# plain HTTP and one TLS (a throwaway CA and certificate made with the
# openssl command); curl sends REQUESTS requests of GET /v1/health over one
# kept-alive connection to each, ROUNDS times alternately, and the best
# requests per second of each is printed, with their ratio, and the CPU
# time each agent spent per request (less disturbed by a busy machine than
# the rate). Also the resident memory of both agents afterwards: the TLS
# one has mapped OpenSSL. No floor: it prints.
#
# usage: bench/api-tls.sh   (environment: TROUPE_BIN, REQUESTS=5000, ROUNDS=3)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
REQUESTS=${REQUESTS:-5000}
ROUNDS=${ROUNDS:-3}
TMP=$(mktemp -d /tmp/troupe-bench.XXXXXX)
declare -A PID
cleanup() {
    for p in "${PID[@]}"; do kill -TERM "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
[ -x "$BIN" ] || { echo "api-tls: no troupe binary at $BIN"; exit 2; }

ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
openssl req -x509 "${ec[@]}" -keyout "$TMP/ca.key" -out "$TMP/ca.pem" -days 1 \
    -subj /CN=bench-ca 2>/dev/null &&
    openssl req "${ec[@]}" -keyout "$TMP/key.pem" -out "$TMP/req.csr" -subj /CN=bench \
        2>/dev/null &&
    printf 'subjectAltName=IP:127.0.6.2\n' >"$TMP/ext" &&
    openssl x509 -req -in "$TMP/req.csr" -CA "$TMP/ca.pem" -CAkey "$TMP/ca.key" \
        -CAcreateserial -out "$TMP/cert.pem" -days 1 -extfile "$TMP/ext" 2>/dev/null ||
    { echo "api-tls: openssl could not make the certificates"; exit 2; }

start() { # start I FLAGS...: agent on 127.0.6.I, API on :27421
    local i=$1
    shift
    "$BIN" agent --node "b$i" --bind "127.0.6.$i:27420" --http "127.0.6.$i:27421" --dns off \
        --data-dir "$TMP/b$i" --log-level warn "$@" >"$TMP/b$i.log" 2>&1 &
    PID[$i]=$!
}
start 1
start 2 --http-tls-cert "$TMP/cert.pem" --http-tls-key "$TMP/key.pem"
for _ in $(seq 1 100); do
    curl -sf -o /dev/null http://127.0.6.1:27421/v1/health &&
        curl -sf -o /dev/null --cacert "$TMP/ca.pem" https://127.0.6.2:27421/v1/health && break
    sleep 0.1
done

# cpu PID: the CPU time of the process so far, in clock ticks
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# rps URL [curl args]: requests per second of REQUESTS GETs on one connection
rps() {
    local url=$1 t0 t1 n
    shift
    t0=$(date +%s%N)
    n=$(curl -s "$@" -o /dev/null -w '%{http_code}\n' "$url?[1-$REQUESTS]" | grep -c '^200$')
    t1=$(date +%s%N)
    [ "$n" = "$REQUESTS" ] || { echo "api-tls: only $n of $REQUESTS answered 200 at $url" >&2; echo 0; return; }
    echo $((REQUESTS * 1000000000 / (t1 - t0)))
}
best_plain=0 best_tls=0
c1=$(cpu "${PID[1]}") c2=$(cpu "${PID[2]}")
for r in $(seq 1 "$ROUNDS"); do
    p=$(rps http://127.0.6.1:27421/v1/health)
    t=$(rps https://127.0.6.2:27421/v1/health --cacert "$TMP/ca.pem")
    echo "round $r: plain $p req/s, TLS $t req/s"
    [ "$p" -gt "$best_plain" ] && best_plain=$p
    [ "$t" -gt "$best_tls" ] && best_tls=$t
done
us_per() { # us_per PID TICKS_BEFORE: the agent's CPU microseconds per request
    awk -v a="$2" -v b="$(cpu "$1")" -v hz="$(getconf CLK_TCK)" -v n="$((ROUNDS * REQUESTS))" \
        'BEGIN { printf "%.1f", (b - a) * 1000000 / hz / n }'
}
rss() { awk '/^(VmRSS|RssAnon|RssFile)/ {printf "%s %s ", $1, $2}' "/proc/$1/status"; }
echo "best of $ROUNDS x $REQUESTS requests on one kept-alive connection (curl):"
echo "  plain HTTP $best_plain req/s, TLS $best_tls req/s," \
    "ratio $(awk -v a="$best_tls" -v b="$best_plain" 'BEGIN { printf "%.2f", b ? a / b : 0 }')"
echo "  agent CPU per request: plain $(us_per "${PID[1]}" "$c1") us, TLS $(us_per "${PID[2]}" "$c2") us"
echo "  memory (KiB) of the plain agent: $(rss "${PID[1]}")"
echo "  memory (KiB) of the TLS agent:   $(rss "${PID[2]}")"
