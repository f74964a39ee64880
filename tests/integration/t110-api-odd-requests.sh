#!/bin/bash
# Every route of the HTTP API, with every method, odd query strings (empty,
# non-numeric or huge index, bad escapes, 5 KB names) and odd bodies (empty,
# wrong JSON types, invalid UTF-8, 3000 nested arrays, out-of-range values):
# each request gets an HTTP answer, none a 500, and the agent still answers
# afterwards. With the sanitized build this is a memory check of every
# handler's error paths.
. "$(dirname "$0")/lib.sh"
[ -x "$BIN" ] || fail "no troupe binary at $BIN"
reserve_ports G H
U=http://127.0.0.1:$H
mkdir -p "$TMP/conf"
"$BIN" agent --node solo --bind 127.0.0.1:$G --http 127.0.0.1:$H --data-dir "$TMP/solo" \
    --config-dir "$TMP/conf" >"$TMP/solo.log" 2>&1 &
PID[1]=$!
say "started solo (pid ${PID[1]}) gossip $G, http $H"
wait_until 10 "solo answers" "$BIN" --http 127.0.0.1:$H info

# /v1/leave is left out: it stops the agent, as it should
paths="/v1/agent/ /v1/agent/check/ /v1/agent/check/x /v1/agent/service/deregister/
/v1/agent/service/deregister/x /v1/agent/service/register /v1/agent/services /v1/bundle/fetch
/v1/catalog/digest /v1/catalog/service/ /v1/catalog/service/web /v1/catalog/services
/v1/dns/stats /v1/event/fire/ /v1/event/fire/x /v1/events /v1/health /v1/health/service/
/v1/health/service/web /v1/join /v1/kv/ /v1/kv/a /v1/kv/a/b/ /v1/members /v1/self
/v1/agent/run/ /v1/agent/run/x /v1/agent/spec/x /v1/agent/stop/x /v1/agent/start/x
/v1/agent/restart/x /v1/agent/scale/x /v1/agent/logs/x /v1/agent/secret/ /v1/agent/secret/x
/metrics /v1/nothing"
long=$(head -c 5000 /dev/zero | tr '\0' a)
queries=("" "?index=" "?index=abc" "?index=99999999999999999999999" "?index=1&wait=-1s"
    "?index=0&wait=1ms" "?recurse&keys&raw" "?passing&tag=x&near=y" "?%00=%00" "?a=%zz"
    "?limit=-5&kind=user&since=zz" "?instance=-1&tail=99999999&since=1h" "?$long=$long")
bodies=("" "{}" "[]" "null" '{"name":""}' '{"name":"x","port":70000}'
    '{"name":"x","checks":[{"http":"http://127.0.0.1:1/","interval":"1ms"}]}'
    '{"addrs":["127.0.0.1:1","::1",5]}' "$(printf '{"name":"\xff\xfe"}')"
    "$(printf '%.0s[' $(seq 1 3000))" '{"bundle":"x@1"}'
    '{"name":"web","command":"/bin/true","instances":0}' '{"value":"x"}')
: >"$TMP/codes"
# one curl per path and method, one transfer per query or body (--next)
each=(-s --max-time 5 -o /dev/null -w '%{method} %{url_effective} %{http_code}\n')
for p in $paths; do
    for m in GET PUT DELETE POST; do
        args=()
        for q in "${queries[@]}"; do
            args+=(--next "${each[@]}" -X "$m" "$U$p$q")
        done
        for b in "${bodies[@]}"; do
            args+=(--next "${each[@]}" -X "$m" --data-binary "$b" "$U$p")
        done
        curl "${args[@]:1}"
    done
done >>"$TMP/codes" 2>&1
say "sent $(wc -l <"$TMP/codes") requests: $(awk '{print $NF}' "$TMP/codes" | sort | uniq -c | xargs)"
# one line per request: a curl that did not run them all would leave nothing to judge
want=$(( $(echo $paths | wc -w) * 4 * (${#queries[@]} + ${#bodies[@]}) ))
[ "$(grep -c '^[A-Z]* http' "$TMP/codes")" = "$want" ] ||
    fail "$(grep -c '^[A-Z]* http' "$TMP/codes") answers of $want requests: $(grep -v '^[A-Z]* http' "$TMP/codes" | head -n 5)"
# no answer (000) or an internal error; 503 only for a bundle, with no trust repository
bad=$(grep -Ev ' [1-4][0-9][0-9]$' "$TMP/codes" | grep -Ev '^(PUT|POST) [^ ]*/v1/bundle/fetch 503$')
[ -z "$bad" ] || fail "requests without a proper answer: $(echo "$bad" | cut -c1-120 | head -n 10)"
kill -0 "${PID[1]}" || fail "the agent died"
"$BIN" --http 127.0.0.1:$H info >/dev/null || fail "the agent no longer answers"
