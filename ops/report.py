"""The result of one check, and how a list of them is printed for people or for CI."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, TextIO

from clients.untrusted import one_line

Status = Literal["pass", "fail", "info", "skip"]
SYMBOLS: dict[Status, str] = {"pass": "✓", "fail": "✗", "info": "·", "skip": "-"}

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_COULD_NOT_RUN = 2


@dataclass(frozen=True)
class Check:
    """One line of a report: what was checked, the outcome, and the fix when it failed.

    ``scope`` is "credentials" or an integration's name; ``id`` is stable for CI
    (``source.active``, ``webhook.url``, ...). ``details`` are extra lines (never secrets).
    """

    scope: str
    id: str
    status: Status
    summary: str
    fix: str = ""
    details: tuple[str, ...] = field(default_factory=tuple)


def exit_code(checks: Iterable[Check]) -> int:
    """0 when nothing failed, 1 when a check failed."""
    return EXIT_FAILED if any(c.status == "fail" for c in checks) else EXIT_OK


def render(checks: Sequence[Check], headings: dict[str, str], out: TextIO) -> None:
    """One block per scope, one line per check, ``fix:`` under each failure. Names read
    from the APIs are data: each line is written on one line, control characters escaped
    (a terminal escape in a group name does not reach the terminal)."""
    scope = None
    for check in checks:
        if check.scope != scope:
            scope = check.scope
            out.write(f"\n{one_line(headings.get(scope, scope))}\n")
        out.write(f"  {SYMBOLS[check.status]} {one_line(check.summary)}\n")
        for line in check.details:
            out.write(f"      {one_line(line)}\n")
        if check.fix:
            out.write(f"      fix: {one_line(check.fix)}\n")


def as_json(checks: Sequence[Check]) -> list[dict[str, Any]]:
    """The checks as plain dicts (details as a list)."""
    return [{**asdict(c), "details": list(c.details)} for c in checks]


def dump(document: dict[str, Any], out: TextIO) -> None:
    """Print one JSON document."""
    out.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
