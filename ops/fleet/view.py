"""What a person watches while the fleet runs: one live line per stack, or plain lines.

On a terminal (``LiveView``) every stack keeps one line, redrawn in place four times a
second: its phase, the steps finished per operation, and the time so far. Anywhere else
(CI logs, pipes, ``--json``: ``PlainView``) each stack prints a line when its phase
changes and one when it ends, so a log reads top to bottom. Both write to stderr; the
summary goes to stdout.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Sequence
from types import TracebackType
from typing import Protocol, TextIO

from ops.fleet.run import StackState

REDRAW_SECONDS = 0.25


class View(Protocol):
    """Told about every change of a stack; started before the runs and stopped after."""

    def changed(self, state: StackState) -> None: ...

    def __enter__(self) -> View: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


def counts(state: StackState) -> str:
    """``create 2, same 1`` (steps finished per operation), or ``-`` before the first."""
    parts = [f"{op} {n}" for op, n in sorted(state.finished.items()) if n]
    return ", ".join(parts) or "-"


def line(state: StackState, width: int) -> str:
    """One stack's progress line."""
    phase = state.result if state.done else state.phase
    text = f"{state.name:<{width}}  {phase:<11} {counts(state):<32} {state.duration:6.1f} s"
    if state.error:
        text += f"  {state.error}"
    return text


class PlainView:
    """A line when a stack's phase changes or it ends; nothing redrawn."""

    def __init__(self, out: TextIO, states: Sequence[StackState]) -> None:
        self._out = out
        self._width = max((len(state.name) for state in states), default=5)
        self._seen: dict[str, str] = {}
        self._lock = threading.Lock()

    def changed(self, state: StackState) -> None:
        """Print the stack's line if its phase is new."""
        phase = state.result if state.done else state.phase
        with self._lock:
            if self._seen.get(state.name) == phase:
                return
            self._seen[state.name] = phase
            self._out.write(line(state, self._width).rstrip() + "\n")
            self._out.flush()

    def __enter__(self) -> PlainView:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None


class LiveView:
    """One line per stack, redrawn in place on a terminal."""

    def __init__(self, out: TextIO, states: Sequence[StackState]) -> None:
        self._out = out
        self._states = list(states)
        self._width = max((len(state.name) for state in states), default=5)
        self._drawn = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="fleet-view", daemon=True)

    def changed(self, state: StackState) -> None:
        """Nothing to do now: the next redraw shows it."""

    def _draw(self) -> None:
        columns = max(shutil.get_terminal_size().columns - 1, 20)  # a wrapped line breaks it
        with self._lock:
            text = "".join(
                "\x1b[2K" + line(state, self._width)[:columns] + "\n" for state in self._states
            )
            up = f"\x1b[{self._drawn}F" if self._drawn else ""
            self._out.write(up + text)
            self._out.flush()
            self._drawn = len(self._states)

    def _loop(self) -> None:
        while not self._stop.wait(REDRAW_SECONDS):
            self._draw()

    def __enter__(self) -> LiveView:
        self._draw()
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._draw()
