"""The sandbox's own ICL reader (sandbox/icl_eval.py) against ilert's documentation
(docs.ilert.com/rest-api/icl-ilert-condition-language): every documented example that
reads the event, with one event it accepts and one it rejects; the documented examples
that read nothing, with their documented value; and the sandbox's choices around them.

The project's own ICL package is not imported here: tests/unit/test_icl_agreement.py puts
both readers side by side."""

from __future__ import annotations

import time
from typing import Any

import pytest

from sandbox import icl_eval


def event(**fields: Any) -> dict[str, object]:
    return {"event": fields}


def custom(**details: Any) -> dict[str, object]:
    return event(summary="An alert summary", customDetails=details)


#: The payload the documentation's "Paths" section sends to the event API.
DOC_PAYLOAD: dict[str, Any] = {
    "summary": "An alert summary",
    "customDetails": {
        "locationX": 0.54,
        "key wi:th spaces": {"some_field": "Hello there"},
    },
    "links": [{"href": "https://awebsite.de/some/page", "text": "A title"}],
}
DOC_EVENT = {"event": DOC_PAYLOAD}
OTHER_EVENT = event(
    summary="Another summary",
    customDetails={"locationX": 0.6, "key wi:th spaces": {"some_field": "Bye"}},
    links=[{"href": "https://example.com/", "text": "B"}],
)
THE_INTRO = (
    "event.summary not contains 'dev stage' and (\n"
    '    event.customDetails.location in ["DE", "CH", "AT"]\n'
    "        or resetting_trigger_count.10m >= 100\n"
    ")"
)


@pytest.mark.parametrize(
    ("condition", "accepted", "rejected"),
    [
        # the page's opening example (the trigger count is ilert's alone: see below)
        (THE_INTRO, event(summary="Disk full", customDetails={"location": "ch"}),
         event(summary="Disk full on Dev Stage", customDetails={"location": "DE"})),
        # "Precedence": both spellings are the same condition
        ("event.x > 1 and (event.y < 2 or event.z == 3)", event(x=2, y=5, z=3),
         event(x=2, y=5, z=4)),
        ("(event.x > 1) and ((event.y < 2) or (event.z == 3))", event(x=2, y=5, z=3),
         event(x=2, y=5, z=4)),
        # "Paths", on the documented payload
        ("event.summary == 'An alert summary'", DOC_EVENT, OTHER_EVENT),
        ("event.customDetails.locationX == 0.54", DOC_EVENT, OTHER_EVENT),
        ("event.customDetails[key\\ wi:th\\ spaces].some_field == 'Hello there'", DOC_EVENT,
         OTHER_EVENT),
        ("event.customDetails['key wi:th spaces'].some_field == 'Hello there'", DOC_EVENT,
         OTHER_EVENT),
        ("event.links[0].href == 'https://awebsite.de/some/page'", DOC_EVENT, OTHER_EVENT),
        ("event.customDetails.dontExist == nil", DOC_EVENT, custom(dontExist="here")),
        ("event.customDetails.alerts[0].severity == 'critical'",
         custom(alerts=[{"severity": "critical"}]), custom(alerts=[{"severity": "low"}])),
        # "Types": implicit casting, and each documented kind of literal
        ("event.customDetails.n == 1", custom(n="1"), custom(n="2")),
        ("event.customDetails.tier == Platin", custom(tier="platin"), custom(tier="gold")),
        ("event.summary == 'hey a string'", event(summary="Hey a string"),
         event(summary="hey a")),
        ("event.summary == 'the system\\'s up'", event(summary="The system's up"),
         event(summary="the systems up")),
        ("event.summary contains 'an escaped \\\\ backslash'",
         event(summary="an escaped \\ backslash"), event(summary="an escaped backslash")),
        ("event.customDetails.n == 42", custom(n=42), custom(n=4.2)),
        ("event.customDetails.n == 0.42", custom(n=0.42), custom(n=42)),
        ("event.customDetails.n == -24", custom(n=-24), custom(n=24)),
        ("event.customDetails.on == true", custom(on=True), custom(on="true")),
        ("event.customDetails.on == false", custom(on=False), custom(on=None)),
        # "Array": the multi-value form of an operator
        ("event.key starts_with hey", event(key="Hey you"), event(key="Hi you")),
        ('event.key starts_with_any ["hey", "hi"]', event(key="Hi you"), event(key="Hello")),
        ('["one", "two"] == event.words', event(words=["One", "two"]), event(words=["one"])),
        # "Operators"
        ("event.x > 1", event(x=2), event(x=1)),
        ("event.x >= 1", event(x=1), event(x=0.5)),
        ("event.x < 1", event(x=0.5), event(x=1)),
        ("event.x <= 1", event(x=1), event(x=1.5)),
        ("event.s matches 'Disk'", event(s="disk"), event(s="disk full")),
        ("event.s exact_matches 'Disk'", event(s="Disk"), event(s="disk")),
        ("event.s contains 'disk'", event(s="Full DISK"), event(s="Full"),),
        ("event.s exact_contains 'disk'", event(s="Full disk"), event(s="Full DISK")),
        ("event.s regex 'd[i1]sk'", event(s="D1SK full"), event(s="dusk")),
        ("event.s starts_with 'disk'", event(s="Disk full"), event(s="Full disk")),
        ("event.s ends_with 'disk'", event(s="Full Disk"), event(s="Disk full")),
        ("event.s == 'a'", event(s="A"), event(s="b")),
        ("event.s != 'a'", event(s="b"), event(s="A")),
        ("event.n == 'a' or event.n != 3", event(n=4), event(n="3")),
        ("event.b == true", event(b=True), event(b=False)),
        ("event.b != true", event(b=False), event(b=True)),
        ('event.country in ["DE", "CH"]', event(country="de"), event(country="AT")),
        ("'u-turn' in event.car", event(car=["left", "U-turn"]), event(car=["left"])),
        ('event.s contains_any ["disk", "cpu"]', event(s="High CPU"), event(s="memory")),
        ('event.s starts_with_any ["disk", "cpu"]', event(s="CPU high"), event(s="high CPU")),
        ('event.s ends_with_any ["disk", "cpu"]', event(s="high cpu"), event(s="CPU high")),
        # "not": before an operator, or prefixed to it
        ("event.s not matches 'a'", event(s="b"), event(s="a")),
        ("event.s not_matches 'a'", event(s="b"), event(s="a")),
        ("event.s not contains 'dev'", event(s="prod"), event(s="Dev box")),
        ("event.s not_contains 'dev'", event(s="prod"), event(s="Dev box")),
        ('event.s not in ["a", "b"]', event(s="c"), event(s="B")),
        ('event.s not_starts_with_any ["a", "b"]', event(s="cab"), event(s="bac")),
        # "Non-Boolean evaluation": a type error is false where it happens
        ("event.n > 'three' or event.n < 9", event(n=3), event(n=10)),
        ("event.n <= event.limit and event.n < 9", event(n=3, limit=4),
         event(n=3, limit="three")),
    ],
)
def test_a_documented_example_accepts_one_event_and_rejects_another(
    condition: str, accepted: dict[str, object], rejected: dict[str, object]
) -> None:
    icl_eval.check(condition)
    assert icl_eval.decide(condition, accepted) is True
    assert icl_eval.decide(condition, rejected) is False


@pytest.mark.parametrize(
    ("condition", "value"),
    [
        ("'1' == 1", True),
        ("3 > 'three'", False),
        ("3 >= 'three' or 3 < 9", True),
        ("3 <= 'three' and 3 < 9", False),
        ("9007199254740992 == 9007199254740992.0", True),
        ("9007199254740992 == 9007199254740993.0", True),
        ("9007199254740992 == 9007199254740994.0", False),
        # the rule behind them: an integer meets a float at the float's precision
        ("9007199254740993 == 9007199254740992.0", True),
        ("'for' == 'FOR'", True),
    ],
)
def test_a_documented_example_that_reads_nothing_has_its_documented_value(
    condition: str, value: bool
) -> None:
    assert icl_eval.decide(condition, {}) is value


@pytest.mark.parametrize(
    "condition",
    [
        "event.customDetails.for == 1",  # a reserved word is fine as a field name
        "event.x is_in {\"id\": 1, \"type\": \"SUPPORT_HOUR\"}",
        "event.x not is_in {\"id\": 1, \"type\": \"ON_CALL_SCHEDULE\"}",
        "event.t < now",
        "trigger_count.PT3M > 5",
        "resetting_trigger_count.3m >= 100",
        "event.t == '2024-05-15T15:18:00Z' or event.t == 1715786280 or event.t == 1715786280000",
        "-24 < 0.42",
    ],
)
def test_documented_forms_are_valid(condition: str) -> None:
    icl_eval.check(condition)


@pytest.mark.parametrize(
    ("condition", "column", "why"),
    [
        ("event.x == for", 12, "'for' is a reserved word; quote it to compare with it"),
        ("event.x for 3", 9, "'for' is reserved in ICL and is not an operator"),
        ("event.x == 9223372036854775808", 12,
         "9223372036854775808 is outside ICL's 64-bit integers"),
        ("event.x == -9223372036854775809", 12,
         "-9223372036854775809 is outside ICL's 64-bit integers"),
        ("event.x == .5", 12, "expected a value or a path, found '.'"),  # a digit first
        ("event.x == 5.", 12, "'5.' is not a number"),  # and after the point
        ("event.summary containz 'disk'", 15, "unknown operator 'containz'"),
        ("event.x = 'a'", 9, "'=' is not an operator ('==' compares)"),
        ("event.x == 'a", 12, "the string is not closed (no ' after it)"),
        ("(event.x == 1", 14, "expected ')' for the '(' at column 1, found the end of the "
                              "condition"),
        ("event.x == 1)", 13, "this ')' closes nothing"),
        ("event.x == 1 event.y == 2", 14, "expected 'and', 'or' or the end, found 'event'"),
        ("event.x not", 12, "'not' here needs an operator after it (e.g. 'not contains')"),
        ("event.x not not_in [1]", 13, "'not' twice before one operator"),
        ("event.x[a b] == 1", 10, "a space in a name in [...] needs a backslash before it, "
                                  "or quote the name: ['a name']"),
        ("event.x regex '(a'", 9, "the regular expression is not valid: missing ) at "
                                  "position 2"),
        ("", 1, "the condition is empty"),
    ],
)
def test_a_refused_condition_says_where_and_why(condition: str, column: int, why: str) -> None:
    with pytest.raises(icl_eval.IclError, match="column") as caught:
        icl_eval.check(condition)
    assert (caught.value.column, caught.value.why) == (column, why)
    assert str(caught.value) == f"column {column}: {why}"


def test_a_multi_line_condition_names_the_line() -> None:
    with pytest.raises(icl_eval.IclError, match=r"^line 2, column 11: unknown operator 'like'$"):
        icl_eval.check("event.x == 1 and\n  event.y like 2")


# ------------------------------------------------------- what only ilert can answer


@pytest.mark.parametrize(
    ("condition", "context", "answer"),
    [
        # the page's opening example: decided without the trigger count when it can be
        (THE_INTRO, event(summary="a", customDetails={"location": "AT"}), True),
        (THE_INTRO, event(summary="dev stage", customDetails={"location": "US"}), False),
        (THE_INTRO, event(summary="a", customDetails={"location": "US"}), None),
        ("not (trigger_count.5m > 3)", event(), None),
        ("event.t is_in {\"id\": 1, \"type\": \"SUPPORT_HOUR\"}", event(t="x"), None),
        ("event.t not is_in {\"id\": 1, \"type\": \"SUPPORT_HOUR\"}", event(t="x"), None),
        ("now > 5 or event.x == 1", event(x=1), True),
        ("now > 5 and event.x == 1", event(x=2), False),
    ],
)
def test_what_only_ilert_knows_leaves_the_answer_open(
    condition: str, context: dict[str, object], answer: bool | None
) -> None:
    assert icl_eval.decide(condition, context) is answer
    assert icl_eval.accepts(condition, context) is (answer is True)


# ------------------------------------------------------------ the sandbox's choices


@pytest.mark.parametrize(
    ("condition", "context", "answer"),
    [
        # a type error is false for the comparison as a whole, 'not op' included ...
        ("event.missing not contains 'a'", event(), False),
        ("event.list contains 'a'", event(list=["a"]), False),
        ("event.flag starts_with 't'", event(flag=True), False),
        ("event.s in 'abc'", event(s="a"), False),
        ("event.s contains_any 'abc'", event(s="a"), False),
        ("event.s contains_any ['a', 1]", event(s="b"), False),
        ("event.s regex '('", event(s="("), False),
        # ... and 'not (...)' around it sees that false
        ("not (event.missing contains 'a')", event(), True),
        # matches is ==, so it works on every type (and 'not matches' is '!=')
        ("event.missing matches nil", event(), True),
        ("event.missing not matches 'a'", event(), True),
        ("event.flag matches false", event(flag=False), True),
        # nil, booleans, arrays and objects
        ("event.missing == 0", event(), False),
        ("event.flag == 'true'", event(flag=True), False),
        ("event.flag == 1", event(flag=True), False),
        ("event.flag > 0", event(flag=True), False),
        ("event.list == ['A', 'b']", event(list=["a", "B"]), True),
        ("event.list == ['a']", event(list=["a", "b"]), False),
        ("event.obj == {'k': [1, 'X']}", event(obj={"k": [1.0, "x"]}), True),
        ("event.obj == {'k': 1}", event(obj={"k": 1, "j": 2}), False),
        ("event.list in [['a'], ['b', 'c']]", event(list=["B", "c"]), True),
        # numbers and numeric text
        ("event.n > '2.5'", event(n=3), True),
        ("event.n == ' 3 '", event(n=3), True),
        ("event.n == '1e3'", event(n=1000), False),  # ICL's number syntax only
        ("event.n contains '.5'", event(n=0.5), True),
        ("event.n starts_with 1", event(n=12), True),
        # single-quoted strings keep a backslash that escapes neither ' nor \
        ("event.s regex '^\\d+$'", event(s="123"), True),
        ("event.s exact_matches 'C:\\temp'", event(s="C:\\temp"), True),
        ('event.s exact_matches "C:\\\\temp"', event(s="C:\\temp"), True),
        ('event.s exact_matches "caf\\u00e9"', event(s="café"), True),
        # paths: unsigned indexes only, a bare key may be any escaped text
        ("event.list[1] == 'b'", event(list=["a", "b"]), True),
        ("event.list[2] == nil", event(list=["a", "b"]), True),
        ("event.list[-1] == nil", event(list=["a", "b"]), True),
        ("event.map[-1] == 'x'", event(map={"-1": "x"}), True),
        ("event.map[a\\]b] == 1", event(map={"a]b": 1}), True),
        ("event.s.deeper == nil", event(s="text"), True),
        # a bare operand is true only when it is the boolean true
        ("event.flag", event(flag=True), True),
        ("event.flag", event(flag="yes"), False),
        ("event.flag or event.x == 1", event(x=1), True),
        # 'and' binds tighter than 'or'; 'not' takes the one condition after it
        ("event.x == 1 or event.x == 2 and event.y == 3", event(x=1, y=0), True),
        ("not event.x == 1 and event.y == 2", event(x=2, y=2), True),
        ("not event.x == 1 or event.y == 2", event(x=1, y=2), True),
        ("not (event.x == 1 or event.y == 2)", event(x=1, y=2), False),
    ],
)
def test_the_sandbox_s_reading_where_the_page_is_silent(
    condition: str, context: dict[str, object], answer: bool
) -> None:
    assert icl_eval.decide(condition, context) is answer


def test_a_pattern_that_backtracks_forever_is_cut_off_and_false() -> None:
    started = time.monotonic()
    assert icl_eval.decide("event.s regex '^(a|aa)+$'", event(s="a" * 40 + "!")) is False
    assert time.monotonic() - started < 2.0


def test_nesting_is_bounded() -> None:
    depth = icl_eval.MAX_NESTING
    assert icl_eval.decide("(" * depth + "event.x == 1" + ")" * depth, event(x=1)) is True
    assert icl_eval.decide("not " * depth + "event.x == 1", event(x=1)) is True
    icl_eval.check("event.x in " + "[" * depth + "]" * depth)
    with pytest.raises(icl_eval.IclError, match="deeper than 100 levels"):
        icl_eval.check("(" * (depth + 1) + "event.x == 1" + ")" * (depth + 1))


# ------------------------------------------------------ a Level delivery, as ICL sees it


LEVEL_ALERT = {
    "id": "Z2lkOi8vbGV2ZWwvQWxlcnQvMQ",
    "device_hostname": "ACME-HQ-SRV01",
    "name": "CPU usage",
    "description": "CPU usage >75.0% for 10 minutes",
    "payload": "top: svchost",
    "severity": "critical",
    "is_resolved": False,
}


def test_a_level_delivery_is_seen_as_summary_details_and_custom_details() -> None:
    assert icl_eval.level_context(LEVEL_ALERT) == {"event": {
        "summary": "CPU usage on ACME-HQ-SRV01",
        "details": "CPU usage >75.0% for 10 minutes\n\ntop: svchost",
        "customDetails": LEVEL_ALERT,
    }}


@pytest.mark.parametrize(
    ("data", "summary", "details"),
    [
        ({"name": "Disk", "device_hostname": "WS-7", "description": "d"}, "Disk on WS-7", "d"),
        ({"name": "Disk", "device_hostname": ""}, "Disk", ""),
        ({"device_hostname": "WS-7", "payload": "p"}, "Level alert on WS-7", "p"),
        ({"name": "", "device_hostname": None, "description": None}, "Level alert", ""),
    ],
)
def test_a_level_alert_s_summary_and_details(
    data: dict[str, object], summary: str, details: str
) -> None:
    assert (icl_eval.level_summary(data), icl_eval.level_details(data)) == (summary, details)


@pytest.mark.parametrize(
    ("condition", "answer"),
    [
        ("event.customDetails.severity == 'CRITICAL'", True),
        ("event.customDetails.severity != 'emergency'", True),
        ("event.summary ends_with 'on acme-hq-srv01'", True),
        ("event.details contains 'svchost'", True),
        ("event.customDetails.device_hostname starts_with_any ['globex-']", False),
        ("event.customDetails.is_resolved == false", True),
    ],
)
def test_filters_on_a_level_delivery(condition: str, answer: bool) -> None:
    assert icl_eval.decide(condition, icl_eval.level_context(LEVEL_ALERT)) is answer
