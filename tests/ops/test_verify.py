"""make verify against the sandbox: the end-to-end test, its diagnosis, and its clean-up."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
from typing import Any

from ops.__main__ import main
from ops.verify import Verify, deliver, level_alert_data
from tests.ops.conftest import LOOKUP, Project
from tests.sandbox.helpers import receiver

ACME = "Level - Acme"
SERVERS = "Level - Servers"
FAST = ("--timeout", "0.3", "--poll", "0.05")


def open_alerts(project: Project) -> list[dict[str, Any]]:
    return project.sandbox.ilert_alerts(states=["PENDING", "ACCEPTED"])


def test_verify_raises_and_resolves_a_level_alert_and_sees_ilert_follow(
    project: Project,
) -> None:
    code, out, err = project.run("verify", "--integration", ACME, *FAST)

    assert code == 0, out
    assert "verify on the sandbox ('Level - Acme'): nobody is paged." in err
    assert "waiting for the ilert alert to open: done after" in err
    alerts = project.sandbox.ilert_alerts(source_id=project.objects[ACME].source_id)
    assert [a["status"] for a in alerts] == ["RESOLVED"]
    for line in (
        "✓ raised Level alert",
        f"✓ ilert alert #{alerts[0]['id']} opened (PENDING)",
        "✓ resolved the Level alert",
        f"✓ ilert alert #{alerts[0]['id']} resolved",
        "verified",
    ):
        assert line in out
    assert "NOT verified" not in out
    assert open_alerts(project) == []
    # Routed: raised on a device of Acme Corp, so only Acme's webhook delivered it, and no
    # other source opened an alert.
    assert sorted((d["webhook_id"], d["event_type"]) for d in project.sandbox.deliveries) == [
        (project.objects[ACME].webhook_id, "alert_active"),
        (project.objects[ACME].webhook_id, "alert_resolved"),
    ]
    assert "✓ no other source of the stack opened an alert for it (checked: 'Level - Servers')" in (
        out
    )
    assert "in Acme Corp" in out


def test_verify_all_integrations_by_default_as_json(project: Project) -> None:
    code, out, _ = project.run("verify", "--json", *FAST)

    document = json.loads(out)
    assert code == 0
    assert document["ok"] is True
    assert document["mode"] == "sandbox"
    assert [i["name"] for i in document["integrations"]] == [ACME, SERVERS]
    assert all(
        [s["id"] for s in i["steps"]]
        == ["verify.raise", "verify.opened", "verify.routing", "verify.resolve",
            "verify.resolved"]
        for i in document["integrations"]
    )
    assert open_alerts(project) == []


def test_a_deactivated_source_fails_verify_and_is_named_as_the_broken_link(
    project: Project,
) -> None:
    project.sandbox.ilert_edit_alert_source(project.objects[ACME].source_id, active=False)

    code, out, err = project.run("verify", "--integration", ACME, *FAST)

    assert code == 1
    assert "✗ no ilert alert opened on 'Level - Acme' within 0.3 s" in out
    assert "✗ broken link: it is inactive: ilert ignores every delivery from Level" in out
    assert "fix: `make up STACK=test` activates it again" in out
    assert "waiting for the ilert alert to open: gave up after 0.3 s" in err
    assert "clean-up: resolved Level alert" in out
    assert "NOT verified" in out
    assert project.sandbox.level.list_alerts(status="active")["data"] == []
    assert open_alerts(project) == []


def test_a_disabled_webhook_fails_verify_and_is_named_as_the_broken_link(
    project: Project,
) -> None:
    project.sandbox.level_edit_webhook(project.objects[SERVERS].webhook_id, enabled=False)

    code, out, _ = project.run("verify", "--integration", SERVERS, "--json", *FAST)

    document = json.loads(out)
    assert code == 1
    steps = {s["id"]: s for s in document["integrations"][0]["steps"]}
    assert steps["verify.opened"]["status"] == "fail"
    assert steps["broken.webhook.enabled"]["summary"] == (
        "broken link: it is disabled: Level delivers nothing"
    )
    assert list(steps) == [
        "verify.raise", "verify.opened", "broken.webhook.enabled",
    ]
    servers = project.objects[SERVERS].webhook_id
    assert [d for d in project.sandbox.deliveries if d["webhook_id"] == servers] == []
    assert project.sandbox.level.list_alerts(status="active")["data"] == []
    assert open_alerts(project) == []


class InterruptedAfterOpening(Verify):
    """Ctrl-C right after the ilert alert opened, before the test resolves anything."""

    def _wait(self, what: str, probe: Any) -> Any:
        found = super()._wait(what, probe)
        assert found is not None, "the alert should have opened before the interrupt"
        raise KeyboardInterrupt


def test_ctrl_c_during_verify_leaves_no_open_alert(project: Project) -> None:
    code, out, _ = project.run(
        "verify", "--integration", ACME, *FAST, verify_factory=InterruptedAfterOpening
    )

    assert code == 2
    assert "✗ interrupted (Ctrl-C)" in out
    assert "clean-up: resolved Level alert" in out
    assert project.sandbox.level.list_alerts(status="active")["data"] == []
    assert open_alerts(project) == []
    assert sorted(i["outcome"] for i in project.sandbox.ilert_intake) == [
        "created", "resolved",  # routed: only Acme's source got it
    ]


def test_ctrl_c_when_level_cannot_resolve_it_resolves_the_ilert_alert_directly(
    project: Project,
) -> None:
    project.sandbox.level_edit_webhook(
        project.objects[ACME].webhook_id, event_types=["alert_active"]
    )

    code, out, _ = project.run(
        "verify", "--integration", ACME, *FAST, verify_factory=InterruptedAfterOpening
    )

    assert code == 2
    alert = project.sandbox.ilert_alerts(source_id=project.objects[ACME].source_id)[0]
    assert f"clean-up: resolved ilert alert #{alert['id']} through ilert's API" in out
    assert alert["status"] == "RESOLVED"
    assert open_alerts(project) == []


def test_real_accounts_need_yes_and_nothing_is_sent_without_it(project: Project) -> None:
    code, out, err = project.run("verify", "--send-delivery", *FAST)

    assert code == 2
    assert "WARNING: verify sends a real test alert" in err
    assert "It pages the on-call person of each source's escalation policy." in err
    assert "Not sent: confirm with --yes (make verify YES=1)." in err
    assert out == ""
    assert project.sandbox.ilert_alerts() == []


def test_real_account_method_posts_level_shaped_deliveries_and_watches_ilert(
    project: Project,
) -> None:
    code, out, _ = project.run("verify", "--send-delivery", "--yes", "--integration", ACME, *FAST)

    assert code == 0, out
    assert "✓ Level webhook read and correct (not exercised" in out
    assert "✓ sent alert_active to the alert source's URL" in out
    assert "ilert answered HTTP 202 (NEW_ALERT_CREATED)" in out
    assert "✓ sent alert_resolved: ilert answered HTTP 202 (ALERT_RESOLVED)" in out
    assert project.objects[ACME].url not in out
    intake = project.sandbox.ilert_intake
    assert [(i["event_type"], i["outcome"]) for i in intake] == [
        ("alert_active", "created"), ("alert_resolved", "resolved"),
    ]
    assert project.sandbox.deliveries == []  # Level itself sent nothing
    assert open_alerts(project) == []


def test_real_account_method_reads_the_webhook_and_names_it_when_disabled(
    project: Project,
) -> None:
    project.sandbox.level_edit_webhook(project.objects[ACME].webhook_id, enabled=False)

    code, out, _ = project.run("verify", "--send-delivery", "--yes", "--integration", ACME, *FAST)

    assert code == 1
    assert "✗ Level webhook (read, not exercised): it is disabled: Level delivers nothing" in out
    assert "✓ ilert alert #" in out  # the ilert half still works, and is shown to work
    assert open_alerts(project) == []


def test_a_delivery_has_levels_body_and_signature() -> None:
    data = level_alert_data()
    with receiver() as hook:
        answer = deliver(hook.url, "alert_active", data, "s3cret")

    assert answer == "ilert answered HTTP 200"
    [received] = hook.received
    body = json.loads(received.body)
    assert set(body) == {"event_type", "event_id", "occurred_at", "data"}
    assert body["event_type"] == "alert_active"
    assert body["data"] == data
    assert set(data) == {
        "id", "device_id", "device_hostname", "name", "description", "payload", "severity",
        "is_resolved", "started_at", "resolved_at",
    }
    expected = hmac.new(b"s3cret", received.body, hashlib.sha256).hexdigest()
    assert received.headers["X-Level-Signature"] == f"sha256={expected}"


def test_an_unknown_integration_could_not_run(project: Project) -> None:
    code, out, err = project.run("verify", "--integration", "nope")

    assert code == 2
    assert "INTEGRATION='nope' matches no integration of stack 'test'" in err
    assert out == ""


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_progress_line_is_rewritten_while_waiting(project: Project) -> None:
    project.sandbox.ilert_edit_alert_source(project.objects[ACME].source_id, active=False)
    err = Terminal()

    code = main(
        ["verify", "--stack", "test", "--project-dir", str(project.path), "--integration", ACME,
         "--timeout", "1", "--poll", "0.05"],  # ~20 polls: two of them even on a busy machine
        out=io.StringIO(), err=err, outputs=LOOKUP,
    )

    assert code == 1
    progress = err.getvalue().split("nobody is paged", 1)[1]
    assert progress.count("\r  waiting for the ilert alert to open: 0 s of 1 s") >= 2
    assert progress.endswith("\r  waiting for the ilert alert to open: gave up after 1 s\n")
    assert open_alerts(project) == []


def test_a_missing_resolved_event_fails_at_resolving_and_the_alert_is_closed_anyway(
    project: Project,
) -> None:
    project.sandbox.level_edit_webhook(
        project.objects[ACME].webhook_id, event_types=["alert_active"]
    )

    code, out, _ = project.run("verify", "--integration", ACME, *FAST)

    assert code == 1
    alert = project.sandbox.ilert_alerts(source_id=project.objects[ACME].source_id)[0]
    assert f"✓ ilert alert #{alert['id']} opened (PENDING)" in out
    assert f"✗ ilert alert #{alert['id']} did not resolve within 0.3 s" in out
    assert "✗ broken link: it is not subscribed to alert_resolved: ilert alerts open" in out
    assert f"clean-up: resolved ilert alert #{alert['id']} through ilert's API" in out
    assert open_alerts(project) == []


def test_a_read_only_key_cannot_raise_the_sandbox_alert_and_says_so(
    project: Project, monkeypatch: Any
) -> None:
    from sandbox import LEVEL_READONLY_KEY

    monkeypatch.setenv("LEVEL_API_KEY", LEVEL_READONLY_KEY)

    code, out, _ = project.run("verify", "--integration", ACME, *FAST)

    assert code == 1
    assert "✗ Level API POST /sandbox/alerts failed (HTTP 403): This API key is read-only" in out
    assert LEVEL_READONLY_KEY not in out
    assert project.sandbox.ilert_alerts() == []
