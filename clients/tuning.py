"""How fast and how long each API may be driven: its rate limit and operation deadline.

Config keys (all optional):
``ilert:rateLimitRequests`` / ``ilert:rateLimitWindowSeconds`` (default 120 per 60 s:
ilert's published limit for a user API key), ``level:rateLimitRequests`` /
``level:rateLimitWindowSeconds`` (default 60 per 60 s: Level publishes no number, so a
conservative one), and ``ilert:operationTimeoutSeconds`` / ``level:operationTimeoutSeconds``
(default 120 s: one create, read, update or delete with all its retries and waits).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from clients.failures import KnownFailure
from clients.http import DEFAULT_OPERATION_TIMEOUT, RateLimit

ConfigLookup = Callable[[str], object]


@dataclass(frozen=True)
class ApiTuning:
    """One API's pacing and deadline, with the config keys that set them."""

    rate_limit: RateLimit
    operation_timeout: float
    timeout_key: str


DEFAULT_RATE_LIMITS = {
    "ilert": RateLimit(requests=120, window_seconds=60.0),
    "level": RateLimit(requests=60, window_seconds=60.0),
}
KEYS = tuple(
    f"{namespace}:{name}"
    for namespace in DEFAULT_RATE_LIMITS
    for name in ("rateLimitRequests", "rateLimitWindowSeconds", "operationTimeoutSeconds")
)


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


def tuning_for(namespace: str, config: ConfigLookup) -> ApiTuning:
    """The tuning of ``namespace`` (``ilert`` or ``level``) from stack config, else defaults."""
    default = DEFAULT_RATE_LIMITS[namespace]
    requests_key = f"{namespace}:rateLimitRequests"
    requests = _positive(config, requests_key, default.requests)
    if requests != int(requests):
        raise TuningError(f"{requests_key} must be a whole number of requests.")
    window = _positive(config, f"{namespace}:rateLimitWindowSeconds", default.window_seconds)
    timeout_key = f"{namespace}:operationTimeoutSeconds"
    timeout = _positive(config, timeout_key, DEFAULT_OPERATION_TIMEOUT)
    return ApiTuning(RateLimit(int(requests), window), timeout, timeout_key)
