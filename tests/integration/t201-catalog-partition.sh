#!/bin/bash
# A 2|3 partition with registrations and KV writes on both sides (one key
# written on both sides) heals into one state: the same digest everywhere,
# nothing lost, and the later write of the shared key wins everywhere.
. "$(dirname "$0")/lib.sh"
net_up 5
cluster 5
reg() { # I ID: registers service part with id ID on hI
    api "$1" PUT /v1/agent/service/register -d "{\"name\": \"part\", \"id\": \"$2\", \"port\": 80}" \
        >/dev/null || fail "register $2 on h$1"
}
reg 1 before-1
wait_until 10 "before-1 everywhere" all_passing part 1 1 2 3 4 5
say "cutting {h1,h2} from {h3,h4,h5}"
for a in 1 2; do for b in 3 4 5; do cut_link "$a" "$b"; done; done
sides_dead() {
    for b in 3 4 5; do is_status 1 "h$b" dead || return 1; done
    for a in 1 2; do is_status 5 "h$a" dead || return 1; done
}
wait_until 30 "the sides see each other dead" sides_dead
reg 2 left-2
reg 4 right-4
for k in $(seq 1 20); do
    api 1 PUT "/v1/kv/left/$k" -d "l$k" >/dev/null || fail "kv put left/$k"
    api 5 PUT "/v1/kv/right/$k" -d "r$k" >/dev/null || fail "kv put right/$k"
done
api 2 PUT /v1/kv/shared -d "from-left" >/dev/null || fail "kv put shared on h2"
sleep 0.05
api 3 PUT /v1/kv/shared -d "from-right" >/dev/null || fail "kv put shared on h3"
api 1 PUT /v1/event/fire/split -d "during the partition" >/dev/null || fail "event fire on h1"
wait_until 10 "the left side sees left-2" all_passing part 2 1 2
# before-1 lives on h1, dead for the right side: not served there
wait_until 10 "the right side serves right-4 only" all_passing part 1 3 4 5
say "healing the partition"
for a in 1 2; do for b in 3 4 5; do heal_link "$a" "$b"; done; done
for i in 1 2 3 4 5; do wait_until 40 "h$i sees 5 alive after the heal" sees_count "$i" alive 5; done
wait_until 30 "every agent serves the 3 instances" all_passing part 3 1 2 3 4 5
wait_until 30 "the same digest everywhere" same_digest 1 2 3 4 5
for i in 1 2 3 4 5; do
    n=$(api "$i" GET "/v1/kv/?recurse" | jq '[.[] | select(.key | test("^(left|right)/"))] | length')
    [ "$n" = 40 ] || fail "h$i holds $n of the 40 keys written during the partition"
    v=$(api "$i" GET "/v1/kv/shared?raw")
    [ "$v" = "from-right" ] || fail "h$i: shared is \"$v\", the later write was from-right"
done
has_split() { api "$1" GET "/v1/events?kind=user" | jq -e '.[] | select(.subject == "split")' >/dev/null; }
for i in 1 2 3 4 5; do wait_until 10 "the user event reached h$i's history" has_split "$i"; done
say "digest $(digest_of 1) on every agent"
