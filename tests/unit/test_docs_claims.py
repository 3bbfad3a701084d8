"""What the docs name must exist: make targets, settings, repository paths, link anchors.

A newcomer follows README.md, SECURITY.md and docs/**/*.md literally, so every `make X` they are
told to run must be a Makefile target, every setting named in backticks must be read or set
somewhere in the code or configuration, and every path (in backticks or a link) must be in the
repository. The Makefile and the repository's files are read at test time: targets and files
come and go, and a list copied here would go stale exactly as the docs did.
"""

from __future__ import annotations

import fnmatch
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

# Where a setting must appear for a doc to name it: what runs, builds and configures the
# project (besides the compose files), never another doc.
SETTING_SOURCES = (
    "web",
    "worker",
    "linkpulse",
    "deploy",
    "rehearsal",
    "loadtest",
    "bench",
    "monitoring",
    "swarm",
    "scripts",
    "nginx",
    "docker",
    "tests",
    ".github",
    "Makefile",
    "Dockerfile",
    ".env.example",
)
SETTING_SUFFIXES = {".py", ".sh", ".yml", ".yaml", ".toml", ".conf", ".lua", ".cjs"}

# UPPER_SNAKE names a doc may put in backticks although no code of ours reads them, and why.
# (Names without an underscore, such as CI or PATH, are never taken for settings.)
NOT_OURS = {
    "DOCKER_HOST": "the Docker CLI's own: which engine docker and compose talk to",
    "LOCUST_HOST": "Locust's own: the variable form of --host, which wins over LOADTEST_HOST",
    "LOCUST_SPAWN_RATE": "Locust's own: the variable form of --spawn-rate",
    "LOCUST_RUN_TIME": "Locust's own: the variable form of --run-time",
}

FENCE = re.compile(r"^ {0,3}(```|~~~).*?^ {0,3}\1[^\n]*$", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.DOTALL)
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
# `make [-options] [VAR=value ...] TARGET`, also after `VAR=1 ` or a shell separator.
MAKE = re.compile(
    r"(?:^|[\s;&|(])make(?:\s+(?:-\S+|[A-Za-z_][A-Za-z0-9_]*=\S*))*\s+([a-z][a-z0-9_.-]*)"
)
MAKEFILE_RULE = re.compile(
    r"^([A-Za-z0-9][A-Za-z0-9_./%-]*(?:[ \t]+[A-Za-z0-9_./%-]+)*)[ \t]*:(?![:=])"
)
MAKEFILE_INCLUDE = re.compile(r"^-?include\s+(.+)$", re.MULTILINE)
# UPPER_SNAKE with an underscore: settings, not Redis commands (XADD) or acronyms. A name
# followed by `{` or `*` is a prefix (`RATE_LIMIT_{WRITE,READ}`, `RATE_LIMIT_*`).
SETTING = re.compile(r"(?<![A-Za-z0-9_$])\$?\{?([A-Z][A-Z0-9]*(?:_+[A-Z0-9]+)+)(_?[{*])?")
ASSIGNMENT = re.compile(r"(?:^|\s)([A-Z][A-Z0-9]*(?:_+[A-Z0-9]+)+)=")
# `image: ${IMAGE_PREFIX:-linkpulse}/nginx:...`: `linkpulse/nginx` in a doc is an image.
IMAGE = re.compile(r"image:\s*\$\{IMAGE_PREFIX:-([^}]+)\}/([a-z0-9._-]+)")
PATH_SPAN = re.compile(r"^[A-Za-z0-9_.][A-Za-z0-9_./*{},<>-]*$")
BRACES = re.compile(r"\{([^{}]*,[^{}]*)\}")
PLACEHOLDER = re.compile(r"<[^<>/]+>")


@dataclass(frozen=True)
class Finding:
    doc: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.doc}:{self.line}: {self.what}"


@dataclass(frozen=True)
class Snippet:
    """A doc's code: an inline code span, or one line of a fenced block; `line` is where."""

    text: str
    line: int
    fenced: bool


def docs() -> list[Path]:
    return sorted(
        [REPO_ROOT / "README.md", REPO_ROOT / "SECURITY.md", *(REPO_ROOT / "docs").rglob("*.md")]
    )


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _blank(match: re.Match[str]) -> str:
    """The match as spaces and its newlines: offsets and line numbers after it still hold."""
    return re.sub(r"[^\n]", " ", match.group(0))


def snippets(text: str) -> Iterator[Snippet]:
    for fence in FENCE.finditer(text):
        start = _line_of(text, fence.start())
        for number, line in enumerate(fence.group(0).splitlines()[1:-1], start=start + 1):
            yield Snippet(line, number, fenced=True)
    prose = FENCE.sub(_blank, text)
    for span in CODE_SPAN.finditer(prose):
        yield Snippet(span.group(2).strip(), _line_of(prose, span.start()), fenced=False)


# --- the repository ---------------------------------------------------------------------------
@cache
def repo_files() -> tuple[str, ...]:
    """Tracked files, and new ones git would add: what a fresh clone has (after the commit)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return tuple(sorted(name for name in listed.split("\0") if name))


@cache
def repo_dirs() -> frozenset[str]:
    return frozenset(
        "/".join(parts[:depth])
        for parts in (name.split("/") for name in repo_files())
        for depth in range(1, len(parts))
    )


@cache
def top_level() -> frozenset[str]:
    return frozenset(name.split("/", 1)[0] for name in repo_files())


def compose_files() -> list[Path]:
    return [REPO_ROOT / p for p in repo_files() if re.fullmatch(r"docker-compose[.\w]*\.yml", p)]


# --- make targets ---------------------------------------------------------------------------
@cache
def makefile_targets() -> frozenset[str]:
    targets: set[str] = set()
    pending = [REPO_ROOT / "Makefile"]
    while pending:
        text = pending.pop().read_text(encoding="utf-8")
        for line in text.splitlines():
            rule = MAKEFILE_RULE.match(line)
            if rule:
                targets.update(rule.group(1).split())
        for included in MAKEFILE_INCLUDE.findall(text):
            names = (REPO_ROOT / name for name in included.split() if "$" not in name)
            pending += [path for path in names if path.is_file()]
    return frozenset(targets - {".PHONY"})


def make_targets_named(snippet: Snippet) -> list[str]:
    text = snippet.text.split("#", 1)[0] if snippet.fenced else snippet.text
    return MAKE.findall(text)


# --- settings -------------------------------------------------------------------------------
@cache
def setting_text() -> str:
    """Every file a setting can be read or set in, as one text (this file left out)."""
    paths = compose_files()
    for name in SETTING_SOURCES:
        if (REPO_ROOT / name).is_file():
            paths.append(REPO_ROOT / name)
        else:
            paths += [
                REPO_ROOT / p
                for p in repo_files()
                if p.startswith(f"{name}/") and _setting_source(Path(p))
            ]
    this_file = Path(__file__).resolve()
    return "\n".join(
        p.read_text(encoding="utf-8") for p in paths if p.is_file() and p.resolve() != this_file
    )


def _setting_source(path: Path) -> bool:
    return path.suffix in SETTING_SUFFIXES or path.name.endswith("Dockerfile")


@cache
def ours(name: str, prefix: bool = False) -> bool:
    tail = r"[A-Z0-9_]*" if prefix else r"(?![A-Za-z0-9_])"
    return re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}{tail}", setting_text()) is not None


def settings_named(snippet: Snippet) -> list[tuple[str, bool]]:
    """The settings a snippet names, as (name, is_prefix). In fenced code only NAME=value."""
    if snippet.fenced:
        return [(name, False) for name in ASSIGNMENT.findall(snippet.text)]
    return [(name, bool(brace)) for name, brace in SETTING.findall(snippet.text)]


def setting_exists(name: str, prefix: bool) -> bool:
    # linkpulse/settings.py reads every setting of ours from NAME_FILE too (a file with the value).
    from_file = name.endswith("_FILE") and ours(name.removesuffix("_FILE"))
    return name in NOT_OURS or from_file or ours(name, prefix)


# --- paths ----------------------------------------------------------------------------------
def _expand_braces(pattern: str) -> list[str]:
    match = BRACES.search(pattern)
    if match is None:
        return [pattern]
    return [
        expanded
        for choice in match.group(1).split(",")
        for expanded in _expand_braces(pattern[: match.start()] + choice + pattern[match.end() :])
    ]


def path_exists(path: str) -> bool:
    """PATH names repository files or folders; `*`, `{a,b}` and `<name>` stand for any name."""
    for pattern in _expand_braces(PLACEHOLDER.sub("*", path.rstrip("/"))):
        if any(ch in pattern for ch in "*?["):
            if not any(fnmatch.fnmatchcase(name, pattern) for name in repo_files()):
                return False
        elif pattern not in repo_files() and pattern not in repo_dirs():
            return False
    return True


@cache
def ignored(path: str) -> bool:
    """Under what git ignores (`build/`, `loadtest/results/`): where the code writes, not a
    claim that the repository holds a file."""
    concrete = PLACEHOLDER.sub("x", _expand_braces(path)[0])
    result = subprocess.run(
        ["git", "check-ignore", "--quiet", "--no-index", concrete], cwd=REPO_ROOT, check=False
    )
    return result.returncode == 0


@cache
def images() -> frozenset[str]:
    """The images we build, as the docs name them (`linkpulse/app`)."""
    return frozenset(
        f"{prefix}/{name}"
        for path in compose_files()
        for prefix, name in IMAGE.findall(path.read_text(encoding="utf-8"))
    )


def repo_path_in_span(span: str) -> str | None:
    """The repository path a code span names, if any: one word with a `/` whose first part is
    a top-level file or folder (`web/config.py`, `.github/workflows/`), test ids and line
    numbers dropped. A bare word (`web`) names a service as often as a folder."""
    candidate = re.sub(r"(::\S+|:\d+(-\d+)?)$", "", span)
    if not PATH_SPAN.match(candidate) or "/" not in candidate or candidate in images():
        return None
    return candidate if candidate.split("/", 1)[0] in top_level() else None


# --- links and anchors ----------------------------------------------------------------------
def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"`|\*\*|__|\[([^\]]*)\]\([^)]*\)", r"\1", heading).lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


@cache
def anchors(doc: Path) -> frozenset[str]:
    # A repeated heading's anchor gets -1, -2, ...
    times: dict[str, int] = {}
    found: set[str] = set()
    for heading in HEADING.findall(FENCE.sub(_blank, doc.read_text(encoding="utf-8"))):
        base = slug(heading)
        found.add(f"{base}-{times[base]}" if base in times else base)
        times[base] = times.get(base, 0) + 1
    return frozenset(found)


def link_findings(doc: Path, text: str, name: str) -> Iterator[Finding]:
    prose = CODE_SPAN.sub(_blank, FENCE.sub(_blank, text))
    for link in LINK.finditer(prose):
        target = link.group(1)
        line = _line_of(prose, link.start())
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        resolved = (doc.parent / path).resolve() if path else doc
        if not resolved.is_relative_to(REPO_ROOT):
            yield Finding(name, line, f"link {target!r} leaves the repository")
            continue
        relative = resolved.relative_to(REPO_ROOT).as_posix()
        if path and not path_exists(relative):
            yield Finding(name, line, f"link {target!r}: no {relative} in the repository")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            yield Finding(name, line, f"link {target!r}: {relative} has no heading #{anchor}")


# --- the check ------------------------------------------------------------------------------
def findings_of(doc: Path) -> list[Finding]:
    text = doc.read_text(encoding="utf-8")
    name = doc.relative_to(REPO_ROOT).as_posix()
    found: list[Finding] = []
    for snippet in snippets(text):
        here = snippet.line
        for target in make_targets_named(snippet):
            if target not in makefile_targets():
                found.append(Finding(name, here, f"`make {target}`: no such Makefile target"))
        for setting, prefix in settings_named(snippet):
            if not setting_exists(setting, prefix):
                found.append(Finding(name, here, f"`{setting}`: no code or config has it"))
        path = None if snippet.fenced else repo_path_in_span(snippet.text)
        if path and not path_exists(path) and not ignored(path):
            found.append(Finding(name, here, f"`{path}`: not in the repository"))
    found += link_findings(doc, text, name)
    return found


def test_every_make_target_setting_path_and_anchor_the_docs_name_exists() -> None:
    findings = [finding for doc in docs() for finding in findings_of(doc)]
    assert not findings, "the docs name what does not exist:\n" + "\n".join(map(str, findings))


def test_names_allowed_as_not_ours_are_really_not_read_by_our_code() -> None:
    assert [name for name in NOT_OURS if ours(name)] == []


# --- the checker's own parts ------------------------------------------------------------------
def _code(text: str, fenced: bool = False) -> Snippet:
    return Snippet(text, 1, fenced)


def test_a_make_command_is_read_past_its_options_and_variables() -> None:
    assert make_targets_named(_code("make up")) == ["up"]
    assert make_targets_named(_code("FORCE=1 make clean")) == ["clean"]
    assert make_targets_named(_code("flock x.lock make -s test-stack STACK_TESTS=a")) == [
        "test-stack"
    ]
    assert make_targets_named(_code("make up   # make sure", fenced=True)) == ["up"]
    assert make_targets_named(_code("makefile")) == []


def test_makefile_targets_are_its_rules_not_its_variables() -> None:
    targets = makefile_targets()
    assert {"help", "lint", "test-fast", "test-stack", "up"} <= targets
    assert not {"PYTHON", "BIN", ".PHONY", "export"} & targets


def test_settings_are_upper_snake_names_and_prefixes_before_a_brace() -> None:
    assert settings_named(_code("CREATE_QUOTA_PER_HOUR")) == [("CREATE_QUOTA_PER_HOUR", False)]
    assert settings_named(_code("${HTTP_BIND:-0.0.0.0}")) == [("HTTP_BIND", False)]
    assert settings_named(_code("RATE_LIMIT_{WRITE,READ}_BURST")) == [("RATE_LIMIT", True)]
    assert settings_named(_code("LOADTEST_MAX_*")) == [("LOADTEST_MAX", True)]
    assert settings_named(_code("GF_A__FILE")) == [("GF_A__FILE", False)]
    assert settings_named(_code("XADD MAXLEN ~")) == []
    assert settings_named(_code("IMAGE_TAG=abc make up", fenced=True)) == [("IMAGE_TAG", False)]
    assert setting_exists("REDIS_URL_FILE", prefix=False)
    assert setting_exists("RATE_LIMIT", prefix=True)
    assert not setting_exists("NO_SUCH_SETTING_ANYWHERE", prefix=False)


def test_paths_are_files_of_the_repository_with_globs_braces_and_placeholders() -> None:
    assert repo_path_in_span("web/config.py") == "web/config.py"
    assert repo_path_in_span("tests/unit/test_x.py::test_y") == "tests/unit/test_x.py"
    assert repo_path_in_span("web") is None
    assert repo_path_in_span("/run/secrets/") is None
    assert repo_path_in_span("linkpulse/app") is None  # an image
    assert path_exists("docker/offline/<name>.Dockerfile")
    assert path_exists("monitoring/{prometheus,alertmanager}/Dockerfile")
    assert not path_exists("web/no_such_module.py")
    assert ignored("build/wheels/")


def test_anchors_are_github_heading_slugs() -> None:
    assert slug("The swarm tier (`make test-swarm`)") == "the-swarm-tier-make-test-swarm"
    assert slug("With IPVS: the VIP setup") == "with-ipvs-the-vip-setup"
    assert "reaching-the-monitoring-uis" in anchors(REPO_ROOT / "docs" / "scaling.md")
