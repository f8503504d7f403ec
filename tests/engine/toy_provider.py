"""A tiny dynamic provider used only to prove the engine harness (``tools/engine_harness.py``).

``Thing`` resources live in a JSON file whose path the provider reads in ``configure()`` from the
stack config key ``toy:stateFile``; no network. The module is importable and side-effect free, so
the SDK pickles ``ToyProvider`` *by reference* (module + class name), as the real providers in
``providers/`` are meant to be.

Behaviour, chosen so each engine-visible path can be observed:

* ``check``: ``label`` must be a non-empty string (the failure names the type it got, which shows
  a preview's ``pulumi.output.Unknown``); ``size`` must be a non-negative number. Unknowns in
  other properties pass through untouched.
* ``diff``: compares old *outputs* with new inputs on ``label``/``color``/``size``; a ``label``
  change requires a delete-before-replace.
* ``create`` refuses the label ``boom`` with an exception (to observe gRPC error mapping) and
  prints one line to stdout (to observe log capture).
* ``read`` returns the live state plus ``inputs``, unless config ``toy:readReturnsInputs`` is
  ``"false"``; a missing thing reads as id ``""``.
* Outputs carry ``tokenLength``, the length of config ``toy:token`` as the provider saw it: it
  proves a secret config value arrives unwrapped, without echoing the value itself.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)
from pulumi.output import Unknown

FIELDS = ("label", "color", "size")
"""The inputs a Thing has; all of them are stored and echoed as outputs."""

_STATE_LOCK = threading.Lock()
"""The provider server runs up to four RPCs at once; serialize file access. A module global, so
it is not part of the pickled provider."""


def _type_name(value: object) -> str:
    return f"{type(value).__module__}.{type(value).__qualname__}"


class ToyProvider(ResourceProvider):
    """Keeps ``Thing`` objects in a JSON file: ``{"next": int, "things": {id: {field: value}}}``."""

    state_file: Path | None = None
    token: str | None = None
    read_returns_inputs: bool = True

    def configure(self, req: ConfigureRequest) -> None:
        """Read the state file path (required) and the optional token and read mode."""
        self.state_file = Path(req.config.require("toy:stateFile"))
        token = req.config.get("toy:token")
        self.token = token if isinstance(token, str) else None
        self.read_returns_inputs = req.config.get("toy:readReturnsInputs") != "false"

    # -- state file ---------------------------------------------------------------------------

    def _path(self) -> Path:
        if self.state_file is None:
            raise RuntimeError("toy provider not configured: config toy:stateFile is missing")
        return self.state_file

    def _load(self) -> dict[str, Any]:
        path = self._path()
        if not path.exists():
            return {"next": 1, "things": {}}
        state: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return state

    def _save(self, state: dict[str, Any]) -> None:
        path = self._path()
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(state, handle, indent=2, sort_keys=True)
        Path(tmp).replace(path)

    def _outs(self, thing: dict[str, Any]) -> dict[str, Any]:
        return {**thing, "tokenLength": len(self.token) if self.token is not None else 0}

    # -- provider methods ---------------------------------------------------------------------

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures: list[CheckFailure] = []
        label = news.get("label")
        if not isinstance(label, str):
            failures.append(
                CheckFailure("label", f"label must be a string, got {_type_name(label)}")
            )
        elif not label:
            failures.append(CheckFailure("label", "label must not be empty"))
        size = news.get("size")
        known_size = size is not None and not isinstance(size, Unknown)
        if known_size and (isinstance(size, bool) or not isinstance(size, int | float) or size < 0):
            failures.append(CheckFailure("size", "size must be a non-negative number"))
        return CheckResult(dict(news), failures)

    def diff(self, _id: str, _olds: dict[str, Any], _news: dict[str, Any]) -> DiffResult:
        changed = [key for key in FIELDS if _olds.get(key) != _news.get(key)]
        replaces = ["label"] if "label" in changed else []
        return DiffResult(
            changes=bool(changed),
            replaces=replaces,
            delete_before_replace=True if replaces else None,
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        if props.get("label") == "boom":
            raise RuntimeError("toy: refusing to create a thing labelled 'boom'")
        thing = {key: props[key] for key in FIELDS if key in props}
        with _STATE_LOCK:
            state = self._load()
            id_ = f"thing-{state['next']}"
            state["next"] += 1
            state["things"][id_] = thing
            self._save(state)
        print(f"toy: created {id_}")
        return CreateResult(id_, self._outs(thing))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        with _STATE_LOCK:
            thing = self._load()["things"].get(id_)
        if thing is None:
            return ReadResult("", {})
        inputs = dict(thing) if self.read_returns_inputs else None
        return ReadResult(id_, self._outs(thing), inputs)

    def update(self, _id: str, _olds: dict[str, Any], _news: dict[str, Any]) -> UpdateResult:
        thing = {key: _news[key] for key in FIELDS if key in _news}
        with _STATE_LOCK:
            state = self._load()
            if _id not in state["things"]:
                raise KeyError(f"toy: no thing {_id!r} to update")
            state["things"][_id] = thing
            self._save(state)
        return UpdateResult(self._outs(thing))

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        with _STATE_LOCK:
            state = self._load()
            state["things"].pop(_id, None)
            self._save(state)
        print(f"toy: deleted {_id}")


class Thing(Resource, module="toy", name="Thing"):
    """A toy dynamic resource: type token ``pulumi-python:dynamic/toy:Thing``."""

    label: pulumi.Output[str]
    color: pulumi.Output[str | None]
    size: pulumi.Output[float | None]
    tokenLength: pulumi.Output[float]

    def __init__(
        self,
        resource_name: str,
        label: pulumi.Input[str],
        color: pulumi.Input[str] | None = None,
        size: pulumi.Input[float] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(
            ToyProvider(),
            resource_name,
            {"label": label, "color": color, "size": size, "tokenLength": None},
            opts,
        )
