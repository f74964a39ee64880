#!/bin/bash
# GET /metrics passes `promtool check metrics`, and its counters move when
# their thing happens: probes, pings and acks by kind, and a death of a
# killed peer, DNS queries, API requests by route and code, check runs,
# supervisor restarts and exits, SQLite commits, the event loop's lag.
. "$(dirname "$0")/sup_lib.sh"
command -v promtool >/dev/null || { echo "needs promtool (Debian's prometheus, scripts/deps)"; exit 77; }
command -v dig >/dev/null || { echo "needs dig (scripts/deps)"; exit 77; }
reserve_ports D G2 H2
sup_agent --profile fast --dns 127.0.0.1:$D
"$BIN" agent --node peer --bind 127.0.0.1:$G2 --http 127.0.0.1:$H2 --data-dir "$TMP/peer" \
    --profile fast --join 127.0.0.1:$G >>"$TMP/peer.log" 2>&1 &
PID[2]=$!
say "started agent peer (pid ${PID[2]}) joining solo"
alive2() { [ "$(T members --json | jq '[.[] | select(.status == "alive")] | length')" = 2 ]; }
wait_until 10 "solo sees peer alive" alive2

scrape() { curl -sf "127.0.0.1:$H/metrics"; }
# value FILE NAME{LABELS}: the sample's value, 0 when absent
value() { awk -v n="$2" '$1 == n {v = $2} END {print v == "" ? 0 : v}' "$1"; }
scrape >"$TMP/before.prom" || fail "GET /metrics"

U="http://127.0.0.1:$H"
register_at "$U" "{\"name\": \"web\", \"port\": 80, \"checks\": [{\"tcp\": \"127.0.0.1:$H\", \"interval\": \"200ms\"}]}"
register_at "$U" '{"name": "shut", "port": 81, "checks": [{"tcp": "127.0.0.1:1", "interval": "200ms"}]}'
cat >"$TMP/crash.json" <<JSON
{"name": "crash", "command": "/bin/sh", "args": ["-c", "exit 3"],
 "user": "$SUP_USER", "start_limit": {"burst": 10, "interval_ms": 60000}}
JSON
T run "$TMP/crash.json" >/dev/null || fail "troupe run refused the spec"
wait_until 10 "crash restarted twice" restarts_ge crash 0 2
passing() { [ "$(curl -s "$U/v1/health/service/web?passing" | jq length)" = 1 ]; }
wait_until 5 "web passing" passing
for i in 1 2 3; do
    dig -p "$D" @127.0.0.1 +time=2 +tries=1 +short web.service.troupe A >/dev/null || fail "dig"
    curl -sf "$U/v1/catalog/services" >/dev/null || fail "GET /v1/catalog/services"
done
curl -s "$U/v1/no/such/thing" >/dev/null
curl -s "$U/v1/kv/some/key" >/dev/null

kill -9 "${PID[2]}"
wait "${PID[2]}" 2>/dev/null
unset 'PID[2]'
say "killed peer with SIGKILL"
dead() { T members --json | jq -e '.[] | select(.name == "peer" and .status == "dead")' >/dev/null; }
wait_until 20 "solo declares peer dead" dead
sleep 1 # a lag sample and a check run or two more
scrape >"$TMP/after.prom" || fail "GET /metrics"

for f in before after; do
    out=$(promtool check metrics <"$TMP/$f.prom" 2>&1) || fail "promtool check metrics ($f): $out"
    [ -z "$out" ] || fail "promtool check metrics ($f) has remarks: $out"
done
say "ok: promtool check metrics passes, $(wc -c <"$TMP/after.prom") bytes, $(grep -vc '^#' "$TMP/after.prom") samples"

# moved NAME MIN: the sample grew by at least MIN between the scrapes
moved() {
    local b a
    b=$(value "$TMP/before.prom" "$1") a=$(value "$TMP/after.prom" "$1")
    awk -v b="$b" -v a="$a" -v m="$2" 'BEGIN {exit !(a - b >= m)}' ||
        fail "$1 went from $b to $a, not up by $2 or more"
    say "ok: $1 $b -> $a"
}
moved troupe_membership_probes_total 1
moved troupe_membership_suspicions_total 1
moved troupe_membership_deaths_total 1
moved troupe_membership_suspicions_raised_total 1
moved 'troupe_membership_messages_total{dir="out",kind="ping"}' 1
moved 'troupe_membership_messages_total{dir="in",kind="ack"}' 1
moved 'troupe_membership_message_bytes_total{dir="out",kind="ping"}' 1
moved 'troupe_membership_messages_total{dir="out",kind="suspect"}' 1
moved 'troupe_membership_members{status="dead"}' 1
moved 'troupe_net_udp_packets_total{dir="out"}' 1
moved 'troupe_dns_queries_total{qtype="A"}' 3
moved 'troupe_api_requests_total{route="/v1/catalog/services",code="200"}' 3
moved 'troupe_api_requests_total{route="/v1/agent/service/register",code="200"}' 2
moved 'troupe_api_requests_total{route="other",code="404"}' 1
moved 'troupe_api_requests_total{route="/v1/kv/*",code="404"}' 1
moved 'troupe_api_request_duration_seconds_count{route="/v1/catalog/services"}' 3
moved 'troupe_catalog_records{kind="instance"}' 2
moved troupe_catalog_local_instances 2
moved troupe_checks_runs_total 4
moved 'troupe_checks_checks{status="critical"}' 1
moved troupe_checks_run_duration_seconds_count 4
moved troupe_supervisor_starts_total 3
moved troupe_supervisor_restarts_total 2
moved 'troupe_supervisor_exits_total{reason="failure"}' 2
moved troupe_store_commit_duration_seconds_count 1
moved troupe_process_event_loop_lag_seconds_count 1
moved troupe_process_cpu_seconds_total 0.001
[ "$(value "$TMP/after.prom" troupe_process_resident_memory_bytes)" -gt 1000000 ] || fail "RSS"
# the kinds account for every byte the agent sent
kinds_out=$(awk '$1 ~ /^troupe_membership_message_bytes_total\{dir="out"/ {t += $2} END {print t}' "$TMP/after.prom")
[ "$kinds_out" = "$(value "$TMP/after.prom" 'troupe_membership_bytes_total{dir="out"}')" ] ||
    fail "bytes out by kind add up to $kinds_out, not troupe_membership_bytes_total{dir=\"out\"}"
grep -q '^troupe_membership_broadcasts_queued{kind="user"} ' "$TMP/after.prom" || fail "broadcasts queued"
[ "$(value "$TMP/after.prom" troupe_process_open_fds)" -gt 3 ] || fail "open fds"
say "ok: every counter moved with its event"
