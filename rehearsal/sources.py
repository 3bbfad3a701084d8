"""The rehearsal's versions, as commits of a scratch repository made from this checkout:

A  this checkout's HEAD, as committed
B  A plus a harmless change to web (a new app image)
C  B with a readiness check that always answers 503: fails its health check
D  B with redirects slowed to 300 ms: healthy, but over the p99 objective
F  B with redirects slowed by 40 ms: inside the p99 objective (100 ms), several times slower
   than B: only a comparison with the old version catches it (issue 18)
G  B with 2 % of redirects answering 500
H  B with one operator setting changed (deploy/environments/production.toml): a settings release
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

GIT_IDENTITY = ["-c", "user.name=rehearsal", "-c", "user.email=rehearsal@localhost"]


# Every redirect goes through LinkStore.resolve_and_record, on Flask's path and on the lean
# path below it (web/fast_redirect.py) alike: slowing it there slows every redirect.
_RESOLVE = (
    "        `attempt_id` names this redirect attempt: a retry of it appends no second event.\n"
    '        """\n'
)
# G's failures by count, not by chance: every 50th redirect of each web process, its first one
# included, so the first step's 100 redirects hold some however many processes share them (from
# the 10th on, a run with many processes saw none at 10 % and failed G only at 50 %). A failed
# attempt fails again when the lean path hands it to Flask's (web/fast_redirect.py), so it is
# answered 500, and counted as one.
_EVERY_50TH_FAILS = (
    "        g = globals().setdefault('_rehearsal_g', {'n': 0, 'failing': set()})\n"
    "        if attempt_id not in g['failing']:\n"
    "            g['n'] += 1\n"
    "            if g['n'] % 50 == 1:\n"
    "                g['failing'].add(attempt_id)\n"
    "        if attempt_id in g['failing']:  # rehearsal release G: 2 % of redirects fail\n"
    "            raise RuntimeError('rehearsal release G')\n"
)
# (version, made from, file, exact text, replacement, commit message)
PATCHES = (
    (
        "B",
        "A",
        "web/redirects.py",
        '"""GET /{code}: the hot path, one Redis round trip per redirect.\n',
        '"""GET /{code}: the hot path, one Redis round trip per redirect (rehearsal release B).\n',
        "B: a healthy new version",
    ),
    (
        "C",
        "B",
        "web/ops.py",
        "def readyz() -> Response:\n",
        "def readyz() -> Response:\n"
        "    if __name__:  # rehearsal release C: a broken build that never becomes ready\n"
        '        return Response(\'{"error": "rehearsal: broken build"}\', 503,'
        ' mimetype="application/json")\n',
        "C: fails its health check",
    ),
    (
        "D",
        "B",
        "web/store.py",
        _RESOLVE,
        _RESOLVE
        + "        __import__('time').sleep(0.3)  # rehearsal release D: healthy but slow\n",
        "D: healthy, fails the SLO check",
    ),
    (
        "F",
        "B",
        "web/store.py",
        _RESOLVE,
        _RESOLVE + "        __import__('time').sleep(0.04)  # rehearsal release F: 40 ms slower\n",
        "F: redirects 40 ms slower, inside the SLO",
    ),
    (
        "G",
        "B",
        "web/store.py",
        _RESOLVE,
        _RESOLVE + _EVERY_50TH_FAILS,
        "G: 2 % of redirects answer 500",
    ),
    (
        "H",
        "B",
        "deploy/environments/production.toml",
        '# REDIS_MAXMEMORY = "200mb"         # CONFIG SET on the running Redis: no restart\n',
        'REDIS_MAXMEMORY = "300mb"  # rehearsal release H: a settings change\n',
        "H: an operator setting changed (REDIS_MAXMEMORY)",
    ),
)


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *GIT_IDENTITY, *args], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()


def _replace_once(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    if text.count(old) != 1:
        raise RuntimeError(f"rehearsal patch: {path.name} no longer has exactly one {old!r}")
    path.write_text(text.replace(old, new))


def make_versions(checkout: Path, dest: Path) -> dict[str, str]:
    """Returns version letter -> full sha; build/wheels is copied in (releases need it)."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "archive", "--format=tar", "HEAD"], cwd=checkout, capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    _git(dest, "init", "-q", "-b", "rehearsal-a")
    _git(dest, "add", "-A")
    _git(dest, "commit", "-q", "-m", "A: the checkout under test")
    shas = {"A": _git(dest, "rev-parse", "HEAD")}

    for letter, base, path, old, new, message in PATCHES:
        _git(dest, "checkout", "-q", "-b", f"rehearsal-{letter.lower()}", shas[base])
        _replace_once(dest / path, old, new)
        _git(dest, "commit", "-q", "-am", message)
        shas[letter] = _git(dest, "rev-parse", "HEAD")

    shutil.copytree(checkout / "build" / "wheels", dest / "build" / "wheels")
    return shas


def checkout(repo: Path, letter: str) -> None:
    _git(repo, "checkout", "-q", f"rehearsal-{letter.lower()}")
