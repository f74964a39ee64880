#!/bin/bash
# "runtime": "crun": the instance runs as an OCI container with a
# read-only root, as a non-root user, with no capabilities, no_new_privs
# and seccomp, a writable tmpfs /tmp; a rootfs tarball is unpacked; a
# memory hog in a container is killed by its memory limit and restarted.
. "$(dirname "$0")/sup_lib.sh"
command -v crun >/dev/null || { echo "crun is not installed (scripts/deps)"; exit 77; }
[ -x /bin/busybox ] || { echo "busybox-static is not installed (scripts/deps)"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "needs root"; exit 77; }
mkdir -p "$TMP/rootfs/bin"
cp /bin/busybox "$TMP/rootfs/bin/"
ln -s busybox "$TMP/rootfs/bin/sh"
chmod -R a+rX "$TMP"
tar -C "$TMP/rootfs" -czf "$TMP/rootfs.tar.gz" .
sup_agent
cat >"$TMP/box.json" <<JSON
{"name": "box", "runtime": "crun", "rootfs": "$TMP/rootfs.tar.gz", "command": "/bin/busybox",
 "user": "$SUP_USER", "stop_grace_ms": 1000, "limits": {"memory_mb": 32, "pids": 64},
 "args": ["sh", "-c", "id -u; touch /x 2>/dev/null && echo ROOT-WRITABLE || echo ROOT-READONLY; touch /tmp/y && echo TMP-WRITABLE; grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status; echo pid-\$\$; exec busybox sleep 300"]}
JSON
T run "$TMP/box.json" || fail "troupe run refused the crun spec"
wait_until 20 "the container printed its pid" sh -c "\"$BIN\" --http 127.0.0.1:$H logs box | grep -q '^pid-'"
T logs box >"$TMP/out"
cat "$TMP/out"
grep -qx 65534 "$TMP/out" || fail "the container does not run as uid 65534"
grep -qx ROOT-READONLY "$TMP/out" || fail "the root is writable"
grep -qx TMP-WRITABLE "$TMP/out" || fail "/tmp is not writable"
grep -q '^CapEff:.0000000000000000$' "$TMP/out" || fail "capabilities are not all dropped"
grep -q '^NoNewPrivs:.1$' "$TMP/out" || fail "no_new_privs is not set"
grep -q '^Seccomp:.2$' "$TMP/out" || fail "no seccomp filter"
grep -qx pid-1 "$TMP/out" || fail "not in a pid namespace of its own"
state_is box 0 running || fail "box is not running: $(T ps)"
jq -e '.root.readonly == true and .process.noNewPrivileges == true and .process.user.uid == 65534' \
    "$TMP/solo/bundles/troupe-box-0/config.json" >/dev/null || fail "config.json lacks the sandbox"
cat >"$TMP/hog.json" <<JSON
{"name": "hog", "runtime": "crun", "rootfs": "$TMP/rootfs", "command": "/bin/busybox",
 "user": "$SUP_USER", "limits": {"memory_mb": 16},
 "args": ["sh", "-c", "echo hog-start; busybox sleep 1.2; x=aaaaaaaaaaaaaaaa; while :; do x=\$x\$x; done"]}
JSON
T run "$TMP/hog.json" || fail "troupe run refused the hog"
wait_until 30 "the hog was killed and restarted twice" restarts_ge hog 0 2
last=$(field hog 0 last_exit)
say "hog: last exit $last"
[ "$last" = "exit 137" ] || [ "$last" = "signal 9 (SIGKILL)" ] || fail "the hog did not die by SIGKILL: $last"
oom=$(awk '/oom_kill / {print $2}' /sys/fs/cgroup/memory/troupe/hog-0/memory.oom_control 2>/dev/null ||
    awk '/oom_kill / {print $2}' /sys/fs/cgroup/troupe/hog-0/memory.events 2>/dev/null)
say "out-of-memory kills in the hog's cgroup: ${oom:-?}"
[ "${oom:-0}" -ge 1 ] || fail "no out-of-memory kill was counted"
T rm hog >/dev/null
T stop box >/dev/null
wait_until 10 "box stopped" state_is box 0 down
T rm box >/dev/null || fail "troupe rm box"
