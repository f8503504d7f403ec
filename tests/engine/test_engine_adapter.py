"""providers/engine_adapter through the SDK's real provider server: what the engine receives.

Two guarantees, each of which an SDK upgrade could break silently, so this file is the
pin-bump check (README, Development): a known failure reaches the engine as its message alone
while a bug keeps its traceback and says it is a bug, and a diff names exactly the properties
that changed. The first tests read the server module's source: they fail first, and say
which assumption broke, when a new SDK changes the shape the adapter relies on.
"""

from __future__ import annotations

import ast
import importlib.util
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from providers import engine_adapter
from tests.engine.probe_provider import KNOWN_MESSAGE, Probe
from tools.engine_harness import (
    PROVIDER_KEY,
    ProviderError,
    ProviderServer,
    dynamic_type,
    make_urn,
    provider_blob,
)

pytestmark = pytest.mark.timeout(60)

URN = make_urn(dynamic_type("probe", "Probe"), "probe")
SERVER_SOURCE = Path(importlib.util.find_spec("pulumi.dynamic.__main__").origin or "")  # type: ignore[union-attr]


def server_tree() -> ast.Module:
    return ast.parse(SERVER_SOURCE.read_text(encoding="utf-8"))


def server_module_without_main() -> ModuleType:
    """The server module as it runs, minus its last statement (the blocking ``main()``)."""
    tree = server_tree()
    last = tree.body[-1]
    assert isinstance(last, ast.Expr), "the server no longer ends with main()"
    assert ast.unparse(last) == "main()", "the server no longer ends with main()"
    tree.body.pop()
    module = ModuleType("probe_server")
    exec(compile(tree, str(SERVER_SOURCE), "exec"), module.__dict__)  # noqa: S102 (the SDK's own file)
    return module


def test_the_server_still_formats_every_failure_with_the_module_global_traceback() -> None:
    wrapper = next(
        node for node in ast.walk(server_tree())
        if isinstance(node, ast.FunctionDef) and node.name == "_abort_with_traceback"
    )
    assert "traceback.format_exc()" in ast.unparse(wrapper), ast.unparse(wrapper)


def test_the_server_still_passes_replaces_on_as_is_and_builds_diffs_through_proto() -> None:
    diff = next(
        node for node in ast.walk(server_tree())
        if isinstance(node, ast.FunctionDef) and node.name == "Diff"
    )
    text = ast.unparse(diff)
    assert "fields['replaces'] = result.replaces" in text, text
    assert "return proto.DiffResponse(**fields)" in text, text


def test_install_adapts_a_module_of_that_shape_once_and_refuses_any_other() -> None:
    module = server_module_without_main()
    original_proto = module.proto

    assert engine_adapter.fits(module)
    assert engine_adapter.install(module) is True
    assert engine_adapter.install(module) is True  # idempotent: no wrapper around a wrapper
    assert module.proto.DiffResponse.DIFF_SOME == original_proto.DiffResponse.DIFF_SOME
    assert type(module.proto.__dict__["DiffResponse"]).__name__ == "_DiffResponseWithDetails"
    assert engine_adapter.install(ModuleType("something_else")) is False
    assert engine_adapter.install() is False  # pytest's __main__ is not the provider server


@pytest.fixture(scope="module")
def blob() -> str:
    return provider_blob(lambda: Probe("probe", behaviour="ok"))


@pytest.fixture
def server() -> Iterator[ProviderServer]:
    with ProviderServer() as running:
        running.configure({})
        yield running


def test_a_known_failure_reaches_the_engine_as_its_message_alone(
    server: ProviderServer, blob: str
) -> None:
    with pytest.raises(ProviderError, match="refused by Level") as failure:
        server.create(URN, {PROVIDER_KEY: blob, "behaviour": "known"})

    assert failure.value.details == KNOWN_MESSAGE
    assert "Traceback" not in failure.value.details
    assert 'File "' not in failure.value.details


def test_a_bug_keeps_its_traceback_and_says_it_is_a_bug(server: ProviderServer, blob: str) -> None:
    with pytest.raises(ProviderError, match="KeyError") as failure:
        server.create(URN, {PROVIDER_KEY: blob, "behaviour": "bug"})

    details = failure.value.details
    assert details.startswith("Traceback (most recent call last):")
    assert "KeyError: 'no such key'" in details
    assert 'probe_provider.py", line' in details
    assert details.endswith(engine_adapter.BUG_NOTE)


def test_a_diff_names_exactly_the_changed_properties_and_the_stable_ones(
    server: ProviderServer, blob: str
) -> None:
    olds = {PROVIDER_KEY: blob, "behaviour": "ok", "key": "k-1"}

    update = server.diff(URN, "probe-1", olds, {PROVIDER_KEY: blob, "behaviour": "other"})
    same = server.diff(URN, "probe-1", olds, {PROVIDER_KEY: blob, "behaviour": "ok"})
    replace = server.diff(URN, "probe-1", olds, {PROVIDER_KEY: blob, "behaviour": "replace"})

    assert (update.changes, update.diffs) == ("DIFF_SOME", ["behaviour"])
    assert update.detailed == {"behaviour": "UPDATE"}
    assert update.stables == ["key"] and update.replaces == []
    assert (same.changes, same.detailed, same.diffs) == ("DIFF_NONE", {}, [])
    assert replace.detailed == {"behaviour": "UPDATE_REPLACE"}
    assert replace.replaces == ["behaviour"]
    assert replace.stables == []  # a replacement makes new outputs: nothing is stable
