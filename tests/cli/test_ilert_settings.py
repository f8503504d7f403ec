"""Every setting ilert offers for an alert source, through the real Pulumi CLI (issue 24).

One stack uses every new setting (support hours by name with a support-hours rule and
auto-raise, the four templates, links, priority and severity mappings, a default severity,
a score threshold with INTELLIGENT_GROUPING, the three event-type filters, services by name
and id, a services template, auto-created services): it comes up, its drift check is clean,
and a template, a link, the support hours and a filter, each changed by hand in the
sandbox, are named by the drift check (``make drift``'s command) and repaired by ``up``.
The alert a Level delivery then opens reads as the settings say. Then a few stack files of
tests/random_settings.py (the generator tests/providers/test_random_settings.py runs many
of in-process) come up, pass the drift check and change nothing on a second ``up``.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from sandbox import Sandbox
from tests import random_settings
from tests.cli.harness import EXIT_DRIFT, Project, record_cost
from tests.cli.test_stack_lifecycle import HEADER

SOURCE = "ilert:AlertSource"
EVERY: dict[str, Any] = {
    "name": "Level - Acme",
    "resourceName": "acme",
    "escalationPolicy": "Default",
    "deviceGroups": ["Acme Corp"],
    "alertCreation": "INTELLIGENT_GROUPING",
    "alertGroupingWindow": "PT5M",
    "scoreThreshold": 0.8,
    "alertPriorityRule": "HIGH_DURING_SUPPORT_HOURS",
    "supportHours": "Business hours",
    "autoRaiseAlerts": True,
    "eventTypeFilterCreate": "event.customDetails.severity != 'information'",
    "eventTypeFilterAccept": "event.summary != nil",
    "eventTypeFilterResolve": "event.customDetails.id != nil",
    "summaryTemplate": "{{ data.device_hostname }}: {{ data.name }}",
    "detailsTemplate": "{{ data.description }} ({{ data.severity.upperCase() }})",
    "routingTemplate": "{{ data.device_hostname.lowerCase() }}",
    "alertKeyTemplate": "{{ data.id }}",
    "linkTemplates": [
        {"text": "Open the device in Level",
         "href": "https://app.level.io/devices/{{ data.device_id }}"},
        {"text": "Runbook", "href": "https://wiki.example.com/runbooks/{{data.name.lowerCase()}}"},
    ],
    "priorityTemplate": {"valueTemplate": "{{ data.severity }}",
                         "mappings": [{"value": "critical", "priority": "HIGH"},
                                      {"value": "warning", "priority": "LOW"}]},
    "severityTemplate": {"valueTemplate": "{{ data.severity }}",
                         "mappings": [{"value": "critical", "severity": 2}]},
    "severity": 3,
    "services": ["Client portal", 3],
    "servicesTemplate": ["{{ data.name }}"],
    "autoCreateServices": False,
}
#: A Monday 10:00 in Berlin: in the seeded "Business hours".
IN_BUSINESS_HOURS = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def changed_properties(printed: str) -> dict[str, list[str]]:
    """``{short type: [property, ...]}`` of the steps a ``preview --diff`` prints, top-level
    properties only (a list's items and an object's keys are printed deeper)."""
    found: dict[str, list[tuple[int, str]]] = {}
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
            if not name.startswith("["):
                found.setdefault(current, []).append((len(line) - len(line.lstrip()), name))
    return {
        kind: [name for depth, name in props if depth == min(d for d, _ in props)]
        for kind, props in found.items()
    }


class Deployed:
    def __init__(self, project: Project, sandbox: Sandbox) -> None:
        self.project = project
        self.sandbox = sandbox

    def source_id(self) -> int:
        return int(self.project.outputs()["acme"]["alertSourceId"])

    def edit(self, **fields: Any) -> None:
        self.sandbox.ilert_edit_alert_source(self.source_id(), **fields)


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    with Sandbox() as sandbox:
        sandbox.ilert.clock = lambda: IN_BUSINESS_HOURS
        project = Project(tmp_path_factory.mktemp("settings") / "project", sandbox)
        project.write_stack([EVERY])
        project.init()
        yield Deployed(project, sandbox)


@pytest.fixture(autouse=True)
def _cost(deployed: Deployed, request: pytest.FixtureRequest) -> Iterator[None]:
    deployed.sandbox.requests.clear()
    yield
    record_cost(request.node, deployed.sandbox)


def test_a_stack_using_every_setting_comes_up_and_its_drift_check_is_clean(
    deployed: Deployed,
) -> None:
    deployed.project.up()

    drift = deployed.project.drift()

    assert drift.code == 0, str(drift)
    live = deployed.sandbox.ilert.get_alert_source(
        deployed.source_id(), ["summaryTemplate", "linkTemplates", "textTemplate",
                               "eventTypeFilterCreate", "priorityTemplate"]
    )
    assert live["supportHours"]["name"] == "Business hours"
    assert live["summaryTemplate"] == {"textTemplate": "{{data.device_hostname}}: {{data.name}}"}
    assert [link["text"] for link in live["linkTemplates"]] == ["Open the device in Level",
                                                                "Runbook"]
    assert (live["scoreThreshold"], live["severity"], live["autoRaiseAlerts"]) == (0.8, 3, True)
    assert [service["name"] for service in live["services"]] == ["Client portal", "Network"]
    assert live["eventTypeFilterCreate"] == EVERY["eventTypeFilterCreate"]


def test_the_alert_a_delivery_opens_reads_as_the_settings_say(deployed: Deployed) -> None:
    level_alert = deployed.sandbox.raise_level_alert(
        "ACME-HQ-SRV01", "Disk full", "critical", "C: has 1% free"
    )

    (alert,) = deployed.sandbox.ilert_alerts(deployed.source_id())

    assert alert["summary"] == "ACME-HQ-SRV01: Disk full"
    assert alert["details"] == "C: has 1% free (CRITICAL)"
    assert (alert["priority"], alert["severity"]) == ("HIGH", 2)  # mapped, not the rule
    assert alert["links"][0] == {
        "href": f"https://app.level.io/devices/{level_alert['device_id']}",
        "text": "Open the device in Level",
    }
    assert alert["links"][1]["href"] == "https://wiki.example.com/runbooks/disk full"


Edit = Callable[[Deployed], None]
HAND_CHANGES: dict[str, tuple[Edit, str]] = {
    "a template": (lambda d: d.edit(summaryTemplate="{{data.name}} (edited)"),
                   "summary_template"),
    "a link": (
        lambda d: d.edit(linkTemplates=[{"text": "Elsewhere", "hrefTemplate": {
            "textTemplate": "https://elsewhere.example.com"}}]),
        "link_templates",
    ),
    "the support hours": (lambda d: d.edit(supportHours=2), "support_hours"),
    "a filter": (lambda d: d.edit(eventTypeFilterCreate="event.summary == nil"),
                 "event_type_filter_create"),
}


@pytest.mark.parametrize("case", list(HAND_CHANGES))
def test_a_setting_changed_by_hand_is_named_by_the_drift_check_and_repaired_by_up(
    deployed: Deployed, case: str
) -> None:
    edit, prop = HAND_CHANGES[case]
    edit(deployed)

    drift = deployed.project.drift()

    assert drift.code == EXIT_DRIFT, str(drift)
    assert changed_properties(drift.stdout) == {SOURCE: [prop]}, drift.stdout

    deployed.project.up()

    assert deployed.project.drift().code == 0


def history(project: Project) -> dict[str, Any]:
    """The newest entry of ``pulumi stack history``."""
    run = project.ok("stack", "history", "--json", "--stack", project.stack)
    entries: list[dict[str, Any]] = json.loads(run.stdout)
    return entries[0]


#: Stack files of the generator through the CLI, and entries in each.
CLI_FILES, CLI_ENTRIES = 2, 3


@pytest.mark.parametrize("number", range(CLI_FILES))
def test_random_stack_files_come_up_settle_and_a_second_up_changes_nothing(
    deployed: Deployed, number: int
) -> None:
    rng = random.Random(random_settings.SEED * 100 + number)
    entries = random_settings.stack_file(rng, f"Level - random {number}", CLI_ENTRIES)
    project = deployed.project
    project.write_stack(entries)

    project.up()
    drift = project.drift()
    project.up()

    assert drift.code == 0, str(drift) + json.dumps(entries)
    changes = history(project)["resourceChanges"]
    assert set(changes) == {"same"}, (changes, entries)
