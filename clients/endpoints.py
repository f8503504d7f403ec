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

Sandbox and real URLs never cross (``stack``: the stack's name, where the caller knows it):
- a loopback base URL (the sandbox, or anything listening on this machine) taken from the
  environment is refused unless the stack is a sandbox stack (named ``sandbox*``): a
  ``ILERT_BASE_URL=http://127.0.0.1:8790`` left exported would send a real stack's token, in
  clear text, to whatever listens on that port (on a shared host, another user). A real
  stack that means a local API writes it in its stack file. The providers, which are not
  told the stack's name, take a loopback base URL from the stack file only.
- a sandbox stack refuses every base URL that is not loopback, the default included: its
  credentials and passphrase are public and must never reach the real APIs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from urllib.parse import urlsplit

from clients import ilert as ilert_api
from clients import level as level_api
from clients.failures import KnownFailure
from clients.http import credential_problem, is_loopback, normalise_base_url

ConfigLookup = Callable[[str], object]
#: Stacks named so run against the local sandbox (the Makefile's rule, too).
SANDBOX_STACK_PREFIX = "sandbox"


def is_sandbox_stack(stack: str | None) -> bool:
    """Whether ``stack`` (``name`` or ``org/project/name``) is a sandbox stack."""
    return stack is not None and stack.rsplit("/", 1)[-1].startswith(SANDBOX_STACK_PREFIX)


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
    #: where ``make sandbox`` serves this API (for messages)
    sandbox_base_url: str

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
    sandbox_base_url="http://127.0.0.1:8790",
)
LEVEL = ApiSettings(
    api="Level",
    credential_key="level:apiKey",
    credential_env="LEVEL_API_KEY",
    base_url_key="level:baseUrl",
    base_url_env="LEVEL_BASE_URL",
    default_base_url=level_api.DEFAULT_BASE_URL,
    credential_what="a read & write Level API key (Level: Settings > API keys)",
    sandbox_base_url="http://127.0.0.1:8791",
)


def resolve(
    settings: ApiSettings,
    config: ConfigLookup,
    environ: Mapping[str, str] | None = None,
    *,
    stack: str | None = None,
) -> Endpoint:
    """The endpoint from config (``config(key)``) or the environment, checked.

    Raises ``MissingCredentialError`` when no credential is set and ``EndpointSettingError``
    when a credential or base URL is unusable, or the base URL is not the stack's (see the
    module doc; ``stack`` None: not known, so a loopback URL only from the config); both
    name the config key or env var.
    """
    found = _Found.of(settings, config, environ, stack)
    unusable = found.problems()
    if unusable:
        raise EndpointSettingError(" ".join(unusable))
    if found.credential is None:
        raise MissingCredentialError(
            f"The {settings.api} credential is not set. Set it with "
            f"`pulumi config set --secret {settings.credential_key}` (it asks for the value) "
            f"or export "
            f"{settings.credential_env}; it is {settings.credential_what}."
        )
    return Endpoint(base_url=found.base_url, credential=found.credential)


def problems(
    settings: ApiSettings,
    config: ConfigLookup,
    environ: Mapping[str, str] | None = None,
    *,
    stack: str | None = None,
) -> list[str]:
    """What is wrong with the credential and base URL that are set (none set: no problem).

    For ``check`` and the stack settings: it needs no network and does not require the
    credential to be set, since a preview does not use it.
    """
    return _Found.of(settings, config, environ, stack).problems()


@dataclass(frozen=True)
class _Found:
    """The values set for one API and where each came from."""

    settings: ApiSettings
    credential: str | None = field(repr=False)
    credential_source: str
    raw_base_url: str | None
    base_url_source: str
    stack: str | None = None

    @classmethod
    def of(
        cls,
        settings: ApiSettings,
        config: ConfigLookup,
        environ: Mapping[str, str] | None,
        stack: str | None = None,
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
        return cls(settings, credential, credential_source, base_url, base_url_source, stack)

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
                f"`export {settings.credential_env}=<value>`"
                if self.credential_source.startswith(settings.credential_env)
                else f"`pulumi config set --secret {settings.credential_key}` (it asks for the "
                "value)"
            )
            found.append(
                f"{self.credential_source} {problem}, so it cannot be sent to the "
                f"{settings.api} API. Copy it again, it is {settings.credential_what}; set "
                f"it with {fix}."
            )
        try:
            base_url = self.base_url
        except ValueError as error:
            found.append(f"{error}. Leave it unset for {self.settings.default_base_url}.")
        else:
            crossed = self.crossing(base_url)
            if crossed:
                found.append(crossed)
        return found

    def crossing(self, base_url: str) -> str | None:
        """Why ``base_url`` is not this stack's (sandbox and real URLs crossing), or None."""
        settings, stack = self.settings, self.stack
        host = urlsplit(base_url).hostname or ""
        from_env = self.base_url_source.startswith(settings.base_url_env)
        if is_sandbox_stack(stack) and not is_loopback(host):
            where = self.base_url_source or f"{settings.base_url_key} (not set: the default)"
            return (
                f"Stack {stack} is a sandbox stack (named {SANDBOX_STACK_PREFIX}*), so its "
                f"{settings.api} base URL must be the local sandbox, but {where} points at "
                f"{host}: the sandbox's public credentials and passphrase must never reach "
                f"another host. Set `{settings.base_url_key}: {settings.sandbox_base_url}` in "
                f"Pulumi.{stack}.yaml (`pulumi config set {settings.base_url_key} "
                f"{settings.sandbox_base_url} --stack {stack}`)"
                + (f" and unset {settings.base_url_env}" if from_env else "")
                + f", or give a stack for {host} a name that does not start with "
                f"{SANDBOX_STACK_PREFIX}."
            )
        if from_env and is_loopback(host) and not is_sandbox_stack(stack):
            which = f"stack {stack}" if stack else "a stack not known to be a sandbox stack"
            return (
                f"{self.base_url_source} is a loopback URL ({host}), which {which} never "
                f"takes from the environment: only sandbox stacks (named "
                f"{SANDBOX_STACK_PREFIX}*) do, so that an exported sandbox URL cannot send a "
                f"real {settings.api} credential to whatever listens on this machine. Unset "
                f"{settings.base_url_env}; if this stack really uses an API on this machine, "
                f"write it in its stack file: `pulumi config set {settings.base_url_key} "
                f"<url>`."
            )
        return None


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
