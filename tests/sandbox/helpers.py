"""Helpers for the sandbox tests: authenticated clients and a loopback webhook receiver."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import requests

from sandbox import ILERT_TOKEN, LEVEL_API_KEY, Sandbox

TIMEOUT = 5.0


class Client:
    """``requests`` bound to one base URL and one Authorization header (None = no header)."""

    def __init__(self, base_url: str, authorization: str | None) -> None:
        self.base_url = base_url
        self.headers = {"Authorization": authorization} if authorization is not None else {}

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return requests.request(
            method, self.base_url + path, headers=headers, timeout=TIMEOUT, **kwargs
        )

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)


def ilert(sb: Sandbox, token: str | None = ILERT_TOKEN) -> Client:
    """A client of the fake ilert (Bearer token; None sends no Authorization)."""
    return Client(sb.ilert_url, f"Bearer {token}" if token is not None else None)


def level(sb: Sandbox, key: str | None = LEVEL_API_KEY) -> Client:
    """A client of the fake Level (raw key; None sends no Authorization)."""
    return Client(sb.level_url, key)


def source_body(**overrides: Any) -> dict[str, Any]:
    """A valid LEVELIO alert source body, with overrides (None values are dropped)."""
    body: dict[str, Any] = {
        "name": "Level - Acme",
        "integrationType": "LEVELIO",
        "escalationPolicy": {"id": 1},
        "active": True,
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def create_source(sb: Sandbox, **overrides: Any) -> dict[str, Any]:
    """Create an alert source over HTTP and return its body (asserting 201)."""
    response = ilert(sb).post("/api/alert-sources", json=source_body(**overrides))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def create_webhook(sb: Sandbox, url: str, **fields: Any) -> dict[str, Any]:
    """Create a Level webhook over HTTP and return its body (asserting 201)."""
    response = level(sb).post("/v2/webhooks", json={"url": url, **fields})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


@dataclass
class Received:
    """One request a :class:`Receiver` got."""

    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A loopback HTTP endpoint that records POSTs and answers a scripted status sequence."""

    statuses: list[int] = field(default_factory=lambda: [200])
    received: list[Received] = field(default_factory=list)
    url: str = ""

    def next_status(self) -> int:
        index = min(len(self.received) - 1, len(self.statuses) - 1)
        return self.statuses[index]


@contextmanager
def receiver(statuses: list[int] | None = None) -> Iterator[Receiver]:
    """Run a :class:`Receiver` on 127.0.0.1:<free port> in a thread; shut down on exit."""
    state = Receiver(statuses=statuses or [200])
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            with lock:
                state.received.append(Received(self.path, dict(self.headers.items()), body))
                status = state.next_status()
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: tests must not spam."""

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
