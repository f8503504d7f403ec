"""From what discover read to the stack file's integrations: one entry per alert source.

No network and no YAML here: ``build_plan`` pairs each Level.io alert source with the Level
webhooks whose URL is exactly its integration URL, writes one ``adopt: true`` entry per
source with every setting this project manages (as the live objects have them), and turns
everything it cannot express, or that looks wrong, into comment lines at the key they
concern plus one finding each (``ops.report.Check``) for the summary. It also says what the
next ``up`` will change on each object.

Choices, each made so that ``up`` on the written file succeeds and changes as little as
possible:
- Two webhooks to one URL, or two Level.io sources of one name: ``up`` could not tell which
  to adopt and would fail, so that source stays out of the entries, as a comment that says
  which objects to delete first.
- A disabled webhook or an inactive source is written as it is (``webhookEnabled: false``,
  ``active: false``): ``up`` keeps it silent, the comment says how to turn it on.
- Two sources that page for the same Level alert today (the preview's routing rule) get
  ``sharesAlertsWith``: it keeps today's double paging, and the comment says how to end it.
- A source that pages nobody today only because of its webhook (none at all, or one without
  ``alert_active``) would start paging once ``up`` creates or completes the webhook; where
  it would then page for alerts another source already pages for, its webhook is written
  disabled (``up`` must not start double paging), with a comment saying what to decide.
- A webhook secret is never written (Level never returns it): a comment says how to set it.
"""

from __future__ import annotations

import json
import re
import textwrap
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from clients.ilert import AlertSource, EscalationPolicy, IdRef, Service, SupportHour
from clients.level import ALERT_ACTIVE, ALERT_EVENT_TYPES, ALERT_RESOLVED, Group, Webhook
from clients.level_groups import path_of
from components import routing
from components.settings import (
    INTEGRATIONS_KEY,
    OWN_KEYS,
    SOURCE_KEYS,
    WEBHOOK_KEYS,
    Integration,
    SettingsError,
    load_settings,
    slug,
)
from ops.discover_read import Live, unmanaged_settings
from ops.report import Check
from providers.ilert_alert_source import POLICY
from providers.schema import Field, IdList, Reference, ReferenceList

COMMENT_WIDTH = 92
LEVEL_WEBHOOKS = "Level webhooks"
#: Keys discover writes from the live objects (every setting of the two schemas but the
#: webhook secret, which Level never returns); any other key of a previous entry of the
#: same name (resourceName, a webhookSecret set with the CLI) is kept by ``--force``.
DERIVED_KEYS = tuple(
    key for key in (*SOURCE_KEYS, *WEBHOOK_KEYS, *OWN_KEYS)
    if key not in ("webhookSecret", "resourceName")
)
_NUMBER = re.compile(r"[+-]?\d+")


@dataclass
class Entry:
    """One integration of the file: the live objects, the values, their comments and what
    ``up`` will change."""

    source: AlertSource
    webhook: Webhook | None
    values: dict[str, Any]
    #: comment lines placed before a key ("" = before the entry itself)
    before: dict[str, list[str]] = field(default_factory=dict)
    #: a short comment at the end of a key's line
    eol: dict[str, str] = field(default_factory=dict)
    source_changes: list[str] = field(default_factory=list)
    webhook_changes: list[str] = field(default_factory=list)
    #: pages nobody today only because of its webhook, which ``up`` would create or complete
    starts_paging: bool = False
    secret_to_set: bool = False

    @property
    def name(self) -> str:
        return self.source.name

    def note(self, key: str, text: str) -> None:
        """Add a comment paragraph before ``key`` ("" = before the entry)."""
        self.before.setdefault(key, []).extend(wrap(text))


@dataclass(frozen=True)
class KeptOut:
    """A source left out of the entries, as comment lines where it would have been."""

    source: AlertSource
    lines: list[str]
    #: how many entries come before it: the comment goes before the entry of that index
    position: int


@dataclass
class Plan:
    """The integrations to write, what stays out, the findings, and the mode."""

    entries: list[Entry]
    kept_out: list[KeptOut]
    #: comment lines about webhooks that no entry takes over (orphans and others)
    loose: list[str]
    findings: list[Check]
    webhook_management: str
    dropped_previous: list[str] = field(default_factory=list)


def wrap(text: str, width: int = COMMENT_WIDTH) -> list[str]:
    """A paragraph as comment lines of at most ``width`` characters."""
    return textwrap.wrap(text, width=width, break_on_hyphens=False) or [""]


def _plain_name(name: str) -> bool:
    """Whether a name can stand for itself in the stack file (not read as an id, no
    surrounding spaces, one line)."""
    return (
        bool(name.strip())
        and name == name.strip()
        and not _NUMBER.fullmatch(name)
        and not any(unicodedata.category(char) == "Cc" for char in name)
    )


def policy_ref(ref: IdRef, policies: Sequence[EscalationPolicy]) -> tuple[int | str, str]:
    """The policy by name where exactly one policy has that name, else by id; and the line
    end comment that says why it is an id."""
    listed = next((p for p in policies if p.id == ref.id), None)
    name = listed.name if listed is not None else ref.name
    if name is None:
        return ref.id, ""
    same = sum(policy.name == name for policy in policies)
    if same == 1 and _plain_name(name):
        return name, ""
    if same > 1:
        return ref.id, f"{name!r}: {same} escalation policies have this name, so by id"
    return ref.id, f"{name!r}"


def named_ref(ref: object, listed: Sequence[SupportHour | Service]) -> tuple[int | str | None, str]:
    """Support hours or a service as the stack file writes it: by name where exactly one
    listed object has that name, else by id; and the line-end comment that says why."""
    if not isinstance(ref, Mapping) or ref.get("id") is None:
        return None, ""
    object_id = int(ref["id"])
    name = ref.get("name")
    same = sum(item.name == name for item in listed)
    if isinstance(name, str) and same == 1 and _plain_name(name):
        return name, ""
    if isinstance(name, str) and same > 1:
        return object_id, f"{name!r}: {same} have this name, so by id"
    return object_id, f"{name!r}" if name else ""


def _leave_alone_what_the_rules_refuse(values: dict[str, Any]) -> None:
    """Drop what ilert keeps harmlessly but the stack file's rules refuse: left out, the
    setting is left alone by ``up``, as it is now."""
    if values.get("alertCreation") != "INTELLIGENT_GROUPING":
        values.pop("scoreThreshold", None)
    if not values.get("supportHours"):
        values.pop("autoRaiseAlerts", None)
    severity = values.get("severity")
    if severity is not None and (isinstance(severity, bool) or severity not in range(1, 6)):
        values.pop("severity")


def group_refs(ids: Sequence[str], groups: Sequence[Group]) -> tuple[list[str], str]:
    """A scope as group names where exactly one group has that name, else ids; and a line
    end comment that says where each group given by id sits."""
    by_id = {group.id: group for group in groups}
    names = [group.name for group in groups]
    refs: list[str] = []
    places: list[str] = []
    for group_id in ids:
        group = by_id.get(group_id)
        if group is not None and names.count(group.name) == 1 and _plain_name(group.name):
            refs.append(group.name)
        else:
            refs.append(group_id)
            places.append(path_of(group, by_id) if group is not None else "not listed")
    return refs, ", ".join(places)


def _host(url: str) -> str:
    return urlsplit(url).hostname or "?"


def _ilert_like(url: str, ilert_base_url: str) -> bool:
    """Whether a URL is one of ilert's inbound event URLs (of a source that may be gone)."""
    return _host(url) == _host(ilert_base_url) or urlsplit(url).path.startswith(
        "/api/v1/events/"
    )


class _NoRefs:
    """Discover reads references (policies) itself: plain codecs need no look-up."""

    def resolve(self, kind: str, ref: Any, setting: str) -> Any:
        raise AssertionError("discover resolves no reference")  # pragma: no cover

    def name_of(self, kind: str, object_id: int | str) -> str | None:
        return None


_NO_REFS = _NoRefs()


class _Builder:
    """Builds one plan; kept as an object so each step is a small method."""

    def __init__(self, live: Live, stack: str, previous: Mapping[str, Mapping[str, Any]]):
        self.live = live
        self.stack = stack
        self.previous = previous
        self.manual = live.webhooks is None
        self.by_url: dict[str, list[Webhook]] = {}
        for webhook in live.webhooks or ():
            self.by_url.setdefault(webhook.url, []).append(webhook)
        self.findings: list[Check] = []
        self.entries: list[Entry] = []
        self.kept_out: list[KeptOut] = []

    def fail(self, scope: str, id_: str, summary: str, fix: str = "") -> None:
        self.findings.append(Check(scope, id_, "fail", summary, fix))

    def info(self, scope: str, id_: str, summary: str, fix: str = "") -> None:
        self.findings.append(Check(scope, id_, "info", summary, fix))

    # ------------------------------------------------------------------ the sources

    def build(self) -> Plan:
        names = [source.name for source in self.live.sources]
        for source in self.live.sources:
            hooks = self.by_url.get(source.integration_url or "", []) if not self.manual else []
            if names.count(source.name) > 1:
                self._same_name(source, names.count(source.name), hooks)
            elif len(hooks) > 1:
                self._two_webhooks(source, hooks)
            else:
                self._entry(source, hooks[0] if hooks else None)
        self._unique_resource_names()
        self._routing()
        for entry in self.entries:
            self._say_what_up_changes(entry)
        return Plan(
            entries=self.entries,
            kept_out=self.kept_out,
            loose=self._loose_webhooks(),
            findings=self.findings,
            webhook_management="manual" if self.manual else "api",
            dropped_previous=[n for n in self.previous if n not in {e.name for e in self.entries}],
        )

    def _keep_out(self, source: AlertSource, reason: str, entry: Mapping[str, Any]) -> None:
        lines = [*wrap(f"NOT TAKEN OVER: ilert alert source {source.id} {source.name!r}. "
                       f"{reason}")]
        lines.append("Its entry, for after that (run make discover again with FORCE=1):")
        lines.extend(f"  {line}" for line in _as_yaml_lines(entry))
        self.kept_out.append(KeptOut(source, lines, len(self.entries)))

    def _same_name(self, source: AlertSource, count: int, hooks: list[Webhook]) -> None:
        ids = ", ".join(str(s.id) for s in self.live.sources if s.name == source.name)
        reason = (
            f"ilert has {count} Level.io alert sources named {source.name!r} (ids {ids}); "
            f"up adopts by exact name and would fail on the ambiguity. Rename or delete the "
            f"extra ones in ilert first."
        )
        self.fail(source.name, "source.same-name",
                  f"ilert source {source.id}: {count} Level.io alert sources share this name "
                  f"(ids {ids}); kept out of the stack file",
                  "rename or delete the extra ones in ilert, then run make discover again "
                  "with FORCE=1")
        webhook = hooks[0] if len(hooks) == 1 else None
        self._keep_out(source, reason, self._values(source, webhook, Entry(source, webhook, {})))

    def _two_webhooks(self, source: AlertSource, hooks: list[Webhook]) -> None:
        keep = min(hooks, key=_keeper_rank)
        extra = [hook.id for hook in hooks if hook is not keep]
        reason = (
            f"{len(hooks)} Level webhooks deliver to its URL ({', '.join(h.id for h in hooks)})"
            f": every alert they both cover is paged twice, and up cannot tell which one to "
            f"adopt. Delete webhook {' and '.join(extra)} in Level (Settings > Webhooks) "
            f"first; keep {keep.id}."
        )
        self.fail(source.name, "webhook.duplicate",
                  f"two webhooks to one URL: {len(hooks)} Level webhooks deliver to ilert "
                  f"source {source.id} ({', '.join(h.id for h in hooks)}), so every alert is "
                  f"paged twice; kept out of the stack file",
                  f"delete webhook {' and '.join(extra)} in Level (Settings > Webhooks), keep "
                  f"{keep.id}, then run make discover again with FORCE=1")
        entry = self._values(source, keep, Entry(source, keep, {}))
        self._keep_out(source, reason, entry)

    def _entry(self, source: AlertSource, webhook: Webhook | None) -> None:
        entry = Entry(source, webhook, {})
        entry.values = self._values(source, webhook, entry)
        self._merge_previous(entry)
        problem = _invalid(entry.values)
        if problem:
            self.fail(source.name, "source.invalid",
                      f"ilert source {source.id} has settings this project's validation "
                      f"refuses; kept out of the stack file: {problem}",
                      "change the setting in ilert, then run make discover again with FORCE=1")
            self._keep_out(source, f"Its settings fail the stack file's validation: {problem}",
                           entry.values)
            return
        self._source_findings(entry)
        if not self.manual:
            self._webhook_findings(entry)
        self.entries.append(entry)

    def _values(self, source: AlertSource, webhook: Webhook | None, entry: Entry) -> dict[str, Any]:
        """Every setting this project manages, as the live objects have it, in file order:
        the alert source's from its schema (each field's codec reads it back as the stack
        file writes it), then the webhook's, then ``adopt: true``. A setting managed only
        when declared is written only where ilert holds one (an empty template, no support
        hours, ...: left out, so ``up`` leaves it alone), and not where the stack file's
        rules would refuse what ilert keeps harmlessly (``scoreThreshold`` outside
        INTELLIGENT_GROUPING, ``autoRaiseAlerts`` without support hours): left alone too."""
        live = source.fields
        values: dict[str, Any] = {}
        for stack_key, each in SOURCE_KEYS.items():
            if each.spec.api is None:  # not an API setting (adopt)
                continue
            value, why = self._value(each, live)
            if why:
                entry.eol[stack_key] = why
            if each.spec.when_declared and value in (None, "", [], {}, False):
                continue
            if value is not None:
                values[stack_key] = value
        _leave_alone_what_the_rules_refuse(values)
        if not self.manual:
            values.update(self._webhook_values(webhook, entry))
        values["adopt"] = True
        return values

    def _value(self, each: Field, live: Mapping[str, Any]) -> tuple[object, str]:
        """One setting as the stack file writes it, and a line-end comment (or "")."""
        codec = each.spec.codec
        found = live.get(str(each.api))
        if isinstance(codec, Reference) and codec.kind != POLICY:
            return named_ref(found, self.live.support_hours)
        if isinstance(codec, Reference):
            return policy_ref(IdRef.model_validate(found or {}), self.live.policies)
        if isinstance(codec, ReferenceList):
            items = sorted(found or (), key=lambda item: item["id"])
            return [named_ref(item, self.live.services)[0] for item in items], ""
        if isinstance(codec, IdList):
            teams = sorted(found or (), key=lambda team: team["id"])
            names = ", ".join(team.get("name") or str(team["id"]) for team in teams)
            return [team["id"] for team in teams], (
                names if any(team.get("name") for team in teams) else ""
            )
        return codec.outputs(each, live, None, _NO_REFS)[each.key], ""

    def _webhook_values(self, webhook: Webhook | None, entry: Entry) -> dict[str, Any]:
        if webhook is None:
            return {"eventTypes": list(ALERT_EVENT_TYPES), "webhookEnabled": True}
        events = webhook.event_types
        written = sorted({*(events or ()), *ALERT_EVENT_TYPES}) if events is not None else list(
            ALERT_EVENT_TYPES
        )
        values: dict[str, Any] = {"eventTypes": written, "webhookEnabled": webhook.enabled}
        if webhook.group_ids == []:
            values["webhookEnabled"] = False
        elif webhook.group_ids is not None:
            refs, places = group_refs(sorted(webhook.group_ids), self.live.groups)
            values["deviceGroups"] = refs
            if places:
                entry.eol["deviceGroups"] = places
        return values

    def _merge_previous(self, entry: Entry) -> None:
        """``--force``: keep what the previous entry of this name had beyond discover's keys
        (its resourceName, a webhookSecret set with the CLI)."""
        previous = self.previous.get(entry.name)
        if not previous:
            return
        adopt = entry.values.pop("adopt")
        for key, value in previous.items():
            if key in DERIVED_KEYS:
                continue
            if key == "webhookSecret" and not _is_ciphertext(value):
                self.fail(entry.name, "webhook.plaintext-secret",
                          "the previous stack file had this webhook's secret in plain text; "
                          "it is not copied",
                          f"set it with {self._secret_command(len(self.entries))}")
                continue
            entry.values[key] = value
        shared = previous.get("sharesAlertsWith")
        if isinstance(shared, list) and shared:
            entry.values["sharesAlertsWith"] = [str(name) for name in shared]
        entry.values["adopt"] = adopt

    def _secret_command(self, index: int) -> str:
        return (f"pulumi config set --secret --path "
                f"'{INTEGRATIONS_KEY}[{index}].webhookSecret' <secret> --stack {self.stack}")

    # --------------------------------------------------------------- the findings

    def _source_findings(self, entry: Entry) -> None:
        source = entry.source
        if not source.active:
            entry.note("active", "INACTIVE SOURCE: ilert ignores every alert Level sends it, so "
                       "nobody is paged. Written as it is (active: false); set active: true to "
                       "turn it on.")
            self.fail(entry.name, "source.inactive",
                      f"inactive source: ilert source {source.id} is not active, so it pages "
                      f"nobody; written as it is (active: false)",
                      "set active: true on this entry to turn it on, or delete the source")
        unmanaged = unmanaged_settings(source)
        if unmanaged:
            keys = ", ".join(unmanaged)
            entry.note("", f"UNMANAGED SETTINGS: ilert source {source.id} has settings this "
                       f"project does not manage: "
                       f"{keys}. The next up sends the whole alert source (PUT), which resets "
                       f"them to ilert's defaults. Note them down first, or leave this source "
                       f"out of the stack file and keep managing it in ilert's UI.")
            self.fail(entry.name, "source.unmanaged-settings",
                      f"unmanaged settings: ilert source {source.id} has {keys}, which the next "
                      f"up resets (whole-object PUT)",
                      "note them down and accept the reset, or remove this entry and keep "
                      "managing the source in ilert's UI")
            entry.source_changes.append(f"resets {keys} to ilert's defaults")

    def _webhook_findings(self, entry: Entry) -> None:
        webhook = entry.webhook
        if webhook is None:
            entry.starts_paging = True
            entry.note("eventTypes", "NO WEBHOOK: no Level webhook delivers to this source, so "
                       "it receives no Level alert. up creates one with the settings below (the "
                       "only object up creates).")
            self.fail(entry.name, "source.no-webhook",
                      f"no webhook: no Level webhook delivers to ilert source "
                      f"{entry.source.id}; up creates it",
                      "check the webhook settings written for it (deviceGroups, webhookEnabled)")
            return
        events = webhook.event_types
        if events is None:
            entry.note("eventTypes", f"Level webhook {webhook.id} sends every event type (also "
                       f"device and group events, which ilert ignores); up subscribes it to "
                       f"the two alert events only.")
            self.info(entry.name, "webhook.all-events",
                      f"Level webhook {webhook.id} sends all event types; up narrows it to "
                      f"{', '.join(ALERT_EVENT_TYPES)}")
            entry.webhook_changes.append("event types: all → alert_active, alert_resolved")
        else:
            missing = [event for event in ALERT_EVENT_TYPES if event not in events]
            if missing:
                self._one_way(entry, webhook, missing)
        if not webhook.enabled:
            entry.note("webhookEnabled", f"DISABLED WEBHOOK: Level webhook {webhook.id} delivers "
                       f"nothing, so nobody is paged. Written as it is; set webhookEnabled: "
                       f"true to turn it on.")
            self.fail(entry.name, "webhook.disabled",
                      f"disabled webhook: Level webhook {webhook.id} is disabled, so this "
                      f"source pages nobody; written as it is (webhookEnabled: false)",
                      "set webhookEnabled: true on this entry to turn it on")
        if webhook.group_ids == []:
            entry.note("webhookEnabled", f"Level webhook {webhook.id} is scoped to no group (its "
                       f"groups were deleted): it delivers nothing. The stack file cannot say "
                       f"that, so it is written disabled, which delivers nothing too; choose "
                       f"deviceGroups and set webhookEnabled: true to turn it on.")
            self.fail(entry.name, "webhook.scope-empty",
                      f"Level webhook {webhook.id} is scoped to no group (its groups were "
                      f"deleted) and delivers nothing; written disabled",
                      "add deviceGroups and set webhookEnabled: true")
            if webhook.enabled:
                entry.webhook_changes.append("enabled: true → false (it delivered nothing)")
        if webhook.has_secret:
            entry.secret_to_set = True

    def _one_way(self, entry: Entry, webhook: Webhook, missing: list[str]) -> None:
        events = webhook.event_types or []
        if ALERT_ACTIVE in missing and webhook.enabled:
            entry.starts_paging = True
        what = {
            ALERT_RESOLVED: "ilert alerts are opened but never resolved",
            ALERT_ACTIVE: "ilert alerts are never opened",
        }.get(missing[0], "") if len(missing) == 1 else "it delivers no alert to ilert"
        sent = ", ".join(events) or "none"
        entry.note("eventTypes", f"ONE-WAY SYNC: Level webhook {webhook.id} sends only {sent}: "
                   f"{what}. up adds {' and '.join(missing)}.")
        self.fail(entry.name, "webhook.one-event",
                  f"one-way sync: Level webhook {webhook.id} sends only {sent} ({what}); up "
                  f"adds {' and '.join(missing)}")
        entry.webhook_changes.append(f"event types: + {', '.join(missing)}")

    # ----------------------------------------------------------------- the routing

    def _integrations(self) -> list[Integration]:
        found = []
        for entry in self.entries:
            values = {k: v for k, v in entry.values.items() if k != "webhookSecret"}
            found.append(Integration.parse(values))
        return found

    def _routing(self) -> None:
        """Keep today's double paging (``sharesAlertsWith``), start none."""
        if not self.entries:
            return
        names = {entry.name for entry in self.entries}
        for entry in self.entries:  # a previous file's partners that are gone
            kept = [n for n in entry.values.get("sharesAlertsWith", []) if n in names]
            if kept:
                entry.values["sharesAlertsWith"] = kept
            else:
                entry.values.pop("sharesAlertsWith", None)
        new = [e for e in self.entries if e.starts_paging and e.values.get("webhookEnabled")]
        for entry in new:  # first as today: these page nobody yet
            entry.values["webhookEnabled"] = False
        for overlap in routing.overlaps(self._integrations()):
            first, second = self.entries[overlap.first], self.entries[overlap.second]
            shared = first.values.setdefault("sharesAlertsWith", [])
            if second.name not in shared:
                shared.append(second.name)
            first.values["sharesAlertsWith"] = shared
            _move_last(first.values, "adopt")
            first.note("sharesAlertsWith", f"PAGED TWICE TODAY: Level delivers some alerts both "
                       f"here and to {second.name!r} ({overlap.scope}, and {overlap.filters}), "
                       f"so each such alert pages two escalation policies. sharesAlertsWith "
                       f"keeps that as it is, so that up changes nothing. To page once, scope "
                       f"them apart (deviceGroups with different groups) or give them "
                       f"eventFilters that exclude each other, then remove this line.")
            self.fail(first.name, "routing.pages-twice",
                      f"double paging: alerts are paged twice today, here and by "
                      f"{second.name!r} ({overlap.scope}, and {overlap.filters}); written with "
                      f"sharesAlertsWith, which keeps that",
                      "scope them apart (deviceGroups) or give them eventFilters that exclude "
                      "each other, then remove sharesAlertsWith")
        for entry in new:
            entry.values["webhookEnabled"] = True
            clash = [o for o in routing.overlaps(self._integrations())
                     if self.entries[o.first] is entry or self.entries[o.second] is entry]
            if not clash:
                continue
            entry.values["webhookEnabled"] = False
            other = self.entries[clash[0].second if self.entries[clash[0].first] is entry
                                 else clash[0].first]
            entry.note("webhookEnabled", f"WRITTEN DISABLED: enabled, it would open an ilert "
                       f"alert for alerts {other.name!r} already pages for "
                       f"({clash[0].scope}, and {clash[0].filters}), and up must not start "
                       f"double paging. Give it deviceGroups or an eventFilter of its own (or "
                       f"sharesAlertsWith: [{other.name!r}]), then set webhookEnabled: true.")
            self.info(entry.name, "webhook.written-disabled",
                      f"its webhook is written disabled: enabled, it would page for alerts "
                      f"{other.name!r} already pages for",
                      "scope or filter it apart, then set webhookEnabled: true")

    def _unique_resource_names(self) -> None:
        seen: set[str] = set()
        for entry in self.entries:
            name = str(entry.values.get("resourceName") or slug(entry.name))
            if name in seen:
                name = f"{slug(entry.name)}-{entry.source.id}"
                entry.values = {"resourceName": name, **entry.values}
                _move_after(entry.values, "resourceName", "name")
                entry.eol["resourceName"] = "another entry's name makes the same resource name"
            seen.add(name)

    # ------------------------------------------------------------------ the summary

    def _say_what_up_changes(self, entry: Entry) -> None:
        source_id = entry.source.id
        if not entry.source_changes:
            entry.source_changes.append("no setting changes")
        entry.source_changes.insert(0, f"ilert source {source_id}: adopted with one PUT")
        if self.manual:
            return
        webhook = entry.webhook
        enabled = entry.values.get("webhookEnabled")
        if webhook is None:
            state = "enabled" if enabled else "disabled (see its comment)"
            entry.webhook_changes = [f"Level webhook: created (one POST), {state}"]
            return
        if webhook.enabled and not enabled and webhook.group_ids != []:
            entry.webhook_changes.append("enabled: true → false (see its comment)")
        if entry.secret_to_set:
            if _is_ciphertext(entry.values.get("webhookSecret")):
                entry.note("webhookSecret", "webhookSecret: kept from the previous stack file "
                           "(Level never returns a secret).")
                entry.webhook_changes.append("secret: set to the webhookSecret of the stack file")
            else:
                entry.note("adopt", f"Level webhook {webhook.id} signs its deliveries with a "
                           f"secret, which Level never returns. Set it before up, or up removes "
                           f"it: {self._secret_command(self.entries.index(entry))}")
                self.info(entry.name, "webhook.secret",
                          f"Level webhook {webhook.id} has a secret, which Level never returns",
                          f"before make up: {self._secret_command(self.entries.index(entry))}")
                entry.webhook_changes.append(
                    "secret: removed, unless you set webhookSecret first (see its comment)"
                )
        if not entry.webhook_changes:
            entry.webhook_changes.append("no setting changes")
        entry.webhook_changes.insert(0, f"Level webhook {webhook.id}: adopted with one PATCH")

    def _loose_webhooks(self) -> list[str]:
        """Comment lines (and findings) for webhooks that deliver to no Level.io source."""
        if self.manual:
            return []
        lines: list[str] = []
        level_urls = {source.integration_url for source in self.live.sources}
        for webhook in self.live.webhooks or ():
            if webhook.url in level_urls:
                continue
            target = self.live.types_by_url.get(webhook.url)
            if target is not None:
                source_id, name, kind = target
                text = (f"Level webhook {webhook.id} delivers to ilert source {source_id} "
                        f"{name!r}, which is of type {kind}, not Level.io: ilert cannot read "
                        f"Level's deliveries there. Not taken over.")
                self.fail(LEVEL_WEBHOOKS, "webhook.wrong-source-type", text,
                          "point it at a Level.io source, or delete it in Level")
            elif _ilert_like(webhook.url, self.live.ilert_base_url):
                text = (f"ORPHAN WEBHOOK: Level webhook {webhook.id} delivers to an ilert URL "
                        f"that belongs to no alert source (deleted?): every delivery fails. "
                        f"Not taken over; delete it in Level (Settings > Webhooks).")
                self.fail(LEVEL_WEBHOOKS, "webhook.orphan",
                          f"orphan webhook: Level webhook {webhook.id} delivers to an ilert URL "
                          f"of no alert source; every delivery fails",
                          "delete it in Level (Settings > Webhooks)")
            else:
                text = (f"Level webhook {webhook.id} delivers to {_host(webhook.url)}, not to "
                        f"ilert: not this project's, left alone.")
                self.info(LEVEL_WEBHOOKS, "webhook.elsewhere", text)
            lines.extend(wrap(text))
        return lines


def _keeper_rank(webhook: Webhook) -> tuple[bool, bool, str]:
    """Which of several webhooks to one URL to keep: enabled, both alert events, oldest."""
    events = webhook.event_types
    complete = events is None or set(ALERT_EVENT_TYPES) <= set(events)
    return (not webhook.enabled, not complete, webhook.created_at or "")


def _is_ciphertext(value: object) -> bool:
    return isinstance(value, Mapping) and set(value) == {"secure"}


def _move_last(values: dict[str, Any], key: str) -> None:
    values[key] = values.pop(key)


def _move_after(values: dict[str, Any], key: str, anchor: str) -> None:
    items = [(k, v) for k, v in values.items() if k != key]
    position = next(i for i, (k, _) in enumerate(items) if k == anchor) + 1
    items.insert(position, (key, values[key]))
    values.clear()
    values.update(items)


def _as_yaml_lines(entry: Mapping[str, Any]) -> list[str]:
    """An entry as flow-style YAML lines (for a commented-out entry)."""
    lines = []
    for index, (key, value) in enumerate(entry.items()):
        prefix = "- " if index == 0 else "  "
        lines.append(f"{prefix}{key}: {_flow(value)}")
    return lines


def _flow(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(item) for item in value) + "]"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    plain = re.fullmatch(r"[A-Za-z][\w .()/-]*", text) and not text.endswith(" ")
    return text if plain else json.dumps(text, ensure_ascii=False)


def _invalid(values: Mapping[str, Any]) -> str:
    """Why this one entry fails the project's settings validation ("" when it passes); its
    partners and ciphertext are left out (they are checked with the whole file)."""
    plain = {k: v for k, v in values.items()
             if not _is_ciphertext(v) and k != "sharesAlertsWith"}
    try:
        load_settings({INTEGRATIONS_KEY: [plain]}.get, lambda _key: None, environ={},
                      check_routing=False)
    except SettingsError as error:
        lines = str(error).replace(f"{INTEGRATIONS_KEY}[0].", "").splitlines()
        return " ".join(line.removeprefix("- ") for line in lines[1:] or lines)
    return ""


def build_plan(
    live: Live, stack: str, previous: Mapping[str, Mapping[str, Any]] | None = None
) -> Plan:
    """The stack file's integrations for the setup ``live`` describes (see the module doc).

    ``previous``: the entries of the stack file being replaced (``--force``), by name.
    """
    return _Builder(live, stack, previous or {}).build()
