"""The one scripted fake of deploy.host.Host for unit tests: a VM's files, its compose project's
containers and its Swarm stack as plain data, answering the commands the deploy tool sends,
recording each, and failing at any chosen command.

Pure logic for unit tests (the rehearsal proves the same paths on a real engine). A rule
`fail_at("nginx -s reload", KeyboardInterrupt(), after=True)` lets the command happen, then
raises: Ctrl-C arriving right after nginx switched. `answer("docker run", exit_code=1)` scripts
the answer to every command holding those words; `otherwise=OK` answers a command the fake does
not model instead of failing the test (for tests of what is sent rather than what it does).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import shlex
import signal
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from deploy.commands import PROJECT, PROJECT_LABEL, SERVICE_LABEL
from deploy.errors import DeployError
from deploy.lock import LEASE_AGE_SCRIPT
from deploy.ssh import Result, command_line

KEEP_LABEL = "org.linkpulse.keep"
OK = Result(0, "", "")


@dataclass
class FakeContainer:
    id: str
    name: str
    service: str
    image: str
    status: str = "running"
    health: str = "healthy"

    def inspect(self) -> dict[str, object]:
        return {
            "Id": self.id,
            "Name": "/" + self.name,
            "Image": "sha256:" + self.image,
            "Config": {
                "Image": self.image,
                "Labels": {PROJECT_LABEL: PROJECT, SERVICE_LABEL: self.service},
            },
            "State": {"Status": self.status, "Health": {"Status": self.health, "Log": []}},
        }

    @property
    def tag(self) -> str:
        return self.image.rsplit(":", 1)[-1]


class NotModelledError(AssertionError):
    """A command the fake does not model: the test fails, naming it (unless `otherwise`)."""


@dataclass
class FakeService:
    """A Swarm service of the stack, as `docker service inspect` shows it."""

    id: str
    image: str
    replicas: int | None  # None: global
    update_state: str = ""
    update_started: str = ""
    update_message: str = ""
    previous: str = ""  # the image before the last update (after a rollback: the one undone)
    settling: bool = False  # Swarm finishes its update after the next inspect

    def inspect(self, stack: str, name: str) -> dict[str, object]:
        mode: dict[str, object] = (
            {"Global": {}} if self.replicas is None else {"Replicated": {"Replicas": self.replicas}}
        )
        return {
            "ID": self.id,
            "Spec": {
                "Name": f"{stack}_{name}",
                "Mode": mode,
                "TaskTemplate": {"ContainerSpec": {"Image": self.image}},
            },
            "UpdateStatus": {
                "State": self.update_state,
                "StartedAt": self.update_started,
                "Message": self.update_message,
            },
        }


@dataclass
class FakeSwarm:
    """One manager node's stack: `docker stack deploy` updates each changed service; one whose
    (service, tag) is in `unhealthy` is rolled back by Swarm, as its health check would."""

    stack: str = "linkpulse"
    services: dict[str, FakeService] = field(default_factory=dict)
    secrets: set[str] = field(default_factory=set)
    unhealthy: set[tuple[str, str]] = field(default_factory=set)
    _updates: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def serving(self, service: str) -> set[str]:
        found = self.services.get(service)
        return {found.image.rsplit(":", 1)[-1]} if found else set()

    def answer(self, args: list[str], files: dict[str, str]) -> Result | None:
        """The answer to `docker ARGS` when it is a Swarm command, else None."""
        match args:
            case ["info", "--format", _]:
                return Result(0, "active true\n", "")
            case ["secret", "ls", *_]:
                return Result(0, "\n".join(sorted(self.secrets)), "")
            case ["service", "ls", "--quiet", *_] | ["stack", "ps", "--quiet", *_]:
                ids = [s.id for s in self.services.values()]
                return Result(0, "\n".join(ids), "")
            case ["service", "inspect", "--format", _, *_]:
                lines = [f"{self.stack}_{name}" for name in self.services]
                return Result(0, "\n".join(lines), "")
            case ["service", "inspect", *ids]:
                return Result(0, json.dumps(self._inspect(ids)), "")
            case ["inspect", "--type", "task", *ids]:
                return Result(0, json.dumps(self._tasks(ids)), "")
            case ["stack", "deploy", *_, "--compose-file", path, _]:
                self._deploy(json.loads(files[path])["services"])
                return OK
            case ["stack", "rm", _]:
                self.services.clear()
                return OK
            case ["service", "ps" | "logs", *_]:
                return self._diagnostics(args)
        return None

    def _diagnostics(self, args: list[str]) -> Result:
        if args[1:4] == ["ps", "--no-trunc", "--format"]:  # why the tasks of an image ended
            service = self.services[args[-1].removeprefix(f"{self.stack}_")]
            return Result(0, f"{service.previous}\ttask: non-zero exit (1)\n", "")
        return Result(0, "what Swarm said\n", "")

    def _inspect(self, ids: list[str]) -> list[dict[str, object]]:
        found = []
        for name, service in self.services.items():
            if service.id in ids:
                found.append(service.inspect(self.stack, name))
                if service.settling:
                    self._settle(name, service)
        return found

    def _tasks(self, ids: list[str]) -> list[dict[str, object]]:
        return [
            {
                "ServiceID": s.id,
                "Spec": {"ContainerSpec": {"Image": s.image}},
                "Status": {"State": "running", "Err": ""},
                "DesiredState": "running",
            }
            for s in self.services.values()
            if s.id in ids
            for _ in range(s.replicas or 1)
        ]

    def _deploy(self, wanted: dict[str, dict[str, object]]) -> None:
        for name in set(self.services) - set(wanted):  # --prune
            del self.services[name]
        for name, spec in wanted.items():
            image = str(spec["image"])
            replicas = dict(spec.get("deploy") or {}).get("replicas", 1)  # type: ignore[call-overload]
            now = self.services.get(name)
            if now is None:
                self.services[name] = FakeService(f"svc-{name}", image, replicas)
            elif now.image != image:
                now.previous, now.image = now.image, image
                now.update_state, now.update_started = "updating", str(next(self._updates))
                now.settling = True

    def _settle(self, name: str, service: FakeService) -> None:
        service.settling = False
        if (name, service.image.rsplit(":", 1)[-1]) in self.unhealthy:
            service.previous, service.image = service.image, service.previous
            service.update_state = "rollback_completed"
            service.update_message = "update rolled back due to failure of a task"
        else:
            service.update_state = "completed"


@dataclass
class Rule:
    fragment: str
    action: Callable[[], None]
    nth: int
    after: bool
    seen: int = 0


def raising(error: BaseException) -> Callable[[], None]:
    def action() -> None:
        raise error

    return action


def send_signal(signum: int) -> Callable[[], None]:
    """The signal to this process: its handler runs in the main thread, as a CI cancel's would."""
    return lambda: os.kill(os.getpid(), signum)


SIGTERM = send_signal(signal.SIGTERM)


@dataclass
class FakeHost:
    label: str = "deploy@fake-vm:22"
    files: dict[str, str] = field(default_factory=dict)
    dirs: set[str] = field(default_factory=set)
    touched: dict[str, int] = field(default_factory=dict)  # path -> `clock` when last written
    clock: int = 1_000_000  # the VM's clock, in seconds
    containers: dict[str, FakeContainer] = field(default_factory=dict)
    pins: dict[str, str] = field(default_factory=dict)  # keep-container name -> sha
    unhealthy: set[tuple[str, str]] = field(default_factory=set)  # (service, tag) never healthy
    missing_images: set[str] = field(default_factory=set)  # neither on the VM nor pullable
    log: list[str] = field(default_factory=list)  # every command line and `write <path>`
    argvs: list[list[str]] = field(default_factory=list)  # every command sent as argv
    stdins: list[str | None] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    # (words that must all be in the command line, the answer): first match wins.
    answers: list[tuple[tuple[str, ...], Callable[[], Result]]] = field(default_factory=list)
    otherwise: Result | None = None
    connected: bool = True
    swarm: FakeSwarm = field(default_factory=FakeSwarm)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    # --- scripting ---------------------------------------------------------------------------
    def answer(self, *words: str, exit_code: int = 0, stdout: str = "", stderr: str = "") -> None:
        """Every command holding all WORDS answers this, whatever the fake would have."""
        result = Result(exit_code, stdout, stderr)
        self.answer_with(*words, reply=lambda: result)

    def answer_with(self, *words: str, reply: Callable[[], Result]) -> None:
        """Every command holding all WORDS is answered by REPLY(): a script with a state."""
        self.answers.append((words, reply))

    @property
    def commands(self) -> list[str]:
        """The command lines sent, in order (without the files written)."""
        return [line for line in self.log if not line.startswith("write ")]

    def fail_at(
        self, fragment: str, error: BaseException, *, nth: int = 1, after: bool = False
    ) -> None:
        """Raise ERROR at the NTH command containing FRAGMENT (after it ran, with AFTER)."""
        self.on(fragment, raising(error), nth=nth, after=after)

    def on(
        self, fragment: str, action: Callable[[], None], *, nth: int = 1, after: bool = False
    ) -> None:
        self.rules.append(Rule(fragment, action, nth, after))

    def disconnect_at(self, fragment: str, *, after: bool = False) -> None:
        """From that command on, every command fails as on a lost SSH connection."""

        def cut() -> None:
            self.connected = False
            raise DeployError(f"{self.label}: {fragment}: Socket is closed")

        self.on(fragment, cut, after=after)

    def _rules(self, line: str, *, after: bool) -> None:
        if not self.connected:
            raise DeployError(f"{self.label}: {line[:60]}: Socket is closed")
        for rule in self.rules:
            if rule.after == after and rule.fragment in line:
                rule.seen += 1
                if rule.seen == rule.nth:
                    rule.action()

    def running(self, service: str) -> list[FakeContainer]:
        return [
            c for c in self.containers.values() if c.service == service and c.status == "running"
        ]

    def serving(self, service: str) -> set[str]:
        """The tags SERVICE's running containers run."""
        return {c.tag for c in self.running(service)}

    # --- the Host interface ------------------------------------------------------------------
    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> FakeHost:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def run(
        self,
        argv: Sequence[str],
        *,
        check: bool = True,
        stdin: str | None = None,
        env: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> Result:
        line = command_line(argv)
        self._rules(line, after=False)
        self.log.append(line)
        self.argvs.append(list(argv))
        self.stdins.append(stdin)
        # A command bounded on the VM by timeout(1) gets the same answer.
        result = self._scripted(line) or self._modelled(list(argv))
        self._rules(line, after=True)
        return self._checked(line, result, check)

    def shell(
        self,
        line: str,
        *,
        check: bool = True,
        stdin: str | None = None,
        timeout: float | None = None,
    ) -> Result:
        self._rules(line, after=False)
        self.log.append(line)
        self.stdins.append(stdin)
        scripted = self._scripted(line)
        if scripted is not None:
            self._rules(line, after=True)
            return self._checked(line, scripted, check)
        if line.startswith("cat >> "):
            path = shlex.split(line)[2]
            self.files[path] = self.files.get(path, "") + (stdin or "")
        elif " > " in line:  # docker logs ... > <bundle>/<name>.log
            self.files[shlex.split(line.split(" > ")[1])[0]] = "log\n"
        elif match := re.fullmatch(r"rm -f (\S+)/\*\.conf && cp (\S+)/\*\.conf \S+/", line):
            live, release = match.group(1), match.group(2)
            for path in [p for p in self.files if p.startswith(live + "/")]:
                del self.files[path]
            for path, text in list(self.files.items()):
                if path.startswith(release + "/") and path.endswith(".conf"):
                    self.files[f"{live}/{path.rsplit('/', 1)[1]}"] = text
        self._rules(line, after=True)
        return OK

    def write_file(self, path: str, content: str, mode: int = 0o644) -> None:
        self._rules(f"write {path}", after=False)
        self.log.append(f"write {path}")
        self.files[path] = content
        self.touched[path] = self.clock
        self._rules(f"write {path}", after=True)

    def get(self, remote: str, local: Path) -> None:
        self._rules(f"get {remote}", after=False)
        local.write_text(self.files.get(remote, f"log of {remote}\n"))

    @contextlib.contextmanager
    def forward(self, local_port: int, remote_port: int) -> Iterator[None]:
        yield

    # --- commands ----------------------------------------------------------------------------
    def _modelled(self, argv: list[str]) -> Result:
        try:
            # A command bounded on the VM by timeout(1) gets the same answer.
            return self._answer(argv[2:] if argv[0] == "timeout" else argv)
        except NotModelledError:
            if self.otherwise is None:
                raise
            return self.otherwise

    def _scripted(self, line: str) -> Result | None:
        reply = next((r for words, r in self.answers if all(w in line for w in words)), None)
        return None if reply is None else reply()

    def _checked(self, line: str, result: Result, check: bool) -> Result:
        if check and not result.ok:
            raise DeployError(f"on the VM: {line[:160]}: {result.stderr or result.exit_code}")
        return result

    def _answer(self, argv: list[str]) -> Result:
        tool, args = argv[0], argv[1:]
        if tool == "docker":
            swarm = self.swarm.answer(args, self.files)
            return self._docker(args) if swarm is None else swarm
        if tool == "cat":
            text = self.files.get(args[0])
            return Result(0, text, "") if text is not None else Result(1, "", "No such file")
        if tool == "mkdir":
            if args[0] != "-p" and args[0] in self.dirs:
                return Result(1, "", "File exists")
            self.dirs.update(a for a in args if a != "-p")
            return OK
        if tool == "test":
            if args[0] == "-d":
                return OK if args[1] in self.dirs else Result(1, "", "")
            return OK if self.files.get(args[1]) else Result(1, "", "")
        return self._files(tool, args)

    def _files(self, tool: str, args: list[str]) -> Result:
        if tool == "rm":
            gone = args[-1]
            self.dirs = {d for d in self.dirs if d != gone and not d.startswith(gone + "/")}
            self.files = {
                p: t for p, t in self.files.items() if p != gone and not p.startswith(gone + "/")
            }
            return OK
        if tool == "ls":
            prefix = args[-1] + "/"
            names = {p[len(prefix) :].split("/")[0] for p in self.files if p.startswith(prefix)}
            return Result(0, "\n".join(sorted(names)), "")
        if tool == "diff":
            return OK if self._conf(args[-2]) == self._conf(args[-1]) else Result(1, "", "")
        if tool == "touch":
            self.touched[args[0]] = self.clock
            self.files.setdefault(args[0], "")
            return OK
        if tool == "sh" and args[:2] == [
            "-c",
            LEASE_AGE_SCRIPT,
        ]:  # sh -c: how long ago the file was touched
            path = args[-1]
            if path not in self.touched:
                return Result(1, "", "No such file")
            return Result(0, f"{self.clock - self.touched[path]}\n", "")
        raise NotModelledError(f"the fake host does not know {tool} {command_line(args)}")

    def _conf(self, directory: str) -> dict[str, str]:
        prefix = directory + "/"
        return {p[len(prefix) :]: t for p, t in self.files.items() if p.startswith(prefix)}

    def _docker(self, args: list[str]) -> Result:
        verb = args[0]
        if verb == "compose":
            return self._compose(args)
        if verb == "ps":
            return self._ps(args)
        if verb == "inspect":
            found = [self.containers[i].inspect() for i in args[1:] if i in self.containers]
            return Result(0, json.dumps(found), "")
        if verb == "image":
            return self._image(args[1:])
        if verb == "pull":
            return Result(1, "", "not found") if args[-1] in self.missing_images else OK
        if verb in ("exec", "top", "logs"):
            return OK
        if verb in ("stop", "rm"):
            return self._stop_or_remove(verb, args[1:])
        if verb == "create":
            self.pins[args[args.index("--name") + 1]] = args[args.index("--label") + 1]
            return OK
        if verb == "run" and args[-2:] == ["-t", "-q"]:
            return OK  # the release's `nginx -t` in a throwaway container: its config is sound
        raise NotModelledError(f"the fake host does not know docker {' '.join(args)}")

    def _stop_or_remove(self, verb: str, args: list[str]) -> Result:
        for ref in (a for a in args if not a.startswith("--") and not a.isdigit()):
            self.pins.pop(ref, None)
            if ref in self.containers and verb == "stop":
                self.containers[ref].status = "exited"
            elif ref in self.containers:
                del self.containers[ref]
        return OK

    def _ps(self, args: list[str]) -> Result:
        if f"label={KEEP_LABEL}" in args:
            lines = [f"{name} {label.split('=')[1]}" for name, label in self.pins.items()]
            return Result(0, "\n".join(lines), "")
        service = next(
            (a.split("=")[-1] for a in args if a.startswith(f"label={SERVICE_LABEL}=")), None
        )
        found = [
            c.id
            for c in self.containers.values()
            if (service is None or c.service == service)
            and ("--all" in args or c.status == "running")
        ]
        return Result(0, "\n".join(found), "")

    def _image(self, args: list[str]) -> Result:
        if args[0] == "rm":
            return OK
        ref = args[-1].removeprefix("sha256:")
        if ref in self.missing_images:
            return Result(1, "", "No such image")
        if "--format" in args:
            # A mirrored image keeps its tag across releases; a built one differs in every layer
            # above the shared base, so nginx's differs in its conf.d layer only.
            return Result(0, json.dumps(["base", ref]), "")
        return OK

    def _compose(self, args: list[str]) -> Result:
        release = args[args.index("--project-directory") + 1]
        manifest = json.loads(self.files[f"{release}/images.json"])
        images = {i["service"]: i["image"] for i in manifest["images"]}
        rest = args[args.index("--env-file", args.index("--env-file") + 1) + 2 :]
        if rest[0] == "down":
            self.containers.clear()
            return OK
        assert rest[0] == "up", rest
        service = rest[-1]
        image = images[service]
        existing = [c for c in self.containers.values() if c.service == service]
        if "--scale" in rest:
            wanted = int(rest[rest.index("--scale") + 1].split("=")[1])
            for _ in range(wanted - len(existing)):
                self._create(service, image)
            return OK
        keep = "--no-recreate" in rest or all(
            c.image == image and "--force-recreate" not in rest for c in existing
        )
        if existing and keep:
            return OK
        for old in existing:
            del self.containers[old.id]
        self._create(service, image)
        return OK

    def _create(self, service: str, image: str) -> None:
        number = next(self._ids)
        tag = image.rsplit(":", 1)[-1]
        health = "unhealthy" if (service, tag) in self.unhealthy else "healthy"
        cid = f"c{number:011d}"
        self.containers[cid] = FakeContainer(
            cid, f"linkpulse-{service}-{number}", service, image, health=health
        )
