"""The real Pulumi CLI, run against the sandbox in a project copy of its own.

What ``make bench-engine`` and the crash drill (``bench/crash.py``) share: a throw-away
project directory (links to this project's program, providers and venv, so nothing is
written into the checkout), an explicit ``file://`` backend in a temp directory, the
environment the CLI needs offline, stack files with N integrations, and one command run
with its wall time and the peak memory of each process it starts (CLI, program, provider).

Nothing here touches the internet: the CLI never checks for updates or fetches plugins,
and both APIs are the loopback sandbox.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from sandbox import ILERT_TOKEN, LEVEL_API_KEY

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PULUMI_VERSION = "v3.274.1"
DEFAULT_PULUMI_DIR = Path.home() / ".cache" / "level-ilert" / "pulumi" / PULUMI_VERSION
# What the program and the providers need from the checkout; all else stays out.
PROJECT_LINKS = ("Pulumi.yaml", "__main__.py", "components", "providers", "venv")
PASSPHRASE = "level-ilert-bench"  # noqa: S105 (protects nothing: sandbox credentials)
SAMPLE_SECONDS = 0.1
POLL_SECONDS = 0.05


class CliNotFoundError(RuntimeError):
    """The Pulumi CLI is neither in ``PULUMI_DIR`` nor on PATH."""


def pulumi_dir() -> Path:
    """Where the ``pulumi`` binary is: ``$PULUMI_DIR``, the pinned build, else PATH."""
    configured = os.environ.get("PULUMI_DIR")
    candidates = [Path(configured)] if configured else [DEFAULT_PULUMI_DIR]
    on_path = shutil.which("pulumi")
    if on_path:
        candidates.append(Path(on_path).parent)
    for candidate in candidates:
        if (candidate / "pulumi").is_file():
            return candidate
    raise CliNotFoundError(
        f"No pulumi CLI in {candidates[0]} or on PATH: build it with `make pulumi`, or set "
        f"PULUMI_DIR to the directory that holds it."
    )


@dataclass
class Peaks:
    """Peak resident memory (MB) and CPU time (s, as last seen) of each kind of process a
    CLI command starts: the CLI, the program, the provider."""

    cli: float = 0.0
    program: float = 0.0
    provider: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)

    def note(self, kind: str, megabytes: float, cpu_seconds: float) -> None:
        if megabytes > getattr(self, kind):
            setattr(self, kind, megabytes)
        self.cpu[kind] = max(self.cpu.get(kind, 0.0), cpu_seconds)


@dataclass
class Outcome:
    """One CLI command: exit code, wall time, memory peaks, the end of its output."""

    args: tuple[str, ...]
    returncode: int
    seconds: float
    peaks: Peaks
    output: str = field(repr=False)
    session: int = 0  # the CLI's pid, which leads the session of everything it started
    killed: bool = False

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.output.splitlines()[-lines:])


def _kind(pid: int) -> str | None:
    """``cli``, ``program`` or ``provider`` for a process the CLI started, else None."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    words = [part.decode(errors="replace") for part in cmdline if part]
    if not words:
        return None
    if Path(words[0]).name == "pulumi":
        return "cli"
    if "pulumi.dynamic" in words:
        return "provider"
    if any(Path(word).name == "pulumi-language-python-exec" for word in words):
        return "program"
    return None


def _session_members(session: int) -> Iterator[int]:
    """Processes of one session (the CLI is started as a session leader)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Fields after the command name (which may hold spaces) start after its ")".
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[3]) == session:  # field 6 of stat: the session id
            yield int(entry.name)


_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far; 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime (fields 14, 15)


def _high_water_mb(pid: int) -> float:
    """The process's peak resident memory so far (VmHWM), in MB; 0 once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class _Sampler(threading.Thread):
    """Reads the peak memory of every process of a session until told to stop."""

    def __init__(self, session: int) -> None:
        super().__init__(daemon=True, name=f"peaks-{session}")
        self.session = session
        self.peaks = Peaks()
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.sample()
            self._stop_event.wait(SAMPLE_SECONDS)

    def sample(self) -> None:
        for pid in _session_members(self.session):
            kind = _kind(pid)
            if kind is not None:
                self.peaks.note(kind, _high_water_mb(pid), _cpu_seconds(pid))

    def stop(self) -> Peaks:
        self._stop_event.set()
        self.join(timeout=5)
        return self.peaks


class Project:
    """A throw-away copy of this project (links, not copies) with its own file backend."""

    def __init__(self, root: Path, *, skip_checkpoints: bool) -> None:
        self.root = root
        self.dir = root / "project"
        self.backend = root / "state"
        self.skip_checkpoints = skip_checkpoints
        self.dir.mkdir()
        self.backend.mkdir()
        for name in PROJECT_LINKS:
            (self.dir / name).symlink_to(PROJECT_ROOT / name)
        self.bin = pulumi_dir()

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The CLI's environment: offline, explicit backend, the venv's python first."""
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("PULUMI_", "ILERT_", "LEVEL_"))
        }
        env.update(
            PATH=f"{PROJECT_ROOT / 'venv' / 'bin'}:{self.bin}:{env.get('PATH', '')}",
            PULUMI_BACKEND_URL=f"file://{self.backend}",
            PULUMI_CONFIG_PASSPHRASE=PASSPHRASE,
            PULUMI_SKIP_UPDATE_CHECK="true",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true",
            PULUMI_HOME=str(self.root / "pulumi-home"),
            ILERT_API_TOKEN=ILERT_TOKEN,
            LEVEL_API_KEY=LEVEL_API_KEY,
        )
        if self.skip_checkpoints:
            env["PULUMI_SKIP_CHECKPOINTS"] = "true"
        env.update(extra or {})
        return env

    def state_file(self, stack: str) -> Path:
        """The stack's state file in the file backend."""
        return self.backend / ".pulumi" / "stacks" / "level-ilert" / f"{stack}.json"

    def state_bytes(self, stack: str) -> int:
        path = self.state_file(stack)
        return path.stat().st_size if path.exists() else 0

    def new_stack(self, stack: str, config: Mapping[str, object], integrations: int) -> None:
        """``pulumi stack init`` and a stack file with ``integrations`` integrations."""
        outcome = self.run(("stack", "init", stack), stack=None, timeout=120)
        if outcome.returncode != 0:
            raise RuntimeError(f"pulumi stack init {stack} failed:\n{outcome.tail()}")
        stack_file = self.dir / f"Pulumi.{stack}.yaml"
        salt = [
            line
            for line in stack_file.read_text().splitlines()
            if line.startswith("encryptionsalt:")
        ]
        lines = [*salt, "config:"]
        lines += [f"  {key}: {_yaml_scalar(value)}" for key, value in config.items()]
        lines.append("  level-ilert:integrations:")
        for index in range(integrations):
            lines += [f"    - name: {integration_name(index)}", "      escalationPolicy: Default"]
        stack_file.write_text("\n".join(lines) + "\n")

    def run(
        self,
        args: tuple[str, ...],
        *,
        stack: str | None,
        timeout: float,
        extra_env: Mapping[str, str] | None = None,
        kill_when: Callable[[], bool] | None = None,
        kill_group: bool = False,
    ) -> Outcome:
        """Run ``pulumi <args>`` (``--stack``, ``--non-interactive`` added); its outcome.

        ``kill_when`` is asked every 50 ms; once it answers True the CLI gets SIGKILL, as
        in a crash: only the CLI, or with ``kill_group`` every process of its session
        (program, language host, provider) right after.
        The processes a killed CLI leaves behind are left running (``leftovers``).
        """
        full = [str(self.bin / "pulumi"), *args, "--non-interactive"]
        if stack is not None:
            full += ["--stack", stack]
        with tempfile.TemporaryFile(mode="w+") as log:
            started = time.perf_counter()
            process = subprocess.Popen(  # noqa: S603 (our own CLI, fixed arguments)
                full,
                cwd=self.dir,
                env=self.env(extra_env),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            sampler = _Sampler(process.pid)
            sampler.start()
            killed = False
            try:
                while process.poll() is None:
                    if time.perf_counter() - started > timeout:
                        process.kill()
                        _kill_session(process.pid)
                        raise subprocess.TimeoutExpired(full, timeout)
                    if kill_when is not None and kill_when():
                        process.kill()
                        if kill_group:  # plugins run in process groups of their own
                            _kill_session(process.pid)
                        killed = True
                        process.wait(timeout=30)
                        break
                    time.sleep(POLL_SECONDS)
            finally:
                seconds = time.perf_counter() - started
                peaks = sampler.stop()
            log.seek(0)
            return Outcome(
                tuple(args), process.returncode, seconds, peaks, log.read(), process.pid, killed
            )

    @staticmethod
    def leftovers(outcome: Outcome) -> list[str]:
        """The processes a command left running (its session), by kind or command name."""
        found = []
        for pid in _session_members(outcome.session):
            kind = _kind(pid)
            if kind is None:
                try:
                    kind = Path(f"/proc/{pid}/comm").read_text().strip()
                except OSError:
                    continue
            found.append(f"{kind} (pid {pid})")
        return found

    @staticmethod
    def stop_leftovers(outcome: Outcome) -> None:
        """SIGKILL what a killed CLI left running (its own session only)."""
        _kill_session(outcome.session)


def _kill_session(session: int) -> None:
    """SIGKILL every process of one session (one the bench started)."""
    for pid in list(_session_members(session)):
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def integration_name(index: int) -> str:
    """The alert source name of the ``index``-th bench integration."""
    return f"Bench {index:04d}"


def _yaml_scalar(value: object) -> str:
    return f'"{value}"' if isinstance(value, str) else str(value)


@contextmanager
def project(*, skip_checkpoints: bool, keep: bool = False) -> Iterator[Project]:
    """A throw-away project and backend, removed afterwards unless ``keep``."""
    root = Path(tempfile.mkdtemp(prefix="level-ilert-engine-"))
    try:
        yield Project(root, skip_checkpoints=skip_checkpoints)
    finally:
        if keep:
            print(f"(kept {root})")
        else:
            shutil.rmtree(root, ignore_errors=True)
