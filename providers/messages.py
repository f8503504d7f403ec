"""Sentences for what a user got wrong: one per bad field, in words they can act on.

Shared by the providers' ``check`` (a ``CheckFailure`` per field) and the stack settings
(a line per stack-file key): a pydantic error becomes "<field> must be ..." with the value
quoted unless the field is secret, a misspelled key gets the key meant, and our own
validators' sentences are kept as they are.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from pulumi.dynamic import CheckFailure
from pydantic import ValidationError

from clients.failures import KnownFailure

__all__ = [
    "KnownFailure", "check_failures", "explain", "location", "quote", "suggest",
    "unknown_key_message",
]


def check_failures(
    error: ValidationError,
    *,
    skip: Iterable[str] = (),
    secret_fields: Iterable[str] = (),
    known: Iterable[str] = (),
) -> list[CheckFailure]:
    """One CheckFailure per invalid property, in sentences a user can act on.

    ``known`` are the valid property names, to suggest one for a misspelled property.
    """
    skipped, secrets, names = set(skip), set(secret_fields), tuple(known)
    failures: list[CheckFailure] = []
    seen: set[str] = set()
    for item in error.errors(include_url=False):
        prop = str(item["loc"][0]) if item["loc"] else ""
        where = location(item["loc"])
        if prop in skipped or where in seen:
            continue
        seen.add(where)  # a union reports one error per branch: one sentence is enough
        failures.append(CheckFailure(prop, explain(item, secret=prop in secrets, known=names)))
    return failures


def location(loc: Iterable[object]) -> str:
    """A pydantic error location as a user reads it: ``teams[1]``, never a union branch.

    Our models are flat, so the first part is the property and later ``int`` parts are list
    indices; any other part is the label pydantic gives a union branch or a validator
    (``int``, ``str``, ``function-after[...]``), which means nothing to a user.
    """
    parts = list(loc)
    if not parts:
        return ""
    text = str(parts[0])
    for part in parts[1:]:
        if isinstance(part, int):
            text += f"[{part}]"
    return text


def suggest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate ``word`` was probably meant to be: same letters in another case style
    (``escalation_policy`` for ``escalationPolicy``), else the closest spelling."""
    options = list(candidates)
    squashed = {_squash(option): option for option in options}
    if _squash(word) in squashed:
        return squashed[_squash(word)]
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.75)
    if close:
        return close[0]
    close = difflib.get_close_matches(_squash(word), list(squashed), n=1, cutoff=0.75)
    return squashed[close[0]] if close else None


def _squash(word: str) -> str:
    return word.replace("_", "").replace("-", "").lower()


def unknown_key_message(prop: str, word: str, known: Iterable[str]) -> str:
    """``prop`` (spelled ``word``) is not a known key: the likely one, or the list of keys."""
    names = sorted(known)
    guess = suggest(word, names)
    if guess:
        return f"{prop} is not a known property; did you mean {guess}? Rename it."
    if not names:
        return f"{prop} is not a known property; remove it or check its spelling."
    return f"{prop} is not a known property; remove it. Known ones: {', '.join(names)}."


# Pydantic's wording for type errors, replaced by what the user should write instead.
_TYPE_HINTS = {
    "string_type": "must be a valid string (text in quotes if YAML reads it otherwise)",
    "bool_type": "must be a valid boolean: true or false",
    "bool_parsing": "must be a valid boolean: true or false",
    "list_type": "must be a valid list",
    "int_type": "must be a valid integer (a whole number)",
    "int_parsing": "must be a valid integer (a whole number)",
    "int_from_float": "must be a valid integer (a whole number)",
    "dict_type": "must be a mapping of keys to values",
    "model_type": "must be a mapping of keys to values",
}
MAX_QUOTED_CHARS = 60


def explain(
    item: Mapping[str, Any],
    *,
    name: str | None = None,
    secret: bool = False,
    known: Iterable[str] = (),
) -> str:
    """A pydantic error item as a sentence; our own validators' messages are kept verbatim.

    ``name`` is how the user calls the property (defaults to its location without union
    branch labels); the offending value is quoted (shortened) unless ``secret``.
    """
    message = str(item["msg"]).removeprefix("Value error, ")
    kind = item["type"]
    prop = name or location(item["loc"]) or "the resource"
    if kind == "missing":
        return f"{prop} is required."
    if kind == "extra_forbidden":
        word = str(item["loc"][-1]) if item["loc"] else prop
        return unknown_key_message(prop, word, known)
    if kind == "value_error":
        where = location(item["loc"])
        if name is None and "[" in where:  # a list item: say which one
            return f"{where}: {message}"
        return message
    message = _TYPE_HINTS.get(kind, message)
    if secret:
        return f"{prop}: {message}."
    return f"{prop}: {message} (got {quote(item.get('input'))})."


def quote(value: object) -> str:
    """A user's value for an error message: YAML-like words, shortened when long."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    text = repr(value)
    if len(text) > MAX_QUOTED_CHARS:
        text = text[: MAX_QUOTED_CHARS - 3] + "..."
    return text
