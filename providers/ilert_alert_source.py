"""ilert alert source as a Pulumi dynamic resource: ``IlertAlertSource``.

The provider turns the first half of Level's manual "ilert integration" procedure into a
declarative resource: an alert source of type Level.io (``LEVELIO``) with its escalation
policy and grouping, whose generated webhook URL (``integration_url``) and key are secret
outputs. It follows terraform-provider-ilert's resource_alert_source: one POST on create
(``setupStatus: FINISHED``), whole-object PUT on update, 404 on read means gone, only the
integration type forces a replacement, teams compared as a set and only when declared.

Import is not supported by Pulumi dynamic resources: ``adopt=True`` takes over an existing
source of the same name and type instead (one PUT to the declared settings; its id, key and
URL stay). Without it, finding such a source fails the create: never a duplicate.

``event_filter`` is the source's ICL ``eventFilter`` (ilert drops an event it rejects),
validated at check (icl/condition.py: the error points at the column). ilert returns it
only with ``include=eventFilter`` and never in lists, so a read answered from the listing
takes it from state while ilert's ``updatedAt`` is the one recorded with it, and reads the
source once (``GET ?include=eventFilter``) when ``updatedAt`` moved: refresh stays one
request per 50 sources until something was changed by hand.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

import pulumi
from pulumi import dynamic
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)

import icl
from clients.endpoints import ILERT
from clients.http import NotFoundError, deadline
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
    AlertSourceRequest,
    EscalationPolicy,
    IlertClient,
)
from providers import inventory, journal, stack_state
from providers.engine_adapter import KnownFailure, detailed_diff
from providers.pickling import sdk_pickler_restored
from providers.provider_base import (
    ConfiguredProvider,
    create_once,
    declaring_stack,
    is_unknown,
    none_if_gone,
    parse_inputs,
    post_recorded,
    quote,
    validate,
)

POLICY_NAMES_SHOWN = 10
WINDOW = "alert_grouping_window"
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
# Inputs compared one to one with the outputs of the same name.
PLAIN_FIELDS = (
    "name",
    "integration_type",
    "alert_creation",
    "alert_grouping_window",
    "alert_priority_rule",
    "auto_resolution_timeout",
    "active",
    "event_filter",
)
SECRET_OUTPUTS = ["integration_key", "integration_url"]
JOURNAL_KIND = "ilert:alert-source"
STACK_STATE_KIND = "ilert:alert-sources"
# Outputs an update in place never changes (only a replacement makes a new source).
STABLE_OUTPUTS = ("integration_key", "integration_url", "integration_type")


def _one_of(value: str, allowed: tuple[str, ...], prop: str) -> str:
    if value not in allowed:
        raise ValueError(f"{prop} must be one of {', '.join(allowed)}; got {value!r}.")
    return value


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


def _declared_policy(value: object) -> int | str:
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


def _team_id(value: object) -> int:
    number, problem = _as_id(value)
    if problem:
        raise ValueError(f"{TEAMS_HINT}; {problem}.")
    return number


def _source_name(value: str) -> str:
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


# Field types shared with the stack settings (components/settings.py), so both say the same.
SourceName = Annotated[str, AfterValidator(_source_name)]
PolicyRef = Annotated[int | str, BeforeValidator(_declared_policy)]
TeamId = Annotated[int, BeforeValidator(_team_id)]


class AlertSourceArgs(BaseModel):
    """The inputs of an alert source, validated as ilert validates them (or stricter)."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    name: SourceName
    escalation_policy: PolicyRef
    integration_type: str = LEVEL_INTEGRATION_TYPE
    alert_creation: str = DEFAULT_ALERT_CREATION
    # Validated even when left out: the grouped modes require it.
    alert_grouping_window: str | None = Field(default=None, validate_default=True)
    alert_priority_rule: str = DEFAULT_ALERT_PRIORITY_RULE
    auto_resolution_timeout: str | None = None
    teams: list[TeamId] | None = None
    active: bool = True
    # ilert's eventFilter (ICL); None: every event opens an alert.
    event_filter: str | None = None
    # Take over an existing source of this name and type instead of creating one.
    adopt: bool = False

    @field_validator("event_filter")
    @classmethod
    def _valid_icl(cls, value: str | None) -> str | None:
        """Balanced, closed strings, known operators; the error points at the column."""
        if value is None:
            return None
        try:
            icl.check(value)
        except icl.IclSyntaxError as error:
            raise ValueError(f"event_filter is not a valid ICL condition: {error}") from None
        return value

    @field_validator("integration_type")
    @classmethod
    def _integration_type_format(cls, value: str) -> str:
        if not value.isalnum() or value.upper() != value:
            raise ValueError(
                f"integration_type must be an ilert integration type such as "
                f"{LEVEL_INTEGRATION_TYPE} (upper case, no spaces); got {value!r}."
            )
        return value

    @field_validator("alert_creation")
    @classmethod
    def _alert_creation(cls, value: str) -> str:
        return _one_of(value, ALERT_CREATION_MODES, "alert_creation")

    @field_validator("alert_grouping_window")
    @classmethod
    def _grouping_window(cls, value: str | None, info: ValidationInfo) -> str | None:
        """A window from ilert's list, required by the grouped modes and refused otherwise."""
        unknown = (info.context or {}).get("unknown", set())
        mode = info.data.get("alert_creation")
        if "alert_creation" in unknown or mode is None:  # unknown yet, or itself invalid
            return None if value is None else _one_of(value, ALERT_GROUPING_WINDOWS, WINDOW)
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
        return None if value is None else _one_of(value, ALERT_GROUPING_WINDOWS, WINDOW)

    @field_validator("alert_priority_rule")
    @classmethod
    def _priority_rule(cls, value: str) -> str:
        return _one_of(value, ALERT_PRIORITY_RULES, "alert_priority_rule")

    @field_validator("auto_resolution_timeout")
    @classmethod
    def _resolution_timeout(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return _one_of(value, AUTO_RESOLUTION_TIMEOUTS, "auto_resolution_timeout")

    @field_validator("teams")
    @classmethod
    def _teams_are_ids(cls, value: list[int] | None) -> list[int] | None:
        return None if value is None else sorted(set(value))

    def same_source(self, source: AlertSource) -> bool:
        """Whether ``source`` is the one this create would make (exact name and type)."""
        return source.name == self.name and source.integration_type == self.integration_type

    def request(self, policy_id: int, *, setup_status: str | None = None) -> AlertSourceRequest:
        """The ilert request body for these inputs and a resolved escalation policy id."""
        return AlertSourceRequest(
            name=self.name,
            integration_type=self.integration_type,
            escalation_policy_id=policy_id,
            alert_creation=self.alert_creation,
            alert_grouping_window=self.alert_grouping_window,
            alert_priority_rule=self.alert_priority_rule,
            auto_resolution_timeout=self.auto_resolution_timeout,
            active=self.active,
            teams=self.teams,
            setup_status=setup_status,
            event_filter=self.event_filter,
        )


class UnknownEscalationPolicyError(KnownFailure, ValueError):
    """The escalation policy named in the inputs does not exist in ilert."""


class AlertSourceExistsError(KnownFailure, ValueError):
    """An alert source this create would duplicate exists already (and ``adopt`` is off)."""


class IlertAlertSourceProvider(ConfiguredProvider):
    """CRUD of one ilert alert source, answered from one listing per process where it can.

    Costs (requests): create 1 POST (+ the listing, once per process); read 0 from the
    listing (+1 GET for an id it lacks); update 1 PUT; delete 1 DELETE. A policy given by
    name is looked up once per process.
    """

    def _client(self) -> tuple[IlertClient, _Lists]:
        endpoint = self.endpoint(ILERT)
        tuning = self.tuning("ilert")
        client = IlertClient(
            endpoint.base_url,
            endpoint.credential,
            rate_limit=tuning.rate_limit,
            operation_timeout=tuning.operation_timeout,
        )
        lists = _Lists(
            sources=inventory.shared(
                "ilert:alert-sources", client.base_url, endpoint.credential,
                client.list_alert_sources,
            ),
            policies=inventory.shared(
                "ilert:escalation-policies", client.base_url, endpoint.credential,
                client.list_escalation_policies,
            ),
            timeout=tuning.operation_timeout,
            state_scope=stack_state.scope_key(
                STACK_STATE_KIND, client.base_url, endpoint.credential
            ),
        )
        return client, lists

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> dynamic.CheckResult:
        """Validate inputs without touching the network; Unknowns (preview) pass."""
        inputs, failures = validate(AlertSourceArgs, news)
        return dynamic.CheckResult(inputs, failures + self.endpoint_failures(ILERT))

    def diff(
        self, _id: str, _olds: dict[str, Any], _news: dict[str, Any]
    ) -> dynamic.DiffResult:
        """Desired inputs against the outputs in state, field by field; no network."""
        changed = [f for f in PLAIN_FIELDS if _differs(_news.get(f), _olds.get(f))]
        if _policy_differs(_news.get("escalation_policy"), _olds):
            changed.append("escalation_policy")
        teams = _news.get("teams")
        if teams is not None and (
            is_unknown(teams) or set(teams) != set(_olds.get("teams") or [])
        ):
            changed.append("teams")
        # An update in place keeps the source's key and URL, so the webhook that uses the URL
        # has nothing to change; saying so keeps a preview from showing it as changing.
        return detailed_diff(
            _olds, _news, changed, replaces=["integration_type"], stables=STABLE_OUTPUTS
        )

    def create(self, props: dict[str, Any]) -> dynamic.CreateResult:
        """Adopt the existing source when asked, else refuse a duplicate, else one POST.

        A POST whose answer was lost is settled by listing again: if the source is there,
        the create succeeded (never a second source on the next ``up``).
        """
        args = _args(props)
        client, lists = self._client()
        provenance = self.provenance(
            JOURNAL_KIND, client.base_url, args.name, args.integration_type,
            deadline=lists.timeout,
        )

        if provenance.wait_for_earlier_create():  # a killed run's create may now be done
            lists.sources.reload()

        def same_and_not_ours(source: AlertSource) -> bool:
            # A source this stack's state holds (the one a replacement replaces, or the one
            # of a resource renamed in the stack file) is neither a duplicate to refuse nor
            # one to take over: the engine deletes it once this create is done.
            return args.same_source(source) and not stack_state.holds(
                lists.state_scope, source.id
            )

        def adopt_or_post() -> AlertSource:
            existing = _only_one(lists.sources.find(same_and_not_ours), args, provenance)
            policy_id = _policy_id(lists, args.escalation_policy)
            if existing is not None:
                taken = client.update_alert_source(existing.id, args.request(policy_id))
                stack_state.note_taken(lists.state_scope, taken.id)
                return taken
            return post_recorded(
                lambda: client.create_alert_source(
                    args.request(policy_id, setup_status="FINISHED")
                ),
                provenance,
            )

        source = create_once(
            adopt_or_post, lists.sources, same_and_not_ours, lists.timeout, provenance
        )
        lists.sources.put(source)
        return dynamic.CreateResult(str(source.id), _outputs(source, _Declared.of(args)))

    def read(self, id_: str, props: dict[str, Any]) -> dynamic.ReadResult:
        """From the listing (one GET for an id it lacks); gone (empty id) when ilert has no
        such source; returns inputs too so refresh shows drift."""
        client, lists = self._client()
        with deadline(lists.timeout):
            live = lists.sources.get(
                id_, lambda: none_if_gone(lambda: client.get_alert_source(int(id_)))
            )
        if live is None:
            return dynamic.ReadResult("", {})
        stack_state.note(lists.state_scope, live.id)
        with deadline(lists.timeout):
            live = _with_event_filter(client, live, props)
        declared = _Declared.recorded(props)
        outputs = _outputs(live, declared)
        inputs = {key: outputs[key] for key in (*PLAIN_FIELDS, "escalation_policy", "adopt")}
        if declared.teams:
            inputs["teams"] = outputs["teams"]
        return dynamic.ReadResult(id_, outputs, inputs)

    def update(
        self, _id: str, _olds: dict[str, Any], _news: dict[str, Any]
    ) -> dynamic.UpdateResult:
        """One whole-object PUT; teams are left out when never declared."""
        args = _args(_news)
        client, lists = self._client()
        with deadline(lists.timeout):
            policy_id = _policy_id(lists, args.escalation_policy)
            updated = client.update_alert_source(int(_id), args.request(policy_id))
        lists.sources.put(updated)
        return dynamic.UpdateResult(_outputs(updated, _Declared.of(args)))

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """One DELETE; an alert source already gone counts as deleted. A source that a create
        of this deployment took over has moved to that resource: it is left alone."""
        client, lists = self._client()
        if stack_state.was_taken(lists.state_scope, _id):
            return
        with contextlib.suppress(NotFoundError), deadline(lists.timeout):
            client.delete_alert_source(int(_id))
        lists.sources.remove(_id)
        self.record_delete(_id)


@dataclass(frozen=True)
class _Lists:
    """The process-wide listings one operation may answer from, and its deadline."""

    sources: inventory.Inventory[AlertSource]
    policies: inventory.Inventory[EscalationPolicy]
    timeout: float
    # stack_state's hash of this API, base URL and key (never the key itself)
    state_scope: str = field(repr=False)


def _only_one(
    found: list[AlertSource], args: AlertSourceArgs, provenance: journal.Provenance
) -> AlertSource | None:
    """The one source this create may take over, or None; refuses a duplicate or an ambiguity.

    It is taken over when ``adopt`` says so, or when this stack's journal proves that this
    stack's own earlier create made it (an ``up`` cut short before the state was written).
    """
    if not found:
        return None
    ids = ", ".join(str(source.id) for source in found)
    named = f"named {args.name!r} of type {args.integration_type}"
    what = f"alert source {named}"
    if len(found) > 1:
        raise AlertSourceExistsError(
            f"ilert has {len(found)} alert sources {named} (ids {ids}); adopting one would be "
            f"a guess. "
            f"Delete or rename the extra ones in ilert, or give this integration another name."
        )
    if args.adopt or provenance.claim(found[0]):
        return found[0]
    unanswered = provenance.unanswered()
    if unanswered is not None:
        made = found[0].created_at or "at an unknown time"
        raise AlertSourceExistsError(
            f"ilert already has an {what} (id {ids}, made {made}). This stack sent a "
            f"create of it at {unanswered.at} and never got the answer (the run was cut "
            f"short), but this source was not made while that create was under way, so it "
            f"is not taken back by itself. If it is yours, take it over with `adopt: true` "
            f"on this integration; otherwise delete it in ilert or give this integration "
            f"another name. Then run again."
        )
    raise AlertSourceExistsError(
        f"ilert already has an {what} (id {ids}); creating another would split your "
        f"alerts. Take it over with `adopt: true` on this integration (its URL stays, so "
        f"Level keeps delivering), or give this integration another name."
    )


def _args(props: Mapping[str, Any]) -> AlertSourceArgs:
    return parse_inputs(AlertSourceArgs, props)


@dataclass(frozen=True)
class _Declared:
    """How the user declared what ilert does not report: policy by id, teams at all, adopt.

    ``adopt`` is kept in the outputs so that ``read`` can return it among the inputs: a
    refresh then leaves the declared inputs as they were instead of showing it as removed.
    """

    policy_by_id: bool
    teams: bool
    adopt: bool = False

    @classmethod
    def of(cls, args: AlertSourceArgs) -> _Declared:
        return cls(isinstance(args.escalation_policy, int), args.teams is not None, args.adopt)

    @classmethod
    def recorded(cls, outputs: Mapping[str, Any]) -> _Declared:
        """From the outputs in state (read gets outputs, not inputs)."""
        policy = outputs.get("escalation_policy", outputs.get("escalation_policy_id"))
        return cls(
            isinstance(_policy_ref(policy), int),
            outputs.get("teams") is not None,
            bool(outputs.get("adopt", False)),
        )


def _policy_ref(value: object) -> int | str:
    """A policy as declared: an id (numbers arrive as floats from the engine) or a name."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    text = str(value).strip()
    return int(text) if text.isdigit() else text


def _differs(desired: object, recorded: object) -> bool:
    return is_unknown(desired) or desired != recorded


def _policy_differs(desired: object, olds: Mapping[str, Any]) -> bool:
    """An id is compared with the id in state, a name with the policy's name in state."""
    if is_unknown(desired):
        return True
    policy = _policy_ref(desired)
    if isinstance(policy, int):
        return policy != olds.get("escalation_policy_id")
    return policy != olds.get("escalation_policy_name")


def _policy_id(lists: _Lists, policy: int | str) -> int:
    """The id of a policy given by id or exact name (names listed once per process)."""
    if isinstance(policy, int):
        return policy
    found = lists.policies.find(lambda candidate: candidate.name == policy)
    if not found:  # created since the listing was taken?
        lists.policies.reload()
        found = lists.policies.find(lambda candidate: candidate.name == policy)
    if found:
        return int(found[0].id)
    raise UnknownEscalationPolicyError(
        unknown_policy_message("escalation_policy", policy, lists.policies.find(lambda _: True))
    )


def unknown_policy_message(
    setting: str, policy: str, policies: list[EscalationPolicy]
) -> str:
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


def _with_event_filter(
    client: IlertClient, live: AlertSource, recorded: Mapping[str, Any]
) -> AlertSource:
    """``live`` with ilert's ``eventFilter``: a listing lacks it, so it is taken from state
    while ilert's ``updatedAt`` has not moved since, else read once with the include."""
    if live.includes_read:
        return live
    if live.updated_at is not None and live.updated_at == recorded.get("updated_at"):
        return live.model_copy(update={"event_filter": recorded.get("event_filter")})
    return client.get_alert_source(live.id)


def _outputs(source: AlertSource, declared: _Declared) -> dict[str, Any]:
    """The resource's outputs: the managed fields as ilert now has them, plus what it made.

    ``escalation_policy`` keeps the form the user declared (id or name), so refresh
    compares like with like; ``teams`` is only reported when the user declared teams.
    """
    policy = source.escalation_policy
    return {
        "name": source.name,
        "escalation_policy": policy.id if declared.policy_by_id else (policy.name or policy.id),
        "escalation_policy_id": policy.id,
        "escalation_policy_name": policy.name,
        "integration_type": source.integration_type,
        "alert_creation": source.alert_creation or DEFAULT_ALERT_CREATION,
        "alert_grouping_window": source.alert_grouping_window,
        "alert_priority_rule": source.alert_priority_rule or DEFAULT_ALERT_PRIORITY_RULE,
        "auto_resolution_timeout": source.auto_resolution_timeout,
        "teams": sorted(t.id for t in source.teams) if declared.teams else None,
        "active": source.active,
        "status": source.status,
        "integration_key": source.integration_key,
        "integration_url": source.integration_url,
        "event_filter": source.event_filter,
        "updated_at": source.updated_at,
        "adopt": declared.adopt,
    }


class IlertAlertSource(dynamic.Resource, module="ilert", name="AlertSource"):
    """An ilert alert source, by default of type Level.io, whose webhook URL Level calls.

    Example::

        source = IlertAlertSource(
            "level-acme",
            name="Level - Acme",
            escalation_policy="On-call L1",      # or a numeric id
            alert_creation="ONE_ALERT_GROUPED_PER_WINDOW",
            alert_grouping_window="PT5M",
            event_filter="event.customDetails.severity in ['critical', 'emergency']",
        )
        pulumi.export("ilertUrl", source.integration_url)  # a secret output
    """

    name: pulumi.Output[str]
    escalation_policy: pulumi.Output[int | str]
    escalation_policy_id: pulumi.Output[int]
    escalation_policy_name: pulumi.Output[str]
    integration_type: pulumi.Output[str]
    alert_creation: pulumi.Output[str]
    alert_grouping_window: pulumi.Output[str | None]
    alert_priority_rule: pulumi.Output[str]
    auto_resolution_timeout: pulumi.Output[str | None]
    teams: pulumi.Output[list[int] | None]
    active: pulumi.Output[bool]
    event_filter: pulumi.Output[str | None]
    status: pulumi.Output[str]
    integration_key: pulumi.Output[str]
    integration_url: pulumi.Output[str]
    updated_at: pulumi.Output[str | None]

    def __init__(
        self,
        resource_name: str,
        *,
        name: pulumi.Input[str],
        escalation_policy: pulumi.Input[int | str],
        integration_type: pulumi.Input[str] = LEVEL_INTEGRATION_TYPE,
        alert_creation: pulumi.Input[str] | None = None,
        alert_grouping_window: pulumi.Input[str] | None = None,
        alert_priority_rule: pulumi.Input[str] | None = None,
        auto_resolution_timeout: pulumi.Input[str] | None = None,
        teams: pulumi.Input[list[int]] | None = None,
        active: pulumi.Input[bool] = True,
        event_filter: pulumi.Input[str] | None = None,
        adopt: pulumi.Input[bool] = False,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props: dict[str, Any] = {
            "name": name,
            "escalation_policy": escalation_policy,
            "integration_type": integration_type,
            "alert_creation": alert_creation,
            "alert_grouping_window": alert_grouping_window,
            "alert_priority_rule": alert_priority_rule,
            "auto_resolution_timeout": auto_resolution_timeout,
            "teams": teams,
            "active": active,
            "event_filter": event_filter,
            "adopt": adopt,
            # Outputs only: declared so that they exist as attributes of the resource.
            "escalation_policy_id": None,
            "escalation_policy_name": None,
            "status": None,
            "integration_key": None,
            "integration_url": None,
            "updated_at": None,
        }
        opts = pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(additional_secret_outputs=SECRET_OUTPUTS)
        )
        with sdk_pickler_restored():
            super().__init__(
                IlertAlertSourceProvider(declaring_stack()), resource_name, props, opts
            )
