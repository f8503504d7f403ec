"""Read a stack's settings from ``Pulumi.<stack>.yaml`` the way the program does, without the CLI.

The ``config:`` mapping is parsed with PyYAML and handed to ``components.settings.load_settings``
(the program's own validation), and each API's endpoint comes from
``providers.endpoints.resolve`` (config first, environment second), so ``doctor`` and
``verify`` look where ``pulumi up`` looks. A ``secure:`` value is ciphertext that only the
Pulumi CLI can decrypt: it is treated as unset, so the credential falls back to its env var
(``ILERT_API_TOKEN``, ``LEVEL_API_KEY``), exactly as the providers fall back to it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from components.settings import (
    INTEGRATIONS_KEY,
    Integration,
    SettingsError,
    StackSettings,
    load_settings,
)
from providers.endpoints import ILERT, LEVEL, ApiSettings, Endpoint, resolve
from providers.http import is_loopback


class StackError(Exception):
    """The stack cannot be read: no such stack file, bad YAML, or invalid settings (exit 2)."""


@dataclass(frozen=True)
class Stack:
    """One stack's settings and where each API is; a missing credential is kept as its fix."""

    name: str
    settings: StackSettings
    ilert: Endpoint | None
    level: Endpoint | None
    ilert_problem: str | None = None
    level_problem: str | None = None
    #: integrations (by name) whose webhookSecret is set as ciphertext: present, unreadable
    secure_webhook_secrets: frozenset[str] = field(default_factory=frozenset)

    @property
    def on_loopback(self) -> bool:
        """True when both APIs are on this machine: the sandbox stack."""
        urls = [e.base_url for e in (self.ilert, self.level) if e is not None]
        return bool(urls) and all(is_loopback(urlsplit(u).hostname or "") for u in urls)

    def integrations(self, only: str | None = None) -> list[Integration]:
        """All integrations, or the one whose ``name`` or resource name is ``only``."""
        chosen = [
            i for i in self.settings.integrations
            if only in (None, "", i.name, i.pulumi_name)
        ]
        if not chosen:
            names = ", ".join(repr(i.name) for i in self.settings.integrations)
            raise StackError(
                f"INTEGRATION={only!r} matches no integration of stack {self.name!r}; "
                f"use one of {names} (or leave it out for all)."
            )
        return chosen


def load_stack(
    name: str, project_dir: Path, environ: Mapping[str, str] | None = None
) -> Stack:
    """Read ``Pulumi.<name>.yaml`` in ``project_dir``; raises ``StackError`` naming the fix."""
    env = os.environ if environ is None else environ
    path = project_dir / f"Pulumi.{name}.yaml"
    if not path.is_file():
        raise StackError(
            f"{path} does not exist: STACK={name} has no stack file. Copy Pulumi.dev.yaml to "
            f"Pulumi.{name}.yaml (README: Going to a real environment) or pick another STACK."
        )
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise StackError(f"{path.name} is not valid YAML: {exc}") from None
    if not isinstance(document, dict):
        raise StackError(f"{path.name} must be a YAML mapping with a config: section.")
    config = _qualified(document.get("config") or {}, _project_name(project_dir))
    secure = _secure_secrets(config.get(INTEGRATIONS_KEY))
    plain = {key: _without_ciphertext(value) for key, value in config.items()}
    try:
        # Two integrations that page for one alert stop a preview; doctor reports that
        # from the live setup instead (ops/routing.py), so it must still run.
        settings = load_settings(
            plain.get, lambda key: _scalar(plain.get(key)), check_routing=False
        )
    except SettingsError as exc:
        raise StackError(f"{path.name}: {exc}") from None

    def lookup(key: str) -> object:
        return _scalar(plain.get(key))

    ilert, ilert_problem = _endpoint(ILERT, lookup, env)
    level, level_problem = _endpoint(LEVEL, lookup, env)
    return Stack(
        name=name,
        settings=settings,
        ilert=ilert,
        level=level,
        ilert_problem=ilert_problem,
        level_problem=level_problem,
        secure_webhook_secrets=frozenset(secure),
    )


def _endpoint(
    settings: ApiSettings, lookup: Any, env: Mapping[str, str]
) -> tuple[Endpoint | None, str | None]:
    try:
        return resolve(settings, lookup, env), None
    except RuntimeError as exc:  # MissingCredentialError: the message names key, env var, fix
        return None, str(exc)


def _project_name(project_dir: Path) -> str:
    try:
        project = yaml.safe_load((project_dir / "Pulumi.yaml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return "level-ilert"
    name = project.get("name") if isinstance(project, dict) else None
    return name if isinstance(name, str) and name else "level-ilert"


def _qualified(config: object, project: str) -> dict[str, Any]:
    """Config keys as ``namespace:key``; a bare key belongs to the project, as in Pulumi."""
    if not isinstance(config, dict):
        raise StackError("the stack file's config: must be a mapping of keys to values.")
    return {(k if ":" in str(k) else f"{project}:{k}"): v for k, v in config.items()}


def _is_ciphertext(value: object) -> bool:
    return isinstance(value, dict) and set(value) == {"secure"}


def _without_ciphertext(value: object) -> object:
    """``value`` with every ``{secure: ...}`` replaced by None (only the CLI can decrypt it)."""
    if _is_ciphertext(value):
        return None
    if isinstance(value, dict):
        return {
            k: _without_ciphertext(v) for k, v in value.items() if not _is_ciphertext(v)
        }
    if isinstance(value, list):
        return [_without_ciphertext(v) for v in value]
    return value


def _secure_secrets(integrations: object) -> list[str]:
    if not isinstance(integrations, list):
        return []
    return [
        str(entry.get("name"))
        for entry in integrations
        if isinstance(entry, dict) and _is_ciphertext(entry.get("webhookSecret"))
    ]


def _scalar(value: object) -> str | None:
    """What ``pulumi.Config.get`` returns: the value as text, None when unset."""
    if value is None or isinstance(value, dict | list):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
