"""This stack's own creates, recorded on disk, so an ``up`` cut short is taken back next time.

Why: large stacks run with Pulumi's intermediate checkpoints off (README "Scale"): the CLI
then writes the state once, at the end of the command. A CLI that dies in between (killed,
out of memory, machine lost) leaves the objects it created outside the state. The next
``up`` creates them again; the look-up before each create finds them, and without proof of
where they came from must refuse them (``adopt: true`` is the user's way out). This journal
is that proof, kept by the provider process, which makes the creates.

Records (one JSON object per line, appended; the file is per stack, see ``path_for``):

- ``{"op": "intent", "key": K, "at": T, "host": H, "pid": P}`` just before a create is
  sent (by process ``P`` on host ``H``);
- ``{"op": "created", "key": K, "id": ID, "stamp": S, "at": T}`` once the API has answered
  with the object's id and creation time ``S`` (or a lost answer was settled by a look-up
  that found exactly one);
- ``{"op": "abandoned", "key": K}`` when the create failed in a way that proves the API
  did nothing (a 4xx, no connection): the intent is void;
- ``{"op": "deleted", "id": ID}`` after a delete.

``K`` is a SHA-256 of the kind, the API's base URL and the object's identity (an alert
source's name and type, a webhook's URL), so the journal holds no name, URL or key.

**Provably ours.** An object the look-up finds is taken back without ``adopt`` only when
either

1. this stack's journal records that this stack's create was answered with *that id and
   creation time* for *that identity*, and no delete of it since. The API makes ids and
   creation times and never gives one object's id to another (the creation time also
   guards against a sandbox whose world was reset and counts ids from the start again);
   or
2. this stack sent a create for that identity and never heard the answer (the process
   died while it was in flight), and the object was made while that create was under way:
   its creation time lies between the intent and the operation's deadline after it, give
   or take ``CLOCK_SKEW_SECONDS``. The look-up right before that create found no such
   object, so this is the evidence ``create_once`` already accepts to settle a lost
   answer inside one process, carried over to the next one.

A hand-made object, or one another stack made, matches neither; it still needs
``adopt: true``. An intent whose window does not hold the object only lets the error say
what this stack sent and when.

**A create still under way.** A CLI killed with SIGKILL leaves its provider process
running, and that process finishes the creates it had sent. So before a create sends its
own, it looks for an unanswered intent of the same object from an earlier process whose
deadline has not passed yet, and waits (reading the journal, no requests) until that
create is answered, its deadline passes or the process that sent it is gone (same host,
pid no longer running); the look-up that follows then sees its object.

Safety does not depend on the journal being complete: a lost or deleted journal only
removes proofs, and the create then refuses and names the object, as without a journal.
It is never consulted for anything but that one decision.

Location, first that applies: ``$LEVEL_ILERT_JOURNAL_DIR`` (``off`` keeps none); beside the
state when the backend is a local folder (``PULUMI_BACKEND_URL=file://<dir>``: in
``<dir>/.level-ilert/journal``, so the journal lives and travels with the state it
complements); else ``.level-ilert/journal`` in the directory the provider runs in (the
project directory). One file per stack below it: ``<organization>/<project>/<stack>.jsonl``.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import hashlib
import json
import logging
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

LOG = logging.getLogger(__name__)
ENV_DIR = "LEVEL_ILERT_JOURNAL_DIR"
BACKEND_ENV = "PULUMI_BACKEND_URL"
FILE_BACKEND = "file://"
DEFAULT_DIR = Path(".level-ilert") / "journal"
BESIDE_STATE = DEFAULT_DIR
OFF = "off"
# Rewritten (only live ``created`` records kept) when it has this many more lines.
COMPACT_AFTER_DEAD_LINES = 2000
# How far the API's clock may be from this machine's when an intent is matched by time.
CLOCK_SKEW_SECONDS = 60.0
# While an earlier process's create may be under way: how often the journal is read again.
WAIT_STEP_SECONDS = 0.5
MAX_WAIT_STEPS = 10_000  # a bound on the loop; the create's deadline ends it far sooner
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_HOST = socket.gethostname()


def identity_key(kind: str, base_url: str, *identity: str) -> str:
    """The journal's key of one object: no name, URL or key can be read back from it."""
    material = "\0".join((kind, base_url, *identity)).encode("utf-8", "surrogatepass")
    return hashlib.sha256(material).hexdigest()


class Created(Protocol):
    """What the journal needs of an object: its id and the creation time the API reports."""

    @property
    def id(self) -> int | str: ...

    @property
    def created_at(self) -> str | None: ...


@dataclass(frozen=True)
class Intent:
    """A create this stack sent whose answer it never recorded."""

    at: str
    host: str = ""
    pid: int = 0

    def seconds_left(self, in_flight_seconds: float, now: datetime.datetime) -> float:
        """How long this create may still be under way: its deadline minus the time since,
        or 0 once the process that sent it is known to be gone."""
        sent = _parse_time(self.at)
        if sent is None or self._sender_gone():
            return 0.0
        return max((sent - now).total_seconds() + in_flight_seconds, 0.0)

    def _sender_gone(self) -> bool:
        """True if the sending process is this one, or ran on this host and runs no more.
        Sent from another host: unknown, so it may still be under way."""
        if self.host != _HOST or self.pid <= 0:
            return False
        if self.pid == os.getpid():
            return True
        try:
            os.kill(self.pid, 0)  # signal 0: only asks whether the process exists
        except ProcessLookupError:
            return True
        except PermissionError:  # exists, another user's
            return False
        return False

    def covers(self, created_at: str | None, in_flight_seconds: float) -> bool:
        """True if an object made at ``created_at`` was made while this create was under
        way (at most ``in_flight_seconds`` after it was sent, give or take clock skew)."""
        sent, made = _parse_time(self.at), _parse_time(created_at)
        if sent is None or made is None or in_flight_seconds <= 0:
            return False
        skew = datetime.timedelta(seconds=CLOCK_SKEW_SECONDS)
        return sent - skew <= made <= sent + datetime.timedelta(seconds=in_flight_seconds) + skew


class Journal:
    """One stack's record of its creates; safe to use from every thread of the process."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._created: dict[str, tuple[str, str]] = {}  # id -> (key, creation time)
        self._intents: dict[str, Intent] = {}  # key -> the create sent, while no id is known
        self._load()

    # -- reading ---------------------------------------------------------------------------
    def _load(self) -> None:
        """Replay the file, compacting it when most of it is history."""
        if not self.path.exists():
            return
        with self._file_lock():
            # A damaged byte spoils its line only (that line is skipped), never the journal.
            lines = self.path.read_text(encoding="utf-8", errors="replace").splitlines()
            # Rebuilt from the file alone: another process may have compacted away the
            # records that voided what this one still holds (an abandoned intent, a delete);
            # replaying on top would keep that, and a compaction here would write it back.
            self._created, self._intents = {}, {}
            for line in lines:
                with contextlib.suppress(ValueError, KeyError, TypeError):
                    self._apply(json.loads(line))
            if len(lines) - len(self._created) - len(self._intents) > COMPACT_AFTER_DEAD_LINES:
                self._compact()

    def reload(self) -> None:
        """Read the file again: another process of this stack may have written to it."""
        with self._lock:
            self._load()

    def _apply(self, record: dict[str, Any]) -> None:
        op = record["op"]
        if op == "intent":
            pid = record.get("pid")
            self._intents[str(record["key"])] = Intent(
                str(record["at"]),
                str(record.get("host") or ""),
                pid if isinstance(pid, int) and not isinstance(pid, bool) else 0,
            )
        elif op == "created":
            key, object_id = str(record["key"]), str(record["id"])
            self._created[object_id] = (key, str(record.get("stamp") or ""))
            self._intents.pop(key, None)
        elif op == "abandoned":
            self._intents.pop(str(record["key"]), None)
        elif op == "deleted":
            self._created.pop(str(record["id"]), None)

    def made(self, key: str, object_id: int | str, stamp: str | None) -> bool:
        """True if this stack's create of ``key`` was answered with ``object_id`` and the
        creation time ``stamp`` (None or empty when the API reports none)."""
        with self._lock:
            return self._created.get(str(object_id)) == (key, stamp or "")

    def unanswered(self, key: str) -> Intent | None:
        """The create of ``key`` this stack sent but never heard back from, if any."""
        with self._lock:
            return self._intents.get(key)

    # -- writing ---------------------------------------------------------------------------
    def intent(self, key: str) -> None:
        """Record that a create of ``key`` is about to be sent."""
        self._append(
            {"op": "intent", "key": key, "at": _now(), "host": _HOST, "pid": os.getpid()}
        )

    def created(self, key: str, object_id: int | str, stamp: str | None) -> None:
        """Record the id and creation time the create of ``key`` was answered with."""
        self._append(
            {"op": "created", "key": key, "id": str(object_id), "stamp": stamp or "", "at": _now()}
        )

    def abandoned(self, key: str) -> None:
        """Record that the create of ``key`` failed without the API doing anything."""
        self._append({"op": "abandoned", "key": key})

    def deleted(self, object_id: int | str) -> None:
        """Record that the object is gone (deleted by this stack, or found gone)."""
        with self._lock:
            if str(object_id) not in self._created:
                return
        self._append({"op": "deleted", "id": str(object_id)})

    def _append(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, separators=(",", ":")) + "\n"
        with self._lock:
            self._apply(record)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._file_lock(), self.path.open("a", encoding="utf-8") as file:
                file.write(line)

    def _compact(self) -> None:
        """Rewrite the file with the live records only (caller holds the file lock)."""
        records: list[dict[str, Any]] = [
            {"op": "intent", "key": key, "at": sent.at, "host": sent.host, "pid": sent.pid}
            for key, sent in self._intents.items()
        ]
        records += [
            {"op": "created", "key": key, "id": object_id, "stamp": stamp}
            for object_id, (key, stamp) in self._created.items()
        ]
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(
            "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records),
            encoding="utf-8",
        )
        os.replace(temporary, self.path)

    @contextlib.contextmanager
    def _file_lock(self) -> Iterator[None]:
        """Excludes another process of the same stack (e.g. one a killed CLI left behind)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with (self.path.parent / f".{self.path.name}.lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


@dataclass(frozen=True)
class Provenance:
    """One object's create as this stack's journal sees it (``journal`` None: no journal).

    Writing never fails a create: a journal that cannot be written only means no proof
    next time (the create then refuses and names the object, as without a journal).
    """

    journal: Journal | None
    key: str
    # The create's deadline: how long after its intent an object it made can be dated.
    in_flight_seconds: float = 0.0

    def before_create(self) -> None:
        """Record the intent; call just before the create is sent."""
        self._write(lambda journal: journal.intent(self.key))

    def abandoned(self) -> None:
        """Record that the create failed and the API did nothing (the intent is void)."""
        self._write(lambda journal: journal.abandoned(self.key))

    def created(self, made: Created) -> None:
        """Record the object the create was answered with."""
        self._write(lambda journal: journal.created(self.key, made.id, made.created_at))

    def claim(self, found: Created) -> bool:
        """True if this stack's own create made ``found`` (see the module's docstring); a
        claim proved by an unanswered create is recorded as its answer."""
        if self.journal is None:
            return False
        if self.journal.made(self.key, found.id, found.created_at):
            return True
        intent = self.journal.unanswered(self.key)
        if intent is None or not intent.covers(found.created_at, self.in_flight_seconds):
            return False
        self.created(found)
        return True

    def unanswered(self) -> Intent | None:
        """This stack's create that was sent but never answered, if the journal has one."""
        return self.journal.unanswered(self.key) if self.journal is not None else None

    def wait_for_earlier_create(self, sleep: Callable[[float], None] = time.sleep) -> bool:
        """Wait while an earlier process's create of this object may still be under way
        (its intent is unanswered and its deadline has not passed); True if it waited, so
        the caller lists again before it decides to create. Bounded by that deadline."""
        waited = False
        for _ in range(MAX_WAIT_STEPS):
            intent = self.unanswered()
            now = datetime.datetime.now(datetime.UTC)
            left = intent.seconds_left(self.in_flight_seconds, now) if intent else 0.0
            if left <= 0 or self.journal is None:
                return waited
            waited = True
            sleep(min(WAIT_STEP_SECONDS, left))
            self.journal.reload()
        return waited

    def _write(self, write: Callable[[Journal], None]) -> None:
        if self.journal is None:
            return
        try:
            write(self.journal)
        except OSError as error:
            LOG.warning("could not write the journal %s: %s", self.journal.path, error)


def deleted(journal: Journal | None, object_id: int | str) -> None:
    """Record a delete in ``journal`` (if any); never fails the delete."""
    if journal is None:
        return
    try:
        journal.deleted(object_id)
    except OSError as error:
        LOG.warning("could not write the journal %s: %s", journal.path, error)


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")


def _parse_time(text: str | None) -> datetime.datetime | None:
    """An ISO-8601 time with its zone (``Z`` or an offset), or None."""
    if not text:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def path_for(
    stack: str, directory: str | None = None, backend_url: str | None = None
) -> Path | None:
    """The journal file of ``stack`` (``organization/project/stack``), or None when off;
    ``directory`` and ``backend_url`` default to their environment variables."""
    configured = os.environ.get(ENV_DIR, "") if directory is None else directory
    backend = os.environ.get(BACKEND_ENV, "") if backend_url is None else backend_url
    if configured.strip().lower() == OFF:
        return None
    if configured.strip():
        base = Path(configured.strip()).expanduser()
    elif backend.startswith(FILE_BACKEND) and backend[len(FILE_BACKEND):].strip():
        base = Path(backend[len(FILE_BACKEND):].strip()).expanduser() / BESIDE_STATE
    else:
        base = DEFAULT_DIR
    parts = [_UNSAFE.sub("_", part).lstrip(".") or "_" for part in stack.split("/")]
    return base.joinpath(*parts[:-1], f"{parts[-1]}.jsonl")


_JOURNALS: dict[Path, Journal] = {}
_JOURNALS_LOCK = threading.Lock()


def for_stack(stack: str | None) -> Journal | None:
    """The process-wide journal of ``stack``; None for a provider that knows no stack
    (made before this journal existed, or by a program that does not say) or when off."""
    if not stack:
        return None
    path = path_for(stack)
    if path is None:
        return None
    path = path.absolute()
    with _JOURNALS_LOCK:
        journal = _JOURNALS.get(path)
        if journal is None:
            try:
                journal = Journal(path)
            except OSError as error:
                LOG.warning("could not read the journal %s: %s", path, error)
                return None
            _JOURNALS[path] = journal
        return journal


def forget_all() -> None:
    """Drop every open journal (tests: each test plays a provider process of its own)."""
    with _JOURNALS_LOCK:
        _JOURNALS.clear()
