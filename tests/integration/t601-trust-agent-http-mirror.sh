#!/bin/bash
# An agent fetches bundles over HTTP from a mirror (python3 -m http.server on
# loopback) through `troupe bundle fetch`: a good bundle is verified and
# unpacked; a mirror that swaps a bundle in transit, serves an older
# repository (also after an agent restart: the versions are in its store),
# or a frozen one is refused with an error that names the attack.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || fail "python3 is needed for the HTTP mirror"
trust_workdir
reserve_ports G H M
size() { stat -c %s "$1"; }

"$BIN" trust init repo --passphrase-file pass >/dev/null || fail "trust init"
cp repo/repository/root.json pinned-root.json
mkdir -p app && printf '#!/bin/sh\necho hello from web\n' >app/run && chmod 755 app/run
"$BIN" bundle build app --name web --version 1.0 -o web1.tar.zst >/dev/null || fail "build"
"$BIN" trust add repo web1.tar.zst >/dev/null && "$BIN" trust publish repo >/dev/null ||
    fail "add and publish"

# the mirror serves $TMP/mirror; tests swap what is in it
serve() { rm -rf mirror.new && cp -r "$1" mirror.new && rm -rf mirror && mv mirror.new mirror; }
serve repo/repository
python3 -m http.server "$M" --bind 127.0.0.1 --directory "$TMP/mirror" >mirror.log 2>&1 &
PID[mirror]=$!
say "mirror on http://127.0.0.1:$M (pid ${PID[mirror]})"

start_agent() {
    "$BIN" agent --node solo --bind 127.0.0.1:$G --http 127.0.0.1:$H --data-dir "$TMP/data" \
        --trust-repo "http://127.0.0.1:$M/" --trust-root "$TMP/pinned-root.json" \
        >>"$TMP/agent.log" 2>&1 &
    PID[agent]=$!
    wait_until 10 "the agent answers" "$BIN" --http 127.0.0.1:$H info
}
start_agent
wait_until 10 "the mirror answers" curl -sf "http://127.0.0.1:$M/root.json"
F() { "$BIN" --http 127.0.0.1:$H bundle fetch "$@"; }

# expect_refused BUNDLE WHAT: fetch exits 1 and names WHAT
expect_refused() {
    local out rc
    out=$(F "$1" 2>&1)
    rc=$?
    [ $rc -eq 1 ] || fail "fetch $1 exited $rc, expected 1: $out"
    echo "$out" | grep -q -- "$2" || fail "fetch $1 did not name '$2': $out"
    say "refused, as it should: $out"
}

say "a good bundle over HTTP"
path=$(F web@1.0) || fail "fetch web@1.0: $path"
[ "$path" = "$TMP/data/bundles/web@1.0" ] || fail "unexpected path $path"
[ "$(sh "$path/run")" = "hello from web" ] || fail "the unpacked bundle does not run"
F web@1.0 --json | jq -e '.manifest.entrypoint == "./run" and .reused' >/dev/null ||
    fail "a second fetch does not reuse the unpacked bundle"
expect_refused nope@1.0 "unknown bundle"

say "a mirror that swaps a new bundle in transit"
printf '#!/bin/sh\necho hello from web 2\n' >app/run
"$BIN" bundle build app --name web --version 2.0 -o web2.tar.zst >/dev/null
"$BIN" trust add repo web2.tar.zst >/dev/null && "$BIN" trust publish repo >/dev/null
cp -r repo/repository swapped
cp web2.tar.zst "swapped/targets/web@2.0.tar.zst"
last=$(($(size web2.tar.zst) - 1))
printf 'X' | dd of="swapped/targets/web@2.0.tar.zst" bs=1 seek=$last conv=notrunc 2>/dev/null
serve swapped
expect_refused web@2.0 "arbitrary bundle: web@2.0 does not have the sha256"
[ -e "$TMP/data/bundles/web@2.0" ] && fail "a refused bundle was unpacked"
cat web2.tar.zst web2.tar.zst >"swapped/targets/web@2.0.tar.zst"
serve swapped
expect_refused web@2.0 "endless data attack"
serve repo/repository
path=$(F web@2.0) || fail "fetch web@2.0 from the honest mirror: $path"
[ "$(sh "$path/run")" = "hello from web 2" ] || fail "web@2.0 does not run"

say "a mirror serving the repository as it was before (rollback)"
cp -r repo/repository old
"$BIN" trust publish repo >/dev/null
serve repo/repository
F web@1.0 >/dev/null || fail "fetch from the newest repository"
serve old
expect_refused web@1.0 "rollback attack"
kill -TERM "${PID[agent]}"
wait "${PID[agent]}"
say "agent restarted: the versions it accepted are in its store"
start_agent
expect_refused web@1.0 "rollback attack"

say "a frozen mirror (expired timestamp)"
"$BIN" trust publish repo --timestamp-expires 1s >/dev/null
serve repo/repository
sleep 2.2
expect_refused web@1.0 "freeze attack: timestamp.json expired"
"$BIN" trust publish repo --timestamp-only >/dev/null
serve repo/repository
F web@1.0 >/dev/null || fail "fetch after a fresh timestamp"

say "refusals are counted and logged"
curl -sf "127.0.0.1:$H/metrics" | grep -q 'troupe_trust_bundles_refused_total{reason="rollback attack"} 1' ||
    fail "no rollback in /metrics: $(curl -s 127.0.0.1:$H/metrics | grep bundles)"
grep -q "refused web@2.0: arbitrary bundle" agent.log || fail "no refusal in the agent's log"
code=$(curl -s -o out.json -w '%{http_code}' -X PUT -d '{"bundle": "../x"}' \
    "127.0.0.1:$H/v1/bundle/fetch")
[ "$code" = 400 ] || fail "a bad bundle name: $code $(cat out.json)"
code=$(curl -s -o out.json -w '%{http_code}' -X PUT -d '{"bundle": "nope@9"}' \
    "127.0.0.1:$H/v1/bundle/fetch")
[ "$code" = 404 ] && jq -e '.refused == "unknown bundle"' out.json >/dev/null ||
    fail "an unknown bundle: $code $(cat out.json)"
say "all refused"
