"""Where the machine-wide budget lives, what it is named, and what happens when it cannot be
used (in this process; the tests with several processes are in test_shared_budget.py)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from providers import budget

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

    with caplog.at_level(logging.WARNING, logger="providers.budget"):
        first = budget.open_budget(api="ilert", base_url="https://a", credential=KEY, window=window)
        budget.open_budget(api="level", base_url="https://b", credential=KEY, window=window)

    assert isinstance(first, budget.LocalBudget)
    assert [first.acquire(0.0), first.acquire(0.0), first.acquire(0.05)] == [True, True, False]
    assert len(caplog.records) == 1
    message = caplog.records[0].getMessage()
    assert message.startswith(f"The shared rate budget in {blocked} cannot be used (")
    assert "this process paces its ilert requests alone" in message
    assert f"Set {budget.DIR_ENV} to a writable folder" in message
    assert KEY not in message
    first.close()


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
    with caplog.at_level(logging.WARNING, logger="providers.budget"):
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
