#!/usr/bin/env bash
# Builds the app image for linux/arm64, under emulation on any other host (make test-arm64;
# docs/containers.md "Platforms"). Usage: arm64-images.sh upstream|offline (scripts/stack-env.sh's
# image path). Prints how long each step took and records it in build/arm64/build-times.
#
#   1. emulation: qemu-user-static registered in binfmt_misc with the fix-binary flag, so that
#      the engine runs arm64 programs in builds and containers (installed as root on Debian);
#   2. the base, offline only (upstream, the build pulls python:3.13-slim-trixie's arm64 image):
#      an arm64 Debian trixie rootfs, loaded as linkpulse-arm64/debian:trixie with arm64 recorded
#      as its platform, then docker/offline/python.Dockerfile on it as the arm64 stand-in
#      linkpulse-arm64/python:3.13-slim-trixie; both are reused while they exist;
#   3. the app image from the unchanged Dockerfile, built for linux/arm64 by compose with
#      docker-compose.arm64.yml, as linkpulse-arm64/app:arm64.
# Every name it creates starts with linkpulse-arm64, so it never touches another stack's images.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO_ROOT"

SUITE=trixie
ROOTFS_IMAGE=linkpulse-arm64/debian:$SUITE
PYTHON_STAND_IN=linkpulse-arm64/python:3.13-slim-trixie
WORK_DIR=$REPO_ROOT/build/arm64
TIMES=$WORK_DIR/build-times

say() { echo "arm64-images: $*"; }
die() { echo "arm64-images: $*" >&2; exit 1; }

# shellcheck source=scripts/debian-rootfs.sh
. "$REPO_ROOT/scripts/debian-rootfs.sh"

# timed NAME COMMAND...: run COMMAND, then print and record how many seconds it took.
timed() {
  local name=$1 start=$SECONDS
  shift
  "$@"
  say "$name took $((SECONDS - start)) s"
  echo "$name $((SECONDS - start))" >>"$TIMES"
}

ensure_emulation() {
  local entry=/proc/sys/fs/binfmt_misc/qemu-aarch64
  [ "$(uname -m)" = aarch64 ] && { say "the host is arm64: no emulation needed"; return 0; }
  if ! grep -qs '^flags: .*F' "$entry"; then
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
      die "arm64 emulation is missing: install qemu-user-static and binfmt-support (as root)"
    fi
    say "installing qemu-user-static and registering it in binfmt_misc"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      qemu-user-static binfmt-support >/dev/null
    mountpoint -q /proc/sys/fs/binfmt_misc || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
    update-binfmts --enable qemu-aarch64
  fi
  # The fix-binary flag (F) loads the emulator once, on the host: containers need no copy of it.
  grep -qs '^flags: .*F' "$entry" || die "qemu-aarch64 is registered without the F flag ($entry)"
}

# load_rootfs DIR IMAGE ARCH: DIR as a one-layer image whose config records ARCH. `docker import`
# cannot say the platform on engines before 23.0, and a builder resolving a base for linux/arm64
# rejects a local image recorded as amd64.
load_rootfs() {
  local archive diff_id
  archive=$(mktemp -d "$WORK_DIR/image.XXXXXX")
  tar -C "$1" -c . >"$archive/layer.tar"
  diff_id=$(sha256sum "$archive/layer.tar" | cut -d' ' -f1)
  printf '{"architecture":"%s","os":"linux","config":{"Env":["PATH=%s"],"Cmd":["bash"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}\n' \
    "$3" /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$diff_id" >"$archive/config.json"
  printf '[{"Config":"config.json","RepoTags":["%s"],"Layers":["layer.tar"]}]\n' "$2" >"$archive/manifest.json"
  tar -C "$archive" -c manifest.json config.json layer.tar | docker load --quiet >/dev/null
  rm -rf "$archive"
}

rootfs_image() {
  local rootfs=$WORK_DIR/rootfs
  debian_rootfs "$rootfs" "$SUITE" --arch=arm64
  say "loading the rootfs as $ROOTFS_IMAGE (linux/arm64)"
  load_rootfs "$rootfs" "$ROOTFS_IMAGE" arm64
  rm -rf "$rootfs"
}

python_stand_in() {
  docker compose --project-name linkpulse-arm64-bases --file - build --quiet <<EOF
services:
  python:
    image: $PYTHON_STAND_IN
    platform: linux/arm64
    pull_policy: never
    build:
      context: docker/offline
      dockerfile: python.Dockerfile
      args:
        BASE: $ROOTFS_IMAGE
      labels:
        org.linkpulse.stand-in: "Debian $SUITE package standing in for python:3.13-slim-trixie (arm64)"
EOF
}

app_image() {
  docker compose --file docker-compose.yml --file docker-compose.arm64.yml build --quiet web
}

present() { docker image inspect "$1" >/dev/null 2>&1; }

case "${1:-}" in
  upstream|offline) ;;
  *) die "usage: $0 upstream|offline (scripts/stack-env.sh prints the path)" ;;
esac
mkdir -p "$WORK_DIR"
: >"$TIMES"
ensure_emulation
if [ "$1" = offline ]; then
  if present "$ROOTFS_IMAGE"; then say "reusing $ROOTFS_IMAGE"; else timed rootfs rootfs_image; fi
  if present "$PYTHON_STAND_IN"; then say "reusing $PYTHON_STAND_IN"; else timed python-stand-in python_stand_in; fi
  # The environment outranks the env file's pin: the app's base becomes the arm64 stand-in.
  export PYTHON_IMAGE=$PYTHON_STAND_IN
fi
timed app app_image
arch=$(docker image inspect --format '{{.Os}}/{{.Architecture}}' linkpulse-arm64/app:arm64)
[ "$arch" = linux/arm64 ] || die "linkpulse-arm64/app:arm64 is recorded as $arch, not linux/arm64"
say "linkpulse-arm64/app:arm64 built for $arch"
