"""The engine harness lives in ``tools/engine_harness.py``: ``bench/`` uses it too and imports
nothing from ``tests/``. This module hands its names on to the tests that import them here
(a test may as well import ``tools.engine_harness`` itself)."""

from __future__ import annotations

from tools.engine_harness import (
    PROJECT,
    PROVIDER_KEY,
    REPO_ROOT,
    STACK,
    UNKNOWN,
    CapturingMocks,
    CheckOutcome,
    DiffOutcome,
    ProviderError,
    ProviderServer,
    Registration,
    _settings_defaults,
    capture_registrations,
    dynamic_type,
    from_struct,
    make_urn,
    provider_blob,
    serialize_provider_like_sdk,
    strip_secrets,
    to_struct,
)

__all__ = [
    "PROJECT",
    "PROVIDER_KEY",
    "REPO_ROOT",
    "STACK",
    "UNKNOWN",
    "CapturingMocks",
    "CheckOutcome",
    "DiffOutcome",
    "ProviderError",
    "ProviderServer",
    "Registration",
    "_settings_defaults",
    "capture_registrations",
    "dynamic_type",
    "from_struct",
    "make_urn",
    "provider_blob",
    "serialize_provider_like_sdk",
    "strip_secrets",
    "to_struct",
]
