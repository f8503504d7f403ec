"""The fleet's parts that need no Pulumi CLI: which stacks and environments, how engine events
become a stack's state, the first sentence of an error, the summary and the exit code.
(The fleet itself, through the real CLI, is tested in tests/cli/test_fleet.py: make e2e.)"""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path
from typing import Any

import pytest
from pulumi.automation import events

from ops.fleet import report, stacks
from ops.fleet.run import StackRun, StackState, first_sentence
from ops.fleet.view import PlainView
from tools import pulumi_cli

SOURCE_URN = (
    "urn:pulumi:dev::level-ilert::level-ilert:index:LevelIlertIntegration"
    "$pulumi-python:dynamic/ilert:AlertSource::acme"
)
WEBHOOK_URN = SOURCE_URN.replace("ilert:AlertSource", "level:Webhook")
STACK_URN = "urn:pulumi:dev::level-ilert::pulumi:pulumi:Stack::level-ilert-dev"


# -- which stacks, in which environment --------------------------------------------------------


def test_stack_files_are_the_stack_names_of_the_project(tmp_path: Path) -> None:
    for name in ("Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.sandbox.yaml", "Pulumi.client-acme.yaml",
                 "notes.yaml"):
        (tmp_path / name).write_text("config: {}\n")

    assert stacks.stack_files(tmp_path) == ["client-acme", "dev", "sandbox"]


def test_sandbox_stacks_get_the_sandboxs_backend_and_credentials_whatever_the_shell_says(
    tmp_path: Path,
) -> None:
    shell = {"ILERT_API_TOKEN": "real", "PULUMI_BACKEND_URL": "s3://bucket"}

    target = stacks.target_for("sandbox-b", tmp_path, shell)

    assert target.sandbox
    assert target.backend == f"file://{tmp_path.resolve()}/.pulumi-state"
    assert target.env == {
        "PULUMI_BACKEND_URL": target.backend,
        "ILERT_API_TOKEN": "sandbox-ilert-token",
        "LEVEL_API_KEY": "sandbox-level-key",
        "PULUMI_CONFIG_PASSPHRASE": "level-ilert-sandbox",
    }


def test_other_stacks_use_backend_url_then_pulumi_backend_url_then_the_login(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pulumi_cli, "current_backend", lambda: "https://api.pulumi.com")

    assert stacks.target_for("dev", tmp_path, {"BACKEND_URL": "s3://a",
                                               "PULUMI_BACKEND_URL": "s3://b"}).backend == "s3://a"
    assert stacks.target_for("dev", tmp_path, {"PULUMI_BACKEND_URL": "s3://b"}).backend == "s3://b"
    target = stacks.target_for("dev", tmp_path, {})
    assert target.env == {"PULUMI_BACKEND_URL": "https://api.pulumi.com"}  # nothing of the sandbox


def test_a_stack_without_any_backend_is_an_error_that_says_how_to_give_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pulumi_cli, "current_backend", lambda: None)

    with pytest.raises(stacks.FleetError, match="No Pulumi backend for stack 'dev': pass BACKEND"):
        stacks.target_for("dev", tmp_path, {})


def test_requested_stacks_are_kept_in_order_without_asking_the_backend(tmp_path: Path) -> None:
    selection = stacks.select(tmp_path, ["sandbox-b", "sandbox-a", "sandbox-b"], {})

    assert [target.name for target in selection.targets] == ["sandbox-b", "sandbox-a"]
    assert selection.missing == []


def test_by_default_stack_files_without_a_stack_or_a_backend_are_left_out_and_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pulumi_cli, "current_backend", lambda: None)
    for name in ("dev", "sandbox-a"):
        (tmp_path / f"Pulumi.{name}.yaml").write_text("config: {}\n")

    selection = stacks.select(tmp_path, [], {})

    assert selection.targets == []
    assert selection.missing == [
        "dev (no backend: pass BACKEND_URL or run pulumi login)",
        f"sandbox-a (no such stack on file://{tmp_path.resolve()}/.pulumi-state)",
    ]


def test_the_cli_runs_with_the_makefiles_hygiene(tmp_path: Path) -> None:
    cli = tmp_path / "cli"
    cli.mkdir()
    (cli / "pulumi").write_text("#!/bin/sh\n")
    (cli / "pulumi").chmod(0o755)
    (tmp_path / "venv" / "bin").mkdir(parents=True)
    environ = {"PULUMI_DIR": str(cli), "PATH": "/usr/bin:/bin"}

    assert stacks.prepare_cli(tmp_path, environ) == cli

    assert environ["PATH"].split(os.pathsep) == [
        str(tmp_path / "venv" / "bin"), str(cli), "/usr/bin", "/bin",
    ]
    assert environ["PULUMI_SKIP_UPDATE_CHECK"] == "true"
    assert environ["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] == "true"


def test_no_cli_says_to_run_make_pulumi(tmp_path: Path) -> None:
    with pytest.raises(stacks.FleetError, match="run `make pulumi`"):
        stacks.prepare_cli(tmp_path, {"PULUMI_DIR": str(tmp_path), "PATH": "/bin"})


# -- engine events become the stack's state ----------------------------------------------------


def _run(state: StackState, tmp_path: Path) -> StackRun:
    return StackRun(state, project_dir=tmp_path, env={}, on_change=lambda _: None,
                    lock=threading.Lock())


def _event(**data: Any) -> events.EngineEvent:
    return events.EngineEvent.from_json(data)


def _step(kind: str, op: str, urn: str, diffs: list[str] | None = None) -> events.EngineEvent:
    metadata = {"op": op, "urn": urn, "type": "", "provider": "", "diffs": diffs or [],
                "detailedDiff": {name: {"diffKind": "update", "inputDiff": False}
                                 for name in diffs or []}}
    return _event(**{kind: {"metadata": metadata}})


def test_a_drift_run_keeps_each_changed_resource_and_its_properties(tmp_path: Path) -> None:
    state = StackState("dev", "drift")
    run = _run(state, tmp_path)

    for event in (
        _step("resourcePreEvent", "refresh", SOURCE_URN),
        _step("resOutputsEvent", "refresh", SOURCE_URN),
        _step("resourcePreEvent", "same", STACK_URN),
        _step("resourcePreEvent", "update", SOURCE_URN, ["name", "active"]),
        _step("resOutputsEvent", "update", SOURCE_URN),
        _step("resourcePreEvent", "update", WEBHOOK_URN, ["url"]),
        _event(summaryEvent={"maybeCorrupt": False, "durationSeconds": 1,
                             "resourceChanges": {"same": 2, "update": 2}, "PolicyPacks": {}}),
    ):
        run.on_event(event)

    assert [(d.resource, d.op, d.properties) for d in state.drift] == [
        ("ilert:AlertSource acme", "update", ["active", "name"]),
        ("level:Webhook acme", "update", ["url"]),
    ]
    assert state.changes == {"update": 2}
    assert state.finished == {"refresh": 1, "update": 1}


def test_a_resources_own_error_is_kept_before_the_engines_generic_ones(tmp_path: Path) -> None:
    state = StackState("dev", "up")
    run = _run(state, tmp_path)
    traceback = (
        "Traceback (most recent call last):\n  File \"x.py\", line 1, in create\n"
        "clients.http.UnauthorizedError: ilert API GET /api/alert-sources failed (HTTP 401): "
        "Missing key. Check the credential: set ilert:apiToken.\n\n"
        "This is a bug in level-ilert, not a problem with your settings: please report it.\n"
    )

    run.on_event(_event(diagnosticEvent={"message": "update failed\n", "color": "never",
                                         "severity": "error"}))
    run.on_event(_event(diagnosticEvent={"message": traceback, "color": "never",
                                         "severity": "error", "urn": SOURCE_URN}))

    assert run._resource_errors == [
        "ilert:AlertSource acme: ilert API GET /api/alert-sources failed (HTTP 401): Missing key."
    ]
    assert run._engine_errors == []


@pytest.mark.parametrize(
    ("message", "sentence"),
    [
        ("error: validating stack config: cipher: message authentication failed\n",
         "validating stack config: cipher: message authentication failed"),
        ("Level API POST /v2/webhooks failed (HTTP 403): read-only key. Create a read & write "
         "key.", "Level API POST /v2/webhooks failed (HTTP 403): read-only key."),
        ("ilert already has an alert source named 'Level - X' (id 7); creating another would "
         "split your alerts. Take it over with `adopt: true`.",
         "ilert already has an alert source named 'Level - X' (id 7); creating another would "
         "split your alerts."),
        ("Traceback (most recent call last):\n  File \"a.py\"\nKeyError: 'x'\n", "'x'"),
        ("\n\n", ""),
    ],
)
def test_the_first_sentence_of_an_error(message: str, sentence: str) -> None:
    assert first_sentence(message) == sentence


# -- the summary and the exit code -------------------------------------------------------------


def _state(name: str, action: str = "drift", **fields: Any) -> StackState:
    state = StackState(name, action)  # type: ignore[arg-type]
    state.started, state.ended = 100.0, 103.25
    for key, value in fields.items():
        setattr(state, key, value)
    return state


def test_exit_codes_clean_drift_failed() -> None:
    clean = _state("a")
    drifted = _state("b", drift=[object()])
    failed = _state("c", error="x")

    assert report.exit_code([clean]) == 0
    assert report.exit_code([clean, drifted]) == 7
    assert report.exit_code([clean, drifted, failed]) == 2  # a stack not checked may drift too
    assert report.exit_code([_state("d", "up", changes={"create": 2})]) == 0


def test_the_table_names_each_stack_its_drift_time_and_error() -> None:
    from ops.fleet.run import Drift

    states = [
        _state("sandbox-a"),
        _state("sandbox-b", changes={"update": 1},
               drift=[Drift("ilert:AlertSource acme", "update", ["active"])]),
        _state("prod", error="ilert:AlertSource acme: ilert API GET /x failed (HTTP 401)."),
    ]
    out = io.StringIO()

    report.render(states, "drift", out)

    assert out.getvalue().splitlines() == [
        "",
        "stack      result  changes   drift                           time   error",
        "sandbox-a  clean   -         -                               3.2 s",
        "sandbox-b  drift   update 1  ilert:AlertSource acme: active  3.2 s",
        "prod       failed  -                                         3.2 s  "
        "ilert:AlertSource acme: ilert API GET /x failed (HTTP 401).",
        "",
        "fleet drift: 3 stack(s); drift in sandbox-b; failed: prod",
    ]


def test_the_json_summary_holds_the_same() -> None:
    from ops.fleet.run import Drift

    states = [_state("b", drift=[Drift("level:Webhook acme", "update", ["enabled"])])]

    document = report.document(states, "drift", ["a note"])

    assert document == {
        "command": "fleet drift", "exit_code": 7, "notes": ["a note"],
        "stacks": [{
            "stack": "b", "result": "drift", "changes": {},
            "drift": [{"resource": "level:Webhook acme", "op": "update",
                       "properties": ["enabled"]}],
            "error": None, "duration_seconds": 3.25,
        }],
    }


def test_plain_progress_prints_a_line_per_new_phase_only() -> None:
    out = io.StringIO()
    state = StackState("sandbox-a", "up")
    view = PlainView(out, [state])

    for phase in ("starting", "updating", "updating", "refreshing"):
        state.phase = phase
        view.changed(state)
    state.started, state.ended = 0.0, 1.5
    view.changed(state)

    assert [line.split()[:2] for line in out.getvalue().splitlines()] == [
        ["sandbox-a", "starting"], ["sandbox-a", "updating"], ["sandbox-a", "refreshing"],
        ["sandbox-a", "unchanged"],
    ]
