"""``python -m sandbox`` as a user runs it: banner, start time, signals, --state, --host."""

from __future__ import annotations

import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from sandbox import ILERT_TOKEN, LEVEL_API_KEY, LEVEL_READONLY_KEY

ROOT = Path(__file__).resolve().parents[2]
START_BUDGET_SECONDS = 2.0
WAIT_SECONDS = 10.0


@dataclass
class Running:
    """A sandbox subprocess: its banner, URLs, and how long it took to answer."""

    process: subprocess.Popen[str]
    queue: queue.Queue[str | None]
    lines: list[str] = field(default_factory=list)
    ilert_url: str = ""
    level_url: str = ""
    reachable_after: float = 0.0

    def stop(self, signum: int) -> tuple[int, str]:
        """Send ``signum``; returns the exit status and the rest of stdout."""
        self.process.send_signal(signum)
        status = self.process.wait(timeout=WAIT_SECONDS)
        rest: list[str] = []
        for _ in range(1000):  # bounded: the reader ends with None at EOF
            line = self.queue.get(timeout=WAIT_SECONDS)
            if line is None:
                break
            rest.append(line)
        return status, "".join(rest)


def _reader(stream: object, lines: queue.Queue[str | None]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        lines.put(line)
    lines.put(None)


def _read_banner(running: Running, deadline: float) -> None:
    """Collect stdout lines until both URLs are printed and the banner is complete."""
    while time.monotonic() < deadline:
        try:
            line = running.queue.get(timeout=0.1)
        except queue.Empty:
            if running.ilert_url and running.level_url:
                break  # the banner is complete: nothing more until stop
            continue
        if line is None:
            running.queue.put(None)  # keep the end marker for stop()
            break
        running.lines.append(line)
        match = re.search(r"(ilert|Level) API:\s+(http://127\.0\.0\.1:\d+)", line)
        if match:
            setattr(running, f"{match.group(1).lower()}_url", match.group(2))
    assert running.ilert_url, f"no ilert URL printed: {running.lines}"
    assert running.level_url, f"no Level URL printed: {running.lines}"


def _answers(url: str, headers: dict[str, str]) -> bool:
    try:
        return requests.get(url, headers=headers, timeout=1).ok
    except requests.ConnectionError:
        return False


def _wait_until_reachable(running: Running, started: float, deadline: float) -> None:
    """Poll both APIs (bounded) and record how long after launch both answered."""
    while time.monotonic() < deadline:
        if _answers(
            f"{running.ilert_url}/api/teams", {"Authorization": f"Bearer {ILERT_TOKEN}"}
        ) and _answers(f"{running.level_url}/v2/webhooks", {"Authorization": LEVEL_API_KEY}):
            running.reachable_after = time.monotonic() - started
            return
        time.sleep(0.02)
    raise AssertionError("the sandbox never answered")


@contextmanager
def cli(*args: str) -> Iterator[Running]:
    """Start ``python -m sandbox`` on free ports and wait (bounded) until both APIs answer."""
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--ilert-port", "0", "--level-port", "0", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()
    running = Running(process, lines)
    reader = threading.Thread(target=_reader, args=(process.stdout, lines), daemon=True)
    reader.start()
    try:
        deadline = started + WAIT_SECONDS
        _read_banner(running, deadline)
        _wait_until_reachable(running, started, deadline)
        yield running
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=WAIT_SECONDS)
        reader.join(WAIT_SECONDS)
        if process.stdout is not None:
            process.stdout.close()


def test_banner_credentials_and_start_time_then_sigterm_exits_0() -> None:
    with cli() as running:
        banner = "".join(running.lines)
        for credential in (ILERT_TOKEN, LEVEL_API_KEY, LEVEL_READONLY_KEY):
            assert credential in banner
        assert "Hint:" in banner
        assert running.reachable_after < START_BUDGET_SECONDS, running.reachable_after
        status, rest = running.stop(signal.SIGTERM)
    assert status == 0
    assert "sandbox stopped" in rest


def test_sigint_exits_0() -> None:
    with cli("--quiet") as running:
        status, _ = running.stop(signal.SIGINT)
    assert status == 0


def test_state_persists_an_alert_source_across_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    body = {"name": "kept", "integrationType": "LEVELIO", "escalationPolicy": {"id": 1}}
    auth = {"Authorization": f"Bearer {ILERT_TOKEN}"}
    with cli("--state", str(state), "--quiet") as first:
        created = requests.post(
            f"{first.ilert_url}/api/alert-sources", json=body, headers=auth, timeout=5
        ).json()
        assert first.stop(signal.SIGTERM)[0] == 0
    assert state.is_file()
    with cli("--state", str(state), "--quiet") as second:
        again = requests.get(
            f"{second.ilert_url}/api/alert-sources/{created['id']}", headers=auth, timeout=5
        )
        assert again.status_code == 200
        assert again.json()["name"] == "kept"
        assert again.json()["integrationKey"] == created["integrationKey"]
        assert second.stop(signal.SIGTERM)[0] == 0


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.com"])  # noqa: S104
def test_non_loopback_host_is_refused(host: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sandbox", "--host", host, "--ilert-port", "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=WAIT_SECONDS,
        check=False,
    )
    assert result.returncode == 2
    assert "loopback" in result.stderr
    assert result.stdout == ""


def test_busy_port_is_a_clear_error() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "sandbox", "--ilert-port", str(port), "--level-port", "0"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=WAIT_SECONDS,
            check=False,
        )
    assert result.returncode == 1
    assert "cannot start" in result.stderr
