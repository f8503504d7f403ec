"""Level webhook as a Pulumi dynamic resource: ``LevelWebhook``.

The second half of Level's manual "ilert integration" procedure: a webhook whose URL is the
ilert alert source's generated URL, subscribed to "Alert active" (opens the ilert alert) and
"Alert resolved" (closes it). With one event only, sync is one-way, so ``check`` refuses a
list without both. Level publishes no webhook API: calls follow the contract this project
pinned (clients/level.py, docs/level-webhook-contract.md); organisations without it use
the manual mode. Its fields are declared once, in ``WebhookSettings`` and ``WebhookInputs``
below (providers/schema.py).

The optional ``secret`` (Level signs deliveries with it) is write-only in Level: it is kept
in state as a secret so a rotation shows as a change, and ``has_secret`` reports drift.

``device_groups`` scopes the webhook to Level device groups (and everything below them),
each given by id or by a name exactly one group has (clients/level_groups.py); they are
resolved at create and update from one ``GET /v2/groups`` listing per process. Outputs:
``group_ids`` (the live scope; None = the whole organisation, [] = emptied because its
groups were deleted: it delivers nothing), ``group_names`` and ``device_groups`` (the live
scope written the way the stack declared it, so refresh shows a scope changed by hand).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Annotated, Any, Required, TypedDict, Unpack
from urllib.parse import urlsplit

import pulumi
from pulumi import dynamic

from clients import level_groups
from clients.endpoints import LEVEL
from clients.http import deadline, is_loopback
from clients.level import (
    ALERT_ACTIVE,
    ALERT_EVENT_TYPES,
    ALERT_RESOLVED,
    EVENT_TYPES,
    Group,
    LevelClient,
    Webhook,
)
from providers.engine_adapter import detailed_diff
from providers.inventory import Inventory
from providers.pickling import sdk_pickler_restored
from providers.provider_base import (
    ConfiguredProvider,
    Identity,
    ObjectExistsError,
    create_or_adopt,
    delete_unless_taken,
    none_if_gone,
)
from providers.schema import OMIT, Codec, Field, In, Refs, Schema, SetOf, Spec, is_unknown

MAX_GROUPS = 100
GROUPS = "device groups"
ONE_WAY_SYNC = (
    f"event_types must include both {ALERT_ACTIVE} (opens the ilert alert) and "
    f"{ALERT_RESOLVED} (resolves it); with only one of them, alerts are opened but never "
    f"closed in ilert, or closed but never opened (one-way sync). Add the missing one."
)


def https_or_loopback(value: str) -> str:
    """An absolute https URL (http for loopback) as ilert generates it; never quoted."""
    value = value.strip()
    if any(char.isspace() or unicodedata.category(char) == "Cc" for char in value):
        raise ValueError(
            "url must not contain spaces or control characters; use the alert source's "
            "integration_url exactly as ilert generated it."
        )
    parts = urlsplit(value)
    try:
        parts.port  # noqa: B018 (raises ValueError on a malformed port)
    except ValueError:
        raise ValueError(
            "url has a port that is not a number; use the alert source's integration_url."
        ) from None
    if not parts.hostname or parts.scheme not in ("https", "http"):
        raise ValueError(
            "url must be an absolute https:// URL: the ilert alert source's integration_url."
        )
    if "@" in parts.netloc:
        raise ValueError(
            "url must not contain a user name or password (user:password@): they would "
            "show in Level's webhook settings and delivery log. Use the alert source's "
            "integration_url exactly as ilert generated it."
        )
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ValueError(
            f"url must use https:// (Level refuses plain http except for loopback hosts); "
            f"got http://{parts.hostname}/..."
        )
    return value


def both_alert_events(value: list[str]) -> list[str]:
    """Known event ids, each once, both alert events among them (else one-way sync)."""
    unknown = sorted(set(value) - set(EVENT_TYPES))
    if unknown:
        raise ValueError(
            f"event_types has unknown event ids {', '.join(map(repr, unknown))}; "
            f"Level's ids are {', '.join(EVENT_TYPES)}."
        )
    if len(set(value)) != len(value):
        raise ValueError("event_types lists an event id twice; list each once.")
    if not set(ALERT_EVENT_TYPES) <= set(value):
        raise ValueError(ONE_WAY_SYNC)
    return sorted(value)


def group_references(value: list[str]) -> list[str]:
    """A non-empty list of distinct group ids or names (resolved at create/update)."""
    if not value:
        raise ValueError(
            "device_groups must not be an empty list: a webhook scoped to no group delivers "
            "nothing. Leave it out for the whole organisation, or list groups."
        )
    if len(value) > MAX_GROUPS:
        raise ValueError(f"device_groups lists {len(value)} groups; at most {MAX_GROUPS}.")
    for ref in value:
        if not ref.strip() or any(unicodedata.category(c) == "Cc" for c in ref):
            raise ValueError(
                "device_groups entries must be group ids or group names: not blank, one "
                "line each."
            )
    twice = sorted({ref for ref in value if value.count(ref) > 1})
    if twice:
        raise ValueError(f"device_groups lists {', '.join(map(repr, twice))} twice.")
    return value


def secret_not_blank(value: str) -> str:
    """A webhook secret, if set, is not blank."""
    if not value.strip():
        raise ValueError("secret must not be blank; leave it out to send unsigned deliveries.")
    return value


class WebhookUrl(Codec):
    """The URL: during a preview it is unknown whenever its alert source changes, and the
    source's id tells the two cases apart. Pulumi keeps an id known through an update in
    place, which never changes the source's URL, and makes it unknown for a replacement,
    which does. (Pulumi 3.274's engine ignores a provider's ``stables``, which would say
    the same.)"""

    def differs(self, key: str, news: Mapping[str, Any], olds: Mapping[str, Any]) -> bool:
        url, source_id = news.get(key), news.get("alert_source_id")
        if not is_unknown(url):
            return bool(url != olds.get(key))
        if is_unknown(source_id) or source_id is None:
            return True  # its source is being replaced (or no id was given): a new URL
        recorded = olds.get("alert_source_id")
        # State written before the id was recorded: a known id still means an update in place.
        return recorded is not None and source_id != recorded


class WriteOnlySecret(Codec):
    """The signing secret: Level never returns it, only ``has_secret``. Sent on create, and
    on update when it changed or Level lost it; an explicit null removes it."""

    def to_api(self, key: str, value: object, refs: Refs, olds: Mapping[str, Any]) -> object:
        if value is None:
            return None if olds.get("has_secret") else OMIT
        if olds and value == olds.get(key) and olds.get("has_secret"):
            return OMIT
        return value

    def outputs(
        self, field: Field, live: Mapping[str, Any], declared: object, refs: Refs
    ) -> dict[str, object]:
        return {field.key: declared if live.get("has_secret") else None}

    def differs(self, key: str, news: Mapping[str, Any], olds: Mapping[str, Any]) -> bool:
        desired = news.get(key)
        if is_unknown(desired) or desired != olds.get(key):
            return True
        return bool(desired) != bool(olds.get("has_secret"))  # removed or added in Level's UI


class GroupScope(Codec):
    """Device groups given by id or name, sent as ``group_ids``; shown as declared.

    Offline comparison: an id is compared with the ids in state, a name with the names
    recorded for them; a reference that is neither (a group new to the stack) is a change,
    resolved by the update.
    """

    def to_api(self, key: str, value: object, refs: Refs, olds: Mapping[str, Any]) -> object:
        if value is None:
            # null makes an update's webhook org-wide again; a create just leaves it out
            return None if olds.get("group_ids") is not None else OMIT
        return refs.resolve(GROUPS, value, key)

    def outputs(
        self, field: Field, live: Mapping[str, Any], declared: object, refs: Refs
    ) -> dict[str, object]:
        ids: list[str] | None = live.get(str(field.api))
        if not ids:
            return {field.key: ids, "group_ids": ids, "group_names": {}}
        scope: _Level = refs  # type: ignore[assignment]
        groups = scope.groups.find(lambda _: True)
        refs_declared = declared if isinstance(declared, list) else None
        return {
            field.key: level_groups.declared_form(ids, refs_declared, groups),
            "group_ids": sorted(ids),
            "group_names": {g.id: g.name for g in groups if g.id in ids},
        }

    def differs(self, key: str, news: Mapping[str, Any], olds: Mapping[str, Any]) -> bool:
        desired = news.get(key)
        if is_unknown(desired):
            return True
        recorded = olds.get("group_ids")
        if desired is None or recorded is None:
            return desired is not None or recorded is not None
        if not isinstance(desired, list):
            return True
        names: dict[str, str] = olds.get("group_names") or {}
        mapped: set[str] = set()
        for ref in desired:
            ids = [ref] if ref in recorded else [i for i in recorded if names.get(i) == ref]
            if len(ids) != 1:
                return True
            mapped.add(ids[0])
        return mapped != set(recorded) or len(mapped) != len(desired)

    def extra_outputs(self, key: str) -> tuple[str, ...]:
        return ("group_ids", "group_names")


class WebhookSettings(TypedDict, total=False):
    """What an integration says of its Level webhook: each field declared once."""

    event_types: Annotated[In[list[str]], Spec(
        "Level's events the webhook sends: must contain alert_active (opens the ilert alert) "
        "and alert_resolved (closes it); other Level event ids may be added.",
        default=list(ALERT_EVENT_TYPES), check=both_alert_events, codec=SetOf(),
    )]
    enabled: Annotated[In[bool], Spec(
        "false pauses delivery without deleting the webhook.",
        default=True, stack_key="webhookEnabled",
    )]
    secret: Annotated[In[str | None], Spec(
        "Level signs deliveries with it (X-Level-Signature); write-only in Level.",
        check=secret_not_blank, secret=True, codec=WriteOnlySecret(), stack_key="webhookSecret",
    )]
    device_groups: Annotated[In[list[str] | None], Spec(
        "Level device groups whose devices' alerts the webhook gets, each group's "
        "descendants included: group ids, or names exactly one group has. None: the whole "
        "organisation.",
        check=group_references, api="group_ids", codec=GroupScope(), example="[Acme Corp]",
    )]
    adopt: Annotated[In[bool], Spec(
        "Take over the existing webhook to this URL instead of creating one.",
        default=False, api=None, compared=False,
    )]


class WebhookInputs(WebhookSettings, total=False):
    """The inputs of a Level webhook: its settings, and where it delivers."""

    url: Required[Annotated[In[str], Spec(
        "Where Level delivers: the ilert alert source's integration_url.",
        check=https_or_loopback, secret=True, api="url", stack_key=None, codec=WebhookUrl(),
    )]]
    alert_source_id: Annotated[In[str | None], Spec(
        "The ilert alert source whose URL this is (optional): lets a preview tell an update "
        "of the source in place (its URL stays) from a replacement (a new URL).",
        api=None, stack_key=None, compared=False,
    )]


SCHEMA = Schema(
    WebhookInputs,
    what="LevelWebhook",
    outputs=("has_secret", "created_at", "updated_at"),
    api_case=str,  # Level's API speaks snake_case, as the keys do
)


class WebhookExistsError(ObjectExistsError):
    """A webhook this create would duplicate exists already (and ``adopt`` is off)."""


class _Level:
    """One provider process's Level: the client and the listings its operations share."""

    def __init__(self, provider: LevelWebhookProvider) -> None:
        endpoint = provider.endpoint(LEVEL)
        tuning = provider.tuning("level")
        self.client = LevelClient(
            endpoint.base_url,
            endpoint.credential,
            rate_limit=tuning.rate_limit,
            operation_timeout=tuning.operation_timeout,
        )
        self.webhooks: Inventory[Webhook] = Inventory(self.client.list_webhooks)
        self.groups: Inventory[Group] = Inventory(self.client.list_groups)
        self.timeout = tuning.operation_timeout

    def resolve(self, kind: str, ref: Any, setting: str) -> Any:
        """The ids of the declared groups (a name unknown to the listing lists once more: the
        group may have been made since)."""
        try:
            return level_groups.resolve(ref, self.groups.find(lambda _: True))
        except ValueError:
            self.groups.reload()
            return level_groups.resolve(ref, self.groups.find(lambda _: True))

    def name_of(self, kind: str, object_id: int | str) -> str | None:
        found = self.groups.find(lambda group: group.id == str(object_id))
        return found[0].name if found else None


class LevelWebhookProvider(ConfiguredProvider):
    """CRUD of one Level webhook, answered from one listing per process where it can.

    Costs (requests): create 1 POST (+ the listing, once per process); read 0 from the
    listing (+1 GET for an id it lacks); update 1 PATCH; delete 1 DELETE.
    """

    def _level(self) -> _Level:
        return self.shared(lambda: _Level(self))

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> dynamic.CheckResult:
        """Validate inputs without touching the network; Unknowns (preview) pass."""
        inputs, failures = SCHEMA.validate(news)
        return dynamic.CheckResult(inputs, failures + self.endpoint_failures(LEVEL))

    def diff(
        self, _id: str, _olds: dict[str, Any], _news: dict[str, Any]
    ) -> dynamic.DiffResult:
        """Desired inputs against the outputs in state; event types as a set; no network."""
        return detailed_diff(_olds, _news, SCHEMA.changed(_olds, _news))

    def create(self, props: dict[str, Any]) -> dynamic.CreateResult:
        """Adopt the webhook to this URL when asked, else refuse a duplicate, else one POST.

        The URL is a secret, so messages name webhooks by id only.
        """
        args = SCHEMA.parse(props)
        level = self._level()
        identity = Identity(
            api="Level",
            one="a webhook to this alert source's URL",
            many="webhooks to this alert source's URL",
            matches=lambda webhook: webhook.url == args["url"],
            too_many=(
                "each alert is delivered {count} times already. Delete all but one in Level "
                "(Settings > Webhooks), then run again with `adopt: true`."
            ),
            exists=(
                "a second one would deliver every alert twice. Take it over with `adopt: "
                "true` on this integration, or delete it in Level (Settings > Webhooks)."
            ),
            error=WebhookExistsError,
        )
        webhook = create_or_adopt(
            identity,
            level.webhooks,
            adopt=args["adopt"],
            timeout=level.timeout,
            post=lambda: level.client.create_webhook(SCHEMA.body(args, level)),
            take_over=lambda found: level.client.update_webhook(
                found.id, SCHEMA.body(args, level, {"has_secret": True, **found.fields})
            ),
            base_url=level.client.base_url,
        )
        level.webhooks.put(webhook)
        return dynamic.CreateResult(webhook.id, self._outputs(webhook.fields, args))

    def read(self, id_: str, props: dict[str, Any]) -> dynamic.ReadResult:
        """From the listing (one GET for an id it lacks); gone (empty id) when Level has no
        such webhook; returns inputs too so refresh shows drift."""
        level = self._level()
        with deadline(level.timeout):
            live = level.webhooks.get(
                id_, lambda: none_if_gone(lambda: level.client.get_webhook(id_))
            )
            if live is None:
                return dynamic.ReadResult("", {})
            outputs = self._outputs(live.fields, props)
        return dynamic.ReadResult(id_, outputs, SCHEMA.read_inputs(outputs))

    def update(
        self, _id: str, _olds: dict[str, Any], _news: dict[str, Any]
    ) -> dynamic.UpdateResult:
        """One PATCH of the desired state; a changed URL is updated in place."""
        args = SCHEMA.parse(_news)
        level = self._level()
        with deadline(level.timeout):
            updated = level.client.update_webhook(_id, SCHEMA.body(args, level, _olds))
            outputs = self._outputs(updated.fields, args)
        level.webhooks.put(updated)
        return dynamic.UpdateResult(outputs)

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """One DELETE; a webhook already gone counts as deleted, and one that a create of this
        run took over (a renamed resource with ``adopt``) is left alone."""
        level = self._level()
        delete_unless_taken(
            level.client.base_url,
            _id,
            delete=lambda: level.client.delete_webhook(_id),
            timeout=level.timeout,
            what=f"Level webhook {_id}",
        )
        level.webhooks.remove(_id)

    def _outputs(self, live: Mapping[str, Any], declared: Mapping[str, Any]) -> dict[str, Any]:
        """The webhook as Level now has it; the secret echoed (secret output), never read."""
        outputs = SCHEMA.live_outputs(live, declared, self._level())
        outputs.update(
            has_secret=bool(live.get("has_secret")),
            created_at=live.get("created_at"),
            updated_at=live.get("updated_at"),
        )
        return outputs


class LevelWebhook(dynamic.Resource, module="level", name="Webhook"):
    """A Level webhook delivering alert events to a URL (the ilert alert source's).

    Its inputs are ``WebhookInputs`` (docs/configuration.md lists them). Example::

        webhook = LevelWebhook(
            "level-acme",
            url=source.integration_url,   # secret Output of IlertAlertSource
            alert_source_id=source.id,    # optional: no phantom URL change in previews
            device_groups=["Acme Corp"],  # optional: only alerts of devices in Acme Corp
        )                                  # event_types default: alert_active, alert_resolved
    """

    url: pulumi.Output[str]
    event_types: pulumi.Output[list[str]]
    enabled: pulumi.Output[bool]
    has_secret: pulumi.Output[bool]
    device_groups: pulumi.Output[list[str] | None]
    group_ids: pulumi.Output[list[str] | None]
    group_names: pulumi.Output[dict[str, str]]
    created_at: pulumi.Output[str]
    updated_at: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        opts: pulumi.ResourceOptions | None = None,
        **inputs: Unpack[WebhookInputs],
    ) -> None:
        props = SCHEMA.declared_props(inputs)
        if props.get("secret") is not None:
            props["secret"] = pulumi.Output.secret(props["secret"])
        opts = pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(additional_secret_outputs=SCHEMA.secrets)
        )
        with sdk_pickler_restored():
            super().__init__(LevelWebhookProvider(), resource_name, props, opts)
