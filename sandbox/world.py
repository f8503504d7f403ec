"""The sandbox's in-memory world: every record of both fake APIs, one lock, optional JSON file.

Both servers are threaded, so every read and write goes through :meth:`World.read` or
:meth:`World.mutate`, which hold one re-entrant lock. ``mutate`` also saves the world to
the state file (atomically: write a temporary file, then rename) when one is configured,
so ``python -m sandbox --state FILE`` survives a restart.

Records keep API-neutral snake_case fields; each service module renders them in its own
API's shape. Level objects are numbered internally and exposed as opaque gids
(:mod:`sandbox.gid`).
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from sandbox.timeutil import now_iso

STATE_VERSION = 1

JSON = dict[str, Any]


@dataclass
class AlertSourceRecord:
    """An ilert alert source; ``extras`` holds pass-through fields (templates, severity, ...)."""

    id: int
    name: str
    integration_type: str
    escalation_policy_id: int
    integration_key: str
    active: bool
    alert_creation: str
    alert_grouping_window: str | None
    auto_resolution_timeout: str | None
    alert_priority_rule: str
    teams: list[int]
    setup_status: str
    extras: JSON
    created_at: str
    updated_at: str


@dataclass
class IlertAlertRecord:
    """An ilert alert, with a snapshot of its source in case the source is deleted later."""

    id: int
    source_id: int
    source_name: str
    integration_type: str
    escalation_policy_id: int
    summary: str
    details: str
    alert_key: str
    status: str
    priority: str
    severity: int | None
    report_time: str
    resolved_on: str | None
    custom_details: JSON | None
    log: list[JSON] = field(default_factory=list)


@dataclass
class GroupRecord:
    """A Level device group; ``parent_n`` None is a top-level group (an MSP's client)."""

    n: int
    name: str
    parent_n: int | None
    created_at: str


@dataclass
class DeviceRecord:
    """A Level device: seeded, added by a control route, or made by the first alert raised
    on a new hostname (then in ``group_n``, or in no group)."""

    n: int
    hostname: str
    created_at: str
    group_n: int | None = None


@dataclass
class LevelAlertRecord:
    """A Level alert on a device."""

    n: int
    device_n: int
    name: str
    description: str
    payload: str | None
    severity: str
    started_at: str
    resolved_at: str | None


@dataclass
class WebhookRecord:
    """A Level webhook; ``secret`` is write-only in the API and only used to sign."""

    n: int
    url: str
    enabled: bool
    event_types: list[str] | None
    secret: str | None
    created_at: str
    updated_at: str
    #: the device-group scope (group numbers); None = the whole organisation
    group_ids: list[int] | None = None


@dataclass
class WorldState:
    """Everything both fakes know. Only touch it inside ``World.read``/``World.mutate``."""

    teams: dict[int, JSON] = field(default_factory=dict)
    escalation_policies: dict[int, JSON] = field(default_factory=dict)
    alert_sources: dict[int, AlertSourceRecord] = field(default_factory=dict)
    ilert_alerts: dict[int, IlertAlertRecord] = field(default_factory=dict)
    ilert_intake: list[JSON] = field(default_factory=list)
    groups: dict[int, GroupRecord] = field(default_factory=dict)
    devices: dict[int, DeviceRecord] = field(default_factory=dict)
    level_alerts: dict[int, LevelAlertRecord] = field(default_factory=dict)
    webhooks: dict[int, WebhookRecord] = field(default_factory=dict)
    deliveries: list[JSON] = field(default_factory=list)
    next_ids: dict[str, int] = field(default_factory=dict)
    #: False: Level's API answers 404 on /v2/webhooks, as a production organisation's does
    #: (webhooks are then made through the sandbox's UI routes only: sandbox.level_app)
    level_webhook_api: bool = True

    def next_id(self, kind: str, start: int = 1) -> int:
        """A fresh id for ``kind``; ids are never reused, even after a delete."""
        value = self.next_ids.get(kind, start)
        self.next_ids[kind] = value + 1
        return value


def policy_json(policy_id: int, name: str, timeout_minutes: int = 0) -> JSON:
    """A complete ilert escalation policy (valid against the OAS ``EscalationPolicy``)."""
    return {
        "id": policy_id,
        "name": name,
        "escalationRules": [
            {
                "escalationTimeout": timeout_minutes,
                "users": [{"id": 1, "firstName": "Sandbox", "lastName": "Responder"}],
                "schedules": [],
                "teams": [],
            }
        ],
        "teams": [],
        "repeating": False,
        "frequency": 1,
        "delayMin": 0,
    }


#: An MSP's Level: clients are top-level groups, their sites beneath, devices in the sites.
#: Both clients have a site called "HQ": group names are not unique in Level.
SEED_GROUPS: tuple[tuple[str, tuple[tuple[str, tuple[str, ...]], ...]], ...] = (
    ("Acme Corp", (("HQ", ("ACME-HQ-SRV01", "ACME-HQ-WS01")), ("Warehouse", ("ACME-WH-WS01",)))),
    ("Globex", (("HQ", ("GLOBEX-HQ-SRV01", "GLOBEX-HQ-WS01")),)),
)


def seed(state: WorldState) -> None:
    """The fixed starting world: two teams and two escalation policies in ilert, and in
    Level two clients (groups) with sites (child groups) and devices in the sites."""
    for name in ("Platform", "Service Desk"):
        team_id = state.next_id("team")
        state.teams[team_id] = {"id": team_id, "name": name}
    for name, timeout in (("Default", 0), ("On-call L1", 15)):
        policy_id = state.next_id("escalation_policy")
        state.escalation_policies[policy_id] = policy_json(policy_id, name, timeout)
    seed_groups(state)


def seed_groups(state: WorldState) -> None:
    """The seeded Level group tree and its devices (also added to a state file saved before
    the sandbox had groups)."""
    now = now_iso()
    for client, sites in SEED_GROUPS:
        parent = GroupRecord(state.next_id("group"), client, None, now)
        state.groups[parent.n] = parent
        for site, hostnames in sites:
            group = GroupRecord(state.next_id("group"), site, parent.n, now)
            state.groups[group.n] = group
            for hostname in hostnames:
                device = DeviceRecord(state.next_id("device"), hostname, now, group.n)
                state.devices[device.n] = device


_R = TypeVar("_R")


def _records(cls: type[_R], raw: dict[str, Any]) -> dict[int, _R]:
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    return {
        int(key): cls(**{k: v for k, v in value.items() if k in names})
        for key, value in raw.items()
    }


def _state_to_json(state: WorldState) -> JSON:
    data = asdict(state)
    data["version"] = STATE_VERSION
    data["saved_at"] = now_iso()
    return data


def _state_from_json(data: JSON) -> WorldState:
    if data.get("version") != STATE_VERSION:
        raise ValueError(f"unsupported sandbox state version {data.get('version')!r}")
    return WorldState(
        teams={int(k): v for k, v in data["teams"].items()},
        escalation_policies={int(k): v for k, v in data["escalation_policies"].items()},
        alert_sources=_records(AlertSourceRecord, data["alert_sources"]),
        ilert_alerts=_records(IlertAlertRecord, data["ilert_alerts"]),
        ilert_intake=list(data["ilert_intake"]),
        groups=_records(GroupRecord, data.get("groups", {})),  # absent before routing
        devices=_records(DeviceRecord, data["devices"]),
        level_alerts=_records(LevelAlertRecord, data["level_alerts"]),
        webhooks=_records(WebhookRecord, data["webhooks"]),
        deliveries=list(data["deliveries"]),
        next_ids={str(k): int(v) for k, v in data["next_ids"].items()},
        level_webhook_api=bool(data.get("level_webhook_api", True)),  # absent before it
    )


class World:
    """The lock-guarded state, loaded from and saved to ``state_file`` when one is given."""

    def __init__(self, state_file: Path | None = None) -> None:
        self.state_file = state_file
        self._lock = threading.RLock()
        if state_file is not None and state_file.exists():
            self._state = self._load(state_file)
        else:
            self._state = WorldState()
            seed(self._state)

    @staticmethod
    def _load(path: Path) -> WorldState:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            state = _state_from_json(data)
            if "groups" not in data:
                seed_groups(state)
            return state
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"cannot load sandbox state from {path}: {exc}") from exc

    @contextmanager
    def read(self) -> Iterator[WorldState]:
        """Hold the lock to read a consistent state."""
        with self._lock:
            yield self._state

    @contextmanager
    def mutate(self) -> Iterator[WorldState]:
        """Hold the lock to change the state; saves it afterwards unless the block raised."""
        with self._lock:
            yield self._state
            self.save()

    def save(self) -> None:
        """Write the state file atomically (no-op without a state file)."""
        if self.state_file is None:
            return
        with self._lock:
            text = json.dumps(_state_to_json(self._state), indent=1, sort_keys=True)
            directory = self.state_file.parent
            directory.mkdir(parents=True, exist_ok=True)
            handle, tmp_name = tempfile.mkstemp(
                prefix=f".{self.state_file.name}.", suffix=".tmp", dir=directory
            )
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as tmp:
                    tmp.write(text)
                os.replace(tmp_name, self.state_file)
            except BaseException:
                Path(tmp_name).unlink(missing_ok=True)
                raise
