"""providers/engine_adapter in-process: the SDK's provider server, adapted, answering the engine.

tests/engine/test_engine_adapter.py drives the same server in a child process (and pins the
SDK's shape); mutation testing cannot see into that child. Here the SDK's own server module
(``pulumi/dynamic/__main__.py`` minus its blocking ``main()``) runs in the test process as the
``__main__`` of a provider process, its servicer receives the protobuf requests the engine
sends, with a provider pickled as the SDK pickles it, and the tests read what the engine
receives: the ``DiffResponse`` (detailed diff, kinds, replaces, stables), the outputs, and
the text of a failure (``context.abort``'s details, which the CLI prints to the user).
"""

from __future__ import annotations

import ast
import contextvars
import importlib.util
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import CodeType, ModuleType
from typing import Any

import pytest
from pulumi import dynamic
from pulumi._utils import ContextProperty
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.proto import provider_pb2

from providers import engine_adapter
from providers.engine_adapter import BUG_NOTE, KnownFailure, detailed_diff
from providers.pickling import sdk_pickler_restored
from providers.provider_base import ConfiguredProvider
from tools.engine_harness import PROVIDER_KEY, from_struct, serialize_provider_like_sdk, to_struct

SERVER_SPEC = importlib.util.find_spec(engine_adapter.SERVER_MODULE)
KNOWN_MESSAGE = (
    "level:apiKey was refused by Level (HTTP 401). Check the credential: pulumi config set "
    "--secret level:apiKey <key>."
)
URN = "urn:pulumi:test::level-ilert::pulumi-python:dynamic/scripted:Scripted::one"
HANDLING = "During handling of the above exception, another exception occurred:"


class ScriptedFailure(KnownFailure):
    """The known failure the scripted provider raises (as ours do for a refused credential)."""


class ScriptedProvider(ConfiguredProvider):
    """Creates, fails on purpose or breaks as ``behaviour`` says; diffs name what changed.

    ``region`` forces a replacement; ``key`` is an output that an in-place update keeps.
    """

    def create(self, props: dict[str, Any]) -> dynamic.CreateResult:
        behaviour = props.get("behaviour")
        if behaviour == "known":
            raise ScriptedFailure(KNOWN_MESSAGE)
        if behaviour == "bug":
            planted: dict[str, str] = {}
            try:
                return dynamic.CreateResult(planted["no such key"], {})  # a planted bug
            except KeyError:
                return dynamic.CreateResult(str(int("not a number")), {})  # and a second one
        return dynamic.CreateResult("one-1", {**props, "key": "k-1"})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.DiffResult:
        inputs = (set(olds) | set(news)) - {PROVIDER_KEY, "key"}
        changed = sorted(name for name in inputs if olds.get(name) != news.get(name))
        return detailed_diff(olds, news, changed, replaces=["region"], stables=["key"])


class Aborted(Exception):
    """What grpc's ``context.abort`` raises; the details are what the user reads."""

    def __init__(self, details: str) -> None:
        super().__init__(details)
        self.details = details


class EngineCallContext:
    """The part of grpc's ServicerContext the dynamic provider server uses."""

    def abort(self, _code: object, details: str) -> None:
        raise Aborted(details)


def _server_code() -> CodeType:
    source = Path(SERVER_SPEC.origin if SERVER_SPEC and SERVER_SPEC.origin else "")
    tree = ast.parse(source.read_text(encoding="utf-8"))
    last = tree.body[-1]
    assert isinstance(last, ast.Expr) and ast.unparse(last) == "main()", "server shape changed"
    tree.body.pop()
    return compile(tree, str(source), "exec")


SERVER_CODE = _server_code()


def fresh_server() -> ModuleType:
    """The SDK's server module as ``python -m pulumi.dynamic`` has it: not adapted, no cache."""
    module = ModuleType(engine_adapter.SERVER_MODULE)
    module.__spec__ = SERVER_SPEC
    exec(SERVER_CODE, module.__dict__)  # noqa: S102 (the SDK's own file)
    return module


@pytest.fixture(autouse=True)
def pulumi_settings_restored() -> Iterator[None]:
    """The server calls ``pulumi.runtime.configure`` on every request; its settings are
    context variables whose global fallbacks the first set overwrites: put them back."""
    defaults = {
        name: getattr(prop, "_ContextProperty__default", None)
        for name, prop in vars(pulumi_settings.Settings).items()
        if isinstance(prop, ContextProperty)
    }
    try:
        yield
    finally:
        for name, default in defaults.items():
            vars(pulumi_settings.Settings)[name]._ContextProperty__default = default


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """A provider process: the SDK's server module is its ``__main__``."""
    module = fresh_server()
    monkeypatch.setitem(sys.modules, "__main__", module)
    return module


@pytest.fixture(scope="module")
def blob() -> str:
    with sdk_pickler_restored():
        return serialize_provider_like_sdk(ScriptedProvider())


def call(server: ModuleType, method: str, request: object) -> Any:
    """One engine RPC on a configured servicer, in its own context (as a grpc worker has)."""
    servicer = server.DynamicResourceProviderServicer()
    servicer.Configure(provider_pb2.ConfigureRequest(args=to_struct({})), EngineCallContext())
    return contextvars.copy_context().run(getattr(servicer, method), request, EngineCallContext())


def diff(server: ModuleType, olds: Mapping[str, Any], news: Mapping[str, Any]) -> Any:
    request = provider_pb2.DiffRequest(
        id="one-1", urn=URN, olds=to_struct(olds), news=to_struct(news)
    )
    return call(server, "Diff", request)


def create_failure(server: ModuleType, blob: str, behaviour: str) -> str:
    request = provider_pb2.CreateRequest(
        urn=URN, properties=to_struct({PROVIDER_KEY: blob, "behaviour": behaviour})
    )
    try:
        call(server, "Create", request)
    except Aborted as failure:
        return failure.details
    pytest.fail(f"a create with behaviour {behaviour!r} succeeded")


def kinds(response: Any) -> dict[str, str]:
    assert all(not entry.inputDiff for entry in response.detailedDiff.values())
    return {
        name: provider_pb2.PropertyDiff.Kind.Name(entry.kind)
        for name, entry in response.detailedDiff.items()
    }


def test_configure_adapts_the_server_so_a_diff_names_exactly_what_changed_and_what_stays(
    server: ModuleType, blob: str
) -> None:
    olds = {PROVIDER_KEY: blob, "behaviour": "ok", "region": "eu", "note": "n", "key": "k-1"}

    update = diff(server, olds, {PROVIDER_KEY: blob, "behaviour": "other", "region": "eu"})
    same = diff(server, olds, {PROVIDER_KEY: blob, "behaviour": "ok", "region": "eu", "note": "n"})
    added = diff(server, {**olds, "note": None}, {**olds, "note": "new"})
    replace = diff(server, olds, {**olds, "region": "us"})

    assert update.changes == provider_pb2.DiffResponse.DIFF_SOME and update.hasDetailedDiff
    assert kinds(update) == {"behaviour": "UPDATE", "note": "DELETE"}
    assert list(update.diffs) == ["behaviour", "note"]
    assert list(update.stables) == ["key"] and list(update.replaces) == []
    assert same.changes == provider_pb2.DiffResponse.DIFF_NONE and same.hasDetailedDiff
    assert (kinds(same), list(same.diffs), list(same.stables)) == ({}, [], ["key"])
    assert kinds(added) == {"note": "ADD"}
    assert kinds(replace) == {"region": "UPDATE_REPLACE"} and list(replace.replaces) == ["region"]
    assert list(replace.stables) == []  # a replacement makes new outputs: nothing is stable


def test_outside_the_provider_server_nothing_is_adapted(blob: str) -> None:
    module = fresh_server()  # loaded, but the process's __main__ is pytest, not this server
    olds = {PROVIDER_KEY: blob, "behaviour": "ok", "key": "k-1"}

    response = diff(module, olds, {PROVIDER_KEY: blob, "behaviour": "other"})

    assert engine_adapter.server_module() is None
    assert engine_adapter.install() is False
    assert response.changes == provider_pb2.DiffResponse.DIFF_SOME
    assert not response.hasDetailedDiff and list(response.diffs) == []  # the SDK's own answer


def test_a_process_without_a_main_module_is_no_provider_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delitem(sys.modules, "__main__")

    assert engine_adapter.server_module() is None
    assert engine_adapter.install() is False


def test_a_create_through_the_adapted_server_returns_the_provider_outputs(
    server: ModuleType, blob: str
) -> None:
    request = provider_pb2.CreateRequest(
        urn=URN, properties=to_struct({PROVIDER_KEY: blob, "behaviour": "ok"})
    )

    response = call(server, "Create", request)

    assert response.id == "one-1"
    assert from_struct(response.properties) == {PROVIDER_KEY: blob, "behaviour": "ok", "key": "k-1"}


def test_a_known_failure_reaches_the_user_as_its_message_alone(
    server: ModuleType, blob: str
) -> None:
    assert create_failure(server, blob, "known") == KNOWN_MESSAGE


def test_a_bug_keeps_its_whole_traceback_and_its_cause_and_says_it_is_a_bug(
    server: ModuleType, blob: str
) -> None:
    details = create_failure(server, blob, "bug")

    cause, _, bug = details.partition(HANDLING)
    assert cause.startswith("Traceback (most recent call last):")
    assert "KeyError: 'no such key'" in cause
    assert f'{Path(__file__).name}", line' in bug and "in create" in bug  # every frame, not one
    assert details.endswith(
        "ValueError: invalid literal for int() with base 10: 'not a number'\n\n" + BUG_NOTE
    )


@pytest.mark.parametrize(
    "missing", ["_abort_with_traceback", "traceback", "proto", "DynamicResourceProviderServicer"]
)
def test_a_server_of_another_shape_is_left_as_it_is(missing: str) -> None:
    module = fresh_server()
    changed = ModuleType("changed_server")
    vars(changed).update({k: v for k, v in vars(module).items() if k != missing})
    before = dict(vars(changed))

    assert engine_adapter.fits(module) is True
    assert engine_adapter.fits(changed) is False
    assert engine_adapter.install(changed) is False
    assert vars(changed) == before


def test_install_adapts_the_server_module_it_is_given(blob: str) -> None:
    module = fresh_server()  # not this process's __main__ (as in tests/engine)

    assert engine_adapter.install(module) is True
    assert create_failure(module, blob, "known") == KNOWN_MESSAGE


def test_install_adapts_a_server_once(server: ModuleType, blob: str) -> None:
    assert engine_adapter.server_module() is server
    assert engine_adapter.install() is True
    adapted = (server.proto, server.traceback)

    assert engine_adapter.install(server) is True
    assert (server.proto, server.traceback) == adapted
    assert create_failure(server, blob, "known") == KNOWN_MESSAGE
