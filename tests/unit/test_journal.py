"""This stack's journal of creates (providers/journal.py): what it proves and what it never
proves. A journal file is read back by a new ``Journal`` on the same path, as the next
command's provider process reads it."""

from __future__ import annotations

import datetime
import hashlib
import json
import os
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
        ("2026-12-01T10:02:59.999Z", True),
        ("2026-12-01T10:03:00.000Z", True),  # the deadline plus the clock skew allowed
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


def test_a_deadline_under_a_second_still_covers_what_was_made_in_it() -> None:
    sent = journal.Intent("2026-12-01T10:00:00+00:00")

    assert sent.covers("2026-12-01T10:00:00.400Z", 0.5)


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
def other_process() -> Iterator[subprocess.Popen[bytes]]:
    """Another live process on this host (as a killed CLI's orphaned provider)."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        yield process
    finally:
        process.kill()
        process.wait(timeout=10)


def _gone_pid() -> int:
    """The pid of a process that ran on this host and has ended."""
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait(timeout=30)
    return gone.pid


def _intent_by(path: Path, pid: int, *, at: str | None = None, host: str | None = None) -> None:
    record = {
        "op": "intent", "key": KEY, "pid": pid, "host": host or socket.gethostname(),
        "at": at or datetime.datetime.now(datetime.UTC).isoformat(),
    }
    with path.open("a") as file:
        file.write(json.dumps(record) + "\n")


def test_a_create_another_live_process_still_has_under_way_is_waited_for(
    tmp_path: Path, other_process: subprocess.Popen[bytes]
) -> None:
    path = tmp_path / "stack.jsonl"
    _intent_by(path, other_process.pid)
    provenance = Provenance(Journal(path), KEY, in_flight_seconds=120.0)
    naps: list[float] = []

    def sleep(seconds: float) -> None:  # meanwhile the other process gets its answer
        naps.append(seconds)
        if len(naps) == 3:
            Journal(path).created(KEY, 9, STAMP)

    assert provenance.wait_for_earlier_create(sleep)
    assert naps == [journal.WAIT_STEP_SECONDS] * 3
    assert provenance.claim(Made(9))
    # Asking whether it still runs never disturbs it: it is finishing a create.
    assert other_process.poll() is None


def test_a_create_whose_process_is_gone_is_not_waited_for(tmp_path: Path) -> None:
    path = tmp_path / "stack.jsonl"
    _intent_by(path, _gone_pid())

    assert Provenance(Journal(path), KEY, 120.0).wait_for_earlier_create(_no_sleep) is False


def test_a_create_past_its_deadline_is_not_waited_for(
    tmp_path: Path, other_process: subprocess.Popen[bytes]
) -> None:
    path = tmp_path / "stack.jsonl"
    _intent_by(path, other_process.pid, at="2026-01-01T00:00:00+00:00")

    assert Provenance(Journal(path), KEY, 120.0).wait_for_earlier_create(_no_sleep) is False


def test_a_create_sent_from_another_host_is_waited_for_until_its_deadline(
    tmp_path: Path,
) -> None:
    path = tmp_path / "stack.jsonl"
    # Its pid names no process here, which says nothing about the host it ran on.
    _intent_by(path, _gone_pid(), host="ci-runner-that-is-not-this-one")
    naps: list[float] = []

    def sleep(seconds: float) -> None:
        naps.append(seconds)
        time.sleep(seconds)

    assert Provenance(Journal(path), KEY, 0.3).wait_for_earlier_create(sleep)
    assert 1 <= len(naps) <= 2 and sum(naps) <= 0.3


def test_a_create_this_process_sent_is_not_waited_for(tmp_path: Path) -> None:
    path = tmp_path / "stack.jsonl"
    Journal(path).intent(KEY)

    assert Provenance(Journal(path), KEY, 120.0).wait_for_earlier_create(_no_sleep) is False


def test_a_failed_create_that_did_nothing_voids_its_intent(tmp_path: Path) -> None:
    path = tmp_path / "stack.jsonl"
    provenance = Provenance(Journal(path), KEY, 120.0)
    provenance.before_create()
    provenance.abandoned()

    assert Journal(path).unanswered(KEY) is None


def _no_sleep(seconds: float) -> None:
    raise AssertionError(f"waited {seconds} s for a create that cannot be under way")


def test_a_create_by_a_process_of_another_user_is_waited_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The OS answers "not permitted" for a live process of another user: it still runs."""
    path = tmp_path / "stack.jsonl"
    _intent_by(path, 4242)
    asked: list[tuple[int, int]] = []

    def kill(pid: int, signal: int) -> None:
        asked.append((pid, signal))
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "kill", kill)
    naps: list[float] = []

    def sleep(seconds: float) -> None:
        naps.append(seconds)
        Journal(path).created(KEY, 9, STAMP)

    assert Provenance(Journal(path), KEY, 120.0).wait_for_earlier_create(sleep) is True
    assert naps == [journal.WAIT_STEP_SECONDS]
    assert asked and all(pid_and_signal == (4242, 0) for pid_and_signal in asked)


@pytest.mark.parametrize("pid", ["4242", None, 12.5, True])
def test_an_intent_whose_pid_is_not_a_number_is_from_an_unknown_process(
    tmp_path: Path, pid: object
) -> None:
    """Such a create may still be under way: it is waited for (never a crash), like one
    sent from another host."""
    path = tmp_path / "stack.jsonl"
    record = {"op": "intent", "key": KEY, "at": datetime.datetime.now(datetime.UTC).isoformat(),
              "host": socket.gethostname(), "pid": pid}
    path.write_text(json.dumps(record) + "\n")
    naps: list[float] = []

    def sleep(seconds: float) -> None:
        naps.append(seconds)
        Journal(path).created(KEY, 9, STAMP)

    assert Provenance(Journal(path), KEY, 120.0).wait_for_earlier_create(sleep) is True
    assert naps == [journal.WAIT_STEP_SECONDS]


def test_the_key_is_the_sha256_of_kind_url_and_identity_joined_by_nul() -> None:
    """The documented format: a journal an earlier release wrote still proves its objects."""
    expected = hashlib.sha256(
        b"ilert:alert-source\x00https://api.ilert.com\x00Level - Acme\x00LEVELIO"
    ).hexdigest()

    assert expected == KEY
    assert identity_key("level:webhook", "https://api.ilert.com", "Level - Acme", "LEVELIO") != KEY


def test_an_identity_that_is_not_valid_unicode_still_has_a_key() -> None:
    """JSON can carry a lone surrogate (``"\\ud800"``); such a name gets a key of its own
    instead of failing the create."""
    odd = identity_key("ilert:alert-source", "https://api.ilert.com", "Level \ud800", "LEVELIO")

    assert odd == hashlib.sha256(
        "ilert:alert-source\0https://api.ilert.com\0Level \ud800\0LEVELIO".encode(
            "utf-8", "surrogatepass"
        )
    ).hexdigest()
    assert odd != KEY


def test_records_missing_a_field_are_skipped_and_the_rest_still_proves(tmp_path: Path) -> None:
    path = tmp_path / "stack.jsonl"
    with path.open("w") as file:
        for record in [
            {"key": KEY, "id": "8"},  # no op
            {"op": "created", "id": "8", "stamp": STAMP},  # no key
            {"op": "intent", "key": KEY},  # no time
            {"op": "deleted"},  # no id
        ]:
            file.write(json.dumps(record) + "\n")
    Journal(path).created(KEY, 7, STAMP)

    later = Journal(path)

    assert later.made(KEY, 7, STAMP)
    assert not later.made(KEY, 8, STAMP)
    assert later.unanswered(KEY) is None


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


@pytest.mark.parametrize("written_by", ["created", "a record without a stamp"])
def test_an_object_the_api_dates_not_is_proved_by_its_id_alone(
    tmp_path: Path, written_by: str
) -> None:
    path = tmp_path / "stack.jsonl"
    if written_by == "created":
        Journal(path).created(KEY, 7, None)
    else:
        path.write_text(json.dumps({"op": "created", "key": KEY, "id": "7", "stamp": None}) + "\n")

    later = Journal(path)

    assert later.made(KEY, 7, None) and later.made(KEY, "7", "")
    assert not later.made(KEY, 7, STAMP)


def test_two_creates_of_one_object_in_one_process_both_refused_fail_only_as_the_api_said(
    tmp_path: Path,
) -> None:
    """Two resources of the same identity in one stack: each create records its intent,
    both are refused (a 4xx), and voiding the second intent never fails its create."""
    path = tmp_path / "stack.jsonl"
    first, second = Provenance(Journal(path), KEY, 120.0), Provenance(Journal(path), KEY, 120.0)
    recorded = Journal(path)
    both = Provenance(recorded, KEY, 120.0), Provenance(recorded, KEY, 120.0)
    for provenance in both:
        provenance.before_create()
    for provenance in both:
        provenance.abandoned()  # no exception: the create fails with the API's own error

    assert Journal(path).unanswered(KEY) is None
    assert first.unanswered() is None and second.unanswered() is None


def test_a_delete_recorded_twice_at_once_fails_neither(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The delete and a read that found the object gone record its end at the same moment:
    both pass the "is it ours" check before either writes; neither fails."""
    path = tmp_path / "stack.jsonl"
    recorded = Journal(path)
    recorded.created(KEY, 7, STAMP)
    both_checked = threading.Barrier(2, timeout=10)
    dumps = json.dumps

    def dumps_after_both_checked(*args: object, **kwargs: object) -> str:
        both_checked.wait()
        return dumps(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(json, "dumps", dumps_after_both_checked)
    failures: list[BaseException] = []

    def record_delete() -> None:
        try:
            journal.deleted(recorded, 7)
        except BaseException as error:  # the test reports it
            failures.append(error)

    threads = [threading.Thread(target=record_delete) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    monkeypatch.undo()

    assert failures == []
    assert not recorded.made(KEY, 7, STAMP) and not Journal(path).made(KEY, 7, STAMP)


def _history(path: Path, live: int, dead: int, waiting: int) -> list[str]:
    """A journal file with ``live`` objects, ``dead`` lines of history (creates deleted
    since) and ``waiting`` unanswered intents; the waiting keys."""
    lines: list[dict[str, object]] = []
    for n in range(live):
        lines.append({"op": "created", "key": KEY, "id": str(n), "stamp": STAMP, "at": STAMP})
    for n in range(dead // 2):
        lines.append({"op": "created", "key": KEY, "id": f"d{n}", "stamp": STAMP, "at": STAMP})
        lines.append({"op": "deleted", "id": f"d{n}"})
    if dead % 2:
        lines.append({"op": "deleted", "id": "never-ours"})
    keys = [identity_key("level:webhook", "https://api.level.io", f"u{n}") for n in range(waiting)]
    for n, key in enumerate(keys):
        lines.append({"op": "intent", "key": key, "at": f"2026-12-01T10:00:0{n}+00:00",
                      "host": "runner-7", "pid": 4000 + n})
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return keys


@pytest.mark.parametrize(("dead", "rewritten"), [(10, False), (11, True)])
def test_the_file_is_rewritten_once_its_history_outgrows_the_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dead: int, rewritten: bool
) -> None:
    monkeypatch.setattr(journal, "COMPACT_AFTER_DEAD_LINES", 10)
    path = tmp_path / "stack.jsonl"
    _history(path, live=3, dead=dead, waiting=2)
    written = path.read_text()

    Journal(path)

    assert (path.read_text() != written) is rewritten
    assert len(path.read_text().splitlines()) == (5 if rewritten else 5 + dead)


def test_a_compacted_journal_proves_in_the_next_process_what_it_proved_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rewrite is read back by the next process: every live object and unanswered
    create with everything a decision needs (id, creation time, when and by whom sent)."""
    monkeypatch.setattr(journal, "COMPACT_AFTER_DEAD_LINES", 10)
    path = tmp_path / "stack.jsonl"
    waiting = _history(path, live=3, dead=40, waiting=2)

    Journal(path)  # rewrites the file
    assert len(path.read_text().splitlines()) == 5
    assert not list(tmp_path.glob("*.tmp"))
    later = Journal(path)

    for n in range(3):
        assert later.made(KEY, n, STAMP)
        assert not later.made(KEY, n, "2026-12-02T00:00:00Z")
    assert not later.made(KEY, "d0", STAMP)
    assert [later.unanswered(key) for key in waiting] == [
        journal.Intent(f"2026-12-01T10:00:0{n}+00:00", "runner-7", 4000 + n) for n in range(2)
    ]
    assert later.unanswered(KEY) is None


def test_another_process_reads_what_this_one_wrote_also_across_its_compaction(
    tmp_path: Path,
) -> None:
    """Two provider processes of one stack (a killed CLI's orphan and the next run's):
    each writes while the other compacts and writes; a third reads every live record."""
    path = tmp_path / "stack.jsonl"
    child = f"""
import sys
from providers import journal
journal.COMPACT_AFTER_DEAD_LINES = 20
print("ready", flush=True)
for n in range(150):
    key = journal.identity_key("level:webhook", "u", f"child {{n}}")
    opened = journal.Journal(__import__("pathlib").Path({str(path)!r}))  # may compact
    opened.intent(key)
    opened.created(key, f"c{{n}}", "{STAMP}")
    if n % 3:
        opened.deleted(f"c{{n}}")
"""
    here = Journal(path)
    root = Path(journal.__file__).resolve().parents[1]
    other = subprocess.Popen([sys.executable, "-c", child], cwd=root, stdout=subprocess.PIPE)
    try:
        assert other.stdout is not None and other.stdout.readline() == b"ready\n"
        for n in range(300):
            key = identity_key("level:webhook", "u", f"parent {n}")
            here.intent(key)
            here.created(key, f"p{n}", STAMP)
            if n % 2:
                here.deleted(f"p{n}")
    finally:
        assert other.wait(timeout=60) == 0

    reader = Journal(path)
    for n in range(300):
        key = identity_key("level:webhook", "u", f"parent {n}")
        assert reader.made(key, f"p{n}", STAMP) is (n % 2 == 0), n
        assert reader.unanswered(key) is None
    for n in range(150):
        key = identity_key("level:webhook", "u", f"child {n}")
        assert reader.made(key, f"c{n}", STAMP) is (n % 3 == 0), n
        assert reader.unanswered(key) is None


def test_a_journal_that_cannot_be_written_is_named_in_a_warning_with_the_reason(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    recorded = Journal(blocked / "stack.jsonl")
    provenance = Provenance(recorded, KEY)

    with caplog.at_level("WARNING", logger=journal.LOG.name):
        provenance.before_create()
        provenance.created(Made(1))
        journal.deleted(recorded, 1)  # the object is gone: never fails the delete

    prefix = f"could not write the journal {blocked / 'stack.jsonl'}: "
    assert len(caplog.messages) == 3
    for message in caplog.messages:
        assert message.startswith(prefix)
        assert str(blocked) in message.removeprefix(prefix)  # the OS's reason, with the path
    assert not recorded.made(KEY, 1, STAMP)


def test_a_journal_that_cannot_be_read_is_named_and_the_stack_runs_without_one(
    journal_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (journal_dir / "acme" / "level-ilert" / "prod.jsonl").mkdir(parents=True)

    with caplog.at_level("WARNING", logger=journal.LOG.name):
        assert journal.for_stack("acme/level-ilert/prod") is None

    where = (journal_dir / "acme" / "level-ilert" / "prod.jsonl").absolute()
    assert len(caplog.messages) == 1
    assert caplog.messages[0].startswith(f"could not read the journal {where}: ")
    assert "Is a directory" in caplog.messages[0]


def test_one_journal_per_stack_and_process(journal_dir: Path) -> None:
    prod = journal.for_stack("acme/level-ilert/prod")

    assert prod is not None and prod is journal.for_stack("acme/level-ilert/prod")
    assert prod.path == (journal_dir / "acme" / "level-ilert" / "prod.jsonl").absolute()
    assert journal.for_stack("acme/level-ilert/dev") is not prod
    assert journal.for_stack("") is None and journal.for_stack(None) is None


def test_without_any_setting_the_journal_is_in_the_project_directory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(journal.ENV_DIR)
    monkeypatch.delenv("PULUMI_BACKEND_URL", raising=False)

    assert path_for("acme/level-ilert/prod") == Path(
        ".level-ilert/journal/acme/level-ilert/prod.jsonl"
    )


@pytest.mark.parametrize(
    ("stack", "file"),
    [
        ("acme/level-ilert/prod", "acme/level-ilert/prod.jsonl"),
        ("Acme Corp/level ilert/prod:eu", "Acme_Corp/level_ilert/prod_eu.jsonl"),
        ("acme/level-ilert/.prod.", "acme/level-ilert/prod..jsonl"),
        ("acme/../XL", "acme/_/XL.jsonl"),
        ("acme/level-ilert/X.prod", "acme/level-ilert/X.prod.jsonl"),
    ],
)
def test_each_stack_has_its_own_plainly_named_file(tmp_path: Path, stack: str, file: str) -> None:
    """Nothing hidden, nothing outside the directory, and the same file in every release
    (else the next release would not find the proofs this one wrote)."""
    assert path_for(stack, str(tmp_path)) == tmp_path / file


def test_stacks_whose_names_differ_only_in_a_leading_letter_have_separate_journals(
    tmp_path: Path,
) -> None:
    names = ["acme/p/X1", "acme/p/1", "acme/p/XX.1", "acme/p/_"]

    assert len({path_for(name, str(tmp_path)) for name in names}) == len(names)


def test_a_reload_forgets_what_another_process_voided_and_compacted_away(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three processes of one stack: this one saw a create being sent; a second recorded that
    it failed without the API acting, and a third compacted both records away. After a
    reload this process must not go on waiting for (or claiming by) that voided create."""
    path = tmp_path / "stack.jsonl"
    this_process = Journal(path)
    this_process.intent(KEY)
    Journal(path).abandoned(KEY)
    monkeypatch.setattr(journal, "COMPACT_AFTER_DEAD_LINES", 0)
    Journal(path)  # the third process compacts: nothing is live
    assert path.read_text() == ""

    this_process.reload()

    assert this_process.unanswered(KEY) is None
    assert Journal(path).unanswered(KEY) is None
