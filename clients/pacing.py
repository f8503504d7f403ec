"""Client-side pacing under an API key's rate limit, in this process, in memory.

ilert publishes 120 requests per minute per API key; Level publishes no number (the clients
pace at 60). A ``Pacer`` gives one token per request (``clients/http.py`` takes one before
every attempt, retries included) and keeps the times of the last ``requests`` tokens it gave:
the next one comes only when the oldest of them is a window old. A sliding-window log, so no
window ever holds more than ``requests`` of this process's requests. The window is stretched
by 2 % (``PACING_MARGIN``): a request leaves a little after its token is taken and the API
counts it when it arrives.

Who shares a pacer: every thread that holds it. It is an object, not a registry: an
``ApiClient`` is given one (``ApiClient(..., pacer=Pacer(RateLimit(120, 60)))``), and callers
that build several clients for one key in one process pass them the same object. Two pacers
for one key pace separately, each at the full rate.

Other processes on the same key are not seen: ``python -m ops fleet``, which runs stacks at
once, gives each stack its share of a key it shares (``LEVEL_ILERT_RATE_SHARE``,
``clients/tuning.py``), and a 429 that comes anyway is retried with backoff
(``clients/http.py``).

Waiting says nothing: a wait on this process's own requests is plain pacing.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

# Requests leave a little after their token is taken and the API counts them when they
# arrive: pace 2 % under the published limit.
PACING_MARGIN: Final = 1.02


@dataclass(frozen=True)
class RateLimit:
    """At most ``requests`` per ``window_seconds`` per API key (a sliding window)."""

    requests: int
    window_seconds: float = 60.0

    def __post_init__(self) -> None:
        if self.requests < 1 or self.window_seconds <= 0:
            raise ValueError("a rate limit needs requests >= 1 and window_seconds > 0")

    def share(self, fraction: float) -> RateLimit:
        """The part of this limit one of several processes on the key may use, so that their
        sum stays under it: ``fraction`` of the requests per window, rounded down.

        Below one request per window (``requests * fraction < 1``) each process gets one
        request per ``window / (requests * fraction)`` seconds: the key's average rate stays
        under its limit, though requests of several processes may then meet in one window
        (the 429 backoff covers that)."""
        if not 0 < fraction <= 1:
            raise ValueError("a rate share is a fraction above 0 and at most 1")
        exact = self.requests * fraction
        # 1e-9: 120 * (1/3) is 39.99999999999999 in floating point, and means 40.
        whole = math.floor(exact + 1e-9)
        if whole >= 1:
            return RateLimit(whole, self.window_seconds)
        return RateLimit(1, self.window_seconds / exact)


class Pacer:
    """One API key's pace in this process, shared by every thread that holds it.

    ``acquire(timeout)`` takes a token, waiting at most ``timeout`` seconds; it says False at
    once when the next free slot comes later than that (no slot can come sooner: tokens are
    never given back). Each token is stamped with the clock when it is taken, never with the
    time a sleep was meant to end: a thread woken late on a busy machine must not log its
    request as earlier than it left.
    """

    def __init__(
        self,
        limit: RateLimit,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limit = limit
        self._span = limit.window_seconds * PACING_MARGIN
        self._clock = clock
        self._sleep = sleep
        self._taken: deque[float] = deque()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"Pacer({self.limit.requests} per {self.limit.window_seconds:g} s, "
            f"{len(self._taken)} in the window)"
        )

    def acquire(self, timeout: float) -> bool:
        """One token, waiting at most ``timeout`` seconds; False if none comes in time."""
        end = self._clock() + max(timeout, 0.0)
        while True:
            with self._lock:
                now = self._clock()
                while self._taken and self._taken[0] <= now - self._span:
                    self._taken.popleft()
                if len(self._taken) < self.limit.requests:
                    self._taken.append(now)
                    return True
                free_at = self._taken[0] + self._span
            if free_at > end:
                return False
            # Threads that wake together race for the slot; the losers look again.
            self._sleep(free_at - now)


__all__ = ["PACING_MARGIN", "Pacer", "RateLimit"]
