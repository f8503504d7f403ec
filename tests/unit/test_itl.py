"""providers/itl.py: ilert's template language as a user writes it, checked at preview, and
two spellings of one template seen as one (ilert writes templates back in its own)."""

from __future__ import annotations

import re

import pytest

from providers import itl

DOCUMENTED = [  # the samples of docs.ilert.com "ITL - ilert template language"
    "Some text",
    "{{var}}",
    "{{ var.subfield.evenMore }}",
    "{{ var.arrayField[0].more }}",
    r"{{ var.compl:ex\ key-123.noproblem }}",
    "{{var.lowerCase()}}",
    '{{var.splitTakeAt("one two", 10)}}',
    "{{ #var }}\ntrue\n{{ /var }}\n{{ ^var }}\nfalse\n{{ /var }}",
    "{{ #array }}\n{{ firstName }} {{ lastName }}\n{{ /array }}",
    "{{ var.substring(3) }}",
    "{{ var.substring(5, 7) }}",
    '{{ var.replaceAll("Gavin Belson", "Richard Hendricks") }}',
    '{{ var.startsWithTakeOrDrop("I am the best", "In your dreams") }}',
    '{{ var.formatUnixMs("S") }}',
    '{{ var.join("- ") }}',
    '{{ companies.joinFromObjectArr("ceo", "+") }}',
    r'{{ body.extractRegex("[a-f0-9]{8}") }}',
    "{{ #simple }}\n{{.}}\n{{ /simple }}",
]


@pytest.mark.parametrize("text", DOCUMENTED)
def test_every_documented_sample_is_accepted(text: str) -> None:
    itl.check(text)


@pytest.mark.parametrize(
    ("text", "says", "column"),
    [
        ("{{ data.name", "'{{' is never closed", 1),
        ("Hi {{ }}", "an empty tag", 7),
        ("{{ data.name.lowercase() }}", "unknown function 'lowercase' (did you mean "
                                        "'lowerCase'?)", 14),
        ('{{ data.name.substring("a") }}', "substring takes a whole number, then optionally",
         23),
        ("{{ data.name.join(1) }}", "join takes optionally a string", 18),
        ("{{ #a }}x", "{{ #a }} is never closed; end it with {{ /a }}", 1),
        ("{{ #a }}x{{ /b }}", "{{ /b }} closes {{ #a }}; close it with {{ /a }}", 10),
        ("{{ /a }}", "closes a section that was never opened", 1),
        ("{{ data..name }}", "a path has a name between its dots", 9),
        ("{{ data.list[x] }}", "an index is a whole number in brackets", 13),
        ('{{ data.name.replaceAll("a" "b") }}', "separate the arguments with a comma", 29),
        ("{{ .lowerCase() }}", "a path has a name between its dots", 4),
    ],
)
def test_a_mistake_is_named_with_its_column_and_a_caret(text: str, says: str, column: int
                                                        ) -> None:
    with pytest.raises(itl.ItlSyntaxError, match=re.escape(says)) as caught:
        itl.check(text)

    assert caught.value.column == column
    assert str(caught.value).splitlines()[-1] == "  " + " " * (column - 1) + "^"


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("{{ data.name }} on {{ data.device_hostname }}",
         "{{data.name}} on {{data.device_hostname}}"),
        ('{{ a.replaceAll("x", "y") }}', "{{a.replaceAll('x',  \"y\")}}"),
        ("{{#list}}{{ . }}{{/list}}", "{{ #list }}{{.}}{{ /list }}"),
        ("", None),
    ],
)
def test_spellings_of_one_template_are_the_same(first: str, second: str | None) -> None:
    assert itl.same(first, second)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("{{ data.name }}", "{{ data.Name }}"),
        ("{{ data.name }} ", "{{ data.name }}"),  # text outside tags is kept as written
        ('{{ a.join("- ") }}', '{{ a.join("-") }}'),
        ("x", None),
    ],
)
def test_templates_that_differ_are_not_the_same(first: str, second: str | None) -> None:
    assert not itl.same(first, second)


def test_a_template_that_does_not_parse_is_compared_as_written() -> None:
    assert itl.normalised("{{ broken") == "{{ broken"
    assert not itl.same("{{ broken", "{{broken")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # the line and column on the line, the caret under that line alone
        ("a\n{{ }}\nc", "line 2, column 4: an empty tag '{{ }}': put a variable inside, such "
                        "as {{ data.name }}\n  {{ }}\n     ^"),
        ("\n{{ }}", "line 2, column 4: an empty tag '{{ }}': put a variable inside, such as "
                    "{{ data.name }}\n  {{ }}\n     ^"),
        ("one\ntwo\n{{ #a }}x\nthree\nfour", "line 3, column 1: {{ #a }} is never closed; end "
                                            "it with {{ /a }}\n  {{ #a }}x\n  ^"),
        ("{{ a }}\nb {{ /c }} d\ne\nf", "line 2, column 3: {{ /c }} closes a section that was "
                                       "never opened\n  b {{ /c }} d\n    ^"),
        ("Hi {{ }}", "column 7: an empty tag '{{ }}': put a variable inside, such as "
                     "{{ data.name }}\n  Hi {{ }}\n        ^"),
        # a long line is shown from 60 characters before the mistake, 100 at most
        ("x" * 80 + "{{ }}" + "y" * 100, "column 84: an empty tag '{{ }}': put a variable "
         "inside, such as {{ data.name }}\n  " + "x" * 57 + "{{ }}" + "y" * 38 + "\n  "
         + " " * 60 + "^"),
    ],
)
def test_the_whole_message_shows_the_line_of_the_mistake_and_a_caret_under_it(
    text: str, message: str
) -> None:
    with pytest.raises(itl.ItlSyntaxError, match=re.escape(message)) as caught:
        itl.check(text)

    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("text", "says", "column"),
    [
        ("{{ a.substring(x) }}", "an argument is a quoted string or a whole number", 16),
        ('{{ a.replaceAll(X, "y") }}', "an argument is a quoted string or a whole number", 17),
        ("{{ a.lowerCase(1) }}", "lowerCase takes no arguments", 15),
        # an escaped quote in the path opens no string, so ilert reads `") ` as an argument
        ('{{ a\\".join(") }}', "a string argument is never closed", 13),
    ],
)
def test_a_wrong_argument_is_named_with_its_column(text: str, says: str, column: int) -> None:
    with pytest.raises(itl.ItlSyntaxError, match=re.escape(says)) as caught:
        itl.check(text)

    assert str(caught.value).split("\n")[0] == f"column {column}: {says}"


def test_a_quote_escaped_inside_a_string_argument_is_part_of_it() -> None:
    itl.check('{{ a.join("x\\"y") }}')

    assert itl.same('{{ a.join("x\\"y") }}', "{{ a.join('x\"y') }}")
    assert not itl.same('{{ a.join("x\\"y") }}', '{{ a.join("xy") }}')


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ('{{ a.replaceAll("ab", "c") }}', '{{ a.replaceAll("xb", "c") }}'),  # first character
        ('{{ a.replaceAll("a, b", "c") }}', '{{ a.replaceAll("a", "b, c") }}'),  # the comma
        ("{{ a.substring(3) }}", "{{ a.substring(5) }}"),
    ],
)
def test_arguments_that_differ_make_templates_that_differ(first: str, second: str) -> None:
    itl.check(first)
    itl.check(second)

    assert not itl.same(first, second)


@pytest.mark.parametrize(
    ("text", "column", "says"),
    [
        ("{{ a[x] }}", 5, "an index is a whole number in brackets, such as list[0]"),
        ("{{ a[0 }}", 5, "an index is a whole number in brackets, such as list[0]"),
        ("{{ .a }}", 4, "a path has a name between its dots"),
        ("{{ a..b }}", 6, "a path has a name between its dots"),
        ("{{ a. }}", 6, "expected a variable name, such as data.name"),
    ],
)
def test_a_path_that_ilert_cannot_read_is_named_at_its_column(
    text: str, column: int, says: str
) -> None:
    with pytest.raises(itl.ItlSyntaxError, match=re.escape(says)) as caught:
        itl.check(text)

    assert str(caught.value).split("\n")[0] == f"column {column}: {says}"


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("{{ a[0].b }}", "{{ a[1].b }}"),  # the index
        ("{{ a\\ b.c }}", "{{ a\\ b.d }}"),  # after an escaped space
        ("{{ a\\ b.c }}", "{{ a\\ bc.c }}"),
        ("{{ a[0][1].c }}", "{{ a[0].c }}"),  # a second index
    ],
)
def test_paths_that_differ_make_templates_that_differ(first: str, second: str) -> None:
    itl.check(first)
    itl.check(second)

    assert itl.same(first, first)
    assert not itl.same(first, second)
