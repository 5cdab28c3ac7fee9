#!/usr/bin/env bash
# Builds WAVE's base container image from Debian packages: no image registry is needed, only the
# Debian mirror apt already uses. Every WAVE image and QA's test images are built FROM it.
#
#   deploy/base-image.sh            build (or find) the image; print its tag
#   deploy/base-image.sh --key      print the recipe key only
#
# Reproducible: a pinned suite and variant, the mirror read from apt's configuration (or
# WAVE_BASE_MIRROR), files that differ from one build to the next removed or normalised, and a tar
# with sorted names, numeric owners and one fixed mtime. The image is tagged by the hash of that
# tar (wave-base:bookworm-<hash>) and also as wave-base:bookworm. The recipe key (the suite, the
# package list, the mirror, the architecture, the tar's mtime and RECIPE) is an image label: while an
# image with the same key exists, nothing is rebuilt; the tar is also kept under .wave/docker/base/,
# so a daemon whose images were wiped re-imports it instead of bootstrapping again.
#
# Needs root, debootstrap and a Docker daemon (DOCKER_HOST); deploy/local/docker.sh provides them.
source "$(dirname "$0")/local/common.sh"

SUITE="bookworm"          # pinned: a new Debian release is a deliberate change of this line
VARIANT="minbase"
# Python 3.11 (Debian's) for WAVE and for the tests QA runs; certificates for pip inside builds.
INCLUDE="python3,python3-venv,ca-certificates"
EPOCH=1700000000          # every file's mtime in the tar
RECIPE=1                  # raise it when a step below changes what goes into the tar
REPO_NAME="wave-base"
CACHE_DIR="$WAVE_DIR/docker/base"

# The first Debian mirror apt's configuration names for the suite (deb822 .sources or sources.list).
apt_mirror() {
  local file uri=""
  for file in /etc/apt/sources.list.d/*.sources; do
    [ -f "$file" ] || continue
    uri="$(awk -v suite="$SUITE" '
      BEGIN { RS = ""; FS = "\n" }
      {
        u = ""; s = ""
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^URIs:/) { u = $i; sub(/^URIs:[ \t]*/, "", u); split(u, parts, /[ \t]+/); u = parts[1] }
          if ($i ~ /^Suites:/) { s = " " $i " " }
        }
        if (u != "" && index(s, " " suite " ")) { print u; exit }
      }' "$file")"
    [ -n "$uri" ] && { echo "$uri"; return; }
  done
  for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$file" ] || continue
    uri="$(awk -v suite="$SUITE" '$1 == "deb" && $0 !~ /\[/ && $3 == suite { print $2; exit }' "$file")"
    [ -n "$uri" ] && { echo "$uri"; return; }
  done
  echo "http://deb.debian.org/debian"
}

MIRROR="${WAVE_BASE_MIRROR:-$(apt_mirror)}"
ARCH="$(dpkg --print-architecture)"
KEY="$(echo "$RECIPE $SUITE $VARIANT $INCLUDE $MIRROR $ARCH $EPOCH" | sha256sum | cut -c1-16)"

if [ "${1:-}" = "--key" ]; then echo "$KEY"; exit 0; fi
command -v docker >/dev/null || die "docker (the client) is not installed: apt-get install docker.io"

# Images built FROM the base inherit its labels: only the base's own repository counts.
existing() { docker images --filter "reference=$REPO_NAME" --filter "label=wave.base.recipe=$KEY" --format '{{.Repository}}:{{.Tag}}' | grep -v '<none>' | grep -v ":$SUITE\$" | head -1; }

tag="$(existing || true)"
if [ -n "$tag" ]; then
  docker tag "$tag" "$REPO_NAME:$SUITE"
  log "base image up to date: $tag"
  echo "$tag"; exit 0
fi

mkdir -p "$CACHE_DIR"
tarball="$CACHE_DIR/$KEY.tar"
if [ ! -f "$tarball" ]; then
  command -v debootstrap >/dev/null || die "debootstrap is not installed: apt-get install debootstrap"
  [ "$(id -u)" = 0 ] || die "debootstrap needs root"
  rootfs="$(mktemp -d "$CACHE_DIR/rootfs.XXXXXX")"
  trap 'rm -rf "$rootfs" "$tarball.part"' EXIT
  log "debootstrap --variant=$VARIANT $SUITE from $MIRROR (a few minutes)"
  debootstrap --variant="$VARIANT" --arch="$ARCH" --include="$INCLUDE" "$SUITE" "$rootfs" "$MIRROR" \
    >"$CACHE_DIR/debootstrap.log" 2>&1 || die "debootstrap failed; see $CACHE_DIR/debootstrap.log"
  # What differs between two bootstraps of the same packages: caches, logs, the host's name and
  # resolver, the day in /etc/shadow, backups dpkg and debconf keep.
  rm -rf "$rootfs"/var/cache/apt/* "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/* \
    "$rootfs"/var/cache/ldconfig/aux-cache "$rootfs"/var/lib/dpkg/*-old "$rootfs"/var/cache/debconf/*-old \
    "$rootfs"/etc/machine-id "$rootfs"/var/lib/dbus/machine-id "$rootfs"/run/* "$rootfs"/tmp/* \
    "$rootfs"/etc/ssh/ssh_host_* "$rootfs"/debootstrap
  mkdir -p "$rootfs/var/lib/apt/lists/partial" "$rootfs/var/cache/apt/archives/partial"
  echo wave > "$rootfs/etc/hostname"
  : > "$rootfs/etc/resolv.conf"
  sed -i -E 's/^([^:]*:[^:]*:)[0-9]*:/\1:/' "$rootfs/etc/shadow" "$rootfs/etc/shadow-" 2>/dev/null || true
  # Bytecode compiled during the install embeds nothing of the build's time, but it is not needed
  # and Python writes none at run time in a read-only root.
  find "$rootfs/usr/lib/python3" "$rootfs/usr/lib/python3.11" -name __pycache__ -type d -prune -exec rm -rf {} +
  tar -C "$rootfs" --sort=name --mtime="@$EPOCH" --owner=0 --group=0 --numeric-owner \
    --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime --xattrs-exclude='*' \
    -cf "$tarball.part" .
  mv "$tarball.part" "$tarball"
  rm -rf "$rootfs"
  find "$CACHE_DIR" -maxdepth 1 -name '*.tar' ! -name "$KEY.tar" -delete  # earlier recipes' tars
  trap - EXIT
fi

digest="$(sha256sum "$tarball" | cut -c1-16)"
tag="$REPO_NAME:$SUITE-$digest"
log "importing $tarball as $tag"
docker import \
  --change "LABEL wave.base.recipe=$KEY wave.base.content=$digest org.opencontainers.image.base.name=debian:$SUITE-$VARIANT" \
  --change "ENV LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
  --change 'CMD ["/bin/bash"]' \
  "$tarball" "$tag" >/dev/null
docker tag "$tag" "$REPO_NAME:$SUITE"
echo "$tag"
