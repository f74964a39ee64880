#!/bin/bash
# lib.sh itself: a test whose troupe process leaves a sanitizer or valgrind
# report in $TROUPE_MEMCHECK_DIR fails, also when the report is written at
# exit (a leak check), which needs the SIGTERM of lib.sh's cleanup; so does
# a UBSan report in an agent's log; a test without a report passes. The
# "agent" here is a shell that writes such a report when it gets SIGTERM,
# so no troupe binary is needed.
. "$(dirname "$0")/lib.sh"
inner=$TMP/inner.sh
cat >"$inner" <<INNER
. "$SRC/tests/integration/lib.sh"
# a fake agent: reports a leak when stopped, as LeakSanitizer does at exit
# (it says it is ready once its trap is set: a SIGTERM before would end it with no report)
bash -c 'trap "echo \"==1==ERROR: LeakSanitizer: detected memory leaks\" >\\\$TROUPE_MEMCHECK_DIR/asan.\\\$\\\$; exit 0" TERM
    touch "\$TROUPE_MEMCHECK_DIR/../ready"; while :; do sleep 0.05; done' &
PID[1]=\$!
wait_until 5 "the fake agent is ready" test -e "\$TMP/ready"
[ -n "\${QUIET:-}" ] && kill -9 "\${PID[1]}"
[ -n "\${UB:-}" ] && kill -9 "\${PID[1]}" &&
    echo "agent/x.c:12:5: runtime error: signed integer overflow" >>"\$TMP/h1.log"
exit 0
INNER
out=$(bash "$inner" 2>&1) && fail "a leak reported at exit did not fail the test: $out"
echo "$out" | grep -q "LeakSanitizer: detected memory leaks" || fail "the report is not shown: $out"
echo "$out" | grep -q "reported memory errors" || fail "no failure message: $out"
say "ok: a report written at SIGTERM fails the test and is shown"
out=$(UB=1 bash "$inner" 2>&1) && fail "undefined behaviour in a log did not fail the test: $out"
echo "$out" | grep -q "x.c:12:5: runtime error" || fail "the UBSan report is not shown: $out"
say "ok: a UBSan report in an agent's log fails the test and is shown"
out=$(QUIET=1 bash "$inner" 2>&1) || fail "a test without a report failed: $out"
say "ok: no report, no failure"
