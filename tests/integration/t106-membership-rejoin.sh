#!/bin/bash
# An agent restarted without --join rejoins by itself through the peers it
# remembers in its data directory, even after kill -9.
. "$(dirname "$0")/lib.sh"
net_up 3
start 1
start 2 --join 10.77.0.1
start 3 --join 10.77.0.1
for i in 1 2 3; do wait_until 15 "h$i sees 3 alive" sees_count "$i" alive 3; done
# known peers are saved shortly after they change: wait until h3's data dir has both
saved_both() {
    [ "$(sqlite3 "file:$TMP/h3/troupe.db?mode=ro" "SELECT count(*) FROM peers" 2>/dev/null)" = 2 ]
}
wait_until 10 "h3 saved h1 and h2 as known peers" saved_both
say "kill -9 h3, wait until it is dead, restart it with no --join"
kill -9 "${PID[3]}"
wait_until 20 "h1 sees h3 dead" is_status 1 h3 dead
start 3
grep -q "rejoining 2 known peers" "$TMP/h3.log" || fail "h3 did not use its known peers"
wait_until 15 "h3 sees 3 alive" sees_count 3 alive 3
wait_until 15 "h1 and h2 see h3 alive again" all_see h3 alive 1 2
