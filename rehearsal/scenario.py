"""The rehearsal's steps, each run with the real CLI under continuous load (issue 7, steps 1-5).

Each step's command, exit status, duration and failed-request count is recorded in a Summary;
`checks` holds every claim the rehearsal proves, so a failed one names itself.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import requests

from rehearsal import (
    canary_part,
    drill_cases,
    first_deploy,
    infra,
    profile,
    quiet,
    rotation_part,
    runbook_verbs,
    settings_part,
    sources,
)
from rehearsal.day_two import DayTwo
from rehearsal.drills import is_drill
from rehearsal.load import LoadLoop
from rehearsal.swarm_part import PLANNED_OUTAGES, SwarmPart

PUBLIC_URL = f"http://127.0.0.1:{infra.HTTP_PORT}"


@contextlib.contextmanager
def build_lock() -> Iterator[None]:
    """On a machine whose Docker engine is shared, REHEARSAL_BUILD_LOCK names a lock file that
    image builds take (flock); the rest of the rehearsal needs no lock (its names are its own)."""
    path = os.environ.get("REHEARSAL_BUILD_LOCK")
    if not path:
        yield
        return
    with open(path, "a") as handle:
        print(f"rehearsal: waiting for the build lock {path}", flush=True)
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@dataclass
class Step:
    name: str
    command: str
    exit_code: int
    duration_s: float
    requests: int = 0
    failed_requests: int = 0
    started_at: float = 0.0  # seconds into the load loop
    ended_at: float = 0.0
    last_line: str = ""


@dataclass
class Summary:
    versions: dict[str, str] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    checks: dict[str, bool] = field(default_factory=dict)
    notes: dict[str, object] = field(default_factory=dict)
    drills: list[dict[str, object]] = field(default_factory=list)
    # Deploys with no load running, judged on probes (rehearsal/quiet.py).
    quiet_first_deploy: dict[str, object] = field(default_factory=dict)
    quiet_slow_release: dict[str, object] = field(default_factory=dict)
    canary: list[dict[str, object]] = field(default_factory=list)  # rehearsal/canary_part.py

    def check(self, name: str, ok: bool) -> None:
        self.checks[name] = bool(ok)
        print(f"rehearsal: [{'PASS' if ok else 'FAIL'}] {name}", flush=True)

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(self.checks.values())

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")


class Runner:
    def __init__(self, repo: Path, workdir: Path) -> None:
        self.repo = repo
        self.workdir = workdir
        self.rehearsal = infra.Rehearsal(workdir)
        self.src = workdir / "src"
        self.summary = Summary()
        self.load = LoadLoop(PUBLIC_URL)
        self.log = (workdir / "rehearsal.log").open("w")
        self.last_output = ""  # the last step's stdout and stderr
        self.env = {
            **os.environ,
            "DOCKER_CONFIG": str(self.rehearsal.docker_config),
            "DEPLOY_ACTOR": "rehearsal",
        }

    def tool(
        self, *args: str, config: Path | None = None, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        argv = [
            sys.executable,
            "-m",
            "deploy",
            "--config",
            str(config or self.rehearsal.config_file),
            *args,
        ]
        return self._logged(argv, f"$ {' '.join(argv[2:])}", self.repo, stdin)

    def _logged(
        self, argv: list[str], title: str, cwd: Path, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        self.log.write(f"\n{title}\n")
        result = subprocess.run(
            argv, cwd=cwd, capture_output=True, text=True, env=self.env, check=False, input=stdin
        )
        self.log.write(result.stdout + result.stderr)
        self.log.flush()
        return result

    def step(
        self, name: str, *args: str, config: Path | None = None, script: str | None = None
    ) -> Step:
        """One step: the deploy tool with ARGS, or a bash SCRIPT run in the rehearsal's checkout."""
        what = "bash script" if script else f"deploy {' '.join(args)}"
        print(f"rehearsal: {name}: {what}", flush=True)
        self.load.set_phase(name)
        started, at = time.monotonic(), self.load.now()
        if script is not None:
            result = self._logged(["bash", "-c", script], f"$ bash -c <{name}>", self.src)
        else:
            result = self.tool(*args, config=config)
        self.last_output = (result.stdout + result.stderr).strip()
        output = self.last_output.splitlines()
        record = Step(
            name=name,
            command=" ".join(args),
            exit_code=result.returncode,
            duration_s=round(time.monotonic() - started, 1),
            started_at=round(at, 1),
            ended_at=round(self.load.now(), 1),
            last_line=output[-1] if output else "",
        )
        self.load.set_phase(f"after {name}")
        record.requests = self.load.count(name)
        record.failed_requests = len(self.load.failures(name))
        self.summary.steps.append(record)
        print(
            f"rehearsal: {name}: exit {record.exit_code} in {record.duration_s}s, "
            f"{record.failed_requests} of {record.requests} requests failed | "
            f"{record.last_line[:200]}",
            flush=True,
        )
        if record.exit_code != 0:
            # The stages that led to the failure, so a CI log alone tells what happened.
            for line in output[-16:-1]:
                print(f"rehearsal:   | {line[:200]}", flush=True)
        return record

    # ------------------------------------------------------------------------------------------
    def prepare(self) -> None:
        print("rehearsal: building the registry and VM stand-in images", flush=True)
        self.rehearsal.build_images()
        passwords = self.rehearsal.start()
        self.rehearsal.docker_config.mkdir(parents=True, exist_ok=True)
        login = subprocess.run(
            [
                "docker",
                "login",
                "--username",
                infra.PUSH_USER,
                "--password-stdin",
                f"127.0.0.1:{infra.REGISTRY_PORT}",
            ],
            input=passwords[infra.PUSH_USER],
            capture_output=True,
            text=True,
            env=self.env,
            check=False,
        )
        if login.returncode != 0:
            raise RuntimeError(f"CI's registry login failed: {login.stderr.strip()}")
        self.summary.versions = sources.make_versions(self.repo, self.src)
        with build_lock():
            self._release_all()

    def _release_all(self) -> None:
        left_out: set[str] = set()
        for letter in "ABCDH" + canary_part.EXTRA:
            sources.checkout(self.src, letter)
            started = time.monotonic()
            result = self.tool("release", "--source", str(self.src))
            if result.returncode != 0:
                raise RuntimeError(f"release {letter} failed: {result.stderr.strip()[-300:]}")
            self.summary.notes[f"release {letter} s"] = round(time.monotonic() - started, 1)
            left_out |= {line for line in result.stdout.splitlines() if line.startswith("left out")}
            print(
                f"rehearsal: released {letter} = {self.summary.versions[letter][:12]}", flush=True
            )
        self.summary.notes["left out"] = sorted(left_out)

    def run(self) -> Summary:
        v = self.summary.versions
        src = ["--source", str(self.src)]
        # A fresh VM has no visitors: the first-deploy drill, A's first deploy and D's after it
        # run before the load loop starts (A's and D's are judged on probes).
        self.summary.notes["profile"] = "full" if profile.full() else "test"
        drill_cases.first_deploy(self)
        a = self._first_deploy_as_documented()
        self.summary.check(
            "1: docs/deploy.md's steps take the fresh VM to a first deploy of A, as written",
            a.exit_code == 0,
        )
        if a.exit_code != 0:  # every later step builds on it: stop here, with its output logged
            raise RuntimeError(f"the documented first deploy failed: {a.last_line}")
        a_output = self.last_output
        # From here on the rehearsal's own configuration and key, which provision (idempotent)
        # authorizes for the deploy user.
        provision = self.step("provision", "provision", "--source", str(self.repo))
        self.summary.check(
            "provision, run again on the provisioned VM, succeeds", provision.exit_code == 0
        )
        self._quiet_steps(a, a_output)
        # The load loop needs a public port to create its links: it starts once A serves.
        threading.Thread(target=self._start_load_when_up, daemon=True).start()
        self.summary.check("1: the app reports A's version", self._reports(v["A"]))
        redis_before = self._redis_identity()

        b = self.step("2 deploy B", "deploy", v["B"], *src)
        self.summary.check(
            "2: B deploys with zero failed requests", b.exit_code == 0 and b.failed_requests == 0
        )
        self.summary.check("2: traffic ends on B", self._reports(v["B"]))
        b_canary = canary_part.record(self, "B", b)

        c = self.step("3 deploy C (fails health check)", "deploy", v["C"], *src)
        self.summary.check(
            "3: C is refused, rolled back, zero failed requests",
            c.exit_code != 0 and "health check" in c.last_line and c.failed_requests == 0,
        )
        self.summary.check("3: B still serves after C", self._reports(v["B"]))
        d = self.step("3 deploy D (canary: 300 ms slower)", "deploy", v["D"], *src)
        self.summary.check(
            "3: D is rolled back by its canary's judge, zero failed requests",
            d.exit_code != 0 and "canary FAIL" in d.last_line and d.failed_requests == 0,
        )
        self.summary.check("3: B still serves after D", self._reports(v["B"]))
        canary_part.check_b_and_d(self, b_canary, canary_part.record(self, "D", d))
        canary_part.run(self)

        self._bad_inputs()
        self._rollback_with_concurrent_deploy()
        self._stale_lock()
        self.summary.check("4: A serves after the rollback", self._reports(v["A"]))
        self.summary.check("Redis was never restarted", self._redis_identity() == redis_before)
        drill_cases.run(self)
        runbook_verbs.run(self)
        DayTwo(self, PUBLIC_URL).run()
        rotation_part.run(self)
        settings_part.run(self)
        history = self.tool("history")
        self.log.write(history.stdout)
        self.summary.notes["history"] = history.stdout.splitlines()
        SwarmPart(self).run()
        self._clicks_equal_redirects()
        return self.summary

    def _first_deploy_as_documented(self) -> Step:
        """docs/deploy.md's first-deploy section, run as written in the checkout of A, with the
        rehearsal's VM, registry and keys as the reader's."""
        sources.checkout(self.src, "A")
        first_deploy.as_set_up_checkout(self.repo, self.src)
        values = first_deploy.values(self.workdir, self.rehearsal.host_key(), PUBLIC_URL)
        shutil.rmtree(values["CONFIG_DIR"], ignore_errors=True)
        script = first_deploy.script(first_deploy.read(self.repo), values, infra.STAND_IN_CONFIG)
        with build_lock():  # its release builds A's images again (from the build cache)
            return self.step("1 deploy A (docs/deploy.md, fresh VM to first deploy)", script=script)

    def _quiet_steps(self, a: Step, a_output: str) -> None:
        first = quiet.read(a_output, a.duration_s, a.requests)
        self.summary.quiet_first_deploy = {**asdict(first), "exit_code": a.exit_code}
        self.summary.check(
            "1: the quiet first deploy gets a real verdict, on probes alone, in under 4 minutes",
            first.judged_on_probes
            and first.verdict.startswith("SLO check passed")
            and first.users_requests == 0
            and first.deploy_seconds is not None
            and first.deploy_seconds < 240,
        )
        if not profile.full():
            return
        # All at once: the checks below read the SLO check's lines (rehearsal/quiet.py). A canary's
        # steps on a quiet VM are judged on probes too (deploy/canary_probes.py).
        d = self.step("1 deploy D on the quiet VM", "deploy", self.summary.versions["D"],
                      "--source", str(self.src), "--strategy", "all-at-once")  # fmt: skip
        slow = quiet.read(self.last_output, d.duration_s, d.requests)
        self.summary.quiet_slow_release = {**asdict(slow), "exit_code": d.exit_code}
        self.summary.check(
            "1: D, slow, fails its SLO check on the quiet VM on probe evidence and is rolled back",
            d.exit_code != 0
            and slow.judged_on_probes
            and slow.verdict.startswith("SLO check failed: p99")
            and slow.users_requests == 0,
        )

    def _start_load_when_up(self) -> None:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{PUBLIC_URL}/readyz", timeout=2).ok:
                    self.load.start()
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)

    def _reports(self, sha: str, target: str = "vm") -> bool:
        """`status` shows the sha as current, and web's build info in Prometheus reports only it."""
        for _ in range(30):  # Prometheus learns of a new target within its DNS refresh + scrape
            result = self.tool("--target", target, "status")
            lines = result.stdout.splitlines()
            current = any(line == f"current release: {sha}" for line in lines)
            reported = any(line == f"web reports revision(s): {sha}" for line in lines)
            if result.returncode == 0 and current and reported:
                return True
            time.sleep(2)
        self.log.write(f"status never showed {sha} alone\n")
        return False

    def _redis_identity(self) -> str:
        return infra.docker(
            "exec",
            infra.VM,
            "docker",
            "inspect",
            "--format",
            "{{.Id}} {{.State.StartedAt}} {{.RestartCount}}",
            "linkpulse-redis-1",
        ).strip()

    def _vm_state(self) -> str:
        containers = infra.docker(
            "exec", infra.VM, "docker", "ps", "--format", "{{.Names}} {{.Image}}"
        )
        files = infra.docker(
            "exec",
            infra.VM,
            "sh",
            "-c",
            "cd /srv/linkpulse && cat current && wc -l < history.jsonl && ls releases",
        )
        return "".join(sorted(containers.splitlines(keepends=True))) + files

    def _bad_inputs(self) -> None:
        """Each gets one clear line and changes nothing on the VM."""
        before = self._vm_state()
        cases = {
            "unknown sha": (["deploy", "0" * 40, "--source", str(self.src)], "unknown sha", None),
            "not a sha": (
                ["deploy", "main", "--source", str(self.src)],
                "not a full git sha",
                None,
            ),
            "missing image": (
                ["deploy", self._unreleased_commit(), "--source", str(self.src)],
                "not in the registry",
                None,
            ),
            "unreachable host": (["status"], "connection refused", self._config_with(port=1)),
            "wrong host key": (
                ["status"],
                "host key",
                self._config_with(known_hosts=self._wrong_known_hosts()),
            ),
            "registry refuses the login": (
                ["deploy", self.summary.versions["A"], "--source", str(self.src)],
                "refused the login",
                self._config_with(password_file=self._wrong_password()),
            ),
        }
        self.load.set_phase("bad inputs")
        for name, (args, expected, config) in cases.items():
            result = self.tool(*args, config=config)
            lines = result.stderr.strip().splitlines()
            one_line = (
                len(lines) == 1 and lines[0].startswith("deploy: error:") and expected in lines[0]
            )
            self.summary.check(
                f"bad input, {name}: one clear line, exit 1", result.returncode == 1 and one_line
            )
            self.summary.notes[f"bad input: {name}"] = lines[-1] if lines else ""
        self.summary.check("bad inputs changed nothing on the VM", self._vm_state() == before)

    def _unreleased_commit(self) -> str:
        subprocess.run(
            ["git", *sources.GIT_IDENTITY, "commit", "-q", "--allow-empty", "-m", "never released"],
            cwd=self.src,
            check=True,
        )
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=self.src, capture_output=True, text=True, check=True
        ).stdout.strip()

    def _wrong_known_hosts(self) -> Path:
        _, other = infra.new_ed25519()
        path = self.workdir / "known_hosts.wrong"
        path.write_text(f"[127.0.0.1]:{infra.SSH_PORT} {other}\n")
        return path

    def _wrong_password(self) -> Path:
        path = self.workdir / "pull-password.wrong"
        path.write_text("not-the-password\n")
        return path

    def _config_with(
        self,
        *,
        port: int | None = None,
        known_hosts: Path | None = None,
        password_file: Path | None = None,
    ) -> Path:
        text = self.rehearsal.config_file.read_text()
        if port is not None:
            text = text.replace(f"port = {infra.SSH_PORT}", f"port = {port}")
        if known_hosts is not None:
            text = text.replace('known_hosts = "known_hosts"', f'known_hosts = "{known_hosts}"')
        if password_file is not None:
            text = text.replace(
                'pull_password_file = "pull-password"', f'pull_password_file = "{password_file}"'
            )
        path = self.workdir / f"deploy.bad-{port}-{bool(known_hosts)}-{bool(password_file)}.toml"
        path.write_text(text)
        return path

    def _rollback_with_concurrent_deploy(self) -> None:
        """`rollback` (to A, the last good release before B) while a second deploy tries it."""
        refused: dict[str, object] = {}

        def second_deploy() -> None:
            while not self._lock_held():
                time.sleep(0.2)
            started = time.monotonic()
            result = self.tool("deploy", self.summary.versions["B"], "--source", str(self.src))
            refused.update(
                exit=result.returncode, line=result.stderr.strip(), s=time.monotonic() - started
            )

        thread = threading.Thread(target=second_deploy, daemon=True)
        thread.start()
        rollback = self.step("4 rollback (to A)", "rollback")
        thread.join(timeout=60)
        self.summary.check(
            "4: rollback succeeds with zero failed requests",
            rollback.exit_code == 0 and rollback.failed_requests == 0,
        )
        line = str(refused.get("line", ""))
        self.summary.notes["concurrent deploy"] = line
        self.summary.check(
            "4: a concurrent deploy is refused at once, naming the lock's holder",
            refused.get("exit") == 1
            and "deploy lock" in line
            and "rehearsal" in line
            and float(str(refused.get("s", 99))) < 10,
        )

    def _stale_lock(self) -> None:
        """A lock left by a killed deploy: seen by `lock status`, refused, then released."""
        holder = (
            '{"owner": "ci@killed-runner", "action": "deploy 0123", '
            '"started": "2026-01-01T00:00:00+00:00", "expires": "2026-01-01T00:30:00+00:00"}'
        )
        infra.docker(
            "exec", "-i", "--user", "deploy", infra.VM, "sh", "-c",
            "mkdir /srv/linkpulse/deploy.lock && cat > /srv/linkpulse/deploy.lock/holder.json",
            input_text=holder,
        )  # fmt: skip
        status = self.tool("lock", "status").stdout
        refused = self.tool("deploy", self.summary.versions["B"], "--source", str(self.src))
        released = self.tool("lock", "release")
        free = self.tool("lock", "status").stdout.strip()
        self.summary.notes["stale lock status"] = status.strip()
        self.summary.check(
            "4: a lock left by a killed deploy shows as stale, blocks, and can be released",
            "STALE" in status
            and "ci@killed-runner" in status
            and refused.returncode == 1
            and "ci@killed-runner" in refused.stderr
            and released.returncode == 0
            and free == "free",
        )

    def _lock_held(self) -> bool:
        return (
            subprocess.run(
                [
                    "docker",
                    "exec",
                    infra.VM,
                    "test",
                    "-f",
                    "/srv/linkpulse/deploy.lock/holder.json",
                ],
                capture_output=True,
                check=False,
            ).returncode
            == 0
        )

    def _clicks_equal_redirects(self) -> None:
        self.load.set_phase("drain")
        self.load.stop()
        links = dict(self.load.links)
        expected = dict(self.load.redirects)
        unconfirmed = dict(self.load.unconfirmed)

        def exact(code: str, counted: dict[str, int]) -> bool:
            """Every served redirect counted once; one that failed from here may count or not."""
            served = expected.get(code, 0)
            return served <= counted.get(code, 0) <= served + unconfirmed.get(code, 0)

        counted: dict[str, int] = {}
        lost: list[str] = []
        for _ in range(60):  # the worker applies clicks in batches: wait until it has caught up
            counted, lost = {}, []
            for code in links:
                response = requests.get(f"{PUBLIC_URL}/api/links/{code}/stats", timeout=10)
                if response.status_code == 404:
                    lost.append(code)
                    continue
                counted[code] = int(response.json()["clicks"])
                time.sleep(0.015)  # stay well inside nginx's per-client read limit
            if not lost and all(exact(code, counted) for code in links):
                break
            time.sleep(2)
        self.summary.notes["links"] = len(links)
        self.summary.notes["redirects served"] = sum(expected.values())
        self.summary.notes["redirects failed from the client's side"] = sum(unconfirmed.values())
        self.summary.notes["clicks counted"] = sum(counted.values())
        self.summary.check("5: no link is lost", not lost and len(links) > 0)
        canary_part.set_lost_clicks(self, expected, counted)
        self.summary.check(
            "5: every served redirect counted exactly once, link by link (a failed one at most "
            "once)",
            all(exact(code, counted) for code in links),
        )
        # The move from compose to Swarm stops one stack before the next starts: not a deploy.
        # A drill's failed requests are its own figure (summary.json's drills); a canary's own
        # deliberate failures are its (summary.json's canary).
        failures = [
            f
            for f in self.load.failures()
            if f.phase not in PLANNED_OUTAGES
            and not is_drill(f.phase)
            and not canary_part.deliberate(f)
        ]
        self.summary.notes["requests"] = len(self.load.samples)
        self.summary.notes["failed requests (all steps)"] = len(failures)
        self.summary.notes["failed request details"] = [
            f"{s.at:.1f}s {s.phase}: {s.kind} {s.detail}" for s in failures[:20]
        ]
        self.summary.check("5: zero failed requests across every deploy step", not failures)
