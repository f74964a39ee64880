#!/bin/bash
# The HTTP API beyond loopback: an address on the network without TLS or
# --http-insecure is refused at start, naming the flags; --http-insecure
# starts with a warning and never maps OpenSSL; with a certificate, curl
# --cacert and the CLI get answers, plain HTTP to the same port gets none,
# a bad certificate or key is refused naming the file, and SIGHUP reads the
# certificate again (a broken one keeps the running one). Consul's API on
# loopback stays plain HTTP beside it.
. "$(dirname "$0")/lib.sh"
net_up 1
IP=10.77.0.1
URL=https://$IP:7421
C=$TMP/pki
mkdir -p "$C"

# a throwaway CA and a server certificate for the host's address
ossl() { openssl "$@" >>"$C/openssl.log" 2>&1 || fail "openssl $1 failed: $(tail -n 3 "$C/openssl.log")"; }
ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
ossl req -x509 "${ec[@]}" -keyout "$C/ca.key" -out "$C/ca.pem" -days 2 -subj /CN=t113-ca
issue() { # issue NAME CN: NAME.pem and NAME.key, signed by the CA, for $IP
    ossl req "${ec[@]}" -keyout "$C/$1.key" -out "$C/$1.csr" -subj "/CN=$2"
    printf 'subjectAltName=IP:%s\n' "$IP" >"$C/ext"
    ossl x509 -req -in "$C/$1.csr" -CA "$C/ca.pem" -CAkey "$C/ca.key" -CAcreateserial \
        -out "$C/$1.pem" -days 2 -extfile "$C/ext"
}
issue server agent-one
say "made a CA and a certificate for $IP"

in_ns() { ip netns exec "$(ns 1)" "$@"; }
agent_flags=(--node h1 --bind "$IP:7420" --data-dir "$TMP/h1" --profile fast --log-level debug
    --dns off)

# refuse I EXPECTED... [-- FLAGS]: the agent exits non-zero at once, its output names each EXPECTED
refused() {
    local out=$TMP/refused.log
    local -a says=()
    while [ "$1" != -- ]; do says+=("$1"); shift; done
    shift
    if in_ns timeout 20 "$BIN" agent "${agent_flags[@]}" "$@" >"$out" 2>&1; then
        fail "the agent started with $*"
    fi
    for s in "${says[@]}"; do
        grep -qF -- "$s" "$out" || fail "refusal of $* does not say \"$s\": $(cat "$out")"
    done
    say "ok: refused $*: $(grep -m1 -E 'troupe agent:|error' "$out" | cut -c1-200)"
}
refused "beyond loopback" --http-tls-cert --http-tls-key --http-insecure -- --http "$IP:7421"
refused "beyond loopback" --http-insecure -- --http "0.0.0.0:7421"

# start_agent NAME FLAGS...: in the background, PID[1]
start_agent() {
    local name=$1
    shift
    # not through in_ns: $! must be the agent (ip netns exec execs it)
    ip netns exec "$(ns 1)" "$BIN" agent "${agent_flags[@]}" "$@" >>"$TMP/$name.log" 2>&1 &
    PID[1]=$!
    say "started $name (pid ${PID[1]}) $*"
}
maps_ssl() {
    grep -q "agent" "/proc/${PID[1]}/cmdline" || fail "pid ${PID[1]} is not the agent"
    grep -cE '/libssl\.so|/libcrypto\.so' "/proc/${PID[1]}/maps"
}
stop_agent() {
    kill -TERM "${PID[1]}"
    wait "${PID[1]}" 2>/dev/null
    unset 'PID[1]'
}

# --http-insecure: starts, warns, serves plain HTTP, never loads OpenSSL
start_agent insecure --http "$IP:7421" --http-insecure
wait_until 20 "the insecure API answers" in_ns curl -sf --max-time 2 "http://$IP:7421/v1/self"
grep -q 'warn .*plain HTTP beyond loopback (--http-insecure)' "$TMP/insecure.log" ||
    fail "no warning about --http-insecure in the log"
[ "$(maps_ssl)" = 0 ] || fail "an agent without TLS mapped OpenSSL: $(grep -E 'ssl|crypto' "/proc/${PID[1]}/maps")"
say "ok: warned, and no libssl or libcrypto in /proc/${PID[1]}/maps"
stop_agent

# certificates and keys that cannot be used: the file and the reason
echo "not a certificate" >"$C/garbage.pem"
tls=(--http "$IP:7421" --http-tls-cert "$C/server.pem" --http-tls-key "$C/server.key")
refused "$C/garbage.pem" "no start line" -- --http "$IP:7421" --http-tls-cert "$C/garbage.pem" \
    --http-tls-key "$C/server.key"
refused "$C/missing.key" "No such file" -- --http "$IP:7421" --http-tls-cert "$C/server.pem" \
    --http-tls-key "$C/missing.key"
issue other other
refused "$C/other.key" "does not match" "$C/server.pem" -- --http "$IP:7421" \
    --http-tls-cert "$C/server.pem" --http-tls-key "$C/other.key"
refused "--http-tls-key" -- --http "$IP:7421" --http-tls-cert "$C/server.pem"

# TLS
start_agent tls "${tls[@]}"
wait_until 20 "the API answers over TLS" in_ns curl -sf --max-time 2 --cacert "$C/ca.pem" "$URL/v1/self"
grep -q "HTTP API on https://$IP:7421" "$TMP/tls.log" || fail "the log does not say https"
[ "$(maps_ssl)" -gt 0 ] || fail "the TLS agent maps no libssl (is it really TLS?)"
name=$(in_ns curl -sf --max-time 5 --cacert "$C/ca.pem" "$URL/v1/self" | jq -r .name)
[ "$name" = h1 ] || fail "GET /v1/self over TLS: name \"$name\""
# a write, then three reads on one kept-alive connection
in_ns curl -sf --max-time 5 --cacert "$C/ca.pem" -X PUT --data-binary "over tls" "$URL/v1/kv/t113" >/dev/null ||
    fail "PUT /v1/kv over TLS"
out=$(in_ns curl -s --max-time 5 --cacert "$C/ca.pem" -w '\n%{http_code} %{num_connects}\n' \
    "$URL/v1/kv/t113?raw" "$URL/v1/kv/t113?raw" "$URL/v1/kv/t113?raw")
[ "$(echo "$out" | grep -c '^over tls$')" = 3 ] && [ "$(echo "$out" | grep -c '^200 [01]$')" = 3 ] &&
    [ "$(echo "$out" | awk '/^200 /{n+=$2} END{print n}')" = 1 ] ||
    fail "three reads on one connection: $out"
say "ok: curl --cacert reads and writes, three requests on one connection"
# a body larger than a TLS record (16 KiB) both ways
head -c 48000 /dev/urandom | base64 -w0 >"$TMP/big"
in_ns curl -sf --max-time 5 --cacert "$C/ca.pem" -X PUT --data-binary @"$TMP/big" "$URL/v1/kv/big" >/dev/null ||
    fail "PUT of 64 KB over TLS"
in_ns curl -sf --max-time 5 --cacert "$C/ca.pem" "$URL/v1/kv/big?raw" | cmp -s - "$TMP/big" ||
    fail "the 64 KB value read back over TLS differs"
say "ok: a 64 KB value written and read back over TLS"
# without the CA, curl refuses the agent; plain HTTP gets no answer from the API
in_ns curl -s --max-time 5 -o /dev/null "$URL/v1/self" && fail "curl trusted the agent without --cacert"
code=$(in_ns curl -s --max-time 5 -o /dev/null -w '%{http_code}' "http://$IP:7421/v1/self")
[ "$code" = 000 ] || fail "plain HTTP to the TLS port got an HTTP answer ($code)"
say "ok: no answer to plain HTTP, curl without the CA refuses"
# Consul's API on loopback stays plain HTTP, as Consul's clients expect it
in_ns curl -sf --max-time 5 -H "X-Consul-Token: $TEST_TOKEN" http://127.0.0.1:8500/v1/kv/t113?raw |
    grep -q "over tls" || fail "Consul's API on 127.0.0.1:8500 is not plain HTTP beside a TLS API"
grep -q "Consul's HTTP API on http://127.0.0.1:8500" "$TMP/tls.log" || fail "the log does not say http"
say "ok: Consul's API on loopback speaks plain HTTP beside the TLS API"

# the CLI: an https:// address and the CA from --ca-cert or $TROUPE_CACERT
in_ns "$BIN" --http "$URL" --ca-cert "$C/ca.pem" info >"$TMP/cli.out" 2>&1 ||
    fail "troupe --http $URL --ca-cert: $(cat "$TMP/cli.out")"
grep -q h1 "$TMP/cli.out" || fail "troupe info over TLS: $(cat "$TMP/cli.out")"
in_ns env TROUPE_HTTP_ADDR="$URL" TROUPE_CACERT="$C/ca.pem" "$BIN" kv get t113 >"$TMP/cli.out" 2>&1 ||
    fail "TROUPE_HTTP_ADDR and TROUPE_CACERT: $(cat "$TMP/cli.out")"
grep -q "over tls" "$TMP/cli.out" || fail "troupe kv get over TLS: $(cat "$TMP/cli.out")"
if in_ns "$BIN" --http "$URL" --ca-cert "$C/other.pem" info >"$TMP/cli.out" 2>&1; then
    fail "the CLI trusted the agent with the wrong CA"
fi
grep -q "not trusted" "$TMP/cli.out" || fail "the CLI's refusal does not say why: $(cat "$TMP/cli.out")"
say "ok: the CLI talks TLS, and refuses an agent its CA did not sign: $(head -n1 "$TMP/cli.out")"

# SIGHUP: a new certificate for new connections; a broken one keeps the old
subject() { in_ns openssl s_client -connect "$IP:7421" -CAfile "$C/ca.pem" </dev/null 2>/dev/null |
    sed -n 's/^subject=.*CN *= *//p'; }
[ "$(subject)" = agent-one ] || fail "the served certificate is not agent-one: $(subject)"
issue server agent-two
kill -HUP "${PID[1]}"
wait_until 10 "the agent serves the certificate made after its start" test "$(subject)" = agent-two
cp "$C/garbage.pem" "$C/server.pem"
kill -HUP "${PID[1]}"
wait_until 10 "the broken certificate is refused in the log" grep -q "TLS reload refused.*$C/server.pem" "$TMP/tls.log"
[ "$(subject)" = agent-two ] || fail "after a broken reload the agent serves $(subject)"
in_ns curl -sf --max-time 5 --cacert "$C/ca.pem" "$URL/v1/self" >/dev/null || fail "no answer after a broken reload"
say "ok: SIGHUP reloads the certificate, and keeps it when the new one is broken"
kill -0 "${PID[1]}" || fail "the agent died"
say "PASS"
