"""WSGI middleware in front of each fake API: fault injection, then the request log.

It sits outside Flask so that it sees every answer, including 401s, 404s for unknown
routes and injected faults, and records the status *before* the response is sent (a test
that checks ``sb.requests`` right after its call returns always finds the entry).
Control routes under ``/sandbox/`` pass straight through: never faulted, never logged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from werkzeug.wrappers import Response

from sandbox.faults import Faults
from sandbox.requestlog import RecordedRequest, RequestLog, Service

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

#: Builds a fault's response in the service's own error format: (status, message) → Response.
ErrorResponder = Callable[[int, str], Response]

access_log = logging.getLogger("sandbox.requests")


def is_control_path(path: str) -> bool:
    """Whether ``path`` is a sandbox control route rather than part of a faked API."""
    return path == "/sandbox" or path.startswith("/sandbox/")


class ApiMiddleware:
    """Wraps one Flask app: applies fault rules and records every API call."""

    def __init__(
        self,
        app: WSGIApplication,
        service: Service,
        faults: Faults,
        log: RequestLog,
        error_response: ErrorResponder,
        *,
        log_requests: bool = False,
    ) -> None:
        self.app = app
        self.service = service
        self.faults = faults
        self.log = log
        self.error_response = error_response
        self.log_requests = log_requests

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "") or "/"
        method = environ.get("REQUEST_METHOD", "GET").upper()
        if is_control_path(path):
            return self.app(environ, start_response)
        query = environ.get("QUERY_STRING", "")

        def recording_start_response(
            status: str, headers: list[tuple[str, str]], exc_info: OptExcInfo | None = None
        ) -> Callable[[bytes], object]:
            code = int(status.split(" ", 1)[0])
            self.log.append(RecordedRequest(self.service, method, path, query, code))
            if self.log_requests:
                suffix = f"?{query}" if query else ""
                access_log.info("%s %s %s%s -> %d", self.service, method, path, suffix, code)
            return start_response(status, headers, exc_info)

        rule = self.faults.take(self.service, method, path)
        if rule is not None:
            if rule.delay_seconds:
                time.sleep(rule.delay_seconds)
            if rule.status is not None:
                response = self.error_response(
                    rule.status, f"sandbox fault injected for {method} {rule.path}"
                )
                if rule.retry_after is not None:
                    response.headers["Retry-After"] = str(rule.retry_after)
                return response(environ, recording_start_response)
        return self.app(environ, recording_start_response)
