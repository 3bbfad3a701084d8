#!/usr/bin/env bash
# Installs the Debian packages the test tiers and benchmarks run for real: redis-server,
# Chromium + ChromeDriver, wrk, redis-benchmark, nginx, promtool, amtool, and curl (the stack
# tier's floods use its --parallel).
# Idempotent; quiet when all are present.
set -euo pipefail

declare -A wanted=(
  [redis-server]=redis-server
  [redis-benchmark]=redis-tools
  [chromium]=chromium
  [chromedriver]=chromium-driver
  [wrk]=wrk
  [nginx]=nginx
  [promtool]=prometheus
  [amtool]=prometheus-alertmanager
  [curl]=curl
)
missing=()
for cmd in "${!wanted[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${wanted[$cmd]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-host-deps: missing packages: ${missing[*]} (install them, or run as root on Debian)" >&2
  exit 1
fi
echo "install-host-deps: apt-get install ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# The tests start these programs themselves; on a machine with an init system the packages'
# own daemons (redis 6379, nginx 80, prometheus 9090, alertmanager 9093) would start and hold
# ports the stack publishes, so they are kept from starting during the install.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod +x "$policy"
  trap 'rm -f "$policy"' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
