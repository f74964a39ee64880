# lib.sh: helpers for integration tests that start real troupe agents as
# hosts in network namespaces. A test sources this file, calls net_up N, and
# everything it made (agents, namespaces, files) is removed on exit, however
# the test ends.
#
# Memory checks: a troupe built with the sanitizers (make test's build-san)
# writes its AddressSanitizer/UBSan reports to $TMP/memcheck/, and so does
# tests/integration/valgrind-troupe (TROUPE_BIN for a run under valgrind).
# At the end every agent is stopped with SIGTERM, so that leaks are checked
# too, and the test fails when any report is there, however it went.
set -u
SRC=${TROUPE_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BIN=${TROUPE_BIN:-$SRC/build/cli/troupe}
ID=tr$$
TMP=$(mktemp -d /tmp/troupe-it.XXXXXX)
NS_LIST=()
declare -A PID
MEMCHECK=$TMP/memcheck
mkdir -p "$MEMCHECK"
# errors stop the process (UBSan's default is to go on); reports go to a file per process
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$MEMCHECK/asan:halt_on_error=1:detect_leaks=1"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$MEMCHECK/ubsan:halt_on_error=1:print_stacktrace=1"
export TROUPE_MEMCHECK_DIR=$MEMCHECK

say() { echo "[$(date +%H:%M:%S.%N | cut -c1-12)] $*"; }

# API tokens: every agent a test starts makes its management token file
# from TEST_TOKEN at its first start (TROUPE_INITIAL_MANAGEMENT_TOKEN), and
# every curl of the test sends it (a curlrc), as an operator who holds the
# file would; `curl -q ...` (-q first) sends none. The troupe command finds
# the token by itself, as it does for the user who runs the agent.
TEST_TOKEN=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
export TROUPE_INITIAL_MANAGEMENT_TOKEN=$TEST_TOKEN
export CURL_HOME=$TMP/curl
mkdir -p "$CURL_HOME"
printf 'header = "X-Troupe-Token: %s"\n' "$TEST_TOKEN" >"$CURL_HOME/.curlrc"
# mgmt_token I: the management token in hI's data dir
mgmt_token() { cat "$TMP/h$1/acl/management-token"; }

# stop_all: SIGTERM to every process the test started, SIGKILL to those still
# running after TROUPE_STOP_S seconds (5; a leak check under valgrind is slow)
stop_all() {
    local p left end=$(( $(date +%s%N) + ${TROUPE_STOP_S:-5} * 1000000000 ))
    for p in "${PID[@]}"; do kill -TERM "$p" 2>/dev/null; done
    while :; do
        left=()
        for p in "${PID[@]}"; do kill -0 "$p" 2>/dev/null && left+=("$p"); done
        [ ${#left[@]} -gt 0 ] && [ "$(date +%s%N)" -lt $end ] || break
        sleep 0.1
    done
    [ ${#left[@]} -gt 0 ] && say "still running after SIGTERM, killed: ${left[*]}"
    for p in "${left[@]}"; do kill -9 "$p" 2>/dev/null; done
    PID=()
}

# memcheck_reports: prints every sanitizer or valgrind report of the test;
# fails when there is one. UBSan linked with ASan ignores log_path and
# writes to stderr, so the logs of the test ($TMP/*.log) are searched too.
memcheck_reports() {
    local f found=0
    for f in "$MEMCHECK"/*; do
        [ -s "$f" ] || continue
        # valgrind's notes about itself ("--PID-- WARNING: unhandled syscall") are no report
        [[ $(basename "$f") == valgrind.* ]] && ! grep -q '^==[0-9]*==' "$f" && continue
        found=1
        echo "--- memory error report $(basename "$f"):"
        grep -v '^--[0-9]*--' "$f" | head -n 80
    done
    for f in "$TMP"/*.log; do
        [ -f "$f" ] && grep -Eq '^[^ ]+:[0-9]+:[0-9]+: runtime error: ' "$f" || continue
        found=1
        echo "--- undefined behaviour in $(basename "$f"):"
        grep -E -A 20 '^[^ ]+:[0-9]+:[0-9]+: runtime error: ' "$f" | head -n 80
    done
    [ $found -eq 0 ]
}

# kill_instances DIR...: the agents leave their instances running when they
# stop (by design), and a killed agent's too: kill -9 every instance pid the
# data dirs know of, and its process group
kill_instances() {
    local d p
    command -v sqlite3 >/dev/null || return 0
    for d in "$@"; do
        [ -f "$d/troupe.db" ] || continue
        for p in $(sqlite3 "$d/troupe.db" "SELECT pid FROM sup_instances WHERE pid > 0" 2>/dev/null); do
            kill -9 -- "-$p" 2>/dev/null; kill -9 "$p" 2>/dev/null
        done
    done
}

# instances_cleanup: the EXIT trap of a test whose agents run instances:
# stops the agents (so that none restarts what is killed), then every
# instance the hosts' data dirs know of, then cleanup
instances_cleanup() {
    local rc=$?
    stop_all
    kill_instances "$TMP"/h*
    (exit $rc)
    cleanup
}

cleanup() {
    local rc=$?
    stop_all
    wait 2>/dev/null
    if ! memcheck_reports; then
        echo "FAIL: a troupe process reported memory errors, leaks or undefined behaviour (above)"
        [ $rc -eq 0 ] && rc=1
    fi
    for ns in "${NS_LIST[@]}"; do ip netns del "$ns" 2>/dev/null; done
    release_ports
    rm -rf "$TMP"
    exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
    echo "FAIL: $*"
    for f in "$TMP"/*.log; do
        [ -f "$f" ] || continue
        echo "--- last lines of $(basename "$f")"
        tail -n 15 "$f"
    done
    exit 1
}

need_netns() {
    [ "$(id -u)" -eq 0 ] || { echo "this test needs root (network namespaces)"; exit 77; }
    [ -x "$BIN" ] || fail "no troupe binary at $BIN"
}

ns() { echo "$ID-h$1"; }

# net_up N: N hosts 10.77.0.1..N on one bridge, in a namespace of its own.
net_up() {
    local n=$1 i
    need_netns
    ip netns add "$ID-br" || fail "cannot create a network namespace"
    NS_LIST+=("$ID-br")
    ip -n "$ID-br" link add br0 type bridge
    ip -n "$ID-br" link set br0 up
    for i in $(seq 1 "$n"); do
        ip netns add "$(ns "$i")"
        NS_LIST+=("$(ns "$i")")
        ip link add eth0 netns "$(ns "$i")" type veth peer name "p$i" netns "$ID-br"
        ip -n "$(ns "$i")" addr add "10.77.0.$i/24" dev eth0
        ip -n "$(ns "$i")" link set eth0 up
        ip -n "$(ns "$i")" link set lo up
        ip -n "$ID-br" link set "p$i" master br0 up
    done
    say "network: $n hosts 10.77.0.1-$n on a bridge (namespaces $ID-*)"
}

# ---- ports on the host's loopback ----

# Tests whose agent runs on the host's loopback (no namespace of its own)
# reserve its ports: reserve_ports VAR... sets each VAR to a port below the
# ephemeral range (32768-, so no outgoing connection takes it meanwhile)
# that no TCP or UDP socket uses, reserved with a directory in PORT_DIR that
# holds the test's pid, so that two tests running at the same time never
# pick the same one. A reservation whose test is gone is taken over; cleanup
# releases the test's own. An agent of someone else may still bind the port
# in between: then the test's agent fails to start, loudly, instead of the
# test talking to the wrong agent.
PORT_DIR=${TROUPE_PORT_DIR:-/tmp/troupe-test-ports}
reserve_ports() {
    local var p owner tries
    command -v ss >/dev/null || fail "reserve_ports needs ss (iproute2)"
    mkdir -p "$PORT_DIR" && chmod 1777 "$PORT_DIR" 2>/dev/null
    for var in "$@"; do
        p=
        for tries in $(seq 1 500); do
            p=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
            if ! mkdir "$PORT_DIR/$p" 2>/dev/null; then
                owner=$(cat "$PORT_DIR/$p/pid" 2>/dev/null)
                # reserved by a test that still runs, or being reserved right now
                [ -n "$owner" ] && ! kill -0 "$owner" 2>/dev/null || { p=; continue; }
                rm -rf "$PORT_DIR/$p"
                mkdir "$PORT_DIR/$p" 2>/dev/null || { p=; continue; }
            fi
            echo $$ >"$PORT_DIR/$p/pid"
            [ -z "$(ss -Hantu "sport = :$p" 2>/dev/null)" ] && break
            rm -rf "$PORT_DIR/$p"
            p=
        done
        [ -n "$p" ] || fail "no free port in 20000-31999 after 500 tries"
        printf -v "$var" %s "$p"
    done
}
# release_ports: frees every port this test reserved (in a subshell or not)
release_ports() {
    local d
    for d in "$PORT_DIR"/*/; do
        [ "$(cat "$d/pid" 2>/dev/null)" = $$ ] && rm -rf "$d"
    done
    return 0
}

# start I [agent flags...]: agent hI on 10.77.0.I:7420, API on 127.0.0.1:7421 in its namespace
start() {
    local i=$1
    shift
    ip netns exec "$(ns "$i")" "$BIN" agent --node "h$i" --bind "10.77.0.$i:7420" \
        --data-dir "$TMP/h$i" --profile fast --log-level debug "$@" >>"$TMP/h$i.log" 2>&1 &
    PID[$i]=$!
    say "started h$i (pid ${PID[$i]}) $*"
    wait_until 10 "h$i answers its API" cli "$i" info
}

cli() {
    local i=$1
    shift
    ip netns exec "$(ns "$i")" "$BIN" "$@"
}

# status_of I NAME: NAME's status as hI sees it ("" when unknown)
status_of() {
    cli "$1" members --json 2>/dev/null | jq -r --arg n "$2" '.[] | select(.name == $n) | .status'
}

# count I STATUS: how many members hI sees in STATUS
count() {
    cli "$1" members --json 2>/dev/null | jq --arg s "$2" '[.[] | select(.status == $s)] | length'
}

# wait_until SECONDS WHAT COMMAND...: polls every 100 ms; fails with logs on timeout
wait_until() {
    local limit=$1 what=$2 start
    shift 2
    start=$(date +%s%N)
    while ! "$@" >/dev/null 2>&1; do
        if [ $(( ($(date +%s%N) - start) / 1000000 )) -gt $((limit * 1000)) ]; then
            fail "after ${limit}s: $what"
        fi
        sleep 0.1
    done
    say "ok: $what ($(( ($(date +%s%N) - start) / 1000000 )) ms)"
}

# hold SECONDS WHAT COMMAND...: COMMAND stays true for the whole window,
# checked every 100 ms; fails at the first time it is false. For what must
# NOT happen, when no event proves that enough time went by: the caller
# says why its window is long enough.
hold() {
    local limit=$1 what=$2 start ms
    shift 2
    ms=$(awk -v s="$limit" 'BEGIN {printf "%d", s * 1000}')
    start=$(date +%s%N)
    while [ $(( ($(date +%s%N) - start) / 1000000 )) -lt "$ms" ]; do
        "$@" >/dev/null 2>&1 || fail "within ${limit}s, no longer: $what"
        sleep 0.1
    done
    say "ok: for ${limit}s: $what"
}

is_status() { [ "$(status_of "$1" "$2")" = "$3" ]; }
sees_count() { [ "$(count "$1" "$2")" = "$3" ]; }

# everyone I in LIST sees NAME in STATUS
all_see() {
    local name=$1 st=$2 i
    shift 2
    for i in "$@"; do is_status "$i" "$name" "$st" || return 1; done
}

# cut A B: drop all traffic between hosts A and B (both directions)
cut_link() {
    ip -n "$(ns "$1")" route add blackhole "10.77.0.$2/32"
    ip -n "$(ns "$2")" route add blackhole "10.77.0.$1/32"
}
heal_link() {
    ip -n "$(ns "$1")" route del blackhole "10.77.0.$2/32"
    ip -n "$(ns "$2")" route del blackhole "10.77.0.$1/32"
}

# ---- content trust ----

# trust_workdir: the trust tests run in $TMP, with a passphrase file "pass"
# for the repository's keys
trust_workdir() {
    [ -x "$BIN" ] || fail "no troupe binary at $BIN"
    cd "$TMP" || exit 1
    echo "a passphrase for tests" >pass
}

# ---- catalog helpers ----

# api I METHOD PATH [curl args...]: hI's HTTP API from inside its namespace; prints the body,
# fails on an HTTP error
api() {
    local i=$1 m=$2 p=$3
    shift 3
    ip netns exec "$(ns "$i")" curl -sf --max-time 20 -X "$m" "http://127.0.0.1:7421$p" "$@"
}

# cluster N [agent flags...]: h1..hN started and joined through h1, everyone alive everywhere
cluster() {
    local n=$1 i
    shift
    start 1 "$@"
    for i in $(seq 2 "$n"); do start "$i" --join 10.77.0.1 "$@"; done
    for i in $(seq 1 "$n"); do wait_until 20 "h$i sees $n alive" sees_count "$i" alive "$n"; done
}

# register_at URL JSON: registers the service JSON with the agent at URL;
# fails naming the service
register_at() {
    curl -sf -X PUT "$1/v1/agent/service/register" -d "$2" >/dev/null ||
        fail "register $(jq -r .name <<<"$2" 2>/dev/null)"
}

# passing_count I NAME: how many instances of NAME hI serves as passing
passing_count() { api "$1" GET "/v1/health/service/$2?passing" | jq length; }
has_passing() { [ "$(passing_count "$1" "$2")" = "$3" ]; }
# all_passing NAME N HOSTS...: every host serves N passing instances of NAME
all_passing() {
    local name=$1 want=$2 i
    shift 2
    for i in "$@"; do has_passing "$i" "$name" "$want" || return 1; done
}
digest_of() { api "$1" GET /v1/catalog/digest | jq -r .digest; }
# same_digest HOSTS...: every host has the same catalog digest
same_digest() {
    local d i
    d=$(digest_of "$1") || return 1
    [ -n "$d" ] || return 1
    for i in "${@:2}"; do [ "$(digest_of "$i")" = "$d" ] || return 1; done
}
