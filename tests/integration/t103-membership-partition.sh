#!/bin/bash
# A 2|3 partition: each side loses the other, then the cut heals back into
# one cluster with everyone alive everywhere.
. "$(dirname "$0")/lib.sh"
net_up 5
cluster 5
say "cutting {h1,h2} from {h3,h4,h5}"
for a in 1 2; do for b in 3 4 5; do cut_link "$a" "$b"; done; done
other_side_down() {
    for a in 1 2; do for b in 3 4 5; do
        s=$(status_of "$a" "h$b"); [ "$s" = dead ] || [ "$s" = suspect ] || return 1
        s=$(status_of "$b" "h$a"); [ "$s" = dead ] || [ "$s" = suspect ] || return 1
    done; done
}
wait_until 20 "each side sees the other down" other_side_down
sides_dead() {
    for b in 3 4 5; do is_status 1 "h$b" dead || return 1; done
    for a in 1 2; do is_status 5 "h$a" dead || return 1; done
}
wait_until 20 "the sides see each other dead" sides_dead
say "healing the partition"
for a in 1 2; do for b in 3 4 5; do heal_link "$a" "$b"; done; done
for i in 1 2 3 4 5; do wait_until 40 "h$i sees 5 alive after the heal" sees_count "$i" alive 5; done
