"""One manifest request to a registry's v2 API, and what its answer means for this machine.

A HEAD of one manifest is enough to tell "no registry here" from "the registry refuses": it
downloads nothing, and the registry most images come from does not count HEAD requests against
its pull rate limit. Only an answer that never arrives (no name, no route, refused connection,
silence until the timeout) means unreachable; a registry that answers "too many requests",
"denied" or an error is there, and the machine must not fall back to stand-ins because of it.
"""

from __future__ import annotations

import json
import re
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, replace
from email.message import Message
from enum import StrEnum

# Where unqualified names such as redis:8.0.2 or prom/prometheus:v2.53.3 resolve: the registry
# our pinned images come from. LINKPULSE_REGISTRY_URL points the probe elsewhere (a mirror).
DEFAULT_REGISTRY = "https://registry-1.docker.io"
DEFAULT_TIMEOUT = 10.0
# An index first: a pin names the multi-platform image, as `docker pull name:tag` resolves it.
MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)


class Outcome(StrEnum):
    REACHABLE = "reachable"
    RATE_LIMITED = "rate-limited"
    DENIED = "denied"
    FAILING = "failing"
    UNREACHABLE = "unreachable"


@dataclass(frozen=True)
class Answer:
    outcome: Outcome
    detail: str
    seconds: float = 0.0
    digest: str | None = None

    def line(self, registry: str) -> str:
        return f"registry {registry}: {self.outcome} ({self.detail}) after {self.seconds:.2f} s"


class _NoAnswerError(Exception):
    """The request got no HTTP answer at all."""


def repository_path(name: str) -> tuple[str, str]:
    """'redis:8.0.2' -> ('library/redis', '8.0.2'); a digest, when present, is the reference."""
    name, _, digest = name.partition("@")
    repository, _, tag = name.rpartition(":")
    if "/" not in repository:
        repository = f"library/{repository}"
    return repository, digest or tag


def _request(url: str, headers: dict[str, str], method: str, timeout: float) -> tuple[int, Message]:
    request = urllib.request.Request(url, headers=headers, method=method)  # noqa: S310 (http/https: checked)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.headers
    except (urllib.error.URLError, OSError) as error:
        raise _NoAnswerError(_why(error, timeout)) from error


def _why(error: Exception, timeout: float) -> str:
    reason = error.reason if isinstance(error, urllib.error.URLError) else error
    if isinstance(reason, socket.gaierror):
        return "its name does not resolve"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, TimeoutError):
        return f"no answer within {timeout:g} s"
    return str(reason) or type(reason).__name__


def _classify(status: int, headers: Message) -> Answer:
    if 200 <= status < 300:
        return Answer(Outcome.REACHABLE, f"{status}", digest=headers.get("Docker-Content-Digest"))
    if status == 429:
        wait = headers.get("Retry-After")
        return Answer(
            Outcome.RATE_LIMITED, "429: rate limited" + (f", retry after {wait} s" if wait else "")
        )
    if status in (401, 403):
        return Answer(Outcome.DENIED, f"{status}: access denied, `docker login` may be needed")
    if status == 404:
        return Answer(Outcome.FAILING, "404: the registry has no such image or digest")
    return Answer(Outcome.FAILING, f"{status}: the registry answered with an error")


def _bearer_challenge(headers: Message) -> dict[str, str] | None:
    challenge = headers.get("WWW-Authenticate", "")
    if not challenge.lower().startswith("bearer "):
        return None
    return dict(re.findall(r'(\w+)="([^"]*)"', challenge))


def _anonymous_token(challenge: dict[str, str], repository: str, timeout: float) -> str | Answer:
    """The token flow every public registry uses for anonymous pulls."""
    query = {"scope": challenge.get("scope", f"repository:{repository}:pull")}
    if "service" in challenge:
        query["service"] = challenge["service"]
    url = f"{challenge.get('realm', '')}?{urllib.parse.urlencode(query)}"
    if not url.startswith(("http://", "https://")):
        return Answer(Outcome.FAILING, f"the token service's address is not http(s): {url}")
    request = urllib.request.Request(url, method="GET")  # noqa: S310 (http/https: checked)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            body = json.load(response)
    except urllib.error.HTTPError as error:
        return _classify(error.code, error.headers)
    except (urllib.error.URLError, OSError) as error:
        raise _NoAnswerError(f"token service: {_why(error, timeout)}") from error
    except ValueError:
        body = None
    token = (body.get("token") or body.get("access_token")) if isinstance(body, dict) else None
    if not isinstance(token, str):
        return Answer(Outcome.FAILING, "the token service answered without a token")
    return token


def head_manifest(registry: str, image: str, timeout: float = DEFAULT_TIMEOUT) -> Answer:
    """Ask `registry` for `image`'s manifest (name:tag or name:tag@digest), timed."""
    if not registry.startswith(("http://", "https://")):
        raise ValueError(f"registry address must be http(s)://...: {registry}")
    started = time.monotonic()
    repository, reference = repository_path(image)
    url = f"{registry.rstrip('/')}/v2/{repository}/manifests/{reference}"
    headers = {"Accept": MANIFEST_TYPES}
    try:
        status, answer_headers = _request(url, headers, "HEAD", timeout)
        challenge = _bearer_challenge(answer_headers) if status == 401 else None
        if challenge is not None:
            token = _anonymous_token(challenge, repository, timeout)
            if isinstance(token, Answer):
                return _timed(token, started)
            headers["Authorization"] = f"Bearer {token}"
            status, answer_headers = _request(url, headers, "HEAD", timeout)
    except _NoAnswerError as error:
        return _timed(Answer(Outcome.UNREACHABLE, str(error)), started)
    return _timed(_classify(status, answer_headers), started)


def _timed(answer: Answer, started: float) -> Answer:
    return replace(answer, seconds=time.monotonic() - started)
