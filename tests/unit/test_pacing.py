"""The in-process pacer (clients/pacing.py): the window is never overrun by the threads that
share it, the deadline bounds every wait, tokens are stamped when taken, and a rate share
keeps the sum of several processes under the key's limit."""

from __future__ import annotations

import itertools
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from clients.pacing import PACING_MARGIN, Pacer, RateLimit


class FakeTime:
    """A clock that moves only when the pacer sleeps (by ``late`` more than asked)."""

    def __init__(self, late: float = 0.0) -> None:
        self.now = 0.0
        self.late = late
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds + self.late


def _pacer(limit: RateLimit, fake: FakeTime) -> Pacer:
    return Pacer(limit, clock=fake.clock, sleep=fake.sleep)


def test_a_full_window_waits_for_its_oldest_token_plus_the_two_percent_margin() -> None:
    fake = FakeTime()
    pacer = _pacer(RateLimit(requests=2, window_seconds=1.0), fake)

    assert pacer.acquire(0.0) and pacer.acquire(0.0)  # room for two at once
    assert pacer.acquire(5.0)

    assert fake.slept == [pytest.approx(1.0 * PACING_MARGIN)]


def test_the_deadline_bounds_the_wait_and_a_slot_beyond_it_is_refused_at_once() -> None:
    fake = FakeTime()
    pacer = _pacer(RateLimit(requests=1, window_seconds=10.0), fake)
    assert pacer.acquire(0.0)

    assert not pacer.acquire(10.0)  # the next slot is at 10.2 s: no point in waiting for it
    assert fake.slept == []
    assert not pacer.acquire(0.0)
    assert pacer.acquire(10.3)
    assert fake.slept == [pytest.approx(10.2)]


def test_a_spent_pacer_gives_up_within_the_timeout_on_the_real_clock() -> None:
    pacer = Pacer(RateLimit(requests=1, window_seconds=5.0))
    assert pacer.acquire(0.0)
    started = time.monotonic()

    assert not pacer.acquire(0.3)

    assert time.monotonic() - started < 0.3


def test_a_token_is_stamped_when_taken_not_when_the_sleep_was_meant_to_end() -> None:
    """A thread woken 0.5 s late sent its request 0.5 s late: the next slot counts from then."""
    fake = FakeTime(late=0.5)
    pacer = _pacer(RateLimit(requests=1, window_seconds=1.0), fake)
    assert pacer.acquire(0.0)

    assert pacer.acquire(10.0)  # meant for 1.02, taken at 1.52
    assert pacer.acquire(10.0)

    assert fake.slept == [pytest.approx(1.02), pytest.approx(1.02)]
    assert fake.now == pytest.approx(2 * (1.02 + 0.5))


def _max_in_window(times: list[float], window: float) -> int:
    return max(sum(1 for t in times if start <= t < start + window) for start in times)


def test_threads_sharing_one_pacer_never_overrun_its_window() -> None:
    pacer = Pacer(RateLimit(requests=4, window_seconds=0.5))
    taken: list[float] = []
    lock = threading.Lock()

    def take(_: int) -> None:
        assert pacer.acquire(30.0)
        with lock:
            taken.append(time.monotonic())

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(take, range(12)))

    taken.sort()
    # Recorded after acquire returned, so a little late: a window a tenth shorter holds at
    # most four, whatever the machine's load.
    assert _max_in_window(taken, 0.45) <= 4
    assert taken[-1] - started >= 2 * 0.5 * PACING_MARGIN  # 12 at 4 per window: two waits
    # Each group of four starts a full window after the one before.
    for earlier, later in itertools.pairwise(taken[::4]):
        assert later - earlier >= 0.45


def test_two_pacers_of_one_key_pace_separately() -> None:
    """No registry: the clients of one key share a pacer only by being given the same one."""
    fake = FakeTime()
    limit = RateLimit(requests=1, window_seconds=60.0)
    first, second = _pacer(limit, fake), _pacer(limit, fake)

    assert first.acquire(0.0) and second.acquire(0.0)
    assert not first.acquire(0.0)


def test_waiting_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    """A wait on this process's own requests is plain pacing (the shared budget spoke only
    when other processes had spent the window; a pacer has no others)."""
    pacer = Pacer(RateLimit(requests=1, window_seconds=0.1))

    with caplog.at_level(logging.DEBUG):
        assert pacer.acquire(1.0) and pacer.acquire(1.0) and pacer.acquire(1.0)

    assert caplog.records == []


@pytest.mark.parametrize(
    ("fraction", "expected"),
    [
        (1.0, RateLimit(120, 60.0)),
        (0.5, RateLimit(60, 60.0)),
        (1 / 3, RateLimit(40, 60.0)),  # 39.99999999999999 in floating point
        (1 / 7, RateLimit(17, 60.0)),
        (1 / 200, RateLimit(1, 100.0)),  # 0.6 per minute: one per 100 s
    ],
)
def test_a_share_is_that_part_of_the_requests_rounded_down(
    fraction: float, expected: RateLimit
) -> None:
    assert RateLimit(120, 60.0).share(fraction) == expected


def test_the_shares_of_up_to_120_stacks_at_once_sum_to_at_most_the_limit() -> None:
    for stacks in range(1, 121):
        part = RateLimit(120, 60.0).share(1 / stacks)

        assert part.window_seconds == 60.0
        assert stacks * part.requests <= 120
        assert part.requests == 120 // stacks  # and no request less than that


@pytest.mark.parametrize("fraction", [0.0, -0.5, 1.5, float("nan")])
def test_a_share_must_be_a_fraction(fraction: float) -> None:
    with pytest.raises(ValueError, match="a rate share is a fraction above 0 and at most 1"):
        RateLimit(120, 60.0).share(fraction)


def test_a_pacer_shows_its_limit_and_how_full_its_window_is() -> None:
    pacer = Pacer(RateLimit(requests=120, window_seconds=60.0))
    pacer.acquire(0.0)

    assert repr(pacer) == "Pacer(120 per 60 s, 1 in the window)"
