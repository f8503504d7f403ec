"""What both dynamic providers share: configuration, per-process clients, create and delete.

Pickling: the engine stores each provider object in state (``__provider``) with dill. Our
provider classes live in importable modules, so dill pickles them by reference (module and
class name, about 100 bytes, no state) and refresh, update and destroy run today's code.
Stacks made by earlier releases hold blobs with a little state (``{"stack": ...}``, which a
file of this stack's creates once needed): ``__setstate__`` accepts and ignores it.

Per process: the SDK's provider server (``python -m pulumi.dynamic``) unpickles one provider
object per distinct blob and keeps it for the life of the process (its ``_PROVIDER_CACHE``),
so every resource of one type shares that object. What an operation may share with the
others of the process (the API client, its pacing and the listings that answer reads by
the page) hangs off that object (``shared``), built on first use under a lock, never
pickled. Nothing is kept on disk beside Pulumi's state.

Creates never make a second object that looks the same (``create_or_adopt``), and deletes
never remove an object another resource of the stack has just taken over
(``delete_unless_taken``, the one record kept in the process rather than on the provider
object; its docstring says why).

Key rotation: unless the program runs (``--run-program``; the Makefile sets
``PULUMI_RUN_PROGRAM=true`` for up, preview, drift and rotate), Pulumi configures a refresh,
and the deletes of a destroy, with the config saved in state at the stack's last update, so a
key rotated since (new key set, old one revoked) is answered 401 there. A 401 from ``read`` or
``delete`` outside a run of the program therefore names the rotation and the one command that
completes it (``ROTATE_COMMAND``: a refresh that runs the program saves the credentials set
now); every subclass's ``read`` and ``delete`` get that sentence (``__init_subclass__``).
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pulumi.dynamic import CheckFailure, ConfigureRequest, ResourceProvider

from clients.endpoints import ApiSettings, Endpoint, problems, resolve
from clients.failures import KnownFailure
from clients.http import ApiError, NotFoundError, UnauthorizedError, deadline
from clients.tuning import KEYS as TUNING_KEYS
from clients.tuning import ApiTuning, TuningError, tuning_for
from providers import engine_adapter
from providers.inventory import HasId, Inventory

CONFIG_KEYS = ("ilert:apiToken", "ilert:baseUrl", "level:apiKey", "level:baseUrl", *TUNING_KEYS)
RUN_PROGRAM_ENV = "PULUMI_RUN_PROGRAM"
ROTATE_COMMAND = "make rotate STACK=<this stack>"
ROTATION_HINT = (
    "If you gave the stack a new key since its last `pulumi up` (a rotation): unless the "
    "program runs, Pulumi refreshes and destroys with the credentials saved by that `up`, "
    "so the old key was sent. `make rotate STACK=<this stack>` completes the rotation "
    "(pulumi refresh --run-program: it saves the credentials you have now); then run this "
    "command again."
)
ADOPT_ENV = "LEVEL_ILERT_ADOPT"
ADOPT_ONCE = f"`make up ADOPT=1` ({ADOPT_ENV}=1 pulumi up)"
# Printed (stderr: an info line of the CLI's output) for each object a create took over, so a
# person, and `python -m ops fleet`, can tell adopted objects from the ones the engine's
# summary counts as created.
ADOPTED_NOTE = "level-ilert: adopted"
# After an answer was lost: how long a look-up that found nothing waits and looks again
# before the POST is sent once more (an API may take a moment to list what it just made).
SETTLE_SECONDS = 2.0
POST_RETRIES_WHEN_NOTHING_MADE = 2
Shared = TypeVar("Shared")
Item = TypeVar("Item", bound=HasId)


class ConfiguredProvider(ResourceProvider):
    """A ResourceProvider that keeps the stack config, and what it builds, in the process."""

    # Our blob holds no secret (pickled by reference, no state); encrypting it on every
    # resource buys nothing. The SDK still marks it secret if a secret Output were captured.
    serialize_as_secret_always = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Each resource's ``read`` and ``delete`` name a key rotation on a 401 (module doc)."""
        super().__init_subclass__(**kwargs)
        for name in ("read", "delete"):
            method = cls.__dict__.get(name)
            if callable(method):
                setattr(cls, name, _naming_rotation(method))

    def __init__(self) -> None:
        super().__init__()
        self._config: Mapping[str, Any] = {}
        self._lock = threading.Lock()
        self._shared: Any = None

    def configure(self, req: ConfigureRequest) -> None:
        """Remember the stack config (plain values: the engine strips secrets).

        Never raises: an exception here reaches the user as a Python traceback of the
        provider server. Unusable credentials and base URLs are reported by ``check``
        (``endpoint_failures``), which the engine calls right after, during the preview.
        This is the server's first call on a provider object, so it also adapts the server
        (``engine_adapter``: detailed diffs, known failures without a traceback).
        """
        engine_adapter.install()
        config = {key: req.config.get(key) for key in CONFIG_KEYS}
        with self._lock:
            self._config = {key: value for key, value in config.items() if value is not None}
            self._shared = None

    def shared(self, build: Callable[[], Shared]) -> Shared:
        """What the operations of this process share (clients, listings), built once."""
        with self._lock:
            if self._shared is None:
                self._shared = build()
            found: Shared = self._shared
            return found

    def endpoint(self, settings: ApiSettings) -> Endpoint:
        """Base URL and credential of one API, from config or env; fails naming both."""
        return resolve(settings, self._config.get)

    def tuning(self, namespace: str) -> ApiTuning:
        """Rate limit and operation deadline of one API (``ilert`` or ``level``)."""
        return tuning_for(namespace, self._config.get)

    def endpoint_failures(self, settings: ApiSettings) -> list[CheckFailure]:
        """Check failures for an unusable credential or base URL of one API (no network).

        Called from ``check``, so a bad value fails the preview rather than the create. The
        failure has no property: the setting is stack config (or an env var), not a resource
        input. A credential that is not set at all is left to the first API call: a preview
        needs none, and its message there names the config key and the env var.
        """
        found = [CheckFailure("", problem) for problem in problems(settings, self._config.get)]
        try:
            self.tuning(settings.credential_key.partition(":")[0])
        except TuningError as error:
            found.append(CheckFailure("", str(error)))
        return found

    def __repr__(self) -> str:
        keys = ", ".join(sorted(self._config)) or "none"
        return f"{type(self).__name__}(configured keys: {keys})"

    def __getstate__(self) -> dict[str, Any]:
        return {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        # Blobs of earlier releases carry {"stack": "<org>/<project>/<stack>"}: not needed.
        self.__init__()  # type: ignore[misc]


def program_runs(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the CLI runs the program for refreshes (``PULUMI_RUN_PROGRAM``, as the
    ``--run-program`` flag defaults to it): then the credentials set now were the ones sent."""
    env = os.environ if environ is None else environ
    return env.get(RUN_PROGRAM_ENV, "").strip().lower() in ("1", "true", "yes")


Method = TypeVar("Method", bound=Callable[..., Any])


def _naming_rotation(method: Method) -> Method:
    """``method``, whose 401 also names a rotation when the program did not run."""

    @functools.wraps(method)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except UnauthorizedError as error:
            if not program_runs() and ROTATION_HINT not in error.hint:
                error.hint = f"{error.hint} {ROTATION_HINT}".strip()
            raise

    return wrapped  # type: ignore[return-value]


class ObjectExistsError(KnownFailure, ValueError):
    """An object this create would duplicate exists already (and ``adopt`` is off)."""


class OutcomeUnknownError(KnownFailure):
    """A create's answer was lost and the look-up that would settle it failed as well."""


@dataclass(frozen=True)
class Identity:
    """What makes an object "the same" for a create, and how to speak of it.

    ``matches`` tells a listed object that this create would duplicate; ``one`` and ``many``
    name one or several in a sentence ("an alert source named 'X' of type LEVELIO");
    ``too_many`` says what to do when several match (``{count}`` is their number);
    ``exists`` what harm a second one would do and the ways out.
    """

    api: str
    one: str
    many: str
    matches: Callable[[Any], bool]
    too_many: str
    exists: str
    error: type[ObjectExistsError] = ObjectExistsError


def create_or_adopt(
    identity: Identity,
    listing: Inventory[Item],
    *,
    adopt: bool,
    timeout: float,
    post: Callable[[], Item],
    take_over: Callable[[Item], Item],
    base_url: str,
) -> Item:
    """Create one object, never a second one that looks the same.

    Looks first (one listing per process): an object of the same identity is taken over
    when ``adopt`` says so (or ``LEVEL_ILERT_ADOPT=1`` for this run), else the create fails
    naming it and the ways to take it. Nothing found: one POST. A POST whose answer was lost
    (or came back 500/502/504) is settled by listing again: the object found is the one it
    made; none found (after a moment) proves the POST did nothing, and it is sent again,
    at most twice, within the operation's deadline.
    """
    with deadline(timeout):
        found = listing.find(identity.matches)
        if found:
            taken = take_over(_only_one(identity, found, adopt=adopt or adopting_all()))
            note_taken(base_url, taken.id)
            print(f"{ADOPTED_NOTE} {identity.one} in {identity.api} (id {taken.id}): it existed "
                  f"already, so it was taken over, not created.", file=sys.stderr)
            return taken
        for attempt in range(POST_RETRIES_WHEN_NOTHING_MADE + 1):
            try:
                return post()
            except ApiError as error:
                if not error.may_have_acted:
                    raise
                made = _settle(identity, listing, error)
                if made is not None:
                    return made
                if attempt == POST_RETRIES_WHEN_NOTHING_MADE:
                    raise
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover


def _settle(identity: Identity, listing: Inventory[Item], error: ApiError) -> Item | None:
    """After a POST that may have acted: the object it made, or None when listing twice,
    a moment apart, proves it made none (two or more: the error, never a guess)."""
    for look in range(2):
        try:
            listing.reload()
            found = listing.find(identity.matches)
        except ApiError as lookup:
            raise OutcomeUnknownError(
                f"{error} The look-up that would settle it failed too: {lookup} The object "
                f"may exist now. Run `pulumi up` again: the create looks first, so nothing is "
                f"made twice; if it finds the object it stops and names it, and `adopt: true` "
                f"on this integration takes it over."
            ) from None
        if len(found) == 1:
            return found[0]
        if found:
            raise error
        if look == 0:
            time.sleep(SETTLE_SECONDS)
    return None


def adopting_all() -> bool:
    """Whether this run takes over every object it finds (``LEVEL_ILERT_ADOPT=1``)."""
    return os.environ.get(ADOPT_ENV, "").strip().lower() in ("1", "true", "yes")


def _only_one(identity: Identity, found: list[Item], *, adopt: bool) -> Item:
    """The one object this create may take over; refuses a duplicate or an ambiguity."""
    ids = ", ".join(str(item.id) for item in found)
    if len(found) > 1:
        raise identity.error(
            f"{identity.api} has {len(found)} {identity.many} (ids {ids}); "
            + identity.too_many.format(count=len(found))
        )
    if adopt:
        return found[0]
    raise identity.error(
        f"{identity.api} already has {identity.one} (id {ids}); {identity.exists} If it is "
        f"this stack's own under an earlier resourceName, list that name in "
        f"`previousResourceNames` instead (the rename then changes nothing). If a run of this "
        f"stack made it and was cut short before it saved its state, {ADOPT_ONCE} takes back "
        f"every such object."
    )


_TAKEN: set[tuple[str, str]] = set()
_TAKEN_LOCK = threading.Lock()


def _taken_key(base_url: str, object_id: object) -> tuple[str, str]:
    return (base_url, str(object_id))


def note_taken(base_url: str, object_id: object) -> None:
    """Record that a create of this process took the object over (``adopt``)."""
    with _TAKEN_LOCK:
        _TAKEN.add(_taken_key(base_url, object_id))


def delete_unless_taken(
    base_url: str, object_id: str, *, delete: Callable[[], None], timeout: float, what: str
) -> None:
    """One DELETE, unless a create of this process took the object over; gone = deleted.

    Why a record in the process: a resource renamed in the stack file with ``adopt: true``
    gets a new URN, and the engine runs the new resource's create (which takes the object
    over) before the old resource's delete, in the same provider process. Without the
    record, that delete removes the object the new resource now holds (seen through the
    real CLI: the webhook was gone after an ``up`` that exited 0). The object's own update
    time cannot tell, since an API need not move it on a write that changes nothing. The
    record is process-wide, not on the provider object, because a stack made by an earlier
    release deletes through another provider object (its pickled blob differs) than the one
    that creates. It holds API base URLs and object ids only, never a credential.
    """
    with _TAKEN_LOCK:
        taken = _taken_key(base_url, object_id) in _TAKEN
    if taken:
        print(
            f"level-ilert: left {what} in place: another resource of this stack took it "
            f"over in this run (a changed resource name with adopt: true).",
            file=sys.stderr,
        )
        return
    with contextlib.suppress(NotFoundError), deadline(timeout):
        delete()


def none_if_gone(fetch: Callable[[], Item]) -> Item | None:
    """``fetch()``, or None when the API answers 404 (deleted behind Pulumi's back)."""
    try:
        return fetch()
    except NotFoundError:
        return None
