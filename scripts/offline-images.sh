#!/usr/bin/env bash
# Builds local stand-ins for the pinned upstream images, for machines that reach no registry.
#
# Each stand-in is a Debian trixie image carrying Debian's package of the same software at the
# same version line, and presents the interface our Dockerfiles and docker-compose.yml rely on:
# the same binary paths, entrypoint, user id and health-check tool. It is tagged with the very
# upstream name:tag it stands in for (docker/upstream-images.env, without the digest), so the
# Dockerfiles and the compose file stay unchanged. Only where no registry answers: with one
# reachable, a stand-in would hide the upstream image under its name, so this refuses to start
# unless the registry probe says unreachable (or LINKPULSE_IMAGES=offline forces it).
#
#   1. one Debian trixie rootfs (debootstrap minbase, mirror read from this machine's apt
#      sources) imported as linkpulse-offline/debian:trixie; reused while that image exists;
#   2. for every pinned upstream image that is not present locally, `docker build` of
#      docker/offline/<name>.Dockerfile FROM that rootfs (apt-get inside the build).
# Images already present (real upstream ones, or stand-ins from an earlier run) are kept.
# docker/upstream-images.env lists the images; this reads it through python3 -m imagepath.
# Grafana is not packaged by Debian: it has no stand-in, and the offline stack runs without it.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO_ROOT"

SUITE=trixie
ROOTFS_IMAGE=linkpulse-offline/debian:$SUITE
WORK_DIR=$REPO_ROOT/build/offline
STAND_IN_DIR=$REPO_ROOT/docker/offline

say() { echo "offline-images: $*"; }
die() { echo "offline-images: $*" >&2; exit 1; }

# shellcheck source=scripts/debian-rootfs.sh
. "$REPO_ROOT/scripts/debian-rootfs.sh"

ensure_rootfs_image() {
  if docker image inspect "$ROOTFS_IMAGE" >/dev/null 2>&1; then
    say "reusing $ROOTFS_IMAGE"
    return 0
  fi
  local rootfs=$WORK_DIR/rootfs
  debian_rootfs "$rootfs" "$SUITE"
  say "importing the rootfs as $ROOTFS_IMAGE"
  tar -C "$rootfs" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' - "$ROOTFS_IMAGE" >/dev/null
  rm -rf "$rootfs"
}

# Stand-ins take upstream names only where no registry answers.
require_no_registry() {
  [ "${LINKPULSE_IMAGES:-}" = offline ] && return 0
  local outcome
  outcome=$(python3 -m imagepath probe)
  [ "$outcome" = unreachable ] ||
    die "a registry answers here ($outcome): no stand-ins under upstream names (scripts/stack-env.sh --upstream)"
}

# upstream repository -> stand-in Dockerfile in docker/offline/ (none for grafana).
stand_in_for() {
  case "${1%%:*}" in
    python) echo python ;;
    nginx) echo nginx ;;
    redis) echo redis ;;
    prom/prometheus) echo prometheus ;;
    prom/alertmanager) echo alertmanager ;;
    prom/node-exporter) echo node-exporter ;;
    oliver006/redis_exporter) echo redis-exporter ;;
    nginx/nginx-prometheus-exporter) echo nginx-exporter ;;
    *) echo "" ;;
  esac
}

build_stand_ins() {
  local image name missing=()
  for image in $(python3 -m imagepath names); do
    if docker image inspect "$image" >/dev/null 2>&1; then
      say "present: $image"
      continue
    fi
    name=$(stand_in_for "$image")
    if [ -z "$name" ]; then
      say "no stand-in for $image (not packaged by Debian): left out of the offline stack"
      continue
    fi
    missing+=("$image=$name")
  done
  [ ${#missing[@]} -eq 0 ] && return 0

  # One compose file listing the missing stand-ins lets compose build them in parallel with
  # the daemon's BuildKit, whatever docker CLI (with or without buildx) is installed.
  local file=$WORK_DIR/stand-ins.compose.yml entry
  mkdir -p "$WORK_DIR"
  echo "services:" >"$file"
  for entry in "${missing[@]}"; do
    image=${entry%%=*}
    name=${entry#*=}
    cat >>"$file" <<EOF
  $name:
    image: $image
    pull_policy: never
    build:
      context: $STAND_IN_DIR
      dockerfile: $name.Dockerfile
      args:
        BASE: $ROOTFS_IMAGE
      labels:
        org.linkpulse.stand-in: "Debian $SUITE package standing in for $image"
EOF
  done
  say "building stand-ins: ${missing[*]%%=*}"
  docker compose -p linkpulse-offline -f "$file" build --quiet
}

require_no_registry
ensure_rootfs_image
build_stand_ins
say "done"
