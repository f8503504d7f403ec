"""What ``make audit`` costs: requests per API for a window of many Level alerts.

A manual-mode stack of N integrations, each routed to a client group of its own (two
devices each), with hand-made webhooks in a Level whose API answers 404 on /v2/webhooks;
A Level alerts raised in the window over those devices (delivered to ilert by the sandbox,
as Level would) and most of them resolved; then one audit, in process, against the sandbox,
with the clients' real pacing (ilert 120, Level 60 requests per minute). It prints the
requests the audit sent to each API (from the sandbox's request log), its wall time and its
findings (none: every webhook is right). A second run adds H older alerts that Level still
lists: Level's alerts API has no time filter, so they cost their pages too.

Run: ``make bench`` (or ``venv/bin/python -m bench.audit [N] [A] [H]``; default 200 1000 4000).
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from ops.__main__ import main as ops_main
from ops.ids import Outputs
from sandbox import ILERT_TOKEN, LEVEL_API_KEY, Sandbox
from sandbox.world import LevelAlertRecord

BOTH = ["alert_active", "alert_resolved"]
SEVERITIES = ("information", "warning", "critical")
OLD = "2020-01-01T00:00:00.000Z"  # before any window


def organisation(sandbox: Sandbox, integrations: int) -> tuple[list[dict[str, Any]], list[str]]:
    """N client groups with two devices each, an ilert Level.io source per client, and a
    hand-made webhook per source scoped to its client; returns the stack's integrations and
    the devices' hostnames."""
    level, ilert = sandbox.level, sandbox.ilert
    level.set_webhook_api(False)  # a production organisation
    entries: list[dict[str, Any]] = []
    hosts: list[str] = []
    for index in range(integrations):
        client = f"Client {index:04d}"
        group = level.add_group(client)
        for site in ("SRV", "WS"):
            hosts.append(level.add_device(f"C{index:04d}-{site}", group["id"])["hostname"])
        source = ilert.create_alert_source({
            "name": f"Level - {client}", "integrationType": "LEVELIO",
            "escalationPolicy": {"id": 1},
        })
        level.create_webhook({"url": source["integrationUrl"], "event_types": BOTH,
                              "group_ids": [group["id"]]})
        entries.append({"name": f"Level - {client}", "escalationPolicy": 1,
                        "deviceGroups": [client]})
    return entries, hosts


def raise_alerts(sandbox: Sandbox, hosts: list[str], count: int) -> None:
    """``count`` alerts over the devices, delivered as Level delivers; 4 in 5 resolved."""
    for index in range(count):
        alert = sandbox.level.raise_alert(
            hosts[index % len(hosts)], f"Check {index}", SEVERITIES[index % 3]
        )
        if index % 5:
            sandbox.level.resolve_alert(alert["id"])


def older_alerts(sandbox: Sandbox, count: int) -> None:
    """``count`` alerts from long before the window, still listed by Level."""
    with sandbox.world.mutate() as state:
        device = min(state.devices)
        for _ in range(count):
            n = state.next_id("level_alert")
            state.level_alerts[n] = LevelAlertRecord(n, device, "Old", "", None, "warning",
                                                     OLD, OLD)


def audit(sandbox: Sandbox, folder: Path, entries: list[dict[str, Any]]) -> dict[str, Any]:
    """One ``python -m ops audit`` in process; its requests, time, exit code and findings."""
    (folder / "Pulumi.yaml").write_text("name: level-ilert\nruntime: python\n")
    config = {"ilert:baseUrl": sandbox.ilert_url, "level:baseUrl": sandbox.level_url,
              "level:webhookManagement": "manual", "level-ilert:integrations": entries}
    (folder / "Pulumi.bench.yaml").write_text(yaml.safe_dump({"config": config}))
    sandbox.requests.clear()
    out, err = io.StringIO(), io.StringIO()
    started = time.perf_counter()
    code = ops_main(
        ["audit", "--json", "--settle", "0", "--stack", "bench", "--project-dir", str(folder)],
        out=out, err=err, outputs=Outputs(None, "lookup by name (bench)"),
    )
    wall = time.perf_counter() - started
    sandbox.wait_idle()
    counts: Counter[str] = Counter(r.service for r in sandbox.requests)
    paths: Counter[str] = Counter(f"{r.service} {r.method} {r.path}" for r in sandbox.requests)
    document = yaml.safe_load(out.getvalue() or "{}") or {}
    return {"code": code, "wall": wall, "ilert": counts["ilert"], "level": counts["level"],
            "paths": paths, "findings": len(document.get("findings", [])),
            "judged": document.get("judged"), "error": err.getvalue().strip()}


def main(integrations: int, alerts: int, history: int) -> None:
    os.environ["ILERT_API_TOKEN"], os.environ["LEVEL_API_KEY"] = ILERT_TOKEN, LEVEL_API_KEY
    for name in ("ILERT_BASE_URL", "LEVEL_BASE_URL"):
        os.environ.pop(name, None)
    print(f"make audit: {integrations} integrations (one client group each, hand-made "
          f"webhooks, no webhook API), {alerts} Level alerts in the window; clients paced at "
          "ilert 120 and Level 60 requests per minute")
    print("\n| Level alerts listed | in window | judged | ilert req | Level req | wall s | "
          "exit | findings |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    with Sandbox() as sandbox, tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        entries, hosts = organisation(sandbox, integrations)
        raise_alerts(sandbox, hosts, alerts)
        setup = time.perf_counter() - started
        runs = [(alerts, audit(sandbox, Path(folder), entries))]
        if history:
            older_alerts(sandbox, history)
            runs.append((alerts + history, audit(sandbox, Path(folder), entries)))
        for listed, figures in runs:
            print(f"| {listed} | {alerts} | {figures['judged']} | {figures['ilert']} | "
                  f"{figures['level']} | {figures['wall']:.2f} | {figures['code']} | "
                  f"{figures['findings']} |", flush=True)
            if figures["error"]:
                print(f"  error: {figures['error']}")
        print("\nrequests of the first run, by call:")
        for call, count in sorted(runs[0][1]["paths"].items()):
            print(f"  {count:4d}  {call}")
        print(f"\n(setting the organisation up took {setup:.1f} s; not part of the figures)")


if __name__ == "__main__":
    args = [int(arg) for arg in sys.argv[1:]]
    main(*(args + [200, 1000, 4000][len(args):])[:3])
