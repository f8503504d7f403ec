"""ITL, ilert's template language: check a template at preview and compare two normalised.

ilert documents ITL (docs.ilert.com "ITL - ilert template language"), the text form of an
alert source's templates (``summaryTemplate``, ``detailsTemplate``, ``routingTemplate``,
``alertKeyTemplate``, a link's ``href``, the value template of a priority or severity
mapping, ``servicesTemplate``). What this module reads of it:

- text outside ``{{ ... }}`` is copied as it is;
- ``{{ path }}`` inserts a value: ``var``, ``var.sub.field``, ``var.list[0].more``, keys
  with other characters written out or with an escaped space (``var.compl:ex\\ key-123``);
- ``{{ path.function(args) }}`` applies one of the documented functions, its arguments
  double- (or single-) quoted strings and whole numbers, as many as the function takes;
- ``{{ #path }} ... {{ /path }}`` is a section (a loop over a list), ``{{ ^path }} ...
  {{ /path }}`` an inverted one; inside a loop ``{{ . }}`` is the item; sections nest and
  each closes the one opened last, by the same path.

``check`` refuses what ilert's editor would: an unclosed tag, an empty one, an unknown
function, a wrong number or kind of arguments, a section closed by another name or never
closed; the error points at the column with a caret, as ICL's does. ``normalised`` is the
template with each tag written one way (``{{ path }}``, ``{{ #path }}``, arguments as
``("text", 1)``), so that a template ilert gives back in another spelling (it keeps
templates as elements and writes them out again) is not a change. This module imports
nothing of the project; the sandbox renders templates with a reader of its own.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from typing import Final

#: The documented functions: name -> (kinds of the required arguments, of the optional ones).
FUNCTIONS: Final[dict[str, tuple[str, str]]] = {
    "substring": ("N", "N"),
    "lowerCase": ("", ""),
    "upperCase": ("", ""),
    "replaceAll": ("SS", ""),
    "splitTakeAt": ("SN", ""),
    **{
        f"{match}{verb}": ("SS", "")
        for match in ("startsWith", "equals", "endsWith", "contains")
        for verb in ("Take", "TakeOrDrop", "Else", "ElseOrDrop")
    },
    "formatUnixMs": ("", "S"),
    "formatUnixSec": ("", "S"),
    "formatDateString": ("", "S"),
    "join": ("", "S"),
    "joinFromObjectArr": ("S", "S"),
    "joinFromObjectArray": ("S", "S"),
    "extractRegex": ("S", ""),
    "extractRegexGroups": ("S", ""),
}
MAX_CHARS: Final = 10_000
_KIND_WORDS: Final = {"S": "a string", "N": "a whole number"}
_OPEN, _CLOSE = "{{", "}}"
_KEY_CHAR: Final = re.compile(r"[^\s.\[\]()\"',{}]")
_INTEGER: Final = re.compile(r"-?\d+")


class ItlSyntaxError(ValueError):
    """A template ilert would refuse; ``column`` is 1-based, the message shows it with ``^``."""

    def __init__(self, message: str, text: str, offset: int) -> None:
        self.offset = max(0, min(offset, len(text)))
        line_start = text.rfind("\n", 0, self.offset) + 1
        line_end = text.find("\n", self.offset)
        line = text[line_start : line_end if line_end != -1 else len(text)]
        self.line = text.count("\n", 0, self.offset) + 1
        self.column = self.offset - line_start + 1
        start = max(0, self.column - 1 - 60)
        shown = line[start : start + 100]
        pointer = f"  {shown}\n  {' ' * (self.column - 1 - start)}^"
        where = (
            f"line {self.line}, column {self.column}" if "\n" in text
            else f"column {self.column}"
        )
        super().__init__(f"{where}: {message}\n{pointer}")


@dataclass(frozen=True)
class Tag:
    """One ``{{ ... }}``: its kind (``var``, ``#``, ``^``, ``/``, ``.``) and parts."""

    kind: str
    path: str = ""
    function: str = ""
    args: tuple[str | int, ...] = ()

    def __str__(self) -> str:
        if self.kind == ".":
            return "{{ . }}"
        if self.kind in "#^/":
            return f"{{{{ {self.kind}{self.path} }}}}"
        call = ""
        if self.function:
            shown = ", ".join(
                json.dumps(arg, ensure_ascii=False) if isinstance(arg, str) else str(arg)
                for arg in self.args
            )
            call = f".{self.function}({shown})"
        return f"{{{{ {self.path}{call} }}}}"


Part = str | Tag


def parse(text: str) -> list[Part]:
    """The template as text and tags; raises ``ItlSyntaxError``."""
    if len(text) > MAX_CHARS:
        raise ItlSyntaxError(
            f"the template has {len(text)} characters; at most {MAX_CHARS} are checked", text,
            MAX_CHARS,
        )
    parts: list[Part] = []
    opened: list[tuple[Tag, int]] = []
    at = 0
    while at < len(text):
        start = text.find(_OPEN, at)
        if start == -1:
            parts.append(text[at:])
            break
        if start > at:
            parts.append(text[at:start])
        end = _tag_end(text, start)
        tag = _Tag(text, start + 2, end).read()
        if tag.kind in "#^":
            opened.append((tag, start))
        elif tag.kind == "/":
            if not opened:
                raise ItlSyntaxError(
                    f"{{{{ /{tag.path} }}}} closes a section that was never opened", text, start
                )
            section, _ = opened.pop()
            if section.path != tag.path:
                raise ItlSyntaxError(
                    f"{{{{ /{tag.path} }}}} closes {{{{ {section.kind}{section.path} }}}}; close "
                    f"it with {{{{ /{section.path} }}}}", text, start,
                )
        parts.append(tag)
        at = end + 2
    if opened:
        section, start = opened[-1]
        raise ItlSyntaxError(
            f"{{{{ {section.kind}{section.path} }}}} is never closed; end it with "
            f"{{{{ /{section.path} }}}}", text, start,
        )
    return parts


def check(text: str) -> None:
    """Raise ``ItlSyntaxError`` unless ``text`` is a template ilert accepts."""
    parse(text)


def normalised(text: str) -> str:
    """``text`` with each tag written one way; a template that does not parse is itself."""
    try:
        parts = parse(text)
    except ItlSyntaxError:
        return text
    return "".join(str(part) for part in parts)


def same(first: str | None, second: str | None) -> bool:
    """Whether two templates say the same (equal once normalised; None is the empty one)."""
    return normalised(first or "") == normalised(second or "")


def _tag_end(text: str, start: int) -> int:
    """Where the tag opened at ``start`` closes (``}}`` outside a quoted argument)."""
    at, quote = start + 2, ""
    while at < len(text):
        char = text[at]
        if quote:
            if char == "\\":
                at += 2
                continue
            if char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif text.startswith(_CLOSE, at):
            return at
        elif text.startswith(_OPEN, at):
            break
        at += 1
    raise ItlSyntaxError("'{{' is never closed: end the tag with '}}'", text, start)


class _Tag:
    """Reads the inside of one tag, ``text[start:end]``."""

    def __init__(self, text: str, start: int, end: int) -> None:
        self.text, self.at, self.end = text, start, end

    def error(self, why: str, at: int | None = None) -> ItlSyntaxError:
        return ItlSyntaxError(why, self.text, self.at if at is None else at)

    def blank(self) -> None:
        while self.at < self.end and self.text[self.at].isspace():
            self.at += 1

    def read(self) -> Tag:
        self.blank()
        if self.at >= self.end:
            raise self.error("an empty tag '{{ }}': put a variable inside, such as {{ data.name }}")
        char = self.text[self.at]
        if char in "#^/":
            self.at += 1
            self.blank()
            path = self.path()
            self.finish()
            return Tag(char, path)
        if char == "." and self.text[self.at + 1 : self.end].strip() == "":
            self.at = self.end
            return Tag(".")
        path = self.path(allow_call=True)
        function = ""
        args: tuple[str | int, ...] = ()
        if self.at < self.end and self.text[self.at] == "(":
            path, _, function = path.rpartition(".")
            if not path:
                raise self.error(f"{function}() needs a variable before it, such as "
                                 f"{{{{ data.name.{function}() }}}}")
            args = self.arguments(function)
        self.finish()
        return Tag("var", path, function, args)

    def finish(self) -> None:
        self.blank()
        if self.at < self.end:
            raise self.error(f"unexpected {self.text[self.at:self.end].strip()!r} in the tag")

    def path(self, *, allow_call: bool = False) -> str:
        """A variable path as written (``a.b[0].c``, escaped spaces kept)."""
        start = self.at
        segments = 0
        while self.at < self.end:
            char = self.text[self.at]
            if char == "\\" and self.at + 1 < self.end:
                self.at += 2
                continue
            if char == "[":
                close = self.text.find("]", self.at, self.end)
                index = self.text[self.at + 1 : close] if close != -1 else ""
                if close == -1 or not index.strip().isdigit():
                    raise self.error("an index is a whole number in brackets, such as list[0]")
                self.at = close + 1
                continue
            if char == ".":
                if self.at == start or self.text[self.at - 1] == ".":
                    raise self.error("a path has a name between its dots")
                segments += 1
                self.at += 1
                continue
            if char == "(" and allow_call:
                break
            if not _KEY_CHAR.match(char):
                break
            self.at += 1
        path = self.text[start : self.at]
        if not path or path.endswith("."):
            raise self.error("expected a variable name, such as data.name", self.at)
        return path

    def arguments(self, function: str) -> tuple[str | int, ...]:
        if function not in FUNCTIONS:
            guess = difflib.get_close_matches(function, FUNCTIONS, n=1, cutoff=0.6)
            hint = f" (did you mean {guess[0]!r}?)" if guess else ""
            raise self.error(f"unknown function {function!r}{hint}", self.at - len(function))
        opened = self.at
        self.at += 1
        args: list[str | int] = []
        while True:
            self.blank()
            if self.at >= self.end:
                raise self.error(f"{function}( is never closed with ')'", opened)
            if self.text[self.at] == ")":
                self.at += 1
                break
            if args:
                if self.text[self.at] != ",":
                    raise self.error("separate the arguments with a comma")
                self.at += 1
                self.blank()
            args.append(self.argument())
        required, optional = FUNCTIONS[function]
        kinds = "".join("S" if isinstance(arg, str) else "N" for arg in args)
        if not (len(required) <= len(kinds) <= len(required) + len(optional)) or kinds != (
            required + optional
        )[: len(kinds)]:
            raise self.error(f"{function} takes {_signature(required, optional)}", opened)
        return tuple(args)

    def argument(self) -> str | int:
        char = self.text[self.at]
        if char in "\"'":
            start, self.at = self.at, self.at + 1
            value: list[str] = []
            while self.at < self.end and self.text[self.at] != char:
                if self.text[self.at] == "\\" and self.at + 1 < self.end:
                    self.at += 1
                value.append(self.text[self.at])
                self.at += 1
            if self.at >= self.end:
                raise self.error("a string argument is never closed", start)
            self.at += 1
            return "".join(value)
        found = _INTEGER.match(self.text, self.at, self.end)
        if found is None:
            raise self.error("an argument is a quoted string or a whole number")
        self.at = found.end()
        return int(found.group())


def _signature(required: str, optional: str) -> str:
    words = [_KIND_WORDS[kind] for kind in required]
    extra = [f"optionally {_KIND_WORDS[kind]}" for kind in optional]
    listed = [*words, *extra]
    return "no arguments" if not listed else ", then ".join(listed)
