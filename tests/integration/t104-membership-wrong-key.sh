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
sleep 3
[ -z "$(status_of 1 h3)" ] || fail "h1 knows h3 although h3 has another key"
[ "$(count 3 alive)" = 1 ] || fail "h3 sees others although it has another key"
grep -q "refused.*no key of our keyring matches" "$TMP/h1.log" || fail "h1 does not log why h3 was refused"
grep -q "refused.*no key of our keyring matches" "$TMP/h3.log" || fail "h3 does not log why h1 was refused"
grep -q "join through 10.77.0.1:7420 failed" "$TMP/h3.log" || fail "h3 does not log its failed join"
say "h1 says: $(grep -m1 refused "$TMP/h1.log")"
say "a clear agent is refused too, with its own reason"
kill -9 "${PID[3]}"; sleep 0.2
start 3 --join 10.77.0.1 --data-dir "$TMP/h3b"
sleep 2
grep -q "refused.*in the clear" "$TMP/h1.log" || fail "h1 does not log that h3 sends clear gossip"
