# Helpers for the simulator tests: tests/sim/*.sh run troupe-sim (from
# $TROUPE_SIM, or build/sim/troupe-sim) and check its JSON report with jq.
set -u
SIM=${TROUPE_SIM:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/sim/troupe-sim}
TMP=$(mktemp -d /tmp/troupe-sim-test.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

say() { echo "[$(basename "$0" .sh)] $*"; }
fail() { say "FAIL: $*"; exit 1; }
[ -x "$SIM" ] || fail "no troupe-sim binary at $SIM"
command -v jq >/dev/null || fail "jq is needed"

# sim OUT ARGS...: runs a scenario with --json into file OUT, says what it ran.
sim() {
    local out=$1
    shift
    say "troupe-sim $*"
    "$SIM" --json "$@" >"$out" 2>"$out.err" || fail "troupe-sim $* failed: $(cat "$out.err")"
    cat "$out.err"
}

# check OUT JQ_EXPR WHAT: fails unless the jq boolean expression holds.
check() {
    local out=$1 expr=$2 what=$3
    [ "$(jq -r "$expr" "$out")" = true ] || fail "$what: $(jq -c . "$out")"
    say "ok: $what"
}
