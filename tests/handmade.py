"""A hand-made Level-to-ilert setup in the sandbox, as teams build it by Level's manual steps.

Twelve Level.io alert sources, healthy and broken, spread over three pages of ilert's
alert-source listing (ilert pages by 50: the sources sit between API-type sources that
other teams made), an orphan webhook (its source was deleted) and a webhook to another
service. ``seed`` builds it through the sandbox's own services, i.e. with the same
validation as the APIs; ``python -m tests.handmade --state .sandbox/world.json`` writes it
into the world file of the Makefile's sandbox (stopped), for a run of ``make discover`` by
hand (README: Start from what you have).

The healthy ones route as an MSP would (by client group, emergencies org-wide), so nothing
pages twice among them. The broken ones are each of the kinds discover must name.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox import Sandbox

WEBHOOK_SECRET = "whsec-handmade-7c1e"
NOT_EMERGENCY = "event.customDetails.severity != 'emergency'"
EMERGENCY = "event.customDetails.severity == 'emergency'"
FILLERS = 108  # API sources of other teams: with the 12 + 1 deleted, 121 sources, 3 pages
#: After how many fillers each Level.io source is made: 4 on each page of 50.
LEVEL_AT = (3, 10, 25, 40, 52, 60, 75, 90, 101, 104, 106, 107)

#: "templates" uses ilert's templates, support hours, links and services, which the stack
#: file manages since issue 24: healthy, taken over without a change.
HEALTHY = ("acme", "globex", "emergencies", "initech", "night", "templates")
BROKEN = ("one-event", "disabled", "inactive", "no-webhook", "two-webhooks", "shares-acme")


@dataclass
class Handmade:
    """What ``seed`` made: source ids and webhook ids by case, and the loose webhooks."""

    sources: dict[str, int] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    webhooks: dict[str, list[str]] = field(default_factory=dict)
    orphan: str = ""
    elsewhere: str = ""
    group_ids: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Case:
    """One hand-made integration: the source's settings and its webhooks' (0, 1 or 2)."""

    name: str
    source: dict[str, Any]
    webhooks: tuple[dict[str, Any], ...]


def _cases(group: Callable[[str], str], night_shift: int) -> dict[str, Case]:
    both = ["alert_active", "alert_resolved"]
    return {
        "acme": Case("Level - Acme Corp", {"escalationPolicy": {"id": 1},
                                           "eventFilter": NOT_EMERGENCY},
                     ({"event_types": both, "group_ids": [group("Acme Corp")]},)),
        "globex": Case("Level - Globex", {
            "escalationPolicy": {"id": 1}, "alertCreation": "ONE_ALERT_GROUPED_PER_WINDOW",
            "alertGroupingWindow": "PT5M", "alertPriorityRule": "LOW",
            "autoResolutionTimeout": "PT2H", "teams": [{"id": 1}], "eventFilter": NOT_EMERGENCY,
        }, ({"event_types": both, "group_ids": [group("Globex")]},)),
        "emergencies": Case("Level - Emergencies (on-call)", {
            "escalationPolicy": {"id": 2}, "teams": [{"id": 1}, {"id": 2}],
            "eventFilter": EMERGENCY,
        }, ({"event_types": None},)),  # "Send all event types" in Level's UI
        "initech": Case("Level - Initech", {"escalationPolicy": {"id": 1},
                                             "eventFilter": NOT_EMERGENCY},
                        ({"event_types": both, "group_ids": [group("Initech")],
                          "secret": WEBHOOK_SECRET},)),
        "night": Case("Level - Hooli lab (night shift)", {
            "escalationPolicy": {"id": night_shift}, "eventFilter": NOT_EMERGENCY,
        }, ({"event_types": both, "group_ids": [group("Hooli/Lab")]},)),
        "one-event": Case("Level - Vandelay", {"escalationPolicy": {"id": 1},
                                                "eventFilter": NOT_EMERGENCY},
                          ({"event_types": ["alert_active"], "group_ids": [group("Vandelay")]},)),
        "disabled": Case("Level - Stark (paused)", {"escalationPolicy": {"id": 1}},
                         ({"event_types": both, "enabled": False,
                           "group_ids": [group("Stark")]},)),
        "inactive": Case("Level - Wayne (inactive)", {"escalationPolicy": {"id": 1},
                                                       "active": False},
                         ({"event_types": both, "group_ids": [group("Wayne")]},)),
        "no-webhook": Case("Level - Umbrella (no webhook)", {"escalationPolicy": {"id": 1}}, ()),
        "two-webhooks": Case("Level - Tyrell (twice)", {"escalationPolicy": {"id": 1},
                                                         "eventFilter": NOT_EMERGENCY},
                             ({"event_types": both, "group_ids": [group("Tyrell")]},
                              {"event_types": both, "group_ids": [group("Tyrell")]})),
        "templates": Case("Level - Cyberdyne (templates)", {
            "escalationPolicy": {"id": 1}, "eventFilter": NOT_EMERGENCY,
            "summaryTemplate": {"textTemplate": "{{ name }} on {{ device_hostname }}"},
            "severity": 2,
            "alertPriorityRule": "HIGH_DURING_SUPPORT_HOURS", "supportHours": {"id": 1},
            "autoRaiseAlerts": True, "services": [{"id": 2}],
            "linkTemplates": [{"text": "Runbook", "hrefTemplate": {
                "textTemplate": "https://wiki.example.com/{{ data.name.lowerCase() }}"}}],
        }, ({"event_types": both, "group_ids": [group("Cyberdyne")]},)),
        "shares-acme": Case("Level - Acme NOC board", {"escalationPolicy": {"id": 2}},
                            ({"event_types": both, "group_ids": [group("Acme Corp")]},)),
    }


def _groups(sandbox: Sandbox) -> dict[str, str]:
    """Groups beyond the seed's (Acme Corp, Globex): a client each, and two sites named
    "Lab" (a group name two groups have, so it is written by id)."""
    made = {}
    for client in ("Initech", "Hooli", "Vandelay", "Stark", "Wayne", "Tyrell", "Cyberdyne"):
        made[client] = sandbox.level_add_group(client)["id"]
    made["Hooli/Lab"] = sandbox.level_add_group("Lab", made["Hooli"])["id"]
    made["Vandelay/Lab"] = sandbox.level_add_group("Lab", made["Vandelay"])["id"]
    for seeded in ("Acme Corp", "Globex"):
        made[seeded] = sandbox.level_group_id(seeded)
    return made


def _source(sandbox: Sandbox, name: str, integration_type: str, **fields: Any) -> dict[str, Any]:
    body = {"name": name, "integrationType": integration_type, **fields}
    body.setdefault("escalationPolicy", {"id": 1})
    return sandbox.ilert.create_alert_source(body, ["eventFilter"])


def seed(sandbox: Sandbox) -> Handmade:
    """Build the hand-made setup in ``sandbox`` (started, or only set up for a state file)."""
    made = Handmade()
    made.group_ids = _groups(sandbox)
    sandbox.ilert_add_escalation_policy("Night shift")
    night_shift = sandbox.ilert_add_escalation_policy("Night shift")["id"]
    cases = _cases(made.group_ids.__getitem__, night_shift)
    order = iter(cases.items())
    for filler in range(FILLERS + 1):
        for _ in range(LEVEL_AT.count(filler)):
            key, case = next(order)
            source = _source(sandbox, case.name, "LEVELIO", **case.source)
            made.sources[key], made.names[key] = source["id"], case.name
            made.webhooks[key] = [
                sandbox.level.create_webhook({"url": source["integrationUrl"], **hook})["id"]
                for hook in case.webhooks
            ]
        if filler < FILLERS:
            _source(sandbox, f"API - team {filler:03d}", "API")
        if filler == 30:  # a source deleted by hand, its webhook left behind
            gone = _source(sandbox, "Level - Old setup", "LEVELIO")
            made.orphan = sandbox.level.create_webhook(
                {"url": gone["integrationUrl"], "event_types": ["alert_active", "alert_resolved"]}
            )["id"]
            sandbox.ilert_delete_alert_source(gone["id"])
    made.elsewhere = sandbox.level.create_webhook(
        {"url": "http://localhost:9/chat-hook", "event_types": None}
    )["id"]
    return made


def main() -> None:
    """Write the setup into a sandbox world file (the Makefile's sandbox must be stopped)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--state", type=Path, required=True, help="e.g. .sandbox/world.json")
    parser.add_argument("--ilert-url", default="http://127.0.0.1:8790",
                        help="the base URL the sandbox will serve ilert on")
    args = parser.parse_args()
    if args.state.exists():
        parser.error(f"{args.state} exists: stop the sandbox (make sandbox-stop) and move it away")
    args.state.parent.mkdir(parents=True, exist_ok=True)
    sandbox = Sandbox(state_file=args.state)  # not started: only its services and world
    sandbox.ilert.base_url = args.ilert_url
    made = seed(sandbox)
    port = args.ilert_url.rsplit(":", 1)[-1]
    print(f"seeded {args.state}: {len(made.sources)} Level.io sources, orphan webhook "
          f"{made.orphan}; now serve it on the ports of --ilert-url: python -m sandbox "
          f"--ilert-port {port} --level-port <port> --state {args.state}")


if __name__ == "__main__":
    main()
