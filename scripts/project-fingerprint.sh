#!/usr/bin/env bash
# Prints what identifies a compose project's state on this engine: each container's id, state
# and start time, each volume, and whether each running web and worker container can still open
# a new connection to Redis by name. Two equal fingerprints mean nobody replaced, restarted or
# removed anything of it in between, and that its containers still resolve names: an engine that
# leaves swarm mode keeps every container (same ids) but takes their name resolution with it.
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

# A new process, so a new connection: name lookup, TCP connect, AUTH and PING, with the
# container's own REDIS_URL.
probe='import os, redis
try:
    redis.Redis.from_url(os.environ["REDIS_URL"], socket_connect_timeout=5, socket_timeout=5).ping()
    print("a new connection to Redis by name: ok")
except Exception as error:
    print(f"a new connection to Redis by name: FAILED ({type(error).__name__})")'
for service in web worker; do
  for name in $(docker ps --filter "$filter" \
      --filter "label=com.docker.compose.service=$service" --format '{{.Names}}' | sort); do
    printf '%s: %s\n' "$name" "$(docker exec "$name" python -c "$probe" 2>&1 | tail -n 1)"
  done
done
