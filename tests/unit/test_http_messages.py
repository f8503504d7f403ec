"""Every failure the HTTP layer reports, word for word, as the user reads it in `pulumi up`.

Each message says what happened (the server's own words, or why no answer came), how many
attempts were made and what to do; `may_have_acted` tells the provider to look before it
tries a write again. Pinned whole, so a changed hint, a lost attempt count or a wrong
singular shows here. Runs against the loopback server of test_http_policy.py.
"""

from __future__ import annotations

import logging
import pickle
import re
import socket

import pytest
import responses

from clients.http import (
    ApiClient,
    ApiError,
    ApiUnreachableError,
    DeadlineExceededError,
    RateLimit,
    RateLimitedError,
    ResponseLostError,
    RetryPolicy,
    ServerError,
    deadline,
)
from tests.unit.test_http_policy import Script, make_client, server

__all__ = ["server"]  # the fixture, imported for this module's tests

DEADLINE_HINT = (
    "The operation's deadline of {seconds} s (example:operationTimeoutSeconds) passed; raise "
    "it for a slow network or API, or try again later."
)
# The same, following a semicolon.
DEADLINE_CLAUSE = "t" + DEADLINE_HINT[1:]


def failure(url: str, method: str = "GET", **client: object) -> ApiError:
    with pytest.raises(ApiError, match=rf"^Example API {method} /x failed") as caught:
        make_client(url, **client).request(method, "/x", json={} if method != "GET" else None)  # type: ignore[arg-type]
    return caught.value


@pytest.mark.parametrize(
    ("status", "hint"),
    [
        (300, ". The API redirected to '(nowhere)'; set the base URL to where it points."),
        (400, ""),
        (401, ". Check the credential: set example:token."),
        (403, ". The credential may not do this; check its access (set example:token)."),
        (409, ""),
        (500, ". The API kept failing: HTTP 500 on the last of 3 attempts."),
        (503, ". The API kept failing: HTTP 503 on the last of 3 attempts."),
    ],
)
def test_an_error_answer_quotes_the_server_and_says_what_to_do(
    server: tuple[str, Script], status: int, hint: str
) -> None:
    url, script = server
    script.actions = [("status", status)] * 3

    error = failure(url)

    assert str(error) == f"Example API GET /x failed (HTTP {status}): try later{hint}"
    assert (error.status, error.message, error.may_have_acted) == (status, "try later", False)


def test_a_5xx_that_outlasts_the_deadline_names_the_deadline_setting(
    server: tuple[str, Script],
) -> None:
    url, script = server
    script.actions = [("status", 503)] * 20
    policy = RetryPolicy(attempts=20, backoff_factor=0.2, backoff_jitter=0)

    error = failure(url, retry=policy, operation_timeout=1.0)

    assert isinstance(error, ServerError)
    assert str(error) == (
        "Example API GET /x failed (HTTP 503): try later. The API kept failing: HTTP 503 on "
        "the last of 3 attempts; " + DEADLINE_CLAUSE.format(seconds=1)
    )


def test_a_429_that_outlasts_the_deadline_names_the_deadline_setting(
    server: tuple[str, Script],
) -> None:
    url, script = server
    script.actions = [("status", 429)] * 3

    error = failure(url, rate_limit=RateLimit(100, 5), operation_timeout=1.0)

    assert isinstance(error, RateLimitedError)
    assert str(error).startswith(
        "Example API GET /x failed (HTTP 429): try later. The API's rate limit was still "
        "exhausted after 1 attempt; the operation's deadline"
    )
    assert str(error).endswith(DEADLINE_CLAUSE.format(seconds=1))


@responses.activate
@pytest.mark.parametrize(
    ("headers", "where"), [({"Location": "https://api.eu.example/x"}, "'https://api.eu.example/x'"),
                           ({}, "'(nowhere)'")],
)
def test_a_redirect_names_where_it_points(headers: dict[str, str], where: str) -> None:
    responses.get("http://127.0.0.1:9/x", status=302, headers=headers, body="")

    error = failure("http://127.0.0.1:9")

    assert str(error) == (
        f"Example API GET /x failed (HTTP 302): Found. The API redirected to {where}; set the "
        f"base URL to where it points."
    )


@responses.activate
@pytest.mark.parametrize(
    ("body", "said"),
    [
        ({"message": "ilert says no"}, "ilert says no"),
        ({"error": "Level says no"}, "Level says no"),
        ({"detail": "a proxy says no"}, "a proxy says no"),
        ({"message": "", "error": "the second field"}, "the second field"),
        ({"message": 42, "detail": "words, not a number"}, "words, not a number"),
        ({"code": 7}, '{"code": 7}'),
        ("  plain text from a gateway  ", "plain text from a gateway"),
        ("", "Conflict"),
    ],
)
def test_the_servers_own_words_are_quoted(body: object, said: str) -> None:
    if isinstance(body, str):
        responses.get("http://127.0.0.1:9/x", status=409, body=body)
    else:
        responses.get("http://127.0.0.1:9/x", status=409, json=body)

    error = failure("http://127.0.0.1:9")

    assert error.message == said
    assert str(error) == f"Example API GET /x failed (HTTP 409): {said}"


def test_an_answer_that_never_comes_is_reported_as_slow_with_its_attempts(
    server: tuple[str, Script],
) -> None:
    url, script = server
    port = url.rsplit(":", 1)[1]
    for attempts, tries in ((3, "3 attempts"), (1, "1 attempt")):
        script.actions = [("slow", 0.5)] * attempts

        error = failure(url, read=0.2, retry=RetryPolicy(attempts=attempts, backoff_factor=0.01))

        assert isinstance(error, ResponseLostError)
        assert str(error) == (
            f"Example API GET /x failed (no answer): the request was sent but no answer came "
            f"within 0.2 s ({tries}): ReadTimeoutError: HTTPConnectionPool(host='127.0.0.1', "
            f"port={port}): Read timed out. (read timeout=0.2). The API is slow or overloaded; "
            f"try again later."
        )
        assert error.may_have_acted is False


def test_a_post_whose_connection_drops_says_the_provider_will_look_first(
    server: tuple[str, Script],
) -> None:
    url, script = server
    script.actions = [("drop",)]

    error = failure(url, "POST")

    assert str(error) == (
        "Example API POST /x failed (no answer): the request was sent but the connection was "
        "dropped before an answer (1 attempt): RemoteDisconnected: Remote end closed "
        "connection without response. The API may have carried it out; the provider checks "
        "before trying again."
    )
    assert error.may_have_acted is True


def test_no_connection_names_the_base_url_and_the_attempts() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    for attempts, tries in ((1, "1 attempt"), (2, "2 attempts")):
        error = failure(url, retry=RetryPolicy(attempts=attempts, backoff_factor=0.01))

        assert isinstance(error, ApiUnreachableError)
        assert str(error) == (
            f"Example API GET /x failed (no answer): could not connect after {tries}: "
            f"NewConnectionError: Failed to establish a new connection: [Errno 111] Connection "
            f"refused. Check that {url} is reachable from here (address, DNS, proxy, firewall)."
        )
        assert error.may_have_acted is False


@pytest.mark.parametrize(
    "case",
    [
        # Refused with 503 (nothing done), then no request slot before the deadline: the
        # POST was never carried out, so there is nothing to look for.
        ("POST", [("status", 503)], False, "2 attempts", "no request slot before the deadline",
         False),
        ("GET", [("status", 503)], False, "2 attempts", "no request slot before the deadline",
         False),
        # The key's window was spent before: the POST was never sent.
        ("POST", [], True, "1 attempt", "no request slot before the deadline", False),
        # The second attempt's answer is cut short by the deadline: no third one.
        ("GET", [("status", 503), ("slow", 1.5)], False, "2 attempts",
         "the next attempt would pass the deadline", False),
    ],
)
def test_an_operation_that_runs_out_of_time_stops_and_names_the_deadline(
    server: tuple[str, Script], case: tuple[str, list[tuple[object, ...]], bool, str, str, bool]
) -> None:
    """case: method, server actions, key window spent before, attempts, why, may_have_acted."""
    method, actions, spent, tries, why, acted = case
    url, script = server
    client = make_client(
        url, read=2.0, retry=RetryPolicy(attempts=5, backoff_factor=0.05, backoff_jitter=0),
        rate_limit=RateLimit(requests=1 if "slot" in why else 100, window_seconds=5),
    )
    if spent:
        client.request("GET", "/x")
    script.actions = list(actions)

    with pytest.raises(DeadlineExceededError, match=why) as caught, deadline(0.5):
        client.request(method, "/x", json={})

    assert str(caught.value) == (
        f"Example API {method} /x failed (no answer): no success after {tries}: "
        f"DeadlineExceeded: {why}. " + DEADLINE_HINT.format(seconds=0.5)
    )
    assert caught.value.may_have_acted is acted


def test_a_post_cut_short_by_the_deadline_names_the_deadline(server: tuple[str, Script]) -> None:
    url, script = server
    script.actions = [("slow", 1.5)]

    with pytest.raises(ApiError, match="failed") as caught, deadline(0.5):
        make_client(url, read=2.0).request("POST", "/x", json={})

    assert caught.value.may_have_acted is True
    assert "example:operationTimeoutSeconds" in str(caught.value)
    assert "within 2 s" not in str(caught.value)
    assert "The request was sent; the API may have carried it out." in str(caught.value)


def test_an_error_survives_pickling_with_its_message() -> None:
    """The engine's gRPC layer pickles provider errors; the message must come through."""
    error = ServerError(
        api="ilert", method="PUT", path="/api/alert-sources/7", status=502,
        message="bad gateway", hint="Try again.", may_have_acted=False,
    )

    copy = pickle.loads(pickle.dumps(error))

    assert type(copy) is ServerError
    assert str(copy) == (
        "ilert API PUT /api/alert-sources/7 failed (HTTP 502): bad gateway. Try again."
    )
    assert copy.args == error.args == (str(error),)
    assert (copy.status, copy.path, copy.may_have_acted) == (502, "/api/alert-sources/7", False)


@pytest.mark.parametrize(
    ("requests", "window", "ok"),
    [(1, 60.0, True), (1, 0.001, True), (0, 60.0, False), (1, 0.0, False), (-1, -1.0, False)],
)
def test_a_rate_limit_needs_a_request_and_a_window(requests: int, window: float, ok: bool) -> None:
    if ok:
        assert RateLimit(requests, window).requests == requests
        return
    with pytest.raises(ValueError, match="a rate limit needs") as caught:
        RateLimit(requests, window)
    assert str(caught.value) == "a rate limit needs requests >= 1 and window_seconds > 0"


@responses.activate
def test_an_answer_that_is_not_json_is_quoted_shortly() -> None:
    responses.get("http://127.0.0.1:9/x", status=200, body="<html>" + "x" * 200)

    error = failure("http://127.0.0.1:9")

    assert str(error) == (
        f"Example API GET /x failed (HTTP 200): the answer was not JSON: <html>{'x' * 94}"
    )
    assert error.args == (str(error),)


@responses.activate
def test_a_413_that_says_when_to_come_back_is_tried_again() -> None:
    responses.get("http://127.0.0.1:9/x", status=413, headers={"Retry-After": "0"}, body="")
    responses.get("http://127.0.0.1:9/x", json={"ok": True})

    assert make_client("http://127.0.0.1:9").request("GET", "/x") == {"ok": True}
    assert len(responses.calls) == 2


@responses.activate
def test_each_answer_is_logged_at_debug_level_without_the_credential(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """What an operator sees with debug logging on: API, method, path, status, time."""
    responses.get("http://127.0.0.1:9/x", json={"ok": True})

    with caplog.at_level(logging.DEBUG, logger="clients.http"):
        make_client("http://127.0.0.1:9").request("GET", "/x")

    (line,) = [r.getMessage() for r in caplog.records if r.name == "clients.http"]
    assert re.fullmatch(r"Example GET /x -> 200 in 0\.\d\ds", line), line
    assert "SECRET" not in line


def test_no_connection_under_a_short_deadline_still_says_could_not_connect() -> None:
    """A deadline shorter than the backoff stops the retries; the reason (refused) and the
    base URL are still what the user reads, not a bare deadline message."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"

    error = failure(url, retry=RetryPolicy(attempts=4, backoff_factor=5), operation_timeout=1)

    assert isinstance(error, ApiUnreachableError)
    assert str(error) == (
        "Example API GET /x failed (no answer): could not connect after 1 attempt (the "
        "operation's deadline of 1 s (example:operationTimeoutSeconds) left no time for "
        "another): NewConnectionError: Failed to establish a new connection: [Errno 111] "
        f"Connection refused. Check that {url} is reachable from here (address, DNS, proxy, "
        "firewall)."
    )
    assert error.may_have_acted is False


def test_no_name_resolution_under_a_deadline_names_the_host() -> None:
    client = make_client("https://ilert.invalid", retry=RetryPolicy(attempts=4, backoff_factor=5))
    with pytest.raises(ApiUnreachableError, match="could not connect") as caught, deadline(1):
        client.request("GET", "/x")

    assert "after 1 attempt (the operation's deadline of 1 s" in str(caught.value)
    assert "NameResolutionError: Failed to resolve 'ilert.invalid'" in str(caught.value)
    assert str(caught.value).endswith(
        "Check that https://ilert.invalid is reachable from here (address, DNS, proxy, firewall)."
    )


def test_a_connection_that_cannot_be_made_in_time_is_reported_as_unreachable() -> None:
    """A listener whose queue is full never completes the handshake: the connect timeout
    (1 s in make_client), not the operation deadline, ends each attempt."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        fillers = [socket.create_connection(listener.getsockname(), timeout=1)]
        try:
            error = failure(url, retry=RetryPolicy(attempts=1))
        finally:
            for filler in fillers:
                filler.close()

    assert isinstance(error, ApiUnreachableError)
    assert str(error).startswith(
        "Example API GET /x failed (no answer): could not connect after 1 attempt: "
        "ConnectTimeoutError: "
    )


def test_one_attempt_is_counted_in_the_singular(server: tuple[str, Script]) -> None:
    url, script = server
    script.actions = [("status", 503)]

    error = failure(url, retry=RetryPolicy(attempts=1))

    assert str(error).endswith("The API failed: HTTP 503 on the only attempt.")


@responses.activate
def test_an_empty_answer_without_a_reason_phrase_says_no_message() -> None:
    responses.get("http://127.0.0.1:9/x", status=599, body="")

    error = failure("http://127.0.0.1:9")

    assert error.message == "no message"
    assert str(error).startswith("Example API GET /x failed (HTTP 599): no message. ")


def test_a_client_without_a_timeout_setting_names_only_the_deadline(
    server: tuple[str, Script],
) -> None:
    url, script = server
    script.actions = [("status", 503)] * 20
    client = ApiClient(
        api="Example", base_url=url, authorization="Bearer t", credential_secret="t",
        credential_hint="set example:token", base_url_setting="example:baseUrl",
        retry=RetryPolicy(attempts=20, backoff_factor=0.2, backoff_jitter=0),
        operation_timeout=1.0,
    )

    with pytest.raises(ServerError, match="deadline") as caught:
        client.request("GET", "/x")

    assert str(caught.value).endswith(
        "; the operation's deadline of 1 s passed; raise it for a slow network or API, or try "
        "again later."
    )

