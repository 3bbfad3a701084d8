#!/bin/sh
# PID 1 of the rehearsal VM: authorizes the operator's key for root (a cloud image's
# "authorized key at first boot"), presents the registry at 127.0.0.1:5000 as the VM's own name
# for it (a real registry has one TLS name on both sides; this keeps image names identical
# without an insecure-registry setting; REGISTRY_LOCAL_PORT when the registry's host port is not
# 5000, as for the swarm tiers' nodes), then runs sshd. dockerd is started by provision.
set -eu
mkdir -p /root/.ssh && chmod 700 /root/.ssh
if [ -n "${ROOT_AUTHORIZED_KEY:-}" ]; then
  echo "$ROOT_AUTHORIZED_KEY" >/root/.ssh/authorized_keys
  chmod 600 /root/.ssh/authorized_keys
fi
if [ -n "${REGISTRY_UPSTREAM:-}" ]; then
  socat "TCP-LISTEN:${REGISTRY_LOCAL_PORT:-5000},bind=127.0.0.1,fork,reuseaddr" "TCP:$REGISTRY_UPSTREAM" &
fi
exec /usr/sbin/sshd -D -e
