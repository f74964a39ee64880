#!/bin/bash
# The agent ignores SIGPIPE, but a service it starts gets the default back:
# one that writes to a pipe nobody reads dies of SIGPIPE, as it would
# under systemd, instead of seeing EPIPE. The agent itself keeps running.
. "$(dirname "$0")/sup_lib.sh"
sup_agent
mkfifo "$TMP/fifo"
chmod 777 "$TMP" "$TMP/fifo"
# the reader takes one byte and goes; `yes` then writes to a closed pipe
cat >"$TMP/pipe.json" <<JSON
{"name": "pipe", "command": "/bin/sh",
 "args": ["-c", "(head -c 1 <$TMP/fifo >/dev/null) & exec yes >$TMP/fifo"],
 "user": "$SUP_USER", "start_limit": {"burst": 1, "interval_ms": 60000}}
JSON
T run "$TMP/pipe.json" || fail "troupe run refused the spec"
wait_until 10 "pipe exited" grep -q 'pipe/0 exit:' "$TMP/solo.log"
last=$(field pipe 0 last_exit)
say "pipe's last exit: $last"
[[ $last == "signal 13"* ]] || fail "the service did not die of SIGPIPE: $last"
kill -0 "${PID[1]}" || fail "the agent is gone"
T info >/dev/null || fail "the agent does not answer"
