#!/bin/bash
# membership: troupe against Serf, N agents of each on loopback in the same
# run, both at their default settings (troupe's `lan` profile, Serf's LAN
# profile). Every round it measures, for each of the two:
#   - failure: from a `kill -9` of one agent until every other agent sees it
#     dead (troupe) / failed (Serf);
#   - join: from the start of a new agent (joining through one member) until
#     every other agent sees it alive (troupe) / joined (Serf);
#   - the mean resident memory (VmRSS) of an agent;
#   - false deaths: one agent is frozen with SIGSTOP for FREEZE_S seconds,
#     then resumed; no agent may declare any live agent dead.
# It prints each round, then the medians, the ratios troupe/Serf and the
# floors; it exits 1 when troupe misses a floor.
#
# How it observes: troupe through its HTTP API (GET /v1/members on every
# agent, one curl for all, in a tight loop whose period is printed) until
# every agent shows the change, then the time each agent logged it (its log
# lines carry milliseconds), so the figure does not depend on the poll
# period; its logs also show false deaths. Serf through an event handler
# that stamps each member-join / member-failed event with the time it runs.
# Each agent has a loopback address of its own (troupe 127.0.1.I, Serf
# 127.0.2.I), with its HTTP API and DNS server (troupe) or RPC (Serf) on it. Memory is VmRSS from /proc/PID/status,
# the anonymous part (RssAnon) beside it, and where one troupe agent's
# resident memory lies, mapping by mapping.
#
# usage: bench/membership.sh   (environment: TROUPE_BIN, SERF_BIN, N=20,
#        ROUNDS=5, FREEZE_S=3, LIMIT_S=60: one measurement gives up after it)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
SERF=${SERF_BIN:-$(command -v serf || true)}
N=${N:-20}
ROUNDS=${ROUNDS:-5}
FREEZE_S=${FREEZE_S:-3}
WATCH_S=${WATCH_S:-10} # how long after the resume false deaths are looked for
LIMIT_S=${LIMIT_S:-60}
TMP=$(mktemp -d /tmp/troupe-bench.XXXXXX)
declare -A PID

cleanup() {
    local rc=$? p
    {
        for p in "${PID[@]}"; do kill -9 "$p"; done
        wait
    } 2>/dev/null
    rm -rf "$TMP"
    exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM

die() {
    echo "membership: $*" >&2
    exit 2
}

[ -x "$BIN" ] || die "no troupe binary at $BIN (build first, or set TROUPE_BIN)"
[ -n "$SERF" ] && [ -x "$SERF" ] || die "serf is not installed (scripts/deps installs it)"
command -v curl >/dev/null || die "curl is not installed (scripts/deps installs it)"
[ "$N" -ge 4 ] && [ "$ROUNDS" -ge 1 ] && [ "$ROUNDS" -le $((N - 3)) ] ||
    die "N must be at least 4 and ROUNDS between 1 and N-3"

now() { echo "$EPOCHREALTIME"; }
ms_since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%d\n", (b - a) * 1000 }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (!NR) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%d\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# Ports: not the daemons' defaults (7420/7421/7453, 7946/7373), which an
# agent running on this machine may hold on every address; ports change
# nothing in how either protocol behaves.
T_GOSSIP=27420 T_HTTP=27421 T_DNS=27453 S_GOSSIP=27946 S_RPC=27373
tip() { echo "127.0.1.$1"; } # troupe agent I's address
sip() { echo "127.0.2.$1"; } # Serf agent I's address

# ---- starting agents ----

start_troupe() { # I [JOIN_I]
    local i=$1 join=()
    [ $# -gt 1 ] && join=(--join "$(tip "$2"):$T_GOSSIP")
    "$BIN" agent --node "t$i" --bind "$(tip "$i"):$T_GOSSIP" --http "$(tip "$i"):$T_HTTP" --http-insecure \
        --dns "$(tip "$i"):$T_DNS" --data-dir "$TMP/t$i" "${join[@]}" >>"$TMP/t$i.log" 2>&1 &
    PID[t$i]=$!
}

# Serf runs this on every member-join and member-failed event: one line per
# member of the event, stamped with the time the handler ran.
cat >"$TMP/serf-handler" <<EOF
#!/bin/bash
while read -r name _; do echo "\$EPOCHREALTIME \$SERF_EVENT \$name"; done >>"$TMP/ev-\$SERF_SELF_NAME.log"
EOF
chmod +x "$TMP/serf-handler"

start_serf() { # I [JOIN_I]
    local i=$1 join=()
    [ $# -gt 1 ] && join=(-join "$(sip "$2"):$S_GOSSIP")
    "$SERF" agent -node "s$i" -bind "$(sip "$i"):$S_GOSSIP" -rpc-addr "$(sip "$i"):$S_RPC" \
        -event-handler "member-join,member-failed=$TMP/serf-handler" \
        "${join[@]}" >>"$TMP/s$i.log" 2>&1 &
    PID[s$i]=$!
}

port_free() { # ADDR PORT
    ! (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# ---- observing ----

# How many of the troupe agents I... list NAME with STATUS, one HTTP request
# each, all in one curl.
t_seen() { # NAME STATUS I...
    local name=$1 st=$2 i urls=()
    shift 2
    for i in "$@"; do urls+=("http://$(tip "$i"):$T_HTTP/v1/members"); done
    curl -s --max-time 2 "${urls[@]}" | grep -c "\"name\":\"$name\"[^}]*\"status\":\"$st\""
}

# How many of the Serf agents I... logged EVENT about NAME at or after T0, and
# the time of the last of them: "COUNT LAST".
s_seen() { # EVENT NAME T0 I...
    local ev=$1 name=$2 t0=$3 i files=()
    shift 3
    for i in "$@"; do
        [ -f "$TMP/ev-s$i.log" ] && files+=("$TMP/ev-s$i.log")
    done
    [ ${#files[@]} -gt 0 ] || { echo "0 0"; return; }
    awk -v ev="$ev" -v n="$name" -v t0="$t0" '
        $2 == ev && $3 == n && $1 >= t0 && !(FILENAME in got) { got[FILENAME] = 1; c++; if ($1 > last) last = $1 }
        END { printf "%d %s\n", c, last ? last : 0 }' "${files[@]}"
}

# Polls troupe agents I... until all list NAME with STATUS; prints the ms
# since T0 at the end of the poll that saw it, or "timeout".
t_wait() { # NAME STATUS T0 I...
    local name=$1 st=$2 t0=$3 p
    shift 3
    while :; do
        p=$(now)
        if [ "$(t_seen "$name" "$st" "$@")" -ge $# ]; then
            ms_since "$p" >>"$TMP/polls"
            ms_since "$t0"
            return
        fi
        ms_since "$p" >>"$TMP/polls"
        [ "$(ms_since "$t0")" -lt $((LIMIT_S * 1000)) ] || { echo timeout; return; }
        sleep 0.01
    done
}

# Waits until Serf agents I... logged EVENT about NAME since T0; prints the
# ms from T0 to the last of those events, or "timeout".
s_wait() { # EVENT NAME T0 I...
    local ev=$1 name=$2 t0=$3 r
    shift 3
    while :; do
        r=$(s_seen "$ev" "$name" "$t0" "$@")
        if [ "${r%% *}" -ge $# ]; then
            awk -v a="$t0" -v b="${r#* }" 'BEGIN { printf "%d\n", (b - a) * 1000 }'
            return
        fi
        [ "$(ms_since "$t0")" -lt $((LIMIT_S * 1000)) ] || { echo timeout; return; }
        sleep 0.05
    done
}

# When troupe agents I... logged "NAME WHAT": ms from T0 to the last of
# their latest such lines (the log stamps are UTC to the millisecond), or
# nothing when an agent has no such line after T0.
t_logged_ms() { # NAME WHAT T0 I...
    local name=$1 what=$2 t0=$3 i line last=$3 e
    shift 3
    for i in "$@"; do
        line=$(grep -h "\] $name $what" "$TMP/t$i.log" | tail -n 1)
        [ -n "$line" ] || return 0
        e=$(date -d "${line%% *}" +%s.%N) || return 0
        awk -v e="$e" -v t0="$t0" 'BEGIN { exit !(e >= t0) }' || return 0
        last=$(awk -v a="$last" -v b="$e" 'BEGIN { print (b > a) ? b : a }')
    done
    awk -v a="$t0" -v b="$last" 'BEGIN { printf "%d\n", (b - a) * 1000 }'
}

mean_rss_kib() { # FIELD PID...: the mean of /proc/PID/status FIELD (VmRSS, RssAnon)
    local f=$1 p sum=0 n=0 kb
    shift
    for p in "$@"; do
        kb=$(awk -v f="$f:" '$1 == f { print $2 }' "/proc/$p/status" 2>/dev/null) || continue
        [ -n "$kb" ] || continue
        sum=$((sum + kb)) n=$((n + 1))
    done
    [ $n -gt 0 ] && echo $((sum / n)) || echo 0
}

# Dead declarations about NAME in troupe logs, and member-failed events about
# it in Serf handler logs; counted over all agents' files.
t_deaths() { cat "$TMP"/t*.log 2>/dev/null | grep -c "\] $1 is dead" || true; }
t_suspicions() { cat "$TMP"/t*.log 2>/dev/null | grep -c "\] $1 is suspect" || true; }
s_deaths() { cat "$TMP"/ev-*.log 2>/dev/null | grep -c " member-failed $1\$" || true; }

except() { # X I...: the list without X
    local x=$1 i
    shift
    for i in "$@"; do [ "$i" = "$x" ] || echo "$i"; done
}

# ---- the run ----

for i in $(seq 1 $((N + ROUNDS))); do
    port_free "$(tip "$i")" "$T_GOSSIP" && port_free "$(tip "$i")" "$T_HTTP" && port_free "$(tip "$i")" "$T_DNS" &&
        port_free "$(sip "$i")" "$S_GOSSIP" && port_free "$(sip "$i")" "$S_RPC" ||
        die "a port on $(tip "$i") or $(sip "$i") is taken: is another benchmark running?"
done

say "membership: $N troupe agents ($(tip 1)-$N, profile lan) and $N Serf agents ($(sip 1)-$N, profile lan), $ROUNDS rounds"
say "troupe: $BIN; serf: $SERF ($("$SERF" version | head -1))"
start_troupe 1
start_serf 1
sleep 0.5
for i in $(seq 2 "$N"); do
    start_troupe "$i" 1
    start_serf "$i" 1
done
T_LIVE=($(seq 1 "$N"))
S_LIVE=($(seq 1 "$N"))

t0=$(now)
for i in "${T_LIVE[@]}"; do
    r=$(t_wait "t$i" alive "$t0" "${T_LIVE[@]}")
    [ "$r" != timeout ] || die "the troupe cluster did not form: t$i is not alive everywhere"
done
say "troupe: all $N agents see all $N alive ($(ms_since "$t0") ms)"
for i in "${S_LIVE[@]}"; do
    while [ "$("$SERF" members -rpc-addr "$(sip "$i"):$S_RPC" -status alive 2>/dev/null | wc -l)" -lt "$N" ]; do
        [ "$(ms_since "$t0")" -lt $((LIMIT_S * 1000)) ] || die "the Serf cluster did not form: s$i sees fewer than $N alive"
        sleep 0.2
    done
done
say "serf: all $N agents see all $N alive ($(ms_since "$t0") ms)"
sleep 2

T_FAIL=() S_FAIL=() T_JOIN=() S_JOIN=() T_RSS=() S_RSS=() T_ANON=() S_ANON=()
T_FALSE=0 S_FALSE=0 T_SUSP=0 TIMEOUTS=0
for r in $(seq 1 "$ROUNDS"); do
    # -- a frozen agent must not be declared dead, nor declare others dead --
    ft=${T_LIVE[2]} fs=${S_LIVE[2]}
    declare -A before=()
    for i in "${T_LIVE[@]}"; do before[t$i]=$(t_deaths "t$i"); done
    for i in "${S_LIVE[@]}"; do before[s$i]=$(s_deaths "s$i"); done
    susp0=$(t_suspicions "t$ft")
    kill -STOP "${PID[t$ft]}" "${PID[s$fs]}"
    sleep "$FREEZE_S"
    kill -CONT "${PID[t$ft]}" "${PID[s$fs]}"
    sleep "$WATCH_S"
    tf=0 sf=0
    for i in "${T_LIVE[@]}"; do tf=$((tf + $(t_deaths "t$i") - before[t$i])); done
    for i in "${S_LIVE[@]}"; do sf=$((sf + $(s_deaths "s$i") - before[s$i])); done
    susp=$(($(t_suspicions "t$ft") - susp0))
    T_FALSE=$((T_FALSE + tf)) S_FALSE=$((S_FALSE + sf)) T_SUSP=$((T_SUSP + susp))
    t0=$(now)
    [ "$(t_wait "t$ft" alive "$t0" "${T_LIVE[@]}")" != timeout ] || die "t$ft is not alive everywhere after its freeze"

    # -- failure: kill -9 --
    vt=${T_LIVE[1]} vs=${S_LIVE[1]}
    mapfile -t T_LIVE < <(except "$vt" "${T_LIVE[@]}")
    mapfile -t S_LIVE < <(except "$vs" "${S_LIVE[@]}")
    t0=$(now)
    kill -9 "${PID[t$vt]}"
    wait "${PID[t$vt]}" 2>/dev/null
    tfail=$(t_wait "t$vt" dead "$t0" "${T_LIVE[@]}")
    [ "$tfail" = timeout ] || tfail=$(t_logged_ms "t$vt" "is dead" "$t0" "${T_LIVE[@]}" | grep . || echo "$tfail")
    sleep 1
    t0=$(now)
    kill -9 "${PID[s$vs]}"
    wait "${PID[s$vs]}" 2>/dev/null
    sfail=$(s_wait member-failed "s$vs" "$t0" "${S_LIVE[@]}")
    unset "PID[t$vt]" "PID[s$vs]"
    sleep 1

    # -- join of a new agent through agent 1 --
    j=$((N + r))
    t0=$(now)
    start_troupe "$j" 1
    tjoin=$(t_wait "t$j" alive "$t0" "${T_LIVE[@]}")
    [ "$tjoin" = timeout ] || tjoin=$(t_logged_ms "t$j" "joined at" "$t0" "${T_LIVE[@]}" | grep . || echo "$tjoin")
    T_LIVE+=("$j")
    sleep 1
    t0=$(now)
    start_serf "$j" 1
    sjoin=$(s_wait member-join "s$j" "$t0" "${S_LIVE[@]}")
    S_LIVE+=("$j")
    sleep 2

    # -- memory --
    tpids=$(for i in "${T_LIVE[@]}"; do echo "${PID[t$i]}"; done)
    spids=$(for i in "${S_LIVE[@]}"; do echo "${PID[s$i]}"; done)
    trss=$(mean_rss_kib VmRSS $tpids) srss=$(mean_rss_kib VmRSS $spids)
    T_ANON+=("$(mean_rss_kib RssAnon $tpids)") S_ANON+=("$(mean_rss_kib RssAnon $spids)")

    for v in "$tfail" "$sfail" "$tjoin" "$sjoin"; do [ "$v" != timeout ] || TIMEOUTS=$((TIMEOUTS + 1)); done
    [ "$tfail" = timeout ] && tfail=$((LIMIT_S * 1000))
    [ "$sfail" = timeout ] && sfail=$((LIMIT_S * 1000))
    [ "$tjoin" = timeout ] && tjoin=$((LIMIT_S * 1000))
    [ "$sjoin" = timeout ] && sjoin=$((LIMIT_S * 1000))
    T_FAIL+=("$tfail") S_FAIL+=("$sfail") T_JOIN+=("$tjoin") S_JOIN+=("$sjoin")
    T_RSS+=("$trss") S_RSS+=("$srss")
    say "round $r: failure seen by all: troupe $tfail ms, serf $sfail ms; join seen by all: troupe $tjoin ms, serf $sjoin ms; RSS: troupe $trss KiB, serf $srss KiB; freeze ${FREEZE_S}s of t$ft/s$fs: false deaths troupe $tf (t$ft suspected $susp times), serf $sf"
done

med() { printf '%s\n' "$@" | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
tf=$(med "${T_FAIL[@]}") sf=$(med "${S_FAIL[@]}")
tj=$(med "${T_JOIN[@]}") sj=$(med "${S_JOIN[@]}")
tr=$(med "${T_RSS[@]}") sr=$(med "${S_RSS[@]}")
rf=$(ratio "$tf" "$sf") rj=$(ratio "$tj" "$sj") rr=$(ratio "$tr" "$sr")

floor() { # RATIO MAX: "met" or "MISSED"
    awk -v r="$1" -v m="$2" 'BEGIN { print (r != "n/a" && r <= m) ? "met" : "MISSED" }'
}
ff=$(floor "$rf" 0.8) fj=$(floor "$rj" 1.0) fr=$(floor "$rr" 0.25)
fd=$([ "$T_FALSE" -eq 0 ] && echo met || echo MISSED)
ok=1
case "$ff $fj $fr $fd" in *MISSED*) ok=0 ;; esac
[ "$TIMEOUTS" -eq 0 ] || ok=0

echo
echo "membership: medians of $ROUNDS rounds, $N agents each, default profiles"
printf '%-30s %10s %10s %12s   %s\n' "" troupe serf troupe/serf "floor"
printf '%-30s %10s %10s %12s   %s\n' "failure seen by all (ms)" "$tf" "$sf" "$rf" "<= 0.80: $ff"
printf '%-30s %10s %10s %12s   %s\n' "join seen by all (ms)" "$tj" "$sj" "$rj" "<= 1.00: $fj"
printf '%-30s %10s %10s %12s   %s\n' "RSS per agent (KiB)" "$tr" "$sr" "$rr" "<= 0.25: $fr"
ta=$(med "${T_ANON[@]}") sa=$(med "${S_ANON[@]}")
printf '%-30s %10s %10s %12s   %s\n' "  of which anonymous (KiB)" "$ta" "$sa" "$(ratio "$ta" "$sa")" "(not a floor)"
printf '%-30s %10s %10s %12s   %s\n' "false deaths, ${FREEZE_S}s freeze x$ROUNDS" "$T_FALSE" "$S_FALSE" "" "troupe 0: $fd"
echo "per round: troupe failure ${T_FAIL[*]}; serf failure ${S_FAIL[*]}; troupe join ${T_JOIN[*]}; serf join ${S_JOIN[*]} (ms)"
awk -v s="$T_SUSP" '{ n++; t += $1 } END { printf "troupe: times from each agent'"'"'s log stamp of the event; %d polls of every agent'"'"'s /v1/members (%d ms each, 10 ms apart) said when all had it; frozen agents were suspected %d times in all\n", n, n ? t / n : 0, s }' "$TMP/polls"
# where one agent's resident memory is: its largest mappings (see docs/memory.md)
by_mapping() { # WHO PID
    awk '/^[0-9a-f]+-[0-9a-f]+ / { name = $6 ? $6 : "[anonymous]"; sub(".*/", "", name) }
         /^Rss:/ { rss[name] += $2 }
         END { for (n in rss) if (rss[n] >= 100) printf "%d %s\n", rss[n], n }' \
        "/proc/$2/smaps" 2>/dev/null | sort -rn | head -n 12 |
        awk -v who="$1" '{ s = s sep $2 " " $1; sep = ", " } END { if (s) print who " agent RSS by mapping (KiB): " s }'
}
by_mapping troupe "${PID[t${T_LIVE[0]}]}"
by_mapping serf "${PID[s${S_LIVE[0]}]}"
[ "$TIMEOUTS" -eq 0 ] || echo "$TIMEOUTS measurements gave up after ${LIMIT_S}s (counted as ${LIMIT_S}s)"
if [ $ok -eq 1 ]; then echo "membership: troupe meets every floor"; else echo "membership: troupe misses a floor"; fi
[ $ok -eq 1 ]
