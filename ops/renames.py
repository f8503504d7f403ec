"""A renamed integration that Pulumi would replace, explained from the engine's own plan.

An integration's Pulumi resource name is ``resourceName``, else a slug of its ``name``. A
changed ``name`` without ``resourceName`` is therefore a new resource name: the engine plans
a new integration (a new ilert alert source, with a new integration URL, and a new Level
webhook pointing at it) and the deletion of the old one, where the person meant a rename.
The program cannot tell: it sees only the new stack file, never the old state. The engine's
plan has both: each step of a preview carries the resource's old inputs (a delete) or new
ones (a create). So the explanation is made from the steps, after the engine decided, and
only for what it decided (a rename with ``resourceName`` or ``previousResourceNames`` is an
update in place, and is not explained).

A created alert source is paired with a deleted one when a preview does both; with several,
each created source takes the deleted one whose other settings match best. Each pair is one
note: which integration (its config path), the old and new resource names, that its URL
changes and the webhook is re-pointed (or, in manual mode, must be re-pasted in Level), and
the line that makes it a rename in place.

Used by ``make preview`` and ``make up`` (``python -m ops.renames --stack S EVENT_LOG``, the
CLI's engine events as JSON lines) and by ``python -m ops fleet`` (the Automation API's
events); it reads and prints no secret (the events mask them).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml

INTEGRATIONS_KEY: Final = "level-ilert:integrations"
SOURCE_TYPE: Final = "ilert:AlertSource"
WEBHOOK_TYPE: Final = "level:Webhook"
# Inputs that say nothing about which integration it is.
NOT_COMPARED: Final = frozenset({"__provider", "name", "adopt"})


@dataclass(frozen=True)
class Step:
    """What a rename needs of one engine step."""

    op: str
    urn: str
    old: Mapping[str, Any] = field(default_factory=dict)
    new: Mapping[str, Any] = field(default_factory=dict)

    @property
    def resource_name(self) -> str:
        return self.urn.rsplit("::", 1)[-1]

    def is_a(self, type_suffix: str) -> bool:
        kind = self.urn.split("::")[2] if self.urn.count("::") >= 3 else ""
        return kind.rsplit("$", 1)[-1].endswith(type_suffix)


@dataclass(frozen=True)
class Rename:
    """A deleted alert source and the created one that replaces it."""

    old_resource: str
    old_name: str
    new_resource: str
    new_name: str


def steps_from_json(lines: Iterable[str]) -> list[Step]:
    """The resource steps of an event log (``--event-log``: one engine event per line)."""
    found = []
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        pre = event.get("resourcePreEvent") if isinstance(event, dict) else None
        metadata = pre.get("metadata") if isinstance(pre, dict) else None
        if isinstance(metadata, dict):
            found.append(Step(
                str(metadata.get("op", "")), str(metadata.get("urn", "")),
                _inputs(metadata.get("old")), _inputs(metadata.get("new")),
            ))
    return found


def steps_from_events(metadata: Iterable[Any]) -> list[Step]:
    """The same from the Automation API's ``StepEventMetadata`` objects."""
    return [
        Step(str(getattr(item.op, "value", item.op)), item.urn,
             dict(getattr(item.old, "inputs", None) or {}),
             dict(getattr(item.new, "inputs", None) or {}))
        for item in metadata
    ]


def _inputs(state: object) -> dict[str, Any]:
    inputs = state.get("inputs") if isinstance(state, dict) else None
    return inputs if isinstance(inputs, dict) else {}


def _likeness(old: Mapping[str, Any], new: Mapping[str, Any]) -> int:
    keys = (set(old) | set(new)) - NOT_COMPARED
    return sum(1 for key in keys if old.get(key) == new.get(key))


def renames(steps: Sequence[Step]) -> list[Rename]:
    """Each created alert source paired with a deleted one of the same preview."""
    created = [s for s in steps if s.op == "create" and s.is_a(SOURCE_TYPE)]
    deleted = [s for s in steps if s.op == "delete" and s.is_a(SOURCE_TYPE)]
    pairs = []
    for new in created:
        if not deleted:
            break
        old = max(deleted, key=lambda candidate: _likeness(candidate.old, new.new))
        deleted.remove(old)
        pairs.append(Rename(
            old.resource_name, str(old.old.get("name", old.resource_name)),
            new.resource_name, str(new.new.get("name", new.resource_name)),
        ))
    return pairs


def integration_names(stack_file: Path) -> list[str]:
    """The integrations' ``name``s in the stack file, in order (empty when unreadable)."""
    try:
        document = yaml.safe_load(stack_file.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return []
    config = document.get("config") if isinstance(document, dict) else None
    entries = config.get(INTEGRATIONS_KEY) if isinstance(config, dict) else None
    if isinstance(entries, str):  # one JSON text, as pulumi new's prompt writes it
        try:
            entries = json.loads(entries)
        except ValueError:
            return []
    if not isinstance(entries, list):
        return []
    return [str(entry.get("name")) if isinstance(entry, dict) else "" for entry in entries]


def explain(steps: Sequence[Step], names: Sequence[str], *, done: bool = False) -> list[str]:
    """One note per rename that the engine replaces (``done``: it already ran, in ``up``)."""
    webhooks = any(s.is_a(WEBHOOK_TYPE) and s.op in ("create", "delete") for s in steps)
    notes = []
    for rename in renames(steps):
        where = (
            f"{INTEGRATIONS_KEY}[{names.index(rename.new_name)}]"
            if rename.new_name in names else INTEGRATIONS_KEY
        )
        verb = "was" if done else "will be"
        level = (
            "the Level webhook is re-pointed to it (a new webhook; the old one is deleted)"
            if webhooks else
            "in manual mode, paste the new URL into the Level webhook (Settings > Webhooks), "
            "or Level keeps sending to the deleted source"
        )
        notes.append(
            f"{where} ({rename.new_name!r}, was {rename.old_name!r}) {verb} replaced, not "
            f"renamed: its "
            f"resource name changes from {rename.old_resource} to {rename.new_resource}, so "
            f"Pulumi makes a new ilert alert source, whose integration URL is new, and deletes "
            f"the old one; {level}. To rename it in place (same source, same URL), add this "
            f"line to {where}:\n    resourceName: {rename.old_resource}\n"
            f"(or previousResourceNames: [{rename.old_resource}], which moves it to the new "
            f"resource name)."
        )
    return notes


def main(argv: Sequence[str] | None = None) -> int:
    """Print the notes for one stack's event log; always exit 0 (it only explains)."""
    parser = argparse.ArgumentParser(prog="python -m ops.renames", description=__doc__)
    parser.add_argument("--stack", required=True)
    parser.add_argument("--done", action="store_true", help="the steps ran (pulumi up)")
    parser.add_argument("--project-dir", type=Path, default=Path.cwd())
    parser.add_argument("event_log", type=Path)
    args = parser.parse_args(argv)
    try:
        lines = args.event_log.read_text(encoding="utf-8").splitlines()
    except OSError:
        return 0
    names = integration_names(args.project_dir / f"Pulumi.{args.stack}.yaml")
    for note in explain(steps_from_json(lines), names, done=args.done):
        print(f"\nnote: {note}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
