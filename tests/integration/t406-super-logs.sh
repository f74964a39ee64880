#!/bin/bash
# Logs: stdout and stderr are captured per instance; a line longer than
# 64 KiB is split into pieces, none lost, and joined again by troupe logs;
# --instance, --since and -f work; scale runs and stops instances.
. "$(dirname "$0")/sup_lib.sh"
sup_agent
cat >"$TMP/talk.json" <<JSON
{"name": "talk", "command": "/bin/sh", "user": "$SUP_USER", "instances": 2,
 "args": ["-c", "echo out-\$TROUPE_INSTANCE; echo err-\$TROUPE_INSTANCE >&2; head -c 200000 /dev/zero | tr '\\\\0' x; echo; exec sleep 300"]}
JSON
T run "$TMP/talk.json" >/dev/null || fail "troupe run"
wait_until 5 "both instances logged their long line" sh -c "[ \"\$(\"$BIN\" --http 127.0.0.1:$H logs talk | grep -c '^xxxx')\" = 2 ]"
T logs talk --instance 1 >"$TMP/l1"
grep -q '^out-1$' "$TMP/l1" && grep -q '^err-1$' "$TMP/l1" || fail "instance 1 lacks stdout or stderr: $(head -c 300 "$TMP/l1")"
grep -q 'out-0' "$TMP/l1" && fail "--instance 1 shows instance 0"
len=$(grep '^xxx' "$TMP/l1" | awk '{print length($0)}')
[ "$len" = 200000 ] || fail "the long line came back with $len bytes"
out=$(T logs talk --instance 7) || fail "logs of an instance with no lines failed: $out"
[ -z "$out" ] || fail "an instance with no lines has logs: $out"
T logs talk --json --instance 0 | jq -se '[.[] | select(.pieces >= 4)] | length == 1' >/dev/null || fail "the long line was not stored in pieces"
grep -c '^[0-9]* O ' "$TMP/solo/logs/talk/0.log" | grep -qx 3 || fail "expected 3 continued records of 64 KiB in the file"
T logs talk --json --instance 0 | jq -se '[.[] | select(.stream == "err")] | length == 1' >/dev/null || fail "stderr is not marked"
T logs talk --since 1h | grep -q out-0 || fail "--since 1h lacks the lines"
# --since as unix ms: the lines are all older than now, and newer than a minute ago
now_ms=$(date +%s%3N)
out=$(T logs talk --since "$now_ms") || fail "logs --since $now_ms failed: $out"
[ -z "$out" ] || fail "--since now (unix ms) shows older lines: $(echo "$out" | cut -c1-80 | head -n 3)"
T logs talk --since $((now_ms - 60000)) | grep -q '^out-0$' || fail "--since a minute ago (unix ms) lacks the lines"
T logs talk -f >"$TMP/follow" 2>&1 &
fpid=$!
EXTRA_PIDS+=("$fpid")
T scale talk 3 >/dev/null || fail "scale to 3"
wait_until 5 "follow sees the third instance" grep -q '^out-2$' "$TMP/follow"
kill "$fpid"
T scale talk 1 >/dev/null || fail "scale to 1"
wait_until 15 "scaled down to 1" sh -c "[ \"\$(\"$BIN\" --http 127.0.0.1:$H ps talk --json | jq length)\" = 1 ]"
