from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from tests.support.redis_server import RedisServer, free_port
from tests.support.web_app import MakeApp, web_settings
from web import create_app


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(port=free_port(), data_dir=tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """A clean database on the shared server for each test."""
    redis.Redis.from_url(redis_server.url).flushall()
    return redis_server.url


@pytest.fixture
def make_app(request: pytest.FixtureRequest) -> MakeApp:
    """Builds a test app from tests.support.web_app's settings plus the given overrides.

    Without a REDIS_URL override the app uses this test's clean database (and only then is
    the shared redis-server started), so unit tests that pass their own never need one.
    """

    def make(**overrides: object) -> Flask:
        if "REDIS_URL" not in overrides:
            overrides["REDIS_URL"] = request.getfixturevalue("redis_url")
        app = create_app(web_settings(**overrides))
        app.config["TESTING"] = True
        return app

    return make


@pytest.fixture
def app(make_app: MakeApp) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
