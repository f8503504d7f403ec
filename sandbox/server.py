"""The :class:`Sandbox` handle: both fake APIs served from one process, plus typed helpers.

Each API is a Flask app behind :class:`sandbox.middleware.ApiMiddleware`, served by
werkzeug's threaded server in a daemon thread. Port 0 binds any free port; the real one is
read back from the server, so tests can run in parallel.

Options beyond ports and state: ``rate_limits`` and ``time_scale`` (emulated per-key rate
limits, off by default: :mod:`sandbox.ratelimit`); faults via ``sb.faults``
(:mod:`sandbox.faults`); ``sb.wait_idle()`` waits until no request is being handled.

Stopping: :meth:`Sandbox.stop` asks each serve loop to stop, wakes it with a connection to
the address recorded at start, joins the serve thread, and only then closes the listening
socket. The serve loop never closes it itself (werkzeug's ``serve_forever`` would, racing
with the wake-up: ``OSError: [Errno 9] Bad file descriptor``).
"""

from __future__ import annotations

import ipaddress
import socket
import socketserver
import threading
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from werkzeug.serving import BaseWSGIServer, ThreadedWSGIServer, WSGIRequestHandler

from sandbox.credentials import KeyRing, keys_file
from sandbox.delivery import Deliverer
from sandbox.faults import Faults
from sandbox.ilert_app import create_ilert_app, ilert_error
from sandbox.ilert_service import IlertService
from sandbox.level_app import create_level_app, level_error
from sandbox.level_service import LevelService
from sandbox.middleware import ApiMiddleware, is_aborted
from sandbox.ratelimit import RateLimit, RateLimiter
from sandbox.requestlog import RequestLog, Service
from sandbox.world import JSON, World

POLL_INTERVAL_SECONDS = 0.5
WAKE_INTERVAL_SECONDS = 0.005
JOIN_TIMEOUT_SECONDS = 5.0


def is_loopback_host(host: str) -> bool:
    """Whether the sandbox may listen on ``host`` (it never listens beyond loopback)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class _QuietHandler(WSGIRequestHandler):
    """werkzeug's handler without its per-request access line (tests must not spam)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Skip the access log line; the request log and ``--log-requests`` cover it."""

    def connection_dropped(self, error: BaseException, environ: Any = None) -> None:
        """A dropped connection (by the client, or by a reset fault) is never read again:
        without this an HTTP/1.1 handler would wait for a next request on it."""
        self.close_connection = True


class _Server(ThreadedWSGIServer):
    """werkzeug's threaded server, with the listening socket owned by :class:`Sandbox`."""

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        """The plain socketserver loop: unlike werkzeug's, it does not close the listening
        socket on its way out, so that :meth:`Sandbox.stop` may still wake it safely."""
        socketserver.BaseServer.serve_forever(self, poll_interval)

    def shutdown_request(self, request: Any) -> None:
        """Close a request's socket; one a reset fault marked is closed without a FIN first,
        so the client gets a TCP reset rather than an orderly end of stream."""
        if isinstance(request, socket.socket) and is_aborted(request):
            self.close_request(request)
        else:
            super().shutdown_request(request)


def _listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port``; ``OSError`` says which address failed."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(128)
    except OSError as exc:
        listener.close()
        raise OSError(exc.errno, f"cannot listen on {host} port {port}: {exc.strerror}") from exc
    return listener


def _wake(address: tuple[str, int]) -> None:
    """Connect to a serve loop's listening ``address`` and hang up, so it notices a pending
    shutdown at once instead of after its poll interval. The socket stays open until the
    loop has ended (see :class:`_Server`), so this reaches our own listener; a failure only
    means the loop has to notice by polling."""
    try:
        with socket.create_connection(address, timeout=0.5):
            pass
    except OSError:
        pass  # e.g. backlog full under load: the poll interval still ends the loop


def _base_url(host: str, port: int) -> str:
    host = host.strip("[]")
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


class Sandbox:
    """Fake ilert + fake Level, in this process, on loopback.

    >>> with Sandbox() as sb:                                   # doctest: +SKIP
    ...     requests.get(f"{sb.ilert_url}/api/alert-sources",
    ...                  headers={"Authorization": f"Bearer {ILERT_TOKEN}"})
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        ilert_port: int = 0,
        level_port: int = 0,
        state_file: str | Path | None = None,
        delivery_retry_delay: float = 0.0,
        *,
        log_requests: bool = False,
        rate_limits: Mapping[str, RateLimit | None] | None = None,
        time_scale: float = 1.0,
    ) -> None:
        """``rate_limits``: e.g. ``{"ilert": RateLimit()}`` (120 per 60 s per API key);
        ``time_scale`` shrinks its windows (0.01: 60 s last 0.6 s). See
        :mod:`sandbox.ratelimit`."""
        if not is_loopback_host(host):
            raise ValueError(f"the sandbox listens on loopback addresses only, not {host!r}")
        if delivery_retry_delay < 0:
            raise ValueError("delivery_retry_delay must not be negative")
        self.host = host.strip("[]")
        self._ports = {"ilert": ilert_port, "level": level_port}
        self.world = World(Path(state_file) if state_file is not None else None)
        # The credentials both APIs accept (fixed, issued, revoked): sandbox/credentials.py.
        self.keys = KeyRing(keys_file(Path(state_file) if state_file is not None else None))
        self.requests = RequestLog()
        self.faults = Faults()
        self.rate_limiter = RateLimiter(rate_limits, time_scale)
        self._stopping = threading.Event()
        self.ilert = IlertService(self.world)
        self.level = LevelService(self.world, Deliverer(self.world, delivery_retry_delay))
        self.log_requests = log_requests
        self._servers: list[BaseWSGIServer] = []
        self._addresses: list[tuple[str, int]] = []
        self._threads: list[threading.Thread] = []
        self.ilert_url = ""
        self.level_url = ""

    # --------------------------------------------------------------- lifecycle

    def _serve(self, service: Service, port: int) -> str:
        if service == "ilert":
            app = ApiMiddleware(
                create_ilert_app(self.ilert, self.faults, self.keys),
                "ilert",
                self.faults,
                self.requests,
                ilert_error,
                rate_limiter=self.rate_limiter,
                stopping=self._stopping,
                log_requests=self.log_requests,
            )
        else:
            app = ApiMiddleware(
                create_level_app(self.level, self.faults, self.keys),
                "level",
                self.faults,
                self.requests,
                level_error,
                rate_limiter=self.rate_limiter,
                stopping=self._stopping,
                log_requests=self.log_requests,
            )
        listener = _listen(self.host, port)
        try:  # werkzeug would sys.exit(1) on a busy port; binding ourselves raises instead
            server = _Server(self.host, port, app, _QuietHandler, fd=listener.fileno())
        finally:
            listener.close()  # the server works on its own duplicate of the descriptor
        self._servers.append(server)
        # Recorded now, while the socket is surely open: stop() wakes the loop through it.
        address = server.socket.getsockname()
        self._addresses.append((address[0], address[1]))
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": POLL_INTERVAL_SECONDS},
            name=f"sandbox-{service}",
            daemon=True,
        )
        self._threads.append(thread)
        thread.start()
        return _base_url(self.host, address[1])

    def start(self) -> Self:
        """Bind both servers and serve them in background threads; returns ``self``."""
        if self._servers:
            raise RuntimeError("the sandbox is already running")
        self._stopping.clear()
        try:
            self.ilert_url = self._serve("ilert", self._ports["ilert"])
            self.ilert.base_url = self.ilert_url
            self.level_url = self._serve("level", self._ports["level"])
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Shut both servers down, join their threads, close their sockets (idempotent).

        Requests held by a fault's delay are cut short (their connection is dropped), so
        stopping never waits for a delay to run out.
        """
        self._stopping.set()
        # shutdown() only returns once the serve loop wakes up; a connection wakes it at once
        # instead of after its poll interval (a test suite stops hundreds of sandboxes).
        stoppers = [threading.Thread(target=server.shutdown) for server in self._servers]
        for stopper in stoppers:
            stopper.start()
        for _ in range(int(JOIN_TIMEOUT_SECONDS / WAKE_INTERVAL_SECONDS)):
            if not any(stopper.is_alive() for stopper in stoppers):
                break
            for address, stopper in zip(self._addresses, stoppers, strict=True):
                if stopper.is_alive():
                    _wake(address)
            for stopper in stoppers:
                stopper.join(WAKE_INTERVAL_SECONDS)
        for thread in self._threads:
            thread.join(JOIN_TIMEOUT_SECONDS)
        for server in self._servers:
            server.server_close()  # closes the listener, joins the request threads
        self._servers.clear()
        self._addresses.clear()
        self._threads.clear()

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Wait until neither fake API is handling a request (e.g. one a client gave up on
        during a delay), so that :attr:`requests` is complete; ``TimeoutError`` if not."""
        self.requests.wait_idle(timeout)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ---------------------------------------------------------- observations

    def count(
        self,
        service: Service | None = None,
        method: str | None = None,
        path_prefix: str | None = None,
    ) -> int:
        """How many API calls in :attr:`requests` match (``None`` matches anything)."""
        return self.requests.count(service, method, path_prefix)

    @property
    def deliveries(self) -> list[JSON]:
        """Level's delivery log: ``{id, event_id, event_type, webhook_id, url, signed,
        attempts: [{status} | {error}], succeeded, occurred_at}``, oldest first."""
        return self.level.deliveries()

    @property
    def ilert_intake(self) -> list[JSON]:
        """What fake ilert did with each incoming event: ``{source_id, event_type, event_id,
        outcome: created|appended|resolved|accepted|ignored, alert_id, reason}``."""
        return self.ilert.intake_log()

    # ------------------------------------------------------------------ ilert

    def ilert_alerts(
        self, source_id: int | None = None, states: list[str] | None = None
    ) -> list[JSON]:
        """Every ilert alert (newest first), optionally of one source and in some states."""
        sources = [source_id] if source_id is not None else []
        return self.ilert.list_alerts(0, 2**31, states or [], sources)

    def ilert_alert_sources(self) -> list[JSON]:
        """Every ilert alert source in the full (GET-by-id) shape, by id."""
        return self.ilert.all_alert_sources()

    def ilert_alert_source(self, source_id: int | str) -> JSON:
        """One alert source by id or integration key (raises ``ApiError`` 404)."""
        return self.ilert.get_alert_source(source_id)

    def ilert_edit_alert_source(self, source_id: int, **fields: Any) -> JSON:
        """Change an alert source behind Pulumi's back (camelCase fields, validated as PUT).

        Shorthands: ``escalationPolicy=2`` and ``teams=[1, 2]``.
        """
        return self.ilert.edit_alert_source(source_id, fields)

    def ilert_delete_alert_source(self, source_id: int) -> None:
        """Delete an alert source behind Pulumi's back."""
        self.ilert.delete_alert_source(source_id)

    def ilert_add_escalation_policy(self, name: str, escalation_timeout: int = 0) -> JSON:
        """Add an escalation policy (ilert has ids 1 "Default" and 2 "On-call L1")."""
        return self.ilert.add_escalation_policy(name, escalation_timeout)

    def ilert_add_team(self, name: str) -> JSON:
        """Add a team (ilert has ids 1 "Platform" and 2 "Service Desk")."""
        return self.ilert.add_team(name)

    # ------------------------------------------------------------------ Level

    def level_webhooks(self) -> list[JSON]:
        """Every Level webhook (as the API returns them: no secret), oldest first."""
        result = self.level.list_webhooks(limit=100)
        data: list[JSON] = list(result["data"])
        for _ in range(10_000):
            if not result["has_more"]:
                break
            result = self.level.list_webhooks(limit=100, starting_after=data[-1]["id"])
            data.extend(result["data"])
        return data

    def level_edit_webhook(self, webhook_id: str, **fields: Any) -> JSON:
        """Change a webhook behind Pulumi's back (same fields and checks as PATCH)."""
        return self.level.update_webhook(webhook_id, fields)

    def level_delete_webhook(self, webhook_id: str) -> None:
        """Delete a webhook behind Pulumi's back."""
        self.level.delete_webhook(webhook_id)

    def raise_level_alert(
        self,
        device_hostname: str = "WS-042",
        name: str = "CPU usage",
        severity: str = "critical",
        description: str = "CPU usage >75.0% for 10 minutes",
        payload: str | None = None,
        *,
        group_id: str | None = None,
    ) -> JSON:
        """Raise a Level alert on the device of this hostname (a new one is put in
        ``group_id``, or in no group); ``alert_active`` is delivered before this returns."""
        return self.level.raise_alert(
            device_hostname, name, severity, description, payload, group_id=group_id
        )

    def level_groups(self) -> list[JSON]:
        """Every Level group, oldest first (the seed: Acme Corp > HQ, Warehouse; Globex > HQ)."""
        return list(self.level.list_groups(limit=100_000)["data"])

    def level_group_id(self, path: str) -> str:
        """The id of the group at ``path``, top-level first: ``"Acme Corp/HQ"``."""
        parent: str | None = None
        for name in path.split("/"):
            parent = next(
                g["id"] for g in self.level_groups()
                if g["name"] == name and g["parent_id"] == parent
            )
        assert parent is not None
        return parent

    def level_add_group(self, name: str, parent_id: str | None = None) -> JSON:
        """Add a group (Level does it in its UI)."""
        return self.level.add_group(name, parent_id)

    def level_delete_group(self, group_id: str) -> None:
        """Delete a group in Level behind Pulumi's back (its id leaves every scope)."""
        self.level.delete_group(group_id)

    def level_add_device(self, hostname: str, group_id: str | None = None) -> JSON:
        """Add a device to a group (or to none)."""
        return self.level.add_device(hostname, group_id)

    def resolve_level_alert(self, alert_id: str) -> JSON:
        """Resolve a Level alert (delivers ``alert_resolved`` once, like the HTTP route)."""
        return self.level.resolve_alert(alert_id)
