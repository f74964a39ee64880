#!/bin/bash
# Soak: a chaos run against real agents. SOAK_HOSTS (5) agents in network
# namespaces, gossip encrypted; for SECONDS (first argument, or
# SOAK_SECONDS, 600) a writer registers and deregisters instances and
# writes and deletes KV keys through random agents, recording every
# operation with its time and whether it was acknowledged, while a nemesis
# kills agents (-9) and starts them again from their data dir, freezes
# them (SIGSTOP), cuts them off (packets dropped both ways) and makes
# their links lossy. Loss: netem where the kernel has it, else the link
# is cut for random 100 ms slices (about a fifth of the time).
#
# After the run every fault is undone and the checker asks each agent for
# what it holds: every acknowledged registration, deregistration, write
# and delete must show as the last one of its key says (an operation whose
# answer never came may have happened or not), the digests must agree
# within 2 minutes, and every agent the nemesis did not kill must still
# run. Every agent has the same join list, its own address included (one
# config for all machines), at its first start and when it is started
# again after a kill. One summary line: operations, faults by kind, lost,
# resurrected, time to agree after the heal.
# usage: tests/soak/soak.sh [SECONDS]   (root; make soak)
. "$(dirname "$0")/../integration/lib.sh"
DURATION=${1:-${SOAK_SECONDS:-600}}
HOSTS=${SOAK_HOSTS:-5}
SOAK=$TMP/soak
mkdir -p "$SOAK"
: >"$SOAK/faulted"
KEY=$("$BIN" keygen)
FLAGS=(--encrypt "$KEY" --gc-interval-ms 2000)
# one join list for every agent, its own address in it
for j in $(seq 1 "$HOSTS"); do FLAGS+=(--join "10.77.0.$j"); done
net_up "$HOSTS"
for i in $(seq 1 "$HOSTS"); do start "$i" "${FLAGS[@]}"; done
for i in $(seq 1 "$HOSTS"); do wait_until 30 "h$i sees $HOSTS alive" sees_count "$i" alive "$HOSTS"; done
declare -A FAULTS=([kill]=0 [freeze]=0 [partition]=0 [loss]=0)
LOSS_BY=slices
ip netns exec "$(ns 1)" tc qdisc add dev eth0 root netem loss 1% 2>/dev/null &&
    ip netns exec "$(ns 1)" tc qdisc del dev eth0 root && LOSS_BY=netem
now_s() { date +%s; }
END=$(($(now_s) + DURATION))

# ---- the writer: one operation at a time through a random agent ----
# a line of $SOAK/ops: TIME_NS HOST OP NAME VALUE ok|maybe
writer() {
    local seq=0 i op name val rc
    while [ "$(now_s)" -lt "$END" ]; do
        i=$((RANDOM % HOSTS + 1))
        grep -qx "$i" "$SOAK/faulted" && { sleep 0.05; continue; }
        seq=$((seq + 1))
        case $((RANDOM % 4)) in
        0) op=reg name="s$i-$((RANDOM % 6))" val=-
           api_rc "$i" PUT /v1/agent/service/register \
               -d "{\"name\": \"soak\", \"id\": \"$name\", \"port\": 80}" ;;
        1) op=dereg name="s$i-$((RANDOM % 6))" val=-
           api_rc "$i" PUT "/v1/agent/service/deregister/$name" ;;
        2) op=put name="soak/k$((RANDOM % 12))" val="v$seq-h$i"
           api_rc "$i" PUT "/v1/kv/$name" -d "$val" ;;
        *) op=del name="soak/k$((RANDOM % 12))" val=-
           api_rc "$i" DELETE "/v1/kv/$name" ;;
        esac
        rc=$?
        case $rc in
        0) echo "$(date +%s%N) $i $op $name $val ok" >>"$SOAK/ops" ;;
        22) ;; # refused (deregistering what is not there): nothing happened
        *) echo "$(date +%s%N) $i $op $name $val maybe" >>"$SOAK/ops" ;;
        esac
        sleep 0.05
    done
}
# api_rc I METHOD PATH [curl args]: curl's exit code, 2 s at most
api_rc() {
    local i=$1 m=$2 p=$3
    shift 3
    ip netns exec "$(ns "$i")" curl -sf -o /dev/null --max-time 2 -X "$m" \
        "http://127.0.0.1:7421$p" "$@"
}

# ---- the nemesis: one fault at a time, each undone before the next ----
lossy() { # I SECONDS: hI's links drop packets
    local i=$1 until=$(($(now_s) + $2)) j
    if [ $LOSS_BY = netem ]; then
        ip netns exec "$(ns "$i")" tc qdisc add dev eth0 root netem loss 20%
        sleep "$2"
        ip netns exec "$(ns "$i")" tc qdisc del dev eth0 root
        return
    fi
    while [ "$(now_s)" -lt "$until" ]; do
        if [ $((RANDOM % 5)) = 0 ]; then
            for j in $(seq 1 "$HOSTS"); do [ "$j" != "$i" ] && cut_link "$i" "$j"; done
            sleep 0.1
            for j in $(seq 1 "$HOSTS"); do [ "$j" != "$i" ] && heal_link "$i" "$j"; done
        else
            sleep 0.1
        fi
    done
}
fault() {
    local i=$((RANDOM % HOSTS + 1)) d=$((5 + RANDOM % 16)) j kinds=(kill freeze partition loss)
    local kind=${kinds[$((RANDOM % 4))]}
    FAULTS[$kind]=$((FAULTS[$kind] + 1))
    echo "$i" >"$SOAK/faulted"
    echo "$(date +%s%N) $kind h$i ${d}s" >>"$SOAK/faults"
    say "nemesis: $kind h$i for ${d}s"
    case $kind in
    kill)
        kill -9 "${PID[$i]}"
        wait "${PID[$i]}" 2>/dev/null
        sleep "$d"
        start "$i" "${FLAGS[@]}" ;;
    freeze)
        kill -STOP "${PID[$i]}"; sleep "$d"; kill -CONT "${PID[$i]}" ;;
    partition)
        for j in $(seq 1 "$HOSTS"); do [ "$j" != "$i" ] && cut_link "$i" "$j"; done
        sleep "$d"
        for j in $(seq 1 "$HOSTS"); do [ "$j" != "$i" ] && heal_link "$i" "$j"; done ;;
    loss)
        lossy "$i" "$d" ;;
    esac
    : >"$SOAK/faulted"
}

say "soak: $HOSTS agents for ${DURATION}s (loss by $LOSS_BY)"
writer &
WRITER=$!
while [ $(($(now_s) + 10)) -lt "$END" ]; do
    sleep $((2 + RANDOM % 6))
    [ $(($(now_s) + 10)) -lt "$END" ] && fault
done
wait "$WRITER"

# ---- heal, then check ----
for i in $(seq 1 "$HOSTS"); do
    kill -0 "${PID[$i]}" 2>/dev/null || fail "h$i is no longer running: it crashed"
done
heal_s=$(date +%s%N)
for i in $(seq 1 "$HOSTS"); do
    wait_until 60 "h$i sees $HOSTS alive" sees_count "$i" alive "$HOSTS"
done
wait_until 120 "the same digest everywhere" same_digest $(seq 1 "$HOSTS")
agree_ms=$((($(date +%s%N) - heal_s) / 1000000))
for i in $(seq 1 "$HOSTS"); do
    api "$i" GET /v1/catalog/service/soak >"$SOAK/svc-h$i.json" || echo '[]' >"$SOAK/svc-h$i.json"
    api "$i" GET "/v1/kv/soak/?recurse" >"$SOAK/kv-h$i.json" || echo '[]' >"$SOAK/kv-h$i.json"
done
python3 - "$SOAK" "$HOSTS" "$agree_ms" "${FAULTS[kill]}" "${FAULTS[freeze]}" \
    "${FAULTS[partition]}" "${FAULTS[loss]}" <<'EOF' || fail "the agents do not hold what was acknowledged"
import base64, json, sys
soak, hosts, agree_ms = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
kills, freezes, parts, losses = sys.argv[4:8]
ops = []
try:
    for line in open(f"{soak}/ops"):
        t, h, op, name, val, ack = line.split()
        ops.append((int(t), op, name, val, ack))
except FileNotFoundError:
    pass
ops.sort()
# per key: the outcomes allowed at the end (None: absent)
allowed = {}
for t, op, name, val, ack in ops:
    out = {"reg": "present", "dereg": None, "put": val, "del": None}[op]
    if ack == "ok":
        allowed[name] = {out}
    else:
        allowed.setdefault(name, {None}).add(out)
lost = resurrected = 0
for i in range(1, hosts + 1):
    svc = {x.get("id") or x.get("ID") for x in json.load(open(f"{soak}/svc-h{i}.json"))}
    kv = {}
    for x in json.load(open(f"{soak}/kv-h{i}.json")):
        v = x.get("value", x.get("Value"))
        if v is not None and x.get("encoding") != "utf8":
            try:
                v = base64.b64decode(v).decode()
            except Exception:
                pass
        kv[x.get("key", x.get("Key"))] = v
    for name, ok in allowed.items():
        have = ("present" if name in svc else None) if not name.startswith("soak/") \
            else kv.get(name)
        if have in ok:
            continue
        if have is not None and ok == {None}:
            resurrected += 1
            print(f"h{i}: {name} is back ({have!r}) after its acknowledged delete")
        else:
            lost += 1
            print(f"h{i}: {name} holds {have!r}, acknowledged: {sorted(map(str, ok))}")
n = {k: sum(1 for o in ops if o[1] == k) for k in ("reg", "dereg", "put", "del")}
maybe = sum(1 for o in ops if o[4] == "maybe")
print(f"soak: {len(ops)} operations ({n['reg']} registrations, {n['dereg']} deregistrations, "
      f"{n['put']} KV writes, {n['del']} KV deletes; {maybe} unanswered); faults: {kills} kill -9 "
      f"and restart, {freezes} freezes, {parts} partitions, {losses} lossy links; "
      f"lost {lost}, resurrected {resurrected}; agreed {agree_ms / 1000:.1f} s after the heal")
sys.exit(1 if lost or resurrected else 0)
EOF
