"""A thread-safe log of every API call the two fake servers answered.

Tests use it to prove how a client behaved ("exactly one PUT", "retried three times")
without mocking. Control routes under ``/sandbox/`` are not recorded: they are the test's
own hand on the world, not traffic from the code under test.

What a faulted request looks like in the log (``fault`` names what happened to it):

- ``fault=None``: answered normally, ``status`` is the API's answer.
- ``fault="before"`` / ``"after"``: a fault rule of that mode fired; ``status`` is what the
  client got (the injected error, or the API's own answer when the rule only delayed it).
- ``fault="reset_before"`` / ``"reset_after"``: the connection was dropped and the client
  got no answer: ``status`` is :data:`DROPPED` (0). A ``reset_after`` entry means the API
  did act (look at the world to see what it did).
- ``fault="rate_limit"``: refused by the emulated rate limit, ``status`` 429.

When is an entry written? When the answer is decided, before it is sent: for ``after``
rules and ``reset_after`` right after the API acted (before the delay), for a request
held by a ``before`` delay only once the delay ends. A client that timed out may
therefore return before its request is logged: call :meth:`RequestLog.wait_idle` (or
``Sandbox.wait_idle``) before counting.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Final, Literal, overload

Service = Literal["ilert", "level"]

#: The ``status`` logged for a request whose connection was dropped without an answer.
DROPPED: Final = 0


@dataclass(frozen=True)
class RecordedRequest:
    """One API call: which fake, the method, path, raw query string, the status the client
    got (:data:`DROPPED` = none: the connection was dropped) and the fault applied, if any."""

    service: Service
    method: str
    path: str
    query: str
    status: int
    fault: str | None = None


class RequestLog(Sequence[RecordedRequest]):
    """An append-only list of :class:`RecordedRequest`, safe to read while servers write."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[RecordedRequest] = []
        self._idle = threading.Condition()
        self._in_flight = 0

    def append(self, item: RecordedRequest) -> None:
        """Record one answered call (the servers call this before the response is sent)."""
        with self._lock:
            self._items.append(item)

    def begin(self) -> None:
        """A request entered a fake server (the servers call this; see :meth:`wait_idle`)."""
        with self._idle:
            self._in_flight += 1

    def end(self) -> None:
        """A request left a fake server's handler."""
        with self._idle:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.notify_all()

    @property
    def in_flight(self) -> int:
        """How many API calls the fake servers are handling right now."""
        with self._idle:
            return self._in_flight

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Wait until no API call is being handled, so the log is complete.

        Needed after a client gave up on a delayed request. Raises ``TimeoutError`` if
        calls are still in flight after ``timeout`` seconds.
        """
        with self._idle:
            if not self._idle.wait_for(lambda: self._in_flight == 0, timeout):
                raise TimeoutError(
                    f"{self._in_flight} sandbox request(s) still in flight after {timeout:g} s"
                )

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
