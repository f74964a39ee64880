#!/bin/bash
# A canary runs beside the old slots: with update.canary 2, a count-4
# service keeps its 4 slots running and passing on the old version while 2
# extra slots run the new one, until troupe promote; then the 4 roll to the
# new version and the extras stop, even when the canary waited longer
# than healthy_deadline_ms (the deadline counts again from the promote).
# The version to roll back to is a
# replicated record: a failed version is rolled back even when every agent
# was restarted (kill -9) in the middle of the rollout, which an agent that
# kept it in memory only could not do.
. "$(dirname "$0")/lib.sh"

trap instances_cleanup EXIT

net_up 5
cluster 5 --enable-exec-checks

# spec ARG CHECK [CANARY]: the can spec running sleep ARG with an exec check CHECK
spec() {
    cat >"$TMP/can.json" <<JSON
{"name": "can", "command": "/bin/sleep", "args": ["$1"], "user": "nobody", "count": 4,
 "checks": [{"name": "ok", "exec": "$2", "interval_ms": 300, "timeout_ms": 250,
             "successes_before_passing": 2}],
 "update": {"max_parallel": 2, "min_healthy_ms": 1000, "healthy_deadline_ms": 10000,
            "auto_revert": true, "canary": ${3:-0}}}
JSON
}

version_of() { api "$1" GET /v1/place/can | jq -r '.specs[0].version'; }
# on_version I [V]: as hI sees it, the 4 slots run once each, passing, on V
# (default the spec's version), and no canary runs
on_version() {
    api "$1" GET /v1/place/can | jq -e --arg v "${2:-}" '.specs[0] as $s |
        ($v | if . == "" then $s.version else . end) as $want |
        $s.count == 4 and ($s.canary // 0) == 0 and $s.running == 4 and $s.doubled == 0 and
        ($s.slots | length) == 4 and
        all($s.slots[]; (.running | length) == 1 and .running[0].status == "passing" and
                        .running[0].version == $want)'
}
all_on_version() { local i; for i in 1 2 3 4 5; do on_version "$i" "${1:-}" || return 1; done; }
# stable I V: hI holds V's spec as the version to roll back to
stable() {
    [ "$(api "$1" GET /v1/specs/can@stable | jq -r '.spec.args[0]')" = "$2" ]
}
all_stable() { local i; for i in 1 2 3 4 5; do stable "$i" "$1" || return 1; done; }
# beside I OLD: as hI sees it, slots 0-3 run once each, passing, on OLD,
# and slots 4-5 are the canary's, passing on the spec's version
beside() {
    api "$1" GET /v1/place/can | jq -e --arg old "$2" '.specs[0] as $s |
        $s.count == 4 and $s.canary == 2 and ($s.slots | length) == 6 and $s.doubled == 0 and
        all($s.slots[] | select(.slot < 4); (.canary // false) == false and
            (.running | length) == 1 and .running[0].status == "passing" and
            .running[0].version == $old) and
        all($s.slots[] | select(.slot >= 4); .canary == true and
            (.running | length) == 1 and .running[0].status == "passing" and
            .running[0].version == $s.version)'
}
all_beside() { local i; for i in 1 2 3 4 5; do beside "$i" "$1" || return 1; done; }
# serving N: h1 serves N instances of can, whatever their slot
serving() { [ "$(api 1 GET /v1/health/service/can | jq length)" = "$1" ]; }

say "v1 on 4 slots"
spec 100000 true
cli 1 apply "$TMP/can.json" || fail "apply v1"
wait_until 40 "every slot passing on v1 on every host" all_on_version
wait_until 20 "v1 recorded as the version to go back to, on every host" all_stable 100000
v1=$(version_of 1)
api 1 GET /v1/specs | jq -e 'map(.name) == ["can"]' >/dev/null ||
    fail "the stable record is listed as a spec: $(api 1 GET /v1/specs | jq -c 'map(.name)')"

say "v2 with canary 2: 4 slots stay on v1, 2 more run v2"
spec 100001 true 2
t0=$(date +%s%N)
cli 2 apply "$TMP/can.json" || fail "apply v2 with a canary"
wait_until 40 "4 slots on v1 and 2 canary slots on v2, as every host sees it" all_beside "$v1"
say "the canary ran beside $(( ($(date +%s%N) - t0) / 1000000 )) ms after the apply"
waits() { api 3 GET /v1/place/can | jq -e '.specs[0].update.promote'; }
wait_until 20 "the canary settled and waits for promote" waits
# 11 s: longer than healthy_deadline_ms, which must count again from the promote
hold 11 "still 4 on v1 and 2 canaries on v2 (nothing rolls before promote)" all_beside "$v1"
serving 6 || fail "h1 serves $(api 1 GET /v1/health/service/can | jq length) instances, not 6"
cli 4 status can | grep -q "the canary waits for troupe promote" ||
    fail "troupe status does not say the canary waits: $(cli 4 status can)"
cli 4 status can | grep -q "canary: 2 extra slots run the new version beside the 4" ||
    fail "troupe status does not show the canary: $(cli 4 status can)"

say "promote: the 4 roll to v2, the 2 extras stop"
t0=$(date +%s%N)
cli 5 promote can || fail "troupe promote"
wait_until 60 "every slot passing on v2 on every host, no canary" all_on_version
wait_until 20 "h1 serves 4 instances" serving 4
say "promoted and rolled in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
v2=$(version_of 1)
[ "$v2" != "$v1" ] || fail "v2 has the version of v1"
wait_until 20 "v2 recorded as the version to go back to, on every host" all_stable 100001

say "v3 fails its check; every agent is restarted (kill -9) during the rollout"
spec 100002 false
cli 3 apply "$TMP/can.json" || fail "apply v3"
gone() { ! kill -0 "${PID[$1]}" 2>/dev/null; }
for i in 1 2 3 4 5; do
    kill -9 "${PID[$i]}"
    wait_until 10 "h$i is gone" gone "$i"
done
start 1 --enable-exec-checks
for i in 2 3 4 5; do start "$i" --join 10.77.0.1 --enable-exec-checks; done
for i in 1 2 3 4 5; do wait_until 30 "h$i sees 5 alive" sees_count "$i" alive 5; done
t0=$(date +%s%N)
back() {
    local i
    for i in 1 2 3 4 5; do
        api "$i" GET /v1/specs/can | jq -e '.spec.args[0] == "100001"' || return 1
    done
}
wait_until 60 "the spec record is v2 again on every host" back
say "rolled back $(( ($(date +%s%N) - t0) / 1000000 )) ms after the restarts" \
    "(healthy_deadline_ms 10000 counts from each agent's start)"
wait_until 60 "every slot passing on v2 on every host" all_on_version "$v2"
say "$(grep -h "rolled back" "$TMP"/h*.log | head -n 1)"

say "deleting the spec deletes its stable record"
api 2 DELETE /v1/specs/can >/dev/null || fail "DELETE /v1/specs/can"
no_stable() {
    local i
    for i in 1 2 3 4 5; do api "$i" GET /v1/specs/can@stable && return 1; done
    return 0
}
wait_until 10 "no host holds can@stable" no_stable
wait_until 20 "h1 serves no instance of can" serving 0
