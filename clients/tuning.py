"""How fast and how long each API may be driven: its rate limit and operation deadline.

Config keys (all optional):
``ilert:rateLimitRequests`` / ``ilert:rateLimitWindowSeconds`` (default 120 per 60 s:
ilert's published limit for a user API key), ``level:rateLimitRequests`` /
``level:rateLimitWindowSeconds`` (default 60 per 60 s: Level publishes no number, so a
conservative one), and ``ilert:operationTimeoutSeconds`` / ``level:operationTimeoutSeconds``
(default 120 s: one create, read, update or delete with all its retries and waits).

Environment: ``LEVEL_ILERT_RATE_SHARE`` (``SHARE_ENV``), this process's part of the key's
rate when other processes use the same key at the same time. Pacing is per process
(``clients/pacing.py``), so ``python -m ops fleet``, which runs several stacks at once, sets
it for each stack whose key (same API, base URL and credential) another running stack also
uses: ``ilert=0.3333333333333333,level=0.25`` for a stack that shares its ilert key with two
others and its Level key with three. A single fraction (``0.5``) applies to both APIs, and
an API left out keeps its whole rate. The rate limit is then that part of the configured
one, rounded down (``RateLimit.share``): 120 per 60 s at a third is 40 per 60 s, so the
stacks' sum stays under the published limit. Unset, the process uses the whole rate.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from clients.failures import KnownFailure
from clients.http import DEFAULT_OPERATION_TIMEOUT, RateLimit

ConfigLookup = Callable[[str], object]


@dataclass(frozen=True)
class ApiTuning:
    """One API's pacing and deadline, with the config keys that set them."""

    rate_limit: RateLimit  # this process's part of it (``rate_share``) already taken
    operation_timeout: float
    timeout_key: str
    rate_share: float = 1.0


DEFAULT_RATE_LIMITS = {
    "ilert": RateLimit(requests=120, window_seconds=60.0),
    "level": RateLimit(requests=60, window_seconds=60.0),
}
KEYS = tuple(
    f"{namespace}:{name}"
    for namespace in DEFAULT_RATE_LIMITS
    for name in ("rateLimitRequests", "rateLimitWindowSeconds", "operationTimeoutSeconds")
)
SHARE_ENV: Final = "LEVEL_ILERT_RATE_SHARE"


class TuningError(KnownFailure, ValueError):
    """A pacing or deadline setting is not a positive number; names the key."""


def _positive(config: ConfigLookup, key: str, default: float) -> float:
    raw = config(key)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return default
    try:
        value = float(str(raw).strip()) if not isinstance(raw, bool) else math.nan
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise TuningError(
            f"{key} must be a positive number; fix it with `pulumi config set {key} "
            f"<number>` or remove it to use the default ({default:g})."
        )
    return value


def rate_shares(environ: Mapping[str, str] | None = None) -> dict[str, float]:
    """Each API's share of its key's rate from ``LEVEL_ILERT_RATE_SHARE`` (``{}``: unset, or
    every API whole); raises ``TuningError`` naming the variable when it cannot be read."""
    env = os.environ if environ is None else environ
    raw = env.get(SHARE_ENV, "").strip()
    if not raw:
        return {}
    try:
        if "=" not in raw:
            return dict.fromkeys(DEFAULT_RATE_LIMITS, _fraction(raw))
        shares: dict[str, float] = {}
        for part in raw.split(","):
            namespace, _, value = (text.strip() for text in part.partition("="))
            if namespace not in DEFAULT_RATE_LIMITS or namespace in shares:
                raise ValueError(namespace)
            shares[namespace] = _fraction(value)
        return shares
    except ValueError:
        raise TuningError(
            f"{SHARE_ENV} must be a fraction above 0 and at most 1 (such as 0.5) for both APIs, "
            f"or one per API (such as ilert=0.5,level=0.25); got {raw[:60]!r}. python -m ops "
            f"fleet sets it for the stacks it runs at once on one API key; unset it otherwise."
        ) from None


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 < value <= 1:  # NaN too
        raise ValueError(text)
    return value


def tuning_for(
    namespace: str, config: ConfigLookup, environ: Mapping[str, str] | None = None
) -> ApiTuning:
    """The tuning of ``namespace`` (``ilert`` or ``level``) from stack config, else defaults,
    at this process's share of the key's rate (``LEVEL_ILERT_RATE_SHARE`` in ``environ``,
    by default this process's environment)."""
    default = DEFAULT_RATE_LIMITS[namespace]
    requests_key = f"{namespace}:rateLimitRequests"
    requests = _positive(config, requests_key, default.requests)
    if requests != int(requests):
        raise TuningError(f"{requests_key} must be a whole number of requests.")
    window = _positive(config, f"{namespace}:rateLimitWindowSeconds", default.window_seconds)
    timeout_key = f"{namespace}:operationTimeoutSeconds"
    timeout = _positive(config, timeout_key, DEFAULT_OPERATION_TIMEOUT)
    share = rate_shares(environ).get(namespace, 1.0)
    return ApiTuning(
        RateLimit(int(requests), window).share(share), timeout, timeout_key, rate_share=share
    )
