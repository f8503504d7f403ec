"""Fault injection: make a fake API fail, answer slowly, or drop the connection, on purpose.

A rule matches by service, method (``"*"`` = any) and path prefix, and fires ``count``
times (``None`` = until cleared). Its ``mode`` says when it strikes, relative to the API
doing the work:

``"before"`` (default)
    The API never sees the request. After ``delay_seconds``, the client gets ``status``
    (default 503) in the service's own error format; with ``status=None`` the request is
    only delayed and then handled normally ("slow": delay past the client's read timeout;
    the API still acts once the delay ends, even if the client has given up by then).
``"after"``
    The API handles the request first (an alert source really is created), then after
    ``delay_seconds`` the client gets ``status`` instead of the real answer (e.g. a 502 or
    504 from a gateway that lost the answer); with ``status=None`` it gets the real answer,
    late ("act, then respond slowly").
``"reset_before"``
    After ``delay_seconds``, the TCP connection is dropped (RST) without the API doing
    anything and without any response: ``requests`` raises ``ConnectionError``.
``"reset_after"``
    The API handles the request, then (after ``delay_seconds``) the connection is dropped
    without a response: the client sees a reset although the server acted.

Reset modes send no status, so they take no ``status`` and no ``retry_after``.
``retry_after`` (seconds) adds a ``Retry-After`` header to a rule's error answer, on
either service; without it no ``Retry-After`` is sent, which is what ilert always does.

Python::

    sb.faults.add("ilert", "POST", "/api/alert-sources", status=429)             # no header
    sb.faults.add("level", "GET", "/v2/webhooks", status=429, retry_after=2)
    sb.faults.add("ilert", "GET", "/api/alert-sources", status=None, delay_seconds=3)
    sb.faults.add("ilert", "POST", "/api/alert-sources", mode="reset_before")
    sb.faults.add("level", "POST", "/v2/webhooks", mode="reset_after")
    sb.faults.add("ilert", "PUT", "/api/alert-sources/", status=None, mode="after",
                  delay_seconds=3)
    sb.faults.add("ilert", "POST", "/api/alert-sources", status=504, mode="after")

HTTP: ``POST /sandbox/faults`` with the same fields as JSON (see ``sandbox.app_common``).
How faulted requests appear in the request log: see :mod:`sandbox.requestlog`.
"""

from __future__ import annotations

import enum
import threading
from dataclasses import asdict, dataclass
from typing import Any, Final, Literal, get_args

from sandbox.requestlog import Service

SERVICES: tuple[Service, ...] = ("ilert", "level")
MAX_DELAY_SECONDS = 60.0
DEFAULT_STATUS: Final = 503

FaultMode = Literal["before", "after", "reset_before", "reset_after"]
MODES: tuple[FaultMode, ...] = get_args(FaultMode)
RESET_MODES: frozenset[str] = frozenset({"reset_before", "reset_after"})


class _Unset(enum.Enum):
    """Marks an argument left out (``status`` defaults differ per mode)."""

    UNSET = "unset"


UNSET: Final = _Unset.UNSET


@dataclass
class FaultRule:
    """One fault rule; ``remaining`` counts down as it fires (``None`` = forever)."""

    service: Service
    method: str
    path: str
    status: int | None
    remaining: int | None
    delay_seconds: float
    retry_after: int | None
    mode: FaultMode = "before"
    fired: int = 0

    def matches(self, service: str, method: str, path: str) -> bool:
        """Whether this rule applies to a request."""
        return (
            self.service == service
            and self.method in ("*", method.upper())
            and path.startswith(self.path)
            and (self.remaining is None or self.remaining > 0)
        )

    @property
    def drops_connection(self) -> bool:
        """Whether the client gets no response at all (a reset mode)."""
        return self.mode in RESET_MODES

    def to_json(self) -> dict[str, Any]:
        """The rule as the ``/sandbox/faults`` routes show it."""
        return asdict(self)


def _check_int(name: str, value: object, minimum: int, maximum: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer of at least {minimum}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be at most {maximum}")


def _resolve_status(mode: str, status: int | _Unset | None) -> int | None:
    """The rule's status: the default depends on the mode; reset modes have none."""
    if mode in RESET_MODES:
        if status is not UNSET and status is not None:
            raise ValueError(
                f"status: mode {mode!r} drops the connection and sends no status; "
                "leave status out (or use mode 'before'/'after' to answer an error)"
            )
        return None
    if status is UNSET:
        return DEFAULT_STATUS
    if status is not None and (
        isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599
    ):
        raise ValueError("status must be an HTTP error status (400-599) or None")
    return status


class Faults:
    """The thread-safe set of fault rules shared by both fake servers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []

    def add(
        self,
        service: str = "ilert",
        method: str = "*",
        path: str = "/",
        status: int | _Unset | None = UNSET,
        *,
        count: int | None = 1,
        delay_seconds: float = 0.0,
        retry_after: int | None = None,
        mode: str = "before",
    ) -> FaultRule:
        """Add a rule; raises ``ValueError`` naming the bad argument.

        ``status`` defaults to 503 in modes ``before``/``after`` and must be left out in
        the reset modes. See the module docstring for what each mode does.
        """
        if service not in SERVICES:
            raise ValueError(f"service must be one of {', '.join(SERVICES)}, not {service!r}")
        if not isinstance(method, str) or not method:
            raise ValueError("method must be an HTTP method or '*'")
        if not isinstance(path, str) or not path.startswith("/"):
            raise ValueError("path must be a path prefix starting with '/'")
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        resolved = _resolve_status(mode, status)
        if count is not None:
            _check_int("count", count, 1)
        if (
            isinstance(delay_seconds, bool)
            or not isinstance(delay_seconds, int | float)
            or not 0 <= delay_seconds <= MAX_DELAY_SECONDS
        ):
            raise ValueError(f"delay_seconds must be between 0 and {MAX_DELAY_SECONDS:g}")
        if retry_after is not None:
            _check_int("retry_after", retry_after, 0)
            if resolved is None:
                raise ValueError("retry_after needs a status to go with (a 429 or 503, say)")
        if resolved is None and delay_seconds == 0 and mode not in RESET_MODES:
            raise ValueError("a rule needs a status, a delay_seconds, or both")
        rule = FaultRule(
            service="ilert" if service == "ilert" else "level",
            method=method.upper(),
            path=path,
            status=resolved,
            remaining=count,
            delay_seconds=float(delay_seconds),
            retry_after=retry_after,
            mode=next(m for m in MODES if m == mode),
        )
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self, service: str | None = None) -> None:
        """Remove every rule, or only those of one service."""
        with self._lock:
            self._rules = [r for r in self._rules if service is not None and r.service != service]

    def rules(self, service: str | None = None) -> list[FaultRule]:
        """The rules still able to fire, oldest first."""
        with self._lock:
            return [
                r
                for r in self._rules
                if (service is None or r.service == service)
                and (r.remaining is None or r.remaining > 0)
            ]

    def take(self, service: str, method: str, path: str) -> FaultRule | None:
        """The first rule matching a request, consuming one of its firings."""
        with self._lock:
            for rule in self._rules:
                if rule.matches(service, method, path):
                    rule.fired += 1
                    if rule.remaining is not None:
                        rule.remaining -= 1
                    return rule
        return None
