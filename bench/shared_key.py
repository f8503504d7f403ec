"""Many runs on one API key: the machine-wide rate budget (clients/budget.py) at work.

Two cases, both against a sandbox that enforces ilert's limit (120 requests per 60 s per
key, no ``Retry-After``) and a Level limit of 60 per 60 s, with time scaled down:

1. **Two concurrent ``up``s of 100 integrations on one key**, each through a provider server
   of its own (``python -m pulumi.dynamic``, driven as the engine drives it), so two
   processes share the key. Run twice: with the shared budget, and with a budget folder per
   process (what every process did before: each paced alone).
2. **A fleet of 10 stacks x 20 integrations on one key**: ``python -m ops fleet up`` through
   the real Pulumi CLI and the Automation API, all stacks at once (needs ``make pulumi``;
   skipped with a line saying so when the CLI is not there).

Each prints the HTTP 429s the APIs sent, the failed operations, and the wall time against
the floor: the requests of the busiest API divided by its allowed rate. (A sliding window
lets the first window's worth go at once, so a client that paces perfectly can finish a
little under it; the fleet's wall time also holds the CLI's own start-up per stack, which
the floor does not.)

Run: ``make bench`` (or ``venv/bin/python -m bench.shared_key``; ``--time-scale 0.05``).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.scale import ENGINE_PARALLELISM, RATES, SECRETS, SOURCE_TYPE, WEBHOOK_TYPE, _blobs
from clients import budget
from sandbox import ILERT_TOKEN, LEVEL_API_KEY, Sandbox
from sandbox.ratelimit import RateLimit
from tests.cli.fleet_project import FleetProject  # the real-CLI harness of make e2e
from tests.cli.harness import cli_dir
from tests.engine.harness import ProviderServer

DEFAULT_TIME_SCALE = 0.05  # a 60 s window lasts 3 s: long enough that process noise is small
LIMITS = {"ilert": RateLimit(120, 60), "level": RateLimit(60, 60)}


def _floor(counts: Counter[str], minute: float) -> float:
    return max(counts[api] / RATES[api] * minute for api in RATES)


def _figures(sandbox: Sandbox, failed: int, wall: float, minute: float) -> dict[str, Any]:
    counts: Counter[str] = Counter(request.service for request in sandbox.requests)
    return {
        "ilert": counts["ilert"], "level": counts["level"],
        "429": sum(1 for request in sandbox.requests if request.status == 429),
        "failed": failed, "wall": wall, "floor": _floor(counts, minute),
    }


def _up(server: ProviderServer, blobs: tuple[dict[str, Any], dict[str, Any]], run: int,
        index: int) -> None:
    source_inputs, webhook_inputs = blobs
    urn = server.urn(SOURCE_TYPE, f"s{index}")
    inputs = {**source_inputs, "name": f"Level r{run} {index}", "escalation_policy": "Default"}
    _, source_out = server.create(urn, server.check(urn, {}, inputs).inputs)
    hook_urn = server.urn(WEBHOOK_TYPE, f"w{index}")
    hook_in = server.check(
        hook_urn, {}, {**webhook_inputs, "url": source_out["integration_url"]}
    ).inputs
    server.create(hook_urn, hook_in)


def concurrent_ups(
    integrations: int, runs: int, time_scale: float, *, shared: bool
) -> dict[str, Any]:
    """``runs`` provider processes creating ``integrations`` each at once, on one key."""
    minute = 60.0 * time_scale
    blobs = _blobs()
    with tempfile.TemporaryDirectory(prefix="level-ilert-bench-") as tmp, Sandbox(
        rate_limits=LIMITS, time_scale=time_scale
    ) as sandbox:
        servers = []
        try:
            for run in range(runs):
                folder = Path(tmp) / ("shared" if shared else f"run{run}")
                server = ProviderServer(env={
                    "ILERT_API_TOKEN": "", "LEVEL_API_KEY": "", budget.DIR_ENV: str(folder),
                }).start()
                servers.append(server)
                server.configure({
                    "ilert:apiToken": ILERT_TOKEN, "ilert:baseUrl": sandbox.ilert_url,
                    "level:apiKey": LEVEL_API_KEY, "level:baseUrl": sandbox.level_url,
                    "ilert:rateLimitWindowSeconds": str(minute),
                    "level:rateLimitWindowSeconds": str(minute),
                }, secret_keys=SECRETS)
            sandbox.requests.clear()
            failures = [0] * runs
            start = threading.Barrier(runs)

            def one_run(run: int) -> None:
                start.wait()
                with ThreadPoolExecutor(ENGINE_PARALLELISM) as pool:
                    futures = [pool.submit(_up, servers[run], blobs, run, index)
                               for index in range(integrations)]
                    for future in futures:
                        try:
                            future.result()
                        except Exception:  # counted: a failed operation
                            failures[run] += 1

            started = time.perf_counter()
            with ThreadPoolExecutor(runs) as pool:
                list(pool.map(one_run, range(runs)))
            wall = time.perf_counter() - started
            return _figures(sandbox, sum(failures), wall, minute)
        finally:
            for server in servers:
                server.stop()


def fleet(stacks: int, integrations: int, time_scale: float) -> dict[str, Any] | None:
    """``python -m ops fleet up`` of ``stacks`` stacks x ``integrations`` on one key."""
    if not os.access(cli_dir() / "pulumi", os.X_OK):
        return None
    minute = 60.0 * time_scale
    windows = {"ilert:rateLimitWindowSeconds": str(minute),
               "level:rateLimitWindowSeconds": str(minute)}
    with tempfile.TemporaryDirectory(prefix="level-ilert-bench-") as tmp, Sandbox(
        rate_limits=LIMITS, time_scale=time_scale
    ) as sandbox:
        project = FleetProject(Path(tmp), sandbox)
        for stack in range(stacks):
            # Filters that provably exclude each other: no Level alert pages two of them.
            entries = [
                {"name": f"Level f{stack} {index}",
                 "eventFilter": f"event.customDetails.name == 'check {index}'"}
                for index in range(integrations)
            ]
            project.add_stack(f"sandbox-{stack:02d}", entries, settings=windows)
        sandbox.requests.clear()
        started = time.perf_counter()
        done = project.fleet("up", "--json", "--parallel", str(stacks))
        wall = time.perf_counter() - started
        summary = json.loads(done.stdout) if done.stdout.strip() else {"stacks": []}
        created = len(sandbox.ilert_alert_sources()) + len(sandbox.level_webhooks())
        figures = _figures(sandbox, 2 * stacks * integrations - created, wall, minute)
        figures["failed stacks"] = [s["stack"] for s in summary["stacks"] if s["error"]]
        figures["notes"] = summary.get("notes", [])
        figures["exit"] = done.code
        figures["errors"] = sorted({s["error"] for s in summary["stacks"] if s["error"]}
                                   or ([done.stderr.strip()[-300:]] if done.code else []))
        return figures


def _row(case: str, f: dict[str, Any]) -> str:
    ratio = f["wall"] / f["floor"] if f["floor"] else float("nan")
    return (f"| {case} | {f['ilert']} | {f['level']} | {f['429']} | {f['failed']} | "
            f"{f['wall']:.2f} | {f['floor']:.2f} | {ratio:.2f} |")


def main() -> None:
    """Print both cases as one Markdown table."""
    parser = argparse.ArgumentParser(prog="python -m bench.shared_key", description=__doc__)
    parser.add_argument("--time-scale", type=float, default=DEFAULT_TIME_SCALE)
    parser.add_argument("--integrations", type=int, default=100)
    parser.add_argument("--fleet-stacks", type=int, default=10)
    parser.add_argument("--fleet-integrations", type=int, default=20)
    args = parser.parse_args()
    scale = args.time_scale
    print(f"\none API key, many runs: time scale {scale} (a 60 s window lasts {60 * scale:g} s); "
          f"sandbox limits ilert 120 and Level 60 requests per window per key")
    print("\n| case | ilert req | Level req | 429s | failed ops | wall s | floor s | wall/floor |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    n = args.integrations
    for shared, label in ((True, "shared budget"),
                          (False, "a budget per process (the pacing before issue 17)")):
        figures = concurrent_ups(n, 2, scale, shared=shared)
        print(_row(f"2 concurrent ups x {n} integrations, {label}", figures), flush=True)
    stacks, per = args.fleet_stacks, args.fleet_integrations
    figures_or_none = fleet(stacks, per, scale)
    if figures_or_none is None:
        print(f"| fleet {stacks} stacks x {per}: skipped, no Pulumi CLI in {cli_dir()} (run "
              f"make pulumi) | | | | | | | |")
        return
    print(_row(f"fleet up, {stacks} stacks x {per} integrations (real CLI)", figures_or_none))
    if figures_or_none["failed stacks"] or figures_or_none["exit"]:
        print(f"fleet exit {figures_or_none['exit']}, failed: {figures_or_none['failed stacks']}")
        for error in figures_or_none["errors"]:
            print(f"fleet error: {error}")
    for note in figures_or_none["notes"]:
        print(f"fleet note: {note}")


if __name__ == "__main__":
    main()
