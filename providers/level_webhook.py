"""Level webhook as a Pulumi dynamic resource: ``LevelWebhook``.

The second half of Level's manual "ilert integration" procedure: a webhook whose URL is the
ilert alert source's generated URL, subscribed to "Alert active" (opens the ilert alert) and
"Alert resolved" (closes it). With one event only, sync is one-way, so ``check`` refuses a
list without both. Calls follow our pinned webhook contract (clients/level.py), which
Level's public reference does not publish; organisations without it use the manual mode.

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

import contextlib
import unicodedata
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlsplit

import pulumi
from pulumi import dynamic
from pydantic import BaseModel, ConfigDict, field_validator

from clients.endpoints import LEVEL
from clients.http import NotFoundError, deadline, is_loopback
from clients.level import (
    ALERT_ACTIVE,
    ALERT_EVENT_TYPES,
    ALERT_RESOLVED,
    EVENT_TYPES,
    Group,
    LevelClient,
    Webhook,
    WebhookChanges,
)
from clients.level_groups import declared_form, resolve
from providers import inventory, journal, stack_state
from providers.engine_adapter import KnownFailure, detailed_diff
from providers.pickling import sdk_pickler_restored
from providers.provider_base import (
    ConfiguredProvider,
    as_secret,
    create_once,
    declaring_stack,
    is_unknown,
    none_if_gone,
    parse_inputs,
    post_recorded,
    validate,
)

SECRET_OUTPUTS = ["url", "secret"]
JOURNAL_KIND = "level:webhook"
MAX_GROUPS = 100
ONE_WAY_SYNC = (
    f"event_types must include both {ALERT_ACTIVE} (opens the ilert alert) and "
    f"{ALERT_RESOLVED} (resolves it); with only one of them, alerts are opened but never "
    f"closed in ilert, or closed but never opened (one-way sync). Add the missing one."
)


class WebhookArgs(BaseModel):
    """The inputs of a Level webhook, validated as our contract requires."""

    # hide_input_in_errors: a ValidationError raised outside check (create, update) shows no
    # value in its text, so neither the URL nor the secret can reach a traceback.
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)
    # Never quoted in a failure: the URL carries ilert's integration key.
    SECRET_FIELDS: ClassVar[tuple[str, ...]] = ("url", "secret")

    url: str
    event_types: list[str] = list(ALERT_EVENT_TYPES)
    enabled: bool = True
    secret: str | None = None
    # Level device groups (ids, or names exactly one group has); None: the whole organisation.
    device_groups: list[str] | None = None
    # Take over the existing webhook to this URL instead of creating one.
    adopt: bool = False
    # The ilert alert source whose URL this is (optional): lets a preview tell an update of
    # the source in place (its URL stays) from a replacement (a new URL).
    alert_source_id: str | None = None

    def same_url(self, webhook: Webhook) -> bool:
        """Whether ``webhook`` delivers to the URL this create would use."""
        return webhook.url == self.url

    @field_validator("url")
    @classmethod
    def _https_or_loopback(cls, value: str) -> str:
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

    @field_validator("event_types")
    @classmethod
    def _both_alert_events(cls, value: list[str]) -> list[str]:
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

    @field_validator("device_groups")
    @classmethod
    def _group_references(cls, value: list[str] | None) -> list[str] | None:
        """A non-empty list of distinct group ids or names (resolved at create/update)."""
        if value is None:
            return None
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

    @field_validator("secret")
    @classmethod
    def _secret_not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("secret must not be blank; leave it out to send unsigned deliveries.")
        return value


class WebhookExistsError(KnownFailure, ValueError):
    """A webhook this create would duplicate exists already (and ``adopt`` is off)."""


class LevelWebhookProvider(ConfiguredProvider):
    """CRUD of one Level webhook, answered from one listing per process where it can.

    Costs (requests): create 1 POST (+ the listing, once per process); read 0 from the
    listing (+1 GET for an id it lacks); update 1 PATCH; delete 1 DELETE.
    """

    def _client(self) -> tuple[LevelClient, inventory.Inventory[Webhook], float]:
        endpoint = self.endpoint(LEVEL)
        tuning = self.tuning("level")
        client = LevelClient(
            endpoint.base_url,
            endpoint.credential,
            rate_limit=tuning.rate_limit,
            operation_timeout=tuning.operation_timeout,
        )
        hooks = inventory.shared(
            "level:webhooks", client.base_url, endpoint.credential, client.list_webhooks
        )
        return client, hooks, tuning.operation_timeout

    def _state_scope(self, client: LevelClient) -> str:
        """stack_state's hash of this API, base URL and key (never the key itself)."""
        return stack_state.scope_key(
            "level:webhooks", client.base_url, self.endpoint(LEVEL).credential
        )

    def _groups(self, client: LevelClient) -> inventory.Inventory[Group]:
        """The organisation's groups, listed once per process."""
        endpoint = self.endpoint(LEVEL)
        return inventory.shared(
            "level:groups", client.base_url, endpoint.credential, client.list_groups
        )

    def _group_ids(self, client: LevelClient, refs: list[str] | None) -> list[str] | None:
        """The ids of the declared groups (a name unknown to the listing lists once more: the
        group may have been made since)."""
        if refs is None:
            return None
        groups = self._groups(client)
        try:
            return resolve(refs, groups.find(lambda _: True))
        except ValueError:
            groups.reload()
            return resolve(refs, groups.find(lambda _: True))

    def _scope(self, client: LevelClient, webhook: Webhook, declared: object) -> _Scope:
        """The webhook's live scope with group names, written as declared (no listing for
        an org-wide or emptied scope)."""
        if not webhook.group_ids:
            return _Scope(webhook.group_ids, {}, webhook.group_ids)
        groups = self._groups(client).find(lambda _: True)
        names = {g.id: g.name for g in groups if g.id in webhook.group_ids}
        refs = declared if isinstance(declared, list) else None
        return _Scope(webhook.group_ids, names, declared_form(webhook.group_ids, refs, groups))

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> dynamic.CheckResult:
        """Validate inputs without touching the network; Unknowns (preview) pass."""
        inputs, failures = validate(WebhookArgs, news, secret_fields=("secret",))
        return dynamic.CheckResult(inputs, failures + self.endpoint_failures(LEVEL))

    def diff(
        self, _id: str, _olds: dict[str, Any], _news: dict[str, Any]
    ) -> dynamic.DiffResult:
        """Desired inputs against the outputs in state; event types as a set; no network."""
        changed = [
            field
            for field in ("enabled", "secret")
            if is_unknown(_news.get(field)) or _news.get(field) != _olds.get(field)
        ]
        if _url_changes(_olds, _news):
            changed.insert(0, "url")
        events = _news.get("event_types")
        if is_unknown(events) or set(events or ()) != set(_olds.get("event_types") or ()):
            changed.append("event_types")
        if "secret" not in changed and bool(_news.get("secret")) != bool(_olds.get("has_secret")):
            changed.append("secret")  # removed or added in Level's UI
        if _scope_differs(_news.get("device_groups"), _olds):
            changed.append("device_groups")
        return detailed_diff(_olds, _news, changed)

    def create(self, props: dict[str, Any]) -> dynamic.CreateResult:
        """Adopt the webhook to this URL when asked, else refuse a duplicate, else one POST.

        A POST whose answer was lost is settled by listing again: if a webhook to this URL
        is there, the create succeeded (never a second delivery of every alert).
        """
        args = _args(props)
        client, hooks, timeout = self._client()
        state_scope = self._state_scope(client)
        provenance = self.provenance(JOURNAL_KIND, client.base_url, args.url, deadline=timeout)

        if provenance.wait_for_earlier_create():  # a killed run's create may now be done
            hooks.reload()

        def same_and_not_ours(webhook: Webhook) -> bool:
            # A webhook this stack's state holds belongs to another resource of this stack
            # (one renamed in the stack file): never a duplicate to refuse or one to take.
            return args.same_url(webhook) and not stack_state.holds(state_scope, webhook.id)

        def adopt_or_post() -> Webhook:
            existing = _only_one(hooks.find(same_and_not_ours), args, provenance)
            group_ids = self._group_ids(client, args.device_groups)
            if existing is not None:
                changes = WebhookChanges(
                    enabled=args.enabled, event_types=args.event_types, secret=args.secret,
                    group_ids=group_ids,
                )
                taken = client.update_webhook(existing.id, changes)
                stack_state.note_taken(state_scope, taken.id)
                return taken
            return post_recorded(
                lambda: client.create_webhook(
                    url=args.url, event_types=args.event_types, enabled=args.enabled,
                    secret=args.secret, group_ids=group_ids,
                ),
                provenance,
            )

        webhook = create_once(adopt_or_post, hooks, same_and_not_ours, timeout, provenance)
        hooks.put(webhook)
        scope = self._scope(client, webhook, args.device_groups)
        outputs = _outputs(webhook, args.secret, _declared(args.model_dump()), scope)
        return dynamic.CreateResult(webhook.id, outputs)

    def read(self, id_: str, props: dict[str, Any]) -> dynamic.ReadResult:
        """From the listing (one GET for an id it lacks); gone (empty id) when Level has no
        such webhook; returns inputs too so refresh shows drift."""
        client, hooks, timeout = self._client()
        with deadline(timeout):
            live = hooks.get(id_, lambda: none_if_gone(lambda: client.get_webhook(id_)))
        if live is None:
            return dynamic.ReadResult("", {})
        stack_state.note(self._state_scope(client), live.id)
        # Level never returns the secret: keep ours, unless Level says there is none now.
        secret = props.get("secret") if live.has_secret else None
        with deadline(timeout):
            scope = self._scope(client, live, props.get("device_groups"))
        outputs = _outputs(live, secret, _declared(props), scope)
        inputs = {
            "url": as_secret(outputs["url"]),
            "event_types": outputs["event_types"],
            "enabled": outputs["enabled"],
            "secret": as_secret(secret),
            "device_groups": outputs["device_groups"],
            "adopt": outputs["adopt"],
            "alert_source_id": outputs["alert_source_id"],
        }
        return dynamic.ReadResult(id_, outputs, inputs)

    def update(
        self, _id: str, _olds: dict[str, Any], _news: dict[str, Any]
    ) -> dynamic.UpdateResult:
        """One PATCH of the desired state; a changed URL is updated in place."""
        args = _args(_news)
        fields: dict[str, Any] = {
            "url": args.url, "enabled": args.enabled, "event_types": args.event_types,
        }
        if args.secret is not None:
            if args.secret != _olds.get("secret") or not _olds.get("has_secret"):
                fields["secret"] = args.secret
        elif _olds.get("has_secret"):
            fields["secret"] = None  # an explicit null removes it
        client, hooks, timeout = self._client()
        with deadline(timeout):
            group_ids = self._group_ids(client, args.device_groups)
            if group_ids is not None or _olds.get("group_ids") is not None:
                fields["group_ids"] = group_ids  # null makes it org-wide again
            updated = client.update_webhook(_id, WebhookChanges(**fields))
            scope = self._scope(client, updated, args.device_groups)
        hooks.put(updated)
        declared = _declared(args.model_dump())
        return dynamic.UpdateResult(_outputs(updated, args.secret, declared, scope))

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """One DELETE; a webhook already gone counts as deleted. A webhook that a create of
        this deployment took over has moved to that resource: it is left alone."""
        client, hooks, timeout = self._client()
        if stack_state.was_taken(self._state_scope(client), _id):
            return
        with contextlib.suppress(NotFoundError), deadline(timeout):
            client.delete_webhook(_id)
        hooks.remove(_id)
        self.record_delete(_id)


def _url_changes(olds: dict[str, Any], news: dict[str, Any]) -> bool:
    """Whether the desired URL differs from the one in state.

    During a preview the URL is unknown whenever its alert source changes. The source's id
    tells the two cases apart: Pulumi keeps an id known through an update in place, which
    never changes the source's URL, and makes it unknown for a replacement, which does.
    (Pulumi 3.274's engine ignores a provider's ``stables``, which would say the same.)
    """
    url, source_id = news.get("url"), news.get("alert_source_id")
    if not is_unknown(url):
        return bool(url != olds.get("url"))
    if is_unknown(source_id) or source_id is None:
        return True  # its source is being replaced (or no id was given): a new URL
    recorded = olds.get("alert_source_id")
    # State written before the id was recorded: a known id still means an update in place.
    return recorded is not None and source_id != recorded


def _only_one(
    found: list[Webhook], args: WebhookArgs, provenance: journal.Provenance
) -> Webhook | None:
    """The one webhook this create may take over, or None; refuses a duplicate or an
    ambiguity. Taken over when ``adopt`` says so, or when this stack's journal proves that
    this stack's own earlier create made it (an ``up`` cut short before the state was written).

    The URL is a secret, so messages name the webhooks by id only.
    """
    if not found:
        return None
    ids = ", ".join(webhook.id for webhook in found)
    if len(found) > 1:
        raise WebhookExistsError(
            f"Level has {len(found)} webhooks to this alert source's URL (ids {ids}): each "
            f"alert is delivered {len(found)} times already. Delete all but one in Level "
            f"(Settings > Webhooks), then run again with `adopt: true`."
        )
    if args.adopt or provenance.claim(found[0]):
        return found[0]
    unanswered = provenance.unanswered()
    if unanswered is not None:
        made = found[0].created_at or "at an unknown time"
        raise WebhookExistsError(
            f"Level already has a webhook to this alert source's URL (id {ids}, made "
            f"{made}). This stack sent a create of it "
            f"at {unanswered.at} and never got the answer (the run was cut short), but this "
            f"webhook was not made while that create was under way, so it is not taken back "
            f"by itself. If it is yours, take it over with `adopt: true` on this integration; "
            f"otherwise delete it in Level (Settings > Webhooks). Then run again."
        )
    raise WebhookExistsError(
        f"Level already has a webhook to this alert source's URL (id {ids}); a second one "
        f"would deliver every alert twice. Take it over with `adopt: true` on this "
        f"integration, or delete it in Level (Settings > Webhooks)."
    )


def _args(props: dict[str, Any]) -> WebhookArgs:
    return parse_inputs(WebhookArgs, props)


def _declared(props: dict[str, Any]) -> dict[str, Any]:
    """What the user declared that Level does not keep: ``adopt`` and the source's id.

    Echoed in the outputs, so that ``read`` can return them among the inputs (a refresh then
    leaves them as declared) and ``diff`` can compare the source's id during a preview.
    """
    return {
        "adopt": bool(props.get("adopt", False)),
        "alert_source_id": props.get("alert_source_id"),
    }


@dataclass(frozen=True)
class _Scope:
    """A webhook's device-group scope as Level has it, with names and the declared form."""

    group_ids: list[str] | None
    group_names: dict[str, str]
    device_groups: list[str] | None


def _scope_differs(desired: object, olds: dict[str, Any]) -> bool:
    """Whether the declared groups (ids or names) are not exactly the scope in state.

    Offline: an id is compared with the ids in state, a name with the names recorded for
    them; a reference that is neither (a group new to the stack) is a change, resolved by
    the update.
    """
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


def _outputs(
    webhook: Webhook, secret: str | None, declared: dict[str, Any], scope: _Scope
) -> dict[str, Any]:
    """The webhook as Level now has it; the secret echoed (secret output), never read back."""
    return {
        "url": webhook.url,
        "event_types": sorted(webhook.event_types) if webhook.event_types is not None else None,
        "enabled": webhook.enabled,
        "has_secret": webhook.has_secret,
        "secret": secret,
        "group_ids": sorted(scope.group_ids) if scope.group_ids is not None else None,
        "group_names": scope.group_names,
        "device_groups": scope.device_groups,
        "created_at": webhook.created_at,
        "updated_at": webhook.updated_at,
        **declared,
    }


class LevelWebhook(dynamic.Resource, module="level", name="Webhook"):
    """A Level webhook delivering alert events to a URL (the ilert alert source's).

    Example::

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
    secret: pulumi.Output[str | None]
    device_groups: pulumi.Output[list[str] | None]
    group_ids: pulumi.Output[list[str] | None]
    group_names: pulumi.Output[dict[str, str]]
    created_at: pulumi.Output[str]
    updated_at: pulumi.Output[str]
    alert_source_id: pulumi.Output[str | None]

    def __init__(
        self,
        resource_name: str,
        *,
        url: pulumi.Input[str],
        event_types: pulumi.Input[list[str]] | tuple[str, ...] = ALERT_EVENT_TYPES,
        enabled: pulumi.Input[bool] = True,
        secret: pulumi.Input[str] | None = None,
        device_groups: pulumi.Input[list[str]] | None = None,
        adopt: pulumi.Input[bool] = False,
        alert_source_id: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props: dict[str, Any] = {
            "url": url,
            "alert_source_id": alert_source_id,
            "event_types": list(event_types) if isinstance(event_types, tuple) else event_types,
            "enabled": enabled,
            "secret": pulumi.Output.secret(secret) if secret is not None else None,
            "device_groups": device_groups,
            "adopt": adopt,
            # Outputs only: declared so that they exist as attributes of the resource.
            "has_secret": None,
            "group_ids": None,
            "group_names": None,
            "created_at": None,
            "updated_at": None,
        }
        opts = pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(additional_secret_outputs=SECRET_OUTPUTS)
        )
        with sdk_pickler_restored():
            super().__init__(LevelWebhookProvider(declaring_stack()), resource_name, props, opts)
