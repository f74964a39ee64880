#!/bin/bash
# trust: how long `troupe trust verify` takes on a large bundle, side by side
# with `sha256sum` of the same file in the same run. verify walks the whole
# chain (pinned root, timestamp, snapshot, targets from a local repository),
# reads the bundle's manifest, then hashes every byte of it against the
# length and sha256 targets.json records; sha256sum only hashes. Each tool
# runs ROUNDS times, alternating, the page cache warm (one untimed read
# first); the medians and the ratio verify/sha256sum are printed.
# Floor: verify within 1.3x of sha256sum. Exits 1 when missed.
#
# usage: bench/trust.sh   (environment: TROUPE_BIN, SIZE_MB=200, ROUNDS=7)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
SIZE_MB=${SIZE_MB:-200}
ROUNDS=${ROUNDS:-7}
FLOOR=1.3
TMP=$(mktemp -d /tmp/troupe-bench-trust.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
trap 'exit 1' INT TERM
[ -x "$BIN" ] || { echo "trust: no troupe binary at $BIN"; exit 2; }
cd "$TMP" || exit 2

# A bundle of SIZE_MB: incompressible data, so the bundle is that large.
mkdir app
head -c $((SIZE_MB * 1024 * 1024)) /dev/urandom >app/data.bin
printf '#!/bin/sh\necho hi\n' >app/run
echo "a passphrase for the bench" >pass
"$BIN" trust init repo --passphrase-file pass >/dev/null || exit 2
"$BIN" bundle build app --name big --version 1 -o big.tar.zst >/dev/null || exit 2
"$BIN" trust add repo big.tar.zst >/dev/null && "$BIN" trust publish repo >/dev/null || exit 2
bytes=$(stat -c %s big.tar.zst)
cat big.tar.zst >/dev/null # warm the page cache

now() { date +%s%N; }
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
: >verify.ms
: >sha.ms
for r in $(seq 1 "$ROUNDS"); do
    t0=$(now)
    "$BIN" trust verify big.tar.zst --repo repo --root repo/repository/root.json \
        --state "$TMP/state" >/dev/null || { echo "trust: verify refused the bundle"; exit 2; }
    t1=$(now)
    sha256sum big.tar.zst >/dev/null
    t2=$(now)
    v=$(((t1 - t0) / 1000000)) s=$(((t2 - t1) / 1000000))
    echo "$v" >>verify.ms
    echo "$s" >>sha.ms
    printf 'round %d: troupe trust verify %5d ms   sha256sum %5d ms\n' "$r" "$v" "$s"
done
mv=$(median <verify.ms)
ms=$(median <sha.ms)
ratio=$(awk -v a="$mv" -v b="$ms" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 99)}')
mbps=$(awk -v n="$bytes" -v t="$mv" 'BEGIN {printf "%.0f", (t > 0 ? n / 1048576 / (t / 1000) : 0)}')
sps=$(awk -v n="$bytes" -v t="$ms" 'BEGIN {printf "%.0f", (t > 0 ? n / 1048576 / (t / 1000) : 0)}')
echo
printf 'bundle: %d bytes (%d MB of data), %d rounds, medians:\n' "$bytes" "$SIZE_MB" "$ROUNDS"
printf '  %-22s %6d ms  (%s MB/s)\n' "troupe trust verify" "$mv" "$mbps"
printf '  %-22s %6d ms  (%s MB/s)\n' "sha256sum" "$ms" "$sps"
printf '  %-22s %6s     floor <= %s\n' "ratio verify/sha256sum" "$ratio" "$FLOOR"
if awk -v r="$ratio" -v f="$FLOOR" 'BEGIN {exit !(r + 0 > 0 && r + 0 <= f + 0)}'; then
    echo "trust: verify meets its floor"
else
    echo "trust: verify misses its floor"
    exit 1
fi
