#!/bin/bash
# A graceful leave (SIGTERM, or troupe leave) is seen as left, not dead,
# and the agent exits 0 within 2 s.
. "$(dirname "$0")/lib.sh"
net_up 4
start 1
for i in 2 3 4; do start "$i" --join 10.77.0.1; done
for i in 1 2 3 4; do wait_until 15 "h$i sees 4 alive" sees_count "$i" alive 4; done
say "SIGTERM to h4"
t0=$(date +%s%N)
kill -TERM "${PID[4]}"
wait "${PID[4]}"
rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ $rc -eq 0 ] || fail "h4 exited $rc after SIGTERM"
[ $ms -le 2000 ] || fail "h4 took ${ms} ms to stop"
say "h4 stopped in ${ms} ms with exit 0"
wait_until 10 "h1-h3 see h4 left" all_see h4 left 1 2 3
say "troupe leave on h3"
cli 3 leave || fail "troupe leave failed"
wait "${PID[3]}" || fail "h3 did not exit 0 after troupe leave"
wait_until 10 "h1 and h2 see h3 left" all_see h3 left 1 2
# Left must stay left: nothing marks the moment it would change, so watch for
# 3 s, over three times the fast profile's longest suspicion (800 ms with
# this few members) and dozens of gossip rounds, while h1 and h2 go on
# probing each other (their UDP counters prove the window was not idle).
udp_out() { api "$1" GET /metrics | awk '$1 == "troupe_net_udp_packets_total{dir=\"out\"}" {print $2}'; }
before1=$(udp_out 1) before2=$(udp_out 2)
left_both() { all_see h4 left 1 2 && all_see h3 left 1 2; }
hold 3 "h1 and h2 see h3 and h4 left" left_both
[ "$(udp_out 1)" -ge $((before1 + 10)) ] && [ "$(udp_out 2)" -ge $((before2 + 10)) ] ||
    fail "h1 or h2 sent fewer than 10 datagrams in 3 s: no probing went on"
