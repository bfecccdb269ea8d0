#!/usr/bin/env bash
# `make soak`: benchmarks/soak.py with SOAK_SECONDS (600 by default; CI sets 60). The soak stops
# PostgreSQL and Redis on purpose and mounts a tmpfs; it starts them again itself, and this trap does
# it once more even if the Python process was killed: other people use both services.
set -uo pipefail
cd "$(dirname "$0")/.."
restore() {
  for target in $(findmnt -rn -o TARGET | grep '/soak-sqlite-' || true); do umount "$target" || true; done
  if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort | tail -1)" main start
  fi
  if ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log
  fi
}
trap restore EXIT
.venv/bin/python benchmarks/soak.py --seconds "${SOAK_SECONDS:-600}"
