"""ilert's published OpenAPI document as the referee for what we send and what the sandbox returns.

The spec is not copied into the repository. ilert publishes it at ``PUBLISHED_URL`` (JSON,
the latest version only, at an address that never names a version, so it cannot be pinned);
the tests referee against ``v2.2026.5-r.3``, the version this code was written against, as
republished in YAML in the public ``api-evangelist/ilert`` repository at a fixed commit
(``PINNED_URL``), pinned by its SHA-256 (``PINNED_SHA256``). ``make ilert-openapi`` fetches
that file into the cache (``$LEVEL_ILERT_CACHE/ilert-openapi/<sha256>.yml``) and checks the
hash; .github/workflows/ci.yml runs it before ``make test``.

Where the spec is looked for, first found wins: ``ILERT_OPENAPI_SPEC``, then
``../shared/reference/ilert-openapi.yml`` beside the checkout, then the cache. Tests call
``check_request``/``check_response`` next to their other assertions: without the spec that
one check is not made (and noted), the rest of the test still runs, and the run's summary
says that the referee did not run and why (tests/conftest.py, also under pytest-xdist: each
worker hands its notes to the controller). Tests about the referee itself use
``request_errors``/``response_errors``, which skip the test when the spec is absent rather
than pass vacuously.

Request bodies are checked against ``AlertSourceRel`` with one documented relaxation: the
spec's ``SimpleIdField64`` note says that for POST and PUT "only the id field is required for
sub entities", so ``escalationPolicy`` (whose full schema requires a name and rules) is
checked as ``{id}``. Everything else in the body is checked as published, read-only fields
included (a write validator rejects them).
"""

from __future__ import annotations

import copy
import functools
import hashlib
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_schema_validator import OAS30ReadValidator, OAS30WriteValidator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from tools.pulumi_cli import cache_root

PUBLISHED_URL = "https://api.ilert.com/api-docs/openapi.json"
PINNED_VERSION = "v2.2026.5-r.3"
PINNED_URL = (
    "https://raw.githubusercontent.com/api-evangelist/ilert/"
    "7bc47dc15d8b61ad68c3da13176939bd1384b5ff/openapi/_original/ilert-ilert-rest-api-openapi.yml"
)
PINNED_SHA256 = "b6a7330cad711b7de01fc6c6ad98a4d5b6b51b26e67c54487a63c76c26dd6ec2"
SPEC_ENV = "ILERT_OPENAPI_SPEC"
BESIDE_CHECKOUT = (
    Path(__file__).resolve().parents[2] / "shared" / "reference" / "ilert-openapi.yml"
)


def cached_spec() -> Path:
    """Where ``make ilert-openapi`` puts the pinned spec (the Makefile's cache rule)."""
    return cache_root() / "ilert-openapi" / f"{PINNED_SHA256}.yml"


def _find_spec() -> Path:
    explicit = os.environ.get(SPEC_ENV, "").strip()
    if explicit:
        return Path(explicit)
    for candidate in (BESIDE_CHECKOUT, cached_spec()):
        if candidate.is_file():
            return candidate
    return BESIDE_CHECKOUT


SPEC_PATH = _find_spec()


def why_absent() -> str:
    """Why there is no spec to referee with, in words a person can act on."""
    if os.environ.get(SPEC_ENV, "").strip():
        return f"{SPEC_ENV} is set to {SPEC_PATH}, which is not a file"
    return (
        f"{SPEC_ENV} is not set, there is no ../shared/reference/ilert-openapi.yml beside the "
        f"checkout, and `make ilert-openapi` has not fetched the pinned spec into "
        f"{cached_spec()}"
    )


def unpinned() -> str | None:
    """When the spec in use is not the pinned one: what it is (None when it is, or absent)."""
    if not available():
        return None
    digest = hashlib.sha256(SPEC_PATH.read_bytes()).hexdigest()
    if digest == PINNED_SHA256:
        return None
    return (f"the referee ran against {SPEC_PATH} (sha256 {digest[:12]}...), not the pinned "
            f"{PINNED_VERSION} (sha256 {PINNED_SHA256[:12]}...)")
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
