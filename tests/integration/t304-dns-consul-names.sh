#!/bin/bash
# Consul's DNS names answer as troupe's own do, on three agents: A of
# NAME.service.consul and NAME.service.dc1.consul as NAME.service.troupe
# (health filtering included), the tag form, SRV by RFC 2782 name and by
# service name with targets in the consul zone that resolve, NODE.node
# with and without the datacenter, over UDP and TCP; another datacenter
# is NXDOMAIN; an agent with --datacenter and --dns-alt-domain of its own
# answers its names and forwards consul.'s; with --dns-alt-domain off
# consul. is outside the zone.
. "$(dirname "$0")/lib.sh"
command -v dig >/dev/null || { echo "needs dig (scripts/deps)"; exit 77; }
net_up 3
start 1 --dns 0.0.0.0:7453
start 2 --join 10.77.0.1
start 3 --join 10.77.0.1 --datacenter east --dns-alt-domain sd.example --dns-upstream 10.77.0.1:7453
wait_until 20 "h1 sees h3 alive" is_status 1 h3 alive

reg() { # I JSON: registers on hI
    ip netns exec "$(ns "$1")" curl -sf -X PUT 127.0.0.1:7421/v1/agent/service/register -d "$2" \
        >/dev/null || fail "register on h$1: $2"
}
D() { # I dig-args...: asks hI's DNS server
    local i=$1
    shift
    ip netns exec "$(ns "$i")" dig -p 7453 @127.0.0.1 +time=3 +tries=2 "$@"
}
sorted() { sort | tr '\n' ' '; }
# same I NAME1 NAME2 TYPE [dig-args]: both names get the same records (sorted,
# names left out) and the same status
answers() { # I NAME TYPE [dig-args]: status, then the records' TTL, type and data
    local i=$1 name=$2 type=$3
    shift 3
    D "$i" "$@" +noall +comments +answer "$name" "$type" |
        awk '/status:/ { sub(/,.*/, "", $6); print "status", $6 } !/^;/ && NF >= 5 { $1 = ""; print }' |
        sed -E 's/\.(troupe|dc1\.consul|consul|east\.sd\.example)\.$/.ZONE./' | sort
}
same() {
    local i=$1 a=$2 b=$3 type=$4 x y
    shift 4
    x=$(answers "$i" "$a" "$type" "$@")
    y=$(answers "$i" "$b" "$type" "$@")
    [ -n "$x" ] && [ "$x" = "$y" ] || fail "h$i: $b $type is not as $a:
--- $a
$x
--- $b
$y"
}

reg 1 '{"name": "web", "id": "web-1", "port": 8080, "tags": ["v1"]}'
reg 2 '{"name": "web", "id": "web-2", "port": 8081, "tags": ["v1"], "weight": 7}'
reg 3 '{"name": "web", "id": "web-3", "port": 9090, "address": "10.77.9.9", "tags": ["v2"]}'
reg 2 '{"name": "web", "id": "web-bad", "port": 8082, "address": "10.77.9.10",
        "check": {"ttl": "60s"}}' # critical until passed: never in the answers
want="10.77.0.1 10.77.0.2 10.77.9.9 "
has_all() { [ "$(D 1 +short web.service.consul A | sorted)" = "$want" ]; }
wait_until 10 "h1 answers web.service.consul with the three passing instances" has_all
[ "$(D 2 +short web.service.troupe A | sorted)" = "$want" ] || fail "h2: $(D 2 web.service.troupe)"
D 1 web.service.consul A
for name in web.service.consul web.service.dc1.consul WEB.Service.DC1.Consul; do
    same 1 web.service.troupe $name A
    same 2 web.service.troupe $name A +tcp
done
same 1 web.service.troupe web.service.consul AAAA
orders=$(for k in $(seq 1 30); do D 1 +short web.service.dc1.consul A | tr '\n' ' '; echo; done | sort -u | wc -l)
[ "$orders" -ge 3 ] || fail "30 answers came in only $orders orders: not shuffled"
say "ok: web.service.consul and web.service.dc1.consul answer as web.service.troupe (A, AAAA, UDP, TCP; $orders orders in 30)"

same 1 v2.web.service.troupe v2.web.service.consul A
same 1 v1.web.service.troupe v1.web.service.dc1.consul A
[ "$(D 1 +short v1.web.service.consul A | sorted)" = "10.77.0.1 10.77.0.2 " ] || fail "tag v1"
same 1 nosuch.web.service.troupe nosuch.web.service.consul A
D 1 nosuch.web.service.consul A | grep -q 'status: NXDOMAIN' || fail "unknown tag is not NXDOMAIN"
say "ok: TAG.NAME.service.consul as TAG.NAME.service.troupe"

out=$(D 1 _web._tcp.service.consul SRV)
echo "$out"
[ "$(echo "$out" | grep -c 'IN.SRV.[0-9]')" = 3 ] || fail "SRV: $out"
echo "$out" | grep -q 'SRV.*1 7 8081 h2.node.dc1.consul.' || fail "SRV of web-2 (weight 7, h2): $out"
echo "$out" | grep -q 'SRV.*1 1 9090 0a4d0909.addr.dc1.consul.' || fail "SRV of web-3 (own address): $out"
echo "$out" | grep -A10 'ADDITIONAL SECTION' | grep -q 'h1.node.dc1.consul.*A.*10.77.0.1' ||
    fail "the address of web-1's target is not in the additional section: $out"
[ "$(D 1 +short h2.node.dc1.consul A)" = 10.77.0.2 ] || fail "an SRV target does not resolve"
[ "$(D 1 +short 0a4d0909.addr.dc1.consul A)" = 10.77.9.9 ] || fail "an addr target does not resolve"
same 1 _web._tcp.service.troupe _web._tcp.service.consul SRV
same 1 _web._tcp.service.troupe _web._tcp.service.dc1.consul SRV +tcp
same 1 _web._v2.service.troupe _web._v2.service.consul SRV
same 1 _web._tcp.service.troupe web.service.consul SRV
same 1 _web._v1.service.troupe v1.web.service.dc1.consul SRV
say "ok: SRV of _web._tcp.service.consul and web.service.consul, targets resolve in consul."

for n in 1 2 3; do
    same 1 h$n.node.troupe h$n.node.consul A
    same 2 h$n.node.troupe h$n.node.dc1.consul A
done
[ "$(D 3 +short h1.node.consul A)" = 10.77.0.1 ] || fail "h3: h1.node.consul"
same 1 nobody.node.troupe nobody.node.consul A
say "ok: NODE.node.consul and NODE.node.dc1.consul as NODE.node.troupe"

for name in web.service.dc2.consul h1.node.dc2.consul _web._tcp.service.dc2.consul; do
    out=$(D 1 "$name" A)
    echo "$out" | grep -q 'status: NXDOMAIN' || fail "$name is not NXDOMAIN: $out"
    echo "$out" | grep -A2 'AUTHORITY SECTION' | grep -q '^consul\..*SOA' || fail "$name: no consul. SOA: $out"
done
say "ok: another datacenter is NXDOMAIN with the consul. SOA"

# h3: datacenter east, Consul's names under sd.example; consul. is forwarded
# (to h1, which answers it)
same 3 web.service.troupe web.service.east.sd.example A
same 3 web.service.troupe web.service.sd.example A
same 3 _web._tcp.service.troupe _web._tcp.service.east.sd.example SRV
D 3 +short _web._tcp.service.sd.example SRV | grep -q ' h1.node.east.sd.example.$' ||
    fail "h3's SRV targets: $(D 3 _web._tcp.service.sd.example SRV)"
D 3 web.service.dc1.sd.example A | grep -q 'status: NXDOMAIN' || fail "h3 answers dc1"
[ "$(D 3 +short web.service.consul A | sorted)" = "$want" ] ||
    fail "h3 (forwarding consul. to h1): $(D 3 web.service.consul A)"
stats=$(ip netns exec "$(ns 3)" curl -sf 127.0.0.1:7421/v1/dns/stats)
[ "$(echo "$stats" | jq -r '[.alt_domain, .datacenter] | join(" ")')" = "sd.example. east" ] &&
    [ "$(echo "$stats" | jq .forwarded)" -ge 1 ] || fail "h3's stats: $stats"
say "ok: --datacenter east --dns-alt-domain sd.example answers there, forwards consul."

kill -TERM "${PID[2]}"
wait "${PID[2]}" || fail "h2 did not stop cleanly"
start 2 --join 10.77.0.1 --dns-alt-domain off
wait_until 20 "h2 sees h3 alive again" is_status 2 h3 alive
out=$(D 2 +time=6 +tries=1 web.service.consul A)
stats=$(ip netns exec "$(ns 2)" curl -sf 127.0.0.1:7421/v1/dns/stats)
# outside h2's zones now: forwarded to the resolvers of resolv.conf, or
# REFUSED when it has none; never answered from the catalog
echo "$out" | grep -q 'ANSWER: 0' && echo "$stats" | jq -e '.alt_domain == "" and
    (.forwarded >= 1 or .by_rcode.REFUSED >= 1)' >/dev/null ||
    fail "--dns-alt-domain off still answers consul.: $out $stats"
[ "$(D 2 +short web.service.troupe A | sorted)" = "$want" ] || fail "h2 with alt off: web.service.troupe"
say "ok: --dns-alt-domain off: consul. is outside the zone"
