"""``Sandbox.stop()``: no race with the serve loop, ports and threads released every time.

Issue 8 item 8: ``stop()`` used to raise ``OSError: [Errno 9] Bad file descriptor`` about
one run in five on a loaded machine. werkzeug's ``serve_forever`` closed the listening
socket as soon as its loop ended, while ``stop()`` could still be waking that loop
through the (now closed) socket.
"""

from __future__ import annotations

import socket
import socketserver
import threading
import time

import psutil
import pytest
import requests

from sandbox import Sandbox
from tests.sandbox.helpers import ilert, level

CYCLES = 200


def _ports(sb: Sandbox) -> tuple[int, int]:
    return int(sb.ilert_url.rsplit(":", 1)[1]), int(sb.level_url.rsplit(":", 1)[1])


def _refused(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return False
    except ConnectionRefusedError:
        return True


def _free_fixed_ports(first: int = 21790, last: int = 31790) -> tuple[int, int]:
    """Two consecutive free loopback ports outside the ephemeral range."""
    for port in range(first, last, 2):
        if _bindable(port) and _bindable(port + 1):
            return port, port + 1
    raise RuntimeError(f"no two free ports between {first} and {last}")


def _bindable(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _open_fds() -> int:
    """This process's open file descriptors (psutil counts them on Linux and macOS alike)."""
    return psutil.Process().num_fds()


@pytest.mark.timeout(120)
def test_stop_and_start_200_times_on_the_same_ports() -> None:
    # Two free ports below Linux's ephemeral range (32768-60999): between a stop and the next
    # start, no other test (pytest-xdist runs several at once) can be handed them by bind(0).
    ilert_port, level_port = _free_fixed_ports()
    # Other tests' leftovers may still close while this runs: look for additions only.
    fds, threads = _open_fds(), set(threading.enumerate())
    for cycle in range(CYCLES):
        # The same fixed ports every time, as `make sandbox-stop sandbox-start` does: start
        # raises OSError("cannot listen ...") if a stop left a port bound.
        sb = Sandbox(ilert_port=ilert_port, level_port=level_port).start()
        if cycle % 20 == 0:  # now and then with request threads to join as well
            assert ilert(sb).get("/api/teams").status_code == 200
            assert level(sb).get("/v2/webhooks").status_code == 200
        sb.stop()  # used to raise OSError(EBADF) now and then
        sb.stop()  # idempotent
        assert sb._servers == []
    assert _refused(ilert_port)
    assert _refused(level_port)
    assert _open_fds() <= fds, "stop() leaked file descriptors"
    assert set(threading.enumerate()) - threads == set(), "stop() left threads behind"


def test_stop_survives_a_serve_loop_that_ended_before_the_wake_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The race made deterministic: the thread that called ``shutdown()`` lingers after
    the serve loop ended, so ``stop()`` still wakes a loop that is already gone."""
    original = socketserver.BaseServer.shutdown

    def slow_to_return(self: socketserver.BaseServer) -> None:
        original(self)
        time.sleep(0.05)

    monkeypatch.setattr(socketserver.BaseServer, "shutdown", slow_to_return)
    for _ in range(3):
        sb = Sandbox().start()
        ilert_port, level_port = _ports(sb)
        sb.stop()
        assert _refused(ilert_port)
        assert _refused(level_port)


def test_stop_cuts_a_long_fault_delay_short_and_drops_that_connection(
    sandbox: Sandbox,
) -> None:
    sandbox.faults.add("ilert", "GET", "/api/teams", status=None, delay_seconds=60)
    outcome: list[BaseException | int] = []

    def call() -> None:
        try:
            outcome.append(ilert(sandbox).get("/api/teams").status_code)
        except requests.RequestException as exc:
            outcome.append(exc)

    client = threading.Thread(target=call)
    client.start()
    for _ in range(500):  # bounded: until the request is held by the delay
        if sandbox.requests.in_flight:
            break
        time.sleep(0.01)
    assert sandbox.requests.in_flight == 1
    sandbox.stop()  # would wait out the 60 s delay before; the client thread must end now
    client.join(5)
    assert not client.is_alive()
    assert len(outcome) == 1
    assert isinstance(outcome[0], requests.ConnectionError), outcome
    assert [(r.path, r.status, r.fault) for r in sandbox.requests] == [
        ("/api/teams", 0, "before")
    ]
    assert sandbox.ilert_alert_sources() == []
