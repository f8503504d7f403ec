"""Typed client for the parts of ilert's REST API this project needs.

Alert sources (create, get, whole-object update, delete, paged list, find by exact name),
escalation policies (list, get, find by exact name) and alerts (list by source and state,
for end-to-end checks). Models tolerate fields ilert adds later and speak camelCase on the
wire. An alert source's request body is built by the resource's schema
(providers/ilert_alert_source.py), not here: this client knows the paths, the paging and the
fields it needs itself (ids, names, times, the URL). Bodies follow ilert's OpenAPI
``AlertSourceRel``, with sub-entities sent as ``{id}`` as its ``SimpleIdField64`` allows.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, PrivateAttr
from pydantic.alias_generators import to_camel

from clients.http import (
    DEFAULT_OPERATION_TIMEOUT,
    ApiClient,
    Pacer,
    RateLimit,
    RetryPolicy,
    Timeouts,
)

DEFAULT_BASE_URL = "https://api.ilert.com"
LEVEL_INTEGRATION_TYPE = "LEVELIO"
PAGE_SIZE_MAX = 50  # alert sources and escalation policies: max-results is capped at 50
ALERTS_PAGE_SIZE_MAX = 100
MAX_PAGES = 1000  # a guard against a server that never returns a short page
#: Every field ilert returns only when asked (reference/ilert-api.md 2.1), ``textTemplate``
#: aside (it changes how templates are shown, not what they are): what `make discover`
#: reads to tell the settings this project manages from those it would reset.
EVERY_INCLUDE = (
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

ALERT_CREATION_MODES = (
    "ONE_ALERT_PER_EMAIL",
    "ONE_ALERT_PER_EMAIL_SUBJECT",
    "ONE_PENDING_ALERT_ALLOWED",
    "ONE_OPEN_ALERT_ALLOWED",
    "OPEN_RESOLVE_ON_EXTRACTION",
    "ONE_ALERT_GROUPED_PER_WINDOW",
    "INTELLIGENT_GROUPING",
)
GROUPED_ALERT_CREATION_MODES = ("ONE_ALERT_GROUPED_PER_WINDOW", "INTELLIGENT_GROUPING")
ALERT_GROUPING_WINDOWS = (
    "PT2M", "PT5M", "PT15M", "PT30M", "PT1H", "PT2H", "PT4H", "PT8H", "PT12H", "PT24H",
)
AUTO_RESOLUTION_TIMEOUTS = (
    *(f"PT{minutes}M" for minutes in range(10, 61, 10)),
    "PT90M",
    *(f"PT{hours}H" for hours in range(2, 7)),
    "PT12H",
    "PT24H",
)
ALERT_PRIORITY_RULES = ("HIGH", "LOW", "HIGH_DURING_SUPPORT_HOURS", "LOW_DURING_SUPPORT_HOURS")
# ilert's documented defaults, sent explicitly so a whole-object PUT never depends on them.
DEFAULT_ALERT_CREATION = "ONE_ALERT_PER_EMAIL"
DEFAULT_ALERT_PRIORITY_RULE = "HIGH"


class IlertModel(BaseModel):
    """camelCase on the wire, snake_case in Python, unknown fields kept (ilert adds fields)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")


class IdRef(IlertModel):
    """A reference to another ilert entity: the id, and its name where ilert returns one."""

    id: int
    name: str | None = None


class EscalationPolicy(IlertModel):
    """An escalation policy; only what an alert source needs is typed."""

    id: int
    name: str


class AlertSource(IlertModel):
    """An alert source as ilert returns it."""

    id: int
    name: str
    integration_type: str
    escalation_policy: IdRef
    integration_key: str | None = None
    integration_url: str | None = None
    alert_creation: str | None = None
    alert_grouping_window: str | None = None
    alert_priority_rule: str | None = None
    auto_resolution_timeout: str | None = None
    active: bool = True
    status: str | None = None
    teams: list[IdRef] = []
    setup_status: str | None = None
    event_filter: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    # True when read with ``?include=``; a list item never carries the include-only fields.
    _includes_read: bool = PrivateAttr(default=False)

    @property
    def includes_read(self) -> bool:
        """Whether the include-only fields are what ilert has (not merely absent from a
        list item)."""
        return self._includes_read

    def with_includes(self) -> AlertSource:
        """This object, marked as read with its include-only fields."""
        self._includes_read = True
        return self

    @property
    def fields(self) -> dict[str, Any]:
        """Every field as ilert sent it (camelCase), those this model does not type too."""
        return self.model_dump(by_alias=True, mode="json")



class Alert(IlertModel):
    """An ilert alert (what Level's "incident" is called in ilert's API)."""

    id: int
    summary: str | None = None
    status: str
    alert_key: str | None = None
    alert_source: IdRef | None = None
    report_time: str | None = None
    resolved_on: str | None = None


class IlertClient:
    """ilert's REST API with one API token (``Authorization: Bearer <token>``)."""

    def __init__(
        self,
        base_url: str,
        api_token: str,
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
            api="ilert",
            base_url=base_url,
            authorization=f"Bearer {api_token}",
            credential_secret=api_token,
            credential_hint="set ilert:apiToken (pulumi config set --secret) or ILERT_API_TOKEN",
            base_url_setting="ilert:baseUrl",
            retry=retry,
            timeouts=timeouts,
            rate_limit=rate_limit,
            operation_timeout=operation_timeout,
            operation_timeout_setting="ilert:operationTimeoutSeconds",
            pacer=pacer,
        )

    @property
    def base_url(self) -> str:
        """The API's base URL, without the ``/api`` prefix."""
        return self._api.base_url

    # -- alert sources -----------------------------------------------------------------------
    def create_alert_source(
        self, body: Mapping[str, Any], *, include: Sequence[str] = ()
    ) -> AlertSource:
        """POST one alert source; ilert answers 201 with the full object, with the
        include-only fields named in ``include`` (as ilert's Terraform provider asks)."""
        return self._api.call(
            AlertSource, "POST", "/api/alert-sources", json=dict(body), params=_include(include)
        ).with_includes()

    def get_alert_source(self, source_id: int, *, include: Sequence[str] = ()) -> AlertSource:
        """GET one alert source by id, with the include-only fields named in ``include``
        (raises ``NotFoundError`` when it is gone)."""
        path = f"/api/alert-sources/{int(source_id)}"
        return self._api.call(AlertSource, "GET", path, params=_include(include)).with_includes()

    def update_alert_source(
        self, source_id: int, body: Mapping[str, Any], *, include: Sequence[str] = ()
    ) -> AlertSource:
        """PUT the whole alert source; ilert answers with the updated object."""
        path = f"/api/alert-sources/{int(source_id)}"
        return self._api.call(
            AlertSource, "PUT", path, json=dict(body), params=_include(include)
        ).with_includes()

    def delete_alert_source(self, source_id: int) -> None:
        """DELETE one alert source (204)."""
        self._api.request("DELETE", f"/api/alert-sources/{int(source_id)}")

    def list_alert_sources(self, *, page_size: int = PAGE_SIZE_MAX) -> Iterator[AlertSource]:
        """Every alert source, page by page (ilert returns bare arrays, no total)."""
        for item in self._pages("/api/alert-sources", page_size, PAGE_SIZE_MAX):
            yield self._api.parse(AlertSource, item, "GET", "/api/alert-sources")

    def find_alert_source_by_name(self, name: str) -> AlertSource | None:
        """The alert source with exactly this name, or None (documented list, filtered here)."""
        return next((s for s in self.list_alert_sources() if s.name == name), None)

    # -- escalation policies -----------------------------------------------------------------
    def list_escalation_policies(
        self, *, page_size: int = PAGE_SIZE_MAX
    ) -> Iterator[EscalationPolicy]:
        """Every escalation policy the token can see, page by page."""
        for item in self._pages("/api/escalation-policies", page_size, PAGE_SIZE_MAX):
            yield self._api.parse(EscalationPolicy, item, "GET", "/api/escalation-policies")

    def get_escalation_policy(self, policy_id: int) -> EscalationPolicy:
        """GET one escalation policy by id."""
        path = f"/api/escalation-policies/{int(policy_id)}"
        return self._api.call(EscalationPolicy, "GET", path)

    def find_escalation_policy_by_name(self, name: str) -> EscalationPolicy | None:
        """The escalation policy with exactly this name, or None."""
        return next((p for p in self.list_escalation_policies() if p.name == name), None)

    # -- alerts ------------------------------------------------------------------------------
    def list_alerts(
        self,
        *,
        source_id: int | None = None,
        states: tuple[str, ...] = (),
        page_size: int = ALERTS_PAGE_SIZE_MAX,
    ) -> list[Alert]:
        """Alerts, optionally of one alert source and in the given states."""
        params: dict[str, Any] = {}
        if source_id is not None:
            params["sources"] = [int(source_id)]
        if states:
            params["states"] = list(states)
        return [
            self._api.parse(Alert, item, "GET", "/api/alerts")
            for item in self._pages("/api/alerts", page_size, ALERTS_PAGE_SIZE_MAX, params)
        ]

    def list_alerts_reported(
        self,
        source_ids: Sequence[int],
        since: str,
        until: str,
        *,
        page_size: int = ALERTS_PAGE_SIZE_MAX,
    ) -> list[Alert]:
        """The alerts of these alert sources (one query: ``sources`` repeated) that ilert
        reported between ``since`` and ``until`` (ISO-UTC, its ``from``/``until`` on
        ``reportTime``), page by page as ilert's reference describes."""
        params: dict[str, Any] = {
            "sources": [int(each) for each in source_ids], "from": since, "until": until,
        }
        return [
            self._api.parse(Alert, item, "GET", "/api/alerts")
            for item in self._pages("/api/alerts", page_size, ALERTS_PAGE_SIZE_MAX, params)
        ]

    def get_alert(self, alert_id: int) -> Alert:
        """GET one alert by id."""
        return self._api.call(Alert, "GET", f"/api/alerts/{int(alert_id)}")

    def _pages(
        self,
        path: str,
        page_size: int,
        page_size_max: int,
        params: dict[str, Any] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Items of a ``start-index``/``max-results`` list until a page comes back short."""
        if not 1 <= page_size <= page_size_max:
            raise ValueError(f"page_size must be between 1 and {page_size_max}")
        start = 0
        for _ in range(MAX_PAGES):
            page = self._api.request(
                "GET",
                path,
                params={**(params or {}), "start-index": start, "max-results": page_size},
            )
            if not isinstance(page, list):
                raise self._api.malformed("GET", path, "the answer was not a list (a page)")
            yield from page
            if len(page) < page_size:
                return
            start += len(page)
        raise self._api.malformed("GET", path, f"full pages kept coming after {MAX_PAGES} pages")



def _include(fields: Sequence[str]) -> dict[str, list[str]] | None:
    """``?include=`` for the include-only fields asked for (none: no parameter)."""
    return {"include": list(fields)} if fields else None
