"""A 429 without ``Retry-After`` costs seconds, not a window (README: the fault table).

The rule: the n-th 429 in a row waits min(window, 2^(n-1) s) stretched by a random 0-25 %,
and spends none of the policy's attempts; only the operation's deadline ends it. Real
requests go to a loopback server that answers as scripted; the waits are recorded on a
clock that moves when the client sleeps, so a minute of backoff takes no real time.
"""

from __future__ import annotations

import time

import pytest

from clients import http
from clients.http import RateLimit, RateLimitedError, RetryPolicy, rate_limited_wait
from tests.unit.test_http_policy import Script, make_client, server

__all__ = ["server"]  # the fixture, imported for this module's tests

ILERT_LIMIT = RateLimit(requests=120, window_seconds=60)
ONE_ATTEMPT_MORE = RetryPolicy(attempts=2, backoff_factor=0.05, backoff_jitter=0)


class Clock:
    """``time`` for the HTTP layer: real time plus every second it slept (not slept)."""

    def __init__(self) -> None:
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return time.monotonic() + sum(self.slept)

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(http, "time", fake)
    return fake


def _within(waits: list[float], expected: list[float]) -> bool:
    """Each wait is its expected value stretched by 0-25 % (and never above a cap of 60)."""
    return len(waits) == len(expected) and all(
        base <= wait <= min(base * 1.25, 60.0) for wait, base in zip(waits, expected, strict=True)
    )


@pytest.mark.parametrize("method", ["POST", "GET", "PUT", "DELETE"])
def test_three_429s_in_a_row_cost_seconds_and_the_operation_succeeds(
    server: tuple[str, Script], clock: Clock, method: str
) -> None:
    url, script = server
    script.actions = [("status", 429)] * 3
    # Two attempts in all for other failures: the 429s spend none of them.
    client = make_client(url, retry=ONE_ATTEMPT_MORE, rate_limit=ILERT_LIMIT,
                         operation_timeout=120.0)

    assert client.request(method, "/x", json={} if method != "GET" else None) == {"ok": True}

    assert [seen_method for _, seen_method in script.seen] == [method] * 4
    assert _within(clock.slept, [1.0, 2.0, 4.0]), clock.slept
    assert sum(clock.slept) <= 8.75  # not 3 windows (180 s): about 7 s


def test_the_backoff_doubles_up_to_the_window_and_stays_there(
    server: tuple[str, Script], clock: Clock
) -> None:
    url, script = server
    script.actions = [("status", 429)] * 8
    client = make_client(url, rate_limit=RateLimit(requests=120, window_seconds=10),
                         operation_timeout=600.0)

    assert client.request("GET", "/x") == {"ok": True}

    assert _within(clock.slept[:4], [1.0, 2.0, 4.0, 8.0]), clock.slept
    assert clock.slept[4:] == [10.0] * 4  # a whole window frees the key; no need for more


def test_429s_end_at_the_deadline_with_a_message_that_says_so(
    server: tuple[str, Script], clock: Clock
) -> None:
    url, script = server
    script.actions = [("status", 429)] * 30
    client = make_client(url, rate_limit=ILERT_LIMIT, operation_timeout=60.0)

    with pytest.raises(RateLimitedError, match="deadline of 60 s") as caught:
        client.request("POST", "/x", json={})

    # 1 + 2 + 4 + 8 + 16 s (31-38.75 s) fit into 60 s; the next 32-40 s would not.
    assert _within(clock.slept, [1.0, 2.0, 4.0, 8.0, 16.0]), clock.slept
    assert len(script.seen) == 6
    assert str(caught.value) == (
        "Example API POST /x failed (HTTP 429): try later. The API's rate limit was still "
        "exhausted after 6 attempts; the operation's deadline of 60 s "
        "(example:operationTimeoutSeconds) passed; raise it for a slow network or API, or "
        "try again later."
    )


def test_the_waits_are_spread_so_clients_refused_together_do_not_return_together() -> None:
    assert [rate_limited_wait(n, 60.0, jitter=0.0) for n in range(1, 9)] == [
        1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0,
    ]
    assert [rate_limited_wait(n, 60.0, jitter=1.0) for n in range(1, 7)] == [
        1.25, 2.5, 5.0, 10.0, 20.0, 40.0,
    ]
    spread = {round(rate_limited_wait(3, 60.0), 6) for _ in range(50)}
    assert len(spread) > 40 and min(spread) >= 4.0 and max(spread) <= 5.0
    assert rate_limited_wait(1, 0.6, jitter=0.5) == 0.6  # a scaled window caps the first wait


def test_a_429_with_retry_after_waits_what_the_api_says(
    server: tuple[str, Script], clock: Clock
) -> None:
    url, script = server
    script.actions = [("status", 429, 7)]
    client = make_client(url, rate_limit=ILERT_LIMIT)

    assert client.request("GET", "/x") == {"ok": True}

    assert clock.slept == [7.0]
