"""providers/stack_state: a deployment's notes, shared by its provider processes through a file.

The engine runs one deployment in several provider processes (a renamed resource's create
ran in another process than the refresh that read the old one), so a note made in one
process must be seen in another; and a note must never outlive its deployment's file name.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from providers import stack_state
from providers.stack_state import Notes, deployment_name, scope_key

ROOT = Path(__file__).resolve().parents[2]
SCOPE = scope_key("ilert:alert-sources", "https://api.ilert.com", "secret-token-123")


def test_a_note_made_in_another_process_is_seen_here(tmp_path: Path) -> None:
    path = tmp_path / "deployment.jsonl"
    here = Notes(path)
    assert not here.has("held", SCOPE, 100001)

    code = (
        "import sys; from pathlib import Path; from providers.stack_state import Notes;"
        f"n = Notes(Path({str(path)!r})); n.add('held', {SCOPE!r}, 100001);"
        f"n.add('taken', {SCOPE!r}, 'wh-1')"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)

    assert here.has("held", SCOPE, 100001)
    assert here.has("taken", SCOPE, "wh-1")
    assert not here.has("taken", SCOPE, 100001)  # held is not taken
    assert not here.has("held", scope_key("ilert:alert-sources", "https://other", "t"), 100001)


def test_the_file_holds_hashes_and_ids_never_a_credential_or_url(tmp_path: Path) -> None:
    path = tmp_path / "deployment.jsonl"
    Notes(path).add("held", SCOPE, 100001)

    text = path.read_text()
    assert "secret-token-123" not in text and "api.ilert.com" not in text
    assert '"id": "100001"' in text
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_a_line_being_written_is_read_once_it_is_complete(tmp_path: Path) -> None:
    path = tmp_path / "deployment.jsonl"
    reader = Notes(path)
    path.write_text('{"note": "held", "scope": "' + SCOPE + '", "id": "1"}\n{"note": "he')

    assert reader.has("held", SCOPE, 1)
    with path.open("a") as file:
        file.write('ld", "scope": "' + SCOPE + '", "id": "2"}\n')
    assert reader.has("held", SCOPE, 2)


def test_a_deployment_is_named_by_the_engine_address_and_the_cli_process() -> None:
    one = deployment_name(["__main__.py", "127.0.0.1:46229"], "4242@99")
    assert one is not None and one.endswith(".jsonl")
    assert one == deployment_name(["__main__.py", "127.0.0.1:46229"], "4242@99")
    assert one != deployment_name(["__main__.py", "127.0.0.1:46229"], "4242@100")  # pid reused
    assert one != deployment_name(["__main__.py", "127.0.0.1:37871"], "4242@99")
    assert deployment_name(["pytest"], "4242@99") is None  # not the provider server


def test_outside_the_provider_server_notes_stay_in_the_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(stack_state.ENV_DIR, str(tmp_path))
    stack_state.note(SCOPE, 7)
    stack_state.note_taken(SCOPE, 8)

    assert stack_state.holds(SCOPE, 7) and not stack_state.holds(SCOPE, 8)
    assert stack_state.was_taken(SCOPE, 8) and not stack_state.was_taken(SCOPE, 7)
    assert list(tmp_path.iterdir()) == []
    stack_state.forget_all()
    assert not stack_state.holds(SCOPE, 7)


def test_files_of_old_deployments_are_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(stack_state.ENV_DIR, str(tmp_path))
    old = tmp_path / "old.jsonl"
    old.write_text("")
    week_ago = time.time() - 7 * 24 * 3600
    os.utime(old, (week_ago, week_ago))
    recent = tmp_path / "recent.jsonl"
    recent.write_text("")

    path = stack_state._open_file("new.jsonl")

    assert path == tmp_path / "new.jsonl"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.jsonl", "recent.jsonl"]
