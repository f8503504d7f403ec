"""Where each API is and which credential to use: stack config first, environment second.

Config keys and env fallbacks (ARCHITECTURE.md, "Public interface"):
``ilert:apiToken``/``ILERT_API_TOKEN``, ``ilert:baseUrl``/``ILERT_BASE_URL``,
``level:apiKey``/``LEVEL_API_KEY``, ``level:baseUrl``/``LEVEL_BASE_URL``.
Env fallbacks matter for ``pulumi destroy`` and ``refresh``, which configure the provider
from the config saved at the last update: a rotated token then only needs the env var.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from providers import ilert_api, level_api

ConfigLookup = Callable[[str], object]


class MissingCredentialError(RuntimeError):
    """A credential is set neither in the stack config nor in the environment."""


@dataclass(frozen=True)
class ApiSettings:
    """Names of one API's settings: config keys, env vars, default base URL."""

    api: str
    credential_key: str
    credential_env: str
    base_url_key: str
    base_url_env: str
    default_base_url: str
    credential_what: str


@dataclass(frozen=True)
class Endpoint:
    """A base URL and its credential (kept out of ``repr`` so it never reaches a log)."""

    base_url: str
    credential: str = field(repr=False)


ILERT = ApiSettings(
    api="ilert",
    credential_key="ilert:apiToken",
    credential_env="ILERT_API_TOKEN",
    base_url_key="ilert:baseUrl",
    base_url_env="ILERT_BASE_URL",
    default_base_url=ilert_api.DEFAULT_BASE_URL,
    credential_what="an ilert API key (ilert: Profile > API keys)",
)
LEVEL = ApiSettings(
    api="Level",
    credential_key="level:apiKey",
    credential_env="LEVEL_API_KEY",
    base_url_key="level:baseUrl",
    base_url_env="LEVEL_BASE_URL",
    default_base_url=level_api.DEFAULT_BASE_URL,
    credential_what="a read & write Level API key (Level: Settings > API keys)",
)


def resolve(
    settings: ApiSettings,
    config: ConfigLookup,
    environ: Mapping[str, str] | None = None,
) -> Endpoint:
    """The endpoint from config (``config(key)``) or the environment; raises if no credential."""
    env = os.environ if environ is None else environ
    credential = _first_set(config(settings.credential_key), env.get(settings.credential_env))
    if credential is None:
        raise MissingCredentialError(
            f"The {settings.api} credential is not set. Set it with "
            f"`pulumi config set --secret {settings.credential_key} <value>` or export "
            f"{settings.credential_env}; it is {settings.credential_what}."
        )
    base_url = _first_set(config(settings.base_url_key), env.get(settings.base_url_env))
    return Endpoint(base_url=base_url or settings.default_base_url, credential=credential)


def _first_set(*values: object) -> str | None:
    for value in values:
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None
