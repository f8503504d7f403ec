"""make doctor against the sandbox: healthy, then each of Level's troubleshooting cases."""

from __future__ import annotations

from typing import Any

from sandbox import ILERT_TOKEN, LEVEL_READONLY_KEY
from tests.ops.conftest import Project

ACME = "Level - Acme"
SERVERS = "Level - Servers"


def by_id(document: dict[str, Any], scope: str) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in document["checks"] if c["scope"] == scope}


def failed(document: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c["scope"], c["id"]) for c in document["checks"] if c["status"] == "fail"]


def test_a_fresh_up_passes_every_check(project: Project) -> None:
    code, out, err = project.run("doctor")

    assert code == 0, out
    assert "✗" not in out
    for line in (
        "✓ ilert API token works",
        "✓ Level API key works (2 webhooks readable)",
        f"{ACME} (resource level-acme)",
        f"✓ ilert alert source exists: id {project.objects[ACME].source_id} {ACME!r}",
        "✓ it is of type Level.io (LEVELIO)",
        "✓ it is active",
        "✓ its escalation policy exists: 'Default' (id 1)",
        "✓ its escalation policy exists: 'On-call L1' (id 2)",
        f"✓ Level webhook exists: {project.objects[ACME].webhook_id} (found by its exact URL)",
        "✓ it is enabled",
        "✓ it points at exactly the alert source's URL",
        "✓ it is subscribed to both alert_active and alert_resolved",
        "✓ no other webhook delivers to this URL",
        "· Level's API has no delivery log: in Level, open Settings > Webhooks > Requests",
        "· no alert has reached this source yet; `make verify STACK=test`",
        "all checks passed",
    ):
        assert line in out
    assert err == ""
    for objects in project.objects.values():
        assert objects.url not in out


def test_doctor_sends_only_gets(project: Project) -> None:
    project.sandbox.requests.clear()

    code, _ = project.doctor()

    assert code == 0
    methods = {r.method for r in project.sandbox.requests.snapshot()}
    assert methods == {"GET"}


def test_json_document_lists_every_check_with_status_and_fix(project: Project) -> None:
    code, document = project.doctor()

    assert code == 0
    assert document["ok"] is True
    assert document["stack"] == "test"
    assert document["ids_from"].startswith("lookup by name and URL")
    assert set(by_id(document, ACME)) == {
        "source.exists", "source.type", "source.active", "source.policy", "source.recent",
        "source.filter", "webhook.exists", "webhook.enabled", "webhook.url", "webhook.events",
        "webhook.scope", "webhook.duplicates", "webhook.deliveries",
    }
    assert set(by_id(document, "routing")) == {"routing.once", "routing.table"}
    assert {c["status"] for c in document["checks"]} == {"pass", "info"}


def test_a_url_with_one_character_changed_shows_where_without_the_url(project: Project) -> None:
    acme = project.objects[ACME]
    changed = acme.url[:-5] + ("x" if acme.url[-5] != "x" else "y") + acme.url[-4:]
    project.sandbox.level_edit_webhook(acme.webhook_id, url=changed)

    code, out, _ = project.run("doctor")

    assert code == 1
    assert "✗ its URL is not the alert source's URL: ilert never receives the deliveries" in out
    assert f"first difference at character {len(acme.url) - 4} (in the integration key" in out
    assert "fix: `make up STACK=test` puts the exact URL back" in out
    key = acme.url.rsplit("/", 1)[1]
    assert key not in out
    assert changed not in out
    assert f"{project.sandbox.ilert_url}/api/v1/events/levelio/{'*' * len(key)}" in out
    _, document = project.doctor()
    # ... and so Acme Corp's devices page nobody.
    assert failed(document) == [(ACME, "webhook.url"), ("routing", "routing.nowhere")]


def test_trailing_space_in_the_url_is_named(project: Project) -> None:
    acme = project.objects[ACME]
    project.sandbox.level_edit_webhook(acme.webhook_id, url=acme.url + " ")

    code, document = project.doctor()

    assert code == 1
    check = by_id(document, ACME)["webhook.url"]
    assert check["status"] == "fail"
    assert "spaces or a line break" in check["details"][2]


def test_a_missing_event_is_reported_with_its_effect_and_fix(project: Project) -> None:
    project.sandbox.level_edit_webhook(
        project.objects[ACME].webhook_id, event_types=["alert_active"]
    )

    code, document = project.doctor()

    assert code == 1
    assert failed(document) == [(ACME, "webhook.events")]
    check = by_id(document, ACME)["webhook.events"]
    assert check["summary"] == (
        "it is not subscribed to alert_resolved: ilert alerts open but never resolve "
        "(one-way sync)"
    )
    assert "tick Alert resolved" in check["fix"]
    assert "make up STACK=test" in check["fix"]


def test_a_deactivated_source_is_reported(project: Project) -> None:
    project.sandbox.ilert_edit_alert_source(project.objects[SERVERS].source_id, active=False)

    code, document = project.doctor()

    assert code == 1
    assert failed(document) == [(SERVERS, "source.active"), ("routing", "routing.nowhere")]
    check = by_id(document, SERVERS)["source.active"]
    assert check["summary"] == "it is inactive: ilert ignores every delivery from Level"
    assert "`make up STACK=test` activates it again" in check["fix"]


def test_a_disabled_webhook_is_reported(project: Project) -> None:
    project.sandbox.level_edit_webhook(project.objects[ACME].webhook_id, enabled=False)

    code, document = project.doctor()

    assert code == 1
    assert failed(document) == [(ACME, "webhook.enabled"), ("routing", "routing.nowhere")]
    check = by_id(document, ACME)["webhook.enabled"]
    assert check["summary"] == "it is disabled: Level delivers nothing"
    assert "enables it again" in check["fix"]


def test_a_second_webhook_to_the_same_url_is_reported_as_duplicate_deliveries(
    project: Project,
) -> None:
    acme = project.objects[ACME]
    extra = project.sandbox.level.create_webhook(
        {"url": acme.url, "event_types": ["alert_active", "alert_resolved"]}
    )

    code, document = project.doctor()

    assert code == 1
    # The extra webhook is org-wide: Acme's alerts reach Acme's source by two webhooks, and
    # Globex's alerts now reach Acme's source too.
    assert failed(document) == [(ACME, "webhook.duplicates"), ("routing", "routing.twice")]
    twice = by_id(document, "routing")["routing.twice"]["details"]
    assert twice[0] == (
        "Acme Corp, emergency/critical/warning/information → 'Level - Acme' by 2 webhooks ("
        f"{acme.webhook_id}, {extra['id']}) ← pages twice"
    )
    assert (
        "Globex, emergency/critical/warning/information → 'Level - Servers', 'Level - Acme' "
        "← pages twice"
    ) in twice
    check = by_id(document, ACME)["webhook.duplicates"]
    assert check["summary"] == (
        f"1 other enabled webhook(s) deliver to the same URL ({extra['id']}): ilert gets every "
        "Level alert 2 times"
    )
    assert check["fix"] == (
        f"delete the extra webhook(s) in Level (Settings > Webhooks); keep {acme.webhook_id}, "
        "the stack's"
    )
    assert by_id(document, ACME)["webhook.exists"]["summary"].startswith(
        f"Level webhook exists: {acme.webhook_id}"
    )


def test_a_read_only_key_is_not_visible_to_gets_and_the_probe_names_it(
    project: Project, monkeypatch: Any
) -> None:
    monkeypatch.setenv("LEVEL_API_KEY", LEVEL_READONLY_KEY)

    code, document = project.doctor()
    rights = by_id(document, "credentials")["level.rights"]
    assert code == 0
    assert rights["status"] == "info"
    assert "a read-only key passes every GET" in rights["summary"]
    assert "PROBE_WRITE=1" in rights["summary"]

    code, document = project.doctor("--probe-write")
    rights = by_id(document, "credentials")["level.rights"]
    assert code == 1
    assert failed(document) == [("credentials", "level.rights")]
    assert rights["summary"].startswith("Level API key is read-only (Level answered 403")
    assert "create a read & write key in Level (Settings > API keys" in rights["fix"]
    assert project.sandbox.level_webhooks()[0]["updated_at"] == (
        project.sandbox.level_webhooks()[0]["created_at"]
    )


def test_the_probe_passes_a_read_and_write_key_and_changes_nothing(project: Project) -> None:
    webhooks = project.sandbox.level_webhooks()

    code, document = project.doctor("--probe-write")

    assert code == 0
    assert by_id(document, "credentials")["level.rights"]["status"] == "pass"
    assert project.sandbox.level_webhooks() == webhooks
    assert project.sandbox.level.list_alerts()["data"] == []


def test_a_wrong_token_fails_credentials_and_skips_the_rest(
    project: Project, monkeypatch: Any
) -> None:
    monkeypatch.setenv("ILERT_API_TOKEN", "not-" + ILERT_TOKEN)

    code, out, _ = project.run("doctor")

    assert code == 1
    assert "✗ ilert refused the API token (401)" in out
    assert "fix: export ILERT_API_TOKEN=<a valid ilert API key>" in out
    assert "- not checked: ilert credentials failed" in out
    assert "not-" + ILERT_TOKEN not in out


def test_a_source_deleted_by_hand_is_missing_and_its_webhook_unchecked(project: Project) -> None:
    project.sandbox.ilert_delete_alert_source(project.objects[ACME].source_id)

    code, document = project.doctor()

    assert code == 1
    checks = by_id(document, ACME)
    assert checks["source.exists"]["summary"] == (
        "no ilert alert source is named 'Level - Acme' (names are exact)"
    )
    assert checks["webhook.exists"]["status"] == "skip"


def test_an_escalation_policy_changed_by_hand_fails_against_the_declared_one(
    project: Project,
) -> None:
    # Acme declares the policy by name ('Default'), Servers by id (2).
    project.sandbox.ilert_edit_alert_source(project.objects[ACME].source_id, escalationPolicy=2)
    project.sandbox.ilert_edit_alert_source(
        project.objects[SERVERS].source_id, escalationPolicy=1
    )

    code, out, _ = project.run("doctor")

    assert code == 1
    assert "✓ its escalation policy exists" not in out
    assert (
        "✗ its escalation policy is 'On-call L1' (id 2), not the declared 'Default': the wrong "
        "people are paged\n      fix: `make up STACK=test` puts the declared policy back"
    ) in out
    assert (
        "✗ its escalation policy is 'Default' (id 1), not the declared id 2: the wrong people "
        "are paged"
    ) in out
    _, document = project.doctor()
    assert failed(document) == [(ACME, "source.policy"), (SERVERS, "source.policy")]


def test_a_declared_policy_that_no_longer_exists_is_named_instead_of_make_up(
    project: Project,
) -> None:
    file = project.path / "Pulumi.test.yaml"
    text = file.read_text()
    file.write_text(text.replace("escalationPolicy: Default", "escalationPolicy: Nights"))

    code, document = project.doctor()

    assert code == 1
    check = by_id(document, ACME)["source.policy"]
    assert check["summary"] == (
        "its escalation policy is 'Default' (id 1), not the declared 'Nights': the wrong people "
        "are paged"
    )
    assert check["fix"] == (
        "no ilert escalation policy is named 'Nights' any more (names are exact): set "
        "escalationPolicy to an existing policy (id or exact name), then `make up STACK=test`"
    )


def test_a_second_webhook_to_one_url_in_the_same_scope_pages_twice_in_the_routing_table(
    project: Project,
) -> None:
    """Scoped like the stack's own webhook, it adds no source to any row, only a delivery."""
    acme, sandbox = project.objects[ACME], project.sandbox
    extra = sandbox.level.create_webhook({
        "url": acme.url, "event_types": ["alert_active", "alert_resolved"],
        "group_ids": [sandbox.level_group_id("Acme Corp/HQ")],
    })

    code, document = project.doctor()

    assert code == 1
    assert failed(document) == [(ACME, "webhook.duplicates"), ("routing", "routing.twice")]
    check = by_id(document, "routing")["routing.twice"]
    assert check["details"] == [
        "Acme Corp > HQ, emergency/critical/warning/information → 'Level - Acme' by 2 webhooks ("
        f"{acme.webhook_id}, {extra['id']}) ← pages twice",
    ]
    assert "a second webhook to one source's URL (\"by 2 webhooks\"): delete it" in check["fix"]
    rows = by_id(document, "routing")["routing.table"]["details"]
    assert "Acme Corp, emergency/critical/warning/information → 'Level - Acme'" in rows
    # Disabled, it delivers nothing: once again.
    sandbox.level_edit_webhook(extra["id"], enabled=False)
    code, document = project.doctor()
    assert code == 0, failed(document)
