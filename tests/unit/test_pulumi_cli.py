"""`make pulumi` (tools/pulumi_cli.py): which CLI runs, when it is built, and what a build leaves.

A fake `go` on PATH stands in for the Go toolchain: it writes a `pulumi` that reports the
version it was stamped with, so these tests check our build steps, not Go (tests/cli runs the
CLI that the real build makes).
"""

from __future__ import annotations

import json
import os
import re
import stat
import sys
from pathlib import Path

import pytest

from tools import pulumi_cli

ROOT = Path(__file__).resolve().parents[2]
PIN = pulumi_cli.pinned_version()


def version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def test_the_cli_is_at_least_the_python_sdk_it_runs() -> None:
    # Pulumi supports a CLI newer than the SDK of the program, not the reverse.
    assert version(PIN) >= version(pulumi_cli.sdk_pin())


@pytest.mark.parametrize("workflow", ["ci.yml", "drift.yml"])
def test_workflows_install_the_pinned_cli(workflow: str) -> None:
    text = (ROOT / ".github" / "workflows" / workflow).read_text(encoding="utf-8")
    versions = re.findall(r"pulumi-version:\s*\"?([^\s\"]+)", text)

    assert versions, f"{workflow} installs the CLI without pulumi-version"
    assert set(versions) == {PIN}


def fake_cli(directory: Path, reported: str) -> Path:
    """A `pulumi` that prints ``reported`` for `pulumi version`."""
    directory.mkdir(parents=True, exist_ok=True)
    cli = directory / "pulumi"
    cli.write_text(f"#!/bin/sh\necho v{reported}\n", encoding="utf-8")
    cli.chmod(0o755)
    return cli


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache and a PATH with nothing but the basics."""
    monkeypatch.setenv("LEVEL_ILERT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    return tmp_path


def test_a_newer_cli_on_path_is_used_and_an_older_one_is_not(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    newer = fake_cli(isolated / "newer", "9.0.0").parent
    older = fake_cli(isolated / "older", "3.100.0").parent

    monkeypatch.setenv("PATH", f"{newer}:/usr/bin:/bin")
    assert pulumi_cli.ensure() == newer

    monkeypatch.setenv("PATH", f"{older}:/usr/bin:/bin")
    assert pulumi_cli.pulumi_dir() == pulumi_cli.cache_dir(PIN)  # where the build goes


def test_without_a_cli_or_go_it_says_how_to_install(isolated: Path) -> None:
    with pytest.raises(pulumi_cli.CliError, match=rf"The Pulumi CLI v{PIN} \(or newer\)") as err:
        pulumi_cli.ensure()

    assert "Go is not installed" in str(err.value)
    assert f"--version {PIN}" in str(err.value)
    assert not pulumi_cli.cache_dir(PIN).exists()


FAKE_GO = r"""#!/usr/bin/env python3
import json, os, sys
args = sys.argv[1:]
with open(os.environ["FAKE_GO_LOG"], "a") as log:
    log.write(os.getcwd() + " " + " ".join(args) + "\n")
if os.environ.get("FAKE_GO_FAIL") and args[0] == "build":
    sys.stderr.write("go: module lookup disabled\n")
    sys.exit(1)
if args[0] == "build":
    out = args[args.index("-o") + 1]
    stamp = [a for a in args[args.index("-ldflags") + 1].split() if "Version=" in a]
    reported = stamp[0].split("=v")[1] if stamp else "0.0.0"
    with open(out, "w") as f:
        f.write("#!/bin/sh\necho v" + reported + "\n")
    os.chmod(out, 0o755)
elif args[:2] == ["mod", "download"]:
    print(json.dumps({"Dir": os.environ["FAKE_SDK_DIR"]}))
"""


@pytest.fixture
def fake_go(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A `go` that "builds" stub binaries and serves a fake sdk/v3 module with the scripts."""
    bin_dir = isolated / "gobin"
    bin_dir.mkdir()
    go = bin_dir / "go"
    go.write_text(FAKE_GO, encoding="utf-8")
    go.chmod(0o755)
    sdk = isolated / "sdk"
    for source in pulumi_cli.SCRIPTS:
        (sdk / source).parent.mkdir(parents=True, exist_ok=True)
        (sdk / source).write_text("#!/bin/sh\n", encoding="utf-8")  # stored without exec bit
    python_dir = Path(os.path.realpath(sys.executable)).parent  # for the fake go's shebang
    monkeypatch.setenv("PATH", f"{bin_dir}:{python_dir}:/usr/bin:/bin")
    monkeypatch.setenv("FAKE_SDK_DIR", str(sdk))
    monkeypatch.setenv("FAKE_GO_LOG", str(isolated / "go.log"))
    return isolated / "go.log"


def test_a_build_lands_complete_in_the_cache_keyed_by_version(
    fake_go: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = pulumi_cli.ensure()

    assert target == fake_go.parent / "cache" / "pulumi" / f"v{PIN}"
    assert sorted(p.name for p in target.iterdir()) == sorted(
        [*pulumi_cli.BINARIES, *pulumi_cli.SCRIPTS.values()]
    )
    for path in target.iterdir():
        assert path.stat().st_mode & stat.S_IXUSR, f"{path.name} is not executable"
    assert pulumi_cli.cli_version(target / "pulumi") == PIN
    builds = [line for line in fake_go.read_text().splitlines() if " build " in line]
    assert builds[0].startswith(str(pulumi_cli.CLI_MODULE))  # the CLI from its wrapper module
    assert builds[1].startswith(str(pulumi_cli.HOST_MODULE))  # the host from the other one
    progress = capsys.readouterr().err
    assert "[1/3] building the Pulumi CLI" in progress
    assert f"Pulumi CLI v{PIN} ready in" in progress

    calls_before = len(fake_go.read_text().splitlines())
    assert pulumi_cli.ensure() == target  # found again: no second build
    assert len(fake_go.read_text().splitlines()) == calls_before


def test_a_failed_build_leaves_nothing_half_made(
    fake_go: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_GO_FAIL", "1")

    with pytest.raises(pulumi_cli.CliError, match=r"go build .* failed:\ngo: module lookup"):
        pulumi_cli.ensure()

    assert not pulumi_cli.cache_dir(PIN).exists()
    assert [p.name for p in pulumi_cli.cache_dir(PIN).parent.iterdir()] == [".build.lock"]


def test_backend_is_the_current_login(tmp_path: Path) -> None:
    assert pulumi_cli.current_backend(tmp_path) is None
    (tmp_path / "credentials.json").write_text(json.dumps({"current": "s3://bucket"}))
    assert pulumi_cli.current_backend(tmp_path) == "s3://bucket"


def test_a_killed_builds_staging_folder_is_removed_by_the_next_build(fake_go: Path) -> None:
    stale = pulumi_cli.cache_dir(PIN).parent / f".v{PIN}-killed"
    (stale / "half").mkdir(parents=True)

    pulumi_cli.ensure()

    assert not stale.exists()
    assert pulumi_cli.is_complete(pulumi_cli.cache_dir(PIN), PIN)
