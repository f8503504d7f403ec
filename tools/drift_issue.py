"""The drift workflow's issue bodies: one per stack, from the drift report and the audit.

.github/workflows/drift.yml keeps one issue per stack, "Drift in stack <name>", for both
checks it runs: the declared-state drift check (``pulumi preview --refresh
--expect-no-changes``, reported by tools/drift_report.py) and, for manual-mode stacks (api
mode too when asked), the evidence audit of the Level side (``python -m ops audit --json``:
``findings``, each ``{integration, level_alert, cause, fix}``). This module writes those
bodies and, for the fleet job, sorts the fleet's stacks into those whose issue is opened or
updated and those whose issue is closed.

Everything here that came from an API or a stack (names, alert titles, causes) is written as
data, never as Markdown: inside a fenced block whose fence is longer than any run of backticks
in it, with control characters replaced, so no name can close the block, open a link,
mention someone or add a heading. Bodies stay under GitHub's 65,536-character limit.

Usage (exit 0; 2 on a file that is not what it should be)::

    python -m tools.drift_issue body --stack prod [--report report.txt] [--audit audit.json] \\
        [--run-url URL] > body.md
    python -m tools.drift_issue audit audit.json          # the findings, for the job summary
    python -m tools.drift_issue fleet fleet.json --audits audits --out-dir issues \\
        [--run-url URL] >> "$GITHUB_STEP_SUMMARY"
        # issues/open/<stack>.md per stack that drifted or has findings,
        # issues/close/<stack> per stack checked clean; a stack that failed: neither
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# GitHub refuses issue bodies over 65,536 characters: each section has its share.
MAX_AUDIT_CHARS = 40_000
MAX_DRIFT_CHARS = 15_000
MAX_FIELD_CHARS = 500
EXIT_OK, EXIT_USAGE = 0, 2


class NotAReport(ValueError):
    """An input file is not the JSON document it should be."""


def as_data(text: object, limit: int = MAX_FIELD_CHARS) -> str:
    """``text`` on one line, control and format characters shown as ``?``, at most ``limit``."""
    shown = "".join(
        "?" if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp") else char
        for char in str(text)
    )
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


def fenced(lines: Sequence[str]) -> str:
    """``lines`` as a fenced text block that nothing in them can end."""
    longest = max((len(run) for line in lines for run in re.findall(r"`+", line)), default=0)
    fence = "`" * max(3, longest + 1)
    return "\n".join([f"{fence}text", *lines, fence])


def _alert(value: object) -> str:
    """A Level alert as the audit gives it: an id, or an object (id and name first)."""
    if isinstance(value, Mapping):
        first = [key for key in ("id", "name", "device", "hostname") if key in value]
        keys = first + sorted(key for key in value if key not in first)
        return ", ".join(f"{key}={_alert(value[key])}" for key in keys)
    if isinstance(value, list):
        return ", ".join(_alert(item) for item in value)
    return str(value)


def audit_findings(document: object) -> list[Mapping[str, Any]]:
    """The audit's findings (``NotAReport`` when ``document`` has no ``findings`` list)."""
    if not isinstance(document, Mapping) or not isinstance(document.get("findings"), list):
        raise NotAReport("not an audit report: no findings list (python -m ops audit --json)")
    return [item for item in document["findings"] if isinstance(item, Mapping)]


def audit_section(document: object) -> str:
    """The Level side's findings, one block, each with its integration, alert, cause and fix;
    without findings, whether there was anything to judge (a quiet window is not health)."""
    findings = audit_findings(document)
    if not findings:
        return "### Level side (evidence audit)\n\n" + _verdict(document)
    lines: list[str] = []
    for shown, item in enumerate(findings):
        alert = item.get("level_alert")
        about = "the integration's setup" if alert is None else _alert(alert)
        if item.get("alert"):
            about += f" ({_alert(item['alert'])})"
        entry = [
            f"- integration: {as_data(item.get('integration', '?'))}",
            f"  Level alert: {as_data(about)}",
            f"  cause:       {as_data(item.get('cause', '?'))}",
            f"  fix:         {as_data(item.get('fix', '?'))}",
        ]
        if sum(map(len, lines + entry)) > MAX_AUDIT_CHARS:
            lines.append(f"... and {len(findings) - shown} more (the run's job summary has "
                         f"the audit's whole output)")
            break
        lines += entry
    count = f"{len(findings)} finding{'' if len(findings) == 1 else 's'}"
    return f"### Level side (evidence audit): {count}\n\n{fenced(lines)}"


def _verdict(document: object) -> str:
    """What an audit without findings means (``python -m ops audit --json``'s fields)."""
    if not isinstance(document, Mapping):
        return "No findings."
    if document.get("nothing_to_judge"):
        return ("Nothing to judge: no Level alert in the window concerned this stack. That "
                "is not a sign of health; raise a test alert to judge the Level side.")
    judged = document.get("judged")
    if isinstance(judged, int):
        return f"No findings: {judged} Level alert(s) judged, each delivered as declared."
    return "No findings."


def drift_section(report: str) -> str:
    """tools/drift_report.py's lines as the drift check's section."""
    lines: list[str] = []
    given = [as_data(line, 1000) for line in report.splitlines() if line.strip()]
    for shown, line in enumerate(given):
        if sum(map(len, lines)) + len(line) > MAX_DRIFT_CHARS:
            lines.append(f"... and {len(given) - shown} more lines (see the run's job summary)")
            break
        lines.append(line)
    return f"### Declared state (drift check)\n\n{fenced(lines or ['no report'])}"


def body(
    stack: str, *, report: str | None = None, audit: object = None, run_url: str = ""
) -> str:
    """One stack's issue body: what was found, by which run, and how to repair it."""
    parts = [f"Found in stack `{as_data(stack, 100).replace('`', '?')}`"
             + (f" by {as_data(run_url, 300)}" if run_url else "") + "."]
    if report is not None:
        parts.append(drift_section(report))
        parts.append(
            "Repair with `make up STACK=<stack>` (it puts the stack file's values back), or "
            "change the stack file to accept what changed."
        )
    if audit is not None:
        parts.append(audit_section(audit))
        parts.append(
            "Each finding names the Level UI step to check (docs/manual-mode.md); "
            "`make audit STACK=<stack>` shows the same."
        )
    return "\n\n".join(parts) + "\n"


@dataclass(frozen=True)
class FleetStack:
    """One stack of a fleet run: its drift (None: not compared) and its audit, if one ran."""

    name: str
    drift: list[str] | None
    error: str | None
    audit_code: int | None = None
    audit: object = None

    @property
    def issue(self) -> str:
        """``open`` (drift or findings), ``close`` (checked clean) or ``keep`` (unknown)."""
        if self.drift or self.audit_code == 1:
            return "open"
        if self.drift == [] and self.audit_code in (None, 0):
            return "close"
        return "keep"

    def summary(self) -> str:
        if self.drift is None:
            what = f"could not check: {self.error or '?'}"
        else:
            what = "; ".join(self.drift) or "no drift"
        if self.audit_code is not None:
            found = len(audit_findings(self.audit)) if self.audit_code == 1 else 0
            what += {0: "; audit: no findings", 1: f"; audit: {found} findings"}.get(
                self.audit_code, f"; audit could not run (exit {self.audit_code})"
            )
        return f"{self.name}: {what}"


def fleet_stacks(document: object, audits: Path | None = None) -> list[FleetStack]:
    """Each stack of ``python -m ops fleet drift --json``, with its audit from ``audits``
    (``<stack>.code`` and ``<stack>.json``, as drift_fleet.sh writes them)."""
    if not isinstance(document, Mapping) or not isinstance(document.get("stacks"), list):
        raise NotAReport("not a fleet summary: no stacks list (python -m ops fleet drift --json)")
    found = []
    for stack in document["stacks"]:
        if not isinstance(stack, Mapping):
            continue
        name = _safe_name(str(stack.get("stack")))
        drift = None
        if not stack.get("error") and isinstance(stack.get("drift"), list):
            drift = [
                f"{item.get('op', '?')} {item.get('resource', '?')}"
                + (f": {', '.join(map(str, item.get('properties') or []))}"
                   if item.get("properties") else "")
                for item in stack["drift"] if isinstance(item, Mapping)
            ]
        code, audit = None, None
        if audits is not None and (audits / f"{name}.code").is_file():
            code = int((audits / f"{name}.code").read_text(encoding="utf-8").strip() or 2)
            if code == 1:
                audit = _load(audits / f"{name}.json")
                audit_findings(audit)
        found.append(FleetStack(name, drift, _str_or_none(stack.get("error")), code, audit))
    return found


def _str_or_none(value: object) -> str | None:
    return None if value is None else str(value)


def _safe_name(stack: str) -> str:
    """A stack name as a file name (Pulumi allows letters, digits, '-', '_' and '.')."""
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", stack) or stack in (".", ".."):
        raise NotAReport(f"not a stack name: {stack!r}")
    return stack


def write_fleet(stacks: Sequence[FleetStack], out_dir: Path, run_url: str) -> str:
    """``out_dir/open/<stack>.md`` per stack whose issue opens, ``out_dir/close/<stack>`` per
    stack whose issue closes; returns the job summary's Markdown."""
    (out_dir / "open").mkdir(parents=True, exist_ok=True)
    (out_dir / "close").mkdir(parents=True, exist_ok=True)
    for stack in stacks:
        if stack.issue == "open":
            report = None
            if stack.drift:
                report = "\n".join([f"drift: {len(stack.drift)} changed", *stack.drift])
            text = body(stack.name, report=report,
                        audit=stack.audit if stack.audit_code == 1 else None, run_url=run_url)
            (out_dir / "open" / f"{stack.name}.md").write_text(text, encoding="utf-8")
        elif stack.issue == "close":
            (out_dir / "close" / stack.name).write_text("", encoding="utf-8")
    return fenced([as_data(stack.summary(), 2000) for stack in stacks] or ["no stacks"])


def _load(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise NotAReport(f"{path}: not readable JSON ({exc})") from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.drift_issue")
    commands = parser.add_subparsers(dest="command", required=True)
    one = commands.add_parser("body", help="one stack's issue body")
    one.add_argument("--stack", required=True)
    one.add_argument("--report", type=Path, help="tools/drift_report.py's output")
    one.add_argument("--audit", type=Path, help="python -m ops audit --json's output")
    one.add_argument("--run-url", default="")
    section = commands.add_parser("audit", help="the audit's findings as Markdown")
    section.add_argument("audit", type=Path, help="python -m ops audit --json's output")
    fleet = commands.add_parser("fleet", help="issue bodies of a fleet drift check")
    fleet.add_argument("summary", type=Path, help="python -m ops fleet drift --json's output")
    fleet.add_argument("--audits", type=Path, help="<stack>.code and <stack>.json per audit")
    fleet.add_argument("--out-dir", type=Path, required=True)
    fleet.add_argument("--run-url", default="")
    args = parser.parse_args(argv)
    try:
        if args.command == "body":
            report = args.report.read_text(encoding="utf-8") if args.report else None
            audit = _load(args.audit) if args.audit else None
            if audit is not None:
                audit_findings(audit)
            sys.stdout.write(body(args.stack, report=report, audit=audit, run_url=args.run_url))
        elif args.command == "audit":
            print(audit_section(_load(args.audit)))
        else:
            stacks = fleet_stacks(_load(args.summary), args.audits)
            print(write_fleet(stacks, args.out_dir, args.run_url))
    except (NotAReport, OSError) as error:
        print(f"tools.drift_issue: {error}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
