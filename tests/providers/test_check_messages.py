"""What `pulumi preview` prints for each bad input, word for word.

test_bad_inputs.py sweeps hundreds of bad values for the gist of each message; this table
pins whole sentences: the property, what is wrong, the offending value (quoted, shortened
past 60 characters, never for a secret) and the fix, for both providers, including the
edges of each rule (255 characters, the largest id Pulumi passes exactly).
"""

from __future__ import annotations

from typing import Any

import pytest

from providers.ilert_alert_source import IlertAlertSourceProvider
from providers.level_webhook import LevelWebhookProvider

POLICY = (
    "escalation_policy must be a positive policy id (a whole number up to 9007199254740991) or "
    "an exact policy name from ilert; "
)
TEAMS = "teams must be a list of ilert team ids, each a valid integer from 1 to 9007199254740991; "
NOT_AN_ID = "which is not an ilert id (ids are positive 64-bit integers)."
TOO_LARGE = (
    "larger than Pulumi passes to a provider exactly (numbers travel as 64-bit floats), so "
    "another id would arrive."
)
BLANK_NAME = (
    "name must not be blank (at least 1 character other than spaces): it is the alert "
    "source's name in ilert; set a name such as 'Level - Acme'."
)
OK = {"name": "Level - Acme", "escalation_policy": 1}
URL = "https://api.ilert.com/api/v1/events/levelio/il1lev0123456789abcdef"


def failures(provider: Any, inputs: dict[str, Any]) -> list[tuple[str, str]]:
    result = provider.check({}, {"__provider": "blob", **inputs})
    return [(failure.property, failure.reason) for failure in result.failures]


@pytest.mark.parametrize(
    ("inputs", "expected"),
    [
        ({"escalation_policy": 1}, [("name", "name is required.")]),
        ({**OK, "name": "   "}, [("name", BLANK_NAME)]),
        ({**OK, "name": "x" * 255}, []),
        (
            {**OK, "name": "x" * 256},
            [("name", "name must be at most 255 characters (ilert's limit); it has 256. "
                      "Shorten it.")],
        ),
        (
            {**OK, "name": "Level\tAcme"},
            [("name", "name must be one line of text: remove line breaks, tabs and other "
                      "control characters.")],
        ),
        ({"name": "x"}, [("escalation_policy", "escalation_policy is required.")]),
        ({**OK, "escalation_policy": 0}, [("escalation_policy", POLICY + "got 0, " + NOT_AN_ID)]),
        ({**OK, "escalation_policy": True}, [("escalation_policy", POLICY + "got true.")]),
        ({**OK, "escalation_policy": 1.5}, [("escalation_policy", POLICY + "got 1.5.")]),
        ({**OK, "escalation_policy": [1]}, [("escalation_policy", POLICY + "got [1].")]),
        ({**OK, "escalation_policy": 2**53 - 1}, []),
        ({**OK, "escalation_policy": float(2**53 - 1)}, []),
        ({**OK, "escalation_policy": " 42 "}, []),
        (
            {**OK, "escalation_policy": 2**53},
            [("escalation_policy", POLICY + f"got {2**53}, " + TOO_LARGE)],
        ),
        (
            {**OK, "escalation_policy": 2**63 - 1},
            [("escalation_policy", POLICY + f"got {2**63 - 1}, " + TOO_LARGE)],
        ),
        (
            {**OK, "escalation_policy": 2**63},
            [("escalation_policy", POLICY + f"got {2**63}, " + NOT_AN_ID)],
        ),
        ({**OK, "escalation_policy": "  "}, [("escalation_policy", POLICY + "it is blank.")]),
        (
            {**OK, "escalation_policy": "On-call\nL1"},
            [("escalation_policy", POLICY + "names have no line breaks or control characters.")],
        ),
        ({**OK, "teams": [1, 0]}, [("teams", f"teams[1]: {TEAMS}got 0, {NOT_AN_ID}")]),
        ({**OK, "teams": ["y" * 58]}, [("teams", f"teams[0]: {TEAMS}got '{'y' * 58}'.")]),
        ({**OK, "teams": ["y" * 59]}, [("teams", f"teams[0]: {TEAMS}got '{'y' * 56}....")]),
        ({**OK, "teams": "ops"}, [("teams", "teams: must be a valid list (got 'ops').")]),
        (
            # Two bad properties: both are reported, each once.
            {**OK, "name": 5, "active": "maybe"},
            [
                ("name", "name: must be a valid string (text in quotes if YAML reads it "
                         "otherwise) (got 5)."),
                ("active", "active: must be a valid boolean: true or false (got 'maybe')."),
            ],
        ),
        (
            {**OK, "name": "", "teams": [0, -1]},
            [
                ("name", BLANK_NAME),
                ("teams", f"teams[0]: {TEAMS}got 0, {NOT_AN_ID}"),
                ("teams", f"teams[1]: {TEAMS}got -1, {NOT_AN_ID}"),
            ],
        ),
        (
            {**OK, "ALERT_GROUPING_WINDOWS": "PT5M"},
            [("ALERT_GROUPING_WINDOWS", "ALERT_GROUPING_WINDOWS is not a known property; did "
                                        "you mean alert_grouping_window? Rename it.")],
        ),
        # Separators between every letter still point at the key (case and separators are
        # ignored before spelling is compared).
        (
            {**OK, "a_c_t_i_v_e": True},
            [("a_c_t_i_v_e", "a_c_t_i_v_e is not a known property; did you mean active? "
                             "Rename it.")],
        ),
        (
            {**OK, "t-e-a-m-s": [1]},
            [("t-e-a-m-s", "t-e-a-m-s is not a known property; did you mean teams? Rename it.")],
        ),
        (
            {**OK, "colour": "red"},
            [("colour", "colour is not a known property; remove it. Known ones: active, adopt, "
                        "alert_creation, alert_grouping_window, alert_key_template, "
                        "alert_priority_rule, auto_create_services, auto_raise_alerts, "
                        "auto_resolution_timeout, details_template, escalation_policy, "
                        "event_filter, event_type_filter_accept, event_type_filter_create, "
                        "event_type_filter_resolve, integration_type, link_templates, name, "
                        "priority_template, routing_template, score_threshold, services, "
                        "services_template, severity, severity_template, summary_template, "
                        "support_hours, teams.")],
        ),
        (
            {**OK, "integration_type": "level io"},
            [("integration_type", "integration_type must be an ilert integration type such "
                                  "as LEVELIO (upper case, no spaces); got 'level io'.")],
        ),
    ],
)
def test_alert_source_check_says_exactly_what_to_fix(
    inputs: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    assert failures(IlertAlertSourceProvider(), inputs) == expected


@pytest.mark.parametrize(
    ("inputs", "expected"),
    [
        ({}, [("url", "url is required.")]),
        (
            {"url": URL, "event_types": ["alert_active"]},
            [("event_types", "event_types must include both alert_active (opens the ilert "
                             "alert) and alert_resolved (resolves it); with only one of them, "
                             "alerts are opened but never closed in ilert, or closed but never "
                             "opened (one-way sync). Add the missing one.")],
        ),
        (
            {"url": URL, "secret": " "},
            [("secret", "secret must not be blank; leave it out to send unsigned deliveries.")],
        ),
        # The URL and the secret are never quoted, whatever is wrong with them.
        (
            {"url": URL, "secret": 5},
            [("secret", "secret: must be a valid string (text in quotes if YAML reads it "
                        "otherwise).")],
        ),
        (
            {"url": 5},
            [("url", "url: must be a valid string (text in quotes if YAML reads it otherwise).")],
        ),
        (
            {"url": URL, "enabled": "sometimes"},
            [("enabled", "enabled: must be a valid boolean: true or false (got 'sometimes').")],
        ),
        (
            {"url": URL, "colour": 1},
            [("colour", "colour is not a known property; remove it. Known ones: adopt, "
                        "alert_source_id, device_groups, enabled, event_types, secret, url.")],
        ),
    ],
)
def test_webhook_check_says_exactly_what_to_fix(
    inputs: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    assert failures(LevelWebhookProvider(), inputs) == expected


def test_a_bad_tuning_setting_fails_the_preview_without_a_property() -> None:
    from pulumi.dynamic import Config, ConfigureRequest

    provider = IlertAlertSourceProvider()
    provider.configure(ConfigureRequest(Config({"ilert:rateLimitRequests": "many"}, "p")))

    assert failures(provider, OK) == [
        ("", "ilert:rateLimitRequests must be a positive number; fix it with `pulumi config set "
             "ilert:rateLimitRequests <number>` or remove it to use the default (120).")
    ]
