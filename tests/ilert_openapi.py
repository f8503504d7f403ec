"""ilert's published OpenAPI document as the referee for what we send and what the sandbox returns.

The spec lives outside the repository (``../shared/reference/ilert-openapi.yml``); tests that
need it skip when it is absent rather than pass vacuously.

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


@functools.cache
def _spec() -> dict[str, Any]:
    if not SPEC_PATH.is_file():
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
