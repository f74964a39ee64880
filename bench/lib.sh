# lib.sh: what every benchmark begins with (sourced, not a benchmark
# itself): strict mode, the C locale, SRC (this tree), BIN (the troupe
# binary: TROUPE_BIN, else this tree's build) and say.
set -u
export LC_ALL=C
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${TROUPE_BIN:-$SRC/build/cli/troupe}

say() { echo "[$(date +%H:%M:%S)] $*"; }
