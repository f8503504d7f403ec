"""Routing in `make doctor` and `make verify`: the live table of who gets which Level alert,
a scope emptied by a deleted group, drift in scopes and filters, and test alerts that prove
each integration gets its alerts and no other source does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import icl
from clients.level import Group
from ops import routing
from ops.stack import load_stack
from sandbox import Sandbox
from tests.ops.conftest import STACK, Project, provision, write_stack
from tests.ops.test_doctor import by_id, failed

FAST = ("--timeout", "0.3", "--poll", "0.05")
NOT_EMERGENCY = "event.customDetails.severity != 'emergency'"
MSP: list[dict[str, Any]] = [
    {"name": "Acme", "escalationPolicy": 1, "deviceGroups": ["Acme Corp"],
     "eventFilter": NOT_EMERGENCY},
    {"name": "Globex", "escalationPolicy": 1, "deviceGroups": ["Globex"],
     "eventFilter": NOT_EMERGENCY},
    {"name": "Emergencies", "escalationPolicy": 2,
     "eventFilter": "event.customDetails.severity == 'emergency'"},
]


def project_of(tmp_path: Path, sandbox: Sandbox, integrations: list[dict[str, Any]]) -> Project:
    write_stack(tmp_path, sandbox, integrations)
    return Project(tmp_path, sandbox, provision(sandbox, integrations, check_routing=False))


def test_doctor_shows_who_gets_each_alert_of_an_msp(
    tmp_path: Path, sandbox: Sandbox, credentials: None
) -> None:
    project = project_of(tmp_path, sandbox, MSP)
    code, document = project.doctor()
    assert code == 0, failed(document)
    routing = by_id(document, "routing")
    assert routing["routing.once"]["status"] == "pass"
    assert routing["routing.table"]["details"][:3] == [
        "Acme Corp, emergency → 'Emergencies'",
        "Acme Corp, critical/warning/information → 'Acme'",
        "Acme Corp > HQ, emergency → 'Emergencies'",
    ]
    assert by_id(document, "Acme")["webhook.scope"]["summary"] == (
        "it gets alerts of devices in 'Acme Corp' (id "
        f"{sandbox.level_group_id('Acme Corp')}) and below, as declared"
    )
    assert by_id(document, "Emergencies")["source.filter"]["summary"] == (
        "its eventFilter accepts only alerts where event.customDetails.severity == 'emergency', "
        "as declared"
    )


def test_two_org_wide_unfiltered_integrations_page_twice_and_doctor_says_where(
    tmp_path: Path, sandbox: Sandbox, credentials: None
) -> None:
    project = project_of(tmp_path, sandbox, [
        {"name": "Acme", "escalationPolicy": 1}, {"name": "Servers", "escalationPolicy": 2},
    ])
    code, document = project.doctor()
    assert code == 1
    assert failed(document) == [("routing", "routing.twice")]
    check = by_id(document, "routing")["routing.twice"]
    assert check["details"][0] == (
        "Acme Corp, emergency/critical/warning/information → 'Acme', 'Servers' ← pages twice"
    )
    assert "sharesAlertsWith" in check["fix"]


def test_a_deleted_group_empties_a_scope_and_its_devices_page_nowhere(
    project: Project,
) -> None:
    sandbox = project.sandbox
    for path in ("Globex/HQ", "Globex"):
        sandbox.level_delete_group(sandbox.level_group_id(path))
    code, document = project.doctor()
    assert code == 1
    check = by_id(document, "Level - Servers")["webhook.scope"]
    assert check["summary"].startswith(
        "its device-group scope is empty: the groups it named were deleted in Level, so it "
        "delivers nothing"
    )
    assert ("Level - Servers", "webhook.scope") in failed(document)


def test_a_scope_or_filter_changed_by_hand_is_named(project: Project) -> None:
    sandbox = project.sandbox
    sandbox.level_edit_webhook(
        project.objects["Level - Acme"].webhook_id,
        group_ids=[sandbox.level_group_id("Acme Corp/HQ")],
    )
    sandbox.ilert_edit_alert_source(
        project.objects["Level - Servers"].source_id, eventFilter="event.summary contains 'x'"
    )
    code, document = project.doctor()
    assert code == 1
    scope = by_id(document, "Level - Acme")["webhook.scope"]
    assert scope["summary"].startswith("its device-group scope is 'Acme Corp > HQ' (id ")
    assert scope["summary"].endswith("not the declared 'Acme Corp'")
    filter_check = by_id(document, "Level - Servers")["source.filter"]
    assert filter_check["summary"] == (
        "it has an eventFilter the stack does not declare (\"event.summary contains 'x'\"): "
        "alerts it rejects page nobody"
    )
    # The Warehouse site lost its only webhook, and Globex's alerts now depend on a text.
    rows = by_id(document, "routing")["routing.nowhere"]["details"]
    assert rows == ["Acme Corp > Warehouse, emergency/critical/warning/information → nobody "
                    "← pages nowhere"]


def test_an_org_wide_webhook_outside_the_stack_is_counted(project: Project) -> None:
    other = project.sandbox.ilert.create_alert_source(
        {"name": "Hand-made", "integrationType": "LEVELIO", "escalationPolicy": {"id": 1}}
    )
    project.sandbox.level.create_webhook({"url": other["integrationUrl"]})
    code, document = project.doctor()
    assert code == 1
    rows = by_id(document, "routing")["routing.twice"]["details"]
    assert rows[0] == (
        f"Acme Corp, emergency/critical/warning/information → 'Level - Acme', 'Hand-made' "
        f"(ilert source {other['id']}, not in this stack) ← pages twice"
    )


def test_verify_proves_each_integration_gets_its_alerts_and_no_other_does(
    tmp_path: Path, sandbox: Sandbox, credentials: None
) -> None:
    project = project_of(tmp_path, sandbox, MSP)
    code, out, _ = project.run("verify", "--json", *FAST)
    document = json.loads(out)
    assert code == 0, out
    raised = {i["name"]: i["steps"][0]["summary"] for i in document["integrations"]}
    assert raised["Acme"].endswith("in Acme Corp")
    assert raised["Globex"].endswith("in Globex")
    assert ": emergency on " in raised["Emergencies"]
    assert raised["Emergencies"].endswith("in Acme Corp")  # never a device in no group
    # Exactly one ilert alert per Level alert, each on its intended source.
    per_source = {name: len(sandbox.ilert_alerts(source_id=o.source_id))
                  for name, o in project.objects.items()}
    assert per_source == {"Acme": 1, "Globex": 1, "Emergencies": 1}
    assert len(sandbox.level.list_alerts()["data"]) == 3


def test_verify_fails_an_alert_that_pages_twice_and_resolves_both(
    tmp_path: Path, sandbox: Sandbox, credentials: None
) -> None:
    project = project_of(tmp_path, sandbox, [
        {"name": "Acme", "escalationPolicy": 1}, {"name": "Servers", "escalationPolicy": 2},
    ])
    code, out, _ = project.run("verify", "--integration", "Acme", *FAST)
    assert code == 1
    assert "✗ the test alert also opened an ilert alert on 'Servers' (#" in out
    assert "this kind of Level alert pages twice" in out
    assert [a["status"] for a in sandbox.ilert_alerts()] == ["RESOLVED", "RESOLVED"]


def test_shares_alerts_with_lets_both_receive_it(
    tmp_path: Path, sandbox: Sandbox, credentials: None
) -> None:
    project = project_of(tmp_path, sandbox, [
        {"name": "Acme", "escalationPolicy": 1, "sharesAlertsWith": ["NOC board"]},
        {"name": "NOC board", "escalationPolicy": 2},
    ])
    code, out, _ = project.run("verify", "--integration", "Acme", *FAST)
    assert code == 0, out
    code, document = project.doctor()
    assert code == 0, failed(document)


def test_on_real_accounts_the_delivery_passes_the_filter_and_says_what_is_not_proven(
    tmp_path: Path, sandbox: Sandbox, credentials: None
) -> None:
    project = project_of(tmp_path, sandbox, MSP)
    code, out, _ = project.run(
        "verify", "--integration", "Emergencies", "--send-delivery", "--yes", *FAST
    )
    assert code == 0, out
    (opened,) = sandbox.ilert_alerts(source_id=project.objects["Emergencies"].source_id)
    assert opened["severity"] == 1  # an emergency: what the filter accepts
    assert "· not proven on real accounts: verify posted to this source's URL itself" in out


def test_devices_left_without_a_group_page_nowhere_and_doctor_says_so(project: Project) -> None:
    sandbox = project.sandbox
    for path in ("Globex/HQ", "Globex"):
        sandbox.level_delete_group(sandbox.level_group_id(path))  # its devices: no group now
    code, document = project.doctor()
    assert code == 1
    rows = by_id(document, "routing")["routing.nowhere"]["details"]
    assert rows == ["(devices in no group), emergency/critical/warning/information → nobody "
                    "← pages nowhere"]


def test_doctor_of_one_integration_still_names_the_others_as_the_stacks(
    project: Project,
) -> None:
    code, document = project.doctor("--integration", "Level - Acme")
    assert code == 0, failed(document)
    rows = by_id(document, "routing")["routing.table"]["details"]
    assert "Globex, emergency/critical/warning/information → 'Level - Servers'" in rows


def test_verify_raises_nothing_into_a_routing_changed_by_hand_and_names_make_up(
    tmp_path: Path, sandbox: Sandbox, credentials: None
) -> None:
    """The review's case: Globex's webhook scoped to Acme Corp and its filter dropped by hand.
    Built from the live objects, the test alert was an emergency in Acme Corp (what Globex
    declares it never gets) and passed."""
    project = project_of(tmp_path, sandbox, MSP)
    globex = project.objects["Globex"]
    sandbox.level_edit_webhook(globex.webhook_id, group_ids=[sandbox.level_group_id("Acme Corp")])
    sandbox.ilert_edit_alert_source(globex.source_id, eventFilter=None)

    code, out, _ = project.run("verify", "--integration", "Globex", "--json", *FAST)

    assert code == 1
    [steps] = [i["steps"] for i in json.loads(out)["integrations"]]
    assert [s["id"] for s in steps] == ["verify.declared"]
    [step] = steps
    assert step["status"] == "fail"
    assert step["summary"] == (
        "no test alert sent: the live routing differs from the stack file, so an alert chosen "
        "by the declared routing would not test it"
    )
    assert step["fix"] == (
        "`make up STACK=test` puts the declared routing back, or do what each line above says; "
        "`make doctor STACK=test` shows every difference; then verify again"
    )
    assert step["details"][0].startswith(
        f"its eventFilter differs from the stack file: ilert has none (it accepts every alert), "
        f"the stack declares {NOT_EMERGENCY!r}"
    )
    assert step["details"][1].startswith("its device-group scope is 'Acme Corp' (id ")
    assert step["details"][1].endswith(
        "not the declared 'Globex'; fix: `make up STACK=test` puts the declared scope back"
    )
    assert sandbox.level.list_alerts()["data"] == []
    assert sandbox.ilert_alerts() == []

    # As `make up` leaves it: the test alert follows the declared routing again.
    sandbox.level_edit_webhook(globex.webhook_id, group_ids=[sandbox.level_group_id("Globex")])
    sandbox.ilert_edit_alert_source(globex.source_id, eventFilter=NOT_EMERGENCY)
    code, out, _ = project.run("verify", "--integration", "Globex", "--json", *FAST)
    assert code == 0, out
    raised = json.loads(out)["integrations"][0]["steps"][0]["summary"]
    assert raised.endswith("in Globex")
    assert ": emergency on " not in raised


def test_verify_on_real_accounts_sends_nothing_to_a_source_whose_filter_drifted(
    tmp_path: Path, sandbox: Sandbox, credentials: None
) -> None:
    project = project_of(tmp_path, sandbox, MSP)
    sandbox.ilert_edit_alert_source(
        project.objects["Emergencies"].source_id, eventFilter=NOT_EMERGENCY
    )

    code, out, _ = project.run(
        "verify", "--integration", "Emergencies", "--send-delivery", "--yes", *FAST
    )

    assert code == 1
    assert "✗ no test alert sent: the live routing differs from the stack file" in out
    assert "its eventFilter differs from the stack file: ilert has" in out
    assert sandbox.ilert_intake == []  # nobody paged for a test that proves nothing


def test_the_test_alert_is_chosen_by_the_declared_routing_not_the_live_one(
    project: Project,
) -> None:
    """Even where no live webhook or filter says so (here: none at all)."""
    sandbox = project.sandbox
    groups = [Group.model_validate(g) for g in sandbox.level_groups()]
    [globex] = [i for i in load_stack(STACK, project.path).integrations()
                if i.name == "Level - Servers"]
    nothing_live = routing.Routing(groups, [], [globex])
    declared = routing.Declared(
        [sandbox.level_group_id("Globex/HQ")], icl.parse(NOT_EMERGENCY)
    )

    probe = routing.probe_for(nothing_live, globex, declared, "k1")

    assert probe is not None
    assert probe.group_id == sandbox.level_group_id("Globex/HQ")
    assert probe.data["severity"] == "critical"  # the first severity the filter accepts
    assert routing.Declared.of(globex, groups) == routing.Declared(
        [sandbox.level_group_id("Globex")], None
    )


def test_verify_of_declared_groups_that_no_longer_exist_names_them_and_raises_nothing(
    project: Project,
) -> None:
    sandbox = project.sandbox
    sandbox.level_delete_webhook(project.objects["Level - Servers"].webhook_id)
    for path in ("Globex/HQ", "Globex"):
        sandbox.level_delete_group(sandbox.level_group_id(path))

    code, out, _ = project.run("verify", "--integration", "Level - Servers", *FAST)

    assert code == 1
    assert "✗ deviceGroups" in out
    assert "'Globex'" in out
    assert "fix: fix deviceGroups in the stack file, then `make up STACK=test`" in out
    assert "Traceback" not in out
    assert sandbox.level.list_alerts()["data"] == []


def test_verify_names_a_second_webhook_to_the_integrations_url_and_raises_nothing(
    project: Project,
) -> None:
    acme, sandbox = project.objects["Level - Acme"], project.sandbox
    extra = sandbox.level.create_webhook(
        {"url": acme.url, "group_ids": [sandbox.level_group_id("Acme Corp/HQ")]}
    )

    code, out, _ = project.run("verify", "--integration", "Level - Acme", *FAST)

    assert code == 1
    assert "✗ no test alert sent: the live routing differs from the stack file" in out
    assert (
        f"1 other enabled webhook(s) deliver to the same URL ({extra['id']}): ilert gets every "
        "Level alert 2 times; fix: delete the extra webhook(s) in Level"
    ) in out
    assert sandbox.level.list_alerts()["data"] == []
