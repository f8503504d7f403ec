"""Which objects belong to this stack's state in the running deployment, and which a create
took over: so that a create never takes, and a delete never removes, another resource's object.

Why (each seen through the real CLI):

- ``pulumi up --replace`` creates the new alert source before it deletes the old one. The
  create's look-up then finds the old source (same name and type): it is neither a duplicate
  to refuse nor one to adopt, it is this stack's own, about to be deleted.
- A changed ``resourceName`` gives an integration a new URN: the engine creates the new
  resources, then deletes the old ones. The create's look-up found the old URN's source and
  took it over (``adopt: true``, or this stack's journal proving it made it); the old URN's
  delete then removed the very object the new URN had just taken. ``up`` exited 0 and
  nothing was left to page anyone.

So, per deployment (one ``pulumi up``, ``preview`` or ``destroy``, or one phase of it):

- **held**: every run refreshes first (Pulumi.yaml ``refresh: always``) and ``read`` notes
  each object it finds. A create's look-up leaves held objects out: it makes a new object
  beside them (a replacement), it never refuses, adopts or takes back one this stack owns.
- **taken**: a create that does take an object over (``adopt``, the journal) notes it; a
  delete of that id in the same deployment leaves the object alone, since it has moved to
  another resource of the stack (only without a refresh can that happen, e.g.
  ``pulumi up --refresh=false``).

The engine spreads one deployment over several provider processes (measured with CLI
3.274.1: a renamed resource's create ran in another process than the refresh that read the
old one), so the notes are a file those processes share. Pulumi gives every provider process
of a deployment the engine's address as its one argument; that address and the Pulumi CLI
process that runs the deployment name the file, in ``deployments/`` of the per-user cache
(``$LEVEL_ILERT_STATE_NOTES_DIR`` overrides it). A note holds a hash of the API, base URL
and credential, and an object id: never a credential or a URL. Outside the provider server
(tests, ``ops``) the notes stay in the process.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Literal

ENV_DIR = "LEVEL_ILERT_STATE_NOTES_DIR"
KEEP_SECONDS = 2 * 24 * 3600  # files of older deployments are removed
Note = Literal["held", "taken"]


def scope_key(kind: str, base_url: str, credential: str) -> str:
    """One collection at one API and key, as a hash (the credential never leaves memory)."""
    text = f"{kind}\n{base_url}\n{credential}"
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:20]


class Notes:
    """The notes of one deployment: in memory, and in a file when one is given."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._seen: set[tuple[str, str, str]] = set()  # (note, scope, id)
        self._offset = 0

    def add(self, note: Note, scope: str, object_id: int | str) -> None:
        entry = (note, scope, str(object_id))
        with self._lock:
            if entry in self._seen:
                return
            self._seen.add(entry)
            if self._path is not None:
                line = json.dumps({"note": note, "scope": scope, "id": str(object_id)}) + "\n"
                with self._file(exclusive=True) as file:
                    file.seek(0, os.SEEK_END)
                    file.write(line)

    def has(self, note: Note, scope: str, object_id: int | str) -> bool:
        with self._lock:
            if self._path is not None:
                self._read_new()
            return (note, scope, str(object_id)) in self._seen

    def _read_new(self) -> None:
        """Take in what other processes of the deployment noted since the last read."""
        with self._file(exclusive=False) as file:
            file.seek(self._offset)
            text = file.read()
        complete = text[: text.rfind("\n") + 1]  # a line being written is read next time
        self._offset += len(complete.encode("utf-8"))
        for line in complete.splitlines():
            with contextlib.suppress(ValueError, KeyError, TypeError):
                record = json.loads(line)
                self._seen.add((record["note"], record["scope"], str(record["id"])))

    @contextlib.contextmanager
    def _file(self, *, exclusive: bool) -> Iterator[IO[str]]:
        assert self._path is not None
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        with os.fdopen(fd, "r+", encoding="utf-8") as file:
            fcntl.flock(file, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            try:
                yield file
                file.flush()  # a line written reaches the file before the lock is let go
            finally:
                fcntl.flock(file, fcntl.LOCK_UN)


def notes_dir() -> Path:
    """``$LEVEL_ILERT_STATE_NOTES_DIR``, else ``deployments/`` in the per-user cache."""
    explicit = os.environ.get(ENV_DIR, "").strip()
    if explicit:
        return Path(explicit)
    cache = os.environ.get("XDG_CACHE_HOME", "").strip()
    base = Path(cache) if cache else Path.home() / ".cache"
    return base / "level-ilert" / "deployments"


def deployment_name(argv: list[str], cli: str) -> str | None:
    """The deployment this provider process serves, as a file name; None outside the
    provider server (whose one argument is the engine's address)."""
    if len(argv) != 2 or ":" not in argv[1]:
        return None
    digest = hashlib.sha256(f"{argv[1]}\n{cli}".encode()).hexdigest()[:24]
    return f"{digest}.jsonl"


def _cli_process() -> str:
    """The process two levels up (the Pulumi CLI: it runs a shell script that runs this
    server), with its start time so that a reused pid is another deployment; best effort."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        script = Path(f"/proc/{os.getppid()}/stat").read_text().rsplit(")", 1)[1].split()
        cli = script[1]
        started = Path(f"/proc/{cli}/stat").read_text().rsplit(")", 1)[1].split()[19]
        return f"{cli}@{started}"
    return f"{os.getppid()}"


def _open_file(name: str) -> Path | None:
    """The deployment's file, after clearing old deployments' files; None if unusable."""
    directory = notes_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        cutoff = time.time() - KEEP_SECONDS
        for old in directory.glob("*.jsonl"):
            with contextlib.suppress(OSError):
                if old.stat().st_mtime < cutoff:
                    old.unlink()
        path = directory / name
        path.touch(mode=0o600, exist_ok=True)
    except OSError:
        return None
    return path


_NOTES: Notes | None = None
_NOTES_LOCK = threading.Lock()


def _notes() -> Notes:
    global _NOTES  # noqa: PLW0603 (one per process, made on first use)
    with _NOTES_LOCK:
        if _NOTES is None:
            from providers.engine_adapter import server_module  # noqa: PLC0415 (no cycle at import)

            name = deployment_name(sys.argv, _cli_process()) if server_module() else None
            _NOTES = Notes(_open_file(name) if name else None)
        return _NOTES


def note(scope: str, object_id: int | str) -> None:
    """Record that this stack's state holds the object (``read`` found it)."""
    _notes().add("held", scope, object_id)


def holds(scope: str, object_id: int | str) -> bool:
    """Whether a refresh of this deployment read the object: it belongs to this stack."""
    return _notes().has("held", scope, object_id)


def note_taken(scope: str, object_id: int | str) -> None:
    """Record that a create of this deployment took the object over (adopt, journal)."""
    _notes().add("taken", scope, object_id)


def was_taken(scope: str, object_id: int | str) -> bool:
    """Whether a create of this deployment took the object over: it has moved, keep it."""
    return _notes().has("taken", scope, object_id)


def forget_all() -> None:
    """Forget every note (tests: each test plays a provider process of its own)."""
    global _NOTES  # noqa: PLW0603
    with _NOTES_LOCK:
        _NOTES = None
