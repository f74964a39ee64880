#!/bin/bash
# Who may do what through the API. An agent makes its management token at
# its first start (0600, the agent's user). Without a token every write
# route of the authorization table (agent/api/api_acl.c) answers 403 with
# a message naming the rule it lacks; reads follow --acl-default (read:
# anonymous; deny: 403, /v1/health still open). A token kv:write:app/
# writes app/x and nothing else: not other/x, not a secret, not run. An
# unknown token is a 401. Every write is an audit event with the token's
# name, never its secret. The CLI finds the management token by itself for
# the user who runs the agent, and tells another user it cannot.
. "$(dirname "$0")/lib.sh"
unset TROUPE_INITIAL_MANAGEMENT_TOKEN # this agent makes its own
net_up 1
start 1
F=$TMP/h1/acl/management-token
[ "$(stat -c '%a %u' "$F")" = "600 $(id -u)" ] || fail "management token file: $(stat -c '%a %u' "$F")"
M=$(cat "$F")
[[ $M =~ ^[0-9a-f]{64}$ ]] || fail "management token is not 64 hex characters"
say "h1 made its management token ($F, 0600)"

# q METHOD PATH [curl args]: an HTTP call from h1's namespace with no token
# but what the args give; prints the status, the body goes to $TMP/out
q() {
    local m=$1 p=$2
    shift 2
    ip netns exec "$(ns 1)" curl -q -s -o "$TMP/out" -w '%{http_code}' --max-time 10 -X "$m" \
        "http://127.0.0.1:7421$p" "$@"
}
err() { jq -r .error "$TMP/out"; }

# every write route of the table, with its resource: the test cannot miss one
table=$SRC/agent/api/api_acl.c
# (the rows of troupe's API: the Consul listener's table follows it)
mapfile -t routes < <(sed -n '/^static const struct acl_route table\[\]/,/^};/p' "$table" |
    grep -oE '\{"(PUT|DELETE)", "[^"]+", ACL_RES_[A-Z]+, ACL_WRITE' |
    sed -E 's/\{"([A-Z]+)", "([^"]+)", ACL_RES_([A-Z]+), ACL_WRITE/\1 \2 \3/')
[ ${#routes[@]} -ge 19 ] || fail "found only ${#routes[@]} write routes in $table"
n=0
for r in "${routes[@]}"; do
    read -r m p res <<<"$r"
    res=$(tr 'A-Z' 'a-z' <<<"$res")
    p=${p/%\*/x}
    [[ $p == /v1/agent/scale/* ]] && p="$p?instances=2"
    for method in "$m" $([ "$m" = PUT ] && echo POST); do
        code=$(q "$method" "$p" --data '{"name": "web", "bundle": "web@1", "addrs": ["10.77.0.9"]}')
        [ "$code" = 403 ] || fail "$method $p without a token answered $code: $(cat "$TMP/out")"
        err | grep -q "^permission denied: needs $res:write.*(no token given" ||
            fail "$method $p: the refusal does not name $res:write: $(err)"
        n=$((n + 1))
    done
done
say "ok: $n write requests (${#routes[@]} routes, PUT also as POST) without a token: 403 naming the rule"
# the same for every write row of the Consul listener's table (GET rows too:
# the writes Consul took as GET), but those that only answer a refusal
mapfile -t routes < <(sed -n '/^static const struct acl_route consul_table\[\]/,/^};/p' "$table" |
    grep -E 'ACL_WRITE' | grep -v F_OPEN |
    grep -oE '\{"(GET|PUT|DELETE)", "[^"]+", ACL_RES_[A-Z]+, ACL_WRITE' |
    sed -E 's/\{"([A-Z]+)", "([^"]+)", ACL_RES_([A-Z]+), ACL_WRITE/\1 \2 \3/')
[ ${#routes[@]} -ge 12 ] || fail "found only ${#routes[@]} Consul write routes in $table"
for r in "${routes[@]}"; do
    read -r m p res <<<"$r"
    p=${p/%\*/x}
    code=$(ip netns exec "$(ns 1)" curl -q -s -o "$TMP/out" -w '%{http_code}' --max-time 10 \
        -X "$m" "http://127.0.0.1:8500$p" --data '{"Name": "web"}')
    [ "$code" = 403 ] || fail "Consul's $m $p without a token answered $code: $(cat "$TMP/out")"
done
say "ok: ${#routes[@]} write routes of Consul's API without a token: 403"
[ "$(q PUT /v1/kv/app/x --data v)" = 403 ] && [ "$(err)" = 'permission denied: needs kv:write on "app/x" (no token given; the default policy has kv:read)' ] ||
    fail "the KV refusal reads: $(err)"
for p in /v1/agent/logs/web /v1/agent/ps /v1/agent/spec/web /v1/agent/secrets /v1/acl/tokens; do
    [ "$(q GET $p)" = 403 ] || fail "GET $p without a token: $(cat "$TMP/out")"
done
say "ok: logs, the supervisor, secrets and tokens need a token to read"
[ "$(q GET /v1/nothing)" = 404 ] || fail "an unknown path: $(cat "$TMP/out")"
[ "$(q DELETE /v1/members)" = 405 ] || fail "a known path with another method: $(cat "$TMP/out")"

# --acl-default read: members, catalog, health, KV and events are anonymous
q PUT /v1/kv/app/x --data v -H "X-Troupe-Token: $M" >/dev/null
for p in /v1/members /v1/self /v1/catalog/services /v1/health/service/web /v1/kv/app/x \
    "/v1/kv/?recurse" /v1/events /v1/health /metrics; do
    [ "$(q GET "$p")" = 200 ] || fail "GET $p without a token under --acl-default read: $(cat "$TMP/out")"
done
say "ok: --acl-default read: members, catalog, health, KV and events answer without a token"

# a scoped token: kv:write:app/ and nothing else
S=$(cli 1 token create --name app-writer --rule kv:write:app/) || fail "troupe token create"
[[ $S =~ ^[0-9a-f]{64}$ ]] || fail "token create printed: $S"
T=(-H "X-Troupe-Token: $S")
[ "$(q PUT /v1/kv/app/x --data 1 "${T[@]}")" = 200 ] || fail "app-writer on app/x: $(cat "$TMP/out")"
[ "$(q DELETE /v1/kv/app/x "${T[@]}")" = 200 ] || fail "app-writer deleting app/x: $(cat "$TMP/out")"
[ "$(q PUT /v1/kv/other/x --data 1 "${T[@]}")" = 403 ] || fail "app-writer on other/x: $(cat "$TMP/out")"
err | grep -qF 'needs kv:write on "other/x" (token "app-writer"' || fail "other/x refusal: $(err)"
[ "$(q DELETE "/v1/kv/?recurse" "${T[@]}")" = 403 ] || fail "app-writer deleting every key: $(cat "$TMP/out")"
[ "$(q PUT /v1/agent/secret/db --data s "${T[@]}")" = 403 ] || fail "app-writer writing a secret"
err | grep -qF 'needs secret:write on "db" (token "app-writer" has no rule for it)' || fail "secret refusal: $(err)"
[ "$(q PUT /v1/agent/run --data '{"name": "app"}' "${T[@]}")" = 403 ] || fail "app-writer running a service"
err | grep -qF 'needs run:write on "app"' || fail "run refusal: $(err)"
[ "$(q PUT /v1/kv/app/y --data 1 -H "Authorization: Bearer $S")" = 200 ] || fail "Authorization: Bearer"
[ "$(q PUT /v1/kv/app/y --data 1 -H "X-Troupe-Token: 0123456789abcdef")" = 401 ] || fail "an unknown token: $(cat "$TMP/out")"
[ "$(q GET /v1/members -H "X-Troupe-Token: nope")" = 401 ] || fail "a read with an unknown token"
say "ok: app-writer writes app/ and nothing else; an unknown token is a 401"
cli 1 token list | grep -q '^app-writer .*kv:write:app/' || fail "token list: $(cli 1 token list)"
cli 1 token show app-writer | grep -q 'created by  management' || fail "token show"

say "the audit: every write with its token name, peer and status, never a secret"
audit=$(cli 1 events --kind audit --limit 10000 --json | jq -s .)
jq -e '[.[] | select(.subject == "PUT /v1/kv/app/x" and (.detail | test("^token \"app-writer\" from 127.0.0.1:[0-9]+: 200$")))] | length == 1' <<<"$audit" >/dev/null ||
    fail "no audit event of app-writer's write: $(jq -c '.[-5:]' <<<"$audit")"
jq -e '[.[] | select(.subject == "PUT /v1/kv/other/x" and (.detail | endswith(": 403")))] | length == 1' <<<"$audit" >/dev/null ||
    fail "no audit event of the refused write"
jq -e --argjson n "$n" '[.[] | select(.detail | startswith("no token from"))] | length >= $n + 1' <<<"$audit" >/dev/null ||
    fail "the anonymous writes are not all audited"
grep -rqF "$S" "$TMP/h1" && fail "app-writer's secret is stored in the data dir"
grep -rqF "$M" "$TMP/h1" --exclude=management-token && fail "the management secret is stored outside its file"
say "ok: audit events name the token; no secret in the data dir"

say "the CLI: the agent's user types no token; another user is told why it cannot write"
cli 1 kv put app/cli hello || fail "troupe kv put as the agent's user"
cli 1 logs nothing >/dev/null 2>"$TMP/logs.err"; grep -q "403" "$TMP/logs.err" && fail "troupe logs got a 403"
ip netns exec "$(ns 1)" setpriv --reuid nobody --regid nogroup --clear-groups \
    "$BIN" kv put app/cli nope >"$TMP/nobody.out" 2>&1 && fail "nobody wrote through the CLI"
grep -q "not readable by this user" "$TMP/nobody.out" || fail "nobody is not told why: $(cat "$TMP/nobody.out")"
TROUPE_TOKEN=$S ip netns exec "$(ns 1)" setpriv --reuid nobody --regid nogroup --clear-groups \
    "$BIN" kv put app/cli fine || fail "nobody with \$TROUPE_TOKEN"
cli 1 --token "$S" secret put db - </dev/null 2>"$TMP/sec.err" && fail "--token app-writer wrote a secret"
grep -q 'needs secret:write' "$TMP/sec.err" || fail "troupe --token: $(cat "$TMP/sec.err")"

say "--acl-default deny: reads need a token too; /v1/health stays open"
stop_all
start 1 --acl-default deny
for p in /v1/members /v1/catalog/services /v1/kv/app/x /v1/events /metrics; do
    [ "$(q GET "$p")" = 403 ] || fail "GET $p without a token under deny: $(cat "$TMP/out")"
done
err | grep -q '^permission denied: needs agent:read (no token given; the default policy allows nothing here)$' ||
    fail "the /metrics refusal: $(err)"
[ "$(q GET /v1/health)" = 200 ] || fail "/v1/health under deny"
[ "$(q GET /v1/kv/app/y -H "X-Troupe-Token: $S")" = 200 ] || fail "app-writer reads app/ under deny (write implies read)"
[ "$(q GET /v1/members -H "X-Troupe-Token: $S")" = 403 ] || fail "app-writer reads the members under deny"
err | grep -qF 'needs node:read (token "app-writer" has no rule for it)' || fail "members refusal: $(err)"
[ "$(q GET /v1/members -H "X-Troupe-Token: $M")" = 200 ] || fail "the management token reading under deny"
cli 1 members | grep -q '^h1 ' || fail "troupe members under deny (the CLI finds the token)"
[ "$(stat -c %s "$F")" -gt 0 ] && [ "$(cat "$F")" = "$M" ] || fail "a restart changed the management token"
say "PASS"
