#!/bin/bash
# The publisher's and the verifier's commands, end to end: init a trust
# repository (two root keys, threshold 2), build, add, publish, verify; then
# one mirror per attack, each refused by `troupe trust verify` with exit 1
# and a message naming the attack. No agent, no network.
. "$(dirname "$0")/lib.sh"
trust_workdir
T() { "$BIN" "$@"; }

# expect_refused WHAT REPO BUNDLE [ROOT]: verify exits 1 and names WHAT
expect_refused() {
    local what=$1 repo=$2 file=$3 root=${4:-$TMP/repo/repository/root.json} out rc
    out=$(T trust verify "$file" --repo "$repo" --root "$root" --state "$TMP/state" 2>&1)
    rc=$?
    [ $rc -eq 1 ] || fail "verify of $file from $repo exited $rc, expected 1: $out"
    echo "$out" | grep -q -- "$what" || fail "verify did not name '$what': $out"
    say "refused, as it should: $(echo "$out" | head -n 1)"
}
expect_trusted() {
    local out
    out=$(T trust verify "$2" --repo "$1" --root "$TMP/repo/repository/root.json" \
        --state "$TMP/state" 2>&1) || fail "verify of $2 from $1 refused: $out"
    echo "$out" | grep -q "^trusted: " || fail "no 'trusted:' line: $out"
    say "trusted: $2 from $1"
}
# mirror NAME: a copy of the published repository to tamper with
mirror() { rm -rf "$TMP/$1" && cp -r "$TMP/repo/repository" "$TMP/$1"; }
# resign_json FILE JQ: rewrite a metadata file (its signatures no longer match)
edit_json() { jq "$2" "$1" >"$1.new" && mv "$1.new" "$1"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
size() { stat -c %s "$1"; }

say "init, build, add, publish"
T trust init repo --root-keys 2 --root-threshold 2 --passphrase-file pass >/dev/null ||
    fail "trust init"
[ "$(stat -c %a repo/keystore)" = 700 ] || fail "keystore is not 0700"
grep -l '"sealed"' repo/keystore/*.key | wc -l | grep -qx 2 || fail "root keys are not sealed"
grep -q '"argon2id13"' repo/keystore/*.key || fail "sealed keys do not say argon2id"
jq -e '.signed.roles.root.threshold == 2 and (.signed.roles.root.keyids | length) == 2 and
    (.signatures | length) == 2' repo/repository/root.json >/dev/null ||
    fail "root.json does not list 2 root keys with threshold 2, signed by both"
mkdir -p app/bin && printf '#!/bin/sh\necho hello from web\n' >app/run && chmod 755 app/run
echo data >app/bin/data.txt
T bundle build app --name web --version 1.0 -o web.tar.zst >/dev/null || fail "bundle build"
T bundle build app --name web --version 1.0 -o again.tar.zst >/dev/null || fail "bundle build"
cmp -s web.tar.zst again.tar.zst || fail "the same directory gave different bundles"
T trust add repo web.tar.zst | grep -q "staged web@1.0" || fail "trust add"
T trust publish repo >/dev/null || fail "trust publish"
expect_trusted repo web.tar.zst
jq -e '.signed.expires | test("^20[0-9][0-9]-")' repo/repository/targets.json >/dev/null ||
    fail "targets.json has no expiry"

say "arbitrary bundle: the signed length, other bytes"
cp web.tar.zst flipped.tar.zst
printf 'X' | dd of=flipped.tar.zst bs=1 seek=$(($(size web.tar.zst) - 1)) conv=notrunc 2>/dev/null
cmp -s web.tar.zst flipped.tar.zst && fail "the byte did not change"
expect_refused "arbitrary bundle" repo/repository flipped.tar.zst
say "endless data: a longer bundle under the signed name"
echo "not what was signed" >>app/bin/data.txt
T bundle build app --name web --version 1.0 -o evil.tar.zst >/dev/null
expect_refused "endless data attack: .* larger than the $(size web.tar.zst) bytes" repo/repository \
    evil.tar.zst

say "endless data or garbage: the signed bundle with bytes appended"
cp web.tar.zst long.tar.zst && head -c 100000 /dev/zero >>long.tar.zst
expect_refused "arbitrary bundle" repo/repository long.tar.zst

say "forged metadata: a signature changed"
mirror forged
edit_json forged/timestamp.json '.signatures[0].sig |= (if startswith("0") then "1" else "0" end + .[1:])'
expect_refused "forged metadata: timestamp.json" forged web.tar.zst

say "threshold not met: root.json with one of its two root signatures"
jq '.signatures |= .[:1]' repo/repository/root.json >one-sig-root.json
expect_refused "signature threshold not met: root.json has 1 valid signature" repo/repository \
    web.tar.zst one-sig-root.json
mirror nosig
edit_json nosig/timestamp.json '.signatures = []'
expect_refused "signature threshold not met: timestamp.json" nosig web.tar.zst

say "rollback: a mirror serving the repository as it was before"
mirror old
T trust publish repo >/dev/null
expect_trusted repo/repository web.tar.zst
expect_refused "rollback attack: timestamp.json version" old web.tar.zst

say "mix-and-match: the new snapshot with the old targets.json"
mirror mixed
cp old/targets.json mixed/targets.json
expect_refused "mix-and-match attack: targets.json" mixed web.tar.zst

say "a compromised timestamp key alone cannot make a new bundle trusted"
rm -rf evil && cp -r repo evil
ts_key=$(jq -r '.signed.roles.timestamp.keyids[0]' repo/repository/root.json)
find evil/keystore -type f ! -name "$ts_key.key" -delete
cp evil.tar.zst "evil/repository/targets/web@1.0.tar.zst"
edit_json evil/repository/targets.json \
    ".signed.targets[\"web@1.0\"] = {length: $(size evil.tar.zst), hashes: {sha256: \"$(sha evil.tar.zst)\"}}"
f=evil/repository/targets.json
edit_json evil/repository/snapshot.json \
    ".signed.meta[\"targets.json\"].length = $(size $f) | .signed.meta[\"targets.json\"].hashes.sha256 = \"$(sha $f)\""
T trust publish evil --timestamp-only >/dev/null || fail "re-signing the timestamp with its key"
expect_refused "forged metadata: snapshot.json" evil/repository evil.tar.zst

say "freeze: an expired timestamp"
T trust publish repo --timestamp-expires 1s >/dev/null
sleep 2.2
expect_refused "freeze attack: timestamp.json expired" repo/repository web.tar.zst
T trust publish repo --timestamp-only >/dev/null
expect_trusted repo/repository web.tar.zst

say "root rotation: the verifier pinned on version 1 follows to version 2"
cp repo/repository/1.root.json pinned-v1.json
T trust rotate repo --role targets --passphrase-file pass >/dev/null || fail "rotate targets"
out=$(T trust verify web.tar.zst --repo repo --root pinned-v1.json --state "$TMP/state2") ||
    fail "verify after rotation: $out"
T trust rotate repo --role root --passphrase-file pass >/dev/null || fail "rotate root"
out=$(T trust verify web.tar.zst --repo repo --root pinned-v1.json --state "$TMP/state3") ||
    fail "verify after root rotation: $out"
echo wrong-passphrase >bad
out=$(T trust rotate repo --role root --passphrase-file bad 2>&1) && fail "wrong passphrase accepted"
echo "$out" | grep -q "wrong passphrase" || fail "no 'wrong passphrase': $out"

say "usage errors"
out=$(T trust verify web.tar.zst 2>&1); [ $? -eq 2 ] || fail "verify without --repo: $out"
out=$(T trust publish repo --timestamp-expires soon 2>&1); [ $? -eq 2 ] || fail "bad duration"
echo "$out" | grep -q "timestamp-expires" || fail "bad duration not named: $out"
out=$(T bundle build app --name 'we b' --version 1 -o x 2>&1); [ $? -eq 2 ] || fail "bad name"
out=$(T trust init repo --passphrase-file pass 2>&1); [ $? -eq 1 ] || fail "init over a repo"
echo "$out" | grep -q "not empty" || fail "init over a repo: $out"
say "all attacks refused"
