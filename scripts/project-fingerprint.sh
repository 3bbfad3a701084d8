#!/usr/bin/env bash
# Prints what identifies a compose project's state on this engine: each container's id, state
# and start time, and each volume. Two equal fingerprints mean nobody replaced, restarted or
# removed anything of it in between (the stack tier checks the user's stack this way).
#   scripts/project-fingerprint.sh [PROJECT]    (default: linkpulse)
set -euo pipefail
project=${1:-linkpulse}
filter="label=com.docker.compose.project=$project"
ids=$(docker ps --all --quiet --no-trunc --filter "$filter")
if [ -n "$ids" ]; then
  # shellcheck disable=SC2086 # one argument per id
  docker inspect --format '{{.Name}} {{.Id}} {{.State.Status}} {{.State.StartedAt}}' $ids | sort
fi
docker volume ls --quiet --filter "$filter" | sort
