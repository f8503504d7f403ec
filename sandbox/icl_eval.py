"""The sandbox's own reading of ICL, ilert's condition language: enough to referee the
``eventFilter`` of an alert source, written from ilert's documentation alone.

Why a second evaluator: the project has an ICL package (``icl/``) that checks filters at
preview and predicts routing. If the sandbox used it, a bug there would be a bug here too
and no test could see it. This module imports nothing of the project; a test
(tests/sandbox/test_independence.py) keeps it so, and tests/unit/test_icl_agreement.py makes
both evaluators decide the same table of filters and events.

What ilert documents (docs.ilert.com "ICL - ilert condition language"), as read here:

- ``or`` binds looser than ``and``; ``not`` negates the condition after it, or, written
  before an operator (``not contains``, ``not_contains``), negates that operator
  (``not matches`` is ``!=``); parentheses group.
- Paths: ``event.a.b``, ``event['quoted name']``, ``event.list[0]`` and the unquoted,
  backslash-escaped form ``event.customDetails[key\\ wi:th\\ spaces]``. A path that leads
  nowhere is ``nil``.
- Values: single-quoted strings (``\\'`` and ``\\\\`` escapes; any other backslash stays as
  written, so ``'\\d+'`` is a regular expression's ``\\d+``), double-quoted JSON strings,
  one-word unquoted strings (``Platin``), integers (64-bit; a bigger one is refused) and
  floats (a digit before and after the point), ``true``/``false``/``nil``, inline JSON
  arrays and objects.
- ``==``/``!=`` work on every type: ``'1' == 1`` (a numeric string is cast), strings
  ignore case, ``nil`` equals only ``nil``, a boolean only a boolean, arrays and objects
  by content (their strings ignoring case too). ``matches`` is an alias of ``==``.
- ``>``, ``>=``, ``<``, ``<=`` on numbers (numeric strings cast); an integer compared with
  a float is compared at the float's precision (``9007199254740993 == 9007199254740992.0``).
- ``contains``, ``starts_with``, ``ends_with``, ``regex`` (a search, not a full match)
  ignore case; ``exact_matches``/``exact_contains`` do not. A number is text to them.
- ``in`` needs an array on its right (inline or a path); ``contains_any``,
  ``starts_with_any``, ``ends_with_any`` a string on the left and an array of strings on
  the right.
- **A comparison of types it does not apply to is false, never an error** (``3 > 'three'``);
  it is false as a whole, ``not`` operator included (``nil not contains 'a'`` is false), and
  ``not (...)`` around it sees that false (``not (nil contains 'a')`` is true).
- Reserved words (``for``, ``if``, ...) are neither unquoted strings nor operators.

Valid but not emulated, because their value is ilert's alone: ``now``, ``is_in`` (support
hours, schedules) and ``trigger_count.*``/``resetting_trigger_count.*``. A comparison
using them is *unknown*; ``and``/``or``/``not`` carry unknown as three-valued logic does,
and a filter that ends unknown does not accept the event.

How ilert shows a Level delivery to ICL is not documented. The sandbox assumes (as
../shared/reference/level-webhook-contract.md and the project do) the ``alert_active``
delivery's ``data`` object (Level's alert) is seen as::

    event.summary        "<data.name> on <data.device_hostname>" (the alert's summary;
                         "Level alert" when there is no name, no " on ..." without a host)
    event.details        data.description and data.payload, those present, joined by a
                         blank line (the alert's details)
    event.customDetails  data itself (event.customDetails.severity, .device_hostname, ...)

Sandbox choices where ilert documents nothing: ``regex`` runs with a timeout on at most
``MAX_SUBJECT`` characters and a pattern that does not compile makes its comparison false
(a literal one is refused by :func:`check`, as the sandbox always did). A compile has no
timeout and its memory grows with the pattern's repeats written out (``x{4294967294}``
exhausts memory), so a pattern is measured first (:func:`pattern_refusal`, a reading of its
own): more than ``MAX_PATTERN_REPEAT`` repeats of one thing, more than ``MAX_PATTERN_ATOMS``
atoms written out or groups nested deeper than ``MAX_PATTERN_GROUPS`` are refused by
:func:`check` and false when evaluated, never compiled. These bounds are looser than the
project's (icl/), which must refuse first; an index in
brackets counts from 0 and only unsigned numbers are indexes (``[-1]`` is the key ``-1``,
so ``nil`` on an array); nesting deeper than ``MAX_NESTING`` is refused.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final, TypeAlias

import regex

MAX_NESTING: Final = 100
MAX_PATTERN_REPEAT: Final = 10_000
MAX_PATTERN_ATOMS: Final = 50_000
MAX_PATTERN_GROUPS: Final = 500  # balanced, the project's 1,000 characters nest at most 500
MAX_SUBJECT: Final = 100_000
REGEX_SECONDS: Final = 0.05
_INT64: Final = 2**63

_STRING_OPS: Final = frozenset((
    "contains", "starts_with", "ends_with", "regex", "exact_matches", "exact_contains",
))
_ANY_OPS: Final = frozenset(("contains_any", "starts_with_any", "ends_with_any"))
_WORD_OPS: Final = frozenset(("matches", "in", "is_in", *_STRING_OPS, *_ANY_OPS))
_SYMBOL_OPS: Final = ("==", "!=", ">=", "<=", ">", "<")  # two-character ones first
_RESERVED: Final = frozenset((
    "break", "at", "do", "as", "const", "continue", "def", "else", "end", "eq", "function",
    "for", "gte", "gt", "if", "import", "is", "let", "lte", "lt", "loop", "namespace",
    "package", "require", "return", "var", "void", "when", "while",
))
_LOGIC: Final = frozenset(("and", "or", "not"))
_COUNTERS: Final = ("trigger_count", "resetting_trigger_count")
_IDENT_START: Final = re.compile(r"[A-Za-z_]")
_IDENT: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER: Final = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_NUMERIC_TEXT: Final = re.compile(r"\s*-?[0-9]+(?:\.[0-9]+)?\s*")


class IclError(ValueError):
    """A condition the sandbox (as ilert) refuses: ``column`` (1-based) says where."""

    def __init__(self, text: str, at: int, why: str) -> None:
        at = max(0, min(at, len(text)))
        self.line = text.count("\n", 0, at) + 1
        self.column = at - (text.rfind("\n", 0, at) + 1) + 1
        self.why = why
        where = f"line {self.line}, column {self.column}" if "\n" in text else (
            f"column {self.column}"
        )
        super().__init__(f"{where}: {why}")


# ------------------------------------------------------------------------ what is parsed


class _Opaque:
    """A value only ilert knows (``now``, a trigger count)."""

    def __repr__(self) -> str:
        return "<ilert only>"


OPAQUE: Final = _Opaque()
_WORD_VALUES: Final[dict[str, object]] = {"true": True, "false": False, "nil": None, "now": OPAQUE}


@dataclass(frozen=True)
class _Const:
    value: object


@dataclass(frozen=True)
class _Path:
    steps: tuple[str | int, ...]


_Operand: TypeAlias = _Const | _Path


@dataclass(frozen=True)
class _Test:
    """``left op right`` (``op`` None: the operand alone, true when it is ``true``)."""

    left: _Operand
    op: str | None
    right: _Operand | None
    negate: bool
    at: int


@dataclass(frozen=True)
class _Junction:
    """``and`` (``every`` True) or ``or`` of two or more conditions."""

    every: bool
    parts: tuple[_Cond, ...]


@dataclass(frozen=True)
class _Inverse:
    inner: _Cond


_Cond: TypeAlias = _Test | _Junction | _Inverse


class _Reader:
    """A recursive-descent reader working on the characters directly (no token list):
    each method starts at ``self.at`` after blanks and leaves ``self.at`` after what it read.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0
        self.nesting = 0

    # ------------------------------------------------------------------ small helpers

    def error(self, why: str, at: int | None = None) -> IclError:
        return IclError(self.text, self.at if at is None else at, why)

    def blank(self) -> None:
        while self.at < len(self.text) and self.text[self.at].isspace():
            self.at += 1

    def char(self) -> str:
        """The next character after blanks ('' at the end)."""
        self.blank()
        return self.text[self.at] if self.at < len(self.text) else ""

    def word_here(self) -> str:
        """The identifier starting at ``self.at`` (after blanks), not consumed ('' if none)."""
        self.blank()
        found = _IDENT.match(self.text, self.at)
        return found.group() if found else ""

    def shown(self) -> str:
        self.blank()
        if self.at >= len(self.text):
            return "the end of the condition"
        word = self.word_here()
        if word:
            return repr(word)
        symbol = next((s for s in _SYMBOL_OPS if self.text.startswith(s, self.at)), "")
        return repr(symbol or self.text[self.at])

    def deeper(self, at: int) -> None:
        self.nesting += 1
        if self.nesting > MAX_NESTING:
            raise self.error(f"the condition nests deeper than {MAX_NESTING} levels", at)

    # -------------------------------------------------------------- conditions

    def condition(self) -> _Cond:
        if not self.text.strip():
            raise self.error("the condition is empty", 0)
        found = self.any_of()
        self.blank()
        if self.at < len(self.text):
            if self.text[self.at] == ")":
                raise self.error("this ')' closes nothing")
            raise self.error(f"expected 'and', 'or' or the end, found {self.shown()}")
        return found

    def any_of(self) -> _Cond:
        parts = [self.all_of()]
        while self.word_here() == "or":
            self.at += 2
            parts.append(self.all_of())
        return parts[0] if len(parts) == 1 else _Junction(False, tuple(parts))

    def all_of(self) -> _Cond:
        parts = [self.single()]
        while self.word_here() == "and":
            self.at += 3
            parts.append(self.single())
        return parts[0] if len(parts) == 1 else _Junction(True, tuple(parts))

    def single(self) -> _Cond:
        start = self.at
        if self.word_here() == "not":
            self.at += 3
            self.deeper(start)
            inner = self.single()
            self.nesting -= 1
            return _Inverse(inner)
        if self.char() == "(":
            opened = self.at
            self.at += 1
            self.deeper(opened)
            inner = self.any_of()
            if self.char() != ")":
                raise self.error(f"expected ')' for the '(' at column {opened + 1}, found "
                                 f"{self.shown()}")
            self.at += 1
            self.nesting -= 1
            return inner
        return self.test()

    def test(self) -> _Test:
        self.blank()
        start = self.at
        left = self.operand()
        self.blank()
        op_at = self.at
        negate = False
        if self.word_here() == "not":
            self.at += 3
            negate = True
        self.blank()
        word_at = self.at
        op = self.operator()
        if op is None:
            if negate:
                raise self.error("'not' here needs an operator after it (e.g. 'not contains')")
            return _Test(left, None, None, False, start)
        if op.startswith("not_"):
            if negate:
                raise self.error("'not' twice before one operator", word_at)
            op, negate = op[4:], True
        right = self.operand()
        return _Test(left, op, right, negate, op_at)

    def operator(self) -> str | None:
        """The operator at ``self.at`` (consumed), or None when the condition ends here."""
        char = self.char()
        for symbol in _SYMBOL_OPS:
            if self.text.startswith(symbol, self.at):
                self.at += len(symbol)
                return symbol
        if char == "=":
            raise self.error("'=' is not an operator ('==' compares)")
        if char in ("&", "|"):
            raise self.error(f"{char!r} is not an operator (use 'and' / 'or')")
        word = self.word_here()
        if char in ("", ")") or word in ("and", "or"):
            return None
        if not word:
            raise self.error(f"expected an operator, found {self.shown()}")
        if word in _WORD_OPS or (word.startswith("not_") and word[4:] in _WORD_OPS):
            self.at += len(word)
            return word
        if word in _RESERVED:
            raise self.error(f"{word!r} is reserved in ICL and is not an operator")
        raise self.error(f"unknown operator {word!r}")

    # ---------------------------------------------------------------- operands

    def operand(self) -> _Operand:
        char = self.char()
        if char == "":
            raise self.error("a value or a path is missing at the end")
        if char in "'\"":
            return _Const(self.string())
        if char == "-" or char.isdigit():
            return _Const(self.number())
        if char in "[{":
            return _Const(self.json_value())
        return self.word_operand()

    def word_operand(self) -> _Operand:
        """A keyword value, a trigger count, a path or an unquoted one-word string."""
        start = self.at
        word = self.word_here()
        if not word:
            raise self.error(f"expected a value or a path, found {self.shown()}")
        self.at += len(word)
        if word in _WORD_VALUES:
            return _Const(_WORD_VALUES[word])
        if word in _RESERVED or word in _LOGIC:
            raise self.error(f"{word!r} is a reserved word; quote it to compare with it", start)
        if word in _WORD_OPS or (word.startswith("not_") and word[4:] in _WORD_OPS):
            raise self.error(f"the operator {word!r} has no left side", start)
        follows = self.text[self.at : self.at + 1]
        if word in _COUNTERS and follows == ".":
            window = _IDENT.match(self.text, self.at + 1) or re.compile(r"[0-9A-Za-z]+").match(
                self.text, self.at + 1
            )
            if window is None:
                raise self.error("a trigger count needs its window, e.g. trigger_count.5m",
                                 self.at + 1)
            self.at = window.end()
            return _Const(OPAQUE)
        if follows not in (".", "["):
            return _Const(word)  # an unquoted one-word string
        return _Path((word, *self.steps()))

    def steps(self) -> list[str | int]:
        found: list[str | int] = []
        while self.at < len(self.text) and self.text[self.at] in ".[":
            if self.text[self.at] == ".":
                name = _IDENT.match(self.text, self.at + 1)
                if name is None:
                    raise self.error("a field name (letters, digits, '_') must follow '.'",
                                     self.at + 1)
                found.append(name.group())
                self.at = name.end()
            else:
                found.append(self.bracket())
        return found

    def bracket(self) -> str | int:
        opened = self.at
        self.at += 1
        char = self.char()
        if char in ("'", '"'):
            key: str | int = self.string()
        elif char.isdigit():
            digits = re.compile(r"[0-9]+").match(self.text, self.at)
            assert digits is not None
            key, self.at = int(digits.group()), digits.end()
        else:
            key = self.bare_key()
        if self.char() != "]":
            raise self.error(f"expected ']' for the '[' at column {opened + 1}, found "
                             f"{self.shown()}")
        self.at += 1
        return key

    def bare_key(self) -> str:
        """``key\\ wi:th\\ spaces``: up to ``]``, a backslash keeps the next character."""
        out: list[str] = []
        start = self.at
        while self.at < len(self.text) and self.text[self.at] != "]":
            char = self.text[self.at]
            if char == "\\" and self.at + 1 < len(self.text):
                out.append(self.text[self.at + 1])
                self.at += 2
            elif char.isspace():
                raise self.error("a space in a name in [...] needs a backslash before it, or "
                                 "quote the name: ['a name']")
            else:
                out.append(char)
                self.at += 1
        if not out:
            raise self.error("a name or an index must be inside [...]", start)
        return "".join(out)

    def string(self) -> str:
        quote = self.text[self.at]
        start = self.at
        end = start + 1
        while end < len(self.text) and self.text[end] != quote:
            end += 2 if self.text[end] == "\\" else 1
        if end >= len(self.text):
            raise self.error(f"the string is not closed (no {quote} after it)", start)
        raw = self.text[start + 1 : end]
        self.at = end + 1
        if quote == '"':
            try:
                decoded = json.loads(self.text[start : end + 1], strict=False)
            except ValueError:
                raise self.error("the string has a backslash JSON does not know", start) from None
            assert isinstance(decoded, str)
            return decoded
        return re.sub(r"\\([\\'])", r"\1", raw)

    def number(self) -> int | float:
        found = _NUMBER.match(self.text, self.at)
        after = found.end() if found else self.at
        if found is None or (after < len(self.text) and (
            self.text[after] in "." or _IDENT_START.match(self.text[after])
            or self.text[after].isdigit()
        )):
            tail = re.compile(r"[-0-9A-Za-z_.]*").match(self.text, self.at)
            assert tail is not None
            raise self.error(f"{tail.group() or self.text[self.at]!r} is not a number")
        self.at = after
        text = found.group()
        if "." in text:
            return float(text)
        value = int(text)
        if not -_INT64 <= value < _INT64:
            raise self.error(f"{text} is outside ICL's 64-bit integers", found.start())
        return value

    def json_value(self) -> object:
        char = self.char()
        if char == "":
            raise self.error("expected a JSON value, found the end of the condition")
        if char in "'\"":
            return self.string()
        if char == "-" or char.isdigit():
            return self.number()
        if char in "[{":
            return self.json_container(char)
        word = self.word_here()
        if word in ("true", "false", "nil", "null"):
            self.at += len(word)
            return {"true": True, "false": False}.get(word)
        raise self.error(f"expected a JSON value, found {self.shown()}")

    def json_container(self, char: str) -> object:
        """An inline JSON array or object (single-quoted strings allowed too)."""
        start = self.at
        closer = "]" if char == "[" else "}"
        self.at += 1
        self.deeper(start)
        items: list[object] = []
        members: dict[str, object] = {}
        while self.char() != closer:
            if self.char() == "":
                raise self.error(f"the {char!r} at column {start + 1} is never closed")
            if items or members:
                if self.char() != ",":
                    raise self.error(f"expected ',' or {closer!r} for the {char!r} at "
                                     f"column {start + 1}, found {self.shown()}")
                self.at += 1
            if char == "[":
                items.append(self.json_value())
                continue
            if self.char() not in ("'", '"'):
                raise self.error("an object's key must be a quoted string")
            key = self.string()
            if self.char() != ":":
                raise self.error("expected ':' after the key")
            self.at += 1
            members[key] = self.json_value()
        self.at += 1
        self.nesting -= 1
        return items if char == "[" else members


@functools.lru_cache(maxsize=512)
def _compiled(text: str) -> _Cond:
    return _Reader(text).condition()


# --------------------------------------------------------------------------- public


def check(text: str) -> None:
    """Raise :class:`IclError` unless ``text`` is a condition the sandbox accepts as ilert
    would; a ``regex`` operator's literal pattern must compile."""
    tree = _compiled(text)
    pending: list[_Cond] = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, _Junction):
            pending.extend(node.parts)
        elif isinstance(node, _Inverse):
            pending.append(node.inner)
        elif node.op == "regex" and isinstance(node.right, _Const) and isinstance(
            node.right.value, str
        ):
            refusal = pattern_refusal(node.right.value)
            if refusal:
                raise IclError(text, node.at, refusal)
            try:
                regex.compile(node.right.value)
            except regex.error as exc:
                raise IclError(text, node.at, f"the regular expression is not valid: {exc}") \
                    from None


class _TooBig(Exception):
    """A pattern the sandbox will not compile (the message says why)."""


_QUANTIFIER: Final = re.compile(r"\{([0-9]*),?([0-9]*)\}")
_BRACED: Final = re.compile(r"\\[pPNx]\{[^}]*\}")


def pattern_refusal(pattern: str) -> str | None:
    """Why the sandbox will not compile ``pattern`` (None: it will). Reads the pattern by
    recursive descent, counting each repeat as written out; what it cannot read counts
    more, never less."""
    total, at = 0, 0
    try:
        while at < len(pattern):  # a ")" that closes nothing does not end the reading
            atoms, at = _alternatives(pattern, at, 0, total)
            total, at = total + atoms, at + 1
    except _TooBig as exc:
        return str(exc)
    return None


def _alternatives(pattern: str, at: int, depth: int, before: int = 0) -> tuple[int, int]:
    """The atoms of the alternatives from ``at`` to the ``)`` that closes them (or the end),
    and where reading stopped (at that ``)``); ``before``: atoms counted outside them."""
    if depth > MAX_PATTERN_GROUPS:
        raise _TooBig(f"the regular expression nests groups deeper than {MAX_PATTERN_GROUPS}")
    total = 0
    unit = 0  # the atoms of the last thing read, which a quantifier repeats
    while at < len(pattern) and pattern[at] != ")":
        char = pattern[at]
        counts = _QUANTIFIER.match(pattern, at) if char == "{" else None
        if counts and (counts[1] or counts[2]):
            times = max(int(counts[1] or 0), int(counts[2] or 0), 1)
            if times > MAX_PATTERN_REPEAT:
                raise _TooBig(f"the regular expression repeats something {times} times; the "
                              f"sandbox compiles at most {MAX_PATTERN_REPEAT}")
            total += unit * (times - 1)
            unit *= times
            at = counts.end()
        elif char == "(":
            unit, at = _alternatives(pattern, at + 1, depth + 1, before + total)
            unit = max(unit, 1)
            total += unit
            at += 1  # past the ")"
        elif char == "[":
            unit, at = 1, _after_set(pattern, at)
            total += 1
        elif char in "|*+?":
            unit, at = (0 if char == "|" else unit), at + 1
        elif char == "\\" and _BRACED.match(pattern, at):
            unit, at = 1, pattern.index("}", at) + 1  # \p{...}, \x{...}: one atom
            total += 1
        else:
            unit, at = 1, at + (2 if char == "\\" else 1)
            total += 1
        if before + total > MAX_PATTERN_ATOMS:
            raise _TooBig(f"the regular expression is too big once its repeats are written "
                          f"out (more than {MAX_PATTERN_ATOMS} atoms)")
    return total, at


def _after_set(pattern: str, at: int) -> int:
    """Where the ``[...]`` set opened at ``at`` ends (past its ``]``)."""
    at += 2 if pattern.startswith("[^", at) else 1
    at += 1 if pattern.startswith("]", at) else 0
    while at < len(pattern) and pattern[at] != "]":
        at += 2 if pattern[at] == "\\" else 1
    return at + 1


def decide(text: str, context: Mapping[str, object]) -> bool | None:
    """True or False for the condition on ``context`` (``{"event": {...}}``); None when the
    answer depends on what only ilert knows. Raises :class:`IclError` for a bad condition."""
    return _decide(_compiled(text), context)


def accepts(text: str, context: Mapping[str, object]) -> bool:
    """Whether an alert source with this ``eventFilter`` takes the event."""
    return decide(text, context) is True


# ------------------------------------------------------------------------ evaluation


class _NotApplicable(Exception):
    """An operator given types it does not work on: the comparison is false."""


def _decide(node: _Cond, context: Mapping[str, object]) -> bool | None:
    if isinstance(node, _Inverse):
        inner = _decide(node.inner, context)
        return None if inner is None else not inner
    if isinstance(node, _Junction):
        unknown = False
        for part in node.parts:
            outcome = _decide(part, context)
            if outcome is None:
                unknown = True
            elif outcome is not node.every:
                return outcome
        return None if unknown else node.every
    return _decide_test(node, context)


def _decide_test(node: _Test, context: Mapping[str, object]) -> bool | None:
    left = _read(node.left, context)
    if node.op is None:
        return None if left is OPAQUE else left is True
    right = _read(node.right, context) if node.right is not None else None
    if node.op == "is_in" or left is OPAQUE or right is OPAQUE:
        return None
    try:
        outcome = _OPERATORS[node.op](left, right)
    except _NotApplicable:
        return False
    return outcome is not node.negate


def _read(operand: _Operand, context: Mapping[str, object]) -> object:
    if isinstance(operand, _Const):
        return operand.value
    here: object = context
    for step in operand.steps:
        if isinstance(step, int):
            here = here[step] if isinstance(here, list) and step < len(here) else None
        else:
            here = here.get(step) if isinstance(here, Mapping) else None
        if here is None:
            return None
    return here


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _as_number(value: object) -> int | float:
    if _is_number(value):
        assert isinstance(value, int | float)
        return value
    if isinstance(value, str) and _NUMERIC_TEXT.fullmatch(value):
        text = value.strip()
        return float(text) if "." in text else int(text)
    raise _NotApplicable


def _numbers(left: object, right: object) -> tuple[int | float, int | float]:
    a, b = _as_number(left), _as_number(right)
    if isinstance(a, float) or isinstance(b, float):
        return float(a), float(b)  # an integer meets a float at the float's precision
    return a, b


def _as_text(value: object) -> str:
    if isinstance(value, str):
        return value[:MAX_SUBJECT]
    if _is_number(value):
        return str(value)
    raise _NotApplicable


def _equal(left: object, right: object) -> bool:  # noqa: PLR0911 (one answer per type pair)
    if left is None or right is None:
        return left is right
    if isinstance(left, bool) or isinstance(right, bool):
        return left is right
    if _is_number(left) or _is_number(right):
        try:
            a, b = _numbers(left, right)
        except _NotApplicable:
            return False
        return a == b
    if isinstance(left, str) and isinstance(right, str):
        return left.lower() == right.lower()
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(_equal, left, right))
    if isinstance(left, Mapping) and isinstance(right, Mapping):
        return left.keys() == right.keys() and all(_equal(left[k], right[k]) for k in left)
    return False


def _order(test: Callable[[float, float], bool]) -> Callable[[object, object], bool]:
    def apply(left: object, right: object) -> bool:
        a, b = _numbers(left, right)
        return test(a, b)
    return apply


def _texts(test: Callable[[str, str], bool], fold: bool) -> Callable[[object, object], bool]:
    def apply(left: object, right: object) -> bool:
        a, b = _as_text(left), _as_text(right)
        return test(a.lower(), b.lower()) if fold else test(a, b)
    return apply


def _search(subject: str, pattern: str) -> bool:
    if pattern_refusal(pattern):
        raise _NotApplicable
    try:
        found = regex.search(pattern, subject, regex.IGNORECASE, timeout=REGEX_SECONDS)
    except (regex.error, TimeoutError):
        raise _NotApplicable from None
    return found is not None


def _one_of(left: object, right: object) -> bool:
    if not isinstance(right, list):
        raise _NotApplicable
    return any(_equal(left, item) for item in right)


def _any(test: Callable[[str, str], bool]) -> Callable[[object, object], bool]:
    def apply(left: object, right: object) -> bool:
        if not isinstance(right, list):
            raise _NotApplicable
        subject = _as_text(left).lower()
        return any(test(subject, _as_text(item).lower()) for item in right)
    return apply


_OPERATORS: Final[dict[str, Callable[[object, object], bool]]] = {
    "==": _equal,
    "matches": _equal,
    "!=": lambda a, b: not _equal(a, b),
    ">": _order(lambda a, b: a > b),
    ">=": _order(lambda a, b: a >= b),
    "<": _order(lambda a, b: a < b),
    "<=": _order(lambda a, b: a <= b),
    "contains": _texts(lambda a, b: b in a, fold=True),
    "starts_with": _texts(str.startswith, fold=True),
    "ends_with": _texts(str.endswith, fold=True),
    "exact_matches": _texts(lambda a, b: a == b, fold=False),
    "exact_contains": _texts(lambda a, b: b in a, fold=False),
    "regex": _texts(_search, fold=False),
    "in": _one_of,
    "contains_any": _any(lambda a, b: b in a),
    "starts_with_any": _any(str.startswith),
    "ends_with_any": _any(str.endswith),
}


# ---------------------------------------------------- a Level delivery, as ICL sees it


def level_summary(data: Mapping[str, object]) -> str:
    """The summary of the ilert alert a Level alert opens: ``<name> on <hostname>``."""
    name = data.get("name") or "Level alert"
    host = data.get("device_hostname")
    return f"{name} on {host}" if host else str(name)


def level_details(data: Mapping[str, object]) -> str:
    """The details of that ilert alert: the description, then the payload."""
    present = [str(data[key]) for key in ("description", "payload") if data.get(key)]
    return "\n\n".join(present)


def level_context(data: Mapping[str, object]) -> dict[str, object]:
    """What an ``eventFilter`` reads of a Level alert's delivery (module docstring)."""
    return {"event": {
        "summary": level_summary(data), "details": level_details(data),
        "customDetails": dict(data),
    }}
