#!/bin/bash
# Tokens are replicated: a token made on h1 works on h3 (three agents,
# three network namespace hosts), and its revocation on h1 is enforced on
# h3 within 5 s; a token revoked on another agent than the one that made
# it is refused everywhere too. h3's audit names the token.
. "$(dirname "$0")/lib.sh"
net_up 3
cluster 3

# q I METHOD PATH SECRET [curl args]: the status of a call to hI with that token only
q() {
    local i=$1 m=$2 p=$3 s=$4
    shift 4
    ip netns exec "$(ns "$i")" curl -q -s -o "$TMP/out" -w '%{http_code}' --max-time 10 -X "$m" \
        -H "X-Troupe-Token: $s" "http://127.0.0.1:7421$p" "$@"
}
answers() { [ "$(q "$1" PUT "/v1/kv/ci/x" "$2" --data v)" = "$3" ]; }

say "token ci (kv:write:ci/) made on h1"
S=$(cli 1 token create --name ci --rule kv:write:ci/) || fail "token create on h1"
wait_until 5 "h3 takes ci's writes to ci/" answers 3 "$S" 200
[ "$(q 3 PUT /v1/kv/other/x "$S" --data v)" = 403 ] || fail "h3 lets ci write other/x"
cli 3 token list --json | jq -e '.[] | select(.name == "ci" and .origin == "h1" and .rules == ["kv:write:ci/"])' >/dev/null ||
    fail "h3 does not list ci: $(cli 3 token list --json)"
cli 3 events --kind audit --json | jq -s -e '.[] | select(.subject == "PUT /v1/kv/ci/x" and (.detail | startswith("token \"ci\"")))' >/dev/null ||
    fail "h3's audit does not name ci"

say "revoking ci on h1"
t0=$(date +%s%N)
cli 1 token revoke ci || fail "token revoke on h1"
[ "$(q 1 PUT /v1/kv/ci/x "$S" --data v)" = 401 ] || fail "h1 still takes ci after revoking it"
wait_until 5 "h3 refuses ci after h1 revoked it" answers 3 "$S" 401
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
say "ok: h3 refuses ci ${ms} ms after the revocation on h1"
[ "$ms" -le 5000 ] || fail "the revocation took $ms ms to reach h3"

say "a token made on h1 and revoked on h3 is refused on h1 and h2"
S2=$(cli 1 token create --name deploy --rule '*:write') || fail "token create deploy"
wait_until 5 "h3 knows deploy" answers 3 "$S2" 200
cli 3 token revoke deploy || fail "token revoke deploy on h3"
wait_until 5 "h1 refuses deploy" answers 1 "$S2" 401
wait_until 5 "h2 refuses deploy" answers 2 "$S2" 401
cli 2 token show deploy >/dev/null 2>&1 && fail "h2 still shows deploy"
# a name can be used again once revoked
S3=$(cli 2 token create --name ci --rule kv:write:ci/) || fail "a new ci on h2"
wait_until 5 "h1 takes the new ci" answers 1 "$S3" 200
answers 1 "$S" 401 || fail "the old ci secret works again"
say "PASS"
