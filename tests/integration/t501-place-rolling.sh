#!/bin/bash
# A rolling update of a count-6 service with max_parallel 2 on 5 hosts:
# while the test polls every 100 ms, never more than 2 slots are without a
# passing instance, and every slot ends on the new version. A version whose
# check fails is rolled back (auto_revert) on every host: the spec record
# is the previous version again, every slot runs it, and the rollback is
# in the history. (The canary, beside the old slots, is t503's.)
. "$(dirname "$0")/lib.sh"

place_cleanup() {
    local rc=$?
    [ -n "${POLLER:-}" ] && kill "$POLLER" 2>/dev/null
    (exit $rc)
    instances_cleanup
}
trap place_cleanup EXIT

net_up 5
cluster 5 --enable-exec-checks

# spec ARG CHECK [CANARY]: the roll spec running sleep ARG with an exec check
# CHECK, which passes after three successes: a replaced slot is down ~1 s
spec() {
    cat >"$TMP/roll.json" <<JSON
{"name": "roll", "command": "/bin/sleep", "args": ["$1"], "user": "nobody", "count": 6,
 "checks": [{"name": "ok", "exec": "$2", "interval_ms": 300, "timeout_ms": 250,
             "successes_before_passing": 3}],
 "update": {"max_parallel": 2, "min_healthy_ms": 1500, "healthy_deadline_ms": 12000,
            "auto_revert": true, "canary": ${3:-0}}}
JSON
}

# on_version I: as hI sees it, every slot runs once, passing, on the spec's version
on_version() {
    api "$1" GET /v1/place/roll | jq -e '.specs[0] as $s | $s.running == 6 and $s.doubled == 0 and
        all($s.slots[]; (.running | length) == 1 and .running[0].status == "passing" and
                        .running[0].version == $s.version)'
}
all_on_version() { local i; for i in 1 2 3 4 5; do on_version "$i" || return 1; done; }
# settled I: hI saw every slot pass on the version for min_healthy_ms (the
# version a failed update goes back to)
settled() { api "$1" GET /v1/place/roll | jq -e '.specs[0].update.settled == 6'; }
all_settled() { local i; for i in 1 2 3 4 5; do settled "$i" || return 1; done; }
version_of() { api "$1" GET /v1/place/roll | jq -r '.specs[0].version'; }

# poll OUT: every 100 ms, as h1 sees it, how many slots have no passing
# instance (OUT) and how many are down or not settled on the version (OUT.busy)
poll() {
    while :; do
        api 1 GET /v1/place/roll | jq -r '([.specs[0].slots[] | select([.running[] |
            select(.status == "passing")] | length == 0)] | length),
            (.specs[0].update.busy // 0)' | {
            read -r down && echo "$down" >>"$1"
            read -r busy && echo "$busy" >>"$1.busy"
        }
        sleep 0.1
    done
}
max_of() { sort -n "$1" | tail -n 1; }

say "v1 on 6 slots"
spec 100000 true
cli 1 apply "$TMP/roll.json" || fail "apply v1"
wait_until 40 "every slot passing on v1 on every host" all_on_version
wait_until 20 "v1 settled on every host" all_settled
v1=$(version_of 1)

say "v2: a rolling update, max_parallel 2"
poll "$TMP/down2" &
POLLER=$!
spec 100001 true
t0=$(date +%s%N)
cli 2 apply "$TMP/roll.json" || fail "apply v2"
wait_until 90 "every slot passing on v2 on every host" all_on_version
wait_until 20 "v2 settled on every host" all_settled
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
kill "$POLLER"; POLLER=
v2=$(version_of 1)
[ "$v2" != "$v1" ] || fail "the version did not change"
m=$(max_of "$TMP/down2")
b=$(max_of "$TMP/down2.busy")
say "v2 everywhere after $ms ms; at most $m of 6 slots down and $b down or settling at once" \
    "($(wc -l <"$TMP/down2") polls)"
[ "$m" -le 2 ] || fail "$m slots down at once during the update, max_parallel is 2"
[ "$b" -le 2 ] || fail "$b slots down or settling at once during the update, max_parallel is 2"
[ "$b" -ge 1 ] || fail "no slot seen settling: the polls missed the update"
[ "$ms" -ge 3000 ] || fail "v2 everywhere after $ms ms: not rolled (three waves of 1.5 s)"

say "v3: its check fails; rolled back to v2 on every host"
poll "$TMP/down3" &
POLLER=$!
spec 100002 false
cli 4 apply "$TMP/roll.json" || fail "apply v3"
back() {
    local i
    for i in 1 2 3 4 5; do
        api "$i" GET /v1/specs/roll | jq -e '.spec.args[0] == "100001"' || return 1
        [ "$(version_of "$i")" = "$v2" ] || return 1
    done
}
wait_until 60 "the spec record is v2 again on every host" back
wait_until 60 "every slot passing on v2 on every host" all_on_version
kill "$POLLER"; POLLER=
m=$(max_of "$TMP/down3")
say "at most $m of 6 slots down at once during the failed update and its rollback"
[ "$m" -le 2 ] || fail "$m slots down at once during the failed update"
rolled() {
    local i
    for i in 1 2 3 4 5; do
        api "$i" GET "/v1/events?kind=rollback" | jq -e '.[] | select(.subject == "roll")' && return 0
    done
    return 1
}
wait_until 10 "the rollback is in a history" rolled
n=0
for i in 1 2 3 4 5; do
    n=$((n + $(api "$i" GET /metrics | awk '$1 == "troupe_place_rollbacks_total" {print $2}')))
done
[ "$n" = 1 ] || fail "$n rollbacks written in all (troupe_place_rollbacks_total), not 1"
say "$(grep -h "rolled back" "$TMP"/h*.log | head -n 1)"

