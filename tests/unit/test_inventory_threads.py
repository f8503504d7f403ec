"""The per-process listing, and what a provider object shares, is used by every
thread of the provider server (the engine runs up to four RPCs at once in one process): a
look-up before a create must never trip over a write that another thread records at the
same moment.

Found through the real engine at speed: ``Inventory.find`` iterated the listing without its
lock while another create ``put()`` into it, and ``LevelWebhook.create`` failed with
``RuntimeError: dictionary changed size during iteration``. Here threads look up (``find``,
``get``) while others record creates and deletes, with the interpreter switching threads as
often as it can; every loop is bounded in count and in time.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from providers.inventory import Inventory
from providers.provider_base import ConfiguredProvider

LISTED = 2000  # objects in the listing: long enough for a find to be interrupted
WRITES = 20000  # creates and deletes per writer thread
LOOKUPS = 200  # finds (and gets) per reader thread
READERS, WRITERS = 3, 2
TIME_LIMIT = 60.0  # seconds for all threads together; typically well under 5


@dataclass(frozen=True)
class Thing:
    id: str
    name: str


@pytest.fixture
def frequent_thread_switches() -> Iterator[None]:
    """Let the interpreter switch threads every microsecond instead of every 5 ms."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def _run_all(jobs: list[Callable[[], None]]) -> list[BaseException]:
    """Run every job in its own thread at once; the errors they raised."""
    errors: list[BaseException] = []
    start = threading.Barrier(len(jobs))

    def guarded(job: Callable[[], None]) -> None:
        try:
            start.wait(timeout=TIME_LIMIT)
            job()
        except BaseException as error:  # every failure is the finding
            errors.append(error)

    threads = [threading.Thread(target=guarded, args=(job,), daemon=True) for job in jobs]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + TIME_LIMIT
    for thread in threads:
        thread.join(timeout=max(deadline - time.monotonic(), 0.0))
    stuck = [thread.name for thread in threads if thread.is_alive()]
    assert not stuck, f"threads still running after {TIME_LIMIT:g} s: {stuck}"
    return errors


@pytest.mark.usefixtures("frequent_thread_switches")
def test_lookups_never_fail_while_other_threads_record_creates_and_deletes() -> None:
    listing = Inventory(
        lambda: [Thing(str(n), f"listed {n}") for n in range(LISTED)], clock=lambda: 0.0
    )
    listing.find(lambda _: True)  # taken once, before the threads start
    found_sizes: list[int] = []

    def reader() -> None:
        for n in range(LOOKUPS):
            found_sizes.append(len(listing.find(lambda thing: thing.name.startswith("l"))))
            assert listing.get(str(n), lambda: None) == Thing(str(n), f"listed {n}")

    def writer(first: int) -> Callable[[], None]:
        def write() -> None:
            for n in range(first, first + WRITES):
                listing.put(Thing(str(n), f"created {n}"))
                listing.remove(n)

        return write

    errors = _run_all(
        [reader] * READERS
        + [writer(LISTED + k * WRITES) for k in range(WRITERS)]
    )

    assert errors == []
    # Every look-up saw the listed objects (the writes add and remove others).
    assert found_sizes == [LISTED] * (READERS * LOOKUPS)
    assert len(listing.find(lambda _: True)) == LISTED


@pytest.mark.usefixtures("frequent_thread_switches")
def test_every_thread_of_a_provider_process_gets_its_one_shared_runtime() -> None:
    """What a provider object shares (client, pacing, listings) is built once, whatever the
    number of RPC threads asking at once: two listings would each miss the other's writes,
    two pacers would each allow the full rate."""
    provider = ConfiguredProvider()
    built: list[object] = []

    def build() -> object:
        time.sleep(0.001)  # a slow build, so that other threads arrive meanwhile
        made = object()
        built.append(made)
        return made

    got: set[int] = set()

    def fetch() -> None:
        for _ in range(50):
            got.add(id(provider.shared(build)))

    errors = _run_all([fetch] * 8)

    assert errors == []
    assert len(built) == 1
    assert got == {id(built[0])}
