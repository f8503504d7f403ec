"""Fault injection: make a fake API answer an error, or answer slowly, on purpose.

A rule matches by service, method (``"*"`` = any) and path prefix, and fires ``count``
times (``None`` = until cleared). With a ``status`` the request never reaches the API and
gets that status in the service's own error format; with ``status=None`` the rule only
delays the request and then lets it through. ilert sends no ``Retry-After`` on 429, so
``retry_after`` is honoured for Level only.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import Any

from sandbox.requestlog import Service

SERVICES: tuple[Service, ...] = ("ilert", "level")
MAX_DELAY_SECONDS = 60.0


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
    fired: int = 0

    def matches(self, service: str, method: str, path: str) -> bool:
        """Whether this rule applies to a request."""
        return (
            self.service == service
            and self.method in ("*", method.upper())
            and path.startswith(self.path)
            and (self.remaining is None or self.remaining > 0)
        )

    def to_json(self) -> dict[str, Any]:
        """The rule as the ``/sandbox/faults`` routes show it."""
        return asdict(self)


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
        status: int | None = 503,
        *,
        count: int | None = 1,
        delay_seconds: float = 0.0,
        retry_after: int | None = None,
    ) -> FaultRule:
        """Add a rule; raises ``ValueError`` naming the bad argument."""
        if service not in SERVICES:
            raise ValueError(f"service must be one of {', '.join(SERVICES)}, not {service!r}")
        if not isinstance(method, str) or not method:
            raise ValueError("method must be an HTTP method or '*'")
        if not isinstance(path, str) or not path.startswith("/"):
            raise ValueError("path must be a path prefix starting with '/'")
        if status is not None and (
            isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599
        ):
            raise ValueError("status must be an HTTP error status (400-599) or None")
        if count is not None and (
            isinstance(count, bool) or not isinstance(count, int) or count < 1
        ):
            raise ValueError("count must be a positive integer or None (until cleared)")
        if (
            isinstance(delay_seconds, bool)
            or not isinstance(delay_seconds, int | float)
            or not 0 <= delay_seconds <= MAX_DELAY_SECONDS
        ):
            raise ValueError(f"delay_seconds must be between 0 and {MAX_DELAY_SECONDS:g}")
        if retry_after is not None and (
            isinstance(retry_after, bool) or not isinstance(retry_after, int) or retry_after < 0
        ):
            raise ValueError("retry_after must be a non-negative integer or None")
        if status is None and delay_seconds == 0:
            raise ValueError("a rule needs a status, a delay_seconds, or both")
        rule = FaultRule(
            service="ilert" if service == "ilert" else "level",
            method=method.upper(),
            path=path,
            status=status,
            remaining=count,
            delay_seconds=float(delay_seconds),
            retry_after=retry_after if service == "level" else None,
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
