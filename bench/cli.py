"""The real Pulumi CLI against the sandbox, measured: wall time, memory, CPU, crashes.

What ``make bench-engine`` and ``make crash-drill`` share. The project copy, its ``file://``
backend, offline environment and stack file come from the real-CLI harness the e2e stories
use too (``tools/cli_harness.py``, one stack per copy); this module adds what a benchmark
needs on top: a stack of N integrations, each command run with the peak memory and CPU time
of every process it starts (CLI, program, provider), a SIGKILL on demand, and the state
file's size.

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

import psutil

from sandbox import Sandbox
from tools import cli_harness

SAMPLE_SECONDS = 0.1
POLL_SECONDS = 0.05


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
        words = psutil.Process(pid).cmdline()
    except psutil.Error:
        return None
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
    for process in psutil.process_iter():
        with suppress(psutil.Error, OSError):
            if os.getsid(process.pid) == session:
                yield process.pid


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far; 0 once it is gone."""
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return 0.0
    return float(times.user + times.system)


def _resident_mb(pid: int) -> float:
    """The process's resident memory now, in MB (the sampler keeps the highest it saw);
    0 once it is gone. psutil reads it the same way on Linux and macOS."""
    try:
        return float(psutil.Process(pid).memory_info().rss) / (1024 * 1024)
    except psutil.Error:
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
                self.peaks.note(kind, _resident_mb(pid), _cpu_seconds(pid))

    def stop(self) -> Peaks:
        self._stop_event.set()
        self.join(timeout=5)
        return self.peaks


class Project:
    """One stack of N integrations in a throw-away copy of the project (tools/cli_harness)."""

    def __init__(self, root: Path, sandbox: Sandbox, stack: str, *, skip_checkpoints: bool):
        self.copy = cli_harness.Project(root, sandbox, stack)
        self.stack = stack
        self.skip_checkpoints = skip_checkpoints
        self.bin = cli_harness.cli_dir()

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The harness's environment, with checkpoints skipped or not."""
        env = dict(self.copy.env)
        if self.skip_checkpoints:
            env["PULUMI_SKIP_CHECKPOINTS"] = "true"
        env.update(extra or {})
        return env

    @property
    def state_file(self) -> Path:
        """The stack's state file in the file backend."""
        return self.copy.backend / ".pulumi" / "stacks" / "level-ilert" / f"{self.stack}.json"

    def state_bytes(self) -> int:
        return self.state_file.stat().st_size if self.state_file.exists() else 0

    def new_stack(self, config: Mapping[str, object], integrations: int) -> None:
        """``pulumi stack init`` and a stack file with ``integrations`` integrations, each
        routed to a Level device group of its own (made in the sandbox if missing), as an
        MSP routes by client: no Level alert pages twice."""
        self.copy.init()
        existing = {group["name"] for group in self.copy.sandbox.level_groups()}
        entries = []
        for index in range(integrations):
            group = client_group(index)
            if group not in existing:
                self.copy.sandbox.level_add_group(group)
            entries.append(
                {
                    "name": integration_name(index),
                    "escalationPolicy": "Default",
                    "deviceGroups": [group],
                }
            )
        self.copy.write_stack(entries, config=dict(config))

    def run(
        self,
        args: tuple[str, ...],
        *,
        timeout: float,
        extra_env: Mapping[str, str] | None = None,
        kill_when: Callable[[], bool] | None = None,
        kill_group: bool = False,
    ) -> Outcome:
        """Run ``pulumi <args> --stack <stack> --non-interactive``; its outcome.

        ``kill_when`` is asked every 50 ms; once it answers True the CLI gets SIGKILL, as
        in a crash: only the CLI, or with ``kill_group`` every process of its session
        (program, language host, provider) right after.
        The processes a killed CLI leaves behind are left running (``leftovers``).
        """
        full = [str(self.bin / "pulumi"), *args, "--stack", self.stack, "--non-interactive"]
        with tempfile.TemporaryFile(mode="w+") as log:
            started = time.perf_counter()
            process = subprocess.Popen(  # noqa: S603 (our own CLI, fixed arguments)
                full,
                cwd=self.copy.root,
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
                    kind = psutil.Process(pid).name()
                except psutil.Error:
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


def client_group(index: int) -> str:
    """The Level device group the ``index``-th bench integration is scoped to."""
    return f"Bench client {index:04d}"


@contextmanager
def project(
    sandbox: Sandbox, stack: str, *, skip_checkpoints: bool, keep: bool = False
) -> Iterator[Project]:
    """A throw-away project copy with one stack, removed afterwards unless ``keep``."""
    root = Path(tempfile.mkdtemp(prefix="level-ilert-engine-"))
    try:
        yield Project(root / "project", sandbox, stack, skip_checkpoints=skip_checkpoints)
    finally:
        if keep:
            print(f"(kept {root})")
        else:
            shutil.rmtree(root, ignore_errors=True)
