#!/bin/bash
# The logger process of an instance (troupe _logger DIR IDX, which the agent
# starts with a bare environment and no stderr) run directly, so that a
# sanitized build or valgrind-troupe reports its memory errors here: it
# writes complete lines of stdout (fd 0) and stderr (fd 3) as records, a
# line over 64 KiB as pieces, a last line without a newline at the end,
# and rotates the file past 8 MiB without losing a record.
. "$(dirname "$0")/lib.sh"
[ -x "$BIN" ] || fail "no troupe binary at $BIN"
mkdir -p "$TMP/logs"
say "9 MB of stdout and two lines of stderr through the logger"
{
    printf 'out-first\n'
    head -c 200000 /dev/zero | tr '\0' x
    echo
    yes 'a line of filler that is sixty-four bytes long, give or take.' | head -n 140000
    printf 'out-partial'
} | "$BIN" _logger "$TMP/logs" 0 3< <(printf 'err-first\nerr-partial') ||
    fail "the logger exited $?"
L=$TMP/logs/0.log
[ -f "$L.1" ] || fail "no rotation to 0.log.1 past 8 MiB: $(ls -l "$TMP/logs")"
for f in "$L" "$L.1"; do
    [ "$(stat -c %s "$f")" -le $((8 << 20)) ] || fail "$f is over 8 MiB"
done
cat "$L.1" "$L" >"$TMP/all"
grep -Eq '^[0-9]+ o out-first$' "$TMP/all" || fail "no record of the first line"
# kind and length of the records of x: 3 pieces of 64 KiB, then the rest
[ "$(awk '$3 ~ /^x+$/ {printf "%s%d ", $2, length($3)}' "$TMP/all")" = "O65536 O65536 O65536 o3392 " ] ||
    fail "the long line is not 3 pieces and its end: $(awk '$3 ~ /^x+$/ {print $2, length($3)}' "$TMP/all")"
[ "$(grep -c ' o a line of filler' "$TMP/all")" = 140000 ] || fail "filler lines were lost"
grep -Eq '^[0-9]+ o out-partial$' "$TMP/all" || fail "the last stdout line without a newline is lost"
grep -Eq '^[0-9]+ e err-first$' "$TMP/all" && grep -Eq '^[0-9]+ e err-partial$' "$TMP/all" ||
    fail "stderr records are missing"
[ "$(wc -l <"$TMP/all")" = $((140000 + 8)) ] || fail "unexpected records: $(grep -vc filler "$TMP/all")"
say "ok: every record is there, across a rotation"
code=0
"$BIN" _logger "$TMP/logs" 2>"$TMP/usage" || code=$?
[ $code = 2 ] && grep -q usage "$TMP/usage" || fail "missing arguments: exit $code, $(cat "$TMP/usage")"
