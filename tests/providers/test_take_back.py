"""An ``up`` cut short is taken back, never duplicated; a hand-made object is never taken.

With Pulumi's checkpoints off, a CLI that dies mid-``up`` loses from the state what it
created. The next ``up`` creates those resources again, in a new provider process: the
look-up before the create finds each object, and this stack's journal
(providers/journal.py) says whether this stack's own create made it. Each test plays the
two commands as two provider processes (``new_command``), against one sandbox.
"""

from __future__ import annotations

import datetime
import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from pulumi.dynamic import Config, ConfigureRequest

from providers import journal
from providers.ilert_alert_source import AlertSourceExistsError, IlertAlertSourceProvider
from providers.level_webhook import LevelWebhookProvider, WebhookExistsError
from sandbox import Sandbox
from tests.providers.conftest import new_command, stack_config
from tests.providers.test_adoption import (
    create_source,
    create_webhook,
    hand_made_source,
    hand_made_webhook,
)

STACK = "acme/level-ilert/prod"
NAME = "Level - Acme"
SOURCE: dict[str, Any] = {"name": NAME, "escalation_policy": 1}


def source_provider(sandbox: Sandbox, stack: str = STACK) -> IlertAlertSourceProvider:
    """The alert source provider of one stack, as a new provider process configures it."""
    provider = IlertAlertSourceProvider(stack)
    provider.configure(ConfigureRequest(Config(stack_config(sandbox), "level-ilert")))
    return provider


def webhook_provider(sandbox: Sandbox, stack: str = STACK) -> LevelWebhookProvider:
    provider = LevelWebhookProvider(stack)
    provider.configure(ConfigureRequest(Config(stack_config(sandbox), "level-ilert")))
    return provider


def next_process() -> None:
    """The next command's provider process: no listing or open journal carried over."""
    new_command()
    journal.forget_all()


def writes(sandbox: Sandbox) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in sandbox.requests if r.method != "GET"]


def test_a_source_this_stack_created_is_taken_back_with_one_put_and_keeps_its_url(
    sandbox: Sandbox,
) -> None:
    first = create_source(source_provider(sandbox), **SOURCE)
    next_process()  # the CLI died before writing the state: the source is not in it
    sandbox.requests.clear()

    again = create_source(source_provider(sandbox), **SOURCE, alert_priority_rule="LOW")

    assert again.id == first.id
    assert again.outs["integration_url"] == first.outs["integration_url"]
    assert writes(sandbox) == [("PUT", f"/api/alert-sources/{first.id}")]
    assert [source["id"] for source in sandbox.ilert_alert_sources()] == [int(first.id)]
    assert sandbox.ilert_alert_source(first.id)["alertPriorityRule"] == "LOW"


def test_a_webhook_this_stack_created_is_taken_back_with_one_patch(sandbox: Sandbox) -> None:
    url = create_source(source_provider(sandbox), **SOURCE).outs["integration_url"]
    first = create_webhook(webhook_provider(sandbox), url=url)
    next_process()
    sandbox.requests.clear()

    again = create_webhook(webhook_provider(sandbox), url=url, enabled=False)

    assert again.id == first.id
    assert writes(sandbox) == [("PATCH", f"/v2/webhooks/{first.id}")]
    assert [(hook["id"], hook["enabled"]) for hook in sandbox.level_webhooks()] == [
        (first.id, False)
    ]


def test_a_hand_made_source_is_refused_even_beside_this_stacks_own(sandbox: Sandbox) -> None:
    create_source(source_provider(sandbox), name="Level - Ours", escalation_policy=1)
    existing = hand_made_source(sandbox, "Level - Acme")
    next_process()
    sandbox.requests.clear()

    with pytest.raises(AlertSourceExistsError, match=f"id {existing['id']}") as caught:
        create_source(source_provider(sandbox), **SOURCE)

    assert "`adopt: true`" in str(caught.value)
    assert "This stack sent" not in str(caught.value)
    assert writes(sandbox) == []


def test_a_hand_made_webhook_is_refused(sandbox: Sandbox) -> None:
    url = create_source(source_provider(sandbox), **SOURCE).outs["integration_url"]
    existing = hand_made_webhook(sandbox, url)
    next_process()
    sandbox.requests.clear()

    with pytest.raises(WebhookExistsError, match=f"id {existing}"):
        create_webhook(webhook_provider(sandbox), url=url)

    assert writes(sandbox) == []
    assert len(sandbox.level_webhooks()) == 1


def test_a_source_another_stack_created_is_refused(sandbox: Sandbox) -> None:
    theirs = create_source(source_provider(sandbox, "acme/level-ilert/staging"), **SOURCE)
    next_process()

    with pytest.raises(AlertSourceExistsError, match=f"id {theirs.id}"):
        create_source(source_provider(sandbox), **SOURCE)

    assert len(sandbox.ilert_alert_sources()) == 1


def test_a_source_deleted_and_made_again_by_hand_is_refused(sandbox: Sandbox) -> None:
    ours = create_source(source_provider(sandbox), **SOURCE)
    sandbox.ilert_delete_alert_source(int(ours.id))
    remade = hand_made_source(sandbox, NAME)
    next_process()

    with pytest.raises(AlertSourceExistsError, match=f"id {remade['id']}"):
        create_source(source_provider(sandbox), **SOURCE)


def test_a_source_this_stack_deleted_proves_nothing_any_more(sandbox: Sandbox) -> None:
    provider = source_provider(sandbox)
    ours = create_source(provider, **SOURCE)
    stamp = sandbox.ilert_alert_source(ours.id)["createdAt"]
    key = journal.identity_key("ilert:alert-source", sandbox.ilert_url, NAME, "LEVELIO")
    assert journal.for_stack(STACK).made(key, ours.id, stamp)  # type: ignore[union-attr]

    provider.delete(ours.id, ours.outs)
    next_process()

    stack_journal = journal.for_stack(STACK)
    assert stack_journal is not None and not stack_journal.made(key, ours.id, stamp)


def test_a_source_made_while_an_unanswered_create_was_under_way_is_taken_back(
    sandbox: Sandbox,
) -> None:
    """The provider process died with the POST in flight: only the intent was recorded."""
    source_provider(sandbox).provenance(
        "ilert:alert-source", sandbox.ilert_url, NAME, "LEVELIO"
    ).before_create()
    in_flight = hand_made_source(sandbox, NAME)  # what the POST made, answer never heard
    next_process()
    sandbox.requests.clear()

    again = create_source(source_provider(sandbox), **SOURCE)

    assert again.id == str(in_flight["id"])
    assert writes(sandbox) == [("PUT", f"/api/alert-sources/{in_flight['id']}")]
    assert len(sandbox.ilert_alert_sources()) == 1


def test_a_source_made_long_after_an_unanswered_create_is_named_with_the_way_out(
    sandbox: Sandbox,
) -> None:
    key = journal.identity_key("ilert:alert-source", sandbox.ilert_url, NAME, "LEVELIO")
    path = journal.path_for(STACK)
    assert path is not None
    path.parent.mkdir(parents=True)
    path.write_text(f'{{"op": "intent", "key": "{key}", "at": "2025-01-01T09:00:00+00:00"}}\n')
    made_by_hand = hand_made_source(sandbox, NAME)  # today: not while that create ran

    with pytest.raises(AlertSourceExistsError, match="never got the answer") as caught:
        create_source(source_provider(sandbox), **SOURCE)

    message = str(caught.value)
    assert (
        f"(id {made_by_hand['id']}, made {made_by_hand['createdAt']}). This stack sent a "
        f"create of it at 2025-01-01T09:00:00+00:00 and never got the answer" in message
    )
    assert "not taken back by itself" in message and "`adopt: true`" in message
    assert len(sandbox.ilert_alert_sources()) == 1


def test_a_lost_answer_settled_by_the_look_up_is_taken_back_next_time(
    sandbox: Sandbox,
) -> None:
    sandbox.faults.add("ilert", "POST", "/api/alert-sources", mode="reset_after")
    first = create_source(source_provider(sandbox), **SOURCE)  # settled by one listing
    next_process()
    sandbox.requests.clear()

    again: Any = create_source(source_provider(sandbox), **SOURCE)

    assert again.id == first.id
    assert writes(sandbox) == [("PUT", f"/api/alert-sources/{first.id}")]
    assert len(sandbox.ilert_alert_sources()) == 1


def test_a_provider_without_a_stack_keeps_no_journal_and_takes_nothing_back(
    sandbox: Sandbox, journal_dir: Path
) -> None:
    provider = IlertAlertSourceProvider()
    provider.configure(ConfigureRequest(Config(stack_config(sandbox), "level-ilert")))
    create_source(provider, **SOURCE)
    next_process()

    with pytest.raises(AlertSourceExistsError, match="`adopt: true`"):
        create_source(provider, **SOURCE)
    assert not journal_dir.exists()


def test_a_create_a_killed_runs_provider_still_has_under_way_is_waited_for_not_repeated(
    sandbox: Sandbox,
) -> None:
    """SIGKILL to the CLI leaves its provider process running: it finishes the POST it had
    sent and records the answer. The next ``up`` must not send a second one meanwhile."""
    orphan = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    key = journal.identity_key("ilert:alert-source", sandbox.ilert_url, NAME, "LEVELIO")
    path = journal.path_for(STACK)
    assert path is not None
    path.parent.mkdir(parents=True)
    sent = datetime.datetime.now(datetime.UTC).isoformat()
    intent = {"op": "intent", "key": key, "at": sent, "host": socket.gethostname()}
    path.write_text(json.dumps({**intent, "pid": orphan.pid}) + "\n")
    made: list[dict[str, Any]] = []

    def orphan_gets_its_answer() -> None:
        time.sleep(0.3)
        made.append(hand_made_source(sandbox, NAME))  # what the orphan's POST made
        journal.Journal(path).created(key, made[0]["id"], made[0]["createdAt"])

    answer = threading.Thread(target=orphan_gets_its_answer)
    try:
        answer.start()
        again = create_source(source_provider(sandbox), **SOURCE)
    finally:
        answer.join(timeout=30)
        orphan.kill()
        orphan.wait(timeout=10)

    assert again.id == str(made[0]["id"])
    assert writes(sandbox) == [
        ("POST", "/api/alert-sources"),  # the orphan's, made by hand here
        ("PUT", f"/api/alert-sources/{made[0]['id']}"),
    ]
    assert len(sandbox.ilert_alert_sources()) == 1
