# sup_lib.sh: helpers for the supervisor's integration tests, on top of
# lib.sh: one agent on loopback (sup_agent), its CLI (T), and a cleanup
# that stops every supervised instance, even after the agent was killed,
# and unmounts the agent's secrets tmpfs.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
reserve_ports G H # gossip and HTTP of the agent
SUP_USER=nobody
T() { "$BIN" --http 127.0.0.1:$H "$@"; }

sup_cleanup() {
    local rc=$? p
    stop_all # the agent first, so that it restarts nothing killed below
    # stop what still runs: every instance pid the data dir knows, and its group
    kill_instances "$TMP/solo"
    # containers left by a killed crun: delete them (crun wants v1 alone on hybrid hosts)
    for c in "$TMP"/solo/crun/troupe-*; do
        [ -d "$c" ] || continue
        unshare -m --propagation private sh -c "umount -l /sys/fs/cgroup/unified 2>/dev/null;
            crun --root '$TMP/solo/crun' --cgroup-manager=disabled delete -f '$(basename "$c")'" 2>/dev/null
    done
    for p in "${EXTRA_PIDS[@]}"; do kill -9 -- "-$p" 2>/dev/null; kill -9 "$p" 2>/dev/null; done
    for p in "${PID[@]}"; do kill -9 "$p" 2>/dev/null; done
    # the instances' cgroups (they are empty once the processes are gone)
    if [ -f "$TMP/solo/troupe.db" ]; then
        sleep 0.2
        for c in $(sqlite3 "$TMP/solo/troupe.db" "SELECT service || '-' || idx FROM sup_instances" 2>/dev/null); do
            for h in /sys/fs/cgroup /sys/fs/cgroup/memory /sys/fs/cgroup/cpu /sys/fs/cgroup/pids; do
                rmdir "$h/troupe/$c" 2>/dev/null
            done
        done
    fi
    if [ -d "$TMP/solo" ]; then
        m=/run/troupe/secrets-$(printf %x "$(stat -c %i "$TMP/solo")")
        mountpoint -q "$m" 2>/dev/null && umount -l "$m"
        rmdir "$m" 2>/dev/null
    fi
    (exit $rc)
    cleanup
}
EXTRA_PIDS=()
trap sup_cleanup EXIT

# sup_agent [flags]: (re)starts the agent "solo" on loopback with the data dir $TMP/solo
sup_agent() {
    "$BIN" agent --node solo --bind 127.0.0.1:$G --http 127.0.0.1:$H --data-dir "$TMP/solo" \
        --log-level debug "$@" >>"$TMP/solo.log" 2>&1 &
    PID[1]=$!
    say "started agent solo (pid ${PID[1]}) gossip $G, http $H"
    wait_until 10 "solo answers" T info
}

# field SERVICE INSTANCE KEY: a field of an instance from troupe ps --json
field() { T ps "$1" --json 2>/dev/null | jq -r --argjson i "$2" --arg k "$3" '.[] | select(.instance == $i) | .[$k]'; }
restarts_ge() { [ "$(field "$1" "$2" restarts)" -ge "$3" ] 2>/dev/null; }
state_is() { [ "$(field "$1" "$2" state)" = "$3" ]; }
