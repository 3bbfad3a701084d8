"""What an app instance owns (settings, Redis-backed store, metrics), kept on the app itself."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from flask import Flask, current_app

from web.config import WebSettings
from web.metrics import WebMetrics
from web.store import LinkStore

EXTENSION_KEY = "linkpulse"


@dataclass(frozen=True)
class Services:
    settings: WebSettings
    store: LinkStore
    metrics: WebMetrics


def init_services(app: Flask, services: Services) -> None:
    app.extensions[EXTENSION_KEY] = services


def services() -> Services:
    return cast(Services, current_app.extensions[EXTENSION_KEY])
