"""The drift workflow as its reader and its auditor see it (.github/workflows/drift.yml).

actionlint and zizmor run in `make lint-workflows`; these are the project's own rules: one
table in docs/drift-and-ci.md names every secret and variable the workflow reads; each job
with secrets runs in a GitHub environment and gives them to one step; no backend by default;
the runtime lock installed with hash checking; the scripts it runs exist and parse.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "drift.yml"
DOCS = ROOT / "docs" / "drift-and-ci.md"
REFERENCE = re.compile(r"\b(secrets|vars)\.([A-Z0-9_]+)")  # in ${{ }} and in if: alike
BASH = shutil.which("bash") or "/bin/bash"


def workflow() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    return document


def docs_table() -> dict[str, str]:
    """``name -> kind`` (secret or variable) of the table in docs/drift-and-ci.md."""
    found: dict[str, str] = {}
    for line in DOCS.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[0] in ("secret", "variable"):
            for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", cells[1]):
                found[name] = cells[0]
    return found


def test_every_secret_and_variable_the_workflow_reads_is_in_the_docs_table_and_back() -> None:
    used = {
        name: ("secret" if kind == "secrets" else "variable")
        for kind, name in REFERENCE.findall(WORKFLOW.read_text(encoding="utf-8"))
    }
    assert used == docs_table()


def test_each_job_with_secrets_runs_in_an_environment_and_gives_them_to_one_step() -> None:
    for name, job in workflow()["jobs"].items():
        with_secrets = [
            step for step in job["steps"]
            if "secrets." in yaml.safe_dump(step.get("env") or {})
        ]
        assert len(with_secrets) == 1, name
        assert "secrets." not in yaml.safe_dump({k: v for k, v in job.items() if k != "steps"})
        assert str(job["environment"]).startswith("drift-"), name
        # Runs by hand only from the default branch (schedules run there anyway).
        assert "github.event.repository.default_branch" in job["if"], name
        # The issues token never meets the other secrets.
        for step in job["steps"]:
            env = yaml.safe_dump(step.get("env") or {})
            assert not ("github.token" in env and "secrets." in env), step.get("name")


def test_there_is_no_default_backend_and_each_job_refuses_to_start_without_one() -> None:
    for job in workflow()["jobs"].values():
        assert job["env"]["PULUMI_BACKEND_URL"] == "${{ vars.PULUMI_BACKEND_URL }}"
        first = job["steps"][0]
        assert first["name"] == "Refuse to run without an explicit backend"
        assert 'if [ -z "$PULUMI_BACKEND_URL" ]' in first["run"]


def test_the_drift_jobs_install_the_runtime_lock_with_hash_checking_only() -> None:
    for job in workflow()["jobs"].values():
        runs = "\n".join(step.get("run", "") for step in job["steps"])
        assert "--require-hashes" in runs and "-r requirements.lock" in runs
        assert "requirements-dev" not in runs and "make venv" not in runs


def test_the_scripts_the_workflow_runs_exist_are_executable_and_parse() -> None:
    scripts = set(re.findall(r"\.github/scripts/[\w.]+", WORKFLOW.read_text(encoding="utf-8")))
    assert scripts == {".github/scripts/drift_check.sh", ".github/scripts/drift_fleet.sh",
                       ".github/scripts/drift_issue.sh"}
    for script in [*scripts, ".github/scripts/drift_env.sh"]:
        path = ROOT / script
        assert path.is_file(), script
        assert subprocess.run([BASH, "-n", str(path)], check=False).returncode == 0, script
        if script != ".github/scripts/drift_env.sh":  # sourced, not run
            assert path.stat().st_mode & 0o111, script


def test_the_check_gets_a_read_only_preflight_and_runs_the_program_for_its_refresh() -> None:
    env = (ROOT / ".github" / "scripts" / "drift_env.sh").read_text(encoding="utf-8")
    assert "export LEVEL_ILERT_PREFLIGHT=read-only" in env
    check = (ROOT / ".github" / "scripts" / "drift_check.sh").read_text(encoding="utf-8")
    assert 'PULUMI_RUN_PROGRAM=$(refresh_runs_program "$STACK")' in check
    assert "pulumi preview --refresh --expect-no-changes --json --non-interactive" in check
    assert '"$PY" -m ops audit --stack "$STACK" --json' in check
