"""The objects this stack's state holds, as the provider process has read them.

Why: ``pulumi up --replace`` (and any replacement) creates the new alert source *before* it
deletes the old one, so that the webhook can be re-pointed without a gap. The create's
look-up then finds the old source: same name, same type. It is not a hand-made duplicate to
refuse, nor one to adopt (the engine deletes it right after); it is this stack's own object.

Every ``pulumi up``, ``preview`` and ``destroy`` of this project refreshes first
(Pulumi.yaml: ``refresh: always``), and the refresh reads every object of the state through
the same provider process. ``read`` notes each id it finds; a create's look-up leaves those
ids out. An object that is not in this stack's state is never noted, so a hand-made source
or one left by a lost answer is still found, and still refused or adopted as before. Without
a refresh (``pulumi up --refresh=false``) nothing is noted and a same-name replacement fails
with the usual duplicate message: never a silent duplicate.
"""

from __future__ import annotations

import hashlib
import threading

_HELD: dict[tuple[str, str, str], set[str]] = {}
_LOCK = threading.Lock()


def _key(kind: str, base_url: str, credential: str) -> tuple[str, str, str]:
    fingerprint = hashlib.sha256(credential.encode("utf-8", "replace")).hexdigest()[:16]
    return (kind, base_url, fingerprint)


def note(kind: str, base_url: str, credential: str, object_id: int | str) -> None:
    """Record that this stack's state holds the object (``read`` found it)."""
    with _LOCK:
        _HELD.setdefault(_key(kind, base_url, credential), set()).add(str(object_id))


def holds(kind: str, base_url: str, credential: str, object_id: int | str) -> bool:
    """Whether a refresh of this stack read the object: it belongs to this stack's state."""
    with _LOCK:
        return str(object_id) in _HELD.get(_key(kind, base_url, credential), set())


def forget_all() -> None:
    """Forget every noted object (tests: each test plays a provider process of its own)."""
    with _LOCK:
        _HELD.clear()
