"""The sandbox's credentials: fixed ones everyone knows, and keys issued and revoked at run time.

The fixed keys are constants on purpose: tests, the Pulumi sandbox stack and curl users all
need to know them without asking the running process, and they protect nothing (the sandbox
only listens on loopback and holds invented data).

Like the real services, the sandbox can also rotate keys (:class:`KeyRing`, served by the
control routes of :func:`add_key_routes` on both ports):

- ``POST /sandbox/keys`` ``{"service": "ilert" | "level", "key": "<text>", "read_only": false}``
  issues a key (``read_only`` left out: false): 201 with the key's record. A key already
  known (issued, fixed or revoked) answers 409: a revoked key never works again.
- ``DELETE /sandbox/keys/<key>`` revokes a key, a fixed one included: 204, then every request
  with it answers 401 as a revoked key does in each API; 404 for a key never issued or
  already revoked.
- ``GET /sandbox/keys``: every key with its service, access and whether it is revoked.

A read-only key reads and gets 403 on every write (POST, PUT, PATCH, DELETE): Level's keys
are read-only or read & write; ilert's act with their user's role, and a read-only one stands
for a key of a user who may only view. With a state file, issued and revoked keys are kept
beside it (``<state>.keys.json``), so they survive a restart like the world does.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final, Literal, get_args

from flask import Flask
from werkzeug.wrappers import Response

from sandbox.app_common import json_body, json_response

#: ilert API token; send it as ``Authorization: Bearer sandbox-ilert-token``.
ILERT_TOKEN: Final = "sandbox-ilert-token"
#: ilert read-only token (a user who may only view): every write answers 403 with it.
ILERT_READONLY_TOKEN: Final = "sandbox-ilert-readonly-token"
#: Level read & write key; send it raw as ``Authorization: sandbox-level-key``.
LEVEL_API_KEY: Final = "sandbox-level-key"
#: Level read-only key: every write (POST, PATCH, PUT, DELETE) answers 403 with it.
LEVEL_READONLY_KEY: Final = "sandbox-level-readonly-key"

KeyService = Literal["ilert", "level"]
SERVICES: Final = get_args(KeyService)
WRITE_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_KEY_CHARS: Final = 200
KEY_FIELDS: Final = frozenset({"service", "key", "read_only"})


class KeyRouteError(ValueError):
    """A key route's request cannot be carried out: ``status`` and a message naming why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Key:
    """One credential of one fake API."""

    service: KeyService
    key: str
    read_only: bool
    fixed: bool = False
    revoked: bool = False

    def to_json(self) -> dict[str, object]:
        return asdict(self)


FIXED_KEYS: Final = (
    Key("ilert", ILERT_TOKEN, read_only=False, fixed=True),
    Key("ilert", ILERT_READONLY_TOKEN, read_only=True, fixed=True),
    Key("level", LEVEL_API_KEY, read_only=False, fixed=True),
    Key("level", LEVEL_READONLY_KEY, read_only=True, fixed=True),
)


def keys_file(state_file: Path | None) -> Path | None:
    """Where a sandbox with this world file keeps its issued and revoked keys."""
    if state_file is None:
        return None
    return state_file.with_name(f"{state_file.stem}.keys.json")


class KeyRing:
    """The keys each fake API accepts, thread-safe; saved to ``path`` after each change."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._keys: dict[str, Key] = {key.key: key for key in FIXED_KEYS}
        if path is not None and path.is_file():
            self._load(path)

    def _load(self, path: Path) -> None:
        saved = json.loads(path.read_text(encoding="utf-8"))
        for raw in saved.get("issued", []):
            key = Key(raw["service"], raw["key"], bool(raw["read_only"]))
            self._keys[key.key] = key
        for revoked in saved.get("revoked", []):
            if revoked in self._keys:
                self._keys[revoked] = _revoked(self._keys[revoked])

    def _save(self) -> None:
        if self._path is None:
            return
        document = {
            "issued": [
                {"service": k.service, "key": k.key, "read_only": k.read_only}
                for k in self._keys.values() if not k.fixed
            ],
            "revoked": [k.key for k in self._keys.values() if k.revoked],
        }
        self._path.parent.mkdir(parents=True, exist_ok=True)
        partial = self._path.with_name(self._path.name + ".tmp")
        partial.write_text(json.dumps(document, indent=1), encoding="utf-8")
        os.replace(partial, self._path)

    def may(self, service: KeyService, key: str | None, method: str) -> int | None:
        """None when ``key`` may send ``method`` to ``service``; else the status to answer:
        401 (unknown, revoked or another service's key) or 403 (a read-only key writing)."""
        with self._lock:
            found = self._keys.get(key or "")
        if found is None or found.revoked or found.service != service:
            return 401
        if found.read_only and method.upper() in WRITE_METHODS:
            return 403
        return None

    def issue(self, body: object) -> Key:
        """Issue the key ``body`` describes (``KeyRouteError`` 400 or 409 says why not)."""
        if not isinstance(body, dict):
            raise KeyRouteError(400, "body must be a JSON object: {service, key, read_only}")
        unknown = sorted(set(body) - KEY_FIELDS)
        if unknown:
            raise KeyRouteError(400, f"unknown field(s): {', '.join(unknown)}; allowed: "
                                 f"{', '.join(sorted(KEY_FIELDS))}")
        service, text = body.get("service"), body.get("key")
        read_only = body.get("read_only", False)
        if service not in SERVICES:
            raise KeyRouteError(400, f"service: must be one of {', '.join(SERVICES)}")
        chosen: KeyService = "ilert" if service == "ilert" else "level"
        if not isinstance(read_only, bool):
            raise KeyRouteError(400, "read_only: must be true or false")
        problem = _key_problem(text)
        if problem or not isinstance(text, str):
            raise KeyRouteError(400, f"key: {problem or 'must be a string'}")
        key = Key(chosen, text, read_only)
        with self._lock:
            if text in self._keys:
                raise KeyRouteError(409, "key: this key exists already (issued, fixed or revoked); "
                                     "a revoked key never works again: issue another one")
            self._keys[text] = key
            self._save()
        return key

    def revoke(self, text: str) -> Key:
        """Revoke one key (``KeyRouteError`` 404 when it is unknown or revoked already)."""
        with self._lock:
            found = self._keys.get(text)
            if found is None or found.revoked:
                raise KeyRouteError(404, "no such key (never issued, or revoked already)")
            self._keys[text] = _revoked(found)
            self._save()
            return self._keys[text]

    def listing(self) -> list[Key]:
        """Every key, fixed ones first, in the order they were issued."""
        with self._lock:
            return list(self._keys.values())


def _revoked(key: Key) -> Key:
    return Key(key.service, key.key, key.read_only, fixed=key.fixed, revoked=True)


def _key_problem(text: object) -> str | None:
    """Why ``text`` cannot be a key (it must travel in an HTTP header as it is)."""
    if not isinstance(text, str) or not text:
        return "must be a non-empty string"
    if len(text) > MAX_KEY_CHARS:
        return f"must be at most {MAX_KEY_CHARS} characters"
    if text != text.strip() or any(not (0x21 <= ord(c) <= 0x7E) for c in text):
        return "must be printable ASCII without spaces (it is sent in an HTTP header)"
    return None


def add_key_routes(
    app: Flask, ring: KeyRing, error: Callable[[int, str], Response]
) -> None:
    """``GET/POST /sandbox/keys`` and ``DELETE /sandbox/keys/<key>`` on one app (both ports
    serve the same ring; the body's ``service`` says which API the key is for)."""
    @app.get("/sandbox/keys")
    def list_keys() -> Response:
        return json_response([key.to_json() for key in ring.listing()])

    @app.post("/sandbox/keys")
    def issue_key() -> Response:
        try:
            key = ring.issue(json_body())
        except KeyRouteError as exc:
            return error(exc.status, exc.message)
        return json_response(key.to_json(), status=201)

    @app.delete("/sandbox/keys/<path:key>")
    def revoke_key(key: str) -> Response:
        try:
            ring.revoke(key)
        except KeyRouteError as exc:
            return error(exc.status, exc.message)
        return Response(status=204)
