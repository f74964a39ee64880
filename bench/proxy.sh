#!/bin/bash
# proxy: requests/s, latency and memory of troupe's proxy against HAProxy
# and nginx in front of the same backend, in the same run. Everything runs
# on the loopback of a network namespace of its own (as root): one nginx
# backend answering 1 KiB bodies with keep-alive, and three proxies to it:
#   - troupe: one agent with a route "web" (http) and a route "web-tcp"
#     (protocol tcp);
#   - HAProxy: one thread, keep-alive on both sides as its docs recommend
#     (http-reuse always), and a `mode tcp` frontend;
#   - nginx as a reverse proxy: one worker, an upstream block with
#     `keepalive`, proxy_http_version 1.1 and an empty Connection header, as
#     its docs recommend for keep-alive to upstreams, and a `stream` server
#     (Debian's libnginx-mod-stream) for tcp; without that module the tcp
#     row has no nginx column, and says so.
# wrk (one thread, CONNS keep-alive connections, SECONDS_ seconds) takes
# turns against: the backend direct, then each proxy in http, then each in
# tcp, ROUNDS times; the medians are printed with the ratios. The proxies
# and the backend are pinned to CPU 0, wrk to CPU 1 (when there are two
# CPUs), so every proxy gets the same CPU.
#
# Worker threads: HAProxy runs one thread and nginx one worker; troupe gets
# `--proxy-workers $PROXY_WORKERS` (1) when the agent has that option, else
# runs its proxy on its one loop, and the script says which.
#
# The floors of issue 12 (troupe's requests/s at least HAProxy's, its added
# p99 at most HAProxy's, its RSS at most HAProxy's) are printed as met or
# missed, for http; tcp's ratios are printed beside them. The script does
# not fail on them yet (docs/proxy.md says why).
#
# usage: bench/proxy.sh   (environment: TROUPE_BIN, SECONDS_=5, ROUNDS=3,
#        CONNS=32, PROXY_WORKERS=1)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
SECS=${SECONDS_:-5}
ROUNDS=${ROUNDS:-3}
CONNS=${CONNS:-32}
PROXY_WORKERS=${PROXY_WORKERS:-1}
for t in wrk haproxy nginx; do
    command -v "$t" >/dev/null || { echo "proxy: needs $t (scripts/deps)"; exit 77; }
done
[ "$(id -u)" -eq 0 ] || { echo "proxy: needs root (a network namespace)"; exit 77; }
[ -x "$BIN" ] || { echo "proxy: no troupe binary at $BIN"; exit 2; }
TMP=$(mktemp -d /tmp/troupe-bench.XXXXXX)
NS="troupe-bench-proxy-$$"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    ip netns del "$NS" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
ip netns add "$NS" || { echo "proxy: cannot make a network namespace"; exit 2; }
ip -n "$NS" link set lo up
in_ns() { ip netns exec "$NS" "$@"; }
CPU_SRV="" CPU_LOAD=""
if [ "$(nproc)" -ge 2 ]; then CPU_SRV="taskset -c 0" CPU_LOAD="taskset -c 1"; fi

BACKEND=18080 TROUPE=19001 HAPROXY=19002 NGINX=19003
TROUPE_TCP=19011 HAPROXY_TCP=19012 NGINX_TCP=19013
# nginx's stream module: Debian ships it apart (libnginx-mod-stream)
STREAM_SO=/usr/lib/nginx/modules/ngx_stream_module.so
[ -f "$STREAM_SO" ] || STREAM_SO=""
mkdir -p "$TMP/nginx-proxy"
nginx_backend "$TMP/nginx.conf" "$TMP" "$BACKEND"
cat >"$TMP/nginx-proxy.conf" <<EOF
${STREAM_SO:+load_module $STREAM_SO;}
worker_processes 1;
daemon off;
pid $TMP/nginx-proxy.pid;
error_log $TMP/nginx-proxy.err;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
$(nginx_temp_paths "$TMP/nginx-proxy")
    upstream web {
        server 127.0.0.1:$BACKEND;
        keepalive 64;
    }
    server {
        listen 127.0.0.1:$NGINX;
        location / {
            proxy_pass http://web;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
EOF
[ -n "$STREAM_SO" ] && cat >>"$TMP/nginx-proxy.conf" <<EOF
stream {
    upstream web_tcp { server 127.0.0.1:$BACKEND; }
    server {
        listen 127.0.0.1:$NGINX_TCP;
        proxy_pass web_tcp;
    }
}
EOF
cat >"$TMP/haproxy.cfg" <<EOF
global
    nbthread 1
    maxconn 4000
defaults
    mode http
    timeout connect 1s
    timeout client 30s
    timeout server 30s
    option http-keep-alive
    http-reuse always
frontend web
    bind 127.0.0.1:$HAPROXY
    default_backend web
backend web
    server s1 127.0.0.1:$BACKEND
frontend web_tcp
    mode tcp
    bind 127.0.0.1:$HAPROXY_TCP
    default_backend web_tcp
backend web_tcp
    mode tcp
    server s1 127.0.0.1:$BACKEND
EOF
WORKERS=()
if "$BIN" agent --help 2>&1 | grep -q -- '--proxy-workers'; then
    WORKERS=(--proxy-workers "$PROXY_WORKERS")
    echo "proxy: troupe runs --proxy-workers $PROXY_WORKERS, HAProxy nbthread 1, nginx 1 worker"
else
    echo "proxy: this troupe has no --proxy-workers: its proxy runs on its one loop; HAProxy nbthread 1, nginx 1 worker"
fi
# started with ip netns exec itself, not in_ns: $! is then the server's pid
ip netns exec "$NS" $CPU_SRV nginx -p "$TMP" -c "$TMP/nginx.conf" &
PIDS+=($!)
ip netns exec "$NS" $CPU_SRV nginx -p "$TMP" -c "$TMP/nginx-proxy.conf" &
PIDS+=($!)
ip netns exec "$NS" $CPU_SRV haproxy -db -f "$TMP/haproxy.cfg" >"$TMP/haproxy.log" 2>&1 &
PIDS+=($!)
ip netns exec "$NS" $CPU_SRV "$BIN" agent --node bench --bind 127.0.0.1:7420 --data-dir "$TMP/agent" \
    --dns off --log-level warn "${WORKERS[@]}" >"$TMP/agent.log" 2>&1 &
PIDS+=($!)
up() { in_ns curl -sf -o /dev/null --max-time 1 "$1"; }
for i in $(seq 1 50); do up http://127.0.0.1:7421/v1/self && break; sleep 0.1; done
# writes need the agent's management token
for i in $(seq 1 50); do [ -s "$TMP/agent/acl/management-token" ] && break; sleep 0.1; done
export TROUPE_TOKEN=$(cat "$TMP/agent/acl/management-token" 2>/dev/null)
in_ns curl -sf -X PUT -H "X-Troupe-Token: $TROUPE_TOKEN" \
    http://127.0.0.1:7421/v1/agent/service/register -d \
    "{\"name\": \"web\", \"id\": \"web-1\", \"address\": \"127.0.0.1\", \"port\": $BACKEND}" \
    >/dev/null || { echo "proxy: cannot register the backend"; cat "$TMP/agent.log"; exit 2; }
echo "{\"service\": \"web\", \"port\": $TROUPE}" |
    in_ns "$BIN" route set - >/dev/null || { echo "proxy: cannot set the route"; exit 2; }
echo "{\"service\": \"web\", \"name\": \"web-tcp\", \"port\": $TROUPE_TCP, \"protocol\": \"tcp\"}" |
    in_ns "$BIN" route set - >/dev/null || { echo "proxy: cannot set the tcp route"; exit 2; }

# the runs: NAME PORT, in the order they take turns
TARGETS=(direct "$BACKEND" troupe "$TROUPE" haproxy "$HAPROXY" nginx "$NGINX"
    troupe-tcp "$TROUPE_TCP" haproxy-tcp "$HAPROXY_TCP")
[ -n "$STREAM_SO" ] && TARGETS+=(nginx-tcp "$NGINX_TCP")
for ((k = 1; k < ${#TARGETS[@]}; k += 2)); do
    url=http://127.0.0.1:${TARGETS[k]}/
    for i in $(seq 1 50); do up "$url" && break; sleep 0.1; done
    up "$url" || { echo "proxy: nothing answers $url"; tail "$TMP"/*.log "$TMP"/*.err; exit 2; }
done

# run NAME PORT: one wrk run; appends "rps p50_ms p99_ms added_p50
# added_p99" to $TMP/res.NAME, the added latencies against the direct run
# of the same round (rounds go first direct, so each proxy is compared with
# the backend as the machine was then)
run() {
    in_ns $CPU_LOAD wrk -t1 -c"$CONNS" -d"${SECS}s" --latency "http://127.0.0.1:$2/" \
        >"$TMP/wrk.out" 2>&1
    # ms(V): wrk's latency (12.34us, 1.2ms, 1.01s) in milliseconds
    awk -v d50="${D50:-0}" -v d99="${D99:-0}" -v direct="$([ "$1" = direct ] && echo 1)" '
         function ms(v,  u) { u = v; sub(/[a-z]+$/, "", v); sub(/^[0-9.]+/, "", u)
                              return (u == "us") ? v / 1000 : (u == "s") ? v * 1000 : v }
         /^Requests\/sec:/ {rps = $2}
         $1 == "50%" { p50 = ms($2) }
         $1 == "99%" { p99 = ms($2) }
         END { if (direct) d50 = p50; if (direct) d99 = p99
               printf "%.0f %.3f %.3f %.3f %.3f\n", rps, p50, p99, p50 - d50, p99 - d99 }' \
        "$TMP/wrk.out" >>"$TMP/res.$1"
    [ "$1" != direct ] || read -r _ D50 D99 _ <<<"$(tail -n 1 "$TMP/res.direct")"
    grep -q "Non-2xx\|Socket errors" "$TMP/wrk.out" && { echo "  $1: $(grep -E 'Non-2xx|Socket errors' "$TMP/wrk.out")"; }
    echo "  round $r $1: $(tail -n 1 "$TMP/res.$1")"
}
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
echo "proxy: wrk -t1 -c$CONNS ${SECS}s x $ROUNDS rounds, 1 KiB bodies, keep-alive (req/s p50 p99)"
for r in $(seq 1 "$ROUNDS"); do
    for ((k = 0; k < ${#TARGETS[@]}; k += 2)); do run "${TARGETS[k]}" "${TARGETS[k + 1]}"; done
done
declare -A RPS P50 P99 ADD50 ADD99 RSS
for ((k = 0; k < ${#TARGETS[@]}; k += 2)); do
    n=${TARGETS[k]}
    RPS[$n]=$(cut -d' ' -f1 "$TMP/res.$n" | median)
    P50[$n]=$(cut -d' ' -f2 "$TMP/res.$n" | median)
    P99[$n]=$(cut -d' ' -f3 "$TMP/res.$n" | median)
    ADD50[$n]=$(cut -d' ' -f4 "$TMP/res.$n" | median)
    ADD99[$n]=$(cut -d' ' -f5 "$TMP/res.$n" | median)
done
# rss PID...: the sum of their VmRSS in KiB
rss() {
    local p s=0 v
    for p in "$@"; do
        v=$(awk '/VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null)
        s=$((s + ${v:-0}))
    done
    echo $s
}
agent_pid=$(pgrep -f "agent --node bench --bind 127.0.0.1:7420 --data-dir $TMP/agent" | head -1)
hap_pid=$(pgrep -f "haproxy -db -f $TMP/haproxy.cfg" | tail -1)
# nginx: its master and its worker (the worker's parent is the master)
ngx_master=$(pgrep -f "nginx -p $TMP -c $TMP/nginx-proxy.conf" | tail -1)
mapfile -t ngx_pids < <(echo "$ngx_master"; pgrep -P "${ngx_master:-0}" 2>/dev/null)
RSS[troupe]=$(rss $agent_pid) RSS[haproxy]=$(rss $hap_pid) RSS[nginx]=$(rss "${ngx_pids[@]}")

# div A B: A/B, or n/a unless A >= 0 and B > 0 (an added latency below
# zero, noise on a busy machine, has no ratio)
div() { awk -v a="$1" -v b="$2" 'BEGIN {if (a >= 0 && b > 0) printf "%.2f", a / b; else print "n/a"}'; }
echo
echo "proxy: medians of $ROUNDS rounds; added: the proxy's latency less direct's in the same round"
printf "%-12s %9s %9s %9s %11s %11s %10s\n" "" "req/s" "p50 ms" "p99 ms" "added p50" "added p99" "RSS KiB"
for ((k = 0; k < ${#TARGETS[@]}; k += 2)); do
    n=${TARGETS[k]} base=${n%-tcp}
    printf "%-12s %9s %9s %9s %11s %11s %10s\n" "$n" "${RPS[$n]}" "${P50[$n]}" "${P99[$n]}" \
        "${ADD50[$n]}" "${ADD99[$n]}" "${RSS[$base]:--}"
done
[ -n "$STREAM_SO" ] || echo "nginx-tcp: not run: nginx's stream module is not installed (libnginx-mod-stream)"
echo "RSS: after the runs, one process serving both http and tcp for each proxy; troupe's is the whole agent,"
echo "     nginx's its master and worker together"
# ratios T: troupe's against each peer in the row of type T ("" http, -tcp)
ratios() {
    local t=$1 peer
    for peer in haproxy nginx; do
        [ -n "${RPS[$peer$t]:-}" ] || continue
        printf "troupe%s/%s: requests/s %s, p99 %s, added p99 %s\n" "$t" "$peer$t" \
            "$(div "${RPS[troupe$t]}" "${RPS[$peer$t]}")" "$(div "${P99[troupe$t]}" "${P99[$peer$t]}")" \
            "$(div "${ADD99[troupe$t]}" "${ADD99[$peer$t]}")"
    done
}
ratios ""
ratios -tcp
echo "troupe/nginx RSS $(div "${RSS[troupe]}" "${RSS[nginx]}"), troupe/haproxy RSS $(div "${RSS[troupe]}" "${RSS[haproxy]}")"
met() { awk "BEGIN {print ($1) ? \"met\" : \"MISSED\"}"; }
echo "floor requests/s >= haproxy: $(met "${RPS[troupe]} >= ${RPS[haproxy]}") (tcp: $(met "${RPS[troupe-tcp]} >= ${RPS[haproxy-tcp]}"))"
echo "floor added p99 <= haproxy: $(met "${ADD99[troupe]} <= ${ADD99[haproxy]}") (tcp: $(met "${ADD99[troupe-tcp]} <= ${ADD99[haproxy-tcp]}"))"
echo "floor RSS <= haproxy: $(met "${RSS[troupe]} <= ${RSS[haproxy]}")"
exit 0
