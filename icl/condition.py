"""ICL, ilert's condition language: parse (with positions), validate, evaluate, compare.

An alert source's ``eventFilter`` is an ICL condition (ilert docs "ICL - ilert condition
language"; ../shared/reference/level-webhook-contract.md, "What ilert does with a
delivery"). Several parts of this project need it, so it lives here once:

- the providers validate a filter at check/preview (balance, known operators, strings
  closed), with the error pointing at the column (:class:`IclSyntaxError`);
- the stack settings compare two filters, and ``make doctor`` and ``make verify`` predict
  which sources receive an alert.

The sandbox, the referee of all this, evaluates filters with a reader of its own
(sandbox/icl_eval.py), so that a bug here shows in tests (tests/unit/test_icl_agreement.py).

What is emulated (ilert's documented rules): ``and``/``or`` (``and`` binds tighter),
``not`` before a condition or before an operator (``not contains`` = ``not_contains``),
parentheses; paths with dots, ``['quoted']``, ``[unquoted\\ with\\ escapes]`` and ``[n]``; a
missing path is ``nil``; integers are 64-bit (a bigger literal is refused);
single-quoted strings with ``\\'`` and ``\\\\`` escapes, double-quoted JSON strings, unquoted
one-word strings, numbers, ``true``/``false``/``nil``, inline JSON arrays and objects;
``==``/``!=`` (``'1' == 1``; arrays and objects by content; an integer meets a float at
the float's precision), ``>``/``>=``/``<``/``<=``, ``matches`` (alias of ``==``, so
``not matches`` is ``!=``),
``contains``, ``starts_with``, ``ends_with``, ``regex``, ``exact_matches``,
``exact_contains``, ``in``, ``contains_any``/``starts_with_any``/``ends_with_any``. String
operators ignore case except the ``exact_`` ones. **A type error is false, never an error**
(``3 > 'three'`` is false); it is false at the comparison, so ``x not contains 'a'`` on a
missing ``x`` is false too, while ``not (x contains 'a')`` is true.

Known but not emulated (they need ilert's account data or clock): ``is_in``, ``now``,
``trigger_count.*`` and ``resetting_trigger_count.*``. They validate; evaluated they are
unknown (doctor names such a source as "maybe ... (its filter reads what doctor cannot
know)"), and so is ``not`` of them.

Choices where ilert documents nothing: ``regex`` searches (does not need to match the
whole string), ignoring case; the regex runs with the ``regex`` library's timeout and on
at most ``MAX_SUBJECT_CHARS`` characters, so no pattern can hang the sandbox or doctor.
The compile has no timeout and takes memory in proportion to the pattern with its repeats
written out (``x{4294967294}`` takes gigabytes, then ``MemoryError``), so a pattern is
measured before it is compiled (``pattern_problem``): at most ``MAX_PATTERN_CHARS``
characters, no repeat count above ``MAX_REPEAT``, at most ``MAX_PATTERN_SIZE`` atoms once
every repeat is written out (nested repeats multiply). Beyond that, or when it does not
compile, ``check`` refuses it at preview with the column; evaluated (a live filter in
doctor, verify, discover), its comparison is unknown, never a crash.

Bounded: a condition longer than ``MAX_CHARS`` or nested deeper than ``MAX_DEPTH`` is
refused; the scanner is hand-written (no backtracking regular expression reads input).
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from difflib import get_close_matches
from typing import Final, TypeAlias

import regex

MAX_CHARS: Final = 10_000
_INT64: Final = 2**63
MAX_DEPTH: Final = 64
MAX_SUBJECT_CHARS: Final = 100_000
REGEX_TIMEOUT_SECONDS: Final = 0.05
MAX_PATTERN_CHARS: Final = 1_000
MAX_REPEAT: Final = 1_000
MAX_PATTERN_SIZE: Final = 10_000

#: Operators between two operands, by the type of value they work on (ilert's table).
STRING_OPERATORS: Final = (
    "matches", "contains", "regex", "starts_with", "ends_with", "exact_matches", "exact_contains",
)
MULTI_OPERATORS: Final = ("contains_any", "starts_with_any", "ends_with_any")
SYMBOL_OPERATORS: Final = ("==", "!=", ">=", "<=", ">", "<")
WORD_OPERATORS: Final = (*STRING_OPERATORS, *MULTI_OPERATORS, "in", "is_in")
KNOWN_OPERATORS: Final = (*SYMBOL_OPERATORS, *WORD_OPERATORS)
#: Words ilert reserves: never an unquoted string nor an operator.
RESERVED: Final = frozenset((
    "break", "at", "do", "as", "const", "continue", "def", "else", "end", "eq", "function",
    "for", "gte", "gt", "if", "import", "is", "let", "lte", "lt", "loop", "namespace",
    "package", "require", "return", "var", "void", "when", "while",
))
_KEYWORDS: Final = {"true": True, "false": False, "nil": None}
_NOT_EMULATED_ROOTS: Final = ("trigger_count", "resetting_trigger_count")


class IclSyntaxError(ValueError):
    """A condition ilert would refuse; ``column`` is 1-based, ``pointer`` shows it."""

    def __init__(self, message: str, text: str, offset: int, hint: str = "") -> None:
        self.offset = max(0, min(offset, len(text)))
        line_start = text.rfind("\n", 0, self.offset) + 1
        line_end = text.find("\n", self.offset)
        line = text[line_start : line_end if line_end != -1 else len(text)]
        self.line = text.count("\n", 0, self.offset) + 1
        self.column = self.offset - line_start + 1
        # Long lines are shown around the position only.
        start = max(0, self.column - 1 - 60)
        shown = line[start : start + 100]
        self.pointer = f"  {shown}\n  {' ' * (self.column - 1 - start)}^"
        where = f"line {self.line}, column {self.column}" if "\n" in text else (
            f"column {self.column}"
        )
        tail = f"\n{hint}" if hint else ""
        super().__init__(f"{where}: {message}\n{self.pointer}{tail}")


# ------------------------------------------------------------------------------- the tree


@dataclass(frozen=True)
class Path:
    """``event.customDetails.severity`` as ``("event", "customDetails", "severity")``."""

    parts: tuple[str | int, ...]

    def __str__(self) -> str:
        text = str(self.parts[0])
        for part in self.parts[1:]:
            if isinstance(part, int):
                text += f"[{part}]"
            elif part.isidentifier():
                text += f".{part}"
            else:
                text += "['" + part.replace("\\", "\\\\").replace("'", "\\'") + "']"
        return text


@dataclass(frozen=True)
class Literal:
    """A constant: string, number, boolean, nil (None), JSON array (tuple) or object."""

    value: object
    offset: int = field(default=0, compare=False)


@dataclass(frozen=True)
class NotEmulated:
    """``now`` or a trigger count: valid ICL, but its value is ilert's alone."""

    text: str


Operand: TypeAlias = Path | Literal | NotEmulated


@dataclass(frozen=True)
class Compare:
    """``left op right``; ``negated`` for ``not op``/``not_op``. ``right`` is None for a
    bare operand used as a condition (true only when its value is ``true``)."""

    left: Operand
    op: str
    right: Operand | None
    negated: bool = False


@dataclass(frozen=True)
class Not:
    """``not <condition>``."""

    item: Node


@dataclass(frozen=True)
class And:
    """Every item true."""

    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    """Some item true."""

    items: tuple[Node, ...]


Node: TypeAlias = Compare | Not | And | Or


# ---------------------------------------------------------------------------- the scanner


@dataclass(frozen=True)
class _Token:
    kind: str  # "word", "string", "number", "symbol", "op", "end"
    text: str
    offset: int
    value: object = None


_SYMBOLS: Final = "()[]{},:."
_WORD_START: Final = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_WORD_CHARS: Final = _WORD_START | frozenset("0123456789")
_DIGITS: Final = frozenset("0123456789")


def _scan(text: str) -> list[_Token]:  # noqa: PLR0912 (one branch per kind of token)
    """The tokens of ``text``; one pass, no backtracking."""
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char.isspace():
            i += 1
        elif char in "'\"":
            value, end = _string(text, i)
            tokens.append(_Token("string", text[i:end], i, value))
            i = end
        elif char in _DIGITS or (char == "-" and i + 1 < n and text[i + 1] in _DIGITS):
            tokens.append(_number_token(text, i))
            i += len(tokens[-1].text)
        elif char in _WORD_START:
            end = i + 1
            while end < n and text[end] in _WORD_CHARS:
                end += 1
            tokens.append(_Token("word", text[i:end], i))
            i = end
        elif text.startswith(("==", "!=", ">=", "<="), i):
            tokens.append(_Token("op", text[i : i + 2], i))
            i += 2
        elif char in "<>":
            tokens.append(_Token("op", char, i))
            i += 1
        elif char == "[" and _bare_key_follows(text, i, tokens):
            tokens.append(_Token("symbol", char, i))
            value, end = _bare_key(text, i + 1)
            tokens.append(_Token("string", text[i + 1:end], i + 1, value))
            i = end
        elif char in _SYMBOLS:
            tokens.append(_Token("symbol", char, i))
            i += 1
        elif char == "=":
            raise IclSyntaxError("'=' is not an operator; compare with '=='", text, i)
        elif char in "&|":
            word = "and" if char == "&" else "or"
            raise IclSyntaxError(
                f"{text[i:i + 2] if text[i:i + 2] in ('&&', '||') else char!r} is not an ICL "
                f"operator; join two conditions with '{word}'",
                text,
                i,
            )
        else:
            raise IclSyntaxError(
                f"unexpected character {char!r}; put text with spaces or symbols in single "
                f"quotes ('like this')",
                text,
                i,
            )
    tokens.append(_Token("end", "", n))
    return tokens


def _number_token(text: str, start: int) -> _Token:
    """The number from ``start`` (digits, a leading ``-``, one ``.``); integers are 64-bit."""
    end = start + 1
    while end < len(text) and (text[end] in _DIGITS or text[end] == "."):
        end += 1
    raw = text[start:end]
    try:
        number: float | int = float(raw) if "." in raw else int(raw)
    except ValueError:
        raise IclSyntaxError(f"{raw!r} is not a number", text, start) from None
    if "." in raw and raw.endswith("."):
        raise IclSyntaxError(f"{raw!r} is not a number", text, start)
    if isinstance(number, int) and not -_INT64 <= number < _INT64:
        raise IclSyntaxError(f"{raw} is outside ICL's 64-bit integers", text, start)
    return _Token("number", raw, start, number)


def _bare_key_follows(text: str, at: int, tokens: list[_Token]) -> bool:
    """Whether the ``[`` at ``at`` opens an unquoted field name: it is glued to a path (a word
    or a ``]`` just before it) and holds neither a quoted name nor an index."""
    if not tokens or tokens[-1].offset + len(tokens[-1].text) != at:
        return False
    if not (tokens[-1].kind == "word" or tokens[-1].text == "]"):
        return False
    following = text[at + 1:at + 2]
    return following not in ("", "'", '"', "]", "-") and not following.isspace() and (
        following not in _DIGITS
    )


def _bare_key(text: str, start: int) -> tuple[str, int]:
    """``key\\ wi:th\\ spaces`` from ``start``, up to ``]``: a backslash keeps the character after
    it (ilert's Paths section); (the name, the offset of the ``]``)."""
    out: list[str] = []
    i, n = start, len(text)
    if "]" not in text[start:]:
        raise IclSyntaxError("expected ']' to close this '['", text, start - 1)
    while i < n and text[i] != "]":
        if text[i] == "\\" and i + 1 < n:
            out.append(text[i + 1])
            i += 2
        elif text[i].isspace():
            raise IclSyntaxError("a space in a name in [...] needs a backslash before it, or "
                                 "quote the name: ['a name']", text, i)
        else:
            out.append(text[i])
            i += 1
    if i == n:
        raise IclSyntaxError("expected ']' to close this '['", text, start - 1)
    return "".join(out), i


def _string(text: str, start: int) -> tuple[str, int]:
    """A quoted string from ``start``: (its value, the offset after its closing quote)."""
    quote, out, i, n = text[start], [], start + 1, len(text)
    while i < n:
        char = text[i]
        if char == "\\" and i + 1 < n:
            nxt = text[i + 1]
            if quote == '"' and nxt not in "\"\\/":
                # JSON escapes (\n, \u00e9 ...): let the JSON decoder read them; it takes
                # raw tabs and newlines as the plain path does (strict=False).
                end = _string_end(text, start)
                try:
                    return json.loads(text[start:end], strict=False), end
                except json.JSONDecodeError as error:
                    # The decoder points at the bad escape's backslash (or the 'u' after it).
                    bad = text.rfind("\\", start, start + error.pos + 1)
                    raise IclSyntaxError(
                        "this string has an invalid escape; write a backslash as \\\\",
                        text,
                        bad,
                    ) from None
            # Single quotes document two escapes, \' and \\; any other backslash is kept
            # as written, so a regex such as '\d+ minutes' means what it says.
            kept = quote == "'" and nxt not in "'\\"
            out.append(char + nxt if kept else nxt)
            i += 2
        elif char == quote:
            return "".join(out), i + 1
        else:
            out.append(char)
            i += 1
    raise IclSyntaxError(
        f"this string is never closed; end it with {quote}", text, start
    )


def _string_end(text: str, start: int) -> int:
    i = start + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == text[start]:
            return i + 1
        i += 1
    raise IclSyntaxError(f"this string is never closed; end it with {text[start]}", text, start)


# ----------------------------------------------------------------------------- the parser


class _Parser:
    """Recursive descent over the tokens; every loop advances, depth is capped."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _scan(text)
        self.i = 0
        self.depth = 0

    @property
    def token(self) -> _Token:
        return self.tokens[self.i]

    def _take(self) -> _Token:
        token = self.tokens[self.i]
        self.i = min(self.i + 1, len(self.tokens) - 1)
        return token

    def fail(self, message: str, offset: int | None = None, hint: str = "") -> IclSyntaxError:
        where = self.token.offset if offset is None else offset
        return IclSyntaxError(message, self.text, where, hint)

    def _enter(self, token: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"the condition nests deeper than {MAX_DEPTH} levels", token.offset)

    def _expect_close(self, opener: _Token, closer: str) -> None:
        if self.token.text == closer and self.token.kind == "symbol":
            self._take()
            return
        if self.token.kind == "end":
            raise self.fail(f"this {opener.text!r} is never closed; add {closer!r}", opener.offset)
        raise self.fail(f"expected {closer!r} to close the {opener.text!r} at column "
                        f"{opener.offset + 1}, found {self._describe(self.token)}")

    @staticmethod
    def _describe(token: _Token) -> str:
        return "the end of the condition" if token.kind == "end" else repr(token.text)

    def parse(self) -> Node:
        if not self.text.strip():
            raise self.fail(
                "the condition is empty; leave eventFilter out to accept every event", 0
            )
        node = self._or()
        if self.token.kind != "end":
            if self.token.text in ")]}" and self.token.kind == "symbol":
                raise self.fail(f"{self.token.text!r} has no matching opening bracket")
            raise self.fail(
                f"expected 'and', 'or' or the end of the condition, found "
                f"{self._describe(self.token)}"
            )
        return node

    def _or(self) -> Node:
        items = [self._and()]
        while self.token.kind == "word" and self.token.text == "or":
            self._take()
            items.append(self._and())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def _and(self) -> Node:
        items = [self._unary()]
        while self.token.kind == "word" and self.token.text == "and":
            self._take()
            items.append(self._unary())
        return items[0] if len(items) == 1 else And(tuple(items))

    def _unary(self) -> Node:
        token = self.token
        if token.kind == "word" and token.text == "not":
            self._take()
            self._enter(token)
            try:
                return Not(self._unary())
            finally:
                self.depth -= 1
        if token.kind == "symbol" and token.text == "(":
            self._take()
            self._enter(token)
            try:
                node = self._or()
                self._expect_close(token, ")")
            finally:
                self.depth -= 1
            return node
        return self._comparison()

    def _comparison(self) -> Compare:
        start = self.token
        if start.kind == "end":
            raise self.fail("a condition is missing here (the text ends too early)")
        if start.kind == "word" and start.text in ("and", "or"):
            raise self.fail(f"a condition is missing before {start.text!r}")
        left = self._operand()
        negated = False
        op_token = self.token
        if op_token.kind == "word" and op_token.text == "not":
            self._take()
            negated = True
            op_token = self.token
            if op_token.kind not in ("word", "op"):
                raise self.fail("'not' here must be followed by an operator, e.g. 'not contains'")
        if op_token.kind == "op":
            op = self._take().text
        elif op_token.kind == "word" and op_token.text not in ("and", "or"):
            op = self._word_operator(op_token)
            if op.startswith("not_"):
                if negated:
                    raise self.fail("'not' is given twice", op_token.offset)
                negated, op = True, op.removeprefix("not_")
            self._take()
        else:
            if negated:
                raise self.fail("'not' here must be followed by an operator")
            return Compare(left, "truthy", None)
        right = self._operand()
        if op in ("in", *MULTI_OPERATORS) and isinstance(right, Literal) and not isinstance(
            right.value, tuple
        ):
            raise self.fail(f"{op!r} needs a list on its right, e.g. ['a', 'b']", right.offset)
        return Compare(left, op, right, negated)

    def _word_operator(self, token: _Token) -> str:
        word = token.text
        bare = word.removeprefix("not_")
        if bare in WORD_OPERATORS:
            return word
        if word in RESERVED:
            raise self.fail(f"{word!r} is a reserved word of ICL, not an operator", token.offset)
        guess = get_close_matches(bare, WORD_OPERATORS, n=1, cutoff=0.6)
        meant = f" (did you mean {guess[0]!r}?)" if guess else ""
        raise self.fail(
            f"unknown operator {word!r}{meant}",
            token.offset,
            f"Known operators: {', '.join(KNOWN_OPERATORS)}; each may follow 'not'.",
        )

    def _operand(self) -> Operand:
        token = self.token
        if token.kind == "string":
            self._take()
            return Literal(token.value, token.offset)
        if token.kind == "number":
            self._take()
            return Literal(token.value, token.offset)
        if token.kind == "symbol" and token.text in "[{":
            return Literal(self._json(), token.offset)
        if token.kind == "word":
            return self._word_operand()
        if token.kind == "symbol" and token.text == "(":
            raise self.fail("a bracketed condition cannot be compared; compare a path or a value")
        raise self.fail(f"expected a path or a value, found {self._describe(token)}")

    def _word_operand(self) -> Operand:  # noqa: PLR0912 (keyword, word, path, trigger count)
        token = self._take()
        word = token.text
        if word in _KEYWORDS:
            return Literal(_KEYWORDS[word], token.offset)
        if word == "now":
            return NotEmulated("now")
        if word in RESERVED or word in ("and", "or", "not"):
            raise self.fail(
                f"{word!r} is a reserved word; put it in quotes to use it as text: '{word}'",
                token.offset,
            )
        if word in WORD_OPERATORS:
            raise self.fail(f"a path or a value is missing before the operator {word!r}",
                            token.offset)
        follows = self.token
        if not (follows.kind == "symbol" and follows.text in ".["):
            return Literal(word, token.offset)  # an unquoted one-word string
        parts: list[str | int] = [word]
        for _ in range(len(self.tokens)):
            follows = self.token
            if follows.kind != "symbol" or follows.text not in ".[":
                break
            self._take()
            if follows.text == ".":
                name = self._take()
                if name.kind == "word":
                    parts.append(name.text)
                elif name.kind == "number" and word in _NOT_EMULATED_ROOTS:
                    parts.append(name.text + self._duration_suffix())
                else:
                    raise self.fail("a field name must follow '.'", name.offset)
            else:
                key = self._take()
                if key.kind == "string":
                    parts.append(str(key.value))
                elif key.kind == "number" and isinstance(key.value, int):
                    parts.append(key.value)
                else:
                    raise self.fail("inside [...] put a 'quoted field name' or a list index",
                                    key.offset)
                self._expect_close(follows, "]")
        if word in _NOT_EMULATED_ROOTS:
            return NotEmulated(".".join(str(part) for part in parts))
        return Path(tuple(parts))

    def _duration_suffix(self) -> str:
        """The unit after a trigger count's number (``10m``: ``10`` then ``m``)."""
        if self.token.kind == "word" and self.token.offset == self.tokens[self.i - 1].offset + len(
            self.tokens[self.i - 1].text
        ):
            return self._take().text
        return ""

    def _json(self) -> object:
        """An inline JSON array or object (single-quoted strings allowed too)."""
        opener = self._take()
        self._enter(opener)
        try:
            if opener.text == "[":
                items: list[object] = []
                closer = "]"
                while not (self.token.kind == "symbol" and self.token.text == closer):
                    items.append(self._json_value())
                    if not (self.token.kind == "symbol" and self.token.text == ","):
                        break  # the closer, or an error _expect_close names
                    self._take()
                self._expect_close(opener, closer)
                return tuple(items)
            mapping: dict[str, object] = {}
            while not (self.token.kind == "symbol" and self.token.text == "}"):
                key = self._take()
                if key.kind != "string":
                    raise self.fail("an object key must be a quoted string", key.offset)
                colon = self._take()
                if colon.text != ":":
                    raise self.fail("expected ':' after the object key", colon.offset)
                mapping[str(key.value)] = self._json_value()
                if not (self.token.kind == "symbol" and self.token.text == ","):
                    break  # the closer, or an error _expect_close names
                self._take()
            self._expect_close(opener, "}")
            return _Frozen(mapping)
        finally:
            self.depth -= 1

    def _json_value(self) -> object:
        token = self.token
        if token.kind in ("string", "number"):
            self._take()
            return token.value
        if token.kind == "word" and token.text in _KEYWORDS:
            self._take()
            return _KEYWORDS[token.text]
        if token.kind == "word" and token.text == "null":
            self._take()
            return None
        if token.kind == "symbol" and token.text in "[{":
            return self._json()
        raise self.fail(f"expected a value in the list, found {self._describe(token)}")


class _Frozen(dict[str, object]):
    """A JSON object literal that can sit in a frozen dataclass (hashable by content)."""

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(json.dumps(self, sort_keys=True, default=str))


def parse(text: str) -> Node:
    """The tree of one ICL condition; raises :class:`IclSyntaxError` pointing at the column."""
    if not isinstance(text, str):
        raise TypeError("an ICL condition is a string")
    if len(text) > MAX_CHARS:
        raise IclSyntaxError(
            f"the condition has {len(text)} characters; this project accepts at most "
            f"{MAX_CHARS}",
            text,
            MAX_CHARS,
        )
    return _Parser(text).parse()


def check(text: str) -> None:
    """Raise :class:`IclSyntaxError` when ``text`` is not a valid condition; also measures
    and compiles every ``regex`` pattern given as a literal (``compile_pattern``)."""
    tree = parse(text)
    for node in walk(tree):
        if isinstance(node, Compare) and node.op == "regex" and isinstance(node.right, Literal):
            pattern = node.right.value
            if isinstance(pattern, str):
                try:
                    compile_pattern(pattern)
                except PatternError as exc:
                    raise IclSyntaxError(str(exc), text, node.right.offset) from None


class PatternError(ValueError):
    """A ``regex`` pattern that is refused (too big to compile safely) or does not compile."""


_BRACES: Final = re.compile(r"\{(\d*)(?:(,)(\d*))?\}")
_BRACED_ESCAPES: Final = frozenset("pPNx")
_NO_GROUP: Final = re.compile(r"\?(?:#[^)]*|[A-Za-z^-]*)\)")
_GROUP_PREFIX: Final = re.compile(
    r"\?(?:P?<[A-Za-z_]\w*>|'[A-Za-z_]\w*'|<[=!]|[=!:>|]|[A-Za-z^-]*:)"
)


def pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` must not be compiled, or None: too long, a repeat count too big, or
    too big once its repeats are written out. It reads the pattern without compiling it;
    where it cannot tell (an odd construct), it counts more, never less."""
    if len(pattern) > MAX_PATTERN_CHARS:
        return (f"the regular expression has {len(pattern)} characters; this project accepts "
                f"at most {MAX_PATTERN_CHARS}")
    frames: list[int] = [0]  # the size of each open group so far, innermost last
    last = 0  # the size of the atom a quantifier would repeat
    at = 0
    while at < len(pattern):
        char = pattern[at]
        if char == "{" and (braces := _BRACES.match(pattern, at)) and (
            braces[1] or braces[3]
        ):
            low = int(braces[1] or 0)
            high = int(braces[3]) if braces[3] else (None if braces[2] else low)
            count = max(low, high or 0)
            if count > MAX_REPEAT:
                return (f"the regular expression repeats something {count} times; this "
                        f"project accepts at most {MAX_REPEAT} (each repeat is written out "
                        f"when it is compiled)")
            frames[-1] += last * (max(count, 1) - 1)
            last *= max(count, 1)
            at = braces.end()
        else:
            at, size = _atom(pattern, at, frames)
            if size is not None:  # an atom (a closed group counts as one)
                frames[-1] += size
                last = size
            elif char in "|(":
                last = 0
        if frames[-1] > MAX_PATTERN_SIZE or sum(frames) > MAX_PATTERN_SIZE:
            return (f"the regular expression is too big once its repeats are written out "
                    f"(more than {MAX_PATTERN_SIZE} parts: nested repeats multiply); "
                    f"repeat less, or match a shorter part")
    return None


def _atom(pattern: str, at: int, frames: list[int]) -> tuple[int, int | None]:
    """Read what starts at ``at``: (where the next thing starts, the size of the atom read,
    or None for a group's bracket, a quantifier or ``|``)."""
    char = pattern[at]
    end, size = at + 1, None if char in "|*+?" else 1
    if char == "\\":
        braced = pattern[at + 1 : at + 2] in _BRACED_ESCAPES and pattern[at + 2 : at + 3] == "{"
        closing = pattern.find("}", at) if braced else -1
        end = closing + 1 if closing != -1 else (len(pattern) if braced else at + 2)
    elif char == "[":
        end = _class_end(pattern, at)
    elif char == "(":
        # (?i) and (?#...) are no group; (?:, (?P<name>, (?=, ... open one, and their
        # prefix is no atom.
        size = None
        closed = _NO_GROUP.match(pattern, at + 1)
        if closed:
            end = closed.end()
        else:
            frames.append(0)
            prefix = _GROUP_PREFIX.match(pattern, at + 1)
            end = prefix.end() if prefix else at + 1
    elif char == ")":
        size = max(frames.pop() if len(frames) > 1 else 0, 1)
    return end, size


def _class_end(pattern: str, at: int) -> int:
    """Where the character class opened at ``at`` ends (after its ``]``)."""
    at += 1
    if pattern[at : at + 1] == "^":
        at += 1
    if pattern[at : at + 1] == "]":  # a ] first is itself
        at += 1
    while at < len(pattern):
        if pattern[at] == "\\":
            at += 2
        elif pattern.startswith("[:", at) and (end := pattern.find(":]", at + 2)) != -1:
            at = end + 2
        elif pattern[at] == "]":
            return at + 1
        else:
            at += 1
    return at


@functools.lru_cache(maxsize=256)
def compile_pattern(pattern: str) -> regex.Pattern[str]:
    """``pattern`` compiled as ICL's ``regex`` uses it (ignoring case), once measured
    (``pattern_problem``); raises :class:`PatternError` saying why not."""
    problem = pattern_problem(pattern)
    if problem:
        raise PatternError(problem)
    try:
        return regex.compile(pattern, regex.IGNORECASE)
    except (regex.error, MemoryError, RecursionError, OverflowError, ValueError) as exc:
        raise PatternError(f"the regular expression is not valid: {exc}") from None


def walk(node: Node) -> Iterator[Node]:
    """Every node of the tree, depth first."""
    stack: list[Node] = [node]
    for _ in range(MAX_CHARS * 4):
        if not stack:
            return
        current = stack.pop()
        yield current
        if isinstance(current, And | Or):
            stack.extend(current.items)
        elif isinstance(current, Not):
            stack.append(current.item)


def paths(node: Node) -> list[str]:
    """Every path the condition reads, as written (sorted, once each)."""
    found: set[str] = set()
    for each in walk(node):
        if isinstance(each, Compare):
            for side in (each.left, each.right):
                if isinstance(side, Path):
                    found.add(str(side))
                elif isinstance(side, NotEmulated):
                    found.add(side.text)
    return sorted(found)


# --------------------------------------------------------------------------- evaluation


class _Unknown:
    """A value nobody knows yet (doctor predicting for a whole group of alerts)."""

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Final = _Unknown()
_MISSING: Final = object()


def resolve(path: Path, context: Mapping[str, object]) -> object:
    """The value at ``path`` in ``context`` (``{"event": {...}}``); None (``nil``) if absent."""
    value: object = context
    for part in path.parts:
        if value is UNKNOWN:
            return UNKNOWN
        if isinstance(part, int) and isinstance(value, list | tuple):
            value = value[part] if -len(value) <= part < len(value) else None
        elif isinstance(part, str) and isinstance(value, Mapping):
            value = value.get(part, None)
        else:
            return None
        if value is None:
            return None
    return value


def evaluate(node: Node, context: Mapping[str, object]) -> bool | None:
    """True/False for the condition on ``context``; None when it depends on an
    :data:`UNKNOWN` value or on something only ilert knows (``now``, trigger counts)."""
    if isinstance(node, Or):
        results = [evaluate(item, context) for item in node.items]
        if any(r is True for r in results):
            return True
        return None if any(r is None for r in results) else False
    if isinstance(node, And):
        results = [evaluate(item, context) for item in node.items]
        if any(r is False for r in results):
            return False
        return None if any(r is None for r in results) else True
    if isinstance(node, Not):
        inner = evaluate(node.item, context)
        return None if inner is None else not inner
    return _compare(node, context)


def matches(node: Node, context: Mapping[str, object]) -> bool:
    """Whether ilert would let the event through (anything it cannot decide is false)."""
    return evaluate(node, context) is True


def _value(operand: Operand, context: Mapping[str, object]) -> object:
    if isinstance(operand, Path):
        return resolve(operand, context)
    if isinstance(operand, NotEmulated):
        return UNKNOWN
    return operand.value


class _TypeError(Exception):
    """A comparison of values it does not apply to: false, by ICL's rule."""


class _Undecided(Exception):
    """A comparison this project cannot decide (a pattern it will not compile, ``is_in``,
    which asks ilert's support hours and schedules): unknown."""


def _compare(node: Compare, context: Mapping[str, object]) -> bool | None:
    left = _value(node.left, context)
    right = _value(node.right, context) if node.right is not None else None
    if left is UNKNOWN or right is UNKNOWN:
        return None
    try:
        outcome = _apply(node.op, left, right)
    except _TypeError:
        return False
    except _Undecided:
        return None
    return (not outcome) if node.negated else outcome


def _number(value: object) -> float | int:
    if isinstance(value, bool) or value is None:
        raise _TypeError
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise _TypeError from None
        if math.isfinite(number):
            return number
    raise _TypeError


def _numbers(left: object, right: object) -> tuple[float, float] | tuple[int, int]:
    """Both as numbers; an integer meets a float at the float's precision, as ilert documents
    (``9007199254740993 == 9007199254740992.0`` is true), where Python compares exactly."""
    a, b = _number(left), _number(right)
    if isinstance(a, int) and isinstance(b, int):
        return a, b
    return float(a), float(b)


def _text(value: object) -> str:
    if isinstance(value, str):
        return value[:MAX_SUBJECT_CHARS]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise _TypeError


def _texts(value: object) -> list[str]:
    if not isinstance(value, list | tuple):
        raise _TypeError
    return [_text(item) for item in value]


def _equal(left: object, right: object) -> bool:
    if left is None or right is None:
        return left is None and right is None
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if isinstance(left, int | float) or isinstance(right, int | float):
        try:
            a, b = _numbers(left, right)
        except _TypeError:
            return False
        return a == b
    if isinstance(left, str) and isinstance(right, str):
        return left.casefold() == right.casefold()
    return _plain(left) == _plain(right)


def _plain(value: object) -> object:
    """``value`` with every array as a tuple: the event's JSON arrays are lists, an inline
    ``['a']`` is a tuple, and the two must compare equal."""
    if isinstance(value, list | tuple):
        return tuple(_plain(item) for item in value)
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    return value


def _search(pattern: str, subject: str) -> bool:
    if pattern_problem(pattern):  # ilert may run it; this project will not compile it
        raise _Undecided
    try:
        compiled = compile_pattern(pattern)
        return compiled.search(subject, timeout=REGEX_TIMEOUT_SECONDS) is not None
    except (PatternError, TimeoutError):
        raise _TypeError from None


_STRING_TESTS: Final[dict[str, Callable[[str, str], bool]]] = {
    "contains": lambda a, b: b.casefold() in a.casefold(),
    "starts_with": lambda a, b: a.casefold().startswith(b.casefold()),
    "ends_with": lambda a, b: a.casefold().endswith(b.casefold()),
    "exact_matches": lambda a, b: a == b,
    "exact_contains": lambda a, b: b in a,
    "regex": lambda a, b: _search(b, a),
}


def _apply(op: str, left: object, right: object) -> bool:  # noqa: PLR0911
    if op == "truthy":
        return left is True
    if op in ("==", "matches"):  # matches is an alias of == (so `not matches` is !=)
        return _equal(left, right)
    if op == "!=":
        return not _equal(left, right)
    if op in (">", ">=", "<", "<="):
        a, b = _numbers(left, right)
        return {">": a > b, ">=": a >= b, "<": a < b, "<=": a <= b}[op]
    if op in _STRING_TESTS:
        return _STRING_TESTS[op](_text(left), _text(right))
    if op == "in":
        if not isinstance(right, list | tuple):
            raise _TypeError
        return any(_equal(left, item) for item in right)
    if op in MULTI_OPERATORS:
        subject, options = _text(left), _texts(right)
        single = {"contains_any": "contains", "starts_with_any": "starts_with",
                  "ends_with_any": "ends_with"}[op]
        return any(_STRING_TESTS[single](subject, option) for option in options)
    raise _Undecided  # is_in: needs ilert's support hours and schedules


# ----------------------------------------------------------- can two conditions both hold?


def disjoint(a: Node, b: Node) -> bool:
    """True only when no event can satisfy both conditions, proven from their text alone.

    Conservative: False means "they may overlap" (also when they cannot, but this simple
    proof does not see it). What it proves: one side is an ``or`` whose every branch is
    disjoint from the other; or one conjunct of each side contradicts the other, where a
    contradiction is the same path compared with ``==``/``matches``/``in``/``exact_matches``
    against values that cannot be equal, ``==`` against ``!=`` of an equal value, or a
    condition against its own ``not``.
    """
    return _disjoint(a, b, 0)


def _disjoint(a: Node, b: Node, depth: int) -> bool:
    if depth > MAX_DEPTH:
        return False
    if isinstance(a, Or):
        return all(_disjoint(item, b, depth + 1) for item in a.items)
    if isinstance(b, Or):
        return all(_disjoint(a, item, depth + 1) for item in b.items)
    return any(_contradicts(x, y) for x in _conjuncts(a) for y in _conjuncts(b))


def _conjuncts(node: Node) -> list[Node]:
    if isinstance(node, And):
        return [part for item in node.items for part in _conjuncts(item)]
    return [node]


def _contradicts(x: Node, y: Node) -> bool:  # noqa: PLR0911 (one return per proof)
    if isinstance(x, Not) and _same(x.item, y):
        return True
    if isinstance(y, Not) and _same(y.item, x):
        return True
    cx, cy = _constraint(x), _constraint(y)
    if cx is None or cy is None or cx[0] != cy[0]:
        return False
    (_, allowed_x, exact_x, excluded_x), (_, allowed_y, exact_y, excluded_y) = cx, cy
    if allowed_x is not None and allowed_y is not None:
        return not any(
            _may_equal(v, w, exact_x and exact_y) for v in allowed_x for w in allowed_y
        )
    if allowed_x is not None and excluded_y is not None:
        return all(any(_surely_equal(v, w) for w in excluded_y) for v in allowed_x)
    if allowed_y is not None and excluded_x is not None:
        return all(any(_surely_equal(v, w) for w in excluded_x) for v in allowed_y)
    return False


def _same(x: Node, y: Node) -> bool:
    return x == y


_Constraint: TypeAlias = tuple[Path, tuple[object, ...] | None, bool, tuple[object, ...] | None]


def _constraint(node: Node) -> _Constraint | None:  # noqa: PLR0911 (one per operator)
    """(path, the values it must equal, exact?, the values it must not equal), or None."""
    if isinstance(node, Not):
        inner = _constraint(node.item)
        if inner is None or inner[2] or inner[1] is None:
            return None
        return (inner[0], None, False, inner[1])
    if not isinstance(node, Compare) or not isinstance(node.left, Path):
        return None
    if not isinstance(node.right, Literal):
        return None
    value = node.right.value
    if node.op in ("==", "matches", "exact_matches"):
        values: tuple[object, ...] = (value,)
    elif node.op == "in" and isinstance(value, tuple):
        values = value
    elif node.op == "!=" and not node.negated:
        return (node.left, None, False, (value,))
    else:
        return None
    exact = node.op == "exact_matches"
    if node.negated:
        return None if exact else (node.left, None, False, values)
    return (node.left, values, exact, None)


def _may_equal(v: object, w: object, exact: bool) -> bool:
    if isinstance(v, str) and isinstance(w, str):
        return v == w if exact else v.casefold() == w.casefold()
    return _equal(v, w)


def _surely_equal(v: object, w: object) -> bool:
    return _equal(v, w)


def level_event(summary: str, details: str, data: Mapping[str, object]) -> dict[str, object]:
    """The ICL context of a Level delivery, as the sandbox assumes ilert builds it (the
    contract: ``event.summary``, ``event.details``, ``event.customDetails`` = ``data``)."""
    return {"event": {"summary": summary, "details": details, "customDetails": dict(data)}}


def level_summary(data: Mapping[str, object]) -> str:
    """The alert summary ilert makes of a Level alert: ``<name> on <hostname>``."""
    name = str(data.get("name") or "Level alert")
    host = data.get("device_hostname")
    return f"{name} on {host}" if host else name


def level_details(data: Mapping[str, object]) -> str:
    """The alert details ilert makes of a Level alert: description, then payload."""
    return "\n\n".join(str(data[key]) for key in ("description", "payload") if data.get(key))


def level_context(data: Mapping[str, object]) -> dict[str, object]:
    """The ICL context of a Level alert's ``alert_active`` delivery."""
    return level_event(level_summary(data), level_details(data), data)


def literals(node: Node) -> Sequence[tuple[Compare, object]]:
    """Each comparison with a literal right side, with that value (for test alerts)."""
    return [
        (each, each.right.value)
        for each in walk(node)
        if isinstance(each, Compare) and isinstance(each.right, Literal)
    ]
