"""A catalogue of bad inputs: each is refused before any HTTP request, naming the key a user
edits and the fix, without quoting a secret, a traceback or pydantic's internal words.

Four classes, one table each:
- ``STACK_CONFIG``: ``Pulumi.<stack>.yaml`` as ``load_settings`` reads it (``__main__.py``),
  including keys in our namespaces that nothing reads;
- ``ALERT_SOURCE_INPUTS`` / ``WEBHOOK_INPUTS``: resource inputs as the engine hands them to
  the providers' ``check`` (snake_case, the property is what a program author edits);
- ``ENDPOINTS``: credentials and base URLs, from stack config or env, refused by the
  program's settings, by the provider's ``check`` after ``configure`` (so at preview), and by
  ``create`` should the engine skip ``check`` (destroy and refresh never call it).

Every row runs against a live sandbox with valid credentials and asserts that its request
log stays empty: had any value slipped through to an API call, the sandbox would see it. One
sandbox serves the module (its log is cleared before each row): none of these rows may
change its world, and starting ~200 sandboxes would only cost time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from pulumi.dynamic import Config, ConfigureRequest

from clients.endpoints import EndpointSettingError
from components.settings import INTEGRATIONS_KEY, SettingsError, load_settings
from providers.ilert_alert_source import IlertAlertSourceProvider
from providers.level_webhook import LevelWebhookProvider
from providers.provider_base import ConfiguredProvider
from sandbox import ILERT_TOKEN, LEVEL_API_KEY, Sandbox
from tests.providers.conftest import stack_config

BLOB = "not-inspected-by-the-provider"
URL = "https://api.ilert.com/api/v1/events/levelio/il1lev0123"
WEBHOOK_SECRET = "whsec-Do-Not-Print-7731"
MAX_ID = 2**63 - 1  # ilert's ids are int64
EXACT = 2**53 - 1  # the largest integer a float64 (Pulumi's wire format) carries exactly
OK = {"name": "Level - Acme", "escalationPolicy": 1}
WHERE0 = re.escape(f"{INTEGRATIONS_KEY}[0]")
WHERE = WHERE0 + r"\."
# What a user must never see: Python's traceback and pydantic's names for union branches and
# validators (``escalation_policy.int``, ``function-after[...]``, ``union_tag``).
INTERNALS = re.compile(
    r"Traceback|union_tag|function-(after|before|wrap|plain)|lax-or-strict|"
    r"\.(int|str|float|bool)\b|\[(int|str)\]|\bpydantic\b|errors\.pydantic\.dev"
)


@dataclass(frozen=True)
class Row:
    """One bad input and what its message must say (a regex); ``hidden`` must not appear."""

    id: str
    value: Any
    says: str
    prop: str = ""
    hidden: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


def entry(**keys: Any) -> list[dict[str, Any]]:
    """One integration: the valid minimum with ``keys`` changed (``None`` drops a key)."""
    merged = {**OK, **keys}
    return [{k: v for k, v in merged.items() if v is not _DROP}]


_DROP = object()


# -- stack config -------------------------------------------------------------------------------
# value: the ``level-ilert:integrations`` object; ``extra``: other config keys (full names).
def _entry_rows() -> Iterator[Row]:
    policy = "must be a positive policy id .*or an exact policy name from ilert"
    team = r"teams must be a list of ilert team ids, each a valid integer from 1 to"
    rows: list[tuple[str, dict[str, Any], str, str]] = [
        ("name-missing", {"name": _DROP}, "name", "is required"),
        ("name-empty", {"name": ""}, "name", "name must not be blank.*set a name"),
        ("name-spaces", {"name": "   "}, "name", "name must not be blank"),
        ("name-tab-only", {"name": "\t"}, "name", "name must not be blank"),
        ("name-newline", {"name": "Level\nAcme"}, "name", "one line of text: remove line breaks"),
        ("name-nul", {"name": "Level\x00Acme"}, "name", "remove line breaks, tabs and other"),
        ("name-too-long", {"name": "x" * 256}, "name", "at most 255 characters.*Shorten it"),
        ("name-number", {"name": 5}, "name", "must be a valid string.*got 5"),
        ("name-bool", {"name": True}, "name", "must be a valid string.*got true"),
        ("name-null", {"name": None}, "name", "must be a valid string.*got null"),
        ("name-list", {"name": ["Acme"]}, "name", "must be a valid string"),
        ("policy-missing", {"escalationPolicy": _DROP}, "escalationPolicy", "is required"),
        ("policy-true", {"escalationPolicy": True}, "escalationPolicy", f"{policy}; got true"),
        ("policy-false", {"escalationPolicy": False}, "escalationPolicy", f"{policy}; got false"),
        ("policy-zero", {"escalationPolicy": 0}, "escalationPolicy", f"{policy}; got 0"),
        ("policy-negative", {"escalationPolicy": -3}, "escalationPolicy", f"{policy}; got -3"),
        ("policy-fraction", {"escalationPolicy": 1.5}, "escalationPolicy", f"{policy}; got 1.5"),
        ("policy-int64-overflow", {"escalationPolicy": MAX_ID + 1}, "escalationPolicy", policy),
        (
            "policy-past-float-precision", {"escalationPolicy": EXACT + 2}, "escalationPolicy",
            f"{policy}; got {EXACT + 2}, larger than Pulumi passes to a provider exactly",
        ),
        ("policy-huge-text", {"escalationPolicy": "9" * 25}, "escalationPolicy", policy),
        ("policy-negative-text", {"escalationPolicy": "-5"}, "escalationPolicy", policy),
        ("policy-empty", {"escalationPolicy": ""}, "escalationPolicy", f"{policy}; it is blank"),
        ("policy-spaces", {"escalationPolicy": "  "}, "escalationPolicy", "it is blank"),
        ("policy-null", {"escalationPolicy": None}, "escalationPolicy", f"{policy}; got null"),
        ("policy-list", {"escalationPolicy": [1]}, "escalationPolicy", policy),
        ("policy-mapping", {"escalationPolicy": {"id": 1}}, "escalationPolicy", policy),
        ("policy-newline", {"escalationPolicy": "On-call\nL1"}, "escalationPolicy", "no line br"),
        ("teams-true", {"teams": [True]}, r"teams\[0\]", f"{team}.*; got true"),
        ("teams-false-second", {"teams": [1, False]}, r"teams\[1\]", f"{team}.*; got false"),
        ("teams-zero", {"teams": [0]}, r"teams\[0\]", f"{team}.*; got 0"),
        ("teams-negative", {"teams": [-1]}, r"teams\[0\]", team),
        ("teams-fraction", {"teams": [1.5]}, r"teams\[0\]", f"{team}.*; got 1.5"),
        ("teams-name", {"teams": ["ops"]}, r"teams\[0\]", f"{team}.*; got 'ops'"),
        ("teams-overflow", {"teams": [MAX_ID + 1]}, r"teams\[0\]", f"{team}.*not an ilert id"),
        ("teams-past-float-precision", {"teams": [EXACT + 1]}, r"teams\[0\]", "64-bit floats"),
        ("teams-null-item", {"teams": [None]}, r"teams\[0\]", f"{team}.*; got null"),
        ("teams-nested", {"teams": [[1]]}, r"teams\[0\]", team),
        ("teams-text", {"teams": "1,2"}, "teams", "must be a valid list"),
        ("teams-number", {"teams": 5}, "teams", "must be a valid list"),
        (
            "creation-lowercase", {"alertCreation": "one_alert_per_email"}, "alertCreation",
            "alertCreation must be one of ONE_ALERT_PER_EMAIL",
        ),
        ("creation-number", {"alertCreation": 5}, "alertCreation", "must be a valid string"),
        (
            "grouped-without-window", {"alertCreation": "ONE_ALERT_GROUPED_PER_WINDOW"},
            "alertGroupingWindow", "alertGroupingWindow is required when alertCreation is",
        ),
        (
            "window-without-grouping", {"alertGroupingWindow": "PT5M"},
            "alertGroupingWindow", "only applies when alertCreation is",
        ),
        (
            "window-unknown",
            {"alertCreation": "INTELLIGENT_GROUPING", "alertGroupingWindow": "5m"},
            "alertGroupingWindow", "alertGroupingWindow must be one of PT2M",
        ),
        ("priority-unknown", {"alertPriorityRule": "URGENT"}, "alertPriorityRule", "one of HIGH"),
        ("priority-bool", {"alertPriorityRule": True}, "alertPriorityRule", "valid string"),
        ("timeout-hours", {"autoResolutionTimeout": "1h"}, "autoResolutionTimeout", "one of PT10M"),
        ("timeout-odd", {"autoResolutionTimeout": "PT7M"}, "autoResolutionTimeout", "one of PT10M"),
        ("timeout-seconds", {"autoResolutionTimeout": 600}, "autoResolutionTimeout", "string"),
        ("active-word", {"active": "maybe"}, "active", "valid boolean: true or false"),
        ("active-number", {"active": 2}, "active", "valid boolean: true or false"),
        ("active-list", {"active": [True]}, "active", "valid boolean: true or false"),
        ("events-active-only", {"eventTypes": ["alert_active"]}, "eventTypes", "one-way sync"),
        ("events-resolved-only", {"eventTypes": ["alert_resolved"]}, "eventTypes", "one-way"),
        ("events-empty", {"eventTypes": []}, "eventTypes", "must include both alert_active"),
        ("events-text", {"eventTypes": "alert_active"}, "eventTypes", "must be a valid list"),
        (
            "events-unknown", {"eventTypes": ["alert_active", "alert_resolved", "alert.active"]},
            "eventTypes", "unknown event ids 'alert.active'; Level's ids are",
        ),
        (
            "events-twice", {"eventTypes": ["alert_active", "alert_resolved", "alert_active"]},
            "eventTypes", "lists an event id twice; list each once",
        ),
        ("events-numbers", {"eventTypes": [1, 2]}, r"eventTypes\[0\]", "valid string"),
        ("enabled-word", {"webhookEnabled": "sometimes"}, "webhookEnabled", "true or false"),
        ("enabled-null", {"webhookEnabled": None}, "webhookEnabled", "true or false"),
        ("resource-empty", {"resourceName": ""}, "resourceName", "resourceName must not be blank"),
        ("resource-spaces", {"resourceName": "  "}, "resourceName", "must not be blank"),
        ("resource-urn-delimiter", {"resourceName": "acme::prod"}, "resourceName", "'::'"),
        ("resource-padded", {"resourceName": " acme"}, "resourceName", "start or end with spaces"),
        ("resource-newline", {"resourceName": "ac\nme"}, "resourceName", "line breaks, tabs"),
        ("resource-too-long", {"resourceName": "a" * 256}, "resourceName", "at most 255"),
        ("resource-number", {"resourceName": 5}, "resourceName", "must be a valid string"),
    ]
    for row_id, keys, key, says in rows:
        yield Row(row_id, entry(**keys), f"{WHERE}{key}(?![A-Za-z]).*{says}")


def _secret_rows() -> Iterator[Row]:
    """A bad webhookSecret is reported without its value."""
    key = f"{WHERE}webhookSecret: "
    yield Row("secret-empty", entry(webhookSecret=""), f"{key}webhookSecret must not be blank")
    yield Row("secret-spaces", entry(webhookSecret="   "), f"{key}.*leave it out")
    yield Row(
        "secret-number", entry(webhookSecret=424242), f"{key}must be a valid string",
        hidden=("424242",),
    )
    yield Row(
        "secret-list", entry(webhookSecret=[WEBHOOK_SECRET]), f"{key}must be a valid string",
        hidden=(WEBHOOK_SECRET,),
    )


def _key_rows() -> Iterator[Row]:
    """Keys of an integration spelled another way: the message names the key meant."""
    cases = [
        ("escalation_policy", "escalationPolicy"),
        ("alert_creation", "alertCreation"),
        ("alert_grouping_window", "alertGroupingWindow"),
        ("EscalationPolicy", "escalationPolicy"),
        ("escalationpolicy", "escalationPolicy"),
        ("escalation-policy", "escalationPolicy"),
        ("escalationPolcy", "escalationPolicy"),
        ("alertGroupingWindows", "alertGroupingWindow"),
        ("team", "teams"),
        ("event_types", "eventTypes"),
        ("webhookEnable", "webhookEnabled"),
        ("resource_name", "resourceName"),
        ("autoResolveTimeout", "autoResolutionTimeout"),
    ]
    for wrong, right in cases:
        keys: dict[str, Any] = {wrong: 1}
        if right == "escalationPolicy":
            keys["escalationPolicy"] = _DROP
        yield Row(
            f"key-{wrong}", entry(**keys),
            f"{WHERE}{wrong}: {wrong} is not a known key; did you mean {right}\\? Rename it",
        )
    yield Row(
        "key-webhook_secret", entry(webhook_secret=WEBHOOK_SECRET),
        f"{WHERE}webhook_secret: .*did you mean webhookSecret\\?", hidden=(WEBHOOK_SECRET,),
    )
    yield Row("key-unrelated", entry(colour="red"), f"{WHERE}colour: .*remove it. Known keys:")
    yield Row(
        "key-provider-only", entry(integrationType="LEVELIO"),
        f"{WHERE}integrationType: integrationType is not a known key",
    )


def _shape_rows() -> Iterator[Row]:
    example = "escalationPolicy: Default"
    yield Row("integrations-missing", _DROP, f"{INTEGRATIONS_KEY} is not set.*{example}")
    yield Row("integrations-empty", [], f"{INTEGRATIONS_KEY} must be a non-empty list.*{example}")
    yield Row("integrations-text", "Level - Acme", f"{INTEGRATIONS_KEY} must be a non-empty list")
    yield Row("integrations-mapping", OK, f"{INTEGRATIONS_KEY} must be a non-empty list")
    yield Row("integration-number", [5], f"{WHERE0} must be a mapping with at least name")
    yield Row("integration-text", ["Acme"], f"{WHERE0} must be a mapping")
    yield Row(
        "duplicate-name",
        [{**OK, "resourceName": "a"}, {**OK, "resourceName": "b"}],
        rf"{re.escape(INTEGRATIONS_KEY)}\[0\] and \[1\] have the same name 'Level - Acme'",
    )
    yield Row(
        "duplicate-resource-name",
        [OK, {"name": "level acme", "escalationPolicy": 2}],
        "have the same resourceName .*'level-acme'; set resourceName on one of them",
    )
    yield Row(
        "management-auto", [OK], "level:webhookManagement must be 'api' .* or 'manual'",
        extra={"level:webhookManagement": "auto"},
    )
    yield Row(
        "management-capitalised", [OK], "level:webhookManagement must be 'api'.*got 'Manual'",
        extra={"level:webhookManagement": "Manual"},
    )


def _namespace_rows() -> Iterator[Row]:
    """Keys in our namespaces that nothing reads (silently ignored before)."""
    meant = [
        ("ilert:apitoken", "ilert:apiToken"),
        ("ilert:api_token", "ilert:apiToken"),
        ("ilert:baseurl", "ilert:baseUrl"),
        ("ilert:base-url", "ilert:baseUrl"),
        ("level:apikey", "level:apiKey"),
        ("level:api_key", "level:apiKey"),
        ("level:baseURL", "level:baseUrl"),
        ("level:webhook_management", "level:webhookManagement"),
        ("level:webhookManagment", "level:webhookManagement"),
        ("level-ilert:integration", "level-ilert:integrations"),
        ("level-ilert:Integrations", "level-ilert:integrations"),
        ("level:integrations", "level-ilert:integrations"),
        ("ilert:integrations", "level-ilert:integrations"),
    ]
    for wrong, right in meant:
        yield Row(
            f"namespace-{wrong}", [OK],
            f"{re.escape(wrong)} is not a setting of this project and would be ignored; "
            f"did you mean {re.escape(right)}\\? Rename it \\(`pulumi config rm {wrong}`",
            extra={wrong: "x"},
        )
    for wrong in ("ilert:region", "level:debug", "level-ilert:colour"):
        yield Row(
            f"namespace-{wrong}", [OK],
            f"{re.escape(wrong)} is not a setting of this project.*remove it.*known keys: "
            "ilert:apiToken",
            extra={wrong: "x"},
        )


STACK_CONFIG = [
    *_entry_rows(), *_secret_rows(), *_key_rows(), *_shape_rows(), *_namespace_rows()
]


# -- resource inputs (the providers' check) -----------------------------------------------------
SOURCE_OK = {"name": "Level - Acme", "escalation_policy": 1.0}  # numbers arrive as floats
POLICY = "escalation_policy must be a positive policy id"
TEAM = "teams must be a list of ilert team ids"


def source(prop: str, value: Any, says: str, row_id: str, **more: Any) -> Row:
    return Row(f"source-{row_id}", {**SOURCE_OK, prop: value, **more}, says, prop=prop)


ALERT_SOURCE_INPUTS = [
    source("name", "", "name must not be blank", "name-empty"),
    source("name", " \t ", "name must not be blank", "name-blank"),
    source("name", "a\nb", "one line of text", "name-newline"),
    source("name", "n" * 300, "at most 255 characters .*it has 300", "name-too-long"),
    source("name", 7.0, r"name: must be a valid string .*got 7\.0", "name-number"),
    source("name", None, "name: must be a valid string .*got null", "name-null"),
    source("escalation_policy", True, f"{POLICY}.*; got true", "policy-true"),
    source("escalation_policy", False, f"{POLICY}.*; got false", "policy-false"),
    source("escalation_policy", 0.0, f"{POLICY}.*; got 0, which is not an ilert id", "policy-zero"),
    source("escalation_policy", -1.0, f"{POLICY}.*; got -1, which is not", "policy-negative"),
    source("escalation_policy", 2.5, f"{POLICY}.*; got 2.5", "policy-fraction"),
    source("escalation_policy", 2.0**64, POLICY, "policy-overflow"),
    source("escalation_policy", float("nan"), POLICY, "policy-nan"),
    source("escalation_policy", "", f"{POLICY}.*it is blank", "policy-empty"),
    source("escalation_policy", [1.0], POLICY, "policy-list"),
    source("escalation_policy", None, f"{POLICY}.*got null", "policy-null"),
    source("teams", [True], rf"teams\[0\]: {TEAM}.*got true", "teams-true"),
    source("teams", [1.0, 0.0], rf"teams\[1\]: {TEAM}.*got 0, which is not", "teams-zero"),
    source("teams", [1.5], rf"teams\[0\]: {TEAM}.*got 1.5", "teams-fraction"),
    source("teams", [2.0**63], rf"teams\[0\]: {TEAM}", "teams-overflow"),
    source("teams", ["ops"], rf"teams\[0\]: {TEAM}.*got 'ops'", "teams-name"),
    source("teams", "1", "teams: must be a valid list", "teams-text"),
    source("teams", "12", "teams: must be a valid list", "teams-digits"),
    source("teams", 5.0, "teams: must be a valid list", "teams-number"),
    source("alert_creation", "GROUPED", "alert_creation must be one of", "creation-unknown"),
    source("alert_priority_rule", "URGENT", "must be one of HIGH, LOW", "priority-unknown"),
    source("auto_resolution_timeout", "PT7M", "must be one of PT10M", "timeout-odd"),
    source("integration_type", "level io", "such as LEVELIO", "type-spaces"),
    source("integration_type", "", "such as LEVELIO", "type-empty"),
    source("active", "maybe", "active: must be a valid boolean", "active-word"),
    source(
        "alert_grouping_window", "PT5M", "only applies when alert_creation is",
        "window-ungrouped",
    ),
    source(
        "alert_grouping_window", None, "alert_grouping_window is required when",
        "window-missing", alert_creation="INTELLIGENT_GROUPING",
    ),
    Row(
        "source-camel-case", {**SOURCE_OK, "escalationPolicy": 1.0},
        "escalationPolicy is not a known property; did you mean escalation_policy",
        "escalationPolicy",
    ),
    Row(
        "source-misspelled", {**SOURCE_OK, "team": [1.0]},
        "team is not a known property; did you mean teams", "team",
    ),
    Row("source-unrelated", {**SOURCE_OK, "colour": "red"}, "colour .*remove it", "colour"),
]

WEBHOOK_OK = {"url": URL}


def hook(prop: str, value: Any, says: str, row_id: str, hidden: tuple[str, ...] = ()) -> Row:
    return Row(f"webhook-{row_id}", {**WEBHOOK_OK, prop: value}, says, prop, hidden)


WEBHOOK_INPUTS = [
    hook("url", "", "url must be an absolute https:// URL", "url-empty"),
    hook("url", "api.ilert.com/api/v1/events/levelio/k1", "absolute https://", "url-relative"),
    hook("url", "ftp://api.ilert.com/k1", "absolute https://", "url-ftp"),
    hook("url", "http://api.ilert.com/k1", "must use https://", "url-plain-http"),
    hook(
        "url", "https://api.ilert.com/api/v1/events/level io/k1", "must not contain spaces",
        "url-space", hidden=("level io",),
    ),
    hook(
        "url", "https://api.ilert.com/api/v1/events/k\n1", "must not contain spaces or control",
        "url-newline",
    ),
    hook(
        "url", "https://bob:hunter2@api.ilert.com/k1", "must not contain a user name or password",
        "url-userinfo", hidden=("hunter2", "bob"),
    ),
    hook("url", "https://api.ilert.com:port/k1", "port that is not a number", "url-port"),
    hook("url", 5.0, "url: must be a valid string", "url-number", hidden=("5.0",)),
    hook("event_types", ["alert_active"], "one-way sync", "events-one"),
    hook("event_types", [], "must include both alert_active", "events-empty"),
    hook("event_types", "alert_active", "event_types: must be a valid list", "events-text"),
    hook("event_types", ["alert_active", "alert_resolved", "x"], "unknown event ids", "ev-x"),
    hook("event_types", ["alert_active", "alert_active"], "twice", "events-twice"),
    hook("event_types", [1.0], r"event_types\[0\]: must be a valid string", "events-number"),
    hook("enabled", "sometimes", "enabled: must be a valid boolean", "enabled-word"),
    hook("enabled", 2.0, "enabled: must be a valid boolean", "enabled-number"),
    hook("secret", "", "secret must not be blank", "secret-empty"),
    hook("secret", "  ", "secret must not be blank; leave it out", "secret-spaces"),
    hook("secret", 424242.0, "secret: must be a valid string", "secret-number", ("424242",)),
    hook("secret", [WEBHOOK_SECRET], "secret: must be a valid string", "secret-list",
         (WEBHOOK_SECRET,)),
    Row(
        "webhook-camel-case", {**WEBHOOK_OK, "eventTypes": ["alert_active"]},
        "eventTypes is not a known property; did you mean event_types", "eventTypes",
    ),
    Row(
        "webhook-misspelled", {**WEBHOOK_OK, "secrets": WEBHOOK_SECRET},
        "secrets is not a known property; did you mean secret", "secrets", (WEBHOOK_SECRET,),
    ),
]


# -- endpoints and credentials (settings, configure + check, create) ----------------------------
# value: (config or env name, bad value); says: the problem after the source's name.
def _endpoint_rows() -> Iterator[Row]:
    control = "contains a control character"
    latin1 = "contains a character outside Latin-1"
    bad_tokens = [
        ("newline", "ilert:apiToken", "tok\nen", f"{control} \\(a line break\\).*set --secret"),
        ("tab", "ilert:apiToken", "tok\ten", f"{control} \\(a tab\\)"),
        ("nul", "ilert:apiToken", "tok\x00en", f"{control} \\(NUL\\)"),
        ("cr", "ilert:apiToken", "tok\ren", f"{control} \\(a carriage return\\)"),
        ("del", "ilert:apiToken", "tok\x7fen", f"{control} \\(U\\+007F\\)"),
        ("c1", "ilert:apiToken", "tok\x85en", f"{control} \\(U\\+0085\\)"),
        ("quote", "ilert:apiToken", "tok\u2019en", f"{latin1}.*Copy it again, it is an ilert API"),
        ("emoji", "ilert:apiToken", "tok\U0001f511en", latin1),
        ("newline", "ILERT_API_TOKEN", "tok\nen", f"{control}.*`export ILERT_API_TOKEN=<value>`"),
        ("dash", "ILERT_API_TOKEN", "tok\u2014en", latin1),
        ("tab", "level:apiKey", "key\tpart", f"{control}.*read & write Level API key"),
        ("dash", "level:apiKey", "key\u00a0\u2013part", latin1),
        ("newline", "LEVEL_API_KEY", "key\npart", f"{control}.*`export LEVEL_API_KEY=<value>`"),
        ("cyrillic", "LEVEL_API_KEY", "k\u0435y", latin1),  # a Cyrillic "e", like a Latin one
    ]
    for label, source_name, bad, says in bad_tokens:
        yield Row(
            f"credential-{source_name}-{label}",
            (source_name, bad), f"{re.escape(source_name)} .*{says}", hidden=(bad,),
        )
    userinfo = "must not contain a user name or password"
    scheme_host = "must be scheme and host only"
    bad_urls = [
        ("ilert:baseUrl", "https://bob:hunter2@api.ilert.com", userinfo, ("hunter2", "bob")),
        ("ilert:baseUrl", "https://bob@api.ilert.com", userinfo, ("bob",)),
        ("ilert:baseUrl", "https://api.ilert.com/api", f"{scheme_host}.*remove the path", ()),
        ("ilert:baseUrl", "https://api.ilert.com?tenant=42", "remove the query", ("42",)),
        ("ilert:baseUrl", "https://api.ilert.com#section-7", "or fragment", ("section-7",)),
        ("ilert:baseUrl", "https://api .ilert.com", "contains spaces or control characters", ()),
        ("ilert:baseUrl", "api.ilert.com", "must be an https URL of scheme and host only", ()),
        ("ilert:baseUrl", "ftp://api.ilert.com", "must be an https URL", ()),
        ("ilert:baseUrl", "http://api.ilert.com", "must use https://", ()),
        ("ilert:baseUrl", "https://api.ilert.com:https", "its port is not a number", ()),
        ("ILERT_BASE_URL", "https://u:pw-9931@api.ilert.com", userinfo, ("pw-9931",)),
        ("level:baseUrl", "https://api.level.io/v2", "remove the path", ()),
        ("level:baseUrl", "https://key:sk-55@api.level.io", userinfo, ("sk-55",)),
        ("LEVEL_BASE_URL", "https://api.level.io/?x=1", "remove the path|remove the query", ()),
    ]
    for source_name, bad, says, hidden in bad_urls:
        yield Row(
            f"base-url-{source_name}-{re.sub(r'[^a-z0-9]+', '-', bad[8:])[:24]}",
            (source_name, bad), f"{re.escape(source_name)} .*{says}.*Leave it unset for https://",
            hidden=(*hidden, bad) if "@" in bad else hidden,
        )


ENDPOINTS = list(_endpoint_rows())
ALL_ROWS = [*STACK_CONFIG, *ALERT_SOURCE_INPUTS, *WEBHOOK_INPUTS, *ENDPOINTS]

def params(rows: list[Row]) -> list[Any]:
    """The rows as test cases, each named by its id."""
    return [pytest.param(row, id=row.id) for row in rows]


# -- the checks every row gets ------------------------------------------------------------------
@pytest.fixture(scope="module")
def module_sandbox() -> Iterator[Sandbox]:
    with Sandbox() as started:
        yield started


@pytest.fixture
def sandbox(module_sandbox: Sandbox) -> Sandbox:
    """The module's sandbox with an empty request log (overrides the per-test one)."""
    module_sandbox.requests.clear()
    return module_sandbox


def configured(provider: ConfiguredProvider, config: dict[str, Any]) -> ConfiguredProvider:
    provider.configure(ConfigureRequest(Config(config, "level-ilert")))
    return provider


@pytest.fixture
def alert_sources(sandbox: Sandbox) -> ConfiguredProvider:
    return configured(IlertAlertSourceProvider(), stack_config(sandbox))


@pytest.fixture
def webhooks(sandbox: Sandbox) -> ConfiguredProvider:
    return configured(LevelWebhookProvider(), stack_config(sandbox))


def assert_well_said(text: str, row: Row, sandbox: Sandbox) -> None:
    """The message matches the row, quotes no secret and no internals; no request was sent."""
    assert re.search(row.says, text, re.DOTALL), f"{row.id}: {text}"
    for secret in (ILERT_TOKEN, LEVEL_API_KEY, *row.hidden):
        assert secret not in text, f"{row.id} quotes a secret: {text}"
    assert not INTERNALS.search(text), f"{row.id} shows internals: {text}"
    assert list(sandbox.requests) == [], f"{row.id} reached an API: {list(sandbox.requests)}"


def sandbox_config(sandbox: Sandbox) -> dict[str, Any]:
    """Valid credentials and base URLs: only the row's own value is wrong."""
    return dict(stack_config(sandbox))


@pytest.mark.parametrize("row", params(STACK_CONFIG))
def test_stack_config_is_refused_naming_the_key(row: Row, sandbox: Sandbox) -> None:
    config: dict[str, Any] = {**sandbox_config(sandbox), **row.extra}
    if row.value is not _DROP:
        config[INTEGRATIONS_KEY] = row.value

    with pytest.raises(SettingsError, match="(?s)" + row.says) as caught:
        load_settings(config.get, config.get, config_keys=config, environ={})

    assert_well_said(str(caught.value), row, sandbox)


@pytest.mark.parametrize("row", params(ALERT_SOURCE_INPUTS))
def test_alert_source_inputs_are_refused_by_check(
    row: Row, alert_sources: ConfiguredProvider, sandbox: Sandbox
) -> None:
    failures = alert_sources.check({}, {"__provider": BLOB, **row.value}).failures

    found = {f.property: f.reason for f in failures}
    assert row.prop in found, f"{row.id}: {found}"
    assert_well_said(found[row.prop], row, sandbox)


@pytest.mark.parametrize("row", params(WEBHOOK_INPUTS))
def test_webhook_inputs_are_refused_by_check(
    row: Row, webhooks: ConfiguredProvider, sandbox: Sandbox
) -> None:
    failures = webhooks.check({}, {"__provider": BLOB, **row.value}).failures

    found = {f.property: f.reason for f in failures}
    assert row.prop in found, f"{row.id}: {found}"
    assert_well_said(found[row.prop], row, sandbox)


CONFIG_KEY_OF_ENV = {
    "ILERT_API_TOKEN": "ilert:apiToken",
    "ILERT_BASE_URL": "ilert:baseUrl",
    "LEVEL_API_KEY": "level:apiKey",
    "LEVEL_BASE_URL": "level:baseUrl",
}


def _provider_for(source_name: str) -> tuple[ConfiguredProvider, dict[str, Any]]:
    """The provider that uses this setting, and inputs its check accepts."""
    if source_name.lower().startswith("ilert"):
        return IlertAlertSourceProvider(), {"name": "Level - Acme", "escalation_policy": 1}
    return LevelWebhookProvider(), {"url": URL}


@pytest.mark.parametrize("row", params(ENDPOINTS))
def test_bad_credentials_and_base_urls_are_refused_at_preview(
    row: Row, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    source_name, bad = row.value
    config = sandbox_config(sandbox)
    for name in CONFIG_KEY_OF_ENV:
        monkeypatch.delenv(name, raising=False)
    if ":" in source_name:
        config[source_name] = bad
    else:  # an env var is used only when the config key is unset
        config.pop(CONFIG_KEY_OF_ENV[source_name])
        monkeypatch.setenv(source_name, bad)

    # 1. The program's settings (pulumi preview runs the program first).
    with pytest.raises(SettingsError, match="(?s)" + row.says) as caught:
        load_settings({INTEGRATIONS_KEY: [OK]}.get, config.get, config_keys=config)
    assert_well_said(str(caught.value), row, sandbox)

    # 2. The provider as the engine drives it: configure never raises, check refuses.
    provider, inputs = _provider_for(source_name)
    configured(provider, config)
    failures = provider.check({}, {"__provider": BLOB, **inputs}).failures
    assert [f.property for f in failures] == [""], failures
    assert_well_said(failures[0].reason, row, sandbox)
    assert bad not in repr(provider)

    # 3. create, should the engine ever skip check: the same message, still no request.
    with pytest.raises(EndpointSettingError, match="(?s)" + row.says) as refused:
        provider.create(provider.check({}, inputs).inputs)
    assert_well_said(str(refused.value), row, sandbox)


def test_the_catalogue_has_over_100_distinct_bad_inputs() -> None:
    ids = [row.id for row in ALL_ROWS]
    assert len(set(ids)) == len(ids), [i for i in ids if ids.count(i) > 1]
    assert len(ids) >= 100, len(ids)
