#!/bin/bash
# An agent with another key cannot join, and both sides log why.
. "$(dirname "$0")/lib.sh"
net_up 3
K1=$("$BIN" keygen)
K2=$("$BIN" keygen)
[ "$K1" != "$K2" ] || fail "keygen gave the same key twice"
start 1 --encrypt "$K1"
start 2 --encrypt "$K1" --join 10.77.0.1
wait_until 15 "h1 and h2 see each other" sees_count 1 alive 2
start 3 --encrypt "$K2" --join 10.77.0.1
# refusal_count I REASON: gossip input hI refused for REASON, from its /metrics
refusal_count() {
    api "$1" GET /metrics |
        awk -v r="troupe_net_packets_refused_total{reason=\"$2\"}" '$1 == r {print $2}'
}
refused_ge() { [ "$(refusal_count "$1" "$2")" -ge "$3" ] 2>/dev/null; }
# h3 retries its join with a backoff: once its first join has failed and h1
# refused h3's gossip twice, h3 had its chances to get in
wait_until 15 "h3 logs its failed join" grep -q "join through 10.77.0.1:7420 failed" "$TMP/h3.log"
wait_until 15 "h1 refused gossip from h3 twice (no key of its keyring matches)" refused_ge 1 foreign_key 2
[ -z "$(status_of 1 h3)" ] || fail "h1 knows h3 although h3 has another key"
[ "$(count 3 alive)" = 1 ] || fail "h3 sees others although it has another key"
[ "$(count 1 alive)" = 2 ] || fail "h1 no longer sees h2"
grep -q "refused.*no key of our keyring matches" "$TMP/h1.log" || fail "h1 does not log why h3 was refused"
grep -q "refused.*no key of our keyring matches" "$TMP/h3.log" || fail "h3 does not log why h1 was refused"
say "h1 says: $(grep -m1 refused "$TMP/h1.log")"
say "a clear agent is refused too, with its own reason"
kill -9 "${PID[3]}"
wait "${PID[3]}" 2>/dev/null
start 3 --join 10.77.0.1 --data-dir "$TMP/h3b"
wait_until 15 "h1 logs that h3 sends clear gossip" grep -q "refused.*in the clear" "$TMP/h1.log"
wait_until 15 "h1 counts the clear gossip it refused" refused_ge 1 clear 1
[ -z "$(status_of 1 h3)" ] || fail "h1 knows the clear h3"
