"""make audit on the sandbox: the Level side proven from evidence, in manual and api mode.

The sandbox plays a production organisation: its Level API answers 404 on /v2/webhooks, and
the webhooks are made by hand through its UI routes (/sandbox/webhooks), as a person makes
them in Level (Settings > Webhooks). A correct setup audits clean after alerts are raised
and resolved; each broken setup of issue 25 is named with its cause, and nothing else.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from components.settings import slug
from ops.ids import Outputs
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


# ----------------------------------------------------------------- more causes, and edges


def test_an_inactive_source_and_a_changed_filter_are_named_from_ilerts_side(org: Org) -> None:
    org.sandbox.ilert_edit_alert_source(org.project.objects[GLOBEX].source_id, active=False)
    org.sandbox.ilert_edit_alert_source(
        org.project.objects[ACME].source_id,
        eventFilter="event.customDetails.severity == 'warning'",
    )
    raised = org.raise_and_resolve()

    code, document = org.audit()

    assert (code, sorted(findings(document))) == (1, [
        (ACME, raised[ACME], "missing", "filter-rejected"),
        (GLOBEX, raised[GLOBEX], "missing", "source-inactive"),
    ])


def test_an_alert_opened_twice_on_one_source_is_named(org: Org) -> None:
    from ops.verify import deliver

    alert = org.sandbox.raise_level_alert("ACME-HQ-SRV01", "Disk full", "critical")
    (first,) = org.sandbox.ilert_alerts(source_id=org.project.objects[ACME].source_id)
    org.sandbox.ilert.resolve_alert(first["id"])  # resolved in ilert by hand
    deliver(org.url(ACME), "alert_active", alert, None)  # Level delivers it again

    code, document = org.audit()

    assert (code, findings(document)) == (1, [(ACME, alert["id"], "duplicate", "reopened")])
    assert document["findings"][0]["ilert_alerts"] == sorted(
        a["id"] for a in org.sandbox.ilert_alerts(source_id=org.project.objects[ACME].source_id)
    )


def test_a_source_outside_the_stack_that_also_opens_the_alert_is_named(org: Org) -> None:
    other = org.sandbox.ilert.create_alert_source({
        "name": "Level - NOC board", "integrationType": "LEVELIO", "escalationPolicy": {"id": 1},
    })
    org.add(other["integrationUrl"], event_types=BOTH, group_ids=[
        org.sandbox.level_group_id("Globex")])
    raised = org.raise_and_resolve()

    code, document = org.audit()

    assert (code, findings(document)) == (1, [(GLOBEX, raised[GLOBEX], "also", "other-source")])
    assert "'Level - NOC board' (source " in document["findings"][0]["cause"]
    assert "not in this stack" in document["findings"][0]["cause"]


def test_when_no_key_matches_a_level_alert_the_assumption_is_named_not_every_alert(
    org: Org,
) -> None:
    from ops.verify import deliver

    for name in (ACME, GLOBEX, ONCALL):
        org.ui("DELETE", f"/{org.webhooks[name]}")
    alert = org.sandbox.raise_level_alert("ACME-HQ-SRV01", "Disk full", "critical")
    deliver(org.url(ACME), "alert_active", {**alert, "id": "some-other-key"}, None)

    code, out, err = org.project.run("audit", *JUDGE_AT_ONCE)

    assert code == 2
    assert out == ""
    assert "none of the 1 ilert alert(s) on the stack's sources in the window has a Level" in err
    assert "correct ops/alert_key.py" in err


def test_verifys_own_deliveries_are_left_aside(org: Org) -> None:
    from ops.verify import deliver, level_alert_data

    deliver(org.url(ACME), "alert_active", level_alert_data(), None)

    code, document = org.audit()

    assert (code, document["nothing_to_judge"]) == (0, True)
    assert document["matching"] == {**document["matching"], "matched": 0, "unmatched": 0,
                                    "verify_deliveries": 1}


def test_recent_alerts_are_counted_not_judged(org: Org) -> None:
    org.ui("DELETE", f"/{org.webhooks[ACME]}")
    org.sandbox.raise_level_alert("ACME-HQ-SRV01", "Disk full", "critical")

    code, out, _ = org.project.run("audit")  # the default settle: 120 s

    assert code == 0
    assert "too recent to judge: 1 Level alert(s) of the last 120 s" in out


def test_one_integration_only(org: Org) -> None:
    BROKEN["no alert_resolved"](org)
    org.raise_and_resolve()

    code, document = org.audit("--integration", ACME)

    assert (code, findings(document), list(document["integrations"])) == (0, [], [ACME])
    assert document["judged"] == 1  # only the alerts of the integration audited


@pytest.mark.parametrize(("argv", "message"), [
    (("--window", "yesterday"), "'yesterday' is not a duration: use e.g. 24h, 90m, 7d"),
    (("--since", "2026-12-08T00:00:00Z", "--until", "2026-12-07T00:00:00Z"),
     "the window must start before it ends"),
    (("--until", "soon"), "--until 'soon' is not an ISO-UTC time"),
])
def test_a_bad_window_could_not_run(org: Org, argv: tuple[str, ...], message: str) -> None:
    code, _, err = org.project.run("audit", *argv)

    assert code == 2
    assert message in err


def test_durations() -> None:
    from datetime import timedelta

    from ops.audit import parse_duration

    assert [parse_duration(t) for t in ("24h", "90m", "7d", "30s", "600")] == [
        timedelta(hours=24), timedelta(minutes=90), timedelta(days=7), timedelta(seconds=30),
        timedelta(seconds=600)]
    with pytest.raises(ValueError, match="longer than 0"):
        parse_duration("0h")


def test_a_newest_first_listing_stops_at_the_windows_start() -> None:
    """Level documents no order: every page is read, unless the pages come newest first,
    when the first page that ends before the window is the last one needed."""
    from datetime import UTC, datetime, timedelta
    from types import SimpleNamespace

    from clients.level import LevelAlert
    from ops.audit import Evidence, Window, iso

    now = datetime(2026, 12, 7, 12, tzinfo=UTC)

    def page(*hours_ago: int) -> list[LevelAlert]:
        return [LevelAlert(id=f"a{h}", started_at=iso(now - timedelta(hours=h)))
                for h in hours_ago]

    def pages_read(listing: list[list[LevelAlert]]) -> int:
        read: list[int] = []

        def alert_pages() -> Any:
            for number, each in enumerate(listing, start=1):
                read.append(number)
                yield each

        evidence = Evidence.__new__(Evidence)
        evidence.window = Window.last(timedelta(hours=24), now=now)
        evidence.apis = SimpleNamespace(level=SimpleNamespace(alert_pages=alert_pages))  # type: ignore[assignment]
        evidence.read = Counter()
        list(evidence._alert_pages())
        return len(read)

    newest_first = [page(1, 5), page(20, 30), page(40, 50), page(60, 70)]
    oldest_first = [page(70, 60), page(50, 40), page(30, 20), page(5, 1)]
    assert pages_read(newest_first) == 2
    assert pages_read(oldest_first) == 4


def test_an_integration_declared_off_that_still_receives_is_named(
    tmp_path: Path, sandbox: Sandbox, credentials: None
) -> None:
    level(sandbox).put("/sandbox/webhook-api", json={"enabled": False})
    routed = [dict(entry) for entry in ROUTED]
    org = by_hand(sandbox, tmp_path, routed)
    routed[1]["webhookEnabled"] = False  # the stack now says: Globex's webhook is off
    write_stack(tmp_path, sandbox, routed, management="manual")
    raised = org.raise_and_resolve()

    code, document = org.audit()

    assert (code, findings(document)) == (1, [(GLOBEX, raised[GLOBEX], "also", "declared-off")])
    assert "turn Enabled off" in document["findings"][0]["fix"]


def test_alerts_before_the_window_do_not_count_as_received(org: Org) -> None:
    """ilert is read a few minutes either side of the window (clocks differ); an alert the
    source received before the window must not make a missing webhook look like a scope."""
    from datetime import UTC, datetime

    org.sandbox.raise_level_alert("GLOBEX-HQ-WS01", "Earlier", "warning")
    since = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    org.ui("DELETE", f"/{org.webhooks[GLOBEX]}")
    raised = org.raise_and_resolve()

    code, document = org.audit("--since", since)

    assert (code, findings(document)) == (1, [(GLOBEX, raised[GLOBEX], "missing", "no-delivery")])


def test_alerts_that_started_before_the_stack_made_a_source_are_not_judged(org: Org) -> None:
    """A stack made today, audited over the last 24 h: Level's alerts of the morning could
    reach no source the stack had not made yet. Pulumi's state says when each source was
    made (ops/ids.with_created); those alerts are counted, not reported missing, and a
    mistake after that moment is still named."""
    org.ui("DELETE", f"/{org.webhooks[GLOBEX]}")  # no webhook sends Globex's alerts
    early = org.raise_and_resolve()
    made = datetime.now(UTC) + timedelta(seconds=1)
    time.sleep(1.5)
    late = org.raise_and_resolve()
    created = {slug(name): made for name in (ACME, GLOBEX, ONCALL)}
    outputs = Outputs(None, "lookup by name and URL (tests)", created=created)

    code, out, _ = org.project.run("audit", "--json", *JUDGE_AT_ONCE, outputs=outputs)

    document = json.loads(out)
    assert (code, findings(document)) == (1, [(GLOBEX, late[GLOBEX], "missing", "no-delivery")])
    assert early[GLOBEX] not in out
    tallies = document["integrations"]
    assert {name: tallies[name]["before_source"] for name in tallies} == {
        ACME: 1, GLOBEX: 1, ONCALL: 1,
    }
    code, text, _ = org.project.run("audit", *JUDGE_AT_ONCE, outputs=outputs)
    assert code == 1
    assert "1 alert(s) not judged: they started before the stack made its alert source" in text


@pytest.mark.parametrize(("length", "shown"), [
    (timedelta(hours=24), "(24 h)"), (timedelta(minutes=1), "(1 min)"),
    (timedelta(minutes=90), "(1.5 h)"), (timedelta(days=7), "(168 h)"),
])
def test_the_window_says_its_length_as_a_person_would(length: timedelta, shown: str) -> None:
    from ops.audit import Window

    now = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)

    assert Window.last(length, now=now).text().endswith(f"Z {shown}")
