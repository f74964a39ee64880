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
sleep 3
all_see h4 left 1 2 && all_see h3 left 1 2 || fail "left members turned into something else"
