"""One listing of a collection, shared by every operation of the provider process.

Why: the engine reads, creates and looks up resources one at a time. Answering each with
its own request costs 2N requests to refresh N integrations, at ilert's 120 requests per
minute. A listing answers many of them at once: a refresh then costs one request per
page (50 alert sources, 100 webhooks), and the look-up before each create (adoption, no
duplicates) costs nothing after the first.

Rules that keep the listing true:
- it is taken on first use and again once it is older than ``max_age`` seconds, so a long
  run never answers from an old picture;
- every write this process makes is recorded in it (create, update, delete);
- an id the listing lacks is confirmed with one GET before it is reported gone: the object
  may have been created after the listing was taken.

Where it lives: on the provider object, which the SDK's server keeps one of per process
(providers/provider_base.py). Threads: the server answers several RPCs at once in one
process, all through the same inventory. Every read and write of the listing happens
under its lock, and no method hands the listing itself out: ``find`` filters a copy taken
under the lock, so a create recorded by another thread can never change the dict while it
is being iterated.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Generic, Protocol, TypeVar

DEFAULT_MAX_AGE_SECONDS = 60.0


class HasId(Protocol):
    """What the inventory needs of an object: its id."""

    @property
    def id(self) -> int | str: ...


Item = TypeVar("Item", bound=HasId)


class Inventory(Generic[Item]):
    """The objects of one collection, as last listed, plus this process's own writes."""

    def __init__(
        self,
        list_all: Callable[[], Iterable[Item]],
        *,
        max_age: float = DEFAULT_MAX_AGE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._list_all = list_all
        self._max_age = max_age
        self._clock = clock
        self._lock = threading.RLock()  # the listing: held while one is taken
        self._items: dict[str, Item] | None = None
        self._taken_at = 0.0
        self.listings = 0  # how many times the collection was listed (for figures and tests)

    def _fresh(self) -> dict[str, Item]:
        """The listing, taken again if stale; the caller must hold ``self._lock``."""
        if self._items is None or self._clock() - self._taken_at > self._max_age:
            self.reload()
        assert self._items is not None
        return self._items

    def reload(self) -> None:
        """List the collection again now (after a lost answer, or when the caller must be sure).

        The lock is held while listing, so concurrent callers wait for this one listing
        instead of each taking their own.
        """
        with self._lock:
            items = {str(item.id): item for item in self._list_all()}
            self._items, self._taken_at = items, self._clock()
            self.listings += 1

    def get(self, item_id: int | str, fetch_one: Callable[[], Item | None]) -> Item | None:
        """The object with this id, or None when it is gone (confirmed by ``fetch_one``)."""
        with self._lock:
            item = self._fresh().get(str(item_id))
        if item is not None:
            return item
        item = fetch_one()  # outside the lock: one GET must not hold up the other threads
        if item is not None:
            self.put(item)
        return item

    def find(self, match: Callable[[Item], bool]) -> list[Item]:
        """Every listed object that ``match`` accepts, in the API's order.

        Matched on a copy taken under the lock: another operation's ``put`` (a create that
        just finished) must not change the listing while it is read. ``match`` runs outside
        the lock: it is the caller's code, and other threads wait to record their writes.
        """
        with self._lock:
            items = list(self._fresh().values())
        return [item for item in items if match(item)]

    def held(self, item_id: int | str) -> Item | None:
        """The object with this id if a listing or a write of this process holds it; never
        lists (None when nothing is held)."""
        with self._lock:
            return None if self._items is None else self._items.get(str(item_id))

    def put(self, item: Item) -> None:
        """Record an object this process created, updated or read."""
        with self._lock:
            if self._items is not None:
                self._items[str(item.id)] = item

    def remove(self, item_id: int | str) -> None:
        """Record an object this process deleted (or found gone)."""
        with self._lock:
            if self._items is not None:
                self._items.pop(str(item_id), None)
