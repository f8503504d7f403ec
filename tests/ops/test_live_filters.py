"""A live ``eventFilter`` whose regular expression the project will not compile crashes
nothing: doctor reports, discover keeps the source out with the reason, and the sandbox,
the referee, still decides deliveries.

Two such filters: ``x{5000}``, which the sandbox (standing in for ilert) accepts but the
project refuses (its bound is 1,000 repeats), and ``x{4294967294}`` planted in the sandbox's
world as if ilert had taken it (compiling it took gigabytes, then ``MemoryError``).
"""

from __future__ import annotations

import io
import json
import resource
from pathlib import Path

import pytest

from ops.__main__ import main
from sandbox import ILERT_TOKEN, LEVEL_API_KEY
from sandbox.errors import ApiError as SandboxError
from tests.ops.conftest import Project

BETWEEN = "event.summary regex 'x{5000}'"
HUGE = "event.summary regex 'x{4294967294}'"
#: What the process may grow by while reading them: far below what one compile would take.
MAX_GROWTH_KIB = 256 * 1024


def plant(project: Project, name: str, condition: str) -> None:
    """Set a source's ``eventFilter`` behind every check, as if ilert had accepted it."""
    source_id = project.objects[name].source_id
    with project.sandbox.world.mutate() as state:
        state.alert_sources[source_id].extras["eventFilter"] = condition


@pytest.fixture
def planted(project: Project) -> Project:
    project.sandbox.ilert_edit_alert_source(project.objects["Level - Servers"].source_id,
                                            eventFilter=BETWEEN)
    plant(project, "Level - Acme", HUGE)
    return project


def test_doctor_reports_and_does_not_crash(planted: Project) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    code, document = planted.doctor()

    assert code in (0, 1), document
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < MAX_GROWTH_KIB
    assert document["checks"]


def test_verify_with_such_a_declared_filter_does_not_crash(planted: Project) -> None:
    code, out, err = planted.run("verify", "--json", "--timeout", "5")

    assert code in (0, 1, 2), out + err
    json.loads(out)  # one document, not a traceback


def test_discover_keeps_the_source_out_naming_the_pattern(
    planted: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox = planted.sandbox
    for name, value in (("ILERT_BASE_URL", sandbox.ilert_url),
                        ("LEVEL_BASE_URL", sandbox.level_url),
                        ("ILERT_API_TOKEN", ILERT_TOKEN), ("LEVEL_API_KEY", LEVEL_API_KEY)):
        monkeypatch.setenv(name, value)
    (tmp_path / "Pulumi.yaml").write_text("name: level-ilert\nruntime: python\n")
    out, err = io.StringIO(), io.StringIO()

    code = main(["discover", "--stack", "sandbox-live", "--project-dir", str(tmp_path),
                 "--json"], out=out, err=err)

    assert code == 1, err.getvalue()  # both sources kept out: nothing to write
    report = json.loads(out.getvalue())
    kept = {k["name"] for k in report["keptOut"]}
    assert kept == {"Level - Acme", "Level - Servers"}
    reasons = " ".join(f["summary"] for f in report["findings"] if f["id"] == "source.invalid")
    assert "repeats something 5000 times" in reasons
    assert "repeats something 4294967294 times" in reasons
    assert not (tmp_path / "Pulumi.sandbox-live.yaml").exists()


def test_the_sandbox_refuses_a_huge_filter_with_400_and_still_delivers(project: Project) -> None:
    sandbox = project.sandbox
    source_id = project.objects["Level - Acme"].source_id
    with pytest.raises(SandboxError, match=r"400: .*regular expression repeats something"):
        sandbox.ilert_edit_alert_source(source_id, eventFilter=HUGE)
    # The pattern comes from the alert: the referee must decide it at delivery time.
    sandbox.ilert_edit_alert_source(
        source_id, eventFilter="event.summary regex event.customDetails.name")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    sandbox.raise_level_alert(name="x{4294967294}", device_hostname="ACME-WS-01",
                              group_id=sandbox.level_group_id("Acme Corp"))
    sandbox.wait_idle()

    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < MAX_GROWTH_KIB
    assert sandbox.ilert_alerts(source_id) == []  # not accepted: false, as a type error
    assert sandbox.deliveries  # delivered, and decided
