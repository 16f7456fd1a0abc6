#!/usr/bin/env bash
# Builds, from Debian packages, stand-ins for the three official images the Supportbot image and
# compose.yaml start from, for machines that can reach Debian's mirrors but no image registry:
#
#   supportbot-local/python:3.11-slim-bookworm   for  python:3.11-slim-bookworm  (BASE_IMAGE)
#   supportbot-local/postgres:15-bookworm        for  postgres:15-bookworm       (POSTGRES_IMAGE)
#   supportbot-local/redis:7-bookworm            for  redis:7-bookworm           (REDIS_IMAGE)
#
# The root file system comes from debootstrap (Debian's minimal variant, like debian:bookworm-slim);
# the rest is installed with apt inside `docker build`. Images that already exist are kept
# (--rebuild builds them again, e.g. for security updates). Needs root, debootstrap and docker.
# Prints the variables that point the build and compose.yaml at the stand-ins.
set -euo pipefail
cd "$(dirname "$0")"

PREFIX=supportbot-local
DEBIAN_IMAGE=$PREFIX/debian:bookworm-slim
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
rebuild=0
[ "${1:-}" = "--rebuild" ] && rebuild=1

exists() { [ "$rebuild" = 0 ] && docker image inspect "$1" >/dev/null 2>&1; }

if ! exists "$DEBIAN_IMAGE"; then
  rootfs=$(mktemp -d)
  trap 'rm -rf "$rootfs"' EXIT
  echo "debootstrap bookworm (minbase) from $MIRROR" >&2
  debootstrap --variant=minbase bookworm "$rootfs" "$MIRROR" >/dev/null
  # Updates and security fixes too, as the official images get them.
  cat >"$rootfs/etc/apt/sources.list" <<EOF
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
EOF
  # Slim as debian:bookworm-slim is: no manuals, documentation or translations, now or later.
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/slim" <<EOF
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
  find "$rootfs/usr/share/doc" -type f ! -name copyright -delete
  rm -rf "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*
  find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
  tar -C "$rootfs" -c . | docker import --change 'CMD ["bash"]' - "$DEBIAN_IMAGE" >/dev/null
fi

build() {
  local tag=$1 dockerfile=$2
  if ! exists "$tag"; then
    echo "building $tag" >&2
    docker build --quiet --build-arg "DEBIAN_IMAGE=$DEBIAN_IMAGE" -t "$tag" -f "base/$dockerfile" base >/dev/null
  fi
}
build "$PREFIX/python:3.11-slim-bookworm" python.Dockerfile
build "$PREFIX/postgres:15-bookworm" postgres.Dockerfile
build "$PREFIX/redis:7-bookworm" redis.Dockerfile

echo "BASE_IMAGE=$PREFIX/python:3.11-slim-bookworm"
echo "POSTGRES_IMAGE=$PREFIX/postgres:15-bookworm"
echo "REDIS_IMAGE=$PREFIX/redis:7-bookworm"
