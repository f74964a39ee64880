#!/bin/bash
# Five agents on five hosts converge: every agent sees all five alive.
. "$(dirname "$0")/lib.sh"
net_up 5
start 1
for i in 2 3 4 5; do start "$i" --join 10.77.0.1; done
for i in 1 2 3 4 5; do wait_until 15 "h$i sees 5 alive" sees_count "$i" alive 5; done
say "members as h3 sees them:"
cli 3 members
