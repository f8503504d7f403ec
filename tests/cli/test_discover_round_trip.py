"""From a hand-made setup to a managed stack through the real Pulumi CLI: discover, then up.

The sandbox holds twelve hand-made Level.io integrations, healthy and broken, spread over
three pages of ilert's alert-source listing, an orphan webhook and a webhook to another
service (tests/handmade.py). The stories run in order on one project, as a user would:
``python -m ops discover`` (what ``make discover`` runs) writes the stack file with base
URLs from the environment (no stack file yet), ``pulumi stack init``, the webhook secret set
as the file's comment says, ``pulumi up``, then a preview and a drift check that must show
no change, and discover again with ``--force``, which must describe the same stack.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from clients.level import WRITE_PROBE_ALERT_ID
from ops.discover import validate
from sandbox import Sandbox
from tests.cli.harness import REPO, Project, record_cost
from tests.handmade import HEALTHY, WEBHOOK_SECRET, Handmade, seed

STACK = "sandbox-handmade"  # base URLs from the environment: sandbox* stacks only
PROBE = f"/v2/alerts/{WRITE_PROBE_ALERT_ID}/resolve"
#: What `up` changes on a healthy hand-made object although the stack file says what the
#: object has: ilert's and Level's update time (every PUT/PATCH moves it), and a webhook that
#: sent every event type (Level's "all", null) is subscribed to the two alert events.
NORMALISED_SOURCE_FIELDS = ("updatedAt",)
NORMALISED_WEBHOOK_FIELDS = ("updated_at", "event_types")
#: Words of the summary that name each broken case.
NAMED = {
    "one-event": "one-way sync",
    "disabled": "disabled webhook",
    "inactive": "inactive source",
    "no-webhook": "no webhook",
    "two-webhooks": "two webhooks to one URL",
    "templates": "unmanaged settings",
    "shares-acme": "double paging",
}


class World:
    """The sandbox, its hand-made setup, the project and what each step saw."""

    def __init__(self, sandbox: Sandbox, made: Handmade, project: Project) -> None:
        self.sandbox = sandbox
        self.made = made
        self.project = project
        self.before_sources = {s["id"]: s for s in sandbox.ilert_alert_sources()}
        self.before_webhooks = {w["id"]: w for w in sandbox.level_webhooks()}
        self.summary = ""

    def discover(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``python -m ops discover`` as ``make discover`` runs it: base URLs and credentials
        from the environment (the stack file does not exist yet)."""
        env = {
            **self.project.env,
            "ILERT_BASE_URL": self.sandbox.ilert_url,
            "LEVEL_BASE_URL": self.sandbox.level_url,
        }
        return subprocess.run(
            [str(REPO / "venv" / "bin" / "python"), "-m", "ops", "discover", "--stack", STACK,
             "--project-dir", str(self.project.root), *args],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False,
        )

    def sources(self) -> dict[int, dict[str, Any]]:
        return {s["id"]: s for s in self.sandbox.ilert_alert_sources()}

    def webhooks(self) -> dict[str, dict[str, Any]]:
        return {w["id"]: w for w in self.sandbox.level_webhooks()}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with Sandbox() as sandbox:
        made = seed(sandbox)
        project = Project(tmp_path_factory.mktemp("discover") / "project", sandbox, STACK)
        yield World(sandbox, made, project)


@pytest.fixture(autouse=True)
def _cost(world: World, request: pytest.FixtureRequest) -> Iterator[None]:
    world.sandbox.requests.clear()
    yield
    record_cost(request.node, world.sandbox)


def test_the_setup_spans_three_pages_of_alert_sources(world: World) -> None:
    ids = sorted(world.before_sources)
    pages = {ids.index(source_id) // 50 for source_id in world.made.sources.values()}
    assert pages == {0, 1, 2} and len(ids) > 100
    assert len(world.made.sources) == 12


def test_discover_reads_with_gets_only_and_names_every_broken_case(world: World) -> None:
    assert not world.project.stack_file.exists()

    done = world.discover()

    assert done.returncode == 0, done.stdout + done.stderr
    world.summary = done.stdout
    counts = Counter(f"{r.service} {r.method}" for r in world.sandbox.requests)
    # ilert: 3 pages of sources, one full read per Level.io source (12), 1 page of policies;
    # Level: 1 page of webhooks, 1 of groups. Nothing but GETs.
    assert counts == {"ilert GET": 3 + 12 + 1, "level GET": 2}, counts
    for case, words in NAMED.items():
        line = next((line for line in done.stdout.splitlines() if words in line), "")
        assert line, f"{case}: {words!r} not in the summary"
    assert "orphan webhook" in done.stdout and world.made.orphan in done.stdout
    text = world.project.stack_file.read_text(encoding="utf-8")
    validate(text, "level-ilert", {})  # the program's own validation, routing rule included
    assert WEBHOOK_SECRET not in text and world.sandbox.ilert_url in text


def _entries(world: World) -> list[dict[str, Any]]:
    document = yaml.safe_load(world.project.stack_file.read_text(encoding="utf-8"))
    entries: list[dict[str, Any]] = document["config"]["level-ilert:integrations"]
    return entries


def test_up_adopts_each_object_with_one_write_and_creates_only_the_missing_webhook(
    world: World,
) -> None:
    project, made = world.project, world.made
    text = project.stack_file.read_text(encoding="utf-8")
    # The secret, set exactly as the file's comment says (Level never returns it).
    (command,) = re.findall(r"pulumi config set --secret --path\s+'([^']+)' <secret>",
                            re.sub(r"\n\s*#\s*", " ", text))
    project.init()
    project.config_set_secret(command, WEBHOOK_SECRET, path=True)
    world.sandbox.requests.clear()

    run = project.up()

    probes = [r for r in world.sandbox.requests if r.path.startswith("/v2/alerts/")]
    writes = [(r.service, r.method, r.path) for r in world.sandbox.requests
              if r.method != "GET" and r not in probes]
    # The preflight's no-op write probe (tells a read-only Level key) is the only other one.
    assert [(r.method, r.path) for r in probes] == [("POST", PROBE)]
    by_method = Counter((service, method) for service, method, _ in writes)
    taken_over = [case for case in made.sources if case != "two-webhooks"]
    assert by_method == {
        ("ilert", "PUT"): len(taken_over),
        ("level", "PATCH"): len(taken_over) - 1,  # all but the source without a webhook
        ("level", "POST"): 1,
    }, writes
    assert len(set(writes)) == len(writes)  # each object at most one PUT/PATCH
    put = {int(path.rsplit("/", 1)[1]) for _, method, path in writes if method == "PUT"}
    assert put == {made.sources[case] for case in taken_over}
    after_sources, after_webhooks = world.sources(), world.webhooks()
    assert set(after_sources) == set(world.before_sources)  # no source created or deleted
    new = set(after_webhooks) - set(world.before_webhooks)
    assert len(new) == 1 and set(world.before_webhooks) <= set(after_webhooks)
    (created,) = (after_webhooks[i] for i in new)
    assert created["url"] == after_sources[made.sources["no-webhook"]]["integrationUrl"]
    urls = Counter(w["url"] for w in after_webhooks.values())
    doubled = [url for url, n in urls.items() if n > 1]
    tyrell = after_sources[made.sources["two-webhooks"]]["integrationUrl"]
    assert doubled == [tyrell]  # only the one kept out, untouched: no duplicate made
    assert "error" not in run.out.lower(), str(run)


def _without(record: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in fields}


def test_healthy_objects_come_through_unchanged_but_for_normalised_fields(world: World) -> None:
    made = world.made
    sources, webhooks = world.sources(), world.webhooks()
    for case in HEALTHY:
        before = world.before_sources[made.sources[case]]
        after = sources[made.sources[case]]
        assert _without(after, NORMALISED_SOURCE_FIELDS) == _without(
            before, NORMALISED_SOURCE_FIELDS
        ), case
        (hook,) = made.webhooks[case]
        old, now = world.before_webhooks[hook], webhooks[hook]
        assert _without(now, NORMALISED_WEBHOOK_FIELDS) == _without(
            old, NORMALISED_WEBHOOK_FIELDS
        ), case
        assert now["event_types"] == (old["event_types"] or ["alert_active", "alert_resolved"])
    assert webhooks[made.webhooks["initech"][0]]["has_secret"] is True


def test_broken_objects_changed_as_the_summary_said(world: World) -> None:
    made = world.made
    sources, webhooks = world.sources(), world.webhooks()
    (vandelay,) = made.webhooks["one-event"]
    assert webhooks[vandelay]["event_types"] == ["alert_active", "alert_resolved"]
    assert "event types: + alert_resolved" in world.summary
    templates = sources[made.sources["templates"]]
    assert "summaryTemplate" not in templates and "severity" not in templates
    assert "resets severity, summaryTemplate" in world.summary
    assert webhooks[made.webhooks["disabled"][0]]["enabled"] is False
    assert sources[made.sources["inactive"]]["active"] is False
    umbrella = sources[made.sources["no-webhook"]]["integrationUrl"]
    (created,) = (w for w in webhooks.values() if w["url"] == umbrella)
    assert created["enabled"] is False  # it would have paged alerts others page for
    assert world.made.orphan in webhooks  # left to the user, as the summary says
    for hook in made.webhooks["two-webhooks"]:
        assert webhooks[hook] == world.before_webhooks[hook]


def test_preview_expects_no_changes_and_the_drift_check_passes(world: World) -> None:

    plain = world.project.preview("--expect-no-changes")
    plain_requests = list(world.sandbox.requests)
    world.sandbox.requests.clear()
    drift = world.project.drift()

    assert plain.code == 0, str(plain)
    assert drift.code == 0, str(drift)
    # Nothing written: a preview's only non-GET is the preflight's no-op write probe, which a
    # drift check (read-only preflight) leaves out.
    assert [(r.method, r.path) for r in plain_requests if r.method != "GET"] == [("POST", PROBE)]
    assert {r.method for r in world.sandbox.requests} == {"GET"}


def test_discover_again_with_force_keeps_secrets_and_describes_the_same_stack(
    world: World,
) -> None:
    project = world.project
    before = yaml.safe_load(project.stack_file.read_text(encoding="utf-8"))

    refused = world.discover()
    done = world.discover("--force", "--json")

    assert refused.returncode == 2 and "FORCE=1" in refused.stderr
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    backup = Path(report["backup"])
    assert backup.read_text(encoding="utf-8") and yaml.safe_load(backup.read_text()) == before
    after = yaml.safe_load(project.stack_file.read_text(encoding="utf-8"))
    assert after["encryptionsalt"] == before["encryptionsalt"]
    secret = [e.get("webhookSecret") for e in after["config"]["level-ilert:integrations"]]
    assert [s for s in secret if s] == [s for s in (
        e.get("webhookSecret") for e in before["config"]["level-ilert:integrations"]) if s]
    assert all(isinstance(s, dict) and "secure" in s for s in secret if s)
    assert {f["id"] for f in report["findings"]} >= {"webhook.orphan", "webhook.duplicate"}
    assert "webhook.one-event" not in {f["id"] for f in report["findings"]}  # up fixed it

    preview = project.preview("--expect-no-changes")

    assert preview.code == 0, str(preview)
    assert project.plaintext_hits([WEBHOOK_SECRET]) == {}
    os.remove(backup)
