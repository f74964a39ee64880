#!/bin/bash
# DNS conformance with dig and kdig against two agents in namespaces: node
# lookups (A, upper case, TCP), SOA and NS of the zone, NXDOMAIN with the
# SOA, NODATA, EDNS (we advertise 1232), NOTIMP for a zone transfer,
# garbage answered FORMERR or not at all without harm, forwarding to an
# upstream (a dnsmasq this test starts) with the 2 s timeout, and the
# counters of GET /v1/dns/stats.
. "$(dirname "$0")/lib.sh"
command -v dig >/dev/null && command -v kdig >/dev/null || { echo "needs dig and kdig (scripts/deps)"; exit 77; }
command -v dnsmasq >/dev/null || { echo "needs dnsmasq (scripts/deps)"; exit 77; }
net_up 2

# an upstream resolver in h1's namespace
printf '10.9.9.9 up.example\n' >"$TMP/upstream-hosts"
ip netns exec "$(ns 1)" dnsmasq --no-daemon --no-resolv --no-hosts --addn-hosts="$TMP/upstream-hosts" \
    --local=/example/ --listen-address=127.0.0.2 --bind-interfaces --port=53 -u root >"$TMP/dnsmasq.log" 2>&1 &
PID[dnsmasq]=$!
say "started dnsmasq on 127.0.0.2:53 in h1 (pid ${PID[dnsmasq]})"

start 1 --dns-upstream 127.0.0.2
start 2 --join 10.77.0.1:7420
wait_until 10 "h1 sees h2 alive" is_status 1 h2 alive

D() { ip netns exec "$(ns 1)" dig -p 7453 @127.0.0.1 +time=3 +tries=1 "$@"; }
K() { ip netns exec "$(ns 1)" kdig -p 7453 @127.0.0.1 +time=3 +retry=0 "$@"; }
status() { grep -o 'status: [A-Z]*' | head -n 1 | cut -d' ' -f2; }

# node lookups, any case, UDP and TCP
[ "$(D +short h2.node.troupe A)" = 10.77.0.2 ] || fail "h2.node.troupe A: $(D h2.node.troupe)"
[ "$(D +short H2.NODE.TROUPE A)" = 10.77.0.2 ] || fail "upper case name: $(D H2.NODE.TROUPE)"
D H2.Node.Troupe A | grep -q '^H2.Node.Troupe\.' || fail "the question's case is not echoed"
[ "$(K +tcp +short h1.node.troupe A)" = 10.77.0.1 ] || fail "kdig +tcp h1.node.troupe: $(K +tcp h1.node.troupe)"
D h2.node.troupe A | grep -q 'flags: qr aa' || fail "answers are not authoritative"
say "ok: node A over UDP and TCP, case-insensitive"

# the zone: SOA and NS
D +short troupe SOA | grep -q '^h1.node.troupe. hostmaster.troupe. [0-9]* 3600 600 86400 5$' ||
    fail "SOA: $(D troupe SOA)"
D troupe NS | grep -q 'troupe.*NS.*h1.node.troupe' || fail "NS: $(D troupe NS)"
D troupe NS | grep -A2 'ADDITIONAL SECTION' | grep -q 'h1.node.troupe.*A.*10.77.0.1' ||
    fail "NS target's address not in the additional section"
say "ok: SOA and NS"

# NXDOMAIN with the SOA in the authority section; NODATA
out=$(D nosuch.node.troupe A)
[ "$(echo "$out" | status)" = NXDOMAIN ] || fail "unknown node: $out"
echo "$out" | grep -A1 'AUTHORITY SECTION' | grep -q 'SOA' || fail "NXDOMAIN without SOA: $out"
out=$(D nosuch.service.troupe SRV)
[ "$(echo "$out" | status)" = NXDOMAIN ] || fail "unknown service: $out"
out=$(D h2.node.troupe TXT)
[ "$(echo "$out" | status)" = NOERROR ] && echo "$out" | grep -q 'ANSWER: 0' &&
    echo "$out" | grep -A1 'AUTHORITY SECTION' | grep -q SOA || fail "NODATA: $out"
out=$(D h2.node.troupe AAAA)
[ "$(echo "$out" | status)" = NOERROR ] && echo "$out" | grep -q 'ANSWER: 0' || fail "AAAA of a v4 node: $out"
say "ok: NXDOMAIN with SOA, NODATA"

# EDNS: we advertise 1232; no OPT without EDNS; version 1 is BADVERS
D h2.node.troupe +bufsize=4096 | grep -q 'EDNS: version: 0, flags:; udp: 1232' || fail "EDNS payload"
out=$(D +noedns h2.node.troupe)
[ "$(echo "$out" | status)" = NOERROR ] || fail "no answer without EDNS: $out"
echo "$out" | grep -q 'OPT PSEUDOSECTION' && fail "OPT sent to a client without EDNS"
[ "$(D +edns=1 +noednsneg h2.node.troupe | status)" = BADVERS ] || fail "EDNS version 1: $(D +edns=1 +noednsneg h2.node.troupe)"
say "ok: EDNS"

# what it does not serve
[ "$(K +tcp troupe AXFR 2>&1 | grep -c 'NOTIMP')" -ge 1 ] || fail "AXFR: $(K +tcp troupe AXFR)"
[ "$(D -c CH h2.node.troupe TXT | status)" = NOTIMP ] || fail "class CH in the zone"
for i in 1 2 3 4 5; do
    ip netns exec "$(ns 1)" bash -c "printf '\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x05hello' >/dev/udp/127.0.0.1/7453"
    ip netns exec "$(ns 1)" bash -c "printf '\xff' >/dev/udp/127.0.0.1/7453"
    ip netns exec "$(ns 1)" bash -c "head -c 300 /dev/urandom >/dev/udp/127.0.0.1/7453"
    ip netns exec "$(ns 1)" bash -c "head -c 100 /dev/urandom >/dev/tcp/127.0.0.1/7453" 2>/dev/null
done
[ "$(D +short h2.node.troupe A)" = 10.77.0.2 ] || fail "the server stopped answering after garbage"
kill -0 "${PID[1]}" || fail "h1 died on garbage"
stats=$(ip netns exec "$(ns 1)" curl -sf 127.0.0.1:7421/v1/dns/stats)
[ "$(echo "$stats" | jq .by_rcode.FORMERR)" -ge 5 ] || fail "truncated questions not answered FORMERR: $stats"
say "ok: NOTIMP, FORMERR, garbage survived"

# forwarding: names outside the zone go upstream; randomized IDs come back as ours
out=$(D up.example A)
[ "$(echo "$out" | status)" = NOERROR ] && echo "$out" | grep -q '10.9.9.9' || fail "forwarded A: $out"
[ "$(K +tcp +short up.example A)" = 10.9.9.9 ] || fail "forwarded over TCP"
[ "$(D nothing.example A | status)" = NXDOMAIN ] || fail "upstream's NXDOMAIN not relayed"
kill "${PID[dnsmasq]}"
wait "${PID[dnsmasq]}" 2>/dev/null
unset 'PID[dnsmasq]'
t0=$(date +%s%N)
[ "$(D +time=5 up.example A | status)" = SERVFAIL ] || fail "dead upstream: not SERVFAIL"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ $ms -ge 1900 ] && [ $ms -le 3500 ] || fail "dead upstream answered after $ms ms, want about 2000"
say "ok: forwarding, SERVFAIL after ${ms} ms without an upstream answer"

stats=$(ip netns exec "$(ns 1)" curl -sf 127.0.0.1:7421/v1/dns/stats)
echo "$stats" | jq -e '.upstream.answered >= 3 and .upstream.failed >= 1 and .by_qtype.A > 5 and
    .by_rcode.NXDOMAIN >= 2 and .tcp.connections >= 2 and .domain == "troupe."' >/dev/null ||
    fail "stats: $stats"
say "ok: /v1/dns/stats"
ip netns exec "$(ns 1)" curl -sf 127.0.0.1:7421/metrics | grep -q '^troupe_dns_responses_total{rcode="NXDOMAIN"} [1-9]' ||
    fail "/metrics lacks the DNS counters"
say "ok: /metrics"
