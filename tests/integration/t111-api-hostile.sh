#!/bin/bash
# A hostile corpus against every route of a running agent: bytes that are
# not UTF-8 and NUL (%00) in every path segment and every query value, 64
# KiB names and values, names just over the per-segment limit, negative and
# huge numbers where a route reads a number, every method a path does not
# take, truncated and oversized bodies, JSON with wrong numbers and bad
# strings. Every request must be answered with a 4xx (never a 5xx, never a
# dropped connection), and the agent must still serve afterwards.
#
# The routes come from the agent binary itself (troupe _api-routes prints
# the tables the agent dispatches on), not from a copy kept here or from
# the README: a route added later is attacked without editing this test,
# and the test fails until it knows a sample name for it (and a document,
# when its body is JSON).
. "$(dirname "$0")/sup_lib.sh"
[ -x "$BIN" ] || fail "no troupe binary at $BIN"
U=http://127.0.0.1:$H
mkdir -p "$TMP/conf"
sup_agent --config-dir "$TMP/conf"

# what the routes act on: a service (no process runs as a bad request), a
# registration with a TTL check, a secret, a key
printf '{"name": "web", "command": "/bin/sleep", "args": ["300"], "user": "%s"}' "$SUP_USER" \
    >"$TMP/web.json"
T run "$TMP/web.json" >/dev/null || fail "run web"
curl -sf -X PUT "$U/v1/agent/service/register" --data \
    '{"name": "api", "id": "api-1", "port": 8080, "checks": [{"id": "api-ttl", "ttl": "30s"}]}' \
    >/dev/null || fail "register api"
curl -sf -X PUT "$U/v1/agent/secret/db" --data pw >/dev/null || fail "secret db"
curl -sf -X PUT "$U/v1/kv/app/a" --data v >/dev/null || fail "kv app/a"

"$BIN" _api-routes >"$TMP/routes" || fail "troupe _api-routes"
[ -s "$TMP/routes" ] || fail "no routes listed"
say "$(wc -l <"$TMP/routes") routes"

# A sample for the '*' of each pattern: the thing the route acts on.
declare -A name=(
    [/v1/agent/run/*]=web [/v1/agent/spec/*]=web [/v1/agent/stop/*]=web
    [/v1/agent/start/*]=web [/v1/agent/restart/*]=web [/v1/agent/scale/*]=web
    [/v1/agent/logs/*]=web [/v1/agent/secret/*]=db [/v1/catalog/service/*]=api
    [/v1/health/service/*]=api [/v1/agent/service/deregister/*]=api-1
    [/v1/agent/check/*]=api-ttl/pass [/v1/kv/*]=app/a [/v1/event/fire/*]=deploy
    [/v1/specs/*]=web [/v1/place/*]=web [/v1/routes/*]=web [/ui/*]=ui.js
    [/v1/acl/token/*]=ci [/v1/agent/metric/*]=web [/v1/proxy/endpoints/*]=web
)
# Routes whose body is a JSON document: a valid one, to cut short and to
# spoil. Other routes that take a body take its bytes as they are.
declare -A doc=(
    ["PUT /v1/agent/run"]='{"name": "web2", "command": "/bin/sleep", "args": ["1"], "instances": 1}'
    ["PUT /v1/join"]='{"addrs": ["127.0.0.1:1"]}'
    ["PUT /v1/bundle/fetch"]='{"bundle": "web@1.0"}'
    ["PUT /v1/agent/service/register"]='{"name": "api2", "port": 80, "weight": 1}'
    ["PUT /v1/agent/check/*"]='{"output": "ok"}'
    ["PUT /v1/specs/*"]='{"command": "/bin/sleep", "args": ["1"], "user": "nobody", "count": 1}'
    ["PUT /v1/routes"]='{"name": "r1", "service": "web", "port": 19001, "protocol": "http"}'
    ["PUT /v1/routes/*"]='{"service": "web", "port": 19001, "protocol": "http"}'
    ["PUT /v1/acl/tokens"]='{"name": "ci", "rules": ["kv:read:app/"]}'
    ["PUT /v1/agent/metric/*"]='{"value": 3}'
)
# Query parameters that a route reads as a number (or a duration).
declare -A numbers=(
    ["PUT /v1/agent/scale/*"]="instances" ["GET /v1/agent/logs/*"]="instance since tail"
    ["GET /v1/events"]="since limit index wait"
)
reads_blocking="/v1/catalog/services /v1/catalog/service/* /v1/catalog/digest
/v1/health/service/* /v1/agent/services /v1/kv/*"

bad_text=(%ff %00 a%00b %c0%af %ed%a0%80 %f4%90%80%80 %fe%ff)
bad_numbers=(-1 -99999999999999999999 99999999999999999999999 18446744073709551616 1e99 0x10
    " 1" "1 " "" "+1" 1.5)
params="service instance since tail cursor instances index wait tag passing note raw recurse keys
kind limit"
big=$(head -c 65536 /dev/zero | tr '\0' a)
over=$(head -c 513 /dev/zero | tr '\0' b) # one byte over the per-segment limit
oversized=$TMP/oversized
head -c $((1024 * 1024 + 1)) /dev/zero | tr '\0' x >"$oversized"

# Each request is one line of $TMP/corpus: METHOD URL [@BODYFILE]
: >"$TMP/corpus"
n_body=0
body() { # METHOD URL TEXT: a request with TEXT as its body
    n_body=$((n_body + 1))
    printf '%s' "$3" >"$TMP/b$n_body"
    echo "$1 $2 @$TMP/b$n_body" >>"$TMP/corpus"
}
req() { echo "$1 $2" >>"$TMP/corpus"; }
methods="GET PUT POST DELETE PATCH HEAD OPTIONS"

while read -r m p; do
    if [[ $p == *\* ]]; then
        [ -n "${name[$p]:-}" ] || fail "t111 knows no sample name for $m $p: add one"
        path=${p%\*}${name[$p]}
    else
        path=$p
    fi
    leave=0
    [ "$p" = /v1/leave ] && leave=1 # its handler stops the agent: only what is refused before it
    # every path segment, in turn, not UTF-8 or with NUL
    IFS=/ read -r -a segs <<<"${path#/}"
    for i in "${!segs[@]}"; do
        for bad in "${bad_text[@]}"; do
            s=("${segs[@]}")
            s[$i]=$bad
            req "$m" "$U/$(IFS=/; echo "${s[*]}")"
        done
    done
    # names: 64 KiB, and one byte over the segment limit
    req "$m" "$U$path$big"
    req "$m" "$U$path/$over"
    [[ $p == *\* ]] && req "$m" "$U${p%\*}$over"
    # every query parameter, its value not text, its name not text, 64 KiB
    for q in $params; do
        for bad in %ff %00 x%00y %zz %; do req "$m" "$U$path?$q=$bad"; done
        req "$m" "$U$path?$q=$big"
    done
    req "$m" "$U$path?%ff=1"
    req "$m" "$U$path?%00"
    # numbers where the route reads them
    nums="${numbers["$m $p"]:-}"
    for r in $reads_blocking; do [ "$r" = "$p" ] && [ "$m" = GET ] && nums="index wait"; done
    for q in $nums; do
        for v in "${bad_numbers[@]}"; do
            v=${v// /%20}
            [ "$q" = wait ] && { req "$m" "$U$path?index=1&wait=${v}s"; continue; }
            [ "$q" = index ] && [ -z "$v" ] && continue # "?index=" alone is refused below
            req "$m" "$U$path?$q=$v"
        done
    done
    # every method no route of this path takes
    for x in $methods; do
        taken=0
        while read -r m2 p2; do
            [ "$p2" = "$p" ] || continue
            [ "$m2" = "$x" ] || { [ "$m2" = PUT ] && [ "$x" = POST ]; } && taken=1
        done <"$TMP/routes"
        [ $taken = 1 ] || req "$x" "$U$path"
    done
    # bodies: oversized for every route; JSON documents cut short and spoiled
    echo "$m $U$path @$oversized" >>"$TMP/corpus"
    [ $leave = 1 ] && continue
    d=${doc["$m $p"]:-}
    if [ -n "$d" ]; then
        body "$m" "$U$path" "${d:0:$((${#d} / 2))}"
        body "$m" "$U$path" "${d:0:1}"
        body "$m" "$U$path" "$(printf '{"name": "\xff\xfe", "addrs": ["\xc0\xaf"], "bundle": "\xed\xa0\x80"}')"
        body "$m" "$U$path" '{"name": "a\u0000b", "addrs": ["1.2.3.4\u0000"], "bundle": "x\u0000@1", "output": 5}'
        for v in -1 -99999999999999999999 99999999999999999999999 1e400 0.5 '"1"' null '[]'; do
            [[ $v == '"1"' && $d == *output* ]] && continue # a string is the output's type
            body "$m" "$U$path" "$(sed -E "s/(\"(port|instances|weight|count)\": )[0-9]+/\\1$v/g; s/\"addrs\": \\[[^]]*\\]/\"addrs\": $v/; s/\"bundle\": \"[^\"]*\"/\"bundle\": $v/; s/\"output\": \"[^\"]*\"/\"output\": $v/" <<<"$d")"
        done
        body "$m" "$U$path" "{\"x\": $(printf '%.0s[' $(seq 1 5000))"
    fi
done <"$TMP/routes"
say "corpus: $(wc -l <"$TMP/corpus") requests"

# one curl per 200 requests, each transfer its own (--next)
each=(-s -g --max-time 10 -o /dev/null -w '%{http_code} %{method} %{url_effective} %{errormsg}\n')
: >"$TMP/codes"
args=()
while read -r m u b; do
    one=(--next "${each[@]}" -X "$m")
    [ "$m" = HEAD ] && one=(--next "${each[@]}" --head)
    [ -n "${b:-}" ] && one+=(--data-binary "$b" -H 'Content-Type: application/octet-stream')
    args+=("${one[@]}" "$u")
    if [ ${#args[@]} -gt 2000 ]; then
        curl "${args[@]:1}" >>"$TMP/codes" 2>&1
        args=()
    fi
done <"$TMP/corpus"
[ ${#args[@]} -gt 0 ] && curl "${args[@]:1}" >>"$TMP/codes" 2>&1
# T111_KEEP=DIR keeps the corpus, the answers and the agent's log there
[ -n "${T111_KEEP:-}" ] && cp "$TMP/corpus" "$TMP/codes" "$TMP/solo.log" "$T111_KEEP/"
sent=$(wc -l <"$TMP/corpus")
say "sent $sent requests: $(cut -d' ' -f1 "$TMP/codes" | sort | uniq -c | xargs)"
[ "$(wc -l <"$TMP/codes")" -eq "$sent" ] || fail "$sent requests but $(wc -l <"$TMP/codes") answers"
bad=$(grep -Ev '^4[0-9][0-9] ' "$TMP/codes" | cut -c1-160)
[ -z "$bad" ] || fail "requests not answered with a 4xx: $(echo "$bad" | head -n 20)"
kill -0 "${PID[1]}" || fail "the agent died"
T info >/dev/null || fail "the agent no longer answers"
[ "$(T ps web --json | jq -r '.[0].service')" = web ] || fail "the service web is gone"
[ "$(curl -sf "$U/v1/kv/app/a?raw")" = v ] || fail "the key app/a is gone"
say "the agent answered every one of the $sent requests with a 4xx and still serves"

# What a client or a service writes comes back readable by the CLI (jansson
# refuses a JSON "\u0000"): a check output and log lines holding NUL.
printf 'disk\0full' | curl -sf -X PUT "$U/v1/agent/check/api-ttl/warn" --data-binary @- \
    >/dev/null || fail "a check report holding NUL"
T health api --json >"$TMP/health" || fail "troupe health cannot read the answer: $(cat "$TMP/health")"
jq -e '.[0].checks[] | select(.id == "api-ttl") | .output == "disk?full"' "$TMP/health" \
    >/dev/null || fail "the output with NUL is not shown as disk?full: $(cat "$TMP/health")"
printf '{"name": "nul", "command": "/bin/sh", "args": ["-c", "printf '"'"'a\\\\000b\\\\n'"'"'; exec sleep 300"], "user": "%s"}' \
    "$SUP_USER" >"$TMP/nul.json"
T run "$TMP/nul.json" >/dev/null || fail "run nul: $(cat "$TMP/nul.json")"
wait_until 10 "troupe logs reads the line holding NUL" sh -c "\"$BIN\" --http 127.0.0.1:$H logs nul | grep -q 'a?b'"
say "check output and log lines holding NUL read back as '?'"
