"""The fake ilert REST API as a Flask app (routes only; behaviour is in ilert_service).

Auth: ``Authorization: Bearer <ILERT_TOKEN>`` on ``/api/*`` except the unauthenticated
event intake (``/api/events``, ``/api/v1/events/**``) and ``/api/integrations``. Errors are
``{"status", "message", "code"}``.
"""

from __future__ import annotations

from http import HTTPStatus

from flask import Flask, request
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from sandbox.app_common import (
    add_fault_routes,
    int_param,
    json_body,
    json_response,
    list_param,
    new_app,
)
from sandbox.credentials import ILERT_TOKEN
from sandbox.errors import ApiError, bad_request, not_found
from sandbox.faults import Faults
from sandbox.ilert_service import IlertService
from sandbox.timeutil import parse_time

MAX_PAGE = 50
MAX_ALERTS_PAGE = 100
MAX_INTEGRATIONS_PAGE = 100


def ilert_error(status: int, message: str) -> Response:
    """An ilert error body: ``{status, message, code}`` (code = the status's name)."""
    try:
        code = HTTPStatus(status).name
    except ValueError:
        code = "ERROR"
    return json_response({"status": status, "message": message, "code": code}, status=status)


def _needs_auth(path: str) -> bool:
    if not (path == "/api" or path.startswith("/api/")):
        return False
    open_prefixes = ("/api/events", "/api/v1/events", "/api/integrations")
    return not any(path == p or path.startswith(p + "/") for p in open_prefixes)


def _include() -> list[str]:
    return list_param("include")


def create_ilert_app(service: IlertService, faults: Faults) -> Flask:
    """The Flask app for the fake ilert API."""
    app = new_app("sandbox.ilert")

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError) -> Response:
        return ilert_error(exc.status, exc.message)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        return ilert_error(exc.code or 500, exc.description or "error")

    @app.before_request
    def authenticate() -> Response | None:
        if _needs_auth(request.path) and (
            request.headers.get("Authorization") != f"Bearer {ILERT_TOKEN}"
        ):
            return ilert_error(401, "Missing or invalid API key: send Authorization: Bearer <key>")
        return None

    @app.get("/")
    def index() -> Response:
        return json_response({"service": "ilert (sandbox)", "api": f"{service.base_url}/api"})

    _alert_source_routes(app, service)
    _directory_routes(app, service)
    _alert_routes(app, service)
    _event_routes(app, service)

    @app.get("/sandbox/intake")
    def intake() -> Response:
        return json_response(service.intake_log())

    add_fault_routes(app, "ilert", faults, ilert_error)
    return app


def _alert_source_routes(app: Flask, service: IlertService) -> None:
    """``/api/alert-sources``: list, create, get (id or key), by name, PUT, DELETE."""

    @app.get("/api/alert-sources")
    def list_sources() -> Response:
        start = int_param("start-index", 0, 0)
        limit = int_param("max-results", MAX_PAGE, 1, MAX_PAGE)
        return json_response(service.list_alert_sources(start, limit))

    @app.post("/api/alert-sources")
    def create_source() -> Response:
        body = service.create_alert_source(json_body(), _include())
        location = f"{service.base_url}/api/alert-sources/{body['id']}"
        return json_response(body, status=201, headers={"Location": location})

    @app.get("/api/alert-sources/name/<path:name>")
    def source_by_name(name: str) -> Response:
        return json_response(service.alert_source_by_name(name, _include()))

    @app.get("/api/alert-sources/<ident>")
    def get_source(ident: str) -> Response:
        return json_response(service.get_alert_source(ident, _include()))

    @app.put("/api/alert-sources/<ident>")
    def update_source(ident: str) -> Response:
        return json_response(service.update_alert_source(ident, json_body(), _include()))

    @app.delete("/api/alert-sources/<ident>")
    def delete_source(ident: str) -> Response:
        service.delete_alert_source(ident)
        return Response(status=204)


def _directory_routes(app: Flask, service: IlertService) -> None:
    """Escalation policies (list, get, by name) and teams (list, get): read-only here."""

    @app.get("/api/escalation-policies")
    def list_policies() -> Response:
        start = int_param("start-index", 0, 0)
        limit = int_param("max-results", MAX_PAGE, 1, MAX_PAGE)
        return json_response(service.list_escalation_policies(start, limit))

    @app.get("/api/escalation-policies/name/<path:name>")
    def policy_by_name(name: str) -> Response:
        return json_response(service.escalation_policy_by_name(name))

    @app.get("/api/escalation-policies/<ident>")
    def get_policy(ident: str) -> Response:
        return json_response(service.get_escalation_policy(ident))

    @app.get("/api/teams")
    def list_teams() -> Response:
        start = int_param("start-index", 0, 0)
        limit = int_param("max-results", MAX_PAGE, 1, MAX_PAGE)
        return json_response(service.list_teams(start, limit))

    @app.get("/api/teams/<ident>")
    def get_team(ident: str) -> Response:
        return json_response(service.get_team(ident))


def _alert_routes(app: Flask, service: IlertService) -> None:
    """``/api/alerts``: list (both filter spellings), count, get, log, accept, resolve."""

    def _alert_filters() -> tuple[list[str], list[int]]:
        states = list_param("states", "state")
        sources: list[int] = []
        for raw in list_param("sources", "alert-source"):
            if not raw.isdigit():
                raise bad_request(f"sources: {raw!r} is not an alert source id")
            sources.append(int(raw))
        return states, sources

    def _report_window() -> tuple[str | None, str | None]:
        """``from`` / ``until`` (ISO-UTC, on ``reportTime``), checked."""
        window = (request.args.get("from") or None, request.args.get("until") or None)
        for name, value in zip(("from", "until"), window, strict=True):
            if value is not None and parse_time(value) is None:
                raise bad_request(
                    f"{name}: {value!r} is not an ISO-UTC date, e.g. 2021-05-25T21:24:56.771Z"
                )
        return window

    @app.get("/api/alerts")
    def list_alerts() -> Response:
        start = int_param("start-index", 0, 0)
        limit = int_param("max-results", 50, 1, MAX_ALERTS_PAGE)
        states, sources = _alert_filters()
        since, until = _report_window()
        return json_response(
            service.list_alerts(start, limit, states, sources, since=since, until=until)
        )

    @app.get("/api/alerts/count")
    def count_alerts() -> Response:
        states, sources = _alert_filters()
        since, until = _report_window()
        return json_response(
            {"count": service.count_alerts(states, sources, since=since, until=until)}
        )

    @app.get("/api/alerts/<ident>")
    def get_alert(ident: str) -> Response:
        return json_response(service.get_alert(ident, _include()))

    @app.get("/api/alerts/<ident>/log-entries")
    def alert_log(ident: str) -> Response:
        return json_response(service.alert_log(ident))

    @app.put("/api/alerts/<ident>/accept")
    def accept_alert(ident: str) -> Response:
        return json_response(service.accept_alert(ident))

    @app.put("/api/alerts/<ident>/resolve")
    def resolve_alert(ident: str) -> Response:
        return json_response(service.resolve_alert(ident))


def _event_routes(app: Flask, service: IlertService) -> None:
    """The unauthenticated intake: generic Events API and the Level.io webhook."""

    @app.post("/api/events")
    @app.post("/api/v1/events")
    def post_event() -> Response:
        return json_response(service.receive_event(json_body()), status=202)

    @app.post("/api/v1/events/levelio/<key>")
    def level_event(key: str) -> Response:
        return json_response(service.receive_level_event(key, json_body()), status=202)

    @app.post("/api/v1/events/<integration>/<key>")
    def other_event(integration: str, key: str) -> Response:
        raise not_found(
            f"the sandbox implements only the levelio inbound integration, not {integration!r}"
        )

    @app.get("/api/integrations")
    def integrations() -> Response:
        start = int_param("start-index", 0, 0)
        limit = int_param("max-results", 50, 1, MAX_INTEGRATIONS_PAGE)
        return json_response(service.integrations()[start : start + limit])
