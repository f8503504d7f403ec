"""``make bench-engine``: the real Pulumi CLI against the sandbox, at growing N.

For each N (default 50, 200, 1000 integrations; 3 resources each: the component, the ilert
alert source, the Level webhook) a fresh stack runs, in order: ``up``, ``preview``,
``preview --refresh --expect-no-changes``, ``refresh``, ``destroy``. Each row shows wall
time, ms per resource, the ratio of ms per resource to the previous N (1.0 = linear), peak
memory of the CLI, the program and the provider process, CPU time of the CLI and of the
program, the state file's size after the command, and the requests the sandbox answered
(ilert / Level, and how many were 429).

Two pacing modes:
- ``off``: the sandbox has no rate limit and the providers' windows are tiny, so only the
  engine, the program and the providers count;
- ``real``: ilert's 120 and Level's 60 requests per minute, with every window scaled by
  ``--time-scale`` (0.1: a minute lasts 6 s) on both sides, the sandbox's and the
  providers' (``ilert:rateLimitWindowSeconds``, ``level:rateLimitWindowSeconds``); the
  "floor" column is what those limits alone require.

Checkpoints follow the project's setting (``PULUMI_SKIP_CHECKPOINTS``, see README "Scale");
``--checkpoints on`` measures the CLI's default for comparison.

Run: ``make bench-engine`` or ``venv/bin/python -m bench.engine --sizes 50 200 1000``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from dataclasses import dataclass

from bench.cli import Outcome, project
from sandbox import RateLimit, Sandbox

COMMANDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("up", ("up", "--yes", "--skip-preview")),
    ("preview", ("preview",)),
    ("preview --refresh", ("preview", "--refresh", "--expect-no-changes")),
    ("refresh", ("refresh", "--yes", "--skip-preview")),
    ("destroy", ("destroy", "--yes", "--skip-preview")),
)
RESOURCES_PER_INTEGRATION = 3
REAL_LIMITS = {"ilert": RateLimit(120, 60), "level": RateLimit(60, 60)}
# Pacing off: the providers pace at a rate far above what the engine can ask for.
UNPACED_WINDOW_SECONDS = "0.001"
TIMEOUT_SECONDS = 3600.0


@dataclass(frozen=True)
class Row:
    """One command at one N."""

    integrations: int
    command: str
    outcome: Outcome
    state_kb: float
    requests: Counter[str]
    floor: float

    @property
    def ms_per_resource(self) -> float:
        return self.outcome.seconds * 1000 / (RESOURCES_PER_INTEGRATION * self.integrations)


def stack_config(sandbox: Sandbox, pacing: str, time_scale: float) -> dict[str, object]:
    """The stack's config: both APIs at the sandbox, providers paced as ``pacing`` says."""
    config: dict[str, object] = {
        "ilert:baseUrl": sandbox.ilert_url,
        "level:baseUrl": sandbox.level_url,
        "level:webhookManagement": "api",
    }
    if pacing == "off":
        windows = dict.fromkeys(("ilert", "level"), UNPACED_WINDOW_SECONDS)
    else:
        windows = {api: str(60 * time_scale) for api in REAL_LIMITS}
    for api, window in windows.items():
        config[f"{api}:rateLimitWindowSeconds"] = window
    return config


def _floor(requests: Counter[str], pacing: str, time_scale: float) -> float:
    """Seconds the rate limits alone need for these requests (0 with pacing off): a sliding
    window lets the first window's worth through at once, then that many per window."""
    if pacing == "off":
        return 0.0
    return max(
        max(requests[api] - limit.requests, 0) / limit.requests
        * limit.window_seconds * time_scale
        for api, limit in REAL_LIMITS.items()
    )


def _check_world(sandbox: Sandbox, command: str, integrations: int, row: Row) -> str:
    """What is wrong with the sandbox's objects after ``command`` (empty: as expected)."""
    sources, hooks = len(sandbox.ilert_alert_sources()), len(sandbox.level_webhooks())
    expected = 0 if command == "destroy" else integrations
    problems = []
    if row.outcome.returncode != 0 and command != "preview --refresh":
        problems.append(f"exit {row.outcome.returncode}")
    if command == "preview --refresh" and row.outcome.returncode not in (0,):
        problems.append(f"exit {row.outcome.returncode} (drift reported?)")
    if (sources, hooks) != (expected, expected):
        problems.append(f"{sources} sources and {hooks} webhooks, expected {expected} of each")
    return "; ".join(problems)


def run_size(
    sandbox: Sandbox, integrations: int, pacing: str, time_scale: float, skip_checkpoints: bool
) -> list[Row]:
    """Every command once on a fresh stack of ``integrations`` integrations."""
    stack = f"bench-{pacing}-{integrations}"
    with project(sandbox, stack, skip_checkpoints=skip_checkpoints) as workspace:
        workspace.new_stack(stack_config(sandbox, pacing, time_scale), integrations)
        rows = []
        for command, args in COMMANDS:
            sandbox.requests.clear()
            outcome = workspace.run(args, timeout=TIMEOUT_SECONDS)
            sandbox.wait_idle()
            counts: Counter[str] = Counter(str(request.service) for request in sandbox.requests)
            counts["429"] = sum(1 for request in sandbox.requests if request.status == 429)
            row = Row(
                integrations,
                command,
                outcome,
                workspace.state_bytes() / 1024,
                counts,
                _floor(counts, pacing, time_scale),
            )
            rows.append(row)
            problem = _check_world(sandbox, command, integrations, row)
            print(_format(row, _previous(rows, row)), flush=True)
            if problem:
                print(f"  !! {command} at N={integrations}: {problem}", flush=True)
                print(outcome.tail(), flush=True)
    return rows


_HISTORY: dict[str, Row] = {}


def _previous(rows: list[Row], row: Row) -> Row | None:
    previous = _HISTORY.get(row.command)
    _HISTORY[row.command] = row
    return previous


HEADER = (
    "| N | command | wall s | ms/resource | x prev | CLI MB | program MB | provider MB "
    "| CLI CPU s | program CPU s | state KB | ilert req | Level req | 429 | floor s |\n"
    "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
)


def _format(row: Row, previous: Row | None) -> str:
    ratio = f"{row.ms_per_resource / previous.ms_per_resource:.2f}" if previous else "-"
    peaks = row.outcome.peaks
    return (
        f"| {row.integrations} | {row.command} | {row.outcome.seconds:.1f} | "
        f"{row.ms_per_resource:.1f} | {ratio} | {peaks.cli:.0f} | {peaks.program:.0f} | "
        f"{peaks.provider:.0f} | {peaks.cpu.get('cli', 0):.1f} | "
        f"{peaks.cpu.get('program', 0):.1f} | {row.state_kb:.0f} | {row.requests['ilert']} | "
        f"{row.requests['level']} | {row.requests['429']} | {row.floor:.1f} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.engine", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 200, 1000])
    parser.add_argument("--pacing", choices=("off", "real", "both"), default="both")
    parser.add_argument("--time-scale", type=float, default=0.1)
    parser.add_argument(
        "--checkpoints",
        choices=("project", "on", "off"),
        default="project",
        help="project: as the Makefile sets PULUMI_SKIP_CHECKPOINTS (default)",
    )
    args = parser.parse_args(argv)
    if args.checkpoints == "project":
        skip = os.environ.get("PULUMI_SKIP_CHECKPOINTS", "").lower() in ("1", "true")
    else:
        skip = args.checkpoints == "off"
    modes = ("off", "real") if args.pacing == "both" else (args.pacing,)
    for pacing in modes:
        _HISTORY.clear()
        limits = REAL_LIMITS if pacing == "real" else None
        scale = args.time_scale if pacing == "real" else 1.0
        print(
            f"\n### pacing {pacing}"
            + (f" (windows x {args.time_scale:g})" if pacing == "real" else "")
            + f", checkpoints {'skipped' if skip else 'on'}\n\n{HEADER}",
            flush=True,
        )
        with Sandbox(rate_limits=limits, time_scale=scale) as sandbox:
            for integrations in args.sizes:
                run_size(sandbox, integrations, pacing, args.time_scale, skip)
    return 0


if __name__ == "__main__":
    sys.exit(main())
