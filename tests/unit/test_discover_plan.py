"""``ops.discover_plan``: the choices discover makes for setups the sandbox story leaves out.

No network: each test builds what discover would have read (``Live``) and checks the
entries, comments and findings the plan makes of it.
"""

from __future__ import annotations

from typing import Any

import pytest

from clients.ilert import AlertSource, EscalationPolicy, IdRef
from clients.level import Group, Webhook
from ops.discover_plan import build_plan, group_refs, policy_ref
from ops.discover_read import Live

ILERT = "https://api.ilert.com"
BOTH = ["alert_active", "alert_resolved"]


def source(id_: int, name: str, **fields: Any) -> AlertSource:
    return AlertSource.model_validate({
        "id": id_, "name": name, "integrationType": fields.pop("integrationType", "LEVELIO"),
        "escalationPolicy": {"id": 1, "name": "Default"},
        "integrationUrl": f"{ILERT}/api/v1/events/levelio/key{id_}", **fields,
    })


def hook(id_: str, source_id: int, **fields: Any) -> Webhook:
    return Webhook.model_validate({
        "id": id_, "url": f"{ILERT}/api/v1/events/levelio/key{source_id}",
        "event_types": BOTH, **fields,
    })


def live(sources: list[AlertSource], webhooks: list[Webhook], **fields: Any) -> Live:
    fields.setdefault("policies", [EscalationPolicy(id=1, name="Default")])
    return Live(ilert_base_url=ILERT, level_base_url="https://api.level.io", sources=sources,
                webhooks=webhooks, groups=fields.pop("groups", []), **fields)


def findings(plan: Any) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for check in plan.findings:
        found.setdefault(check.id, []).append(check.scope)
    return found


@pytest.mark.parametrize(("name", "why"), [("42", "'42'"), (" Default", "' Default'")])
def test_a_policy_name_that_would_not_read_back_is_written_by_id(name: str, why: str) -> None:
    policies = [EscalationPolicy(id=7, name=name)]

    assert policy_ref(IdRef(id=7, name=name), policies) == (7, why)
    assert policy_ref(IdRef(id=8, name=None), policies) == (8, "")


def test_a_group_is_named_only_when_its_name_is_unique() -> None:
    groups = [Group(id="a", name="Acme"), Group(id="h1", name="HQ", parent_id="a"),
              Group(id="g", name="Globex"), Group(id="h2", name="HQ", parent_id="g")]

    assert group_refs(["a", "h2", "gone"], groups) == (["Acme", "h2", "gone"],
                                                      "Globex > HQ, not listed")


def test_two_sources_of_one_name_stay_out_since_up_could_not_tell_them_apart() -> None:
    plan = build_plan(live([source(1, "Level - A"), source(2, "Level - A"), source(3, "B")],
                           [hook("w1", 1), hook("w3", 3)]), "prod")

    assert [entry.name for entry in plan.entries] == ["B"]
    assert [kept.source.id for kept in plan.kept_out] == [1, 2]
    assert findings(plan)["source.same-name"] == ["Level - A", "Level - A"]
    assert "(ids 1, 2)" in plan.kept_out[0].lines[0] + plan.kept_out[0].lines[1]


def test_a_scope_emptied_by_deleted_groups_is_written_disabled() -> None:
    plan = build_plan(live([source(1, "A")], [hook("w1", 1, group_ids=[])]), "prod")

    (entry,) = plan.entries
    assert entry.values["webhookEnabled"] is False and "deviceGroups" not in entry.values
    assert "webhook.scope-empty" in findings(plan)
    assert "enabled: true → false (it delivered nothing)" in entry.webhook_changes


def test_a_webhook_to_a_source_of_another_type_is_named_and_left_alone() -> None:
    api = source(9, "API - tickets", integrationType="API")
    plan = build_plan(live([source(1, "A")], [hook("w1", 1), hook("w9", 9)],
                           types_by_url={api.integration_url: (9, api.name, "API")}), "prod")

    assert findings(plan)["webhook.wrong-source-type"] == ["Level webhooks"]
    assert "type API, not Level.io" in " ".join(plan.loose)


def test_a_webhook_that_never_opened_alerts_is_not_made_to_page_twice() -> None:
    sources = [source(1, "Everything"), source(2, "Resolves only")]
    webhooks = [hook("w1", 1), hook("w2", 2, event_types=["alert_resolved"])]

    plan = build_plan(live(sources, webhooks), "prod")

    everything, resolves_only = plan.entries
    assert resolves_only.values["eventTypes"] == BOTH
    assert resolves_only.values["webhookEnabled"] is False  # else both page for every alert
    assert "sharesAlertsWith" not in everything.values  # nothing pages twice today
    assert "event types: + alert_active" in resolves_only.webhook_changes
    assert "enabled: true → false (see its comment)" in resolves_only.webhook_changes


def test_settings_the_validation_refuses_keep_a_source_out_with_the_reason() -> None:
    odd = source(1, "A", autoResolutionTimeout="PT7M")

    plan = build_plan(live([odd, source(2, "B")], [hook("w1", 1), hook("w2", 2,
                           group_ids=["g"])], groups=[Group(id="g", name="G")]), "prod")

    assert [entry.name for entry in plan.entries] == ["B"]
    (kept,) = plan.kept_out
    assert "autoResolutionTimeout must be one of" in " ".join(kept.lines)


def test_force_keeps_other_keys_drops_a_plain_secret_and_partners_that_are_gone() -> None:
    previous = {
        "A": {"name": "A", "escalationPolicy": 5, "resourceName": "a-prod",
              "webhookSecret": "plain-text!", "sharesAlertsWith": ["Gone", "B"]},
    }
    sources = [source(1, "A"), source(2, "B")]
    webhooks = [hook("w1", 1, group_ids=["g1"], has_secret=True), hook("w2", 2,
                                                                         group_ids=["g2"])]
    groups = [Group(id="g1", name="One"), Group(id="g2", name="Two")]

    plan = build_plan(live(sources, webhooks, groups=groups), "prod", previous)

    a = plan.entries[0].values
    assert a["resourceName"] == "a-prod" and a["escalationPolicy"] == "Default"
    assert "webhookSecret" not in a
    assert a["sharesAlertsWith"] == ["B"]
    assert list(a)[-1] == "adopt"
    assert findings(plan)["webhook.plaintext-secret"] == ["A"]


def test_names_that_make_the_same_resource_name_get_their_own() -> None:
    plan = build_plan(live([source(1, "Level - Acme"), source(2, "Level: Acme")],
                           [hook("w1", 1, group_ids=["g1"]), hook("w2", 2, group_ids=["g2"])],
                           groups=[Group(id="g1", name="One"), Group(id="g2", name="Two")]),
                      "prod")

    first, second = plan.entries
    assert "resourceName" not in first.values
    assert second.values["resourceName"] == "level-acme-2"
    assert list(second.values)[:2] == ["name", "resourceName"]
