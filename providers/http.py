"""The one HTTP layer for both APIs: sessions, timeouts, retries with backoff, typed errors.

Why one layer: ilert and Level differ in auth header and error body, but a provider must
behave the same towards both when the network or the API misbehaves. Retries come from
urllib3's ``Retry`` (mounted on a ``requests`` session), not from a hand-written loop.

Retry rules:
- 429, 502, 503 and 504 answers and connection failures are retried with exponential
  backoff and jitter; a ``Retry-After`` header, when the API sends one, sets the wait
  (ilert sends none, so we back off on our own).
- A POST is retried only on 429 and 503 (the server refused it before doing anything) and
  on failures to connect; a POST that may have reached the server is never repeated, so a
  retry can never create a second alert source or webhook.

Credentials: the session is shared per API and process and holds no credential; each
client adds its own ``Authorization`` header per request. No error text ever contains it.
"""

from __future__ import annotations

import ipaddress
import logging
import random
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
from pydantic import BaseModel, ValidationError
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

LOG = logging.getLogger(__name__)
Model = TypeVar("Model", bound=BaseModel)
LOOPBACK_NAMES = ("localhost",)

USER_AGENT = "level-ilert/0.1 (+https://github.com/level-ilert; pulumi dynamic provider)"
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
# Answers that prove the server did nothing with the request: safe to repeat even a POST.
NOTHING_DONE_STATUSES = frozenset({429, 503})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH"})
REDACTED = "***"
MAX_MESSAGE_CHARS = 300


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: attempts in all, and the backoff between them (seconds)."""

    attempts: int = 4
    backoff_factor: float = 2.0
    backoff_jitter: float = 1.0
    backoff_max: float = 30.0
    retry_after_max: int = 60

    def build(self) -> Retry:
        """The urllib3 ``Retry`` that enforces this policy."""
        retries = max(self.attempts - 1, 0)
        return _SafeRetry(
            total=retries,
            connect=retries,
            read=retries,
            status=retries,
            other=0,
            redirect=0,
            allowed_methods=IDEMPOTENT_METHODS,
            status_forcelist=RETRYABLE_STATUSES,
            backoff_factor=self.backoff_factor,
            backoff_jitter=self.backoff_jitter,
            backoff_max=self.backoff_max,
            retry_after_max=self.retry_after_max,
            respect_retry_after_header=True,
            raise_on_status=False,
            raise_on_redirect=False,
        )


@dataclass(frozen=True)
class Timeouts:
    """Seconds to wait for a connection and for each read."""

    connect: float = 5.0
    read: float = 30.0


class _SafeRetry(Retry):
    """urllib3 Retry that repeats a POST only on answers proving nothing was done."""

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if method.upper() == "POST":
            return status_code in NOTHING_DONE_STATUSES
        return super().is_retry(method, status_code, has_retry_after)

    def get_backoff_time(self) -> float:
        # urllib3 repeats the first failure at once; an API that just refused us (ilert's 429
        # carries no Retry-After) deserves a pause before every retry: factor * 2^(n-1) + jitter.
        failures = len(self.history)
        if failures == 0:
            return 0.0
        jitter = random.random() * self.backoff_jitter  # noqa: S311 (spreads retries, not crypto)
        backoff = self.backoff_factor * 2 ** (failures - 1) + jitter
        return float(min(self.backoff_max, backoff))


class ApiError(Exception):
    """An API call failed. Carries the status, the server's own message, method and path."""

    def __init__(
        self, *, api: str, method: str, path: str, status: int | None, message: str, hint: str = ""
    ) -> None:
        self.api = api
        self.method = method
        self.path = path
        self.status = status
        self.message = message
        self.hint = hint
        super().__init__(str(self))

    def __str__(self) -> str:
        status = f"HTTP {self.status}" if self.status is not None else "no answer"
        text = f"{self.api} API {self.method} {self.path} failed ({status}): {self.message}"
        return f"{text}. {self.hint}" if self.hint else text

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only constructors do not survive pickling by default (gRPC, dill, pytest-xdist).
        return (_rebuild_error, (type(self), self.__dict__.copy()))


def _rebuild_error(cls: type[ApiError], state: dict[str, Any]) -> ApiError:
    error = cls.__new__(cls)
    error.__dict__.update(state)
    Exception.__init__(error, str(error))
    return error


class BadRequestError(ApiError):
    """400: the API rejected the input; repeating it will not help."""


class UnauthorizedError(ApiError):
    """401: the credential is missing, wrong or revoked."""


class ForbiddenError(ApiError):
    """403: the credential is valid but may not do this (e.g. a read-only Level key)."""


class NotFoundError(ApiError):
    """404: no such object (or, for a collection, no such API)."""


class RateLimitedError(ApiError):
    """429 after every retry: the API's rate limit is still exhausted."""


class ServerError(ApiError):
    """5xx after every retry: the API is failing on its side."""


class ApiUnreachableError(ApiError):
    """No answer at all: connection refused, DNS failure or timeout, after every retry."""


_ERRORS_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequestError,
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    429: RateLimitedError,
}


def error_class_for(status: int) -> type[ApiError]:
    """The most specific ``ApiError`` subclass for an HTTP status."""
    if status >= 500:
        return ServerError
    return _ERRORS_BY_STATUS.get(status, ApiError)


_SESSIONS: dict[tuple[str, RetryPolicy], requests.Session] = {}
_SESSIONS_LOCK = threading.Lock()


def session_for(api: str, retry: RetryPolicy) -> requests.Session:
    """The process-wide session of one API (connection pooling across calls and resources)."""
    key = (api, retry)
    with _SESSIONS_LOCK:
        session = _SESSIONS.get(key)
        if session is None:
            session = requests.Session()
            session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
            adapter = HTTPAdapter(max_retries=retry.build())
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            _SESSIONS[key] = session
        return session


class _HeaderAuth(requests.auth.AuthBase):
    """Adds the ``Authorization`` header per request, so the shared session never holds it."""

    def __init__(self, value: str) -> None:
        self._value = value

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = self._value
        return request


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost: the only hosts plain http is allowed for."""
    if host.strip("[]").lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def normalise_base_url(base_url: str, *, setting: str) -> str:
    """``base_url`` without a trailing slash; https, or http for loopback (the sandbox) only.

    Plain http to any other host would send the API credential in clear text. Only scheme,
    host and port are allowed: the clients add the API's own path, a ``user:password@`` part
    would be a second credential outside the secret config, and a query or fragment would be
    dropped or mangled. Messages name ``setting`` (the config key or env var) and never quote
    the URL, which may hold a password.
    """
    url = base_url.strip().rstrip("/")
    example = "an https URL of scheme and host only, such as https://api.example.com"
    if any(char.isspace() or not char.isprintable() for char in url):
        raise ValueError(f"{setting} must be {example}; it contains spaces or control characters")
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 (raises ValueError on a malformed port)
    except ValueError:
        raise ValueError(f"{setting} must be {example}; its port is not a number") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"{setting} must be {example}")
    if "@" in parts.netloc:
        raise ValueError(
            f"{setting} must not contain a user name or password (user:password@); remove "
            f"it, the API credential has its own setting"
        )
    if parts.path:
        raise ValueError(
            f"{setting} must be scheme and host only, such as https://api.example.com; "
            f"remove the path, the client adds the API's own path (/api, /v2)"
        )
    if "?" in url or "#" in url:
        raise ValueError(
            f"{setting} must be scheme and host only, such as https://api.example.com; "
            f"remove the query (?...) or fragment (#...)"
        )
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ValueError(
            f"{setting} must use https:// (plain http would send the credential in clear "
            f"text); http is accepted for loopback hosts only"
        )
    return url


class ApiClient:
    """A JSON API at one base URL with one credential; the typed clients build on it."""

    def __init__(
        self,
        *,
        api: str,
        base_url: str,
        authorization: str,
        credential_secret: str,
        credential_hint: str,
        base_url_setting: str,
        retry: RetryPolicy | None = None,
        timeouts: Timeouts | None = None,
    ) -> None:
        self.api = api
        self.base_url = normalise_base_url(base_url, setting=base_url_setting)
        self._auth = _HeaderAuth(authorization)
        self._secret = credential_secret
        self._credential_hint = credential_hint
        self._session = session_for(api, retry or RetryPolicy())
        timeouts = timeouts or Timeouts()
        self._timeout = (timeouts.connect, timeouts.read)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(api={self.api!r}, base_url={self.base_url!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # A client is never pickled into Pulumi state: it would carry the credential.
        raise TypeError(f"{type(self).__name__} holds a credential and must not be pickled")

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        sensitive: Iterable[str | None] = (),
    ) -> Any:
        """Send one request (retried per the policy); the decoded JSON body, or None if empty.

        ``sensitive`` values (a webhook URL or secret in the body) are hidden from error text,
        as the credential always is: a server may quote the input back in its error message.
        Redirects are not followed: a redirected POST would silently become a GET.
        """
        hidden = [self._secret, *(value for value in sensitive if value)]
        started = time.monotonic()
        try:
            response = self._session.request(
                method,
                self.base_url + path,
                params=params,
                json=json,
                auth=self._auth,
                timeout=self._timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise ApiUnreachableError(
                api=self.api,
                method=method,
                path=path,
                status=None,
                message=_redact(f"{type(exc).__name__}: {_root_cause(exc)}", hidden),
                hint=f"Check that {self.base_url} is reachable from here.",
            ) from None
        LOG.debug(
            "%s %s %s -> %s in %.2fs",
            self.api, method, path, response.status_code, time.monotonic() - started,
        )
        if response.status_code >= 300:
            raise self._error(method, path, response, hidden)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ApiError(
                api=self.api,
                method=method,
                path=path,
                status=response.status_code,
                message="the answer was not JSON: " + _redact(response.text[:100], hidden),
            ) from None

    def call(
        self,
        model: type[Model],
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        sensitive: Iterable[str | None] = (),
    ) -> Model:
        """``request`` and validate the answer as ``model``."""
        body = self.request(method, path, params=params, json=json, sensitive=sensitive)
        return self.parse(model, body, method, path)

    def parse(self, model: type[Model], body: Any, method: str, path: str) -> Model:
        """Validate one answer; a mismatch never quotes the answer, which may hold keys or URLs."""
        try:
            return model.model_validate(body)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(part) for part in error['loc']) or 'the body'}: {error['msg']}"
                for error in exc.errors(include_input=False, include_url=False)
            )
            raise ApiError(
                api=self.api,
                method=method,
                path=path,
                status=None,
                message=f"the answer does not have the shape of {model.__name__} ({problems})",
                hint="The API may have changed; this client needs updating.",
            ) from None

    def _error(
        self, method: str, path: str, response: requests.Response, hidden: list[str]
    ) -> ApiError:
        status = response.status_code
        hint = ""
        if status < 400:
            hint = (
                f"The API redirected to {response.headers.get('Location', '(nowhere)')!r}; "
                f"set the base URL to where it points."
            )
        elif status == 401:
            hint = f"Check the credential: {self._credential_hint}."
        elif status == 403:
            hint = f"The credential may not do this; check its access ({self._credential_hint})."
        elif status == 429:
            hint = "The API's rate limit was still exhausted after every retry; try again later."
        return error_class_for(status)(
            api=self.api,
            method=method,
            path=path,
            status=status,
            message=_redact(_server_message(response), hidden),
            hint=hint,
        )


def _redact(text: str, hidden: Iterable[str]) -> str:
    """``text`` with every hidden value replaced by ``***``."""
    for value in hidden:
        if value:
            text = text.replace(value, REDACTED)
    return text


def _server_message(response: requests.Response) -> str:
    """The server's own words: ilert's ``message``, Level's ``error``, else the body's start."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        for field in ("message", "error", "detail"):
            value = body.get(field)
            if isinstance(value, str) and value:
                return value[:MAX_MESSAGE_CHARS]
    text = response.text.strip()
    return text[:MAX_MESSAGE_CHARS] if text else (response.reason or "no message")


def _root_cause(exc: requests.RequestException) -> str:
    """The underlying reason (refused, timed out, DNS), without urllib3's retry wrapper."""
    inner = exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else exc
    reason = getattr(inner, "reason", None)
    return str(reason if isinstance(reason, BaseException) else inner)[:MAX_MESSAGE_CHARS]


__all__ = [
    "ApiClient",
    "ApiError",
    "ApiUnreachableError",
    "BadRequestError",
    "ForbiddenError",
    "NotFoundError",
    "RateLimitedError",
    "RetryPolicy",
    "ServerError",
    "Timeouts",
    "UnauthorizedError",
    "error_class_for",
    "is_loopback",
    "normalise_base_url",
    "session_for",
]

