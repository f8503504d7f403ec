"""This stack's journal of creates (providers/journal.py): what it proves and what it never
proves. A journal file is read back by a new ``Journal`` on the same path, as the next
command's provider process reads it."""

from __future__ import annotations

import datetime
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from providers import journal
from providers.journal import Journal, Provenance, identity_key, path_for

KEY = identity_key("ilert:alert-source", "https://api.ilert.com", "Level - Acme", "LEVELIO")
STAMP = "2026-12-01T10:00:00.123Z"


@dataclass(frozen=True)
class Made:
    id: int | str
    created_at: str | None = STAMP


def test_a_create_answered_with_an_id_proves_that_object_in_the_next_process(
    tmp_path: Path,
) -> None:
    first = Journal(tmp_path / "stack.jsonl")
    first.intent(KEY)
    first.created(KEY, 100001, STAMP)

    later = Journal(tmp_path / "stack.jsonl")

    assert later.made(KEY, "100001", STAMP)
    assert later.unanswered(KEY) is None


@pytest.mark.parametrize(
    ("key", "object_id", "stamp", "why"),
    [
        (KEY, 100002, STAMP, "another id: made by hand or by another stack"),
        (KEY, 100001, "2026-12-02T08:00:00.000Z", "same id, another creation: a reset world"),
        (KEY, 100001, None, "same id, no creation time reported"),
        (identity_key("ilert:alert-source", "https://api.ilert.com", "Other", "LEVELIO"),
         100001, STAMP, "the id, but under another name"),
    ],
)
def test_nothing_but_the_recorded_object_is_proved(
    tmp_path: Path, key: str, object_id: int, stamp: str | None, why: str
) -> None:
    recorded = Journal(tmp_path / "stack.jsonl")
    recorded.created(KEY, 100001, STAMP)

    assert not Journal(tmp_path / "stack.jsonl").made(key, object_id, stamp), why


def test_an_object_deleted_since_is_no_longer_proved(tmp_path: Path) -> None:
    recorded = Journal(tmp_path / "stack.jsonl")
    recorded.created(KEY, 100001, STAMP)
    recorded.deleted(100001)

    assert not recorded.made(KEY, 100001, STAMP)
    assert not Journal(tmp_path / "stack.jsonl").made(KEY, 100001, STAMP)


def test_a_create_sent_but_never_answered_is_remembered_with_its_time_and_proves_nothing(
    tmp_path: Path,
) -> None:
    Journal(tmp_path / "stack.jsonl").intent(KEY)

    later = Journal(tmp_path / "stack.jsonl")

    intent = later.unanswered(KEY)
    assert intent is not None and intent.at.endswith("+00:00")
    assert not later.made(KEY, 100001, STAMP)


@pytest.mark.parametrize(
    ("created_at", "covered"),
    [
        ("2026-12-01T10:00:00.000Z", True),  # the moment it was sent
        ("2026-12-01T10:02:00+00:00", True),  # at the deadline
        ("2026-12-01T10:02:59.999Z", True),  # the deadline plus the clock skew allowed
        ("2026-12-01T10:03:00.001Z", False),
        ("2026-12-01T09:59:00.000Z", True),  # the API's clock a minute behind
        ("2026-12-01T09:58:59.999Z", False),
        ("2026-12-01T12:00:00+02:00", True),  # the same instant in another zone
        ("2026-12-01T10:00:00", False),  # no zone: cannot be compared
        ("yesterday", False),
        (None, False),
    ],
)
def test_an_unanswered_create_covers_objects_made_while_it_was_under_way(
    created_at: str | None, covered: bool
) -> None:
    sent = journal.Intent("2026-12-01T10:00:00.000+00:00")

    assert sent.covers(created_at, in_flight_seconds=120.0) is covered


def test_an_unanswered_create_without_a_deadline_covers_nothing() -> None:
    assert not journal.Intent("2026-12-01T10:00:00+00:00").covers("2026-12-01T10:00:00Z", 0.0)


def test_a_claim_by_an_unanswered_create_is_recorded_as_its_answer(tmp_path: Path) -> None:
    path = tmp_path / "stack.jsonl"
    Journal(path).intent(KEY)
    now = datetime.datetime.now(datetime.UTC).isoformat()

    assert Provenance(Journal(path), KEY, in_flight_seconds=120.0).claim(Made(5, now))

    later = Journal(path)
    assert later.made(KEY, 5, now) and later.unanswered(KEY) is None


def test_a_claim_without_a_record_fails(tmp_path: Path) -> None:
    assert not Provenance(Journal(tmp_path / "stack.jsonl"), KEY, 120.0).claim(Made(5))


def test_the_file_holds_no_name_url_or_key(tmp_path: Path) -> None:
    url = "https://api.ilert.com/api/v1/events/levelio/il1api0123456789abcdef"
    key = identity_key("level:webhook", "https://api.level.io", url)
    recorded = Journal(tmp_path / "stack.jsonl")
    recorded.intent(key)
    recorded.created(key, "Z2lkOi8vbGV2ZWwvV2ViaG9vay8x", STAMP)

    text = (tmp_path / "stack.jsonl").read_text()
    assert "il1api" not in text and "levelio" not in text and "level.io" not in text
    assert [json.loads(line)["op"] for line in text.splitlines()] == ["intent", "created"]


def test_unreadable_lines_are_skipped_and_the_rest_still_proves(tmp_path: Path) -> None:
    path = tmp_path / "stack.jsonl"
    Journal(path).created(KEY, 7, STAMP)
    with path.open("a") as file:
        file.write('{"op": "created", "key": "cut sh\n[1, 2]\n{"op": "unknown"}\n')

    assert Journal(path).made(KEY, 7, STAMP)


def test_history_is_compacted_to_the_live_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal, "COMPACT_AFTER_DEAD_LINES", 10)
    path = tmp_path / "stack.jsonl"
    recorded = Journal(path)
    for n in range(20):
        recorded.intent(KEY)
        recorded.created(KEY, n, STAMP)
        if n != 13:
            recorded.deleted(n)
    waiting = identity_key("level:webhook", "https://api.level.io", "https://x.invalid/1")
    recorded.intent(waiting)

    compacted = Journal(path)

    assert len(path.read_text().splitlines()) == 2
    assert compacted.made(KEY, 13, STAMP)
    assert compacted.unanswered(waiting) is not None
    assert not compacted.made(KEY, 12, STAMP)


def test_records_written_by_many_threads_at_once_are_all_kept(tmp_path: Path) -> None:
    path = tmp_path / "stack.jsonl"
    recorded = Journal(path)
    keys = [identity_key("ilert:alert-source", "u", f"name {n}") for n in range(400)]

    def write(part: list[str], first: int) -> None:
        for offset, key in enumerate(part):
            recorded.intent(key)
            recorded.created(key, first + offset, STAMP)

    threads = [
        threading.Thread(target=write, args=(keys[n::4], n * 1000)) for n in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    later = Journal(path)
    assert len(path.read_text().splitlines()) == 800
    for n in range(4):
        for offset, key in enumerate(keys[n::4]):
            assert later.made(key, n * 1000 + offset, STAMP)


def test_one_file_per_stack_under_the_configured_directory(tmp_path: Path) -> None:
    assert path_for("acme/level-ilert/prod", str(tmp_path), "file:///state") == (
        tmp_path / "acme" / "level-ilert" / "prod.jsonl"
    )
    assert path_for("acme/level-ilert/prod", "off", "file:///state") is None
    assert path_for("acme/level-ilert/prod", " OFF ", "") is None


def test_beside_a_local_folder_backend_else_in_the_project_directory() -> None:
    assert path_for("acme/level-ilert/prod", "", "file:///srv/pulumi-state") == Path(
        "/srv/pulumi-state/.level-ilert/journal/acme/level-ilert/prod.jsonl"
    )
    assert path_for("acme/level-ilert/prod", "", "s3://bucket/state") == Path(
        ".level-ilert/journal/acme/level-ilert/prod.jsonl"
    )
    assert path_for("acme/level-ilert/prod", "", "") == Path(
        ".level-ilert/journal/acme/level-ilert/prod.jsonl"
    )


def test_the_environment_chooses_when_nothing_is_passed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(journal.ENV_DIR)
    monkeypatch.setenv("PULUMI_BACKEND_URL", f"file://{tmp_path}")

    assert path_for("o/p/s") == tmp_path / ".level-ilert" / "journal" / "o" / "p" / "s.jsonl"


def test_a_stack_name_never_leads_out_of_the_directory(tmp_path: Path) -> None:
    path = path_for("../../etc/.. /passwd", str(tmp_path))

    assert path is not None
    assert path.resolve().is_relative_to(tmp_path.resolve())
    assert ".." not in path.parts


def test_a_journal_that_cannot_be_written_never_fails_the_create(tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    provenance = Provenance(Journal(blocked / "stack.jsonl"), KEY)

    provenance.before_create()  # no exception: the create goes on
    provenance.created(Made(1))

    assert blocked.read_text() == "not a directory"
    assert provenance.claim(Made(1))  # this process still knows what it made


def test_without_a_journal_nothing_is_proved_or_remembered() -> None:
    provenance = Provenance(None, KEY)
    provenance.before_create()
    provenance.created(Made(1))

    assert not provenance.claim(Made(1))
    assert provenance.unanswered() is None


@pytest.fixture
def other_process() -> Iterator[int]:
    """The pid of another live process on this host (as a killed CLI's orphaned provider)."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        yield process.pid
    finally:
        process.kill()
        process.wait(timeout=10)


def _intent_by(path: Path, pid: int, *, at: str | None = None, host: str | None = None) -> None:
    record = {
        "op": "intent", "key": KEY, "pid": pid, "host": host or socket.gethostname(),
        "at": at or datetime.datetime.now(datetime.UTC).isoformat(),
    }
    with path.open("a") as file:
        file.write(json.dumps(record) + "\n")


def test_a_create_another_live_process_still_has_under_way_is_waited_for(
    tmp_path: Path, other_process: int
) -> None:
    path = tmp_path / "stack.jsonl"
    _intent_by(path, other_process)
    provenance = Provenance(Journal(path), KEY, in_flight_seconds=120.0)
    naps: list[float] = []

    def sleep(seconds: float) -> None:  # meanwhile the other process gets its answer
        naps.append(seconds)
        if len(naps) == 3:
            Journal(path).created(KEY, 9, STAMP)

    assert provenance.wait_for_earlier_create(sleep)
    assert naps == [journal.WAIT_STEP_SECONDS] * 3
    assert provenance.claim(Made(9))


def test_a_create_whose_process_is_gone_is_not_waited_for(tmp_path: Path) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait(timeout=30)
    path = tmp_path / "stack.jsonl"
    _intent_by(path, gone.pid)

    assert not Provenance(Journal(path), KEY, 120.0).wait_for_earlier_create(_no_sleep)


def test_a_create_past_its_deadline_is_not_waited_for(tmp_path: Path, other_process: int) -> None:
    path = tmp_path / "stack.jsonl"
    _intent_by(path, other_process, at="2026-01-01T00:00:00+00:00")

    assert not Provenance(Journal(path), KEY, 120.0).wait_for_earlier_create(_no_sleep)


def test_a_create_sent_from_another_host_is_waited_for_until_its_deadline(
    tmp_path: Path,
) -> None:
    path = tmp_path / "stack.jsonl"
    _intent_by(path, 1, host="ci-runner-that-is-not-this-one")
    naps: list[float] = []

    def sleep(seconds: float) -> None:
        naps.append(seconds)
        time.sleep(seconds)

    assert Provenance(Journal(path), KEY, 0.3).wait_for_earlier_create(sleep)
    assert 1 <= len(naps) <= 2 and sum(naps) <= 0.3


def test_a_create_this_process_sent_is_not_waited_for(tmp_path: Path) -> None:
    path = tmp_path / "stack.jsonl"
    Journal(path).intent(KEY)

    assert not Provenance(Journal(path), KEY, 120.0).wait_for_earlier_create(_no_sleep)


def test_a_failed_create_that_did_nothing_voids_its_intent(tmp_path: Path) -> None:
    path = tmp_path / "stack.jsonl"
    provenance = Provenance(Journal(path), KEY, 120.0)
    provenance.before_create()
    provenance.abandoned()

    assert Journal(path).unanswered(KEY) is None


def _no_sleep(seconds: float) -> None:
    raise AssertionError(f"waited {seconds} s for a create that cannot be under way")


def test_a_damaged_byte_spoils_its_line_only(tmp_path: Path) -> None:
    """A journal with a byte that is not UTF-8 (a torn disk write) still opens and proves
    its intact records; before, it stopped every create and delete of the stack."""
    directory = tmp_path / "journals"
    path = path_for("acme/level-ilert/prod", str(directory))
    assert path is not None
    Journal(path).created(KEY, 7, STAMP)
    with path.open("ab") as file:
        file.write(b'{"op": "created", "key": "\xff\xfe", "id": "8", "stamp": ""}\n')
    Journal(path).created(KEY, 9, STAMP)

    assert Journal(path).made(KEY, 7, STAMP) and Journal(path).made(KEY, 9, STAMP)
    assert not Journal(path).made(KEY, 8, None)
