"""WSGI middleware in front of each fake API: rate limit, fault injection, the request log.

It sits outside Flask so that it sees every answer, including 401s, 404s for unknown
routes and injected faults, and records the status *before* the response is sent (a test
that checks ``sb.requests`` right after its call returns always finds the entry; see
:mod:`sandbox.requestlog` for delayed and dropped requests).
Control routes under ``/sandbox/`` pass straight through: never limited, faulted or logged,
but guarded (``control_refusal``): their ``Host`` must be a loopback name or address (a web
page that rebinds its own name to 127.0.0.1 still sends that name), and a POST, PUT or
PATCH must say ``Content-Type: application/json`` (a form or ``text/plain`` post, which any
web page may send without asking, is refused; JSON needs the browser's permission, which
the sandbox never gives).

Order per API call: the rate limit (a refused request never reaches faults or the API),
then the first matching fault rule (:mod:`sandbox.faults`), then the API.

Dropping a connection (reset modes) needs werkzeug's server: the middleware sets
``SO_LINGER`` to zero on the request's socket (``environ["werkzeug.socket"]``) and raises
:class:`DroppedConnection`; werkzeug treats that as a dropped connection and sends
nothing, and the sandbox's server closes the socket without a FIN, so the client gets a
TCP reset (``requests.ConnectionError``). Delays end early when the sandbox stops; the
connection is then dropped.
"""

from __future__ import annotations

import io
import ipaddress
import logging
import socket
import struct
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NoReturn

from werkzeug.wrappers import Response
from werkzeug.wsgi import get_input_stream

from sandbox.faults import FaultRule, Faults
from sandbox.ratelimit import RateLimiter
from sandbox.requestlog import DROPPED, RecordedRequest, RequestLog, Service

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

#: Builds a fault's response in the service's own error format: (status, message) → Response.
ErrorResponder = Callable[[int, str], Response]

access_log = logging.getLogger("sandbox.requests")

#: ``struct linger {l_onoff=1, l_linger=0}``: close() then aborts the connection with a RST.
ABORTIVE_LINGER = struct.pack("ii", 1, 0)


class DroppedConnection(ConnectionAbortedError):
    """Raised out of the WSGI app to make the server drop the connection unanswered."""


def is_control_path(path: str) -> bool:
    """Whether ``path`` is a sandbox control route rather than part of a faked API."""
    return path == "/sandbox" or path.startswith("/sandbox/")


#: Methods whose control routes take a body: it must be JSON.
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def _loopback_host(header: str) -> bool:
    """Whether a ``Host`` header (``name``, ``name:port``, ``[::1]:port``) names loopback."""
    host = header.strip().lower()
    if host.startswith("["):
        host = host[1 : host.find("]")] if "]" in host else ""
    elif host.count(":") == 1:
        host = host.partition(":")[0]
    if host in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def control_refusal(environ: WSGIEnvironment) -> tuple[int, str] | None:
    """Why a control route refuses this request (status, message), or None: a ``Host``
    that is not loopback (403), or a body that is not said to be JSON (415)."""
    if not _loopback_host(environ.get("HTTP_HOST", "")):
        return 403, ("sandbox control routes answer only requests addressed to a loopback "
                     "host (Host: 127.0.0.1:<port>, localhost or [::1])")
    method = environ.get("REQUEST_METHOD", "GET").upper()
    media = environ.get("CONTENT_TYPE", "").partition(";")[0].strip().lower()
    if method in BODY_METHODS and media != "application/json":
        return 415, (f"sandbox control routes take JSON only: send {method} with "
                     f"Content-Type: application/json")
    return None


def is_aborted(sock: socket.socket) -> bool:
    """Whether :func:`drop_connection` marked ``sock`` to be reset rather than closed."""
    try:
        return sock.getsockopt(socket.SOL_SOCKET, socket.SO_LINGER, 8) == ABORTIVE_LINGER
    except OSError:
        return False


def drop_connection(environ: WSGIEnvironment) -> NoReturn:
    """Make the server reset this request's TCP connection without sending anything."""
    sock = environ.get("werkzeug.socket")
    if not isinstance(sock, socket.socket):
        raise RuntimeError("dropping a connection needs werkzeug's server (werkzeug.socket)")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, ABORTIVE_LINGER)
    raise DroppedConnection("sandbox fault: connection dropped")


def _buffer_body(environ: WSGIEnvironment) -> None:
    """Read the request body now, so nothing is left unread on a socket that gets dropped
    (werkzeug waits for unread input before closing) and the API can still read it."""
    environ["wsgi.input"] = io.BytesIO(get_input_stream(environ).read())
    environ.pop("wsgi.input_terminated", None)


@dataclass
class _Captured:
    """An API answer held back by an ``after`` rule."""

    status: str = "500 INTERNAL SERVER ERROR"
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: list[bytes] = field(default_factory=list)

    @property
    def code(self) -> int:
        return int(self.status.split(" ", 1)[0])


class ApiMiddleware:
    """Wraps one Flask app: applies the rate limit and fault rules, records every API call."""

    def __init__(
        self,
        app: WSGIApplication,
        service: Service,
        faults: Faults,
        log: RequestLog,
        error_response: ErrorResponder,
        *,
        rate_limiter: RateLimiter | None = None,
        stopping: threading.Event | None = None,
        log_requests: bool = False,
    ) -> None:
        self.app = app
        self.service = service
        self.faults = faults
        self.log = log
        self.error_response = error_response
        self.rate_limiter = rate_limiter
        self.stopping = stopping or threading.Event()
        self.log_requests = log_requests

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "") or "/"
        if is_control_path(path):
            refusal = control_refusal(environ)
            if refusal is not None:
                return self.error_response(*refusal)(environ, start_response)
            return self.app(environ, start_response)
        self.log.begin()
        try:
            return self._handle(environ, start_response, path)
        finally:
            self.log.end()

    # ---------------------------------------------------------------- pieces

    def _record(self, environ: WSGIEnvironment, code: int, fault: str | None) -> None:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        path = environ.get("PATH_INFO", "") or "/"
        query = environ.get("QUERY_STRING", "")
        self.log.append(RecordedRequest(self.service, method, path, query, code, fault))
        if self.log_requests:
            suffix = f"?{query}" if query else ""
            note = f" ({fault})" if fault else ""
            shown = "dropped" if code == DROPPED else str(code)
            access_log.info("%s %s %s%s -> %s%s", self.service, method, path, suffix, shown, note)

    def _recording(
        self, environ: WSGIEnvironment, start_response: StartResponse, fault: str | None
    ) -> StartResponse:
        def recording_start_response(
            status: str, headers: list[tuple[str, str]], exc_info: OptExcInfo | None = None
        ) -> Callable[[bytes], object]:
            self._record(environ, int(status.split(" ", 1)[0]), fault)
            return start_response(status, headers, exc_info)

        return recording_start_response

    def _sleep(self, seconds: float) -> bool:
        """Sleep ``seconds``; ``False`` if the sandbox began to stop meanwhile."""
        return not (seconds and self.stopping.wait(seconds))

    def _delay_or_drop(self, environ: WSGIEnvironment, seconds: float, fault: str) -> None:
        """A delay before anything was logged: if the sandbox stops, log a drop and drop."""
        if not self._sleep(seconds):
            self._record(environ, DROPPED, fault)
            drop_connection(environ)

    def _error(self, environ: WSGIEnvironment, rule: FaultRule) -> Response:
        assert rule.status is not None
        method = environ.get("REQUEST_METHOD", "GET").upper()
        response = self.error_response(
            rule.status, f"sandbox fault injected for {method} {rule.path}"
        )
        if rule.retry_after is not None:
            response.headers["Retry-After"] = str(rule.retry_after)
        return response

    def _run_app(self, environ: WSGIEnvironment) -> _Captured:
        """Let the API handle the request completely, holding its answer back."""
        captured = _Captured()

        def capture(
            status: str, headers: list[tuple[str, str]], exc_info: OptExcInfo | None = None
        ) -> Callable[[bytes], object]:
            captured.status, captured.headers = status, headers
            return captured.body.append

        iterable = self.app(environ, capture)
        try:
            captured.body.extend(iterable)
        finally:
            close = getattr(iterable, "close", None)
            if close is not None:
                close()
        return captured

    def _handle(
        self, environ: WSGIEnvironment, start_response: StartResponse, path: str
    ) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        if self.rate_limiter is not None:
            refusal = self.rate_limiter.acquire(self.service, environ.get("HTTP_AUTHORIZATION"))
            if refusal is not None:
                response = self.error_response(
                    429,
                    f"Too many requests: this API key is limited to {refusal.limit.describe()}"
                    " (sandbox rate limit)",
                )
                if refusal.limit.sends_retry_after(self.service):
                    response.headers["Retry-After"] = refusal.retry_after_header()
                return response(environ, self._recording(environ, start_response, "rate_limit"))

        rule = self.faults.take(self.service, method, path)
        if rule is None:
            return self.app(environ, self._recording(environ, start_response, None))
        if rule.mode == "before":
            self._delay_or_drop(environ, rule.delay_seconds, rule.mode)
            recording = self._recording(environ, start_response, rule.mode)
            if rule.status is not None:
                return self._error(environ, rule)(environ, recording)
            return self.app(environ, recording)
        _buffer_body(environ)
        if rule.mode == "reset_before":
            self._sleep(rule.delay_seconds)
            self._record(environ, DROPPED, rule.mode)
            drop_connection(environ)

        # "after" and "reset_after": the API acts first; its answer is logged, then held back.
        captured = self._run_app(environ)
        if rule.mode == "reset_after":
            self._record(environ, DROPPED, rule.mode)
            self._sleep(rule.delay_seconds)
            drop_connection(environ)
        if rule.status is not None:
            response = self._error(environ, rule)
            self._record(environ, response.status_code, rule.mode)
            if not self._sleep(rule.delay_seconds):
                drop_connection(environ)
            return response(environ, start_response)
        self._record(environ, captured.code, rule.mode)
        if not self._sleep(rule.delay_seconds):
            drop_connection(environ)
        start_response(captured.status, captured.headers)
        return captured.body
