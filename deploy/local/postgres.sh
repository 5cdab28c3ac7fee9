#!/usr/bin/env bash
# PostgreSQL 15 from Debian's packages, in a data dir under .wave/.
# Usage: postgres.sh start|stop|status|url
source "$(dirname "$0")/common.sh"

require_binaries() {
  [ -x "$PG_BIN/initdb" ] && [ -x "$PG_BIN/pg_ctl" ] \
    || die "PostgreSQL 15 binaries not found in $PG_BIN — run 'make setup' (apt-get install postgresql) or set WAVE_PG_BIN"
}

running() { [ -f "$PG_DATA/postmaster.pid" ] && as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; }
answers() { "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres; }

init() {
  [ -f "$PG_DATA/PG_VERSION" ] && return 0
  log "initdb into $PG_DATA"
  mkdir -p "$PG_DATA" "$PG_SOCK"
  [ "$(id -u)" = 0 ] && chown -R postgres: "$WAVE_DIR/postgres"
  # initdb refuses to run as root, and the postgres user must reach the dir.
  [ "$(id -u)" = 0 ] && chmod o+x "$WAVE_DIR" "$(dirname "$WAVE_DIR")" 2>/dev/null || true
  as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
}

start() {
  require_binaries
  if running; then
    log "PostgreSQL already running on port $PG_PORT"
  else
    init
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -w -t 60 -l "$PG_LOG" \
      -o "-p $PG_PORT -k $PG_SOCK -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null \
      || die "PostgreSQL failed to start; see $PG_LOG"
  fi
  wait_for answers 30 || die "PostgreSQL does not answer on 127.0.0.1:$PG_PORT; see $PG_LOG"
  if ! "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -tAc "select 1 from pg_database where datname='$PG_DB'" | grep -q 1; then
    "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres "$PG_DB"
  fi
  log "PostgreSQL ready: $(database_url)"
}

stop() {
  if running; then
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null
    log "PostgreSQL stopped"
  else
    log "PostgreSQL not running"
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) if running; then echo "running $(database_url)"; else echo "stopped"; exit 1; fi ;;
  url) database_url ;;
  *) die "usage: postgres.sh start|stop|status|url" ;;
esac
