"""providers/stack_state: a deployment's notes, shared by its provider processes through a file.

The engine runs one deployment in several provider processes (a renamed resource's create
ran in another process than the refresh that read the old one), so a note made in one
process must be seen in another; and a note must never outlive its deployment's file name.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.machinery
import os
import subprocess
import sys
import threading
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from providers import stack_state
from providers.engine_adapter import SERVER_MODULE
from providers.stack_state import Note, Notes, deployment_name, scope_key

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


@pytest.mark.parametrize(
    "argv",
    [
        None,  # this pytest run's own
        ["pytest", "tests/unit/test_stack_state.py::test_x"],  # one argument, with a ':'
        ["python", "-m", "ops", "doctor"],
    ],
)
def test_outside_the_provider_server_notes_stay_in_the_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, argv: list[str] | None
) -> None:
    monkeypatch.setenv(stack_state.ENV_DIR, str(tmp_path))
    if argv is not None:
        monkeypatch.setattr(sys, "argv", argv)
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


# --- a second reader: what one Notes instance (one provider process) wrote, another reads ---


def _line_count(path: Path) -> int:
    return path.read_text().count("\n")


def test_a_second_reader_sees_every_note_written_and_each_new_one_as_it_comes(
    tmp_path: Path,
) -> None:
    path = tmp_path / "deployment.jsonl"
    writer = Notes(path)
    writer.add("held", SCOPE, 100001)
    writer.add("taken", SCOPE, "wh-1")

    reader = Notes(path)
    assert reader.has("taken", SCOPE, "wh-1")  # the second line, in the reader's first read
    assert reader.has("held", SCOPE, 100001)
    assert not reader.has("held", SCOPE, "wh-1") and not reader.has("taken", SCOPE, 100001)

    for number in range(2, 6):  # the reader keeps up, one note at a time
        assert not reader.has("held", SCOPE, number)
        writer.add("held", SCOPE, number)
        assert reader.has("held", SCOPE, number)
    assert reader.has("held", SCOPE, 100001) and reader.has("taken", SCOPE, "wh-1")
    writer.add("held", SCOPE, 5)  # a note already made is not written twice
    assert _line_count(path) == 6
    assert Notes(path).has("held", SCOPE, 3)  # a third reader, from the start


def test_the_notes_a_writer_makes_are_read_by_another_process(tmp_path: Path) -> None:
    path = tmp_path / "deployment.jsonl"
    writer = Notes(path)
    writer.add("held", SCOPE, 100001)
    writer.add("taken", SCOPE, "wh-1")
    writer.add("held", SCOPE, 100002)

    code = (
        "from pathlib import Path; from providers.stack_state import Notes;"
        f"n = Notes(Path({str(path)!r}));"
        f"print(n.has('held', {SCOPE!r}, 100002), n.has('taken', {SCOPE!r}, 'wh-1'),"
        f" n.has('held', {SCOPE!r}, 100001), n.has('taken', {SCOPE!r}, 100001))"
    )
    seen = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        check=True,
        timeout=60,
        capture_output=True,
        text=True,
    ).stdout.split()

    assert seen == ["True", "True", "True", "False"]


WRITER = """
import sys
import threading
from pathlib import Path
from providers.stack_state import Notes
path, name, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
notes = Notes(path)
sys.stdin.readline()  # start together
for number in range(count):
    notes.add("held", sys.argv[4], f"{name}-{number}")
"""


def test_notes_written_at_once_by_several_processes_are_all_read_while_they_write(
    tmp_path: Path,
) -> None:
    """The real CLI runs several provider processes per deployment: none may lose a note
    (a lost 'taken' note deletes the webhook the renamed resource just took over)."""
    path = tmp_path / "deployment.jsonl"
    path.touch()
    count, names = 150, ["a", "b", "c"]
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), name, str(count), SCOPE],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            text=True,
        )
        for name in names
    ]
    here, reader = Notes(path), Notes(path)
    try:
        for writer in writers:
            assert writer.stdin is not None
            writer.stdin.write("go\n")
            writer.stdin.flush()
        for number in range(count):  # this process writes too, and reads as it goes
            here.add("taken", SCOPE, f"here-{number}")
            reader.has("held", SCOPE, f"c-{number}")
        for writer in writers:
            assert writer.wait(timeout=60) == 0
    finally:
        for writer in writers:
            writer.kill()
            writer.wait()

    expected: list[tuple[Note, str]] = [
        ("held", f"{name}-{n}") for name in names for n in range(count)
    ]
    expected += [("taken", f"here-{n}") for n in range(count)]
    assert all(reader.has(note, SCOPE, object_id) for note, object_id in expected)
    fresh = Notes(path)
    assert all(fresh.has(note, SCOPE, object_id) for note, object_id in expected)
    assert _line_count(path) == len(expected)  # whole lines, none overwritten or doubled


def test_a_damaged_line_or_one_in_another_format_costs_only_itself(tmp_path: Path) -> None:
    """A write cut short (a full disk) or a line in another shape is skipped; the notes
    around it are read, and the look-up never fails on it."""
    path = tmp_path / "deployment.jsonl"
    good = '{"note": "held", "scope": "' + SCOPE + '", "id": "%s"}\n'
    path.write_text(
        good % 1
        + '{"note": "held", "sco{"note": "held"}\n'  # cut short, then appended to: not JSON
        + good % 2
        + '{"note": "held", "id": "3"}\n'  # no scope
        + good % 4
        + '["held", "'
        + SCOPE
        + '", "5"]\n'  # not an object
        + "null\n"
        + '{"note": ["held"], "scope": "'
        + SCOPE
        + '", "id": "6"}\n'  # a note that is a list
        + good % 7
    )
    reader = Notes(path)

    assert [reader.has("held", SCOPE, n) for n in range(1, 8)] == [
        True,
        True,
        False,
        True,
        False,
        False,
        True,
    ]


# --- locks: a writer waits for everyone, a reader only for a writer ---


def _waits_for_a_lock_on(path: Path, thread: threading.Thread) -> bool:
    """True once ``thread`` is seen waiting for a lock on ``path`` (``/proc/locks`` lists
    waiters with '->'), False if it finishes first."""
    inode = str(path.stat().st_ino)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if not thread.is_alive():
            return False
        for line in Path("/proc/locks").read_text().splitlines():
            fields = line.split()
            if "->" in fields and fields[-3].rsplit(":", 1)[-1] == inode:
                return True
        time.sleep(0.001)
    raise AssertionError("the thread neither finished nor waited for the lock in 20 s")


@pytest.mark.parametrize("held_by_other", [fcntl.LOCK_SH, fcntl.LOCK_EX])
def test_a_note_is_written_only_while_no_other_process_reads_or_writes(
    tmp_path: Path, held_by_other: int
) -> None:
    path = tmp_path / "deployment.jsonl"
    path.touch()
    writer = Notes(path)
    with path.open("r+") as other:
        fcntl.flock(other, held_by_other)  # another provider process, mid-read or mid-write
        thread = threading.Thread(target=writer.add, args=("taken", SCOPE, "wh-1"))
        thread.start()
        try:
            assert _waits_for_a_lock_on(path, thread)
            assert path.read_text() == ""
        finally:
            fcntl.flock(other, fcntl.LOCK_UN)
            thread.join(timeout=20)
    assert Notes(path).has("taken", SCOPE, "wh-1")


def test_a_note_is_in_the_file_by_the_time_its_writer_lets_the_lock_go(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process may take the lock the moment it is let go: it must find the line
    there (a line still in the writer's buffer is overwritten by the next writer)."""
    path = tmp_path / "deployment.jsonl"
    writer = Notes(path)
    real_flock = fcntl.flock
    read_when_let_go: list[str] = []

    def flock(file: Any, operation: int) -> None:
        if operation == fcntl.LOCK_UN:
            read_when_let_go.append(path.read_text())
        real_flock(file, operation)

    monkeypatch.setattr(fcntl, "flock", flock)
    writer.add("held", SCOPE, 100001)
    writer.add("taken", SCOPE, "wh-1")
    monkeypatch.undo()

    assert len(read_when_let_go) == 2
    first, second = (Notes(tmp_path / name) for name in ("first.jsonl", "second.jsonl"))
    (tmp_path / "first.jsonl").write_text(read_when_let_go[0])
    (tmp_path / "second.jsonl").write_text(read_when_let_go[1])
    assert first.has("held", SCOPE, 100001) and not first.has("taken", SCOPE, "wh-1")
    assert second.has("held", SCOPE, 100001) and second.has("taken", SCOPE, "wh-1")


def test_readers_read_side_by_side_and_wait_only_for_a_writer(tmp_path: Path) -> None:
    path = tmp_path / "deployment.jsonl"
    Notes(path).add("held", SCOPE, 1)
    results: list[bool] = []

    def look_up() -> None:
        results.append(Notes(path).has("held", SCOPE, 1))

    with path.open("r+") as other:
        fcntl.flock(other, fcntl.LOCK_SH)  # another process reading
        thread = threading.Thread(target=look_up)
        thread.start()
        try:
            assert not _waits_for_a_lock_on(path, thread)
        finally:
            fcntl.flock(other, fcntl.LOCK_UN)
            thread.join(timeout=20)

        fcntl.flock(other, fcntl.LOCK_EX)  # another process writing
        thread = threading.Thread(target=look_up)
        thread.start()
        try:
            assert _waits_for_a_lock_on(path, thread)
        finally:
            fcntl.flock(other, fcntl.LOCK_UN)
            thread.join(timeout=20)
    assert results == [True, True]


# --- which deployment: the Pulumi CLI process two levels up, with its start time ---

CHAIN = """
import os, subprocess, sys
from pathlib import Path
names = sys.argv[1:]
Path("/proc/self/comm").write_bytes(os.fsencode(names[0]))
if len(names) > 1:
    subprocess.run([sys.executable, __file__, *names[1:]], check=True)
else:
    print(os.getpid(), flush=True)
    sys.stdin.read()  # until the test is done
"""


@contextlib.contextmanager
def _cli_running_a_script(tmp_path: Path, cli: bytes, script: bytes) -> Iterator[tuple[int, int]]:
    """A process named ``cli`` running one named ``script`` (as the Pulumi CLI runs the shell
    script that starts the provider server); yields their pids while both run."""
    program = tmp_path / "chain.py"
    program.write_text(CHAIN)
    process = subprocess.Popen(
        [sys.executable, str(program), cli, script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None and process.stdin is not None
        script_pid = int(process.stdout.readline())
        yield process.pid, script_pid
        process.stdin.close()
        assert process.wait(timeout=30) == 0
    finally:
        process.kill()
        process.wait()


def _a_pid_that_is_gone() -> int:
    process = subprocess.Popen([sys.executable, "-c", ""])
    process.wait(timeout=30)
    return process.pid


def _start_time(pid: int, name: bytes) -> str:
    """proc(5): field 22 of /proc/<pid>/stat, the start time in clock ticks since boot."""
    stat = Path(f"/proc/{pid}/stat").read_bytes()
    return stat.removeprefix(f"{pid} (".encode() + name + b") ").split()[22 - 3].decode()


@pytest.mark.parametrize(
    ("cli", "script"),
    [(b"pulumi", b"pulumi-resource"), (b"cli) S 1 2", b"sh) S 1 2 3")],  # a ')' in a name
)
def test_the_deployment_is_the_cli_process_that_runs_the_script_with_its_start_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: bytes, script: bytes
) -> None:
    with _cli_running_a_script(tmp_path, cli, script) as (cli_pid, script_pid):
        monkeypatch.setattr(os, "getppid", lambda: script_pid)  # this provider's parent
        found = stack_state._cli_process()
        expected = f"{cli_pid}@{_start_time(cli_pid, cli)}"
    assert found == expected


def test_a_parent_whose_name_is_not_text_names_the_deployment_by_the_parent_pid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _cli_running_a_script(tmp_path, b"pulumi", b"\xff\xfe-provider") as (_, script_pid):
        monkeypatch.setattr(os, "getppid", lambda: script_pid)
        assert stack_state._cli_process() == str(script_pid)


def test_a_parent_that_is_gone_names_the_deployment_by_the_parent_pid(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gone = _a_pid_that_is_gone()
    monkeypatch.setattr(os, "getppid", lambda: gone)

    assert stack_state._cli_process() == str(gone)


# --- the provider server: one file per deployment, shared by its processes ---

ENGINE = "127.0.0.1:46229"


@pytest.fixture
def provider_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """This process plays ``python -m pulumi.dynamic <engine address>`` on a machine whose
    cache has no level-ilert folder yet; yields the notes folder (not made yet)."""
    main = types.ModuleType("__main__")
    main.__spec__ = importlib.machinery.ModuleSpec(SERVER_MODULE, None)
    monkeypatch.setitem(sys.modules, "__main__", main)
    monkeypatch.setattr(sys, "argv", ["/venv/lib/pulumi/dynamic/__main__.py", ENGINE])
    folder = tmp_path / "cache" / "level-ilert" / "deployments"
    monkeypatch.setenv(stack_state.ENV_DIR, str(folder))
    umask = os.umask(0o022)
    try:
        yield folder
    finally:
        os.umask(umask)
        stack_state.forget_all()


def test_the_provider_processes_of_one_deployment_share_its_notes_in_a_private_file(
    provider_server: Path,
) -> None:
    stack_state.note(SCOPE, 100001)  # the refresh, in one provider process
    stack_state.note_taken(SCOPE, "wh-1")

    files = list(provider_server.iterdir())
    assert len(files) == 1 and files[0].suffix == ".jsonl"
    assert oct(provider_server.stat().st_mode & 0o777) == "0o700"
    assert oct(files[0].stat().st_mode & 0o777) == "0o600"

    stack_state.forget_all()  # the create, in another provider process of the deployment
    assert stack_state.holds(SCOPE, 100001) and stack_state.was_taken(SCOPE, "wh-1")
    assert not stack_state.holds(SCOPE, "wh-1") and not stack_state.was_taken(SCOPE, 100001)
    stack_state.note(SCOPE, 100002)

    stack_state.forget_all()  # a third one
    assert stack_state.holds(SCOPE, 100002)
    assert list(provider_server.iterdir()) == files


def test_another_deployment_does_not_see_these_notes(
    provider_server: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack_state.note(SCOPE, 100001)

    stack_state.forget_all()
    monkeypatch.setattr(sys, "argv", ["/venv/lib/pulumi/dynamic/__main__.py", "127.0.0.1:37871"])
    assert not stack_state.holds(SCOPE, 100001)  # another engine

    stack_state.forget_all()
    monkeypatch.setattr(sys, "argv", ["/venv/lib/pulumi/dynamic/__main__.py", ENGINE])
    gone = _a_pid_that_is_gone()
    monkeypatch.setattr(os, "getppid", lambda: gone)
    assert not stack_state.holds(SCOPE, 100001)  # the same port, another CLI run

    assert len(list(provider_server.iterdir())) == 3


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({stack_state.ENV_DIR: "{tmp}/notes"}, "{tmp}/notes"),
        ({stack_state.ENV_DIR: "{tmp}/notes", "XDG_CACHE_HOME": "{tmp}/xdg"}, "{tmp}/notes"),
        ({"XDG_CACHE_HOME": "{tmp}/xdg"}, "{tmp}/xdg/level-ilert/deployments"),
        (
            {stack_state.ENV_DIR: " ", "XDG_CACHE_HOME": "{tmp}/xdg"},
            "{tmp}/xdg/level-ilert/deployments",
        ),
        ({}, "{tmp}/home/.cache/level-ilert/deployments"),
        ({"XDG_CACHE_HOME": "  "}, "{tmp}/home/.cache/level-ilert/deployments"),
    ],
)
def test_the_notes_folder_is_the_setting_else_the_per_user_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], expected: str
) -> None:
    monkeypatch.delenv(stack_state.ENV_DIR, raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for key, value in environment.items():
        monkeypatch.setenv(key, value.format(tmp=tmp_path))

    assert stack_state.notes_dir() == Path(expected.format(tmp=tmp_path))


def test_old_files_go_even_when_another_process_removes_one_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two provider processes starting at once both clear old files: the one that finds a
    file gone (here: a link to nothing) carries on."""
    monkeypatch.setenv(stack_state.ENV_DIR, str(tmp_path))
    (tmp_path / "gone.jsonl").symlink_to(tmp_path / "removed-meanwhile.jsonl")
    now = 1_800_000_000.0
    monkeypatch.setattr(time, "time", lambda: now)
    for name, age in [
        ("two-days.jsonl", stack_state.KEEP_SECONDS),
        ("older.jsonl", stack_state.KEEP_SECONDS + 1),
    ]:
        (tmp_path / name).write_text("")
        os.utime(tmp_path / name, (now - age, now - age))

    path = stack_state._open_file("new.jsonl")

    assert path == tmp_path / "new.jsonl"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "gone.jsonl",
        "new.jsonl",
        "two-days.jsonl",
    ]
    Notes(path).add("held", SCOPE, 1)
    assert Notes(path).has("held", SCOPE, 1)
