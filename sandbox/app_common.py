"""Pieces both Flask apps share: app construction, JSON bodies, query parameters, and the
``/sandbox/faults`` control routes."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import Flask, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.wrappers import Response

from sandbox.errors import bad_request
from sandbox.faults import Faults
from sandbox.requestlog import Service

MAX_BODY_BYTES = 1024 * 1024  # larger request bodies get 413


class _OrderedJSON(DefaultJSONProvider):
    """Flask's JSON, keeping the field order the API documents instead of sorting keys."""

    sort_keys = False


def new_app(name: str) -> Flask:
    """A Flask app that answers JSON in document order and leaves errors to our handlers."""
    app = Flask(name)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.json = _OrderedJSON(app)
    app.url_map.strict_slashes = False
    return app


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response with an exact status (Flask's ``jsonify`` plus status and headers)."""
    response = Response(
        json.dumps(body), status=status, mimetype="application/json", headers=headers
    )
    return response


def json_body() -> Any:
    """The request body parsed as JSON, or a 400 that says why not."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise bad_request("request body must be JSON (it is empty)")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_request(f"request body is not valid JSON: {exc}") from None


def int_param(name: str, default: int, minimum: int, maximum: int | None = None) -> int:
    """An integer query parameter within bounds, or a 400 naming it."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(f"{name}: must be an integer, not {raw!r}") from None
    if value < minimum or (maximum is not None and value > maximum):
        upper = f" and at most {maximum}" if maximum is not None else ""
        raise bad_request(f"{name}: must be at least {minimum}{upper}, not {value}")
    return value


def list_param(*names: str) -> list[str]:
    """A repeatable query parameter under any of ``names``; comma-separated values split."""
    values: list[str] = []
    for name in names:
        for raw in request.args.getlist(name):
            values.extend(part.strip() for part in raw.split(",") if part.strip())
    return values


def add_fault_routes(
    app: Flask, service: Service, faults: Faults, error: Callable[[int, str], Response]
) -> None:
    """``GET/POST/DELETE /sandbox/faults``: the fault switch for this app's service.

    POST body: ``{method?, path?, status?, count?, delay_seconds?, retry_after?, mode?}``
    (the arguments of :meth:`sandbox.faults.Faults.add`; ``mode`` is ``before`` (default),
    ``after``, ``reset_before`` or ``reset_after``); DELETE clears this service's rules.
    """

    @app.get("/sandbox/faults")
    def list_faults() -> Response:
        return json_response([rule.to_json() for rule in faults.rules(service)])

    @app.post("/sandbox/faults")
    def add_fault() -> Response:
        body = json_body()
        if not isinstance(body, dict):
            return error(400, "body must be a JSON object")
        allowed = {"method", "path", "status", "count", "delay_seconds", "retry_after", "mode"}
        unknown = sorted(set(body) - allowed)
        if unknown:
            return error(400, f"unknown field(s): {', '.join(unknown)}")
        try:
            rule = faults.add(service=service, **body)
        except (TypeError, ValueError) as exc:
            return error(400, str(exc))
        return json_response(rule.to_json(), status=201)

    @app.delete("/sandbox/faults")
    def clear_faults() -> Response:
        faults.clear(service)
        return Response(status=204)
