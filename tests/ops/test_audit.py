"""make audit on the sandbox: the Level side proven from evidence, in manual and api mode.

The sandbox plays a production organisation: its Level API answers 404 on /v2/webhooks, and
the webhooks are made by hand through its UI routes (/sandbox/webhooks), as a person makes
them in Level (Settings > Webhooks). A correct setup audits clean after alerts are raised
and resolved; each broken setup of issue 25 is named with its cause, and nothing else.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sandbox import LEVEL_API_KEY, Sandbox
from tests.ops.conftest import Project, provision, write_stack
from tests.sandbox.helpers import level

NOT_EMERGENCY = "event.customDetails.severity != 'emergency'"
ACME, GLOBEX, ONCALL = "Level - Acme Corp", "Level - Globex", "Level - Emergencies"
ROUTED: list[dict[str, Any]] = [
    {"name": ACME, "escalationPolicy": "Default", "deviceGroups": ["Acme Corp"],
     "eventFilter": NOT_EMERGENCY},
    {"name": GLOBEX, "escalationPolicy": "Default", "deviceGroups": ["Globex"],
     "eventFilter": NOT_EMERGENCY},
    {"name": ONCALL, "escalationPolicy": "On-call L1",
     "eventFilter": "event.customDetails.severity == 'emergency'"},
]
BOTH = ["alert_active", "alert_resolved"]
JUDGE_AT_ONCE = ("--settle", "0")


@dataclass
class Org:
    """A manual-mode project whose webhooks a person made in the sandbox's Level UI."""

    project: Project
    webhooks: dict[str, str]  # integration name -> its hand-made webhook's id

    @property
    def sandbox(self) -> Sandbox:
        return self.project.sandbox

    def url(self, name: str) -> str:
        return self.project.objects[name].url

    def ui(self, method: str, path: str = "", body: dict[str, Any] | None = None) -> Any:
        """Level's UI, Settings > Webhooks (the sandbox's routes for it)."""
        answer = level(self.sandbox).request(method, f"/sandbox/webhooks{path}", json=body)
        assert answer.status_code < 300, answer.text
        return answer.json() if answer.content else None

    def add(self, url: str, **fields: Any) -> str:
        return str(self.ui("POST", body={"url": url, **fields})["id"])

    def edit(self, name: str, **fields: Any) -> None:
        self.ui("PATCH", f"/{self.webhooks[name]}", fields)

    def raise_and_resolve(self) -> dict[str, str]:
        """One alert per route: critical on an Acme server, warning on a Globex workstation,
        an emergency on Acme's warehouse; each resolved in Level afterwards."""
        raised = {
            ACME: self.sandbox.raise_level_alert("ACME-HQ-SRV01", "Disk full", "critical"),
            GLOBEX: self.sandbox.raise_level_alert("GLOBEX-HQ-WS01", "CPU usage", "warning"),
            ONCALL: self.sandbox.raise_level_alert("ACME-WH-WS01", "Offline", "emergency"),
        }
        for alert in raised.values():
            self.sandbox.resolve_level_alert(alert["id"])
        return {name: alert["id"] for name, alert in raised.items()}

    def audit(self, *argv: str) -> tuple[int, dict[str, Any]]:
        code, out, err = self.project.run("audit", "--json", *JUDGE_AT_ONCE, *argv)
        assert "Traceback" not in err
        return code, json.loads(out)


def by_hand(sandbox: Sandbox, path: Path, integrations: list[dict[str, Any]],
            management: str = "manual") -> Org:
    """The stack's ilert sources (as `make up` makes them), and one webhook per integration
    made by hand as Level's ilert article says: the source's URL, both alert events, the
    declared groups."""
    write_stack(path, sandbox, integrations, management=management)
    project = Project(path, sandbox, provision(sandbox, integrations, management="manual"))
    org = Org(project, {})
    groups = {g["name"]: g["id"] for g in sandbox.level_groups() if g["parent_id"] is None}
    for entry in integrations:
        scope = [groups[g] for g in entry.get("deviceGroups", [])] or None
        org.webhooks[entry["name"]] = org.add(
            org.url(entry["name"]), event_types=BOTH, group_ids=scope
        )
    return org


@pytest.fixture
def org(tmp_path: Path, sandbox: Sandbox, credentials: None) -> Org:
    """A production-like organisation: no webhook API, webhooks made by hand."""
    answer = level(sandbox).put("/sandbox/webhook-api", json={"enabled": False})
    assert answer.json() == {"enabled": False}
    return by_hand(sandbox, tmp_path, ROUTED)


def findings(document: dict[str, Any]) -> list[tuple[str, str | None, str, str]]:
    return [(f["integration"], f["level_alert"], f["kind"], f["cause_id"])
            for f in document["findings"]]


def test_the_production_organisation_has_no_webhook_api_and_ui_webhooks_deliver(org: Org) -> None:
    answer = level(org.sandbox).get("/v2/webhooks")
    assert (answer.status_code, answer.json()) == (404, {"error": "Not Found"})
    listed = org.ui("GET")["data"]
    assert [w["url"] for w in listed] == [org.url(n) for n in (ACME, GLOBEX, ONCALL)]

    raised = org.sandbox.raise_level_alert("ACME-HQ-SRV01", "Disk full", "critical")

    (opened,) = org.sandbox.ilert_alerts(source_id=org.project.objects[ACME].source_id)
    assert opened["alertKey"] == raised["id"]


def test_a_correct_hand_made_setup_audits_clean(org: Org) -> None:
    raised = org.raise_and_resolve()

    code, document = org.audit()

    assert (code, findings(document)) == (0, [])
    assert document["judged"] == 3
    assert document["nothing_to_judge"] is False
    assert document["matching"]["matched"] == 3
    assert {n: (i["expected"], i["opened"], i["resolved_in_ilert"])
            for n, i in document["integrations"].items()} == {
        ACME: (1, 1, 1), GLOBEX: (1, 1, 1), ONCALL: (1, 1, 1)}
    code, out, _ = org.project.run("audit", *JUDGE_AT_ONCE)
    assert code == 0
    assert "✓ 1 of 1 Level alert(s) it should receive opened here" in out
    assert "clean: each of the 3 Level alert(s) in the window went where the stack declares" in out
    assert raised[ACME] not in out


def test_a_quiet_window_is_nothing_to_judge_never_healthy(org: Org) -> None:
    code, document = org.audit()

    assert code == 0
    assert document["nothing_to_judge"] is True and document["judged"] == 0
    code, out, _ = org.project.run("audit", *JUDGE_AT_ONCE)
    assert code == 0
    assert "nothing to judge: no Level alert in the window was meant for this stack's" in out
    assert "clean" not in out


BROKEN: dict[str, Callable[[Org], object]] = {
    "webhook missing": lambda o: o.ui("DELETE", f"/{o.webhooks[GLOBEX]}"),
    "webhook disabled": lambda o: o.edit(GLOBEX, enabled=False),
    "another source's URL": lambda o: o.edit(GLOBEX, url=o.url(ACME)),
    "no alert_resolved": lambda o: o.edit(GLOBEX, event_types=["alert_active"]),
    "extra org-wide webhook": lambda o: o.add(o.url(GLOBEX), event_types=BOTH),
    "wrong group": lambda o: o.edit(GLOBEX, group_ids=[o.sandbox.level_group_id("Acme Corp")]),
}
NAMED = {
    "webhook missing": [(GLOBEX, GLOBEX, "missing", "no-delivery")],
    "webhook disabled": [(GLOBEX, GLOBEX, "missing", "no-delivery")],
    "another source's URL": [(GLOBEX, GLOBEX, "instead", "wrong-url")],
    "no alert_resolved": [(GLOBEX, GLOBEX, "unresolved", "no-alert-resolved")],
    "extra org-wide webhook": [(GLOBEX, ACME, "also", "extra-webhook")],
    "wrong group": [(GLOBEX, ACME, "also", "wrong-scope"), (GLOBEX, GLOBEX, "missing",
                                                             "wrong-scope")],
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_each_hand_made_mistake_is_named_with_its_cause_and_nothing_else(
    org: Org, case: str
) -> None:
    BROKEN[case](org)
    raised = org.raise_and_resolve()

    code, document = org.audit()

    expected = [(name, raised[alert], kind, cause) for name, alert, kind, cause in NAMED[case]]
    assert (code, sorted(findings(document))) == (1, sorted(expected)), document["findings"]
    for finding in document["findings"]:
        assert finding["fix"] and finding["cause"]
        assert "Settings > Webhooks" in finding["fix"]  # manual mode: the UI step to check
    code, out, _ = org.project.run("audit", *JUDGE_AT_ONCE)
    assert code == 1
    assert f"{len(expected)} finding(s)" in out


def test_the_json_interface_drift_yml_reads(org: Org) -> None:
    BROKEN["no alert_resolved"](org)
    org.raise_and_resolve()

    code, document = org.audit()

    assert code == 1
    (finding,) = document["findings"]
    assert {"integration", "level_alert", "cause", "fix"} <= set(finding)
    assert finding["integration"] == GLOBEX
    assert "Alert resolved" in finding["cause"]
    assert "tick Alert resolved" in finding["fix"]


def test_without_a_level_key_the_audit_cannot_run(
    org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LEVEL_API_KEY")
    code, out, err = org.project.run("audit", "--json")

    assert code == 2
    assert "A read-only key is enough" in err
    assert json.loads(out)["error"].startswith("the audit reads Level's alerts")
    monkeypatch.setenv("LEVEL_API_KEY", LEVEL_API_KEY)


# ------------------------------------------------------------------------------ api mode


@pytest.fixture
def api_org(tmp_path: Path, sandbox: Sandbox, credentials: None) -> Org:
    """The same routing in api mode: the stack made the webhooks (the pinned contract)."""
    write_stack(tmp_path, sandbox, ROUTED)
    project = Project(tmp_path, sandbox, provision(sandbox, ROUTED))
    return Org(project, {name: p.webhook_id for name, p in project.objects.items()})


BROKEN_API: dict[str, Callable[[Org], object]] = {
    "webhook missing": lambda o: o.sandbox.level_delete_webhook(o.webhooks[GLOBEX]),
    "webhook disabled": lambda o: o.sandbox.level_edit_webhook(o.webhooks[GLOBEX], enabled=False),
    "another source's URL": lambda o: o.sandbox.level_edit_webhook(o.webhooks[GLOBEX],
                                                                   url=o.url(ACME)),
    "no alert_resolved": lambda o: o.sandbox.level_edit_webhook(
        o.webhooks[GLOBEX], event_types=["alert_active"]),
    "extra org-wide webhook": lambda o: o.sandbox.level.create_webhook(
        {"url": o.url(GLOBEX), "event_types": BOTH}),
    "wrong group": lambda o: o.sandbox.level_edit_webhook(
        o.webhooks[GLOBEX], group_ids=[o.sandbox.level_group_id("Acme Corp")]),
}
# What each mistake is called: the audit's cause (from evidence and the webhook read) and
# the doctor check that fails for the same integration (read from the objects alone).
AGREE = {
    "webhook missing": ([(GLOBEX, GLOBEX, "missing", "no-webhook")], "webhook.exists"),
    "webhook disabled": ([(GLOBEX, GLOBEX, "missing", "webhook-disabled")], "webhook.enabled"),
    "another source's URL": ([(GLOBEX, GLOBEX, "instead", "wrong-url")], "webhook.exists"),
    "no alert_resolved": ([(GLOBEX, GLOBEX, "unresolved", "no-alert-resolved")],
                          "webhook.events"),
    "extra org-wide webhook": ([(GLOBEX, ACME, "also", "extra-webhook")],
                               "webhook.duplicates"),
    "wrong group": ([(GLOBEX, ACME, "also", "wrong-scope"),
                     (GLOBEX, GLOBEX, "missing", "wrong-scope")], "webhook.scope"),
}


def test_api_mode_clean_agrees_with_doctor(api_org: Org) -> None:
    api_org.raise_and_resolve()

    code, document = api_org.audit()
    doctor_code, _ = api_org.project.doctor()

    assert (code, findings(document), doctor_code) == (0, [], 0)


@pytest.mark.parametrize("case", list(BROKEN_API))
def test_api_mode_the_audit_agrees_with_doctor(api_org: Org, case: str) -> None:
    BROKEN_API[case](api_org)
    raised = api_org.raise_and_resolve()

    code, document = api_org.audit()
    doctor_code, doctor = api_org.project.doctor()

    named, check = AGREE[case]
    expected = [(name, raised[alert], kind, cause) for name, alert, kind, cause in named]
    assert (code, sorted(findings(document))) == (1, sorted(expected)), document["findings"]
    failed = {(c["scope"], c["id"]) for c in doctor["checks"] if c["status"] == "fail"}
    assert doctor_code == 1
    assert (GLOBEX, check) in failed, failed
    # doctor sees the same mistake from Acme's side too when Globex's webhook took its URL
    others = {scope for scope, _ in failed} - {GLOBEX, "routing"}
    assert others == ({ACME} if case == "another source's URL" else set()), failed
