"""ilert's published OpenAPI document as the referee for what we send and what the sandbox returns.

The spec lives outside the repository (``../shared/reference/ilert-openapi.yml``, or
``ILERT_OPENAPI_SPEC``). Tests call ``check_request``/``check_response`` next to their other
assertions: without the spec that one check is not made (and noted), the rest of the test
still runs, and the run's summary says once that the referee did not run (tests/conftest.py).
Tests about the referee itself use ``request_errors``/``response_errors``, which skip the test
when the spec is absent rather than pass vacuously.

Request bodies are checked against ``AlertSourceRel`` with one documented relaxation: the
spec's ``SimpleIdField64`` note says that for POST and PUT "only the id field is required for
sub entities", so ``escalationPolicy`` (whose full schema requires a name and rules) is
checked as ``{id}``. Everything else in the body is checked as published, read-only fields
included (a write validator rejects them).
"""

from __future__ import annotations

import copy
import functools
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_schema_validator import OAS30ReadValidator, OAS30WriteValidator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

SPEC_PATH = Path(
    os.environ.get(
        "ILERT_OPENAPI_SPEC",
        Path(__file__).resolve().parents[2] / "shared" / "reference" / "ilert-openapi.yml",
    )
)
SPEC_URI = "urn:ilert-openapi"
# Sub-entities that POST/PUT may send as {id} only (the spec's SimpleIdField64 note).
ID_ONLY_SUB_ENTITIES = ("escalationPolicy",)


# One line per schema check not made because the spec is absent: "<test id>: <what>".
NOT_REFEREED: list[str] = []


def available() -> bool:
    """Whether the spec is there to referee with."""
    return SPEC_PATH.is_file()


def _not_refereed(what: str) -> None:
    test = os.environ.get("PYTEST_CURRENT_TEST", "outside a test").rsplit(" (", 1)[0]
    NOT_REFEREED.append(f"{test}: {what}")


@functools.cache
def _spec() -> dict[str, Any]:
    if not available():
        _not_refereed("the whole test checks against the spec")
        pytest.skip(f"ilert OpenAPI spec not found at {SPEC_PATH}")
    with SPEC_PATH.open(encoding="utf-8") as handle:
        spec: dict[str, Any] = yaml.safe_load(handle)
    return spec


def _registry() -> Registry[Any]:
    resource: Resource[Any] = DRAFT4.create_resource(_spec())
    registry: Registry[Any] = Registry().with_resource(SPEC_URI, resource)
    return registry


def schema(name: str) -> dict[str, Any]:
    """One component schema, by name, as published."""
    return copy.deepcopy(_spec()["components"]["schemas"][name])


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"{SPEC_URI}#/components/schemas/{name}"}


def _absolutise(node: Any) -> Any:
    """Point every local ``#/...`` reference at the registered spec document."""
    if isinstance(node, dict):
        return {
            key: (
                f"{SPEC_URI}{value}"
                if key == "$ref" and value.startswith("#")
                else _absolutise(value)
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_absolutise(item) for item in node]
    return node


def request_errors(schema_name: str, body: Any) -> list[str]:
    """Why ``body`` is not a valid request body for ``schema_name`` (empty when it is)."""
    request_schema = _absolutise(schema(schema_name))
    for field in ID_ONLY_SUB_ENTITIES:
        if field in request_schema.get("properties", {}):
            request_schema["properties"][field] = _ref("SimpleIdField64")
    validator = OAS30WriteValidator(request_schema, registry=_registry())
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)]


def response_errors(schema_name: str, body: Any) -> list[str]:
    """Why ``body`` is not a valid response body for ``schema_name`` (empty when it is)."""
    validator = OAS30ReadValidator(_absolutise(schema(schema_name)), registry=_registry())
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)]


def check_request(schema_name: str, body: Any) -> None:
    """Fail unless ``body`` is a valid request body for ``schema_name``.

    Without the spec the check is noted as not made and the test goes on.
    """
    if not available():
        _not_refereed(f"request body as {schema_name}")
        return
    errors = request_errors(schema_name, body)
    assert errors == [], f"not a valid {schema_name} request body: {errors}"


def check_response(schema_name: str, body: Any, label: str = "") -> None:
    """Fail unless ``body`` is a valid response body for ``schema_name``.

    Without the spec the check is noted as not made and the test goes on.
    """
    if not available():
        _not_refereed(f"response body as {schema_name}")
        return
    errors = response_errors(schema_name, body)
    assert errors == [], f"{label or 'answer'} is not a valid {schema_name}: {errors}"
