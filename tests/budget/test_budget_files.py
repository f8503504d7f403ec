"""Where the machine-wide budget lives, what it is named, and what happens when it cannot be
used (in this process; the tests with several processes are in test_shared_budget.py)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from clients import budget

KEY = "tok-BUDGET-SECRET"


def test_the_folder_is_the_override_else_the_users_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(budget.DIR_ENV, str(tmp_path / "mine"))
    assert budget.budget_dir() == tmp_path / "mine"

    monkeypatch.delenv(budget.DIR_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert budget.budget_dir() == tmp_path / "cache" / "level-ilert" / "ratelimit"

    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert budget.budget_dir() == tmp_path / "home" / ".cache" / "level-ilert" / "ratelimit"


def test_one_budget_per_api_base_url_and_key() -> None:
    name = budget.budget_digest("ilert", "https://api.ilert.com", KEY)

    assert len(name) == 32 and int(name, 16) >= 0
    assert name == budget.budget_digest("ilert", "https://api.ilert.com", KEY)
    others = {
        budget.budget_digest("level", "https://api.ilert.com", KEY),
        budget.budget_digest("ilert", "https://eu.ilert.example", KEY),
        budget.budget_digest("ilert", "https://api.ilert.com", KEY + "x"),
        # no ambiguity where one part ends and the next begins
        budget.budget_digest("ilert", "https://api.ilert.co", "m" + KEY),
    }
    assert name not in others and len(others) == 4


def test_a_folder_that_cannot_be_used_paces_this_process_alone_and_says_so_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    monkeypatch.setenv(budget.DIR_ENV, str(blocked))
    monkeypatch.setattr(budget, "_fallback_said", False)
    window = budget.Window(2, 60.0)

    with caplog.at_level(logging.WARNING, logger="clients.budget"):
        first = budget.open_budget(api="ilert", base_url="https://a", credential=KEY, window=window)
        budget.open_budget(api="level", base_url="https://b", credential=KEY, window=window)

    assert isinstance(first, budget.LocalBudget)
    assert [first.acquire(0.0), first.acquire(0.0), first.acquire(0.05)] == [True, True, False]
    assert len(caplog.records) == 1
    message = caplog.records[0].getMessage()
    assert message.startswith(f"The shared rate budget in {blocked} cannot be used (")
    assert "this process paces its ilert requests alone" in message
    assert f"Set {budget.DIR_ENV} to a writable folder" in message
    assert message.endswith(
        "); this process paces its ilert requests alone. Other processes on the same API key "
        f"may then meet the API's rate limit. Set {budget.DIR_ENV} to a writable folder to "
        "share it."
    )
    assert KEY not in message
    first.close()


def test_a_folder_whose_parents_are_missing_is_made_and_shared(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A fresh machine has no ~/.cache yet: the budget makes the whole path (the folder only
    the user's), rather than falling back to pacing each process alone."""
    folder = tmp_path / "cache" / "level-ilert" / "ratelimit"
    monkeypatch.setenv(budget.DIR_ENV, str(folder))

    opened = budget.open_budget(
        api="ilert", base_url="https://a", credential=KEY, window=budget.Window(2, 60.0)
    )

    assert isinstance(opened, budget.SharedBudget)
    assert folder.stat().st_mode & 0o777 == 0o700
    opened.close()


def test_a_token_is_logged_when_it_is_taken_even_after_an_overslept_wait(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A busy machine wakes a waiting thread late. The log must say when the request really
    left, or the next one would be let out early and meet the API's 429."""
    import sqlite3
    import time

    real_sleep = time.sleep
    def late(seconds: float) -> None:
        real_sleep(seconds + 0.1)

    class LateClock:
        """``time`` for the budget module, waking every sleeper 100 ms late."""

        monotonic = staticmethod(time.monotonic)
        time_ns = staticmethod(time.time_ns)
        sleep = staticmethod(late)

    monkeypatch.setattr(budget, "time", LateClock)
    monkeypatch.setattr("pyrate_limiter.limiter.sleep", late)  # its own blocking wait
    shared = budget.SharedBudget(api="ilert", base_url="https://a", credential=KEY,
                                 window=budget.Window(2, 0.3), directory=tmp_path)
    returned = []
    for _ in range(4):
        assert shared.acquire(timeout=5.0)
        returned.append(time.time_ns() // 1_000_000)
    shared.close()

    with sqlite3.connect(next(tmp_path.glob("*.sqlite"))) as connection:
        logged = sorted(row[0] for row in connection.execute("SELECT item_timestamp FROM requests"))
    assert len(logged) == 4
    for stamp, back in zip(logged, returned, strict=True):
        assert back - 20 <= stamp <= back  # not the time the sleep was meant to end


def test_threads_that_wait_at_once_say_the_budget_is_shared_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The engine runs many resources at once: two threads of one provider process that both
    find the window full must print the "other process" line once, not once each."""
    import threading

    shared = budget.SharedBudget(api="ilert", base_url="https://a", credential=KEY,
                                 window=budget.Window(1, 60.0), directory=tmp_path)
    assert shared.acquire(0.0)  # the window is full from now on
    both_inside = threading.Barrier(2, timeout=5.0)

    def another_process_used_it(timeout: float = -1) -> int:
        both_inside.wait()  # both threads are past the "said already?" check
        return 1

    shared.other_processes = another_process_used_it  # type: ignore[method-assign]
    results: list[bool] = []
    with caplog.at_level(logging.WARNING, logger="clients.budget"):
        threads = [threading.Thread(target=lambda: results.append(shared.acquire(0.05)))
                   for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10.0)
    shared.close()

    assert results == [False, False]
    said = [record.getMessage() for record in caplog.records]
    assert said == [
        "ilert API: waiting for a request slot; 1 other process on this machine used this "
        "key's budget (1 requests per 60 s) within the last 60 s (running or finished since)."
    ]


# -- the budget seen by several processes, played in this one -------------------------------
# Each "process" is a SharedBudget opened with a pid of its own and its own lock (its own
# flock on the lock file, which conflicts with this process's like another process's does).
# Time is a fake clock shared by the budget and pyrate-limiter's bucket: sleeps advance it,
# so the waits are exact and take no real time.

T0_NS = 1_700_000_000_000_000_000 + 400_000  # a moment 0.4 ms into a millisecond
API, URL = "ilert", "https://api.ilert.com"


class FakeClock:
    """``time`` for the budget module (and the bucket's ``time_ns``): sleeps advance it."""

    def __init__(self) -> None:
        self.ns = T0_NS
        self.sleeps: list[float] = []

    def time_ns(self) -> int:
        return self.ns

    def monotonic(self) -> float:
        return (self.ns - T0_NS) / 1e9

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.ns += round(seconds * 1e9)

    def advance_ms(self, ms: int) -> None:
        self.ns += ms * 1_000_000


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(budget, "time", fake)
    monkeypatch.setattr("pyrate_limiter.buckets.sqlite_bucket.time_ns", fake.time_ns)
    return fake


def _process(
    pid: int, window: budget.Window, directory: Path, monkeypatch: pytest.MonkeyPatch
) -> budget.SharedBudget:
    """The budget as process ``pid`` opens it."""
    import os
    import types

    budget.forget_locks()
    with monkeypatch.context() as patch:
        patch.setattr(budget, "os", types.SimpleNamespace(
            getpid=lambda: pid, chmod=os.chmod, environ=os.environ))
        return budget.SharedBudget(api=API, base_url=URL, credential=KEY, window=window,
                                   directory=directory)


def _logged(directory: Path) -> list[tuple[str, int]]:
    import sqlite3

    with sqlite3.connect(next(directory.glob("*.sqlite"))) as connection:
        return sorted(connection.execute("SELECT name, item_timestamp FROM requests"),
                      key=lambda row: (row[1], row[0]))


def _held_by_another_process(directory: Path) -> object:
    """The budget's lock as another process holds it (a flock of its own on the file)."""
    from filelock import FileLock

    return FileLock(directory / f"{budget.budget_digest(API, URL, KEY)}.lock", thread_local=False)


def test_a_full_window_is_waited_out_in_one_sleep_until_its_oldest_request_leaves(
    tmp_path: Path, clock: FakeClock
) -> None:
    shared = budget.SharedBudget(api=API, base_url=URL, credential=KEY,
                                 window=budget.Window(2, 1.0), directory=tmp_path)
    assert shared.acquire(0.0)
    clock.advance_ms(100)
    assert shared.acquire(0.0)
    clock.advance_ms(100)

    assert shared.acquire(5.0)  # the window (1 s, paced as 1.02 s) held 2 requests

    # One sleep: until the first request leaves (1020 ms after it, 200 ms have passed),
    # plus the 5 ms buffer; then the token is taken and stamped with the clock.
    assert clock.sleeps == [0.825]
    start_ms = T0_NS // 1_000_000
    assert [stamp - start_ms for _, stamp in _logged(tmp_path)] == [0, 100, 1025]
    assert {name for name, _ in _logged(tmp_path)} == {f"pid {__import__('os').getpid()}"}
    shared.close()


def test_a_wait_longer_than_the_deadline_gives_up_at_the_deadline(
    tmp_path: Path, clock: FakeClock
) -> None:
    shared = budget.SharedBudget(api=API, base_url=URL, credential=KEY,
                                 window=budget.Window(1, 60.0), directory=tmp_path)
    assert shared.acquire(0.0)

    assert not shared.acquire(0.3)
    assert not shared.acquire(-1.0)

    assert clock.sleeps == [0.3]  # slept to the deadline, not a minute
    assert len(_logged(tmp_path)) == 1
    shared.close()


def test_the_message_counts_the_other_processes_that_used_the_window(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    window = budget.Window(2, 60.0)
    first, second = (_process(pid, window, tmp_path, monkeypatch) for pid in (101, 102))
    assert first.acquire(0.0) and second.acquire(0.0)
    budget.forget_locks()
    mine = budget.SharedBudget(api=API, base_url=URL, credential=KEY, window=window,
                               directory=tmp_path)

    with caplog.at_level(logging.WARNING, logger="clients.budget"):
        assert not mine.acquire(0.0)
        assert not mine.acquire(0.0)

    assert [record.getMessage() for record in caplog.records] == [
        "ilert API: waiting for a request slot; 2 other processes on this machine used this "
        "key's budget (2 requests per 60 s) within the last 60 s (running or finished since)."
    ]
    assert [name for name, _ in _logged(tmp_path)] == ["pid 101", "pid 102"]
    for each in (first, second, mine):
        each.close()


def test_other_processes_are_those_whose_requests_are_inside_the_window(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counted: another process's request exactly one window (60 s) ago, or since; not
    one a millisecond older, nor this process's own."""
    window = budget.Window(5, 60.0)
    old, edge, recent = (_process(pid, window, tmp_path, monkeypatch) for pid in (7, 8, 9))
    budget.forget_locks()
    mine = budget.SharedBudget(api=API, base_url=URL, credential=KEY, window=window,
                               directory=tmp_path)
    assert old.acquire(0.0)
    clock.advance_ms(1)
    assert edge.acquire(0.0)
    clock.advance_ms(30_000)
    assert recent.acquire(0.0) and mine.acquire(0.0)
    clock.advance_ms(30_000)  # edge's request is now exactly 60 s old, old's 60.001 s

    assert mine.other_processes() == 2
    clock.advance_ms(1)
    assert mine.other_processes() == 1
    clock.advance_ms(30_000)
    assert mine.other_processes() == 0  # only its own request is left in the window
    for each in (old, edge, recent, mine):
        each.close()


def test_a_budget_held_by_another_process_is_not_spent_past_it(tmp_path: Path) -> None:
    """A process stopped (Ctrl-Z) inside its milliseconds under the lock: the others neither
    take a token behind its back nor wait past their deadline for it."""
    import time

    shared = budget.SharedBudget(api=API, base_url=URL, credential=KEY,
                                 window=budget.Window(5, 60.0), directory=tmp_path)
    other = _held_by_another_process(tmp_path)
    other.acquire()  # type: ignore[attr-defined]
    try:
        started = time.monotonic()
        assert not shared.acquire(0.1)
        waited = time.monotonic() - started
        assert shared.other_processes(timeout=0.01) == 0  # unknown, so nothing is said
    finally:
        other.release()  # type: ignore[attr-defined]
    assert waited < 0.25  # the deadline, not the deadline again for the message
    assert _logged(tmp_path) == []
    assert shared.acquire(0.0)
    shared.close()


def test_a_budget_locked_when_it_is_opened_is_left_for_pacing_alone_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(budget.DIR_ENV, str(tmp_path))
    monkeypatch.setattr(budget, "_fallback_said", False)
    monkeypatch.setattr(budget, "OPEN_TIMEOUT_SECONDS", 0.05)
    other = _held_by_another_process(tmp_path)
    other.acquire()  # type: ignore[attr-defined]
    try:
        with caplog.at_level(logging.WARNING, logger="clients.budget"):
            opened = budget.open_budget(api=API, base_url=URL, credential=KEY,
                                        window=budget.Window(1, 60.0))
    finally:
        other.release()  # type: ignore[attr-defined]

    assert isinstance(opened, budget.LocalBudget)
    assert f"in {tmp_path} cannot be used (the budget stayed locked for 0.05 s);" in (
        caplog.records[0].getMessage())
    opened.close()


def test_a_file_system_without_flock_paces_alone_rather_than_use_a_marker_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A soft lock (a marker file) would stay behind when its holder is killed and lock
    every process out for good: without flock, the process paces alone and says so."""
    import errno
    import fcntl

    def no_flock(fd: int, operation: int) -> None:
        raise OSError(errno.ENOSYS, "Function not implemented")

    monkeypatch.setenv(budget.DIR_ENV, str(tmp_path))
    monkeypatch.setattr(budget, "_fallback_said", False)
    monkeypatch.setattr(fcntl, "flock", no_flock)
    with caplog.at_level(logging.WARNING, logger="clients.budget"):
        opened = budget.open_budget(api=API, base_url=URL, credential=KEY,
                                    window=budget.Window(1, 60.0))

    assert isinstance(opened, budget.LocalBudget)
    assert "cannot be used" in caplog.records[0].getMessage()
    assert not list(tmp_path.glob("*.sqlite"))
    opened.close()


def test_a_process_waiting_for_another_ones_lock_looks_again_every_2_ms(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    shared = budget.SharedBudget(api=API, base_url=URL, credential=KEY,
                                 window=budget.Window(5, 60.0), directory=tmp_path)
    other = _held_by_another_process(tmp_path)
    other.acquire()  # type: ignore[attr-defined]
    try:
        with caplog.at_level(logging.DEBUG, logger="filelock"):
            assert not shared.acquire(0.02)
    finally:
        other.release()  # type: ignore[attr-defined]
    waits = [record.args[-1] for record in caplog.records  # type: ignore[index]
             if record.getMessage().endswith(" seconds ...")]
    assert waits and waits[0] == budget.LOCK_POLL_SECONDS
    shared.close()


def test_the_files_are_the_users_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "ratelimit"
    monkeypatch.setenv(budget.DIR_ENV, str(folder))
    opened = budget.open_budget(api=API, base_url=URL, credential=KEY,
                                window=budget.Window(2, 60.0))
    assert isinstance(opened, budget.SharedBudget) and opened.acquire(0.0)
    opened.close()

    assert folder.stat().st_mode & 0o777 == 0o700
    digest = budget.budget_digest(API, URL, KEY)
    assert (folder / f"{digest}.sqlite").stat().st_mode & 0o777 == 0o600
    assert (folder / f"{digest}.lock").stat().st_mode & 0o777 == 0o600
    # Opening the folder again (it exists now) is fine.
    again = budget.open_budget(api=API, base_url=URL, credential=KEY,
                               window=budget.Window(2, 60.0))
    assert isinstance(again, budget.SharedBudget) and again.acquire(0.0)
    assert not again.acquire(0.0)
    again.close()


def test_a_process_with_a_short_window_leaves_others_requests_in_the_log(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Processes may pace one key with different windows (a user's override): one with a
    short window must not delete the requests that one with a long window still counts."""
    import time

    long = _process(11, budget.Window(1, 60.0), tmp_path, monkeypatch)
    assert long.acquire(0.0)
    clock.advance_ms(1_000)
    short = _process(12, budget.Window(1, 0.1), tmp_path, monkeypatch)
    time.sleep(0.05)  # time for a background cleaner, if one ran, to have run

    assert len(_logged(tmp_path)) == 1
    assert not long.acquire(0.0)
    long.close()
    short.close()


def test_a_key_with_undecodable_bytes_still_names_a_budget() -> None:
    """Python hands over bytes that are not UTF-8 (in an environment variable, say) as lone
    surrogates; the key is still hashed, to a name of its own."""
    odd = KEY + "\udcff"

    name = budget.budget_digest("ilert", "https://api.ilert.com", odd)

    assert len(name) == 32
    assert name != budget.budget_digest("ilert", "https://api.ilert.com", KEY)


# -- the fallback: this process alone, in memory --------------------------------------------


def test_the_local_budget_waits_for_room_within_the_deadline_and_no_longer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import time

    real_sleep = time.sleep
    sleeps: list[float] = []

    def recorded(seconds: float) -> None:
        sleeps.append(seconds)
        real_sleep(seconds)

    monkeypatch.setattr("pyrate_limiter.limiter.sleep", recorded)  # its blocking wait
    local = budget.LocalBudget(budget.Window(1, 0.1))
    assert local.acquire(0.0)
    assert not local.acquire(0.0)  # no room, no time to wait: at once
    assert not local.acquire(-1.0)
    assert sleeps == []

    assert local.acquire(1.0)  # room comes after 102 ms (+ the 5 ms buffer, + 1 ms)
    assert len(sleeps) == 1 and 0.05 <= sleeps[0] <= 0.108
    local.close()


def test_the_log_keeps_an_hour_and_is_pruned_once_a_minute(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The budget file must not grow with every request a machine ever sent: rows older than
    an hour go, at most once a minute (a prune per request would cost a write each)."""
    import sqlite3
    import time

    class Minutes:
        """``time`` for the budget module: the monotonic clock is set by the test."""

        now = 1_000.0
        time_ns = staticmethod(time.time_ns)
        sleep = staticmethod(time.sleep)

        @classmethod
        def monotonic(cls) -> float:
            return cls.now

    monkeypatch.setattr(budget, "time", Minutes)
    shared = budget.SharedBudget(api="ilert", base_url="https://a", credential=KEY,
                                 window=budget.Window(100, 60.0), directory=tmp_path)
    database = next(tmp_path.glob("*.sqlite"))

    def log_request(age_seconds: float, name: str) -> None:
        stamp = time.time_ns() // 1_000_000 - int(age_seconds * 1000)
        with sqlite3.connect(database) as connection:
            connection.execute("INSERT INTO requests VALUES (?, ?)", (name, stamp))

    def names() -> set[str]:
        with sqlite3.connect(database) as connection:
            return {row[0] for row in connection.execute("SELECT name FROM requests")}

    log_request(budget.KEEP_SECONDS + 2.0, "old")
    log_request(budget.KEEP_SECONDS - 60.0, "recent")
    assert shared.acquire(0.0)  # the first request prunes
    assert names() == {"recent", f"pid {os.getpid()}"}

    log_request(budget.KEEP_SECONDS + 2.0, "old again")
    Minutes.now += 30.0
    assert shared.acquire(0.0)  # half a minute later: no prune
    assert "old again" in names()

    Minutes.now += 30.0
    assert shared.acquire(0.0)  # a minute after the last prune: the next one
    assert "old again" not in names() and "recent" in names()
    shared.close()
