#!/bin/sh
# Renders nginx's rate limits from the environment, then runs the given command (the image's
# entrypoint runs nginx). nginx cannot read variables in limit_req_zone or geo, so the settings
# become three small files under $NGINX_RUNTIME_DIR, which the config includes as runtime/...:
#   limits-http.conf   the zones and the exempt networks (http level)
#   limits-api.conf    the limit_req lines of /api/ (reads and writes)
#   limits-pages.conf  the limit_req lines of pages, redirects and the form (whose POST
#                      spends the write budget)
#   trusted-proxies.conf  whose X-Forwarded-For names the client (TRUSTED_PROXIES)
# Settings (.env, docs/configuration.md): RATE_LIMIT_{WRITE,READ,PAGES} as nginx rates (20r/s,
# 600r/m), RATE_LIMIT_{WRITE,READ,PAGES}_BURST as request counts, and RATE_LIMIT_EXEMPT as
# comma-separated addresses or CIDR networks that are never limited (empty: nobody).
# TRUSTED_PROXIES, in the same form, are the load balancers in front of nginx: from them, and
# only from them, the client address is the last untrusted one in X-Forwarded-For (empty:
# nobody, so nobody can choose the address the limits and web's quota key on).
# The defaults are the rate/count calls below and nowhere else: compose passes an unset setting
# as empty; .env.example, docs/configuration.md and SECURITY.md show them, and
# tests/unit/test_rate_limit_defaults.py fails when one of those copies differs.
# A malformed value stops the container with one line naming the setting.
set -eu

out=${NGINX_RUNTIME_DIR:-/tmp/nginx-runtime}

fail() {
  echo "nginx: $1" >&2
  exit 2
}

rate() {
  value=$(printenv "$1" || true)
  value=${value:-$2}
  case "$value" in
    *[!0-9r/sm]* | r/* | *r/ | *r/?? ) fail "$1='$value' is not a rate like 20r/s or 600r/m" ;;
    *r/s | *r/m) echo "$value" ;;
    *) fail "$1='$value' is not a rate like 20r/s or 600r/m" ;;
  esac
}

count() {
  value=$(printenv "$1" || true)
  value=${value:-$2}
  case "$value" in
    '' | *[!0-9]*) fail "$1='$value' is not a whole number of requests" ;;
    *) echo "$value" ;;
  esac
}

# One address or CIDR network, IPv4 or IPv6; nginx's own check (nginx -t) is the final word.
network() {
  case "$1" in
    *[!0-9a-fA-F.:/]* | '' | */*/* | */ | /*) return 1 ;;
  esac
  prefix=${1#*/}
  [ "$prefix" = "$1" ] && return 0
  case "$prefix" in *[!0-9]* | '') return 1 ;; esac
  [ "$prefix" -le 128 ]
}

write_rate=$(rate RATE_LIMIT_WRITE 20r/s)
read_rate=$(rate RATE_LIMIT_READ 100r/s)
pages_rate=$(rate RATE_LIMIT_PAGES 300r/s)
write_burst=$(count RATE_LIMIT_WRITE_BURST 100)
read_burst=$(count RATE_LIMIT_READ_BURST 400)
pages_burst=$(count RATE_LIMIT_PAGES_BURST 600)

# The entries of setting $1, each checked, one a line as "$2<entry>$3".
networks() {
  lines=""
  old_ifs=$IFS
  IFS=,
  for entry in $(printenv "$1" || true); do
    entry=$(echo "$entry" | tr -d ' ')
    [ -z "$entry" ] && continue
    network "$entry" || fail "$1 entry '$entry' is not an address or CIDR network"
    lines="$lines$2$entry$3
"
  done
  IFS=$old_ifs
  printf %s "$lines"
}

exempt=$(networks RATE_LIMIT_EXEMPT "    " " 1;")
trusted=$(networks TRUSTED_PROXIES "set_real_ip_from " ";")

mkdir -p "$out"
cat >"$out/limits-http.conf" <<CONF
# Rendered by render-limits.sh from RATE_LIMIT_* at container start; edit .env, not this file.
geo \$linkpulse_rate_limit_exempt {
    default 0;
${exempt:+$exempt
}}
limit_req_zone \$linkpulse_write_limit_key zone=api_write:10m rate=$write_rate;
limit_req_zone \$linkpulse_read_limit_key zone=api_read:10m rate=$read_rate;
limit_req_zone \$linkpulse_limited_addr zone=pages:10m rate=$pages_rate;
CONF
cat >"$out/limits-api.conf" <<CONF
limit_req zone=api_write burst=$write_burst nodelay;
limit_req zone=api_read burst=$read_burst nodelay;
CONF
# The form's POST / creates links: it shares the API's write budget (api_write skips GET/HEAD).
cat >"$out/limits-pages.conf" <<CONF
limit_req zone=pages burst=$pages_burst nodelay;
limit_req zone=api_write burst=$write_burst nodelay;
CONF

# nginx's realip module: from a trusted peer $remote_addr becomes the client the balancer saw,
# for the limits, the exempt networks, the access log and the X-Forwarded-For web receives.
# Not the PROXY protocol: a listener that expects it refuses every client that does not send it.
{
  echo "# Rendered by render-limits.sh from TRUSTED_PROXIES at container start; edit .env, not this file."
  if [ -n "$trusted" ]; then
    printf '%s\nreal_ip_header X-Forwarded-For;\nreal_ip_recursive on;\n' "$trusted"
  fi
} >"$out/trusted-proxies.conf"

[ "$#" -eq 0 ] || exec "$@"
