"""The fake Level's behaviour, independent of HTTP: webhooks, devices, alerts, delivery.

Webhooks follow reference/level-webhook-contract.md exactly (it is the project's own
contract: Level publishes no webhook API). Alerts follow Level's documented v2 alert
object; raising one (Level's monitors do that; the sandbox offers ``POST /sandbox/alerts``
and :meth:`LevelService.raise_alert`) and resolving one deliver ``alert_active`` and
``alert_resolved`` to the subscribed webhooks before the call returns.

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
from sandbox.world import JSON, DeviceRecord, LevelAlertRecord, WebhookRecord, World, WorldState

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
WEBHOOK_FIELDS: Final = ("url", "enabled", "event_types", "secret")
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


def _check_webhook_body(body: object, *, create: bool) -> JSON:
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
    return changes


class LevelService:
    """The fake Level API (webhooks, devices, alerts) and its webhook deliveries."""

    def __init__(self, world: World, deliverer: Deliverer) -> None:
        self.world = world
        self.deliverer = deliverer

    # --------------------------------------------------------------- rendering

    @staticmethod
    def _render_webhook(rec: WebhookRecord) -> JSON:
        return {
            "id": gid.encode("Webhook", rec.n),
            "url": rec.url,
            "enabled": rec.enabled,
            "event_types": list(rec.event_types) if rec.event_types is not None else None,
            "has_secret": rec.secret is not None,
            "created_at": rec.created_at,
            "updated_at": rec.updated_at,
        }

    @staticmethod
    def _render_device(rec: DeviceRecord) -> JSON:
        return {
            "id": gid.encode("Device", rec.n),
            "hostname": rec.hostname,
            "nickname": None,
            "group_id": None,
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
        changes = _check_webhook_body(body, create=True)
        with self.world.mutate() as state:
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
            changes = _check_webhook_body(body, create=False)
            if any(getattr(rec, key) != value for key, value in changes.items()):
                for key, value in changes.items():
                    setattr(rec, key, value)
                rec.updated_at = now_iso()
            return self._render_webhook(rec)

    def delete_webhook(self, webhook_id: str) -> None:
        """``DELETE /v2/webhooks/{id}``."""
        with self.world.mutate() as state:
            del state.webhooks[self._webhook(state, webhook_id).n]

    def _targets(self, state: WorldState, event_type: str) -> list[Target]:
        return [
            Target(webhook_id=gid.encode("Webhook", w.n), url=w.url, secret=w.secret)
            for n, w in sorted(state.webhooks.items())
            if w.enabled and (w.event_types is None or event_type in w.event_types)
        ]

    # ----------------------------------------------------------------- devices

    def list_devices(
        self,
        limit: int = DEFAULT_LIMIT,
        starting_after: str | None = None,
        ending_before: str | None = None,
    ) -> JSON:
        """``GET /v2/devices``: the devices alerts were raised on."""
        with self.world.read() as state:
            items = [(n, self._render_device(d)) for n, d in sorted(state.devices.items())]
        data, has_more = paginate(items, "Device", limit, starting_after, ending_before)
        return {"data": data, "has_more": has_more}

    def get_device(self, device_id: str) -> JSON:
        """``GET /v2/devices/{id}``."""
        n = gid.decode("Device", device_id)
        with self.world.read() as state:
            if n is None or n not in state.devices:
                raise not_found(f"Device {device_id} not found")
            return self._render_device(state.devices[n])

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

    def raise_alert(
        self,
        device_hostname: str,
        name: str,
        severity: str = "critical",
        description: str = "",
        payload: str | None = None,
    ) -> JSON:
        """Raise an alert on a device (created on first use) and deliver ``alert_active``."""
        if not isinstance(device_hostname, str) or not device_hostname.strip():
            raise bad_request("device_hostname: required")
        if not isinstance(name, str) or not name.strip():
            raise bad_request("name: required, the alert title (e.g. 'CPU usage')")
        if severity not in SEVERITIES:
            raise bad_request(f"severity: must be one of {', '.join(SEVERITIES)}")
        if not isinstance(description, str):
            raise bad_request("description: must be a string")
        if payload is not None and not isinstance(payload, str):
            raise bad_request("payload: must be a string or null")
        with self.world.mutate() as state:
            device = next(
                (d for d in state.devices.values() if d.hostname == device_hostname), None
            )
            if device is None:
                device = DeviceRecord(
                    n=state.next_id("device"), hostname=device_hostname, created_at=now_iso()
                )
                state.devices[device.n] = device
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
            targets = self._targets(state, "alert_active")
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
            targets = self._targets(state, "alert_resolved")
        self.deliverer.deliver("alert_resolved", alert, targets)
        return alert

    # ---------------------------------------------------------------- deliveries

    def deliveries(self, matching: Callable[[JSON], bool] | None = None) -> list[JSON]:
        """The delivery log (Level's "Requests" tab), oldest first."""
        with self.world.read() as state:
            return [
                {**d, "attempts": [dict(a) for a in d["attempts"]]}
                for d in state.deliveries
                if matching is None or matching(d)
            ]
