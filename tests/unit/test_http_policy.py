"""The HTTP policy against a real loopback server: lost answers, deadlines, pacing, pools.

What `responses` cannot emulate (sleeps, dropped sockets, real timing) is scripted here:
each request pops one action from the server's script; the server records when each
request arrived, so tests assert what the API saw (how many requests, how far apart).
"""

from __future__ import annotations

import contextlib
import http.server
import itertools
import logging
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest

from clients.http import (
    ApiClient,
    DeadlineExceededError,
    Pacer,
    RateLimit,
    RateLimitedError,
    ResponseLostError,
    RetryPolicy,
    ServerError,
    Timeouts,
    deadline,
    new_session,
)

SECRET = "tok-POLICY-SECRET"
QUICK = RetryPolicy(attempts=3, backoff_factor=0.05, backoff_jitter=0)


@dataclass
class Script:
    """What the server does per request: ("ok",), ("status", code), ("status", code,
    retry_after_seconds), ("slow", seconds),
    ("drop",); when the script runs out it answers 200."""

    actions: list[tuple[object, ...]] = field(default_factory=list)
    seen: list[tuple[float, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next(self, method: str) -> tuple[object, ...]:
        with self.lock:
            self.seen.append((time.monotonic(), method))
            return self.actions.pop(0) if self.actions else ("ok",)


def _handler(script: Script) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            action = script.next(self.command)
            if action[0] == "drop":
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            if action[0] == "slow":
                time.sleep(float(action[1]))  # type: ignore[arg-type]
            status = int(action[1]) if action[0] == "status" else 200  # type: ignore[call-overload]
            body = b'{"ok": true}' if status < 300 else b'{"message": "try later"}'
            self.send_response(status)
            if action[0] == "status" and len(action) > 2:
                self.send_header("Retry-After", str(action[2]))
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            with contextlib.suppress(OSError):  # the client gave up waiting
                self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def server() -> Iterator[tuple[str, Script]]:
    script = Script()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(script))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", script
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def make_client(
    url: str,
    *,
    retry: RetryPolicy = QUICK,
    read: float = 2.0,
    rate_limit: RateLimit | None = None,
    operation_timeout: float = 30.0,
    secret: str = SECRET,
    pacer: Pacer | None = None,
) -> ApiClient:
    return ApiClient(
        api="Example",
        base_url=url,
        authorization=f"Bearer {secret}",
        credential_secret=secret,
        credential_hint="set example:token",
        base_url_setting="example:baseUrl",
        retry=retry,
        timeouts=Timeouts(connect=1.0, read=read),
        rate_limit=rate_limit,
        operation_timeout=operation_timeout,
        operation_timeout_setting="example:operationTimeoutSeconds",
        pacer=pacer,
    )


# -- answers lost after sending --------------------------------------------------------------


def test_a_post_whose_answer_times_out_is_sent_once_and_says_it_may_have_acted(
    server: tuple[str, Script],
) -> None:
    url, script = server
    script.actions = [("slow", 1.0)]

    with pytest.raises(ResponseLostError, match=r"no answer came within 0\.3 s") as caught:
        make_client(url, read=0.3).request("POST", "/things", json={"name": "a"})

    assert [method for _, method in script.seen] == ["POST"]
    assert caught.value.may_have_acted
    assert "may have carried it out" in str(caught.value)
    assert SECRET not in str(caught.value)


def test_a_post_whose_connection_drops_after_sending_is_sent_once(
    server: tuple[str, Script],
) -> None:
    url, script = server
    script.actions = [("drop",)]

    with pytest.raises(ResponseLostError, match="connection was dropped") as caught:
        make_client(url).request("POST", "/things", json={"name": "a"})

    assert len(script.seen) == 1
    assert caught.value.may_have_acted


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
def test_idempotent_calls_ride_out_a_dropped_connection_and_a_timeout(
    server: tuple[str, Script], method: str
) -> None:
    url, script = server
    script.actions = [("drop",), ("slow", 0.6)]

    assert make_client(url, read=0.3).request(method, "/x", json={}) == {"ok": True}

    assert [m for _, m in script.seen] == [method] * 3


def test_a_get_that_keeps_timing_out_is_reported_as_slow_not_unreachable(
    server: tuple[str, Script],
) -> None:
    url, script = server
    script.actions = [("slow", 0.5)] * 3

    with pytest.raises(ResponseLostError, match=r"no answer came within 0\.2 s") as caught:
        make_client(url, read=0.2).request("GET", "/x")

    assert len(script.seen) == 3
    assert "reachable" not in str(caught.value)
    assert not caught.value.may_have_acted


# -- one deadline per operation --------------------------------------------------------------


def test_a_persistently_slow_api_fails_at_the_deadline_not_after_every_retry(
    server: tuple[str, Script],
) -> None:
    url, script = server
    script.actions = [("slow", 0.6)] * 10
    client = make_client(url, read=0.5, retry=RetryPolicy(attempts=10, backoff_factor=0.05))
    started = time.monotonic()

    with pytest.raises(DeadlineExceededError, match=r"deadline of 1\.2 s") as caught, deadline(1.2):
        client.request("GET", "/x")

    elapsed = time.monotonic() - started
    assert elapsed < 2.0, elapsed  # ten attempts of 0.5 s would take 5 s
    assert len(script.seen) < 10
    assert "example:operationTimeoutSeconds" in str(caught.value)


def test_the_client_default_deadline_bounds_retries_of_a_failing_api(
    server: tuple[str, Script],
) -> None:
    url, script = server
    script.actions = [("status", 503)] * 20
    client = make_client(
        url, retry=RetryPolicy(attempts=20, backoff_factor=0.2, backoff_jitter=0),
        operation_timeout=1.0,
    )
    started = time.monotonic()

    with pytest.raises(ServerError, match="deadline of 1 s") as caught:
        client.request("GET", "/x")

    assert time.monotonic() - started < 1.5
    assert caught.value.status == 503
    # 0.2 + 0.4 s of backoff fit into 1 s, the next 0.8 s wait would not: three attempts.
    assert len(script.seen) == 3


def test_backoff_grows_exponentially_between_attempts(server: tuple[str, Script]) -> None:
    url, script = server
    script.actions = [("status", 503)] * 3
    client = make_client(url, retry=RetryPolicy(attempts=4, backoff_factor=0.1, backoff_jitter=0))

    assert client.request("GET", "/x") == {"ok": True}

    times = [t for t, _ in script.seen]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert len(gaps) == 3
    # A sleep is never shorter than asked, but a busy machine may make it longer: each gap
    # is at least its backoff (0.1, 0.2, 0.4 s) and not a whole second more.
    for gap, backoff in zip(gaps, (0.1, 0.2, 0.4), strict=True):
        assert backoff * 0.9 <= gap < backoff + 1.0, gaps


# -- pacing under the rate limit -------------------------------------------------------------


def test_a_429_without_retry_after_waits_no_longer_than_the_rate_limit_window(
    server: tuple[str, Script],
) -> None:
    url, script = server
    script.actions = [("status", 429)]
    client = make_client(url, rate_limit=RateLimit(requests=100, window_seconds=0.4))

    assert client.request("GET", "/x") == {"ok": True}

    (first, _), (second, _) = script.seen
    # The first backoff is 1-1.25 s, capped at the 0.4 s window (a window always frees it;
    # test_rate_limited_backoff.py has the exact waits); not the policy's 0.05 s backoff.
    assert second - first >= 0.35


def test_a_429_that_outlasts_the_deadline_is_reported_with_the_deadline(
    server: tuple[str, Script],
) -> None:
    url, script = server
    script.actions = [("status", 429)] * 5
    client = make_client(
        url, rate_limit=RateLimit(requests=100, window_seconds=5), operation_timeout=1.0
    )

    with pytest.raises(RateLimitedError, match="deadline of 1 s"):
        client.request("GET", "/x")

    assert len(script.seen) == 1  # the first 1-1.25 s backoff does not fit into 1 s


def _max_in_window(times: list[float], window: float) -> int:
    return max(sum(1 for t in times if start <= t < start + window) for start in times)


def test_requests_of_one_key_are_paced_across_threads_and_clients_given_one_pacer(
    server: tuple[str, Script],
) -> None:
    url, script = server
    pacer = Pacer(RateLimit(requests=4, window_seconds=0.5))
    clients = [make_client(url, pacer=pacer) for _ in range(3)]  # one key, three clients
    started = time.monotonic()

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda i: clients[i % 3].request("GET", "/x"), range(12)))

    assert results == [{"ok": True}] * 12
    times = [t for t, _ in script.seen]
    assert _max_in_window(times, 0.45) <= 4
    assert time.monotonic() - started >= 1.0  # 12 requests at 4 per 0.5 s: two full waits


def test_other_keys_have_their_own_pace(server: tuple[str, Script]) -> None:
    url, script = server
    limit = RateLimit(requests=2, window_seconds=5)
    first, second = make_client(url, rate_limit=limit), make_client(
        url, rate_limit=limit, secret="another-key"
    )
    first.request("GET", "/x")
    first.request("GET", "/x")
    started = time.monotonic()

    second.request("GET", "/x")
    second.request("GET", "/x")

    assert time.monotonic() - started < 1.0  # not held back by the first key's spent window
    with pytest.raises(DeadlineExceededError, match="no request slot"), deadline(0.3):
        first.request("GET", "/x")  # the first key's window is spent for 5 s
    assert len(script.seen) == 4


def test_a_client_given_a_spent_pacer_waits_for_it_within_the_deadline(
    server: tuple[str, Script],
) -> None:
    url, script = server
    pacer = Pacer(RateLimit(requests=1, window_seconds=5))
    make_client(url, pacer=pacer).request("GET", "/x")

    with pytest.raises(DeadlineExceededError, match="no request slot"), deadline(0.3):
        make_client(url, pacer=pacer, secret="the same key, another client").request("GET", "/x")

    assert len(script.seen) == 1
    assert make_client(url).pacer is None  # no limit, no pacing: 429s are still retried


def test_clients_given_one_session_share_its_connections(server: tuple[str, Script]) -> None:
    url, _ = server
    session = new_session(QUICK)
    first = ApiClient(api="Example", base_url=url, authorization="a", credential_secret="a",
                      credential_hint="", base_url_setting="x", session=session)
    second = ApiClient(api="Example", base_url=url, authorization="b", credential_secret="b",
                       credential_hint="", base_url_setting="x", session=session)

    assert first.request("GET", "/x") == second.request("GET", "/x") == {"ok": True}
    assert first._session is second._session is session
    assert "Authorization" not in session.headers
    assert make_client(url)._session is not make_client(url)._session  # by default, its own


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"pacer": Pacer(RateLimit(1)), "rate_limit": RateLimit(1)},
         "give an ApiClient a pacer or a rate_limit, not both"),
        ({"session": new_session(), "retry": QUICK},
         r"a shared session retries as new_session\(retry\) made it; give the retry policy "
         "there"),
    ],
)
def test_a_client_refuses_two_answers_to_one_question(
    extra: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        ApiClient(api="Example", base_url="https://example.test", authorization="a",
                  credential_secret="a", credential_hint="", base_url_setting="x",
                  **extra)  # type: ignore[arg-type]


def test_parallel_operations_do_not_overflow_the_connection_pool(
    server: tuple[str, Script], caplog: pytest.LogCaptureFixture
) -> None:
    url, script = server
    script.actions = [("slow", 0.2)] * 24
    client = make_client(url)

    with caplog.at_level(logging.WARNING, logger="urllib3"), ThreadPoolExecutor(24) as pool:
        results = list(pool.map(lambda _: client.request("GET", "/x"), range(24)))

    assert results == [{"ok": True}] * 24
    assert not [r for r in caplog.records if "pool is full" in r.getMessage()]


def test_an_answer_that_fails_its_only_attempt_says_so(server: tuple[str, Script]) -> None:
    url, script = server
    script.actions = [("status", 503)]

    with pytest.raises(ServerError, match="HTTP 503") as caught:
        make_client(url, retry=RetryPolicy(attempts=1)).request("GET", "/x")

    assert str(caught.value).endswith("The API failed: HTTP 503 on the only attempt.")


def test_a_post_answered_502_says_it_was_not_repeated(server: tuple[str, Script]) -> None:
    url, script = server
    script.actions = [("status", 502)]

    with pytest.raises(ServerError, match="not repeated: it may have been carried out"):
        make_client(url).request("POST", "/things", json={})

    assert len(script.seen) == 1


def test_pacing_keeps_a_two_percent_margin_under_the_published_limit(
    server: tuple[str, Script],
) -> None:
    """One request per 1.5 s allowed: the second leaves 1.53 s after the first left, so the
    API, which counts requests when they arrive, sees them 1.5 s apart unless the first one
    travelled 30 ms longer than the second (a 429 then costs a wait, not an attempt).

    Measured from before the first request left, not from its arrival: how long it travels
    is the machine's business (tens of ms on a loaded test machine), not the pacer's."""
    url, script = server
    client = make_client(url, rate_limit=RateLimit(requests=1, window_seconds=1.5))

    before = time.monotonic()
    client.request("GET", "/x")
    client.request("GET", "/x")

    _, second = (t for t, _ in script.seen)
    assert second - before >= 1.5 * 1.02


def test_attempts_count_every_kind_of_failure_together(server: tuple[str, Script]) -> None:
    """Three attempts in all, whether answers are lost or refused: not three of each kind."""
    url, script = server
    script.actions = [("drop",), ("status", 503), ("drop",), ("status", 503), ("drop",)]

    with pytest.raises(ResponseLostError, match=r"\(3 attempts\)"):
        make_client(url).request("GET", "/x")

    assert len(script.seen) == 3
