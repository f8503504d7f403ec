"""The stack file discover writes: YAML with comments where they apply (ruamel.yaml).

PyYAML cannot write comments, so the file is built with ruamel.yaml's round-trip types
(``CommentedMap``/``CommentedSeq``): each finding sits before the key it concerns, a
source left out sits where its entry would be, and webhooks no entry takes over are listed
after the last entry. With ``--force`` the existing file is loaded the same way and only
the keys discover owns are replaced: its encrypted secrets (``secure:`` values,
``encryptionsalt``), other keys and comments stay. Pulumi's own ``config set`` keeps these
comments too (it edits the YAML in place).

What comes from the APIs is written as data, never as structure:
- every comment line goes through ``clients.untrusted.one_line``: a line break (``\n``,
  ``\r``, and the NEL and line separators PyYAML also breaks on), a control character or a
  bidirectional control in a team, policy, source or group name is written as its escape,
  so a name can never end the comment and start a key (``\n  ilert:baseUrl: https://...``);
  a comment is cut at ``MAX_COMMENT_CHARS``;
- a string value (a name) is written plain only when it is a plain word YAML 1.1 (PyYAML,
  ops/) and YAML 1.2 (ruamel, Pulumi) both read back as that same string; anything else is
  double-quoted, with escapes for every control character. Non-Latin scripts stay as they
  are;
- ``dump`` parses its own text again, with PyYAML and with ruamel.yaml: every mapping's keys
  must be exactly the document's, at every level, and the integrations exactly the values
  meant, or nothing is written (``UnfaithfulYamlError``, a ``KnownFailure`` whose message
  names the first difference).
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml as pyyaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark, YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, ScalarString
from ruamel.yaml.tokens import CommentToken

from clients.failures import KnownFailure
from clients.untrusted import cut, one_line
from components.settings import INTEGRATIONS_KEY, WEBHOOK_MANAGEMENT_KEY
from ops.discover_plan import Entry, Plan

ENTRY_INDENT = 6  # the keys of an entry of the list under config:
ITEM_INDENT = 4  # the dash of an entry
FLOW_KEYS = ("teams", "eventTypes", "deviceGroups", "sharesAlertsWith")
MAX_COMMENT_CHARS = 300
#: A string that may stand plain: a word of letters or digits (any script), then letters,
#: digits, spaces and ``. ( ) / _ -``, not ending in a space.
_PLAIN = re.compile(r"[^\W_][\w .()/-]*(?<! )")


class UnfaithfulYamlError(KnownFailure, ValueError):
    """The text built does not read back as the document meant: nothing is written."""


def comment(text: str) -> str:
    """A comment's text as data: one line, cut at ``MAX_COMMENT_CHARS``."""
    return cut(one_line(text), MAX_COMMENT_CHARS)


def data(value: Any) -> Any:
    """``value`` as YAML data: a string that could be read as anything but itself (YAML
    1.1's ``yes``/``no``/``on``, a number, a date, ``12:30``), that holds YAML syntax
    (``#``, ``:``, ``&``, ``*``, ``? ``, brackets, quotes) or a control character, is
    double-quoted; a plain name is left as it is."""
    if not isinstance(value, str) or isinstance(value, ScalarString):
        return value
    if _PLAIN.fullmatch(value) and _reads_as_itself(value):
        return value
    return DoubleQuotedScalarString(value)


def _reads_as_itself(text: str) -> bool:
    try:
        read: object = pyyaml.safe_load(text)
    except pyyaml.YAMLError:
        return False
    return read == text


def yaml() -> YAML:
    """A round-trip YAML with the layout of the project's stack files."""
    document = YAML()
    document.indent(mapping=2, sequence=4, offset=2)
    document.width = 100
    document.preserve_quotes = True
    return document


def dump(document: Any) -> str:
    """``document`` as YAML text, read back first with PyYAML and ruamel.yaml: raises
    ``UnfaithfulYamlError`` when either reads other keys, or other integrations, than the
    document holds."""
    stream = io.StringIO()
    yaml().dump(document, stream)
    text = stream.getvalue()
    problem = reads_back(document, text)
    if problem:
        raise UnfaithfulYamlError(
            f"Nothing written: the stack file discover built does not read back as it was "
            f"meant ({problem}). A name read from the APIs was not written as data: this "
            f"is a bug of discover, please report it with the name (the JSON output, "
            f"--json, shows each one)."
        )
    return text


def reads_back(document: Any, text: str) -> str | None:
    """Why ``text`` is not ``document`` for PyYAML (what ops/ reads with) or ruamel.yaml (a
    YAML 1.2 reader, as Pulumi's): the first key or integration that differs; else None."""
    meant = plain(document)
    for reader in ("PyYAML", "ruamel.yaml"):
        try:
            found = pyyaml.safe_load(text) if reader == "PyYAML" else plain(yaml().load(text))
        except (pyyaml.YAMLError, YAMLError) as error:
            return f"{reader} cannot read it: {comment(str(error))}"
        difference = _difference(meant, found, "", exact=False)
        if difference:
            return f"{reader} reads {difference}"
    return None


def plain(value: Any) -> Any:
    """ruamel's round-trip types as plain dicts, lists, str, int, float and bool."""
    if isinstance(value, Mapping):
        return {plain(key): plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    kind = next((kind for kind in (bool, str, int, float) if isinstance(value, kind)), None)
    return kind(value) if kind is not None else value


def _difference(meant: Any, found: Any, where: str, *, exact: bool) -> str | None:
    """The first place where ``found`` differs from ``meant``: every mapping's keys, and
    (``exact``, under the integrations) every value too."""
    if isinstance(meant, dict):
        return _mapping_difference(meant, found, where, exact=exact)
    if isinstance(meant, list):
        if not isinstance(found, list) or len(found) != len(meant):
            return f"{where} with other items than were written"
        return next(
            (difference for index, (item, other) in enumerate(zip(meant, found, strict=True))
             if (difference := _difference(item, other, f"{where}[{index}]", exact=exact))),
            None,
        )
    if isinstance(found, dict | list):
        return f"{where} as a {type(found).__name__}, not the value written"
    if exact and (type(found) is not type(meant) or found != meant):
        return f"{where} as {comment(repr(found))}, not {comment(repr(meant))}"
    return None


def _mapping_difference(
    meant: dict[Any, Any], found: Any, where: str, *, exact: bool
) -> str | None:
    if not isinstance(found, dict):
        return f"{where or 'the document'} as {type(found).__name__}, not a mapping"
    extra = [key for key in found if key not in meant]
    if extra:
        return f"a key {comment(_path(where, extra[0]))!r} that was not written"
    missing = [key for key in meant if key not in found]
    if missing:
        return f"no key {comment(_path(where, missing[0]))!r}"
    for key, item in meant.items():
        inner = exact or str(key) in (INTEGRATIONS_KEY, INTEGRATIONS_KEY.partition(":")[2])
        difference = _difference(item, found[key], _path(where, key), exact=inner)
        if difference:
            return difference
    return None


def _path(where: str, key: Any) -> str:
    return f"{where}.{key}" if where else str(key)


def load(path: Path) -> CommentedMap:
    """An existing stack file, comments and all (an empty file is an empty mapping)."""
    loaded = yaml().load(path.read_text(encoding="utf-8"))
    return loaded if isinstance(loaded, CommentedMap) else CommentedMap()


def _entry(entry: Entry) -> CommentedMap:
    values = CommentedMap()
    for key, value in entry.values.items():
        if key in FLOW_KEYS and isinstance(value, list):
            flow = CommentedSeq([data(item) for item in value])
            flow.fa.set_flow_style()
            values[key] = flow
        elif isinstance(value, Mapping):  # a `secure:` ciphertext kept from the old file
            values[key] = CommentedMap(value)
        elif isinstance(value, list):
            values[key] = [data(item) for item in value]
        else:
            values[key] = data(value)
    for key, text in entry.eol.items():
        if key in values:
            values.yaml_add_eol_comment(f"# {comment(text)}", key)
    for key, lines in entry.before.items():
        if key == "":
            continue
        anchor = key if key in values else "adopt"
        _before(values, anchor, lines, ENTRY_INDENT)
    return values


def _before(mapping: CommentedMap | CommentedSeq, key: Any, lines: list[str], indent: int) -> None:
    """Comment lines before ``key``, added to any already there."""
    existing = _before_lines(mapping, key)
    written = [comment(line) for line in lines]
    mapping.yaml_set_comment_before_after_key(key, before="\n".join([*existing, *written]),
                                              indent=indent)


def _before_lines(mapping: CommentedMap | CommentedSeq, key: Any) -> list[str]:
    """The comment lines already set before ``key`` (without their ``# ``)."""
    item = mapping.ca.items.get(key)
    tokens = item[1] if item and len(item) > 1 and isinstance(item[1], list) else []
    return [
        line.strip().removeprefix("#").removeprefix(" ")
        for token in tokens if token is not None
        for line in token.value.splitlines() if line.strip()
    ]


def _after_last(entry: CommentedMap, lines: list[str]) -> None:
    """Comment lines after the last key of the last entry (ruamel has no "after the last
    item" for a list, so they ride on that key's line-end comment, which starts a line)."""
    key = list(entry)[-1]
    text = "".join(f"{' ' * ITEM_INDENT}# {comment(line)}".rstrip() + "\n" for line in lines)
    item = entry.ca.items.setdefault(key, [None, None, None, None])
    token = item[2]
    if token is None:
        item[2] = CommentToken("\n" + text, CommentMark(0), None)
    else:
        token.value = token.value.rstrip("\n") + "\n" + text


def integrations(plan: Plan) -> CommentedSeq:
    """The ``level-ilert:integrations`` list, with every comment at its place."""
    seq = CommentedSeq()
    for entry in plan.entries:
        seq.append(_entry(entry))
    for index, entry in enumerate(plan.entries):
        lines: list[str] = []
        for kept in plan.kept_out:
            if kept.position == index:
                lines.extend(kept.lines)
        lines.extend(entry.before.get("", []))
        if lines:
            _before(seq, index, lines, ITEM_INDENT)
    trailing: list[str] = []
    for kept in plan.kept_out:
        if kept.position >= len(plan.entries):
            trailing.extend(kept.lines)
    if plan.loose:
        trailing.extend(["Level webhooks no entry takes over:", *plan.loose])
    if trailing and seq:
        _after_last(seq[-1], trailing)
    return seq


def print_block(plan: Plan) -> str:
    """Only the ``level-ilert:integrations`` block, indented to paste under ``config:``."""
    text = dump({"config": {INTEGRATIONS_KEY: integrations(plan)}})
    return text.split("\n", 1)[1]


def new_document(
    plan: Plan, header: list[str], endpoints: Mapping[str, str]
) -> CommentedMap:
    """A new stack file: the header comment, the endpoints that are not the defaults, the
    webhook management mode and the integrations."""
    config = CommentedMap()
    for key, value in endpoints.items():
        config[key] = value
    config[WEBHOOK_MANAGEMENT_KEY] = plan.webhook_management
    config[INTEGRATIONS_KEY] = integrations(plan)
    document = CommentedMap()
    document["config"] = config
    document.yaml_set_start_comment("\n".join(comment(line) for line in header))
    return document


def merged_document(
    existing: CommentedMap,
    plan: Plan,
    endpoints: Mapping[str, str],
    project: str,
) -> CommentedMap:
    """``existing`` with discover's keys replaced: the integrations, the webhook management
    mode, and the endpoints it used when the file did not set them. Everything else (the
    ``secure:`` values, ``encryptionsalt``, other keys and their comments) stays."""
    config = existing.get("config")
    if not isinstance(config, CommentedMap):
        config = CommentedMap()
        existing.insert(0, "config", config)
    # A file written in flow style (`config: {a: b}`) gets discover's block layout: its
    # comments cannot sit inside a flow mapping.
    existing.fa.set_block_style()
    config.fa.set_block_style()

    def key_of(full: str) -> Any:
        bare = full.partition(":")[2] if full.startswith(f"{project}:") else None
        return next((k for k in config if str(k) in (full, bare)), None)

    for key, value in endpoints.items():
        if key_of(key) is None:
            config[key] = value
    management = key_of(WEBHOOK_MANAGEMENT_KEY)
    if management is None or plan.webhook_management == "manual":
        config[management or WEBHOOK_MANAGEMENT_KEY] = plan.webhook_management
    config[key_of(INTEGRATIONS_KEY) or INTEGRATIONS_KEY] = integrations(plan)
    return existing
