"""The one HTTP layer for both APIs: sessions, pacing, deadlines, retries, typed errors.

Why one layer: ilert and Level differ in auth header and error body, but a provider must
behave the same towards both when the network or the API misbehaves. Retries come from
urllib3's ``Retry`` (mounted on a ``requests`` session), pacing from ``clients/pacing.py``;
this module only wires them together.

Retry rules:
- GET, PUT, PATCH and DELETE are retried on 429, 500, 502, 503 and 504, on connection
  failures and on answers lost after sending (read timeout, reset): repeating them cannot
  do anything twice.
- A POST is retried only on 429 and 503 (the server refused it before doing anything) and on
  failures to connect. A POST that may have reached the server (timeout or reset after
  sending, 500/502/504) is never repeated: the error says ``may_have_acted`` and the
  provider settles it with one lookup instead, so a retry never creates a second object.
- A 429 is retried until the operation's deadline and spends none of the policy's
  attempts (up to 20 429s per request): the API refused before doing anything. It waits
  ``Retry-After`` when the API sends one; without it (ilert never sends one) it backs off
  from 1 s, doubling up to the key's rate-limit window, each wait stretched by a random
  0-25 % (``rate_limited_wait``).
  The retry then takes a token from the key's pacer like any request, so a herd of
  refused threads queues instead of returning at once.
- Other waits: exponential backoff with jitter.

Pacing and deadline:
- Every attempt, retries included, first takes a token from the ``Pacer`` of its API key
  (``clients/pacing.py``; ilert publishes 120 requests per minute per key), waiting at most
  until the operation's deadline. A client is given its pacer (``pacer=``), and clients of
  one key in one process share it by being given the same object, so the engine's parallel
  operations queue instead of tripping the API's limit. Pacing is per process: the fleet
  divides a key it shares among the stacks it runs at once (``clients/tuning.py``).
- One deadline per operation (``deadline()``) bounds attempts, waits and pacing together;
  without one, each request gets ``operation_timeout`` seconds of its own.

Credentials: a client's session (its own, or one passed in to share connections) holds no
credential; each client adds its own ``Authorization`` header per request. No error text
ever contains it: every answer's text is redacted first, in every form it may be quoted
(``clients/untrusted.py``: a webhook URL's integration key on its own too), put on one
line, and only then cut to ``MAX_MESSAGE_CHARS``.

Proxies: a loopback base URL (the sandbox) never goes through one, whatever
``HTTP_PROXY``/``ALL_PROXY`` say: the credential stays on this machine.
"""

from __future__ import annotations

import contextvars
import ipaddress
import logging
import random
import time
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import takewhile
from typing import Any, Self, TypeVar, cast
from urllib.parse import urlsplit

import requests
from pydantic import BaseModel, ValidationError
from requests.adapters import HTTPAdapter
from urllib3.exceptions import (
    ConnectTimeoutError,
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)
from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import RequestHistory, Retry

from clients.failures import KnownFailure
from clients.pacing import Pacer, RateLimit
from clients.untrusted import REDACTED, api_text

LOG = logging.getLogger(__name__)
Model = TypeVar("Model", bound=BaseModel)
LOOPBACK_NAMES = ("localhost",)

USER_AGENT = "level-ilert/0.1 (+https://github.com/level-ilert; pulumi dynamic provider)"
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
# Answers that prove the server did nothing with the request: safe to repeat even a POST.
NOTHING_DONE_STATUSES = frozenset({429, 503})
# Answers after which a POST may or may not have been carried out.
OUTCOME_UNKNOWN_STATUSES = frozenset({500, 502, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH"})
MAX_MESSAGE_CHARS = 300
# Connections kept per host: above the engine's parallelism (the provider server runs a few
# operations at once, each with one request in flight), so no "pool is full" churn.
POOL_SIZE = 32
DEFAULT_OPERATION_TIMEOUT = 120.0
# After a 429 without Retry-After: 1 s, doubling up to the rate-limit window, +0-25 % jitter.
FIRST_RATE_LIMITED_WAIT = 1.0
RATE_LIMITED_JITTER = 0.25
# 429s retried without spending an attempt. At 1, 2, 4 ... 60 s, 20 of them outlast any
# sensible deadline; the bound only keeps a tiny window (tests, bench) from retrying
# hundreds of times (urllib3 retries by recursion).
FREE_RATE_LIMITED_RETRIES = 20


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


class DeadlineExceeded(Exception):
    """The operation's deadline left no time for another attempt or wait."""


@dataclass
class _Attempt:
    """What the retry hooks need to know about the request in flight (one per request)."""

    deadline: float
    deadline_seconds: float  # the deadline's length, for messages
    pacer: Pacer | None
    deadline_hit: bool = False
    attempts: int = 1
    read_cut_by_deadline: bool = False  # the read timeout was shortened to fit the deadline

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def pace(self) -> None:
        """Take a token for the next attempt, waiting at most until the deadline."""
        if self.pacer is not None:
            remaining = self.remaining()
            if remaining <= 0 or not self.pacer.acquire(remaining):
                self.deadline_hit = True
                reason = DeadlineExceeded("no request slot before the deadline")
                raise MaxRetryError(None, "", reason)  # type: ignore[arg-type]

    @property
    def rate_window(self) -> float | None:
        """The key's rate-limit window: the longest wait after a bare 429."""
        return self.pacer.limit.window_seconds if self.pacer is not None else None


_ATTEMPT: contextvars.ContextVar[_Attempt | None] = contextvars.ContextVar(
    "level_ilert_attempt", default=None
)
# The current operation's deadline: (monotonic end, its length in seconds).
_DEADLINE: contextvars.ContextVar[tuple[float, float] | None] = contextvars.ContextVar(
    "level_ilert_deadline", default=None
)


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Bound every request made inside (retries and waits included) by one deadline.

    Providers wrap each create/read/update/delete in it, so an operation that needs a
    lookup and a write still ends in time. Nested deadlines keep the earlier one.
    """
    end = time.monotonic() + seconds
    outer = _DEADLINE.get()
    token = _DEADLINE.set((end, seconds) if outer is None or end < outer[0] else outer)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def rate_limited_wait(consecutive: int, cap: float, jitter: float | None = None) -> float:
    """Seconds to wait after the ``consecutive``-th 429 in a row that came without
    ``Retry-After``: 1 s, doubling (2, 4, 8 ...), each stretched by a random 0-25 % so that
    clients refused together do not return together, never more than ``cap`` (the key's
    rate-limit window: a wait of one window always finds it free)."""
    spread = random.random() if jitter is None else jitter  # noqa: S311 (spreads retries, not crypto)
    backoff = FIRST_RATE_LIMITED_WAIT * 2 ** (max(consecutive, 1) - 1)
    return float(min(cap, backoff * (1 + RATE_LIMITED_JITTER * spread)))


def _trailing_429s(history: tuple[RequestHistory, ...]) -> int:
    return len(list(takewhile(lambda entry: entry.status == 429, reversed(history))))


class _SafeRetry(Retry):
    """urllib3 Retry that repeats a POST only on answers proving nothing was done, backs off
    from a second after a bare 429 (without counting it as an attempt), and stops at the
    operation's deadline."""

    planned_wait: float = 0.0

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if method.upper() == "POST":
            return status_code in NOTHING_DONE_STATUSES
        return super().is_retry(method, status_code, has_retry_after)

    def get_backoff_time(self) -> float:
        # urllib3 repeats the first failure at once; an API that just refused us deserves a
        # pause before every retry: factor * 2^(n-1) + jitter.
        failures = len(self.history)
        if failures == 0:
            return 0.0
        jitter = random.random() * self.backoff_jitter  # noqa: S311 (spreads retries, not crypto)
        backoff = self.backoff_factor * 2 ** (failures - 1) + jitter
        return float(min(self.backoff_max, backoff))

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: Any = None,
        _stacktrace: Any = None,
    ) -> Self:
        if (
            response is not None
            and response.status == 429
            and sum(entry.status == 429 for entry in self.history) < FREE_RATE_LIMITED_RETRIES
        ):
            # A 429 proves the API did nothing: it spends no attempt; the deadline bounds it.
            entry = RequestHistory(method, url, None, 429, None)
            retry = self.new(history=(*self.history, entry))
        else:
            retry = super().increment(method, url, response, error, _pool, _stacktrace)
        attempt = _ATTEMPT.get()
        retry.planned_wait = retry._wait_before_next(response, attempt)
        if attempt is None:
            return retry
        if retry.planned_wait >= attempt.remaining():
            attempt.deadline_hit = True
            raise MaxRetryError(
                _pool, url or "", DeadlineExceeded("the next attempt would pass the deadline")
            )
        attempt.attempts += 1
        return retry

    def _wait_before_next(
        self, response: BaseHTTPResponse | None, attempt: _Attempt | None
    ) -> float:
        if response is not None and self.respect_retry_after_header:
            retry_after = self.get_retry_after(response)
            if retry_after is not None:
                return retry_after
            if response.status == 429:
                window = attempt.rate_window if attempt is not None else None
                return rate_limited_wait(
                    _trailing_429s(self.history), window or self.backoff_max
                )
        return self.get_backoff_time()

    def sleep(self, response: BaseHTTPResponse | None = None) -> None:
        attempt = _ATTEMPT.get()
        wait = self.planned_wait
        if attempt is not None:
            wait = min(wait, max(attempt.remaining(), 0.0))
        if wait > 0:
            time.sleep(wait)
        if attempt is not None:
            attempt.pace()


class ApiError(KnownFailure):
    """An API call failed. Carries the status, the server's own message, method and path.

    ``may_have_acted`` is True when a write's outcome is unknown (its answer was lost, or
    a 500/502/504 came back): the caller must look before it tries again.
    """

    def __init__(
        self,
        *,
        api: str,
        method: str,
        path: str,
        status: int | None,
        message: str,
        hint: str = "",
        may_have_acted: bool = False,
    ) -> None:
        self.api = api
        self.method = method
        self.path = path
        self.status = status
        self.message = message
        self.hint = hint
        self.may_have_acted = may_have_acted
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
    """5xx after every retry: the API kept failing on its side."""


class ApiUnreachableError(ApiError):
    """No connection could be made (refused, DNS failure, connect timeout), after every retry."""


class ResponseLostError(ApiError):
    """The request was sent but no answer came back (read timeout, connection dropped)."""


class DeadlineExceededError(ApiError):
    """The operation's deadline passed before an attempt succeeded."""


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


def new_session(retry: RetryPolicy | None = None) -> requests.Session:
    """A session that retries per ``retry`` and keeps ``POOL_SIZE`` connections per host.

    Each ``ApiClient`` builds its own unless given one: clients that should reuse each
    other's connections are given the same session (it holds no credential)."""
    session = requests.Session()
    session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
    adapter = HTTPAdapter(
        max_retries=(retry or RetryPolicy()).build(),
        pool_connections=POOL_SIZE,
        pool_maxsize=POOL_SIZE,
    )
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


class _HeaderAuth(requests.auth.AuthBase):
    """Adds the ``Authorization`` header per request, so a session never holds it."""

    def __init__(self, value: str) -> None:
        self._value = value

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = self._value
        return request

    def __repr__(self) -> str:
        return f"{type(self).__name__}(***)"


def credential_problem(value: str) -> str | None:
    """Why ``value`` cannot be an HTTP credential, in words that never quote it; else None.

    HTTP header values are Latin-1 text without control characters; every ilert and Level
    key is plain ASCII, so anything else is a copy-and-paste accident.
    """
    for char in value:
        if unicodedata.category(char) == "Cc":
            return f"contains a control character ({_control_name(char)})"
    if any(ord(char) > 0xFF for char in value):
        return (
            "contains a character outside Latin-1 (for example a typographic quote or dash "
            "from copy and paste)"
        )
    return None


_CONTROL_NAMES = {"\n": "a line break", "\r": "a carriage return", "\t": "a tab", "\0": "NUL"}


def _control_name(char: str) -> str:
    return _CONTROL_NAMES.get(char, f"U+{ord(char):04X}")


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost: the only hosts plain http is allowed for."""
    if host.strip("[]").lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def proxies_for(url: str) -> MutableMapping[str, str] | None:
    """The ``proxies`` argument of a request to ``url``: for a loopback host (the sandbox),
    one that keeps every proxy of the environment away (requests merges the environment's
    ``http``/``https``/``all`` under these keys, then drops the None); else None (the
    environment's proxies, as usual)."""
    if not is_loopback(urlsplit(url).hostname or ""):
        return None
    return cast("MutableMapping[str, str]", {"http": None, "https": None, "all": None})


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
    """A JSON API at one base URL with one credential; the typed clients build on it.

    ``pacer``: the key's ``Pacer`` (pass the same one to every client of the key in this
    process); ``rate_limit`` instead: see ``_pacer_for``. Neither: no pacing (429s are still
    retried with backoff). ``session``: one from ``new_session`` to share connections with
    other clients (then ``retry`` is that session's); by default the client has its own.
    """

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
        rate_limit: RateLimit | None = None,
        operation_timeout: float = DEFAULT_OPERATION_TIMEOUT,
        operation_timeout_setting: str = "",
        pacer: Pacer | None = None,
        session: requests.Session | None = None,
    ) -> None:
        if pacer is not None and rate_limit is not None:
            raise ValueError("give an ApiClient a pacer or a rate_limit, not both")
        if session is not None and retry is not None:
            raise ValueError("a shared session retries as new_session(retry) made it; "
                             "give the retry policy there")
        self.api = api
        self.base_url = normalise_base_url(base_url, setting=base_url_setting)
        self._proxies = proxies_for(self.base_url)
        problem = credential_problem(credential_secret)
        if problem:  # requests would raise with the header, credential and all, in its text
            raise ValueError(f"The {api} credential {problem}; {credential_hint}.")
        self._auth = _HeaderAuth(authorization)
        self._secret = credential_secret
        self._credential_hint = credential_hint
        self._session = session if session is not None else new_session(retry)
        self._timeouts = timeouts or Timeouts()
        self.pacer = pacer if pacer is not None else _pacer_for(
            api, self.base_url, credential_secret, rate_limit
        )
        self._operation_timeout = operation_timeout
        self._timeout_setting = operation_timeout_setting

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
        """Send one request (paced, retried per the policy, within the deadline); the decoded
        JSON body, or None if empty.

        ``sensitive`` values (a webhook URL or secret in the body) are hidden from error text,
        as the credential always is: a server may quote the input back in its error message.
        Redirects are not followed: a redirected POST would silently become a GET.
        """
        hidden = [self._secret, *(value for value in sensitive if value)]
        started = time.monotonic()
        timeout = self._operation_timeout
        end, seconds = _DEADLINE.get() or (started + timeout, timeout)
        attempt = _Attempt(
            deadline=end,
            deadline_seconds=seconds,
            pacer=self.pacer,
        )
        token = _ATTEMPT.set(attempt)
        try:
            attempt.pace()
            read_timeout = max(min(self._timeouts.read, attempt.remaining()), 0.001)
            attempt.read_cut_by_deadline = read_timeout < self._timeouts.read
            response = self._session.request(
                method,
                self.base_url + path,
                params=params,
                json=json,
                auth=self._auth,
                timeout=(self._timeouts.connect, read_timeout),
                allow_redirects=False,
                proxies=self._proxies,
            )
        except (requests.RequestException, MaxRetryError) as exc:
            raise self._no_answer(method, path, exc, attempt, hidden) from None
        finally:
            _ATTEMPT.reset(token)
        LOG.debug(
            "%s %s %s -> %s in %.2fs",
            self.api, method, path, response.status_code, time.monotonic() - started,
        )
        if response.status_code >= 300:
            raise self._error(method, path, response, hidden, attempt)
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
                message="the answer was not JSON: " + api_text(response.text, hidden, 100),
                # A POST answered 2xx did what it was asked: the caller must look, not repeat.
                may_have_acted=method not in IDEMPOTENT_METHODS,
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

    def malformed(self, method: str, path: str, what: str) -> ApiError:
        """The error for an answer this client cannot use (``what`` never quotes it).

        A POST that got such an answer was carried out (the API answered 2xx), so the error
        says it may have acted: a create then looks before it fails, and never repeats.
        """
        return ApiError(
            api=self.api,
            method=method,
            path=path,
            status=None,
            message=what,
            hint="The API may have changed; this client needs updating.",
            may_have_acted=method not in IDEMPOTENT_METHODS,
        )

    def parse(self, model: type[Model], body: Any, method: str, path: str) -> Model:
        """Validate one answer; a mismatch never quotes the answer, which may hold keys or URLs."""
        try:
            return model.model_validate(body)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(part) for part in error['loc']) or 'the body'}: {error['msg']}"
                for error in exc.errors(include_input=False, include_url=False)
            )
            raise self.malformed(
                method, path, f"the answer does not have the shape of {model.__name__} ({problems})"
            ) from None

    def _deadline_hint(self, attempt: _Attempt, *, sentence: bool = True) -> str:
        """What passed and what to do: a sentence, or (``sentence=False``) a clause that
        follows a semicolon."""
        where = f" ({self._timeout_setting})" if self._timeout_setting else ""
        return (
            f"{'The' if sentence else 'the'} operation's deadline of {attempt.deadline_seconds:g} s"
            f"{where} passed; raise it for a slow network or API, or try again later."
        )

    def _no_answer(
        self,
        method: str,
        path: str,
        exc: BaseException,
        attempt: _Attempt,
        hidden: list[str],
    ) -> ApiError:
        """The error for a request that got no answer: never connected, lost, or out of time."""
        cause = _root_cause(exc)
        fields: dict[str, Any] = {
            "api": self.api, "method": method, "path": path, "status": None,
        }
        tries = _attempts(attempt.attempts)
        connect_failed = isinstance(
            cause, ConnectTimeoutError | NewConnectionError | NameResolutionError
        ) or (
            isinstance(exc, requests.ConnectionError | requests.ConnectTimeout)
            and not isinstance(cause, ReadTimeoutError | ProtocolError | OSError | DeadlineExceeded)
        )
        timed_out = isinstance(cause, ReadTimeoutError) or isinstance(exc, requests.ReadTimeout)
        # Sent, then no answer: a write may have been carried out.
        lost = not connect_failed and not isinstance(cause, DeadlineExceeded)
        acted = lost and method.upper() not in IDEMPOTENT_METHODS
        out_of_time = (
            attempt.deadline_hit
            or isinstance(cause, DeadlineExceeded)
            or (timed_out and attempt.read_cut_by_deadline)
        )
        # A deadline that cut the retries of a failing connection short hides the reason:
        # an unreachable host is said to be one, with its URL, whatever the deadline.
        never_connected = _connect_failure(exc) if out_of_time else None
        if out_of_time and never_connected is None:
            return DeadlineExceededError(
                **fields,
                message=f"no success after {tries}: " + _cause_text(cause, hidden),
                hint=(
                    "The request was sent; the API may have carried it out. "
                    if acted
                    else ""
                )
                + self._deadline_hint(attempt),
                may_have_acted=acted,
            )
        if connect_failed or never_connected is not None:
            reason = never_connected or cause
            setting = f" ({self._timeout_setting})" if self._timeout_setting else ""
            cut_short = (
                f" (the operation's deadline of {attempt.deadline_seconds:g} s{setting} left "
                f"no time for another)"
                if never_connected is not None
                else ""
            )
            return ApiUnreachableError(
                **fields,
                message=f"could not connect after {tries}{cut_short}: "
                + _cause_text(reason, hidden),
                hint=f"Check that {self.base_url} is reachable from here (address, DNS, "
                f"proxy, firewall).",
            )
        if timed_out:
            what = f"the request was sent but no answer came within {self._timeouts.read:g} s"
        else:
            what = "the request was sent but the connection was dropped before an answer"
        return ResponseLostError(
            **fields,
            message=f"{what} ({tries}): " + _cause_text(cause, hidden),
            hint=(
                "The API may have carried it out; the provider checks before trying again."
                if acted
                else "The API is slow or overloaded; try again later."
            ),
            may_have_acted=acted,
        )

    def _error(
        self,
        method: str,
        path: str,
        response: requests.Response,
        hidden: list[str],
        attempt: _Attempt,
    ) -> ApiError:
        status = response.status_code
        hint = ""
        tries = _attempts(attempt.attempts)
        unknown_outcome = method.upper() == "POST" and status in OUTCOME_UNKNOWN_STATUSES
        if status < 400:
            where = api_text(response.headers.get("Location", "(nowhere)"), hidden, 200)
            hint = f"The API redirected to {where!r}; set the base URL to where it points."
        elif status == 401:
            hint = f"Check the credential: {self._credential_hint}."
        elif status == 403:
            hint = f"The credential may not do this; check its access ({self._credential_hint})."
        elif status == 429:
            hint = f"The API's rate limit was still exhausted after {tries}; "
            hint += (
                self._deadline_hint(attempt, sentence=False)
                if attempt.deadline_hit
                else "try again later."
            )
        elif unknown_outcome:
            hint = (
                f"The API failed (HTTP {status}) and the request was not repeated: it may "
                f"have been carried out; the provider checks before trying again."
            )
        elif status >= 500:
            hint = (
                f"The API kept failing: HTTP {status} on the last of {tries}"
                if attempt.attempts > 1
                else f"The API failed: HTTP {status} on the only attempt"
            )
            hint += (
                "; " + self._deadline_hint(attempt, sentence=False) if attempt.deadline_hit else "."
            )
        return error_class_for(status)(
            api=self.api,
            method=method,
            path=path,
            status=status,
            message=api_text(_server_message(response), hidden, MAX_MESSAGE_CHARS),
            hint=hint,
            may_have_acted=unknown_outcome,
        )


def _pacer_for(
    api: str, base_url: str, credential: str, limit: RateLimit | None
) -> Pacer | None:
    """The client's own pacer for a ``rate_limit`` (None without one). Clients that must
    share one key's pace (the provider's, built once per process) are given one ``pacer``."""
    return Pacer(limit) if limit is not None else None


def _attempts(count: int) -> str:
    return f"{count} attempt{'' if count == 1 else 's'}"


def _server_message(response: requests.Response) -> str:
    """The server's own words, whole: ilert's ``message``, Level's ``error``, else the body
    (the caller redacts, then cuts)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        for field_name in ("message", "error", "detail"):
            value = body.get(field_name)
            if isinstance(value, str) and value:
                return value
    text = response.text.strip()
    return text if text else (response.reason or "no message")


def _cause_text(cause: BaseException, hidden: Iterable[str]) -> str:
    """A low-level failure for a message: redacted, on one line, then cut."""
    return api_text(_describe(cause), hidden, MAX_MESSAGE_CHARS)


def _root_cause(exc: BaseException) -> BaseException:
    """The innermost reason (refused, timed out, reset, deadline) under requests' and
    urllib3's wrappers."""
    seen = 0
    current: BaseException = exc
    while seen < 10:
        seen += 1
        inner: object = None
        if isinstance(current, MaxRetryError):
            inner = current.reason
        elif isinstance(current, requests.RequestException | ProtocolError) and current.args:
            inner = current.args[-1] if isinstance(current, ProtocolError) else current.args[0]
        elif isinstance(current, NewConnectionError | NameResolutionError):
            return current
        if not isinstance(inner, BaseException):
            return current
        current = inner
    return current


def _connect_failure(exc: BaseException) -> BaseException | None:
    """The failure to connect that the last attempt behind ``exc`` met, if it met one.

    When the deadline stops the retries, urllib3 raises from inside its handler of the
    attempt's own error, so that error is the ``__context__`` of the deadline's exception.
    """
    pending: list[BaseException] = [exc]
    for _ in range(20):
        if not pending:
            return None
        current = pending.pop()
        if isinstance(current, ConnectTimeoutError | NewConnectionError | NameResolutionError):
            return current
        inner: object = None
        if isinstance(current, MaxRetryError):
            inner = current.reason
        elif isinstance(current, requests.RequestException) and current.args:
            inner = current.args[0]
        for found in (current.__context__, inner):
            if isinstance(found, BaseException):
                pending.append(found)
    return None


def _describe(cause: BaseException) -> str:
    """The text of a low-level failure (urllib3 puts the pool's repr in its own); whole,
    the caller redacts, then cuts."""
    if isinstance(cause, DeadlineExceeded | ConnectionError):
        text = str(cause) or type(cause).__name__
    elif isinstance(cause, NewConnectionError | NameResolutionError | ConnectTimeoutError):
        text = str(cause).split(": ", 1)[-1]
    else:
        text = str(cause)
    return f"{type(cause).__name__}: {text}"


__all__ = [
    "REDACTED",
    "ApiClient",
    "ApiError",
    "ApiUnreachableError",
    "BadRequestError",
    "DeadlineExceededError",
    "ForbiddenError",
    "NotFoundError",
    "Pacer",
    "RateLimit",
    "RateLimitedError",
    "ResponseLostError",
    "RetryPolicy",
    "ServerError",
    "Timeouts",
    "UnauthorizedError",
    "credential_problem",
    "deadline",
    "error_class_for",
    "is_loopback",
    "new_session",
    "normalise_base_url",
    "proxies_for",
    "rate_limited_wait",
]
