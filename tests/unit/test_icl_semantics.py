"""ICL's grammar and meaning (icl/condition.py), seen as a user sees them: whether a filter
lets a Level alert through, the message and column of a filter that is refused, which two
integrations the routing check reports as paging for the same alert, and the alert summary.

tests/unit/test_icl.py holds the documented examples; this file pins the edges between
them (boundaries, types, nesting limits, messages word for word)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

import pytest

import icl
from components import routing

ALERT: dict[str, object] = {
    "name": "CPU usage",
    "device_hostname": "ACME-HQ-SRV01",
    "description": "CPU usage >75.0% for 10 minutes",
    "severity": "critical",
    "level": "CRITICAL",
    "is_resolved": False,
    "maintenance": True,
    "tags": ["server", "Windows"],
    "labels": {"team": "ops", "zones": ["eu", "us"]},
    "load": 0.75,
    "count": 3,
}


def holds(condition: str, data: Mapping[str, object] | None = None) -> bool | None:
    return icl.evaluate(icl.parse(condition), icl.level_context(ALERT if data is None else data))


# ------------------------------------------------------------------------ what passes


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        # a bare operand passes only when its value is the boolean true
        ("event.customDetails.maintenance", True),
        ("event.customDetails.severity", False),
        ("event.customDetails.severity == 'warning' or event.customDetails.maintenance", True),
        ("event.customDetails.is_resolved or event.customDetails.severity == 'critical'", True),
        ("event.customDetails.maintenance and event.customDetails.count == 3", True),
        # the four orderings at and around the boundary (load is 0.75)
        ("event.customDetails.load > 0.75", False),
        ("event.customDetails.load >= 0.75", True),
        ("event.customDetails.load < 0.75", False),
        ("event.customDetails.load <= 0.75", True),
        ("event.customDetails.load > 0.7 and event.customDetails.load < 0.8", True),
        # booleans equal booleans only
        ("event.customDetails.is_resolved == true", False),
        ("event.customDetails.maintenance == true", True),
        ("true == 1", False),
        ("false == 0", False),
        # nil equals nil only
        ("event.customDetails.missing == 'critical'", False),
        ("event.customDetails.missing != 'critical'", True),
        ("nil == 0", False),
        # values of different kinds are not equal
        ("event.customDetails.severity == 5", False),
        ("event.customDetails.tags == 'server'", False),
        ("event.customDetails.labels == ['ops']", False),
        # arrays and objects compare by content, an event's array with an inline one
        ("event.customDetails.tags == ['server', 'Windows']", True),
        ("event.customDetails.tags == ['server']", False),
        ("event.customDetails.tags == ['server', 'Linux']", False),
        ("event.customDetails.tags in [['x'], ['server', 'Windows']]", True),
        ('event.customDetails.labels == {"team": "ops", "zones": ["eu", "us"]}', True),
        ('event.customDetails.labels == {"zones": ["eu", "us"], "team": "ops"}', True),
        ('event.customDetails.labels == {"team": "ops", "zones": ["eu"]}', False),
        ('event.customDetails.labels == {"team": "ops", "zones": ["eu", "ap"]}', False),
        ('event.customDetails.labels == {"team": "ops"}', False),
        ('event.customDetails.labels.zones == ["eu", "us"]', True),
        # matches is an alias of == (ilert's docs): on booleans and nil too
        ("event.customDetails.is_resolved matches false", True),
        ("nil matches nil", True),
        ("event.customDetails.missing not matches 'x'", True),
        ("event.customDetails.count matches 3", True),
        ("event.customDetails.severity matches CRITICAL", True),
        # a path on the right is read from the same alert
        ("'CRITICAL' == event.customDetails.severity", True),
        ("event.customDetails.level == event.customDetails.severity", True),
        # 'not' around a condition sees the alert
        ("not (event.customDetails.severity == 'critical')", False),
        ("not (event.customDetails.severity == 'warning')", True),
        ("event.customDetails.severity not == 'warning'", True),
        ("event.customDetails.severity not == 'critical'", False),
        # paths that lead nowhere are nil, never an error
        ("event.customDetails.tags.name == nil", True),
        ("event.summary.length == nil", True),
        ("event.customDetails[0] == nil", True),
        ("event.customDetails.tags[1] == 'windows'", True),
        ("event.customDetails.tags[2] == nil", True),
        ("event.customDetails.tags[-1] == 'windows'", True),
        ("event.customDetails.tags[-2] == 'server'", True),
        ("event.customDetails.tags[-3] == nil", True),
        # a literal may stand on the left
        ("[1, 2] == nil", False),
        ("['a', 'b'] != nil", True),
    ],
)
def test_what_a_filter_lets_through(condition: str, expected: bool) -> None:
    assert holds(condition) is expected


@pytest.mark.parametrize(
    "condition",
    [
        "event.customDetails.severity == 'warning' or trigger_count.5m > 3",
        "not (trigger_count.5m > 3)",
        "event.customDetails.load < now",
        "now > 5",
        "event.customDetails.name == 'x' or event.customDetails.severity == 'warning'",
    ],
)
def test_what_only_ilert_knows_leaves_the_answer_open(condition: str) -> None:
    data = {**ALERT, "name": icl.UNKNOWN}
    assert holds(condition, data) is None
    assert icl.matches(icl.parse(condition), icl.level_context(data)) is False


def test_an_unknown_value_shows_as_unknown() -> None:
    assert repr(icl.UNKNOWN) == "UNKNOWN"


def test_a_pattern_that_backtracks_forever_is_cut_off_and_false() -> None:
    # Without the timeout this search takes tens of seconds (regex cannot prune it).
    data = {**ALERT, "description": "a" * 38 + "!"}
    started = time.monotonic()
    assert holds("event.customDetails.description regex '(a|aa)+$'", data) is False
    assert time.monotonic() - started < 2.0


@pytest.mark.parametrize(
    ("data", "summary"),
    [
        ({"name": "Disk full", "device_hostname": "WS-7"}, "Disk full on WS-7"),
        ({"name": "Disk full"}, "Disk full"),
        ({"name": "Disk full", "device_hostname": ""}, "Disk full"),
        ({"device_hostname": "WS-7"}, "Level alert on WS-7"),
        ({"name": "", "device_hostname": None}, "Level alert"),
    ],
)
def test_the_summary_ilert_makes_of_a_level_alert(data: dict[str, object], summary: str) -> None:
    event = icl.level_context(data)["event"]
    assert isinstance(event, dict)
    assert event["summary"] == summary
    assert holds(f"event.summary exact_matches '{summary}'", data) is True


# ------------------------------------------------------------------ what is refused


@pytest.mark.parametrize(
    ("condition", "column", "reason"),
    [
        ("", 1, "the condition is empty; leave eventFilter out to accept every event"),
        ("event.x == 1 and", 17, "a condition is missing here (the text ends too early)"),
        ("event.x == 1 and and event.y == 2", 18, "a condition is missing before 'and'"),
        ("event.x == 'a' , event.y", 16,
         "expected 'and', 'or' or the end of the condition, found ','"),
        ("event.x == 'a' ]", 16, "']' has no matching opening bracket"),
        ("event.x not 'a'", 13,
         "'not' here must be followed by an operator, e.g. 'not contains'"),
        ("event.x not or event.y == 1", 13, "'not' here must be followed by an operator"),
        ("event.x not not_contains 'a'", 13, "'not' is given twice"),
        ("event.x blah 'a'", 9, "unknown operator 'blah'"),
        ("event.x == (event.y)", 12,
         "a bracketed condition cannot be compared; compare a path or a value"),
        ("event.x == ,", 12, "expected a path or a value, found ','"),
        ("event.x ==", 11, "expected a path or a value, found the end of the condition"),
        ("event.x == and", 12,
         "'and' is a reserved word; put it in quotes to use it as text: 'and'"),
        ("event.x == or", 12, "'or' is a reserved word; put it in quotes to use it as text: 'or'"),
        ("event.x == not", 12,
         "'not' is a reserved word; put it in quotes to use it as text: 'not'"),
        ("contains 'a'", 1, "a path or a value is missing before the operator 'contains'"),
        ("event.customDetails.3 == 1", 21, "a field name must follow '.'"),
        ("trigger_count.'5m' > 1", 15, "a field name must follow '.'"),
        ("event.x[1.5] == 1", 9, "inside [...] put a 'quoted field name' or a list index"),
        ("event.x[] == 1", 9, "inside [...] put a 'quoted field name' or a list index"),
        ("event.x[0 == 1", 11, "expected ']' to close the '[' at column 8, found '=='"),
        # the error points at the value that is not a list, whatever its kind
        ("event.x in 3", 12, "'in' needs a list on its right, e.g. ['a', 'b']"),
        ("event.x in true", 12, "'in' needs a list on its right, e.g. ['a', 'b']"),
        ("event.x in critical", 12, "'in' needs a list on its right, e.g. ['a', 'b']"),
        ('event.x in {"a": 1}', 12, "'in' needs a list on its right, e.g. ['a', 'b']"),
        ("event.x contains_any 'a'", 22,
         "'contains_any' needs a list on its right, e.g. ['a', 'b']"),
    ],
)
def test_a_refused_filter_says_why_and_where(condition: str, column: int, reason: str) -> None:
    with pytest.raises(icl.IclSyntaxError, match=f"^column {column}: ") as caught:
        icl.check(condition)
    assert caught.value.column == column
    assert str(caught.value).startswith(f"column {column}: {reason}\n")


def test_an_unknown_operator_without_a_close_match_gets_no_guess() -> None:
    with pytest.raises(icl.IclSyntaxError, match="unknown operator") as caught:
        icl.check("event.x blah 'a'")
    said = str(caught.value).splitlines()
    assert said[0] == "column 9: unknown operator 'blah'"
    assert said[3].startswith("Known operators: ==, !=, >=")  # after the line and its caret


def test_a_condition_must_be_text() -> None:
    with pytest.raises(TypeError, match=r"^an ICL condition is a string$"):
        icl.parse(None)  # type: ignore[arg-type]


def test_the_length_cap_admits_exactly_its_limit() -> None:
    head = "event.x == '"
    at_limit = head + "a" * (icl.MAX_CHARS - len(head) - 1) + "'"
    assert len(at_limit) == icl.MAX_CHARS
    icl.check(at_limit)
    with pytest.raises(icl.IclSyntaxError, match="at most 10000"):
        icl.check(at_limit[:-1] + "a'")


@pytest.mark.parametrize(
    ("opener", "closer"), [("(", ")"), ("not (", ")"), ("not ", "")],
)
def test_the_depth_cap_counts_nesting_not_siblings(opener: str, closer: str) -> None:
    levels = icl.MAX_DEPTH if opener != "not (" else icl.MAX_DEPTH // 2
    sibling = f"{opener}event.x == 0{closer} and "
    icl.check(sibling * 3 + opener * levels + "event.x == 1" + closer * levels)
    with pytest.raises(icl.IclSyntaxError, match="deeper than 64"):
        icl.check(sibling * 3 + opener * (levels + 1) + "event.x == 1" + closer * (levels + 1))


# ------------------------------------------------------ which filters keep alerts apart


@dataclass(frozen=True)
class Integration:
    """An org-wide, active integration with a filter (what components.routing reads)."""

    name: str
    event_filter: str | None
    device_groups: list[str] | None = None
    shares_alerts_with: list[str] | None = None
    active: bool = True
    webhook_enabled: bool = True


SEV = "event.customDetails.severity"
HOST = "event.customDetails.device_hostname"


@pytest.mark.parametrize(
    ("a", "b", "separated"),
    [
        (f"{SEV} != 'a'", f"{SEV} != 'b'", False),
        (f"{SEV} != 'a'", f"{SEV} != 'a'", False),
        (f"not ({SEV} in ['a', 'b'])", f"{SEV} == 'A'", True),
        (f"not ({SEV} in ['a', 'b'])", f"{SEV} in ['b', 'c']", False),
        (f"not ({SEV} == 'a')", f"{SEV} in ['a', 'B']", False),
        (f"not ({SEV} exact_matches 'Critical')", f"{SEV} == 'critical'", False),
        (f"{SEV} not exact_matches 'Critical'", f"{SEV} == 'critical'", False),
        (f"not ({SEV} contains 'a')", f"{SEV} == 'b'", False),
        (f"not ({SEV} != 'a')", f"{SEV} == 'b'", False),  # the proof does not see this one
        (f"{SEV} not in ['a']", f"{SEV} == 'A'", True),
        (f"{SEV} not != 'a'", f"{SEV} == 'a'", False),
        (f"({SEV} == 'a' or {SEV} == 'b') and {HOST} == 'x'", f"{HOST} == 'y'", True),
        (f"not ({SEV} == 'a' or {SEV} == 'b')", f"{SEV} == 'a'", False),
        (f"{SEV} contains_any ['critical']", f"{SEV} == 'critical-high'", False),
        (f"{SEV} contains 'critical'", f"{SEV} == 'critical'", False),
        ("event.customDetails.count == '1'", "event.customDetails.count == 1", False),
        ("event.customDetails.count == 1", "event.customDetails.count == '2'", True),
        ("event.customDetails.count == 1", "event.customDetails.count == 2", True),
        ("event.customDetails.flag == true", "event.customDetails.flag == false", True),
        ("event.customDetails.flag == nil", "event.customDetails.flag == false", True),
        ("'a' == 'b'", "'a' == 'c'", False),  # no path: nothing to compare
        (f"{SEV} == 'a'", "event.customDetails.maintenance", False),
    ],
)
def test_the_routing_check_reports_filters_that_may_both_pass(
    a: str, b: str, separated: bool
) -> None:
    for first, second in ((a, b), (b, a)):
        pair = [Integration("Acme", first), Integration("Globex", second)]
        found = routing.overlaps(pair)
        if separated:
            assert found == []
        else:
            assert found == [routing.Overlap(
                0, 1, "both are org-wide (no deviceGroups)",
                "their eventFilters do not exclude each other (compared as written)",
            )]


def _nested_or(prefix: str, levels: int) -> str:
    """``l0 or (l1 or (... or lN))``: ``levels`` or's inside one another, every leaf its own
    severity, so any leaf of one such filter excludes any leaf of another prefix."""
    text = f"{SEV} == '{prefix}{levels}' or {SEV} == '{prefix}{levels + 1}'"
    for level in range(levels - 1, 0, -1):
        text = f"{SEV} == '{prefix}{level}' or ({text})"
    return text


@pytest.mark.parametrize(
    ("levels_a", "levels_b", "separated"),
    [(32, 32, True), (16, 48, True), (1, 63, True), (33, 32, False), (32, 33, False),
     (1, 64, False), (64, 1, False)],
)
def test_the_proof_gives_up_beyond_its_depth(levels_a: int, levels_b: int,
                                             separated: bool) -> None:
    a, b = icl.parse(_nested_or("a", levels_a)), icl.parse(_nested_or("b", levels_b))
    # Every branch of one excludes every branch of the other; up to 64 or-levels in all
    # the proof shows it, beyond that it answers "may overlap" rather than recurse on.
    assert icl.disjoint(a, b) is separated
    assert icl.disjoint(b, a) is separated


def test_beyond_its_depth_the_proof_never_claims_filters_apart() -> None:
    same = icl.parse(_nested_or("x", 40))
    assert icl.disjoint(same, same) is False


# ------------------------------------------------------------------- reading the tree


def test_paths_are_shown_as_they_can_be_written_again() -> None:
    tree = icl.parse(
        "event['it\\'s'] == 1 and event['a\\\\b'] == 2 and event.tags[0][1] == 3 and "
        "not (event.customDetails['x y'] == 4) and event.customDetails.when < now"
    )
    shown = icl.paths(tree)
    assert shown == [
        "event.customDetails.when", "event.customDetails['x y']", "event.tags[0][1]",
        "event['a\\\\b']", "event['it\\'s']", "now",
    ]
    found = [each.left for each in icl.walk(tree) if isinstance(each, icl.Compare)]
    for text in shown[:-1]:
        again = icl.parse(f"{text} == 1")
        assert isinstance(again, icl.Compare)
        assert again.left in found


def test_literals_are_each_comparison_with_its_value() -> None:
    tree = icl.parse(f"{SEV} == 'critical' and ({HOST} starts_with_any ['acme-', 'globex-'] "
                     "or event.customDetails.maintenance or not (event.customDetails.count > 2))")
    assert sorted((each.op, repr(value)) for each, value in icl.literals(tree)) == [
        ("==", "'critical'"), (">", "2"), ("starts_with_any", "('acme-', 'globex-')"),
    ]


def test_equal_filters_are_one_in_a_set_whatever_the_key_order() -> None:
    one = icl.parse('event.x == {"a": 1, "b": {"c": [1, 2]}}')
    same = icl.parse('event.x == {"b": {"c": [1, 2]}, "a": 1}')
    other = icl.parse('event.x == {"a": 2, "b": {"c": [1, 2]}}')
    assert one == same and hash(one) == hash(same)
    assert len({one, same, other}) == 2
    assert hash(one) != hash(other)
