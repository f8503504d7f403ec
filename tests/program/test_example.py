"""examples/shared_rota: a Pulumi program of one's own that uses the component with values
from elsewhere in it (its config, and another resource's Output as a policy), run under
mocks whose providers create the objects in the sandbox."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import pulumi

from clients.ilert import IlertClient
from sandbox import ILERT_TOKEN, Sandbox
from tests.program.test_program import ProvidersAgainstSandbox, stack_config
from tools.engine_harness import capture_registrations

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "shared_rota"
PROJECT = "level-ilert-shared-rota"
CLIENTS = [
    {"name": "Acme Corp", "group": "Acme Corp"},
    {"name": "Globex", "group": "Globex"},
]


def test_every_client_pages_the_policy_the_first_one_names(sandbox: Sandbox) -> None:
    config = {
        **stack_config(sandbox, []),
        f"{PROJECT}:clients": json.dumps(CLIENTS),
        f"{PROJECT}:rota": "On-call L1",
    }
    mocks = ProvidersAgainstSandbox(config)

    def program() -> None:
        pulumi.runtime.set_all_config(config)
        runpy.run_path(str(EXAMPLE / "__main__.py"))

    capture_registrations(program, mocks=mocks, project=PROJECT, stack="dev")

    sources = {source["name"]: source for source in sandbox.ilert_alert_sources()}
    assert set(sources) == {"Level - Acme Corp", "Level - Globex"}
    policies = IlertClient(sandbox.ilert_url, ILERT_TOKEN).list_escalation_policies()
    rota = {policy.name: policy.id for policy in policies}["On-call L1"]
    # The second client's policy came from the first one's output: the same rota, by id.
    assert {s["escalationPolicy"]["id"] for s in sources.values()} == {rota}
    assert sources["Level - Globex"]["alertCreation"] == "ONE_ALERT_GROUPED_PER_WINDOW"
    hooks = {hook["url"]: hook for hook in sandbox.level_webhooks()}
    for source in sources.values():
        assert hooks[source["integrationUrl"]]["event_types"] == ["alert_active", "alert_resolved"]
    groups = {group["id"]: group["name"] for group in sandbox.level_groups()}
    assert sorted(groups[i] for hook in hooks.values() for i in hook["group_ids"]) == [
        "Acme Corp", "Globex",
    ]
