"""What both dynamic providers share: configuration, pickling rules, Unknowns, check failures.

Pickling: the engine stores each provider object in state (``__provider``) with dill. Our
provider classes live in importable modules, so dill pickles them by reference (module and
class name, ~100 bytes) and refresh/destroy run today's code. The pickled state is empty on
purpose: configuration and clients exist only inside the provider process, after
``configure()``, and never reach state.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pulumi.dynamic import CheckFailure, ConfigureRequest, ResourceProvider
from pulumi.output import Unknown
from pulumi.runtime import rpc
from pydantic import BaseModel, ValidationError

from providers.endpoints import ApiSettings, Endpoint, resolve
from providers.tuning import KEYS as TUNING_KEYS
from providers.tuning import ApiTuning, tuning_for

PROVIDER_KEY = "__provider"


def is_unknown(value: object) -> bool:
    """True for a value the engine does not know yet (preview), also inside lists."""
    if isinstance(value, Unknown):
        return True
    if isinstance(value, list):
        return any(is_unknown(item) for item in value)
    return False


def as_secret(value: object) -> object:
    """Mark one returned property as a secret on the wire (for read's inputs and outputs).

    ``additional_secret_outputs`` covers outputs; this also covers the inputs ``read``
    returns, which that option does not reach. The dynamic provider server serialises the
    wrapper as a Pulumi secret.
    """
    return rpc.wrap_rpc_secret(value) if value is not None else None


class ConfiguredProvider(ResourceProvider):
    """A ResourceProvider that keeps the stack config in the provider process only."""

    # Our blob holds no secret (pickled by reference, empty state); encrypting it on every
    # resource buys nothing. The SDK still marks it secret if a secret Output were captured.
    serialize_as_secret_always = False

    def __init__(self) -> None:
        super().__init__()
        self._config: Mapping[str, Any] = {}

    def configure(self, req: ConfigureRequest) -> None:
        """Remember the stack config (plain values: the engine strips secrets)."""
        self._config = {
            key: req.config.get(key)
            for key in (
                "ilert:apiToken", "ilert:baseUrl", "level:apiKey", "level:baseUrl", *TUNING_KEYS
            )
            if req.config.get(key) is not None
        }

    def endpoint(self, settings: ApiSettings) -> Endpoint:
        """Base URL and credential of one API, from config or env; fails naming both."""
        return resolve(settings, self._config.get)

    def tuning(self, namespace: str) -> ApiTuning:
        """Rate limit and operation deadline of one API (``ilert`` or ``level``)."""
        return tuning_for(namespace, self._config.get)

    def __getstate__(self) -> dict[str, Any]:
        return {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__()  # type: ignore[misc]


def known_inputs(news: Mapping[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """Split checked inputs into known values (without ``__provider``) and unknown names."""
    known: dict[str, Any] = {}
    unknown: set[str] = set()
    for key, value in news.items():
        if key == PROVIDER_KEY:
            continue
        if is_unknown(value):
            unknown.add(key)
        else:
            known[key] = value
    return known, unknown


def check_failures(
    error: ValidationError, *, skip: Iterable[str] = (), secret_fields: Iterable[str] = ()
) -> list[CheckFailure]:
    """One CheckFailure per invalid property, in sentences a user can act on."""
    skipped, secrets = set(skip), set(secret_fields)
    failures: list[CheckFailure] = []
    for item in error.errors(include_url=False):
        prop = str(item["loc"][0]) if item["loc"] else "(resource)"
        if prop in skipped:
            continue
        failures.append(CheckFailure(prop, explain(item, secret=prop in secrets)))
    return failures


def explain(item: Mapping[str, Any], *, name: str | None = None, secret: bool = False) -> str:
    """A pydantic error item as a sentence; our own validators' messages are kept verbatim.

    ``name`` is how the user calls the property (defaults to its pydantic location); the
    offending value is quoted unless ``secret``.
    """
    message = str(item["msg"]).removeprefix("Value error, ")
    kind = item["type"]
    prop = name or ".".join(str(part) for part in item["loc"]) or "the resource"
    if kind == "missing":
        return f"{prop} is required."
    if kind == "extra_forbidden":
        return f"{prop} is not a known property; remove it or check its spelling."
    if kind == "value_error":
        return message
    if secret:
        return f"{prop}: {message}."
    return f"{prop}: {message} (got {item.get('input')!r})."


def validate(
    model: type[BaseModel], news: Mapping[str, Any], *, secret_fields: Iterable[str] = ()
) -> tuple[dict[str, Any], list[CheckFailure]]:
    """Check inputs against ``model``: (normalised inputs with Unknowns kept, failures).

    Unknown values (preview, before a dependency exists) are left out of validation and
    passed through as they are; rules that need them run once they are known.
    """
    known, unknown = known_inputs(news)
    try:
        validated = model.model_validate(known, context={"unknown": unknown})
    except ValidationError as error:
        failures = check_failures(error, skip=unknown, secret_fields=secret_fields)
        if failures:
            return dict(news), failures
        # Only rules about still-unknown values failed: pass the inputs, defaults filled in.
        defaults = {
            name: info.get_default(call_default_factory=True)
            for name, info in model.model_fields.items()
            if name not in news and not info.is_required()
        }
        return {**defaults, **news}, []
    inputs = validated.model_dump(exclude=unknown)
    inputs.update({name: news[name] for name in unknown})
    if PROVIDER_KEY in news:
        inputs[PROVIDER_KEY] = news[PROVIDER_KEY]
    return inputs, []
