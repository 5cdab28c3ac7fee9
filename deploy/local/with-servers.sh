#!/usr/bin/env bash
# Runs a command with the local PostgreSQL and Kafka up, stops them afterwards
# whatever the command's outcome, and exits with the command's status.
# Servers that were already running before are left running.
#
# With --docker first, a private Docker daemon (deploy/local/docker.sh, gVisor
# registered) and the base image (deploy/base-image.sh) too: the command gets
# DOCKER_HOST, WAVE_TEST_DOCKER=1 and WAVE_TEST_BASE_IMAGE. When the daemon
# cannot start, the command still runs, with WAVE_TEST_DOCKER_ERROR saying why,
# so the tests that need Docker fail naming the cause.
source "$(dirname "$0")/common.sh"
with_docker=0
if [ "${1:-}" = "--docker" ]; then with_docker=1; shift; fi
pg_was_up=0; kafka_was_up=0; docker_was_up=0
"$ROOT/deploy/local/postgres.sh" status >/dev/null 2>&1 && pg_was_up=1
"$ROOT/deploy/local/kafka.sh" status >/dev/null 2>&1 && kafka_was_up=1
[ "$with_docker" = 1 ] && "$ROOT/deploy/local/docker.sh" status >/dev/null 2>&1 && docker_was_up=1
cleanup() {
  if [ "$with_docker" = 1 ] && [ "$docker_was_up" = 0 ]; then "$ROOT/deploy/local/docker.sh" stop || true; fi
  [ "$kafka_was_up" = 1 ] || "$ROOT/deploy/local/kafka.sh" stop || true
  [ "$pg_was_up" = 1 ] || "$ROOT/deploy/local/postgres.sh" stop || true
}
trap cleanup EXIT
"$ROOT/deploy/local/up.sh" >/dev/null
export WAVE_TEST_DATABASE_URL="${WAVE_TEST_DATABASE_URL:-$(database_url)}"
export WAVE_TEST_KAFKA_BOOTSTRAP="${WAVE_TEST_KAFKA_BOOTSTRAP:-$(kafka_bootstrap)}"
if [ "$with_docker" = 1 ]; then
  export DOCKER_HOST WAVE_TEST_DOCKER=1
  DOCKER_HOST="$("$ROOT/deploy/local/docker.sh" host)"
  docker_log="$WAVE_DIR/docker-start.log"
  mkdir -p "$WAVE_DIR"
  if "$ROOT/deploy/local/docker.sh" start 2>"$docker_log" \
      && WAVE_TEST_BASE_IMAGE="$("$ROOT/deploy/base-image.sh" 2>>"$docker_log")"; then
    export WAVE_TEST_BASE_IMAGE
    cat "$docker_log" >&2
  else
    cat "$docker_log" >&2
    WAVE_TEST_DOCKER_ERROR="$(grep 'error:' "$docker_log" | tail -1)"
    export WAVE_TEST_DOCKER_ERROR="${WAVE_TEST_DOCKER_ERROR:-the Docker daemon or the base image could not be made; see $docker_log}"
    log "$WAVE_TEST_DOCKER_ERROR: the tests that need Docker will fail"
  fi
fi
set +e
"$@"
status=$?
set -e
exit $status
