#!/bin/bash
# Every agent has the same join list, the seed's own address included (one
# config for all machines). The seed restarted with SIGTERM, then with
# kill -9, is seen alive by everyone again within 10 s and sees everyone;
# a new agent that joins through the freshly restarted seed sees every member.
. "$(dirname "$0")/lib.sh"
net_up 4
J=(--join 10.77.0.1)
# peers_saved I N: hI's data dir lists N known peers (saved shortly after
# members change, and read back by a restarted agent to rejoin)
peers_saved() {
    [ "$(sqlite3 "file:$TMP/h$1/troupe.db?mode=ro" "SELECT count(*) FROM peers" 2>/dev/null)" = "$2" ]
}
for i in 1 2 3; do start "$i" "${J[@]}"; done
for i in 1 2 3; do wait_until 15 "h$i sees 3 alive" sees_count "$i" alive 3; done
for i in 1 2 3; do wait_until 10 "h$i saved its 2 peers" peers_saved "$i" 2; done

inc0=$(cli 1 info --json | jq .incarnation)
say "SIGTERM to h1 (a restart by its service manager), start it again"
kill -TERM "${PID[1]}"
wait "${PID[1]}" || fail "h1 did not stop cleanly"
wait_until 10 "h2 and h3 see h1 left" all_see h1 left 2 3
start 1 "${J[@]}"
grep -q "skipping 10.77.0.1:7420: it is this agent's own address" "$TMP/h1.log" ||
    fail "h1 did not skip its own address"
inc1=$(cli 1 info --json | jq .incarnation)
[ "$inc1" -gt "$inc0" ] || fail "h1 restarted at incarnation $inc1, not above $inc0"
say "h1 restarted at incarnation $inc1 (was $inc0)"
for i in 1 2 3; do wait_until 10 "h$i sees 3 alive after the SIGTERM restart" sees_count "$i" alive 3; done

say "kill -9 h1, start it again at once"
kill -9 "${PID[1]}"
wait "${PID[1]}" 2>/dev/null
start 1 "${J[@]}"
for i in 1 2 3; do wait_until 10 "h$i sees 3 alive after the kill -9 restart" sees_count "$i" alive 3; done

say "SIGTERM h1 again; h4 joins through it right after its restart"
kill -TERM "${PID[1]}"
wait "${PID[1]}"
start 1 "${J[@]}"
start 4 "${J[@]}"
for i in 1 2 3 4; do wait_until 10 "h$i sees 4 alive" sees_count "$i" alive 4; done
[ "$(cli 1 info --json | jq -r .join.state)" = joined ] || fail "h1 does not say it joined"
