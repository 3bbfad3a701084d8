"""The linkpulse web service: `create_app()` builds a configured Flask app.

Run it with `gunicorn -c web/gunicorn_conf.py "web:create_app()"`. Importing this package
creates nothing: the Redis client, metrics and settings belong to the app instance.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask

from linkpulse.logs import configure_logging
from linkpulse.redis_client import connect
from linkpulse.settings import ConfigError, exit_on_config_error, load_settings
from web import api, ops, pages, redirects
from web.config import WebSettings, trusted_proxy_networks
from web.errors import register_error_handlers
from web.extensions import Services, init_services
from web.fast_redirect import FastRedirect
from web.metrics import WebMetrics
from web.observability import register_request_hooks
from web.proxy import TrustedProxyFix
from web.store import LinkStore

# The largest legitimate body is POST /api/links: a URL of at most 2048 characters and an
# alias. 16 KiB leaves room. nginx refuses larger bodies first, with the same limit written
# into its static config (nginx/conf.d/default.conf; tests/unit/test_body_limit.py compares).
MAX_BODY_BYTES = 16 * 1024


def create_app(settings: WebSettings | None = None) -> Flask:
    """Build the app; with no `settings`, read and validate them from the environment.

    Reading the environment means this call owns the process, so it also sets up JSON
    logging and exits with one line on a bad setting. Callers passing `settings` (tests,
    embedding) keep their own logging and get exceptions instead.
    """
    if settings is None:
        try:
            settings = load_settings(WebSettings)
        except ConfigError as error:
            exit_on_config_error(error, "web")
        configure_logging("web", settings.log_level)

    app = Flask(__name__)
    public = urlsplit(settings.public_base_url)
    app.config.update(
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        MAX_FORM_MEMORY_SIZE=MAX_BODY_BYTES,
        # werkzeug builds the absolute URL of its own redirects (merged slashes, a missing
        # trailing slash) from SERVER_NAME when set, else from the client's Host header, which
        # would let a client make us redirect to any host. Routing ignores it (Flask 3.1), so
        # internal callers using other names (web:8000, localhost) are still served.
        SERVER_NAME=public.netloc,
        PREFERRED_URL_SCHEME=public.scheme,
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]

    client = connect(settings.redis_url, client_name="linkpulse-web")
    app_services = Services(
        settings=settings,
        store=LinkStore(client, settings.click_stream_maxlen, settings.create_memory_limit_percent),
        metrics=WebMetrics(
            settings.app_version,
            settings.git_revision,
            click_stream_maxlen=settings.click_stream_maxlen,
        ),
    )
    init_services(app, app_services)
    # Redirects for found links skip Flask (web.fast_redirect); the proxy layer runs first.
    app.wsgi_app = TrustedProxyFix(  # type: ignore[method-assign]
        FastRedirect(app.wsgi_app, app_services),
        trusted=trusted_proxy_networks(settings.forwarded_allow_ips),
        hops=settings.trusted_proxy_hops,
    )
    register_request_hooks(app)
    register_error_handlers(app)

    app.register_blueprint(ops.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(pages.bp)
    # /<code> takes any single path segment; werkzeug still prefers the fixed paths above,
    # and codes.RESERVED_WORDS keeps aliases from ever naming one of them.
    app.register_blueprint(redirects.bp)
    return app
