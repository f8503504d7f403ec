"""A create that meets three 429s without ``Retry-After`` succeeds within its deadline, through
the real Pulumi CLI (the fleet runs it) against the sandbox, with ilert's real 60 s window.

Before: each bare 429 waited a whole window, so the third one passed the 120 s deadline and
the create failed ("rate limit still exhausted after 2 attempts"). Now the waits are
1-1.25, 2-2.5 and 4-5 s (README: the fault table). Run by ``make e2e``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from sandbox import Sandbox
from tests.cli.fleet_project import FleetProject


@pytest.fixture
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FleetProject]:
    with Sandbox() as sandbox:
        fleet = FleetProject(tmp_path_factory.mktemp("limited"), sandbox)
        fleet.add_stack("sandbox-limited", ["Level - limited"])
        yield fleet


def test_a_create_that_meets_three_429s_in_a_row_succeeds(project: FleetProject) -> None:
    project.sandbox.faults.add("ilert", "POST", "/api/alert-sources", status=429, count=3)

    done = project.fleet("up", "--json")

    assert done.code == 0, done
    (entry,) = json.loads(done.stdout)["stacks"]
    assert entry["result"] == "updated"
    posts = [request.status for request in project.sandbox.requests
             if request.method == "POST" and request.path == "/api/alert-sources"]
    assert posts == [429, 429, 429, 201]
    assert [s["name"] for s in project.sandbox.ilert_alert_sources()] == ["Level - limited"]
    # About 7 s of backoff (1 + 2 + 4 s, each up to 25 % more), within the 120 s deadline.
    assert 7.0 <= entry["duration_seconds"] < 120.0
