#!/bin/bash
# An agent that was down while a member was reaped still holds that
# member's records in its data dir when it starts again. The membership
# it rejoins no longer lists the member, so nobody tells it of the reap:
# once the member has gone unlisted there for --reap-after-s, it forgets
# the records as a reaped member's (else they would hold every tombstone
# back and go back to the peers that forgot them), and the digests agree.
. "$(dirname "$0")/lib.sh"
net_up 3
cluster 3 --reap-after-s 6 --gc-interval-ms 500
listed() { [ "$(api "$1" GET /v1/catalog/service/eph | jq length)" = "$2" ]; }
api 3 PUT /v1/agent/service/register -d '{"name": "eph", "id": "eph-3", "port": 1}' >/dev/null ||
    fail "register on h3"
wait_until 10 "h1 and h2 list eph-3" eval "listed 1 1 && listed 2 1"
# saved_by_h2 ORIGIN: h2's data dir holds a record of ORIGIN
saved_by_h2() {
    [ "$(sqlite3 "file:$TMP/h2/troupe.db?mode=ro" \
        "SELECT count(*) FROM records WHERE origin = '$1'" 2>/dev/null)" -gt 0 ]
}
wait_until 10 "h2 saved eph-3 to its data dir" saved_by_h2 h3
say "h2 and h3 stop; h1 reaps them"
kill -9 "${PID[2]}" "${PID[3]}"
wait_until 40 "h1 forgets eph-3 once h3 is reaped" listed 1 0
start 2 --join 10.77.0.1 --reap-after-s 6 --gc-interval-ms 500
wait_until 20 "h1 and h2 see each other alive" eval "sees_count 1 alive 2 && sees_count 2 alive 2"
# h2 read eph-3 back from its data dir (h1 drops the copies h2 sends it:
# h3 is reaped there), so the digests differ until h2 forgets h3 too
records() { api "$1" GET /v1/catalog/digest | jq .records; }
[ "$(records 2)" -gt "$(records 1)" ] || fail "h2 should hold h3's records from its data dir"
wait_until 40 "h2 forgets h3's records: h3 is no member there" \
    grep -q "forgetting the records of h3" "$TMP/h2.log"
wait_until 20 "the same digest on h1 and h2" same_digest 1 2
listed 2 0 || fail "h2 still lists eph-3"
