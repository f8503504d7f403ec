"""The fake Level v2 API as a Flask app (routes only; behaviour is in level_service).

Auth: ``Authorization: <raw key>`` on ``/v2/*`` and ``POST /sandbox/alerts``; a missing or
unknown key gets 401 ``{"error": "Access denied"}``, the read-only key gets 403 on every
write. Errors are ``{"error": "<message>"}``.
"""

from __future__ import annotations

from typing import TypedDict

from flask import Flask, request
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from sandbox.app_common import add_fault_routes, int_param, json_body, json_response, new_app
from sandbox.credentials import LEVEL_API_KEY, LEVEL_READONLY_KEY
from sandbox.errors import ApiError, bad_request
from sandbox.faults import Faults
from sandbox.level_service import DEFAULT_LIMIT, MAX_LIMIT, LevelService

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def level_error(status: int, message: str) -> Response:
    """A Level error body: ``{"error": message}``."""
    return json_response({"error": message}, status=status)


CONTROL_WRITES = (
    "/sandbox/alerts", "/sandbox/groups", "/sandbox/devices", "/sandbox/webhooks",
    "/sandbox/webhook-api",
)
WEBHOOKS_API = "/v2/webhooks"


def _needs_auth(path: str) -> bool:
    return path.startswith(("/v2/", *CONTROL_WRITES)) or path == "/v2"


class Paging(TypedDict):
    """Level's cursor paging parameters, validated."""

    limit: int
    starting_after: str | None
    ending_before: str | None


def _paging() -> Paging:
    return {
        "limit": int_param("limit", DEFAULT_LIMIT, 1, MAX_LIMIT),
        "starting_after": request.args.get("starting_after") or None,
        "ending_before": request.args.get("ending_before") or None,
    }


def _only(body: dict[str, object], allowed: set[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise bad_request(f"unknown field(s): {', '.join(unknown)}; allowed: "
                          f"{', '.join(sorted(allowed))}")


def _optional_text(body: dict[str, object], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise bad_request(f"{key}: must be a string id or null")
    return value


def create_level_app(service: LevelService, faults: Faults) -> Flask:
    """The Flask app for the fake Level API."""
    app = new_app("sandbox.level")

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError) -> Response:
        return level_error(exc.status, exc.message)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        return level_error(exc.code or 500, exc.name)

    @app.before_request
    def authenticate() -> Response | None:
        if not _needs_auth(request.path):
            return None
        key = request.headers.get("Authorization")
        if key not in (LEVEL_API_KEY, LEVEL_READONLY_KEY):
            return level_error(401, "Access denied")
        if key == LEVEL_READONLY_KEY and request.method in WRITE_METHODS:
            return level_error(403, "This API key is read-only; writes need a read & write key")
        return None

    @app.get("/")
    def index() -> Response:
        return json_response({"service": "Level (sandbox)", "api": f"{request.host_url}v2"})

    # ---------------------------------------------------------------- webhooks
    @app.get("/v2/webhooks")
    def list_webhooks() -> Response:
        return json_response(service.list_webhooks(**_paging()))

    @app.post("/v2/webhooks")
    def create_webhook() -> Response:
        return json_response(service.create_webhook(json_body()), status=201)

    @app.get("/v2/webhooks/<webhook_id>")
    def get_webhook(webhook_id: str) -> Response:
        return json_response(service.get_webhook(webhook_id))

    @app.patch("/v2/webhooks/<webhook_id>")
    def update_webhook(webhook_id: str) -> Response:
        return json_response(service.update_webhook(webhook_id, json_body()))

    @app.delete("/v2/webhooks/<webhook_id>")
    def delete_webhook(webhook_id: str) -> Response:
        service.delete_webhook(webhook_id)
        return Response(status=204)

    # ------------------------------------------------------ alerts and devices
    @app.get("/v2/alerts")
    def list_alerts() -> Response:
        return json_response(
            service.list_alerts(
                **_paging(),
                device_id=request.args.get("device_id") or None,
                status=request.args.get("status") or None,
            )
        )

    @app.get("/v2/alerts/<alert_id>")
    def get_alert(alert_id: str) -> Response:
        return json_response(service.get_alert(alert_id))

    @app.post("/v2/alerts/<alert_id>/resolve")
    def resolve_alert(alert_id: str) -> Response:
        return json_response(service.resolve_alert(alert_id))

    @app.get("/v2/devices")
    def list_devices() -> Response:
        return json_response(
            service.list_devices(
                **_paging(),
                group_id=request.args.get("group_id") or None,
                ancestor_group_id=request.args.get("ancestor_group_id") or None,
            )
        )

    @app.get("/v2/groups")
    def list_groups() -> Response:
        return json_response(
            service.list_groups(**_paging(), parent_id=request.args.get("parent_id") or None)
        )

    @app.get("/v2/groups/<group_id>")
    def get_group(group_id: str) -> Response:
        return json_response(service.get_group(group_id))

    @app.get("/v2/devices/<device_id>")
    def get_device(device_id: str) -> Response:
        return json_response(service.get_device(device_id))

    # --------------------------------------------------------- control routes
    @app.post("/sandbox/alerts")
    def raise_alert() -> Response:
        body = json_body()
        if not isinstance(body, dict):
            raise bad_request("body must be a JSON object {device_hostname, name, ...}")
        allowed = {
            "device_hostname", "device_id", "group_id", "name", "severity", "description",
            "payload",
        }
        _only(body, allowed)
        alert = service.raise_alert(
            device_hostname=body.get("device_hostname"),
            name=body.get("name", ""),
            severity=body.get("severity", "critical"),
            description=body.get("description", ""),
            payload=body.get("payload"),
            device_id=_optional_text(body, "device_id"),
            group_id=_optional_text(body, "group_id"),
        )
        return json_response(alert, status=201)

    @app.post("/sandbox/groups")
    def add_group() -> Response:
        body = json_body()
        if not isinstance(body, dict):
            raise bad_request("body must be a JSON object {name, parent_id}")
        _only(body, {"name", "parent_id"})
        group = service.add_group(body.get("name", ""), _optional_text(body, "parent_id"))
        return json_response(group, status=201)

    @app.delete("/sandbox/groups/<group_id>")
    def delete_group(group_id: str) -> Response:
        service.delete_group(group_id)
        return Response(status=204)

    @app.post("/sandbox/devices")
    def add_device() -> Response:
        body = json_body()
        if not isinstance(body, dict):
            raise bad_request("body must be a JSON object {hostname, group_id}")
        _only(body, {"hostname", "group_id"})
        device = service.add_device(body.get("hostname", ""), _optional_text(body, "group_id"))
        return json_response(device, status=201)

    _ui_routes(app, service)

    @app.get("/sandbox/deliveries")
    def deliveries() -> Response:
        return json_response(service.deliveries())

    add_fault_routes(app, "level", faults, level_error)
    return app


def _ui_routes(app: Flask, service: LevelService) -> None:
    """Level's web UI, Settings > Webhooks, as routes: what a person does there by hand
    (the only way a production organisation gets a webhook), and the switch that makes this
    Level answer 404 on ``/v2/webhooks`` as a production organisation's API does. The form's
    fields are the contract's (url, enabled, event_types: null = "Send all event types",
    secret, group_ids: null = the whole organisation), checked by the same rules."""

    @app.before_request
    def production_organisation() -> Response | None:
        """With the webhook API off, ``/v2/webhooks`` is an unknown path, as on Level's
        production API (the same 404 Flask gives any unknown path)."""
        path = request.path
        if (path == WEBHOOKS_API or path.startswith(WEBHOOKS_API + "/")) and not (
            service.webhook_api()
        ):
            return level_error(404, "Not Found")
        return None

    @app.get("/sandbox/webhooks")
    def ui_list_webhooks() -> Response:
        return json_response(service.ui_webhooks())

    @app.post("/sandbox/webhooks")
    def ui_add_webhook() -> Response:
        return json_response(service.create_webhook(json_body()), status=201)

    @app.patch("/sandbox/webhooks/<webhook_id>")
    def ui_edit_webhook(webhook_id: str) -> Response:
        return json_response(service.update_webhook(webhook_id, json_body()))

    @app.delete("/sandbox/webhooks/<webhook_id>")
    def ui_delete_webhook(webhook_id: str) -> Response:
        service.delete_webhook(webhook_id)
        return Response(status=204)

    @app.get("/sandbox/webhook-api")
    def webhook_api() -> Response:
        return json_response({"enabled": service.webhook_api()})

    @app.put("/sandbox/webhook-api")
    def set_webhook_api() -> Response:
        body = json_body()
        if not isinstance(body, dict):
            raise bad_request('body must be a JSON object {"enabled": true|false}')
        _only(body, {"enabled"})
        return json_response(service.set_webhook_api(body.get("enabled")))
