"""The stack file discover writes: YAML with comments where they apply (ruamel.yaml).

PyYAML cannot write comments, so the file is built with ruamel.yaml's round-trip types
(``CommentedMap``/``CommentedSeq``): each finding sits before the key it concerns, a
source left out sits where its entry would be, and webhooks no entry takes over are listed
after the last entry. With ``--force`` the existing file is loaded the same way and only
the keys discover owns are replaced: its encrypted secrets (``secure:`` values,
``encryptionsalt``), other keys and comments stay. Pulumi's own ``config set`` keeps these
comments too (it edits the YAML in place).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark
from ruamel.yaml.tokens import CommentToken

from components.settings import INTEGRATIONS_KEY, WEBHOOK_MANAGEMENT_KEY
from ops.discover_plan import Entry, Plan

ENTRY_INDENT = 6  # the keys of an entry of the list under config:
ITEM_INDENT = 4  # the dash of an entry
FLOW_KEYS = ("teams", "eventTypes", "deviceGroups", "sharesAlertsWith")


def yaml() -> YAML:
    """A round-trip YAML with the layout of the project's stack files."""
    document = YAML()
    document.indent(mapping=2, sequence=4, offset=2)
    document.width = 100
    document.preserve_quotes = True
    return document


def dump(document: Any) -> str:
    """``document`` as YAML text."""
    stream = io.StringIO()
    yaml().dump(document, stream)
    return stream.getvalue()


def load(path: Path) -> CommentedMap:
    """An existing stack file, comments and all (an empty file is an empty mapping)."""
    loaded = yaml().load(path.read_text(encoding="utf-8"))
    return loaded if isinstance(loaded, CommentedMap) else CommentedMap()


def _entry(entry: Entry) -> CommentedMap:
    values = CommentedMap()
    for key, value in entry.values.items():
        if key in FLOW_KEYS and isinstance(value, list):
            flow = CommentedSeq(value)
            flow.fa.set_flow_style()
            values[key] = flow
        elif isinstance(value, Mapping):  # a `secure:` ciphertext kept from the old file
            values[key] = CommentedMap(value)
        else:
            values[key] = value
    for key, text in entry.eol.items():
        if key in values:
            values.yaml_add_eol_comment(f"# {text}", key)
    for key, lines in entry.before.items():
        if key == "":
            continue
        anchor = key if key in values else "adopt"
        _before(values, anchor, lines, ENTRY_INDENT)
    return values


def _before(mapping: CommentedMap | CommentedSeq, key: Any, lines: list[str], indent: int) -> None:
    """Comment lines before ``key``, added to any already there."""
    existing = _before_lines(mapping, key)
    mapping.yaml_set_comment_before_after_key(key, before="\n".join([*existing, *lines]),
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
    text = "".join(f"{' ' * ITEM_INDENT}# {line}".rstrip() + "\n" for line in lines)
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
    document.yaml_set_start_comment("\n".join(header))
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
