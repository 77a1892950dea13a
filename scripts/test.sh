#!/usr/bin/env bash
# The whole test suite against real PostgreSQL/PostGIS and Redis on 127.0.0.1.
# Installs PostGIS and starts PostgreSQL when missing; one throwaway database and one
# Redis instance of its own per run.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
PGHOST=${PGHOST:-127.0.0.1}
PGUSER=${PGUSER:-postgres}
export PGHOST PGUSER

say() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }

if [ "$#" -eq 0 ]; then
  # The whole suite (CI) also holds the code to its gates; a targeted run skips them.
  say "ruff, mypy --strict, import-linter contracts"
  .venv/bin/ruff check .
  .venv/bin/ruff format --check .
  .venv/bin/mypy
  .venv/bin/lint-imports --no-cache
fi
if ! pg_isready -q -h "$PGHOST"; then
  say "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  for _ in $(seq 1 30); do pg_isready -q -h "$PGHOST" && break; sleep 1; done
fi
if [ -z "$(psql -tAc "SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'" postgres)" ]; then
  say "installing PostGIS"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql-15-postgis-3 >/dev/null
fi
if ! command -v redis-server >/dev/null; then
  say "installing Redis"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null
fi
if ! command -v chromium >/dev/null; then
  # The console's browser tests drive Debian's Chromium (no browser download by a tool).
  say "installing Chromium"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
DB="vicinity_test_$$_${RANDOM}"
psql -q -c "CREATE DATABASE $DB" postgres
psql -q -c "CREATE EXTENSION postgis" "$DB"
# A Redis of the suite's own, on a free port in a temp folder: flushing it wipes nothing
# that anything else on the machine keeps in Redis.
REDIS_DIR=$(mktemp -d)
REDIS_PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
  --dir "$REDIS_DIR" --pidfile "$REDIS_DIR/redis.pid" --logfile "$REDIS_DIR/redis.log"
for _ in $(seq 1 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
cleanup() {
  psql -q -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" postgres || true
  redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
  rm -rf "$REDIS_DIR"
}
trap cleanup EXIT
export VICINITY_TEST_DATABASE_URL="postgresql+psycopg://$PGUSER@$PGHOST/$DB"
export VICINITY_TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"

# The whole suite runs on two workers (pytest-xdist), a file per worker at a time; each
# worker makes its own database and redis-server from these (tests/conftest.py).
# Targeted runs (arguments given) stay in one process.
PARALLEL=()
if [ "$#" -eq 0 ]; then PARALLEL=(-n 2 --dist loadfile); fi
say "pytest on $DB, Redis on port $REDIS_PORT"
set +e
"$PY" -m pytest --durations=25 "${PARALLEL[@]}" "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then echo "no tests were collected" >&2; exit 1; fi
exit "$rc"
