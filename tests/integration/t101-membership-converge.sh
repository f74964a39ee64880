#!/bin/bash
# Five agents on five hosts converge: every agent sees all five alive.
. "$(dirname "$0")/lib.sh"
net_up 5
cluster 5
say "members as h3 sees them:"
cli 3 members
