"""Proves the engine harness against the toy provider, through the SDK's real provider server.

Every test talks gRPC to ``python -u -m pulumi.dynamic`` exactly as the Pulumi engine would, so
what passes here is what ``pulumi up`` / ``preview`` / ``refresh`` / ``destroy`` will see.
"""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pulumi.output import Unknown
from pulumi.runtime import rpc
from pulumi.runtime import settings as pulumi_settings

from tests.engine.toy_provider import Thing, ToyProvider
from tools.engine_harness import (
    PROVIDER_KEY,
    UNKNOWN,
    ProviderError,
    ProviderServer,
    _settings_defaults,
    capture_registrations,
    dynamic_type,
    make_urn,
    provider_blob,
    serialize_provider_like_sdk,
)

pytestmark = pytest.mark.timeout(60)

TYPE = dynamic_type("toy", "Thing")
URN = make_urn(TYPE, "thing")


def _build_thing() -> Thing:
    return Thing("thing", label="first", color="red", size=3)


@pytest.fixture(scope="module")
def blob() -> str:
    """The ``__provider`` string a program constructing a Thing sends."""
    return provider_blob(_build_thing)


@pytest.fixture
def server() -> Iterator[ProviderServer]:
    """A running provider server, stopped even if the test fails."""
    srv = ProviderServer()
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def state_file(tmp_path: Path) -> Path:
    return tmp_path / "toy-state.json"


@pytest.fixture
def toy(server: ProviderServer, state_file: Path) -> ProviderServer:
    """The server after the engine's Configure with the toy's state file."""
    server.configure({"toy:stateFile": str(state_file)})
    return server


def _inputs(blob: str, **props: Any) -> dict[str, Any]:
    return {PROVIDER_KEY: blob, **props}


def _without_provider(props: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in props.items() if k != PROVIDER_KEY}


# -- handshake and Configure -----------------------------------------------------------------


def test_handshake_and_configure_answers_accept_secrets_false(
    server: ProviderServer, state_file: Path
) -> None:
    assert server.port is not None
    assert server.port > 0
    assert server.startup_seconds is not None
    assert server.startup_seconds < 15
    response = server.configure({"toy:stateFile": str(state_file), "toy:size": "3"})
    assert response.acceptSecrets is False
    assert response.supportsPreview is False
    assert server.accept_secrets is False
    assert server.returncode is None


# -- Check ------------------------------------------------------------------------------------


def test_check_passes_inputs_through_with_provider(toy: ProviderServer, blob: str) -> None:
    outcome = toy.check(URN, {}, _inputs(blob, label="first", color="red", size=3))
    assert outcome.failures == []
    assert outcome.inputs == {PROVIDER_KEY: blob, "label": "first", "color": "red", "size": 3.0}


def test_check_reports_failures(toy: ProviderServer, blob: str) -> None:
    outcome = toy.check(URN, {}, _inputs(blob, label="", size=-1))
    assert outcome.failures == [
        ("label", "label must not be empty"),
        ("size", "size must be a non-negative number"),
    ]


def test_unknown_input_reaches_provider_as_unknown(toy: ProviderServer, blob: str) -> None:
    """A preview's computed input arrives as ``pulumi.output.Unknown``, not as a string."""
    outcome = toy.check(URN, {}, _inputs(blob, label=UNKNOWN, color=UNKNOWN))
    assert outcome.failures == [("label", "label must be a string, got pulumi.output.Unknown")]
    assert isinstance(outcome.inputs["color"], Unknown)

    olds = {PROVIDER_KEY: blob, "label": "first", "color": "red"}
    diff = toy.diff(URN, "thing-1", olds, _inputs(blob, label="first", color=UNKNOWN))
    assert diff.changes == "DIFF_SOME"
    assert diff.replaces == []


# -- the resource lifecycle -------------------------------------------------------------------


def test_create_read_diff_drift_update_delete(
    toy: ProviderServer, blob: str, state_file: Path
) -> None:
    inputs = toy.check(URN, {}, _inputs(blob, label="first", color="red", size=3)).inputs
    id_, outputs = toy.create(URN, inputs)
    assert id_ == "thing-1"
    assert outputs == {**inputs, "tokenLength": 0.0}

    # refresh with nothing changed
    read_id, refreshed, read_inputs = toy.read(URN, id_, outputs, inputs)
    assert read_id == id_
    assert refreshed == outputs
    assert read_inputs == inputs
    assert toy.diff(URN, id_, refreshed, inputs).changes == "DIFF_NONE"

    # someone edits the thing outside Pulumi
    state = json.loads(state_file.read_text(encoding="utf-8"))
    state["things"][id_]["color"] = "blue"
    state_file.write_text(json.dumps(state), encoding="utf-8")

    _, drifted, drifted_inputs = toy.read(URN, id_, outputs, inputs)
    assert drifted["color"] == "blue"
    assert drifted_inputs is not None
    assert drifted_inputs["color"] == "blue"
    assert drifted_inputs[PROVIDER_KEY] == blob
    drift = toy.diff(URN, id_, drifted, inputs)
    assert drift.changes == "DIFF_SOME"
    assert drift.replaces == []

    # `pulumi up` puts the program's value back
    checked = toy.check(URN, drifted_inputs, inputs).inputs
    updated = toy.update(URN, id_, drifted, checked, old_inputs=drifted_inputs)
    assert updated["color"] == "red"
    assert updated[PROVIDER_KEY] == blob
    assert json.loads(state_file.read_text(encoding="utf-8"))["things"][id_]["color"] == "red"

    # a label change means replacement, delete first
    replace = toy.diff(URN, id_, updated, {**checked, "label": "second"})
    assert (replace.changes, replace.replaces, replace.delete_before_replace) == (
        "DIFF_SOME",
        ["label"],
        True,
    )

    toy.delete(URN, id_, updated, old_inputs=checked)
    gone_id, gone_outputs, gone_inputs = toy.read(URN, id_, updated, checked)
    assert gone_id == ""
    assert gone_outputs == {PROVIDER_KEY: blob}
    assert gone_inputs is None


def test_read_result_without_inputs_sends_no_inputs(
    server: ProviderServer, blob: str, state_file: Path
) -> None:
    server.configure({"toy:stateFile": str(state_file), "toy:readReturnsInputs": "false"})
    inputs = _inputs(blob, label="first")
    id_, outputs = server.create(URN, inputs)
    read_id, _, read_inputs = server.read(URN, id_, outputs, inputs)
    assert read_id == id_
    assert read_inputs is None


def test_read_with_inputs_only_falls_back_to_inputs(toy: ProviderServer, blob: str) -> None:
    """Static ``get`` sends no properties; SDK 3.272 falls back to the inputs' ``__provider``."""
    inputs = _inputs(blob, label="first")
    id_, outputs = toy.create(URN, inputs)
    assert toy.read(URN, id_, None, inputs)[1] == outputs


def test_read_with_id_only_fails_like_import(toy: ProviderServer) -> None:
    """``pulumi import`` sends only the id: the server cannot find the provider."""
    with pytest.raises(ProviderError, match="KeyError: '__provider'") as caught:
        toy.read(URN, "thing-1", None, None)
    assert caught.value.code.name == "UNKNOWN"
    assert "KeyError: '__provider'" in caught.value.details


# -- errors, secrets, logs, configure caching --------------------------------------------------


def test_provider_exception_surfaces_as_grpc_error(toy: ProviderServer, blob: str) -> None:
    with pytest.raises(ProviderError, match="refusing to create a thing labelled 'boom'") as caught:
        toy.create(URN, _inputs(blob, label="boom"))
    err = caught.value
    assert err.method == "Create"
    assert err.code.name == "UNKNOWN"
    assert "RuntimeError: toy: refusing to create a thing labelled 'boom'" in err.details
    assert "Traceback (most recent call last)" in err.details


def test_secret_config_arrives_unwrapped_and_is_not_logged(
    server: ProviderServer, blob: str, state_file: Path
) -> None:
    token = "s3cr3t-t0ken-value"
    server.configure(
        {"toy:stateFile": str(state_file), "toy:token": token}, secret_keys=["toy:token"]
    )
    id_, outputs = server.create(URN, _inputs(blob, label="first"))
    assert outputs["tokenLength"] == len(token)
    server.delete(URN, id_, outputs)
    assert server.wait_for_log(f"toy: created {id_}")
    server.stop()  # drain the pipes to EOF before asserting an absence
    assert f"toy: deleted {id_}" in server.logs
    assert token not in server.logs


def test_provider_is_configured_once_per_blob(
    server: ProviderServer, blob: str, tmp_path: Path
) -> None:
    """A second Configure does not reach an already deserialized provider (#14491 cache)."""
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    server.configure({"toy:stateFile": str(first)})
    server.check(URN, {}, _inputs(blob, label="first"))
    server.configure({"toy:stateFile": str(second)})
    server.create(URN, _inputs(blob, label="first"))
    assert first.exists()
    assert not second.exists()


# -- the __provider blob ----------------------------------------------------------------------


def test_blob_is_pickled_by_reference(blob: str) -> None:
    raw = base64.b64decode(blob)
    assert len(blob) < 500
    assert b"tests.engine.toy_provider" in raw
    assert b"ToyProvider" in raw
    assert blob == serialize_provider_like_sdk(ToyProvider())


def test_registration_carries_type_and_secret_provider() -> None:
    (registration,) = capture_registrations(_build_thing)
    assert registration.typ == TYPE
    assert registration.name == "thing"
    assert registration.urn == URN
    assert rpc.is_rpc_secret(registration.inputs[PROVIDER_KEY])
    plain = registration.plain_inputs
    assert isinstance(plain[PROVIDER_KEY], str)
    assert _without_provider(plain) == {"label": "first", "color": "red", "size": 3}


def test_provider_blob_leaves_no_mock_settings_behind() -> None:
    settings = pulumi_settings.SETTINGS
    before = (
        settings.monitor,
        settings.engine,
        settings.project,
        settings.stack,
        pulumi_settings.ROOT.get(),
        _settings_defaults(),
    )
    provider_blob(_build_thing, project="other-project", stack="other-stack")
    after = (
        settings.monitor,
        settings.engine,
        settings.project,
        settings.stack,
        pulumi_settings.ROOT.get(),
        _settings_defaults(),
    )
    assert after == before


def test_build_errors_propagate() -> None:
    def broken() -> None:
        raise ValueError("no such thing")

    with pytest.raises(ValueError, match="no such thing"):
        provider_blob(broken)
    with pytest.raises(LookupError, match="registered no dynamic resource"):
        provider_blob(lambda: None)


# -- server start failures ----------------------------------------------------------------------


def _shadow_pulumi(project_dir: Path, main_source: str) -> None:
    """Put a fake ``pulumi.dynamic`` in ``project_dir``: ``-m`` imports from the cwd first."""
    package = project_dir / "pulumi" / "dynamic"
    package.mkdir(parents=True)
    (project_dir / "pulumi" / "__init__.py").write_text("", encoding="utf-8")
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "__main__.py").write_text(main_source, encoding="utf-8")


def test_start_failure_reports_stderr(tmp_path: Path) -> None:
    _shadow_pulumi(tmp_path, "raise SystemExit('provider server broken on purpose')\n")
    server = ProviderServer(tmp_path, python=sys.executable)
    with pytest.raises(RuntimeError, match="broken on purpose"):
        server.start()
    assert server.returncode is not None


def test_start_times_out_without_handshake(tmp_path: Path) -> None:
    stall = "import sys, time\nprint('thinking...', file=sys.stderr, flush=True)\ntime.sleep(60)\n"
    _shadow_pulumi(tmp_path, stall)
    server = ProviderServer(tmp_path, python=sys.executable, startup_timeout=1.0)
    with pytest.raises(RuntimeError, match=r"(?s)no port within.*thinking"):
        server.start()
    assert server.returncode is not None
