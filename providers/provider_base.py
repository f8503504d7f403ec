"""What both dynamic providers share: configuration, pickling rules, Unknowns, check failures.

Pickling: the engine stores each provider object in state (``__provider``) with dill. Our
provider classes live in importable modules, so dill pickles them by reference (module and
class name, ~100 bytes) and refresh/destroy run today's code. The pickled state holds one
thing only: the name of the stack that declared the resource
(``organization/project/stack``, no secret), because the provider process is not told it
and needs it to find this stack's journal of creates (``providers/journal.py``).
Configuration and clients exist only inside the provider process, after ``configure()``,
and never reach state.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import pulumi
from pulumi.dynamic import CheckFailure, ConfigureRequest, ResourceProvider
from pulumi.output import Unknown
from pulumi.runtime import rpc
from pydantic import BaseModel, ValidationError

from clients.endpoints import ApiSettings, Endpoint, problems, resolve
from clients.failures import KnownFailure
from clients.http import ApiError, NotFoundError, deadline
from clients.tuning import KEYS as TUNING_KEYS
from clients.tuning import ApiTuning, TuningError, tuning_for
from providers import engine_adapter, journal
from providers.inventory import HasId, Inventory

PROVIDER_KEY = "__provider"
Model = TypeVar("Model", bound=BaseModel)
CONFIG_KEYS = ("ilert:apiToken", "ilert:baseUrl", "level:apiKey", "level:baseUrl", *TUNING_KEYS)


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

    def __init__(self, stack: str | None = None) -> None:
        super().__init__()
        self._config: Mapping[str, Any] = {}
        self._stack = stack

    def configure(self, req: ConfigureRequest) -> None:
        """Remember the stack config (plain values: the engine strips secrets).

        Never raises: an exception here reaches the user as a Python traceback of the
        provider server. Unusable credentials and base URLs are reported by ``check``
        (``endpoint_failures``), which the engine calls right after, during the preview.
        This is the server's first call on a provider object, so it also adapts the server
        (``engine_adapter``: detailed diffs, known failures without a traceback).
        """
        engine_adapter.install()
        self._config = {
            key: req.config.get(key) for key in CONFIG_KEYS if req.config.get(key) is not None
        }

    def endpoint(self, settings: ApiSettings) -> Endpoint:
        """Base URL and credential of one API, from config or env; fails naming both."""
        return resolve(settings, self._config.get)

    def tuning(self, namespace: str) -> ApiTuning:
        """Rate limit and operation deadline of one API (``ilert`` or ``level``)."""
        return tuning_for(namespace, self._config.get)

    def endpoint_failures(self, settings: ApiSettings) -> list[CheckFailure]:
        """Check failures for an unusable credential or base URL of one API (no network).

        Called from ``check``, so a bad value fails the preview rather than the create. The
        failure has no property: the setting is stack config (or an env var), not a resource
        input, and the engine would print the (absent) input's value next to a property name.
        A credential that is not set at all is left to the first API call: a preview needs
        none, and its message there names the config key and the env var.
        """
        found = [CheckFailure("", problem) for problem in problems(settings, self._config.get)]
        try:
            self.tuning(settings.credential_key.partition(":")[0])
        except TuningError as error:
            found.append(CheckFailure("", str(error)))
        return found

    def __repr__(self) -> str:
        keys = ", ".join(sorted(self._config)) or "none"
        return f"{type(self).__name__}(configured keys: {keys})"

    def provenance(
        self, kind: str, base_url: str, *identity: str, deadline: float = 0.0
    ) -> journal.Provenance:
        """Where this stack records (and proves) its create of one object; ``deadline`` is
        the create's operation deadline."""
        return journal.Provenance(
            journal.for_stack(self._stack),
            journal.identity_key(kind, base_url, *identity),
            deadline,
        )

    def record_delete(self, object_id: int | str) -> None:
        """Tell this stack's journal that the object is gone (it proves nothing any more)."""
        journal.deleted(journal.for_stack(self._stack), object_id)

    def __getstate__(self) -> dict[str, Any]:
        return {"stack": self._stack} if self._stack else {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        stack = state.get("stack")
        self.__init__(stack if isinstance(stack, str) else None)  # type: ignore[misc]


def declaring_stack() -> str | None:
    """``organization/project/stack`` of the running program, None where the SDK knows no
    part of it (some test mocks)."""
    parts: tuple[object, ...] = (
        pulumi.get_organization(), pulumi.get_project(), pulumi.get_stack()
    )
    if not all(isinstance(part, str) and part for part in parts):
        return None
    return "/".join(str(part) for part in parts)


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
    error: ValidationError,
    *,
    skip: Iterable[str] = (),
    secret_fields: Iterable[str] = (),
    known: Iterable[str] = (),
) -> list[CheckFailure]:
    """One CheckFailure per invalid property, in sentences a user can act on.

    ``known`` are the valid property names, to suggest one for a misspelled property.
    """
    skipped, secrets, names = set(skip), set(secret_fields), tuple(known)
    failures: list[CheckFailure] = []
    seen: set[str] = set()
    for item in error.errors(include_url=False):
        prop = str(item["loc"][0]) if item["loc"] else ""
        where = location(item["loc"])
        if prop in skipped or where in seen:
            continue
        seen.add(where)  # a union reports one error per branch: one sentence is enough
        failures.append(CheckFailure(prop, explain(item, secret=prop in secrets, known=names)))
    return failures


def location(loc: Iterable[object]) -> str:
    """A pydantic error location as a user reads it: ``teams[1]``, never a union branch.

    Our models are flat, so the first part is the property and later ``int`` parts are list
    indices; any other part is the label pydantic gives a union branch or a validator
    (``int``, ``str``, ``function-after[...]``), which means nothing to a user.
    """
    parts = list(loc)
    if not parts:
        return ""
    text = str(parts[0])
    for part in parts[1:]:
        if isinstance(part, int):
            text += f"[{part}]"
    return text


def suggest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate ``word`` was probably meant to be: same letters in another case style
    (``escalation_policy`` for ``escalationPolicy``), else the closest spelling."""
    options = list(candidates)
    squashed = {_squash(option): option for option in options}
    if _squash(word) in squashed:
        return squashed[_squash(word)]
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.75)
    if close:
        return close[0]
    close = difflib.get_close_matches(_squash(word), list(squashed), n=1, cutoff=0.75)
    return squashed[close[0]] if close else None


def _squash(word: str) -> str:
    return word.replace("_", "").replace("-", "").lower()


def unknown_key_message(prop: str, word: str, known: Iterable[str]) -> str:
    """``prop`` (spelled ``word``) is not a known key: the likely one, or the list of keys."""
    names = sorted(known)
    guess = suggest(word, names)
    if guess:
        return f"{prop} is not a known property; did you mean {guess}? Rename it."
    if not names:
        return f"{prop} is not a known property; remove it or check its spelling."
    return f"{prop} is not a known property; remove it. Known ones: {', '.join(names)}."


# Pydantic's wording for type errors, replaced by what the user should write instead.
_TYPE_HINTS = {
    "string_type": "must be a valid string (text in quotes if YAML reads it otherwise)",
    "bool_type": "must be a valid boolean: true or false",
    "bool_parsing": "must be a valid boolean: true or false",
    "list_type": "must be a valid list",
    "int_type": "must be a valid integer (a whole number)",
    "int_parsing": "must be a valid integer (a whole number)",
    "int_from_float": "must be a valid integer (a whole number)",
    "dict_type": "must be a mapping of keys to values",
    "model_type": "must be a mapping of keys to values",
}
MAX_QUOTED_CHARS = 60


def explain(
    item: Mapping[str, Any],
    *,
    name: str | None = None,
    secret: bool = False,
    known: Iterable[str] = (),
) -> str:
    """A pydantic error item as a sentence; our own validators' messages are kept verbatim.

    ``name`` is how the user calls the property (defaults to its location without union
    branch labels); the offending value is quoted (shortened) unless ``secret``.
    """
    message = str(item["msg"]).removeprefix("Value error, ")
    kind = item["type"]
    prop = name or location(item["loc"]) or "the resource"
    if kind == "missing":
        return f"{prop} is required."
    if kind == "extra_forbidden":
        word = str(item["loc"][-1]) if item["loc"] else prop
        return unknown_key_message(prop, word, known)
    if kind == "value_error":
        where = location(item["loc"])
        if name is None and "[" in where:  # a list item: say which one
            return f"{where}: {message}"
        return message
    message = _TYPE_HINTS.get(kind, message)
    if secret:
        return f"{prop}: {message}."
    return f"{prop}: {message} (got {quote(item.get('input'))})."


def quote(value: object) -> str:
    """A user's value for an error message: YAML-like words, shortened when long."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    text = repr(value)
    if len(text) > MAX_QUOTED_CHARS:
        text = text[: MAX_QUOTED_CHARS - 3] + "..."
    return text


def validate(
    model: type[BaseModel], news: Mapping[str, Any], *, secret_fields: Iterable[str] = ()
) -> tuple[dict[str, Any], list[CheckFailure]]:
    """Check inputs against ``model``: (normalised inputs with Unknowns kept, failures).

    Unknown values (preview, before a dependency exists) are left out of validation and
    passed through as they are; rules that need them run once they are known. Fields the
    model lists in a ``SECRET_FIELDS`` class attribute are never quoted in a failure.
    """
    secrets = {*secret_fields, *getattr(model, "SECRET_FIELDS", ())}
    known, unknown = known_inputs(news)
    try:
        validated = model.model_validate(known, context={"unknown": unknown})
    except ValidationError as error:
        failures = check_failures(
            error, skip=unknown, secret_fields=secrets, known=model.model_fields
        )
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


class InvalidInputsError(KnownFailure, ValueError):
    """Inputs that ``check`` refuses reached ``create`` or ``update`` (a program that calls a
    provider without the engine's check, or a rule that needs a value known only then)."""


def parse_inputs(model: type[Model], props: Mapping[str, Any]) -> Model:
    """The resource's inputs as ``model``; invalid ones fail naming each property and the
    rule, as ``check`` would (secret fields never quoted), never as a pydantic dump."""
    try:
        return model.model_validate({k: v for k, v in props.items() if k in model.model_fields})
    except ValidationError as error:
        failures = check_failures(
            error,
            secret_fields=getattr(model, "SECRET_FIELDS", ()),
            known=model.model_fields,
        )
        reasons = " ".join(failure.reason for failure in failures)
        raise InvalidInputsError(
            f"The resource's inputs are invalid: {reasons} Fix them in the stack file (or the "
            f"program that declares the resource) and run again."
        ) from None


class OutcomeUnknownError(KnownFailure):
    """A create's answer was lost and the look-up that would settle it failed as well."""


Item = TypeVar("Item", bound=HasId)
Made = TypeVar("Made", bound=journal.Created)


def post_recorded(post: Callable[[], Made], provenance: journal.Provenance) -> Made:
    """Send a create's POST with its journal entries around it: the intent before, the
    object after, and the intent voided when the API says it did nothing (so a later run
    never waits for, or claims by, a create that cannot have made anything)."""
    provenance.before_create()
    try:
        made = post()
    except ApiError as error:
        if not error.may_have_acted:
            provenance.abandoned()
        raise
    provenance.created(made)
    return made


def create_once(
    attempt: Callable[[], Made],
    listing: Inventory[Made],
    match: Callable[[Made], bool],
    timeout: float,
    provenance: journal.Provenance | None = None,
) -> Made:
    """Run a create within its deadline; if its answer was lost, let one fresh listing say
    whether it happened, so a retried ``up`` never makes the object twice.

    ``attempt`` may adopt or POST; only an error that says the API may have acted (answer
    lost after sending, 500/502/504 on a POST) is settled: exactly one match is the object
    the POST made (the look-up before it found none), anything else re-raises the error.
    An object settled so is recorded in this stack's journal as its own.
    """
    try:
        with deadline(timeout):
            return attempt()
    except ApiError as error:
        if not error.may_have_acted:
            raise
        try:
            with deadline(timeout):
                listing.reload()
                found = listing.find(match)
        except ApiError as lookup:
            raise OutcomeUnknownError(
                f"{error} The look-up that would settle it failed too: {lookup} The object "
                f"may exist now. Run `pulumi up` again: the create looks first, so nothing is "
                f"made twice; if it finds the object it stops and names it, and `adopt: true` "
                f"on this integration takes it over."
            ) from None
        if len(found) != 1:
            raise
        if provenance is not None:
            provenance.created(found[0])
        return found[0]


def none_if_gone(fetch: Callable[[], Item]) -> Item | None:
    """``fetch()``, or None when the API answers 404 (deleted behind Pulumi's back)."""
    try:
        return fetch()
    except NotFoundError:
        return None
