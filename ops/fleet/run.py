"""Run one stack of the fleet through Pulumi's Automation API and keep what a person needs.

Each stack is a ``LocalWorkspace`` on the project directory with its own environment
(``stacks.Target``); the Automation API runs the CLI and hands every engine event to
``StackRun.on_event``, in a thread of its own. ``StackRun`` turns the events into a
``StackState`` (phase, finished steps per operation, changes, drifted properties, the first
error) under a lock, and tells the progress view after each change.

Each action runs as ``make <action>`` runs it (``MAKE_ENV``: ``make drift`` skips the
preflight's Level write probe, so a read-only Level key is enough for both), and a
``sandbox*`` stack is created on first use, as make creates it. A resource the providers
took over instead of creating (``adopt``) is counted as adopted, not created.

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

from components.preflight import MODE_ENV, READ_ONLY
from providers.provider_base import ADOPTED_NOTE
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
# What each `make <action>` adds to the environment of its pulumi command (the Makefile's
# target-specific exports; tests/ops/test_fleet.py reads the Makefile to keep them equal).
MAKE_ENV: Final[dict[Action, dict[str, str]]] = {
    "up": {}, "preview": {}, "drift": {MODE_ENV: READ_ONLY}, "destroy": {},
}
# Providers are steps of the engine, not resources the summary counts.
PROVIDER_TYPE_PREFIX: Final = "pulumi:providers:"
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(`'\"])")
_EXCEPTION_LINE = re.compile(r"^(?:[A-Za-z_][\w.]*\.)?[A-Z]\w*(?:Error|Exception|Failure): ")
_select_lock = threading.Lock()
# The program's own errors (settings, preflight) come on the stack resource: no resource to name.
STACK_TYPE: Final = "::pulumi:pulumi:Stack::"


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
    #: the whole error, when ``error`` is its first line (the fleet prints it after the table)
    detail: str | None = None
    #: resources taken over (``adopt``) that the engine counts as created
    adopted: int = 0
    #: what the person should know about this run (a rename that replaces, ...)
    notes: list[str] = field(default_factory=list)
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
    first = _EXCEPTION_LINE.sub("", lines[0]).removeprefix("error: ").strip()
    if first.endswith(":") and len(lines) > 1 and lines[1].startswith("- "):
        # A heading over a list of problems ("Preflight ... nothing was changed:", "Invalid
        # stack config:"): the first problem names the cause.
        first = lines[1].removeprefix("- ").strip()
    return _SENTENCE_END.split(first, maxsplit=1)[0]


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
        create: bool = False,
    ) -> None:
        self.state = state
        self._project_dir = project_dir
        self._env = {**env, **MAKE_ENV[state.action]}
        self._on_change = on_change
        self._lock = lock
        self._create = create
        self._resource_errors: list[str] = []
        self._engine_errors: list[str] = []
        self._error_details: dict[str, str] = {}
        self._finished: set[tuple[str, str]] = set()
        self._steps: list[events.StepEventMetadata] = []

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
                stack = (auto.Stack.create_or_select if self._create else auto.Stack.select)(
                    self.state.name, workspace)
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
        self._set(error=message or "failed without a message",
                  detail=self._error_details.get(message))

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
            self._step_finished(event.res_outputs_event.metadata)
        elif event.diagnostic_event is not None:
            self._diagnostic(event.diagnostic_event)
        elif event.summary_event is not None:
            changes = {
                str(op.value if hasattr(op, "value") else op): int(count)
                for op, count in (event.summary_event.resource_changes or {}).items()
            }
            changes = {op: n for op, n in changes.items() if op not in NOT_CHANGES and n > 0}
            with self._lock:
                adopted = min(self.state.adopted, changes.get("create", 0))
            if adopted:  # the engine counts a take-over as a create
                changes["create"] -= adopted
                changes["adopt"] = adopted
                changes = {op: n for op, n in changes.items() if n > 0}
            self._set(changes=changes)

    def _step_started(self, metadata: events.StepEventMetadata) -> None:
        op = metadata.op.value
        phase = "refreshing" if op == "refresh" else WORKING[self.state.action]
        with self._lock:
            self.state.phase = phase
            self._steps.append(metadata)
            # A provider's step (its config changed in the stack file) is no drift: the CLI's
            # --expect-no-changes, which make drift uses, does not count it either.
            if (op not in NOT_CHANGES and self.state.action in ("drift", "preview")
                    and not metadata.type.startswith(PROVIDER_TYPE_PREFIX)):
                self.state.drift.append(Drift(describe(metadata.urn), op, _properties(metadata)))
        self._on_change(self.state)

    def _step_finished(self, metadata: events.StepEventMetadata) -> None:
        """Count each resource once per operation, as the engine's summary does: a component
        reports its outputs twice, and providers are not counted at all."""
        op = metadata.op.value
        if metadata.type.startswith(PROVIDER_TYPE_PREFIX) or (op, metadata.urn) in self._finished:
            return
        with self._lock:
            self._finished.add((op, metadata.urn))
            self.state.finished[op] += 1
        self._on_change(self.state)

    @property
    def steps(self) -> list[events.StepEventMetadata]:
        """Every step the engine started, in order (for notes made after the run)."""
        with self._lock:
            return list(self._steps)

    def _diagnostic(self, diagnostic: events.DiagnosticEvent) -> None:
        severity = diagnostic.severity
        message = diagnostic.message
        if severity.startswith("info") and message.lstrip().startswith(ADOPTED_NOTE):
            with self._lock:
                self.state.adopted += 1
        if severity == "error":
            sentence = first_sentence(message)
            if not sentence or self._generic(sentence):
                return
            if diagnostic.urn and STACK_TYPE not in diagnostic.urn:
                sentence = f"{describe(diagnostic.urn)}: {sentence}"
                self._resource_errors.append(sentence)
            else:
                self._engine_errors.append(sentence)
            whole = message.strip()
            if "\n" in whole:
                self._error_details.setdefault(sentence, whole)


def error_code(error: auto.CommandError) -> str:
    """The CLI's exit code, as the Automation API's error text gives it."""
    match = re.search(r"code:\s*(-?\d+)", str(error))
    return match.group(1) if match else "unknown"
