#!/usr/bin/env bash
# Runs a command with the local PostgreSQL and Kafka up, stops them afterwards
# whatever the command's outcome, and exits with the command's status.
# Servers that were already running before are left running.
source "$(dirname "$0")/common.sh"
pg_was_up=0; kafka_was_up=0
"$ROOT/deploy/local/postgres.sh" status >/dev/null 2>&1 && pg_was_up=1
"$ROOT/deploy/local/kafka.sh" status >/dev/null 2>&1 && kafka_was_up=1
cleanup() {
  [ "$kafka_was_up" = 1 ] || "$ROOT/deploy/local/kafka.sh" stop || true
  [ "$pg_was_up" = 1 ] || "$ROOT/deploy/local/postgres.sh" stop || true
}
trap cleanup EXIT
"$ROOT/deploy/local/up.sh" >/dev/null
export WAVE_TEST_DATABASE_URL="${WAVE_TEST_DATABASE_URL:-$(database_url)}"
export WAVE_TEST_KAFKA_BOOTSTRAP="${WAVE_TEST_KAFKA_BOOTSTRAP:-$(kafka_bootstrap)}"
set +e
"$@"
status=$?
set -e
exit $status
