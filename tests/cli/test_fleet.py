"""``python -m ops fleet`` on three sandbox stacks (and one with a bad credential) through the
real Pulumi CLI and Pulumi's Automation API: up, drift made by hand, destroy; and stacks on
one API key, run at once, each paced at its share of the key's rate.

Run by ``make e2e`` (it finds or builds the CLI and sets ``PULUMI_DIR``), never by ``make
test``. The tests of this module share one project and one sandbox and run in order: each
starts from the world the previous one left. Every fleet run is kept with the CLI's, so the
last test can prove that no secret was ever printed or stored.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox import Sandbox
from tests.cli.fleet_project import FleetProject
from tests.cli.harness import sandbox_secrets

GOOD = ("sandbox-a", "sandbox-b", "sandbox-c")
BAD = "sandbox-d"  # its ilert:apiToken (secret config) is wrong
WRONG_TOKEN = "not-the-sandbox-token"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FleetProject]:
    with Sandbox() as sandbox:
        fleet = FleetProject(tmp_path_factory.mktemp("fleet"), sandbox)
        for name in GOOD:
            fleet.add_stack(name, [_apart(name)])
        fleet.add_stack(BAD, [_apart(BAD)], secrets={"ilert:apiToken": WRONG_TOKEN})
        yield fleet


@pytest.fixture(scope="module")
def secrets_seen() -> list[str]:
    """Credentials, integration keys and URLs seen while the stacks lived (filled by the
    tests: the objects are gone after destroy)."""
    return []


def _apart(stack: str) -> dict[str, str]:
    """One integration per stack, filtered apart from the others' (the stacks share the
    sandbox's Level organisation: the fleet's preview and up refuse two that would page for
    one alert)."""
    return {"name": f"Level - fleet {stack[-1]}",
            "eventFilter": f"event.customDetails.severity == 'fleet-{stack[-1]}'"}


def _by_stack(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["stack"]: entry for entry in document["stacks"]}


def _fleet_sources(sandbox: Sandbox) -> list[str]:
    return sorted(s["name"] for s in sandbox.ilert_alert_sources() if "fleet" in s["name"])


def test_up_runs_every_stack_and_one_that_fails_stops_none(
    project: FleetProject, secrets_seen: list[str]
) -> None:
    project.sandbox.requests.clear()

    done = project.fleet("up", "--json")

    assert done.code == 2, done
    stacks = _by_stack(json.loads(done.stdout))
    assert sorted(stacks) == [*GOOD, BAD]  # every stack file whose stack exists
    for name in GOOD:
        assert stacks[name]["result"] == "updated", stacks[name]
        assert stacks[name]["changes"].get("create", 0) >= 2, stacks[name]
        assert stacks[name]["error"] is None
    assert stacks[BAD]["result"] == "failed"
    assert stacks[BAD]["error"].startswith(
        "ilert:AlertSource level-fleet-d: ilert API GET /api/alert-sources failed (HTTP 401)"
    )
    # What the APIs hold: the three good stacks' objects, nothing of the failed one.
    assert _fleet_sources(project.sandbox) == [
        "Level - fleet a", "Level - fleet b", "Level - fleet c",
    ]
    assert len(project.sandbox.level_webhooks()) == 3
    secrets_seen.extend(sandbox_secrets(project.sandbox))
    # The good stacks share the sandbox's ilert token; the bad one's (a secret the fleet had
    # the CLI decrypt) is its own. All four share the Level key.
    assert json.loads(done.stdout)["notes"] == [
        "3 stacks use one ilert key (sandbox-a, sandbox-b, sandbox-c): each was paced at 1/3 "
        "of the key's rate, 3 running at once at most.",
        "4 stacks use one Level key (sandbox-a, sandbox-b, sandbox-c, sandbox-d): each was "
        "paced at 1/4 of the key's rate, 4 running at once at most.",
    ]


def test_drift_made_by_hand_gives_exit_7_naming_the_stack_and_property(
    project: FleetProject,
) -> None:
    (source,) = [s for s in project.sandbox.ilert_alert_sources()
                 if s["name"] == "Level - fleet b"]
    project.sandbox.ilert_edit_alert_source(source["id"], active=False)

    done = project.fleet("drift", "--stacks", *GOOD)

    assert done.code == 7, done
    lines = {line.split()[0]: line for line in done.stdout.splitlines()
             if line.startswith("sandbox-")}
    assert lines["sandbox-b"].split()[1] == "drift"
    assert "ilert:AlertSource level-fleet-b: active" in lines["sandbox-b"]
    assert "level:Webhook" not in lines["sandbox-b"]  # its URL stays: no phantom drift
    assert lines["sandbox-a"].split()[1] == "clean"
    assert lines["sandbox-c"].split()[1] == "clean"
    assert "fleet drift: 3 stack(s); drift in sandbox-b" in done.stdout
    # A drift check changes nothing.
    assert project.sandbox.ilert_alert_source(source["id"])["active"] is False


def test_destroy_asks_first_then_deletes_what_every_stack_made(project: FleetProject) -> None:
    refused = project.fleet("destroy", "--stacks", *GOOD)

    assert refused.code == 2
    assert "Destroy 3 stack(s): sandbox-a, sandbox-b, sandbox-c?" in refused.stderr
    assert "Not destroyed" in refused.stderr
    assert len(_fleet_sources(project.sandbox)) == 3

    done = project.fleet("destroy", "--yes", "--json", "--stacks", *GOOD, BAD)

    assert done.code == 0, done
    results = {name: entry["result"] for name, entry in _by_stack(json.loads(done.stdout)).items()}
    assert results == dict.fromkeys([*GOOD, BAD], "destroyed")
    assert _fleet_sources(project.sandbox) == []
    assert project.sandbox.level_webhooks() == []


def test_no_secret_was_printed_or_stored_and_the_checkout_was_left_alone(
    project: FleetProject, secrets_seen: list[str]
) -> None:
    assert project.plaintext_hits([*secrets_seen, WRONG_TOKEN]) == {}
    checkout = Path(__file__).resolve().parents[2]
    shipped = {"Pulumi.sandbox-manual.yaml"}  # committed: the sandbox's manual-mode stack
    assert not [p for p in checkout.glob("Pulumi.sandbox-*.yaml") if p.name not in shipped]


def test_stacks_on_one_key_run_at_once_each_pace_at_their_share(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Two stacks allowed 2 ilert requests a minute each: one after the other, each
    preview's preflight reads both pages of escalation policies; at once, each may send one
    (half of 2), so the second page finds no request slot before the 3 s deadline."""
    tight = {"ilert:rateLimitRequests": "2", "ilert:rateLimitWindowSeconds": "60",
             "ilert:operationTimeoutSeconds": "3"}
    with Sandbox() as sandbox:
        for n in range(48):  # with the two seeded ones: two pages of 50
            sandbox.ilert_add_escalation_policy(f"Policy {n}")
        fleet = FleetProject(tmp_path_factory.mktemp("shares"), sandbox)
        for name in ("sandbox-x", "sandbox-y"):
            fleet.add_stack(name, [{**_apart(name), "name": f"Level - share {name[-1]}"}],
                            settings=tight)

        def policy_pages() -> int:
            return sum(1 for request in sandbox.requests
                       if request.path == "/api/escalation-policies")

        sandbox.requests.clear()
        alone = fleet.fleet("preview", "--json", "--parallel", "1")
        pages_alone = policy_pages()
        sandbox.requests.clear()
        together = fleet.fleet("preview", "--json")
        pages_together = policy_pages()

    assert alone.code == 0, alone
    assert json.loads(alone.stdout)["notes"] == []
    assert pages_alone == 4  # two pages per stack
    assert together.code == 2, together
    document = json.loads(together.stdout)
    assert document["notes"][0].startswith("2 stacks use one ilert key (sandbox-x, sandbox-y)")
    for entry in document["stacks"]:  # the problem itself, its heading in errorDetail
        assert entry["errorDetail"].startswith("Preflight (pulumi preview) found"), entry
        assert "/api/escalation-policies" in entry["error"], entry
    assert pages_together == 2  # one page per stack: the second had no slot in the deadline
