#!/usr/bin/env bash
# The whole test suite against real PostgreSQL/PostGIS and Redis on 127.0.0.1.
# Installs PostGIS and starts the services when they are missing; one throwaway
# database and one Redis db per run.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
PGHOST=${PGHOST:-127.0.0.1}
PGUSER=${PGUSER:-postgres}
export PGHOST PGUSER

say() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }

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
if ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then
  say "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break; sleep 0.2; done
fi

DB="vicinity_test_$$_${RANDOM}"
REDIS_DB=$(( (RANDOM % 14) + 1 ))
psql -q -c "CREATE DATABASE $DB" postgres
psql -q -c "CREATE EXTENSION postgis" "$DB"
cleanup() { psql -q -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" postgres || true; }
trap cleanup EXIT
export VICINITY_TEST_DATABASE_URL="postgresql+psycopg://$PGUSER@$PGHOST/$DB"
export VICINITY_TEST_REDIS_URL="redis://127.0.0.1:6379/$REDIS_DB"

say "pytest on $DB, Redis db $REDIS_DB"
set +e
"$PY" -m pytest "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then echo "no tests were collected" >&2; exit 1; fi
exit "$rc"
