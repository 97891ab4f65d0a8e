#!/usr/bin/env bash
# The deployment topology of deploy/compose.yaml from plain processes, where containers
# cannot run: nginx (Debian's package) on one port in front of N app replicas, each with
# its own index directory (as on separate hosts), and the indexing worker, sharing the
# local PostgreSQL and Redis. Every process starts through deploy/entrypoint.sh, as in
# the image.
#
#   scripts/cluster.sh up            start everything, wait until each replica is ready
#   scripts/cluster.sh down          stop everything (the database is kept)
#   scripts/cluster.sh status        each process: running or not, ready or not
#   scripts/cluster.sh kill N        kill -9 replica N (a crash)
#   scripts/cluster.sh start N       start replica N again (it catches up from the database)
#   scripts/cluster.sh purge         down, then drop the cluster's database and files
#
# Settings (environment): FAQBOT_CLUSTER_DIR (.cluster), FAQBOT_CLUSTER_REPLICAS (3),
# FAQBOT_CLUSTER_PORT (8080, nginx), FAQBOT_CLUSTER_BASE_PORT (8101: replica N listens on
# BASE+N-1), FAQBOT_DATABASE_URL (the local PostgreSQL, database faqbot_cluster),
# FAQBOT_REDIS_URL (the local Redis, db 5), and any other FAQBOT_* setting, passed on.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
run=${FAQBOT_CLUSTER_DIR:-$root/.cluster}
replicas=${FAQBOT_CLUSTER_REPLICAS:-3}
port=${FAQBOT_CLUSTER_PORT:-8080}
base=${FAQBOT_CLUSTER_BASE_PORT:-8101}
python=${FAQBOT_PYTHON:-$root/.venv/bin/python}
export PATH="$(dirname "$python"):$PATH:/usr/sbin"
export FAQBOT_DATABASE_URL=${FAQBOT_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/faqbot_cluster}
export FAQBOT_REDIS_URL=${FAQBOT_REDIS_URL:-redis://127.0.0.1:6379/5}
export FAQBOT_BUILDS=shared FAQBOT_DEFAULT_CORPUS=${FAQBOT_DEFAULT_CORPUS:-$root/corpus}
export FAQBOT_TRUST_PROXY_HEADERS=true FAQBOT_TRUSTED_PROXIES=127.0.0.1,::1

entrypoint="$root/deploy/entrypoint.sh"

pid_of() { cat "$run/$1.pid" 2>/dev/null || true; }
alive() { local pid; pid=$(pid_of "$1"); [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; }

start() {  # name, then the environment and arguments of its entrypoint role
    local name=$1; shift
    if alive "$name"; then return; fi
    mkdir -p "$run/$name"
    env FAQBOT_STATE_DIR="$run/$name" "$@" >>"$run/$name.log" 2>&1 &
    echo $! >"$run/$name.pid"
}

start_replica() {
    local n=$1
    start "replica-$n" FAQBOT_PORT=$((base + n - 1)) FAQBOT_HOST=127.0.0.1 FAQBOT_WORKER=off \
        FAQBOT_WORKERS=1 "$entrypoint" app
}

ready() { "$python" - "$1" <<'PY'
import sys, urllib.request
try:
    urllib.request.urlopen(sys.argv[1], timeout=2)
except Exception:
    sys.exit(1)
PY
}

wait_ready() {
    local deadline=$((SECONDS + ${FAQBOT_CLUSTER_WAIT:-300})) url
    for url in "$@"; do
        until ready "$url"; do
            if [ $SECONDS -ge $deadline ]; then
                echo "not ready: $url (logs in $run)" >&2
                return 1
            fi
            sleep 0.5
        done
    done
}

create_database() {
    "$python" - <<'PY'
import os
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
url = make_url(os.environ["FAQBOT_DATABASE_URL"])
if url.get_backend_name() == "postgresql":
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                            {"n": url.database}).first():
            conn.execute(text(f'CREATE DATABASE "{url.database}"'))
PY
}

up() {
    mkdir -p "$run"
    [ -s "$run/salt" ] || "$python" -c "import secrets; print(secrets.token_hex(32))" >"$run/salt"
    export FAQBOT_CLIENT_SALT=${FAQBOT_CLIENT_SALT:-$(cat "$run/salt")}
    create_database
    start worker "$entrypoint" worker
    local n upstreams="" urls=()
    for n in $(seq 1 "$replicas"); do
        start_replica "$n"
        upstreams="$upstreams 127.0.0.1:$((base + n - 1))"
        urls+=("http://127.0.0.1:$((base + n - 1))/api/ready")
    done
    start proxy FAQBOT_UPSTREAMS="$upstreams" FAQBOT_PROXY_PORT="$port" \
        FAQBOT_PROXY_DIR="$run/proxy" "$entrypoint" proxy
    wait_ready "${urls[@]}" "http://127.0.0.1:$port/api/ready"
    echo "cluster up: http://127.0.0.1:$port/ ($replicas replicas, worker, nginx; logs in $run)"
}

stop() {
    local name=$1 pid
    pid=$(pid_of "$name")
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$run/$name.pid"
}

down() {
    local name
    [ -d "$run" ] || return 0
    for name in proxy $(cd "$run" && ls replica-*.pid 2>/dev/null | sed 's/\.pid$//') worker; do
        stop "$name"
    done
    echo "cluster down"
}

status() {
    local name pid state
    for name in proxy worker $(seq -f "replica-%g" 1 "$replicas"); do
        state="stopped"
        alive "$name" && state="running (pid $(pid_of "$name"))"
        echo "$name: $state"
    done
}

case "${1:-}" in
    up) up ;;
    down) down ;;
    status) status ;;
    kill) kill -KILL "$(pid_of "replica-${2:?replica number}")"; rm -f "$run/replica-$2.pid" ;;
    start)
        export FAQBOT_CLIENT_SALT=${FAQBOT_CLIENT_SALT:-$(cat "$run/salt")}
        start_replica "${2:?replica number}"
        wait_ready "http://127.0.0.1:$((base + $2 - 1))/api/ready"
        ;;
    purge)
        down
        "$python" - <<'PY'
import os
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
url = make_url(os.environ["FAQBOT_DATABASE_URL"])
if url.get_backend_name() == "postgresql":
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
PY
        rm -rf "$run"
        ;;
    *) sed -n '2,20p' "$0" >&2; exit 2 ;;
esac
