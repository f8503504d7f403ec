"""One rate budget per API key on the machine, proven with real processes.

Each worker (``tests/budget/worker.py``) is a Python process of its own, as a provider
server, ``make doctor`` or a second ``pulumi up`` would be. The sandbox enforces ilert's
sliding window and records every answer, so the tests assert what the API saw.

The two-process tests use a whole minute as the window (6 requests per 60 s, on both sides)
and a deadline of a few seconds per request: whatever the machine's load, two workers of
6 requests each run within one window, so with a shared budget exactly 6 requests reach
the API and 6 are held back, and with a budget per process 12 reach it and the API refuses
6. No assertion depends on how the two processes are scheduled.
"""

from __future__ import annotations

import bisect
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from clients import budget
from sandbox import ILERT_TOKEN, Sandbox
from sandbox.ratelimit import RateLimit as SandboxLimit
from tests.engine.harness import REPO_ROOT

LIMIT, WINDOW = 6, 60.0
PER_WORKER = 6
DEADLINE = 2.0  # seconds per request: far inside the window, so nothing leaves it meanwhile
SHARED_MESSAGE = "used this key's budget"


def _worker(*args: object, directory: Path) -> subprocess.Popen[str]:
    env = {**os.environ, budget.DIR_ENV: str(directory)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.budget.worker", *map(str, args)],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


@dataclass
class Run:
    """Two workers on one key: what each printed, and what the sandbox answered."""

    outcomes: list[dict[str, int]]
    stderrs: list[str]
    statuses: list[int]
    directories: list[Path]
    url: str


def _two_workers(tmp: Path, *, shared: bool) -> Run:
    directories = [tmp / "one", tmp / "one"] if shared else [tmp / "one", tmp / "two"]
    with Sandbox(rate_limits={"ilert": SandboxLimit(LIMIT, WINDOW)}) as sandbox:
        workers = [
            _worker("requests", sandbox.ilert_url, ILERT_TOKEN, PER_WORKER, LIMIT, WINDOW,
                    DEADLINE, directory=directory)
            for directory in directories
        ]
        finished = [worker.communicate(timeout=60) for worker in workers]
        statuses = [request.status for request in sandbox.requests]
        url = sandbox.ilert_url
    for worker, (_, err) in zip(workers, finished, strict=True):
        assert worker.returncode == 0, err
    return Run(
        outcomes=[json.loads(out) for out, _ in finished],
        stderrs=[err for _, err in finished],
        statuses=statuses,
        directories=directories,
        url=url,
    )


@pytest.fixture(scope="module")
def shared_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """Two processes on one key and one budget folder, started to overlap."""
    return _two_workers(tmp_path_factory.mktemp("shared"), shared=True)


def test_two_processes_on_one_key_stay_under_the_apis_limit_together(shared_run: Run) -> None:
    # What the API saw: the window's 6 requests, every one answered, none refused.
    assert shared_run.statuses == [200] * LIMIT
    # The other 6 waited for a slot and were never sent (their deadline came first).
    together: dict[str, int] = {}
    for outcome in shared_run.outcomes:
        for kind, count in outcome.items():
            together[kind] = together.get(kind, 0) + count
    assert together == {"ok": LIMIT, "held back": 2 * PER_WORKER - LIMIT}


def test_processes_that_do_not_share_a_budget_meet_the_apis_limit(tmp_path: Path) -> None:
    """The control: the same two processes, each pacing alone, trip the API's window."""
    run = _two_workers(tmp_path, shared=False)

    assert run.statuses.count(200) == LIMIT
    assert run.statuses.count(429) >= 2 * PER_WORKER - LIMIT  # and again on each retry


def test_a_run_that_waits_on_a_budget_others_share_says_so_once(shared_run: Run) -> None:
    said = [err.count(SHARED_MESSAGE) for err in shared_run.stderrs]

    assert max(said) == 1  # at most once per process, though 6 of its requests waited
    assert sum(said) >= 1  # and whoever waited on the other's requests said so
    line = next(line for err in shared_run.stderrs for line in err.splitlines()
                if SHARED_MESSAGE in line)
    assert line == (
        "ilert API: waiting for a request slot; 1 other process on this machine used this "
        "key's budget (6 requests per 60 s) within the last 60 s (running or finished since)."
    )


def test_the_key_is_never_written_to_disk(shared_run: Run) -> None:
    folder = shared_run.directories[0]
    files = sorted(path for path in folder.rglob("*") if path.is_file())

    assert files, "the run left no budget behind"
    for path in files:
        assert ILERT_TOKEN not in path.name
        content = path.read_bytes()
        assert ILERT_TOKEN.encode() not in content, path.name
        assert ILERT_TOKEN.encode("utf-16-le") not in content, path.name
    digest = budget.budget_digest("ilert", shared_run.url, ILERT_TOKEN)
    assert {path.name.split(".")[0] for path in files} == {digest}
    assert folder.stat().st_mode & 0o777 == 0o700
    assert {path.stat().st_mode & 0o077 for path in files} == {0}  # only the user reads them


def test_threads_of_two_processes_never_overspend_the_budget(tmp_path: Path) -> None:
    """A stress test of the locks: 2 processes x 4 threads take 120 tokens at 50 per 0.5 s;
    the log the budget keeps never holds more than 50 in any 0.5 s window."""
    url = "http://127.0.0.1:9"
    start_at = time.time() + 0.8
    workers = [
        _worker("tokens", url, ILERT_TOKEN, 60, 4, start_at, directory=tmp_path)
        for _ in range(2)
    ]
    outputs = [worker.communicate(timeout=60) for worker in workers]
    for worker, (_, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err

    assert [json.loads(out)["taken"] for out, _ in outputs] == [60, 60]
    (path,) = tmp_path.glob("*.sqlite")
    with sqlite3.connect(path) as connection:
        rows = connection.execute("SELECT name, item_timestamp FROM requests").fetchall()
    stamps = sorted(stamp for _, stamp in rows)
    assert len(stamps) == 120 and len({name for name, _ in rows}) == 2
    busiest = max(bisect.bisect_left(stamps, start + 500) - index
                  for index, start in enumerate(stamps))
    assert busiest <= 50


# -- kill -9 -------------------------------------------------------------------------------


def _read_line(worker: subprocess.Popen[str], expected: str) -> None:
    assert worker.stdout is not None
    line = worker.stdout.readline().strip()
    if line != expected:
        worker.kill()
        raise AssertionError(f"worker said {line!r}: {worker.communicate(timeout=10)[1]}")


def _budget(url: str, directory: Path) -> budget.SharedBudget:
    return budget.SharedBudget(
        api="ilert", base_url=url, credential=ILERT_TOKEN, window=budget.Window(5, 1.0),
        directory=directory,
    )


def test_a_process_killed_while_holding_the_budget_leaves_it_unlocked(tmp_path: Path) -> None:
    url = "http://127.0.0.1:9"
    mine = _budget(url, tmp_path)
    worker = _worker("hold", url, ILERT_TOKEN, directory=tmp_path)
    try:
        _read_line(worker, "held")
        assert not mine.acquire(timeout=0.3)  # really held: the test can fail

        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)

        assert mine.acquire(timeout=5.0)  # a lock left behind would never come free
        mine.close()
    finally:
        worker.kill()
        worker.communicate(timeout=10)


@pytest.fixture
def silent_server() -> Iterator[tuple[str, threading.Event]]:
    """A loopback server that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted = threading.Event()
    held: list[socket.socket] = []

    def accept() -> None:
        try:
            connection, _ = listener.accept()
        except OSError:
            return
        held.append(connection)
        accepted.set()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", accepted
    finally:
        listener.close()
        for connection in held:
            connection.close()
        thread.join(timeout=5)


def test_a_process_killed_mid_request_leaves_the_budget_usable(
    tmp_path: Path, silent_server: tuple[str, threading.Event]
) -> None:
    url, accepted = silent_server
    worker = _worker("hang", url, ILERT_TOKEN, directory=tmp_path)
    try:
        _read_line(worker, "sending")
        assert accepted.wait(timeout=10), "the worker's request never arrived"
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        mine = _budget(url, tmp_path)

        taken = [mine.acquire(timeout=5.0) for _ in range(4)]

        assert taken == [True] * 4
        assert mine.other_processes() == 1  # the killed process's request still counts
        mine.close()
    finally:
        worker.kill()
        worker.communicate(timeout=10)


