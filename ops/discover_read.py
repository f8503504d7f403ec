"""What ``make discover`` reads, with GETs only: the hand-made setup as both APIs have it.

Every request goes through the providers' own clients (``clients.ilert.IlertClient``,
``clients.level.LevelClient``), so discover is paced, retried, timed out and worded
exactly as ``pulumi up`` is, and never prints a credential. What it reads:

- ilert: every alert source (all pages of 50; the listing has no filters or templates), then
  each Level.io source once more with every ``include`` (its filters and templates, as
  text); every escalation policy (to write a policy by name only where the name is
  unique), and the support hours and services where a Level.io source links some (to
  write them by name only where the name is unique).
- Level: every webhook (all pages) and every device group (to write a scope by name only
  where the name is unique). An organisation whose API has no webhook management (404)
  is read as such: discover then writes the manual mode.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from clients.endpoints import Endpoint
from clients.http import RateLimit
from clients.ilert import (
    EVERY_INCLUDE,
    LEVEL_INTEGRATION_TYPE,
    TEXT_TEMPLATE_INCLUDE,
    AlertSource,
    EscalationPolicy,
    IlertClient,
    Service,
    SupportHour,
)
from clients.ilert import PAGE_SIZE_MAX as ILERT_PAGE_SIZE
from clients.level import PAGE_SIZE_MAX as LEVEL_PAGE_SIZE
from clients.level import (
    Group,
    LevelClient,
    Webhook,
    WebhookManagementUnavailableError,
)
from clients.tuning import ApiTuning
from providers.ilert_alert_source import SCHEMA

#: Fields of an alert source that are not settings (ilert makes them); with the fields of
#: the alert source's schema (what this project manages) they are all that is not an
#: unmanaged setting. Any other field that holds a value is a setting the project does not
#: manage, which the whole-object PUT of an ``up`` resets.
NOT_SETTINGS = frozenset(
    {
        "id", "iconUrl", "lightIconUrl", "darkIconUrl", "bidirectional", "createdAt",
        "updatedAt", "integrationKey", "integrationUrl", "status", "setupStatus",
        "autoCreateServices",
    }
)
MANAGED = frozenset(
    str(each.api) for each in SCHEMA.fields.values() if each.spec.api is not None
)


def unmanaged_settings(source: AlertSource) -> dict[str, Any]:
    """The settings ``source`` holds that this project does not manage (camelCase keys)."""
    return {
        key: value
        for key, value in sorted(source.fields.items())
        if key not in NOT_SETTINGS | MANAGED and value not in (None, False, "", [], {})
    }


@dataclass(frozen=True)
class Live:
    """The hand-made setup as read: Level.io sources (full), policies, webhooks, groups."""

    ilert_base_url: str
    level_base_url: str | None
    sources: list[AlertSource]
    policies: list[EscalationPolicy]
    #: None: Level answered 404 on its webhooks collection (no webhook management)
    webhooks: list[Webhook] | None
    groups: list[Group]
    #: every alert source's integration URL and type, Level.io or not (to tell what a
    #: webhook points at); the URLs are secrets and are never printed
    types_by_url: Mapping[str, tuple[int, str, str]] = field(default_factory=dict)
    all_sources: int = 0
    ilert_pages: int = 0
    #: listed only where some Level.io source links support hours or services
    support_hours: list[SupportHour] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)


@dataclass(frozen=True)
class ReadSettings:
    """Where each API is, and how fast discover may read it (the providers' tuning)."""

    ilert: Endpoint
    ilert_tuning: ApiTuning
    level: Endpoint | None
    level_tuning: ApiTuning
    ilert_page_size: int = ILERT_PAGE_SIZE
    level_page_size: int = LEVEL_PAGE_SIZE


def _ilert(settings: ReadSettings) -> IlertClient:
    return IlertClient(
        settings.ilert.base_url,
        settings.ilert.credential,
        rate_limit=settings.ilert_tuning.rate_limit,
        operation_timeout=settings.ilert_tuning.operation_timeout,
    )


def _level(endpoint: Endpoint, rate_limit: RateLimit, timeout: float) -> LevelClient:
    return LevelClient(
        endpoint.base_url, endpoint.credential, rate_limit=rate_limit, operation_timeout=timeout
    )


def read_live(settings: ReadSettings) -> Live:
    """Read both APIs (GETs only); raises the clients' ``ApiError`` when a read fails."""
    ilert = _ilert(settings)
    listed = list(ilert.list_alert_sources(page_size=settings.ilert_page_size))
    types_by_url = {
        source.integration_url: (source.id, source.name, source.integration_type)
        for source in listed
        if source.integration_url
    }
    sources = [
        ilert.get_alert_source(source.id, include=(*EVERY_INCLUDE, TEXT_TEMPLATE_INCLUDE))
        for source in listed
        if source.integration_type == LEVEL_INTEGRATION_TYPE
    ]
    policies = list(ilert.list_escalation_policies(page_size=settings.ilert_page_size))
    linked = [source.fields for source in sources]
    support_hours = (
        list(ilert.list_support_hours()) if any(f.get("supportHours") for f in linked) else []
    )
    services = list(ilert.list_services()) if any(f.get("services") for f in linked) else []
    webhooks: list[Webhook] | None = None
    groups: list[Group] = []
    level_url = None
    if settings.level is not None:
        level = _level(
            settings.level,
            settings.level_tuning.rate_limit,
            settings.level_tuning.operation_timeout,
        )
        level_url = level.base_url
        try:
            webhooks = list(level.list_webhooks(page_size=settings.level_page_size))
        except WebhookManagementUnavailableError:
            webhooks = None
        groups = list(level.list_groups(page_size=settings.level_page_size))
    return Live(
        ilert_base_url=ilert.base_url,
        level_base_url=level_url,
        sources=sources,
        policies=policies,
        webhooks=webhooks,
        groups=groups,
        types_by_url=types_by_url,
        all_sources=len(listed),
        ilert_pages=len(listed) // settings.ilert_page_size + 1,
        support_hours=support_hours,
        services=services,
    )
