"""An example Pulumi program that uses ``LevelIlertIntegration`` with values of its own.

An MSP keeps its client list in its own stack config (``clients``: a name and the Level
group of each) and pages one on-call rota for all of them. The rota's escalation policy is
named once, on the first client's integration; every other client takes the policy id from
that alert source's output (``escalation_policy_id``), so renaming the policy in ilert and
in this file touches one line, and no client can drift to another rota.

    cd examples/shared_rota && pulumi stack init dev && pulumi up

It runs in this repository's virtualenv (the project root on ``sys.path`` stands in for an
installed package); tests/program/test_example.py runs it against the sandbox.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pulumi

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the level-ilert checkout

from components.level_ilert_integration import (
    LevelIlertIntegration,
    LevelIlertIntegrationArgs,
)

config = pulumi.Config()
clients: list[dict[str, str]] = config.require_object("clients")
rota = config.get("rota") or "On-call L1"

first, *others = clients
lead = LevelIlertIntegration(
    first["group"].lower().replace(" ", "-"),
    LevelIlertIntegrationArgs(
        name=f"Level - {first['name']}",
        escalation_policy=rota,
        webhook={"device_groups": [first["group"]]},
    ),
)
integrations = [lead]
for client in others:
    integrations.append(
        LevelIlertIntegration(
            client["group"].lower().replace(" ", "-"),
            LevelIlertIntegrationArgs(
                name=f"Level - {client['name']}",
                # Another resource's output: the policy the first client's source pages.
                escalation_policy=lead.alert_source.escalation_policy_id,
                alert_creation="ONE_ALERT_GROUPED_PER_WINDOW",
                alert_grouping_window="PT5M",
                webhook={"device_groups": [client["group"]]},
            ),
        )
    )

pulumi.export("rotaPolicyId", lead.alert_source.escalation_policy_id)
pulumi.export("alertSources", [each.alert_source.id for each in integrations])
