#!/bin/sh
# One entrypoint for every process of a deployment, the same in the container image
# (deploy/Dockerfile, deploy/compose.yaml) and as plain processes (scripts/cluster.sh), so
# the two cannot drift apart.
#
#   entrypoint.sh [app]        a server: faqbot serve on FAQBOT_PORT (default 8000); with
#                              no argument, the role FAQBOT_ROLE names (default app)
#   entrypoint.sh worker       the indexing worker: faqbot worker
#   entrypoint.sh proxy        nginx on FAQBOT_PROXY_PORT (default 8080) in front of
#                              FAQBOT_UPSTREAMS (host:port ...)
#   entrypoint.sh healthcheck  is the container healthy, in its role (FAQBOT_ROLE)?
#   entrypoint.sh prepare      make the model's graphs (image build)
#   entrypoint.sh <command>    anything else, e.g. `faqbot admin create-user alice`
#
# FAQBOT_STATE_DIR (default /var/lib/faqbot) holds this process's own data: index/ and
# corpus/ (seeded from FAQBOT_DEFAULT_CORPUS on first start) unless FAQBOT_INDEX_DIR or
# FAQBOT_CORPUS_DIR say otherwise. Every other setting is a FAQBOT_* variable (README).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
configured=${FAQBOT_ROLE:-app}  # a container's role, from its environment
role=${1:-$configured}
[ $# -gt 0 ] && shift

state=${FAQBOT_STATE_DIR:-/var/lib/faqbot}
export FAQBOT_INDEX_DIR="${FAQBOT_INDEX_DIR:-$state/index}"
export FAQBOT_CORPUS_DIR="${FAQBOT_CORPUS_DIR:-$state/corpus}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1

seed_corpus() {
    if [ ! -d "$FAQBOT_CORPUS_DIR" ] || [ -z "$(ls -A "$FAQBOT_CORPUS_DIR")" ]; then
        mkdir -p "$FAQBOT_CORPUS_DIR"
        cp -R "${FAQBOT_DEFAULT_CORPUS:-$here/../corpus}/." "$FAQBOT_CORPUS_DIR/"
    fi
    mkdir -p "$FAQBOT_INDEX_DIR"
}

render_proxy_config() {
    dir=${FAQBOT_PROXY_DIR:-/tmp/faqbot-proxy}
    mkdir -p "$dir/temp"
    servers=""
    for upstream in ${FAQBOT_UPSTREAMS:?set FAQBOT_UPSTREAMS to the app servers, host:port ...}; do
        servers="$servers    server $upstream max_fails=1 fail_timeout=${FAQBOT_PROXY_FAIL_SECONDS:-5}s;\n"
    done
    sed -e "s|@PORT@|${FAQBOT_PROXY_PORT:-8080}|g" -e "s|@DIR@|$dir|g" \
        -e "s|@UPSTREAMS@|$servers|" "$here/nginx.conf.template" > "$dir/nginx.conf"
    echo "$dir/nginx.conf"
}

case "$role" in
    app)
        seed_corpus
        exec faqbot serve --host "${FAQBOT_HOST:-0.0.0.0}" --port "${FAQBOT_PORT:-8000}" "$@"
        ;;
    worker)
        seed_corpus
        exec faqbot worker "$@"
        ;;
    proxy)
        config=$(render_proxy_config)
        nginx=$(command -v nginx || echo /usr/sbin/nginx)
        "$nginx" -t -q -c "$config"
        exec "$nginx" -c "$config" -g "daemon off;"
        ;;
    healthcheck)
        case "$configured" in
            proxy) url="http://127.0.0.1:${FAQBOT_PROXY_PORT:-8080}/nginx-health" ;;
            worker) exit 0 ;;  # no port; a dead worker's job is taken over (jobs table)
            *) url="http://127.0.0.1:${FAQBOT_PORT:-8000}/api/ready" ;;
        esac
        exec python3 -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=3)" "$url"
        ;;
    prepare)
        exec python3 -c "from pathlib import Path; import os; from bot.e5_onnx import ensure_models; from bot.embedding import default_model_dir; ensure_models(Path(os.environ.get('FAQBOT_MODEL_DIR') or default_model_dir()))"
        ;;
    *)
        exec "$role" "$@"
        ;;
esac
