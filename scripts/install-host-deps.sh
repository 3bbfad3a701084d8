#!/usr/bin/env bash
# Installs the Debian packages the test tiers and benchmarks run for real:
# redis-server, Chromium + ChromeDriver, wrk, redis-benchmark. Idempotent; quiet when all present.
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
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
