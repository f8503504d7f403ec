"""A process of its own that uses one API key, for the machine-wide budget tests.

Commands (all use the budget folder their parent chose, ``LEVEL_ILERT_RATELIMIT_DIR``):

- ``requests URL TOKEN COUNT REQUESTS WINDOW DEADLINE``: send COUNT GETs at once (a
  thread each) through the HTTP layer, paced at REQUESTS per WINDOW seconds, each within
  DEADLINE seconds, and print one JSON line: how many succeeded, and how many found no
  request slot before their deadline (held back by the budget, never sent).
- ``tokens URL TOKEN COUNT THREADS START_AT``: take COUNT tokens (50 per 0.5 s) from
  THREADS threads at once, straight from the budget, and print how many came.
- ``hold URL TOKEN``: take the budget's lock, print ``held`` and wait to be killed.
- ``hang URL TOKEN``: send one GET to a server that never answers, and wait to be killed.

Run as ``python -m tests.budget.worker COMMAND ...``.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from clients import budget
from clients.http import (
    ApiClient,
    ApiError,
    DeadlineExceededError,
    RateLimit,
    RetryPolicy,
    Timeouts,
)

PATH = "/api/escalation-policies"


def _client(
    url: str, token: str, limit: RateLimit, *, read_timeout: float = 30.0,
    operation_timeout: float = 60.0,
) -> ApiClient:
    return ApiClient(
        api="ilert",
        base_url=url,
        authorization=f"Bearer {token}",
        credential_secret=token,
        credential_hint="test",
        base_url_setting="test",
        retry=RetryPolicy(attempts=2, backoff_factor=0.05, backoff_jitter=0),
        timeouts=Timeouts(connect=2.0, read=read_timeout),
        rate_limit=limit,
        operation_timeout=operation_timeout,
    )


def _requests(url: str, token: str, count: int, limit: RateLimit, deadline: float) -> None:
    client = _client(url, token, limit, operation_timeout=deadline)

    def one(_: int) -> str:
        try:
            client.request("GET", PATH)
        except DeadlineExceededError as error:
            return "held back" if "no request slot" in str(error) else "failed"
        except ApiError:
            return "failed"
        return "ok"

    with ThreadPoolExecutor(count) as pool:
        outcomes = Counter(pool.map(one, range(count)))
    print(json.dumps(dict(outcomes)), flush=True)


def _hold(url: str, token: str) -> None:
    shared = budget.SharedBudget(
        api="ilert", base_url=url, credential=token, window=budget.Window(5, 1.0),
        directory=budget.budget_dir(),
    )
    with shared._lock:  # the point: die while holding it
        print("held", flush=True)
        time.sleep(120)


def _hang(url: str, token: str) -> None:
    client = _client(url, token, RateLimit(5, 1.0), read_timeout=120.0)
    print("sending", flush=True)
    client.request("GET", PATH)


def _tokens(url: str, token: str, count: int, threads: int, start_at: float) -> None:
    shared = budget.SharedBudget(
        api="ilert", base_url=url, credential=token, window=budget.Window(50, 0.5),
        directory=budget.budget_dir(),
    )
    time.sleep(max(0.0, min(start_at - time.time(), 30.0)))
    with ThreadPoolExecutor(threads) as pool:
        taken = sum(pool.map(lambda _: shared.acquire(30.0), range(count)))
    print(json.dumps({"taken": taken}), flush=True)


def main(argv: list[str]) -> None:
    """Dispatch on the first argument (see the module docstring)."""
    command, url, token, *rest = argv
    if command == "requests":
        count, requests, window = int(rest[0]), int(rest[1]), float(rest[2])
        _requests(url, token, count, RateLimit(requests, window), float(rest[3]))
    elif command == "tokens":
        _tokens(url, token, int(rest[0]), int(rest[1]), float(rest[2]))
    elif command == "hold":
        _hold(url, token)
    elif command == "hang":
        _hang(url, token)
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
