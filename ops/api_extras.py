"""The few calls ``doctor`` and ``verify`` need that the providers' clients do not make.

Kept here rather than in ``providers/`` because the dynamic providers never need them:
ilert's newest alerts of one source (one page, not the whole history), an alert's log
entries, and resolving an alert (``verify``'s clean-up); Level's one-alert read (does the
key work, in manual mode too), the sandbox's alert-raising control route, and the opt-in
write probe that tells a read-only Level key from a read & write one (``LevelClient``'s, which
``pulumi preview`` sends too). They go through the
same HTTP layer (``clients.http.ApiClient``): same retries, timeouts and redaction.
"""

from __future__ import annotations

from typing import Any

from clients.endpoints import Endpoint
from clients.http import ApiClient
from clients.ilert import Alert
from clients.level import LevelAlert, LevelClient
from clients.tuning import DEFAULT_RATE_LIMITS

RECENT_ALERTS = 5


class IlertExtras:
    """ilert GETs by page, and resolving one alert."""

    def __init__(self, endpoint: Endpoint) -> None:
        self._api = ApiClient(
            api="ilert",
            base_url=endpoint.base_url,
            authorization=f"Bearer {endpoint.credential}",
            credential_secret=endpoint.credential,
            credential_hint="set ilert:apiToken (pulumi config set --secret) or ILERT_API_TOKEN",
            base_url_setting="ilert:baseUrl",
            rate_limit=DEFAULT_RATE_LIMITS["ilert"],
        )

    def recent_alerts(self, source_id: int, limit: int = RECENT_ALERTS) -> list[Alert]:
        """The newest ``limit`` alerts of one source (ilert lists newest first)."""
        page = self._api.request(
            "GET",
            "/api/alerts",
            params={"sources": [int(source_id)], "start-index": 0, "max-results": limit},
        )
        items = page if isinstance(page, list) else []
        return [self._api.parse(Alert, item, "GET", "/api/alerts") for item in items]

    def alert_log(self, alert_id: int) -> list[dict[str, Any]]:
        """What happened to one alert (received, appended, resolved ...), oldest first."""
        body = self._api.request("GET", f"/api/alerts/{int(alert_id)}/log-entries")
        return [entry for entry in body or [] if isinstance(entry, dict)]

    def resolve_alert(self, alert_id: int) -> Alert:
        """``PUT /api/alerts/{id}/resolve`` (``verify``'s clean-up only; doctor never calls it)."""
        return self._api.call(Alert, "PUT", f"/api/alerts/{int(alert_id)}/resolve")


class LevelExtras:
    """Level's one-alert read, the sandbox's raise-an-alert route, and the write probe."""

    def __init__(self, endpoint: Endpoint) -> None:
        self._api = ApiClient(
            api="Level",
            base_url=endpoint.base_url,
            authorization=endpoint.credential,
            credential_secret=endpoint.credential,
            credential_hint=(
                "set level:apiKey (pulumi config set --secret) or LEVEL_API_KEY to a "
                "read & write key"
            ),
            base_url_setting="level:baseUrl",
            rate_limit=DEFAULT_RATE_LIMITS["level"],
        )
        self._level = LevelClient(
            endpoint.base_url, endpoint.credential, rate_limit=DEFAULT_RATE_LIMITS["level"]
        )

    def read_one_alert(self) -> None:
        """``GET /v2/alerts?limit=1``: Level's documented API, so it works in manual mode too."""
        self._api.request("GET", "/v2/alerts", params={"limit": 1})

    def has_ungrouped_devices(self) -> bool:
        """``GET /v2/devices?group_id=null&limit=1``: whether any device is in no group (Level
        documents ``group_id=null`` for that)."""
        page = self._api.request("GET", "/v2/devices", params={"group_id": "null", "limit": 1})
        return bool(isinstance(page, dict) and page.get("data"))

    def raise_sandbox_alert(
        self,
        *,
        device_hostname: str,
        name: str,
        severity: str = "warning",
        description: str = "Test alert sent by `make verify`; it is resolved again at once.",
        group_id: str | None = None,
    ) -> LevelAlert:
        """The sandbox's ``POST /sandbox/alerts`` (real Level raises alerts from monitors only),
        on the device of this hostname (a new one is put in ``group_id``)."""
        body: dict[str, Any] = {
            "device_hostname": device_hostname,
            "name": name,
            "severity": severity,
            "description": description,
        }
        if group_id is not None:
            body["group_id"] = group_id
        return self._api.call(LevelAlert, "POST", "/sandbox/alerts", json=body)

    def key_can_write(self) -> bool:
        """Whether the key may write: ``LevelClient.key_can_write``'s no-op write probe, the
        one ``pulumi preview`` also sends (components/preflight.py)."""
        return self._level.key_can_write()
