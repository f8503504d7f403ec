"""IlertAlertSourceProvider against the sandbox: check, CRUD, drift seen and repaired."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi.dynamic import Config, ConfigureRequest
from pulumi.output import UNKNOWN, Unknown

from clients.endpoints import ILERT, EndpointSettingError, MissingCredentialError
from providers.engine_adapter import DELETE, UPDATE, UPDATE_REPLACE, DetailedReplaces
from providers.ilert_alert_source import IlertAlertSourceProvider, UnknownEscalationPolicyError
from sandbox import Sandbox
from tests.providers.conftest import new_command

BLOB = "not-inspected-by-the-provider"


def checked(provider: IlertAlertSourceProvider, **inputs: Any) -> dict[str, Any]:
    result = provider.check({}, {"__provider": BLOB, **inputs})
    assert [(f.property, f.reason) for f in result.failures] == []
    return result.inputs


def created(
    provider: IlertAlertSourceProvider, **inputs: Any
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    news = checked(provider, **inputs)
    result = provider.create(news)
    assert result.outs is not None
    return result.id, result.outs, news


def failures(provider: IlertAlertSourceProvider, **inputs: Any) -> dict[str, str]:
    result = provider.check({}, {"__provider": BLOB, **inputs})
    return {f.property: f.reason for f in result.failures}


# -- check: no network, each bad input named with its fix ------------------------------------


def test_check_fills_ilerts_defaults_and_keeps_the_provider_blob(
    alert_sources: IlertAlertSourceProvider, sandbox: Sandbox
) -> None:
    inputs = checked(alert_sources, name="Level", escalation_policy="1", teams=[2, 1, 2])

    assert inputs == {
        "__provider": BLOB,
        "name": "Level",
        "escalation_policy": 1,
        "integration_type": "LEVELIO",
        "alert_creation": "ONE_ALERT_PER_EMAIL",
        "alert_grouping_window": None,
        "alert_priority_rule": "HIGH",
        "auto_resolution_timeout": None,
        "teams": [1, 2],
        "active": True,
        "event_filter": None,
        "adopt": False,
    }
    assert sandbox.count() == 0


@pytest.mark.parametrize(
    ("inputs", "prop", "says"),
    [
        ({"escalation_policy": 1}, "name", "name is required"),
        ({"name": "", "escalation_policy": 1}, "name", "at least 1 character"),
        ({"name": "x"}, "escalation_policy", "escalation_policy is required"),
        ({"name": "x", "escalation_policy": 0}, "escalation_policy", "positive policy id"),
        ({"name": "x", "escalation_policy": "  "}, "escalation_policy", "exact policy name"),
        (
            {"name": "x", "escalation_policy": 1, "alert_creation": "ONE_PER_EMAIL"},
            "alert_creation",
            "alert_creation must be one of ONE_ALERT_PER_EMAIL",
        ),
        (
            {"name": "x", "escalation_policy": 1, "alert_creation": "INTELLIGENT_GROUPING"},
            "alert_grouping_window",
            "alert_grouping_window is required when alert_creation is INTELLIGENT_GROUPING",
        ),
        (
            {"name": "x", "escalation_policy": 1, "alert_grouping_window": "PT5M"},
            "alert_grouping_window",
            "alert_grouping_window only applies when alert_creation is",
        ),
        (
            {
                "name": "x", "escalation_policy": 1,
                "alert_creation": "ONE_ALERT_GROUPED_PER_WINDOW", "alert_grouping_window": "PT3M",
            },
            "alert_grouping_window",
            "alert_grouping_window must be one of PT2M, PT5M",
        ),
        (
            {"name": "x", "escalation_policy": 1, "auto_resolution_timeout": "PT7M"},
            "auto_resolution_timeout",
            "must be one of PT10M, PT20M",
        ),
        (
            {"name": "x", "escalation_policy": 1, "alert_priority_rule": "URGENT"},
            "alert_priority_rule",
            "must be one of HIGH, LOW",
        ),
        ({"name": "x", "escalation_policy": 1, "teams": [0]}, "teams", "ilert team ids"),
        ({"name": "x", "escalation_policy": 1, "teams": ["ops"]}, "teams", "valid integer"),
        (
            {"name": "x", "escalation_policy": 1, "integration_type": "level io"},
            "integration_type",
            "such as LEVELIO",
        ),
        ({"name": "x", "escalation_policy": 1, "colour": "red"}, "colour", "not a known property"),
    ],
)
def test_check_names_the_property_and_the_fix(
    alert_sources: IlertAlertSourceProvider,
    sandbox: Sandbox,
    inputs: dict[str, Any],
    prop: str,
    says: str,
) -> None:
    found = failures(alert_sources, **inputs)

    assert prop in found, found
    assert says in found[prop]
    assert sandbox.count() == 0


def test_check_lets_unknown_values_through_in_preview(
    alert_sources: IlertAlertSourceProvider,
) -> None:
    inputs = checked(
        alert_sources,
        name=UNKNOWN,
        escalation_policy=1,
        alert_creation=UNKNOWN,
        alert_grouping_window="PT5M",
        teams=[UNKNOWN],
    )

    assert isinstance(inputs["name"], Unknown)
    assert inputs["alert_grouping_window"] == "PT5M"
    assert inputs["integration_type"] == "LEVELIO"


# -- create, read, diff: one request each; drift seen and repaired ------------------------------


def test_create_then_read_then_diff_is_empty_with_one_request_each(
    alert_sources: IlertAlertSourceProvider, sandbox: Sandbox
) -> None:
    source_id, outs, news = created(
        alert_sources, name="Level - Acme", escalation_policy=2, teams=[1]
    )
    # The look-up for a source to adopt or refuse (one listing page), then the POST.
    assert sandbox.count() == 2
    assert sandbox.count("ilert", "POST", "/api/alert-sources") == 1

    live = sandbox.ilert_alert_source(int(source_id))
    assert live["setupStatus"] == "FINISHED"
    assert outs["integration_url"] == live["integrationUrl"]
    assert outs["integration_key"] == live["integrationKey"]
    assert outs["escalation_policy_id"] == 2
    assert outs["escalation_policy_name"] == "On-call L1"
    assert "iconUrl" not in outs

    new_command()  # refresh: a new provider process, so a new listing
    read = alert_sources.read(source_id, outs)
    assert sandbox.count() == 3
    assert read.id == source_id
    assert read.outs == outs
    assert read.inputs is not None
    # `adopt` only steers a create; read echoes it from state, so a refresh keeps it.
    assert {k: v for k, v in news.items() if k != "__provider"} == {
        **read.inputs, "integration_type": "LEVELIO",
    }
    assert outs["adopt"] is False

    diff = alert_sources.diff(source_id, outs, news)
    assert diff.changes is False
    assert diff.replaces == []
    assert sandbox.count() == 3


@pytest.mark.parametrize(
    ("change", "desired", "field"),
    [
        ({"name": "Renamed in UI"}, {}, "name"),
        ({"escalationPolicy": 1}, {}, "escalation_policy"),
        ({"active": False}, {}, "active"),
        ({"alertPriorityRule": "LOW"}, {}, "alert_priority_rule"),
        ({"teams": [2]}, {"teams": [1]}, "teams"),
        (
            {"alertCreation": "ONE_ALERT_GROUPED_PER_WINDOW", "alertGroupingWindow": "PT2H"},
            {},
            "alert_creation",
        ),
    ],
)
def test_drift_behind_pulumis_back_is_seen_by_read_and_diff_and_repaired_by_update(
    alert_sources: IlertAlertSourceProvider,
    sandbox: Sandbox,
    change: dict[str, Any],
    desired: dict[str, Any],
    field: str,
) -> None:
    source_id, outs, news = created(
        alert_sources, name="Level - Acme", escalation_policy=2, **desired
    )
    sandbox.ilert_edit_alert_source(int(source_id), **change)

    new_command()
    read = alert_sources.read(source_id, outs)
    assert read.outs is not None
    assert read.outs != outs
    diff = alert_sources.diff(source_id, read.outs, news)
    assert diff.changes is True
    assert diff.replaces == []
    assert isinstance(diff.replaces, DetailedReplaces)
    # Exactly the drifted property (the grouping case also drifted its window, a second
    # property with its own rule); never adopt, status or other outputs.
    assert diff.replaces.detailed == (
        {field: UPDATE, "alert_grouping_window": DELETE}
        if field == "alert_creation" else {field: UPDATE}
    )
    assert diff.stables == ["integration_key", "integration_url", "integration_type"]

    sandbox.requests.clear()
    updated = alert_sources.update(source_id, read.outs, news)
    assert sandbox.count() == 1
    assert sandbox.count("ilert", "PUT") == 1
    assert updated.outs is not None
    assert alert_sources.diff(source_id, updated.outs, news).changes is False
    assert updated.outs == outs | {
        "status": updated.outs["status"], "updated_at": updated.outs["updated_at"]
    }
    assert alert_sources.read(source_id, outs).outs == updated.outs, field
    new_command()
    assert alert_sources.read(source_id, outs).outs == updated.outs, field


def test_refresh_inputs_show_the_live_value_in_the_declared_form(
    alert_sources: IlertAlertSourceProvider, sandbox: Sandbox
) -> None:
    source_id, outs, _ = created(alert_sources, name="x", escalation_policy="On-call L1")
    sandbox.ilert_edit_alert_source(int(source_id), escalationPolicy=1)

    new_command()
    read = alert_sources.read(source_id, outs)

    assert read.inputs is not None
    assert read.inputs["escalation_policy"] == "Default"
    assert read.outs is not None
    assert read.outs["escalation_policy_id"] == 1


def test_policy_by_name_costs_one_lookup_and_unknown_name_lists_what_exists(
    alert_sources: IlertAlertSourceProvider, sandbox: Sandbox
) -> None:
    source_id, outs, _ = created(alert_sources, name="x", escalation_policy="On-call L1")
    assert outs["escalation_policy_id"] == 2
    assert sandbox.count("ilert", "GET", "/api/escalation-policies") == 1
    assert sandbox.count() == 3  # policies, sources (nothing to adopt), POST

    # Policies are listed once per process: a second create by name costs no look-up.
    created(alert_sources, name="y", escalation_policy="On-call L1")
    assert sandbox.count("ilert", "GET", "/api/escalation-policies") == 1
    assert sandbox.count() == 4

    for i in range(12):
        sandbox.ilert_add_escalation_policy(f"Extra {i}")
    news = checked(alert_sources, name="x", escalation_policy="on-call l1")
    with pytest.raises(
        UnknownEscalationPolicyError, match="matches no ilert escalation policy"
    ) as caught:
        alert_sources.update(source_id, outs, news)
    text = str(caught.value)
    assert "'on-call l1' matches no ilert escalation policy" in text
    assert "'Default', 'On-call L1'" in text
    assert "and 4 more" in text


def test_renaming_and_changing_policy_are_in_place_but_integration_type_replaces(
    alert_sources: IlertAlertSourceProvider,
) -> None:
    source_id, outs, news = created(alert_sources, name="x", escalation_policy=1)

    in_place = alert_sources.diff(
        source_id, outs, {**news, "name": "y", "escalation_policy": "On-call L1"}
    )
    replace = alert_sources.diff(source_id, outs, {**news, "integration_type": "API"})
    by_name = {**news, "escalation_policy": "Default"}
    same_policy_by_name = alert_sources.diff(source_id, outs, by_name)

    assert (in_place.changes, in_place.replaces) == (True, [])
    assert isinstance(in_place.replaces, DetailedReplaces)
    assert in_place.replaces.detailed == {"name": UPDATE, "escalation_policy": UPDATE}
    assert (replace.changes, replace.replaces) == (True, ["integration_type"])
    assert isinstance(replace.replaces, DetailedReplaces)
    assert replace.replaces.detailed == {"integration_type": UPDATE_REPLACE}
    assert replace.stables == []  # a new source has a new key and URL
    assert same_policy_by_name.changes is False


def test_diff_ignores_a_new_provider_blob_and_compares_teams_as_a_set(
    alert_sources: IlertAlertSourceProvider,
) -> None:
    source_id, outs, news = created(alert_sources, name="x", escalation_policy=1, teams=[2, 1])

    assert alert_sources.diff(source_id, outs, {**news, "__provider": "upgraded"}).changes is False
    assert alert_sources.diff(source_id, outs, {**news, "teams": [2, 1]}).changes is False
    assert alert_sources.diff(source_id, outs, {**news, "teams": [2]}).changes is True


def test_unknown_inputs_in_preview_show_as_changes(
    alert_sources: IlertAlertSourceProvider,
) -> None:
    source_id, outs, news = created(alert_sources, name="x", escalation_policy=1)

    assert alert_sources.diff(source_id, outs, {**news, "name": UNKNOWN}).changes is True


def test_update_leaves_teams_alone_when_never_declared(
    alert_sources: IlertAlertSourceProvider, sandbox: Sandbox
) -> None:
    source_id, outs, news = created(alert_sources, name="x", escalation_policy=1)
    sandbox.ilert_edit_alert_source(int(source_id), teams=[2])

    read = alert_sources.read(source_id, outs)
    assert read.outs is not None
    assert alert_sources.diff(source_id, read.outs, news).changes is False
    alert_sources.update(source_id, read.outs, {**news, "name": "renamed"})

    assert [t["id"] for t in sandbox.ilert_alert_source(int(source_id))["teams"]] == [2]


def test_declared_empty_teams_clears_them(
    alert_sources: IlertAlertSourceProvider, sandbox: Sandbox
) -> None:
    """`teams: []` means "no teams": a change from [1], sent as [], kept, and drift-checked."""
    source_id, outs, news = created(alert_sources, name="x", escalation_policy=1, teams=[1])
    cleared = {**news, "teams": []}

    assert alert_sources.diff(source_id, outs, cleared).changes is True
    updated = alert_sources.update(source_id, outs, cleared)

    assert sandbox.ilert_alert_source(int(source_id))["teams"] == []
    assert updated.outs is not None and updated.outs["teams"] == []
    assert alert_sources.diff(source_id, updated.outs, cleared).changes is False
    # Refresh: read keeps reporting teams (declared, if empty), so a team added in ilert shows.
    sandbox.ilert_edit_alert_source(int(source_id), teams=[2])
    new_command()
    read = alert_sources.read(source_id, updated.outs)
    assert read.outs is not None and read.outs["teams"] == [2]
    assert read.inputs is not None and read.inputs["teams"] == [2]
    assert alert_sources.diff(source_id, read.outs, cleared).changes is True


def test_deleted_behind_pulumis_back_reads_as_gone_and_delete_twice_is_fine(
    alert_sources: IlertAlertSourceProvider, sandbox: Sandbox
) -> None:
    source_id, outs, _ = created(alert_sources, name="x", escalation_policy=1)
    sandbox.ilert_delete_alert_source(int(source_id))
    new_command()
    sandbox.requests.clear()

    assert alert_sources.read(source_id, outs).id == ""
    # Missing from the listing, so confirmed with one GET before it is reported gone.
    assert sandbox.count("ilert", "GET") == 2

    sandbox.requests.clear()
    alert_sources.delete(source_id, outs)
    alert_sources.delete(source_id, outs)
    # One DELETE each; ilert's 404 for a source already gone counts as deleted.
    assert [(r.method, r.path, r.status) for r in sandbox.requests] == [
        ("DELETE", f"/api/alert-sources/{source_id}", 404),
    ] * 2


def test_delete_is_one_request(alert_sources: IlertAlertSourceProvider, sandbox: Sandbox) -> None:
    source_id, outs, _ = created(alert_sources, name="x", escalation_policy=1)
    sandbox.requests.clear()

    alert_sources.delete(source_id, outs)

    assert sandbox.count() == 1
    assert sandbox.ilert_alert_sources() == []


def test_missing_token_names_the_config_key_and_the_env_var(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ILERT_API_TOKEN", raising=False)
    provider = IlertAlertSourceProvider()
    provider.configure(ConfigureRequest(Config({"ilert:baseUrl": sandbox.ilert_url}, "p")))

    with pytest.raises(
        MissingCredentialError, match="pulumi config set --secret ilert:apiToken"
    ) as caught:
        provider.create(checked(provider, name="x", escalation_policy=1))

    assert "pulumi config set --secret ilert:apiToken" in str(caught.value)
    assert "ILERT_API_TOKEN" in str(caught.value)
    assert sandbox.count() == 0


def test_env_vars_are_the_fallback_for_token_and_base_url(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sandbox import ILERT_TOKEN

    monkeypatch.setenv("ILERT_API_TOKEN", ILERT_TOKEN)
    monkeypatch.setenv("ILERT_BASE_URL", "https://api.ilert.example")
    provider = IlertAlertSourceProvider()
    provider.configure(ConfigureRequest(Config({"ilert:baseUrl": sandbox.ilert_url}, "p")))

    result = provider.create(checked(provider, name="from env", escalation_policy=1))

    assert result.id  # the token from the environment; the stack file's base URL first
    assert sandbox.count("ilert", "POST") == 1
    assert provider.endpoint(ILERT).base_url == sandbox.ilert_url


def test_a_loopback_base_url_from_the_environment_is_refused_by_the_providers(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sandbox URL left exported must not take a real stack's token to this machine: the
    providers, not told the stack's name, take a loopback URL from the stack file only."""
    from sandbox import ILERT_TOKEN

    monkeypatch.setenv("ILERT_API_TOKEN", ILERT_TOKEN)
    monkeypatch.setenv("ILERT_BASE_URL", sandbox.ilert_url)
    provider = IlertAlertSourceProvider()
    provider.configure(ConfigureRequest(Config({}, "p")))

    failures = provider.check({}, {"__provider": BLOB, "name": "x", "escalation_policy": 1})
    with pytest.raises(EndpointSettingError, match="ILERT_BASE_URL"):
        provider.create(failures.inputs)

    assert any("ILERT_BASE_URL (environment variable) is a loopback URL" in failure.reason
               for failure in failures.failures)
    assert sandbox.count() == 0


def test_the_grouping_rule_still_applies_in_preview_when_other_values_are_unknown(
    alert_sources: IlertAlertSourceProvider,
) -> None:
    result = alert_sources.check(
        {},
        {"__provider": BLOB, "name": UNKNOWN, "escalation_policy": 1,
         "alert_creation": "ONE_ALERT_GROUPED_PER_WINDOW"},
    )

    reasons = {f.property: f.reason for f in result.failures}
    assert "alert_grouping_window is required" in reasons["alert_grouping_window"]
    assert "name" not in reasons
