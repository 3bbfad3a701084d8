#!/bin/sh
# Upstream entrypoints prepare the container, then exec the command; the stand-ins need no
# preparation.
set -e
exec "$@"
