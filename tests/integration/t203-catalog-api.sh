#!/bin/bash
# One agent on loopback: the catalog API refuses bad input naming the field,
# exec checks need --enable-exec-checks, SIGHUP reloads service files,
# blocking queries wait for a change, troupe watch and events -f print
# changes as they happen, and user events land in the history.
. "$(dirname "$0")/lib.sh"
[ -x "$BIN" ] || fail "no troupe binary at $BIN"
reserve_ports G H
U="http://127.0.0.1:$H"
mkdir -p "$TMP/conf"
"$BIN" agent --node solo --bind 127.0.0.1:$G --http 127.0.0.1:$H --data-dir "$TMP/solo" \
    --config-dir "$TMP/conf" >"$TMP/solo.log" 2>&1 &
PID[1]=$!
say "started solo (pid ${PID[1]}) gossip $G, http $H"
T() { "$BIN" --http 127.0.0.1:$H "$@"; }
wait_until 10 "solo answers" T info
expect() { # STATUS FIELD METHOD PATH [BODY]: answered STATUS with an error naming FIELD
    local code
    code=$(curl -s -o "$TMP/out" -w '%{http_code}' -X "$3" "$U$4" ${5+--data-binary "$5"})
    [ "$code" = "$1" ] && grep -q -- "$2" "$TMP/out" ||
        fail "$3 $4 ${5:-}: wanted $1 naming $2, got $code $(cat "$TMP/out")"
}
expect 400 "not JSON" PUT /v1/agent/service/register '{"name": '
expect 400 '"name: missing' PUT /v1/agent/service/register '{"port": 80}'
expect 400 "port" PUT /v1/agent/service/register '{"name": "a", "port": 70000}'
expect 400 "tags\[1\]" PUT /v1/agent/service/register '{"name": "a", "tags": ["x", 5]}'
expect 400 "colour: unknown" PUT /v1/agent/service/register '{"name": "a", "colour": "red"}'
expect 400 "checks\[0\].interval" PUT /v1/agent/service/register \
    '{"name": "a", "checks": [{"tcp": "127.0.0.1:1", "interval": "10"}]}'
expect 400 "checks\[0\]: expected exactly one" PUT /v1/agent/service/register \
    '{"name": "a", "checks": [{"interval": "1s"}]}'
expect 400 "checks\[0\].http" PUT /v1/agent/service/register \
    '{"name": "a", "checks": [{"http": "ftp://x"}]}'
expect 403 "enable-exec-checks" PUT /v1/agent/service/register \
    '{"name": "a", "checks": [{"args": ["/bin/true"]}]}'
expect 404 "no instance" PUT /v1/agent/service/deregister/nope
expect 404 "no check" PUT /v1/agent/check/nope/pass
head -c 600000 /dev/zero | tr '\0' x >"$TMP/big"
expect 413 "at most 524288" PUT /v1/kv/big "@$TMP/big"
expect 413 "payload" PUT /v1/event/fire/e "$(head -c 600 "$TMP/big")"
expect 400 "index" GET "/v1/catalog/services?index=abc"
expect 400 "wait" GET "/v1/catalog/services?index=1&wait=forever"
expect 405 "method" DELETE /v1/catalog/services
T service register /nonexistent 2>"$TMP/err"; rc=$?
[ $rc = 2 ] && grep -q "/nonexistent: No such file" "$TMP/err" ||
    fail "registering a missing file: exit $rc, $(cat "$TMP/err"), want 2 naming the file"
T kv get missing 2>"$TMP/err"; rc=$?
[ $rc = 1 ] && grep -q "answered 404" "$TMP/err" || fail "kv get of a missing key: exit $rc, $(cat "$TMP/err"), want 1 and the 404"

say "a blocking query returns when the catalog changes, not before"
idx=$(curl -sD - -o /dev/null "$U/v1/catalog/services" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-troupe-index"{print $2}')
[ -n "$idx" ] || fail "no X-Troupe-Index header"
t0=$(date +%s%N)
curl -s "$U/v1/catalog/services?index=$idx&wait=300ms" >/dev/null
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ $ms -ge 250 ] || fail "a blocking query with nothing changing returned after $ms ms"
# the change comes 500 ms into the query (a stimulus, not a wait for a result)
( sleep 0.5; curl -s -X PUT "$U/v1/agent/service/register" -d '{"name": "late", "port": 1}' >/dev/null ) &
t0=$(date +%s%N)
curl -s "$U/v1/catalog/services?index=$idx&wait=10s" | jq -e '.[] | select(.name == "late")' >/dev/null ||
    fail "the blocking query did not return the new service"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ $ms -ge 400 ] || fail "the blocking query returned after $ms ms, before the change"
[ $ms -lt 3000 ] || fail "the blocking query took $ms ms to see a change"

say "troupe watch and events -f print changes as they happen"
# both print what there is first: once they did, what comes next they follow
T event fire warmup "before the follow" >/dev/null || fail "event fire"
T watch kv app/ >"$TMP/watch" 2>&1 &
PID[2]=$!
T events -f --kind user >"$TMP/follow" 2>&1 &
PID[3]=$!
wait_until 5 "watch printed the prefix as it is" grep -q "^--- " "$TMP/watch"
wait_until 5 "events -f printed the history" grep -q "warmup" "$TMP/follow"
grep -q "app/colour" "$TMP/watch" && fail "watch printed app/colour before it was written"
T kv put app/colour blue || fail "kv put"
T event fire deploy "version 2" >/dev/null || fail "event fire"
wait_until 5 "watch printed app/colour=blue" grep -q "app/colour=blue" "$TMP/watch"
wait_until 5 "events -f printed the user event" grep -q "deploy.*version 2" "$TMP/follow"
T kv put app/colour green || fail "kv put"
wait_until 5 "watch printed app/colour=green" grep -q "app/colour=green" "$TMP/watch"
T kv delete app/colour || fail "kv delete"
T kv put app/other x >/dev/null || fail "kv put"
out=$(T kv list app/) || fail "kv list app/"
[ "$out" = app/other=x ] || fail "kv list after a delete: '$out', want app/other=x alone"
T kv delete app/other >/dev/null || fail "kv delete"

say "blocking queries whose client went away, then a change"
idx=$(curl -s -D - -o /dev/null "$U/v1/health/service/web" | tr -d '\r' | awk 'tolower($1) == "x-troupe-index:" {print $2}')
for q in "health/service/web?passing&index=$idx" "catalog/services?index=$idx" "kv/app/?recurse&index=$idx"; do
    curl -s --max-time 0.3 "$U/v1/$q" >/dev/null
done
T kv put app/after gone-watchers || fail "kv put after the watchers left"
T kv get app/after | grep -q gone-watchers || fail "the agent does not answer after the watchers left"
kill -0 "${PID[1]}" || fail "the agent died answering watchers that had gone"
T kv delete app/after >/dev/null

say "service files: SIGHUP reloads them"
cat >"$TMP/conf/db.json" <<'JSON'
{"services": [{"name": "db", "id": "db-1", "port": 5432,
   "checks": [{"tcp": "127.0.0.1:1", "interval": "200ms"}]},
  {"name": "cache", "port": 6379}]}
JSON
kill -HUP "${PID[1]}"
wait_until 5 "db-1 registered from the file, critical (nothing on port 1)" \
    sh -c "'$BIN' --http 127.0.0.1:$H health db | grep -q 'db-1.*critical'"
echo '{"name": "db", "port": "x"}' >"$TMP/conf/db.json"
kill -HUP "${PID[1]}"
wait_until 5 "a bad service file is reported naming the field" grep -q "service file .*db.json: port" "$TMP/solo.log"
T health db | grep -q db-1 || fail "a bad file dropped what it registered before"
rm "$TMP/conf/db.json"
kill -HUP "${PID[1]}"
wait_until 5 "db-1 gone with its file" sh -c "! '$BIN' --http 127.0.0.1:$H health db | grep -q db-1"
T events --kind config | grep -q "refused" || fail "the refused file is not in the history"
T events | grep -q "service .*deregistered db-1" || fail "the deregistration is not in the history"
