"""IlertAlertSourceProvider and the settings of issue 24, against the sandbox: what check
refuses (ilert's limits and the rules tying settings, templates and conditions with the
column of a mistake), names resolved through one listing per kind, what a refresh reads
(include-only settings from state while the source has not changed), what an update leaves
alone, and plans that settle (ilert's spelling, order and defaults are no change)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from pulumi.output import UNKNOWN

from clients.ilert import IlertClient
from providers.ilert_alert_source import (
    INCLUDE,
    SCHEMA,
    IlertAlertSourceProvider,
    UnknownReferenceError,
    reference_problems,
)
from sandbox import ILERT_TOKEN, Sandbox
from tests.ilert_openapi import check_request
from tests.providers.conftest import new_command
from tests.providers.test_alert_source_provider import checked, created, failures

BASE = {"name": "x", "escalation_policy": 1}
LINK = {"text": "Device", "href": "https://app.level.io/devices/{{ data.device_id }}"}


@pytest.mark.parametrize(
    ("inputs", "prop", "says"),
    [
        ({"link_templates": [LINK] * 11}, "link_templates",
         "link_templates has 11 link templates; ilert allows at most 10. Remove 1."),
        ({"link_templates": [{"text": "", "href": "https://x"}]}, "link_templates",
         "link_templates[0].text must be the link's name"),
        ({"link_templates": [{"text": "a", "href": "https://x/{{ id"}]}, "link_templates",
         "link_templates[0].href is not a valid ilert template (ITL): column 11: '{{' is "
         "never closed"),
        ({"link_templates": [{"text": "a", "url": "https://x"}]}, "link_templates",
         "link_templates[0] must be a mapping with text (the link's name) and href"),
        ({"services": list(range(1, 17))}, "services",
         "services has 16 services; ilert allows at most 15. Remove 1."),
        ({"services": [True]}, "services",
         "services[0] must be the id (a whole number up to 9007199254740991) or the exact name "
         "of a service in ilert; got true."),
        ({"services_template": ["{{ data.name }}"] * 11}, "services_template",
         "services_template has 11 templates; ilert allows at most 10. Remove 1."),
        ({"severity": 6}, "severity", "severity must be a whole number from 1 to 5"),
        ({"severity": True}, "severity", "severity must be a whole number from 1 to 5"),
        ({"score_threshold": 1.5}, "score_threshold", "score_threshold must be a number from 0 "
                                                      "to 1; got 1.5."),
        ({"score_threshold": 0.5}, "score_threshold",
         "score_threshold only applies when alert_creation is INTELLIGENT_GROUPING"),
        ({"auto_raise_alerts": True}, "auto_raise_alerts",
         "auto_raise_alerts needs support_hours"),
        ({"auto_raise_alerts": True, "support_hours": ""}, "auto_raise_alerts",
         "auto_raise_alerts needs support_hours"),
        ({"support_hours": True}, "support_hours", "support_hours must be the id (a whole "
         "number up to 9007199254740991) or the exact name of support hours in ilert; \"\" "
         "links none; got true."),
        ({"event_type_filter_create": "event.summary containz 'x'"}, "event_type_filter_create",
         "event_type_filter_create is not a valid ICL condition: column 15: unknown operator "
         "'containz'"),
        ({"summary_template": "{{ data.name.lowercase() }}"}, "summary_template",
         "summary_template is not a valid ilert template (ITL): column 14: unknown function "
         "'lowercase' (did you mean 'lowerCase'?)"),
        ({"priority_template": {"valueTemplate": "{{ data.severity }}", "mappings": [
            {"value": "critical", "priority": "URGENT"}]}}, "priority_template",
         "priority_template.mappings[0].priority must be HIGH or LOW; got 'URGENT'."),
        ({"priority_template": {"valueTemplate": "{{ data.severity }}", "mappings": [
            {"value": "a", "priority": "HIGH"}, {"value": "a", "priority": "LOW"}]}},
         "priority_template", "priority_template.mappings[1].value 'a' is mapped twice"),
        ({"severity_template": {"valueTemplate": "x", "mappings": []}}, "severity_template",
         "severity_template.mappings must be a non-empty list"),
        ({"severity_template": {"valueTemplate": "x", "mappings": [
            {"value": "a", "severity": 7}]}}, "severity_template",
         "severity_template.mappings[0].severity must be a whole number from 1 to 5"),
    ],
)
def test_check_names_each_setting_ilert_or_its_rules_refuse(
    alert_sources: IlertAlertSourceProvider, sandbox: Sandbox, inputs: dict[str, Any],
    prop: str, says: str
) -> None:
    found = failures(alert_sources, **BASE, **inputs)

    assert list(found) == [prop]
    assert says in found[prop]
    assert sandbox.count() == 0


def test_rules_about_values_still_unknown_wait_for_them(
    alert_sources: IlertAlertSourceProvider,
) -> None:
    """A preview of support hours or an alertCreation from another resource's Output."""
    assert failures(alert_sources, **BASE, auto_raise_alerts=True, support_hours=UNKNOWN) == {}
    assert failures(alert_sources, **BASE, score_threshold=0.5, alert_creation=UNKNOWN) == {}


def test_names_are_resolved_through_one_listing_per_kind(
    alert_sources: IlertAlertSourceProvider, sandbox: Sandbox
) -> None:
    _, outs, _ = created(alert_sources, **BASE, alert_priority_rule="LOW_DURING_SUPPORT_HOURS",
                         support_hours="US business hours", services=["Network", 1, "Backups"])
    created(alert_sources, name="y", escalation_policy=1, support_hours="Business hours",
            services=["Network"])

    assert (outs["support_hours"], outs["support_hours_id"]) == ("US business hours", 2)
    assert outs["services"] == [1, "Backups", "Network"]  # as declared, in ilert's order
    assert (outs["services_ids"], outs["services_names"]) == ([1, 2, 3], [
        "Client portal", "Backups", "Network"])
    assert sandbox.count("ilert", "GET", "/api/support-hours") == 1
    assert sandbox.count("ilert", "GET", "/api/services") == 1


@pytest.mark.parametrize(
    ("inputs", "says"),
    [
        ({"support_hours": "Nights"}, "support_hours 'Nights' matches no ilert support hours "
                                      "(names are exact and case-sensitive). Existing support "
                                      "hours: 'Business hours', 'US business hours'."),
        ({"services": ["Portal"]}, "services[0] 'Portal' matches no ilert service"),
    ],
)
def test_an_unknown_name_fails_the_create_listing_the_existing_ones(
    alert_sources: IlertAlertSourceProvider, sandbox: Sandbox, inputs: dict[str, Any], says: str
) -> None:
    with pytest.raises(UnknownReferenceError, match=re.escape(says)):
        alert_sources.create(checked(alert_sources, **BASE, **inputs))

    assert sandbox.ilert_alert_sources() == []


def test_a_name_two_services_share_is_refused_with_their_ids(
    alert_sources: IlertAlertSourceProvider, sandbox: Sandbox
) -> None:
    sandbox.ilert.add_service("Backups", "backups-2")

    with pytest.raises(UnknownReferenceError, match=r"'Backups' matches 2 ilert service "
                                                    r"objects \(ids 2, 4\); give the id"):
        alert_sources.create(checked(alert_sources, **BASE, services=["Backups"]))


EVERY = {
    **BASE,
    "alert_priority_rule": "HIGH_DURING_SUPPORT_HOURS", "support_hours": "Business hours",
    "auto_raise_alerts": True, "summary_template": "{{ data.name }}",
    "details_template": "{{ data.description }}", "link_templates": [LINK],
    "priority_template": {"valueTemplate": "{{ data.severity }}",
                          "mappings": [{"value": "warning", "priority": "LOW"}]},
    "severity": 3, "services": [2], "services_template": ["{{ data.name }}"],
    "event_type_filter_create": "event.summary != nil",
}


def test_a_refresh_reads_from_the_listing_while_the_source_has_not_changed(
    alert_sources: IlertAlertSourceProvider, sandbox: Sandbox
) -> None:
    source_id, outs, _ = created(alert_sources, **EVERY)
    new_command()
    alert_sources.read(source_id, outs)  # the listing is taken
    sandbox.requests.clear()

    read = alert_sources.read(source_id, outs)

    assert read.outs == outs
    assert sandbox.count() == 0  # include-only settings from state: updatedAt has not moved


def test_an_update_leaves_alone_what_the_inputs_leave_out_and_clears_empty_values(
    alert_sources: IlertAlertSourceProvider, sandbox: Sandbox
) -> None:
    source_id, outs, _ = created(alert_sources, **EVERY)
    news = checked(alert_sources, **BASE, summary_template="", link_templates=[],
                   priority_template={}, services=[])
    new_command()
    sandbox.requests.clear()

    alert_sources.update(source_id, outs, news)

    (get, put) = [(r.method, r.path) for r in sandbox.requests]
    assert get == ("GET", f"/api/alert-sources/{source_id}")  # what it leaves alone, read
    assert put == ("PUT", f"/api/alert-sources/{source_id}")
    live = sandbox.ilert.get_alert_source(source_id, INCLUDE)
    assert [live.get(key) for key in ("summaryTemplate", "linkTemplates", "priorityTemplate",
                                      "services")] == [None, [], None, []]  # cleared
    assert live["detailsTemplate"] == {"textTemplate": "{{data.description}}"}  # left alone
    assert live["supportHours"]["id"] == 1 and live["severity"] == 3
    assert live["servicesTemplate"] == [{"textTemplate": "{{data.name}}"}]
    assert live["eventTypeFilterCreate"] == "event.summary != nil"
    assert live["alertPriorityRule"] == "HIGH"  # declared by default: always managed


def test_the_update_body_is_one_ilerts_schema_accepts() -> None:
    args = SCHEMA.parse({**EVERY, "support_hours": 1, "services": [2]})
    live = {"supportHours": {"id": 1, "name": "Business hours", "timezone": "Europe/Berlin",
                             "supportDays": {}},
            "services": [{"id": 2, "name": "Backups"}], "alertKeyTemplate": {"elements": []}}
    body = {**SCHEMA.body(args, _NoNames()), **SCHEMA.kept(SCHEMA.parse(BASE), live)}

    check_request("AlertSourceRel", body)
    assert SCHEMA.kept(SCHEMA.parse(BASE), live) == {
        "supportHours": {"id": 1}, "services": [{"id": 2}], "alertKeyTemplate": {"elements": []},
    }


class _NoNames:
    def resolve(self, kind: str, ref: Any, setting: str) -> Any:
        return ref

    def name_of(self, kind: str, object_id: int | str) -> str | None:
        return None


@pytest.mark.parametrize(
    ("change", "changes"),
    [
        ({"summary_template": "{{data.name}}"}, False),  # ilert's spelling of the same
        ({"services": [2, "Backups"]}, False),  # one service, by id and by name
        ({"services_template": ["{{data.name}}"]}, False),
        ({"priority_template": {"valueTemplate": "{{data.severity}}",
                                "mappings": [{"value": "warning", "priority": "LOW"}]}}, False),
        ({"link_templates": [{**LINK, "href": LINK["href"].replace("{{ ", "{{")}]}, False),
        ({"summary_template": "{{ data.name }}!"}, True),
        ({"link_templates": [LINK, LINK]}, True),
        ({"support_hours": 2}, True),
        ({"support_hours": 1}, False),  # "Business hours" by its id
        ({"priority_template": {}}, True),
    ],
)
def test_diff_compares_as_ilert_keeps_them(
    alert_sources: IlertAlertSourceProvider, change: dict[str, Any], changes: bool
) -> None:
    source_id, outs, _ = created(alert_sources, **EVERY)

    found = alert_sources.diff(source_id, outs, checked(alert_sources, **{**EVERY, **change}))

    assert found.changes is changes


def test_a_setting_declared_for_the_first_time_is_a_change_even_when_empty(
    alert_sources: IlertAlertSourceProvider, sandbox: Sandbox
) -> None:
    """Nothing in state to compare with: ilert may hold one set by hand, and `[]`, `""` or
    `{}` must remove it (removing teams was once a silent no-op, TF #151)."""
    source_id, outs, _ = created(alert_sources, **BASE)
    sandbox.ilert_edit_alert_source(int(source_id), teams=[1], summaryTemplate="{{ data.x }}")

    found = alert_sources.diff(source_id, outs, checked(alert_sources, **BASE, teams=[],
                                                        summary_template=""))

    assert found.changes is True
    assert sorted(getattr(found.replaces, "detailed", {})) == ["summary_template", "teams"]


def client(sandbox: Sandbox) -> IlertClient:
    return IlertClient(sandbox.ilert_url, ILERT_TOKEN)


def test_the_preview_refuses_a_support_hours_rule_only_where_it_cannot_work(
    sandbox: Sandbox,
) -> None:
    """A rule that goes by support hours, without them: refused for a new source, left as
    it is on a source ilert has with that rule (a stack made before support hours were a
    setting) or with support hours linked by hand."""
    rule = {"alert_priority_rule": "LOW_DURING_SUPPORT_HOURS"}
    for name, settings in (("kept", {"alertPriorityRule": "LOW_DURING_SUPPORT_HOURS"}),
                           ("linked", {"supportHours": {"id": 2}})):
        sandbox.ilert.create_alert_source({"name": name, "integrationType": "LEVELIO",
                                           "escalationPolicy": {"id": 1}, **settings})
    inputs = [{"name": "new", **rule}, {"name": "kept", **rule}, {"name": "linked", **rule},
              {"name": "new", **rule, "support_hours": "Business hours"}]

    problems, requests = reference_problems(client(sandbox), inputs, "level-ilert:integrations")

    assert problems == [
        "level-ilert:integrations[0].supportHours: supportHours is required when "
        "alertPriorityRule is LOW_DURING_SUPPORT_HOURS: ilert gives LOW priority during them "
        "and the other one outside; set supportHours to the id or exact name of support hours "
        "in ilert (ilert: Alert sources > Support hours), or choose alertPriorityRule HIGH or "
        "LOW.",
    ]
    assert requests == 2  # the sources, the support hours: one page each


def test_the_preview_names_unknown_support_hours_and_services_by_their_path(
    sandbox: Sandbox,
) -> None:
    inputs: list[dict[str, Any]] = [
        {"name": "a", "support_hours": "Night shift", "services": [1, "Portal"]},
        {"name": "b", "support_hours": 9},
    ]

    problems, requests = reference_problems(client(sandbox), inputs, "level-ilert:integrations")

    assert [p.split(" matches")[0] for p in problems] == [
        "level-ilert:integrations[0].supportHours 'Night shift'",
        "level-ilert:integrations[0].services[1] 'Portal'",
    ]
    assert requests == 2
    assert reference_problems(client(sandbox), [{"name": "c"}], "x") == ([], 0)  # no request
