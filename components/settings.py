"""The stack settings: one place that reads and validates ``Pulumi.<stack>.yaml``.

``level-ilert:integrations`` is a list; each entry becomes one ilert alert source and one
Level webhook (routing alerts to different escalation policies takes one entry each).
``level:webhookManagement`` is ``api`` (default) or ``manual`` (no Level calls: the stack
outputs the URL and the UI steps). The per-field rules are the providers' own
(``AlertSourceArgs``, ``WebhookArgs``), so config and ``pulumi preview`` agree; errors are
reported with the config path a user edits, e.g. ``level-ilert:integrations[0].alertCreation``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from providers.ilert_alert_source import AlertSourceArgs
from providers.level_api import ALERT_EVENT_TYPES
from providers.level_webhook import WebhookArgs
from providers.provider_base import explain

INTEGRATIONS_KEY = "level-ilert:integrations"
WEBHOOK_MANAGEMENT_KEY = "level:webhookManagement"
WebhookManagement = Literal["api", "manual"]
# A URL that passes WebhookArgs' rules, to validate the other webhook settings before ilert
# has generated the real one.
_URL_PLACEHOLDER = "https://ilert.invalid/api/v1/events/levelio/placeholder"

EXAMPLE = """\
  level-ilert:integrations:
    - name: Level - Acme
      escalationPolicy: Default      # policy id or exact name
"""


class SettingsError(ValueError):
    """The stack config is missing or invalid; the message names the key and the fix."""


class Integration(BaseModel):
    """One Level-to-ilert wiring: an alert source and the webhook that feeds it."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )

    name: str
    escalation_policy: int | str
    alert_creation: str | None = None
    alert_grouping_window: str | None = None
    alert_priority_rule: str | None = None
    auto_resolution_timeout: str | None = None
    teams: list[int] | None = None
    active: bool = True
    event_types: list[str] = Field(default_factory=lambda: list(ALERT_EVENT_TYPES))
    webhook_enabled: bool = True
    webhook_secret: str | None = Field(default=None, repr=False)
    resource_name: str | None = None
    adopt: bool = False

    def webhook_inputs(self, url: str) -> dict[str, Any]:
        """The inputs of this integration's ``LevelWebhook`` for a given URL."""
        return {
            "url": url,
            "event_types": self.event_types,
            "enabled": self.webhook_enabled,
            "secret": self.webhook_secret,
            "adopt": self.adopt,
        }

    def alert_source_inputs(self) -> dict[str, Any]:
        """The inputs of this integration's ``IlertAlertSource`` (unset ones left out)."""
        fields = (
            "name", "escalation_policy", "alert_creation", "alert_grouping_window",
            "alert_priority_rule", "auto_resolution_timeout", "teams", "active", "adopt",
        )
        return {f: getattr(self, f) for f in fields if getattr(self, f) is not None}

    @property
    def pulumi_name(self) -> str:
        """The Pulumi resource name: ``resourceName``, else a slug of ``name``.

        Set ``resourceName`` before renaming an alert source to keep its resources: the
        resource name is its identity in state, while ``name`` is updated in place.
        """
        return self.resource_name or slug(self.name)


class StackSettings(BaseModel):
    """Everything the program reads from config."""

    model_config = ConfigDict(frozen=True)

    webhook_management: WebhookManagement = "api"
    integrations: list[Integration]


def slug(text: str) -> str:
    """Lower-case letters, digits and dashes: safe in a Pulumi URN and readable."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "integration"


def load_settings(
    get_object: Callable[[str], Any], get: Callable[[str], str | None]
) -> StackSettings:
    """Read and validate the stack settings; raises ``SettingsError`` naming key and fix.

    ``get_object``/``get`` look up full config keys (``namespace:key``), as ``pulumi.Config``
    does; tests pass plain dict lookups.
    """
    management = (get(WEBHOOK_MANAGEMENT_KEY) or "api").strip()
    if management not in ("api", "manual"):
        raise SettingsError(
            f"{WEBHOOK_MANAGEMENT_KEY} must be 'api' (the stack manages the Level webhook) or "
            f"'manual' (you create it in Level's UI); got {management!r}. Fix it with "
            f"`pulumi config set {WEBHOOK_MANAGEMENT_KEY} api`."
        )
    raw = get_object(INTEGRATIONS_KEY)
    if raw is None:
        raise SettingsError(
            f"{INTEGRATIONS_KEY} is not set. Add at least one integration to "
            f"Pulumi.<stack>.yaml under config:\n{EXAMPLE}"
        )
    if not isinstance(raw, list) or not raw:
        raise SettingsError(
            f"{INTEGRATIONS_KEY} must be a non-empty list of integrations, like:\n{EXAMPLE}"
        )
    integrations = [_integration(index, entry) for index, entry in enumerate(raw)]
    _unique(integrations, lambda i: i.pulumi_name, "resourceName (or a name that slugs to it)")
    _unique(integrations, lambda i: i.name, "name")
    return StackSettings.model_validate(
        {"webhook_management": management, "integrations": integrations}
    )


def _integration(index: int, entry: object) -> Integration:
    """One entry, checked first for shape and types, then by the providers' own rules."""
    where = f"{INTEGRATIONS_KEY}[{index}]"
    if not isinstance(entry, Mapping):
        raise SettingsError(f"{where} must be a mapping with at least name and escalationPolicy.")
    try:
        integration = Integration.model_validate(entry)
    except ValidationError as error:
        raise _settings_error(where, error.errors(include_url=False)) from None
    problems: list[Any] = []
    for model, inputs in (
        (AlertSourceArgs, integration.alert_source_inputs()),
        (WebhookArgs, integration.webhook_inputs(_URL_PLACEHOLDER)),
    ):
        try:
            model.model_validate(inputs)
        except ValidationError as error:
            problems.extend(error.errors(include_url=False))
    if problems:
        raise _settings_error(where, problems)
    return integration


def _settings_error(where: str, items: Sequence[Mapping[str, Any]]) -> SettingsError:
    return SettingsError("Invalid stack config:\n" + "\n".join(_problem(where, i) for i in items))


def _problem(where: str, item: Mapping[str, Any]) -> str:
    """One error line with the config path; provider rules speak snake_case, config camelCase."""
    loc = [
        _config_word(part) if isinstance(part, str) else f"[{part}]" for part in item["loc"]
    ]
    path = where + "".join(p if p.startswith("[") else f".{p}" for p in loc)
    message = explain(item, name=path, secret=path.endswith("webhookSecret"))
    for word in sorted(_PROPERTY_NAMES, key=len, reverse=True):
        message = re.sub(rf"\b{word}\b", _config_word(word), message)
    return f"- {message}" if message.startswith(path) else f"- {path}: {message}"


_PROPERTY_NAMES = frozenset(AlertSourceArgs.model_fields) | frozenset(WebhookArgs.model_fields)
_CONFIG_RENAMES = {"secret": "webhookSecret", "enabled": "webhookEnabled"}


def _config_word(name: str) -> str:
    """A property name as the config key users write (``secret`` -> ``webhookSecret``)."""
    return _CONFIG_RENAMES.get(name, to_camel(name))


def _unique(integrations: list[Integration], key: Callable[[Integration], str], what: str) -> None:
    seen: dict[str, int] = {}
    for index, integration in enumerate(integrations):
        value = key(integration)
        if value in seen:
            raise SettingsError(
                f"{INTEGRATIONS_KEY}[{seen[value]}] and [{index}] have the same {what} "
                f"{value!r}; each integration needs its own."
            )
        seen[value] = index
