#!/usr/bin/env bash
# Prepares .env for the compose stack: secrets on first run, and the image path.
#
#   1. .env missing: copy .env.example and fill every secret with a fresh random value.
#      STACK_ENV_FILE names another file instead of .env (the stack tier's own, see Makefile),
#      and STACK_ENV_SETTINGS ("KEY=VALUE KEY=VALUE") sets values in it on every run.
#   2. Choose the image path and record it as COMPOSE_FILE in .env, so that `make` and a plain
#      `docker compose ...` agree on it:
#        upstream  docker-compose.yml                            (pinned upstream images)
#        offline   docker-compose.yml:docker-compose.offline.yml (local Debian stand-ins)
#      LINKPULSE_IMAGES=upstream|offline forces a path; otherwise the images present decide, and
#      when the probe image is absent, one `docker pull` of it tells whether a registry answers.
# Prints the chosen path on the last line.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO_ROOT"

ENV_FILE=${STACK_ENV_FILE:-.env}
# Any pinned upstream image the stack runs unchanged will do; redis is the smallest.
PROBE_IMAGE=redis:8.0.2
STAND_IN_LABEL=org.linkpulse.stand-in

say() { echo "stack-env: $*" >&2; }

random_secret() { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# set_setting FILE KEY VALUE: replace KEY's line in FILE, or append it.
set_setting() {
  if grep -q "^$2=" "$1"; then
    sed -i "s|^$2=.*|$2=$3|" "$1"
  else
    printf '%s=%s\n' "$2" "$3" >>"$1"
  fi
}

create_env_file() {
  [ -f "$ENV_FILE" ] && return 0
  say "creating $ENV_FILE from .env.example with new random secrets"
  local secret
  mkdir -p "$(dirname "$ENV_FILE")"
  cp .env.example "$ENV_FILE.tmp"
  for secret in REDIS_PASSWORD VISITOR_HASH_SALT GRAFANA_ADMIN_PASSWORD; do
    set_setting "$ENV_FILE.tmp" "$secret" "$(random_secret)"
  done
  chmod 600 "$ENV_FILE.tmp"
  mv "$ENV_FILE.tmp" "$ENV_FILE"
}

apply_settings() {
  local setting
  for setting in ${STACK_ENV_SETTINGS:-}; do
    case "$setting" in
      *=*) set_setting "$ENV_FILE" "${setting%%=*}" "${setting#*=}" ;;
      *) echo "stack-env: STACK_ENV_SETTINGS entry '$setting' is not KEY=VALUE" >&2; exit 1 ;;
    esac
  done
}

choose_path() {
  case "${LINKPULSE_IMAGES:-}" in
    upstream|offline) say "image path forced by LINKPULSE_IMAGES"; echo "$LINKPULSE_IMAGES"; return ;;
    "") ;;
    *) echo "stack-env: LINKPULSE_IMAGES must be upstream or offline" >&2; exit 1 ;;
  esac
  local label
  if label=$(docker image inspect --format "{{index .Config.Labels \"$STAND_IN_LABEL\"}}" \
      "$PROBE_IMAGE" 2>/dev/null); then
    if [ -n "$label" ]; then
      say "$PROBE_IMAGE here is a local stand-in: offline path"
      echo offline
    else
      say "$PROBE_IMAGE here is the upstream image: upstream path"
      echo upstream
    fi
    return
  fi
  say "probing the registry: docker pull $PROBE_IMAGE"
  if timeout 60 docker pull --quiet "$PROBE_IMAGE" >/dev/null 2>&1; then
    say "registry reachable: upstream path"
    echo upstream
  else
    say "no registry reachable: offline path (local stand-ins from Debian packages)"
    echo offline
  fi
}

record_compose_file() {
  local files=docker-compose.yml
  [ "$1" = offline ] && files=docker-compose.yml:docker-compose.offline.yml
  grep -q '^COMPOSE_FILE=' "$ENV_FILE" ||
    printf '\n# Written by scripts/stack-env.sh: the image path of this machine.\n' >>"$ENV_FILE"
  set_setting "$ENV_FILE" COMPOSE_FILE "$files"
}

# The web container's CPU limit scales with the machine the stack runs on (docs/benchmarks.md:
# capped at one CPU on a 2-core host, web was the stack's bottleneck). Written once; edit it.
size_to_host() {
  grep -q '^WEB_CPUS=.' "$ENV_FILE" && return 0
  set_setting "$ENV_FILE" WEB_CPUS "$(nproc)"
}

create_env_file
apply_settings
size_to_host
path=$(choose_path)
record_compose_file "$path"
echo "$path"
