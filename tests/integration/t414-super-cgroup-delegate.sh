#!/bin/bash
# A cgroup delegated to the agent, as systemd's Delegate=yes gives it,
# simulated: the agent starts in a cgroup of its own marked delegated
# (trusted.delegate=1, as systemd marks it). It moves itself to CG/agent
# and makes the cgroup of an instance with a memory limit as
# CG/instances/web-0 with memory.max set. Restarted (in CG/agent, where
# systemd's DelegateSubgroup=agent starts it), the agent uses the same
# subtree and re-adopts the instance. Needs cgroup v2 with the memory
# controller on /sys/fs/cgroup; skipped otherwise.
. "$(dirname "$0")/sup_lib.sh"
[ "$(id -u)" -eq 0 ] || { echo "this test needs root (cgroups)"; exit 77; }
fs=$(stat -fc %T /sys/fs/cgroup)
[ "$fs" = cgroup2fs ] || { echo "/sys/fs/cgroup is $fs, not cgroup v2: nothing to delegate"; exit 77; }
grep -qw memory /sys/fs/cgroup/cgroup.controllers ||
    { echo "cgroup v2 without the memory controller: no memory limits to check"; exit 77; }
grep -qw memory /sys/fs/cgroup/cgroup.subtree_control || echo +memory >/sys/fs/cgroup/cgroup.subtree_control ||
    { echo "cannot enable the memory controller below the root cgroup"; exit 77; }

REL=/troupe-test-$$
CG=/sys/fs/cgroup$REL
# cg_cleanup: every process below CG killed, then the cgroups, leaves first
cg_cleanup() {
    local d p
    [ -d "$CG" ] || return 0
    for p in $(cat $(find "$CG" -name cgroup.procs) 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
    sleep 0.3
    find "$CG" -depth -type d -exec rmdir {} \; 2>/dev/null
    [ -d "$CG" ] && echo "left behind: $(find "$CG" -type d)"
}
t414_cleanup() {
    local rc=$?
    stop_all # gracefully, so that a sanitized agent reports its leaks
    cg_cleanup
    (exit $rc)
    sup_cleanup
}
trap t414_cleanup EXIT

mkdir "$CG" || fail "mkdir $CG"
hint=(--cgroup-parent auto) # off is the default (docs/supervisor.md says why)
if command -v setfattr >/dev/null && setfattr -n trusted.delegate -v 1 "$CG" 2>/dev/null ||
    python3 -c "import os, sys; os.setxattr(sys.argv[1], 'trusted.delegate', b'1')" "$CG" 2>/dev/null; then
    say "made $REL, marked delegated (trusted.delegate=1): the agent finds it by itself"
else
    hint=(--cgroup-parent "$REL")
    say "made $REL; no xattr tool: the agent is told with ${hint[*]}"
fi

# cg_agent DIR: starts the agent "solo" in the cgroup DIR (below /sys/fs/cgroup)
cg_agent() {
    (echo "$BASHPID" >"/sys/fs/cgroup$1/cgroup.procs" &&
        exec "$BIN" agent --node solo --bind 127.0.0.1:$G --http 127.0.0.1:$H \
            --data-dir "$TMP/solo" --log-level debug "${hint[@]}") >>"$TMP/solo.log" 2>&1 &
    PID[1]=$!
    say "started agent solo (pid ${PID[1]}) in the cgroup $1"
    wait_until 10 "solo answers" T info
}
cg_of() { sed -n 's/^0:://p' "/proc/$1/cgroup"; }

cg_agent "$REL"
grep -q "cgroups: delegated $REL: the agent in $REL/agent," "$TMP/solo.log" ||
    fail "the agent did not say it uses $REL: $(grep 'cgroups:' "$TMP/solo.log")"
[ "$(cg_of "${PID[1]}")" = "$REL/agent" ] || fail "the agent is in $(cg_of "${PID[1]}"), not $REL/agent"
grep -qw memory "$CG/instances/cgroup.subtree_control" || fail "memory is not enabled in $REL/instances"

cat >"$TMP/web.json" <<JSON
{"name": "web", "command": "/bin/sh", "args": ["-c", "exec sleep 300"],
 "user": "$SUP_USER", "limits": {"memory_mb": 64, "pids": 32}}
JSON
T run "$TMP/web.json" || fail "troupe run refused the spec"
wait_until 5 "web/0 runs" state_is web 0 running
p0=$(field web 0 pid)
say "web/0 is pid $p0 in $(cg_of "$p0")"
[ "$(cg_of "$p0")" = "$REL/instances/web-0" ] || fail "web/0 is in $(cg_of "$p0"), not $REL/instances/web-0"
[ "$(cat "$CG/instances/web-0/memory.max")" = $((64 << 20)) ] ||
    fail "memory.max is $(cat "$CG/instances/web-0/memory.max")"
[ "$(cat "$CG/instances/web-0/pids.max")" = 32 ] || fail "pids.max is $(cat "$CG/instances/web-0/pids.max")"
[ ! -e /sys/fs/cgroup/troupe/web-0 ] || fail "a cgroup at the host's /sys/fs/cgroup/troupe/web-0 too"

say "kill -9 the agent; start it again in $REL/agent"
kill -9 "${PID[1]}"
wait "${PID[1]}" 2>/dev/null
cg_agent "$REL/agent"
[ "$(grep -c "cgroups: delegated $REL:" "$TMP/solo.log")" = 2 ] ||
    fail "the restarted agent does not use $REL: $(grep 'cgroups:' "$TMP/solo.log" | tail -1)"
grep -q "web/0: re-adopted pid $p0" "$TMP/solo.log" || fail "web/0 was not re-adopted"
[ "$(cg_of "${PID[1]}")" = "$REL/agent" ] || fail "the agent is in $(cg_of "${PID[1]}")"

say "troupe rm web: the instance ends and its cgroup goes"
T rm web >/dev/null || fail "troupe rm web"
wait_until 15 "web/0 ended" sh -c "! kill -0 $p0 2>/dev/null"
wait_until 5 "$REL/instances/web-0 is removed" sh -c "[ ! -d '$CG/instances/web-0' ]"
