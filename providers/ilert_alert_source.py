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

ilert returns include-only fields (the templates and filters) only with ``?include=`` and
never in lists, so a read answered from the listing takes them from state while ilert's
``updatedAt`` is the one recorded with them, and reads the source once with the include
when ``updatedAt`` moved: refresh stays one request per 50 sources until something was
changed by hand.

Settings a stack file leaves out are left alone: ``teams`` because ilert keeps teams a PUT
omits, every setting of issue 24 (support hours, templates, mappings, severity, score,
event-type filters, services) because an update sends back what ilert has (``put_back``):
a whole-object PUT resets what it omits. An update therefore reads the source with its
includes first (one GET) unless this process already holds it whole.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any, Literal, Protocol, Required, TypedDict, Unpack

import pulumi
from pulumi import dynamic
from pydantic import ValidationInfo
from typing_extensions import TypedDict as ValidatedDict

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
    PAGE_SIZE_MAX,
    SERVICES_PAGE_SIZE_MAX,
    TEXT_TEMPLATE_INCLUDE,
    AlertSource,
    EscalationPolicy,
    IlertClient,
)
from providers import itl
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
from providers.schema import (
    OMIT,
    Condition,
    IdList,
    In,
    LinkTemplates,
    Reference,
    ReferenceList,
    Schema,
    Spec,
    TemplateList,
    TextTemplate,
    ValueMapping,
)

POLICY = "escalation policy"
SUPPORT_HOURS = "support hours"
SERVICE = "service"
POLICY_NAMES_SHOWN = 10
NAMES_SHOWN = POLICY_NAMES_SHOWN
# ilert's limits (OpenAPI, terraform-provider-ilert 2.25): links and services per source.
LINK_TEMPLATES_MAX = 10
SERVICES_MAX = 15
SERVICES_TEMPLATE_MAX = 10
SEVERITIES = (1, 5)
SUPPORT_HOURS_RULES = ("HIGH_DURING_SUPPORT_HOURS", "LOW_DURING_SUPPORT_HOURS")
INTELLIGENT_GROUPING = "INTELLIGENT_GROUPING"
PRIORITIES = ("HIGH", "LOW")
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


def _unknown(info: ValidationInfo) -> set[str]:
    return set((info.context or {}).get("unknown", set()))


def _linked(value: object) -> bool:
    """Whether a support-hours reference links one (not unset, not "")."""
    return value is not None and value != ""


def support_hours_problem(inputs: Mapping[str, Any], *, stack_words: bool = False) -> str | None:
    """Why a ``*_DURING_SUPPORT_HOURS`` rule cannot do what it says with these inputs: they
    name no support hours (None when they do, or when the rule is another).

    Not a rule of the schema: a stack made before support hours were a setting may have such
    a rule while ilert links support hours by hand (left alone) or keeps the rule as it is.
    The preview refuses it only for an alert source ilert does not have yet, or one whose
    rule it changes while ilert links no support hours (``reference_problems``)."""
    rule = inputs.get("alert_priority_rule")
    if rule not in SUPPORT_HOURS_RULES or _linked(inputs.get("support_hours")):
        return None
    hours, rule_key = (
        ("supportHours", "alertPriorityRule") if stack_words
        else ("support_hours", "alert_priority_rule")
    )
    return (
        f"{hours} is required when {rule_key} is {rule}: ilert gives "
        f"{str(rule).split('_', 1)[0]} priority during them and the other one outside; set "
        f"{hours} to the id or exact name of support hours in ilert (ilert: Alert sources > "
        f"Support hours), or choose {rule_key} HIGH or LOW."
    )


def auto_raise_rule(value: bool | None, info: ValidationInfo) -> bool | None:
    """``auto_raise_alerts`` raises pending alerts when support hours begin or end."""
    unknown = _unknown(info)
    if value is not True or {"support_hours", "auto_raise_alerts"} & unknown:
        return value
    if not _linked(info.data.get("support_hours")):
        raise ValueError(
            "auto_raise_alerts needs support_hours: ilert raises pending alerts to HIGH when "
            "the support hours begin (or end), so name them with support_hours, or remove "
            "auto_raise_alerts."
        )
    return value


def score_rule(value: float | None, info: ValidationInfo) -> float | None:
    """``score_threshold`` is read only by INTELLIGENT_GROUPING."""
    unknown = _unknown(info)
    mode = info.data.get("alert_creation")
    if value is None or {"alert_creation", "score_threshold"} & unknown or mode is None:
        return value
    if mode != INTELLIGENT_GROUPING:
        raise ValueError(
            f"score_threshold only applies when alert_creation is {INTELLIGENT_GROUPING} "
            f"(ilert groups alerts whose similarity reaches it); remove it or change "
            f"alert_creation (now {mode})."
        )
    return value


def declared_ref(setting: str, what: str, *, none: bool = False) -> Any:
    """An ilert object given by id or exact name (``none``: "" unlinks it)."""
    hint = (
        f"{setting} must be the id (a whole number up to {EXACT_ID_MAX}) or the exact name of "
        f"{what} in ilert" + ('; "" links none' if none else "")
    )

    def parse(value: object) -> int | str:
        if none and isinstance(value, str) and not value.strip():
            return ""
        if isinstance(value, str) and not _INTEGER_TEXT.fullmatch(value.strip()):
            name = value.strip()
            if not name:
                raise ValueError(f"{hint}; it is blank.")
            if has_control_character(name):
                raise ValueError(f"{hint}; names have no line breaks or control characters.")
            return name
        if not isinstance(value, int | float | str):
            raise ValueError(f"{hint}; got {quote(value)}.")
        number, problem = _as_id(value)
        if problem:
            raise ValueError(f"{hint}; {problem}.")
        return number

    return parse


def _list(setting: str, value: object, limit: int, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError(f"{setting} must be a list of {what}; got {quote(value)}.")
    if len(value) > limit:
        raise ValueError(
            f"{setting} has {len(value)} {what}; ilert allows at most {limit}. Remove "
            f"{len(value) - limit}."
        )
    return value


def _template_problem(setting: str, value: object) -> str | None:
    if not isinstance(value, str):
        return f"{setting} must be a text template (a string); got {quote(value)}."
    try:
        itl.check(value)
    except itl.ItlSyntaxError as error:
        return f"{setting} is not a valid ilert template (ITL): {error}"
    return None


def itl_template(setting: str) -> Any:
    """A check that ``setting`` holds a valid ITL template ("" is none)."""

    def check(value: str) -> str:
        problem = _template_problem(setting, value)
        if problem:
            raise ValueError(problem)
        return value

    return check


def optional_icl(setting: str) -> Any:
    """Like ``icl_condition``, with "" meaning no condition."""
    checked = icl_condition(setting)
    return lambda value: value if value == "" else checked(value)


def parse_links(value: object) -> list[dict[str, str]]:
    """At most 10 links, each ``{text, href}``: a name the responder reads and an ITL URL."""
    setting = "link_templates"
    links = []
    for index, item in enumerate(_list(setting, value, LINK_TEMPLATES_MAX, "link templates")):
        where = f"{setting}[{index}]"
        if not isinstance(item, dict) or set(item) - {"text", "href"}:
            raise ValueError(
                f"{where} must be a mapping with text (the link's name) and href (its URL, "
                f"a template); got {quote(item)}."
            )
        text, href = item.get("text"), item.get("href")
        if not isinstance(text, str) or not text.strip() or has_control_character(text):
            raise ValueError(
                f"{where}.text must be the link's name, one line of text (ilert requires a "
                f"name on every link); got {quote(text)}."
            )
        if not isinstance(href, str) or not href.strip():
            raise ValueError(f"{where}.href must be the link's URL (a template); got "
                             f"{quote(href)}.")
        problem = _template_problem(f"{where}.href", href)
        if problem:
            raise ValueError(problem)
        links.append({"text": text, "href": href})
    return links


def value_mapping(setting: str, target: str, allowed: str, valid: Any) -> Any:
    """``{valueTemplate, mappings: [{value, <target>}]}``, or {} for none."""

    def parse(value: object) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise ValueError(
                f"{setting} must be a mapping with valueTemplate (a template) and mappings "
                f"(a list of {{value, {target}}}), or {{}} for none; got {quote(value)}."
            )
        if not value:
            return {}
        extra = sorted(set(value) - {"valueTemplate", "mappings"})
        if extra:
            raise ValueError(f"{setting} has no key {extra[0]!r}: it has valueTemplate and "
                             f"mappings.")
        template = value.get("valueTemplate")
        problem = _template_problem(f"{setting}.valueTemplate", template)
        if problem or not str(template).strip():
            raise ValueError(problem or f"{setting}.valueTemplate must not be blank.")
        mappings = value.get("mappings")
        if not isinstance(mappings, list) or not mappings:
            raise ValueError(f"{setting}.mappings must be a non-empty list of {{value, "
                             f"{target}}}; got {quote(mappings)}.")
        parsed, seen = [], set()
        for index, item in enumerate(mappings):
            where = f"{setting}.mappings[{index}]"
            if not isinstance(item, dict) or set(item) != {"value", target}:
                raise ValueError(f"{where} must be a mapping of value and {target}; got "
                                 f"{quote(item)}.")
            given = item["value"]
            if isinstance(given, bool) or not isinstance(given, str | int | float):
                raise ValueError(f"{where}.value must be the text the template gives; got "
                                 f"{quote(given)}.")
            text = str(int(given)) if isinstance(given, float) and given.is_integer() else (
                str(given)
            )
            if text in seen:
                raise ValueError(f"{where}.value {text!r} is mapped twice; keep one.")
            seen.add(text)
            mapped = valid(item[target])
            if mapped is None:
                raise ValueError(f"{where}.{target} must be {allowed}; got "
                                 f"{quote(item[target])}.")
            parsed.append({"value": text, target: mapped})
        return {"valueTemplate": template, "mappings": parsed}

    return parse


def _priority(value: object) -> str | None:
    return value if value in PRIORITIES else None


def _severity_value(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if float(value).is_integer() and SEVERITIES[0] <= value <= SEVERITIES[1]:
        return int(value)
    return None


def parse_severity(value: object) -> int:
    """The default severity: a whole number from 1 to 5 (ilert's SEV1-SEV5)."""
    found = _severity_value(value)
    if found is None:
        raise ValueError(f"severity must be a whole number from 1 to 5 (ilert's SEV1 to "
                         f"SEV5); got {quote(value)}.")
    return found


def parse_score(value: object) -> float:
    """INTELLIGENT_GROUPING's similarity threshold: a number from 0 to 1."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValueError(f"score_threshold must be a number from 0 to 1; got {quote(value)}.")
    return float(value)


def parse_services(value: object) -> list[int | str]:
    """At most 15 services, each by id or exact name."""
    items = _list("services", value, SERVICES_MAX, "services")
    parse = declared_ref("services[{}]", "a service")
    found: list[int | str] = []
    for index, item in enumerate(items):
        try:
            ref = parse(item)
        except ValueError as error:
            raise ValueError(str(error).replace("services[{}]", f"services[{index}]")) from None
        if ref not in found:
            found.append(ref)
    return found


def parse_services_template(value: object) -> list[str]:
    """At most 10 templates, each naming services (comma-separated) by name or alias."""
    setting = "services_template"
    texts = []
    for index, item in enumerate(_list(setting, value, SERVICES_TEMPLATE_MAX, "templates")):
        problem = _template_problem(f"{setting}[{index}]", item)
        if problem or not str(item).strip():
            raise ValueError(problem or f"{setting}[{index}] must not be blank.")
        texts.append(item)
    return texts


class LinkTemplate(ValidatedDict):
    """One link on each alert: its name and its URL (an ITL template)."""

    text: str
    href: str


class PriorityMapping(ValidatedDict):
    """What the value template gives -> the alert's priority."""

    value: str
    priority: Literal["HIGH", "LOW"]


class PriorityTemplate(ValidatedDict, total=False):
    """ilert's dynamic priority: the template's value, mapped (no match: the rule decides)."""

    valueTemplate: str
    mappings: list[PriorityMapping]


class SeverityMapping(ValidatedDict):
    """What the value template gives -> the alert's severity (1-5)."""

    value: str
    severity: int


class SeverityTemplate(ValidatedDict, total=False):
    """ilert's dynamic severity: the template's value, mapped to 1-5."""

    valueTemplate: str
    mappings: list[SeverityMapping]


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
    score_threshold: Annotated[In[float | None], Spec(
        "INTELLIGENT_GROUPING's similarity threshold, 0 to 1 (only with that alertCreation).",
        parse=parse_score, rule=score_rule, when_declared=True, put_back=True,
        example="0.8",
    )]
    alert_priority_rule: Annotated[In[str], Spec(
        "The priority of the alerts it opens; a *_DURING_SUPPORT_HOURS rule needs "
        "supportHours (a source that had the rule before keeps it as it is).",
        default=DEFAULT_ALERT_PRIORITY_RULE, choices=ALERT_PRIORITY_RULES,
    )]
    support_hours: Annotated[In[int | str | None], Spec(
        "The support hours a *_DURING_SUPPORT_HOURS rule goes by: their id or exact name "
        "(an unknown name fails the preview listing the existing ones); \"\" links none.",
        parse=declared_ref("support_hours", "support hours", none=True),
        codec=Reference(SUPPORT_HOURS), when_declared=True,
        put_back=True, example="Business hours",
    )]
    auto_raise_alerts: Annotated[In[bool | None], Spec(
        "Raise the pending alerts to HIGH when the support hours begin (HIGH_DURING_...) or "
        "end (LOW_DURING_...); needs supportHours.",
        rule=auto_raise_rule, when_declared=True, put_back=True,
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
    event_type_filter_create: Annotated[In[str | None], Spec(
        "An ICL condition an alert_active must meet to open (or add to) an alert; checked "
        "at preview like eventFilter; \"\" is none.",
        check=optional_icl("event_type_filter_create"), codec=Condition(), include_only=True,
        when_declared=True, put_back=True,
    )]
    event_type_filter_accept: Annotated[In[str | None], Spec(
        "An ICL condition an event must meet to accept an alert (Level sends no accept "
        "events); \"\" is none.",
        check=optional_icl("event_type_filter_accept"), codec=Condition(), include_only=True,
        when_declared=True, put_back=True,
    )]
    event_type_filter_resolve: Annotated[In[str | None], Spec(
        "An ICL condition an alert_resolved must meet to resolve the alert; \"\" is none.",
        check=optional_icl("event_type_filter_resolve"), codec=Condition(), include_only=True,
        when_declared=True, put_back=True,
    )]
    summary_template: Annotated[In[str | None], Spec(
        "The alert's summary, an ilert template (ITL, checked at preview) over Level's "
        "delivery (docs/configuration.md, Templates); \"\" is ilert's own summary.",
        check=itl_template("summary_template"), codec=TextTemplate(), include_only=True,
        when_declared=True, put_back=True,
        example="{{ data.name }} on {{ data.device_hostname }}",
    )]
    details_template: Annotated[In[str | None], Spec(
        "The alert's details, an ilert template; \"\" is ilert's own details.",
        check=itl_template("details_template"), codec=TextTemplate(), include_only=True,
        when_declared=True, put_back=True,
    )]
    routing_template: Annotated[In[str | None], Spec(
        "A template giving an escalation policy's routing key (dynamic routing); \"\" is none.",
        check=itl_template("routing_template"), codec=TextTemplate(), include_only=True,
        when_declared=True, put_back=True,
    )]
    alert_key_template: Annotated[In[str | None], Spec(
        "A template giving the alert key that events are grouped and resolved by (default: "
        "Level's alert id); \"\" is the default.",
        check=itl_template("alert_key_template"), codec=TextTemplate(), include_only=True,
        when_declared=True, put_back=True,
    )]
    link_templates: Annotated[In[list[LinkTemplate] | None], Spec(
        "Links on each alert, at most 10, in order: {text, href}, href a template; [] clears "
        "them.",
        parse=parse_links, codec=LinkTemplates(), include_only=True,
        when_declared=True, put_back=True,
        example='[{text: Open in Level, href: "https://app.level.io/devices/{{ '
                'data.device_id }}"}]',
    )]
    priority_template: Annotated[In[PriorityTemplate | None], Spec(
        "Dynamic priority: {valueTemplate, mappings: [{value, priority: HIGH|LOW}]}; a value "
        "no mapping has leaves the priority to alertPriorityRule; {} is none.",
        parse=value_mapping("priority_template", "priority", "HIGH or LOW", _priority),
        codec=ValueMapping("priority"), include_only=True, when_declared=True, put_back=True,
    )]
    severity_template: Annotated[In[SeverityTemplate | None], Spec(
        "Dynamic severity: {valueTemplate, mappings: [{value, severity: 1-5}]}; {} is none.",
        parse=value_mapping(
            "severity_template", "severity", "a whole number from 1 to 5", _severity_value
        ),
        codec=ValueMapping("severity"), include_only=True, when_declared=True, put_back=True,
    )]
    severity: Annotated[In[int | None], Spec(
        "The default severity, 1 (SEV1) to 5, of alerts no severity is found for.",
        parse=parse_severity, when_declared=True, put_back=True,
    )]
    services: Annotated[In[list[int | str] | None], Spec(
        "Services attached to every alert, at most 15: ids or exact names (an unknown name "
        "fails the preview listing the existing ones); [] clears them.",
        parse=parse_services, codec=ReferenceList(SERVICE), when_declared=True, put_back=True,
        example="[Client portal]",
    )]
    services_template: Annotated[In[list[str] | None], Spec(
        "Templates naming more services per alert (comma-separated names or aliases), at "
        "most 10; [] clears them.",
        parse=parse_services_template, codec=TemplateList(), include_only=True, when_declared=True,
        put_back=True,
    )]
    auto_create_services: Annotated[In[bool | None], Spec(
        "Create the services servicesTemplate names that ilert does not have.",
        listed=False, when_declared=True, put_back=True,
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


#: What ``?include=`` asks for on every single-source call: the include-only fields, and
#: templates as text (the form the stack file writes).
INCLUDE = (*SCHEMA.include_only, TEXT_TEMPLATE_INCLUDE)


class UnknownReferenceError(KnownFailure, ValueError):
    """An object named in the inputs (support hours, a service) does not exist in ilert."""


class UnknownEscalationPolicyError(UnknownReferenceError):
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


#: How each kind of object is named in a sentence: (one, the listing's heading, the fix).
_KINDS = {
    SUPPORT_HOURS: ("support hours", "Existing support hours", "support hours id"),
    SERVICE: ("service", "Existing services", "service id"),
}


def unknown_reference_message(setting: str, kind: str, ref: str, names: list[str]) -> str:
    """``setting`` names ``ref``, which no object of ``kind`` is called (``names`` are the
    existing ones): the sentence that lists them and says what to write instead."""
    one, heading, fix = _KINDS[kind]
    shown = ", ".join(repr(name) for name in names[:NAMES_SHOWN])
    hidden = len(names) - NAMES_SHOWN
    more = f" and {hidden} more" if hidden > 0 else ""
    return (
        f"{setting} {ref!r} matches no ilert {one} (names are exact and case-sensitive). "
        f"{heading}: {shown or 'none'}{more}. Use one of these names or a numeric {fix}."
    )


def ambiguous_reference_message(setting: str, kind: str, ref: str, ids: list[int]) -> str:
    one = _KINDS[kind][0]
    listed = ", ".join(str(object_id) for object_id in ids)
    return (
        f"{setting} {ref!r} matches {len(ids)} ilert {one} objects (ids {listed}); give the "
        f"id of the one you mean."
    )


class Listing(Protocol):
    """What a look-up by name needs of a listing (``providers.inventory.Inventory``)."""

    def find(self, match: Callable[[Any], bool]) -> list[Any]: ...

    def reload(self) -> None: ...


def find_named(listing: Listing, kind: str, ref: str, setting: str) -> int:
    """The id of the one object of ``listing`` called ``ref`` (listed again once when none
    is: it may be newer than the listing); raises ``UnknownReferenceError`` naming
    ``setting`` and the existing names, or when several share the name (escalation
    policies excepted: the first, as this project always took)."""
    found = listing.find(lambda candidate: candidate.name == ref)
    if not found:
        listing.reload()
        found = listing.find(lambda candidate: candidate.name == ref)
    if len(found) == 1 or (found and kind == POLICY):
        return int(found[0].id)
    if found:
        raise UnknownReferenceError(
            ambiguous_reference_message(setting, kind, ref, [int(f.id) for f in found])
        )
    everything = listing.find(lambda _: True)
    if kind == POLICY:
        raise UnknownEscalationPolicyError(unknown_policy_message(setting, ref, everything))
    raise UnknownReferenceError(
        unknown_reference_message(setting, kind, ref, [item.name for item in everything])
    )


class _Listed:
    """A listing taken once, for the preflight's look-ups (never listed again)."""

    def __init__(self, items: list[Any]) -> None:
        self.items = items

    def find(self, match: Callable[[Any], bool]) -> list[Any]:
        return [item for item in self.items if match(item)]

    def reload(self) -> None:
        """Just listed: nothing newer to find."""


def reference_problems(
    client: IlertClient, inputs: Sequence[Mapping[str, Any]], where: str
) -> tuple[list[str], int]:
    """What the preview must refuse of the support hours and services named in these
    alert sources' ``inputs`` (``<where>[i].supportHours``), and the requests it cost: each
    kind is listed once, and only when some input names one of its objects by name. The
    preflight (components/preflight.py) runs it beside its escalation-policy check."""
    problems, requests = _unlinked_rules(client, inputs, where)
    wanted: list[tuple[str, str, str]] = []  # (kind, name, setting)
    for index, source in enumerate(inputs):
        hours = source.get("support_hours")
        if isinstance(hours, str) and hours:
            wanted.append((SUPPORT_HOURS, hours, f"{where}[{index}].supportHours"))
        for item, ref in enumerate(source.get("services") or ()):
            if isinstance(ref, str):
                wanted.append((SERVICE, ref, f"{where}[{index}].services[{item}]"))
    listed: dict[str, _Listed] = {}
    for kind, name, setting in wanted:
        if kind not in listed:
            items = list(
                client.list_support_hours() if kind == SUPPORT_HOURS else client.list_services()
            )
            size = PAGE_SIZE_MAX if kind == SUPPORT_HOURS else SERVICES_PAGE_SIZE_MAX
            requests += len(items) // size + 1  # pages until a short one
            listed[kind] = _Listed(items)
        try:
            find_named(listed[kind], kind, name, setting)
        except UnknownReferenceError as error:
            problems.append(str(error))
    return problems, requests


def _unlinked_rules(
    client: IlertClient, inputs: Sequence[Mapping[str, Any]], where: str
) -> tuple[list[str], int]:
    """A ``*_DURING_SUPPORT_HOURS`` rule that names no support hours, refused where the
    alert source is new, or changes its rule while ilert links no support hours to it; an
    unchanged source is left as it is (a stack made before support hours were a setting).
    Lists the alert sources once, only when some input has such a rule."""
    unlinked = [
        (index, source, problem) for index, source in enumerate(inputs)
        if (problem := support_hours_problem(source, stack_words=True))
    ]
    if not unlinked:
        return [], 0
    sources = list(client.list_alert_sources())
    problems = []
    for index, source, problem in unlinked:
        found = next((
            live for live in sources
            if live.name == source.get("name")
            and live.integration_type == source.get("integration_type", LEVEL_INTEGRATION_TYPE)
        ), None)
        kept = found is not None and (
            found.alert_priority_rule == source.get("alert_priority_rule")
            or found.fields.get("supportHours")
        )
        if not kept:
            problems.append(f"{where}[{index}].supportHours: {problem}")
    return problems, len(sources) // PAGE_SIZE_MAX + 1


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
        self.listings: dict[str, Inventory[Any]] = {
            POLICY: Inventory(self.client.list_escalation_policies),
            SUPPORT_HOURS: Inventory(self.client.list_support_hours),
            SERVICE: Inventory(self.client.list_services),
        }
        self.timeout = tuning.operation_timeout

    @property
    def policies(self) -> Inventory[EscalationPolicy]:
        return self.listings[POLICY]

    def resolve(self, kind: str, ref: int | str, setting: str) -> int | str:
        """The id of an object given by id or exact name (names listed once per process)."""
        if isinstance(ref, int):
            return ref
        return find_named(self.listings[kind], kind, ref, setting)

    def name_of(self, kind: str, object_id: int | str) -> str | None:
        found = self.listings[kind].find(lambda candidate: str(candidate.id) == str(object_id))
        return str(found[0].name) if found else None

    def live(self, source: AlertSource, recorded: Mapping[str, Any]) -> dict[str, Any]:
        """The source's fields as ilert has them, those a listing lacks too: they are taken
        from state while ``updatedAt`` has not moved, else the source is read with them."""
        if source.includes_read:
            return source.fields
        if source.updated_at is not None and source.updated_at == recorded.get("updated_at"):
            fields = source.fields
            for key in SCHEMA.unlisted:
                api = str(SCHEMA.fields[key].api)
                value = SCHEMA.api_value(key, recorded.get(key), self)
                if value is OMIT:
                    fields.pop(api, None)
                else:
                    fields[api] = value
            return fields
        return self.whole(source.id)

    def whole(self, source_id: int) -> dict[str, Any]:
        """The source read with every include (and recorded in the listing)."""
        source = self.client.get_alert_source(source_id, include=INCLUDE)
        self.sources.put(source)
        return source.fields

    def body(
        self, args: Mapping[str, Any], source_id: int | None, olds: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        """The whole-object body of an update (``source_id``) or a create: the declared
        settings, and what ilert has of each setting the inputs leave alone, read first
        unless this process holds the source whole."""
        body = SCHEMA.body(args, self, olds)
        if source_id is None or not SCHEMA.left_alone(args):
            return body
        held = self.sources.held(source_id)
        live = held.fields if held is not None and held.includes_read else self.whole(source_id)
        return {**body, **SCHEMA.kept(args, live)}


class IlertAlertSourceProvider(ConfiguredProvider):
    """CRUD of one ilert alert source, answered from one listing per process where it can.

    Costs (requests): create 1 POST (+ the listing, once per process); read 0 from the
    listing (+1 GET for an id it lacks, or one changed by hand); update 1 PUT, after 1 GET
    of the whole source when the inputs leave settings alone and the process does not hold
    it whole; adopt the same; delete 1 DELETE. A policy, support hours or service given by
    name is looked up once per process (one listing per kind).
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
                {**SCHEMA.body(args, ilert), "setupStatus": "FINISHED"}, include=INCLUDE,
            ),
            take_over=lambda found: ilert.client.update_alert_source(
                found.id, ilert.body(args, found.id, None), include=INCLUDE
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
                    lambda: ilert.client.get_alert_source(int(id_), include=INCLUDE)
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
        """One whole-object PUT: the declared settings, ``teams`` left out when undeclared
        (ilert keeps them), every other undeclared setting sent back as ilert has it."""
        args = SCHEMA.parse(_news)
        ilert = self._ilert()
        with deadline(ilert.timeout):
            updated = ilert.client.update_alert_source(
                int(_id), ilert.body(args, int(_id), _olds), include=INCLUDE
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
