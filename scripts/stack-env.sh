#!/usr/bin/env bash
# Prepares .env for the compose stack: secrets on first run, and the image path.
#
#   1. .env missing: copy .env.example and fill every secret with a fresh random value.
#      STACK_ENV_FILE names another file instead of .env (the stack tier's own, see Makefile),
#      and STACK_ENV_SETTINGS ("KEY=VALUE KEY=VALUE") sets values in it on every run.
#   2. Choose the image path and record it in .env, so that `make` and a plain
#      `docker compose ...` agree on it: COMPOSE_FILE, and each upstream image's reference from
#      docker/upstream-images.env (by digest upstream, by bare name:tag offline):
#        upstream  docker-compose.yml                            (pinned upstream images)
#        offline   docker-compose.yml:docker-compose.offline.yml (local Debian stand-ins)
#      LINKPULSE_IMAGES=upstream|offline forces a path. Otherwise one manifest request to the
#      registry decides (python3 -m imagepath probe, one line saying what it found): an answer
#      means upstream, no answer at all means offline. A refusal (rate limit, denied, error)
#      means upstream too, or a stop where stand-ins hold upstream names (they cannot be
#      replaced now). Whenever the path is upstream, stand-ins there are moved aside first.
#
#   scripts/stack-env.sh --upstream   switch this machine back to the upstream images now, even
#                                     with no registry answering at this moment (as
#                                     LINKPULSE_IMAGES=upstream); the next `make up` pulls them
# Prints the chosen path on the last line.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO_ROOT"

ENV_FILE=${STACK_ENV_FILE:-.env}
STAND_IN_LABEL=org.linkpulse.stand-in
# Where stand-ins go when they give an upstream name back (kept, never deleted: a container
# may still run one).
ASIDE_PREFIX=linkpulse-offline/stand-in-

case "${1:-}" in
  --upstream) LINKPULSE_IMAGES=upstream ;;
  "") ;;
  *) echo "usage: scripts/stack-env.sh [--upstream]" >&2; exit 2 ;;
esac

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

# stand_in_label IMAGE: the stand-in label of a present image (empty for an upstream one);
# fails when the image is absent.
stand_in_label() {
  docker image inspect --format "{{index .Config.Labels \"$STAND_IN_LABEL\"}}" "$1" 2>/dev/null
}

# The upstream names that a stand-in holds on this engine, one per line.
held_by_stand_ins() {
  local name label
  for name in $(python3 -m imagepath names); do
    label=$(stand_in_label "$name") || continue
    [ -z "$label" ] || echo "$name"
  done
}

# Upstream path only: a stand-in under an upstream name would be used instead of the real image.
# It is retagged aside and its upstream name removed (an untag: the image itself stays).
retire_stand_ins() {
  local name aside
  for name in $(held_by_stand_ins); do
    aside=$ASIDE_PREFIX${name//\//-}
    docker tag "$name" "$aside"
    docker image rm "$name" >/dev/null
    say "stand-in moved aside: $name is now $aside; the upstream image takes its name"
  done
}


choose_path() {
  case "${LINKPULSE_IMAGES:-}" in
    upstream) say "image path forced: upstream"; retire_stand_ins; echo upstream; return ;;
    offline) say "image path forced: offline"; echo offline; return ;;
    "") ;;
    *) echo "stack-env: LINKPULSE_IMAGES must be upstream or offline" >&2; exit 1 ;;
  esac
  local outcome
  outcome=$(python3 -m imagepath probe)
  case "$outcome" in
    reachable) retire_stand_ins; say "upstream path"; echo upstream ;;
    unreachable) say "offline path (local stand-ins from Debian packages)"; echo offline ;;
    *)
      # The registry is there but refuses: never a reason for stand-ins. Images already here
      # (and the builder's cache) keep the upstream path working until it answers again.
      if [ -n "$(held_by_stand_ins)" ]; then
        say "the registry refuses ($outcome) and stand-ins hold upstream names: retry later," \
          "or force a path with LINKPULSE_IMAGES=upstream|offline"
        exit 1
      fi
      say "the registry refuses ($outcome): upstream path; pulling what is not here yet fails until it answers"
      echo upstream ;;
  esac
}

record_path() {
  local files=docker-compose.yml setting
  [ "$1" = offline ] && files=docker-compose.yml:docker-compose.offline.yml
  grep -q '^COMPOSE_FILE=' "$ENV_FILE" ||
    printf '\n# Written by scripts/stack-env.sh: the image path of this machine.\n' >>"$ENV_FILE"
  set_setting "$ENV_FILE" COMPOSE_FILE "$files"
  for setting in $(python3 -m imagepath env "$1"); do
    set_setting "$ENV_FILE" "${setting%%=*}" "${setting#*=}"
  done
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
record_path "$path"
echo "$path"
