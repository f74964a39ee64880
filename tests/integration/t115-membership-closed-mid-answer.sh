#!/bin/bash
# Peers that go away in the middle of an answer, on every TCP path of the
# agent (cut_conns.py): a large API answer (an 800 KB KV listing), DNS over
# TCP (100 pipelined SRV answers of 100 instances), a catalog sync stream
# (every record, about 700 KB) and a gossip frame cut short; each cut
# before the agent answers (half-close and reset), mid-answer with a reset,
# and mid-answer with a half-close then a reset. A write after a peer
# reset a half-closed connection raises SIGPIPE: the agent ignores it, so
# the write fails on its own connection, and after every path the agent
# still runs, answers on that path and stays in the cluster. Then the
# agent fetches a bundle from a mirror that cuts the connection before
# reading the request and half way through the bundle: each fetch fails
# with an error, and a fetch from the whole mirror afterwards works.
# Without `signal(SIGPIPE, SIG_IGN)` in the agent, the first path kills it
# (exit 141).
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || { echo "needs python3"; exit 77; }
command -v dig >/dev/null || { echo "needs dig (scripts/deps)"; exit 77; }
CUT=$SRC/tests/integration/cut_conns.py
trust_workdir
net_up 2

say "a trust repository with a 3 MB bundle, served by a mirror in h1's namespace that can cut"
"$BIN" trust init repo --passphrase-file pass >/dev/null || fail "trust init"
mkdir -p app && printf '#!/bin/sh\necho hello\n' >app/run && chmod 755 app/run
head -c 3000000 /dev/urandom >app/blob
"$BIN" bundle build app --name web --version 1.0 -o web1.tar.zst >/dev/null || fail "bundle build"
"$BIN" trust add repo web1.tar.zst >/dev/null && "$BIN" trust publish repo >/dev/null ||
    fail "trust add and publish"
echo ok >mirror.mode
ip netns exec "$(ns 1)" python3 "$CUT" mirror 8088 "$TMP/repo/repository" "$TMP/mirror.mode" \
    >mirror.log 2>&1 &
PID[mirror]=$!
wait_until 10 "the mirror listens" ip netns exec "$(ns 1)" bash -c 'exec 3<>/dev/tcp/127.0.0.1/8088'

start 1 --join 10.77.0.1 --trust-repo http://127.0.0.1:8088/ --trust-root "$TMP/repo/repository/root.json"
start 2 --join 10.77.0.1
for i in 1 2; do wait_until 15 "h$i sees 2 alive" sees_count "$i" alive 2; done

say "600 keys of 1 KiB and 100 instances of big on h1"
v=$(head -c 1024 /dev/zero | tr '\0' x)
# one curl for the keys (a URL range), one for the instances (--next, which
# drops the curlrc's token header: each says it again)
api 1 PUT "/v1/kv/big/[1-600]" --data-binary "$v" -o /dev/null || fail "put the 600 keys"
regs=()
for k in $(seq 1 100); do
    regs+=(--next -sf -o /dev/null -H "X-Troupe-Token: $TEST_TOKEN" -X PUT
        http://127.0.0.1:7421/v1/agent/service/register
        -d "{\"name\": \"big\", \"id\": \"big-$k\", \"port\": $k, \"address\": \"10.78.0.$k\"}")
done
api 1 GET /v1/self -o /dev/null "${regs[@]}" || fail "register the 100 instances of big"
big_srv() { # I: SRV records of big that hI's DNS answers over TCP
    ip netns exec "$(ns "$1")" dig -p 7453 @127.0.0.1 +tcp +time=5 +tries=1 +short \
        _big._tcp.service.troupe SRV | wc -l
}
has_big() { [ "$(big_srv 1)" = 100 ]; }
wait_until 10 "h1's DNS answers 100 SRV of big" has_big
keys() { api "$1" GET "/v1/kv/big/?recurse" | jq length; }
has_keys() { [ "$(keys "$1")" = 600 ]; }
wait_until 30 "h2 holds the 600 keys" has_keys 2

alive() { # WHAT: h1 still runs
    kill -0 "${PID[1]}" 2>/dev/null && return
    wait "${PID[1]}"
    fail "h1 died after $1 (exit $?: 141 is SIGPIPE)"
}
cut_conns() { # KIND HOST PORT [FROM]: 10 rounds of cut connections, from hFROM's namespace (1)
    say "10 rounds of $1 connections cut early, mid-answer, and half-closed mid-answer"
    ip netns exec "$(ns "${4:-1}")" python3 "$CUT" client "$1" "$2" "$3" 10 ||
        { alive "cut $1 connections"; fail "cut_conns.py $1 failed"; }
    alive "cut $1 connections"
}

cut_conns http 127.0.0.1 7421
[ "$(keys 1)" = 600 ] || fail "h1's API does not answer the listing after the cuts"
say "ok: h1 runs and its API answers"

cut_conns dns 127.0.0.1 7453
[ "$(big_srv 1)" = 100 ] || fail "h1's DNS over TCP does not answer after the cuts"
say "ok: h1 runs and its DNS answers over TCP"

# from h2's address, so that h1 takes the sync for one of h2's
cut_conns gossip 10.77.0.1 7420 2
api 2 PUT /v1/kv/after-cut --data-binary yes >/dev/null || fail "put on h2"
reached() { [ "$(api 1 GET /v1/kv/after-cut?raw)" = yes ]; }
wait_until 15 "a key written on h2 after the cuts reaches h1" reached
wait_until 10 "h1 and h2 still see each other alive" all_see h2 alive 1
wait_until 10 "h2 sees h1 alive" all_see h1 alive 2

fetch() { # prints the HTTP status of a fetch of web@1.0 on h1
    ip netns exec "$(ns 1)" curl -s -o "$TMP/fetch.json" -w '%{http_code}' -X PUT \
        -d '{"bundle": "web@1.0"}' 127.0.0.1:7421/v1/bundle/fetch
}
for mode in early mid; do
    echo $mode >mirror.mode
    for k in 1 2 3 4 5; do
        code=$(fetch)
        [ "$code" = 502 ] || fail "a fetch from a mirror that cuts ($mode) answered $code: $(cat fetch.json)"
        alive "a bundle fetch cut $mode"
    done
    say "ok: 5 fetches cut $mode: 502, $(jq -r .error fetch.json)"
done
grep -q "cut /targets/web@1.0.tar.zst after" mirror.log || fail "the mirror never cut a bundle: $(cat mirror.log)"
echo ok >mirror.mode
code=$(fetch)
[ "$code" = 200 ] && jq -e '.reused == false' fetch.json >/dev/null ||
    fail "a fetch from the whole mirror: $code $(cat fetch.json)"
[ "$(sh "$(jq -r .path fetch.json)/run")" = hello ] || fail "the fetched bundle does not run"
say "ok: h1 runs, and fetches the whole bundle once the mirror serves it whole"
