#!/bin/bash
# Two agents restarted one right after the other, every agent with the same
# join list (the first one's address): the second joins while the first is
# still restarting, and within 10 s all five are one cluster again.
. "$(dirname "$0")/lib.sh"
net_up 5
J=(--join 10.77.0.1)
# peers_saved I N: hI's data dir lists N known peers (saved shortly after
# members change, and read back by a restarted agent to rejoin)
peers_saved() {
    [ "$(sqlite3 "file:$TMP/h$1/troupe.db?mode=ro" "SELECT count(*) FROM peers" 2>/dev/null)" = "$2" ]
}
for i in 1 2 3 4 5; do start "$i" "${J[@]}"; done
for i in 1 2 3 4 5; do wait_until 15 "h$i sees 5 alive" sees_count "$i" alive 5; done
for i in 1 2; do wait_until 10 "h$i saved its 4 peers" peers_saved "$i" 4; done

say "SIGTERM h1 and h2, restart h1, then h2 at once"
kill -TERM "${PID[1]}" "${PID[2]}"
wait "${PID[1]}" "${PID[2]}"
ip netns exec "$(ns 1)" "$BIN" agent --node h1 --bind 10.77.0.1:7420 --data-dir "$TMP/h1" \
    --profile fast --log-level debug "${J[@]}" >>"$TMP/h1.log" 2>&1 &
PID[1]=$!
start 2 "${J[@]}"
for i in 1 2 3 4 5; do wait_until 10 "h$i sees 5 alive" sees_count "$i" alive 5; done

say "kill -9 h1 and h2, restart both at once"
kill -9 "${PID[1]}" "${PID[2]}"
wait "${PID[1]}" "${PID[2]}" 2>/dev/null
ip netns exec "$(ns 1)" "$BIN" agent --node h1 --bind 10.77.0.1:7420 --data-dir "$TMP/h1" \
    --profile fast --log-level debug "${J[@]}" >>"$TMP/h1.log" 2>&1 &
PID[1]=$!
start 2 "${J[@]}"
for i in 1 2 3 4 5; do wait_until 10 "h$i sees 5 alive" sees_count "$i" alive 5; done
