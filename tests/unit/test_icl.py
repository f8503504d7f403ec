"""ICL, ilert's condition language (icl/condition.py): what passes, what fails and where,
and how a filter decides on a Level delivery (the rules of ilert's ICL documentation)."""

from __future__ import annotations

import time
from collections.abc import Mapping

import pytest

import icl

ALERT = {
    "id": "Z2lkOi8vbGV2ZWwvQWxlcnQvMQ",
    "device_id": "Z2lkOi8vbGV2ZWwvRGV2aWNlLzE",
    "device_hostname": "ACME-HQ-SRV01",
    "name": "CPU usage",
    "description": "CPU usage >75.0% for 10 minutes",
    "payload": None,
    "severity": "critical",
    "is_resolved": False,
    "tags": ["server", "Windows"],
    "custom": {"key with spaces": [{"n": 3}]},
    "load": 0.75,
}


def holds(condition: str, data: Mapping[str, object] | None = None) -> bool | None:
    return icl.evaluate(icl.parse(condition), icl.level_context(data or ALERT))


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("event.customDetails.severity == 'critical'", True),
        ("event.customDetails.severity == 'CRITICAL'", True),  # string operators ignore case
        ("event.customDetails.severity matches 'Critical'", True),
        ("event.customDetails.severity exact_matches 'Critical'", False),  # exact_ does not
        ("event.customDetails.severity exact_matches 'critical'", True),
        ("event.summary contains 'cpu USAGE on acme'", True),
        ("event.summary exact_contains 'cpu usage'", False),
        ("event.summary exact_contains 'CPU usage'", True),
        ("event.customDetails.device_hostname starts_with 'acme-'", True),
        ("event.customDetails.device_hostname ends_with 'srv01'", True),
        ("event.details contains '75.0%'", True),
        ("event.summary regex 'cpu .* on acme-hq'", True),
        ("event.summary regex '^disk'", False),
        ("event.customDetails.severity in ['warning', 'Critical']", True),
        ('event.customDetails.severity in ["warning", "emergency"]', False),
        ("event.customDetails.device_hostname starts_with_any ['globex-', 'acme-']", True),
        ("event.customDetails.device_hostname ends_with_any ['-ws01']", False),
        ("event.summary contains_any ['disk', 'cpu']", True),
        ("event.customDetails.severity != 'critical'", False),
        ("event.customDetails.severity == critical", True),  # an unquoted one-word string
        ("event.customDetails.load > 0.5 and event.customDetails.load <= 0.75", True),
        ("event.customDetails.load >= '0.8'", False),
        ("'1' == 1", True),
        ("event.customDetails.tags[1] == 'windows'", True),
        ("event.customDetails.custom['key with spaces'][0].n == 3", True),
        ("event.customDetails.is_resolved == false", True),
        ("event.customDetails.is_resolved", False),
        ("event.customDetails.missing == nil", True),
        ("event.customDetails.payload == nil", True),
        ("event.customDetails.tags[9] == nil", True),
        ("not event.customDetails.severity == 'warning'", True),
        ("event.customDetails.severity not matches 'warning'", True),
        ("event.customDetails.severity not_in ['warning']", True),
        ("event.summary not contains 'disk' and (event.customDetails.severity == 'warning' "
         "or event.customDetails.severity == 'critical')", True),
        ("event.customDetails.severity == 'warning' or event.customDetails.severity == "
         "'critical' and event.summary contains 'disk'", False),  # and binds tighter than or
    ],
)
def test_conditions_on_a_level_alert(condition: str, expected: bool) -> None:
    assert holds(condition) is expected


@pytest.mark.parametrize(
    "condition",
    [
        "3 > 'three'",  # ilert's own example
        "event.customDetails.severity > 2",
        "event.customDetails.missing contains 'x'",
        "event.customDetails.tags contains 'server'",  # a list is not a string
        "event.customDetails.missing not contains 'x'",  # false at the comparison, negated or not
        "event.customDetails.severity in event.customDetails.name",
        "event.customDetails.is_resolved starts_with 'f'",
        "event.summary regex '('",  # a pattern that cannot compile is a type error too
    ],
)
def test_a_type_error_is_false_never_an_error(condition: str) -> None:
    assert holds(condition) is False


def test_a_type_error_is_false_where_it_happens_so_not_around_it_is_true() -> None:
    assert holds("3 >= 'three' or 3 < 9") is True  # ilert's documented examples
    assert holds("3 <= 'three' and 3 < 9") is False
    assert holds("not (event.customDetails.missing contains 'x')") is True


def test_unknown_values_leave_the_answer_open_unless_the_rest_decides() -> None:
    context = icl.level_context({**ALERT, "name": icl.UNKNOWN})
    decide = icl.parse("event.customDetails.severity == 'critical' or event.customDetails.name "
                       "contains 'disk'")
    depend = icl.parse("event.customDetails.severity == 'critical' and event.customDetails.name "
                       "contains 'disk'")
    assert icl.evaluate(decide, context) is True
    assert icl.evaluate(depend, context) is None
    assert icl.matches(depend, context) is False
    assert icl.evaluate(icl.parse("trigger_count.10m > 3"), context) is None
    support_hours = 'event.customDetails.started_at is_in {"id": 1, "type": "SUPPORT_HOUR"}'
    assert icl.evaluate(icl.parse(support_hours), context) is None
    assert icl.evaluate(icl.parse(f"not ({support_hours})"), context) is None


def test_paths_take_an_unquoted_name_with_escaped_spaces_and_matches_is_equality() -> None:
    assert holds("event.customDetails.custom[key\\ with\\ spaces][0].n == 3") is True
    assert holds("event.customDetails.is_resolved matches false") is True
    assert holds("event.customDetails.missing not matches 'critical'") is True
    assert holds("event.customDetails.severity not matches 'CRITICAL'") is False
    assert holds("9007199254740993 == 9007199254740992.0") is True
    assert holds("9007199254740993 == 9007199254740992") is False


@pytest.mark.parametrize(
    ("condition", "column", "words"),
    [
        ("event.summary containz 'disk'", 15, "unknown operator 'containz' (did you mean "
                                              "'contains'?)"),
        ("(event.summary contains 'disk'", 1, "this '(' is never closed; add ')'"),
        ("event.summary contains 'disk')", 30, "')' has no matching opening bracket"),
        ("event.summary contains 'disk", 24, "this string is never closed; end it with '"),
        ("event.customDetails.severity = 'critical'", 30, "'=' is not an operator"),
        ("event.summary contains 'a' and", 31, "a condition is missing here"),
        ("event.summary contains 'a' or or x == 1", 31, "a condition is missing before 'or'"),
        ("event.x in ['a', 'b'", 12, "this '[' is never closed"),
        ("event.x for 3", 9, "'for' is a reserved word of ICL"),
        ("event.x == if", 12, "'if' is a reserved word; put it in quotes"),
        ("event.x in 'a'", 12, "'in' needs a list on its right"),
        ("event.x == 'a' event.y == 'b'", 16, "expected 'and', 'or' or the end"),
        ("event.x regex '(unclosed'", 15, "the regular expression is not valid"),
        ("event.x == 'a' & event.y", 16, "'&' is not an ICL operator; join two conditions "
                                          "with 'and'"),
        ("event.x == 'a' && event.y", 16, "'&&' is not an ICL operator; join two conditions "
                                           "with 'and'"),
        ("event.x == 'a' || event.y", 16, "'||' is not an ICL operator; join two conditions "
                                           "with 'or'"),
        ("event.x == 'a' # c", 16, "unexpected character '#'"),
        ("   ", 1, "the condition is empty"),
        ("event.x[a b] == 1", 10, "a space in a name in [...] needs a backslash before it"),
        ("event.x[a == 1", 8, "expected ']' to close this '['"),
        ("event.x == 9223372036854775808", 12, "9223372036854775808 is outside ICL's 64-bit "
                                               "integers"),
    ],
)
def test_errors_point_at_the_column_with_a_caret(condition: str, column: int, words: str) -> None:
    with pytest.raises(icl.IclSyntaxError, match=f"^column {column}: ") as caught:
        icl.check(condition)
    error = caught.value
    assert error.column == column
    assert words in str(error)
    assert str(error).startswith(f"column {column}: ")
    _line, caret = error.pointer.splitlines()
    assert caret == " " * (column + 1) + "^"


def test_unknown_operator_lists_the_known_ones() -> None:
    with pytest.raises(icl.IclSyntaxError, match="Known operators: ==, !=") as caught:
        icl.check("event.x like 'a'")
    assert "contains_any" in str(caught.value)


def test_a_multi_line_condition_names_the_line_too() -> None:
    with pytest.raises(icl.IclSyntaxError, match=r"^line 2, column 15: unknown operator"):
        icl.check("event.x == 'a' and\nevent.summary containz 'b'")


@pytest.mark.parametrize(
    "condition",
    [
        # ilert's own documentation example
        "event.summary not contains 'dev stage' and (\n    event.customDetails.location in "
        '["DE", "CH", "AT"]\n        or resetting_trigger_count.10m >= 100\n)',
        "event.key starts_with_any [\"hey\", \"hi\"]",
        "event.x not_contains 'a'",
        "event.t is_in {\"id\": 1, \"type\": \"SUPPORT_HOUR\"}",
        "'the system\\'s up' contains 'system\\'s'",
        "'an escaped \\\\ backslash' contains '\\\\'",
        "event.customDetails.alerts[0].severity == 'critical'",
        "-24 < 0.42",
    ],
)
def test_documented_forms_are_valid(condition: str) -> None:
    icl.check(condition)


def test_escapes_in_single_quoted_strings() -> None:
    assert holds("'the system\\'s up' contains 'system\\'s'") is True
    assert holds("'a \\\\ b' exact_contains '\\\\'") is True


def test_input_is_capped_in_length_and_depth() -> None:
    with pytest.raises(icl.IclSyntaxError, match="at most 10000"):
        icl.parse("event.x == 'a' or " * 700 + "event.x == 'b'")
    with pytest.raises(icl.IclSyntaxError, match="deeper than 64"):
        icl.parse("(" * 65 + "event.x == 1" + ")" * 65)
    with pytest.raises(icl.IclSyntaxError, match="deeper than 64"):
        icl.parse("not " * 65 + "event.x == 1")


def test_a_catastrophic_pattern_gives_up_quickly_and_is_false() -> None:
    data = {**ALERT, "description": "a" * 5000 + "!"}
    started = time.monotonic()
    assert holds("event.customDetails.description regex '^(a+)+$'", data) is False
    assert time.monotonic() - started < 2.0


@pytest.mark.parametrize(
    ("a", "b", "separated"),
    [
        ("event.customDetails.severity == 'emergency'",
         "event.customDetails.severity != 'Emergency'", True),
        ("event.customDetails.severity == 'critical'",
         "event.customDetails.severity matches 'warning'", True),
        ("event.customDetails.severity in ['critical', 'emergency']",
         "event.customDetails.severity in ['warning', 'information']", True),
        ("event.customDetails.severity in ['critical', 'emergency']",
         "event.customDetails.severity == 'EMERGENCY'", False),
        ("event.customDetails.severity exact_matches 'Critical'",
         "event.customDetails.severity == 'critical'", False),  # 'Critical' passes both
        ("event.customDetails.severity exact_matches 'Critical'",
         "event.customDetails.severity exact_matches 'critical'", True),
        ("event.summary contains 'disk'", "not (event.summary contains 'disk')", True),
        ("event.summary contains 'disk'", "event.summary contains 'cpu'", False),  # both can
        ("event.customDetails.severity == 'critical' and event.summary contains 'disk'",
         "event.customDetails.severity == 'warning' or event.customDetails.severity == 'info'",
         True),
        ("event.customDetails.severity == 'critical' or event.summary contains 'disk'",
         "event.customDetails.severity == 'warning'", False),
        ("event.customDetails.severity == 'critical'",
         "event.customDetails.name == 'critical'", False),  # different paths
        ("event.customDetails.severity not_in ['critical']",
         "event.customDetails.severity == 'critical'", True),
    ],
)
def test_two_filters_are_separated_only_when_the_text_proves_it(
    a: str, b: str, separated: bool
) -> None:
    assert icl.disjoint(icl.parse(a), icl.parse(b)) is separated
    assert icl.disjoint(icl.parse(b), icl.parse(a)) is separated


def test_paths_lists_what_a_filter_reads() -> None:
    tree = icl.parse("event.customDetails.severity == 'a' and (event.summary contains 'b' or "
                     "event.customDetails['x y'] == 1 or trigger_count.5m > 2)")
    assert icl.paths(tree) == [
        "event.customDetails.severity", "event.customDetails['x y']", "event.summary",
        "trigger_count.5m",
    ]


def test_level_context_maps_a_delivery_as_the_contract_says() -> None:
    context = icl.level_context({**ALERT, "payload": "top: svchost"})
    event = context["event"]
    assert isinstance(event, dict)
    assert event["summary"] == "CPU usage on ACME-HQ-SRV01"
    assert event["details"] == "CPU usage >75.0% for 10 minutes\n\ntop: svchost"
    assert event["customDetails"]["severity"] == "critical"
