"""The fake Level's behaviour, independent of HTTP: webhooks, groups, devices, alerts,
delivery.

Webhooks follow reference/level-webhook-contract.md exactly (it is the project's own
contract: Level publishes no webhook API), including the device-group scope ``group_ids``:
a scoped webhook gets an alert only when the alert's device is in one of its groups or in
a descendant of one. Groups and devices follow Level's documented ``GET /v2/groups`` and
``GET /v2/devices`` (level-api.md §7). Alerts follow Level's documented v2 alert object;
raising one (Level's monitors do that; the sandbox offers ``POST /sandbox/alerts`` and
:meth:`LevelService.raise_alert`) and resolving one deliver ``alert_active`` and
``alert_resolved`` to the webhooks that cover it before the call returns.

Groups are created and deleted through sandbox control routes (Level does it in its UI).
Sandbox choices where Level documents nothing: a group with child groups cannot be deleted
(delete the children first); the devices of a deleted group are left without a group; the
sandbox delivers alert events only (no ``device_*``/``group_*`` events).

Lists are in creation order (oldest first) with Level's cursor paging.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final, TypeVar
from urllib.parse import urlsplit

from sandbox import gid
from sandbox.delivery import Deliverer, Target
from sandbox.errors import bad_request, not_found
from sandbox.timeutil import now_iso
from sandbox.world import (
    JSON,
    DeviceRecord,
    GroupRecord,
    LevelAlertRecord,
    WebhookRecord,
    World,
    WorldState,
)

EVENT_TYPES: Final = (
    "alert_active",
    "alert_resolved",
    "device_created",
    "device_updated",
    "device_deleted",
    "group_created",
    "group_updated",
    "group_deleted",
)
SEVERITIES: Final = ("information", "warning", "critical", "emergency")
WEBHOOK_FIELDS: Final = ("url", "enabled", "event_types", "secret", "group_ids")
GROUP: Final = "DeviceGroup"  # the gid type of Level's group ids
#: ``parent_id=null`` / ``group_id=null`` in a query: top-level groups / devices in no group.
NULL: Final = "null"
#: Hosts that may use http:// (the contract's list, exactly).
HTTP_HOSTS: Final = ("127.0.0.1", "localhost", "::1")
DEFAULT_LIMIT: Final = 20
MAX_LIMIT: Final = 100

_T = TypeVar("_T")


def paginate(
    items: Sequence[tuple[int, _T]],
    type_name: str,
    limit: int,
    starting_after: str | None,
    ending_before: str | None,
) -> tuple[list[_T], bool]:
    """Level's cursor paging over ``(n, item)`` pairs sorted by ``n``.

    ``starting_after=<id>``: the ``limit`` items after it, ``has_more`` if more follow.
    ``ending_before=<id>``: the ``limit`` items just before it (same order), ``has_more`` if
    more precede. A cursor only has to be a well-formed id of the right type: the object
    it names may have been deleted since.
    """
    if starting_after and ending_before:
        raise bad_request("starting_after and ending_before cannot be used together")
    if ending_before:
        before = gid.decode(type_name, ending_before)
        if before is None:
            raise bad_request(f"ending_before: {ending_before!r} is not a {type_name} id")
        preceding = [item for n, item in items if n < before]
        return preceding[-limit:], len(preceding) > limit
    after = 0
    if starting_after:
        decoded = gid.decode(type_name, starting_after)
        if decoded is None:
            raise bad_request(f"starting_after: {starting_after!r} is not a {type_name} id")
        after = decoded
    following = [item for n, item in items if n > after]
    return following[:limit], len(following) > limit


def _check_url(url: object) -> str:
    if not isinstance(url, str) or not url.strip():
        raise bad_request("url: required, the destination URL")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018  # raises ValueError on a bad port
    except ValueError:
        raise bad_request(f"url: {url!r} is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not host:
        raise bad_request("url: must be an absolute https:// URL")
    if parts.scheme == "http" and host.lower() not in HTTP_HOSTS:
        raise bad_request(
            "url: must use https:// (http:// is allowed only for loopback hosts: "
            "127.0.0.1, localhost, [::1])"
        )
    return url


def _check_event_types(value: object) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        raise bad_request("event_types: must be null (all event types) or a non-empty list")
    for item in value:
        if item not in EVENT_TYPES:
            raise bad_request(
                f"event_types: {item!r} is not an event type; use {', '.join(EVENT_TYPES)}"
            )
    if len(set(value)) != len(value):
        raise bad_request("event_types: must not contain duplicates")
    return sorted(value)


def _check_secret(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise bad_request("secret: must be a non-empty string, or null for no secret")
    return value


def _check_group_ids(state: WorldState, value: object) -> list[int] | None:
    """The contract's rules: null (org-wide) or a non-empty list of existing group ids,
    no duplicates."""
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        raise bad_request(
            "group_ids: must be null (the whole organisation) or a non-empty list of group ids"
        )
    numbers: list[int] = []
    for item in value:
        if not isinstance(item, str):
            raise bad_request(f"group_ids: {item!r} is not a group id (ids are strings)")
        n = gid.decode(GROUP, item)
        if n is None or n not in state.groups:
            raise bad_request(f"group_ids: no group has the id {item!r}")
        if n in numbers:
            raise bad_request(f"group_ids: {item!r} is listed twice")
        numbers.append(n)
    return numbers


def _check_webhook_body(state: WorldState, body: object, *, create: bool) -> JSON:
    if not isinstance(body, dict):
        raise bad_request("request body must be a JSON object")
    unknown = sorted(set(body) - set(WEBHOOK_FIELDS))
    if unknown:
        raise bad_request(
            f"unknown field(s): {', '.join(unknown)}; allowed: {', '.join(WEBHOOK_FIELDS)}"
        )
    changes: JSON = {}
    if create or "url" in body:
        changes["url"] = _check_url(body.get("url"))
    if "enabled" in body or create:
        enabled = body.get("enabled", True)
        if not isinstance(enabled, bool):
            raise bad_request("enabled: must be true or false")
        changes["enabled"] = enabled
    if "event_types" in body or create:
        changes["event_types"] = _check_event_types(body.get("event_types"))
    if "secret" in body or create:
        changes["secret"] = _check_secret(body.get("secret"))
    if "group_ids" in body or create:
        changes["group_ids"] = _check_group_ids(state, body.get("group_ids"))
    return changes


def _descendants(state: WorldState, top: int) -> set[int]:
    """``top`` and every group below it (bounded by the number of groups)."""
    found = {top}
    for _ in range(len(state.groups) + 1):
        more = {g.n for g in state.groups.values() if g.parent_n in found} - found
        if not more:
            break
        found |= more
    return found


def covers(state: WorldState, group_ids: list[int] | None, group_n: int | None) -> bool:
    """Whether a webhook scoped to ``group_ids`` gets events about a device in ``group_n``:
    always when org-wide (None), never for a device in no group or an emptied scope, else
    when the group or one of its ancestors is in the scope."""
    if group_ids is None:
        return True
    current = group_n
    for _ in range(len(state.groups) + 1):
        if current is None:
            return False
        if current in group_ids:
            return True
        parent = state.groups.get(current)
        current = parent.parent_n if parent is not None else None
    return False


class LevelService:
    """The fake Level API (webhooks, devices, alerts) and its webhook deliveries."""

    def __init__(self, world: World, deliverer: Deliverer) -> None:
        self.world = world
        self.deliverer = deliverer

    # --------------------------------------------------------------- rendering

    @staticmethod
    def _render_webhook(rec: WebhookRecord) -> JSON:
        group_ids = None
        if rec.group_ids is not None:
            group_ids = sorted(gid.encode(GROUP, n) for n in rec.group_ids)
        return {
            "id": gid.encode("Webhook", rec.n),
            "url": rec.url,
            "enabled": rec.enabled,
            "event_types": list(rec.event_types) if rec.event_types is not None else None,
            "has_secret": rec.secret is not None,
            "group_ids": group_ids,
            "created_at": rec.created_at,
            "updated_at": rec.updated_at,
        }

    @staticmethod
    def _render_device(state: WorldState, rec: DeviceRecord) -> JSON:
        group = state.groups.get(rec.group_n) if rec.group_n is not None else None
        return {
            "id": gid.encode("Device", rec.n),
            "hostname": rec.hostname,
            "nickname": None,
            "group_id": gid.encode(GROUP, group.n) if group else None,
            "group_name": group.name if group else None,
            "created_at": rec.created_at,
        }

    @staticmethod
    def _render_group(state: WorldState, rec: GroupRecord) -> JSON:
        descendants = _descendants(state, rec.n)
        return {
            "id": gid.encode(GROUP, rec.n),
            "name": rec.name,
            "parent_id": gid.encode(GROUP, rec.parent_n) if rec.parent_n is not None else None,
            "child_ids": [
                gid.encode(GROUP, g.n) for g in sorted(state.groups.values(), key=lambda g: g.n)
                if g.parent_n == rec.n
            ],
            "device_count": sum(d.group_n == rec.n for d in state.devices.values()),
            "descendent_device_count": sum(
                d.group_n in descendants for d in state.devices.values()
            ),
            "created_at": rec.created_at,
        }

    @staticmethod
    def _render_alert(state: WorldState, rec: LevelAlertRecord) -> JSON:
        device = state.devices.get(rec.device_n)
        return {
            "id": gid.encode("Alert", rec.n),
            "device_id": gid.encode("Device", rec.device_n),
            "device_hostname": device.hostname if device else None,
            "name": rec.name,
            "description": rec.description,
            "payload": rec.payload,
            "severity": rec.severity,
            "is_resolved": rec.resolved_at is not None,
            "started_at": rec.started_at,
            "resolved_at": rec.resolved_at,
        }

    # ---------------------------------------------------------------- webhooks

    def _webhook(self, state: WorldState, webhook_id: str) -> WebhookRecord:
        n = gid.decode("Webhook", webhook_id)
        if n is None or n not in state.webhooks:
            raise not_found(f"Webhook {webhook_id} not found")
        return state.webhooks[n]

    def list_webhooks(
        self,
        limit: int = DEFAULT_LIMIT,
        starting_after: str | None = None,
        ending_before: str | None = None,
    ) -> JSON:
        """``GET /v2/webhooks``: ``{"data": [...], "has_more": bool}``."""
        with self.world.read() as state:
            items = [(n, self._render_webhook(w)) for n, w in sorted(state.webhooks.items())]
        data, has_more = paginate(items, "Webhook", limit, starting_after, ending_before)
        return {"data": data, "has_more": has_more}

    def get_webhook(self, webhook_id: str) -> JSON:
        """``GET /v2/webhooks/{id}``: the bare webhook."""
        with self.world.read() as state:
            return self._render_webhook(self._webhook(state, webhook_id))

    def create_webhook(self, body: object) -> JSON:
        """``POST /v2/webhooks``: validate and store; the secret is never returned."""
        with self.world.mutate() as state:
            changes = _check_webhook_body(state, body, create=True)
            now = now_iso()
            rec = WebhookRecord(
                n=state.next_id("webhook"), created_at=now, updated_at=now, **changes
            )
            state.webhooks[rec.n] = rec
            return self._render_webhook(rec)

    def update_webhook(self, webhook_id: str, body: object) -> JSON:
        """``PATCH /v2/webhooks/{id}``: any subset of the fields; ``secret: null`` removes it."""
        with self.world.mutate() as state:
            rec = self._webhook(state, webhook_id)
            changes = _check_webhook_body(state, body, create=False)
            if any(getattr(rec, key) != value for key, value in changes.items()):
                for key, value in changes.items():
                    setattr(rec, key, value)
                rec.updated_at = now_iso()
            return self._render_webhook(rec)

    def delete_webhook(self, webhook_id: str) -> None:
        """``DELETE /v2/webhooks/{id}``."""
        with self.world.mutate() as state:
            del state.webhooks[self._webhook(state, webhook_id).n]

    # The webhook API switch and Level's UI (Settings > Webhooks), as a person uses it.

    def webhook_api(self) -> bool:
        """Whether ``/v2/webhooks`` answers (the project's pinned contract) or 404s, as the
        API of a production Level organisation does (Level publishes no webhook API)."""
        with self.world.read() as state:
            return state.level_webhook_api

    def set_webhook_api(self, enabled: object) -> JSON:
        """Turn the webhook API on (api-mode organisation) or off (production-like)."""
        if not isinstance(enabled, bool):
            raise bad_request("enabled: must be true (the webhook API answers) or false (404)")
        with self.world.mutate() as state:
            state.level_webhook_api = enabled
            return {"enabled": enabled}

    def ui_webhooks(self) -> JSON:
        """Settings > Webhooks: every webhook, oldest first (as the API renders them: the
        secret is write-only there too)."""
        with self.world.read() as state:
            return {"data": [self._render_webhook(w) for _, w in sorted(state.webhooks.items())]}

    def _targets(self, state: WorldState, event_type: str, group_n: int | None) -> list[Target]:
        """The webhooks an event about a device in ``group_n`` goes to."""
        return [
            Target(webhook_id=gid.encode("Webhook", w.n), url=w.url, secret=w.secret)
            for n, w in sorted(state.webhooks.items())
            if w.enabled
            and (w.event_types is None or event_type in w.event_types)
            and covers(state, w.group_ids, group_n)
        ]

    # ------------------------------------------------------------------ groups

    def _group(self, state: WorldState, group_id: str) -> GroupRecord:
        n = gid.decode(GROUP, group_id)
        if n is None or n not in state.groups:
            raise not_found(f"Group {group_id} not found")
        return state.groups[n]

    def list_groups(
        self,
        limit: int = DEFAULT_LIMIT,
        starting_after: str | None = None,
        ending_before: str | None = None,
        parent_id: str | None = None,
    ) -> JSON:
        """``GET /v2/groups``; ``parent_id`` filters to one parent's children (``null``:
        the top-level groups)."""
        with self.world.read() as state:
            parent_n = self._parent_filter(state, parent_id)
            items = [
                (n, self._render_group(state, g))
                for n, g in sorted(state.groups.items())
                if parent_id is None or g.parent_n == parent_n
            ]
        data, has_more = paginate(items, GROUP, limit, starting_after, ending_before)
        return {"data": data, "has_more": has_more}

    @staticmethod
    def _parent_filter(state: WorldState, parent_id: str | None) -> int | None:
        if parent_id is None or parent_id == NULL:
            return None
        n = gid.decode(GROUP, parent_id)
        if n is None:
            raise bad_request(f"parent_id: {parent_id!r} is not a group id")
        return n

    def get_group(self, group_id: str) -> JSON:
        """``GET /v2/groups/{id}``: the bare group (404 once deleted)."""
        with self.world.read() as state:
            return self._render_group(state, self._group(state, group_id))

    def add_group(self, name: str, parent_id: str | None = None) -> JSON:
        """Create a group (control route; Level does it in its UI)."""
        if not isinstance(name, str) or not name.strip():
            raise bad_request("name: required, the group's name")
        with self.world.mutate() as state:
            parent_n = None
            if parent_id is not None:
                parent_n = self._group(state, parent_id).n
            rec = GroupRecord(state.next_id("group"), name, parent_n, now_iso())
            state.groups[rec.n] = rec
            return self._render_group(state, rec)

    def delete_group(self, group_id: str) -> None:
        """Delete a group (control route): its id leaves every webhook's ``group_ids`` (a
        list that becomes empty stays ``[]``: the scope never widens); its devices are left
        without a group. A group with child groups is refused."""
        with self.world.mutate() as state:
            rec = self._group(state, group_id)
            children = [g.name for g in state.groups.values() if g.parent_n == rec.n]
            if children:
                raise bad_request(
                    f"group {rec.name!r} has {len(children)} child group(s) "
                    f"({', '.join(children)}); delete or move them first"
                )
            for webhook in state.webhooks.values():
                if webhook.group_ids is not None and rec.n in webhook.group_ids:
                    webhook.group_ids = [n for n in webhook.group_ids if n != rec.n]
                    webhook.updated_at = now_iso()
            for device in state.devices.values():
                if device.group_n == rec.n:
                    device.group_n = None
            del state.groups[rec.n]

    def add_device(self, hostname: str, group_id: str | None = None) -> JSON:
        """Add a device to a group, or to none (control route; Level's agent does it)."""
        if not isinstance(hostname, str) or not hostname.strip():
            raise bad_request("hostname: required")
        with self.world.mutate() as state:
            if any(d.hostname == hostname for d in state.devices.values()):
                raise bad_request(f"hostname: a device named {hostname!r} exists already")
            group_n = self._group(state, group_id).n if group_id is not None else None
            rec = DeviceRecord(state.next_id("device"), hostname, now_iso(), group_n)
            state.devices[rec.n] = rec
            return self._render_device(state, rec)

    # ----------------------------------------------------------------- devices

    def list_devices(
        self,
        limit: int = DEFAULT_LIMIT,
        starting_after: str | None = None,
        ending_before: str | None = None,
        group_id: str | None = None,
        ancestor_group_id: str | None = None,
    ) -> JSON:
        """``GET /v2/devices``; ``group_id`` = directly in that group (``null``: in none),
        ``ancestor_group_id`` = in that group or below it."""
        with self.world.read() as state:
            keep = self._device_filter(state, group_id, ancestor_group_id)
            items = [
                (n, self._render_device(state, d))
                for n, d in sorted(state.devices.items())
                if keep(d)
            ]
        data, has_more = paginate(items, "Device", limit, starting_after, ending_before)
        return {"data": data, "has_more": has_more}

    @staticmethod
    def _device_filter(
        state: WorldState, group_id: str | None, ancestor_group_id: str | None
    ) -> Callable[[DeviceRecord], bool]:
        wanted: list[Callable[[DeviceRecord], bool]] = []
        if group_id == NULL:
            wanted.append(lambda d: d.group_n is None)
        elif group_id is not None:
            n = gid.decode(GROUP, group_id)
            if n is None:
                raise bad_request(f"group_id: {group_id!r} is not a group id")
            wanted.append(lambda d: d.group_n == n)
        if ancestor_group_id is not None:
            top = gid.decode(GROUP, ancestor_group_id)
            if top is None:
                raise bad_request(f"ancestor_group_id: {ancestor_group_id!r} is not a group id")
            below = _descendants(state, top)
            wanted.append(lambda d: d.group_n in below)
        return lambda d: all(test(d) for test in wanted)

    def get_device(self, device_id: str) -> JSON:
        """``GET /v2/devices/{id}``."""
        n = gid.decode("Device", device_id)
        with self.world.read() as state:
            if n is None or n not in state.devices:
                raise not_found(f"Device {device_id} not found")
            return self._render_device(state, state.devices[n])

    # ------------------------------------------------------------------ alerts

    def list_alerts(
        self,
        limit: int = DEFAULT_LIMIT,
        starting_after: str | None = None,
        ending_before: str | None = None,
        device_id: str | None = None,
        status: str | None = None,
    ) -> JSON:
        """``GET /v2/alerts`` with ``device_id`` and ``status`` (active|resolved) filters."""
        if status is not None and status not in ("active", "resolved"):
            raise bad_request("status: must be active or resolved")
        device_n = None
        if device_id is not None:
            device_n = gid.decode("Device", device_id)
            if device_n is None:
                raise bad_request(f"device_id: {device_id!r} is not a Device id")
        with self.world.read() as state:
            items = [
                (n, self._render_alert(state, a))
                for n, a in sorted(state.level_alerts.items())
                if (device_n is None or a.device_n == device_n)
                and (status is None or (a.resolved_at is not None) == (status == "resolved"))
            ]
        data, has_more = paginate(items, "Alert", limit, starting_after, ending_before)
        return {"data": data, "has_more": has_more}

    def get_alert(self, alert_id: str) -> JSON:
        """``GET /v2/alerts/{id}``: the bare alert."""
        with self.world.read() as state:
            return self._render_alert(state, self._alert(state, alert_id))

    def _alert(self, state: WorldState, alert_id: str) -> LevelAlertRecord:
        n = gid.decode("Alert", alert_id)
        if n is None or n not in state.level_alerts:
            raise not_found(f"Alert {alert_id} not found")
        return state.level_alerts[n]

    def raise_alert(  # noqa: PLR0917 (the alert's fields, as the control route takes them)
        self,
        device_hostname: str | None,
        name: str,
        severity: str = "critical",
        description: str = "",
        payload: str | None = None,
        device_id: str | None = None,
        group_id: str | None = None,
    ) -> JSON:
        """Raise an alert on a device and deliver ``alert_active`` to the webhooks that cover
        the device's group. The device is ``device_id``, else the one with this hostname,
        else a new device of this hostname in ``group_id`` (or in no group)."""
        if device_id is None and (
            not isinstance(device_hostname, str) or not device_hostname.strip()
        ):
            raise bad_request("device_hostname or device_id: required")
        if not isinstance(name, str) or not name.strip():
            raise bad_request("name: required, the alert title (e.g. 'CPU usage')")
        if severity not in SEVERITIES:
            raise bad_request(f"severity: must be one of {', '.join(SEVERITIES)}")
        if not isinstance(description, str):
            raise bad_request("description: must be a string")
        if payload is not None and not isinstance(payload, str):
            raise bad_request("payload: must be a string or null")
        with self.world.mutate() as state:
            device = self._device_for_alert(state, device_hostname, device_id, group_id)
            rec = LevelAlertRecord(
                n=state.next_id("level_alert"),
                device_n=device.n,
                name=name,
                description=description,
                payload=payload,
                severity=severity,
                started_at=now_iso(),
                resolved_at=None,
            )
            state.level_alerts[rec.n] = rec
            alert = self._render_alert(state, rec)
            targets = self._targets(state, "alert_active", device.group_n)
        self.deliverer.deliver("alert_active", alert, targets)  # outside the lock: see module doc
        return alert

    def resolve_alert(self, alert_id: str) -> JSON:
        """Resolve and deliver ``alert_resolved``; an already resolved alert is left alone."""
        with self.world.mutate() as state:
            rec = self._alert(state, alert_id)
            if rec.resolved_at is not None:
                return self._render_alert(state, rec)
            rec.resolved_at = now_iso()
            alert = self._render_alert(state, rec)
            device = state.devices.get(rec.device_n)
            targets = self._targets(
                state, "alert_resolved", device.group_n if device is not None else None
            )
        self.deliverer.deliver("alert_resolved", alert, targets)
        return alert

    def _device_for_alert(
        self,
        state: WorldState,
        hostname: str | None,
        device_id: str | None,
        group_id: str | None,
    ) -> DeviceRecord:
        if device_id is not None:
            n = gid.decode("Device", device_id)
            if n is None or n not in state.devices:
                raise bad_request(f"device_id: no device has the id {device_id!r}")
            return state.devices[n]
        group_n = self._group(state, group_id).n if group_id is not None else None
        device = next((d for d in state.devices.values() if d.hostname == hostname), None)
        if device is not None:
            if group_id is not None and device.group_n != group_n:
                raise bad_request(
                    f"device_hostname: {hostname!r} exists in another group; leave group_id "
                    "out or pick another hostname"
                )
            return device
        device = DeviceRecord(state.next_id("device"), str(hostname), now_iso(), group_n)
        state.devices[device.n] = device
        return device

    # ---------------------------------------------------------------- deliveries

    def deliveries(self, matching: Callable[[JSON], bool] | None = None) -> list[JSON]:
        """The delivery log (Level's "Requests" tab), oldest first."""
        with self.world.read() as state:
            return [
                {**d, "attempts": [dict(a) for a in d["attempts"]]}
                for d in state.deliveries
                if matching is None or matching(d)
            ]
