"""The per-process listing (providers/inventory.py) keeps the rules its docstring promises:
taken on first use, taken again once older than max_age, this process's writes recorded,
an id it lacks confirmed with one fetch. A fake clock and a counting lister stand in for
the API, so each rule is checked by what the caller is answered and how often it lists."""

from __future__ import annotations

from dataclasses import dataclass

from providers.inventory import Inventory


@dataclass(frozen=True)
class Thing:
    id: str
    name: str = ""


class Api:
    """A collection that counts how often it is listed."""

    def __init__(self, *things: Thing) -> None:
        self.things = list(things)
        self.listed = 0

    def list_all(self) -> list[Thing]:
        self.listed += 1
        return list(self.things)


def test_the_listing_is_taken_once_and_again_only_when_older_than_max_age() -> None:
    api, now = Api(Thing("1")), [1000.0]
    listing = Inventory(api.list_all, max_age=60.0, clock=lambda: now[0])

    assert [t.id for t in listing.find(lambda _: True)] == ["1"]
    api.things.append(Thing("2"))
    now[0] += 60.0  # exactly max_age: still fresh
    assert [t.id for t in listing.find(lambda _: True)] == ["1"]
    now[0] += 0.001
    assert [t.id for t in listing.find(lambda _: True)] == ["1", "2"]
    assert (api.listed, listing.listings) == (2, 2)


def test_a_listing_taken_at_clock_zero_is_used() -> None:
    api = Api(Thing("1"))
    listing = Inventory(api.list_all, max_age=60.0, clock=lambda: 0.0)

    assert listing.get("1", lambda: None) == Thing("1")
    assert listing.get("1", lambda: None) == Thing("1")
    assert api.listed == 1


def test_an_id_missing_from_the_listing_is_fetched_once_then_kept() -> None:
    api, fetched = Api(), []
    listing = Inventory(api.list_all, clock=lambda: 0.0)

    def fetch() -> Thing:
        fetched.append(1)
        return Thing("7", "made elsewhere")

    assert listing.get(7, fetch) == Thing("7", "made elsewhere")
    assert listing.get("7", lambda: None) == Thing("7", "made elsewhere")
    assert (len(fetched), api.listed) == (1, 1)


def test_writes_of_this_process_are_answered_without_listing_again() -> None:
    api = Api(Thing("1", "old"))
    listing = Inventory(api.list_all, clock=lambda: 0.0)
    listing.find(lambda _: True)

    listing.put(Thing("1", "renamed"))
    listing.put(Thing("2", "created"))
    listing.remove(1)

    assert listing.find(lambda _: True) == [Thing("2", "created")]
    assert listing.get("1", lambda: None) is None
    assert api.listed == 1


def test_writes_before_the_first_listing_are_left_to_it() -> None:
    api = Api(Thing("1"))
    listing = Inventory(api.list_all, clock=lambda: 0.0)

    listing.remove("1")  # nothing listed yet: the listing will tell
    listing.put(Thing("9"))

    assert [t.id for t in listing.find(lambda _: True)] == ["1"]


def test_find_while_other_operations_record_their_creates() -> None:
    """A stress test of the lock: one thread looks up (as each create does first) while
    others record what they created. Reading the listing while it grows raised "dictionary
    changed size during iteration" in a fleet of 10 stacks x 20 integrations."""
    import sys
    import threading
    import time

    @dataclass(frozen=True)
    class Numbered:
        id: int

    inventory = Inventory(lambda: [Numbered(index) for index in range(2000)])
    failures: list[BaseException] = []
    lookups: list[int] = []
    stop = threading.Event()

    def writer(offset: int) -> None:
        for index in range(5000):
            if stop.is_set():
                return
            inventory.put(Numbered(10_000 + offset * 10_000 + index))

    def slow_match(thing: Numbered) -> bool:
        if thing.id % 50 == 0:
            time.sleep(0)  # let the writers in while the lookup runs
        return thing.id == -1

    def reader() -> None:
        try:
            for _ in range(20):
                lookups.append(len(inventory.find(slow_match)))
        except BaseException as error:  # reported below, whatever it is
            failures.append(error)
        finally:
            stop.set()

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=writer, args=(n,)) for n in range(3)]
        threads.append(threading.Thread(target=reader))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        sys.setswitchinterval(interval)

    assert failures == []
    assert lookups == [0] * 20
