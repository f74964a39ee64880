#!/bin/bash
# supervise: how fast a crashed service runs again, troupe against runit's
# runsv and supervisord, side by side in the same run, supervising the same
# program. The program stamps the wall clock in ns when it starts and just
# before it crashes (SIGKILL to itself, no core dump), after running RUN_MS
# (2100 ms: more than 2 s, so every supervisor restarts it at once, without
# a backoff). Over CRASHES crashes (50) it reports, for each supervisor, the
# time from a crash to its replacement running (median, p99), and the
# ratios troupe/runsv and troupe/supervisord.
#
# With the catalog in the build, it also starts AGENTS (5) troupe agents in
# network namespaces, runs the service with a readiness check on one of
# them, and measures the time from a crash until the replacement is passing
# in the catalog of all of them.
#
# Floors: troupe's median crash-to-running no slower than runsv's, and under
# 1/10 of supervisord's; crash to passing everywhere under 1 s (median).
#
# usage: bench/supervise.sh   (environment: TROUPE_BIN, CRASHES=50, RUN_MS=2100)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
CRASHES=${CRASHES:-50}
RUN_MS=${RUN_MS:-2100}
AGENTS=${AGENTS:-5}
TMP=$(mktemp -d /tmp/troupe-bench.XXXXXX)
PIDS=()

cleanup() {
    local rc=$? p
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
    sleep 0.3
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
    # the supervised programs run in sessions of their own: end them by pid
    for f in "$TMP"/*/starts "$TMP"/catalog/starts; do
        [ -f "$f" ] || continue
        p=$(tail -n 1 "$f" | awk '{print $3}')
        [ -n "$p" ] && kill -9 "$p" 2>/dev/null
    done
    rm -rf "$TMP"
    exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM

need() { command -v "$1" >/dev/null || { echo "bench: $1 is missing (scripts/deps installs it)"; exit 2; }; }
need runsv
need supervisord
need cc
[ -x "$BIN" ] || { echo "bench: no troupe binary at $BIN"; exit 2; }

# The program: "start NS PID" when it starts, "crash NS PID" before it dies.
cat >"$TMP/crasher.c" <<'EOF'
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
static void stamp(const char *file, const char *what)
{
    struct timespec ts;
    FILE *f;
    clock_gettime(CLOCK_REALTIME, &ts);
    f = fopen(file, "a");
    if (!f)
        return;
    fprintf(f, "%s %lld %d\n", what, (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec, (int)getpid());
    fclose(f);
}
int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    stamp(argv[1], "start");
    usleep((useconds_t)atoi(argv[2]) * 1000);
    stamp(argv[1], "crash");
    raise(SIGKILL);
    return 1;
}
EOF
cc -O2 -o "$TMP/crasher" "$TMP/crasher.c" || exit 2
chmod 755 "$TMP" "$TMP/crasher"

# ---- the three supervisors ----
mkdir -p "$TMP/runsv/svc" "$TMP/supervisord" "$TMP/troupe/data"
touch "$TMP/runsv/starts" "$TMP/supervisord/starts" "$TMP/troupe/starts"
chmod 666 "$TMP"/*/starts
chmod 755 "$TMP"/runsv "$TMP"/supervisord "$TMP"/troupe

cat >"$TMP/runsv/svc/run" <<EOF
#!/bin/sh
exec $TMP/crasher $TMP/runsv/starts $RUN_MS
EOF
chmod +x "$TMP/runsv/svc/run"
runsv "$TMP/runsv/svc" >/dev/null 2>&1 &
PIDS+=($!)
say "runsv $(dpkg-query -W -f='${Version}' runit 2>/dev/null) supervising the program (pid $!)"

cat >"$TMP/supervisord/conf" <<EOF
[supervisord]
nodaemon=true
logfile=$TMP/supervisord/log
pidfile=$TMP/supervisord/pid
childlogdir=$TMP/supervisord
[program:crasher]
command=$TMP/crasher $TMP/supervisord/starts $RUN_MS
autorestart=true
startsecs=1
startretries=1000
stdout_logfile=NONE
stderr_logfile=NONE
EOF
supervisord -c "$TMP/supervisord/conf" >/dev/null 2>&1 &
PIDS+=($!)
say "supervisord $(supervisord --version 2>/dev/null) supervising the program (pid $!)"

# two free ports in a row for the agent's gossip and API
G=$((20000 + $$ % 12000)) # below the ephemeral ports (32768-)
while ss -Htuln | awk '{print $5}' | grep -Eq ":($G|$((G + 1)))\$"; do G=$((G + 2)); done
# The spec runs as root, as runsv and supervisord run the program: the
# agent must allow it (--allow-root-services).
"$BIN" agent --node bench --allow-root-services --bind 127.0.0.1:$G --http 127.0.0.1:$((G + 1)) \
    --data-dir "$TMP/troupe/data" --log-level warn >"$TMP/troupe/log" 2>&1 &
PIDS+=($!)
T() { "$BIN" --http 127.0.0.1:$((G + 1)) "$@"; }
for _ in $(seq 50); do T info >/dev/null 2>&1 && break; sleep 0.1; done
# start_limit: 10 starts in 10 s, since this program restarts every 2.1 s
# and the default (5 in 10 s) would rightly call that a crash loop
cat >"$TMP/troupe/spec.json" <<EOF
{"name": "crasher", "command": "$TMP/crasher", "args": ["$TMP/troupe/starts", "$RUN_MS"],
 "user": "root", "start_limit": {"burst": 10, "interval_ms": 10000}}
EOF
T run "$TMP/troupe/spec.json" >/dev/null || { echo "bench: troupe refused the spec"; exit 2; }
say "troupe $("$BIN" version | awk '{print $2}') supervising the program"

want=$((CRASHES + 1))
limit=$(( (CRASHES + 3) * (RUN_MS + 1500) / 1000 + 30 ))
say "waiting for $CRASHES crashes of each (about $(( (CRASHES + 1) * RUN_MS / 1000 )) s, at most $limit s)"
start=$(date +%s)
while :; do
    done_all=1
    for s in troupe runsv supervisord; do
        [ "$(grep -c '^start' "$TMP/$s/starts")" -ge "$want" ] || done_all=0
    done
    [ $done_all = 1 ] && break
    if [ $(( $(date +%s) - start )) -gt "$limit" ]; then
        for s in troupe runsv supervisord; do
            echo "  $s: $(grep -c '^start' "$TMP/$s/starts") starts"
        done
        echo "bench: not every supervisor restarted the program $CRASHES times in $limit s"
        exit 1
    fi
    sleep 1
done

# gaps: crash i -> start i+1, in microseconds, sorted
gaps() {
    awk '/^crash/ {c = $2; next} /^start/ && c {printf "%d\n", ($2 - c) / 1000; c = 0}' "$1" |
        head -n "$CRASHES" | sort -n
}
pct() { # file p -> value at percentile p (nearest rank)
    awk -v p="$2" '{v[NR] = $1} END {i = int((p / 100) * NR + 0.999); if (i < 1) i = 1; print v[i]}' "$1"
}
for s in troupe runsv supervisord; do
    gaps "$TMP/$s/starts" >"$TMP/$s.gaps"
    n=$(wc -l <"$TMP/$s.gaps")
    eval "${s}_med=\$(pct \"$TMP/$s.gaps\" 50)"
    eval "${s}_p99=\$(pct \"$TMP/$s.gaps\" 99)"
    eval "${s}_n=$n"
done
echo
echo "crash -> replacement running, over $CRASHES crashes of a program that ran ${RUN_MS} ms (microseconds)"
printf '%-12s %8s %10s %10s\n' supervisor crashes median p99
for s in troupe runsv supervisord; do
    eval "printf '%-12s %8s %10s %10s\n' $s \$${s}_n \$${s}_med \$${s}_p99"
done
r_runsv=$(awk -v a="$troupe_med" -v b="$runsv_med" 'BEGIN {printf "%.2f", a / b}')
r_sd=$(awk -v a="$troupe_med" -v b="$supervisord_med" 'BEGIN {printf "%.4f", a / b}')
r_runsv99=$(awk -v a="$troupe_p99" -v b="$runsv_p99" 'BEGIN {printf "%.2f", a / b}')
r_sd99=$(awk -v a="$troupe_p99" -v b="$supervisord_p99" 'BEGIN {printf "%.4f", a / b}')
echo "ratios troupe/runsv: median $r_runsv, p99 $r_runsv99; troupe/supervisord: median $r_sd, p99 $r_sd99"

# ---- crash to passing in the catalog of every agent ----
# AGENTS agents on loopback addresses $net.1..N (default settings), the
# service on the first with a TCP readiness check every 100 ms; after each
# crash, the time until every agent lists the replacement (its pid, in the
# instance's meta) as passing. One curl asks all agents at once.
catalog_bench() {
    local i n=$AGENTS crashes=${CATALOG_CRASHES:-10} urls=() dir="$TMP/catalog"
    # addresses of their own for each run: ports of a previous run may linger in TIME-WAIT
    local net=127.$((10 + $$ % 200)).$((RANDOM % 250)) cg=$((G + 2))
    # ports no one holds on any address (an agent on 0.0.0.0:7420 would take them all)
    while ss -Htuln | awk '{print $5}' | grep -Eq ":($cg|$((cg + 1)))\$"; do cg=$((cg + 2)); done
    mkdir -p "$dir"
    cat >"$TMP/listener.c" <<'EOF2'
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    struct timespec ts;
    int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);
    FILE *f;
    sa.sin_port = htons((unsigned short)atoi(getenv("PORT")));
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0)
        return 1;
    clock_gettime(CLOCK_REALTIME, &ts);
    if ((f = fopen(argv[1], "a"))) {
        fprintf(f, "start %lld %d\n", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec, (int)getpid());
        fclose(f);
    }
    usleep((useconds_t)atoi(argv[2]) * 1000);
    clock_gettime(CLOCK_REALTIME, &ts);
    if ((f = fopen(argv[1], "a"))) {
        fprintf(f, "crash %lld %d\n", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec, (int)getpid());
        fclose(f);
    }
    raise(SIGKILL);
    return 1;
}
EOF2
    cc -O2 -o "$TMP/listener" "$TMP/listener.c" || return 2
    touch "$dir/starts" && chmod 666 "$dir/starts" && chmod 755 "$dir" "$TMP/listener"
    for i in $(seq 1 "$n"); do
        "$BIN" agent --node "c$i" --bind "$net.$i:$cg" --http "$net.$i:$((cg + 1))" --http-insecure --allow-root-services --dns off \
            --data-dir "$dir/h$i" --log-level warn $( [ "$i" -gt 1 ] && echo --join "$net.1:$cg" ) \
            >"$dir/h$i.log" 2>&1 &
        PIDS+=($!)
        urls+=("http://$net.$i:$((cg + 1))/v1/health/service/crasher?passing=1")
    done
    for i in $(seq 1 "$n"); do
        for _ in $(seq 100); do curl -sf "$net.$i:$((cg + 1))/v1/self" >/dev/null && break; sleep 0.1; done
    done
    cat >"$dir/spec.json" <<EOF2
{"name": "crasher", "command": "$TMP/listener", "args": ["$dir/starts", "$RUN_MS"],
 "user": "root", "ports": {"tcp": "auto"}, "start_limit": {"burst": 10, "interval_ms": 10000},
 "checks": [{"role": "readiness", "tcp": "127.0.0.1:\${PORT}", "interval_ms": 100, "timeout_ms": 90}]}
EOF2
    "$BIN" --http "$net.1:$((cg + 1))" run "$dir/spec.json" >/dev/null || { echo "bench: the catalog spec was refused"; return 2; }
    say "$n agents on $net.1-$n; the service runs on the first; $crashes crashes"
    : >"$dir/passing.ms"
    local seen=0
    while [ "$seen" -lt "$crashes" ]; do
        # wait for the next crash and its replacement's pid
        local c_ns p_new all t_ns deadline=$(( $(date +%s) + 30 ))
        while :; do
            c_ns=$(awk '/^crash/ {k++; if (k == '"$((seen + 1))"') print $2}' "$dir/starts")
            p_new=$(awk '/^start/ {k++; if (k == '"$((seen + 2))"') print $3}' "$dir/starts")
            [ -n "$c_ns" ] && [ -n "$p_new" ] && break
            [ "$(date +%s)" -gt "$deadline" ] && { echo "bench: no crash/replacement seen"; return 1; }
            sleep 0.005
        done
        while :; do
            all=$(curl -s "${urls[@]}" | jq -s --arg p "$p_new" \
                '[.[] | any(.[]; .status == "passing" and .service.meta.pid == $p)] | all')
            t_ns=$(date +%s%N)
            [ "$all" = true ] && break
            [ "$(date +%s)" -gt "$deadline" ] && { echo "bench: the replacement $p_new is not passing everywhere"; return 1; }
        done
        echo $(( (t_ns - c_ns) / 1000000 )) >>"$dir/passing.ms"
        seen=$((seen + 1))
    done
    sort -n "$dir/passing.ms" >"$dir/passing.sorted"
    pass_med=$(pct "$dir/passing.sorted" 50)
    pass_p99=$(pct "$dir/passing.sorted" 99)
    echo "crash -> replacement passing in the catalog of all $n agents, over $crashes crashes (ms): median $pass_med, p99 $pass_p99"
    "$BIN" --http "$net.1:$((cg + 1))" rm crasher >/dev/null 2>&1
    return 0
}

pass_med=""
if "$BIN" agent --help 2>&1 | grep -q -- '--enable-exec-checks'; then
    catalog_bench || exit 1
else
    echo "(this build has no catalog: crash to passing not measured)"
fi

ok=1
floor() { # description condition
    if awk "BEGIN {exit !($2)}"; then echo "floor met:    $1"; else echo "floor MISSED: $1"; ok=0; fi
}
floor "crash to running no slower than runsv (median $troupe_med <= $runsv_med us)" \
    "$troupe_med <= $runsv_med"
floor "crash to running under 1/10 of supervisord (median $troupe_med < $supervisord_med / 10 us)" \
    "$troupe_med * 10 < $supervisord_med"
if [ -n "$pass_med" ]; then
    floor "crash to passing in the catalog of all $AGENTS agents under 1 s (median $pass_med ms)" \
        "$pass_med < 1000"
fi
[ $ok = 1 ]
