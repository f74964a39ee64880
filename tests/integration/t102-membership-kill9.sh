#!/bin/bash
# kill -9 of one agent is seen as dead by all four others.
. "$(dirname "$0")/lib.sh"
net_up 5
cluster 5
say "kill -9 h5"
kill -9 "${PID[5]}"
wait_until 20 "h1-h4 see h5 dead" all_see h5 dead 1 2 3 4
for i in 1 2 3 4; do [ "$(count "$i" alive)" = 4 ] || fail "h$i does not see the 4 others alive"; done
