"""redis-cli inside a container of the stack, with Redis's password taken there: never on a
command line here or on the host. redis-cli reads it as REDISCLI_AUTH: in the redis container from
/data/redis-password, the one Redis requires now (after a rotate-secret, REDIS_PASSWORD and the
Swarm secret the task started with hold the old one); elsewhere, or in a Redis started before that
file existed, from the environment on a VM (compose sets REDIS_PASSWORD), or from the secret file
on Swarm (docker-compose.swarm.yml removes the variable).
"""

from __future__ import annotations

from deploy.rotation import REDIS_PASSWORD_FILE

REDIS_PASSWORD_SECRET = "/run/secrets/linkpulse_redis_password"  # noqa: S105 # a path
# sh -c's script: "$@" is the command, after REDISCLI_AUTH is exported from where it lives.
_WITH_REDIS_AUTH = (
    f'export REDISCLI_AUTH="$(cat {REDIS_PASSWORD_FILE} 2>/dev/null || '
    'printf %s "${REDIS_PASSWORD:-$(cat ' + REDIS_PASSWORD_SECRET + ' 2>/dev/null)}")"; '
    'exec "$@"'
)


def redis_cli(*args: str) -> list[str]:
    """What runs in the container for `redis-cli ARGS`: the arguments follow as "$@", never as
    text of the script."""
    return ["sh", "-c", _WITH_REDIS_AUTH, "sh", "redis-cli", *args]
