#!/usr/bin/env bash
# Installs what WAVE needs on a Debian machine and builds the development
# virtualenv. Safe to run again: each step is skipped when already done.
source "$(dirname "$0")/common.sh"

need_apt=()
[ -x "$PG_BIN/initdb" ] || need_apt+=(postgresql)
command -v bwrap >/dev/null || need_apt+=(bubblewrap)
command -v git >/dev/null || need_apt+=(git)
command -v java >/dev/null || need_apt+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || need_apt+=(maven)
command -v chromium >/dev/null || need_apt+=(chromium)  # the portal's browser tests (Playwright drives it)
if [ "${#need_apt[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "installing Debian packages: ${need_apt[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
    # The Debian package starts its own cluster on 5432; we run our own.
    if command -v pg_ctlcluster >/dev/null; then
      for c in /etc/postgresql/*/main; do
        [ -d "$c" ] && pg_ctlcluster "$(basename "$(dirname "$c")")" main stop >/dev/null 2>&1 || true
      done
    fi
  else
    die "missing packages: ${need_apt[*]} — install them (apt-get install ${need_apt[*]}) or run as root"
  fi
fi

# kubeconform (and kustomize where kubectl is missing) validate deploy/k8s offline in the tests;
# built from the Go module proxy into .wave/bin.
KUBECONFORM_VERSION="${WAVE_KUBECONFORM_VERSION:-v0.8.0}"
KUSTOMIZE_VERSION="${WAVE_KUSTOMIZE_VERSION:-v5.5.0}"
if [ ! -x "$WAVE_DIR/bin/kubeconform" ] || { ! command -v kubectl >/dev/null && [ ! -x "$WAVE_DIR/bin/kustomize" ]; }; then
  command -v go >/dev/null || die "Go is needed to install kubeconform (apt-get install golang-go)"
  mkdir -p "$WAVE_DIR/bin"
  if [ ! -x "$WAVE_DIR/bin/kubeconform" ]; then
    log "installing kubeconform $KUBECONFORM_VERSION into $WAVE_DIR/bin"
    GOBIN="$WAVE_DIR/bin" go install "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION"
  fi
  if ! command -v kubectl >/dev/null && [ ! -x "$WAVE_DIR/bin/kustomize" ]; then
    log "installing kustomize $KUSTOMIZE_VERSION into $WAVE_DIR/bin"
    GOBIN="$WAVE_DIR/bin" go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
  fi
fi

PY="${WAVE_PYTHON:-python3}"
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || die "Python >= 3.11 is required ($PY is $("$PY" --version 2>&1))"

# Reinstall only when a pyproject changed since the last successful install.
stamp="$VENV/.wave-installed"
pyprojects=("$ROOT/pyproject.toml")
for p in "$ROOT"/libs/*/pyproject.toml "$ROOT"/services/*/pyproject.toml "$ROOT"/apps/*/pyproject.toml; do
  [ -f "$p" ] && pyprojects+=("$p")
done
# The paths count too: a package that moves needs its editable install redone.
digest="$( (printf '%s\n' "${pyprojects[@]}"; cat "${pyprojects[@]}") | sha256sum | cut -d' ' -f1)"
# A venv whose interpreter no longer runs (Python upgraded or removed) is rebuilt, whatever its stamp says.
venv_runs=false
"$VENV/bin/python" -c pass >/dev/null 2>&1 && venv_runs=true
if $venv_runs && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$digest" ]; then
  log "virtualenv up to date ($VENV)"
  exit 0
fi
if ! $venv_runs; then
  [ -e "$VENV" ] && log "rebuilding the virtualenv: its interpreter $VENV/bin/python does not run"
  "$PY" -m venv --clear "$VENV"
fi
"$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
editables=()
for p in "$ROOT"/libs/* "$ROOT"/services/* "$ROOT"/apps/*; do
  [ -f "$p/pyproject.toml" ] && editables+=(-e "$p")
done
log "installing $(( ${#editables[@]} / 2 )) packages and the workspace into $VENV"
"$VENV/bin/python" -m pip install -q "${editables[@]}" "$ROOT"
echo "$digest" > "$stamp"
log "virtualenv ready ($VENV)"
