"""Read a stack's settings from ``Pulumi.<stack>.yaml`` the way the program does, without the CLI.

The ``config:`` mapping is parsed with PyYAML and handed to ``components.settings.load_settings``
(the program's own validation), and each API's endpoint comes from
``clients.endpoints.resolve`` (config first, environment second), so ``doctor`` and
``verify`` look where ``pulumi up`` looks. A ``secure:`` value is ciphertext that only the
Pulumi CLI can decrypt. For a credential (``ilert:apiToken``, ``level:apiKey``) set that way,
the README's way, its env var (``ILERT_API_TOKEN``, ``LEVEL_API_KEY``) is used when exported;
otherwise the CLI decrypts it (ops/secure_config.py), and when it cannot, the credential's
problem says so and names both ways out, never "not set". Other ``secure:`` values
(an integration's ``webhookSecret``) are only known to be present.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from clients.endpoints import ILERT, LEVEL, ApiSettings, Endpoint, resolve
from clients.http import is_loopback
from components.settings import (
    INTEGRATIONS_KEY,
    Integration,
    SettingsError,
    StackSettings,
    load_settings,
)
from ops.secure_config import Decrypted, Undecryptable, decrypt, kept_passphrase_file

Decrypter = Callable[[str, str, Path, Mapping[str, str]], Decrypted | Undecryptable]


class StackError(Exception):
    """The stack cannot be read: no such stack file, bad YAML, or invalid settings (exit 2)."""


@dataclass(frozen=True)
class CredentialProblem:
    """Why one API has no usable credential: doctor's line (``summary``) and the fix."""

    summary: str
    fix: str

    def __str__(self) -> str:
        return f"{self.summary}. Fix: {self.fix}"


@dataclass(frozen=True)
class Stack:
    """One stack's settings and where each API is; a missing credential is kept as its fix."""

    name: str
    settings: StackSettings
    ilert: Endpoint | None
    level: Endpoint | None
    ilert_problem: CredentialProblem | None = None
    level_problem: CredentialProblem | None = None
    #: where each credential came from: its env var, or its config key in the stack file
    ilert_from: str = ""
    level_from: str = ""
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
    name: str,
    project_dir: Path,
    environ: Mapping[str, str] | None = None,
    *,
    decrypter: Decrypter = decrypt,
) -> Stack:
    """Read ``Pulumi.<name>.yaml`` in ``project_dir``; raises ``StackError`` naming the fix.

    ``decrypter(key, stack, project_dir, environ)`` decrypts a secure credential whose env
    var is unset (default: the Pulumi CLI, ops/secure_config.py).
    """
    env = os.environ if environ is None else environ
    path = project_dir / f"Pulumi.{name}.yaml"
    if not path.is_file():
        raise StackError(
            f"{path} does not exist: STACK={name} has no stack file. Copy Pulumi.dev.yaml to "
            f"Pulumi.{name}.yaml (docs/real-environment.md) or pick another STACK."
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
            plain.get, lambda key: _scalar(plain.get(key)), environ=env, check_routing=False,
            stack=name,
        )
    except SettingsError as exc:
        raise StackError(f"{path.name}: {exc}") from None

    where = (name, project_dir, path.name)
    ilert, ilert_problem, ilert_from = _credential(
        ILERT, config, plain, env=env, where=where, decrypter=decrypter
    )
    level, level_problem, level_from = _credential(
        LEVEL, config, plain, env=env, where=where, decrypter=decrypter
    )
    return Stack(
        name=name,
        settings=settings,
        ilert=ilert,
        level=level,
        ilert_problem=ilert_problem,
        level_problem=level_problem,
        ilert_from=ilert_from,
        level_from=level_from,
        secure_webhook_secrets=frozenset(secure),
    )


def _credential(
    api: ApiSettings,
    config: Mapping[str, object],
    plain: Mapping[str, object],
    *,
    env: Mapping[str, str],
    where: tuple[str, Path, str],
    decrypter: Decrypter,
) -> tuple[Endpoint | None, CredentialProblem | None, str]:
    """One API's endpoint, its problem, and where its credential came from.

    A secure credential is decrypted only when its env var is unset: with the env var
    exported, this command uses it (as before), and no CLI is needed.
    """
    stack, project_dir, file_name = where
    key, var = api.credential_key, api.credential_env
    values = dict(plain)
    if _is_ciphertext(config.get(key)) and not env.get(var, "").strip():
        answer = decrypter(key, stack, project_dir, env)
        if not isinstance(answer, Decrypted):
            kept = kept_passphrase_file(stack, env)
            return None, _undecryptable(api, file_name, answer, kept), ""
        values[key] = answer.value

    def lookup(name: str) -> object:
        return _scalar(values.get(name))

    origin = f"{key} in {file_name}" if lookup(key) and str(lookup(key)).strip() else var
    try:
        return resolve(api, lookup, env, stack=stack), None, origin
    except RuntimeError:  # MissingCredentialError: set neither in the file nor in env
        return None, CredentialProblem(
            f"{_what(api)} is not set",
            f"`pulumi config set --secret {key}` (it asks for the value) or export {var}; it is "
            f"{api.credential_what}",
        ), ""
    except ValueError as exc:  # EndpointSettingError: the message names the key, not the value
        return None, CredentialProblem(f"{_what(api)} is unusable", str(exc)), ""


def _what(api: ApiSettings) -> str:
    return "ilert API token" if api is ILERT else f"{api.api} API key"


def _undecryptable(
    api: ApiSettings, file_name: str, answer: Undecryptable, kept: Path
) -> CredentialProblem:
    """A secure credential the CLI did not decrypt: why, and the two ways out."""
    cli_way = (
        "run `make pulumi` once (make doctor and make verify put that CLI on PATH), or put "
        "`pulumi` on PATH for `python -m ops`"
    ) if answer.cli_missing else (
        "for a passphrase stack keep the stack's passphrase in "
        f"{kept} "
        "(mode 0600) or set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE); "
        "otherwise `pulumi login` to the stack's backend (or set PULUMI_BACKEND_URL), the one "
        "`make up` uses"
    )
    return CredentialProblem(
        f"{_what(api)} could not be read: {api.credential_key} is a secret (secure:) in "
        f"{file_name}, which only the Pulumi CLI can decrypt, and {answer.reason}",
        f"export {api.credential_env}=<value> for this command, or let the CLI decrypt it: "
        f"{cli_way}",
    )


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
