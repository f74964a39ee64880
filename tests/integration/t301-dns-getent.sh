#!/bin/bash
# Plain programs find troupe names through glibc: an agent on port 53 of
# its namespace, with a mount namespace (made here) whose /etc/resolv.conf
# points at it, answers `getent hosts` for a node name. That resolv.conf
# names only the agent itself, so the agent has no upstream: other names
# are REFUSED, quickly.
. "$(dirname "$0")/lib.sh"
command -v dig >/dev/null || { echo "needs dig (scripts/deps)"; exit 77; }
net_up 2
printf 'nameserver 127.0.0.1\noptions timeout:2 attempts:1\n' >"$TMP/resolv.conf"

# in_mnt I CMD...: runs CMD in hI's network namespace and a new mount
# namespace where /etc/resolv.conf is ours
in_mnt() {
    local i=$1
    shift
    ip netns exec "$(ns "$i")" unshare -m sh -c 'mount --bind "$0" /etc/resolv.conf && exec "$@"' \
        "$TMP/resolv.conf" "$@"
}

# started as one simple command (not through in_mnt), so that $! is the
# agent itself (ip, unshare and sh each exec the next) and cleanup kills it
ip netns exec "$(ns 1)" unshare -m sh -c 'mount --bind "$0" /etc/resolv.conf && exec "$@"' \
    "$TMP/resolv.conf" "$BIN" agent --node h1 --bind 10.77.0.1:7420 --data-dir "$TMP/h1" \
    --profile fast --log-level debug --dns 127.0.0.1:53 >>"$TMP/h1.log" 2>&1 &
PID[1]=$!
say "started h1 (pid ${PID[1]}) with DNS on 127.0.0.1:53 and resolv.conf pointing at it"
wait_until 10 "h1 answers its API" cli 1 info
grep -q 'DNS on 127.0.0.1:53 (UDP and TCP), zone troupe., 0 upstream resolvers' "$TMP/h1.log" ||
    fail "the agent did not leave itself out of resolv.conf's nameservers"
start 2 --join 10.77.0.1:7420
wait_until 10 "h1 sees h2 alive" is_status 1 h2 alive

out=$(in_mnt 1 getent hosts h2.node.troupe) || fail "getent hosts h2.node.troupe failed"
[ "$(echo "$out" | awk '{print $1}')" = 10.77.0.2 ] || fail "getent hosts h2.node.troupe: $out"
out=$(in_mnt 1 getent ahostsv4 H1.Node.Troupe) || fail "getent ahostsv4 H1.Node.Troupe failed"
echo "$out" | grep -q '^10.77.0.1 ' || fail "getent ahostsv4 H1.Node.Troupe: $out"
say "ok: getent through glibc: $(in_mnt 1 getent hosts h2.node.troupe)"

in_mnt 1 getent hosts nosuch.node.troupe && fail "an unknown node resolved"
out=$(ip netns exec "$(ns 1)" dig -p 53 @127.0.0.1 +time=2 +tries=1 example.com A)
echo "$out" | grep -q 'status: REFUSED' || fail "no upstream: want REFUSED, got: $out"
echo "$out" | grep -q 'flags: qr rd;' || fail "REFUSED should not claim recursion: $out"
say "ok: REFUSED without an upstream"
# PID[1] must not be one of the launchers (TROUPE_BIN may be a wrapper such
# as valgrind-troupe, so its executable need not be TROUPE_BIN)
first=$(tr '\0' '\n' <"/proc/${PID[1]}/cmdline" | head -n 1)
case $(basename "$first") in
ip | unshare | sh) fail "PID[1] is $first, not the agent: cleanup would leave it running" ;;
esac
tr '\0' ' ' <"/proc/${PID[1]}/cmdline" | grep -q " agent --node h1 " ||
    fail "PID[1] is not the agent: cleanup would leave it running"
