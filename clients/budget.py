"""One rate budget per API key on this machine, shared by every process that uses the key.

ilert counts requests per API key, not per process. The fleet's stacks, a plain
``pulumi up`` in another terminal, ``make doctor`` / ``make verify`` and the bench all draw
on the same 120 requests per minute, so each process takes its tokens from one log per
(API, base URL, key): pyrate-limiter's ``SQLiteBucket`` (a sliding-window log, one row per
request) in a per-user cache directory.

Files, in ``$LEVEL_ILERT_RATELIMIT_DIR`` or else
``${XDG_CACHE_HOME:-~/.cache}/level-ilert/ratelimit/`` (created with mode 0700):
``<digest>.sqlite`` (plus SQLite's ``-wal`` and ``-shm``) and ``<digest>.lock``. The digest
is SHA-256 over a fixed prefix, the API, the base URL and the key: the key itself is never
written, and each row holds only a timestamp and ``pid <n>`` of the process that took it.

Locking: the threads of a process queue on one ``threading.RLock`` per budget; processes
queue on an ``flock`` of ``<digest>.lock`` (``filelock.FileLock``, with its "soft"
fallback turned off: a soft lock is a marker file that would outlive a killed holder).
Both are held only for the milliseconds of one SQLite transaction, never while a request
is in flight. The kernel drops an ``flock`` when its process dies (``kill -9`` included)
and SQLite ignores a transaction cut short, so no process can leave the budget locked.

Waiting: a token is taken only when the window has room (pyrate-limiter's check and insert,
under the locks); otherwise the process sleeps until the oldest request in the window
leaves it, read from the log, and tries again. Each token is stamped with the clock when it
is taken, never with the time a sleep was meant to end (pyrate-limiter's own blocking wait
does that, and a thread woken late on a busy machine would log its request as earlier than
it left).

The budget also tells a run that waits because *other* processes spent the window: the
first such wait per budget and process is logged once at WARNING (a provider's stderr
reaches the Pulumi CLI's output). Waiting on one's own requests is plain pacing and says
nothing.

If the directory cannot be used (a read-only home, say), the process paces alone, in
memory, and says so once.

The log is local to one machine and its file system: a key shared with another machine
(or across a network file system) still meets the API's 429, which the HTTP layer handles
(``clients/http.py``).
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Final, Protocol

from filelock import FileLock
from pyrate_limiter import Duration, Limiter, Rate
from pyrate_limiter.buckets import SQLiteBucket
from pyrate_limiter.limiter import SingleBucketFactory

# What the "waiting on others" line says, so that the fleet can recognise it.
SHARED_BUDGET_MARK = "used this key's budget"
LOG = logging.getLogger(__name__)

DIR_ENV: Final = "LEVEL_ILERT_RATELIMIT_DIR"
TABLE: Final = "requests"
_CREATE_TABLE: Final = "CREATE TABLE IF NOT EXISTS requests (name VARCHAR, item_timestamp INTEGER)"
_CREATE_INDEX: Final = "CREATE INDEX IF NOT EXISTS idx_requests_ts ON requests (item_timestamp)"
_OTHERS: Final = (
    "SELECT COUNT(DISTINCT name) FROM requests WHERE item_timestamp >= ? AND name != ?"
)
_DELETE_OLD: Final = "DELETE FROM requests WHERE item_timestamp < ?"
_NTH_NEWEST: Final = (
    "SELECT item_timestamp FROM requests ORDER BY item_timestamp DESC LIMIT 1 OFFSET ?"
)
# Rows older than this are deleted (at most once a minute per process). Far above any
# window a user sets, so a process with a short window never deletes rows that a process
# with a longer one still counts.
KEEP_SECONDS: Final = 3600.0
CLEANUP_EVERY_SECONDS: Final = 60.0
# Requests leave a little after their token is taken and the API counts them when they
# arrive: pace 2 % under the published limit.
PACING_MARGIN: Final = 1.02
LOCK_POLL_SECONDS: Final = 0.002
# A budget is locked for milliseconds at a time; one locked longer than this when a process
# opens it is held by a stopped process (Ctrl-Z): pace alone rather than hang.
OPEN_TIMEOUT_SECONDS: Final = 10.0
WAIT_BUFFER_MS: Final = 5
# Sleeps per token at most: each ends when the window frees a slot; another process may take
# it first, so a wait can take several. The timeout bounds the time; this, the loop.
MAX_WAITS: Final = 100_000
_DIGEST_PREFIX: Final = b"level-ilert rate budget v1\x00"


class Budget(Protocol):
    """What the HTTP layer needs from a budget: one token per request, or a timeout."""

    def acquire(self, timeout: float) -> bool:
        """Take one token, waiting at most ``timeout`` seconds; False if none came in time."""


@dataclass(frozen=True)
class Window:
    """At most ``requests`` per ``seconds`` (the limit published for one API key)."""

    requests: int
    seconds: float

    def rate(self) -> Rate:
        """The pyrate-limiter rate, ``PACING_MARGIN`` under the published limit."""
        return Rate(self.requests, max(int(self.seconds * Duration.SECOND * PACING_MARGIN), 1))


def budget_dir() -> Path:
    """Where budgets live: ``$LEVEL_ILERT_RATELIMIT_DIR``, else the user's cache directory."""
    override = os.environ.get(DIR_ENV, "").strip()
    if override:
        return Path(override)
    cache = os.environ.get("XDG_CACHE_HOME", "").strip()
    base = Path(cache) if cache else Path.home() / ".cache"
    return base / "level-ilert" / "ratelimit"


def budget_digest(api: str, base_url: str, credential: str) -> str:
    """The budget's file name: a hash of API, base URL and key, which it never reveals."""
    digest = hashlib.sha256(_DIGEST_PREFIX)
    for part in (api, base_url, credential):
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    return digest.hexdigest()[:32]


class _BudgetLock:
    """A re-entrant lock across threads (``RLock``) and processes (``flock``).

    pyrate-limiter takes it around each check-and-insert; ``SQLiteBucket`` takes it again
    inside, hence re-entrant. Threads wait on the ``RLock`` (woken at once, no polling);
    only the one thread per process that holds it polls the ``flock``, every 2 ms.
    """

    def __init__(self, path: Path) -> None:
        self._thread_lock = threading.RLock()
        self._file_lock = FileLock(
            path, mode=0o600, thread_local=False, fallback_to_soft=False,
            poll_interval=LOCK_POLL_SECONDS,
        )

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        """Both locks, within ``timeout`` seconds in all (-1: no limit); False if not in time."""
        started = time.monotonic()
        if not self._thread_lock.acquire(blocking, timeout if blocking else -1):
            return False
        if not blocking:
            remaining = 0.0
        elif timeout < 0:
            remaining = -1.0
        else:
            remaining = max(timeout - (time.monotonic() - started), 0.0)
        try:
            self._file_lock.acquire(timeout=remaining)
        except BaseException as exc:
            self._thread_lock.release()
            if isinstance(exc, TimeoutError):  # filelock.Timeout is a TimeoutError
                return False
            raise
        return True

    def release(self) -> None:
        """Release both (the ``flock`` first: another process may be polling for it)."""
        self._file_lock.release()
        self._thread_lock.release()

    def __enter__(self) -> _BudgetLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


# One lock per budget file and process: every limiter of the budget in this process shares it.
_LOCKS: dict[Path, _BudgetLock] = {}
_LOCKS_GUARD = threading.Lock()


def _lock_for(path: Path) -> _BudgetLock:
    with _LOCKS_GUARD:
        lock = _LOCKS.get(path)
        if lock is None:
            lock = _LOCKS[path] = _BudgetLock(path)
        return lock


class SharedBudget:
    """The machine-wide budget of one API key (see the module docstring)."""

    def __init__(
        self, *, api: str, base_url: str, credential: str, window: Window, directory: Path
    ) -> None:
        self.api = api
        self.window = window
        digest = budget_digest(api, base_url, credential)
        self.path = directory / f"{digest}.sqlite"
        self._me = f"pid {os.getpid()}"
        self._lock = _lock_for(directory / f"{digest}.lock")
        if not self._lock.acquire(timeout=OPEN_TIMEOUT_SECONDS):
            raise TimeoutError(f"the budget stayed locked for {OPEN_TIMEOUT_SECONDS:g} s")
        try:
            connection = sqlite3.connect(
                self.path, isolation_level="DEFERRED", check_same_thread=False, timeout=30
            )
            os.chmod(self.path, 0o600)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute(_CREATE_TABLE)
            connection.execute(_CREATE_INDEX)
            connection.commit()
        finally:
            self._lock.release()
        self._bucket = SQLiteBucket([window.rate()], connection, TABLE, lock=self._lock)
        # The bucket's own leaker would delete by *this* process's window; ours keeps an hour.
        self._limiter = Limiter(SingleBucketFactory(self._bucket, schedule_leak=False), buffer_ms=5)
        # pyrate-limiter puts the bucket's lock in front of its own only when handed the
        # bucket itself; with a factory, do the same by hand.
        self._limiter.lock = (self._lock, self._limiter.lock)
        self._said_shared = False
        self._said_shared_guard = threading.Lock()
        self._last_cleanup = 0.0

    def acquire(self, timeout: float) -> bool:
        """One token, waiting at most ``timeout`` seconds (saying once when others share).

        Every wait (for the lock, for the message's count, for room) is counted against the
        one deadline: the HTTP layer passes what is left of the request's own."""
        end = time.monotonic() + max(timeout, 0.0)
        if self._take(timeout):
            self._cleanup()
            return True
        if not self._said_shared:
            others = self.other_processes(timeout=min(max(end - time.monotonic(), 0.0), 1.0))
            if others and self._first_to_say():
                LOG.warning(  # SHARED_BUDGET_MARK is in it: the fleet reports this line
                    "%s API: waiting for a request slot; %d other process%s on this machine "
                    "used this key's budget (%d requests per %g s) within the last %g s "
                    "(running or finished since).",
                    self.api, others, "" if others == 1 else "es", self.window.requests,
                    self.window.seconds, self.window.seconds,
                )
        for _ in range(MAX_WAITS):
            remaining = end - time.monotonic()
            if remaining <= 0:
                return False
            time.sleep(min(self._wait_seconds(remaining), remaining))
            if self._take(end - time.monotonic()):
                return True
        return False

    def _first_to_say(self) -> bool:
        """True for one caller only: threads of this process that wait at once would
        otherwise all pass the unguarded check above and each print the same line."""
        with self._said_shared_guard:
            first = not self._said_shared
            self._said_shared = True
            return first

    def _take(self, timeout: float) -> bool:
        """One token if the window has room now; waits only for the lock, not for room."""
        if not self._lock.acquire(timeout=max(timeout, 0.0)):
            return False
        try:
            # Re-entered by the limiter: the lock is this thread's already.
            return bool(self._limiter.try_acquire(self._me, blocking=False))
        finally:
            self._lock.release()

    def _wait_seconds(self, limit: float) -> float:
        """Until the oldest request that still fills the window leaves it (at least 1 ms);
        waits for the lock at most ``limit`` seconds (and 1 s).

        The wait is re-read from the log after every sleep and the token stamped with the
        clock when it is taken: pyrate-limiter's own blocking wait stamps it with the time
        the sleep was *meant* to end, so a thread that overslept (a busy machine) would log
        its request earlier than it left, and let the next one out early.
        """
        offset = self.window.requests - 1
        if not self._lock.acquire(timeout=min(limit, 1.0)):
            return LOCK_POLL_SECONDS
        try:
            row = self._bucket.conn.execute(_NTH_NEWEST, (offset,)).fetchone()
        finally:
            self._lock.release()
        if row is None:
            return 0.001
        leaves_ms = int(row[0]) + self.window.rate().interval - time.time_ns() // 1_000_000
        return max(leaves_ms + WAIT_BUFFER_MS, 1) / 1000

    def other_processes(self, timeout: float = -1) -> int:
        """How many other processes took tokens from this budget within the window (0 when
        the budget stays locked for ``timeout`` seconds: this only decides a message)."""
        since = time.time_ns() // 1_000_000 - int(self.window.seconds * 1000)
        if not self._lock.acquire(timeout=timeout):
            return 0
        try:
            row = self._bucket.conn.execute(_OTHERS, (since, self._me)).fetchone()
        finally:
            self._lock.release()
        return int(row[0])

    def _cleanup(self) -> None:
        now = time.monotonic()
        if now - self._last_cleanup < CLEANUP_EVERY_SECONDS:
            return
        self._last_cleanup = now
        keep = max(KEEP_SECONDS, self.window.seconds) * 1000
        with self._lock:
            self._bucket.conn.execute(_DELETE_OLD, (time.time_ns() // 1_000_000 - int(keep),))
            self._bucket.conn.commit()

    def close(self) -> None:
        """Close the database connection (tests; a provider process keeps it for its life)."""
        self._limiter.close()


class LocalBudget:
    """This process's own budget, in memory: the fallback when the directory is unusable."""

    def __init__(self, window: Window) -> None:
        self._limiter = Limiter(window.rate(), buffer_ms=5)

    def acquire(self, timeout: float) -> bool:
        """One token, waiting at most ``timeout`` seconds."""
        return bool(self._limiter.try_acquire("requests", blocking=True, timeout=max(timeout, 0.0)))

    def close(self) -> None:
        """Stop the limiter's leaker thread."""
        self._limiter.close()


_fallback_said = False
_fallback_said_guard = threading.Lock()


def open_budget(
    *, api: str, base_url: str, credential: str, window: Window
) -> SharedBudget | LocalBudget:
    """The shared budget of this key, or (when its directory cannot be used) a local one."""
    global _fallback_said  # noqa: PLW0603 (one warning per process)
    directory = budget_dir()
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        return SharedBudget(
            api=api, base_url=base_url, credential=credential, window=window, directory=directory
        )
    except (OSError, sqlite3.Error) as exc:
        with _fallback_said_guard:
            first = not _fallback_said
            _fallback_said = True
        if first:
            LOG.warning(
                "The shared rate budget in %s cannot be used (%s); this process paces its %s "
                "requests alone. Other processes on the same API key may then meet the API's "
                "rate limit. Set %s to a writable folder to share it.",
                directory, exc, api, DIR_ENV,
            )
        return LocalBudget(window)


def forget_locks() -> None:
    """Drop the per-process locks (tests: each test plays a process of its own)."""
    with _LOCKS_GUARD:
        _LOCKS.clear()
