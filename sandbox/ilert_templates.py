"""The sandbox's own reading of ITL, ilert's template language, written from ilert's
documentation alone (docs.ilert.com "ITL - ilert template language"); it imports nothing of
the project, so a bug in the project's template checker (providers/itl.py) cannot hide here.

What the fake ilert does with a template, and what it assumes where ilert is silent:

- **Storage.** ilert's OpenAPI (``AlertSourceTemplate``) says a template is kept as
  ``elements`` and given back as text with ``?include=textTemplate``; either form is
  accepted on a write. The sandbox parses a ``textTemplate`` into elements (a template it
  cannot parse is a 400) and writes the text out again from them: ``TEXT`` elements as they
  are, a variable as ``{{path}}`` or ``{{path.function("text", 1)}}`` (``VAR``, with
  ``func`` and ``args`` of ``{"S": ...}``/``{"N": ...}``), a section tag as ``{{#path}}``,
  ``{{^path}}``, ``{{/path}}`` or ``{{.}}`` (``RAW``). So a template written
  ``{{ data.name }}`` comes back ``{{data.name}}``: how ilert spells it back is not
  documented, and the sandbox picks a spelling other than the usual one on purpose, so that
  a client that compares templates as raw text sees a change that is none.
- **Rendering.** ``{{path}}`` is the value at that path of the event (``data.device_hostname``;
  ``list[0]``; ``key\\ with\\ spaces``), "" when there is none; text is inserted as it is (not
  escaped), numbers and booleans as JSON writes them, objects and lists as compact JSON.
  ``{{#path}}...{{/path}}`` renders its block once per item of a non-empty list (inside it,
  ``{{.}}`` is the item and names are looked up in the item first), once for any other
  value that is not false, empty or missing, else not at all; ``{{^path}}`` the other way
  round. Functions work as the documentation's table and examples say; dates are written
  in UTC in the documented styles (F, L, M, S; M by default).
- **What a Level delivery looks like to a template** is not documented. The sandbox assumes
  the template sees the delivery's JSON body as Level sends it (ilert's alert-template
  docs: "raw fields from the JSON payload"): ``event_type``, ``event_id``, ``occurred_at``
  and ``data`` (Level's alert: ``data.name``, ``data.device_hostname``, ``data.severity``,
  ``data.device_id``, ``data.id`` ...).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

JSON = dict[str, Any]
MAX_CHARS: Final = 10_000
#: function name -> the kinds of its arguments, required then optional ("S" text, "N" number)
FUNCTIONS: Final[dict[str, tuple[str, str]]] = {
    "substring": ("N", "N"), "lowerCase": ("", ""), "upperCase": ("", ""),
    "replaceAll": ("SS", ""), "splitTakeAt": ("SN", ""),
    "formatUnixMs": ("", "S"), "formatUnixSec": ("", "S"), "formatDateString": ("", "S"),
    "join": ("", "S"), "joinFromObjectArr": ("S", "S"), "joinFromObjectArray": ("S", "S"),
    "extractRegex": ("S", ""), "extractRegexGroups": ("S", ""),
}
for _test in ("startsWith", "equals", "endsWith", "contains"):
    for _verb in ("Take", "TakeOrDrop", "Else", "ElseOrDrop"):
        FUNCTIONS[_test + _verb] = ("SS", "")
_ARG = re.compile(r'\s*(?:"((?:[^"\\]|\\.)*)"|\'((?:[^\'\\]|\\.)*)\'|(-?\d+))\s*')


class TemplateError(ValueError):
    """A template the fake ilert refuses (the 400's message says where and why)."""


@dataclass(frozen=True)
class _Var:
    path: tuple[str | int, ...]
    func: str = ""
    args: tuple[str | int, ...] = ()


@dataclass(frozen=True)
class _Section:
    path: tuple[str | int, ...]
    inverted: bool
    body: tuple[Any, ...]


# -------------------------------------------------------------------------- text -> elements


def _split_tags(text: str) -> list[tuple[str, str]]:
    """``[("text", ...), ("tag", inner), ...]``; raises on an unclosed ``{{``."""
    parts: list[tuple[str, str]] = []
    at = 0
    while True:
        start = text.find("{{", at)
        if start == -1:
            if at < len(text):
                parts.append(("text", text[at:]))
            return parts
        if start > at:
            parts.append(("text", text[at:start]))
        end, quote, i = -1, "", start + 2
        while i < len(text):
            char = text[i]
            if quote:
                if char == "\\":
                    i += 2
                    continue
                if char == quote:
                    quote = ""
            elif char in "\"'":
                quote = char
            elif text.startswith("}}", i):
                end = i
                break
            i += 1
        if end == -1:
            raise TemplateError(f"the tag opened at character {start + 1} is never closed")
        parts.append(("tag", text[start + 2 : end].strip()))
        at = end + 2


def _split_call(inner: str) -> tuple[str, str, str]:
    """(path, function, argument text) of a variable tag."""
    if not inner.endswith(")") or "(" not in inner:
        return inner, "", ""
    head, _, args = inner[:-1].partition("(")
    path, dot, func = head.rpartition(".")
    if not dot or not func.isidentifier():
        raise TemplateError(f"{{{{{inner}}}}}: a function is called on a variable: x.f()")
    return path.strip(), func, args


def _args(func: str, text: str) -> list[JSON]:
    found: list[JSON] = []
    rest = text.strip()
    while rest:
        match = _ARG.match(rest)
        if match is None:
            raise TemplateError(f"{func}(): arguments are quoted text or whole numbers")
        if match.group(3) is not None:
            found.append({"N": int(match.group(3))})
        else:
            raw = match.group(1) if match.group(1) is not None else match.group(2)
            found.append({"S": re.sub(r"\\(.)", r"\1", raw)})
        rest = rest[match.end():]
        if rest.startswith(","):
            rest = rest[1:]
            if not rest.strip():
                raise TemplateError(f"{func}(): an argument is missing after the comma")
        elif rest:
            raise TemplateError(f"{func}(): separate arguments with commas")
    required, optional = FUNCTIONS[func]
    kinds = "".join("S" if "S" in arg else "N" for arg in found)
    if not len(required) <= len(kinds) <= len(required) + len(optional) or (
        kinds != (required + optional)[: len(kinds)]
    ):
        raise TemplateError(f"{func}() does not take these arguments")
    return found


def _check_path(path: str, where: str) -> None:
    if not path or path.startswith(".") or path.endswith(".") or ".." in path:
        raise TemplateError(f"{{{{{where}}}}}: not a variable path")
    if re.search(r"\[(?!\d+\])", path):
        raise TemplateError(f"{{{{{where}}}}}: an index is a number in brackets")


def elements(text: str) -> list[JSON]:
    """A template's text as ilert's elements; raises ``TemplateError`` for a bad one."""
    if len(text) > MAX_CHARS:
        raise TemplateError(f"longer than {MAX_CHARS} characters")
    found: list[JSON] = []
    opened: list[str] = []
    for kind, value in _split_tags(text):
        if kind == "text":
            found.append({"type": "TEXT", "val": value})
            continue
        if not value:
            raise TemplateError("an empty tag {{ }}")
        if value[0] in "#^/":
            path = value[1:].strip()
            _check_path(path, value)
            if value[0] == "/":
                if not opened or opened.pop() != path:
                    raise TemplateError(f"{{{{/{path}}}}} closes no open {{{{#{path}}}}}")
            else:
                opened.append(path)
            found.append({"type": "RAW", "val": value[0] + path})
            continue
        if value == ".":
            found.append({"type": "RAW", "val": "."})
            continue
        path, func, args = _split_call(value)
        _check_path(path, value)
        element: JSON = {"type": "VAR", "val": path}
        if func:
            if func not in FUNCTIONS:
                raise TemplateError(f"{{{{{value}}}}}: {func} is not an ITL function")
            element["func"] = func
            element["args"] = _args(func, args)
        found.append(element)
    if opened:
        raise TemplateError(f"{{{{#{opened[-1]}}}}} is never closed")
    return found


def text_of(elements_: Sequence[Mapping[str, Any]]) -> str:
    """The elements written out as text (the sandbox's spelling: no spaces in tags)."""
    written: list[str] = []
    for element in elements_:
        kind, val = element.get("type"), str(element.get("val", ""))
        if kind == "TEXT":
            written.append(val)
        elif kind == "RAW":
            written.append(f"{{{{{val}}}}}")
        else:
            call = ""
            if element.get("func"):
                args = ", ".join(
                    json.dumps(arg["S"], ensure_ascii=False) if "S" in arg else str(arg["N"])
                    for arg in element.get("args") or ()
                )
                call = f".{element['func']}({args})"
            written.append(f"{{{{{val}{call}}}}}")
    return "".join(written)


def stored(template: object, where: str) -> JSON:
    """A template object of a request body (``{textTemplate}`` or ``{elements}``) as the
    sandbox keeps it: ``{"elements": [...]}``; raises ``TemplateError`` naming ``where``."""
    if not isinstance(template, dict):
        raise TemplateError(f"{where}: must be an object with textTemplate (or elements)")
    text = template.get("textTemplate")
    if isinstance(text, str):
        try:
            return {"elements": elements(text)}
        except TemplateError as exc:
            raise TemplateError(f"{where}.textTemplate: not a valid template: {exc}") from None
    given = template.get("elements")
    if isinstance(given, list) and all(
        isinstance(e, dict) and e.get("type") in ("TEXT", "VAR", "RAW") for e in given
    ):
        try:  # elements are checked as the text they stand for
            return {"elements": elements(text_of(given))}
        except TemplateError as exc:
            raise TemplateError(f"{where}.elements: not a valid template: {exc}") from None
    raise TemplateError(f"{where}: must be an object with textTemplate (a string) or elements")


def shown(template: Mapping[str, Any], as_text: bool) -> JSON:
    """A kept template as the API shows it: ``{textTemplate}`` when asked, else elements."""
    parts = template.get("elements") or []
    return {"textTemplate": text_of(parts)} if as_text else {"elements": json.loads(
        json.dumps(parts)
    )}


# ------------------------------------------------------------------------------- rendering


def _path(text: str) -> tuple[str | int, ...]:
    steps: list[str | int] = []
    current: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            current.append(text[i + 1])
            i += 2
            continue
        if char == ".":
            steps.append("".join(current))
            current = []
        elif char == "[":
            close = text.index("]", i)
            if current:
                steps.append("".join(current))
                current = []
            steps.append(int(text[i + 1 : close]))
            i = close + 1
            if i < len(text) and text[i] == ".":
                i += 1
            continue
        else:
            current.append(char)
        i += 1
    if current:
        steps.append("".join(current))
    return tuple(steps)


def _tree(elements_: Sequence[Mapping[str, Any]]) -> tuple[Any, ...]:
    stack: list[tuple[str, bool, list[Any]]] = [("", False, [])]
    for element in elements_:
        kind, val = element.get("type"), str(element.get("val", ""))
        if kind == "TEXT":
            stack[-1][2].append(val)
        elif kind == "RAW" and val[:1] in "#^":
            stack.append((val[1:], val[0] == "^", []))
        elif kind == "RAW" and val[:1] == "/":
            path, inverted, body = stack.pop()
            stack[-1][2].append(_Section(_path(path), inverted, tuple(body)))
        elif kind == "RAW":  # "."
            stack[-1][2].append(_Var(()))
        else:
            args = tuple(a["S"] if "S" in a else int(a["N"]) for a in element.get("args") or ())
            stack[-1][2].append(_Var(_path(val), str(element.get("func") or ""), args))
    return tuple(stack[0][2])


_MISSING: Final = object()


def _lookup(scopes: Sequence[object], path: tuple[str | int, ...]) -> object:
    if not path:
        return scopes[-1]
    for scope in reversed(scopes):
        value = _step(scope, path[0])
        if value is not _MISSING:
            for part in path[1:]:
                value = _step(value, part)
                if value is _MISSING:
                    return None
            return value
    return None


def _step(value: object, part: str | int) -> object:
    if isinstance(part, int):
        return value[part] if isinstance(value, list) and 0 <= part < len(value) else _MISSING
    if isinstance(value, Mapping) and part in value:
        return value[part]
    return _MISSING


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _date(moment: datetime, style: str) -> str:
    hour = moment.strftime("%I").lstrip("0") or "12"
    clock = f"{hour}:{moment:%M:%S} {moment:%p}"
    if style == "F":
        return f"{moment:%A, %B} {moment.day}, {moment.year} at {clock} Coordinated Universal Time"
    if style == "L":
        return f"{moment:%B} {moment.day}, {moment.year} at {clock} UTC"
    if style == "S":
        return f"{moment.month}/{moment.day}/{moment:%y}, {hour}:{moment:%M} {moment:%p}"
    return f"{moment:%b} {moment.day}, {moment.year}, {clock}"


def _apply(  # noqa: PLR0911, PLR0912 (one branch per documented function)
    func: str, value: object, args: tuple[str | int, ...]
) -> object:
    text = _text(value)
    if func == "substring":
        begin = int(args[0])
        end = int(args[1]) if len(args) > 1 else len(text)
        return text[begin:end]
    if func in ("lowerCase", "upperCase"):
        return text.lower() if func == "lowerCase" else text.upper()
    if func == "replaceAll":
        return text.replace(str(args[0]), str(args[1]))
    if func == "splitTakeAt":
        pieces = text.split(str(args[0]))
        index = int(args[1])
        return pieces[index] if 0 <= index < len(pieces) else ""
    if func.startswith(("formatUnix", "formatDate")):
        style = str(args[0]) if args else "M"
        try:
            if func == "formatDateString":
                moment = datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
            else:
                seconds = float(text) / (1000 if func == "formatUnixMs" else 1)
                moment = datetime.fromtimestamp(seconds, UTC)
        except ValueError:
            return text
        return _date(moment, style)
    if func == "join":
        items = value if isinstance(value, list) else []
        return (str(args[0]) if args else ", ").join(_text(item) for item in items)
    if func.startswith("joinFromObject"):
        items = value if isinstance(value, list) else []
        key = str(args[0])
        separator = str(args[1]) if len(args) > 1 else "\n"
        return separator.join(_text(i.get(key)) for i in items if isinstance(i, Mapping))
    if func.startswith("extractRegex"):
        try:
            match = re.search(str(args[0]), text)
        except re.error:
            return ""
        if match is None:
            return ""
        return "".join(g or "" for g in match.groups()) if func.endswith("Groups") else (
            match.group(0)
        )
    return _choose(func, text, str(args[0]), str(args[1]))


_TESTS: Final[dict[str, Callable[[str, str], bool]]] = {
    "startsWith": str.startswith, "equals": str.__eq__, "endsWith": str.endswith,
    "contains": lambda text, part: part in text,
}


def _choose(func: str, text: str, probe: str, other: str) -> str:
    test = next(name for name in _TESTS if func.startswith(name))
    verb = func[len(test):]
    hit = _TESTS[test](text, probe)
    if verb == "Take":
        return other if hit else text
    if verb == "TakeOrDrop":
        return other if hit else ""
    if verb == "Else":
        return text if hit else other
    return "" if hit else other  # ElseOrDrop


def _truthy(value: object) -> bool:
    return value not in (None, False, "", [], {}, 0)


def _render(nodes: Sequence[Any], scopes: list[object]) -> str:
    out: list[str] = []
    for node in nodes:
        if isinstance(node, str):
            out.append(node)
        elif isinstance(node, _Var):
            value = _lookup(scopes, node.path)
            out.append(_text(_apply(node.func, value, node.args) if node.func else value))
        else:
            out.append(_section(node, scopes))
    return "".join(out)


def _section(node: _Section, scopes: list[object]) -> str:
    """A section: once per item of a list, once for a truthy value; inverted, the reverse."""
    value = _lookup(scopes, node.path)
    if node.inverted:
        return "" if _truthy(value) else _render(node.body, scopes)
    if isinstance(value, list):
        return "".join(_render(node.body, [*scopes, item]) for item in value)
    return _render(node.body, [*scopes, value]) if _truthy(value) else ""


def render(template: Mapping[str, Any] | None, event: Mapping[str, Any]) -> str:
    """A kept template (``{"elements": [...]}``) rendered for one event ("" for none)."""
    if not template:
        return ""
    return _render(_tree(template.get("elements") or []), [dict(event)])
