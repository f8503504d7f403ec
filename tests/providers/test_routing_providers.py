"""Routing in the providers: a webhook's device-group scope (``device_groups`` by id or by a
unique name) and an alert source's ``event_filter``, through check, create, read (drift),
diff, update and adopt, against the sandbox."""

from __future__ import annotations

from typing import Any

import pytest

from clients.level_groups import UnknownGroupError
from providers.ilert_alert_source import IlertAlertSourceProvider
from providers.level_webhook import LevelWebhookProvider
from sandbox import Sandbox
from tests.providers.conftest import new_command
from tests.providers.test_alert_source_provider import created as created_source
from tests.providers.test_webhook_provider import BLOB, URL
from tests.providers.test_webhook_provider import created as created_webhook

FILTER = "event.customDetails.severity in ['critical', 'emergency']"


def live_hook(sandbox: Sandbox) -> dict[str, Any]:
    (hook,) = sandbox.level_webhooks()
    return hook


# ------------------------------------------------------------------------- check


@pytest.mark.parametrize(
    ("groups", "says"),
    [
        ([], "must not be an empty list: a webhook scoped to no group delivers nothing"),
        (["Acme Corp", "Acme Corp"], "lists 'Acme Corp' twice"),
        (["  "], "not blank"),
        (["Acme\nCorp"], "one line each"),
    ],
)
def test_check_refuses_a_scope_that_cannot_be_meant(
    webhooks: LevelWebhookProvider, sandbox: Sandbox, groups: list[str], says: str
) -> None:
    result = webhooks.check({}, {"__provider": BLOB, "url": URL, "device_groups": groups})
    assert [f.property for f in result.failures] == ["device_groups"]
    assert says in result.failures[0].reason
    assert sandbox.count() == 0  # no network at check


def test_check_points_at_the_column_of_a_bad_filter(
    alert_sources: IlertAlertSourceProvider, sandbox: Sandbox
) -> None:
    result = alert_sources.check({}, {"__provider": BLOB, "name": "x", "escalation_policy": 1,
                                      "event_filter": "event.summary containz 'disk'"})
    ((prop, reason),) = [(f.property, f.reason) for f in result.failures]
    assert prop == "event_filter"
    assert reason == (
        "event_filter is not a valid ICL condition: column 15: unknown operator 'containz' "
        "(did you mean 'contains'?)\n"
        "  event.summary containz 'disk'\n"
        "                ^\n"
        "Known operators: ==, !=, >=, <=, >, <, matches, contains, regex, starts_with, "
        "ends_with, exact_matches, exact_contains, contains_any, starts_with_any, "
        "ends_with_any, in, is_in; each may follow 'not'."
    )
    assert sandbox.count() == 0


# ------------------------------------------------------------------ the webhook's scope


def test_groups_resolve_by_name_or_id_with_one_listing(
    webhooks: LevelWebhookProvider, sandbox: Sandbox
) -> None:
    globex_hq = sandbox.level_group_id("Globex/HQ")
    _, outs, _ = created_webhook(webhooks, url=URL, device_groups=["Acme Corp", globex_hq])
    assert live_hook(sandbox)["group_ids"] == sorted(
        [sandbox.level_group_id("Acme Corp"), globex_hq]
    )
    assert outs["group_ids"] == live_hook(sandbox)["group_ids"]
    assert outs["device_groups"] == ["Acme Corp", globex_hq]
    assert outs["group_names"] == {sandbox.level_group_id("Acme Corp"): "Acme Corp",
                                   globex_hq: "HQ"}
    assert sandbox.count("level", "GET", "/v2/groups") == 1


@pytest.mark.parametrize(
    ("refs", "says"),
    [
        (["HQ"], "device_groups 'HQ' matches 2 Level groups: 'Acme Corp > HQ' (id {acme_hq}); "
                 "'Globex > HQ' (id {globex_hq}). Level group names are not unique: give the id "
                 "of the one you mean."),
        (["Acme"], "device_groups 'Acme' matches no Level group (neither an id nor an exact, "
                   "case-sensitive name). Similar groups: 'Acme Corp' (id {acme}). Use a name that "
                   "exactly one group has, or a group id."),
        (["Acme Corp", "{acme}"], "device_groups names the group 'Acme Corp' (id {acme}) twice "
                                  "('Acme Corp' and '{acme}'); list each group once."),
    ],
)
def test_a_name_resolves_only_when_exactly_one_group_has_it(
    webhooks: LevelWebhookProvider, sandbox: Sandbox, refs: list[str], says: str
) -> None:
    ids = {"acme": sandbox.level_group_id("Acme Corp"),
           "acme_hq": sandbox.level_group_id("Acme Corp/HQ"),
           "globex_hq": sandbox.level_group_id("Globex/HQ")}
    news = {"__provider": BLOB, "url": URL, "device_groups": [r.format(**ids) for r in refs]}
    with pytest.raises(UnknownGroupError, match=r"^device_groups ") as caught:
        webhooks.create(webhooks.check({}, news).inputs)
    assert str(caught.value) == says.format(**ids)
    assert sandbox.level_webhooks() == []


def test_a_scope_changed_by_hand_is_drift_and_update_puts_it_back(
    webhooks: LevelWebhookProvider, sandbox: Sandbox
) -> None:
    hook_id, outs, news = created_webhook(webhooks, url=URL, device_groups=["Acme Corp"])
    globex = sandbox.level_group_id("Globex")
    sandbox.level_edit_webhook(hook_id, group_ids=[sandbox.level_group_id("Acme Corp"), globex])
    new_command()

    read = webhooks.read(hook_id, outs)
    assert read.inputs is not None
    assert read.inputs["device_groups"] == ["Acme Corp", "Globex"]  # as a user would write it
    assert webhooks.diff(hook_id, read.outs or {}, news).changes is True
    assert webhooks.diff(hook_id, outs, news).changes is False

    updated = webhooks.update(hook_id, read.outs or {}, news)
    assert live_hook(sandbox)["group_ids"] == [sandbox.level_group_id("Acme Corp")]
    assert webhooks.diff(hook_id, updated.outs or {}, news).changes is False


def test_a_webhook_made_org_wide_by_hand_is_drift_and_declared_org_wide_is_not(
    webhooks: LevelWebhookProvider, sandbox: Sandbox
) -> None:
    hook_id, outs, news = created_webhook(webhooks, url=URL, device_groups=["Globex"])
    sandbox.level_edit_webhook(hook_id, group_ids=None)
    new_command()
    read = webhooks.read(hook_id, outs)
    assert read.inputs is not None and read.inputs["device_groups"] is None
    assert webhooks.diff(hook_id, read.outs or {}, news).changes is True
    org_wide = {**news, "device_groups": None}
    assert webhooks.diff(hook_id, read.outs or {}, org_wide).changes is False
    webhooks.update(hook_id, outs, org_wide)
    assert live_hook(sandbox)["group_ids"] is None  # PATCH group_ids: null


def test_a_deleted_group_empties_the_scope_and_update_says_the_group_is_gone(
    webhooks: LevelWebhookProvider, sandbox: Sandbox
) -> None:
    warehouse = sandbox.level_group_id("Acme Corp/Warehouse")
    hook_id, outs, news = created_webhook(webhooks, url=URL, device_groups=["Warehouse"])
    sandbox.level_delete_group(warehouse)
    new_command()

    read = webhooks.read(hook_id, outs)
    assert read.outs is not None
    assert (read.outs["group_ids"], read.outs["device_groups"]) == ([], [])
    assert webhooks.diff(hook_id, read.outs, news).changes is True
    with pytest.raises(UnknownGroupError, match="'Warehouse' matches no Level group"):
        webhooks.update(hook_id, read.outs, news)
    assert live_hook(sandbox)["group_ids"] == []  # never widened


def test_adopt_takes_over_a_scoped_webhook_and_declares_its_scope(
    webhooks: LevelWebhookProvider, sandbox: Sandbox
) -> None:
    globex = sandbox.level_group_id("Globex")
    made_by_hand = sandbox.level.create_webhook(
        {"url": URL, "event_types": ["alert_active"], "group_ids": [globex]}
    )
    hook_id, outs, _ = created_webhook(webhooks, url=URL, adopt=True, device_groups=["Acme Corp"])
    assert hook_id == made_by_hand["id"]
    hook = live_hook(sandbox)
    assert hook["group_ids"] == [sandbox.level_group_id("Acme Corp")]
    assert hook["event_types"] == ["alert_active", "alert_resolved"]
    assert outs["device_groups"] == ["Acme Corp"]


def test_adopt_without_groups_makes_a_scoped_webhook_org_wide(
    webhooks: LevelWebhookProvider, sandbox: Sandbox
) -> None:
    sandbox.level.create_webhook({"url": URL, "group_ids": [sandbox.level_group_id("Globex")]})
    created_webhook(webhooks, url=URL, adopt=True)
    assert live_hook(sandbox)["group_ids"] is None


# -------------------------------------------------------------- the source's filter


def test_the_filter_is_sent_read_back_and_drift_in_it_is_seen(
    alert_sources: IlertAlertSourceProvider, sandbox: Sandbox
) -> None:
    source_id, outs, news = created_source(
        alert_sources, name="Level - Acme", escalation_policy=1, event_filter=FILTER
    )
    live = sandbox.ilert.get_alert_source(source_id, ["eventFilter"])
    assert live["eventFilter"] == FILTER
    assert outs["event_filter"] == FILTER

    new_command()
    sandbox.requests.clear()
    quiet = alert_sources.read(source_id, outs)  # nothing changed: the listing answers
    assert quiet.outs is not None and quiet.outs["event_filter"] == FILTER
    assert sandbox.count() == 1

    sandbox.ilert_edit_alert_source(int(source_id), eventFilter="event.summary contains 'x'")
    new_command()
    sandbox.requests.clear()
    read = alert_sources.read(source_id, outs)
    assert read.inputs is not None
    assert read.inputs["event_filter"] == "event.summary contains 'x'"
    assert sandbox.count("ilert", "GET") == 2  # the listing, then one GET ?include=eventFilter
    assert alert_sources.diff(source_id, read.outs or {}, news).changes is True

    alert_sources.update(source_id, read.outs or {}, news)
    assert sandbox.ilert.get_alert_source(source_id, ["eventFilter"])["eventFilter"] == FILTER


def test_a_filter_removed_from_the_stack_is_removed_from_ilert(
    alert_sources: IlertAlertSourceProvider, sandbox: Sandbox
) -> None:
    source_id, outs, news = created_source(
        alert_sources, name="Level - Acme", escalation_policy=1, event_filter=FILTER
    )
    without = {**news, "event_filter": None}
    assert alert_sources.diff(source_id, outs, without).changes is True
    updated = alert_sources.update(source_id, outs, without)
    assert updated.outs is not None and updated.outs["event_filter"] is None
    assert "eventFilter" not in sandbox.ilert.get_alert_source(source_id, ["eventFilter"])


def test_adopt_puts_the_declared_filter_on_the_existing_source(
    alert_sources: IlertAlertSourceProvider, sandbox: Sandbox
) -> None:
    made = sandbox.ilert.create_alert_source(
        {"name": "Level - Acme", "integrationType": "LEVELIO", "escalationPolicy": {"id": 1},
         "eventFilter": "event.summary contains 'x'"}
    )
    source_id, outs, _ = created_source(
        alert_sources, name="Level - Acme", escalation_policy=1, event_filter=FILTER, adopt=True
    )
    assert int(source_id) == made["id"]
    assert sandbox.ilert.get_alert_source(source_id, ["eventFilter"])["eventFilter"] == FILTER
    assert outs["event_filter"] == FILTER
