#!/bin/bash
# The Debian package, installed for real on this machine and purged again:
# make-deb builds it, lintian passes it, its unit keeps the services across
# agent restarts (KillMode=process, Delegate=yes, Type=notify, a watchdog),
# dpkg -i puts the files, the troupe user, /var/lib/troupe and the conffile
# in place, an upgrade keeps a changed conffile and a running service (the
# agent restarted as systemd would, which does not run here), remove keeps
# the data and purge leaves nothing. Skipped (77) on a machine that has
# troupe installed, or a troupe user, so that it never touches a real one.
. "$(dirname "$0")/sup_lib.sh"
[ "$(id -u)" -eq 0 ] || { echo "this test needs root (dpkg -i)"; exit 77; }
for t in dpkg-deb dpkg-shlibdeps lintian adduser; do
    command -v $t >/dev/null || { echo "no $t: run scripts/deps"; exit 77; }
done
if dpkg-query -W -f='${Status}' troupe 2>/dev/null | grep -q installed || getent passwd troupe >/dev/null ||
    getent group troupe >/dev/null || [ -e /etc/troupe ] || [ -e /var/lib/troupe ]; then
    echo "troupe is installed on this machine (package, user or directories): not touching it"
    exit 77
fi
DEB_BUILD=${TROUPE_DEB_BUILD:-$SRC/build-deb}
UNIT=/lib/systemd/system/troupe.service

# purge whatever the test installed, whatever happened, after sup_lib.sh
# stopped the agent and the instances (their user goes with the package)
eval "$(declare -f cleanup | sed '1s/cleanup/lib_cleanup/')"
cleanup() {
    local rc=$?
    if dpkg-query -W -f='${Status}' troupe 2>/dev/null | grep -q 'ok \(installed\|config-files\)'; then
        say "cleanup: dpkg --purge troupe"
        dpkg --purge troupe >/dev/null 2>&1 || echo "cleanup: dpkg --purge troupe failed"
    fi
    (exit $rc)
    lib_cleanup
}

say "building the package (scripts/make-deb $DEB_BUILD)"
"$SRC/scripts/make-deb" "$DEB_BUILD" "$TMP" >"$TMP/make-deb.log" 2>&1 || fail "make-deb: $(tail -5 "$TMP/make-deb.log")"
deb=$(ls "$TMP"/troupe_*_"$(dpkg --print-architecture)".deb) || fail "no .deb in $TMP"
say "built $(basename "$deb") ($(stat -c %s "$deb") bytes)"
dpkg-deb -f "$deb" Depends | grep -q 'libuv1' || fail "Depends lacks the shared libraries: $(dpkg-deb -f "$deb" Depends)"

say "lintian"
lintian --fail-on error,warning -I --show-overrides "$deb" 2>&1 | grep -v 'root privileges' | tee "$TMP/lintian.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || fail "lintian found errors or warnings"
say "lintian: $(grep -c '^E:' "$TMP/lintian.txt") errors, $(grep -c '^W:' "$TMP/lintian.txt") warnings," \
    "$(grep -c '^I:' "$TMP/lintian.txt") notes, $(grep -c '^O:' "$TMP/lintian.txt") overridden (packaging/debian/lintian-overrides)"

# the unit as the package ships it (the same is read again once installed)
unit_ok() { # FILE
    local k
    for k in KillMode=process Delegate=yes Type=notify WatchdogSec= LimitNOFILE= \
             'ExecStart=/usr/bin/troupe agent --config /etc/troupe/agent.json'; do
        grep -q "^$k" "$1" || { echo "$1 lacks $k"; return 1; }
    done
    ! grep -Eq '^(PrivateTmp|ProtectControlGroups|ProtectSystem|NoNewPrivileges)=(yes|true|full|strict)' "$1" ||
        { echo "$1 sets an option that breaks the supervised services"; return 1; }
}
dpkg-deb -x "$deb" "$TMP/x"
unit_ok "$TMP/x$UNIT" || fail "the packaged unit"

say "dpkg -i"
dpkg -i "$deb" >"$TMP/dpkg.log" 2>&1 || fail "dpkg -i: $(cat "$TMP/dpkg.log")"
for f in $(dpkg -L troupe); do [ -e "$f" ] || fail "dpkg -L lists $f, which is not there"; done
for f in /usr/bin/troupe "$UNIT" /etc/troupe/agent.json /usr/share/man/man1/troupe.1.gz \
         /usr/share/bash-completion/completions/troupe /usr/share/doc/troupe/copyright; do
    [ -f "$f" ] || fail "$f is not installed"
done
unit_ok "$UNIT" || fail "the installed unit"
if command -v systemd-analyze >/dev/null; then # unknown keys, bad values, a missing binary
    out=$(systemd-analyze verify "$UNIT" 2>&1 | grep -v "Command 'man ")
    [ -z "$out" ] || fail "systemd-analyze verify $UNIT: $out"
fi
[ "$(/usr/bin/troupe version)" = "troupe $(dpkg-query -W -f='${Version}' troupe)" ] || fail "troupe version"
getent passwd troupe | awk -F: '$3 < 1000 && $7 ~ /nologin|false/ {ok=1} END {exit !ok}' ||
    fail "no system user troupe with a nologin shell: $(getent passwd troupe)"
getent group troupe >/dev/null || fail "no group troupe"
[ "$(stat -c '%a %U' /var/lib/troupe)" = "700 root" ] || fail "/var/lib/troupe: $(stat -c '%a %U' /var/lib/troupe)"
dpkg-query -W -f='${Conffiles}' troupe | grep -q '/etc/troupe/agent.json' || fail "agent.json is no conffile"
# the completion offers a command and a flag from the CLI's tables
out=$(bash -c '. /usr/share/bash-completion/completions/troupe; COMP_WORDS=(troupe members --st); COMP_CWORD=2; _troupe; echo "${COMPREPLY[*]}"')
[ "$out" = "--status" ] || fail "completion of 'troupe members --st': '$out'"

say "the installed agent runs a service as the troupe user"
BIN=/usr/bin/troupe
sup_agent --config /etc/troupe/agent.json
cat >"$TMP/web.json" <<JSON
{"name": "web", "command": "/bin/sh", "args": ["-c", "exec sleep 300"]}
JSON
T run "$TMP/web.json" >/dev/null || fail "troupe run refused the spec"
wait_until 5 "web runs" state_is web 0 running
p0=$(field web 0 pid)
[ "$(ps -o user= -p "$p0")" = troupe ] || fail "web runs as $(ps -o user= -p "$p0"), not troupe"

say "upgrade: a newer package over it, with a changed conffile"
echo '{"log_level": "debug"}' >/etc/troupe/agent.json
dpkg-deb -R "$deb" "$TMP/v2"
sed -i 's/^Version: .*/&+t800/' "$TMP/v2/DEBIAN/control"
dpkg-deb --root-owner-group -b "$TMP/v2" "$TMP/troupe-v2.deb" >/dev/null
dpkg -i "$TMP/troupe-v2.deb" >"$TMP/dpkg.log" 2>&1 || fail "upgrade: $(cat "$TMP/dpkg.log")"
grep -q debug /etc/troupe/agent.json || fail "the upgrade replaced the changed conffile"
dpkg-query -W -f='${Version}' troupe | grep -q '+t800$' || fail "not upgraded"
# what systemctl restart does with KillMode=process: SIGTERM to the agent alone
say "restart the agent (SIGTERM to it alone), as the unit does after an upgrade"
kill -TERM "${PID[1]}"
wait "${PID[1]}" 2>/dev/null
kill -0 "$p0" || fail "the service died with the agent"
sup_agent --config /etc/troupe/agent.json
state_is web 0 running && [ "$(field web 0 pid)" = "$p0" ] || fail "the new agent did not take web back: $(T ps)"
T rm web >/dev/null
wait_until 15 "web stopped" sh -c "! kill -0 $p0 2>/dev/null"
stop_all

say "dpkg -r keeps the configuration, the data and the user; --purge leaves nothing"
dpkg -r troupe >"$TMP/dpkg.log" 2>&1 || fail "dpkg -r: $(cat "$TMP/dpkg.log")"
[ ! -e /usr/bin/troupe ] && [ ! -e "$UNIT" ] || fail "dpkg -r left the binary or the unit"
[ -f /etc/troupe/agent.json ] && [ -d /var/lib/troupe ] && getent passwd troupe >/dev/null ||
    fail "dpkg -r removed the configuration, the data or the user"
dpkg --purge troupe >"$TMP/dpkg.log" 2>&1 || fail "dpkg --purge: $(cat "$TMP/dpkg.log")"
for f in /etc/troupe /var/lib/troupe /usr/bin/troupe "$UNIT" /usr/share/doc/troupe \
         /usr/share/bash-completion/completions/troupe /usr/share/man/man1/troupe.1.gz \
         /etc/systemd/system/multi-user.target.wants/troupe.service; do
    [ ! -e "$f" ] || fail "purge left $f"
done
! getent passwd troupe >/dev/null && ! getent group troupe >/dev/null || fail "purge left the troupe user or group"
! dpkg-query -W -f='${Status}' troupe 2>/dev/null | grep -q 'installed\|config-files' || fail "dpkg still knows troupe"
say "ok"
