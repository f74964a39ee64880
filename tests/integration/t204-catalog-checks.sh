#!/bin/bash
# Health checks on one agent: exec checks map exit codes (0 passing, 1
# warning, else critical), are killed at their timeout, keep at most 4 KiB
# of output; http checks judge the status code; a ttl check goes critical
# when no report comes in time; deregister_critical_after removes an
# instance that stays critical; failures_before_critical holds a status
# through a single failure.
. "$(dirname "$0")/lib.sh"
[ -x "$BIN" ] || fail "no troupe binary at $BIN"
reserve_ports G H
U="http://127.0.0.1:$H"
"$BIN" agent --node solo --bind 127.0.0.1:$G --http 127.0.0.1:$H --data-dir "$TMP/solo" \
    --enable-exec-checks >"$TMP/solo.log" 2>&1 &
PID[1]=$!
say "started solo (pid ${PID[1]}) with exec checks enabled"
T() { "$BIN" --http 127.0.0.1:$H "$@"; }
wait_until 10 "solo answers" T info
reg() { curl -sf -X PUT "$U/v1/agent/service/register" -d "$1" >/dev/null || fail "register $1"; }
status() { curl -s "$U/v1/health/service/$1" | jq -r '.[0].status'; }
is() { [ "$(status "$1")" = "$2" ]; }

printf '#!/bin/sh\necho all good\nexit 0\n' >"$TMP/probe.sh"
chmod +x "$TMP/probe.sh"
reg "{\"name\": \"job\", \"checks\": [{\"args\": [\"$TMP/probe.sh\"], \"interval\": \"200ms\", \"timeout\": \"150ms\"}]}"
wait_until 5 "exit 0: passing" is job passing
[ "$(curl -s "$U/v1/health/service/job" | jq -r '.[0].checks[0].output')" = "$(printf 'exit 0\nall good')" ] ||
    fail "exec output: $(curl -s "$U/v1/health/service/job")"
printf '#!/bin/sh\nexit 1\n' >"$TMP/probe.sh.new" && chmod +x "$TMP/probe.sh.new" && mv "$TMP/probe.sh.new" "$TMP/probe.sh"
wait_until 5 "exit 1: warning" is job warning
printf '#!/bin/sh\nhead -c 10000 /dev/zero | tr "\\\\0" x\nexit 2\n' >"$TMP/probe.sh.new" &&
    chmod +x "$TMP/probe.sh.new" && mv "$TMP/probe.sh.new" "$TMP/probe.sh"
wait_until 5 "exit 2: critical" is job critical
len=$(curl -s "$U/v1/health/service/job" | jq -r '.[0].checks[0].output | length')
[ "$len" -le 4096 ] && [ "$len" -ge 4000 ] || fail "output of 10000 bytes kept as $len bytes"
printf '#!/bin/sh\necho fine\nexit 0\n' >"$TMP/probe.sh.new" && chmod +x "$TMP/probe.sh.new" && mv "$TMP/probe.sh.new" "$TMP/probe.sh"
wait_until 5 "passing again" is job passing
printf '#!/bin/sh\nsleep 5\n' >"$TMP/probe.sh.new" && chmod +x "$TMP/probe.sh.new" && mv "$TMP/probe.sh.new" "$TMP/probe.sh"
wait_until 5 "a command past its timeout: critical" is job critical
curl -s "$U/v1/health/service/job" | jq -r '.[0].checks[0].output' | grep -q "timed out" ||
    fail "a timeout does not say so"

reg "{\"name\": \"self-ok\", \"checks\": [{\"http\": \"$U/v1/health\", \"interval\": \"200ms\"}]}"
reg "{\"name\": \"self-404\", \"checks\": [{\"http\": \"$U/v1/nothing\", \"interval\": \"200ms\"}]}"
reg "{\"name\": \"closed\", \"checks\": [{\"tcp\": \"127.0.0.1:1\", \"interval\": \"200ms\"}]}"
wait_until 5 "http 200: passing" is self-ok passing
# checks start critical: a status counts once the output shows a probe ran
output() { curl -s "$U/v1/health/service/$1" | jq -r '.[0].checks[0].output'; }
out404() { output self-404 | grep -q "404"; }
wait_until 5 "the http check's output has the status line" out404
is self-404 critical || fail "http 404 is $(status self-404), not critical"
outclosed() { output closed | grep -q "TCP connect 127.0.0.1:1: "; }
wait_until 5 "the tcp check's output says how the connect went" outclosed
is closed critical || fail "tcp to a closed port is $(status closed): $(output closed)"

reg '{"name": "beat", "checks": [{"id": "beat-ttl", "ttl": "500ms"}]}'
curl -sf -X PUT "$U/v1/agent/check/beat-ttl/pass" >/dev/null || fail "ttl pass"
is beat passing || fail "a ttl report did not pass at once"
wait_until 3 "no report within the ttl: critical" is beat critical
curl -sf -X PUT "$U/v1/agent/check/beat-ttl/warn" -d '{"output": "slow"}' >/dev/null || fail "ttl warn"
is beat warning || fail "ttl warn"
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT "$U/v1/agent/check/job:1/pass")
[ "$code" = 400 ] || fail "reporting on an exec check: $code, wanted 400"

reg '{"name": "doomed", "checks": [{"tcp": "127.0.0.1:1", "interval": "100ms", "deregister_critical_after": "1s"}]}'
gone() { [ "$(curl -s "$U/v1/catalog/service/doomed" | jq length)" = 0 ]; }
wait_until 5 "critical for longer than deregister_critical_after: deregistered" gone
T events --kind service | grep -q "deregistered doomed" || fail "the deregistration is not in the history"

reg "{\"name\": \"steady\", \"checks\": [{\"args\": [\"$TMP/flaky.sh\"], \"interval\": \"100ms\", \"failures_before_critical\": 3}]}"
printf '#!/bin/sh\nexit 0\n' >"$TMP/flaky.sh" && chmod +x "$TMP/flaky.sh"
wait_until 5 "steady passing" is steady passing
# fails once, then passes, counting the probes after the failure
printf '#!/bin/sh\n[ -e %s/failed-once ] && echo run >>%s/after && exit 0\ntouch %s/failed-once\nexit 2\n' \
    "$TMP" "$TMP" "$TMP" >"$TMP/flaky.new" && chmod +x "$TMP/flaky.new" && mv "$TMP/flaky.new" "$TMP/flaky.sh"
wait_until 5 "the flaky probe failed once" test -e "$TMP/failed-once"
after_ge() { [ "$(wc -l <"$TMP/after" 2>/dev/null)" -ge "$1" ] 2>/dev/null; }
wait_until 5 "three probes ran after the failure (its result is in)" after_ge 3
is steady passing || fail "one failure of three allowed turned the check $(status steady)"
T events --kind check >"$TMP/events" || fail "troupe events --kind check"
grep "steady:1" "$TMP/events" | grep -q "critical -> passing" ||
    fail "the history lacks steady's first passing: $(cat "$TMP/events")"
grep "steady:1" "$TMP/events" | grep -q "passing -> critical" && fail "a held status left a transition in the history"
true
