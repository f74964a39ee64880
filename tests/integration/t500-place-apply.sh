#!/bin/bash
# troupe apply on one host of four: a count-7 service and a role=web one
# (distinct hosts) run every slot exactly once, where placement says, on
# every host's view; kill -9 of one agent: its slots run elsewhere within
# its death detection and a few seconds; troupe diff exits 2 on a changed
# field (naming it) and 0 once applied. A spec spread over two zones puts
# half its slots in each. Routes in DIR/routes are diffed,
# applied and pruned with the specs; a spec with an unknown field is
# refused naming it, and slots nobody can take (a constraint no member
# meets, more slots than members with distinct_hosts, more than the
# members' declared capacity) show in troupe status as unplaceable with
# the reason.
. "$(dirname "$0")/lib.sh"

place_cleanup() {
    local rc=$?
    [ -n "${POLLER:-}" ] && kill "$POLLER" 2>/dev/null
    (exit $rc)
    instances_cleanup
}
trap place_cleanup EXIT

net_up 4
# tags_of I: hI's tags: h1, h2 role=web; h3, h4 role=db; h1, h3 in zone a,
# h2, h4 in b; each offers cpu_millis=4000
tags_of() {
    local role=db zone=b
    [ "$1" -le 2 ] && role=web
    [ $(($1 % 2)) = 1 ] && zone=a
    echo "--tag role=$role --tag zone=$zone --capacity cpu_millis=4000"
}
# shellcheck disable=SC2046 # the tags are two words each
start 1 $(tags_of 1)
# shellcheck disable=SC2046
for i in 2 3 4; do start "$i" --join 10.77.0.1 $(tags_of "$i"); done
for i in 1 2 3 4; do wait_until 30 "h$i sees 4 alive" sees_count "$i" alive 4; done

mkdir -p "$TMP/specs"
cat >"$TMP/specs/work.json" <<'JSON'
{"name": "work", "command": "/bin/sleep", "args": ["100000"], "user": "nobody", "count": 7}
JSON
cat >"$TMP/specs/zoned.json" <<'JSON'
{"name": "zoned", "command": "/bin/sleep", "args": ["100000"], "user": "nobody", "count": 4,
 "spread": "zone"}
JSON
cat >"$TMP/specs/front.json" <<'JSON'
{"name": "front", "command": "/bin/sleep", "args": ["100000"], "user": "nobody", "count": 2,
 "constraints": {"role": "web", "distinct_hosts": true}}
JSON

# placed I NAME COUNT [HOSTS]: as hI sees it, NAME has COUNT slots, each
# running exactly once (serving), on the node placement gives it, and
# every node is one of HOSTS (a regex, default any)
placed() {
    local i=$1 name=$2 n=$3 hosts=${4:-.}
    api "$i" GET "/v1/place/$name" | jq -e --argjson n "$n" --arg h "$hosts" '
        .specs[0] as $s | $s.count == $n and $s.running == $n and $s.missing == 0 and
        $s.doubled == 0 and $s.unplaceable == 0 and
        all($s.slots[]; (.running | length) == 1 and .running[0].node == .node and
                         (.node | test($h)))'
}
all_placed() {
    local name=$1 n=$2 hosts=$3 i
    shift 3
    for i in "$@"; do placed "$i" "$name" "$n" "$hosts" || return 1; done
}

say "troupe diff before anything: both specs are new"
cli 1 diff "$TMP/specs" >"$TMP/diff.out"
rc=$?
[ $rc -eq 2 ] || fail "troupe diff with two new specs exited $rc, not 2"
grep -q "+ work" "$TMP/diff.out" || fail "diff does not name work: $(cat "$TMP/diff.out")"

# zoned_ok I: as hI sees it, zoned's 4 slots run once each, the even ones
# in zone a (h1, h3) and the odd ones in zone b (h2, h4): even shares
zoned_ok() {
    placed "$1" zoned 4 && api "$1" GET /v1/place/zoned | jq -e '
        all(.specs[0].slots[]; (.slot % 2 == 0) == (.node | test("^h[13]$")))'
}
all_zoned() { local i; for i in 1 2 3 4; do zoned_ok "$i" || return 1; done; }

say "troupe apply on h1"
t0=$(date +%s%N)
cli 1 apply "$TMP/specs" || fail "troupe apply"
wait_until 30 "work: 7 slots each running once, on every host's view" all_placed work 7 . 1 2 3 4
wait_until 10 "front: 2 slots on h1 and h2 (role=web), one each" all_placed front 2 '^h[12]$' 1 2 3 4
wait_until 10 "zoned: 2 slots in zone a, 2 in zone b" all_zoned
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
say "every slot running $ms ms after the apply"
[ "$ms" -le 5000 ] || fail "the slots ran $ms ms after the apply, not within 5 s"
[ "$(api 3 GET /v1/place/front | jq '[.specs[0].slots[].node] | unique | length')" = 2 ] ||
    fail "front's two slots are not on two hosts"
cli 2 status work | grep -q "work: count 7, running 7" || fail "troupe status: $(cli 2 status work)"

say "troupe diff after the apply: nothing"
cli 3 diff "$TMP/specs" || fail "troupe diff after apply exited $?, not 0"

say "a changed field: diff names it and exits 2"
sed -i 's/"count": 7/"count": 8/' "$TMP/specs/work.json"
cli 1 diff "$TMP/specs" >"$TMP/diff.out"
rc=$?
[ $rc -eq 2 ] || fail "troupe diff with a changed count exited $rc, not 2"
grep -q "work.count: 7 -> 8" "$TMP/diff.out" || fail "diff: $(cat "$TMP/diff.out")"
cli 1 apply "$TMP/specs" || fail "troupe apply of count 8"
wait_until 20 "work: 8 slots each running once" all_placed work 8 . 1 2 3 4
cli 4 diff "$TMP/specs" || fail "troupe diff after the second apply exited $?, not 0"

say "routes in DIR/routes: diff shows them, apply publishes them, --prune removes them"
mkdir -p "$TMP/specs/routes"
echo '{"name": "front", "service": "front", "port": 9301}' >"$TMP/specs/routes/front.json"
echo '{"service": "work", "port": 9302, "protocol": "tcp"}' >"$TMP/specs/routes/work.json"
cli 2 diff "$TMP/specs" >"$TMP/diff.out"
rc=$?
[ $rc -eq 2 ] || fail "troupe diff with two new routes exited $rc, not 2"
grep -q "+ route front: new route" "$TMP/diff.out" || fail "diff: $(cat "$TMP/diff.out")"
grep -q "+ route work: new route" "$TMP/diff.out" || fail "diff: $(cat "$TMP/diff.out")"
cli 2 apply "$TMP/specs" || fail "troupe apply with routes"
routes_are() {
    local i
    for i in 1 2 3 4; do
        [ "$(api "$i" GET /v1/routes | jq -c '[.[] | [.name, .port]]')" = "$1" ] || return 1
    done
}
wait_until 10 "both routes on every host" routes_are '[["front",9301],["work",9302]]'
cli 3 diff "$TMP/specs" || fail "troupe diff after applying the routes exited $?, not 0"
sed -i 's/9301/9303/' "$TMP/specs/routes/front.json"
rm "$TMP/specs/routes/work.json"
cli 1 diff "$TMP/specs" >"$TMP/diff.out"
rc=$?
[ $rc -eq 2 ] || fail "troupe diff with a changed and a removed route exited $rc, not 2"
grep -q "~ route front.port: 9301 -> 9303" "$TMP/diff.out" || fail "diff: $(cat "$TMP/diff.out")"
grep -q "\- route work: not in" "$TMP/diff.out" || fail "diff: $(cat "$TMP/diff.out")"
cli 1 apply --prune "$TMP/specs" || fail "troupe apply --prune with routes"
wait_until 10 "front's new port and no work route on every host" routes_are '[["front",9303]]'
cli 4 diff "$TMP/specs" || fail "troupe diff after the prune exited $?, not 0"
echo '{"service": "work", "port": 0}' >"$TMP/specs/routes/bad.json"
cli 1 apply "$TMP/specs" 2>"$TMP/apply.err" && fail "apply of a route with port 0 succeeded"
grep -q "routes/bad.json: port" "$TMP/apply.err" || fail "the refusal: $(cat "$TMP/apply.err")"
rm -r "$TMP/specs/routes"
cli 1 apply --prune "$TMP/specs" || fail "apply --prune without DIR/routes"
routes_are '[["front",9303]]' || fail "apply --prune without DIR/routes removed routes"

say "bad specs: an unknown field is refused naming it; what cannot be placed says why"
echo '{"name": "bad", "command": "/bin/true", "user": "nobody", "colour": "red"}' \
    >"$TMP/specs/bad.json"
cli 1 apply "$TMP/specs" 2>"$TMP/apply.err" && fail "apply of a spec with an unknown field succeeded"
grep -q "colour" "$TMP/apply.err" || fail "the refusal does not name colour: $(cat "$TMP/apply.err")"
rm "$TMP/specs/bad.json"
cat >"$TMP/specs/edge.json" <<'JSON'
{"name": "edge", "command": "/bin/sleep", "args": ["100000"], "user": "nobody",
 "constraints": {"role": "edge"}}
JSON
cat >"$TMP/specs/big.json" <<'JSON'
{"name": "big", "command": "/bin/sleep", "args": ["100000"], "user": "nobody", "count": 5,
 "resources": {"cpu_millis": 3000}}
JSON
cat >"$TMP/specs/wide.json" <<'JSON'
{"name": "wide", "command": "/bin/sleep", "args": ["100000"], "user": "nobody", "count": 5,
 "constraints": {"distinct_hosts": true}}
JSON
cli 1 apply "$TMP/specs" || fail "apply of edge, big and wide"
unplaceable() {
    cli 3 status >"$TMP/status.out" || return 1
    grep -q "edge: count 1, running 0, passing 0, missing 1, doubled 0, unplaceable 1" \
        "$TMP/status.out" &&
        grep -q "unplaceable: constraints: no live member has role=edge" "$TMP/status.out" &&
        grep -q "wide: count 5, running 4, .*unplaceable 1" "$TMP/status.out" &&
        grep -q "unplaceable: distinct_hosts: 4 eligible members for 5 slots" "$TMP/status.out" &&
        grep -q "big: count 5, running 4, .*unplaceable 1" "$TMP/status.out" &&
        grep -q "unplaceable: resources: no eligible member has room for cpu_millis=3000" \
            "$TMP/status.out"
}
wait_until 20 "troupe status shows edge, one slot of big and one of wide unplaceable, with why" \
    unplaceable
rm "$TMP/specs/edge.json" "$TMP/specs/big.json" "$TMP/specs/wide.json"
cli 1 apply --prune "$TMP/specs" || fail "apply --prune of edge, big and wide"

say "a spec asking for at-most-once is refused, nothing published"
echo '{"name": "cron", "command": "/bin/true", "user": "nobody", "exclusive": true}' \
    >"$TMP/specs/cron.json"
cli 1 apply "$TMP/specs" 2>"$TMP/apply.err" && fail "apply of an exclusive spec succeeded"
grep -q "exclusive" "$TMP/apply.err" || fail "the refusal does not name exclusive"
rm "$TMP/specs/cron.json"

victim=$(api 1 GET /v1/place/work | jq -r '.specs[0].slots[] | select(.node != "h1") | .node' |
    head -n 1)
v=${victim#h}
say "kill -9 of $victim, which runs slots $(api 1 GET /v1/place/work |
    jq -c --arg v "$victim" '[.specs[0].slots[] | select(.node == $v) | .slot]') of work"
# where h1 sees each slot of work: slot:node lines, sorted
where() { api 1 GET /v1/place/work | jq -r '.specs[0].slots[] | "\(.slot):\(.node)"' | sort; }
where >"$TMP/where0"
# poll OUT: every 100 ms, a time in ms and how many slots of work h1 sees missing
poll() {
    while :; do
        m=$(api 1 GET /v1/place/work | jq '.specs[0].missing') && echo "$(date +%s%3N) $m" >>"$1"
        sleep 0.1
    done
}
# longest_missing FILE: the longest stretch in ms with a slot missing
longest_missing() {
    awk 'BEGIN {start = -1; worst = 0}
         $2 > 0 && start < 0 {start = $1}
         $2 == 0 && start >= 0 {if ($1 - start > worst) worst = $1 - start; start = -1}
         END {if (start >= 0 && $1 - start > worst) worst = $1 - start; print worst}' "$1"
}
poll "$TMP/missing" &
POLLER=$!
t0=$(date +%s%N)
kill -9 "${PID[$v]}"
alive=()
for i in 1 2 3 4; do [ "$i" = "$v" ] || alive+=("$i"); done
wait_until 30 "the others see $victim dead" all_see "$victim" dead "${alive[@]}"
td=$(date +%s%N)
wait_until 15 "work: 8 slots running once on the three left" all_placed work 8 "^h[^$v]\$" "${alive[@]}"
if [ "$v" = 2 ]; then
    # front's slot of h2 has nowhere to go: only h1 is role=web, and distinct_hosts
    front_half() {
        api 1 GET /v1/place/front | jq -e '.specs[0] | .unplaceable == 1 and .running == 1 and
            ([.slots[].unplaceable // empty] | .[0] | test("distinct_hosts"))'
    }
    wait_until 10 "front: h2's slot unplaceable, and says why" front_half
else
    wait_until 10 "front: still on h1 and h2" all_placed front 2 '^h[12]$' "${alive[@]}"
fi
say "slots back $(( ($(date +%s%N) - td) / 1000000 )) ms after the death was seen," \
    "$(( ($(date +%s%N) - t0) / 1000000 )) ms after the kill"
back_ms=$(( ($(date +%s%N) - td) / 1000000 ))
[ "$back_ms" -le 2000 ] || fail "slots back $back_ms ms after the death was seen, not within 2 s"

say "$victim comes back: at most its own slots move back, none goes missing"
where >"$TMP/where1"
# shellcheck disable=SC2046
start "$v" --join 10.77.0.1 $(tags_of "$v")
wait_until 30 "every host sees $victim alive" all_see "$victim" alive 1 2 3 4
wait_until 20 "work: 8 slots running once on the four" all_placed work 8 . 1 2 3 4
kill "$POLLER"
POLLER=
where >"$TMP/where2"
moved=$(diff "$TMP/where1" "$TMP/where2" | grep -c '^>')
had=$(grep -c ":$victim\$" "$TMP/where0")
say "$moved slots moved back to $victim, which had $had before the kill" \
    "(8 slots over 4 members: a share of 2)"
[ "$moved" -le "$had" ] || fail "$moved slots moved on the return, $victim had $had"
diff "$TMP/where1" "$TMP/where2" | grep '^>' | grep -qv ":$victim\$" &&
    fail "a slot moved to another member than $victim: $(diff "$TMP/where1" "$TMP/where2")"
cmp -s "$TMP/where0" "$TMP/where2" || fail "placement after the return differs from before the kill"
worst=$(longest_missing "$TMP/missing")
say "the longest time h1 saw a slot of work missing: $worst ms ($(wc -l <"$TMP/missing") polls)"
[ "$worst" -le $(( (td - t0) / 1000000 + 2000 )) ] ||
    fail "a slot was missing $worst ms, more than the death detection plus 2 s"
