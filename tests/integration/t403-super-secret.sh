#!/bin/bash
# A secret is readable by the service as a file (mode 0400, owned by the
# service user) and appears neither in its environment, nor its command
# line, nor the logs, nor the data dir in clear.
. "$(dirname "$0")/sup_lib.sh"
sup_agent
value="hunter2-$$-$RANDOM"
printf '%s' "$value" | T secret put db-pass - || fail "secret put"
T secret ls | grep -q '^db-pass ' || fail "secret ls does not list db-pass"
out=$(T secret ls --json) || fail "secret ls --json"
echo "$out" | jq -e '.[] | select(.name == "db-pass")' >/dev/null || fail "secret ls --json lacks db-pass: $out"
echo "$out" | grep -q "$value" && fail "secret ls shows the value"
want=$(printf '%s' "$value" | sha256sum | cut -d' ' -f1)
cat >"$TMP/reader.json" <<JSON
{"name": "reader", "command": "/bin/sh", "user": "$SUP_USER", "secrets": ["db-pass"],
 "args": ["-c", "sha256sum < \$TROUPE_SECRETS_DIR/db-pass; stat -c '%a %U' \$TROUPE_SECRETS_DIR/db-pass; exec sleep 300"]}
JSON
T run "$TMP/reader.json" || fail "troupe run refused the spec"
wait_until 5 "reader printed the hash" sh -c "T() { \"$BIN\" --http 127.0.0.1:$H \"\$@\"; }; T logs reader | grep -q '$want'"
T logs reader | grep -q "^400 $SUP_USER\$" || fail "the secret file is not 0400 $SUP_USER: $(T logs reader)"
pid=$(field reader 0 pid)
child=$(pgrep -P "$pid" | head -n 1)
for p in $pid $child; do
    tr '\0' '\n' <"/proc/$p/environ" | grep -q "$value" && fail "the secret is in the environment of $p"
    tr '\0' ' ' <"/proc/$p/cmdline" | grep -q "$value" && fail "the secret is on the command line of $p"
done
tr '\0' '\n' <"/proc/$pid/environ" | grep -q '^TROUPE_SECRETS_DIR=' || fail "no TROUPE_SECRETS_DIR"
grep -rq "$value" "$TMP/solo/logs" && fail "the secret is in the logs"
grep -q "$value" "$TMP/solo.log" && fail "the secret is in the agent's log"
grep -rqa "$value" "$TMP/solo"/troupe.db* && fail "the secret is stored in clear"
[ "$(stat -c %a "$TMP/solo/secret.key")" = 600 ] || fail "secret.key is not 0600"
# a spec that needs an unknown secret is refused, naming it
cat >"$TMP/bad.json" <<JSON
{"name": "bad", "command": "/bin/true", "user": "$SUP_USER", "secrets": ["nope"]}
JSON
T run "$TMP/bad.json" 2>"$TMP/err" && fail "a spec with an unknown secret was applied"
grep -q 'secrets\[0\]' "$TMP/err" || fail "the error does not name secrets[0]: $(cat "$TMP/err")"
T secret rm db-pass || fail "secret rm"
out=$(T secret ls) || fail "secret ls after rm"
echo "$out" | grep -q db-pass && fail "secret rm did not remove it"
true
