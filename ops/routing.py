"""Where a Level alert goes, from the live setup: ``make doctor``'s routing table and the test
alerts ``make verify`` builds.

Level decides which webhooks get an alert (enabled, subscribed to ``alert_active``, and a
device-group scope that covers the alert's device: its group or an ancestor of it; the
contract's "Group scope"); ilert then decides per alert source (active, Level.io type, and
an ``eventFilter`` that accepts the alert). Both halves are read live: Level's groups and
every webhook of the organisation (also those this stack does not manage), and for each
webhook the ilert source whose URL it is, with its filter. How ilert shows a Level alert
to ICL is the project's documented assumption (icl/condition.py ``level_context``; the
sandbox makes the same one in sandbox/icl_eval.py).

An "alert shape" is a group (or no group) and a severity; what else an alert says (its
name, hostname, text) is unknown to doctor, so a filter that reads it answers "maybe".
Each enabled webhook is one delivery: two webhooks to one source's URL make ilert open (or
append to) an alert twice, so that shape pages twice.

verify's test alert (``probe_for``) is chosen by the integration's *declared* routing
(``Declared``: its deviceGroups and eventFilter from the stack file), never by its live
webhook and filter, which may have been changed by hand.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import icl
from clients import level_groups
from clients.ilert import LEVEL_INTEGRATION_TYPE, AlertSource
from clients.level import ALERT_ACTIVE, Group, Webhook
from clients.level_groups import path_of
from clients.level_groups import resolve as resolve_groups
from components.settings import Integration

SEVERITIES = ("emergency", "critical", "warning", "information")
NO_GROUP = "(devices in no group)"
MAX_PROBES = 400


@dataclass(frozen=True)
class Receiver:
    """One webhook that delivers alerts, and what is behind its URL."""

    webhook: Webhook
    source: AlertSource | None  # the ilert source whose integration URL it is
    integration: Integration | None  # the stack's integration owning that source
    condition: icl.Node | None = None  # the source's eventFilter, parsed

    @property
    def label(self) -> str:
        """How a person knows it: the integration, an ilert source, or the webhook."""
        if self.integration is not None:
            return repr(self.integration.name)
        if self.source is not None:
            return f"{self.source.name!r} (ilert source {self.source.id}, not in this stack)"
        return f"webhook {self.webhook.id} (not an ilert alert source)"

    @property
    def pages(self) -> bool:
        """Whether an alert it covers opens an ilert alert: the webhook delivers
        ``alert_active`` and its URL is an active Level.io source."""
        webhook = self.webhook
        delivers = webhook.enabled and (
            webhook.event_types is None or ALERT_ACTIVE in webhook.event_types
        )
        return (
            delivers
            and self.source is not None
            and self.source.active
            and self.source.integration_type == LEVEL_INTEGRATION_TYPE
        )


@dataclass
class Routing:
    """Level's group tree, the delivering webhooks and the sources behind them."""

    groups: list[Group]
    receivers: list[Receiver]
    integrations: Sequence[Integration]
    by_id: dict[str, Group] = field(init=False)

    def __post_init__(self) -> None:
        self.by_id = {group.id: group for group in self.groups}

    @classmethod
    def of(
        cls,
        groups: Iterable[Group],
        webhooks: Iterable[Webhook],
        sources: Mapping[str, AlertSource],
        integrations: Sequence[Integration],
        owner: Mapping[int, Integration],
    ) -> Routing:
        """``sources`` by integration URL (full objects, with their filters); ``owner``: the
        stack's integration of each source id."""
        receivers = []
        for webhook in webhooks:
            source = sources.get(webhook.url)
            condition = None
            if source is not None and source.event_filter:
                try:
                    condition = icl.parse(source.event_filter)
                except icl.IclSyntaxError:
                    condition = None  # ilert would have refused it; treat as no filter
            integration = owner.get(source.id) if source is not None else None
            receivers.append(Receiver(webhook, source, integration, condition))
        return cls(list(groups), receivers, integrations)

    def where(self, group_id: str | None) -> str:
        """A group as people name it: ``Acme Corp > HQ``."""
        if group_id is None:
            return NO_GROUP
        group = self.by_id.get(group_id)
        return path_of(group, self.by_id) if group is not None else group_id

    def covers(self, webhook: Webhook, group_id: str | None) -> bool:
        """The contract's scope rule: org-wide, or the group or one of its ancestors."""
        return self.scope_covers(webhook.group_ids, group_id)

    def scope_covers(self, group_ids: Sequence[str] | None, group_id: str | None) -> bool:
        """Whether a scope (group ids; None: the organisation) covers a device's group."""
        return level_groups.covers(group_ids, group_id, self.by_id)

    def recipients(
        self, group_id: str | None, data: Mapping[str, object]
    ) -> tuple[list[Receiver], list[Receiver]]:
        """(receivers that surely open an alert, receivers that may) for one alert: one per
        delivering webhook, so two webhooks to one source's URL are two deliveries (ilert
        opens, or appends to, an alert for each: the source's people get it twice)."""
        context = _context(data)
        sure: list[Receiver] = []
        maybe: list[Receiver] = []
        for receiver in self.receivers:
            if not receiver.pages or not self.covers(receiver.webhook, group_id):
                continue
            verdict = True if receiver.condition is None else icl.evaluate(
                receiver.condition, context
            )
            if verdict is True:
                sure.append(receiver)
            elif verdict is None:
                maybe.append(receiver)
        return sure, maybe

    def allowed(self, a: Receiver, b: Receiver) -> bool:
        """Whether the stack says both may get the same alert (``sharesAlertsWith``); never
        two deliveries to one source."""
        if a.source is b.source or a.integration is None:
            return False
        return shares(a.integration, b.integration)

    def twice(self, sure: Sequence[Receiver]) -> bool:
        """Whether these receivers page for one alert more than the stack allows."""
        return any(not self.allowed(a, b) for a, b in itertools.combinations(sure, 2))


def shares(a: Integration, b: Integration | None) -> bool:
    """Whether the stack says two integrations may get the same alert (either names the
    other in ``sharesAlertsWith``)."""
    if b is None or b is a:
        return False
    return b.name in (a.shares_alerts_with or ()) or a.name in (b.shares_alerts_with or ())


def _context(data: Mapping[str, object]) -> dict[str, object]:
    known = all(data.get(k) is not icl.UNKNOWN for k in ("name", "device_hostname"))
    summary = icl.level_summary(data) if known else icl.UNKNOWN
    details_known = all(data.get(k) is not icl.UNKNOWN for k in ("description", "payload"))
    details = icl.level_details(data) if details_known else icl.UNKNOWN
    return {"event": {"summary": summary, "details": details, "customDetails": dict(data)}}


def shape(severity: str) -> dict[str, object]:
    """A Level alert of which only the severity is known."""
    return {
        "id": icl.UNKNOWN, "device_id": icl.UNKNOWN, "device_hostname": icl.UNKNOWN,
        "name": icl.UNKNOWN, "description": icl.UNKNOWN, "payload": icl.UNKNOWN,
        "severity": severity, "is_resolved": False, "started_at": icl.UNKNOWN,
        "resolved_at": None,
    }


@dataclass(frozen=True)
class Row:
    """One line of the routing table: a group, some severities, who opens an alert."""

    where: str
    severities: tuple[str, ...]
    sure: tuple[str, ...]
    maybe: tuple[str, ...]
    twice: bool
    nowhere: bool

    def text(self) -> str:
        """``Acme Corp > HQ, critical/warning → 'Level - Acme'``."""
        who = ", ".join(self.sure) or "nobody"
        if self.maybe:
            who += f"; maybe {', '.join(self.maybe)} (its filter reads what doctor cannot know)"
        flag = " ← pages twice" if self.twice else " ← pages nowhere" if self.nowhere else ""
        return f"{self.where}, {'/'.join(self.severities)} → {who}{flag}"


def labels(receivers: Sequence[Receiver]) -> tuple[str, ...]:
    """One label per source; a source that several webhooks deliver to says how many and
    which (``'Level - Acme' by 2 webhooks (a, b)``): each delivery pages its people."""
    webhooks: dict[str, list[str]] = {}
    for receiver in receivers:
        webhooks.setdefault(receiver.label, []).append(receiver.webhook.id)
    return tuple(
        label if len(ids) == 1 else f"{label} by {len(ids)} webhooks ({', '.join(ids)})"
        for label, ids in webhooks.items()
    )


def table(routing: Routing, with_devices: set[str | None]) -> list[Row]:
    """The routing table: one row per group and set of severities that go the same way.

    ``with_devices`` are the groups known to hold devices (None: devices in no group); a
    shape that pages nobody is flagged only there (an empty group pages nobody harmlessly).
    """
    rows: list[Row] = []
    places: list[str | None] = [group.id for group in routing.groups] + [None]
    for place in places:
        by_outcome: dict[tuple[tuple[str, ...], tuple[str, ...], bool], list[str]] = {}
        for severity in SEVERITIES:
            sure, maybe = routing.recipients(place, shape(severity))
            key = (labels(sure), labels(maybe), routing.twice(sure))
            by_outcome.setdefault(key, []).append(severity)
        for (sure_labels, maybe_labels, twice), severities in by_outcome.items():
            nowhere = not sure_labels and not maybe_labels and place in with_devices
            if place is None and not sure_labels and not maybe_labels and not nowhere:
                continue
            rows.append(Row(routing.where(place), tuple(severities), sure_labels, maybe_labels,
                            twice, nowhere))
    return rows


# ------------------------------------------------------------------------- test alerts


@dataclass(frozen=True)
class Declared:
    """An integration's routing as the stack file declares it: the device groups its webhook
    is scoped to (ids; None: the whole organisation) and its source's eventFilter, parsed.
    ``verify`` builds its test alert from this, never from the live objects, which may
    have drifted (a scope or filter changed by hand)."""

    group_ids: list[str] | None
    condition: icl.Node | None

    @classmethod
    def of(cls, integration: Integration, groups: Iterable[Group]) -> Declared:
        """Resolved against Level's groups; raises ``UnknownGroupError`` for a name that
        matches no group (or several)."""
        scope = None if integration.device_groups is None else resolve_groups(
            integration.device_groups, groups, "deviceGroups"
        )
        condition = icl.parse(integration.event_filter) if integration.event_filter else None
        return cls(scope, condition)


@dataclass(frozen=True)
class Probe:
    """A test alert for one integration: where to raise it and what it says."""

    group_id: str | None
    data: dict[str, object]
    expected: tuple[Receiver, ...]  # the receivers that will open an alert for it
    exclusive: bool  # True when no receiver beyond the integration (and its partners) gets it


def probe_for(
    routing: Routing, integration: Integration, declared: Declared, key: str
) -> Probe | None:
    """A test alert the integration's declared routing sends to its source: on a device in
    its declared groups, with a text and severity its declared eventFilter accepts,
    preferring one that no other source receives live. None when the filter accepts
    nothing this search can build (e.g. a ``regex`` on a field it cannot guess)."""
    # Org-wide: an existing group first, so the test device does not land in no group
    # (where doctor would then count a device that pages nobody).
    places: list[str | None] = list(declared.group_ids) if declared.group_ids is not None else [
        *(g.id for g in routing.groups), None
    ]
    fallback: Probe | None = None
    for place, data in itertools.islice(_candidates(places, declared.condition, key), MAX_PROBES):
        if not routing.scope_covers(declared.group_ids, place) or not (
            declared.condition is None or icl.matches(declared.condition, _context(data))
        ):
            continue
        sure, _maybe = routing.recipients(place, data)
        others = [r for r in sure if r.integration is not integration
                  and not shares(integration, r.integration)]
        probe = Probe(place, data, tuple(sure), not others)
        if not others:
            return probe
        fallback = fallback or probe
    return fallback


def _candidates(
    places: Sequence[str | None], condition: icl.Node | None, key: str
) -> Iterable[tuple[str | None, dict[str, object]]]:
    """Alerts to try, plain ones first, then ones built from the filter's own words."""
    words: list[str] = []
    if condition is not None:
        for _compare, value in icl.literals(condition):
            for item in value if isinstance(value, tuple) else (value,):
                if isinstance(item, str) and item not in words:
                    words.append(item)
    texts = [f"level-ilert verify {key}", *(f"{w} (level-ilert verify {key})" for w in words),
             *(w for w in words)]
    severities = [*(w.lower() for w in words if w.lower() in SEVERITIES), *SEVERITIES]
    for severity in dict.fromkeys(severities):
        for place in places:
            for text in texts:
                yield place, {
                    "id": key, "device_id": None, "device_hostname": _hostname(text, place),
                    "name": text, "description": text, "payload": None,
                    "severity": severity, "is_resolved": False, "started_at": None,
                    "resolved_at": None,
                }


def _hostname(text: str, place: str | None) -> str:
    """The test device's name: the text itself when it is one word (a filter may ask for a
    hostname), else one per group, so repeated runs reuse one test device per group."""
    if text and " " not in text:
        return text
    suffix = hashlib.sha256((place or "").encode()).hexdigest()[:6].upper()
    return f"LEVEL-ILERT-VERIFY-{suffix}"
