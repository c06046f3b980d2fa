#!/usr/bin/env bash
# Starts a throw-away PostgreSQL 15 cluster on loopback for tests, installing it from Debian if absent.
#   source scripts/postgres.sh start   # exports KITH_TEST_POSTGRES_URL
#   scripts/postgres.sh stop
set -euo pipefail
PG_PORT="${KITH_PG_PORT:-55432}"
PG_DIR="${KITH_PG_DIR:-/tmp/kith-postgres-$PG_PORT}"
PG_BIN=/usr/lib/postgresql/15/bin

as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-start}" in
  start)
    if [ ! -x "$PG_BIN/postgres" ]; then
      echo "installing PostgreSQL 15 from Debian"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq
      apt-get install -y -qq postgresql-15 >/dev/null
    fi
    if [ -f "$PG_DIR/postmaster.pid" ]; then
      as_postgres "$PG_BIN/pg_ctl" -D "$PG_DIR" stop -m immediate >/dev/null 2>&1 || true
    fi
    rm -rf "$PG_DIR"
    mkdir -p "$PG_DIR"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$PG_DIR"
    as_postgres "$PG_BIN/initdb" -D "$PG_DIR" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    as_postgres "$PG_BIN/pg_ctl" -D "$PG_DIR" -l "$PG_DIR/server.log" -w \
      -o "-c listen_addresses=127.0.0.1 -c port=$PG_PORT -c unix_socket_directories=$PG_DIR -c max_connections=1000 -c fsync=on" \
      start >/dev/null
    export KITH_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
    echo "PostgreSQL 15 running on 127.0.0.1:$PG_PORT"
    ;;
  stop)
    as_postgres "$PG_BIN/pg_ctl" -D "$PG_DIR" stop -m fast >/dev/null 2>&1 || true
    ;;
esac
