#!/bin/sh
# Renders how nginx finds web, then runs the given command (the image's entrypoint chain).
#   WEB_UPSTREAM_RESOLVE empty (compose): the keep-alive upstream group linkpulse_web
#     (conf.d/linkpulse-http.conf), whose names nginx resolves once, at start or reload.
#   WEB_UPSTREAM_RESOLVE=host:port (Swarm, docs/scaling.md): that name resolved through Docker's
#     DNS at most a second ago, so replicas that start or stop during a rolling update are
#     followed without a reload; a failed connection is retried on another address
#     (proxy_next_upstream in default.conf). tasks.web:8000 names every healthy web task.
# The result is $NGINX_RUNTIME_DIR/web-upstream.conf, included by default.conf's server.
set -eu

out=${NGINX_RUNTIME_DIR:-/tmp/nginx-runtime}
target=${WEB_UPSTREAM_RESOLVE:-}

mkdir -p "$out"
if [ -z "$target" ]; then
  cat >"$out/web-upstream.conf" <<'CONF'
# Rendered by render-upstream.sh: WEB_UPSTREAM_RESOLVE is empty, so the upstream group.
set $linkpulse_web linkpulse_web;
CONF
else
  case "$target" in
    *[!A-Za-z0-9.:-]* | :* | *: | *:*:* | [!A-Za-z0-9]*)
      echo "nginx: WEB_UPSTREAM_RESOLVE='$target' is not host:port like tasks.web:8000" >&2
      exit 2 ;;
  esac
  port=${target#*:}
  case "$port" in
    "$target" | '' | *[!0-9]*)
      echo "nginx: WEB_UPSTREAM_RESOLVE='$target' is not host:port like tasks.web:8000" >&2
      exit 2 ;;
  esac
  cat >"$out/web-upstream.conf" <<CONF
# Rendered by render-upstream.sh from WEB_UPSTREAM_RESOLVE: web's replicas by DNS, fresh each second.
resolver 127.0.0.11 valid=1s ipv6=off;
resolver_timeout 2s;
set \$linkpulse_web $target;
CONF
fi

[ "$#" -eq 0 ] || exec "$@"
