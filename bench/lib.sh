# lib.sh: what every benchmark begins with (sourced, not a benchmark
# itself): strict mode, the C locale, SRC (this tree), BIN (the troupe
# binary: TROUPE_BIN, else this tree's build) and say.
set -u
export LC_ALL=C
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${TROUPE_BIN:-$SRC/build/cli/troupe}

say() { echo "[$(date +%H:%M:%S)] $*"; }

# nginx_temp_paths DIR: nginx's temporary files under DIR, not in
# /var/lib/nginx (lines for an http block)
nginx_temp_paths() {
    local k
    for k in client_body proxy fastcgi uwsgi scgi; do echo "    ${k}_temp_path $1;"; done
}

# nginx_backend CONF DIR PORT: writes to CONF the config of one nginx
# worker (pid, logs and temporary files under DIR) answering every
# request on 127.0.0.1:PORT with 1 KiB, keep-alive: the backend the proxy
# benches put behind each proxy.
nginx_backend() {
    local conf=$1 dir=$2 port=$3 body
    body=$(head -c 1024 /dev/zero | tr '\0' 'x')
    mkdir -p "$dir/nginx"
    cat >"$conf" <<EOF
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/nginx.err;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
$(nginx_temp_paths "$dir/nginx")
    server {
        listen 127.0.0.1:$port;
        location / { default_type text/plain; return 200 "$body"; }
    }
}
EOF
}
