"""IlertAlertSourceProvider: what one provider process answers and sends across operations.

The engine runs several operations in one provider process (an `up` that replaces, a
`destroy`, a refresh of many resources). These tests follow one process through them and
check what a user sees: outputs in state, diff results, error text, and the requests ilert
receives (counted by the sandbox).
"""

from __future__ import annotations

import pytest
from pulumi.dynamic import Config, ConfigureRequest
from pulumi.output import UNKNOWN

from clients.http import DeadlineExceededError
from providers.ilert_alert_source import IlertAlertSourceProvider, UnknownEscalationPolicyError
from sandbox import ILERT_TOKEN, Sandbox
from tests.providers.conftest import new_command, stack_config
from tests.providers.test_alert_source_provider import checked, created


def test_a_deleted_source_is_gone_for_the_rest_of_the_process(
    alert_sources: IlertAlertSourceProvider, sandbox: Sandbox
) -> None:
    """`up` replacing a source deletes the old one; a later read in that process (refresh
    of a stack that still names it) must not answer from the listing taken before."""
    source_id, outs, _ = created(alert_sources, name="x", escalation_policy=1)

    alert_sources.delete(source_id, outs)

    assert alert_sources.read(source_id, outs).id == ""


def test_a_source_created_after_the_listing_is_read_with_one_get_then_from_the_listing(
    alert_sources: IlertAlertSourceProvider, sandbox: Sandbox
) -> None:
    created(alert_sources, name="first", escalation_policy=1)  # the listing is taken here
    other = sandbox.ilert.create_alert_source(
        {"name": "made elsewhere", "integrationType": "LEVELIO", "escalationPolicy": {"id": 1}}
    )
    sandbox.requests.clear()

    first = alert_sources.read(str(other["id"]), {"escalation_policy": 1})
    again = alert_sources.read(str(other["id"]), {"escalation_policy": 1})

    assert first.id == again.id == str(other["id"])
    assert first.outs is not None and first.outs["name"] == "made elsewhere"
    assert sandbox.count() == 1  # one GET by id; the second read answers from the listing


def test_a_policy_added_after_the_listing_is_found_by_listing_again(
    alert_sources: IlertAlertSourceProvider, sandbox: Sandbox
) -> None:
    created(alert_sources, name="x", escalation_policy="Default")
    new_policy = sandbox.ilert_add_escalation_policy("Night shift")

    _, outs, _ = created(alert_sources, name="y", escalation_policy="Night shift")

    assert outs["escalation_policy_id"] == new_policy["id"]
    assert sandbox.count("ilert", "GET", "/api/escalation-policies") == 2


@pytest.mark.parametrize(("extra", "more"), [(8, ""), (9, " and 1 more")])
def test_an_unknown_policy_name_lists_ten_policies_and_counts_the_rest(
    alert_sources: IlertAlertSourceProvider, sandbox: Sandbox, extra: int, more: str
) -> None:
    for i in range(extra):
        sandbox.ilert_add_escalation_policy(f"P{i}")
    names = ", ".join(repr(n) for n in ["Default", "On-call L1", *(f"P{i}" for i in range(8))])

    with pytest.raises(UnknownEscalationPolicyError, match="matches no") as caught:
        alert_sources.create(checked(alert_sources, name="x", escalation_policy="Nights"))

    assert str(caught.value) == (
        f"escalation_policy 'Nights' matches no ilert escalation policy (names are exact and "
        f"case-sensitive). Existing policies: {names}{more}. Use one of these names or a "
        f"numeric policy id."
    )


def test_outputs_report_what_ilert_keeps_and_teams_only_when_declared(
    alert_sources: IlertAlertSourceProvider, sandbox: Sandbox
) -> None:
    source_id, outs, _ = created(
        alert_sources, name="x", escalation_policy=1,
        alert_creation="INTELLIGENT_GROUPING", alert_grouping_window="PT30M",
        alert_priority_rule="LOW", auto_resolution_timeout="PT12H", active=False,
    )

    live = sandbox.ilert_alert_source(int(source_id))
    assert {k: outs[k] for k in ("alert_creation", "alert_grouping_window",
                                 "alert_priority_rule", "auto_resolution_timeout", "active")} == {
        "alert_creation": "INTELLIGENT_GROUPING",
        "alert_grouping_window": "PT30M",
        "alert_priority_rule": "LOW",
        "auto_resolution_timeout": "PT12H",
        "active": False,
    }
    assert (outs["status"], outs["teams"]) == (live["status"], None)
    new_command()
    read = alert_sources.read(source_id, outs)
    assert read.outs == outs
    assert read.inputs is not None and "teams" not in read.inputs


def test_state_from_before_the_declared_policy_was_kept_reads_the_policy_by_id(
    alert_sources: IlertAlertSourceProvider,
) -> None:
    """Outputs without ``escalation_policy`` (older state) fall back to the recorded id."""
    source_id, outs, _ = created(alert_sources, name="x", escalation_policy="On-call L1")
    older = {k: v for k, v in outs.items() if k != "escalation_policy"}

    read = alert_sources.read(source_id, older)

    assert read.outs is not None and read.outs["escalation_policy"] == 2
    assert read.inputs is not None and read.inputs["escalation_policy"] == 2


@pytest.mark.parametrize("same", [2, 2.0, "2", " 2 ", "On-call L1"])
def test_diff_sees_the_same_policy_in_any_form_the_engine_sends(
    alert_sources: IlertAlertSourceProvider, same: object
) -> None:
    source_id, outs, news = created(alert_sources, name="x", escalation_policy=2)

    assert alert_sources.diff(source_id, outs, {**news, "escalation_policy": same}).changes is False
    assert alert_sources.diff(source_id, outs, {**news, "escalation_policy": 1}).changes is True


@pytest.mark.parametrize("field", ["escalation_policy", "teams"])
def test_a_value_unknown_in_preview_shows_as_a_change(
    alert_sources: IlertAlertSourceProvider, field: str
) -> None:
    source_id, outs, news = created(alert_sources, name="x", escalation_policy=2, teams=[1])

    diff = alert_sources.diff(source_id, outs, {**news, field: UNKNOWN})

    assert (diff.changes, diff.replaces) == (True, [])


def test_a_replacement_creates_the_new_source_before_deleting_the_old(
    alert_sources: IlertAlertSourceProvider,
) -> None:
    """The webhook is moved to the new source's URL before the old source goes away."""
    source_id, outs, news = created(alert_sources, name="x", escalation_policy=2)

    diff = alert_sources.diff(source_id, outs, {**news, "integration_type": "API"})

    assert (diff.changes, diff.replaces, diff.delete_before_replace) == (
        True, ["integration_type"], False,
    )


def test_the_rate_limit_and_deadline_settings_reach_every_request(sandbox: Sandbox) -> None:
    provider = IlertAlertSourceProvider()
    config = {
        **stack_config(sandbox),
        "ilert:rateLimitRequests": "1",
        "ilert:rateLimitWindowSeconds": "5",
        "ilert:operationTimeoutSeconds": "0.5",
    }
    provider.configure(ConfigureRequest(Config(config, "level-ilert")))

    with pytest.raises(DeadlineExceededError, match="no request slot") as caught:
        provider.create(checked(provider, name="x", escalation_policy=1))

    assert "deadline of 0.5 s (ilert:operationTimeoutSeconds)" in str(caught.value)
    assert sandbox.count() == 1  # the listing took the only slot; the POST was never sent


def test_each_ilert_base_url_has_its_own_listing(alert_sources: IlertAlertSourceProvider) -> None:
    """Two organisations (base URLs) with the same token: one's sources are not the other's."""
    with Sandbox() as other_org:
        config = stack_config(other_org)
        assert config["ilert:apiToken"] == ILERT_TOKEN  # the same token as alert_sources'
        other = IlertAlertSourceProvider()
        other.configure(ConfigureRequest(Config(config, "level-ilert")))
        created(alert_sources, name="Level - Acme", escalation_policy=1)

        _, outs, _ = created(other, name="Level - Acme", escalation_policy=1)

        assert other_org.count("ilert", "POST") == 1
        assert outs["integration_url"].startswith(other_org.ilert_url)


def test_a_provider_shows_which_settings_it_was_given_never_their_values(
    alert_sources: IlertAlertSourceProvider,
) -> None:
    assert repr(alert_sources) == (
        "IlertAlertSourceProvider(configured keys: ilert:apiToken, ilert:baseUrl, "
        "level:apiKey, level:baseUrl)"
    )
    assert repr(IlertAlertSourceProvider()) == "IlertAlertSourceProvider(configured keys: none)"


def test_each_ilert_base_url_has_its_own_policy_names(
    alert_sources: IlertAlertSourceProvider,
) -> None:
    """A policy that exists in another organisation is still unknown in this one."""
    created(alert_sources, name="x", escalation_policy="Default")  # this org's policies listed
    with Sandbox() as other_org:
        other_org.ilert_add_escalation_policy("Night shift")
        other = IlertAlertSourceProvider()
        other.configure(ConfigureRequest(Config(stack_config(other_org), "level-ilert")))
        created(other, name="y", escalation_policy="Night shift")

        with pytest.raises(UnknownEscalationPolicyError, match="'Night shift' matches no"):
            alert_sources.create(checked(alert_sources, name="z", escalation_policy="Night shift"))


def test_an_unknown_policy_name_says_when_ilert_has_no_policies_at_all(
    alert_sources: IlertAlertSourceProvider, sandbox: Sandbox
) -> None:
    with sandbox.world.mutate() as state:  # an account without any escalation policy
        state.escalation_policies.clear()

    with pytest.raises(UnknownEscalationPolicyError, match="matches no") as caught:
        alert_sources.create(checked(alert_sources, name="x", escalation_policy="Default"))

    assert "Existing policies: none. Use one of these names or a numeric policy id." in str(
        caught.value
    )
