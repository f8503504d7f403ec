"""Run one stack of the fleet through Pulumi's Automation API and keep what a person needs.

Each stack is a ``LocalWorkspace`` on the project directory with its own environment
(``stacks.Target``); the Automation API runs the CLI and hands every engine event to
``StackRun.on_event``, in a thread of its own. ``StackRun`` turns the events into a
``StackState`` (phase, finished steps per operation, changes, drifted properties, the first
error) under a lock, and tells the progress view after each change.

``pulumi stack select`` (which the Automation API runs to open a stack) writes the
project's workspace file under ``~/.pulumi``; runs take turns for that step only.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

from pulumi import automation as auto
from pulumi.automation import events

from tools.drift_report import NOT_CHANGES, describe

Action = Literal["up", "preview", "drift", "destroy"]
ACTIONS: Final[tuple[Action, ...]] = ("up", "preview", "drift", "destroy")
WORKING: Final[dict[Action, str]] = {
    "up": "updating", "preview": "previewing", "drift": "comparing", "destroy": "destroying",
}
# Engine errors that only say that something else failed: the resource's own error says what.
GENERIC_ERRORS: Final = (
    "update failed", "preview failed", "destroy failed", "refresh failed",
    "resource monitor has terminated", "one or more errors occurred",
)
BUG_NOTE_START: Final = "This is a bug in level-ilert"
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(`'\"])")
_EXCEPTION_LINE = re.compile(r"^(?:[A-Za-z_][\w.]*\.)?[A-Z]\w*(?:Error|Exception|Failure): ")
_select_lock = threading.Lock()


@dataclass
class Drift:
    """One resource a run would change, and the properties that differ (names only)."""

    resource: str
    op: str
    properties: list[str]


@dataclass
class StackState:
    """What a person sees of one stack: live while it runs, and in the summary after."""

    name: str
    action: Action
    phase: str = "queued"
    finished: Counter[str] = field(default_factory=Counter)
    changes: dict[str, int] = field(default_factory=dict)
    drift: list[Drift] = field(default_factory=list)
    error: str | None = None
    started: float | None = None
    ended: float | None = None

    @property
    def done(self) -> bool:
        """True once the run ended, well or not."""
        return self.ended is not None

    @property
    def failed(self) -> bool:
        """True when the run could not do what was asked."""
        return self.error is not None

    @property
    def duration(self) -> float:
        """Seconds from start to end (or until now while running; 0 before it starts)."""
        if self.started is None:
            return 0.0
        return (self.ended if self.ended is not None else time.monotonic()) - self.started

    @property
    def result(self) -> str:
        """One word for the summary: failed, drift, clean, changes, no changes, ... ."""
        if self.failed:
            return "failed"
        if not self.done:
            return self.phase
        changed = bool(self.changes)
        return {
            "up": "updated" if changed else "unchanged",
            "preview": "changes" if changed else "no changes",
            "drift": "drift" if self.drift else "clean",
            "destroy": "destroyed",
        }[self.action]


def first_sentence(message: str) -> str:
    """The first sentence of an error: no traceback, no class name, no bug-report note."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith(BUG_NOTE_START)]
    if not lines:
        return ""
    if lines[0].startswith("Traceback"):
        lines = [line for line in lines if _EXCEPTION_LINE.match(line)] or lines[-1:]
    text = _EXCEPTION_LINE.sub("", lines[0]).removeprefix("error: ").strip()
    return _SENTENCE_END.split(text, maxsplit=1)[0]


def _properties(metadata: events.StepEventMetadata) -> list[str]:
    detailed = metadata.detailed_diff or {}
    return sorted(detailed) if detailed else sorted(metadata.diffs or [])


class StackRun:
    """Runs one action on one stack and keeps its ``StackState`` current."""

    def __init__(
        self,
        state: StackState,
        *,
        project_dir: Path,
        env: dict[str, str],
        on_change: Callable[[StackState], None],
        lock: threading.Lock,
    ) -> None:
        self.state = state
        self._project_dir = project_dir
        self._env = dict(env)
        self._on_change = on_change
        self._lock = lock
        self._resource_errors: list[str] = []
        self._engine_errors: list[str] = []

    def _set(self, **fields: object) -> None:
        with self._lock:
            for name, value in fields.items():
                setattr(self.state, name, value)
        self._on_change(self.state)

    def run(self) -> StackState:
        """Run the action; every failure ends up in ``state.error``, never raised."""
        self._set(phase="starting", started=time.monotonic())
        try:
            workspace = auto.LocalWorkspace(work_dir=str(self._project_dir), env_vars=self._env)
            with _select_lock:
                stack = auto.Stack.select(self.state.name, workspace)
            self._set(phase=WORKING[self.state.action])
            self._call(stack)
        except auto.StackNotFoundError:
            self._fail(
                f"Stack '{self.state.name}' was not found on {self._env.get('PULUMI_BACKEND_URL')}"
                f": create it with 'pulumi stack init {self.state.name}', or set BACKEND_URL."
            )
        except auto.CommandError as error:
            self._fail(self._explain(error))
        except Exception as error:  # one stack's failure must not stop the others
            self._fail(f"{type(error).__name__}: {first_sentence(str(error)) or 'no message'}")
        self._set(ended=time.monotonic(), phase="failed" if self.state.failed else "done")
        return self.state

    def _call(self, stack: auto.Stack) -> None:
        action = self.state.action
        if action == "up":
            result: auto.UpResult | auto.PreviewResult | auto.DestroyResult = stack.up(
                on_event=self.on_event, color="never")
        elif action == "preview":
            result = stack.preview(on_event=self.on_event, color="never", diff=True)
        elif action == "drift":
            result = stack.preview(on_event=self.on_event, color="never", diff=True, refresh=True)
        else:
            result = stack.destroy(on_event=self.on_event, color="never")
        del result  # the events said everything

    def _fail(self, message: str) -> None:
        self._set(error=message or "failed without a message")

    def _explain(self, error: auto.CommandError) -> str:
        """The first sentence of the most telling error: a resource's, then the engine's."""
        for message in (*self._resource_errors, *self._engine_errors):
            return message
        for line in str(error).splitlines():
            _, marker, text = line.partition("error: ")
            if marker and text.strip() and not self._generic(text):
                return first_sentence(text)
        return f"pulumi {self.state.action} failed; see its output (exit code {error_code(error)})"

    @staticmethod
    def _generic(text: str) -> bool:
        lowered = text.removeprefix("error: ").strip().lower()
        return any(lowered.startswith(generic) for generic in GENERIC_ERRORS)

    def on_event(self, event: events.EngineEvent) -> None:
        """Fold one engine event into the state (called from the Automation API's thread)."""
        if event.resource_pre_event is not None:
            self._step_started(event.resource_pre_event.metadata)
        elif event.res_outputs_event is not None:
            with self._lock:
                self.state.finished[event.res_outputs_event.metadata.op.value] += 1
            self._on_change(self.state)
        elif event.diagnostic_event is not None:
            self._diagnostic(event.diagnostic_event)
        elif event.summary_event is not None:
            changes = {
                str(op.value if hasattr(op, "value") else op): int(count)
                for op, count in (event.summary_event.resource_changes or {}).items()
            }
            self._set(changes={op: n for op, n in changes.items()
                               if op not in NOT_CHANGES and n > 0})

    def _step_started(self, metadata: events.StepEventMetadata) -> None:
        op = metadata.op.value
        phase = "refreshing" if op == "refresh" else WORKING[self.state.action]
        with self._lock:
            self.state.phase = phase
            if op not in NOT_CHANGES and self.state.action in ("drift", "preview"):
                self.state.drift.append(Drift(describe(metadata.urn), op, _properties(metadata)))
        self._on_change(self.state)

    def _diagnostic(self, diagnostic: events.DiagnosticEvent) -> None:
        severity = diagnostic.severity
        message = diagnostic.message
        if severity == "error":
            sentence = first_sentence(message)
            if not sentence or self._generic(sentence):
                return
            if diagnostic.urn:
                self._resource_errors.append(f"{describe(diagnostic.urn)}: {sentence}")
            else:
                self._engine_errors.append(sentence)


def error_code(error: auto.CommandError) -> str:
    """The CLI's exit code, as the Automation API's error text gives it."""
    match = re.search(r"code:\s*(-?\d+)", str(error))
    return match.group(1) if match else "unknown"
