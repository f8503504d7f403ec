"""``make discover`` for a second stack on the same accounts: a ``sandbox*`` stack without a
file reads the sandbox, and objects another stack of the project manages on the backend are
left out and named "managed by stack X" (ops/managed.py), never proposed for adoption.
Through the real CLI and make: tests/cli/test_first_hour.py."""

from __future__ import annotations

import io
import json
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from ops import discover as discover_module
from ops.discover import DiscoverError, Options, discover, run
from ops.discover_read import Live, ReadSettings, read_live
from ops.managed import Managed, Owner, managed_elsewhere
from sandbox import ILERT_TOKEN, LEVEL_API_KEY, Sandbox
from tests.handmade import Handmade, seed


@pytest.fixture(scope="module")
def handmade() -> Iterator[tuple[Sandbox, Handmade]]:
    with Sandbox() as sandbox:
        yield sandbox, seed(sandbox)


def _nobody(*_: object, **__: object) -> Managed:
    return Managed()


def test_a_sandbox_stack_without_a_file_reads_the_sandbox(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: level-ilert\nruntime: python\n")
    asked: list[ReadSettings] = []

    def read(settings: ReadSettings) -> Live:
        asked.append(settings)
        raise DiscoverError("read")

    def managed(*_: object, **__: object) -> Managed:
        raise AssertionError("read first")

    with pytest.raises(DiscoverError, match=r"^read$"):
        discover(Options("sandbox-x", tmp_path), {}, read=read, managed=managed)

    settings = asked[0]
    assert (settings.ilert.base_url, settings.ilert.credential) == (
        "http://127.0.0.1:8790", ILERT_TOKEN)
    assert settings.level is not None
    assert (settings.level.base_url, settings.level.credential) == (
        "http://127.0.0.1:8791", LEVEL_API_KEY)
    # A sandbox on other ports, named in the environment: the environment says the rest too.
    with pytest.raises(DiscoverError, match=r"^read$"):
        discover(Options("sandbox-x", tmp_path), {"ILERT_BASE_URL": "http://127.0.0.1:28790",
                                                  "ILERT_API_TOKEN": "t2"},
                 read=read, managed=managed)
    assert (asked[-1].ilert.base_url, asked[-1].ilert.credential) == (
        "http://127.0.0.1:28790", "t2")
    assert asked[-1].level is not None and asked[-1].level.credential == LEVEL_API_KEY
    with pytest.raises(DiscoverError, match="ILERT_API_TOKEN"):
        discover(Options("sandbox-x", tmp_path), {"ILERT_BASE_URL": "http://127.0.0.1:28790"},
                 read=read, managed=managed)
    # The other stacks are looked for on the sandbox stacks' backend unless make names one.
    assert discover_module._backend_env(Options("sandbox-x", tmp_path), {})[
        "PULUMI_BACKEND_URL"] == f"file://{tmp_path.resolve()}/.pulumi-state"
    assert discover_module._backend_env(Options("sandbox-x", tmp_path), {
        "PULUMI_BACKEND_URL": "s3://b"})["PULUMI_BACKEND_URL"] == "s3://b"
    assert "PULUMI_BACKEND_URL" not in discover_module._backend_env(Options("prod", tmp_path), {})
    # Any other stack without a file reads the environment: none here, so it says so.
    with pytest.raises(DiscoverError, match="ilert:apiToken"):
        discover(Options("prod", tmp_path), {}, read=read, managed=managed)


def test_objects_another_stack_manages_are_left_out_and_named(
    tmp_path: Path, handmade: tuple[Sandbox, Handmade], monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox, made = handmade
    (tmp_path / "Pulumi.yaml").write_text("name: level-ilert\nruntime: python\n")
    env = {"ILERT_BASE_URL": sandbox.ilert_url, "LEVEL_BASE_URL": sandbox.level_url,
           "ILERT_API_TOKEN": ILERT_TOKEN, "LEVEL_API_KEY": LEVEL_API_KEY}
    vandelay = str(made.sources["one-event"])
    hook = made.webhooks["one-event"][0]
    found = Managed(sources={vandelay: Owner("sandbox", "Level - Vandelay")},
                    webhooks={hook: Owner("sandbox", "level-vandelay")}, stacks=("sandbox",))
    monkeypatch.setattr(discover_module, "managed_elsewhere", lambda *_, **__: found)
    out, err = io.StringIO(), io.StringIO()

    code = run(Options("sandbox-mine", tmp_path), out, err, env)

    assert code == 0, err.getvalue()
    written = yaml.safe_load((tmp_path / "Pulumi.sandbox-mine.yaml").read_text())
    names = [entry["name"] for entry in written["config"]["level-ilert:integrations"]]
    assert "Level - Vandelay" not in names and len(names) == 10
    assert (f"managed by stack sandbox (left out, not taken over): 'Level - Vandelay' (alert "
            f"source {vandelay}), 1 webhook(s) to those sources\n") in out.getvalue()
    assert "Level - Vandelay" not in (tmp_path / "Pulumi.sandbox-mine.yaml").read_text()

    document = io.StringIO()
    run(Options("sandbox-mine", tmp_path, print_only=True, json=True), document, io.StringIO(), env)
    assert json.loads(document.getvalue())["managedElsewhere"] == [
        {"stack": "sandbox", "kind": "alert source", "name": "Level - Vandelay", "id": vandelay},
        {"stack": "sandbox", "kind": "webhook", "name": None, "id": hook},
    ]


def test_when_every_object_is_another_stacks_nothing_is_written_and_it_says_why(
    tmp_path: Path, handmade: tuple[Sandbox, Handmade]
) -> None:
    sandbox, _ = handmade
    (tmp_path / "Pulumi.yaml").write_text("name: level-ilert\nruntime: python\n")
    env = {"ILERT_BASE_URL": sandbox.ilert_url, "LEVEL_BASE_URL": sandbox.level_url,
           "ILERT_API_TOKEN": ILERT_TOKEN, "LEVEL_API_KEY": LEVEL_API_KEY}
    live = read_live(discover_module.read_settings(lambda _: None, env, level=True,
                                                   stack="sandbox-mine"))
    everything = Managed(sources={str(s.id): Owner("sandbox", s.name) for s in live.sources})
    out, err = io.StringIO(), io.StringIO()

    result = discover(Options("sandbox-mine", tmp_path), env, managed=lambda *_, **__: everything)
    discover_module.summary_text(Options("sandbox-mine", tmp_path), result, out)

    assert result.plan.entries == [] and result.written is None
    assert f"read (GETs only): {len(live.sources)} Level.io alert sources" in out.getvalue()
    assert out.getvalue().count("managed by stack sandbox") == 1
    del err


def test_when_other_stacks_cannot_be_read_the_summary_says_it_did_not_check(
    tmp_path: Path, handmade: tuple[Sandbox, Handmade]
) -> None:
    sandbox, _ = handmade
    (tmp_path / "Pulumi.yaml").write_text("name: level-ilert\nruntime: python\n")
    env = {"ILERT_BASE_URL": sandbox.ilert_url, "LEVEL_BASE_URL": sandbox.level_url,
           "ILERT_API_TOKEN": ILERT_TOKEN, "LEVEL_API_KEY": LEVEL_API_KEY}
    (tmp_path / ".pulumi-state").mkdir()  # a backend with stacks, and no CLI to ask it
    out = io.StringIO()

    assert run(Options("sandbox-mine", tmp_path, print_only=True), io.StringIO(), out,
               {**env, "PATH": str(tmp_path / "no-cli")}) == 0

    assert ("NOT CHECKED: which objects other stacks of this project manage (the Pulumi CLI is "
            "not on PATH") in out.getvalue()


# -- reading the other stacks through the CLI ---------------------------------------------------


def _export(*resources: tuple[str, str, str]) -> str:
    return json.dumps({"version": 3, "deployment": {"resources": [
        {"urn": f"urn:pulumi:s::level-ilert::x::{name}", "type": kind, "id": ident,
         "inputs": {"name": name}}
        for kind, ident, name in resources
    ]}})


class FakeCli:
    """``pulumi`` as the backend answers: ``stack ls --json`` and ``stack export``."""

    def __init__(self, listed: list[dict[str, Any]], exports: dict[str, str]) -> None:
        self.listed, self.exports = listed, exports
        self.calls: list[Sequence[str]] = []

    def __call__(self, args: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        self.calls.append(args[1:])
        if args[1:3] == ["stack", "ls"]:
            return subprocess.CompletedProcess(args, 0, json.dumps(self.listed), "")
        stack = args[args.index("--stack") + 1]
        if stack not in self.exports:
            return subprocess.CompletedProcess(args, 255, "", "error: no stack named x\n")
        return subprocess.CompletedProcess(args, 0, self.exports[stack], "")


def test_the_other_stacks_objects_are_read_from_their_state(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.elsewhere.yaml").write_text(
        yaml.safe_dump({"config": {"ilert:baseUrl": "https://ilert.other.example"}}))
    cli = FakeCli(
        [{"name": "mine", "resourceCount": 3}, {"name": "sandbox", "resourceCount": 11},
         {"name": "emptied", "resourceCount": 0}, {"name": "elsewhere", "resourceCount": 4}],
        {"sandbox": _export(
            ("pulumi:pulumi:Stack", "", "level-ilert-sandbox"),
            ("pulumi-python:dynamic/ilert:AlertSource", "100002", "Level - Acme Corp"),
            ("pulumi-python:dynamic/level:Webhook", "Z2lk", "level-acme-corp"),
        )},
    )

    found = managed_elsewhere("mine", tmp_path, {"PULUMI_BACKEND_URL": f"file://{tmp_path}"},
                              ilert_base_url="http://127.0.0.1:8790",
                              level_base_url="http://127.0.0.1:8791",
                              which=lambda *_, **__: "/bin/pulumi", run=cli)

    assert found.problem is None
    assert found.stacks == ("sandbox",)
    assert found.sources == {"100002": Owner("sandbox", "Level - Acme Corp")}
    assert found.webhooks == {"Z2lk": Owner("sandbox", "level-acme-corp")}
    assert [call[:2] for call in cli.calls] == [["stack", "ls"], ["stack", "export"]]


def test_what_keeps_the_other_stacks_from_being_read_is_said(tmp_path: Path) -> None:
    url = "http://127.0.0.1:8790"
    backend = {"PULUMI_BACKEND_URL": f"file://{tmp_path}"}

    assert "PULUMI_BACKEND_URL is not set" in str(managed_elsewhere(
        "mine", tmp_path, {}, ilert_base_url=url, level_base_url=None).problem)
    assert managed_elsewhere("mine", tmp_path, {"PULUMI_BACKEND_URL": f"file://{tmp_path}/no"},
                             ilert_base_url=url, level_base_url=None) == Managed()
    assert "the Pulumi CLI is not on PATH" in str(managed_elsewhere(
        "mine", tmp_path, backend, ilert_base_url=url, level_base_url=None,
        which=lambda *_, **__: None).problem)
    broken = FakeCli([{"name": "gone", "resourceCount": 1}], {})
    assert "`pulumi stack export` failed: error: no stack named x" in str(managed_elsewhere(
        "mine", tmp_path, backend, ilert_base_url=url, level_base_url=None,
        which=lambda *_, **__: "/bin/pulumi", run=broken).problem)
