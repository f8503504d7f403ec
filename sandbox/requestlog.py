"""A thread-safe log of every API call the two fake servers answered.

Tests use it to prove how a client behaved ("exactly one PUT", "retried three times")
without mocking. Control routes under ``/sandbox/`` are not recorded: they are the test's
own hand on the world, not traffic from the code under test.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, overload

Service = Literal["ilert", "level"]


@dataclass(frozen=True)
class RecordedRequest:
    """One answered API call: which fake, the method, path, raw query string and status."""

    service: Service
    method: str
    path: str
    query: str
    status: int


class RequestLog(Sequence[RecordedRequest]):
    """An append-only list of :class:`RecordedRequest`, safe to read while servers write."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[RecordedRequest] = []

    def append(self, item: RecordedRequest) -> None:
        """Record one answered call (the servers call this before the response is sent)."""
        with self._lock:
            self._items.append(item)

    def clear(self) -> None:
        """Forget everything recorded so far (e.g. after a test's setup calls)."""
        with self._lock:
            self._items.clear()

    def snapshot(self) -> list[RecordedRequest]:
        """A copy of the log at this moment."""
        with self._lock:
            return list(self._items)

    def count(
        self,
        service: Service | None = None,
        method: str | None = None,
        path_prefix: str | None = None,
    ) -> int:
        """How many recorded calls match every filter given (``None`` matches anything)."""
        return sum(
            1
            for item in self.snapshot()
            if (service is None or item.service == service)
            and (method is None or item.method == method.upper())
            and (path_prefix is None or item.path.startswith(path_prefix))
        )

    @overload
    def __getitem__(self, index: int) -> RecordedRequest: ...

    @overload
    def __getitem__(self, index: slice) -> list[RecordedRequest]: ...

    def __getitem__(self, index: int | slice) -> RecordedRequest | list[RecordedRequest]:
        with self._lock:
            return self._items[index]

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def __iter__(self) -> Iterator[RecordedRequest]:
        return iter(self.snapshot())

    def __repr__(self) -> str:
        return f"RequestLog({self.snapshot()!r})"
