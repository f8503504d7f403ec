"""One stack through the real Pulumi CLI: up, preview, drift and its repair, replace, destroy.

The stack has two integrations (one policy by name, one by id) with credentials and a webhook
secret set as secure config, as the README tells a user to. The stories run in order on one
deployment; each drift story starts clean, makes one change behind Pulumi's back, and must end
clean again after the documented repair (`make up`). The sandbox's request log gives each
story's cost.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from providers.engine_adapter import BUG_NOTE
from sandbox import ILERT_TOKEN, LEVEL_API_KEY, Sandbox
from tests.cli.harness import EXIT_DRIFT, Project, record_cost, sandbox_secrets
from tools import drift_report

WEBHOOK_SECRET = "whsec-e2e-5f1c2a"
SOURCE = "pulumi-python:dynamic/ilert:AlertSource"
WEBHOOK = "pulumi-python:dynamic/level:Webhook"
INTEGRATIONS: list[dict[str, Any]] = [
    {
        "name": "Level - Acme",
        "escalationPolicy": "Default",  # by name
        "alertCreation": "ONE_ALERT_GROUPED_PER_WINDOW",
        "alertGroupingWindow": "PT5M",
        "resourceName": "acme",
        "deviceGroups": ["Acme Corp"],  # routed by client: each Level alert pages once
    },
    {"name": "Level - Globex servers", "escalationPolicy": 2, "resourceName": "globex",  # by id
     "deviceGroups": ["Globex"]},
]


HEADER = re.compile(r"^[~+-]*\s*(?P<type>[\w.-]+:[\w/.-]*:[\w.-]+): \((?P<step>[\w-]+)\)$")


def changed_properties(printed: str) -> dict[str, list[str]]:
    """``{short type: [property, ...]}`` of the steps a ``preview --diff`` prints (not of its
    refresh steps, which list every output the read changed)."""
    found: dict[str, list[str]] = {}
    current: str | None = None
    for line in printed.splitlines():
        text = line.strip()
        header = HEADER.match(text)
        if header:
            step = header.group("step")
            current = None if step in ("refresh", "same") else header.group("type")
            current = current.rsplit("/", 1)[-1] if current else None
        elif current and text[:2] in ("~ ", "+ ", "- ") and ":" in text:
            name = text[2:].split(":", 1)[0].strip()
            if not name.startswith("["):  # an element of a list property, not a property
                found.setdefault(current, []).append(name)
    return found


class Stack:
    """The deployed stack, the sandbox behind it, and every secret seen so far."""

    def __init__(self, project: Project, sandbox: Sandbox) -> None:
        self.project = project
        self.sandbox = sandbox
        self.secrets: set[str] = {ILERT_TOKEN, LEVEL_API_KEY, WEBHOOK_SECRET}

    def remember_secrets(self) -> None:
        self.secrets.update(sandbox_secrets(self.sandbox))

    def ids(self, name: str) -> tuple[int, str]:
        """(alert source id, webhook id) of one integration, from the stack outputs."""
        outputs = self.project.outputs()[name]
        return int(outputs["alertSourceId"]), str(outputs["webhookId"])

    def source(self, name: str) -> dict[str, Any]:
        return self.sandbox.ilert_alert_source(self.ids(name)[0])

    def webhook(self, name: str) -> dict[str, Any]:
        webhook_id = self.ids(name)[1]
        (found,) = [w for w in self.sandbox.level_webhooks() if w["id"] == webhook_id]
        return found


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with Sandbox() as sandbox:
        project = Project(tmp_path_factory.mktemp("e2e") / "project", sandbox)
        # Credentials as secure config (not env vars): the path a real environment takes.
        project.env.pop("ILERT_API_TOKEN")
        project.env.pop("LEVEL_API_KEY")
        project.write_stack(INTEGRATIONS)
        project.init()
        project.config_set_secret("ilert:apiToken", ILERT_TOKEN)
        project.config_set_secret("level:apiKey", LEVEL_API_KEY)
        project.config_set_secret(
            "level-ilert:integrations[0].webhookSecret", WEBHOOK_SECRET, path=True
        )
        yield Stack(project, sandbox)


@pytest.fixture(autouse=True)
def _cost(stack: Stack, request: pytest.FixtureRequest) -> Iterator[None]:
    """Each story starts with an empty request log; what it sent is kept for the summary."""
    stack.sandbox.requests.clear()
    yield
    record_cost(request.node, stack.sandbox)


def test_up_creates_both_integrations_wired_and_the_alert_flow_works(stack: Stack) -> None:

    run = stack.project.up()

    assert "+ 7 created" in run.out
    acme, globex = stack.source("acme"), stack.source("globex")
    assert (acme["name"], acme["escalationPolicy"]["id"]) == ("Level - Acme", 1)
    assert (globex["name"], globex["escalationPolicy"]["id"]) == ("Level - Globex servers", 2)
    assert stack.webhook("acme")["url"] == acme["integrationUrl"]
    assert stack.webhook("globex")["url"] == globex["integrationUrl"]
    assert stack.webhook("acme")["has_secret"] is True
    assert stack.webhook("acme")["event_types"] == ["alert_active", "alert_resolved"]
    # The cost of a first up: the preview's preflight (policies listed, one Level GET, the
    # no-op write probe), then policies + sources listed, two POSTs each side.
    assert stack.sandbox.count("ilert", "POST") == 2
    assert stack.sandbox.count("level", "POST", "/v2/webhooks") == 2
    assert stack.sandbox.count("level", "POST", "/v2/alerts/") == 1
    stack.remember_secrets()

    # Level's own test, routed: an alert on a client's device opens an ilert alert on that
    # client's source only; resolving it closes it.
    for name, device in (("acme", "ACME-HQ-SRV01"), ("globex", "GLOBEX-HQ-SRV01")):
        alert = stack.sandbox.raise_level_alert(device_hostname=device)
        (opened,) = stack.sandbox.ilert_alerts(source_id=stack.ids(name)[0])
        assert opened["status"] == "PENDING" and opened["alertKey"] == alert["id"]
        stack.sandbox.resolve_level_alert(alert["id"])
        (closed,) = stack.sandbox.ilert_alerts(source_id=stack.ids(name)[0])
        assert closed["status"] == "RESOLVED"
    assert len(stack.sandbox.ilert_alerts()) == 2


def test_preview_right_after_up_expects_no_changes_and_only_reads(stack: Stack) -> None:

    plain = stack.project.preview("--expect-no-changes")
    plain_requests = list(stack.sandbox.requests)
    stack.sandbox.requests.clear()
    refreshed = stack.project.drift()

    assert plain.code == 0, str(plain)
    assert refreshed.code == 0, str(refreshed)
    # A preview writes nothing: its only non-GET is the preflight's no-op write probe, which
    # a drift check (read-only preflight) leaves out.
    assert [(r.method, r.path) for r in plain_requests if r.method != "GET"] == [
        ("POST", "/v2/alerts/level-ilert-write-probe/resolve")
    ]
    assert {request.method for request in stack.sandbox.requests} == {"GET"}
    # refresh: always (Pulumi.yaml) makes every preview read both APIs: one listing each, and
    # Level's groups (routing); the preflight lists the policies once, asks Level for one
    # webhook, resolves the deviceGroups (one listing of the groups) and, but for a drift
    # check, sends its no-op write probe.
    assert sorted(r.path for r in plain_requests) == sorted([
        "/api/alert-sources", "/v2/webhooks", "/v2/groups",  # the refresh
        "/api/escalation-policies", "/v2/webhooks", "/v2/groups",  # the preflight
        "/v2/alerts/level-ilert-write-probe/resolve",
    ])
    assert stack.sandbox.count() == 6, [r.path for r in stack.sandbox.requests]


def edit_source(stack: Stack, **fields: Any) -> None:
    stack.sandbox.ilert_edit_alert_source(stack.ids("acme")[0], **fields)


def edit_webhook(stack: Stack, **fields: Any) -> None:
    stack.sandbox.level_edit_webhook(stack.ids("acme")[1], **fields)


Drift = Callable[[Stack], None]
DRIFTS: dict[str, tuple[Drift, str, str]] = {
    "source renamed": (lambda s: edit_source(s, name="Acme (renamed in the UI)"), SOURCE, "name"),
    "source deactivated": (lambda s: edit_source(s, active=False), SOURCE, "active"),
    "source on another policy": (
        lambda s: edit_source(s, escalationPolicy=2), SOURCE, "escalation_policy",
    ),
    "webhook disabled": (lambda s: edit_webhook(s, enabled=False), WEBHOOK, "enabled"),
    "webhook lost an event": (
        lambda s: edit_webhook(s, event_types=["alert_active"]), WEBHOOK, "event_types",
    ),
    "webhook re-pointed": (
        lambda s: edit_webhook(s, url=s.source("globex")["integrationUrl"]), WEBHOOK, "url",
    ),
    "webhook secret removed": (lambda s: edit_webhook(s, secret=None), WEBHOOK, "secret"),
}


@pytest.mark.parametrize("case", list(DRIFTS))
def test_drift_is_named_reported_and_repaired_by_up(stack: Stack, case: str) -> None:
    make_drift, kind, prop = DRIFTS[case]
    make_drift(stack)

    drift = stack.project.drift()
    json_run, preview = stack.project.drift_json()

    assert drift.code == EXIT_DRIFT, str(drift)
    assert json_run.code == EXIT_DRIFT, str(json_run)
    # The drifted property is named, with a change marker, and nothing else is.
    assert changed_properties(drift.stdout) == {kind.rsplit("/", 1)[-1]: [prop]}, drift.stdout
    assert "adopt" not in drift.out
    report = drift_report.changed_resources(preview)
    resource = "ilert:AlertSource acme" if kind == SOURCE else "level:Webhook acme"
    assert report == [f"update {resource}: {prop}"]  # one resource: no phantom webhook change

    stack.project.up()

    assert stack.project.drift().code == 0
    assert stack.source("acme")["name"] == "Level - Acme"
    assert stack.webhook("acme")["url"] == stack.source("acme")["integrationUrl"]


@pytest.mark.parametrize("kind", [SOURCE, WEBHOOK])
def test_an_object_deleted_by_hand_is_drift_and_up_creates_it_again(
    stack: Stack, kind: str
) -> None:
    source_id, webhook_id = stack.ids("acme")
    if kind == SOURCE:  # its webhook then delivers to a URL that answers 404
        stack.sandbox.ilert_delete_alert_source(source_id)
    else:
        stack.sandbox.level_delete_webhook(webhook_id)

    drift = stack.project.drift()
    json_run, preview = stack.project.drift_json()

    assert (drift.code, json_run.code) == (EXIT_DRIFT, EXIT_DRIFT), str(drift)
    assert "+ 1 to create" in drift.out
    report = drift_report.changed_resources(preview)
    created = [line for line in report if line.startswith("create")]
    assert created == [f"create {kind.removeprefix('pulumi-python:dynamic/')} acme"]

    stack.project.up()
    stack.remember_secrets()

    assert stack.project.drift().code == 0
    assert stack.webhook("acme")["url"] == stack.source("acme")["integrationUrl"]


def test_a_settings_change_is_an_update_in_place(stack: Stack) -> None:
    source_id, webhook_id = stack.ids("acme")
    changed = [dict(INTEGRATIONS[0], alertGroupingWindow="PT15M"), INTEGRATIONS[1]]
    stack.project.write_stack(changed)

    preview = stack.project.preview()
    stack.project.up()

    assert changed_properties(preview.stdout) == {"ilert:AlertSource": ["alert_grouping_window"]}
    assert stack.ids("acme") == (source_id, webhook_id)
    assert stack.source("acme")["alertGroupingWindow"] == "PT15M"
    stack.project.write_stack(INTEGRATIONS)
    stack.project.up()


def test_a_replaced_source_goes_first_then_its_successor_is_made_and_the_webhook_repointed(
    stack: Stack,
) -> None:
    old_source, webhook_id = stack.ids("acme")

    run = stack.project.up("--replace", stack.project.urn(SOURCE, "acme"))
    stack.remember_secrets()

    new_source = stack.ids("acme")[0]
    assert new_source != old_source
    assert stack.ids("acme")[1] == webhook_id  # the same webhook, re-pointed in place
    assert stack.webhook("acme")["url"] == stack.source("acme")["integrationUrl"]
    order = [
        (r.service, r.method, r.path)
        for r in stack.sandbox.requests
        if r.method != "GET" and not r.path.startswith("/v2/alerts/")  # the preflight's probe
    ]
    # deleteBeforeReplace: the successor has the same name, and a leaked URL dies at once.
    assert order == [
        ("ilert", "DELETE", f"/api/alert-sources/{old_source}"),
        ("ilert", "POST", "/api/alert-sources"),
        ("level", "PATCH", f"/v2/webhooks/{webhook_id}"),
    ], str(run)
    assert stack.project.drift().code == 0


def test_no_secret_is_printed_or_stored_in_plain_text(stack: Stack) -> None:
    stack.remember_secrets()
    export = stack.project.export()  # also scanned, as one more printed text

    assert stack.project.plaintext_hits(stack.secrets) == {}
    assert export["deployment"]["resources"]
    shown = stack.project.outputs(show_secrets=True)
    assert shown["acme"]["integrationUrl"] == stack.source("acme")["integrationUrl"]


def test_the_cli_prints_no_warning_and_no_traceback(stack: Stack) -> None:
    assert stack.project.warnings() == []
    assert not any("Traceback" in text or BUG_NOTE in text for text in stack.project.printed)


def test_destroy_deletes_webhooks_first_leaves_nothing_and_can_run_twice(stack: Stack) -> None:

    stack.project.destroy()
    again = stack.project.destroy()

    deletes = [(r.service, r.path) for r in stack.sandbox.requests if r.method == "DELETE"]
    assert len(deletes) == 4
    assert {service for service, _ in deletes[:2]} == {"level"}  # both webhooks first
    assert {service for service, _ in deletes[2:]} == {"ilert"}
    assert stack.sandbox.level_webhooks() == []
    assert stack.sandbox.ilert_alert_sources() == []
    assert "Resources:" in again.out and "destroyed" not in again.out, str(again)
    assert stack.project.plaintext_hits(stack.secrets) == {}


def test_stack_dir_is_the_temporary_copy(stack: Stack) -> None:
    """Guard: the stories above never ran against the checkout or its state folder."""
    assert Path(stack.project.root).resolve() != Path.cwd().resolve()
    assert str(stack.project.backend) in stack.project.env["PULUMI_BACKEND_URL"]
