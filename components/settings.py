"""The stack settings: one place that reads and validates ``Pulumi.<stack>.yaml``.

``level-ilert:integrations`` is a list; each entry becomes one ilert alert source and one
Level webhook (routing alerts to different escalation policies takes one entry each).
``level:webhookManagement`` is ``api`` (default) or ``manual`` (no Level calls: the stack
outputs the URL and the UI steps).

An integration's keys are not declared here: they are the stack keys of the two resources'
schemas (``AlertSourceInputs``, ``WebhookSettings``: camelCase of each field, or the
``stack_key`` its spec names, such as ``webhookSecret``), validated by the same rules the
providers' ``check`` runs, so config and ``pulumi preview`` agree. Three keys belong to the
integration itself: ``resourceName`` (its Pulumi name), ``previousResourceNames`` (earlier
ones, as Pulumi aliases) and ``sharesAlertsWith``. Errors
name the config path a user edits, e.g. ``level-ilert:integrations[0].alertCreation``.

Routing: two integrations that would both page for one Level alert fail the preview
(components/routing.py) unless one names the other in ``sharesAlertsWith``.

Nothing a user writes in our namespaces (``level:``, ``ilert:``, ``level-ilert:``) is
ignored: an unknown key, or a key of an integration spelled another way
(``escalation_policy``, ``escalationpolicy``), is an error that names the key meant. The
credentials and base URLs are checked here too (``clients.endpoints.problems``), so a bad
one stops ``pulumi preview`` before any resource is registered, naming the config key or
env var it came from and never quoting it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from pulumi.runtime import config as runtime_config
from pydantic import ValidationError

from clients.endpoints import ILERT, LEVEL, problems
from clients.tuning import KEYS as TUNING_KEYS
from clients.tuning import TuningError, tuning_for
from components import routing
from components.level_ilert_integration import LevelIlertIntegrationArgs
from providers import ilert_alert_source, level_webhook
from providers.ilert_alert_source import NAME_MAX_CHARS, has_control_character
from providers.messages import explain, suggest
from providers.schema import Field

INTEGRATIONS_KEY = "level-ilert:integrations"
WEBHOOK_MANAGEMENT_KEY = "level:webhookManagement"
WebhookManagement = Literal["api", "manual"]
# The config namespaces this project owns: every key in them must be one we read.
NAMESPACES = ("level", "ilert", "level-ilert")
KNOWN_KEYS = frozenset(
    {
        *ILERT.config_keys, *LEVEL.config_keys, *TUNING_KEYS,
        WEBHOOK_MANAGEMENT_KEY, INTEGRATIONS_KEY,
    }
)
_KNOWN_KEY_LIST = ", ".join(sorted(KNOWN_KEYS))
RESOURCE_NAME_MAX_CHARS = NAME_MAX_CHARS  # a slug of `name` is never longer
# A URL that passes the webhook's rules, to validate its other settings before ilert has
# generated the real one.
_URL_PLACEHOLDER = "https://ilert.invalid/api/v1/events/levelio/placeholder"
#: The stack keys of an integration: the two schemas', plus the integration's own two.
SOURCE_KEYS: dict[str, Field] = ilert_alert_source.SCHEMA.stack_fields()
WEBHOOK_KEYS: dict[str, Field] = level_webhook.SCHEMA.stack_fields()
OWN_KEY_DOCS = {
    "resourceName": (
        "The Pulumi resource name (default: a slug of `name`); set it to the old slug before "
        "renaming `name`, so the rename is an update in place. Not blank, no `::`, no control "
        "characters, at most 255 characters."
    ),
    "previousResourceNames": (
        "Earlier `resourceName`s of this integration (or slugs of earlier names): Pulumi "
        "aliases, so a changed resource name moves the objects in the state instead of "
        "making new ones and deleting the old."
    ),
    "sharesAlertsWith": (
        "Names of other integrations of this stack that may receive the same Level alerts; "
        "without it, two integrations that would both page for one alert fail the preview. "
        "An integration of another stack of the project is named `<stack>/<name>` (the "
        "fleet's preview and up check stacks against each other)."
    ),
}
OWN_KEYS = tuple(OWN_KEY_DOCS)
INTEGRATION_KEYS = frozenset({*SOURCE_KEYS, *WEBHOOK_KEYS, *OWN_KEYS})

EXAMPLE = """\
  level-ilert:integrations:
    - name: Level - Acme
      escalationPolicy: Default      # policy id or exact name
"""


class SettingsError(ValueError):
    """The stack config is missing or invalid; the message names the key and the fix."""


@dataclass(frozen=True)
class Integration:
    """One Level-to-ilert wiring: the inputs of its alert source and of its webhook.

    ``source`` holds the alert source's inputs and ``webhook`` the webhook's settings that the
    stack file sets, as the schemas validated them (keys as the resources name them); what
    it leaves out stays out, for the resources' own defaults (or, for a field managed only
    when declared, for ilert to keep as it is).
    """

    source: Mapping[str, Any] = field(repr=False)
    webhook: Mapping[str, Any] = field(repr=False)
    resource_name: str | None = None
    shares_alerts_with: list[str] | None = None
    previous_resource_names: tuple[str, ...] = ()

    def __repr__(self) -> str:  # the webhook secret is in ``webhook``: never shown
        return f"Integration(name={self.name!r}, resource_name={self.resource_name!r})"

    @classmethod
    def parse(cls, entry: object, where: str = "integration") -> Integration:
        """One stack-file entry, validated; raises ``SettingsError`` with a line per problem."""
        integration, lines = _integration(where, entry)
        if integration is None:
            raise SettingsError("\n".join(f"- {line}" for line in lines))
        return integration

    # What other modules read (routing, ops): the value set, else the field's default.
    @property
    def name(self) -> str:
        return str(self.source["name"])

    @property
    def escalation_policy(self) -> int | str:
        return cast("int | str", self.source["escalation_policy"])

    @property
    def active(self) -> bool:
        return bool(_setting(ilert_alert_source.SCHEMA.fields, self.source, "active"))

    @property
    def event_filter(self) -> str | None:
        return cast("str | None", self.source.get("event_filter"))

    @property
    def adopt(self) -> bool:
        return bool(self.source.get("adopt", False))

    @property
    def device_groups(self) -> list[str] | None:
        return cast("list[str] | None", self.webhook.get("device_groups"))

    @property
    def event_types(self) -> list[str]:
        return list(_setting(level_webhook.SCHEMA.fields, self.webhook, "event_types"))

    @property
    def webhook_enabled(self) -> bool:
        return bool(_setting(level_webhook.SCHEMA.fields, self.webhook, "enabled"))

    @property
    def webhook_secret(self) -> str | None:
        return cast("str | None", self.webhook.get("secret"))

    def alert_source_inputs(self) -> dict[str, Any]:
        """The inputs of this integration's ``IlertAlertSource`` (unset ones left out)."""
        return dict(self.source)

    def webhook_inputs(self, url: str) -> dict[str, Any]:
        """The inputs of this integration's ``LevelWebhook`` for a given URL (``adopt`` is
        the integration's, for both of its objects)."""
        return {"url": url, "adopt": self.adopt, **self.webhook}

    def args(self, webhook_management: WebhookManagement = "api") -> LevelIlertIntegrationArgs:
        """The component's typed arguments: the one place settings map to them."""
        args = cast("LevelIlertIntegrationArgs", self.alert_source_inputs())
        args["webhook"] = cast("level_webhook.WebhookSettings", dict(self.webhook))
        args["webhook_management"] = webhook_management
        return args

    @property
    def pulumi_name(self) -> str:
        """The Pulumi resource name: ``resourceName``, else a slug of ``name``.

        Set ``resourceName`` before renaming an alert source to keep its resources: the
        resource name is its identity in state, while ``name`` is updated in place.
        """
        return self.resource_name or slug(self.name)


@dataclass(frozen=True)
class StackSettings:
    """Everything the program reads from config."""

    integrations: list[Integration]
    webhook_management: WebhookManagement = "api"
    # Sentences the program shows as warnings (pulumi.log.warn): nothing wrong, one thing
    # worth knowing (a level: key that manual mode uses only to delete old webhooks).
    warnings: tuple[str, ...] = ()
    # The stack's name when the caller knew it (sandbox* stacks keep to loopback base URLs).
    stack: str | None = None


def slug(text: str) -> str:
    """Lower-case letters, digits and dashes: safe in a Pulumi URN and readable."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "integration"


def load_settings(
    get_object: Callable[[str], Any],
    get: Callable[[str], str | None],
    *,
    config_keys: Iterable[str] | None = None,
    environ: Mapping[str, str] | None = None,
    check_routing: bool = True,
    stack: str | None = None,
) -> StackSettings:
    """Read and validate the stack settings; raises ``SettingsError`` naming key and fix.

    ``get_object``/``get`` look up full config keys (``namespace:key``), as ``pulumi.Config``
    does; tests pass plain dict lookups. ``config_keys`` are all keys set in the stack
    (``__main__.py`` reads them from the Pulumi runtime): unknown keys in our namespaces
    are refused; without it that check is skipped. ``environ`` (default ``os.environ``)
    supplies the credential env fallbacks checked with the config. Every problem found is
    reported in one ``SettingsError``, one line each. ``check_routing`` (default on, as at
    every preview) refuses two integrations that would page for the same Level alert;
    ``make doctor`` turns it off to report that against the live setup instead.
    ``stack``: the stack's name, where known: its base URLs are then checked against it
    (``clients.endpoints``: a sandbox stack's are loopback, a real one's loopback URL never
    comes from the environment).
    """
    lines = unknown_keys(config_keys or ())
    management = (get(WEBHOOK_MANAGEMENT_KEY) or "api").strip()
    if management not in ("api", "manual"):
        lines.append(
            f"{WEBHOOK_MANAGEMENT_KEY} must be 'api' (the stack manages the Level webhook) or "
            f"'manual' (you create it in Level's UI); got {management!r}. Fix it with "
            f"`pulumi config set {WEBHOOK_MANAGEMENT_KEY} api`."
        )
    warnings = (
        used_in_manual_mode_only_to_delete(config_keys or ()) if management == "manual" else []
    )
    for api in (ILERT,) if management == "manual" else (ILERT, LEVEL):
        lines.extend(problems(api, get, environ, stack=stack))
    for namespace in ("ilert", "level"):
        try:
            tuning_for(namespace, get)
        except TuningError as error:
            lines.append(str(error))
    raw = _decoded(get_object(INTEGRATIONS_KEY))
    integrations: list[Integration] = []
    if raw is None:
        lines.append(
            f"{INTEGRATIONS_KEY} is not set. Add at least one integration to "
            f"Pulumi.<stack>.yaml under config:\n{EXAMPLE}"
        )
    elif not isinstance(raw, list) or not raw:
        lines.append(
            f"{INTEGRATIONS_KEY} must be a non-empty list of integrations, like:\n{EXAMPLE}"
        )
    else:
        indexed: list[tuple[int, Integration]] = []
        for index, entry in enumerate(raw):
            integration, wrong = _integration(f"{INTEGRATIONS_KEY}[{index}]", entry)
            lines.extend(wrong)
            if integration is not None:
                integrations.append(integration)
                indexed.append((index, integration))
        lines.extend(duplicates(raw))
        lines.extend(_unknown_partners(raw, indexed))
    if lines:  # every problem at once: one edit of the stack file, not one per run
        raise SettingsError("Invalid stack config:\n" + "\n".join(f"- {line}" for line in lines))
    _check_routing(integrations, pages_twice=check_routing)
    return StackSettings(
        integrations=integrations,
        webhook_management=cast("WebhookManagement", management),
        warnings=tuple(warnings),
        stack=stack,
    )


def pulumi_config_keys() -> frozenset[str]:
    """Every config key set for the running stack (``namespace:key``).

    The SDK has no public listing, so this reads what ``pulumi.Config`` itself reads
    (``pulumi/runtime/config.py``): the map set by ``set_all_config`` (automation API, mocks)
    and the ``PULUMI_CONFIG`` JSON the language host passes to the program. Single-key
    ``PULUMI_CONFIG_<KEY>`` overrides cannot be mapped back to a key and are not listed.
    """
    return frozenset(runtime_config.CONFIG.get()) | frozenset(runtime_config.get_config_env())


def unknown_keys(config_keys: Iterable[str]) -> list[str]:
    """One sentence per key in our namespaces that no code reads, with the key meant."""
    found = []
    for key in sorted(set(config_keys)):
        namespace, _, _name = key.partition(":")
        if namespace not in NAMESPACES or key in KNOWN_KEYS:
            continue
        guess = suggest(key, KNOWN_KEYS)
        fix = (
            f"did you mean {guess}? Rename it (`pulumi config rm {key}`, then set {guess})"
            if guess
            else f"remove it (`pulumi config rm {key}`); known keys: {_KNOWN_KEY_LIST}"
        )
        found.append(f"{key} is not a setting of this project and would be ignored; {fix}.")
    return found


def _integration(where: str, entry: object) -> tuple[Integration | None, list[str]]:
    """One entry: its keys, then each resource's rules on its part of the entry, then the
    integration's own keys. Returns the integration, or None and one line per problem."""
    if not isinstance(entry, Mapping):
        return None, [f"{where} must be a mapping with at least name and escalationPolicy."]
    misspelled = [
        f"{where}.{key}: {_unknown_integration_key(str(key))}"
        for key in entry
        if str(key) not in INTEGRATION_KEYS
    ]
    if misspelled:
        return None, misspelled
    lines: list[str] = []
    parts: list[dict[str, Any]] = []
    for schema_keys, model, extra in (
        (SOURCE_KEYS, ilert_alert_source.SCHEMA.model, {}),
        (WEBHOOK_KEYS, level_webhook.SCHEMA.model, {"url": _URL_PLACEHOLDER}),
    ):
        inputs = {
            each.key: entry[stack_key] for stack_key, each in schema_keys.items()
            if stack_key in entry
        }
        try:
            valid = model.model_validate({**inputs, **extra}).model_dump()
        except ValidationError as error:
            lines.extend(_problem(where, item) for item in error.errors(include_url=False))
            continue
        parts.append({key: valid[key] for key in inputs})  # what the file sets, normalised
    resource_name = entry.get("resourceName")
    problem = resource_name_problem(resource_name)
    if problem:
        lines.append(f"{where}.resourceName: {problem}")
    partners = entry.get("sharesAlertsWith")
    if partners is not None and not (
        isinstance(partners, list) and all(isinstance(p, str) for p in partners)
    ):
        lines.append(f"{where}.sharesAlertsWith must be a list of integration names.")
    previous = entry.get("previousResourceNames") or []
    if not isinstance(previous, list):
        lines.append(f"{where}.previousResourceNames must be a list of earlier resource names.")
        previous = []
    for index, name in enumerate(previous):
        problem = resource_name_problem(name)
        if problem:
            lines.append(f"{where}.previousResourceNames[{index}]: {problem}")
    if lines:
        return None, lines
    source, webhook = parts
    return Integration(
        source=source,
        webhook=webhook,
        resource_name=cast("str | None", resource_name),
        shares_alerts_with=cast("list[str] | None", partners),
        previous_resource_names=tuple(previous),
    ), []


def _setting(fields: Mapping[str, Field], values: Mapping[str, Any], key: str) -> Any:
    """A setting as the resource will have it: the value set, else the field's default."""
    return values[key] if key in values else fields[key].spec.default


def resource_name_problem(value: object) -> str | None:
    """Why ``value`` cannot be a ``resourceName``, or None.

    Pulumi's URN holds the name after ``::``: no ``::``, no control characters. Pulumi itself
    accepts almost any text since 3.92, but tools that split URNs on ``::`` (older CLIs,
    ``pulumi state`` commands, scripts) break, and control characters break the CLI's
    output; a blank or padded name is always a typo.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        return "must be a valid string (text in quotes if YAML reads it otherwise)."
    problem = None
    if not value.strip():
        problem = "must not be blank"
    elif value != value.strip():
        problem = "must not start or end with spaces"
    elif len(value) > RESOURCE_NAME_MAX_CHARS:
        problem = f"must be at most {RESOURCE_NAME_MAX_CHARS} characters (has {len(value)})"
    elif "::" in value:
        problem = "must not contain '::', which separates the parts of a Pulumi URN"
    elif has_control_character(value):
        problem = "must not contain line breaks, tabs or other control characters"
    if problem is None:
        return None
    return (
        f"resourceName {problem}. Use letters, digits, '-', '_' and '.', such as "
        f"'level-acme', or leave it out to use a slug of name."
    )


def _unknown_integration_key(key: str) -> str:
    guess = suggest(key, INTEGRATION_KEYS)
    if guess:
        return f"{key} is not a known key; did you mean {guess}? Rename it."
    return (
        f"{key} is not a known key; remove it. Known keys: "
        f"{', '.join(sorted(INTEGRATION_KEYS))}."
    )


#: A resource field's name as the stack file writes it (``secret`` -> ``webhookSecret``).
_STACK_WORDS = {
    each.key: stack_key for stack_key, each in (*SOURCE_KEYS.items(), *WEBHOOK_KEYS.items())
}
_SECRET_KEYS = frozenset(
    stack_key for stack_key, each in (*SOURCE_KEYS.items(), *WEBHOOK_KEYS.items())
    if each.spec.secret
)


def _problem(where: str, item: Mapping[str, Any]) -> str:
    """One error line with the config path; the providers' rules speak of their fields
    (``alert_creation``), the stack file of its keys (``alertCreation``)."""
    # The first part is the field; later ones are list indices or pydantic's union-branch
    # labels (``int``, ``function-after[...]``), which mean nothing to a user.
    first, *rest = item["loc"] or ("",)
    word = _STACK_WORDS.get(str(first), str(first))
    path = where + f".{word}" + "".join(f"[{part}]" for part in rest if isinstance(part, int))
    message = explain(item, name=path, secret=word in _SECRET_KEYS)
    for name in sorted(_STACK_WORDS, key=len, reverse=True):
        message = re.sub(rf"\b{name}\b", _STACK_WORDS[name], message)
    return message if message.startswith(path) else f"{path}: {message}"


def _check_routing(integrations: list[Integration], *, pages_twice: bool) -> None:
    """No Level alert pages twice (checked once every entry is valid, partners included)."""
    found = routing.overlaps(integrations) if pages_twice else []
    if found:
        raise SettingsError(
            "Two integrations would page for the same Level alert:\n"
            + routing.explain(found, integrations)
        )


def _decoded(raw: object) -> object:
    """The integrations list set as one JSON text (``pulumi new``'s prompt, or ``pulumi config
    set`` without ``--path``), read as Pulumi's ``get_object`` reads it, so that ``ops`` (which
    reads the stack file itself) sees what the program sees; any other value as it is."""
    if isinstance(raw, str):
        try:
            decoded = json.loads(raw)
        except ValueError:
            return raw
        return decoded if isinstance(decoded, list) else raw
    return raw


#: A ``sharesAlertsWith`` entry naming an integration of another stack: ``<stack>/<name>``
#: (a Pulumi stack name, a slash, the integration's name). This stack cannot see that one;
#: ``python -m ops fleet`` checks the stacks against each other (ops/fleet/overlap.py).
OTHER_STACK_PARTNER = re.compile(r"[A-Za-z0-9_.-]+/.+")


def _unknown_partners(entries: list[Any], indexed: list[tuple[int, Integration]]) -> list[str]:
    """``sharesAlertsWith`` must name other integrations of this stack, by ``name`` (the
    names as written, so that a partner with a problem of its own is still found), or an
    integration of another stack as ``<stack>/<name>``."""
    names = [
        entry["name"] for entry in entries
        if isinstance(entry, Mapping) and isinstance(entry.get("name"), str)
    ]
    lines = []
    for index, integration in indexed:
        for partner in integration.shares_alerts_with or ():
            where = f"{INTEGRATIONS_KEY}[{index}].sharesAlertsWith"
            if partner == integration.name:
                lines.append(f"{where}: {partner!r} is this integration itself; list others.")
            elif partner not in names and not OTHER_STACK_PARTNER.fullmatch(partner):
                guess = suggest(partner, names)
                hint = f"did you mean {guess!r}?" if guess else (
                    f"the integrations are {', '.join(map(repr, names))}."
                )
                lines.append(
                    f"{where}: no integration of this stack is named {partner!r}; {hint}"
                )
    return lines


def duplicates(entries: list[Any]) -> list[str]:
    """One line per pair of integrations with the same ``name`` or the same Pulumi resource
    name (``resourceName``, else a slug of ``name``), read from the entries as written, so
    that an entry with another problem is still compared."""
    names: dict[str, int] = {}
    resource_names: dict[str, int] = {}
    found = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
            continue
        name = entry["name"]
        given = entry.get("resourceName")
        resource_name = given if isinstance(given, str) else slug(name)
        if name in names:
            found.append(
                f"{INTEGRATIONS_KEY}[{names[name]}] and [{index}] have the same name {name!r}; "
                f"each integration needs its own alert source name. Rename one."
            )
        elif resource_name in resource_names:
            found.append(
                f"{INTEGRATIONS_KEY}[{resource_names[resource_name]}] and [{index}] have the "
                f"same resourceName (or a name that slugs to it) {resource_name!r}; set "
                f"resourceName on one of them to a name of its own."
            )
        names.setdefault(name, index)
        resource_names.setdefault(resource_name, index)
    for index, entry in enumerate(entries):
        previous = entry.get("previousResourceNames") if isinstance(entry, Mapping) else None
        for old in previous if isinstance(previous, list) else ():
            other = resource_names.get(old) if isinstance(old, str) else None
            if other is not None and other != index:
                found.append(
                    f"{INTEGRATIONS_KEY}[{index}].previousResourceNames lists {old!r}, the "
                    f"resource name of [{other}]: one name cannot be both. Remove it from one."
                )
    return found


# The keys of Level's API client. Manual mode's `up` makes no Level call of its own; its one
# use of them is deleting the webhooks an earlier api-mode run of the stack made (the switch
# to manual). Level's base URL and key are also what `make audit`, `make verify` and `make
# doctor` read Level's alerts, devices and groups with in manual mode (a read-only key is
# enough), so those two are at home in a manual-mode stack file and draw no warning.
READ_BY_OPS = ("level:apiKey", "level:baseUrl")
LEVEL_API_KEYS = tuple(
    key for key in sorted(KNOWN_KEYS)
    if key.startswith("level:") and key != WEBHOOK_MANAGEMENT_KEY and key not in READ_BY_OPS
)


def used_in_manual_mode_only_to_delete(config_keys: Iterable[str]) -> list[str]:
    """One warning per ``level:`` tuning key set in a manual-mode stack: what it is still
    used for (``level:apiKey`` and ``level:baseUrl`` draw none: see ``READ_BY_OPS``).

    Not an error: a stack switched from api to manual mode deletes the webhooks it made, and
    those deletes use the Level client's settings.
    """
    return [
        f"{key} is set while {WEBHOOK_MANAGEMENT_KEY} is manual: the stack makes no Level "
        f"call of its own and uses it only to delete webhooks an earlier api-mode run of this "
        f"stack made. Once the first `up` in manual mode has deleted them, remove it "
        f"(`pulumi config rm {key}`)."
        for key in sorted(set(config_keys))
        if key in LEVEL_API_KEYS
    ]
