"""``python -m ops audit``: the Level side proven from evidence, in either mode.

``make drift`` compares the declared state with the live objects (in manual mode: the ilert
side only); ``make doctor`` reads the objects. Neither can see a hand-made Level webhook,
which no Level API shows. The audit looks at what actually happened instead, over a window
(default the last 24 hours):

- **Level**: every alert Level raised in the window (``GET /v2/alerts``, pages of 100), each
  device's group (``GET /v2/devices``) and the group tree (``GET /v2/groups``);
- **the declared routing**: which of the stack's integrations each alert should reach (its
  ``deviceGroups`` over the live group tree, its ``eventFilter`` evaluated on the alert as
  ilert is assumed to see it: ``icl.level_context``); integrations declared ``active:
  false`` or ``webhookEnabled: false`` should receive nothing;
- **ilert**: the alerts its Level.io sources opened in the window (``GET /api/alerts`` with
  several ``sources`` and ``from``/``until``, pages of 100), matched to Level's alerts by key
  (ops/alert_key.py: the ilert ``alertKey`` is assumed to be the Level alert's id).

Each difference is a finding that names the integration, the Level alert, the most likely
cause and its fix (in manual mode the UI step to check): an alert that never opened (no
webhook, disabled, wrong URL, ``alert_active`` not sent, source inactive, filter rejected),
one that opened on another source instead or as well, one resolved in Level but still open
in ilert (``alert_resolved`` not sent), one opened more than once. In api mode the causes
are read from the webhooks themselves (the pinned contract); in manual mode from the
evidence alone, and where the evidence cannot tell several causes apart the finding names
them all. A window without alerts for the stack is "nothing to judge": never "healthy".

Alerts that started in the last ``settle`` seconds (default 120: Level retries a delivery
for minutes) are counted, not judged. Only GETs are sent: a read-only Level key and ilert's
API key are enough. Exit codes: 0 clean or nothing to judge, 1 findings, 2 could not run.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import icl
from clients.http import ApiError
from clients.ilert import LEVEL_INTEGRATION_TYPE, Alert, AlertSource
from clients.level import (
    ALERT_ACTIVE,
    ALERT_RESOLVED,
    Device,
    Group,
    LevelAlert,
    Webhook,
    WebhookManagementUnavailableError,
)
from clients.level_groups import UnknownGroupError, path_of
from clients.level_groups import covers as covers_group
from clients.level_groups import resolve as resolve_groups
from components.settings import Integration
from ops import alert_key
from ops.doctor import Apis
from ops.ids import Outputs, find_webhook, ids_for
from ops.stack import Stack

DEFAULT_WINDOW = timedelta(hours=24)
DEFAULT_SETTLE = 120.0  # seconds: Level retries a delivery for minutes (3 attempts)
SOURCES_PER_QUERY = 50  # ilert alert sources per GET /api/alerts (``sources`` repeated)
CLOCK_SKEW = timedelta(minutes=5)  # ilert's reportTime may trail or lead Level's started_at
OPEN_STATES = ("PENDING", "ACCEPTED")
ALERTS_SHOWN = 5  # per finding group in the text report

Kind = Literal["missing", "instead", "also", "unresolved", "duplicate", "setup"]
KIND_TITLES: dict[str, str] = {
    "missing": "should have opened here and opened nowhere in ilert",
    "instead": "should have opened here and opened on another source instead",
    "also": "opened here although the declared routing does not send them here",
    "unresolved": "resolved in Level, still open in ilert",
    "duplicate": "opened more than once for one Level alert",
    "setup": "could not be judged",
}


class AuditError(Exception):
    """The audit could not run (exit 2); the message names the fix."""


@dataclass(frozen=True)
class Window:
    """The Level alerts judged: started in [since, until), and at least ``settle`` seconds
    before ``now``."""

    since: datetime
    until: datetime
    now: datetime
    settle: float = DEFAULT_SETTLE

    @classmethod
    def last(cls, length: timedelta, settle: float = DEFAULT_SETTLE,
             now: datetime | None = None) -> Window:
        """The window that ends now."""
        moment = now or datetime.now(UTC)
        return cls(moment - length, moment, moment, settle)

    @property
    def judged_until(self) -> datetime:
        """Alerts that started after this are too recent to judge."""
        return min(self.until, self.now - timedelta(seconds=self.settle))

    def text(self) -> str:
        """``2026-12-07T10:00:00Z to 2026-12-08T10:00:00Z (24 h)``; under an hour in minutes."""
        seconds = (self.until - self.since).total_seconds()
        length = f"{seconds / 3600:.3g} h" if seconds >= 3600 else f"{seconds / 60:.3g} min"
        return f"{iso(self.since)} to {iso(self.until)} ({length})"


@dataclass(frozen=True)
class Finding:
    """One thing that did not happen as declared: an integration, a Level alert, why, and
    the fix. ``level_alert`` is None for a finding about the integration's setup."""

    integration: str
    level_alert: str | None
    kind: Kind
    cause_id: str
    cause: str
    fix: str
    alert: str = ""  # the Level alert as a person reads it
    ilert_alerts: tuple[int, ...] = ()

    def as_json(self) -> dict[str, Any]:
        """The interface drift.yml reads: integration, level_alert, cause, fix (and more)."""
        return {
            "integration": self.integration, "level_alert": self.level_alert,
            "cause": self.cause, "fix": self.fix, "kind": self.kind,
            "cause_id": self.cause_id, "alert": self.alert,
            "ilert_alerts": list(self.ilert_alerts),
        }


@dataclass
class Tally:
    """Per integration: how many Level alerts it should have received, and what happened."""

    expected: int = 0
    opened: int = 0
    resolved_in_level: int = 0
    resolved_in_ilert: int = 0
    undecided: int = 0  # its eventFilter reads what only ilert knows (``now``, counts)
    before_source: int = 0  # started before the stack made its alert source
    source_id: int | None = None


@dataclass
class Report:
    """The audit's result; ``code`` is the exit code."""

    stack: str
    mode: str
    window: Window
    findings: list[Finding] = field(default_factory=list)
    tallies: dict[str, Tally] = field(default_factory=dict)
    read: dict[str, int] = field(default_factory=dict)
    judged: int = 0  # Level alerts in the window that concern the stack
    recent: int = 0  # Level alerts too recent to judge
    matched: int = 0  # ilert alerts whose alertKey is a Level alert's id
    unmatched: int = 0  # ilert alerts on the stack's sources whose key is no Level alert's
    verify_alerts: int = 0  # make verify's own deliveries (real accounts), left aside
    notes: list[str] = field(default_factory=list)

    @property
    def nothing_to_judge(self) -> bool:
        """No Level alert in the window concerned the stack (and nothing else was found)."""
        return self.judged == 0 and not self.findings

    @property
    def code(self) -> int:
        """0 clean or nothing to judge, 1 findings."""
        return 1 if self.findings else 0

    def as_json(self) -> dict[str, Any]:
        """One JSON document (``--json``)."""
        return {
            "command": "audit", "stack": self.stack, "mode": self.mode,
            "window": {"from": iso(self.window.since), "until": iso(self.window.until),
                       "settle_seconds": self.window.settle},
            "ok": self.code == 0, "nothing_to_judge": self.nothing_to_judge,
            "judged": self.judged, "too_recent": self.recent,
            "matching": {"matched": self.matched, "unmatched": self.unmatched,
                         "verify_deliveries": self.verify_alerts,
                         "assumption": "ilert alertKey = Level alert id (ops/alert_key.py)"},
            "integrations": {
                name: {"source_id": t.source_id, "expected": t.expected, "opened": t.opened,
                       "resolved_in_level": t.resolved_in_level,
                       "resolved_in_ilert": t.resolved_in_ilert, "undecided": t.undecided,
                       "before_source": t.before_source}
                for name, t in self.tallies.items()
            },
            "read": self.read, "notes": self.notes,
            "findings": [f.as_json() for f in self.findings],
        }


# ----------------------------------------------------------------------------- helpers


def iso(moment: datetime) -> str:
    """ISO-UTC with milliseconds and ``Z``, as ilert's ``from``/``until`` take it."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(text: str | None) -> datetime | None:
    """An ISO-8601 time as aware UTC (None when absent or not a time)."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_duration(text: str) -> timedelta:
    """``24h``, ``90m``, ``7d``, ``3600s`` or a number of seconds; ValueError otherwise."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    raw = text.strip().lower()
    unit = raw[-1] if raw and raw[-1] in units else "s"
    number = raw[:-1] if raw and raw[-1] in units else raw
    try:
        value = float(number)
    except ValueError:
        raise ValueError(f"{text!r} is not a duration: use e.g. 24h, 90m, 7d") from None
    if value <= 0:
        raise ValueError(f"{text!r}: a window must be longer than 0")
    return timedelta(seconds=value * units[unit])


def window_of(length: str, since: str | None, until: str | None, settle: float,
              now: datetime | None = None) -> Window:
    """The window from the command line: ``--since``/``--until`` (ISO-UTC), else the last
    ``--window``; ValueError naming the option."""
    moment = now or datetime.now(UTC)
    end = parse_time(until) if until else moment
    if end is None:
        raise ValueError(f"--until {until!r} is not an ISO-UTC time, e.g. 2026-12-07T10:00:00Z")
    start = parse_time(since) if since else end - parse_duration(length)
    if start is None:
        raise ValueError(f"--since {since!r} is not an ISO-UTC time, e.g. 2026-12-07T10:00:00Z")
    if start >= end:
        raise ValueError("the window must start before it ends (--since before --until)")
    if settle < 0:
        raise ValueError("--settle must not be negative")
    return Window(start, end, moment, settle)


@dataclass(frozen=True)
class Seen:
    """One Level alert in the window, placed in the group tree."""

    alert: LevelAlert
    started: datetime
    resolved: datetime | None
    group_id: str | None
    device_known: bool
    where: str

    @property
    def key(self) -> str:
        """The ilert alertKey it is assumed to open under (ops/alert_key.py)."""
        return alert_key.alert_key({"id": self.alert.id})

    def text(self) -> str:
        """``critical 'CPU usage' on WS-042 in Acme Corp > HQ, 10:02:03Z``."""
        a = self.alert
        state = f", resolved {iso(self.resolved)}" if self.resolved else ", still active"
        return (f"{a.severity or '?'} {a.name or 'alert'!r} on {a.device_hostname or '?'} in "
                f"{self.where}, {iso(self.started)}{state}")


# ------------------------------------------------------------------------------ reading


class Evidence:
    """Everything the audit reads, by the page, with the counts it read."""

    def __init__(self, stack: Stack, outputs: Outputs, apis: Apis, window: Window) -> None:
        self.stack = stack
        self.outputs = outputs
        self.apis = apis
        self.window = window
        self.read: Counter[str] = Counter()
        self.groups: list[Group] = []
        self.by_group: dict[str, Group] = {}
        self.devices: dict[str, Device] = {}
        self.alerts: list[Seen] = []
        self.level_ids: set[str] = set()  # every Level alert id listed (for the key check)
        self.recent = 0
        self.sources: list[AlertSource] = []
        self.source_of: dict[str, int | None] = {}  # integration name -> its source id
        self.ilert_alerts: dict[str, list[Alert]] = {}  # normal(alertKey) -> alerts
        self.webhooks: list[Webhook] | None = None  # api mode only

    def load(self) -> None:
        """Read both APIs (GETs only); ``AuditError`` when they cannot be read."""
        ilert, level = self.apis.ilert, self.apis.level
        if ilert is None:
            problem = self.stack.ilert_problem
            raise AuditError(f"{problem}" if problem else "ilert API token is not set")
        if level is None:
            problem = self.stack.level_problem
            raise AuditError(
                "the audit reads Level's alerts, devices and groups, and has no Level API key"
                + (f": {problem}" if problem else "")
                + ". A read-only key is enough (Level: Settings > API keys): export "
                "LEVEL_API_KEY=<key> (and LEVEL_BASE_URL when not https://api.level.io)"
            )
        try:
            self._level()
            self._ilert()
            if self.stack.settings.webhook_management == "api":
                self._webhooks()
        except ApiError as exc:
            raise AuditError(str(exc)) from None

    def _level(self) -> None:
        level = self.apis.level
        assert level is not None
        self.groups = self.apis.level_groups()
        self.read["level groups"] = len(self.groups)
        self.by_group = {g.id: g for g in self.groups}
        self.devices = {d.id: d for d in level.list_devices()}
        self.read["level devices"] = len(self.devices)
        listed = 0
        for page in self._alert_pages():
            listed += len(page)
            for alert in page:
                self._place(alert)
        self.read["level alerts listed"] = listed
        self.read["level alerts in window"] = len(self.alerts)

    def _alert_pages(self) -> Iterator[list[LevelAlert]]:
        """Level's alert pages; Level documents no order and no time filter, so every page is
        read, unless the pages come newest first: then the first page that ends before the
        window is the last one needed."""
        level = self.apis.level
        assert level is not None
        newest_first = True
        previous: datetime | None = None
        for page in level.alert_pages():
            self.read["level alert pages"] += 1
            yield page
            starts = [parse_time(a.started_at) for a in page]
            for start in starts:
                if start is None or (previous is not None and start > previous):
                    newest_first = False
                previous = start if start is not None else previous
            if newest_first and previous is not None and previous < self.window.since:
                return

    def _place(self, alert: LevelAlert) -> None:
        self.level_ids.add(alert_key.normal(alert.id))
        started = parse_time(alert.started_at)
        if started is None or not self.window.since <= started < self.window.until:
            return
        if started >= self.window.judged_until:
            self.recent += 1
            return
        device = self.devices.get(alert.device_id or "")
        group_id = device.group_id if device is not None else None
        where = ("an unknown device (deleted?)" if device is None else
                 path_of(self.by_group[group_id], self.by_group)
                 if group_id in self.by_group else "no group" if group_id is None else group_id)
        resolved = parse_time(alert.resolved_at) if alert.is_resolved else None
        self.alerts.append(Seen(alert, started, resolved, group_id, device is not None, where))

    def _ilert(self) -> None:
        ilert = self.apis.ilert
        assert ilert is not None
        if self.apis.sources is None:
            self.apis.sources = list(ilert.list_alert_sources())
        self.read["ilert alert sources"] = len(self.apis.sources)
        self.sources = [s for s in self.apis.sources
                        if s.integration_type == LEVEL_INTEGRATION_TYPE]
        for integration in self.stack.settings.integrations:
            ids = ids_for(integration, self.outputs, sources=lambda: self.apis.sources or [],
                          webhooks=None, url_of=lambda _id: None)
            self.source_of[integration.name] = ids.alert_source_id
        stack_ids = [i for i in self.source_of.values() if i is not None]
        others = [s.id for s in self.sources if s.id not in stack_ids]
        ordered = list(dict.fromkeys([*stack_ids, *others]))
        since = iso(self.window.since - CLOCK_SKEW)
        until = iso(self.window.now + CLOCK_SKEW)
        for start in range(0, len(ordered), SOURCES_PER_QUERY):
            batch = ordered[start:start + SOURCES_PER_QUERY]
            self.read["ilert alert queries"] += 1
            for found in ilert.list_alerts_reported(batch, since, until):
                key = alert_key.normal(found.alert_key or "")
                self.ilert_alerts.setdefault(key, []).append(found)
                self.read["ilert alerts"] += 1

    def _webhooks(self) -> None:
        level = self.apis.level
        assert level is not None
        try:
            self.webhooks = list(level.list_webhooks())
        except WebhookManagementUnavailableError:
            self.webhooks = None  # the causes come from the evidence alone, as in manual mode
            return
        self.read["level webhooks"] = len(self.webhooks)

    def source(self, source_id: int) -> AlertSource | None:
        """The full alert source (its URL and live eventFilter); None when it is gone."""
        try:
            return self.apis.source(source_id)
        except ApiError:
            return None

    def listed(self, source_id: int | None) -> AlertSource | None:
        """The alert source as ilert lists it (no GET)."""
        return next((s for s in self.apis.sources or [] if s.id == source_id), None)


# ----------------------------------------------------------------------------- judging


@dataclass
class Route:
    """One integration's declared routing, resolved over the live group tree."""

    integration: Integration
    group_ids: list[str] | None
    condition: icl.Node | None
    problem: str | None = None

    @classmethod
    def of(cls, integration: Integration, groups: Sequence[Group]) -> Route:
        """Resolved over the live groups; raises ``UnknownGroupError`` / ``IclSyntaxError``."""
        group_ids = None if integration.device_groups is None else resolve_groups(
            integration.device_groups, groups, "deviceGroups"
        )
        condition = icl.parse(integration.event_filter) if integration.event_filter else None
        return cls(integration, group_ids, condition)

    def expects(self, seen: Seen, covers: Any) -> bool | None:
        """Whether the declared routing sends this alert here (None: cannot tell)."""
        return self.sends(seen.alert, seen.group_id, covers, device_known=seen.device_known)

    def sends(self, alert: LevelAlert, group_id: str | None, covers: Any, *,
              device_known: bool = True) -> bool | None:
        """The same for an alert on a device in ``group_id`` (None: cannot tell)."""
        i = self.integration
        if self.problem is not None or not i.active or not i.webhook_enabled:
            return False if self.problem is None else None
        if ALERT_ACTIVE not in i.event_types:
            return False
        if self.group_ids is not None:
            if not device_known:
                return None
            if not covers(self.group_ids, group_id):
                return False
        if self.condition is None:
            return True
        return icl.evaluate(self.condition, icl.level_context(alert.model_dump()))


class Audit:
    """Judges the evidence against the declared routing; ``run`` returns the report."""

    def __init__(
        self,
        stack: Stack,
        outputs: Outputs,
        apis: Apis,
        window: Window,
        *,
        only: str | None = None,
    ) -> None:
        self.stack = stack
        self.manual = stack.settings.webhook_management != "api"
        self.evidence = Evidence(stack, outputs, apis, window)
        self.window = window
        self.chosen = {i.name for i in stack.integrations(only)}
        self.report = Report(stack.name, stack.settings.webhook_management, window)
        self.routes: dict[str, Route] = {}
        # per integration: kind -> [(seen, other source ids, ilert alert ids)]
        self.hits: dict[str, dict[str, list[tuple[Seen, tuple[int, ...], tuple[int, ...]]]]] = {}

    @property
    def up(self) -> str:
        """The command that puts the declared state back."""
        return f"make up STACK={self.stack.name}"

    def run(self) -> Report:
        """Read, judge, explain; ``AuditError`` when it could not run."""
        self.evidence.load()
        ev = self.evidence
        if not self.manual and ev.webhooks is None:
            self.report.notes.append(
                "Level's API answered 404 on /v2/webhooks (no webhook management: manual mode "
                "is what this organisation needs), so the causes below come from the "
                "evidence alone, as in manual mode"
            )
        self.report.read = dict(ev.read)
        self.report.recent = ev.recent
        self._routes()
        covers = Tree(ev.groups).covers
        owner = {sid: name for name, sid in ev.source_of.items() if sid is not None}
        for name in self.chosen:
            self.report.tallies[name] = Tally(source_id=ev.source_of.get(name))
        for seen in ev.alerts:
            self._judge(seen, covers, owner)
        self._key_check()
        self._explain()
        return self.report

    def _routes(self) -> None:
        for integration in self.stack.settings.integrations:
            try:
                route = Route.of(integration, self.evidence.groups)
            except (UnknownGroupError, icl.IclSyntaxError) as exc:
                route = Route(integration, None, None, problem=str(exc))
                if integration.name in self.chosen:
                    self.report.findings.append(Finding(
                        integration.name, None, "setup", "declared-routing",
                        f"its declared routing cannot be evaluated: {exc}",
                        f"fix the stack file (`make preview STACK={self.stack.name}` checks "
                        "it), then audit again",
                    ))
            self.routes[integration.name] = route

    def _before(self, seen: Seen, covers: Any) -> set[str]:
        """The integrations whose alert source the stack made after this alert started
        (Pulumi's state says when: ops/ids.with_created): no webhook could have sent it
        there, so it is not judged for them; counted where the routing would send it."""
        created = self.evidence.outputs.created
        before = set()
        for name, route in self.routes.items():
            made = created.get(route.integration.pulumi_name)
            if made is None or seen.started >= made:
                continue
            before.add(name)
            if name in self.chosen and route.expects(seen, covers) is not False:
                self.report.tallies[name].before_source += 1
        return before

    def _judge(self, seen: Seen, covers: Any, owner: Mapping[int, str]) -> None:
        ev = self.evidence
        opened = [a for a in ev.ilert_alerts.get(alert_key.normal(seen.key), [])
                  if a.alert_source is not None]
        on: dict[int, list[Alert]] = {}
        for each in sorted(opened, key=lambda a: a.id):
            assert each.alert_source is not None
            on.setdefault(each.alert_source.id, []).append(each)
        before = self._before(seen, covers)
        verdicts = {name: route.expects(seen, covers) for name, route in self.routes.items()
                    if name not in before}
        expected = [name for name, v in verdicts.items() if v is True]
        undecided = {name for name, v in verdicts.items() if v is None}
        involved = {*expected, *(owner[sid] for sid in on if sid in owner)} & self.chosen
        if not involved:
            return  # not an alert of the integrations audited
        self.report.judged += 1
        expected_sources = {ev.source_of.get(name) for name in expected}
        # who could have received it without a finding: expected, undecided (filters on what
        # only ilert knows), integrations whose source the stack made after the alert began,
        # and integrations not judged (their declared routing is broken)
        tolerated = expected_sources | {ev.source_of.get(n) for n in undecided | before}
        extra = [sid for sid in on if sid not in tolerated]
        missing = [name for name in expected if not on.get(ev.source_of.get(name) or -1)]
        for name in undecided & self.chosen:
            self.report.tallies[name].undecided += 1
        for name in expected:
            self._expected(name, seen, on.get(ev.source_of.get(name) or -1, []))
        if missing and extra:
            for name in missing:
                self._hit(name, "instead", seen, tuple(extra),
                          tuple(a.id for sid in extra for a in on[sid]))
            return
        for name in missing:
            self._hit(name, "missing", seen, (), ())
        for sid in extra:
            ids = tuple(a.id for a in on[sid])
            if sid in owner:
                self._hit(owner[sid], "also", seen, (sid,), ids)
            else:  # a source outside the stack: the stack's integrations that got it say so
                for name in expected:
                    self._hit(name, "also", seen, (sid,), ids)

    def _expected(self, name: str, seen: Seen, alerts: list[Alert]) -> None:
        if name not in self.chosen:
            return
        tally = self.report.tallies[name]
        tally.expected += 1
        if not alerts:
            return
        tally.opened += 1
        ids = tuple(a.id for a in alerts)
        source = (tally.source_id,) if tally.source_id is not None else ()
        if len(alerts) > 1:
            self._hit(name, "duplicate", seen, source, ids)
        if seen.resolved is None or seen.resolved > self.window.now - timedelta(
            seconds=self.window.settle
        ):
            return
        tally.resolved_in_level += 1
        if alerts[-1].status in OPEN_STATES:
            self._hit(name, "unresolved", seen, source, (alerts[-1].id,))
        else:
            tally.resolved_in_ilert += 1

    def _hit(self, name: str, kind: str, seen: Seen, sources: tuple[int, ...],
             ids: tuple[int, ...]) -> None:
        if name in self.chosen:
            self.hits.setdefault(name, {}).setdefault(kind, []).append((seen, sources, ids))

    def _key_check(self) -> None:
        """Count the ilert alerts whose key is a Level alert's id; when none is and the stack
        expected alerts, the matching assumption itself does not hold here (exit 2)."""
        ev = self.evidence
        stack_ids = {sid for sid in ev.source_of.values() if sid is not None}
        for key, alerts in ev.ilert_alerts.items():
            mine = [a for a in alerts if a.alert_source and a.alert_source.id in stack_ids]
            if not mine:
                continue
            if alert_key.is_verify_key(key):
                self.report.verify_alerts += len(mine)
            elif key in ev.level_ids:
                self.report.matched += len(mine)
            else:
                self.report.unmatched += len(mine)
        expected = sum(t.expected for t in self.report.tallies.values())
        if expected and not self.report.matched and self.report.unmatched:
            raise AuditError(
                f"none of the {self.report.unmatched} ilert alert(s) on the stack's sources in "
                "the window has a Level alert's id as its alertKey: the matching assumption "
                "(ops/alert_key.py: ilert's Level.io converter keys an alert by the Level "
                "alert id) does not hold on this account, so nothing can be matched. Read one "
                "such alert (`GET /api/alerts/<id>?include=customDetails`: the delivery Level "
                "sent) and correct ops/alert_key.py"
            )

    # --------------------------------------------------------------------- causes

    def _explain(self) -> None:
        for name in sorted(self.hits, key=self._order):
            kinds = self.hits[name]
            diagnosis = _Diagnosis(self, name, kinds)
            for kind in ("missing", "instead", "also", "unresolved", "duplicate"):
                for seen, sources, ids in kinds.get(kind, []):
                    cause_id, cause, fix = diagnosis.cause(kind, seen, sources, ids)
                    self.report.findings.append(Finding(
                        name, seen.alert.id, kind, cause_id, cause, fix,
                        seen.text(), ids,
                    ))
        order = {name: index for index, name in enumerate(
            i.name for i in self.stack.settings.integrations)}
        self.report.findings.sort(key=lambda f: order.get(f.integration, 0))

    def _order(self, name: str) -> int:
        names = [i.name for i in self.stack.settings.integrations]
        return names.index(name) if name in names else len(names)

    def source_name(self, source_id: int) -> str:
        """An ilert source as a person knows it: the stack's integration, or its name."""
        for name, sid in self.evidence.source_of.items():
            if sid == source_id:
                return f"{name!r} (source {source_id})"
        listed = self.evidence.listed(source_id)
        label = repr(listed.name) if listed is not None else "an ilert source"
        return f"{label} (source {source_id}, not in this stack)"


class Tree:
    """The live group tree's scope rule (the contract: a group or any of its ancestors)."""

    def __init__(self, groups: Iterable[Group]) -> None:
        self.by_id = {g.id: g for g in groups}

    def covers(self, group_ids: Sequence[str], group_id: str | None) -> bool:
        """Whether these groups (or an ancestor of the device's group among them) cover it."""
        return covers_group(group_ids, group_id, self.by_id)


class _Diagnosis:
    """The most likely cause of one integration's findings, and its fix (the UI step in
    manual mode, ``make up`` in api mode), from the live objects where they can be read and
    from the evidence where they cannot."""

    def __init__(self, audit: Audit, name: str,
                 kinds: Mapping[str, list[tuple[Seen, tuple[int, ...], tuple[int, ...]]]]) -> None:
        self.audit = audit
        self.name = name
        self.kinds = kinds
        self.integration = next(i for i in audit.stack.settings.integrations if i.name == name)
        self.source_id = audit.evidence.source_of.get(name)
        self.manual = audit.manual or audit.evidence.webhooks is None
        self._source: AlertSource | None = None
        self._source_read = False

    # ---------------------------------------------------------------- live facts

    @property
    def source(self) -> AlertSource | None:
        """The full alert source (read once, only when a cause needs it)."""
        if not self._source_read:
            self._source_read = True
            self._source = (None if self.source_id is None
                            else self.audit.evidence.source(self.source_id))
        return self._source

    def webhooks_to(self, url: str | None) -> list[Webhook]:
        """api mode: the webhooks whose URL is exactly ``url``."""
        return [w for w in self.audit.evidence.webhooks or [] if url and w.url == url]

    @property
    def where_ui(self) -> str:
        return (f"In Level: Settings > Webhooks, the webhook with the URL of {self.name!r} "
                f"(`make instructions STACK={self.audit.stack.name} SHOW_SECRETS=1` shows it)")

    def received_anything(self) -> bool:
        """Whether any ilert alert opened on this source in the window (ilert is read a few
        minutes either side of it, for clocks that differ: those alerts do not count)."""
        window = self.audit.window
        for alerts in self.audit.evidence.ilert_alerts.values():
            for alert in alerts:
                reported = parse_time(alert.report_time)
                if (alert.alert_source is not None and alert.alert_source.id == self.source_id
                        and reported is not None and window.since <= reported <= window.now):
                    return True
        return False

    def groups(self, kind: str) -> list[str]:
        return list(dict.fromkeys(seen.where for seen, _s, _i in self.kinds.get(kind, [])))

    # ---------------------------------------------------------------- causes

    def cause(self, kind: str, seen: Seen, sources: tuple[int, ...],
              ids: tuple[int, ...]) -> tuple[str, str, str]:
        """(cause id, cause, fix) of one finding."""
        if kind == "missing":
            return self._missing(seen)
        if kind == "instead":
            return self._source_causes(seen) or self._instead(sources)
        if kind == "also":
            return self._also(seen, sources)
        if kind == "unresolved":
            return self._unresolved(ids)
        return self._duplicate(ids)

    def _source_causes(self, seen: Seen) -> tuple[str, str, str] | None:
        up = self.audit.up
        if self.source_id is None or self.source is None:
            return ("source-missing",
                    f"ilert has no alert source for {self.name!r}: Level's deliveries have "
                    "nowhere to go", f"`{up}` creates it (a new URL: the webhook must follow)")
        source = self.source
        if not source.active:
            return ("source-inactive",
                    "the alert source is inactive: ilert ignores every delivery from Level",
                    f"`{up}` activates it again (or in ilert: Alert sources > "
                    f"{source.name} > enable it)")
        if source.integration_type != LEVEL_INTEGRATION_TYPE:
            return ("source-type", f"the alert source is of type {source.integration_type}, "
                    "not Level.io: ilert does not read Level's deliveries", f"`{up}`")
        live = source.event_filter
        if live and live != self.integration.event_filter:
            try:
                verdict = icl.evaluate(icl.parse(live), icl.level_context(seen.alert.model_dump()))
            except icl.IclSyntaxError:
                verdict = None
            if verdict is False:
                return ("filter-rejected",
                        f"the alert source's live eventFilter ({live!r}) rejects this alert, "
                        "and it is not the declared one "
                        f"({self.integration.event_filter or 'none'!r})",
                        f"`{up}` puts the declared eventFilter back")
        return None

    def _missing(self, seen: Seen) -> tuple[str, str, str]:
        found = self._source_causes(seen)
        if found is not None:
            return found
        if self.kinds.get("also"):
            return self._wrong_scope()
        if self.manual:
            return self._missing_manual()
        return self._missing_api(seen)

    def _missing_api(self, seen: Seen) -> tuple[str, str, str]:
        up, url = self.audit.up, self.source.integration_url if self.source else None
        webhooks = self.webhooks_to(url)
        if not webhooks:
            near = find_webhook(url, self.audit.evidence.webhooks or []) if url else None
            if near is not None:
                return ("wrong-url", f"Level webhook {near.id}'s URL is not exactly the alert "
                        "source's URL: its deliveries never reach ilert",
                        f"`{up}` puts the exact URL back")
            return ("no-webhook", "no Level webhook delivers to the alert source's URL",
                    f"`{up}` creates it")
        if not any(w.enabled for w in webhooks):
            return ("webhook-disabled", f"Level webhook {webhooks[0].id} is disabled: Level "
                    "delivers nothing", f"`{up}` enables it again")
        delivering = [w for w in webhooks if w.enabled]
        if not any(w.event_types is None or ALERT_ACTIVE in w.event_types for w in delivering):
            return ("no-alert-active", f"Level webhook {delivering[0].id} does not send "
                    "alert_active: alerts never open in ilert", f"`{up}` subscribes it again")
        covering = [w for w in delivering if w.group_ids is None
                    or (seen.group_id is not None and Tree(self.audit.evidence.groups).covers(
                        w.group_ids, seen.group_id))]
        if not covering:
            return ("wrong-scope", f"Level webhook {delivering[0].id}'s device-group scope does "
                    f"not cover {seen.where}", f"`{up}` puts the declared scope back")
        return ("not-delivered", "the webhook is right as read, yet nothing opened: the "
                "delivery failed or was refused", "look at Level's Requests tab (Settings > "
                "Webhooks > Requests) for this alert's delivery and ilert's answer")

    def _missing_manual(self) -> tuple[str, str, str]:
        if self.received_anything():
            groups = ", ".join(self.groups("missing"))
            return ("partial", f"the source receives other alerts, but none from {groups}: "
                    "the webhook's device-group scope (or the source's filter) leaves them "
                    "out", f"{self.where_ui}: tick the groups the stack declares "
                    f"({_declared(self.integration)}); `make doctor STACK="
                    f"{self.audit.stack.name}` compares the filter")
        return ("no-delivery",
                "no delivery from Level reached the alert source in the window: the Level "
                "webhook with its URL is missing, disabled, has another URL, or does not send "
                "Alert active (Level's API cannot show webhooks, so the audit cannot tell "
                "which)",
                f"{self.where_ui}: it must exist with exactly that URL, Enabled on, Alert "
                "active and Alert resolved ticked; its Requests tab shows each delivery and "
                "ilert's answer")

    def _wrong_scope(self) -> tuple[str, str, str]:
        got = ", ".join(self.groups("also"))
        missed = ", ".join(self.groups("missing") + self.groups("instead"))
        fix = (f"`{self.audit.up}` puts the declared scope back" if not self.manual else
               f"{self.where_ui}: under device groups tick only {_declared(self.integration)}")
        return ("wrong-scope",
                f"the webhook to this source delivers alerts of {got} and not those of "
                f"{missed}: it is scoped to the wrong device group(s)", fix)

    def _instead(self, sources: tuple[int, ...]) -> tuple[str, str, str]:
        others = ", ".join(self.audit.source_name(s) for s in sources)
        if not self.received_anything():
            cause = (f"the alerts meant for it opened on {others} instead: the webhook meant "
                     f"for {self.name!r} has that source's URL")
            fix = (f"`{self.audit.up}` puts the exact URL back" if not self.manual else
                   f"{self.where_ui}: paste exactly this integration's URL (not {others}'s)")
            return ("wrong-url", cause, fix)
        return ("wrong-scope", f"this alert opened on {others} instead: a webhook to that "
                "source's URL covers its group, and this source's webhook does not",
                f"`{self.audit.up}` puts the declared scopes back" if not self.manual else
                f"{self.where_ui}, and the one of {others}: tick the groups each declares")

    def _also(self, seen: Seen, sources: tuple[int, ...]) -> tuple[str, str, str]:
        sid = sources[0] if sources else None
        if sid is not None and sid != self.source_id:  # a source outside the stack
            return ("other-source", f"it also opened on {self.audit.source_name(sid)}: a "
                    "webhook outside this stack delivers to that source's URL and covers "
                    f"{seen.where}; each such alert pages twice", "in Level: Settings > "
                    "Webhooks, delete that webhook or scope it apart; or filter that source")
        if self.kinds.get("missing") or self.kinds.get("instead"):
            return self._wrong_scope()
        off = [key for key, on in (("active: false", self.integration.active),
                                    ("webhookEnabled: false", self.integration.webhook_enabled))
               if not on]
        if off:
            return ("declared-off", f"the stack declares {' and '.join(off)} for it, yet its "
                    "source opened this alert: the live source or webhook was turned back on",
                    f"`{self.audit.up}` puts the declared state back" if not self.manual else
                    f"{self.where_ui}: turn Enabled off (or in ilert: deactivate the source)")
        url = self.source.integration_url if self.source else None
        webhooks = self.webhooks_to(url)
        extra = [w for w in webhooks if w.enabled and (w.group_ids is None or (
            seen.group_id is not None and Tree(self.audit.evidence.groups).covers(
                w.group_ids, seen.group_id)))]
        if not self.manual and len(webhooks) > 1 and extra:
            scope = "org-wide" if extra[0].group_ids is None else "scoped wider"
            return ("extra-webhook", f"a second Level webhook ({extra[0].id}, {scope}) "
                    "delivers to this source's URL and covers alerts the declared routing "
                    "sends elsewhere", f"delete webhook {extra[0].id} in Level (Settings > "
                    f"Webhooks); keep the stack's, then `{self.audit.up}`")
        groups = ", ".join(self.groups("also"))
        return ("extra-webhook",
                f"one Level alert opened here and on the source the stack routes it to: a "
                f"webhook to this source's URL covers {groups}, outside its declared routing "
                f"({_declared(self.integration)}): most likely a second webhook with this URL "
                "(an org-wide one, as Level's UI makes by default), or this webhook's scope "
                "widened; each such alert pages twice",
                (f"{self.where_ui}: keep one webhook with this URL, scoped to "
                 f"{_declared(self.integration)}, and delete any other with the same URL"
                 if self.manual else f"`{self.audit.up}` puts the declared scope back"))

    def _unresolved(self, ids: tuple[int, ...]) -> tuple[str, str, str]:
        shown = ", ".join(f"#{i}" for i in ids)
        url = self.source.integration_url if self.source and not self.manual else None
        webhooks = [w for w in self.webhooks_to(url) if w.enabled]
        if webhooks and all(w.event_types is None or ALERT_RESOLVED in w.event_types
                            for w in webhooks):
            return ("not-resolved", f"ilert alert {shown} stayed open though the webhook sends "
                    "alert_resolved: that delivery failed or was refused",
                    "look at Level's Requests tab for this alert's alert_resolved delivery; "
                    f"resolve ilert alert {shown} by hand")
        fix = (f"`{self.audit.up}` subscribes alert_resolved again" if not self.manual else
               f"{self.where_ui}: tick Alert resolved (Events to send)")
        return ("no-alert-resolved", "the webhook does not send Alert resolved "
                "(alert_resolved): ilert alerts open and never close (one-way sync)",
                f"{fix}; then resolve ilert alert {shown} by hand")

    def _duplicate(self, ids: tuple[int, ...]) -> tuple[str, str, str]:
        shown = ", ".join(f"#{i}" for i in ids)
        return ("reopened", f"ilert opened {len(ids)} alerts ({shown}) for this one Level "
                "alert: ilert appends a second alert_active to the OPEN alert of the same key "
                "only (the contract's assumption), so the first was resolved in ilert (by hand "
                "or autoResolutionTimeout) while Level kept the alert active, or a later "
                "delivery came from a second webhook to this URL",
                f"{self.where_ui}: keep one webhook per URL; resolve alerts in Level rather "
                "than in ilert")


def _declared(integration: Integration) -> str:
    groups = integration.device_groups
    return ", ".join(repr(g) for g in groups) if groups else "the whole organisation"


# ----------------------------------------------------------------------------- output


def render(report: Report, out: Any, names: Sequence[str]) -> None:
    """The report for people: per integration, its tally and its findings grouped by cause."""
    _header(report, out)
    by_name: dict[str, list[Finding]] = {}
    for finding in report.findings:
        by_name.setdefault(finding.integration, []).append(finding)
    for name in names:
        _integration(report, name, by_name.get(name, []), out)
    for note in report.notes:
        out.write(f"\nnote: {note}\n")
    if report.findings:
        out.write(f"\n{len(report.findings)} finding(s)\n")
    elif report.nothing_to_judge:
        out.write("\nnothing to judge: no Level alert in the window was meant for this stack's "
                  "integrations (not a sign of health: raise a test alert in Level, or widen "
                  "WINDOW)\n")
    else:
        out.write(f"\nclean: each of the {report.judged} Level alert(s) in the window went "
                  "where the stack declares, and no further\n")


def _header(report: Report, out: Any) -> None:
    out.write(f"level-ilert audit, stack {report.stack} ({report.mode} mode), window "
              f"{report.window.text()}\n")
    read = report.read
    out.write(
        f"read: {read.get('level alerts listed', 0)} Level alerts in "
        f"{read.get('level alert pages', 0)} page(s) ({read.get('level alerts in window', 0)} "
        f"in the window), {read.get('level devices', 0)} devices, "
        f"{read.get('level groups', 0)} groups; {read.get('ilert alerts', 0)} ilert alerts of "
        f"{read.get('ilert alert sources', 0)} alert sources in "
        f"{read.get('ilert alert queries', 0)} query(ies)\n"
    )
    out.write(
        f"matching: {report.matched} ilert alert(s) of the stack's sources carry a Level "
        f"alert's id as their alertKey, {report.unmatched} do not (the assumption: "
        "ops/alert_key.py)"
        + (f"; {report.verify_alerts} were make verify's own deliveries, left aside"
           if report.verify_alerts else "") + "\n"
    )
    if report.recent:
        out.write(f"too recent to judge: {report.recent} Level alert(s) of the last "
                  f"{report.window.settle:g} s (Level retries a delivery for minutes)\n")


def _integration(report: Report, name: str, findings: list[Finding], out: Any) -> None:
    tally = report.tallies.get(name, Tally())
    source = f"source {tally.source_id}" if tally.source_id is not None else "no source"
    out.write(f"\n{name} ({source})\n")
    before = (f"  · {tally.before_source} alert(s) not judged: they started before the stack "
              "made its alert source\n") if tally.before_source else ""
    if tally.expected == 0 and not findings:
        out.write("  - nothing to judge: no Level alert in the window was meant for it\n"
                  + before)
        return
    if tally.expected:
        mark = "✓" if tally.opened == tally.expected else "✗"
        resolved = (f"; {tally.resolved_in_ilert} of the {tally.resolved_in_level} resolved "
                    "in Level resolved here too" if tally.resolved_in_level else "")
        out.write(f"  {mark} {tally.opened} of {tally.expected} Level alert(s) it should receive "
                  f"opened here{resolved}\n")
    if tally.undecided:
        out.write(f"  · {tally.undecided} alert(s) not judged: its eventFilter reads what "
                  "only ilert knows\n")
    out.write(before)
    for (kind, cause, fix), group in itertools.groupby(
        findings, key=lambda f: (f.kind, f.cause, f.fix)
    ):
        items = list(group)
        out.write(f"  ✗ {len(items)} Level alert(s) {KIND_TITLES[kind]}\n")
        for item in items[:ALERTS_SHOWN]:
            ilert = (" → ilert " + ", ".join(f"#{i}" for i in item.ilert_alerts)
                     if item.ilert_alerts else "")
            if item.level_alert is not None:
                out.write(f"      Level alert {item.level_alert}: {item.alert}{ilert}\n")
        if len(items) > ALERTS_SHOWN:
            out.write(f"      ... and {len(items) - ALERTS_SHOWN} more\n")
        out.write(f"      cause: {cause}\n      fix: {fix}\n")
