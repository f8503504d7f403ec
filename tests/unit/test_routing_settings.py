"""The routing keys of the stack file (deviceGroups, eventFilter, sharesAlertsWith) and the
preview's rule that no Level alert pages twice by accident (components/routing.py)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import pytest

from components import routing
from components.settings import INTEGRATIONS_KEY, SettingsError, StackSettings, load_settings

CRITICAL = "event.customDetails.severity == 'critical'"


def load(*integrations: dict[str, Any], check_routing: bool = True) -> StackSettings:
    config: dict[str, object] = {INTEGRATIONS_KEY: list(integrations)}
    secrets = {"ilert:apiToken": "t", "level:apiKey": "k"}
    return load_settings(config.get, secrets.get, environ={}, check_routing=check_routing)


def one(name: str, **keys: Any) -> dict[str, Any]:
    return {"name": name, "escalationPolicy": 1, **keys}


def test_routing_keys_reach_the_resources_inputs() -> None:
    (acme,) = load(one("Acme", deviceGroups=["Acme Corp"], eventFilter=CRITICAL)).integrations
    assert acme.webhook_inputs("https://x.test/h")["device_groups"] == ["Acme Corp"]
    assert acme.alert_source_inputs()["event_filter"] == CRITICAL


@pytest.mark.parametrize(
    ("keys", "line"),
    [
        ({"deviceGroups": []}, "level-ilert:integrations[0].deviceGroups: deviceGroups must not "
                               "be an empty list: a webhook scoped to no group delivers "
                               "nothing."),
        ({"deviceGroups": ["Acme", "Acme"]}, "deviceGroups lists 'Acme' twice."),
        ({"eventFilter": "event.summary containz 'disk'"},
         "level-ilert:integrations[0].eventFilter: eventFilter is not a valid ICL condition: "
         "column 15: unknown operator 'containz' (did you mean 'contains'?)\n"
         "  event.summary containz 'disk'\n                ^"),
        ({"eventFilter": "(event.x == 1"}, "column 1: this '(' is never closed; add ')'"),
        ({"sharesAlertsWith": ["Acme"]}, "level-ilert:integrations[0].sharesAlertsWith: 'Acme' is "
                                         "this integration itself; list others."),
        ({"sharesAlertsWith": ["NOC"]}, "level-ilert:integrations[0].sharesAlertsWith: no "
                                        "integration of this stack is named 'NOC'; the "
                                        "integrations are 'Acme'."),
    ],
)
def test_bad_routing_keys_name_the_config_path(keys: dict[str, Any], line: str) -> None:
    with pytest.raises(SettingsError, match="Invalid stack config") as caught:
        load(one("Acme", **keys))
    assert line in str(caught.value)


def test_a_misspelled_partner_gets_a_suggestion() -> None:
    with pytest.raises(SettingsError, match="named 'Globx'; did you mean 'Globex'"):
        load(one("Acme", sharesAlertsWith=["Globx"]), one("Globex"))


def test_two_org_wide_unfiltered_integrations_fail_naming_both_and_both_ways_out() -> None:
    with pytest.raises(SettingsError, match=r"^Two integrations") as caught:
        load(one("Acme"), one("Servers"))
    assert str(caught.value) == (
        "Two integrations would page for the same Level alert:\n"
        "- level-ilert:integrations[0] ('Acme') and level-ilert:integrations[1] ('Servers') "
        "would both open an ilert alert for the same Level alert: both are org-wide (no "
        "deviceGroups), and neither has an eventFilter. Each such alert pages two escalation "
        "policies. Either scope or filter them apart (deviceGroups with different groups, or "
        "eventFilters that cannot both be true, e.g. event.customDetails.severity == "
        "'emergency' on one and event.customDetails.severity != 'emergency' on the other), or "
        "say that both should receive it: sharesAlertsWith: ['Servers'] on "
        "level-ilert:integrations[0]."
    )


@pytest.mark.parametrize(
    ("first", "second", "why"),
    [
        ({}, {"deviceGroups": ["Globex"]}, "'Acme' is org-wide (no deviceGroups), so it also "
                                           "gets the other's alerts, and neither has"),
        ({"deviceGroups": ["Globex"]}, {}, "'Servers' is org-wide (no deviceGroups), so it "
                                           "also gets the other's alerts, and neither has"),
        ({"deviceGroups": ["Acme Corp", "Globex"]}, {"deviceGroups": ["Globex"]},
         "both list the device group 'Globex'"),
        ({"eventFilter": CRITICAL}, {}, "'Servers' has no eventFilter (it accepts every alert)"),
        ({}, {"eventFilter": CRITICAL}, "'Acme' has no eventFilter (it accepts every alert)"),
        ({"eventFilter": CRITICAL}, {"eventFilter": "event.summary contains 'disk'"},
         "both are org-wide (no deviceGroups), and their eventFilters do not exclude each other "
         "(compared as written). Each such alert"),
    ],
)
def test_overlaps_the_stack_file_shows_fail(
    first: dict[str, Any], second: dict[str, Any], why: str
) -> None:
    with pytest.raises(SettingsError, match="would page for the same Level alert") as caught:
        load(one("Acme", **first), one("Servers", **second))
    assert why in str(caught.value)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ({"deviceGroups": ["Acme Corp"]}, {"deviceGroups": ["Globex"]}),  # doctor checks the tree
        ({"eventFilter": CRITICAL},
         {"eventFilter": "event.customDetails.severity in ['warning', 'information']"}),
        ({"eventFilter": "event.customDetails.severity == 'emergency'"},
         {"eventFilter": "event.customDetails.severity != 'emergency'"}),
        ({"sharesAlertsWith": ["Servers"]}, {}),
        ({}, {"sharesAlertsWith": ["Acme"]}),
        ({"active": False}, {}),  # pages nobody
        ({}, {"webhookEnabled": False}),
    ],
)
def test_what_cannot_page_twice_passes(first: dict[str, Any], second: dict[str, Any]) -> None:
    assert len(load(one("Acme", **first), one("Servers", **second)).integrations) == 2


def test_doctor_reads_an_overlapping_stack_to_report_it_live() -> None:
    settings = load(one("Acme"), one("Servers"), check_routing=False)
    assert [i.name for i in settings.integrations] == ["Acme", "Servers"]


@pytest.mark.parametrize(
    ("scoped", "last"),
    [
        (10, "sharesAlertsWith: ['Client 9'] on level-ilert:integrations[0]."),  # all ten shown
        (11, "- ... and 1 more pair."),
        (14, "- ... and 4 more pairs."),
    ],
)
def test_many_pairs_are_listed_up_to_ten(scoped: int, last: str) -> None:
    # One org-wide integration overlaps each of the scoped ones (which overlap no other).
    clients = (one(f"Client {n}", deviceGroups=[f"Client {n}"]) for n in range(scoped))
    with pytest.raises(SettingsError, match=r"^Two integrations") as caught:
        load(one("NOC"), *clients)
    message = str(caught.value)
    assert message.count("\n- level-ilert:integrations[") == 10
    assert message.endswith(last)


def test_a_pair_that_shares_alerts_does_not_hide_the_pairs_after_it() -> None:
    with pytest.raises(SettingsError, match=r"^Two integrations") as caught:
        load(one("Acme", sharesAlertsWith=["Servers"]), one("Servers"), one("NOC"))
    pairs = [line.split(" would both")[0] for line in str(caught.value).splitlines()[1:]]
    assert pairs == [
        "- level-ilert:integrations[0] ('Acme') and level-ilert:integrations[2] ('NOC')",
        "- level-ilert:integrations[1] ('Servers') and level-ilert:integrations[2] ('NOC')",
    ]


@dataclass(frozen=True)
class Entry:
    """An integration as the routing check sees it."""

    name: str
    device_groups: list[str] | None
    event_filter: str | None = None
    shares_alerts_with: list[str] | None = None
    active: bool = True
    webhook_enabled: bool = True


def test_only_pairs_that_can_share_a_scope_are_compared_and_none_is_missed() -> None:
    """The candidate pairs are exactly the pairs ``shared_scope`` does not rule out, for
    random stacks of org-wide and scoped integrations (lists with repeats and overlaps)."""
    draw = random.Random(18)
    for _ in range(200):
        entries = [
            Entry(
                f"i{n}",
                None if draw.random() < 0.15
                else [f"g{draw.randrange(6)}" for _ in range(draw.randrange(0, 3))],
            )
            for n in range(draw.randrange(0, 12))
        ]
        every_pair = [
            (a, b)
            for a in range(len(entries))
            for b in range(a + 1, len(entries))
            if routing.shared_scope(entries[a], entries[b]) is not None
        ]
        assert routing.scope_candidates(entries) == every_pair, entries
