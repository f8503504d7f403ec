"""The :class:`Sandbox` handle: both fake APIs served from one process, plus typed helpers.

Each API is a Flask app behind :class:`sandbox.middleware.ApiMiddleware`, served by
werkzeug's threaded server in a daemon thread. Port 0 binds any free port; the real one is
read back from the server, so tests can run in parallel.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from sandbox.delivery import Deliverer
from sandbox.faults import Faults
from sandbox.ilert_app import create_ilert_app, ilert_error
from sandbox.ilert_service import IlertService
from sandbox.level_app import create_level_app, level_error
from sandbox.level_service import LevelService
from sandbox.middleware import ApiMiddleware
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


def _wake(server: BaseWSGIServer) -> None:
    """Connect to ``server`` and hang up, so its serve loop notices a pending shutdown."""
    try:
        # werkzeug's serve_forever closes the socket itself on its way out, which can happen
        # between shutdown() waking it and shutdown() returning: then there is nothing to wake.
        host, port = server.socket.getsockname()[:2]
        with socket.create_connection((host, port), timeout=0.5):
            pass
    except OSError:
        pass  # already closed: nothing to wake


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
    ) -> None:
        if not is_loopback_host(host):
            raise ValueError(f"the sandbox listens on loopback addresses only, not {host!r}")
        if delivery_retry_delay < 0:
            raise ValueError("delivery_retry_delay must not be negative")
        self.host = host.strip("[]")
        self._ports = {"ilert": ilert_port, "level": level_port}
        self.world = World(Path(state_file) if state_file is not None else None)
        self.requests = RequestLog()
        self.faults = Faults()
        self.ilert = IlertService(self.world)
        self.level = LevelService(self.world, Deliverer(self.world, delivery_retry_delay))
        self.log_requests = log_requests
        self._servers: list[BaseWSGIServer] = []
        self._threads: list[threading.Thread] = []
        self.ilert_url = ""
        self.level_url = ""

    # --------------------------------------------------------------- lifecycle

    def _serve(self, service: Service, port: int) -> str:
        if service == "ilert":
            app = ApiMiddleware(
                create_ilert_app(self.ilert, self.faults),
                "ilert",
                self.faults,
                self.requests,
                ilert_error,
                log_requests=self.log_requests,
            )
        else:
            app = ApiMiddleware(
                create_level_app(self.level, self.faults),
                "level",
                self.faults,
                self.requests,
                level_error,
                log_requests=self.log_requests,
            )
        listener = _listen(self.host, port)
        try:  # werkzeug would sys.exit(1) on a busy port; binding ourselves raises instead
            server = make_server(
                self.host,
                port,
                app,
                threaded=True,
                request_handler=_QuietHandler,
                fd=listener.fileno(),
            )
        finally:
            listener.close()  # the server works on its own duplicate of the descriptor
        self._servers.append(server)
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": POLL_INTERVAL_SECONDS},
            name=f"sandbox-{service}",
            daemon=True,
        )
        self._threads.append(thread)
        thread.start()
        return _base_url(self.host, server.socket.getsockname()[1])

    def start(self) -> Self:
        """Bind both servers and serve them in background threads; returns ``self``."""
        if self._servers:
            raise RuntimeError("the sandbox is already running")
        try:
            self.ilert_url = self._serve("ilert", self._ports["ilert"])
            self.ilert.base_url = self.ilert_url
            self.level_url = self._serve("level", self._ports["level"])
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Shut both servers down and join their threads (idempotent)."""
        # shutdown() only returns once the serve loop wakes up; a connection wakes it at once
        # instead of after its poll interval (a test suite stops hundreds of sandboxes).
        stoppers = [threading.Thread(target=server.shutdown) for server in self._servers]
        for stopper in stoppers:
            stopper.start()
        for _ in range(int(JOIN_TIMEOUT_SECONDS / WAKE_INTERVAL_SECONDS)):
            if not any(stopper.is_alive() for stopper in stoppers):
                break
            for server, stopper in zip(self._servers, stoppers, strict=True):
                if stopper.is_alive():
                    _wake(server)
            for stopper in stoppers:
                stopper.join(WAKE_INTERVAL_SECONDS)
        for server in self._servers:
            server.server_close()
        for thread in self._threads:
            thread.join(JOIN_TIMEOUT_SECONDS)
        self._servers.clear()
        self._threads.clear()

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
    ) -> JSON:
        """Raise a Level alert; ``alert_active`` is delivered before this returns."""
        return self.level.raise_alert(device_hostname, name, severity, description, payload)

    def resolve_level_alert(self, alert_id: str) -> JSON:
        """Resolve a Level alert (delivers ``alert_resolved`` once, like the HTTP route)."""
        return self.level.resolve_alert(alert_id)
