#!/bin/sh
# Alertmanager's start: the receiver the operator names (ALERT_RECEIVER and the settings below,
# from .env, the VM's .env or [swarm.settings] plus a Swarm secret) replaces the shipped file's
# `receivers:` at container start, so no address or key is ever part of the image or of a committed
# file. Unset, or `sink`, keeps the shipped file: alerts go to the stack's alert sink, pages nobody.
#
#   ALERT_RECEIVER        sink | webhook | slack | pagerduty | email
#   ALERT_RECEIVER_KEY    the secret: webhook URL, Slack incoming-webhook URL, PagerDuty routing
#                         key, or the SMTP password (email, optional); or ALERT_RECEIVER_KEY_FILE,
#                         a file holding it (a Swarm secret)
#   ALERT_EMAIL_TO, ALERT_EMAIL_FROM, ALERT_SMTP_SMARTHOST (host:port), ALERT_SMTP_USERNAME (email)
#
# The secret reaches Alertmanager only through its *_file fields, so the rendered configuration
# (which `python -m deploy status` reads) holds a path, never the key. A bad value stops the start
# with one line naming the setting, never echoing a secret.
# RECEIVER_RENDER_ONLY=1 writes the configuration, prints its path and exits (the tests use it).
set -eu

template=${ALERT_TEMPLATE:-/etc/alertmanager/alertmanager.yml}
out_dir=${ALERT_RENDER_DIR:-/alertmanager}
key_dir=${ALERT_KEY_DIR:-/run/receiver}
kind=${ALERT_RECEIVER:-sink}
config="$out_dir/active.yml"

fail() {
    echo "alertmanager: $*" >&2
    exit 2
}

matches() { printf '%s' "$1" | grep -Eq "$2"; }

case "$kind" in
    sink | webhook | slack | pagerduty | email) ;;
    *) fail "ALERT_RECEIVER=$kind is not one of sink, webhook, slack, pagerduty, email" ;;
esac

if [ "$kind" = sink ]; then
    cp "$template" "$config"
else
    if [ -n "${ALERT_RECEIVER_KEY_FILE:-}" ]; then
        [ -r "$ALERT_RECEIVER_KEY_FILE" ] \
            || fail "ALERT_RECEIVER_KEY_FILE=$ALERT_RECEIVER_KEY_FILE is not a readable file"
        key_file=$ALERT_RECEIVER_KEY_FILE
        key=$(cat "$key_file")
    else
        key=${ALERT_RECEIVER_KEY:-}
        key_file="$key_dir/key"
        if [ -n "$key" ]; then
            (umask 077 && printf '%s' "$key" >"$key_file") \
                || fail "ALERT_RECEIVER_KEY: cannot write it to $key_dir (a tmpfs the service mounts)"
        fi
    fi
    unset ALERT_RECEIVER_KEY

    case "$kind" in
        webhook | slack)
            [ -n "$key" ] || fail "ALERT_RECEIVER_KEY is empty: the $kind receiver needs the URL it posts to"
            matches "$key" '^https?://[^[:space:]/]+[^[:space:]]*$' \
                || fail "ALERT_RECEIVER_KEY is not an http(s) URL: the $kind receiver posts to it"
            ;;
        pagerduty)
            matches "$key" '^[A-Za-z0-9]{32}$' \
                || fail "ALERT_RECEIVER_KEY is not a PagerDuty routing key (32 letters and digits)"
            ;;
        email)
            address='^[^@[:space:],'"'"']+@[^@[:space:],'"'"']+$'
            matches "${ALERT_EMAIL_TO:-}" "$address" \
                || fail "ALERT_EMAIL_TO='${ALERT_EMAIL_TO:-}' is not an email address"
            matches "${ALERT_EMAIL_FROM:-}" "$address" \
                || fail "ALERT_EMAIL_FROM='${ALERT_EMAIL_FROM:-}' is not an email address"
            matches "${ALERT_SMTP_SMARTHOST:-}" '^[A-Za-z0-9.-]+:[0-9]+$' \
                || fail "ALERT_SMTP_SMARTHOST='${ALERT_SMTP_SMARTHOST:-}' is not host:port"
            if [ -n "$key" ]; then
                matches "${ALERT_SMTP_USERNAME:-}" '^[^[:space:]'"'"']+$' \
                    || fail "ALERT_SMTP_USERNAME is empty or not one word: an SMTP password needs it"
            fi
            ;;
    esac

    # One integration for each shipped receiver; PagerDuty gets the route's severity.
    integration() {
        case "$kind" in
            webhook) printf '    webhook_configs:\n      - url_file: %s\n        max_alerts: 20\n' "$key_file" ;;
            slack) printf '    slack_configs:\n      - api_url_file: %s\n' "$key_file" ;;
            pagerduty) printf '    pagerduty_configs:\n      - routing_key_file: %s\n        severity: %s\n' "$key_file" "$1" ;;
            email)
                printf "    email_configs:\n      - to: '%s'\n        from: '%s'\n        smarthost: '%s'\n" \
                    "$ALERT_EMAIL_TO" "$ALERT_EMAIL_FROM" "$ALERT_SMTP_SMARTHOST"
                if [ -n "$key" ]; then
                    printf "        auth_username: '%s'\n        auth_password_file: %s\n" \
                        "$ALERT_SMTP_USERNAME" "$key_file"
                fi
                ;;
        esac
        printf '        send_resolved: true\n'
    }
    receivers="$out_dir/receivers.yml"
    {
        printf 'receivers:\n  - name: team-pager\n'
        integration critical
        printf '  - name: team-warnings\n'
        integration warning
    } >"$receivers"
    awk -v block="$receivers" '
        /^receivers:/ { while ((getline line < block) > 0) print line; skip = 1; next }
        skip && /^[^ #]/ { skip = 0 }
        !skip { print }
    ' "$template" >"$config"
    rm -f "$receivers"
fi

if [ "${RECEIVER_RENDER_ONLY:-}" = 1 ]; then
    echo "$config"
    exit 0
fi
exec /bin/alertmanager --config.file="$config" "$@"
