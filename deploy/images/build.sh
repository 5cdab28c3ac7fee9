#!/usr/bin/env bash
# Builds WAVE's image (deploy/images/Dockerfile) FROM the base image, tagged wave:<git revision> and
# wave:latest; prints the revision tag. Needs a Docker daemon (DOCKER_HOST; deploy/local/docker.sh).
# The build uses the host's network and the host's package-index settings: the index and proxy
# variables are build arguments and the CA bundle pip trusts here (PIP_CERT, SSL_CERT_FILE or
# REQUESTS_CA_BUNDLE) is copied into the builder stage only.
# WAVE_IMAGE_SOURCE sets the org.opencontainers.image.source label (default: git's origin URL).
source "$(dirname "$0")/../local/common.sh"

IMAGE_REPO="${WAVE_IMAGE_REPO:-wave}"
command -v docker >/dev/null || die "docker (the client) is not installed: apt-get install docker.io"
# Without DOCKER_HOST: the private daemon of deploy/local/docker.sh, started for this build when it
# was not running (and stopped afterwards), never the system's socket.
started_daemon=0
if [ -z "${DOCKER_HOST:-}" ]; then
  export DOCKER_HOST; DOCKER_HOST="$("$ROOT/deploy/local/docker.sh" host)"
  if ! "$ROOT/deploy/local/docker.sh" status >/dev/null 2>&1; then
    "$ROOT/deploy/local/docker.sh" start >&2; started_daemon=1
  fi
fi
docker version >/dev/null 2>&1 || die "no Docker daemon answers at $DOCKER_HOST: deploy/local/docker.sh start"

base="$("$ROOT/deploy/base-image.sh")"
revision="$(git -C "$ROOT" rev-parse --short=12 HEAD)"
git -C "$ROOT" diff --quiet HEAD -- libs services apps deploy/images 2>/dev/null || revision="$revision-dirty"
source_url="${WAVE_IMAGE_SOURCE:-$(git -C "$ROOT" config --get remote.origin.url || echo "file://$ROOT")}"

context="$(mktemp -d)"
cleanup() { rm -rf "$context"; [ "$started_daemon" = 0 ] || "$ROOT/deploy/local/docker.sh" stop >&2 || true; }
trap cleanup EXIT
# The context: the lock, the Dockerfile and the packages' sources, without tests or build leftovers.
tar -C "$ROOT" --exclude='__pycache__' --exclude='*.egg-info' --exclude='build' --exclude='tests' \
  --exclude='node_modules' -cf - deploy/images libs services apps | tar -C "$context" -xf -
ca=""
for name in PIP_CERT SSL_CERT_FILE REQUESTS_CA_BUNDLE; do
  value="${!name:-}"; [ -n "$value" ] && [ -f "$value" ] && { ca="$value"; break; }
done
if [ -n "$ca" ]; then cp "$ca" "$context/installer-ca.crt"; else cp /etc/ssl/certs/ca-certificates.crt "$context/installer-ca.crt"; fi

args=()
for name in PIP_INDEX_URL PIP_EXTRA_INDEX_URL PIP_TRUSTED_HOST HTTP_PROXY HTTPS_PROXY NO_PROXY http_proxy https_proxy no_proxy; do
  [ -n "${!name:-}" ] && args+=(--build-arg "$name=${!name}")
done
mkdir -p "$WAVE_DIR"
started=$SECONDS
log "building $IMAGE_REPO:$revision FROM $base"
docker build --network host -f "$context/deploy/images/Dockerfile" "${args[@]}" \
  --build-arg "BASE=$base" --build-arg "REVISION=$revision" --build-arg "SOURCE=$source_url" \
  -t "$IMAGE_REPO:$revision" -t "$IMAGE_REPO:latest" "$context" >"$WAVE_DIR/image-build.log" 2>&1 \
  || { tail -30 "$WAVE_DIR/image-build.log" >&2; die "the image build failed; see $WAVE_DIR/image-build.log"; }
size="$(docker image inspect --format '{{.Size}}' "$IMAGE_REPO:$revision")"
log "built $IMAGE_REPO:$revision ($((size / 1000000)) MB) in $((SECONDS - started)) s"
echo "$IMAGE_REPO:$revision"
