"""Emulated API rate limits: per service and per API key, sliding window, off by default.

ilert publishes 120 requests per minute per user API key and answers 429 **without**
``Retry-After`` when a key goes over (reference: ilert-api.md §4). Level publishes no
number; a 429 *with* ``Retry-After`` is reported by third parties (level-api.md §1), so
a Level limit is opt-in and its 429 carries ``Retry-After``.

The window slides: a request is allowed when fewer than ``requests`` requests of the
same key were allowed in the last ``window_seconds`` (ilert documents a per-minute
window; a client that stays under a sliding window also stays under a fixed one).
Refused requests do not count. The key is the ``Authorization`` header as sent; requests
without one (ilert's unauthenticated event intake) are not limited.

``time_scale`` shrinks windows for fast tests: with ``time_scale=0.01`` a 60 s window
lasts 0.6 s of real time. ``Retry-After`` stays in real, whole seconds (HTTP allows no
fractions), rounded up and at least 1.

Python::

    Sandbox(rate_limits={"ilert": RateLimit()}, time_scale=0.01)         # 120 per 60 s
    Sandbox(rate_limits={"ilert": RateLimit(120, 60), "level": RateLimit(5, 1)})
    sb.rate_limiter.set("level", RateLimit(requests=10, window_seconds=60))
    sb.rate_limiter.set("ilert", None)                                   # off again

Command line: ``python -m sandbox --ilert-rate-limit 120/60 --level-rate-limit 10/60
--time-scale 0.01``.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from sandbox.requestlog import Service

#: ilert's published limit for a user-generated API key.
ILERT_REQUESTS_PER_WINDOW: Final = 120
ILERT_WINDOW_SECONDS: Final = 60.0
SERVICES: tuple[Service, ...] = ("ilert", "level")


@dataclass(frozen=True)
class RateLimit:
    """At most ``requests`` requests per ``window_seconds`` (sandbox time) per API key.

    The defaults are ilert's published limit. ``retry_after=None`` takes the service's
    convention: no ``Retry-After`` on ilert, one on Level; ``True``/``False`` forces it.
    """

    requests: int = ILERT_REQUESTS_PER_WINDOW
    window_seconds: float = ILERT_WINDOW_SECONDS
    retry_after: bool | None = None

    def __post_init__(self) -> None:
        if isinstance(self.requests, bool) or not isinstance(self.requests, int):
            raise ValueError("requests must be a positive integer")
        if self.requests < 1:
            raise ValueError("requests must be a positive integer")
        if (
            isinstance(self.window_seconds, bool)
            or not isinstance(self.window_seconds, int | float)
            or not self.window_seconds > 0
            or math.isinf(self.window_seconds)
        ):
            raise ValueError("window_seconds must be a positive number of seconds")

    @classmethod
    def parse(cls, text: str) -> RateLimit:
        """``"120/60"`` → 120 requests per 60 s (the CLI's format)."""
        count, sep, window = text.partition("/")
        try:
            if not sep:
                raise ValueError
            return cls(int(count), float(window))
        except ValueError:
            raise ValueError(
                f"expected REQUESTS/SECONDS with REQUESTS >= 1 and SECONDS > 0, "
                f"for example 120/60, not {text!r}"
            ) from None

    def sends_retry_after(self, service: Service) -> bool:
        """Whether a 429 from this limit carries ``Retry-After`` on ``service``."""
        return self.retry_after if self.retry_after is not None else service == "level"

    def describe(self) -> str:
        """``120 requests per 60 s`` (for banners and error messages)."""
        return f"{self.requests} requests per {self.window_seconds:g} s"


@dataclass(frozen=True)
class Refusal:
    """A request refused by the limit: ``wait_seconds`` (real time) until a slot frees."""

    limit: RateLimit
    wait_seconds: float

    def retry_after_header(self) -> str:
        """The ``Retry-After`` value: whole real seconds, rounded up, at least 1."""
        return str(max(1, math.ceil(self.wait_seconds)))


class RateLimiter:
    """Sliding-window counters per (service, API key); thread-safe (one lock)."""

    def __init__(
        self,
        limits: Mapping[str, RateLimit | None] | None = None,
        time_scale: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if (
            isinstance(time_scale, bool)
            or not isinstance(time_scale, int | float)
            or not 0 < time_scale <= 1000
        ):
            raise ValueError("time_scale must be a number above 0 (0.01 = 100 times faster)")
        self.time_scale = float(time_scale)
        self._clock = clock
        self._lock = threading.Lock()
        self._limits: dict[Service, RateLimit] = {}
        self._windows: dict[tuple[Service, str], deque[float]] = {}
        for service, limit in (limits or {}).items():
            self.set(service, limit)

    def set(self, service: str, limit: RateLimit | None) -> None:
        """Turn ``service``'s limit on (or change it), or off with ``None``; resets counts."""
        if service not in SERVICES:
            raise ValueError(f"service must be one of {', '.join(SERVICES)}, not {service!r}")
        if limit is not None and not isinstance(limit, RateLimit):
            raise ValueError("limit must be a RateLimit or None")
        known: Service = "ilert" if service == "ilert" else "level"
        with self._lock:
            if limit is None:
                self._limits.pop(known, None)
            else:
                self._limits[known] = limit
            self._windows = {k: v for k, v in self._windows.items() if k[0] != known}

    def limit(self, service: str) -> RateLimit | None:
        """The limit in force for ``service`` (``None`` = not limited)."""
        with self._lock:
            return self._limits.get("ilert" if service == "ilert" else "level")

    def reset(self) -> None:
        """Forget every request counted so far (limits stay)."""
        with self._lock:
            self._windows.clear()

    def window_real_seconds(self, limit: RateLimit) -> float:
        """How long ``limit``'s window lasts in real time under :attr:`time_scale`."""
        return limit.window_seconds * self.time_scale

    def acquire(self, service: Service, key: str | None) -> Refusal | None:
        """Count one request of ``key``; ``None`` if allowed, else why it was refused."""
        if key is None:
            return None
        with self._lock:
            limit = self._limits.get(service)
            if limit is None:
                return None
            window = self.window_real_seconds(limit)
            now = self._clock()
            stamps = self._windows.setdefault((service, key), deque())
            while stamps and stamps[0] <= now - window:
                stamps.popleft()
            if len(stamps) >= limit.requests:
                return Refusal(limit, stamps[0] + window - now)
            stamps.append(now)
            return None

    def used(self, service: Service, key: str) -> int:
        """How many requests of ``key`` count against ``service``'s window right now."""
        with self._lock:
            limit = self._limits.get(service)
            stamps = self._windows.get((service, key))
            if limit is None or stamps is None:
                return 0
            since = self._clock() - self.window_real_seconds(limit)
            return sum(1 for stamp in stamps if stamp > since)
