#!/bin/bash
# A service spec that names a signed bundle instead of a command: the agent
# fetches it from its trust repository, verifies it against the pinned root,
# and runs the manifest's entrypoint (with the spec's args) from the unpacked
# directory; the instance is registered and passes its check. A bundle whose
# bytes were changed after it was published is refused: the instance goes to
# failed with the attack named in `troupe ps` and `troupe events`, and its
# process never starts. A refused new version leaves the version before
# running; the honest bytes back, `troupe restart` runs the new version.
# The bundle is verified again before a restart after the agent restarted,
# a bundle not published yet is waited for, and an "oci" bundle runs as a
# crun container with the bundle as its root.
. "$(dirname "$0")/sup_lib.sh"
# the mount points the agent made for the bundles go too
t610_cleanup() {
    local rc=$?
    rmdir /run/troupe/bundles/{hello@1.0,hello@2.0,late@1} 2>/dev/null
    (exit $rc)
    sup_cleanup
}
trap t610_cleanup EXIT
command -v python3 >/dev/null || fail "python3 is needed (the bundled program serves HTTP)"
command -v crun >/dev/null || fail "crun is not installed (scripts/deps)"
[ -x /bin/busybox ] || fail "busybox-static is not installed (scripts/deps)"
trust_workdir

say "publisher: a trust repository, hello@1.0 and hello@2.0 signed and published"
# the program: a shell script that serves its own directory over HTTP
mkdir -p app
cat >app/run <<'SH'
#!/bin/sh
echo "hello $1 from $(pwd)"
exec python3 -m http.server "$PORT" --bind 127.0.0.1
SH
chmod 755 app/run
echo "version 1" >app/version.txt
T trust init repo --passphrase-file pass >/dev/null || fail "trust init"
cp repo/repository/root.json pinned-root.json
T bundle build app --name hello --version 1.0 -o hello1.tar.zst >/dev/null || fail "build 1.0"
echo "version 2" >app/version.txt
T bundle build app --name hello --version 2.0 -o hello2.tar.zst >/dev/null || fail "build 2.0"
T trust add repo hello1.tar.zst >/dev/null && T trust add repo hello2.tar.zst >/dev/null &&
    T trust publish repo >/dev/null || fail "add and publish"

sup_agent --trust-repo "$TMP/repo/repository" --trust-root "$TMP/pinned-root.json"

spec() { # NAME BUNDLE
    cat <<JSON
{"name": "$1", "bundle": "$2", "args": ["world"], "user": "$SUP_USER",
 "ports": {"http": "auto"}, "stop_grace_ms": 2000,
 "checks": [{"http": "http://127.0.0.1:\${PORT}/version.txt", "interval_ms": 200, "timeout_ms": 150}]}
JSON
}
passing() { curl -sf "127.0.0.1:$H/v1/health/service/$1?passing=1" | jq -e --arg p "$2" 'any(.[]; .status == "passing" and .service.meta.pid == $p)' >/dev/null; }
served() { curl -sf "127.0.0.1:$(field hello 0 ports | jq -r .http)/version.txt"; }

say "a spec names both a command and a bundle: refused, naming the field"
printf '{"name": "x", "command": "/bin/sh", "bundle": "hello@1.0"}' >both.json
T run both.json 2>err && fail "a spec with a command and a bundle was applied"
grep -q "bundle: a spec names a command or a bundle, not both" err || fail "both: $(cat err)"

say "troupe run a spec that names hello@1.0"
spec hello hello@1.0 >hello.json
T run hello.json >/dev/null || fail "troupe run hello"
wait_until 15 "hello/0 runs" state_is hello 0 running
pid=$(field hello 0 pid)
wait_until 15 "hello/0 (pid $pid) is registered and passing" passing hello "$pid"
[ "$(served)" = "version 1" ] || fail "hello/0 does not serve the bundle's files: $(served)"
# the data dir is the agent's alone: the process sees its bundle read-only elsewhere
wait_until 5 "its output names where it sees its bundle" sh -c \
    "\"$BIN\" --http 127.0.0.1:$H logs hello | grep -q 'hello world from /run/troupe/bundles/hello@1.0'"
[ -d "$TMP/solo/bundles/hello@1.0" ] || fail "the bundle is not unpacked in the data dir"
grep -q "^/run/troupe/bundles/hello@1.0 " "/proc/$pid/mountinfo" 2>/dev/null ||
    awk '$5 == "/run/troupe/bundles/hello@1.0" && $6 ~ /^ro/' "/proc/$pid/mountinfo" | grep -q . ||
    fail "the bundle is not mounted read-only for hello/0: $(grep bundles /proc/$pid/mountinfo)"
[ "$(field hello 0 bundle)" = "hello@1.0" ] || fail "ps does not name the bundle: $(T ps --json)"
T events --kind sup-bundle | grep -q "hello@1.0 verified, runs ./run from" ||
    fail "no sup-bundle event: $(T events)"

say "the bytes of hello@2.0 change after it was published"
size=$(stat -c %s repo/repository/targets/hello@2.0.tar.zst)
cp repo/repository/targets/hello@2.0.tar.zst honest2.tar.zst
printf 'X' | dd of=repo/repository/targets/hello@2.0.tar.zst bs=1 seek=$((size - 1)) conv=notrunc 2>/dev/null
cmp -s honest2.tar.zst repo/repository/targets/hello@2.0.tar.zst && fail "the tarball did not change"

say "PUT /v1/bundle/fetch refuses it, and the history keeps the refusal"
T bundle fetch hello@2.0 2>err && fail "fetched a tampered bundle"
grep -q "arbitrary bundle" err || fail "the fetch does not name the attack: $(cat err)"
T events --kind bundle | grep "hello@2.0" | grep -q "refused: arbitrary bundle" ||
    fail "no refusal in the history: $(T events --kind bundle)"

say "a service naming the tampered bundle: failed, the attack named, nothing started"
spec tampered hello@2.0 >tampered.json
T run tampered.json >/dev/null || fail "troupe run tampered"
wait_until 15 "tampered/0 is failed" state_is tampered 0 failed
T ps tampered | tee ps.out
grep -q "tampered/0: refused hello@2.0: arbitrary bundle" ps.out || fail "ps does not name the attack"
[ "$(field tampered 0 pid)" = 0 ] || fail "tampered/0 has a pid"
T events --kind sup-refused | grep "tampered/0" | grep -q "arbitrary bundle" ||
    fail "no sup-refused event: $(T events)"
T events | grep -E "sup-(start|restart) +tampered" && fail "a tampered instance was started"
[ -e "$TMP/solo/bundles/hello@2.0" ] && fail "the tampered bundle was unpacked"
curl -sf "127.0.0.1:$H/v1/health/service/tampered" | jq -e 'length == 0' >/dev/null ||
    fail "tampered is in the catalog"

say "a new version of hello naming the tampered bundle: the running version stays"
spec hello hello@2.0 >hello2.json
T run hello2.json >/dev/null || fail "troupe run hello@2.0"
wait_until 15 "hello shows the refusal" sh -c "\"$BIN\" --http 127.0.0.1:$H ps hello | grep -q 'arbitrary bundle'"
state_is hello 0 running && [ "$(field hello 0 pid)" = "$pid" ] || fail "hello/0 was touched: $(T ps)"
[ "$(served)" = "version 1" ] || fail "hello/0 no longer serves version 1"

say "the honest bytes back: troupe restart runs hello@2.0"
cp honest2.tar.zst repo/repository/targets/hello@2.0.tar.zst
T restart hello >/dev/null || fail "troupe restart hello"
wait_until 15 "hello/0 serves version 2" sh -c "[ \"\$(curl -sf 127.0.0.1:\$(\"$BIN\" --http 127.0.0.1:$H ps hello --json | jq -r '.[0].ports.http')/version.txt)\" = 'version 2' ]"
newpid=$(field hello 0 pid)
[ "$newpid" != "$pid" ] || fail "hello/0 was not restarted"
wait_until 15 "hello/0 (pid $newpid) is passing" passing hello "$newpid"
T ps hello | grep -q "refused" && fail "ps still shows the refusal: $(T ps hello)"

say "a spec applied before its bundle is published waits in fetching, then runs"
printf '{"name": "late", "bundle": "late@1", "user": "%s"}' "$SUP_USER" >late.json
T run late.json >/dev/null || fail "troupe run late"
wait_until 10 "late/0 waits, saying why" sh -c "\"$BIN\" --http 127.0.0.1:$H ps late | grep -q 'late/0: late@1: .*(trying again in'"
state_is late 0 fetching || fail "late/0 is not fetching: $(T ps late)"
mkdir -p late && printf '#!/bin/sh\nexec sleep 300\n' >late/run && chmod 755 late/run
T bundle build late --name late --version 1 -o late.tar.zst >/dev/null &&
    T trust add repo late.tar.zst >/dev/null && T trust publish repo >/dev/null || fail "publish late@1"
wait_until 15 "late/0 runs once late@1 is published" state_is late 0 running

say "a signed manifest whose entrypoint climbs out of the bundle: refused"
T bundle build late --name climb --version 1 --entrypoint ../../../bin/sh -o climb.tar.zst >/dev/null &&
    T trust add repo climb.tar.zst >/dev/null && T trust publish repo >/dev/null || fail "publish climb@1"
printf '{"name": "climb", "bundle": "climb@1", "user": "%s"}' "$SUP_USER" >climb.json
T run climb.json >/dev/null || fail "troupe run climb"
wait_until 10 "climb/0 is failed" state_is climb 0 failed
T ps climb | grep -q 'climb/0: refused climb@1: climb@1: entrypoint: "../../../bin/sh" climbs out of the bundle' ||
    fail "ps climb: $(T ps climb)"

say "the agent restarts: hello/0 is re-adopted, and its bundle verified again before a restart"
kill -9 "${PID[1]}"
wait "${PID[1]}" 2>/dev/null # gone, with its lock on the data dir
sup_agent --trust-repo "$TMP/repo/repository" --trust-root "$TMP/pinned-root.json"
wait_until 10 "hello/0 (pid $newpid) is re-adopted" sh -c "[ \"\$(\"$BIN\" --http 127.0.0.1:$H ps hello --json | jq -r '.[0].pid')\" = $newpid ]"
kill "$newpid"
wait_until 15 "hello/0 runs again" sh -c "p=\$(\"$BIN\" --http 127.0.0.1:$H ps hello --json | jq -r '.[0] | select(.state == \"running\") | .pid'); [ -n \"\$p\" ] && [ \"\$p\" != $newpid ]"
wait_until 10 "and serves version 2" sh -c "[ \"\$(curl -sf 127.0.0.1:\$(\"$BIN\" --http 127.0.0.1:$H ps hello --json | jq -r '.[0].ports.http')/version.txt)\" = 'version 2' ]"

say "an oci bundle (busybox and a script) runs as a crun container, the bundle its root"
mkdir -p box/bin box/dev box/proc box/sys box/tmp box/run
cp /bin/busybox box/bin/ && ln -s busybox box/bin/sh
printf '#!/bin/sh\necho "box $1: $(cat /version.txt)"\nexec httpd -f -p "127.0.0.1:$PORT" -h /\n' >box/start
chmod 755 box/start
echo "box 1" >box/version.txt
T bundle build box --name box --version 1 --entrypoint ./start --runtime oci -o box.tar.zst >/dev/null &&
    T trust add repo box.tar.zst >/dev/null && T trust publish repo >/dev/null || fail "publish box@1"
# httpd is the container's pid 1, which SIGTERM does not end: a short grace
printf '{"name": "box", "bundle": "box@1", "args": ["up"], "user": "%s", "ports": {"http": "auto"},
 "stop_grace_ms": 300,
 "checks": [{"http": "http://127.0.0.1:${PORT}/version.txt", "interval_ms": 200, "timeout_ms": 150}]}' \
    "$SUP_USER" >box.json
T run box.json >/dev/null || fail "troupe run box"
wait_until 20 "box/0 runs" state_is box 0 running
[ "$(field box 0 runtime)" = crun ] || fail "box/0 is not a container: $(T ps box --json)"
wait_until 15 "box/0 is passing" passing box "$(field box 0 pid)"
wait_until 5 "box/0 says what it runs" sh -c "\"$BIN\" --http 127.0.0.1:$H logs box | grep -q 'box up: box 1'"

T rm climb >/dev/null && T rm late >/dev/null && T rm box >/dev/null && T rm tampered >/dev/null && T rm hello >/dev/null || fail "troupe rm"
wait_until 10 "hello/0 is gone" sh -c "[ \"\$(\"$BIN\" --http 127.0.0.1:$H ps --json | jq length)\" = 0 ]"
say "bundles run when verified, and only then"
