"""Where each API is and which credential to use: stack config first, environment second.

Config keys and env fallbacks (ARCHITECTURE.md, "Public interface"):
``ilert:apiToken``/``ILERT_API_TOKEN``, ``ilert:baseUrl``/``ILERT_BASE_URL``,
``level:apiKey``/``LEVEL_API_KEY``, ``level:baseUrl``/``LEVEL_BASE_URL``.
Env fallbacks matter for ``pulumi destroy`` and ``refresh``, which configure the provider
from the config saved at the last update: a rotated token then only needs the env var.

Every value is checked here, before any client exists: a credential that cannot be sent in
an HTTP header (a line break, a tab, a character outside Latin-1) or a base URL that is more
than scheme, host and port is refused with a message naming where it came from (the config
key or the env var), never quoting it. Without this, ``requests`` fails with a raw
``ValueError`` that quotes the header, credential included.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields

from clients import ilert as ilert_api
from clients import level as level_api
from clients.failures import KnownFailure
from clients.http import credential_problem, normalise_base_url

ConfigLookup = Callable[[str], object]


class MissingCredentialError(KnownFailure, RuntimeError):
    """A credential is set neither in the stack config nor in the environment."""


class EndpointSettingError(KnownFailure, ValueError):
    """A credential or base URL is set but unusable; the message names its key, not its value."""


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

    @property
    def config_keys(self) -> tuple[str, ...]:
        """Every stack config key of this API (each field named ``*_key``)."""
        return tuple(str(getattr(self, f.name)) for f in fields(self) if f.name.endswith("_key"))


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
    """The endpoint from config (``config(key)``) or the environment, checked.

    Raises ``MissingCredentialError`` when no credential is set and ``EndpointSettingError``
    when a credential or base URL is unusable; both name the config key or env var.
    """
    found = _Found.of(settings, config, environ)
    unusable = found.problems()
    if unusable:
        raise EndpointSettingError(" ".join(unusable))
    if found.credential is None:
        raise MissingCredentialError(
            f"The {settings.api} credential is not set. Set it with "
            f"`pulumi config set --secret {settings.credential_key} <value>` or export "
            f"{settings.credential_env}; it is {settings.credential_what}."
        )
    return Endpoint(base_url=found.base_url, credential=found.credential)


def problems(
    settings: ApiSettings, config: ConfigLookup, environ: Mapping[str, str] | None = None
) -> list[str]:
    """What is wrong with the credential and base URL that are set (none set: no problem).

    For ``check`` and the stack settings: it needs no network and does not require the
    credential to be set, since a preview does not use it.
    """
    return _Found.of(settings, config, environ).problems()


@dataclass(frozen=True)
class _Found:
    """The values set for one API and where each came from."""

    settings: ApiSettings
    credential: str | None = field(repr=False)
    credential_source: str
    raw_base_url: str | None
    base_url_source: str

    @classmethod
    def of(
        cls, settings: ApiSettings, config: ConfigLookup, environ: Mapping[str, str] | None
    ) -> _Found:
        env = os.environ if environ is None else environ
        credential, credential_source = _first_set(
            (config(settings.credential_key), _config_source(settings.credential_key)),
            (env.get(settings.credential_env), _env_source(settings.credential_env)),
        )
        base_url, base_url_source = _first_set(
            (config(settings.base_url_key), _config_source(settings.base_url_key)),
            (env.get(settings.base_url_env), _env_source(settings.base_url_env)),
        )
        return cls(settings, credential, credential_source, base_url, base_url_source)

    @property
    def base_url(self) -> str:
        if self.raw_base_url is None:
            return self.settings.default_base_url
        return normalise_base_url(self.raw_base_url, setting=self.base_url_source)

    def problems(self) -> list[str]:
        found: list[str] = []
        problem = credential_problem(self.credential) if self.credential is not None else None
        if problem:
            settings = self.settings
            fix = (
                f"export {settings.credential_env}=<value>"
                if self.credential_source.startswith(settings.credential_env)
                else f"pulumi config set --secret {settings.credential_key} <value>"
            )
            found.append(
                f"{self.credential_source} {problem}, so it cannot be sent to the "
                f"{settings.api} API. Copy it again, it is {settings.credential_what}; set "
                f"it with `{fix}`."
            )
        try:
            self.base_url  # noqa: B018 (validates)
        except ValueError as error:
            found.append(f"{error}. Leave it unset for {self.settings.default_base_url}.")
        return found


def _config_source(key: str) -> str:
    return f"{key} (stack config)"


def _env_source(name: str) -> str:
    return f"{name} (environment variable)"


def _first_set(*candidates: tuple[object, str]) -> tuple[str | None, str]:
    """The first non-blank value and where it came from."""
    for value, source in candidates:
        if isinstance(value, str) and value.strip():
            return value.strip(), source
    return None, ""
