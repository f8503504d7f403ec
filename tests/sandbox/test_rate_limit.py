"""The emulated rate limits (issue 9 item 5): ilert's 120 per 60 s per API key, no
``Retry-After``; Level's opt-in limit with ``Retry-After``; time scaling; off by default."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest
import requests

from sandbox import ILERT_TOKEN, LEVEL_API_KEY, LEVEL_READONLY_KEY, Sandbox
from sandbox.ratelimit import RateLimit, RateLimiter
from sandbox.requestlog import RecordedRequest
from tests.sandbox.helpers import ilert, level
from tests.sandbox.test_cli import ROOT, WAIT_SECONDS, cli

ILERT_AUTH = {"Authorization": f"Bearer {ILERT_TOKEN}"}


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# ------------------------------------------------------------------- the limiter alone


def test_sliding_window_frees_slots_as_old_requests_age_out() -> None:
    clock = FakeClock()
    limiter = RateLimiter({"ilert": RateLimit(requests=4, window_seconds=60)}, clock=clock)
    for _ in range(2):
        assert limiter.acquire("ilert", "k") is None
    clock.now += 30
    for _ in range(2):
        assert limiter.acquire("ilert", "k") is None
    refused = limiter.acquire("ilert", "k")
    assert refused is not None
    assert refused.wait_seconds == pytest.approx(30)  # until the first two age out
    clock.now += 29.9
    assert limiter.acquire("ilert", "k") is not None  # a sliding, not a fixed, window
    clock.now += 0.1
    assert limiter.acquire("ilert", "k") is None
    assert limiter.acquire("ilert", "k") is None
    assert limiter.acquire("ilert", "k") is not None  # the later two still count
    assert limiter.used("ilert", "k") == 4


def test_refused_requests_do_not_count_and_keys_and_services_are_separate() -> None:
    clock = FakeClock()
    limiter = RateLimiter(
        {"ilert": RateLimit(requests=1, window_seconds=10), "level": RateLimit(1, 10)},
        clock=clock,
    )
    assert limiter.acquire("ilert", "a") is None
    for _ in range(50):
        assert limiter.acquire("ilert", "a") is not None
    assert limiter.acquire("ilert", "b") is None
    assert limiter.acquire("level", "a") is None
    assert limiter.acquire("ilert", None) is None  # no key (event intake): not limited
    clock.now += 10
    assert limiter.acquire("ilert", "a") is None  # 50 refusals did not extend the window


def test_time_scale_shrinks_the_window() -> None:
    clock = FakeClock()
    limiter = RateLimiter({"ilert": RateLimit()}, time_scale=0.01, clock=clock)
    for _ in range(120):
        assert limiter.acquire("ilert", "k") is None
    refused = limiter.acquire("ilert", "k")
    assert refused is not None
    assert refused.wait_seconds == pytest.approx(0.6)
    assert refused.retry_after_header() == "1"  # whole seconds, rounded up
    clock.now += 0.6
    assert limiter.acquire("ilert", "k") is None


def test_set_changes_or_removes_a_limit_and_resets_its_counts() -> None:
    limiter = RateLimiter()
    assert limiter.limit("ilert") is None
    assert limiter.acquire("ilert", "k") is None
    limiter.set("ilert", RateLimit(requests=1, window_seconds=60))
    assert limiter.acquire("ilert", "k") is None
    assert limiter.acquire("ilert", "k") is not None
    limiter.set("ilert", RateLimit(requests=2, window_seconds=60))
    assert limiter.acquire("ilert", "k") is None
    limiter.set("ilert", None)
    assert limiter.limit("ilert") is None
    with pytest.raises(ValueError, match="service must be one of ilert, level"):
        limiter.set("pagerduty", RateLimit())


@pytest.mark.parametrize(
    ("text", "expected"),
    [("120/60", RateLimit(120, 60.0)), ("5/0.5", RateLimit(5, 0.5))],
)
def test_parse(text: str, expected: RateLimit) -> None:
    assert RateLimit.parse(text) == expected


@pytest.mark.parametrize("text", ["120", "0/60", "120/0", "x/60", "120/-1", "1.5/60", "/"])
def test_parse_refuses_bad_values_with_an_example(text: str) -> None:
    with pytest.raises(ValueError, match=r"expected REQUESTS/SECONDS .* for example 120/60"):
        RateLimit.parse(text)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="requests must be a positive integer"):
        RateLimit(requests=0)
    with pytest.raises(ValueError, match="window_seconds must be a positive number"):
        RateLimit(window_seconds=0)
    with pytest.raises(ValueError, match="time_scale must be a number above 0"):
        Sandbox(time_scale=0)


# ------------------------------------------------------------------ over HTTP


def test_off_by_default(sandbox: Sandbox) -> None:
    client = ilert(sandbox)
    statuses = Counter(client.get("/api/teams").status_code for _ in range(130))
    assert statuses == {200: 130}


def test_the_121st_ilert_request_in_a_minute_gets_429_without_retry_after() -> None:
    with Sandbox(rate_limits={"ilert": RateLimit()}) as sb:  # 120 per 60 s, real time
        with requests.Session() as session:
            session.headers.update(ILERT_AUTH)
            statuses = [
                session.get(f"{sb.ilert_url}/api/teams", timeout=5).status_code
                for _ in range(120)
            ]
            refused = session.get(f"{sb.ilert_url}/api/alert-sources", timeout=5)
        assert statuses == [200] * 120
        assert refused.status_code == 429
        assert "Retry-After" not in refused.headers
        body = refused.json()
        assert body["status"] == 429
        assert body["code"] == "TOO_MANY_REQUESTS"
        assert "120 requests per 60 s" in body["message"]
        assert ILERT_TOKEN not in refused.text
        assert sb.requests[-1] == RecordedRequest(
            "ilert", "GET", "/api/alert-sources", "", 429, "rate_limit"
        )
        assert sb.count(service="ilert") == 121
        # control routes and the unauthenticated event intake are not limited
        assert requests.get(f"{sb.ilert_url}/sandbox/faults", timeout=5).status_code == 200
        assert requests.get(f"{sb.ilert_url}/api/integrations", timeout=5).status_code == 200
        # another API key has its own window (ilert refuses it, but as 401, not 429)
        other = requests.get(
            f"{sb.ilert_url}/api/teams", headers={"Authorization": "Bearer other"}, timeout=5
        )
        assert other.status_code == 401
        # Level is not limited unless asked
        assert level(sb).get("/v2/webhooks").status_code == 200


def test_requests_pass_again_once_the_scaled_window_has_passed() -> None:
    # 60 s scaled by 1/60: the window lasts 1 s of real time
    with Sandbox(rate_limits={"ilert": RateLimit(3, 60)}, time_scale=1 / 60) as sb:
        client = ilert(sb)
        assert [client.get("/api/teams").status_code for _ in range(4)] == [200, 200, 200, 429]
        time.sleep(1.05)
        assert [client.get("/api/teams").status_code for _ in range(4)] == [200, 200, 200, 429]
        assert [r.fault for r in sb.requests].count("rate_limit") == 2


def test_level_limit_counts_each_key_and_sends_retry_after() -> None:
    with Sandbox(rate_limits={"level": RateLimit(requests=2, window_seconds=30)}) as sb:
        writer, reader = level(sb), level(sb, key=LEVEL_READONLY_KEY)
        assert [writer.get("/v2/webhooks").status_code for _ in range(2)] == [200, 200]
        refused = writer.get("/v2/webhooks")
        assert [reader.get("/v2/webhooks").status_code for _ in range(2)] == [200, 200]
        assert reader.get("/v2/alerts").status_code == 429
        assert ilert(sb).get("/api/teams").status_code == 200  # ilert unaffected
    assert refused.status_code == 429
    assert set(refused.json()) == {"error"}
    assert LEVEL_API_KEY not in refused.text
    assert 1 <= int(refused.headers["Retry-After"]) <= 30


def test_retry_after_can_be_forced_either_way() -> None:
    limits = {
        "ilert": RateLimit(requests=1, window_seconds=5, retry_after=True),
        "level": RateLimit(requests=1, window_seconds=5, retry_after=False),
    }
    with Sandbox(rate_limits=limits) as sb:
        ilert_answers = [ilert(sb).get("/api/teams") for _ in range(2)]
        level_answers = [level(sb).get("/v2/webhooks") for _ in range(2)]
    assert [r.status_code for r in ilert_answers + level_answers] == [200, 429, 200, 429]
    assert 1 <= int(ilert_answers[1].headers["Retry-After"]) <= 5
    assert "Retry-After" not in level_answers[1].headers


def test_limit_can_be_switched_on_a_running_sandbox(sandbox: Sandbox) -> None:
    sandbox.rate_limiter.set("ilert", RateLimit(requests=1, window_seconds=60))
    assert [ilert(sandbox).get("/api/teams").status_code for _ in range(2)] == [200, 429]
    sandbox.rate_limiter.set("ilert", None)
    assert ilert(sandbox).get("/api/teams").status_code == 200


def test_concurrent_clients_get_exactly_the_limit() -> None:
    """Thread safety: 8 threads x 20 requests against 100 per minute: exactly 100 pass."""
    outcomes: Counter[int] = Counter()
    lock = threading.Lock()
    with Sandbox(rate_limits={"ilert": RateLimit(requests=100, window_seconds=60)}) as sb:

        def burst() -> None:
            with requests.Session() as session:
                session.headers.update(ILERT_AUTH)
                for _ in range(20):
                    status = session.get(f"{sb.ilert_url}/api/teams", timeout=10).status_code
                    with lock:
                        outcomes[status] += 1

        threads = [threading.Thread(target=burst) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not any(thread.is_alive() for thread in threads)
        assert outcomes == {200: 100, 429: 60}
        assert Counter(r.status for r in sb.requests) == {200: 100, 429: 60}


def test_a_rate_limited_request_does_not_use_up_a_fault_rule() -> None:
    with Sandbox(rate_limits={"ilert": RateLimit(requests=1, window_seconds=60)}) as sb:
        client = ilert(sb)
        assert client.get("/api/teams").status_code == 200
        sb.faults.add("ilert", "GET", "/api/teams", status=502)
        assert client.get("/api/teams").status_code == 429
        assert [rule.remaining for rule in sb.faults.rules()] == [1]


# ------------------------------------------------------------------ command line


def test_cli_rate_limit_options() -> None:
    with cli("--quiet", "--ilert-rate-limit", "5/60", "--level-rate-limit", "5/60") as running:
        banner = "".join(running.lines)
        assert "ilert 5 requests per 60 s per API key (window 60 s real)" in banner
        assert "Level 5 requests per 60 s per API key" in banner
        ilert_statuses = [
            requests.get(f"{running.ilert_url}/api/teams", headers=ILERT_AUTH, timeout=5)
            for _ in range(6)  # the start-up probe used at least one of the 5
        ]
        level_statuses = [
            requests.get(
                f"{running.level_url}/v2/webhooks",
                headers={"Authorization": LEVEL_API_KEY},
                timeout=5,
            )
            for _ in range(6)
        ]
        assert running.stop(signal.SIGTERM)[0] == 0
    assert ilert_statuses[-1].status_code == 429
    assert "Retry-After" not in ilert_statuses[-1].headers
    assert level_statuses[-1].status_code == 429
    assert 1 <= int(level_statuses[-1].headers["Retry-After"]) <= 60


def test_cli_time_scale_shows_the_real_window() -> None:
    with cli("--quiet", "--ilert-rate-limit", "120/60", "--time-scale", "0.01") as running:
        assert "ilert 120 requests per 60 s per API key (window 0.6 s real)" in "".join(
            running.lines
        )
        assert running.stop(signal.SIGTERM)[0] == 0


def test_cli_without_options_has_no_limits() -> None:
    with cli("--quiet") as running:
        assert "rate limits: none" in "".join(running.lines)
        assert running.stop(signal.SIGTERM)[0] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--ilert-rate-limit", "120"], "expected REQUESTS/SECONDS"),
        (["--level-rate-limit", "0/60"], "expected REQUESTS/SECONDS"),
        (["--time-scale", "0"], "expected a number above 0"),
    ],
)
def test_cli_refuses_bad_rate_limit_options(args: list[str], message: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sandbox", "--ilert-port", "0", "--level-port", "0", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=WAIT_SECONDS,
        check=False,
    )
    assert result.returncode == 2
    assert message in result.stderr
    assert result.stdout == ""
