"""Where the OpenAPI referee's spec comes from (tests/ilert_openapi.py): pinned by its SHA-256
in one place for the tests and one for `make ilert-openapi` (equal), fetched by CI before
`make test`, and a run without it says why."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests import ilert_openapi

ROOT = Path(__file__).resolve().parents[2]
MAKE = shutil.which("make")
CURL = shutil.which("curl")


def _makefile_value(name: str) -> str:
    match = re.search(rf"^{name} := (\S+)$", (ROOT / "Makefile").read_text(), re.M)
    assert match, name
    return match[1]


def test_the_makefile_and_the_tests_pin_the_same_file() -> None:
    assert _makefile_value("ILERT_OPENAPI_SHA256") == ilert_openapi.PINNED_SHA256
    assert _makefile_value("ILERT_OPENAPI_URL") == ilert_openapi.PINNED_URL
    assert re.fullmatch(r"[0-9a-f]{64}", ilert_openapi.PINNED_SHA256)
    # a commit, not a branch: what the URL serves cannot change under the hash
    assert re.search(r"/ilert/[0-9a-f]{40}/", ilert_openapi.PINNED_URL)


def test_ci_fetches_the_spec_before_make_test() -> None:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())
    runs = [step.get("run", "") for step in workflow["jobs"]["test"]["steps"]]

    assert "make ilert-openapi" in runs
    assert runs.index("make ilert-openapi") < runs.index("make test")


def test_a_spec_beside_the_checkout_if_there_is_one_is_the_pinned_one() -> None:
    if not ilert_openapi.BESIDE_CHECKOUT.is_file():
        pytest.skip("no ../shared/reference/ilert-openapi.yml beside this checkout")
    digest = hashlib.sha256(ilert_openapi.BESIDE_CHECKOUT.read_bytes()).hexdigest()
    assert digest == ilert_openapi.PINNED_SHA256


def test_without_a_spec_the_reason_names_every_place_looked(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("ILERT_OPENAPI_SPEC", raising=False)
    monkeypatch.setenv("LEVEL_ILERT_CACHE", str(tmp_path))

    reason = ilert_openapi.why_absent()

    assert reason.startswith("ILERT_OPENAPI_SPEC is not set, there is no "
                             "../shared/reference/ilert-openapi.yml beside the checkout")
    assert f"{tmp_path}/ilert-openapi/{ilert_openapi.PINNED_SHA256}.yml" in reason
    monkeypatch.setenv("ILERT_OPENAPI_SPEC", "/nowhere.yml")
    assert ilert_openapi.why_absent().startswith("ILERT_OPENAPI_SPEC is set to")


@pytest.mark.skipif(MAKE is None or CURL is None, reason="make and curl are needed")
def test_make_ilert_openapi_keeps_only_a_file_with_the_pinned_hash(tmp_path: Path) -> None:
    good = tmp_path / "spec.yml"
    good.write_text("openapi: 3.0.1\n")
    digest = hashlib.sha256(good.read_bytes()).hexdigest()
    assert MAKE is not None

    def fetch(cache: str, sha: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [MAKE, "-s", "-C", str(ROOT), "ilert-openapi", f"LEVEL_ILERT_CACHE={tmp_path / cache}",
             f"ILERT_OPENAPI_URL=file://{good}", f"ILERT_OPENAPI_SHA256={sha}"],
            capture_output=True, text=True, timeout=60, check=False)

    kept = fetch("ok", digest)
    refused = fetch("bad", "0" * 64)

    assert kept.returncode == 0, kept.stderr
    assert kept.stdout.strip() == f"{tmp_path}/ok/ilert-openapi/{digest}.yml"
    assert Path(kept.stdout.strip()).read_text() == "openapi: 3.0.1\n"
    assert refused.returncode == 2
    assert "its SHA-256 is not the pinned" in refused.stderr
    assert list((tmp_path / "bad" / "ilert-openapi").iterdir()) == []
