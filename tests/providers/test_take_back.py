"""An object a cut-short ``up`` made is named, never duplicated; a delete never removes an
object another resource of the stack took over.

Creates: a CLI that dies mid-``up`` (or runs with checkpoints off) may lose from the state
what it created. The next ``up`` creates those resources again, in a new provider process:
the look-up before the create finds each object and refuses it, naming its id and the
ways to take it back (``adopt: true`` on the integration, ``previousResourceNames`` for a
renamed one, or for one run ``make up ADOPT=1``). Nothing tells this stack's objects from
hand-made ones: both are refused alike, and ``LEVEL_ILERT_ADOPT=1`` takes each over with one
PUT or PATCH, its URL kept.

Deletes: one DELETE, and an object already gone counts as deleted (404). An object a create
of this provider process took over (a resource renamed with ``adopt: true``: the engine runs
the new resource's create before the old one's delete, in one process) is left in place
with a line on stderr, whatever its update time says.

Each test plays its commands as provider processes (``new_command``) against one sandbox.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from providers.ilert_alert_source import AlertSourceExistsError, IlertAlertSourceProvider
from providers.level_webhook import LevelWebhookProvider, WebhookExistsError
from providers.provider_base import ADOPT_ENV
from sandbox import Sandbox
from tests.providers.conftest import configured, new_command, stack_config
from tests.providers.test_adoption import (
    create_source,
    create_webhook,
    hand_made_source,
    hand_made_webhook,
)

NAME = "Level - Acme"
SOURCE: dict[str, Any] = {"name": NAME, "escalation_policy": 1}
TAKE_BACK = (
    "If it is this stack's own under an earlier resourceName, list that name in "
    "`previousResourceNames` instead (the rename then changes nothing). If a run of this stack "
    "made it and was cut short before it saved its state, `make up ADOPT=1` "
    "(LEVEL_ILERT_ADOPT=1 pulumi up) takes back every such object."
)


@pytest.fixture(autouse=True)
def _no_adopt_for_the_whole_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """A user's shell may export LEVEL_ILERT_ADOPT; tests that mean it set it themselves."""
    monkeypatch.delenv(ADOPT_ENV, raising=False)


def writes(sandbox: Sandbox) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in sandbox.requests if r.method != "GET"]


def calls(sandbox: Sandbox) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in sandbox.requests]


def a_moment() -> None:
    """Let the clock pass the APIs' millisecond, so a write moves ``updated_at``."""
    time.sleep(0.005)


# -- a cut-short run's objects: named, with the one command that takes them back --------------


def test_a_source_a_cut_short_run_made_is_refused_naming_its_id_and_the_ways_to_take_it(
    alert_sources: IlertAlertSourceProvider, sandbox: Sandbox
) -> None:
    first = create_source(alert_sources, **SOURCE)
    new_command()  # the CLI died before writing the state: the source is not in it
    sandbox.requests.clear()

    with pytest.raises(AlertSourceExistsError, match=f"id {first.id}") as caught:
        create_source(alert_sources, **SOURCE)

    assert str(caught.value) == (
        f"ilert already has an alert source named 'Level - Acme' of type LEVELIO (id "
        f"{first.id}); creating another would split your alerts. Take it over with `adopt: "
        f"true` on this integration (its URL stays, so Level keeps delivering), or give this "
        f"integration another name. {TAKE_BACK}"
    )
    assert calls(sandbox) == [("GET", "/api/alert-sources")]  # one listing page, no write
    assert [source["id"] for source in sandbox.ilert_alert_sources()] == [int(first.id)]


def test_a_webhook_a_cut_short_run_made_is_refused_naming_its_id_never_its_url(
    alert_sources: IlertAlertSourceProvider, webhooks: LevelWebhookProvider, sandbox: Sandbox
) -> None:
    url = create_source(alert_sources, **SOURCE).outs["integration_url"]
    first = create_webhook(webhooks, url=url)
    new_command()
    sandbox.requests.clear()

    with pytest.raises(WebhookExistsError, match=f"id {first.id}") as caught:
        create_webhook(webhooks, url=url)

    assert str(caught.value) == (
        f"Level already has a webhook to this alert source's URL (id {first.id}); a second "
        f"one would deliver every alert twice. Take it over with `adopt: true` on this "
        f"integration, or delete it in Level (Settings > Webhooks). {TAKE_BACK}"
    )
    assert url not in str(caught.value)
    assert calls(sandbox) == [("GET", "/v2/webhooks")]
    assert len(sandbox.level_webhooks()) == 1


def test_adopt_for_the_run_takes_a_cut_short_runs_source_back_with_one_put_keeping_its_url(
    alert_sources: IlertAlertSourceProvider, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = create_source(alert_sources, **SOURCE)
    new_command()
    sandbox.requests.clear()
    monkeypatch.setenv(ADOPT_ENV, "1")  # make up ADOPT=1

    again = create_source(alert_sources, **SOURCE, alert_priority_rule="LOW")

    assert again.id == first.id
    assert again.outs["integration_url"] == first.outs["integration_url"]
    assert again.outs["integration_key"] == first.outs["integration_key"]
    assert writes(sandbox) == [("PUT", f"/api/alert-sources/{first.id}")]
    assert [source["id"] for source in sandbox.ilert_alert_sources()] == [int(first.id)]
    assert sandbox.ilert_alert_source(first.id)["alertPriorityRule"] == "LOW"


def test_adopt_for_the_run_takes_a_cut_short_runs_webhook_back_with_one_patch(
    alert_sources: IlertAlertSourceProvider,
    webhooks: LevelWebhookProvider,
    sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = create_source(alert_sources, **SOURCE).outs["integration_url"]
    first = create_webhook(webhooks, url=url)
    new_command()
    sandbox.requests.clear()
    monkeypatch.setenv(ADOPT_ENV, "1")

    again = create_webhook(webhooks, url=url, enabled=False)

    assert again.id == first.id
    assert writes(sandbox) == [("PATCH", f"/v2/webhooks/{first.id}")]
    assert [(hook["id"], hook["url"], hook["enabled"]) for hook in sandbox.level_webhooks()] == [
        (first.id, url, False)
    ]


@pytest.mark.parametrize(
    ("value", "adopts"),
    [("1", True), ("true", True), (" Yes ", True), ("0", False), ("", False), ("no", False)],
)
def test_only_a_yes_in_the_adopt_variable_takes_objects_over(
    alert_sources: IlertAlertSourceProvider,
    sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    value: str,
    adopts: bool,
) -> None:
    first = create_source(alert_sources, **SOURCE)
    new_command()
    monkeypatch.setenv(ADOPT_ENV, value)

    if adopts:
        assert create_source(alert_sources, **SOURCE).id == first.id
    else:
        with pytest.raises(AlertSourceExistsError, match=f"id {first.id}"):
            create_source(alert_sources, **SOURCE)
    assert len(sandbox.ilert_alert_sources()) == 1


def test_a_hand_made_source_is_refused_without_adopt_even_beside_this_stacks_own(
    alert_sources: IlertAlertSourceProvider, sandbox: Sandbox
) -> None:
    create_source(alert_sources, name="Level - Ours", escalation_policy=1)
    existing = hand_made_source(sandbox, NAME)
    new_command()
    sandbox.requests.clear()

    with pytest.raises(AlertSourceExistsError, match=f"id {existing['id']}") as caught:
        create_source(alert_sources, **SOURCE)

    assert "`adopt: true`" in str(caught.value)
    assert writes(sandbox) == []
    assert len(sandbox.ilert_alert_sources()) == 2


def test_a_hand_made_webhook_is_refused_without_adopt(
    alert_sources: IlertAlertSourceProvider, webhooks: LevelWebhookProvider, sandbox: Sandbox
) -> None:
    url = create_source(alert_sources, **SOURCE).outs["integration_url"]
    existing = hand_made_webhook(sandbox, url)
    new_command()
    sandbox.requests.clear()

    with pytest.raises(WebhookExistsError, match=f"id {existing}"):
        create_webhook(webhooks, url=url)

    assert writes(sandbox) == []
    assert len(sandbox.level_webhooks()) == 1


def test_a_lost_answer_settled_by_the_look_up_is_named_next_time_and_taken_with_adopt(
    alert_sources: IlertAlertSourceProvider, sandbox: Sandbox
) -> None:
    sandbox.faults.add("ilert", "POST", "/api/alert-sources", mode="reset_after")
    first = create_source(alert_sources, **SOURCE)  # settled by one listing
    new_command()  # ... and that run was cut short before it saved its state
    sandbox.requests.clear()

    with pytest.raises(AlertSourceExistsError, match=f"id {first.id}"):
        create_source(alert_sources, **SOURCE)
    again = create_source(alert_sources, **SOURCE, adopt=True)

    assert again.id == first.id
    assert writes(sandbox) == [("PUT", f"/api/alert-sources/{first.id}")]
    assert len(sandbox.ilert_alert_sources()) == 1


# -- deletes: gone is deleted; an object taken over or changed since it was read is left --------


def test_a_renamed_source_adopts_its_object_and_the_old_resources_delete_leaves_it(
    alert_sources: IlertAlertSourceProvider, sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    """resourceName changed with ``adopt: true``: the engine creates the new resource (it
    takes the source over), then deletes the old one, in the same provider process."""
    old = create_source(alert_sources, **SOURCE)
    new_command()
    sandbox.requests.clear()

    new = create_source(alert_sources, **SOURCE, adopt=True)
    alert_sources.delete(old.id, old.outs)

    assert new.id == old.id
    assert calls(sandbox) == [  # the take-over reads what it leaves alone; the delete: nothing
        ("GET", "/api/alert-sources"), ("GET", f"/api/alert-sources/{old.id}"),
        ("PUT", f"/api/alert-sources/{old.id}"),
    ]
    assert [source["id"] for source in sandbox.ilert_alert_sources()] == [int(old.id)]
    assert capsys.readouterr().err == (
        f"level-ilert: adopted an alert source named 'Level - Acme' of type LEVELIO in ilert "
        f"(id {old.id}): it existed already, so it was taken over, not created.\n"
        f"level-ilert: left ilert alert source 'Level - Acme' (id {old.id}) in place: another "
        f"resource of this stack took it over in this run (a changed resource name with "
        f"adopt: true).\n"
    )


def test_a_renamed_webhook_adopts_its_object_even_when_its_update_time_stays(
    alert_sources: IlertAlertSourceProvider,
    webhooks: LevelWebhookProvider,
    sandbox: Sandbox,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A take-over PATCH that changes nothing leaves Level's updated_at where it was: the
    update time could not tell this delete from any other, the record of the take-over can."""
    url = create_source(alert_sources, **SOURCE).outs["integration_url"]
    old = create_webhook(webhooks, url=url)
    new_command()
    sandbox.requests.clear()

    new = create_webhook(webhooks, url=url, adopt=True)
    webhooks.delete(old.id, old.outs)

    assert new.id == old.id
    assert new.outs["updated_at"] == old.outs["updated_at"]
    assert calls(sandbox) == [("GET", "/v2/webhooks"), ("PATCH", f"/v2/webhooks/{old.id}")]
    assert [hook["id"] for hook in sandbox.level_webhooks()] == [old.id]
    assert capsys.readouterr().err == (
        f"level-ilert: adopted a webhook to this alert source's URL in Level (id {old.id}): "
        f"it existed already, so it was taken over, not created.\n"
        f"level-ilert: left Level webhook {old.id} in place: another resource of this stack "
        f"took it over in this run (a changed resource name with adopt: true).\n"
    )


def test_a_take_over_in_another_process_does_not_spare_an_object_from_its_delete(
    alert_sources: IlertAlertSourceProvider, sandbox: Sandbox
) -> None:
    """The record is of this process's creates only, and per API: another sandbox's source
    with the same id is not spared."""
    with Sandbox() as other:
        elsewhere = configured(IlertAlertSourceProvider(), stack_config(other))
        taken = create_source(elsewhere, **SOURCE)
        create_source(elsewhere, **SOURCE, adopt=True)
        ours = create_source(alert_sources, **SOURCE)
        assert ours.id == taken.id  # both worlds count ids from the same start

        alert_sources.delete(ours.id, ours.outs)

    assert sandbox.ilert_alert_sources() == []


def test_a_source_changed_by_hand_is_deleted_like_any_other(
    alert_sources: IlertAlertSourceProvider, sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    ours = create_source(alert_sources, **SOURCE)
    a_moment()
    sandbox.ilert_edit_alert_source(int(ours.id), alertPriorityRule="LOW")
    new_command()
    sandbox.requests.clear()

    alert_sources.delete(ours.id, ours.outs)

    assert calls(sandbox) == [("DELETE", f"/api/alert-sources/{ours.id}")]
    assert sandbox.ilert_alert_sources() == []
    assert capsys.readouterr().err == ""


def test_a_source_and_webhook_are_deleted_with_one_request_each_gone_or_not(
    alert_sources: IlertAlertSourceProvider,
    webhooks: LevelWebhookProvider,
    sandbox: Sandbox,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source = create_source(alert_sources, **SOURCE)
    hook = create_webhook(webhooks, url=source.outs["integration_url"])
    new_command()
    sandbox.requests.clear()

    webhooks.delete(hook.id, hook.outs)
    alert_sources.delete(source.id, source.outs)
    webhooks.delete(hook.id, hook.outs)  # gone already: its 404 counts as deleted
    alert_sources.delete(source.id, source.outs)

    assert calls(sandbox) == [
        ("DELETE", f"/v2/webhooks/{hook.id}"), ("DELETE", f"/api/alert-sources/{source.id}"),
    ] * 2
    assert sandbox.level_webhooks() == [] and sandbox.ilert_alert_sources() == []
    assert capsys.readouterr().err == ""
