"""The HTTP layer: error mapping, retry rules and their limits, secrets kept out of errors."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from typing import ClassVar

import pytest
import responses

from clients.http import (
    ApiClient,
    ApiError,
    ApiUnreachableError,
    BadRequestError,
    ForbiddenError,
    NotFoundError,
    RateLimitedError,
    RetryPolicy,
    ServerError,
    UnauthorizedError,
    deadline,
    normalise_base_url,
)

BASE = "https://api.example.test"
SECRET = "tok-SECRET-123"
FAST = RetryPolicy(attempts=3, backoff_factor=0, backoff_jitter=0)


def client(retry: RetryPolicy = FAST, base_url: str = BASE) -> ApiClient:
    return ApiClient(
        api="Example",
        base_url=base_url,
        authorization=f"Bearer {SECRET}",
        credential_secret=SECRET,
        credential_hint="set example:token or EXAMPLE_TOKEN",
        base_url_setting="example:baseUrl",
        retry=retry,
    )


@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (400, BadRequestError),
        (401, UnauthorizedError),
        (403, ForbiddenError),
        (404, NotFoundError),
        (409, ApiError),
        (429, RateLimitedError),
        (500, ServerError),
        (503, ServerError),
    ],
)
@responses.activate
def test_each_status_becomes_its_typed_error(status: int, error_class: type[ApiError]) -> None:
    responses.get(f"{BASE}/things/7", status=status, json={"message": f"nope {status}"})

    with pytest.raises(error_class, match=rf"failed \(HTTP {status}\): nope {status}") as caught:
        client().request("GET", "/things/7")

    error = caught.value
    assert type(error) is error_class
    assert (error.status, error.method, error.path) == (status, "GET", "/things/7")
    assert error.message == f"nope {status}"
    assert f"HTTP {status}" in str(error) and "GET /things/7" in str(error)


@responses.activate
def test_level_style_error_body_is_read_and_401_names_the_credential_setting() -> None:
    responses.get(f"{BASE}/v2/x", status=401, json={"error": "Access denied"})

    with pytest.raises(UnauthorizedError, match=r"HTTP 401\): Access denied") as caught:
        client().request("GET", "/v2/x")

    assert caught.value.message == "Access denied"
    assert "example:token" in str(caught.value) and "EXAMPLE_TOKEN" in str(caught.value)


@responses.activate
def test_credential_never_appears_in_error_text_even_when_the_server_echoes_it() -> None:
    responses.get(f"{BASE}/x", status=400, json={"message": f"bad token {SECRET}"})
    responses.get(f"{BASE}/y", status=502, body=f"<html>upstream {SECRET}</html>")

    for path in ("/x", "/y"):
        with pytest.raises(ApiError, match=r"\*\*\*") as caught:
            client().request("GET", path)
        assert SECRET not in str(caught.value)
        assert SECRET not in repr(caught.value.args)
        assert "***" in str(caught.value)


@responses.activate
def test_authorization_header_is_sent_per_request_not_kept_on_the_session() -> None:
    responses.get(f"{BASE}/x", json={"ok": True})
    api = client()

    assert api.request("GET", "/x") == {"ok": True}

    assert responses.calls[0].request.headers["Authorization"] == f"Bearer {SECRET}"
    assert "Authorization" not in api._session.headers


@responses.activate
def test_get_is_retried_on_503_then_succeeds() -> None:
    responses.get(f"{BASE}/x", status=503, json={"message": "busy"})
    responses.get(f"{BASE}/x", status=502, json={"message": "bad gateway"})
    responses.get(f"{BASE}/x", json={"ok": 1})

    assert client().request("GET", "/x") == {"ok": 1}
    assert len(responses.calls) == 3


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("status", [500, 502, 503, 504])  # 429: test_rate_limited_backoff.py
@responses.activate
def test_idempotent_calls_are_retried_up_to_the_limit_and_raise_the_last_answer(
    method: str, status: int
) -> None:
    responses.add(method, f"{BASE}/x", status=status, json={"message": "still failing"})

    with pytest.raises(ApiError, match=f"HTTP {status}") as caught:
        client().request(method, "/x", json={})

    assert caught.value.status == status
    assert len(responses.calls) == FAST.attempts
    assert not caught.value.may_have_acted
    if status >= 500:
        assert f"kept failing: HTTP {status} on the last of {FAST.attempts} attempts" in str(
            caught.value
        )


# 429 is repeated too, until the deadline: test_rate_limited_backoff.py
@pytest.mark.parametrize(("status", "calls"), [(503, 3), (502, 1), (504, 1), (500, 1)])
@responses.activate
def test_post_is_repeated_only_when_the_answer_proves_nothing_was_done(
    status: int, calls: int
) -> None:
    responses.post(f"{BASE}/things", status=status, json={"message": "x"})

    with pytest.raises(ApiError, match=f"HTTP {status}") as caught:
        client().request("POST", "/things", json={"name": "a"})

    assert len(responses.calls) == calls
    # 500/502/504 leave it open whether the server created the object: the caller must look.
    assert caught.value.may_have_acted is (status in (500, 502, 504))


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409])
@responses.activate
def test_non_retryable_statuses_are_sent_once(status: int) -> None:
    responses.get(f"{BASE}/x", status=status, json={"message": "x"})

    with pytest.raises(ApiError, match=f"HTTP {status}"):
        client().request("GET", "/x")

    assert len(responses.calls) == 1


@responses.activate
def test_empty_body_returns_none_and_non_json_body_is_an_error() -> None:
    responses.delete(f"{BASE}/x", status=204)
    responses.get(f"{BASE}/html", body="<html>", status=200)

    assert client().request("DELETE", "/x") is None
    with pytest.raises(ApiError, match="not JSON"):
        client().request("GET", "/html")


@pytest.mark.parametrize("url", ["api.ilert.com", "ftp://x", "https://", ""])
def test_base_url_must_be_http(url: str) -> None:
    with pytest.raises(ValueError, match="ilert:baseUrl"):
        normalise_base_url(url, setting="ilert:baseUrl")


def test_base_url_trailing_slash_is_dropped() -> None:
    assert normalise_base_url("https://api.ilert.com/ ", setting="x") == "https://api.ilert.com"


def test_client_refuses_to_be_pickled() -> None:
    import pickle

    with pytest.raises(TypeError, match="must not be pickled"):
        pickle.dumps(client())


def test_api_error_survives_pickling() -> None:
    import pickle

    error = NotFoundError(api="ilert", method="GET", path="/x", status=404, message="gone")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is NotFoundError and str(copy) == str(error)


# -- against a real loopback server: what `responses` cannot emulate (sleeps, sockets) ----------


class _Scripted(http.server.BaseHTTPRequestHandler):
    """Answers from a script of (status, headers) and counts what it was asked."""

    script: ClassVar[list[tuple[int, dict[str, str]]]] = []
    seen: ClassVar[list[float]] = []

    def do_GET(self) -> None:
        type(self).seen.append(time.monotonic())
        status, headers = self.script.pop(0) if self.script else (200, {})
        body = b'{"ok": true}' if status == 200 else b'{"error": "slow down"}'
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def scripted_server() -> Iterator[tuple[str, type[_Scripted]]]:
    handler = type("Handler", (_Scripted,), {"script": [], "seen": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_retry_after_header_sets_the_wait(scripted_server: tuple[str, type[_Scripted]]) -> None:
    url, handler = scripted_server
    handler.script = [(429, {"Retry-After": "1"})]

    assert client(base_url=url).request("GET", "/x") == {"ok": True}

    assert len(handler.seen) == 2
    assert handler.seen[1] - handler.seen[0] >= 0.95


def test_backoff_without_retry_after_waits_between_attempts(
    scripted_server: tuple[str, type[_Scripted]],
) -> None:
    url, handler = scripted_server
    handler.script = [(503, {}), (503, {})]
    policy = RetryPolicy(attempts=3, backoff_factor=0.2, backoff_jitter=0.1)

    assert client(policy, base_url=url).request("GET", "/x") == {"ok": True}

    gaps = [later - earlier for earlier, later in zip(handler.seen, handler.seen[1:], strict=False)]
    assert len(gaps) == 2
    assert all(gap >= 0.15 for gap in gaps)


def test_default_policy_backs_off_exponentially_with_jitter(
    scripted_server: tuple[str, type[_Scripted]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The waits a user sits through: 2 s, 4 s, 8 s (doubling), each plus up to 1 s of jitter."""
    url, handler = scripted_server
    handler.script = [(503, {})] * 4
    waits: list[float] = []
    monkeypatch.setattr("clients.http.time.sleep", waits.append)
    monkeypatch.setattr("clients.http.random.random", lambda: 0.25)

    with pytest.raises(ServerError, match="HTTP 503 on the last of 4 attempts"):
        client(RetryPolicy(), base_url=url).request("GET", "/x")

    assert len(handler.seen) == 4
    assert waits == [2.25, 4.25, 8.25]


def test_backoff_stops_growing_at_its_maximum(
    scripted_server: tuple[str, type[_Scripted]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, handler = scripted_server
    handler.script = [(502, {})] * 5
    waits: list[float] = []
    monkeypatch.setattr("clients.http.time.sleep", waits.append)
    policy = RetryPolicy(attempts=5, backoff_factor=8.0, backoff_jitter=0, backoff_max=20.0)

    with pytest.raises(ServerError, match="HTTP 502 on the last of 5 attempts"):
        client(policy, base_url=url).request("GET", "/x")

    assert waits == [8.0, 16.0, 20.0, 20.0]


def test_connection_refused_is_retried_then_reported_without_secret() -> None:
    import socket

    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()

    with pytest.raises(ApiUnreachableError, match="could not connect after 3 attempts") as caught:
        client(
            RetryPolicy(attempts=3, backoff_factor=0.1, backoff_jitter=0),
            base_url=f"http://127.0.0.1:{port}",
        ).request("GET", "/x")

    assert time.monotonic() - started >= 0.2  # two backoffs: 0.1 s + 0.2 s (urllib3 doubles)
    assert caught.value.status is None
    assert "could not connect after 3 attempts" in str(caught.value)
    assert "Connection refused" in str(caught.value)
    assert f"http://127.0.0.1:{port} is reachable" in str(caught.value)
    assert not caught.value.may_have_acted
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize("url", ["http://api.ilert.com", "http://10.0.0.5:8790"])
def test_plain_http_is_refused_except_for_loopback(url: str) -> None:
    with pytest.raises(ValueError, match="must use https://"):
        normalise_base_url(url, setting="ilert:baseUrl")


@pytest.mark.parametrize("url", ["http://127.0.0.1:8790", "http://localhost:1", "http://[::1]:2"])
def test_plain_http_is_accepted_for_the_local_sandbox(url: str) -> None:
    assert normalise_base_url(url, setting="x") == url


@responses.activate
def test_redirects_are_not_followed_a_post_never_turns_into_a_get() -> None:
    responses.post(f"{BASE}/things", status=301, headers={"Location": "https://other.test/things"})
    responses.get("https://other.test/things", json=[])

    with pytest.raises(ApiError, match=r"HTTP 301") as caught:
        client().request("POST", "/things", json={"a": 1})

    assert caught.value.status == 301
    assert "https://other.test/things" in str(caught.value)
    assert len(responses.calls) == 1


@responses.activate
def test_sensitive_request_values_are_hidden_when_the_server_quotes_them() -> None:
    url = "https://api.ilert.com/api/v1/events/levelio/il1levSECRETKEY"
    responses.post(f"{BASE}/v2/webhooks", status=400, json={"error": f"url {url} is unreachable"})

    with pytest.raises(BadRequestError, match=r"url \*\*\* is unreachable") as caught:
        client().request("POST", "/v2/webhooks", json={"url": url}, sensitive=(url, None))

    assert "il1levSECRETKEY" not in str(caught.value)
    assert "url *** is unreachable" in str(caught.value)


@responses.activate
def test_an_answer_of_the_wrong_shape_is_reported_without_quoting_it() -> None:
    from clients.ilert import AlertSource

    key = "il1lev0460d849fcdc753d4f"
    responses.get(
        f"{BASE}/api/alert-sources/1",
        json={"id": 1, "name": "x", "integrationType": "LEVELIO", "integrationKey": key},
    )

    with pytest.raises(ApiError, match="does not have the shape of AlertSource") as caught:
        client().call(AlertSource, "GET", "/api/alert-sources/1")

    text = str(caught.value)
    assert "does not have the shape of AlertSource" in text
    assert "escalationPolicy" in text
    assert key not in text
    assert key[-10:] not in text


@pytest.mark.parametrize(
    ("credential", "why"),
    [("tok\nSECRET", "control character"), ("tok\u2013SECRET", "outside Latin-1")],
)
def test_a_client_refuses_an_unusable_credential_without_quoting_it(
    credential: str, why: str
) -> None:
    from clients.ilert import IlertClient
    from clients.level import LevelClient

    for make in (IlertClient, LevelClient):
        with pytest.raises(ValueError, match=why) as caught:
            make(BASE, credential)
        assert "SECRET" not in str(caught.value)
        assert ("ILERT_API_TOKEN" if make is IlertClient else "LEVEL_API_KEY") in str(caught.value)


def test_a_retry_after_longer_than_the_policys_maximum_is_capped(
    scripted_server: tuple[str, type[_Scripted]],
) -> None:
    """An API asking for 100 s is retried after the policy's maximum (1 s here), inside a
    deadline the 100 s would not fit."""
    url, handler = scripted_server
    handler.script = [(503, {"Retry-After": "100"})]
    policy = RetryPolicy(attempts=2, backoff_factor=0, backoff_jitter=0, retry_after_max=1)

    with deadline(5.0):
        assert client(policy, base_url=url).request("GET", "/x") == {"ok": True}

    assert 1.0 <= handler.seen[1] - handler.seen[0] < 4.0
