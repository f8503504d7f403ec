"""Read ``pulumi preview --json`` output and say whether the stack drifted, and where.

The drift workflow (.github/workflows/drift.yml) runs one ``pulumi preview --refresh
--expect-no-changes --json`` and puts this report in the job summary and the drift issue: per
resource, the properties that drifted, by name only (never a value, so a public summary holds
no secret). It also tells drift from a failed preview on CLIs older than 3.227, which exit
255 for both. Exit codes: 0 no drift, 7 drift (as ``--expect-no-changes``), 2 the file is not
a preview. Usage::

    pulumi preview --refresh --json --stack dev > preview.json || true
    python -m tools.drift_report preview.json

The report goes inside a Markdown code block of a job summary and an issue body, and a
resource's name or a property path can hold what a user or an API put there: every part is
written as data (``clients.untrusted.one_line``: a line break or control character shows
as its escape, a backtick as ``'``), and the text is read back before it is printed: one
line per line meant, none that could close the code block. Otherwise nothing is printed
but the reason (exit 2).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from clients.untrusted import one_line

# Operations that are not changes (pulumi's engine.HasChanges ignores the same ones); a
# ``refresh`` step only reads the live object, the step after it says what would change.
NOT_CHANGES = frozenset({"same", "read", "discard", "read-replacement", "refresh"})
EXIT_NO_DRIFT, EXIT_USAGE, EXIT_DRIFT = 0, 2, 7
#: A line that would open or close a Markdown code block.
FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")


def as_data(text: str) -> str:
    """A name or path as data in a Markdown code block: one line, no backtick."""
    return one_line(text).replace("`", "'")


def faithful(lines: list[str]) -> str | None:
    """Why ``lines`` would not print as those lines inside a code block, or None."""
    text = "\n".join(lines)
    if text.splitlines() != lines:
        return "a line would break into several"
    if any(FENCE.match(line) for line in lines):
        return "a line would end the code block"
    return None


def changes(preview: dict[str, Any]) -> dict[str, int]:
    """Operations that would change something, with their counts."""
    summary = preview.get("changeSummary") or {}
    return {op: int(n) for op, n in summary.items() if op not in NOT_CHANGES and int(n) > 0}


def changed_resources(preview: dict[str, Any]) -> list[str]:
    """``op type name: fields`` for every step that changes something (fields by name only)."""
    lines = []
    for step in preview.get("steps") or []:
        op = step.get("op", "")
        if op in NOT_CHANGES:
            continue
        fields = sorted(as_data(str(name))
                        for name in step.get("detailedDiff") or step.get("diffReasons") or [])
        lines.append(f"{as_data(str(op))} {describe(str(step.get('urn', '?')))}" + (
            f": {', '.join(fields)}" if fields else ""
        ))
    return lines


def describe(urn: str) -> str:
    """``level:Webhook acme`` for a URN: the resource's short type and its name."""
    parts = urn.split("::")
    if len(parts) < 4:
        return as_data(urn)
    kind = parts[2].rsplit("$", 1)[-1].removeprefix("pulumi-python:dynamic/")
    return as_data(f"{kind} {parts[3]}")


def main(argv: list[str] | None = None) -> int:
    """Print a one-line verdict plus the changed resources; return the exit code."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m tools.drift_report PREVIEW_JSON_FILE", file=sys.stderr)
        return EXIT_USAGE
    try:
        preview = json.loads(Path(args[0]).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        print(f"cannot read a pulumi preview from {args[0]}: {error}", file=sys.stderr)
        return EXIT_USAGE
    if not isinstance(preview, dict) or "changeSummary" not in preview:
        # Diagnostics are not repeated here: this output may go to a public job summary.
        print(f"{args[0]} holds no changeSummary: the preview failed; see its log.",
              file=sys.stderr)
        return EXIT_USAGE
    found = changes(preview)
    if not found:
        print("no drift")
        return EXIT_NO_DRIFT
    lines = ["drift: " + ", ".join(f"{n} to {as_data(op)}" for op, n in sorted(found.items()))]
    lines.extend(f"  {line}" for line in changed_resources(preview))
    problem = faithful(lines)
    if problem:
        print(f"{args[0]}: the report would not read as written ({problem}); nothing printed.",
              file=sys.stderr)
        return EXIT_USAGE
    print("\n".join(lines))
    return EXIT_DRIFT


if __name__ == "__main__":
    sys.exit(main())
