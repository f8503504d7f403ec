"""ICL's scanner, literals and error reporting (icl/condition.py): the exact message a user
sees for a bad eventFilter (line, column, the caret under the culprit), and the values the
parser reads from strings with escapes, numbers, JSON literals, nesting and durations."""

from __future__ import annotations

import pytest

import icl

LEVEL_ALERT = {
    "name": "Xeon",
    "device_hostname": "ACME-HQ-SRV01",
    "description": "CPU usage >75.0% for 10 minutes",
    "severity": "critical",
    "is_resolved": False,
    "load": 0.75,
    "label": "café",
}


def holds(condition: str) -> bool | None:
    return icl.evaluate(icl.parse(condition), icl.level_context(LEVEL_ALERT))


def message_for(condition: str) -> str:
    try:
        icl.check(condition)
    except icl.IclSyntaxError as error:
        return str(error)
    pytest.fail(f"{condition!r} was accepted")


def said(condition: str, column: int, message: str, hint: str = "") -> str:
    """What a one-line condition's error reads: where, why, the line, the caret, a hint."""
    tail = f"\n{hint}" if hint else ""
    return f"column {column}: {message}\n  {condition}\n  {' ' * (column - 1)}^{tail}"


BAD_ESCAPE = "this string has an invalid escape; write a backslash as \\\\"
KNOWN = (
    "Known operators: ==, !=, >=, <=, >, <, matches, contains, regex, starts_with, ends_with, "
    "exact_matches, exact_contains, contains_any, starts_with_any, ends_with_any, in, is_in; "
    "each may follow 'not'."
)


@pytest.mark.parametrize(
    ("condition", "column", "message"),
    [
        # strings
        ("event.summary contains 'disk", 24, "this string is never closed; end it with '"),
        ("event.x == 'it\\'", 12, "this string is never closed; end it with '"),
        ("event.x == 'abc\\", 12, "this string is never closed; end it with '"),
        ('event.summary contains "disk\\n', 24, 'this string is never closed; end it with "'),
        ('event.details contains "C:\\Xampp"', 27, BAD_ESCAPE),
        ('event.x == "\\q"', 13, BAD_ESCAPE),
        ('event.x == "\\n and \\q"', 20, BAD_ESCAPE),  # the bad one, not the first
        ('event.x == "\\q and \\n"', 13, BAD_ESCAPE),
        ('event.x == "\\u12"', 13, BAD_ESCAPE),
        ('event.x == "\\u\\n"', 13, BAD_ESCAPE),
        # numbers
        ("event.x == 1.2.3", 12, "'1.2.3' is not a number"),
        ("event.x == 5.", 12, "'5.' is not a number"),
        ("event.x == -", 12, "unexpected character '-'; put text with spaces or symbols in "
                             "single quotes ('like this')"),
        # operators
        ("event.x = 'a'", 9, "'=' is not an operator; compare with '=='"),
        ("event.x == == 1", 12, "expected a path or a value, found '=='"),
        ("event.x < < 1", 11, "expected a path or a value, found '<'"),
        ("event.x ==", 11, "expected a path or a value, found the end of the condition"),
        ("event.x == 'a' 'b'", 16, "expected 'and', 'or' or the end of the condition, found "
                                   "\"'b'\""),
        # brackets
        ("event.x == 1 or (event.y == 2]", 30,
         "expected ')' to close the '(' at column 17, found ']'"),
        ("event.x in ['a': 'b']", 16, "expected ']' to close the '[' at column 12, found ':'"),
        # JSON literals
        ("event.x in [1, , 2]", 16, "expected a value in the list, found ','"),
        ("event.x in [1,", 15, "expected a value in the list, found the end of the condition"),
        ("event.x in [abc]", 13, "expected a value in the list, found 'abc'"),
        ("event.x == {: 1}", 13, "an object key must be a quoted string"),
        ("event.x == {a: 1}", 13, "an object key must be a quoted string"),
        ('event.x == {"a" 1}', 17, "expected ':' after the object key"),
        ('event.x == {"a": 1 "b": 2}', 20,
         "expected '}' to close the '{' at column 12, found '\"b\"'"),
        ('event.x == {"a": 1 ]', 20, "expected '}' to close the '{' at column 12, found ']'"),
        ('event.x == {"a": 1', 12, "this '{' is never closed; add '}'"),
    ],
)
def test_a_bad_filter_reads_exactly_this(condition: str, column: int, message: str) -> None:
    assert message_for(condition) == said(condition, column, message)


def test_a_space_inside_a_trigger_count_duration_is_an_unknown_operator() -> None:
    condition = "trigger_count.10 m > 3"
    assert message_for(condition) == said(condition, 18, "unknown operator 'm'", KNOWN)


@pytest.mark.parametrize(
    ("condition", "line", "column", "shown"),
    [
        # the first of three lines: the caret line is that line alone
        ("event.x = 'a' and\nevent.y == 'b' and\nevent.z == 'c'", 1, 9, "event.x = 'a' and"),
        # the middle line
        ("event.x == 'a' and\nevent.y = 'b' and\nevent.z == 'c'", 2, 9, "event.y = 'b' and"),
        # the last line
        ("event.x == 'a' and\nevent.y == 'b' and\nevent.z = 'c'", 3, 9, "event.z = 'c'"),
        # a filter written as a YAML block that starts with a line break
        ("\nevent.x = 'a'", 2, 9, "event.x = 'a'"),
    ],
)
def test_a_multi_line_filter_names_the_line_and_shows_only_it(
    condition: str, line: int, column: int, shown: str
) -> None:
    assert message_for(condition) == (
        f"line {line}, column {column}: '=' is not an operator; compare with '=='\n"
        f"  {shown}\n  {' ' * (column - 1)}^"
    )


def test_a_long_line_is_shown_around_the_culprit() -> None:
    digits = "0123456789" * 15
    condition = (
        f"event.customDetails.description contains '{digits}' and event.x = 1 and "
        f"event.z == '{'b' * 80}'"
    )
    # '=' is at column 207: 60 characters are shown before it and 39 after.
    where, shown, caret = message_for(condition).splitlines()
    assert where == "column 207: '=' is not an operator; compare with '=='"
    assert shown == "  " + digits[104:] + "' and event.x = 1 and event.z == '" + "b" * 20
    assert caret == "  " + " " * 60 + "^"


def test_a_long_line_with_an_early_culprit_is_cut_after_100_characters() -> None:
    condition = "event.x = '" + "0123456789" * 12 + "'"
    where, shown, caret = message_for(condition).splitlines()
    assert where == "column 9: '=' is not an operator; compare with '=='"
    assert shown == "  " + condition[:100]
    assert caret == "  " + " " * 8 + "^"


# ------------------------------------------------------------------------ what is read


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("event.customDetails.severity=='critical'", True),  # no spaces around operators
        ("event.customDetails.load>0.5", True),
        ("event.customDetails.load<0.5", False),
        ("event.customDetails.load > -5", True),  # a negative number at the very end
        ("-5 < event.customDetails.load", True),
        ("event.customDetails.load > -12", True),
        ("event.customDetails.name == Xeon", True),  # an unquoted word starting with X
        ('event.customDetails.label exact_matches "caf\\u00e9"', True),  # JSON escapes
        ('event.customDetails.label exact_matches "caf\\u00e9 "', False),
        ('event.details contains "\\u003e75"', True),
        ("event.customDetails.load contains '0.75'", True),  # a number is text for text ops
        ("event.customDetails.load starts_with 0", True),
        ("event.customDetails.is_resolved < 1", False),  # a boolean is not a number
        ("event.customDetails.is_resolved >= 0", False),
        ("true > 0", False),
    ],
)
def test_what_a_filter_decides_on_a_level_alert(condition: str, expected: bool) -> None:
    assert holds(condition) is expected


def right_value(condition: str) -> object:
    tree = icl.parse(condition)
    assert isinstance(tree, icl.Compare) and isinstance(tree.right, icl.Literal)
    return tree.right.value


def test_double_quoted_strings_decode_json_escapes_wherever_they_sit() -> None:
    assert right_value(
        'event.x in ["tab\\there","say \\"hi\\"\\n", "\\"quoted\\"\\r", "\\u00e9\\/", "\\\\n"]'
    ) == ("tab\there", 'say "hi"\n', '"quoted"\r', "é/", "\\n")
    assert right_value('event.x in ["\\t",1]') == ("\t", 1)
    assert right_value('event.x == "a\tb\\n"') == "a\tb\n"  # a raw tab, as without escapes
    assert right_value('event.x == "\\"plain\\" \\\\ /"') == '"plain" \\ /'


def test_json_literals_are_read_as_written() -> None:
    value = right_value(
        "event.x in [[1, 2], {\"a\": [true, false, nil, null], 'b': 'q'}, -3, 2.5, []]"
    )
    assert value == ((1, 2), {"a": (True, False, None, None), "b": "q"}, -3, 2.5, ())
    assert right_value("event.x == {}") == {}


@pytest.mark.parametrize(
    ("condition", "read"),
    [
        ("trigger_count.10m > 3", "trigger_count.10m"),
        ("resetting_trigger_count.5h>=100", "resetting_trigger_count.5h"),
        ("trigger_count.10 >= 3", "trigger_count.10"),  # no unit: the number alone
        ("trigger_count.10>3", "trigger_count.10"),
    ],
)
def test_a_trigger_count_takes_the_unit_written_right_after_its_number(
    condition: str, read: str
) -> None:
    assert icl.paths(icl.parse(condition)) == [read]


# ------------------------------------------------------------------------------ nesting


def first_line_of_error(condition: str) -> str:
    return message_for(condition).splitlines()[0]


def test_64_levels_of_nesting_pass_and_the_65th_is_named() -> None:
    icl.check("(" * 64 + "event.x == 1" + ")" * 64)
    icl.check("not " * 64 + "event.x == 1")
    icl.check("event.x in " + "[" * 64 + "]" * 64)
    assert first_line_of_error("(" * 65 + "event.x == 1" + ")" * 65) == (
        "column 65: the condition nests deeper than 64 levels"
    )
    assert first_line_of_error("event.x in " + "[" * 65 + "]" * 65) == (
        "column 76: the condition nests deeper than 64 levels"
    )


def test_a_list_counts_as_a_level_where_it_sits_and_no_longer_after() -> None:
    icl.check("(" * 63 + "event.x in [1]" + ")" * 63)
    assert first_line_of_error("(" * 64 + "event.x in [1]" + ")" * 64) == (
        "column 76: the condition nests deeper than 64 levels"
    )
    before = "event.x in [1] and event.y == {\"a\": [2]} and "
    icl.check(before + "(" * 64 + "event.z == 1" + ")" * 64)
    assert first_line_of_error(before + "(" * 65 + "event.z == 1" + ")" * 65) == (
        f"column {len(before) + 65}: the condition nests deeper than 64 levels"
    )
