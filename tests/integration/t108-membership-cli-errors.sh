#!/bin/bash
# Bad flags and config files are refused with exit 2 and a message naming
# what is wrong; a CLI that cannot reach its agent exits 3.
. "$(dirname "$0")/lib.sh"
[ -x "$BIN" ] || fail "no troupe binary at $BIN"
expect() { # CODE PATTERN COMMAND...
    local code=$1 pat=$2 out rc
    shift 2
    out=$("$@" 2>&1)
    rc=$?
    [ $rc -eq "$code" ] || fail "'$*' exited $rc, expected $code: $out"
    echo "$out" | grep -q -- "$pat" || fail "'$*' did not say '$pat': $out"
    say "ok: $* -> $code: $(echo "$out" | head -n 1)"
}
expect 2 "--bind" "$BIN" agent --bind 1.2.3.4:99999
expect 2 "--bind" "$BIN" agent --bind nowhere:1
expect 2 "unknown flag --frobnicate" "$BIN" agent --frobnicate
expect 2 "--encrypt" "$BIN" agent --encrypt c2hvcnQ=
expect 2 "--profile" "$BIN" agent --profile turbo
expect 2 "--tag" "$BIN" agent --tag novalue
expect 2 "--node" "$BIN" agent --node "bad name"
expect 2 "--probe-timeout-ms" "$BIN" agent --probe-interval-ms 100 --probe-timeout-ms 200
expect 2 "--config" "$BIN" agent --config "$TMP/missing.json"
echo '{"bind": "127.0.0.1:7420", "colour": "red"}' >"$TMP/bad.json"
expect 2 'unknown key "colour"' "$BIN" agent --config "$TMP/bad.json"
echo '{"join": "10.0.0.1"}' >"$TMP/bad2.json"
expect 2 'config key "join"' "$BIN" agent --config "$TMP/bad2.json"
echo '{"bind": ' >"$TMP/bad3.json"
expect 2 "config file: line" "$BIN" agent --config "$TMP/bad3.json"
expect 0 "Usage: troupe agent" "$BIN" agent --help
expect 2 "unknown command" "$BIN" frobnicate
expect 2 "--status" "$BIN" members --status sleeping
expect 2 "join: missing ADDR" "$BIN" join
expect 2 '"nowhere" is not an IP address' "$BIN" join nowhere
expect 2 "kv: expected get KEY" "$BIN" kv get
expect 2 "watch: expected services" "$BIN" watch service
expect 3 "cannot reach the agent at 127.0.0.1:1" "$BIN" --http 127.0.0.1:1 members
expect 3 "cannot reach" "$BIN" members --http 127.0.0.1:1 --json
# the version is the project's, from meson.build, as "troupe X.Y.Z" and nothing else
want=$(sed -n "s/^ *version: '\([^']*\)',\$/\1/p" "$SRC/meson.build" | head -n 1)
[[ $want =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "no X.Y.Z version in meson.build: '$want'"
out=$("$BIN" version 2>&1) || fail "troupe version exited $?: $out"
[ "$out" = "troupe $want" ] || fail "troupe version said '$out', want 'troupe $want'"
say "ok: troupe version -> $out"
