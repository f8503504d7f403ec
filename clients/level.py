"""Typed client for Level's v2 API: webhooks (our pinned contract), groups, devices, alerts.

Level's public API reference documents alerts, devices and groups, but describes outbound
webhooks only as configured in the web UI. The webhook calls below follow the contract in
../shared/reference/level-webhook-contract.md, which applies Level's own v2 conventions
(raw-key ``Authorization``, cursor pages, ``{"error"}`` bodies, snake_case event ids,
write-only secret) to a ``/v2/webhooks`` collection. This module is the ONE place that
contract lives, so it can be corrected here alone when Level publishes its own.

An organisation whose API answers 404 on the webhooks collection does not offer webhook
management: ``WebhookManagementUnavailableError`` says so and names the manual mode.

A webhook's optional device-group scope ``group_ids`` follows the same contract, which takes
it from Level's own ilert article (separate webhooks "scoped to different event types or
device groups"); Level's webhook settings pages show no scope (level-api.md §7). Groups
and devices are Level's documented ``GET /v2/groups`` and ``GET /v2/devices``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict

from clients.http import (
    DEFAULT_OPERATION_TIMEOUT,
    ApiClient,
    ApiError,
    ForbiddenError,
    NotFoundError,
    Pacer,
    RateLimit,
    RetryPolicy,
    Timeouts,
)

DEFAULT_BASE_URL = "https://api.level.io"
WEBHOOKS_PATH = "/v2/webhooks"
GROUPS_PATH = "/v2/groups"
DEVICES_PATH = "/v2/devices"
ALERTS_PATH = "/v2/alerts"
PAGE_SIZE_MAX = 100
MAX_PAGES = 1000  # a guard against a server that never says has_more=false

ALERT_ACTIVE = "alert_active"
ALERT_RESOLVED = "alert_resolved"
ALERT_EVENT_TYPES = (ALERT_ACTIVE, ALERT_RESOLVED)
EVENT_TYPES = (
    ALERT_ACTIVE,
    ALERT_RESOLVED,
    "device_created",
    "device_updated",
    "device_deleted",
    "group_created",
    "group_updated",
    "group_deleted",
)

#: An id no Level alert can have (not a base64 gid): resolving it can change nothing.
WRITE_PROBE_ALERT_ID = "level-ilert-write-probe"
WRITE_PROBE_PATH = f"/v2/alerts/{WRITE_PROBE_ALERT_ID}/resolve"

MANUAL_MODE_HINT = (
    "This Level organisation's API does not offer webhook management (it answered 404 on "
    f"{WEBHOOKS_PATH}). Set `pulumi config set level:webhookManagement manual` to have the "
    "stack output the ilert URL and the Level UI steps instead of calling Level"
)


class LevelModel(BaseModel):
    """Level speaks snake_case; unknown fields are kept (Level adds fields)."""

    model_config = ConfigDict(extra="allow")


class Webhook(LevelModel):
    """A Level webhook; the secret is write-only, only ``has_secret`` comes back."""

    id: str
    url: str
    enabled: bool = True
    event_types: list[str] | None = None
    has_secret: bool = False
    #: the device-group scope: None = the whole organisation, [] = emptied (delivers nothing)
    group_ids: list[str] | None = None
    created_at: str | None = None
    updated_at: str | None = None

    @property
    def fields(self) -> dict[str, Any]:
        """Every field as Level sent it, those this model does not type too."""
        return self.model_dump(mode="json")


class Group(LevelModel):
    """A Level device group; ``parent_id`` None is a top-level group (an MSP's client)."""

    id: str
    name: str
    parent_id: str | None = None


class Device(LevelModel):
    """A Level device (only what routing needs is typed)."""

    id: str
    hostname: str
    group_id: str | None = None



class LevelAlert(LevelModel):
    """A Level alert, as the API returns it and as webhook deliveries carry it."""

    id: str
    device_id: str | None = None
    device_hostname: str | None = None
    name: str | None = None
    description: str | None = None
    payload: str | None = None
    severity: str | None = None
    is_resolved: bool = False
    started_at: str | None = None
    resolved_at: str | None = None


class WebhookManagementUnavailableError(NotFoundError):
    """The organisation's API has no webhooks collection: use the manual mode."""


class LevelClient:
    """Level's v2 API with one API key (``Authorization: <raw key>``, no Bearer)."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        retry: RetryPolicy | None = None,
        timeouts: Timeouts | None = None,
        rate_limit: RateLimit | None = None,
        operation_timeout: float = DEFAULT_OPERATION_TIMEOUT,
        pacer: Pacer | None = None,
    ) -> None:
        """``pacer``: the key's ``Pacer``, shared with the other clients of the key in this
        process (or ``rate_limit``; ``clients.http.ApiClient`` says how each paces)."""
        self._api = ApiClient(
            api="Level",
            base_url=base_url,
            authorization=api_key,
            credential_secret=api_key,
            credential_hint=(
                "set level:apiKey (pulumi config set --secret) or LEVEL_API_KEY to a "
                "read & write key"
            ),
            base_url_setting="level:baseUrl",
            retry=retry,
            timeouts=timeouts,
            rate_limit=rate_limit,
            operation_timeout=operation_timeout,
            operation_timeout_setting="level:operationTimeoutSeconds",
            pacer=pacer,
        )

    @property
    def base_url(self) -> str:
        """The API's base URL, without the ``/v2`` prefix."""
        return self._api.base_url

    # -- webhooks (our contract) -------------------------------------------------------------
    def list_webhooks(self, *, page_size: int = PAGE_SIZE_MAX) -> Iterator[Webhook]:
        """Every webhook of the organisation, following ``starting_after`` cursors."""
        try:
            for item in self._pages(WEBHOOKS_PATH, page_size, {}):
                yield self._api.parse(Webhook, item, "GET", WEBHOOKS_PATH)
        except NotFoundError as exc:
            raise _unavailable(exc) from None

    def probe_webhooks(self) -> None:
        """One ``GET /v2/webhooks?limit=1``: the key is accepted and the organisation's API
        has webhook management (``WebhookManagementUnavailableError`` on a 404)."""
        try:
            self._api.request("GET", WEBHOOKS_PATH, params={"limit": 1})
        except NotFoundError as exc:
            raise _unavailable(exc) from None

    def key_can_write(self) -> bool:
        """Whether the key may write, from the answer to resolving an alert that cannot exist.

        ``POST /v2/alerts/<impossible id>/resolve`` changes nothing whatever the key: a read &
        write key gets past the access check and is refused for the id (404, 400 or 422); a
        read-only key is refused with 403 (Level's answer to a read-only key writing). Other
        failures (401, no answer) raise as they are.
        """
        try:
            self._api.request("POST", WRITE_PROBE_PATH)
        except ForbiddenError:
            return False
        except ApiError as exc:
            if exc.status in (400, 404, 422):
                return True
            raise
        return True  # an answer of 2xx to an impossible id: the key could write

    def create_webhook(self, body: Mapping[str, Any]) -> Webhook:
        """POST one webhook (201). ``event_types`` null means all event types, future ones
        too; ``group_ids`` scopes it to those device groups (left out: the whole
        organisation). The URL and the secret never appear in an error."""
        try:
            return self._api.call(
                Webhook, "POST", WEBHOOKS_PATH, json=dict(body), sensitive=_sensitive(body)
            )
        except NotFoundError as exc:
            raise _unavailable(exc) from None

    def get_webhook(self, webhook_id: str) -> Webhook:
        """GET one webhook (raises ``NotFoundError`` when it is gone)."""
        return self._api.call(Webhook, "GET", _webhook_path(webhook_id))

    def update_webhook(self, webhook_id: str, body: Mapping[str, Any]) -> Webhook:
        """PATCH the given fields of one webhook (``"secret": null`` removes the secret,
        ``"group_ids": null`` makes it org-wide again)."""
        return self._api.call(
            Webhook, "PATCH", _webhook_path(webhook_id), json=dict(body),
            sensitive=_sensitive(body),
        )

    def delete_webhook(self, webhook_id: str) -> None:
        """DELETE one webhook (204)."""
        self._api.request("DELETE", _webhook_path(webhook_id))

    # -- groups and devices (documented v2 API) ----------------------------------------------
    def list_groups(self, *, page_size: int = PAGE_SIZE_MAX) -> Iterator[Group]:
        """Every device group of the organisation, following ``starting_after`` cursors."""
        for item in self._pages(GROUPS_PATH, page_size, {}):
            yield self._api.parse(Group, item, "GET", GROUPS_PATH)

    def list_devices(
        self, *, ancestor_group_id: str | None = None, page_size: int = PAGE_SIZE_MAX
    ) -> list[Device]:
        """Devices, optionally only those in a group or below it (``ancestor_group_id``)."""
        params = {"ancestor_group_id": ancestor_group_id} if ancestor_group_id else {}
        return [
            self._api.parse(Device, item, "GET", DEVICES_PATH)
            for item in self._pages(DEVICES_PATH, page_size, params)
        ]

    # -- alerts (documented v2 API) ----------------------------------------------------------
    def list_alerts(
        self,
        *,
        status: str | None = None,
        device_id: str | None = None,
        page_size: int = PAGE_SIZE_MAX,
    ) -> list[LevelAlert]:
        """Alerts, optionally filtered by ``status`` (active/resolved) and device."""
        params = {k: v for k, v in (("status", status), ("device_id", device_id)) if v}
        return [
            self._api.parse(LevelAlert, item, "GET", "/v2/alerts")
            for item in self._pages("/v2/alerts", page_size, params)
        ]

    def alert_pages(
        self, *, status: str | None = None, page_size: int = PAGE_SIZE_MAX
    ) -> Iterator[list[LevelAlert]]:
        """Alerts page by page (``limit`` + ``starting_after``), so that a caller may stop
        early: Level's list has no time filter (only ``status`` and ``device_id``)."""
        params = {"status": status} if status else {}
        page: list[LevelAlert] = []
        for item in self._pages(ALERTS_PATH, page_size, params, page_ends=True):
            if item is _PAGE_END:
                yield page
                page = []
            else:
                page.append(self._api.parse(LevelAlert, item, "GET", ALERTS_PATH))

    def get_alert(self, alert_id: str) -> LevelAlert:
        """GET one alert."""
        return self._api.call(LevelAlert, "GET", f"/v2/alerts/{quote(alert_id, safe='')}")

    def resolve_alert(self, alert_id: str) -> None:
        """Resolve one alert (needs a read & write key); Level then sends ``alert_resolved``."""
        self._api.request("POST", f"/v2/alerts/{quote(alert_id, safe='')}/resolve")

    def _pages(
        self, path: str, page_size: int, params: dict[str, Any], *, page_ends: bool = False
    ) -> Iterator[Any]:
        """Items of a cursor-paged list: ``limit`` + ``starting_after`` until ``has_more`` ends
        (``page_ends``: a ``_PAGE_END`` marker after each page's items)."""
        if not 1 <= page_size <= PAGE_SIZE_MAX:
            raise ValueError(f"page_size must be between 1 and {PAGE_SIZE_MAX}")
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            query = {**params, "limit": page_size}
            if cursor is not None:
                query["starting_after"] = cursor
            page = self._api.request("GET", path, params=query)
            data = page.get("data") if isinstance(page, dict) else None
            if not isinstance(data, list):
                raise self._api.malformed("GET", path, "the answer has no data list (a page)")
            yield from data
            if page_ends:
                yield _PAGE_END
            if not page.get("has_more") or not data:
                return
            cursor = str(data[-1]["id"])
        raise self._api.malformed("GET", path, f"has_more was still true after {MAX_PAGES} pages")


_PAGE_END = object()  # the end of one page, in ``LevelClient._pages(page_ends=True)``


def _sensitive(body: Mapping[str, Any]) -> tuple[str | None, ...]:
    """The values of a webhook body that must never reach an error text."""
    return tuple(
        value for value in (body.get("url"), body.get("secret")) if isinstance(value, str)
    )


def _webhook_path(webhook_id: str) -> str:
    return f"{WEBHOOKS_PATH}/{quote(webhook_id, safe='')}"


def _unavailable(exc: NotFoundError) -> WebhookManagementUnavailableError:
    return WebhookManagementUnavailableError(
        api=exc.api, method=exc.method, path=exc.path, status=exc.status,
        message=exc.message, hint=MANUAL_MODE_HINT,
    )
