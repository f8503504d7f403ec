"""The fake ilert knows every alert-source setting (issue 24): support hours and services to
link (seeded, GET routes as ilert documents them), each field kept with ilert's include
semantics and validation, and a Level delivery shaped by what ilert documents: templates,
priority by a mapping or by support hours, severity, links. Refereed by ilert's OpenAPI
where it has a schema (tests/ilert_openapi.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from sandbox import Sandbox
from sandbox.ilert_directory import during
from sandbox.ilert_service import INCLUDE_ONLY_FIELDS
from sandbox.ilert_templates import TemplateError, elements, render, stored, text_of
from tests.ilert_openapi import check_request, check_response
from tests.sandbox.helpers import ilert, source_body

MONDAY_10_BERLIN = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MONDAY_20_BERLIN = datetime(2026, 3, 2, 19, 0, tzinfo=UTC)
EVERY_INCLUDE = [*INCLUDE_ONLY_FIELDS, "textTemplate"]


def template(text: str) -> dict[str, str]:
    return {"textTemplate": text}


SETTINGS: dict[str, Any] = {
    "alertPriorityRule": "HIGH_DURING_SUPPORT_HOURS",
    "supportHours": {"id": 1},
    "autoRaiseAlerts": True,
    "summaryTemplate": template("{{ data.device_hostname }}: {{ data.name }}"),
    "detailsTemplate": template("{{ data.description }}"),
    "linkTemplates": [{"text": "Device", "hrefTemplate": template(
        "https://app.level.io/devices/{{ data.device_id }}")}],
    "priorityTemplate": {"valueTemplate": template("{{ data.severity }}"),
                         "mappings": [{"value": "warning", "priority": "LOW"}]},
    "severityTemplate": {"valueTemplate": template("{{ data.severity }}"),
                         "mappings": [{"value": "critical", "severity": 2}]},
    "severity": 4,
    "services": [{"id": 3}, {"id": 1}],
    "servicesTemplate": [template("{{ data.name }}")],
    "autoCreateServices": True,
    "eventTypeFilterCreate": "event.customDetails.severity != 'information'",
    "eventTypeFilterResolve": "event.customDetails.name != 'sticky'",
}


def create(sandbox: Sandbox, **settings: Any) -> dict[str, Any]:
    body = source_body(**settings)
    check_request("AlertSourceRel", body)
    response = ilert(sandbox).post("/api/alert-sources", json=body,
                                   params={"include": EVERY_INCLUDE})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def deliver(source: dict[str, Any], event_type: str = "alert_active", **data: Any) -> str:
    envelope = {
        "event_type": event_type, "event_id": str(uuid.uuid4()),
        "occurred_at": "2026-03-02T09:00:00.000Z",
        "data": {"id": "A1", "device_id": "D7", "device_hostname": "ACME-HQ-SRV01",
                 "name": "Disk full", "description": "C: 1% free", "severity": "critical",
                 **data},
    }
    response = requests.post(source["integrationUrl"], json=envelope, timeout=5)
    assert response.status_code == 202, response.text
    code: str = response.json()["responseCode"]
    return code


# -- support hours and services -------------------------------------------------------------


def test_support_hours_and_services_are_listed_and_read_as_ilert_documents(
    sandbox: Sandbox,
) -> None:
    client = ilert(sandbox)
    hours = client.get("/api/support-hours").json()
    services = client.get("/api/services", params={"max-results": 100}).json()
    default_page = client.get("/api/services", params={"max-results": 1}).json()

    assert [(h["id"], h["name"], h["timezone"]) for h in hours] == [
        (1, "Business hours", "Europe/Berlin"), (2, "US business hours", "America/New_York"),
    ]
    assert all("exceptions" not in h for h in hours)  # a shallow list, as documented
    one = client.get("/api/support-hours/1").json()
    assert one["exceptions"] == [] and one["supportDays"]["MONDAY"] == {"start": "08:00",
                                                                          "end": "18:00"}
    assert [(s["name"], s["alias"]) for s in services] == [
        ("Client portal", "portal"), ("Backups", "backups"), ("Network", "network"),
    ]
    assert len(default_page) == 1
    assert client.get("/api/services", params={"max-results": 101}).status_code == 400
    assert client.get("/api/support-hours/9").status_code == 404
    for hour in hours:
        check_response("SupportHourListItem", hour)
    check_response("SupportHour", one)
    for service in services:
        check_response("Service", service)


def test_support_hours_run_by_weekday_and_time_zone_with_holidays() -> None:
    hour = {"timezone": "Europe/Berlin", "supportDays": {"MONDAY": {"start": "08:00",
                                                                    "end": "18:00"}},
            "exceptions": [{"name": "Holiday", "start": "2026-03-09", "end": "2026-03-09",
                            "supportStatus": "OUTSIDE"}]}
    night = {"timezone": "Europe/Berlin", "supportDays": {"MONDAY": {"start": "22:00",
                                                                     "end": "06:00"}}}

    assert during(hour, MONDAY_10_BERLIN) is True
    assert during(hour, MONDAY_20_BERLIN) is False
    assert during(hour, datetime(2026, 3, 9, 9, 0, tzinfo=UTC)) is False  # the holiday
    assert during(hour, datetime(2026, 3, 3, 9, 0, tzinfo=UTC)) is False  # Tuesday
    assert during(night, datetime(2026, 3, 2, 22, 30, tzinfo=UTC)) is True  # 23:30 Monday
    assert during(night, datetime(2026, 3, 3, 3, 0, tzinfo=UTC)) is True  # 04:00 Tuesday
    assert during(None, MONDAY_10_BERLIN) is False


# -- every field kept, with ilert's include semantics -----------------------------------------


def test_every_setting_is_kept_and_returned_with_ilerts_include_semantics(
    sandbox: Sandbox,
) -> None:
    created = create(sandbox, **SETTINGS)
    client = ilert(sandbox)
    path = f"/api/alert-sources/{created['id']}"

    plain = client.get(path).json()
    as_elements = client.get(path, params={"include": INCLUDE_ONLY_FIELDS}).json()
    as_text = client.get(path, params={"include": EVERY_INCLUDE}).json()
    (listed,) = client.get("/api/alert-sources").json()

    assert not set(INCLUDE_ONLY_FIELDS) & set(plain)
    assert not set(INCLUDE_ONLY_FIELDS) & set(listed)
    assert "autoCreateServices" not in listed and as_text["autoCreateServices"] is True
    assert listed["supportHours"]["name"] == "Business hours"
    assert [s["id"] for s in listed["services"]] == [1, 3]  # sorted by id, as teams
    assert (listed["severity"], listed["autoRaiseAlerts"]) == (4, True)
    assert as_text["summaryTemplate"] == template("{{data.device_hostname}}: {{data.name}}")
    assert as_elements["summaryTemplate"] == {"elements": [
        {"type": "VAR", "val": "data.device_hostname"}, {"type": "TEXT", "val": ": "},
        {"type": "VAR", "val": "data.name"},
    ]}
    assert as_text["linkTemplates"] == [{"text": "Device", "hrefTemplate": template(
        "https://app.level.io/devices/{{data.device_id}}")}]
    assert as_text["priorityTemplate"]["mappings"] == [{"value": "warning", "priority": "LOW"}]
    assert as_text["eventTypeFilterCreate"] == SETTINGS["eventTypeFilterCreate"]
    for body in (created, plain, as_elements, as_text):
        check_response("AlertSource", body)
    check_response("AlertSourceNoIncludes", listed)


def test_a_put_resets_what_it_leaves_out_but_teams(sandbox: Sandbox) -> None:
    created = create(sandbox, **SETTINGS, teams=[{"id": 1}])

    response = ilert(sandbox).put(
        f"/api/alert-sources/{created['id']}", json=source_body(),
        params={"include": EVERY_INCLUDE},
    )

    after = response.json()
    assert response.status_code == 200, response.text
    assert [t["id"] for t in after["teams"]] == [1]
    assert not {"supportHours", "services", "severity", "summaryTemplate", "linkTemplates"} & (
        set(after)
    )
    assert after["autoCreateServices"] is False


@pytest.mark.parametrize(
    ("settings", "says"),
    [
        ({"linkTemplates": [{"text": f"L{n}", "hrefTemplate": template("https://x")}
                            for n in range(11)]}, "linkTemplates: must be a list of at most 10"),
        ({"linkTemplates": [{"hrefTemplate": template("https://x")}]},
         "each link template requires a display name"),
        ({"services": [{"id": 1}] * 16}, "services: must be a list of at most 15"),
        ({"services": [{"id": 99}]}, "services[0].id: service 99 does not exist"),
        ({"servicesTemplate": [template("x")] * 11}, "servicesTemplate: must be a list of at"),
        ({"severity": 6}, "severity: must be an integer from 1 to 5"),
        ({"scoreThreshold": 1.5}, "scoreThreshold: must be a number between 0 and 1"),
        ({"supportHours": {"id": 9}}, "supportHours.id: support hours 9 do not exist"),
        ({"summaryTemplate": template("{{ data.name")},
         "summaryTemplate.textTemplate: not a valid template"),
        ({"summaryTemplate": template("{{ data.name.nope() }}")}, "nope is not an ITL function"),
        ({"priorityTemplate": {"valueTemplate": template("x"), "mappings": [
            {"value": "a", "priority": "URGENT"}]}}, "priority: must be HIGH or LOW"),
        ({"severityTemplate": {"valueTemplate": template("x"), "mappings": []}},
         "severityTemplate.mappings: required, a non-empty list"),
        ({"eventTypeFilterResolve": "event.x containz 1"}, "eventTypeFilterResolve: not a valid"),
    ],
)
def test_what_ilert_refuses_is_a_400_naming_the_field(
    sandbox: Sandbox, settings: dict[str, Any], says: str
) -> None:
    response = ilert(sandbox).post("/api/alert-sources", json=source_body(**settings))

    assert response.status_code == 400
    assert says in response.json()["message"]
    assert sandbox.ilert_alert_sources() == []


# -- a delivery, as the settings shape it -------------------------------------------------------


def test_a_delivery_reads_as_the_templates_say_with_priority_severity_and_links(
    sandbox: Sandbox,
) -> None:
    sandbox.ilert.clock = lambda: MONDAY_20_BERLIN  # outside business hours: LOW by the rule
    source = create(sandbox, **SETTINGS)

    assert deliver(source, id="A1") == "NEW_ALERT_CREATED"
    assert deliver(source, id="A2", severity="warning") == "NEW_ALERT_CREATED"
    assert deliver(source, id="A3", severity="information") == "EVENT_FILTERED"

    second, first = sandbox.ilert_alerts(source["id"])
    assert first["summary"] == "ACME-HQ-SRV01: Disk full"
    assert first["details"] == "C: 1% free"
    assert (first["priority"], first["severity"]) == ("LOW", 2)  # the rule; the mapping
    assert first["links"] == [{"href": "https://app.level.io/devices/D7", "text": "Device"}]
    assert (second["priority"], second["severity"]) == ("LOW", 3)  # the mapping; Level's
    check_response("Alert", first)


def test_the_rule_goes_by_the_support_hours_and_auto_raise_raises_when_they_begin(
    sandbox: Sandbox,
) -> None:
    sandbox.ilert.clock = lambda: MONDAY_20_BERLIN
    source = create(sandbox, alertPriorityRule="HIGH_DURING_SUPPORT_HOURS",
                    supportHours={"id": 1}, autoRaiseAlerts=True)
    deliver(source, id="night")
    assert sandbox.ilert_alerts(source["id"])[0]["priority"] == "LOW"

    sandbox.ilert.clock = lambda: MONDAY_10_BERLIN  # business hours begin

    (alert,) = sandbox.ilert_alerts(source["id"])
    assert alert["priority"] == "HIGH"
    deliver(source, id="day")
    assert sandbox.ilert_alerts(source["id"])[0]["priority"] == "HIGH"


def test_the_alert_key_and_routing_templates_and_the_resolve_filter(sandbox: Sandbox) -> None:
    policy = sandbox.ilert.add_escalation_policy("Servers", routing_key="acme-hq-srv01")
    source = create(
        sandbox, alertKeyTemplate=template("{{ data.device_hostname }}"),
        routingTemplate=template("{{ data.device_hostname.lowerCase() }}"),
        eventTypeFilterResolve="event.customDetails.name != 'sticky'",
    )

    deliver(source, id="A1")
    assert deliver(source, id="A2") == "EVENT_APPENDED"  # one key: the device
    assert deliver(source, "alert_resolved", id="A2", name="sticky") == "EVENT_FILTERED"
    assert deliver(source, "alert_resolved", id="A2") == "ALERT_RESOLVED"

    (alert,) = sandbox.ilert_alerts(source["id"])
    assert alert["alertKey"] == "ACME-HQ-SRV01"
    assert alert["escalationPolicy"]["id"] == policy["id"]


# -- the sandbox's ITL ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "event", "rendered"),
    [  # the examples of ilert's ITL page
        ("{{ var.substring(3) }}", {"var": "Test result"}, "t result"),
        ("{{ var.substring(5, 7) }}", {"var": "Test result"}, "re"),
        ("{{ var.lowerCase() }}", {"var": "Gavin Belson from Hooli"}, "gavin belson from hooli"),
        ('{{ var.replaceAll("Gavin Belson", "Richard Hendricks") }}',
         {"var": "Gavin Belson owns Hooli"}, "Richard Hendricks owns Hooli"),
        ('{{ var.splitTakeAt("Belson, ", 1) }}', {"var": "Gavin Belson, Richard"}, "Richard"),
        ('{{ var.containsTakeOrDrop("rocks", "Pied Piper rocks") }}', {"var": "Pied Piper"}, ""),
        ('{{ var.equalsElse("x", "Not true") }}', {"var": "Pied Piper"}, "Not true"),
        ("{{ ms.formatUnixMs() }}", {"ms": 1674950737000}, "Jan 29, 2023, 12:05:37 AM"),
        ('{{ ms.formatUnixMs("S") }}', {"ms": 1674950737000}, "1/29/23, 12:05 AM"),
        ('{{ array.join("- ") }}', {"array": ["PiedPiper", "Hooli"]}, "PiedPiper- Hooli"),
        ('{{ companies.joinFromObjectArr("ceo", "+") }}',
         {"companies": [{"ceo": "Richard"}, {"ceo": "Gavin"}]}, "Richard+Gavin"),
        ("{{ #isTrue }}Hello {{ /isTrue }}World!", {"isTrue": True}, "Hello World!"),
        ("{{ #isFalse }}Hello {{ /isFalse }}World!", {"isFalse": False}, "World!"),
        ("{{ ^isFalse }}Tim!{{ /isFalse }}", {"isFalse": False}, "Tim!"),
        ("{{ #simple }}[{{ . }}]{{ /simple }}", {"simple": ["a", "b"]}, "[a][b]"),
        ("{{ #nested }}{{ name }};{{ /nested }}", {"nested": [{"name": "R"}, {"name": "G"}]},
         "R;G;"),
        ("{{ missing.path }}x", {}, "x"),
        (r"{{ var.compl:ex\ key-123.noproblem }}", {"var": {"compl:ex key-123": {
            "noproblem": "ok"}}}, "ok"),
    ],
)
def test_the_sandbox_renders_ilerts_documented_examples(
    text: str, event: dict[str, Any], rendered: str
) -> None:
    assert render(stored(template(text), "t"), event) == rendered


def test_the_sandbox_writes_templates_back_without_spaces_in_tags() -> None:
    parts = elements('{{ a.b }} and {{ #c }}{{ . }}{{ /c }} {{ d.join("- ") }}')

    assert text_of(parts) == '{{a.b}} and {{#c}}{{.}}{{/c}} {{d.join("- ")}}'
    with pytest.raises(TemplateError, match="never closed"):
        elements("{{#c}}")
