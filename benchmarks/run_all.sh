#!/usr/bin/env bash
# `make bench`: the load benchmark (HTTP under gunicorn, SQLite and PostgreSQL, next to the bare
# route), the tracking page and the analysis. Quick sizes by default (a few minutes); BENCH_FULL=1
# for the figures of docs/benchmarks.md (1,000,000 invitations, 1,000,000 responses).
# Needs PostgreSQL and Redis on 127.0.0.1 (5432, 6379), as `make test` on PostgreSQL and CI do.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
echo "== $(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg), BENCH_FULL=${BENCH_FULL:-0}"
if [ "${BENCH_FULL:-0}" = 1 ]; then
  $PY benchmarks/load_benchmark.py --seconds 10 --rounds 3 --rate-seconds 15
  echo "== tracking page, 1,000,000 invitations (SQLite)"
  $PY benchmarks/tracking.py --repeat 7
  echo "== analysis, 1,000,000 responses"
  $PY benchmarks/analysis_benchmark.py --repeat 3
else
  $PY benchmarks/load_benchmark.py
  echo "== tracking page, 100,000 invitations (SQLite; BENCH_FULL=1 for 1,000,000)"
  $PY benchmarks/tracking.py --invitations 100000 --repeat 3
  echo "== analysis, 100,000 responses (BENCH_FULL=1 for 1,000,000)"
  $PY benchmarks/analysis_benchmark.py --n 100000 --repeat 1
fi
