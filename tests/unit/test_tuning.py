"""Pacing and deadline settings: defaults, overrides, and bad values named by key; a
process's share of its key's rate (LEVEL_ILERT_RATE_SHARE, set by the fleet)."""

from __future__ import annotations

import pytest
from pulumi.dynamic import Config, ConfigureRequest

from clients.http import RateLimit
from clients.tuning import SHARE_ENV, TuningError, rate_shares, tuning_for
from components.settings import SettingsError, load_settings
from providers.ilert_alert_source import IlertAlertSourceProvider

INTEGRATIONS = [{"name": "Level - Acme", "escalationPolicy": 1}]


def test_defaults_are_ilerts_published_limit_and_a_conservative_level_one() -> None:
    nothing: dict[str, str] = {}
    ilert, level = (tuning_for(api, nothing.get, environ={}) for api in ("ilert", "level"))

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


@pytest.mark.parametrize(
    ("value", "ilert", "level"),
    [
        ("", RateLimit(120, 60.0), RateLimit(60, 60.0)),
        ("0.5", RateLimit(60, 60.0), RateLimit(30, 60.0)),
        (" ilert=0.3333333333333333 , level=0.25 ", RateLimit(40, 60.0), RateLimit(15, 60.0)),
        ("level=0.25", RateLimit(120, 60.0), RateLimit(15, 60.0)),  # ilert left out: whole
        ("ilert=1", RateLimit(120, 60.0), RateLimit(60, 60.0)),
    ],
)
def test_a_process_paces_at_its_share_of_the_keys_rate(
    value: str, ilert: RateLimit, level: RateLimit
) -> None:
    nothing: dict[str, str] = {}
    environ = {SHARE_ENV: value}

    assert tuning_for("ilert", nothing.get, environ).rate_limit == ilert
    assert tuning_for("level", nothing.get, environ).rate_limit == level


def test_a_share_divides_the_configured_limit_not_the_default() -> None:
    config = {"ilert:rateLimitRequests": "600", "ilert:rateLimitWindowSeconds": "30"}

    tuning = tuning_for("ilert", config.get, {SHARE_ENV: "ilert=0.25"})

    assert tuning.rate_limit == RateLimit(requests=150, window_seconds=30.0)
    assert tuning.rate_share == 0.25


def test_the_share_is_read_from_the_processs_environment_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(SHARE_ENV, "0.5")

    assert rate_shares() == {"ilert": 0.5, "level": 0.5}
    nothing: dict[str, str] = {}
    assert tuning_for("ilert", nothing.get).rate_limit == RateLimit(60, 60.0)


@pytest.mark.parametrize(
    "value",
    ["0", "1.5", "-0.5", "nan", "half", "ilert=0.5,level", "pagerduty=0.5",
     "ilert=0.5,ilert=0.25", "ilert=0.5,", "ilert=0"],
)
def test_a_bad_share_is_refused_naming_the_variable(value: str) -> None:
    nothing: dict[str, str] = {}
    with pytest.raises(TuningError, match=r"^LEVEL_ILERT_RATE_SHARE must be") as caught:
        tuning_for("level", nothing.get, {SHARE_ENV: value})

    assert str(caught.value) == (
        f"LEVEL_ILERT_RATE_SHARE must be a fraction above 0 and at most 1 (such as 0.5) for "
        f"both APIs, or one per API (such as ilert=0.5,level=0.25); got {value!r}. python -m "
        f"ops fleet sets it for the stacks it runs at once on one API key; unset it otherwise."
    )


def test_a_bad_share_stops_the_settings_with_its_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SHARE_ENV, "2")
    config: dict[str, object] = {"level-ilert:integrations": INTEGRATIONS}

    with pytest.raises(SettingsError, match="LEVEL_ILERT_RATE_SHARE must be a fraction"):
        load_settings(
            config.get, lambda _: None, config_keys=config,
            environ={"ILERT_API_TOKEN": "t", "LEVEL_API_KEY": "k"},
        )
