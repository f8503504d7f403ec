"""The fleet's summary: one table (or one JSON document) and one exit code for every stack.

Exit codes: 0 every stack ran and (drift) none drifted; 7 some stack drifted (``drift``
only); 2 some stack failed (it wins over 7: a stack that could not be checked may have
drifted too). Drift names resources and properties only, never a value.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Final, TextIO

from clients.untrusted import one_line
from ops.fleet.run import StackState

EXIT_CLEAN: Final = 0
EXIT_FAILED: Final = 2
EXIT_DRIFT: Final = 7
HEADERS: Final = ("stack", "result", "changes", "drift", "time", "error")


def exit_code(states: Sequence[StackState]) -> int:
    """0 clean, 7 some stack drifted, 2 some stack failed."""
    if any(state.failed for state in states):
        return EXIT_FAILED
    if any(state.action == "drift" and state.drift for state in states):
        return EXIT_DRIFT
    return EXIT_CLEAN


def _changes(state: StackState) -> str:
    return ", ".join(f"{op} {n}" for op, n in sorted(state.changes.items())) or "-"


def _drift(state: StackState) -> str:
    if state.action != "drift" or state.failed:  # a failed stack was not compared
        return ""
    return "; ".join(
        f"{item.resource}: {', '.join(item.properties) or item.op}" for item in state.drift
    ) or "-"


def rows(states: Sequence[StackState]) -> list[tuple[str, ...]]:
    """The table's cells, one row per stack; each on one line, as data (an error or a
    resource name from an API can hold line breaks; the table goes into a Markdown code
    block of the drift job's summary)."""
    return [
        tuple(one_line(cell) for cell in (
            state.name, state.result, _changes(state), _drift(state),
            f"{state.duration:.1f} s", state.error or ""))
        for state in states
    ]


def render(states: Sequence[StackState], action: str, out: TextIO) -> None:
    """The summary table, then one line with the verdict."""
    table = rows(states)
    keep = [index for index, header in enumerate(HEADERS)
            if header != "drift" or action == "drift"]
    widths = {index: max(len(HEADERS[index]), *(len(row[index]) for row in table))
              for index in keep}
    last = keep[-1]

    def fmt(cells: Sequence[str]) -> str:
        return "  ".join(cells[i] if i == last else cells[i].ljust(widths[i]) for i in keep)

    out.write("\n" + fmt(HEADERS).rstrip() + "\n")
    for row in table:
        out.write(fmt(row).rstrip() + "\n")
    failed = [state.name for state in states if state.failed]
    drifted = [state.name for state in states if state.action == "drift" and state.drift]
    verdict = []
    if drifted:
        verdict.append(f"drift in {', '.join(drifted)}")
    if failed:
        verdict.append(f"failed: {', '.join(failed)}")
    out.write(f"\nfleet {action}: {len(states)} stack(s); "
              + ("; ".join(verdict) if verdict else "all ran cleanly") + "\n")


def details(states: Sequence[StackState], out: TextIO) -> None:
    """What the table cut short: each stack's whole error (when it is more than its first
    line) and its notes."""
    for state in states:
        if state.detail and state.detail != state.error:
            out.write(f"\n{state.name}: {state.detail}\n")
        for note in state.notes:
            out.write(f"\n{state.name}: note: {note}\n")


def document(states: Sequence[StackState], action: str, notes: Sequence[str]) -> dict[str, Any]:
    """The same as JSON-ready data."""
    return {
        "command": f"fleet {action}",
        "exit_code": exit_code(states),
        "notes": list(notes),
        "stacks": [
            {
                "stack": state.name,
                "result": state.result,
                "changes": dict(sorted(state.changes.items())),
                "drift": [
                    {"resource": item.resource, "op": item.op, "properties": item.properties}
                    for item in state.drift
                ] if state.action == "drift" else None,
                "error": state.error,
                "errorDetail": state.detail,
                "notes": list(state.notes),
                "duration_seconds": round(state.duration, 2),
            }
            for state in states
        ],
    }


def dump(data: dict[str, Any], out: TextIO) -> None:
    """Print one JSON document."""
    out.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
