"""A seeded generator of valid stack-file integrations over every alert-source setting.

Issue 24's "plans settle" proof: for each generated entry, ``up``, then a drift check is
clean, then a second ``up`` changes nothing. tests/providers/test_random_settings.py runs
many entries in-process through the providers; tests/cli/test_ilert_settings.py a few
through the real CLI. Each entry writes the stack file's own shapes, in the spellings people
use (``{{data.name}}`` and ``{{ data.name }}``, references by id and by exact name, lists in
any order, duplicates, ints for floats), so that what ilert normalises or orders its own way
is exercised; every entry passes the stack file's validation (the rules tying settings
included). The sandbox's seeds give the support hours (1 "Business hours", 2 "US business
hours"), services (1 "Client portal", 2 "Backups", 3 "Network"), teams (1, 2) and policies
(1 "Default", 2 "On-call L1") it refers to.
"""

from __future__ import annotations

import random
from typing import Any

SEED = 24
MODES = (
    "ONE_ALERT_PER_EMAIL", "ONE_ALERT_PER_EMAIL_SUBJECT", "ONE_PENDING_ALERT_ALLOWED",
    "ONE_OPEN_ALERT_ALLOWED", "OPEN_RESOLVE_ON_EXTRACTION", "ONE_ALERT_GROUPED_PER_WINDOW",
    "INTELLIGENT_GROUPING",
)
WINDOWS = ("PT2M", "PT5M", "PT15M", "PT30M", "PT1H", "PT2H", "PT4H", "PT8H", "PT12H", "PT24H")
TIMEOUTS = ("PT10M", "PT30M", "PT60M", "PT90M", "PT2H", "PT6H", "PT12H", "PT24H")
RULES = ("HIGH", "LOW", "HIGH_DURING_SUPPORT_HOURS", "LOW_DURING_SUPPORT_HOURS")
POLICIES: tuple[int | str, ...] = (1, 2, "Default", "On-call L1")
SUPPORT_HOURS: tuple[int | str, ...] = (1, 2, "Business hours", "US business hours")
SERVICES: tuple[int | str, ...] = (1, 2, 3, "Client portal", "Backups", "Network")
CONDITIONS = (
    "event.customDetails.severity != 'information'",
    "event.customDetails.severity in ['critical', 'emergency']",
    "event.customDetails.device_hostname starts_with 'ACME-'",
    "event.summary not contains 'test' and event.customDetails.severity != 'warning'",
    "(event.customDetails.name contains 'disk') or event.customDetails.severity == 'emergency'",
)
TEMPLATES = (
    "{{ data.name }} on {{ data.device_hostname }}",
    "{{data.device_hostname}}: {{data.name}}",
    "{{ data.severity.upperCase() }} {{ data.name }}",
    '{{ data.description.substring(0, 40) }}',
    '{{ data.severity.equalsTake("emergency", "SEV1") }} on {{ data.device_hostname }}',
    "{{#data.payload}}payload: {{ data.payload }}{{/data.payload}}",
    "{{ ^data.payload }}no payload{{ /data.payload }} {{data.id}}",
    "Level alert {{ data.id }}",
    'Host {{ data.device_hostname.replaceAll("-", " ") }}',
)
KEYS = ("{{ data.id }}", "{{data.device_id}}-{{data.name}}", "{{ data.device_hostname }}")
HREFS = (
    "https://app.level.io/devices/{{ data.device_id }}",
    "https://app.level.io/alerts/{{data.id}}",
    "https://wiki.example.com/runbooks/{{ data.name.lowerCase() }}",
    "https://status.example.com",
)
SEVERITIES = ("information", "warning", "critical", "emergency")


def _maybe(rng: random.Random, chance: float = 0.5) -> bool:
    return rng.random() < chance


def _respell(rng: random.Random, template: str) -> str:
    """The same template with other whitespace in its tags (what ilert normalises)."""
    if _maybe(rng):
        return template
    return template.replace("{{ ", "{{").replace(" }}", "}}") if "{{ " in template else (
        template.replace("{{", "{{ ").replace("}}", " }}")
    )


def _mapping(rng: random.Random, target: str) -> dict[str, Any]:
    if _maybe(rng, 0.15):
        return {}
    chosen = rng.sample(SEVERITIES, rng.randint(1, len(SEVERITIES)))
    mappings = [
        {"value": value,
         target: rng.choice(("HIGH", "LOW")) if target == "priority" else rng.randint(1, 5)}
        for value in chosen
    ]
    return {"valueTemplate": _respell(rng, "{{ data.severity }}"), "mappings": mappings}


def integration(rng: random.Random, name: str) -> dict[str, Any]:  # noqa: PLR0912
    """One valid stack-file entry over a random subset of every alert-source setting."""
    entry: dict[str, Any] = {"name": name, "escalationPolicy": rng.choice(POLICIES)}
    mode = rng.choice((None, *MODES))
    if mode is not None:
        entry["alertCreation"] = mode
    if mode in ("ONE_ALERT_GROUPED_PER_WINDOW", "INTELLIGENT_GROUPING"):
        entry["alertGroupingWindow"] = rng.choice(WINDOWS)
    if mode == "INTELLIGENT_GROUPING" and _maybe(rng, 0.7):
        entry["scoreThreshold"] = rng.choice((0, 1, 0.5, round(rng.random(), 3)))
    rule = rng.choice((None, *RULES))
    if rule is not None:
        entry["alertPriorityRule"] = rule
    linked = rule in RULES[2:] or _maybe(rng, 0.3)
    if linked:
        entry["supportHours"] = rng.choice(SUPPORT_HOURS)
    elif _maybe(rng, 0.1):
        entry["supportHours"] = ""
    if linked and _maybe(rng):
        entry["autoRaiseAlerts"] = rng.choice((True, False))
    elif _maybe(rng, 0.1):
        entry["autoRaiseAlerts"] = False
    if _maybe(rng, 0.3):
        entry["autoResolutionTimeout"] = rng.choice(TIMEOUTS)
    if _maybe(rng, 0.3):
        entry["teams"] = rng.choice(([], [1], [2, 1], [1, 2, 1]))
    if _maybe(rng, 0.2):
        entry["active"] = rng.choice((True, False))
    if _maybe(rng, 0.3):
        entry["eventFilter"] = rng.choice(CONDITIONS)
    for key in ("eventTypeFilterCreate", "eventTypeFilterAccept", "eventTypeFilterResolve"):
        if _maybe(rng, 0.35):
            entry[key] = rng.choice(("", *CONDITIONS))
    for key in ("summaryTemplate", "detailsTemplate"):
        if _maybe(rng):
            entry[key] = rng.choice(("", *(_respell(rng, t) for t in TEMPLATES)))
    if _maybe(rng, 0.2):
        entry["routingTemplate"] = rng.choice(("", "{{ data.device_hostname.lowerCase() }}"))
    if _maybe(rng, 0.3):
        entry["alertKeyTemplate"] = rng.choice(("", *(_respell(rng, k) for k in KEYS)))
    if _maybe(rng, 0.5):
        entry["linkTemplates"] = [
            {"text": f"Link {index + 1}: {rng.choice(('Level', 'Runbook', 'Status'))}",
             "href": _respell(rng, rng.choice(HREFS))}
            for index in range(rng.choice((0, 1, 2, 3, 10)))
        ]
    if _maybe(rng, 0.4):
        entry["priorityTemplate"] = _mapping(rng, "priority")
    if _maybe(rng, 0.3):
        entry["severityTemplate"] = _mapping(rng, "severity")
    if _maybe(rng, 0.4):
        entry["severity"] = rng.randint(1, 5)
    if _maybe(rng, 0.5):
        chosen = rng.sample(SERVICES, rng.randint(0, 4))
        entry["services"] = chosen
    if _maybe(rng, 0.3):
        entry["servicesTemplate"] = [
            _respell(rng, t) for t in rng.sample(("{{ data.name }}", "backups, network",
                                                  "{{data.device_hostname}}"),
                                                 rng.randint(0, 3))
        ]
    if _maybe(rng, 0.3):
        entry["autoCreateServices"] = rng.choice((True, False))
    return entry


def stack_file(rng: random.Random, prefix: str, count: int) -> list[dict[str, Any]]:
    """``count`` entries that may page for the same alerts and say so (sharesAlertsWith)."""
    entries = [integration(rng, f"{prefix} {index}") for index in range(count)]
    for index, entry in enumerate(entries[:-1]):
        entry["sharesAlertsWith"] = [other["name"] for other in entries[index + 1:]]
    return entries
