"""Pacing and deadline settings: defaults, overrides, and bad values named by key."""

from __future__ import annotations

import pytest
from pulumi.dynamic import Config, ConfigureRequest

from clients.http import RateLimit
from clients.tuning import TuningError, tuning_for
from components.settings import SettingsError, load_settings
from providers.ilert_alert_source import IlertAlertSourceProvider

INTEGRATIONS = [{"name": "Level - Acme", "escalationPolicy": 1}]


def test_defaults_are_ilerts_published_limit_and_a_conservative_level_one() -> None:
    nothing: dict[str, str] = {}
    ilert, level = tuning_for("ilert", nothing.get), tuning_for("level", nothing.get)

    assert ilert.rate_limit == RateLimit(requests=120, window_seconds=60.0)
    assert level.rate_limit == RateLimit(requests=60, window_seconds=60.0)
    assert ilert.operation_timeout == level.operation_timeout == 120.0


def test_stack_config_overrides_each_value() -> None:
    config = {
        "ilert:rateLimitRequests": "600", "ilert:rateLimitWindowSeconds": "30",
        "ilert:operationTimeoutSeconds": "300",
    }

    tuning = tuning_for("ilert", config.get)

    assert tuning.rate_limit == RateLimit(requests=600, window_seconds=30.0)
    assert tuning.operation_timeout == 300.0
    assert tuning.timeout_key == "ilert:operationTimeoutSeconds"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("ilert:rateLimitRequests", "0"),
        ("ilert:rateLimitRequests", "1.5"),
        ("level:rateLimitWindowSeconds", "-1"),
        ("level:operationTimeoutSeconds", "soon"),
        ("ilert:operationTimeoutSeconds", "inf"),
    ],
)
def test_a_bad_value_is_named_by_key_in_settings_and_in_check(key: str, value: str) -> None:
    namespace = key.partition(":")[0]
    with pytest.raises(TuningError, match=key):
        tuning_for(namespace, {key: value}.get)

    config: dict[str, object] = {"level-ilert:integrations": INTEGRATIONS, key: value}

    def get(name: str) -> str | None:
        found = config.get(name)
        return found if isinstance(found, str) else None

    with pytest.raises(SettingsError, match=key):
        load_settings(
            config.get, get, config_keys=config,
            environ={"ILERT_API_TOKEN": "t", "LEVEL_API_KEY": "k"},
        )

    if namespace == "ilert":
        provider = IlertAlertSourceProvider()
        provider.configure(ConfigureRequest(Config({key: value}, "level-ilert")))
        result = provider.check({}, {"name": "x", "escalation_policy": 1})
        assert [f.reason for f in result.failures if key in f.reason]
