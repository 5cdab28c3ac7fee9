#!/usr/bin/env bash
# A private Docker daemon for the tests, with gVisor (runsc) registered: its own socket, data root
# and exec root under .wave/docker/, never /var/run/docker.sock, so nothing else on the machine sees
# it unless DOCKER_HOST points at it. No bridge and no iptables rules: containers run with
# `--network none` (QA's sandboxes) or on the host's network (builds, the demo's services).
# Usage: docker.sh start|stop|status|host
source "$(dirname "$0")/common.sh"

DOCKER_LOCAL="${WAVE_DOCKER_DIR:-$WAVE_DIR/docker}"
DOCKER_SOCK="$DOCKER_LOCAL/docker.sock"
DOCKER_PID="$DOCKER_LOCAL/dockerd.pid"
DOCKER_LOG="$DOCKER_LOCAL/dockerd.log"
DOCKER_CONFIG="$DOCKER_LOCAL/daemon.json"
DOCKER_START_S="${WAVE_DOCKER_START_S:-60}"

docker_host() { echo "unix://$DOCKER_SOCK"; }

# Debian's docker.io (dockerd, containerd, runc), runsc (gVisor) and debootstrap (the base image).
# Their packages would start the system's daemon where an init system runs; we start our own.
require_packages() {
  local need=()
  command -v dockerd >/dev/null || need+=(docker.io)
  command -v runsc >/dev/null || need+=(runsc)
  command -v debootstrap >/dev/null || need+=(debootstrap)
  [ "${#need[@]}" -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "installing Debian packages: ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    die "missing packages: ${need[*]} — install them (apt-get install ${need[*]}) or run as root"
  fi
}

pid_alive() { [ -f "$DOCKER_PID" ] && kill -0 "$(cat "$DOCKER_PID")" 2>/dev/null; }
answers() { DOCKER_HOST="$(docker_host)" timeout 10 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

write_config() {
  # gVisor cannot share the root network namespace here: it runs with its own network turned off.
  cat > "$DOCKER_CONFIG" <<JSON
{
  "runtimes": {"runsc": {"path": "$(command -v runsc)", "runtimeArgs": ["--network=none"]}},
  "bridge": "none",
  "iptables": false,
  "ip6tables": false,
  "ip-masq": false,
  "storage-driver": "overlay2",
  "log-driver": "json-file",
  "log-opts": {"max-size": "10m"}
}
JSON
}

start() {
  require_packages
  if pid_alive && answers; then
    log "Docker already running (pid $(cat "$DOCKER_PID"))"
  else
    [ "$(id -u)" = 0 ] || die "dockerd needs root"
    pid_alive && stop
    mkdir -p "$DOCKER_LOCAL/data" "$DOCKER_LOCAL/exec"
    rm -f "$DOCKER_SOCK"
    write_config
    # setsid: the daemon must not share the caller's process group (make's Ctrl-C reaches it via stop).
    setsid dockerd -H "$(docker_host)" --data-root "$DOCKER_LOCAL/data" --exec-root "$DOCKER_LOCAL/exec" \
      --pidfile "$DOCKER_PID" --config-file "$DOCKER_CONFIG" >"$DOCKER_LOG" 2>&1 < /dev/null &
    local i=0 started=$SECONDS
    until [ -S "$DOCKER_SOCK" ] && answers; do
      if ! kill -0 $! 2>/dev/null; then
        tail -5 "$DOCKER_LOG" >&2 || true
        die "dockerd exited during start-up; see $DOCKER_LOG"
      fi
      if [ $((SECONDS - started)) -ge "$DOCKER_START_S" ]; then
        kill $! 2>/dev/null || true
        die "dockerd did not answer within $DOCKER_START_S s; see $DOCKER_LOG"
      fi
      i=$((i + 1)); sleep 0.2
    done
  fi
  DOCKER_HOST="$(docker_host)" docker info --format '{{json .Runtimes}}' 2>/dev/null | grep -q '"runsc"' \
    || die "dockerd runs without the runsc runtime; see $DOCKER_CONFIG and $DOCKER_LOG"
  log "Docker ready: $(docker_host) (runtimes runc, runsc)"
}

stop() {
  if pid_alive; then
    local pid; pid="$(cat "$DOCKER_PID")"
    # Containers first: a daemon stopping with running containers waits for each of them.
    DOCKER_HOST="$(docker_host)" timeout 30 bash -c 'ids=$(docker ps -q); [ -z "$ids" ] || docker rm -f $ids' \
      >/dev/null 2>&1 || true
    kill "$pid"
    local i=0
    while kill -0 "$pid" 2>/dev/null; do
      i=$((i + 1))
      if [ "$i" -ge 150 ]; then log "dockerd did not stop in 30 s; killing"; kill -9 "$pid" 2>/dev/null || true; fi
      sleep 0.2
    done
    # The daemon leaves its network namespace mounted under the exec root; unmounted, the checkout's
    # .wave can be removed (`make clean`, a CI workspace wiped between runs).
    for ns in "$DOCKER_LOCAL/exec/netns/"*; do
      [ -e "$ns" ] && { umount "$ns" 2>/dev/null || true; }
    done
    log "Docker stopped"
  else
    log "Docker not running"
  fi
  rm -f "$DOCKER_PID"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) if pid_alive && answers; then echo "running $(docker_host)"; else echo "stopped"; exit 1; fi ;;
  host) docker_host ;;
  *) die "usage: docker.sh start|stop|status|host" ;;
esac
