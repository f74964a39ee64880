#!/bin/bash
# A 2|3 partition of 5 hosts running a count-6 spec: each side places and
# runs every slot on its own members (at-least-once: the slots run on both
# sides); after healing, the duplicates stop within 10 s of every agent
# seeing every member alive, and every slot runs exactly once.
. "$(dirname "$0")/lib.sh"

trap instances_cleanup EXIT

net_up 5
cluster 5
cat >"$TMP/part.json" <<'JSON'
{"name": "part", "command": "/bin/sleep", "args": ["100000"], "user": "nobody", "count": 6}
JSON

# once I HOSTS: as hI sees it, every slot of part runs exactly once, on a
# node of HOSTS (a regex) that placement gives it
once() {
    api "$1" GET /v1/place/part | jq -e --arg h "$2" '.specs[0] as $s | $s.running == 6 and
        $s.missing == 0 and $s.doubled == 0 and
        all($s.slots[]; (.running | length) == 1 and .running[0].node == .node and
                        (.node | test($h)))'
}
all_once() {
    local h=$1 i
    shift
    for i in "$@"; do once "$i" "$h" || return 1; done
}
total() {
    local i n=0
    for i in 1 2 3 4 5; do n=$((n + $(cli "$i" ps --json | jq '[.[] | select(.service == "part" and .state == "running")] | length'))); done
    echo "$n"
}
total_is() { [ "$(total)" = "$1" ]; }

cli 1 apply "$TMP/part.json" || fail "apply"
wait_until 30 "every slot once, on every host's view" all_once . 1 2 3 4 5
say "$(total) instances of part run on the 5 hosts"

say "cutting {h1,h2} from {h3,h4,h5}"
for a in 1 2; do for b in 3 4 5; do cut_link "$a" "$b"; done; done
sides_dead() {
    for b in 3 4 5; do is_status 1 "h$b" dead || return 1; is_status 2 "h$b" dead || return 1; done
    for a in 1 2; do for b in 3 4 5; do is_status "$b" "h$a" dead || return 1; done; done
}
wait_until 40 "the sides see each other dead" sides_dead
wait_until 20 "the left side runs every slot once on h1/h2" all_once '^h[12]$' 1 2
wait_until 20 "the right side runs every slot once on h3-h5" all_once '^h[345]$' 3 4 5
n=$(total)
say "$n instances of part run during the partition (6 per side: 12)"
[ "$n" = 12 ] || fail "$n instances run during the partition, not 12"

say "healing the partition"
th=$(date +%s%N)
for a in 1 2; do for b in 3 4 5; do heal_link "$a" "$b"; done; done
for i in 1 2 3 4 5; do wait_until 60 "h$i sees 5 alive after the heal" sees_count "$i" alive 5; done
t0=$(date +%s%N)
wait_until 10 "every slot once again, on every host's view" all_once . 1 2 3 4 5
wait_until 10 "6 instances of part run on the 5 hosts" total_is 6
say "duplicates gone $(( ($(date +%s%N) - t0) / 1000000 )) ms after every agent saw all 5 alive," \
    "$(( ($(date +%s%N) - th) / 1000000 )) ms after the heal"
