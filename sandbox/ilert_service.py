"""The fake ilert's behaviour, independent of HTTP: alert sources, policies, teams, alerts,
and the two ways events come in (the Level inbound webhook and the generic Events API).

The Flask app (:mod:`sandbox.ilert_app`) only parses requests and calls these methods;
:class:`sandbox.Sandbox` calls them too for out-of-band edits, so a drift test changes
the world through the same validation a user of ilert's UI or API would hit.

Choices where ilert documents nothing (see reference/ilert-api.md "Open questions"):
- PUT replaces the whole object: an omitted optional field goes back to its default, except
  ``teams`` (omitted or ``null`` = unchanged, ``[]`` clears) and ``setupStatus`` (kept).
- ``alertGroupingWindow`` is required for, and only allowed with, the grouping modes.
- Lists are ordered by id; alerts newest first. Names need not be unique; by-name lookups
  return the lowest id.
- Dedup uses the alert key only (trimmed, case-insensitive, per source) whatever the
  source's ``alertCreation``; Level severity maps emergency→1, critical→2, warning→3,
  information→4.
- ``eventFilter`` (and the ``eventTypeFilter*`` fields) must be valid ICL (400 otherwise);
  before a Level ``alert_active`` opens or appends, the source's ``eventFilter`` is
  evaluated by the sandbox's own ICL reader (:mod:`sandbox.icl_eval`, never the project's
  ``icl`` package, so a bug there cannot hide here; the delivery as ``event.summary``,
  ``event.details`` and ``event.customDetails`` = ``data``, as the contract assumes):
  false drops it (still 202, ``responseCode`` ``EVENT_FILTERED``, the intake log says
  why). ``alert_resolved`` always resolves the open alert of its key.
"""

from __future__ import annotations

import copy
import secrets
import uuid
from collections.abc import Callable, Sequence
from typing import Any, Final

from sandbox import icl_eval
from sandbox.errors import bad_request, not_found
from sandbox.ilert_enums import (
    ALERT_CREATIONS,
    ALERT_GROUPING_WINDOWS,
    ALERT_PRIORITY_RULES,
    ALERT_STATES,
    AUTO_RESOLUTION_TIMEOUTS,
    EMAIL_TYPES,
    EVENT_TYPES,
    GROUPING_CREATIONS,
    SETUP_STATUSES,
    integration_types,
)
from sandbox.timeutil import now_iso, parse_time
from sandbox.world import (
    JSON,
    AlertSourceRecord,
    IlertAlertRecord,
    World,
    WorldState,
    policy_json,
)

#: Fields that only come back when asked for with ``?include=`` and never appear in lists.
INCLUDE_ONLY_FIELDS: Final = (
    "summaryTemplate",
    "detailsTemplate",
    "routingTemplate",
    "alertKeyTemplate",
    "servicesTemplate",
    "linkTemplates",
    "priorityTemplate",
    "severityTemplate",
    "eventFilter",
    "eventTypeFilterCreate",
    "eventTypeFilterAccept",
    "eventTypeFilterResolve",
)


def _number_between(low: float, high: float, *, integer: bool = False) -> Callable[[object], bool]:
    def check(value: object) -> bool:
        kinds = int if integer else (int, float)
        return isinstance(value, kinds) and not isinstance(value, bool) and low <= value <= high

    return check


def _is_list_of_at_most(limit: int) -> Callable[[object], bool]:
    return lambda value: isinstance(value, list) and len(value) <= limit


_OBJECT_TEMPLATES: Final = (
    "summaryTemplate",
    "detailsTemplate",
    "routingTemplate",
    "alertKeyTemplate",
    "priorityTemplate",
    "severityTemplate",
)
_FILTERS: Final = (
    "eventFilter",
    "eventTypeFilterCreate",
    "eventTypeFilterAccept",
    "eventTypeFilterResolve",
)
#: Pass-through fields: how each is checked and what the 400 says it must be.
_EXTRA_FIELDS: Final[dict[str, tuple[Callable[[object], bool], str]]] = {
    "autoRaiseAlerts": (lambda v: isinstance(v, bool), "true or false"),
    "scoreThreshold": (_number_between(0, 1), "a number between 0 and 1"),
    "severity": (_number_between(1, 5, integer=True), "an integer from 1 to 5"),
    **{key: (lambda v: isinstance(v, dict), "an object") for key in _OBJECT_TEMPLATES},
    "linkTemplates": (_is_list_of_at_most(10), "a list of at most 10 link templates"),
    "servicesTemplate": (_is_list_of_at_most(10), "a list of at most 10 templates"),
    **{key: (lambda v: isinstance(v, str), "a string (an ICL condition)") for key in _FILTERS},
}
#: Fields in the full AlertSource but not in AlertSourceNoIncludes (the list item shape).
_NOT_IN_LISTS: Final = ("setupStatus", "autoCreateServices")
_KEY_PREFIXES: Final = {"LEVELIO": "lev", "API": "api", "HEARTBEAT2": "hbt"}
_URL_PATHS: Final = {"LEVELIO": "levelio", "MSSCOM": "ms-scom"}
LEVEL_SEVERITIES: Final = {"emergency": 1, "critical": 2, "warning": 3, "information": 4}
_OPEN: Final = ("PENDING", "ACCEPTED")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _enum(body: JSON, key: str, allowed: Sequence[str], default: str | None) -> str | None:
    value = body.get(key)
    if value is None:
        return default
    if not isinstance(value, str) or value not in allowed:
        raise bad_request(f"{key}: {value!r} is not one of {', '.join(allowed)}")
    return value


def _key(alert_key: str) -> str:
    return alert_key.strip().casefold()


class IlertService:
    """The fake ilert. ``base_url`` is set by the server once its port is known."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.base_url = "http://127.0.0.1:8790"

    # ----------------------------------------------------------------- rendering

    def _policy(self, state: WorldState, policy_id: int) -> JSON:
        policy = state.escalation_policies.get(policy_id)
        if policy is None:  # only possible after hand-editing a state file
            return policy_json(policy_id, f"deleted policy {policy_id}")
        return copy.deepcopy(policy)

    def _status(self, state: WorldState, rec: AlertSourceRecord) -> str:
        if not rec.active:
            return "DISABLED"
        open_states = [
            a.status
            for a in state.ilert_alerts.values()
            if a.source_id == rec.id and a.status in _OPEN
        ]
        if "PENDING" in open_states:
            return "PENDING"
        return "ALL_ACCEPTED" if open_states else "ALL_RESOLVED"

    def integration_url(self, rec: AlertSourceRecord) -> str | None:
        """The inbound webhook URL ilert generates for a source (none for email sources)."""
        if rec.integration_type in EMAIL_TYPES:
            return None
        path = _URL_PATHS.get(rec.integration_type, rec.integration_type.lower())
        return f"{self.base_url}/api/v1/events/{path}/{rec.integration_key}"

    def _render_source(
        self,
        state: WorldState,
        rec: AlertSourceRecord,
        include: Sequence[str] = (),
        *,
        list_item: bool = False,
    ) -> JSON:
        icon = f"{self.base_url}/sandbox/icons/{rec.integration_type.lower()}"
        body: JSON = {
            "id": rec.id,
            "name": rec.name,
            "iconUrl": f"{icon}.svg",
            "lightIconUrl": f"{icon}-light.svg",
            "darkIconUrl": f"{icon}-dark.svg",
            "escalationPolicy": self._policy(state, rec.escalation_policy_id),
            "integrationType": rec.integration_type,
            "integrationKey": rec.integration_key,
        }
        url = self.integration_url(rec)
        if url is not None:
            body["integrationUrl"] = url
        if rec.auto_resolution_timeout is not None:
            body["autoResolutionTimeout"] = rec.auto_resolution_timeout
        if rec.alert_grouping_window is not None:
            body["alertGroupingWindow"] = rec.alert_grouping_window
        body.update(
            {
                "alertCreation": rec.alert_creation,
                "status": self._status(state, rec),
                "active": rec.active,
                "alertPriorityRule": rec.alert_priority_rule,
                "bidirectional": False,
                "teams": [
                    {"id": team_id, "name": state.teams[team_id]["name"]}
                    for team_id in sorted(rec.teams)
                    if team_id in state.teams
                ],
                "setupStatus": rec.setup_status,
                "autoCreateServices": False,
            }
        )
        for key, value in rec.extras.items():
            if key not in INCLUDE_ONLY_FIELDS or (key in include and not list_item):
                body[key] = copy.deepcopy(value)
        if list_item:
            for key in _NOT_IN_LISTS:
                body.pop(key, None)
        body["createdAt"] = rec.created_at
        body["updatedAt"] = rec.updated_at
        return body

    def _render_alert(
        self, state: WorldState, rec: IlertAlertRecord, include: Sequence[str] = ()
    ) -> JSON:
        source = state.alert_sources.get(rec.source_id)
        policy = self._policy(state, rec.escalation_policy_id)
        body: JSON = {
            "id": rec.id,
            "summary": rec.summary,
            "details": rec.details,
            "reportTime": rec.report_time,
            "status": rec.status,
            "alertSource": {
                "id": rec.source_id,
                "name": source.name if source else rec.source_name,
                "integrationType": rec.integration_type,
                "escalationPolicy": policy,
            },
            "escalationPolicy": copy.deepcopy(policy),
            "priority": rec.priority,
            "alertKey": rec.alert_key,
            "images": [],
            "links": [],
            "responders": [],
            "labels": {},
            "mergeState": "NONE",
        }
        if rec.resolved_on is not None:
            body["resolvedOn"] = rec.resolved_on
        if rec.severity is not None:
            body["severity"] = rec.severity
        if "customDetails" in include and rec.custom_details is not None:
            body["customDetails"] = copy.deepcopy(rec.custom_details)
        return body

    # ------------------------------------------------------------- validation

    def _check_source_body(
        self, state: WorldState, body: object, current: AlertSourceRecord | None
    ) -> JSON:
        """Validate a POST/PUT body; returns the normalised writable fields."""
        if not isinstance(body, dict):
            raise bad_request("request body must be a JSON object (an alert source)")
        name = body.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 255:
            raise bad_request("name: required, a string of 1 to 255 characters")
        itype = body.get("integrationType")
        if not isinstance(itype, str) or itype not in integration_types():
            raise bad_request(f"integrationType: {itype!r} is not a known integration type")
        if current is not None and itype != current.integration_type:
            raise bad_request(
                f"integrationType: cannot be changed (is {current.integration_type}); "
                "create a new alert source instead"
            )
        policy = body.get("escalationPolicy")
        if not isinstance(policy, dict) or not _is_int(policy.get("id")):
            raise bad_request("escalationPolicy: required, an object with a numeric id")
        if policy["id"] not in state.escalation_policies:
            raise bad_request(
                f"escalationPolicy.id: escalation policy {policy['id']} does not exist"
            )
        active = body.get("active")
        if active is None:
            active = True
        if not isinstance(active, bool):
            raise bad_request("active: must be true or false")
        creation = _enum(body, "alertCreation", ALERT_CREATIONS, "ONE_ALERT_PER_EMAIL")
        window = _enum(body, "alertGroupingWindow", ALERT_GROUPING_WINDOWS, None)
        if creation in GROUPING_CREATIONS and window is None:
            raise bad_request(f"alertGroupingWindow: required when alertCreation is {creation}")
        if creation not in GROUPING_CREATIONS and window is not None:
            raise bad_request(
                "alertGroupingWindow: only allowed when alertCreation is "
                + " or ".join(GROUPING_CREATIONS)
            )
        fields: JSON = {
            "name": name,
            "integration_type": itype,
            "escalation_policy_id": policy["id"],
            "active": active,
            "alert_creation": creation,
            "alert_grouping_window": window,
            "auto_resolution_timeout": _enum(
                body, "autoResolutionTimeout", AUTO_RESOLUTION_TIMEOUTS, None
            ),
            "alert_priority_rule": _enum(body, "alertPriorityRule", ALERT_PRIORITY_RULES, "HIGH"),
            "setup_status": _enum(
                body,
                "setupStatus",
                SETUP_STATUSES,
                current.setup_status if current is not None else "CREATED",
            ),
            "teams": self._check_teams(state, body.get("teams"), current),
            "extras": self._check_extras(body),
        }
        if itype in EMAIL_TYPES:
            key = body.get("integrationKey")
            if not isinstance(key, str) or "@" not in key:
                raise bad_request(f"integrationKey: an email address is required for {itype}")
            fields["integration_key"] = key
        return fields

    @staticmethod
    def _check_teams(
        state: WorldState, teams: object, current: AlertSourceRecord | None
    ) -> list[int]:
        if teams is None:  # omitted or null: unchanged (none on create)
            return list(current.teams) if current is not None else []
        if not isinstance(teams, list):
            raise bad_request("teams: must be a list of {id} objects")
        ids: list[int] = []
        for index, team in enumerate(teams):
            if not isinstance(team, dict) or not _is_int(team.get("id")):
                raise bad_request(f"teams[{index}]: must be an object with a numeric id")
            if team["id"] not in state.teams:
                raise bad_request(f"teams[{index}].id: team {team['id']} does not exist")
            if team["id"] not in ids:
                ids.append(team["id"])
        return sorted(ids)

    @staticmethod
    def _check_extras(body: JSON) -> JSON:
        """The pass-through fields the fake stores and echoes without acting on them."""
        extras: JSON = {}
        for key, (valid, expected) in _EXTRA_FIELDS.items():
            value = body.get(key)
            if value is None:
                continue
            if not valid(value):
                raise bad_request(f"{key}: must be {expected}")
            if key in _FILTERS:
                try:
                    icl_eval.check(value)
                except icl_eval.IclError as exc:
                    raise bad_request(f"{key}: not a valid ICL condition: {exc}") from None
            extras[key] = value
        return extras

    # ---------------------------------------------------------- alert sources

    def _find_source(self, state: WorldState, ident: str | int) -> AlertSourceRecord:
        text = str(ident)
        if text.isdigit():
            rec = state.alert_sources.get(int(text))
            if rec is not None:
                return rec
        for rec in state.alert_sources.values():
            if rec.integration_key == text:
                return rec
        raise not_found(f"alert source {text} not found")

    def list_alert_sources(self, start_index: int, max_results: int) -> list[JSON]:
        """One page of alert sources in the AlertSourceNoIncludes shape, by id."""
        with self.world.read() as state:
            records = sorted(state.alert_sources.values(), key=lambda r: r.id)
            page = records[start_index : start_index + max_results]
            return [self._render_source(state, rec, list_item=True) for rec in page]

    def all_alert_sources(self) -> list[JSON]:
        """Every alert source, full shape (for Python callers)."""
        with self.world.read() as state:
            return [
                self._render_source(state, rec, INCLUDE_ONLY_FIELDS)
                for rec in sorted(state.alert_sources.values(), key=lambda r: r.id)
            ]

    def get_alert_source(self, ident: str | int, include: Sequence[str] = ()) -> JSON:
        """One alert source by numeric id or integration key."""
        with self.world.read() as state:
            return self._render_source(state, self._find_source(state, ident), include)

    def alert_source_by_name(self, name: str, include: Sequence[str] = ()) -> JSON:
        """The alert source with exactly this name (lowest id if several)."""
        with self.world.read() as state:
            for rec in sorted(state.alert_sources.values(), key=lambda r: r.id):
                if rec.name == name:
                    return self._render_source(state, rec, include)
        raise not_found(f"no alert source named {name!r}")

    def create_alert_source(self, body: object, include: Sequence[str] = ()) -> JSON:
        """POST: validate, generate id/key, apply defaults."""
        with self.world.mutate() as state:
            fields = self._check_source_body(state, body, None)
            itype = fields["integration_type"]
            fields.setdefault(
                "integration_key",
                f"il1{_KEY_PREFIXES.get(itype, itype.lower()[:3])}{secrets.token_hex(10)}",
            )
            now = now_iso()
            rec = AlertSourceRecord(
                id=state.next_id("alert_source", 100001), created_at=now, updated_at=now, **fields
            )
            state.alert_sources[rec.id] = rec
            return self._render_source(state, rec, include)

    def update_alert_source(
        self, ident: str | int, body: object, include: Sequence[str] = ()
    ) -> JSON:
        """PUT: replace the writable fields (see the module docstring for what is kept)."""
        with self.world.mutate() as state:
            rec = self._find_source(state, ident)
            fields = self._check_source_body(state, body, rec)
            for key, value in fields.items():
                setattr(rec, key, value)
            rec.updated_at = now_iso()
            return self._render_source(state, rec, include)

    def edit_alert_source(self, source_id: int, changes: JSON) -> JSON:
        """An out-of-band edit (as in ilert's UI): camelCase ``changes`` over the current object."""
        body = self.get_alert_source(source_id, INCLUDE_ONLY_FIELDS)
        body.update(changes)
        if _is_int(body.get("escalationPolicy")):  # allow escalationPolicy=2 as a shorthand
            body["escalationPolicy"] = {"id": body["escalationPolicy"]}
        if isinstance(body.get("teams"), list) and all(_is_int(t) for t in body["teams"]):
            body["teams"] = [{"id": t} for t in body["teams"]]  # and teams=[1, 2]
        return self.update_alert_source(source_id, body, INCLUDE_ONLY_FIELDS)

    def delete_alert_source(self, ident: str | int) -> None:
        """DELETE: the source goes; its alerts stay (with a snapshot of the source)."""
        with self.world.mutate() as state:
            rec = self._find_source(state, ident)
            del state.alert_sources[rec.id]

    # ------------------------------------------------- policies and teams

    def list_escalation_policies(self, start_index: int, max_results: int) -> list[JSON]:
        """One page of escalation policies, by id."""
        with self.world.read() as state:
            ids = sorted(state.escalation_policies)[start_index : start_index + max_results]
            return [self._policy(state, i) for i in ids]

    def get_escalation_policy(self, ident: str | int) -> JSON:
        """One escalation policy by id."""
        with self.world.read() as state:
            text = str(ident)
            if text.isdigit() and int(text) in state.escalation_policies:
                return self._policy(state, int(text))
        raise not_found(f"escalation policy {ident} not found")

    def escalation_policy_by_name(self, name: str) -> JSON:
        """The escalation policy with exactly this name (lowest id if several)."""
        with self.world.read() as state:
            for policy_id in sorted(state.escalation_policies):
                if state.escalation_policies[policy_id]["name"] == name:
                    return self._policy(state, policy_id)
        raise not_found(f"no escalation policy named {name!r}")

    def add_escalation_policy(self, name: str, escalation_timeout: int = 0) -> JSON:
        """Create an escalation policy (Python only; tests of paging need more than 50)."""
        if not name:
            raise bad_request("name: required")
        with self.world.mutate() as state:
            policy_id = state.next_id("escalation_policy")
            state.escalation_policies[policy_id] = policy_json(policy_id, name, escalation_timeout)
            return self._policy(state, policy_id)

    def list_teams(self, start_index: int, max_results: int) -> list[JSON]:
        """One page of teams, by id."""
        with self.world.read() as state:
            ids = sorted(state.teams)[start_index : start_index + max_results]
            return [dict(state.teams[i]) for i in ids]

    def get_team(self, ident: str) -> JSON:
        """One team by id."""
        with self.world.read() as state:
            if ident.isdigit() and int(ident) in state.teams:
                return dict(state.teams[int(ident)])
        raise not_found(f"team {ident} not found")

    def add_team(self, name: str) -> JSON:
        """Create a team (Python only)."""
        if not name:
            raise bad_request("name: required")
        with self.world.mutate() as state:
            team_id = state.next_id("team")
            state.teams[team_id] = {"id": team_id, "name": name}
            return dict(state.teams[team_id])

    # ------------------------------------------------------------------ alerts

    def _select_alerts(
        self,
        state: WorldState,
        states: Sequence[str],
        sources: Sequence[int],
        since: str | None = None,
        until: str | None = None,
    ) -> list[IlertAlertRecord]:
        for value in states:
            if value not in ALERT_STATES:
                raise bad_request(f"states: {value!r} is not one of {', '.join(ALERT_STATES)}")
        low, high = parse_time(since or ""), parse_time(until or "")

        def in_window(alert: IlertAlertRecord) -> bool:
            reported = parse_time(alert.report_time)
            if reported is None:
                return low is None and high is None
            return (low is None or reported >= low) and (high is None or reported <= high)

        return sorted(
            (
                a
                for a in state.ilert_alerts.values()
                if (not states or a.status in states) and (not sources or a.source_id in sources)
                and in_window(a)
            ),
            key=lambda a: a.id,
            reverse=True,
        )

    def list_alerts(
        self,
        start_index: int = 0,
        max_results: int = 50,
        states: Sequence[str] = (),
        sources: Sequence[int] = (),
        *,
        since: str | None = None,
        until: str | None = None,
    ) -> list[JSON]:
        """One page of alerts, newest first, filtered by state, source and ``reportTime``
        (``since``/``until``: ilert's ``from``/``until``, inclusive)."""
        with self.world.read() as state:
            page = self._select_alerts(state, states, sources, since, until)[
                start_index : start_index + max_results
            ]
            return [self._render_alert(state, a) for a in page]

    def count_alerts(
        self,
        states: Sequence[str] = (),
        sources: Sequence[int] = (),
        *,
        since: str | None = None,
        until: str | None = None,
    ) -> int:
        """How many alerts match the filters."""
        with self.world.read() as state:
            return len(self._select_alerts(state, states, sources, since, until))

    def _find_alert(self, state: WorldState, ident: str | int) -> IlertAlertRecord:
        text = str(ident)
        if text.isdigit() and int(text) in state.ilert_alerts:
            return state.ilert_alerts[int(text)]
        raise not_found(f"alert {text} not found")

    def get_alert(self, ident: str | int, include: Sequence[str] = ()) -> JSON:
        """One alert; ``include=customDetails`` adds the original event payload."""
        with self.world.read() as state:
            return self._render_alert(state, self._find_alert(state, ident), include)

    def alert_log(self, ident: str | int) -> list[JSON]:
        """The alert's log entries (what happened to it, oldest first)."""
        with self.world.read() as state:
            return copy.deepcopy(self._find_alert(state, ident).log)

    def accept_alert(self, ident: str | int) -> JSON:
        """PENDING → ACCEPTED; accepting an accepted alert changes nothing."""
        with self.world.mutate() as state:
            rec = self._find_alert(state, ident)
            if rec.status == "RESOLVED":
                raise bad_request(f"alert {rec.id} is resolved and cannot be accepted")
            if rec.status == "PENDING":
                rec.status = "ACCEPTED"
                self._log(rec, "AlertAcceptedLogEntry", "Alert accepted via API")
            return self._render_alert(state, rec)

    def resolve_alert(self, ident: str | int) -> JSON:
        """→ RESOLVED (final); resolving a resolved alert changes nothing."""
        with self.world.mutate() as state:
            rec = self._find_alert(state, ident)
            if rec.status != "RESOLVED":
                self._resolve(rec, "Alert resolved via API")
            return self._render_alert(state, rec)

    @staticmethod
    def _log(rec: IlertAlertRecord, entry_type: str, text: str) -> None:
        rec.log.append(
            {
                "id": len(rec.log) + 1,
                "timestamp": now_iso(),
                "logEntryType": entry_type,
                "text": text,
            }
        )

    def _resolve(self, rec: IlertAlertRecord, text: str) -> None:
        rec.status = "RESOLVED"
        rec.resolved_on = now_iso()
        self._log(rec, "AlertResolvedLogEntry", text)

    # ------------------------------------------------------------------ events

    def _open_alert(
        self, state: WorldState, source_id: int, alert_key: str
    ) -> IlertAlertRecord | None:
        """The most recent open alert of a source with this key (trimmed, case-insensitive)."""
        matches = [
            a
            for a in state.ilert_alerts.values()
            if a.source_id == source_id
            and a.status in _OPEN
            and _key(a.alert_key) == _key(alert_key)
        ]
        return max(matches, key=lambda a: a.id) if matches else None

    def _new_alert(
        self,
        state: WorldState,
        src: AlertSourceRecord,
        *,
        summary: str,
        details: str,
        alert_key: str,
        severity: int | None,
        priority: str | None,
        custom_details: JSON | None,
    ) -> IlertAlertRecord:
        rec = IlertAlertRecord(
            id=state.next_id("ilert_alert", 500001),
            source_id=src.id,
            source_name=src.name,
            integration_type=src.integration_type,
            escalation_policy_id=src.escalation_policy_id,
            summary=summary,
            details=details,
            alert_key=alert_key.strip(),
            status="PENDING",
            priority=priority or ("LOW" if src.alert_priority_rule.startswith("LOW") else "HIGH"),
            severity=severity if severity is not None else src.extras.get("severity"),
            report_time=now_iso(),
            resolved_on=None,
            custom_details=custom_details,
        )
        self._log(rec, "AlertReceivedLogEntry", f"New alert received: {summary}")
        state.ilert_alerts[rec.id] = rec
        return rec

    def _intake(self, state: WorldState, **record: Any) -> None:
        state.ilert_intake.append({"received_at": now_iso(), **record})

    def _answer(self, alert_key: str | None, alert: IlertAlertRecord | None, code: str) -> JSON:
        return {
            "alertKey": alert_key,
            "alertUrl": f"{self.base_url}/api/alerts/{alert.id}" if alert else None,
            "responseCode": code,
        }

    def receive_level_event(self, integration_key: str, body: object) -> JSON:  # noqa: PLR0911
        # (one return per answer ilert gives: unknown type, inactive, filtered, resolved ...)
        """``POST /api/v1/events/levelio/<key>``: what ilert's LEVELIO converter does."""
        with self.world.mutate() as state:
            src = next(
                (s for s in state.alert_sources.values() if s.integration_key == integration_key),
                None,
            )
            if src is None:
                raise not_found("no alert source has this integration key")
            if src.integration_type != "LEVELIO":
                raise bad_request(
                    f"this integration key belongs to a {src.integration_type} alert source, "
                    "not a Level.io (LEVELIO) one"
                )
            event_type, event_id, data = self._check_level_envelope(body)

            def record(**outcome: Any) -> None:
                self._intake(
                    state, source_id=src.id, event_type=event_type, event_id=event_id, **outcome
                )

            if event_type not in ("alert_active", "alert_resolved"):
                record(
                    outcome="ignored", alert_id=None, reason=f"{event_type} is not an alert event"
                )
                return self._answer(None, None, "EVENT_IGNORED")
            alert_key = data["id"]
            if not src.active:
                record(outcome="ignored", alert_id=None, reason="alert source is inactive")
                return self._answer(alert_key, None, "ALERT_SOURCE_INACTIVE")
            open_alert = self._open_alert(state, src.id, alert_key)
            refused = self._filter_refuses(src, data) if event_type == "alert_active" else None
            if refused is not None:
                record(outcome="ignored", alert_id=None, reason=refused)
                return self._answer(alert_key, None, "EVENT_FILTERED")
            if event_type == "alert_resolved":
                if open_alert is None:
                    record(outcome="ignored", alert_id=None, reason="no open alert with this key")
                    return self._answer(alert_key, None, "NO_OPEN_ALERT")
                self._resolve(open_alert, "Alert resolved by Level.io (alert_resolved)")
                record(outcome="resolved", alert_id=open_alert.id, reason=None)
                return self._answer(alert_key, open_alert, "ALERT_RESOLVED")
            if open_alert is not None:
                self._log(
                    open_alert, "AlertEventAppendedLogEntry", "Level.io alert_active appended"
                )
                record(outcome="appended", alert_id=open_alert.id, reason=None)
                return self._answer(alert_key, open_alert, "EVENT_APPENDED")
            alert = self._new_alert(
                state,
                src,
                summary=self._level_summary(data),
                details=self._level_details(data),
                alert_key=alert_key,
                severity=LEVEL_SEVERITIES.get(str(data.get("severity"))),
                priority=None,
                custom_details=body if isinstance(body, dict) else None,
            )
            record(outcome="created", alert_id=alert.id, reason=None)
            return self._answer(alert_key, alert, "NEW_ALERT_CREATED")

    @staticmethod
    def _filter_refuses(src: AlertSourceRecord, data: JSON) -> str | None:
        """Why the source's ``eventFilter`` drops this Level alert, or None when it takes it.
        A filter the sandbox cannot read (kept in a state file from before the sandbox read
        ICL itself) drops the alert and says so, rather than failing the delivery."""
        condition = src.extras.get("eventFilter")
        if not isinstance(condition, str):
            return None
        try:
            if icl_eval.accepts(condition, icl_eval.level_context(data)):
                return None
        except icl_eval.IclError as exc:
            return f"the alert source's eventFilter cannot be read ({exc})"
        return "the alert source's eventFilter does not accept this alert"

    @staticmethod
    def _check_level_envelope(body: object) -> tuple[str, str | None, JSON]:
        if not isinstance(body, dict):
            raise bad_request("body must be a Level webhook envelope (a JSON object)")
        event_type = body.get("event_type")
        if not isinstance(event_type, str) or not event_type:
            raise bad_request("event_type: required")
        data = body.get("data")
        if not isinstance(data, dict):
            raise bad_request("data: required, an object")
        if event_type in ("alert_active", "alert_resolved") and (
            not isinstance(data.get("id"), str) or not data["id"].strip()
        ):
            raise bad_request("data.id: required for alert events (it becomes the alert key)")
        event_id = body.get("event_id")
        return event_type, event_id if isinstance(event_id, str) else None, data

    @staticmethod
    def _level_summary(data: JSON) -> str:
        return icl_eval.level_summary(data)

    @staticmethod
    def _level_details(data: JSON) -> str:
        return icl_eval.level_details(data)

    def receive_event(self, body: object) -> JSON:
        """``POST /api/events``: the generic Events API (ALERT, ACCEPT, RESOLVE, COMMENT)."""
        if not isinstance(body, dict):
            raise bad_request("body must be an event (a JSON object)")
        key = body.get("integrationKey", body.get("apiKey"))
        if not isinstance(key, str) or not key:
            raise bad_request("integrationKey: required")
        event_type = body.get("eventType")
        if event_type not in EVENT_TYPES:
            raise bad_request(f"eventType: must be one of {', '.join(EVENT_TYPES)}")
        summary = body.get("summary")
        if event_type == "ALERT" and (not isinstance(summary, str) or not summary.strip()):
            raise bad_request("summary: required for ALERT events")
        alert_key = body.get("alertKey")
        if alert_key is not None and not isinstance(alert_key, str):
            raise bad_request("alertKey: must be a string")
        if event_type != "ALERT" and not alert_key:
            raise bad_request(f"alertKey: required for {event_type} events")
        priority = _enum(body, "priority", ("HIGH", "LOW"), None)
        severity = body.get("severity")
        if severity is not None and (not _is_int(severity) or not 1 <= severity <= 5):
            raise bad_request("severity: must be an integer from 1 to 5")
        with self.world.mutate() as state:
            src = next((s for s in state.alert_sources.values() if s.integration_key == key), None)
            if src is None:
                raise not_found("no alert source has this integration key")
            if not src.active:
                self._intake(
                    state,
                    source_id=src.id,
                    event_type=event_type,
                    event_id=None,
                    outcome="ignored",
                    alert_id=None,
                    reason="alert source is inactive",
                )
                return self._answer(alert_key, None, "ALERT_SOURCE_INACTIVE")
            alert_key = alert_key or uuid.uuid4().hex
            outcome, code, alert = self._apply_event(
                state,
                src,
                body,
                event_type=event_type,
                alert_key=alert_key,
                priority=priority,
                severity=severity,
            )
            self._intake(
                state,
                source_id=src.id,
                event_type=event_type,
                event_id=None,
                outcome=outcome,
                alert_id=alert.id if alert else None,
                reason=None if alert else "no open alert with this key",
            )
            return self._answer(alert_key, alert, code)

    def _apply_event(
        self,
        state: WorldState,
        src: AlertSourceRecord,
        body: JSON,
        *,
        event_type: str,
        alert_key: str,
        priority: str | None,
        severity: int | None,
    ) -> tuple[str, str, IlertAlertRecord | None]:
        """Apply one Events API event; returns (intake outcome, responseCode, alert)."""
        open_alert = self._open_alert(state, src.id, alert_key)
        custom = body.get("customDetails")
        if event_type == "ALERT" and open_alert is None:
            alert = self._new_alert(
                state,
                src,
                summary=str(body["summary"]),
                details=str(body.get("details") or ""),
                alert_key=alert_key,
                severity=severity,
                priority=priority,
                custom_details=custom if isinstance(custom, dict) else None,
            )
            return "created", "NEW_ALERT_CREATED", alert
        if open_alert is None:
            return "ignored", "NO_OPEN_ALERT", None
        if event_type == "ACCEPT":
            if open_alert.status == "PENDING":
                open_alert.status = "ACCEPTED"
                self._log(open_alert, "AlertAcceptedLogEntry", "Alert accepted by event")
            return "accepted", "ALERT_ACCEPTED", open_alert
        if event_type == "RESOLVE":
            self._resolve(open_alert, "Alert resolved by event")
            return "resolved", "ALERT_RESOLVED", open_alert
        self._log(open_alert, "AlertEventAppendedLogEntry", f"{event_type} event appended")
        return "appended", "EVENT_APPENDED", open_alert

    def integrations(self) -> list[JSON]:
        """``GET /api/integrations``: the inbound integrations the sandbox implements."""
        return [
            {
                "id": "LEVELIO",
                "name": "Level.io",
                "type": "INBOUND",
                "iconUrl": f"{self.base_url}/sandbox/icons/levelio.svg",
                "documentationUrl": "https://docs.level.io/en/articles/13906197-ilert-integration",
                "integrationPath": "levelio",
            },
            {
                "id": "API",
                "name": "API",
                "type": "INBOUND",
                "iconUrl": f"{self.base_url}/sandbox/icons/api.svg",
                "documentationUrl": "https://docs.ilert.com/developer-docs/rest-api",
                "integrationPath": "api",
            },
        ]

    def intake_log(self) -> list[JSON]:
        """What happened to every event that reached the intake routes (and why)."""
        with self.world.read() as state:
            return copy.deepcopy(state.ilert_intake)
