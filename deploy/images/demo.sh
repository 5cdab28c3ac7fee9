#!/usr/bin/env bash
# The demo story from WAVE's image (`make demo-images`): builds the image, then `wave demo --stack
# --image` runs the relay and the six services as containers (host network, non-root, read-only
# root) against the PostgreSQL and Kafka of WAVE_TEST_DATABASE_URL / WAVE_TEST_KAFKA_BOOTSTRAP (or
# WAVE_DATABASE_URL / WAVE_KAFKA_BOOTSTRAP), submits the story with its cassette, waits for it with
# a deadline (WAVE_DEMO_TIMEOUT_S, default 300) and prints the outcome. The containers are removed
# whatever happens. Needs DOCKER_HOST (deploy/local/with-servers.sh --docker sets it).
# The demo's home (repository, models file, logs) is WAVE_DEMO_HOME, default .wave/demo-images.
source "$(dirname "$0")/../local/common.sh"

[ -n "${DOCKER_HOST:-}" ] || die "DOCKER_HOST is not set: run through deploy/local/with-servers.sh --docker (make demo-images)"
database_url="${WAVE_DATABASE_URL:-${WAVE_TEST_DATABASE_URL:-}}"
bootstrap="${WAVE_KAFKA_BOOTSTRAP:-${WAVE_TEST_KAFKA_BOOTSTRAP:-}}"
[ -n "$database_url" ] && [ -n "$bootstrap" ] || die "no PostgreSQL/Kafka: set WAVE_TEST_DATABASE_URL and WAVE_TEST_KAFKA_BOOTSTRAP (make demo-images does)"

image="${WAVE_DEMO_IMAGE:-$("$ROOT/deploy/images/build.sh")}"
home="${WAVE_DEMO_HOME:-$WAVE_DIR/demo-images}"
mkdir -p "$home"
label="wave.demo"
# Whatever happens to the demo process, no container of a demo stays behind.
remove_containers() {
  local ids; ids="$(docker ps -aq --filter "label=$label" 2>/dev/null || true)"
  [ -z "$ids" ] || docker rm -f $ids >/dev/null 2>&1 || true
}
trap remove_containers EXIT
log "demo from $image (home $home)"
set +e
WAVE_HOME="$home" WAVE_DATABASE_URL="$database_url" WAVE_KAFKA_BOOTSTRAP="$bootstrap" \
  "$VENV/bin/wave" demo --stack --image "$image" --examples "$ROOT/examples" --timeout "${WAVE_DEMO_TIMEOUT_S:-300}"
status=$?
set -e
repo="$home/demo/sample-repo"
if [ -d "$repo/.git" ]; then
  echo "main of the demo's repository:"
  git -c safe.directory='*' -C "$repo" log --oneline main
fi
exit $status
