# Shared settings for the deploy/local scripts. Sourced, never run.
# Every value can be overridden from the environment.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
WAVE_DIR="${WAVE_LOCAL_DIR:-$ROOT/.wave}"
PG_PORT="${WAVE_PG_PORT:-55432}"
PG_DB="${WAVE_PG_DB:-wave}"
PG_BIN="${WAVE_PG_BIN:-/usr/lib/postgresql/15/bin}"
PG_DATA="$WAVE_DIR/postgres/data"
PG_SOCK="$WAVE_DIR/postgres/sock"
PG_LOG="$WAVE_DIR/postgres/postgres.log"
KAFKA_VERSION="${WAVE_KAFKA_VERSION:-4.1.1}"
KAFKA_PORT="${WAVE_KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="${WAVE_KAFKA_CONTROLLER_PORT:-19093}"
KAFKA_HOME="$WAVE_DIR/kafka"
KAFKA_LIBS="$KAFKA_HOME/libs-$KAFKA_VERSION"
KAFKA_DATA="$KAFKA_HOME/data"
KAFKA_PID="$KAFKA_HOME/kafka.pid"
KAFKA_LOG="$KAFKA_HOME/kafka.log"
VENV="${WAVE_VENV:-$ROOT/.venv}"

log() { printf '[deploy/local] %s\n' "$*" >&2; }
die() { printf '[deploy/local] error: %s\n' "$*" >&2; exit 1; }

# Runs a command as the postgres user when we are root (initdb refuses root);
# as ourselves otherwise.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

database_url() { echo "postgresql://postgres@127.0.0.1:$PG_PORT/$PG_DB"; }
kafka_bootstrap() { echo "127.0.0.1:$KAFKA_PORT"; }

# Waits up to $2 seconds for "$1" (a command string) to succeed.
wait_for() {
  local what="$1" timeout="$2" i=0
  until eval "$what" >/dev/null 2>&1; do
    i=$((i + 1))
    [ "$i" -ge $((timeout * 5)) ] && return 1
    sleep 0.2
  done
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
