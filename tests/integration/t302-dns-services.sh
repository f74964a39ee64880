#!/bin/bash
# Services registered through the API on some agents are found by DNS on
# the others: A of passing instances (shuffled), tag filter, AAAA NODATA,
# SRV with ports, weights and resolvable targets whose addresses come as
# additionals, the tag filter on SRV; a 60-instance service is truncated
# over UDP (no EDNS for A, and SRV at 1232 bytes) and whole over TCP; and
# glibc finds a service with `getent hosts` through a resolv.conf that
# points at the agent (in a mount namespace made here).
. "$(dirname "$0")/lib.sh"
command -v dig >/dev/null && command -v kdig >/dev/null || { echo "needs dig and kdig (scripts/deps)"; exit 77; }
net_up 3
start 1 --dns 127.0.0.1:53
start 2 --join 10.77.0.1
start 3 --join 10.77.0.1
wait_until 10 "h1 sees h3 alive" is_status 1 h3 alive

reg() { # I JSON: registers on hI
    ip netns exec "$(ns "$1")" curl -sf -X PUT 127.0.0.1:7421/v1/agent/service/register -d "$2" \
        >/dev/null || fail "register on h$1: $2"
}
D() { # I dig-args...: asks hI's DNS server
    local i=$1
    shift
    ip netns exec "$(ns "$i")" dig -p 53 @127.0.0.1 +time=3 +tries=1 "$@"
}
D3() { local i=$1; shift; ip netns exec "$(ns "$i")" dig -p 7453 @127.0.0.1 +time=3 +tries=1 "$@"; }
sorted() { sort | tr '\n' ' '; }

reg 1 '{"name": "web", "id": "web-1", "port": 8080, "tags": ["v1"]}'
reg 2 '{"name": "web", "id": "web-2", "port": 8081, "tags": ["v1"], "weight": 7}'
reg 3 '{"name": "web", "id": "web-3", "port": 9090, "address": "10.77.9.9", "tags": ["v2"]}'
want="10.77.0.1 10.77.0.2 10.77.9.9 "
has_all() { [ "$(D 1 +short web.service.troupe A | sorted)" = "$want" ]; }
wait_until 5 "h1's DNS answers web with the three instances" has_all
[ "$(D3 2 +short WEB.Service.troupe A | sorted)" = "$want" ] || fail "h2: $(D3 2 web.service.troupe)"
orders=$(for k in $(seq 1 30); do D 1 +short web.service.troupe A | tr '\n' ' '; echo; done | sort -u | wc -l)
[ "$orders" -ge 3 ] || fail "30 answers came in only $orders orders: not shuffled"
say "ok: A of three instances on three agents, in $orders different orders"

[ "$(D 1 +short v2.web.service.troupe A)" = 10.77.9.9 ] || fail "tag v2: $(D 1 v2.web.service.troupe)"
[ "$(D 1 +short v1.web.service.troupe A | sorted)" = "10.77.0.1 10.77.0.2 " ] || fail "tag v1"
D 1 nosuch.web.service.troupe A | grep -q 'status: NXDOMAIN' || fail "unknown tag is not NXDOMAIN"
out=$(D 1 web.service.troupe AAAA)
echo "$out" | grep -q 'status: NOERROR' && echo "$out" | grep -q 'ANSWER: 0' || fail "AAAA: $out"
say "ok: tag filter, NODATA"

out=$(ip netns exec "$(ns 1)" kdig -p 53 @127.0.0.1 +time=3 _web._tcp.service.troupe SRV)
[ "$(echo "$out" | grep -c 'IN.SRV.[0-9]')" = 3 ] || fail "SRV: $out"
echo "$out" | grep -q 'SRV.*1 7 8081 h2.node.troupe.' || fail "SRV of web-2 (weight 7, h2): $out"
echo "$out" | grep -q 'SRV.*1 1 9090 0a4d0909.addr.troupe.' || fail "SRV of web-3 (own address): $out"
echo "$out" | grep -A10 'ADDITIONAL SECTION' | grep -q '0a4d0909.addr.troupe.*A.*10.77.9.9' ||
    fail "the address of web-3's target is not in the additional section: $out"
echo "$out" | grep -A10 'ADDITIONAL SECTION' | grep -q 'h1.node.troupe.*A.*10.77.0.1' ||
    fail "the address of web-1's target is not in the additional section: $out"
[ "$(D 1 +short 0a4d0909.addr.troupe A)" = 10.77.9.9 ] || fail "an SRV target does not resolve"
[ "$(D 1 +short _web._v2.service.troupe SRV)" = "1 1 9090 0a4d0909.addr.troupe." ] ||
    fail "SRV with tag v2: $(D 1 _web._v2.service.troupe SRV)"
say "ok: SRV with ports, weights, targets and additionals"

say "registering 60 instances of big on h2"
for i in $(seq 1 60); do
    reg 2 "{\"name\": \"big\", \"id\": \"big-$i\", \"port\": $((10000 + i)), \"address\": \"10.78.0.$i\"}"
done
big() { [ "$(D 1 +tcp +short big.service.troupe A | wc -l)" = 60 ]; }
wait_until 5 "h1 knows the 60 instances of big" big
out=$(D 1 +noedns +ignore big.service.troupe A)
echo "$out" | grep -q 'flags: qr aa tc' && echo "$out" | grep -q 'ANSWER: 0' || fail "A without EDNS: no TC: $out"
[ "$(D 1 +noedns big.service.troupe A | grep -c 'IN.A.10.78')" = 60 ] ||
    fail "dig did not get the 60 records after retrying over TCP"
out=$(D 1 +ignore big.service.troupe A)
echo "$out" | grep -q 'flags: qr aa rd' && [ "$(echo "$out" | grep -c 'IN.A.10.78')" = 60 ] ||
    fail "60 A records fit in 1232 bytes: $out"
out=$(D 1 +ignore _big._tcp.service.troupe SRV)
echo "$out" | grep -q 'flags: qr aa tc' || fail "60 SRV over UDP are not truncated: $out"
out=$(ip netns exec "$(ns 1)" kdig -p 53 @127.0.0.1 +tcp _big._tcp.service.troupe SRV)
[ "$(echo "$out" | grep -c 'IN.SRV.[0-9]')" = 60 ] && [ "$(echo "$out" | grep -c 'addr.troupe.*IN.A')" = 60 ] ||
    fail "SRV over TCP: not 60 records with 60 additionals: $(echo "$out" | tail -5)"
say "ok: TC over UDP, the whole answer over TCP"

printf 'nameserver 127.0.0.1\noptions timeout:2 attempts:1\n' >"$TMP/resolv.conf"
out=$(ip netns exec "$(ns 1)" unshare -m sh -c \
    'mount --bind "$0" /etc/resolv.conf && getent ahostsv4 v2.web.service.troupe' "$TMP/resolv.conf") ||
    fail "getent ahostsv4 v2.web.service.troupe failed"
echo "$out" | grep -q '^10.77.9.9 ' || fail "getent: $out"
say "ok: getent through glibc: $(echo "$out" | head -n 1)"
