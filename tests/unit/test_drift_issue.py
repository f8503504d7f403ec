"""The drift workflow's issue bodies (tools/drift_issue.py): data stays data, one issue per
stack tells drift and audit findings apart, and the fleet's stacks open, close or keep theirs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tools import drift_issue

HOSTILE = "Acme ```\n## Owned\n@octocat [click](https://evil.example) \x1b[31m\u202e"


def outside_fences(markdown: str) -> list[str]:
    """The lines of ``markdown`` that GitHub renders as Markdown (outside fenced blocks)."""
    shown, fence = [], None
    for line in markdown.splitlines():
        opened = re.match(r"^(`{3,})", line)
        if fence is None and opened:
            fence = opened.group(1)
        elif fence is not None and line.startswith(fence) and line.strip("`") == "":
            fence = None
        elif fence is None:
            shown.append(line)
    return shown


def test_findings_from_the_apis_are_written_as_data_inside_a_fence_they_cannot_end() -> None:
    audit = {"findings": [{
        "integration": HOSTILE,
        "level_alert": {"id": "a-1", "name": HOSTILE, "device": "WS-042"},
        "cause": "alert_resolved not sent",
        "fix": "Level: Settings > Webhooks > select Alert resolved",
    }, {
        "integration": "Level - Globex", "level_alert": None, "alert": "",
        "cause": "no webhook", "fix": "create it",
    }, {
        "integration": "Level - Globex", "level_alert": "a-7", "alert": "Disk on GLOBEX-HQ",
        "cause": "opened twice", "fix": "remove the org-wide webhook",
    }]}

    body = drift_issue.body("prod", audit=audit, run_url="https://github.example/run/1")

    rendered = "\n".join(outside_fences(body))
    for dangerous in ("## Owned", "@octocat", "](https://evil.example)", "\x1b", "\u202e"):
        assert dangerous not in rendered
    assert "\x1b" not in body and "\u202e" not in body
    assert "````text" in body  # longer than the ``` run inside the name
    assert "  Level alert: id=a-1, name=Acme ```?## Owned?@octocat" in body
    assert "  cause:       alert_resolved not sent" in body
    assert "### Level side (evidence audit): 3 findings" in body
    assert "  Level alert: the integration's setup" in body
    assert "  Level alert: a-7 (Disk on GLOBEX-HQ)" in body


def test_a_body_holds_the_drift_report_and_the_findings_each_in_its_own_section() -> None:
    report = "drift: 1 to update\n  update level:Webhook level-globex: enabled\n"
    audit = {"findings": [{"integration": "Level - Acme", "level_alert": "a-1",
                           "cause": "no webhook", "fix": "create it"}] * 2}

    body = drift_issue.body("prod", report=report, audit=audit)

    assert body.startswith("Found in stack `prod`.")
    assert "### Declared state (drift check)" in body
    assert "update level:Webhook level-globex: enabled" in body
    assert "Repair with `make up STACK=<stack>`" in body
    assert "### Level side (evidence audit): 2 findings" in body
    assert drift_issue.body("prod", report=report).count("###") == 1


def test_a_huge_audit_is_cut_to_fit_an_issue_and_says_how_many_were_left_out() -> None:
    item = {"integration": "x" * 400, "level_alert": "a", "cause": "c" * 400, "fix": "f" * 400}
    body = drift_issue.body("prod", audit={"findings": [item] * 500})

    assert len(body) < 65_536
    assert re.search(r"\.\.\. and \d+ more \(the run's job summary has", body)
    assert drift_issue.audit_section({"findings": []}).endswith("No findings.")
    quiet = drift_issue.audit_section({"findings": [], "nothing_to_judge": True, "judged": 0})
    assert "Nothing to judge" in quiet and "not a sign of health" in quiet
    judged = drift_issue.audit_section({"findings": [], "nothing_to_judge": False, "judged": 4})
    assert judged.endswith("No findings: 4 Level alert(s) judged, each delivered as declared.")


def test_the_fleet_opens_drifted_or_audited_stacks_closes_clean_ones_and_keeps_failed_ones(
    tmp_path: Path,
) -> None:
    summary = {"stacks": [
        {"stack": "prod", "drift": [{"resource": "level:Webhook acme", "op": "update",
                                     "properties": ["enabled"]}], "error": None},
        {"stack": "dev", "drift": [], "error": None},
        {"stack": "manual", "drift": [], "error": None},
        {"stack": "broken", "drift": None, "error": "pulumi preview failed"},
        {"stack": "quiet", "drift": [], "error": None},
    ]}
    audits = tmp_path / "audits"
    audits.mkdir()
    (audits / "manual.code").write_text("1\n")
    (audits / "manual.json").write_text(json.dumps({"findings": [
        {"integration": "Level - Acme", "level_alert": "a-1", "cause": "c", "fix": "f"}]}))
    (audits / "quiet.code").write_text("2\n")  # the audit could not run: unknown

    stacks = drift_issue.fleet_stacks(summary, audits)
    shown = drift_issue.write_fleet(stacks, tmp_path / "issues", "https://run")

    assert {s.name: s.issue for s in stacks} == {
        "prod": "open", "dev": "close", "manual": "open", "broken": "keep", "quiet": "keep"}
    assert sorted(p.name for p in (tmp_path / "issues" / "open").iterdir()) == [
        "manual.md", "prod.md"]
    assert [p.name for p in (tmp_path / "issues" / "close").iterdir()] == ["dev"]
    assert "update level:Webhook acme: enabled" in (tmp_path / "issues/open/prod.md").read_text()
    assert "### Level side" in (tmp_path / "issues/open/manual.md").read_text()
    assert "broken: could not check: pulumi preview failed" in shown
    assert "quiet: no drift; audit could not run (exit 2)" in shown


@pytest.mark.parametrize("name", ["../etc", "a b", "", ".."])
def test_a_fleet_stack_name_that_is_no_file_name_is_refused(name: str) -> None:
    with pytest.raises(drift_issue.NotAReport, match="not a stack name"):
        drift_issue.fleet_stacks({"stacks": [{"stack": name, "drift": [], "error": None}]})


def test_the_command_line_exits_2_on_a_file_that_is_not_a_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "audit.json"
    bad.write_text('{"ok": true}')
    assert drift_issue.main(["body", "--stack", "prod", "--audit", str(bad)]) == 2
    assert "no findings list" in capsys.readouterr().err
    bad.write_text("not json")
    assert drift_issue.main(["audit", str(bad)]) == 2
    good = tmp_path / "fleet.json"
    good.write_text(json.dumps({"stacks": [{"stack": "dev", "drift": [], "error": None}]}))
    assert drift_issue.main(["fleet", str(good), "--out-dir", str(tmp_path / "out")]) == 0
    assert "dev: no drift" in capsys.readouterr().out
