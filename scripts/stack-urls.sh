#!/usr/bin/env bash
# Prints where the running stack answers, from the ports compose actually published.
set -euo pipefail
cd "$(dirname "$0")/.."

published() { docker compose port "$1" "$2" 2>/dev/null | head -n 1 | sed 's/^0\.0\.0\.0:/localhost:/'; }

echo
echo "linkpulse is up:"
echo "  app          http://$(published nginx 8080)/"
echo "  prometheus   http://$(published prometheus 9090)/"
echo "  alertmanager http://$(published alertmanager 9093)/"
echo "  alert-sink   http://$(published alert-sink 9095)/notifications  (what Alertmanager delivered)"
if grafana=$(published grafana 3000) && [ -n "$grafana" ]; then
  echo "  grafana      http://$grafana/  (user admin, password GRAFANA_ADMIN_PASSWORD in .env)"
else
  echo "  grafana      not running: its image needs a registry (Debian does not package it)"
fi
