#!/bin/bash
# The bash completion that the package installs (troupe _completion bash)
# offers every command of `troupe --help`, every flag the CLI's parser
# knows (cli/main.c, cli/trust_cmd.c's usage), every flag of `troupe agent
# --help` with the values of its choices, and completes as bash would.
. "$(dirname "$0")/lib.sh"
[ -x "$BIN" ] || fail "no troupe binary at $BIN"
"$BIN" _completion bash >"$TMP/troupe.bash" || fail "troupe _completion bash"
bash -n "$TMP/troupe.bash" || fail "the script is not valid bash"
comp() { # WORD... : what bash would offer for the last word
    bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _troupe; echo "${COMPREPLY[*]}"' \
        _ "$TMP/troupe.bash" "$@"
}
top=" $(comp troupe '') "
for c in $("$BIN" --help | awk '/^Commands:/ {on = 1; next} /^$/ {on = 0} on && /^  [a-z]/ {print $1}' | tr '|' '\n'); do
    [[ $top == *" $c "* ]] || fail "troupe <TAB> does not offer $c"
done
# every flag the CLI parses somewhere is offered for some command
all=" $(grep -o 'flags="[^"]*"' "$TMP/troupe.bash" | tr -d '"' | sed 's/flags=//' | tr '\n' ' ') "
for f in $(grep -o '"--[a-z-]*' "$SRC/cli/main.c" | tr -d '"' | sort -u) -f; do
    [[ $all == *" $f "* ]] || fail "no command completes $f, which cli/main.c parses"
done
agent=" $(comp troupe agent --) "
for f in $("$BIN" agent --help | grep -o '^  --[a-z-]*'); do
    [[ $agent == *" $f "* ]] || fail "troupe agent --<TAB> does not offer $f"
done
check() { # EXPECTED WORD...
    local want=$1 got
    shift
    got=$(comp "$@")
    [ "$got" = "$want" ] || fail "troupe ${*:2}<TAB>: '$got', expected '$want'"
}
check "members" troupe mem
check "get put delete list" troupe kv ''
check "alive suspect dead left" troupe members --status ''
check "lan fast" troupe agent --profile ''
check "root targets snapshot timestamp" troupe trust rotate repo --role ''
check "build fetch" troupe --http 127.0.0.1:7421 bundle ''
check "--instance" troupe logs web --ins
check "register deregister" troupe service ''
say "ok"
