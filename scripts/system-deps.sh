#!/usr/bin/env bash
# What the tests and benches need outside pip: Debian's chromium (driven by Playwright;
# Playwright's own browser download is never used), wrk (bench/load.py), nginx (the
# cluster's proxy: scripts/cluster.sh, tests/test_cluster.py), and the local Redis and
# PostgreSQL servers the tests talk to.
# Installs or starts only what is missing; safe to run again.
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for package in chromium wrk; do
    command -v "$package" >/dev/null 2>&1 || missing+=("$package")
done
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1 || missing+=(nginx-light)
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]} (Debian packages)"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then
    echo "starting redis on 127.0.0.1:6379"
    as_root mkdir -p /var/lib/redis /var/log/redis
    as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" \
        --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
fi

if ! (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
    echo "starting postgresql on 127.0.0.1:5432"
    as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
fi

for _ in $(seq 1 50); do  # wait until both accept connections
    if (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null && (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
        exit 0
    fi
    sleep 0.2
done
echo "redis or postgresql did not start" >&2
exit 1
