"""ilert alert source as a Pulumi dynamic resource: ``IlertAlertSource``.

The first half of Level's manual "ilert integration" procedure: an alert source of type
Level.io (``LEVELIO``) with its escalation policy and grouping, whose generated webhook URL
(``integration_url``) and key are secret outputs. Its fields are declared once, in
``AlertSourceInputs`` below; create, read, update, diff, adopt, discover and the
configuration reference derive from it (providers/schema.py). As terraform-provider-ilert
does: one POST on create (``setupStatus: FINISHED``), a whole-object PUT on update, 404 on
read means gone, only the integration type forces a replacement.

Import is not supported by Pulumi dynamic resources: ``adopt=True`` takes over an existing
source of the same name and type instead (one PUT to the declared settings; its id, key and
URL stay). Without it, finding such a source fails the create naming it: never a duplicate.

ilert returns include-only fields (``eventFilter``) only with ``?include=`` and never in
lists, so a read answered from the listing takes them from state while ilert's
``updatedAt`` is the one recorded with them, and reads the source once with the include
when ``updatedAt`` moved: refresh stays one request per 50 sources until something was
changed by hand.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Annotated, Any, Required, TypedDict, Unpack

import pulumi
from pulumi import dynamic
from pydantic import ValidationInfo

import icl
from clients.endpoints import ILERT
from clients.failures import KnownFailure
from clients.http import deadline
from clients.ilert import (
    ALERT_CREATION_MODES,
    ALERT_GROUPING_WINDOWS,
    ALERT_PRIORITY_RULES,
    AUTO_RESOLUTION_TIMEOUTS,
    DEFAULT_ALERT_CREATION,
    DEFAULT_ALERT_PRIORITY_RULE,
    GROUPED_ALERT_CREATION_MODES,
    LEVEL_INTEGRATION_TYPE,
    AlertSource,
    EscalationPolicy,
    IlertClient,
)
from providers.engine_adapter import detailed_diff
from providers.inventory import Inventory
from providers.messages import quote
from providers.pickling import sdk_pickler_restored
from providers.provider_base import (
    ConfiguredProvider,
    Identity,
    ObjectExistsError,
    create_or_adopt,
    delete_unless_taken,
    none_if_gone,
)
from providers.schema import IdList, In, Reference, Schema, Spec

POLICY = "escalation policy"
POLICY_NAMES_SHOWN = 10
# ilert's ids are int64 (reference/ilert-openapi.yml: `type: integer, format: int64`), >= 1.
# Pulumi carries numbers to a provider as 64-bit floats, exact only up to 2**53 - 1: a larger
# id would arrive as a neighbouring number, so that is the largest id we accept.
ILERT_ID_MAX = 2**63 - 1
EXACT_ID_MAX = 2**53 - 1
POLICY_HINT = (
    f"escalation_policy must be a positive policy id (a whole number up to {EXACT_ID_MAX}) "
    f"or an exact policy name from ilert"
)
TEAMS_HINT = (
    f"teams must be a list of ilert team ids, each a valid integer from 1 to {EXACT_ID_MAX}"
)
NAME_MAX_CHARS = 255
_INTEGER_TEXT = re.compile(r"[+-]?\d+")


def has_control_character(text: str) -> bool:
    """True if ``text`` holds a line break, tab, NUL or another control character."""
    return any(unicodedata.category(char) == "Cc" for char in text)


def _as_id(value: object) -> tuple[int, str]:
    """(the id, "") or (0, why it is not one: "got true", "got 1.5", ...)."""
    number: object = value
    if isinstance(value, str) and _INTEGER_TEXT.fullmatch(value.strip()):
        number = int(value.strip())
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    if isinstance(number, bool) or not isinstance(number, int):
        return 0, f"got {quote(value)}"
    if number < 1 or number > ILERT_ID_MAX:
        return 0, f"got {number}, which is not an ilert id (ids are positive 64-bit integers)"
    if number > EXACT_ID_MAX:
        return 0, (
            f"got {number}, larger than Pulumi passes to a provider exactly (numbers travel "
            f"as 64-bit floats), so another id would arrive"
        )
    return number, ""


def declared_policy(value: object) -> int | str:
    """An escalation policy as declared: an ilert id, or a policy name (stripped)."""
    if isinstance(value, str) and not _INTEGER_TEXT.fullmatch(value.strip()):
        name = value.strip()
        if not name:
            raise ValueError(f"{POLICY_HINT}; it is blank.")
        if has_control_character(name):
            raise ValueError(f"{POLICY_HINT}; names have no line breaks or control characters.")
        return name
    if not isinstance(value, int | float | str):
        raise ValueError(f"{POLICY_HINT}; got {quote(value)}.")
    number, problem = _as_id(value)
    if problem:
        raise ValueError(f"{POLICY_HINT}; {problem}.")
    return number


def team_id(value: object) -> int:
    """One ilert team id (a whole number that travels through Pulumi exactly)."""
    number, problem = _as_id(value)
    if problem:
        raise ValueError(f"{TEAMS_HINT}; {problem}.")
    return number


def source_name(value: str) -> str:
    """The alert source's name: not blank, one line, at most ilert's 255 characters."""
    if not value.strip():
        raise ValueError(
            "name must not be blank (at least 1 character other than spaces): it is the "
            "alert source's name in ilert; set a name such as 'Level - Acme'."
        )
    if len(value) > NAME_MAX_CHARS:
        raise ValueError(
            f"name must be at most {NAME_MAX_CHARS} characters (ilert's limit); it has "
            f"{len(value)}. Shorten it."
        )
    if has_control_character(value):
        raise ValueError(
            "name must be one line of text: remove line breaks, tabs and other control "
            "characters."
        )
    return value


def integration_type(value: str) -> str:
    """An ilert integration type as ilert spells them (upper case, no spaces)."""
    if not value.isalnum() or value.upper() != value:
        raise ValueError(
            f"integration_type must be an ilert integration type such as "
            f"{LEVEL_INTEGRATION_TYPE} (upper case, no spaces); got {value!r}."
        )
    return value


def icl_condition(setting: str) -> Any:
    """A check that ``setting`` holds a valid ICL condition (the error points at the column)."""

    def check(value: str) -> str:
        try:
            icl.check(value)
        except icl.IclSyntaxError as error:
            raise ValueError(f"{setting} is not a valid ICL condition: {error}") from None
        return value

    return check


def grouping_window(value: str | None, info: ValidationInfo) -> str | None:
    """A window is required by the grouped creation modes and refused by the others."""
    unknown = (info.context or {}).get("unknown", set())
    mode = info.data.get("alert_creation")
    if "alert_creation" in unknown or mode is None:  # unknown yet, or itself invalid
        return value
    if mode in GROUPED_ALERT_CREATION_MODES and value is None:
        raise ValueError(
            f"alert_grouping_window is required when alert_creation is {mode}; set one "
            f"of {', '.join(ALERT_GROUPING_WINDOWS)}."
        )
    if mode not in GROUPED_ALERT_CREATION_MODES and value is not None:
        raise ValueError(
            f"alert_grouping_window only applies when alert_creation is "
            f"{' or '.join(GROUPED_ALERT_CREATION_MODES)}; remove it or change "
            f"alert_creation (now {mode})."
        )
    return value


class AlertSourceInputs(TypedDict, total=False):
    """The inputs of an ilert alert source: each field declared once (providers/schema.py).

    ilert's names (reference/ilert-api.md 2.3) are the camelCase of each key.
    """

    name: Required[Annotated[In[str], Spec(
        "The alert source's name in ilert: one line, 1-255 characters.",
        check=source_name, example="Level - Acme",
    )]]
    escalation_policy: Required[Annotated[In[int | str], Spec(
        "The escalation policy: its numeric id, or its exact (case-sensitive) name; an unknown "
        "name fails the preview listing the existing ones.",
        parse=declared_policy, codec=Reference(POLICY), example="Default",
    )]]
    integration_type: Annotated[In[str], Spec(
        "ilert's integration type (a new source means a new URL).",
        default=LEVEL_INTEGRATION_TYPE, check=integration_type, replaces=True, stack_key=None,
    )]
    alert_creation: Annotated[In[str], Spec(
        "How ilert turns events into alerts.",
        default=DEFAULT_ALERT_CREATION, choices=ALERT_CREATION_MODES,
    )]
    alert_grouping_window: Annotated[In[str | None], Spec(
        "The grouping window: required by ONE_ALERT_GROUPED_PER_WINDOW and "
        "INTELLIGENT_GROUPING, refused otherwise.",
        choices=ALERT_GROUPING_WINDOWS, rule=grouping_window,
    )]
    alert_priority_rule: Annotated[In[str], Spec(
        "The priority of the alerts it opens.",
        default=DEFAULT_ALERT_PRIORITY_RULE, choices=ALERT_PRIORITY_RULES,
    )]
    auto_resolution_timeout: Annotated[In[str | None], Spec(
        "Resolve an alert by itself after this long without an event (none: never).",
        choices=AUTO_RESOLUTION_TIMEOUTS,
    )]
    teams: Annotated[In[list[int] | None], Spec(
        "ilert team ids; left out, the teams assigned in ilert are left alone; [] clears them.",
        item=team_id, check=lambda ids: sorted(set(ids)), codec=IdList(), when_declared=True,
    )]
    active: Annotated[In[bool], Spec(
        "false deactivates the source: ilert then ignores Level's deliveries.", default=True,
    )]
    event_filter: Annotated[In[str | None], Spec(
        "ilert's event filter (ICL): an alert_active it rejects opens nothing; checked at "
        "preview, the error pointing at the column. None: every event opens an alert.",
        check=icl_condition("event_filter"), include_only=True,
        example="event.customDetails.severity != 'emergency'",
    )]
    adopt: Annotated[In[bool], Spec(
        "Take over the existing source of this name and type (and the webhook to its URL) "
        "instead of creating one.",
        default=False, api=None, compared=False,
    )]


SCHEMA = Schema(
    AlertSourceInputs,
    what="IlertAlertSource",
    outputs=("status", "integration_key", "integration_url", "updated_at"),
    secret_outputs=("integration_key", "integration_url"),
)
# Outputs an update in place never changes (only a replacement makes a new source).
STABLE_OUTPUTS = ("integration_key", "integration_url", "integration_type")


class AlertSourceExistsError(ObjectExistsError):
    """An alert source this create would duplicate exists already (and ``adopt`` is off)."""


class UnknownEscalationPolicyError(KnownFailure, ValueError):
    """The escalation policy named in the inputs does not exist in ilert."""


def unknown_policy_message(setting: str, policy: str, policies: list[EscalationPolicy]) -> str:
    """``setting`` names policy ``policy``, which is none of ``policies``: the sentence that
    lists the existing names (the first few) and says what to write instead."""
    names = ", ".join(repr(p.name) for p in policies[:POLICY_NAMES_SHOWN])
    hidden = len(policies) - POLICY_NAMES_SHOWN
    more = f" and {hidden} more" if hidden > 0 else ""
    return (
        f"{setting} {policy!r} matches no ilert escalation policy (names are exact and "
        f"case-sensitive). Existing policies: {names or 'none'}{more}. Use one of these names "
        f"or a numeric policy id."
    )


class _Ilert:
    """One provider process's ilert: the client and the listings its operations share."""

    def __init__(self, provider: IlertAlertSourceProvider) -> None:
        endpoint = provider.endpoint(ILERT)
        tuning = provider.tuning("ilert")
        self.client = IlertClient(
            endpoint.base_url,
            endpoint.credential,
            rate_limit=tuning.rate_limit,
            operation_timeout=tuning.operation_timeout,
        )
        self.sources: Inventory[AlertSource] = Inventory(self.client.list_alert_sources)
        self.policies: Inventory[EscalationPolicy] = Inventory(
            self.client.list_escalation_policies
        )
        self.timeout = tuning.operation_timeout

    def resolve(self, kind: str, ref: int | str, setting: str) -> int | str:
        """The id of a policy given by id or exact name (names listed once per process)."""
        if isinstance(ref, int):
            return ref
        found = self.policies.find(lambda candidate: candidate.name == ref)
        if not found:  # created since the listing was taken?
            self.policies.reload()
            found = self.policies.find(lambda candidate: candidate.name == ref)
        if found:
            return int(found[0].id)
        raise UnknownEscalationPolicyError(
            unknown_policy_message(setting, ref, self.policies.find(lambda _: True))
        )

    def name_of(self, kind: str, object_id: int | str) -> str | None:
        found = self.policies.find(lambda candidate: str(candidate.id) == str(object_id))
        return found[0].name if found else None

    def live(self, source: AlertSource, recorded: Mapping[str, Any]) -> dict[str, Any]:
        """The source's fields as ilert has them, include-only ones too: a listing lacks
        them, so they are taken from state while ``updatedAt`` has not moved, else read."""
        if source.includes_read:
            return source.fields
        if source.updated_at is not None and source.updated_at == recorded.get("updated_at"):
            fields = source.fields
            for key, each in SCHEMA.fields.items():
                if each.spec.include_only:
                    fields[str(each.api)] = recorded.get(key)
            return fields
        return self.client.get_alert_source(source.id, include=SCHEMA.include_only).fields


class IlertAlertSourceProvider(ConfiguredProvider):
    """CRUD of one ilert alert source, answered from one listing per process where it can.

    Costs (requests): create 1 POST (+ the listing, once per process); read 0 from the
    listing (+1 GET for an id it lacks); update 1 PUT; delete 1 DELETE. A policy given by
    name is looked up once per process.
    """

    def _ilert(self) -> _Ilert:
        return self.shared(lambda: _Ilert(self))

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> dynamic.CheckResult:
        """Validate inputs without touching the network; Unknowns (preview) pass."""
        inputs, failures = SCHEMA.validate(news)
        return dynamic.CheckResult(inputs, failures + self.endpoint_failures(ILERT))

    def diff(
        self, _id: str, _olds: dict[str, Any], _news: dict[str, Any]
    ) -> dynamic.DiffResult:
        """Desired inputs against the outputs in state, field by field; no network.

        An update in place keeps the source's key and URL, so the webhook that uses the URL
        has nothing to change; saying so keeps a preview from showing it as changing.
        """
        return detailed_diff(
            _olds, _news, SCHEMA.changed(_olds, _news),
            replaces=SCHEMA.replaces, stables=STABLE_OUTPUTS,
        )

    def create(self, props: dict[str, Any]) -> dynamic.CreateResult:
        """Adopt the existing source when asked, else refuse a duplicate, else one POST."""
        args = SCHEMA.parse(props)
        ilert = self._ilert()
        named = f"named {args['name']!r} of type {args['integration_type']}"
        identity = Identity(
            api="ilert",
            one=f"an alert source {named}",
            many=f"alert sources {named}",
            matches=lambda source: (
                source.name == args["name"]
                and source.integration_type == args["integration_type"]
            ),
            too_many=(
                "adopting one would be a guess. Delete or rename the extra ones in ilert, or "
                "give this integration another name."
            ),
            exists=(
                "creating another would split your alerts. Take it over with `adopt: true` on "
                "this integration (its URL stays, so Level keeps delivering), or give this "
                "integration another name."
            ),
            error=AlertSourceExistsError,
        )
        source = create_or_adopt(
            identity,
            ilert.sources,
            adopt=args["adopt"],
            timeout=ilert.timeout,
            post=lambda: ilert.client.create_alert_source(
                {**SCHEMA.body(args, ilert), "setupStatus": "FINISHED"},
                include=SCHEMA.include_only,
            ),
            take_over=lambda found: ilert.client.update_alert_source(
                found.id, SCHEMA.body(args, ilert), include=SCHEMA.include_only
            ),
            base_url=ilert.client.base_url,
        )
        ilert.sources.put(source)
        return dynamic.CreateResult(str(source.id), self._outputs(source.fields, args))

    def read(self, id_: str, props: dict[str, Any]) -> dynamic.ReadResult:
        """From the listing (one GET for an id it lacks); gone (empty id) when ilert has no
        such source; returns inputs too so refresh shows drift."""
        ilert = self._ilert()
        with deadline(ilert.timeout):
            source = ilert.sources.get(
                id_,
                lambda: none_if_gone(
                    lambda: ilert.client.get_alert_source(int(id_), include=SCHEMA.include_only)
                ),
            )
            if source is None:
                return dynamic.ReadResult("", {})
            live = ilert.live(source, props)
        outputs = self._outputs(live, props)
        return dynamic.ReadResult(id_, outputs, SCHEMA.read_inputs(outputs))

    def update(
        self, _id: str, _olds: dict[str, Any], _news: dict[str, Any]
    ) -> dynamic.UpdateResult:
        """One whole-object PUT; fields managed only when declared are left out."""
        args = SCHEMA.parse(_news)
        ilert = self._ilert()
        with deadline(ilert.timeout):
            updated = ilert.client.update_alert_source(
                int(_id), SCHEMA.body(args, ilert, _olds), include=SCHEMA.include_only
            )
        ilert.sources.put(updated)
        return dynamic.UpdateResult(self._outputs(updated.fields, args))

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """One DELETE; a source already gone counts as deleted, and one that a create of this
        run took over (a renamed resource with ``adopt``) is left alone."""
        ilert = self._ilert()
        delete_unless_taken(
            ilert.client.base_url,
            _id,
            delete=lambda: ilert.client.delete_alert_source(int(_id)),
            timeout=ilert.timeout,
            what=f"ilert alert source {_props.get('name')!r} (id {_id})",
        )
        ilert.sources.remove(_id)

    def _outputs(self, live: Mapping[str, Any], declared: Mapping[str, Any]) -> dict[str, Any]:
        """The outputs: each field as ilert has it (in its declared form) and what it made."""
        outputs = SCHEMA.live_outputs(live, declared, self._ilert())
        outputs.update(
            status=live.get("status"),
            integration_key=live.get("integrationKey"),
            integration_url=live.get("integrationUrl"),
            updated_at=live.get("updatedAt"),
        )
        return outputs


class IlertAlertSource(dynamic.Resource, module="ilert", name="AlertSource"):
    """An ilert alert source, by default of type Level.io, whose webhook URL Level calls.

    Its inputs are ``AlertSourceInputs`` (docs/configuration.md lists them). Example::

        source = IlertAlertSource(
            "level-acme",
            name="Level - Acme",
            escalation_policy="On-call L1",      # or a numeric id, or another resource's Output
            alert_creation="ONE_ALERT_GROUPED_PER_WINDOW",
            alert_grouping_window="PT5M",
            event_filter="event.customDetails.severity in ['critical', 'emergency']",
        )
        pulumi.export("ilertUrl", source.integration_url)  # a secret output
    """

    name: pulumi.Output[str]
    escalation_policy_id: pulumi.Output[int]
    escalation_policy_name: pulumi.Output[str]
    active: pulumi.Output[bool]
    status: pulumi.Output[str]
    integration_key: pulumi.Output[str]
    integration_url: pulumi.Output[str]
    updated_at: pulumi.Output[str | None]

    def __init__(
        self,
        resource_name: str,
        opts: pulumi.ResourceOptions | None = None,
        **inputs: Unpack[AlertSourceInputs],
    ) -> None:
        opts = pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(additional_secret_outputs=SCHEMA.secrets)
        )
        with sdk_pickler_restored():
            super().__init__(
                IlertAlertSourceProvider(), resource_name, SCHEMA.declared_props(inputs), opts
            )
