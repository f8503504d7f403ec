"""The fleet's parts that need no Pulumi CLI: which stacks and environments, how an API key's
rate is divided among stacks that run at once, how engine events become a stack's state, the
first sentence of an error, the summary and the exit code. (The fleet itself, through the
real CLI, is tested in tests/cli/test_fleet.py: make e2e.)"""

from __future__ import annotations

import argparse
import io
import os
import re
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from pulumi import automation as auto
from pulumi.automation import events

import ops.fleet
from ops.fleet import report, shares, stacks
from ops.fleet.run import MAKE_ENV, StackRun, StackState, first_sentence
from ops.fleet.view import PlainView
from ops.secure_config import Decrypted, Undecryptable
from providers.provider_base import ADOPTED_NOTE
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


# -- stacks on one API key divide its rate ------------------------------------------------------

ILERT_URL, LEVEL_URL = "https://api.ilert.com", "https://api.level.io"


def _target(name: str, **env: str) -> stacks.Target:
    return stacks.Target(name, "file:///state", env)


def _stack_file(root: Path, name: str, config: Mapping[str, object]) -> None:
    (root / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump({"config": dict(config)}))


def _no_cli(key: str, stack: str, project_dir: Path, env: Mapping[str, str]) -> Undecryptable:
    raise AssertionError(f"{key} of {stack} was not to be decrypted")


def test_each_stack_counts_the_key_its_providers_will_use_config_first_then_environment(
    tmp_path: Path,
) -> None:
    _stack_file(tmp_path, "a", {"ilert:apiToken": "token-1"})
    _stack_file(tmp_path, "b", {"ilert:apiToken": "token-1", "level:baseUrl": "https://l.test"})
    _stack_file(tmp_path, "c", {})
    fleet_env = {"ILERT_API_TOKEN": "token-2", "LEVEL_API_KEY": "level-key"}

    a, b, c = (shares.stack_keys(_target(name), tmp_path, fleet_env, decrypter=_no_cli)
               for name in "abc")
    d = shares.stack_keys(_target("d", LEVEL_API_KEY="other"), tmp_path, fleet_env,
                          decrypter=_no_cli)  # no stack file: the environment alone

    assert a["ilert"] == b["ilert"] == shares.key_digest(ILERT_URL, "token-1")
    assert c["ilert"] == d["ilert"] == shares.key_digest(ILERT_URL, "token-2")
    assert a["level"] == c["level"] == shares.key_digest(LEVEL_URL, "level-key")
    assert b["level"] == shares.key_digest("https://l.test", "level-key")  # another base URL
    assert d["level"] == shares.key_digest(LEVEL_URL, "other")  # the stack's own environment
    assert "token-1" not in repr(a) and "level-key" not in repr(a)


def test_a_secret_key_is_decrypted_by_the_cli_and_one_it_cannot_read_is_left_out(
    tmp_path: Path,
) -> None:
    _stack_file(tmp_path, "a", {"ilert:apiToken": {"secure": "v1:abc"},
                                "level:apiKey": {"secure": "v1:def"}})
    asked: list[tuple[str, str, str]] = []

    def decrypter(key: str, stack: str, project_dir: Path,
                  env: Mapping[str, str]) -> Decrypted | Undecryptable:
        asked.append((key, stack, env["PULUMI_CONFIG_PASSPHRASE"]))
        return Decrypted("token-1") if key == "ilert:apiToken" else Undecryptable("bad passphrase")

    found = shares.stack_keys(_target("a", PULUMI_CONFIG_PASSPHRASE="the stack's"), tmp_path,
                              {"LEVEL_API_KEY": "unused: the config's key wins"},
                              decrypter=decrypter)

    assert found == {"ilert": shares.key_digest(ILERT_URL, "token-1")}
    assert asked == [("ilert:apiToken", "a", "the stack's"), ("level:apiKey", "a", "the stack's")]


def test_stacks_on_one_key_each_get_their_share_and_the_summary_names_them() -> None:
    targets = [_target(name) for name in ("a", "b", "c", "d")]
    keys = [{"ilert": "k1", "level": "L"}, {"ilert": "k1", "level": "L"},
            {"ilert": "k1", "level": "L"}, {"ilert": "k2", "level": "L"}]

    planned = shares.plan(targets, keys, parallel=4, environ={})

    third = 1 / 3
    assert planned.env == {
        "a": {"LEVEL_ILERT_RATE_SHARE": f"ilert={third!r},level=0.25"},
        "b": {"LEVEL_ILERT_RATE_SHARE": f"ilert={third!r},level=0.25"},
        "c": {"LEVEL_ILERT_RATE_SHARE": f"ilert={third!r},level=0.25"},
        "d": {"LEVEL_ILERT_RATE_SHARE": "level=0.25"},  # its ilert key is its own
    }
    assert planned.notes == [
        "3 stacks use one ilert key (a, b, c): each was paced at 1/3 of the key's rate, 3 "
        "running at once at most.",
        "4 stacks use one Level key (a, b, c, d): each was paced at 1/4 of the key's rate, 4 "
        "running at once at most.",
    ]


def test_the_share_counts_only_the_stacks_that_can_run_at_once() -> None:
    targets = [_target(name) for name in "abcde"]

    planned = shares.plan(targets, [{"ilert": "k"}] * 5, parallel=2, environ={})

    assert planned.env["e"] == {"LEVEL_ILERT_RATE_SHARE": "ilert=0.5"}
    assert shares.plan(targets, [{"ilert": "k"}] * 5, parallel=1, environ={}).env == {}


def test_a_share_given_to_the_fleet_is_divided_in_turn() -> None:
    targets = [_target("a"), _target("b")]

    planned = shares.plan(targets, [{"ilert": "k"}, {"ilert": "k"}], parallel=4,
                          environ={"LEVEL_ILERT_RATE_SHARE": "0.5"})

    assert planned.env["a"] == {"LEVEL_ILERT_RATE_SHARE": "ilert=0.25,level=0.5"}
    with pytest.raises(stacks.FleetError, match=r"^LEVEL_ILERT_RATE_SHARE must be a fraction"):
        shares.plan(targets, [{}, {}], parallel=4, environ={"LEVEL_ILERT_RATE_SHARE": "2"})


def test_no_key_is_read_when_no_two_stacks_run_at_once(tmp_path: Path) -> None:
    _stack_file(tmp_path, "a", {"ilert:apiToken": {"secure": "v1:abc"}})
    targets = [_target("a"), _target("b")]

    assert shares.share_rates(targets, tmp_path, 1, {}, decrypter=_no_cli).env == {}
    assert shares.share_rates(targets[:1], tmp_path, 4, {}, decrypter=_no_cli).env == {}


def test_the_fleet_runs_each_stack_with_its_share_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("sandbox-a", "sandbox-b"):
        _stack_file(tmp_path, name, {"ilert:baseUrl": "http://127.0.0.1:9",
                                     "level:baseUrl": "http://127.0.0.1:9"})
    targets = [stacks.target_for(name, tmp_path, {}) for name in ("sandbox-a", "sandbox-b")]
    monkeypatch.setattr(ops.fleet, "prepare_cli", lambda project_dir: tmp_path)
    monkeypatch.setattr(ops.fleet, "select",
                        lambda *_: stacks.Selection(targets, [], ["file:///state"]))
    envs: dict[str, dict[str, str]] = {}

    def run(self: StackRun) -> StackState:
        envs[self.state.name] = self._env
        self.state.started = self.state.ended = 0.0
        return self.state

    monkeypatch.setattr(StackRun, "run", run)
    args = argparse.Namespace(action="preview", project_dir=tmp_path, parallel=4, stacks=[],
                              json=False, yes=False)
    out, err = io.StringIO(), io.StringIO()

    assert ops.fleet.main(args, out, err, io.StringIO(), live=False) == 0

    for name, target in zip(("sandbox-a", "sandbox-b"), targets, strict=True):
        assert envs[name] == {**target.env, "LEVEL_ILERT_RATE_SHARE": "ilert=0.5,level=0.5"}
    assert out.getvalue().splitlines()[-2:] == [
        "note: 2 stacks use one ilert key (sandbox-a, sandbox-b): each was paced at 1/2 of the "
        "key's rate, 2 running at once at most.",
        "note: 2 stacks use one Level key (sandbox-a, sandbox-b): each was paced at 1/2 of the "
        "key's rate, 2 running at once at most.",
    ]


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
        # A heading over a list of problems: the first problem names the cause.
        ("Preflight (pulumi preview) found what would stop `pulumi up` half-way; nothing was "
         "changed:\n- The Level API key is read-only: Level refused a write. Create one.\n- x\n",
         "The Level API key is read-only: Level refused a write."),
        ("error: Invalid stack config:\n- level:webhookManagement must be 'api'. Fix it.\n",
         "level:webhookManagement must be 'api'."),
        ("a line that ends with a colon:\nbut no list under it\n",
         "a line that ends with a colon:"),
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
            "error": None, "errorDetail": None, "notes": [], "duration_seconds": 3.25,
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


# -- each stack runs as `make <action>` runs it -------------------------------------------------


def makefile_exports() -> dict[str, dict[str, str]]:
    """Each target's own ``<target>: export NAME := value`` lines, outside ifeq blocks (the
    ones every run of the target has)."""
    exports: dict[str, dict[str, str]] = {}
    depth = 0
    for line in (Path(__file__).resolve().parents[2] / "Makefile").read_text().splitlines():
        if line.startswith(("ifeq", "ifneq", "ifdef", "ifndef")):
            depth += 1
        elif line.startswith("endif"):
            depth -= 1
        elif depth == 0:
            match = re.fullmatch(r"([\w-]+): export (\w+) :?= (.*)", line)
            if match:
                exports.setdefault(match[1], {})[match[2]] = match[3].strip()
    return exports


def test_each_action_adds_what_its_make_target_exports() -> None:
    exports = makefile_exports()

    assert exports["drift"] == {"LEVEL_ILERT_PREFLIGHT": "read-only"}  # the read-only key
    for action in ("up", "preview", "drift", "destroy"):
        assert MAKE_ENV[action] == exports.get(action, {}), action


def test_a_drift_run_gets_the_read_only_preflight_whatever_the_stack_env_says(
    tmp_path: Path,
) -> None:
    drift = StackRun(StackState("dev", "drift"), project_dir=tmp_path,
                     env={"LEVEL_ILERT_PREFLIGHT": "full", "A": "1"},
                     on_change=lambda _: None, lock=threading.Lock())
    up = _run(StackState("dev", "up"), tmp_path)

    assert drift._env == {"LEVEL_ILERT_PREFLIGHT": "read-only", "A": "1"}
    assert "LEVEL_ILERT_PREFLIGHT" not in up._env


PROVIDER_URN = "urn:pulumi:dev::level-ilert::pulumi:providers:pulumi-python::default"
COMPONENT_URN = ("urn:pulumi:dev::level-ilert::level-ilert:index:LevelIlertIntegration::acme")


def _typed(kind: str, op: str, urn: str, type_token: str) -> events.EngineEvent:
    metadata = {"op": op, "urn": urn, "type": type_token, "provider": ""}
    return _event(**{kind: {"metadata": metadata}})


def test_progress_counts_what_the_summary_counts(tmp_path: Path) -> None:
    """A component reports its outputs twice and the provider is a step: neither may make
    the progress say "delete 14" where the table says 13."""
    state = StackState("dev", "destroy")
    run = _run(state, tmp_path)
    steps = [
        (PROVIDER_URN, "pulumi:providers:pulumi-python"),
        (STACK_URN, "pulumi:pulumi:Stack"),
        (COMPONENT_URN, "level-ilert:index:LevelIlertIntegration"),
        (SOURCE_URN, "pulumi-python:dynamic/ilert:AlertSource"),
        (WEBHOOK_URN, "pulumi-python:dynamic/level:Webhook"),
    ]
    for urn, token in steps:
        run.on_event(_typed("resourcePreEvent", "delete", urn, token))
        run.on_event(_typed("resOutputsEvent", "delete", urn, token))
    for urn, token in steps[1:3]:  # the stack and the component report twice
        run.on_event(_typed("resOutputsEvent", "delete", urn, token))
    run.on_event(_event(summaryEvent={"maybeCorrupt": False, "durationSeconds": 1,
                                      "resourceChanges": {"delete": 4}, "PolicyPacks": {}}))

    assert state.finished == {"delete": 4}
    assert state.changes == {"delete": 4}


def test_objects_taken_over_show_as_adopted_not_created(tmp_path: Path) -> None:
    state = StackState("dev", "up")
    run = _run(state, tmp_path)
    note = (f"{ADOPTED_NOTE} an alert source named 'Level - Acme' of type LEVELIO in ilert "
            f"(id 7): it existed already, so it was taken over, not created.\n")

    for _ in range(2):
        run.on_event(_event(diagnosticEvent={"message": note, "color": "never",
                                             "severity": "info#err"}))
    run.on_event(_event(diagnosticEvent={"message": "level-ilert: something else\n",
                                         "color": "never", "severity": "info#err"}))
    run.on_event(_event(summaryEvent={"maybeCorrupt": False, "durationSeconds": 1,
                                      "resourceChanges": {"create": 3, "same": 1},
                                      "PolicyPacks": {}}))

    assert state.adopted == 2
    assert state.changes == {"adopt": 2, "create": 1}


def test_a_program_error_is_the_stacks_own_and_keeps_its_whole_text(tmp_path: Path) -> None:
    state = StackState("dev", "preview")
    run = _run(state, tmp_path)
    message = ("Preflight (pulumi preview) found what would stop `pulumi up` half-way; "
               "nothing was changed:\n- The Level API key is read-only: Level refused. Fix.\n")

    run.on_event(_event(diagnosticEvent={"message": message, "color": "never",
                                         "severity": "error", "urn": STACK_URN}))
    run._fail(run._explain(auto.CommandError(auto.CommandResult("", "", 255))))

    assert state.error == "The Level API key is read-only: Level refused."
    assert state.detail == message.strip()


def _main_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, action: str,
               names: tuple[str, ...], **fields: Any) -> tuple[int, str, dict[str, StackRun]]:
    targets = [stacks.target_for(name, tmp_path, {}) for name in names]
    monkeypatch.setattr(ops.fleet, "prepare_cli", lambda project_dir: tmp_path)
    monkeypatch.setattr(ops.fleet, "select",
                        lambda *_: stacks.Selection(targets, [], ["file:///state"]))
    ran: dict[str, StackRun] = {}

    def run(self: StackRun) -> StackState:
        ran[self.state.name] = self
        self.state.started = self.state.ended = 0.0
        return self.state

    monkeypatch.setattr(StackRun, "run", run)
    args = argparse.Namespace(action=action, project_dir=tmp_path, parallel=4, stacks=[],
                              json=False, yes=True, **fields)
    out = io.StringIO()
    code = ops.fleet.main(args, out, io.StringIO(), io.StringIO(), live=False)
    return code, out.getvalue(), ran


def test_sandbox_stacks_are_made_on_first_use_with_their_state_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make fleet-up STACKS="sandbox-a sandbox-b"` on a fresh clone, as `make up` does."""
    monkeypatch.setattr(ops.fleet, "refusals", lambda *_, **__: {})

    code, _, ran = _main_with(tmp_path, monkeypatch, "up", ("sandbox-a", "sandbox-b"))

    assert code == 0
    assert (tmp_path / ".pulumi-state").is_dir()
    assert {name: run._create for name, run in ran.items()} == {
        "sandbox-a": True, "sandbox-b": True}
    _, _, destroyed = _main_with(tmp_path, monkeypatch, "destroy", ("sandbox-a",))
    assert destroyed["sandbox-a"]._create is False  # nothing to make only to destroy it


def test_a_stack_refused_for_double_paging_is_not_run_and_its_message_follows_the_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    message = ("Two integrations of different stacks would page for the same Level alert "
               "(stacks sandbox-a and sandbox-b share a Level organisation):\n"
               "- Pulumi.sandbox-a.yaml level-ilert:integrations[0] ('sandbox-a/A') and "
               "Pulumi.sandbox-b.yaml level-ilert:integrations[0] ('sandbox-b/B') would both "
               "open an ilert alert for the same Level alert: both are org-wide. Either ...")
    monkeypatch.setattr(ops.fleet, "refusals", lambda *_, **__: {"sandbox-a": message})

    code, out, ran = _main_with(tmp_path, monkeypatch, "preview", ("sandbox-a", "sandbox-b"))

    assert code == 2
    assert sorted(ran) == ["sandbox-b"]
    row = next(line for line in out.splitlines() if line.startswith("sandbox-a "))
    assert row.split()[1] == "failed"
    assert row.endswith("would both open an ilert alert for the same Level alert: both are "
                        "org-wide.")
    assert f"\nsandbox-a: {message}\n" in out


def test_drift_and_destroy_do_not_check_routing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_: object, **__: object) -> dict[str, str]:
        raise AssertionError("routing checked")

    monkeypatch.setattr(ops.fleet, "refusals", refuse)

    assert _main_with(tmp_path, monkeypatch, "drift", ("sandbox-a",))[0] == 0
    assert _main_with(tmp_path, monkeypatch, "destroy", ("sandbox-a",))[0] == 0


def test_a_renamed_integration_is_a_note_of_its_stack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _stack_file(tmp_path, "sandbox-a", {"level-ilert:integrations": [
        {"name": "Level - Acme Inc", "escalationPolicy": "Default"}]})
    monkeypatch.setattr(ops.fleet, "refusals", lambda *_, **__: {})
    old_urn = SOURCE_URN.replace("::acme", "::level-acme")
    new_urn = SOURCE_URN.replace("::acme", "::level-acme-inc")
    steps = [
        events.StepEventMetadata.from_json({
            "op": "create", "urn": new_urn, "type": "", "provider": "",
            "new": {"type": "", "urn": new_urn, "custom": True, "delete": False, "id": "",
                    "parent": "", "protect": False, "retainOnDelete": False,
                    "inputs": {"name": "Level - Acme Inc"}, "outputs": {}, "provider": ""}}),
        events.StepEventMetadata.from_json({
            "op": "delete", "urn": old_urn, "type": "", "provider": "",
            "old": {"type": "", "urn": old_urn, "custom": True, "delete": False, "id": "7",
                    "parent": "", "protect": False, "retainOnDelete": False,
                    "inputs": {"name": "Level - Acme"}, "outputs": {}, "provider": ""}}),
    ]
    monkeypatch.setattr(StackRun, "steps", property(lambda self: steps))

    code, out, _ = _main_with(tmp_path, monkeypatch, "preview", ("sandbox-a",))

    assert code == 0
    assert ("sandbox-a: note: level-ilert:integrations[0] ('Level - Acme Inc', was "
            "'Level - Acme') will be replaced, not renamed") in out
    assert "    resourceName: level-acme\n" in out


def test_a_providers_config_change_is_no_drift_as_for_make_drift(tmp_path: Path) -> None:
    """A key set in the stack file (a read-only Level key for CI) updates the provider, which
    `pulumi preview --expect-no-changes` does not count: the fleet's drift must not either."""
    state = StackState("dev", "drift")
    run = _run(state, tmp_path)

    run.on_event(_typed("resourcePreEvent", "update", PROVIDER_URN,
                        "pulumi:providers:pulumi-python"))
    run.on_event(_event(summaryEvent={"maybeCorrupt": False, "durationSeconds": 1,
                                      "resourceChanges": {"same": 4}, "PolicyPacks": {}}))

    assert state.drift == []
    assert report.exit_code([state]) == report.EXIT_CLEAN
