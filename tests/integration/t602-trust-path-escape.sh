#!/bin/bash
# A correctly signed bundle whose tarball tries to write outside its
# directory (a "../" entry, an absolute path, a symlink out, a device file)
# is refused at unpack with "path-escaping tarball" or "device file", and
# nothing lands outside the data dir. An agent without --trust-repo says
# what is missing.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null && command -v zstd >/dev/null || fail "needs python3 and zstd"
trust_workdir
reserve_ports G H
"$BIN" trust init repo --passphrase-file pass >/dev/null || fail "trust init"

# evil NAME KIND: a tar.zst with a valid manifest, then one hostile entry
evil() {
    python3 - "$1" "$2" <<'EOF' || fail "making the evil tarball"
import io, json, sys, tarfile
name, kind = sys.argv[1], sys.argv[2]
out = tarfile.open(name + ".tar", "w", format=tarfile.PAX_FORMAT)
def add(info, data=b""):
    info.size = len(data)
    out.addfile(info, io.BytesIO(data))
mf = json.dumps({"name": name, "version": "1", "entrypoint": "./run",
                 "runtime": "process"}).encode()
add(tarfile.TarInfo("troupe-bundle.json"), mf)
add(tarfile.TarInfo("run"), b"#!/bin/sh\necho hi\n")
if kind == "dotdot":
    add(tarfile.TarInfo("../../escaped.txt"), b"out!\n")
elif kind == "absolute":
    add(tarfile.TarInfo("/tmp/troupe-escaped-%s.txt" % name), b"out!\n")
elif kind == "symlink":
    t = tarfile.TarInfo("etc"); t.type = tarfile.SYMTYPE; t.linkname = "../../.."
    add(t)
    add(tarfile.TarInfo("etc/escaped.txt"), b"out!\n")
elif kind == "device":
    t = tarfile.TarInfo("null"); t.type = tarfile.CHRTYPE; t.devmajor = 1; t.devminor = 3
    add(t)
out.close()
EOF
    zstd -q -f "$1.tar" -o "$1@1.tar.zst" && rm -f "$1.tar"
    "$BIN" trust add repo "$1@1.tar.zst" >/dev/null || fail "trust add $1"
}
evil dotdot dotdot
evil absolute absolute
evil symlink symlink
evil device device
"$BIN" trust publish repo >/dev/null || fail "publish"
for b in dotdot absolute symlink device; do
    out=$("$BIN" trust verify "$b@1.tar.zst" --repo repo --root repo/repository/root.json \
        --state "$TMP/state") || fail "the signature of $b@1 does not verify: $out"
done
say "four hostile bundles, all correctly signed"

mkdir -p "$TMP/data"
"$BIN" agent --node solo --bind 127.0.0.1:$G --http 127.0.0.1:$H --data-dir "$TMP/data/agent" \
    --trust-repo "$TMP/repo" --trust-root "$TMP/repo/repository/root.json" \
    >"$TMP/agent.log" 2>&1 &
PID[agent]=$!
wait_until 10 "the agent answers" "$BIN" --http 127.0.0.1:$H info
expect_refused() {
    local out rc
    out=$("$BIN" --http 127.0.0.1:$H bundle fetch "$1" 2>&1)
    rc=$?
    [ $rc -eq 1 ] || fail "fetch $1 exited $rc, expected 1: $out"
    echo "$out" | grep -q -- "$2" || fail "fetch $1 did not name '$2': $out"
    say "refused, as it should: $out"
}
expect_refused dotdot@1 "path-escaping tarball: path \"../../escaped.txt\" climbs out"
expect_refused absolute@1 "path-escaping tarball: absolute path"
expect_refused symlink@1 "path-escaping tarball: symlink \"etc\" -> \"../../..\" points outside"
expect_refused device@1 "device file in bundle"
[ -e "$TMP/data/escaped.txt" ] || [ -e "$TMP/escaped.txt" ] && fail "a file escaped"
[ -e /tmp/troupe-escaped-absolute.txt ] && fail "an absolute path was written"
ls "$TMP/data/agent/bundles" | grep -v '^$' && fail "refused bundles left files behind"
code=$(curl -s -o out.json -w '%{http_code}' -X PUT -d '{"bundle": "dotdot@1"}' \
    "127.0.0.1:$H/v1/bundle/fetch")
[ "$code" = 403 ] && jq -e '.refused == "unsafe bundle contents"' out.json >/dev/null ||
    fail "PUT /v1/bundle/fetch of a hostile bundle: $code $(cat out.json)"
kill -TERM "${PID[agent]}"
wait "${PID[agent]}"

say "an agent without a trust repository"
"$BIN" agent --node bare --bind 127.0.0.1:$G --http 127.0.0.1:$H --data-dir "$TMP/data/bare" \
    >"$TMP/bare.log" 2>&1 &
PID[bare]=$!
wait_until 10 "the agent answers" "$BIN" --http 127.0.0.1:$H info
expect_refused web@1 "start the agent with --trust-repo"
say "all refused"
