#!/usr/bin/env bash
# CI's deploy step (make deploy-ci): the deploy tool's inputs arrive as environment variables
# from the protected environment's secrets, are written to build/ci-deploy/ readable by this
# user only, and the tool runs. Nothing secret is ever expanded into a command line.
#   ACTION               deploy | rollback
#   SHA                  full git sha; for rollback, empty means the last release recorded good on
#                        the VM (never the branch's head: a dispatch without a sha leaves it empty)
#   DEPLOY_CONFIG_TOML   the configuration; its paths name id_deploy, known_hosts, pull-password
#   DEPLOY_SSH_KEY       the deploy user's private key
#   DEPLOY_KNOWN_HOSTS   the VM's pinned host key line(s)
#   REGISTRY_PULL_TOKEN  the read-only registry credential (optional)
set -euo pipefail

: "${ACTION:?set ACTION to deploy or rollback}"
: "${DEPLOY_CONFIG_TOML:?set DEPLOY_CONFIG_TOML}"
: "${DEPLOY_SSH_KEY:?set DEPLOY_SSH_KEY}"
: "${DEPLOY_KNOWN_HOSTS:?set DEPLOY_KNOWN_HOSTS}"

REPO_ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=$REPO_ROOT/build/ci-deploy
python=$REPO_ROOT/.venv-deploy/bin/python
[ -x "$python" ] || { echo "ci-deploy: no $python: run make deploy-venv first (in a step without the secrets)" >&2; exit 1; }
umask 077
mkdir -p "$DIR"
printf '%s\n' "$DEPLOY_CONFIG_TOML" >"$DIR/deploy.toml"
printf '%s\n' "$DEPLOY_SSH_KEY" >"$DIR/id_deploy"
printf '%s\n' "$DEPLOY_KNOWN_HOSTS" >"$DIR/known_hosts"
printf '%s\n' "${REGISTRY_PULL_TOKEN:-}" >"$DIR/pull-password"

deploy=("$python" -m deploy --config "$DIR/deploy.toml")
cd "$REPO_ROOT"
case "$ACTION" in
  deploy) exec "${deploy[@]}" deploy "${SHA:?set SHA to the full git sha to deploy}" ;;
  rollback) exec "${deploy[@]}" rollback ${SHA:+"$SHA"} ;;
  *) echo "ci-deploy: ACTION must be deploy or rollback, not $ACTION" >&2; exit 1 ;;
esac
