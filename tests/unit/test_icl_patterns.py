"""ICL ``regex`` patterns are measured before they are compiled, by the project and by the
sandbox: a compile has no timeout and its memory grows with the repeats written out
(``x{4294967294}`` took gigabytes, then ``MemoryError``, uncaught: doctor, verify and discover
crashed on a live ``eventFilter`` like that). Refused at preview with a clear message and
its column; evaluated, unknown (project) or false (sandbox), never a crash.

The patterns are written into conditions as ICL single-quoted strings, each backslash
doubled (the project reads ``'\\d'`` as ``d``, a known difference from the sandbox:
tests/unit/test_icl_agreement.py).
"""

from __future__ import annotations

import resource
import time

import pytest

import icl
from sandbox import icl_eval

HUGE = [
    "x{4294967294}",                      # the finding: MemoryError after seconds
    "x{4294967295}",                      # the regex library's own "too big"
    "x{1001}",                            # one repeat above the bound
    "x{2000,}",                           # a lower bound counts too
    "(?:(?:a{100}){100}){2}",             # nested repeats multiply: 20,000 atoms
    "(?:a{999})" * 11,                    # 10,989 atoms, each repeat within bounds
    "(?i:[a-z]{500}){21}",                # a group with flags
    "a" * 1001,                           # too long
]
FINE = [
    r"^web-\d{2,4}$",
    r"(?:\p{L}{100}){100}",               # exactly 10,000 atoms
    "x{1000}",
    r"disk (?P<n>\d+)% full",
    r"[{}]{3}",                           # braces in a class are characters
    r"a{e<=1}",                           # fuzzy matching, not a repeat
    r"\N{SNOWMAN}{2}",                     # a braced escape is one atom
    "(?i)ß{10}",
]


def quoted(pattern: str) -> str:
    """``pattern`` as an ICL single-quoted string."""
    return "'" + pattern.replace("\\", "\\\\").replace("'", "\\'") + "'"


@pytest.mark.parametrize("pattern", HUGE)
def test_check_refuses_a_huge_pattern_at_once_with_its_column(pattern: str) -> None:
    condition = f"event.summary regex {quoted(pattern)}"
    started, before = time.monotonic(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    with pytest.raises(icl.IclSyntaxError, match="regular expression") as caught:
        icl.check(condition)

    assert time.monotonic() - started < 1.0
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 64 * 1024  # KiB
    assert caught.value.column == len("event.summary regex ") + 1
    message = str(caught.value)
    assert any(word in message for word in ("at most", "too big")), message


@pytest.mark.parametrize("pattern", FINE)
def test_patterns_within_the_bounds_compile(pattern: str) -> None:
    assert icl.pattern_problem(pattern) is None
    icl.check(f"event.summary regex {quoted(pattern)}")
    assert icl_eval.pattern_refusal(pattern) is None  # the sandbox takes what we send


def test_a_pattern_that_does_not_compile_is_a_clear_message() -> None:
    with pytest.raises(icl.IclSyntaxError, match=r"column 21: the regular expression is not "
                                                 r"valid: missing \)"):
        icl.check("event.summary regex '(unclosed'")


@pytest.mark.parametrize("pattern", HUGE)
def test_evaluating_a_huge_pattern_is_unknown_not_a_crash(pattern: str) -> None:
    """A live filter from ilert (doctor, verify, discover) or a pattern read from the event."""
    literal = icl.parse(f"event.summary regex {quoted(pattern)}")
    from_event = icl.parse("event.summary regex event.customDetails.pattern")
    context = {"event": {"summary": "x" * 50, "customDetails": {"pattern": pattern}}}

    assert icl.evaluate(literal, context) is None
    assert icl.evaluate(from_event, context) is None
    assert icl.matches(literal, context) is False


@pytest.mark.parametrize("pattern", HUGE[:6])
def test_the_sandbox_refuses_and_never_compiles_a_pattern_it_cannot_afford(pattern: str) -> None:
    started = time.monotonic()
    if icl_eval.pattern_refusal(pattern):
        with pytest.raises(icl_eval.IclError, match="regular expression"):
            icl_eval.check(f"event.summary regex {quoted(pattern)}")
    context = {"event": {"summary": "x", "customDetails": {"pattern": pattern}}}

    assert icl_eval.decide("event.summary regex event.customDetails.pattern", context) in (
        False, True)
    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize(
    "pattern",
    ["x{4294967294}", "x{10001}", "(?:(?:a{300}){300})", "(" * 501 + ")" * 501],
)
def test_the_sandbox_bounds_are_its_own(pattern: str) -> None:
    assert icl_eval.pattern_refusal(pattern)


def test_the_sandbox_is_looser_than_the_project() -> None:
    """ilert's own bound is not documented; the project refuses first, so a stack it accepts
    is never refused by the referee. Between the two: live filters the project cannot read."""
    between = "x{5000}"

    assert icl.pattern_problem(between) and not icl_eval.pattern_refusal(between)
