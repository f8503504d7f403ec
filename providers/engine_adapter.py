"""Pass on to the Pulumi engine what the SDK's dynamic provider server drops.

The engine's calls reach our providers through Pulumi's own server for Python dynamic
providers (``python -m pulumi.dynamic``: ``pulumi/dynamic/__main__.py``, SDK 3.272.0). Read at
that version, it has two habits that hurt users, and no setting for either:

- ``Diff`` answers with ``changes``, ``replaces`` and ``delete_before_replace`` only: it drops
  ``DiffResult.stables``, and a dynamic provider has no way to name the properties that
  changed. The engine then guesses them by comparing old and new *inputs*, so it names inputs
  that ``read`` did not return, cannot see a changed secret (a webhook re-pointed by hand
  shows ``url: [secret]`` with no change marker), and shows a webhook as changing whenever its
  alert source is updated (the source's URL is unknown during a preview).
- Every exception becomes ``traceback.format_exc()`` (``_abort_with_traceback``), so a known
  failure with a message that names the fix reads like a crash of our code.

The adapter replaces two names in that module's globals, which the server looks up on each
call: ``proto``, so that ``proto.DiffResponse`` also carries the detailed diff and the stable
properties our ``diff`` computed (they travel inside the ``replaces`` list it passes on); and
``traceback``, so that ``format_exc`` returns a known failure's message alone (see
clients/failures.py), while any other exception keeps its full traceback and gains a line saying
it is a bug to report. ``install`` runs from ``ConfiguredProvider.configure``, the first call
the server makes on a provider object; it changes nothing outside that server, and nothing
when the module no longer has the shape described here (tests/engine/test_engine_adapter.py
fails loudly on such an SDK upgrade, so a pin bump cannot silently bring the tracebacks back).
"""

from __future__ import annotations

import sys
import threading
import traceback
from collections.abc import Iterable, Mapping
from types import ModuleType
from typing import Any

from pulumi.dynamic import DiffResult

from clients.failures import KnownFailure

SERVER_MODULE = "pulumi.dynamic.__main__"
BUG_NOTE = (
    "This is a bug in level-ilert, not a problem with your settings: please report it with "
    "the lines above (they hold no credential)."
)
# PropertyDiff kinds of Pulumi's provider protocol (provider.proto).
ADD, ADD_REPLACE, DELETE, DELETE_REPLACE, UPDATE, UPDATE_REPLACE = range(6)


class DetailedReplaces(list[str]):
    """The ``replaces`` list of a ``DiffResult``, carrying the detailed diff and stables along.

    The SDK's server copies ``replaces`` into its ``DiffResponse`` as the same object, which
    is how the adapted ``proto.DiffResponse`` finds what the server itself would drop.
    """

    def __init__(
        self,
        replaces: Iterable[str],
        detailed: Mapping[str, int],
        stables: Iterable[str],
    ) -> None:
        super().__init__(replaces)
        self.detailed = dict(detailed)
        self.stables = list(stables)


def detailed_diff(
    olds: Mapping[str, Any],
    news: Mapping[str, Any],
    changed: Iterable[str],
    *,
    replaces: Iterable[str] = (),
    stables: Iterable[str] = (),
) -> DiffResult:
    """A ``DiffResult`` that names exactly the ``changed`` properties (and nothing else).

    Each is an addition (no value in state), a deletion (no desired value) or an update;
    those in ``replaces`` force a replacement. ``stables`` are outputs that this change leaves
    as they are, so that during a preview the engine keeps them known for dependents.
    """
    names = list(dict.fromkeys(changed))
    forcing = [name for name in dict.fromkeys(replaces) if name in names]
    kinds: dict[str, int] = {}
    for name in names:
        if olds.get(name) is None:
            kind = ADD
        elif news.get(name) is None:
            kind = DELETE
        else:
            kind = UPDATE
        kinds[name] = kind + 1 if name in forcing else kind
    return DiffResult(
        changes=bool(names),
        replaces=DetailedReplaces(forcing, kinds, [] if forcing else stables),
        stables=[] if forcing else list(stables),
        delete_before_replace=False,
    )


class _DiffResponseWithDetails:
    """``proto.DiffResponse`` (its constants too) that keeps our detailed diff and stables."""

    def __init__(self, proto: ModuleType) -> None:
        self._proto = proto

    def __getattr__(self, name: str) -> Any:
        return getattr(self._proto.DiffResponse, name)

    def __call__(self, **fields: Any) -> Any:
        replaces = fields.get("replaces")
        if isinstance(replaces, DetailedReplaces):
            fields["replaces"] = list(replaces)
            fields["stables"] = replaces.stables
            fields["diffs"] = list(replaces.detailed)
            fields["detailedDiff"] = {
                name: self._proto.PropertyDiff(kind=kind, inputDiff=False)
                for name, kind in replaces.detailed.items()
            }
            fields["hasDetailedDiff"] = True
        return self._proto.DiffResponse(**fields)


class _ProtoWithDetailedDiffs:
    """``pulumi.runtime.proto`` whose ``DiffResponse`` keeps our detailed diff and stables."""

    def __init__(self, proto: ModuleType) -> None:
        self._proto = proto
        self.DiffResponse = _DiffResponseWithDetails(proto)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._proto, name)


class _TracebackForUsers:
    """The ``traceback`` module, except that ``format_exc`` spares users our known failures."""

    def __getattr__(self, name: str) -> Any:
        return getattr(traceback, name)

    def format_exc(self, limit: int | None = None, chain: bool = True) -> str:
        error = sys.exc_info()[1]
        if isinstance(error, KnownFailure):
            return str(error)
        return traceback.format_exc(limit, chain) + "\n" + BUG_NOTE


_INSTALL_LOCK = threading.Lock()


def server_module() -> ModuleType | None:
    """The running dynamic provider server's module, or None outside that server."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if main is None or getattr(spec, "name", None) != SERVER_MODULE:
        return None
    return main


def fits(module: ModuleType) -> bool:
    """Whether ``module`` still has the shape the adapter was written against."""
    names = vars(module)
    return (
        callable(names.get("_abort_with_traceback"))
        and names.get("traceback") is not None
        and callable(getattr(names.get("proto"), "DiffResponse", None))
        and "DynamicResourceProviderServicer" in names
    )


def install(module: ModuleType | None = None) -> bool:
    """Adapt the dynamic provider server (idempotent); True when it is adapted."""
    target = module if module is not None else server_module()
    if target is None or not fits(target):
        return False
    with _INSTALL_LOCK:
        names = vars(target)
        if not isinstance(names["proto"], _ProtoWithDetailedDiffs):
            names["proto"] = _ProtoWithDetailedDiffs(names["proto"])
        if not isinstance(names["traceback"], _TracebackForUsers):
            names["traceback"] = _TracebackForUsers()
    return True


__all__ = ["BUG_NOTE", "DetailedReplaces", "KnownFailure", "detailed_diff", "install"]
