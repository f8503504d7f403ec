"""Engine-shaped test harness for Pulumi Python dynamic providers.

The Pulumi engine does not call a dynamic provider's methods directly: it starts the SDK's own
provider server (``python -u -m pulumi.dynamic``, run from the project directory with the
project's virtualenv Python), reads the port it prints, and talks gRPC to it. Everything the
engine sends travels through that server, which deserializes the provider object from the
``__provider`` property (a base64 dill pickle), strips or keeps Unknowns, unwraps config secrets,
and turns exceptions into gRPC errors. None of that is exercised by calling provider methods as
plain Python, and the Pulumi CLI is not available to us, so this module drives the real server the
way the engine does (see ``/work/shared/reference/pulumi-dynamic.md`` §1.2 and §4.2).

Pieces:

* :class:`ProviderServer` starts and stops the server process, keeps its stdout/stderr in a
  buffer (``.logs``) and offers one method per engine RPC (``configure``, ``check``, ``diff``,
  ``create``, ``read``, ``update``, ``delete``) that builds the request exactly as the engine would
  after the server answered ``acceptSecrets=False``: secrets stripped, Unknowns sent as the wire
  sentinel, ``__provider`` as a plain string inside the property bags.
* :func:`provider_blob` produces the ``__provider`` value exactly as a Pulumi program does, by
  constructing the real dynamic ``Resource`` under ``pulumi.runtime.set_mocks``;
  :func:`capture_registrations` returns everything the program registered (type, name, inputs).
* :func:`serialize_provider_like_sdk` is the lower-level route: the SDK's own serializer.

This is test and bench tooling, not product code: it lives in ``tools/`` so that ``bench/``
may use it too (``bench/`` imports nothing from ``tests/``; the tests import it from here), and
it imports SDK internals (``pulumi.runtime.rpc``, ``pulumi.runtime._serialization``) on
purpose, because the point is to reproduce what the SDK does, byte for byte.
"""

from __future__ import annotations

import asyncio
import base64
import contextvars
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Literal, Self

import grpc
from google.protobuf import struct_pb2
from pulumi import output as pulumi_output
from pulumi.dynamic.dynamic import ResourceProvider, serialize_provider
from pulumi.output import Unknown
from pulumi.runtime import Mocks, rpc, set_mocks
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime._grpc_settings import _GRPC_CHANNEL_OPTIONS
from pulumi.runtime._serialization import _serialize
from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs
from pulumi.runtime.proto import provider_pb2
from pulumi.runtime.proto.provider_pb2_grpc import ResourceProviderStub
from pulumi.runtime.stack import wait_for_rpcs

__all__ = [
    "PROJECT",
    "PROVIDER_KEY",
    "REPO_ROOT",
    "STACK",
    "UNKNOWN",
    "CapturingMocks",
    "CheckOutcome",
    "DiffOutcome",
    "ProviderError",
    "ProviderServer",
    "Registration",
    "capture_registrations",
    "dynamic_type",
    "from_struct",
    "make_urn",
    "provider_blob",
    "serialize_provider_like_sdk",
    "strip_secrets",
    "to_struct",
]

PROJECT = "level-ilert"
"""The Pulumi project name (``Pulumi.yaml``); the engine exports it as ``PULUMI_PROJECT``."""

STACK = "test"
"""Stack name used in URNs and under mocks. The provider server itself never learns it."""

PROVIDER_KEY = "__provider"
"""Reserved property carrying the pickled provider, in inputs and in outputs."""

UNKNOWN: Unknown = pulumi_output.UNKNOWN
"""An Unknown input value, as a preview has it. Sent on the wire as :data:`rpc.UNKNOWN`."""

REPO_ROOT = Path(__file__).resolve().parents[1]
"""The project directory (where ``Pulumi.yaml`` lives): the server's working directory."""

DEFAULT_STARTUP_TIMEOUT = 15.0
DEFAULT_CALL_TIMEOUT = 30.0
_STOP_GRACE_SECONDS = 5.0

DiffChanges = Literal["DIFF_UNKNOWN", "DIFF_NONE", "DIFF_SOME"]


def dynamic_type(module: str = "", name: str = "Resource") -> str:
    """Return the type token a ``dynamic.Resource`` subclass registers.

    ``class Thing(Resource, module="toy", name="Thing")`` registers
    ``pulumi-python:dynamic/toy:Thing``; without ``module`` it is ``pulumi-python:dynamic:Name``.
    """
    return f"pulumi-python:dynamic{'/' + module if module else ''}:{name}"


def make_urn(type_: str, name: str, *, stack: str = STACK, project: str = PROJECT) -> str:
    """Return the URN the engine gives a top-level resource.

    Shape: ``urn:pulumi:<stack>::<project>::<type>::<name>``.
    """
    return f"urn:pulumi:{stack}::{project}::{type_}::{name}"


def _urn_type_and_name(urn: str) -> tuple[str, str]:
    """Split a URN into (type, name), as the engine fills the ``type``/``name`` request fields.

    A child resource's qualified type is ``parent$child``; the request carries the last part.
    """
    parts = urn.split("::", 3)
    if len(parts) != 4 or not parts[0].startswith("urn:pulumi:"):
        raise ValueError(f"not a Pulumi URN: {urn!r}")
    return parts[2].rsplit("$", 1)[-1], parts[3]


# ---------------------------------------------------------------------------------------------
# Property bags: Python values <-> google.protobuf.Struct, as the engine marshals them
# ---------------------------------------------------------------------------------------------


def strip_secrets(value: Any) -> Any:
    """Remove secret wrappers recursively, as the engine does for a provider that answered
    ``acceptSecrets=False`` (every Python dynamic provider).

    A secret in the SDK's Python form is ``{"4dabf18193072939515e22adb298388d":
    "1b47061264138c4ac30d75fd1eb44270", "value": ...}`` (:func:`rpc.wrap_rpc_secret`); that is
    how ``__provider`` arrives in mock registrations. The provider only ever sees the plain value.
    """
    if rpc.is_rpc_secret(value):
        return strip_secrets(rpc.unwrap_rpc_secret(value))
    if isinstance(value, Mapping):
        return {k: strip_secrets(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [strip_secrets(v) for v in value]
    return value


def _to_wire(value: Any, *, keep_secrets: bool) -> Any:
    """Convert one Python value into something ``Struct.update`` accepts, engine style."""
    if isinstance(value, Unknown):
        return rpc.UNKNOWN
    if rpc.is_rpc_secret(value):
        inner = _to_wire(rpc.unwrap_rpc_secret(value), keep_secrets=keep_secrets)
        return rpc.wrap_rpc_secret(inner) if keep_secrets else inner
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, Mapping):
        return {str(k): _to_wire(v, keep_secrets=keep_secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_wire(v, keep_secrets=keep_secrets) for v in value]
    raise TypeError(
        f"cannot send {type(value).__module__}.{type(value).__qualname__} to the provider; "
        "property bags hold JSON-like values, pulumi.output.Unknown and rpc secrets only"
    )


def to_struct(props: Mapping[str, Any] | None, *, keep_secrets: bool = False) -> struct_pb2.Struct:
    """Build the ``Struct`` property bag the engine would send.

    The engine (Go) marshals computed values as the sentinel :data:`rpc.UNKNOWN`
    (``04da6b54-...``); this accepts :class:`pulumi.output.Unknown` (or the sentinel string)
    anywhere. Secrets are stripped unless ``keep_secrets`` (only ``Configure`` keeps them, because
    the engine cannot know ``acceptSecrets`` before the provider answered it). Numbers become
    doubles, as in any ``Struct``. ``None`` travels as JSON null; the SDK's deserializer then
    drops that key, exactly as it drops a ``None`` the program passed.

    This is synchronous on purpose: ``rpc.serialize_properties`` needs an event loop and is the
    *program's* serializer, whereas the engine side is plain marshalling.
    """
    struct = struct_pb2.Struct()
    if props:
        struct.update({str(k): _to_wire(v, keep_secrets=keep_secrets) for k, v in props.items()})
    return struct


def from_struct(struct: struct_pb2.Struct) -> dict[str, Any]:
    """Decode a response property bag as the engine sees it in a preview: Unknowns kept.

    Uses the SDK's own :func:`rpc.deserialize_properties`, so numbers come back as ``float`` and
    keys whose value is null disappear, exactly as on the server side.
    """
    result = rpc.deserialize_properties(struct, keep_unknowns=True)
    if not isinstance(result, dict):
        raise TypeError(f"expected a property map, got {type(result).__name__}")
    return result


# ---------------------------------------------------------------------------------------------
# Outcomes and errors
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckOutcome:
    """Decoded ``CheckResponse``: the checked inputs (with ``__provider``) and the failures."""

    inputs: dict[str, Any]
    failures: list[tuple[str, str]]
    """``(property, reason)`` pairs; the engine fails the step if there are any."""


@dataclass(frozen=True)
class DiffOutcome:
    """Decoded ``DiffResponse``.

    ``diffs``, ``stables`` and ``detailed`` (property -> kind name, e.g. ``UPDATE``) are empty
    from the SDK's own server; our providers fill them through providers/engine_adapter.py.
    Without a detailed diff the engine falls back to its own comparison of old and new
    *inputs*.
    """

    changes: DiffChanges
    replaces: list[str]
    delete_before_replace: bool
    diffs: list[str]
    stables: list[str] = field(default_factory=list)
    detailed: dict[str, str] | None = None


class ProviderError(Exception):
    """A provider RPC failed with a gRPC status.

    The Python dynamic provider server turns *any* exception raised by a provider method into
    ``StatusCode.UNKNOWN`` whose details are the full Python traceback, so tests can assert on
    ``details`` containing the exception text.
    """

    def __init__(self, method: str, code: grpc.StatusCode, details: str) -> None:
        self.method = method
        self.code = code
        self.details = details
        code_name = getattr(code, "name", str(code))
        super().__init__(f"{method} failed with {code_name}: {details}")


# ---------------------------------------------------------------------------------------------
# The provider server process
# ---------------------------------------------------------------------------------------------


def _default_python(project_dir: Path) -> str:
    """The project's virtualenv Python (``Pulumi.yaml`` names ``venv``), else the running one."""
    candidate = project_dir / "venv" / "bin" / "python"
    return str(candidate) if candidate.exists() else sys.executable


class ProviderServer:
    """Runs ``python -u -m pulumi.dynamic`` and speaks to it like the Pulumi engine.

    Use as a context manager (or call :meth:`start`/:meth:`stop`); a pytest fixture should wrap it
    so the process is stopped even when the test fails::

        with ProviderServer() as server:
            server.configure({"level-ilert:region": "eu"})
            outcome = server.check(urn, {}, {"__provider": blob, "name": "x"})

    All request helpers raise :class:`ProviderError` on a gRPC error.
    """

    def __init__(
        self,
        project_dir: Path | str | None = None,
        *,
        python: str | None = None,
        env: Mapping[str, str] | None = None,
        stack: str = STACK,
        project: str = PROJECT,
        startup_timeout: float = DEFAULT_STARTUP_TIMEOUT,
        call_timeout: float = DEFAULT_CALL_TIMEOUT,
    ) -> None:
        """Prepare (not start) a server.

        :param project_dir: working directory of the server, from which a by-reference pickled
            provider module is imported. Defaults to the repository root.
        :param python: interpreter; defaults to ``<project_dir>/venv/bin/python``.
        :param env: extra environment on top of ``os.environ`` and ``PULUMI_PROJECT``.
        :param stack: stack name used only for URNs built by :meth:`urn`.
        :param startup_timeout: bound on handshake plus channel readiness, in seconds.
        :param call_timeout: deadline for each RPC, in seconds.
        """
        self.project_dir = Path(project_dir) if project_dir is not None else REPO_ROOT
        self.python = python or _default_python(self.project_dir)
        self.env: dict[str, str] = {**os.environ, "PULUMI_PROJECT": project, **(env or {})}
        self.stack = stack
        self.project = project
        self.startup_timeout = startup_timeout
        self.call_timeout = call_timeout
        self.port: int | None = None
        self.startup_seconds: float | None = None
        """Wall time from spawning the process to a ready gRPC channel (set by :meth:`start`)."""
        self.accept_secrets = False
        """What the last ``Configure`` answered; decides whether secrets are kept on the wire."""
        self._proc: subprocess.Popen[bytes] | None = None
        self._channel: Any = None
        self._stub: ResourceProviderStub | None = None
        self._out: list[str] = []
        self._err: list[str] = []
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._configured: tuple[dict[str, str], tuple[str, ...]] | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> Self:
        """Spawn the server, read the port handshake line and wait for the gRPC channel.

        Raises ``RuntimeError`` carrying the server's stderr if the handshake does not arrive in
        time or the process dies first.
        """
        if self._proc is not None:
            raise RuntimeError("provider server already started")
        started = time.monotonic()
        self._proc = subprocess.Popen(  # noqa: S603 (the project's Python, fixed arguments)
            [self.python, "-u", "-m", "pulumi.dynamic"],
            cwd=self.project_dir,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert self._proc.stdout is not None
        assert self._proc.stderr is not None
        first_line: queue.Queue[str | None] = queue.Queue(maxsize=1)
        self._threads = [
            threading.Thread(
                target=self._drain,
                args=(self._proc.stdout, self._out, first_line),
                name="provider-server-stdout",
                daemon=True,
            ),
            threading.Thread(
                target=self._drain,
                args=(self._proc.stderr, self._err, None),
                name="provider-server-stderr",
                daemon=True,
            ),
        ]
        for thread in self._threads:
            thread.start()
        try:
            problem = self._connect(first_line, started)
        except BaseException:
            self.stop()
            raise
        if problem is not None:
            self.stop()  # ends the process and its pipes, so stderr is complete
            raise RuntimeError(f"provider server {problem}; stderr:\n{self.stderr}")
        return self

    def _connect(self, first_line: queue.Queue[str | None], started: float) -> str | None:
        """Await the port line, open the channel and wait for it; describe what failed, if any."""
        try:
            line = first_line.get(timeout=self.startup_timeout)
        except queue.Empty:
            return f"sent no port within {self.startup_timeout:.0f}s"
        if line is None or not line.strip().isdigit():
            return f"handshake failed (first stdout line {line!r}, exit code {self.returncode})"
        self.port = int(line.strip())
        self._channel = grpc.insecure_channel(
            f"127.0.0.1:{self.port}",
            options=[*_GRPC_CHANNEL_OPTIONS, ("grpc.enable_http_proxy", 0)],
        )
        remaining = max(0.1, self.startup_timeout - (time.monotonic() - started))
        try:
            grpc.channel_ready_future(self._channel).result(timeout=remaining)
        except grpc.FutureTimeoutError:
            return f"on port {self.port} not ready within {self.startup_timeout:.0f}s"
        self._stub = ResourceProviderStub(self._channel)
        self.startup_seconds = time.monotonic() - started
        return None

    def stop(self) -> None:
        """Close the channel, terminate the process (kill after a grace period), join drains.

        Idempotent; safe to call after a failed :meth:`start`.
        """
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        self._stub = None
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=_STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=_STOP_GRACE_SECONDS)
        for thread in self._threads:
            thread.join(timeout=_STOP_GRACE_SECONDS)
        if proc is not None:
            for pipe in (proc.stdout, proc.stderr):
                if pipe is not None:
                    pipe.close()

    def __enter__(self) -> Self:
        if self._proc is None:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def returncode(self) -> int | None:
        """The process exit code, ``None`` while it runs (or before start)."""
        return None if self._proc is None else self._proc.poll()

    # -- captured output ------------------------------------------------------------------------

    def _drain(
        self, pipe: IO[bytes], sink: list[str], first_line: queue.Queue[str | None] | None
    ) -> None:
        """Copy a pipe into ``sink`` line by line until EOF, so the server never blocks on it.

        For stdout, the first line is the port handshake: it goes to ``first_line`` instead of
        the log (``None`` is posted if the pipe closes first).
        """
        for raw in iter(pipe.readline, b""):
            text = raw.decode("utf-8", errors="replace")
            if first_line is not None:
                first_line.put(text)
                first_line = None
                continue
            with self._lock:
                sink.append(text)
        if first_line is not None:
            first_line.put(None)

    @property
    def stdout(self) -> str:
        """Everything the server printed to stdout after the handshake line (provider prints)."""
        with self._lock:
            return "".join(self._out)

    @property
    def stderr(self) -> str:
        """Everything the server printed to stderr (tracebacks, warnings, provider prints)."""
        with self._lock:
            return "".join(self._err)

    @property
    def logs(self) -> str:
        """stdout then stderr. The engine shows both to the user for dynamic providers, so a
        secret must never appear here.

        Lines are copied by background threads, so a line printed during an RPC may land here a
        moment after the RPC returned. To assert that something is *absent*, call :meth:`stop`
        first (it drains the pipes to EOF); to wait for something *present*, use
        :meth:`wait_for_log`.
        """
        return self.stdout + self.stderr

    def wait_for_log(self, text: str, timeout: float = 5.0) -> bool:
        """Wait until ``text`` appears in :attr:`logs`; return whether it did within ``timeout``."""
        deadline = time.monotonic() + timeout
        while text not in self.logs:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    # -- RPC plumbing ---------------------------------------------------------------------------

    @property
    def stub(self) -> ResourceProviderStub:
        """The raw gRPC stub, for requests the helpers do not cover."""
        if self._stub is None:
            raise RuntimeError("provider server is not running")
        return self._stub

    def _call(self, method: str, request: Any) -> Any:
        """Invoke one unary RPC; map ``grpc.RpcError`` to :class:`ProviderError`."""
        try:
            return getattr(self.stub, method)(request, timeout=self.call_timeout)
        except grpc.RpcError as err:
            raise ProviderError(method, err.code(), err.details() or "") from None

    def _bag(self, props: Mapping[str, Any] | None) -> struct_pb2.Struct:
        """A resource property bag as the engine sends it after Configure."""
        return to_struct(props, keep_secrets=self.accept_secrets)

    def urn(self, type_: str, name: str) -> str:
        """URN of a top-level resource in this server's stack and project."""
        return make_urn(type_, name, stack=self.stack, project=self.project)

    # -- engine requests ------------------------------------------------------------------------

    def configure(
        self, config: Mapping[str, str], *, secret_keys: Iterable[str] = ()
    ) -> provider_pb2.ConfigureResponse:
        """Send the whole stack config, as the engine does for the ``pulumi-python`` provider.

        Keys are namespaced (``level-ilert:token``); values are strings (objects as JSON text,
        numbers and booleans as text). Keys in ``secret_keys`` travel secret-wrapped in ``args``,
        as config set with ``--secret`` does; the server unwraps them. Records ``acceptSecrets``.
        """
        for key, value in config.items():
            if not isinstance(value, str):
                raise TypeError(f"config {key!r}: the engine sends strings, got {type(value)}")
        secret = set(secret_keys)
        unknown_secrets = secret - set(config)
        if unknown_secrets:
            raise KeyError(f"secret_keys not in config: {sorted(unknown_secrets)}")
        args = {k: rpc.wrap_rpc_secret(v) if k in secret else v for k, v in config.items()}
        request = provider_pb2.ConfigureRequest(
            variables=dict(config),
            args=to_struct(args, keep_secrets=True),
            acceptSecrets=True,
            acceptResources=True,
            sends_old_inputs=True,
            sends_old_inputs_to_delete=True,
        )
        response: provider_pb2.ConfigureResponse = self._call("Configure", request)
        self.accept_secrets = response.acceptSecrets
        self._configured = (dict(config), tuple(secret))
        return response

    def new_command(self) -> None:
        """Model the next Pulumi command: a new provider process, configured as before.

        The engine starts the provider anew for every ``up``, ``refresh`` or ``destroy``, so
        whatever a provider process keeps (its listings, its pacing) lasts one command.
        """
        configured = self._configured
        self.stop()
        self._proc, self._threads = None, []
        self.start()
        if configured is not None:
            self.configure(configured[0], secret_keys=configured[1])

    def check(
        self,
        urn: str,
        olds: Mapping[str, Any],
        news: Mapping[str, Any],
        *,
        random_seed: bytes | None = None,
    ) -> CheckOutcome:
        """``Check(olds=old inputs, news=program inputs)``; Unknowns allowed (preview)."""
        type_, name = _urn_type_and_name(urn)
        request = provider_pb2.CheckRequest(
            urn=urn,
            name=name,
            type=type_,
            olds=self._bag(olds),
            news=self._bag(news),
            randomSeed=random_seed if random_seed is not None else os.urandom(32),
        )
        response: provider_pb2.CheckResponse = self._call("Check", request)
        return CheckOutcome(
            inputs=from_struct(response.inputs),
            failures=[(f.property, f.reason) for f in response.failures],
        )

    def diff(
        self,
        urn: str,
        id_: str,
        olds: Mapping[str, Any],
        news: Mapping[str, Any],
        *,
        old_inputs: Mapping[str, Any] | None = None,
        ignore_changes: Iterable[str] = (),
    ) -> DiffOutcome:
        """``Diff(olds=old OUTPUTS from state, news=checked new inputs)``.

        ``old_inputs`` is sent too when given (the engine sends it; the Python server ignores it).
        """
        type_, name = _urn_type_and_name(urn)
        request = provider_pb2.DiffRequest(
            id=id_,
            urn=urn,
            name=name,
            type=type_,
            olds=self._bag(olds),
            news=self._bag(news),
            old_inputs=self._bag(old_inputs),
            ignoreChanges=list(ignore_changes),
        )
        response: provider_pb2.DiffResponse = self._call("Diff", request)
        changes: DiffChanges
        if response.changes == provider_pb2.DiffResponse.DIFF_SOME:
            changes = "DIFF_SOME"
        elif response.changes == provider_pb2.DiffResponse.DIFF_NONE:
            changes = "DIFF_NONE"
        else:
            changes = "DIFF_UNKNOWN"
        kinds = provider_pb2.PropertyDiff.Kind
        return DiffOutcome(
            changes=changes,
            replaces=list(response.replaces),
            delete_before_replace=response.deleteBeforeReplace,
            diffs=list(response.diffs),
            stables=list(response.stables),
            detailed=(
                {key: kinds.Name(value.kind) for key, value in response.detailedDiff.items()}
                if response.hasDetailedDiff
                else None
            ),
        )

    def create(
        self, urn: str, props: Mapping[str, Any], *, preview: bool = False
    ) -> tuple[str, dict[str, Any]]:
        """``Create(properties=checked inputs)`` → ``(id, outputs)``, ``__provider`` included."""
        type_, name = _urn_type_and_name(urn)
        request = provider_pb2.CreateRequest(
            urn=urn,
            name=name,
            type=type_,
            properties=self._bag(props),
            preview=preview,
            timeout=self.call_timeout,
        )
        response: provider_pb2.CreateResponse = self._call("Create", request)
        return response.id, from_struct(response.properties)

    def read(
        self,
        urn: str,
        id_: str,
        properties: Mapping[str, Any] | None,
        inputs: Mapping[str, Any] | None,
    ) -> tuple[str, dict[str, Any], dict[str, Any] | None]:
        """``Read`` as a refresh sends it: ``properties``=old outputs, ``inputs``=old inputs.

        Returns ``(id, outputs, inputs)``. ``id`` is ``""`` when the provider reports the resource
        gone. ``inputs`` is ``None`` when the response carries none (``ReadResult.inputs`` was
        ``None``): the engine then keeps the old inputs.
        """
        type_, name = _urn_type_and_name(urn)
        request = provider_pb2.ReadRequest(
            id=id_,
            urn=urn,
            name=name,
            type=type_,
            properties=self._bag(properties),
            inputs=self._bag(inputs),
        )
        response: provider_pb2.ReadResponse = self._call("Read", request)
        new_inputs = from_struct(response.inputs) if response.HasField("inputs") else None
        return response.id, from_struct(response.properties), new_inputs

    def update(
        self,
        urn: str,
        id_: str,
        olds: Mapping[str, Any],
        news: Mapping[str, Any],
        *,
        old_inputs: Mapping[str, Any] | None = None,
        preview: bool = False,
    ) -> dict[str, Any]:
        """``Update(olds=old outputs, news=checked new inputs)`` → the new outputs."""
        type_, name = _urn_type_and_name(urn)
        request = provider_pb2.UpdateRequest(
            id=id_,
            urn=urn,
            name=name,
            type=type_,
            olds=self._bag(olds),
            news=self._bag(news),
            old_inputs=self._bag(old_inputs),
            preview=preview,
            timeout=self.call_timeout,
        )
        response: provider_pb2.UpdateResponse = self._call("Update", request)
        return from_struct(response.properties)

    def delete(
        self,
        urn: str,
        id_: str,
        props: Mapping[str, Any],
        *,
        old_inputs: Mapping[str, Any] | None = None,
    ) -> None:
        """``Delete(properties=old outputs)``; the ``__provider`` pickled in state is used."""
        type_, name = _urn_type_and_name(urn)
        request = provider_pb2.DeleteRequest(
            id=id_,
            urn=urn,
            name=name,
            type=type_,
            properties=self._bag(props),
            old_inputs=self._bag(old_inputs),
            timeout=self.call_timeout,
        )
        self._call("Delete", request)


# ---------------------------------------------------------------------------------------------
# Producing __provider the way a Pulumi program does
# ---------------------------------------------------------------------------------------------


def serialize_provider_like_sdk(provider: ResourceProvider) -> str:
    """Pickle ``provider`` with the SDK's own serializer, in the SDK's serialization context.

    This is what ``dynamic.Resource.__init__`` does before wrapping the result in a secret:
    ``_serialize(True, serialize_provider, provider)`` (dill, sorted dicts, base64).
    """
    blob, _contains_secrets = _serialize(True, serialize_provider, provider)
    if not isinstance(blob, str):
        raise TypeError(f"serialize_provider returned {type(blob).__name__}")
    return blob


@dataclass(frozen=True)
class Registration:
    """One resource registration seen by the mock monitor."""

    typ: str
    name: str
    inputs: dict[str, Any]
    """As the monitor received them: secrets still wrapped (``__provider`` always is)."""

    @property
    def plain_inputs(self) -> dict[str, Any]:
        """The inputs as the engine forwards them to a provider with ``acceptSecrets=False``."""
        result: dict[str, Any] = strip_secrets(self.inputs)
        return result

    @property
    def urn(self) -> str:
        """URN of this registration when it is top-level in project/stack defaults."""
        return make_urn(self.typ, self.name)


class CapturingMocks(Mocks):
    """Mocks that record every resource registration; by default they echo inputs as outputs.

    Subclasses override :meth:`outputs_for` to play the engine differently (e.g. to run the
    real provider's ``check`` and ``create``).
    """

    def __init__(self) -> None:
        self.registrations: list[Registration] = []

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        self.registrations.append(Registration(args.typ, args.name, dict(args.inputs)))
        return self.outputs_for(args)

    def outputs_for(self, args: MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        """The id and outputs the "engine" answers for one registration."""
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        return {}, None


def _settings_defaults() -> dict[str, Any]:
    """Snapshot the fallback values of ``Settings``' context properties.

    ``ContextProperty.fset`` overwrites its global fallback the first time a value is set in a
    context where it is ``None`` — ``set_mocks`` does that for ``monitor``/``engine``/... — and
    that fallback is what every *new* thread would see. We restore it so nothing leaks.
    """
    from pulumi._utils import ContextProperty  # noqa: PLC0415 (an SDK internal, used here only)

    return {
        name: getattr(prop, "_ContextProperty__default", None)
        for name, prop in vars(pulumi_settings.Settings).items()
        if isinstance(prop, ContextProperty)
    }


def _restore_settings_defaults(snapshot: Mapping[str, Any]) -> None:
    for name, default in snapshot.items():
        vars(pulumi_settings.Settings)[name]._ContextProperty__default = default


def capture_registrations(
    build: Callable[[], object],
    *,
    mocks: CapturingMocks | None = None,
    project: str = PROJECT,
    stack: str = STACK,
    preview: bool = False,
    timeout: float = 60.0,
) -> list[Registration]:
    """Run ``build`` as a Pulumi program under mocks and return every resource it registered.

    Isolation: the program runs in a worker thread (its own asyncio loop) inside a *copy* of the
    caller's context, so ``set_mocks``' settings, the root stack resource and the loop never
    reach other tests (several test modules use ``set_mocks`` too); the settings' global
    fallbacks are restored afterwards. ``build``'s exception, if any, is re-raised here.
    """
    mocks = mocks if mocks is not None else CapturingMocks()
    failure: list[BaseException] = []

    def program() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        # The SDK calls the mock monitor in the loop's default executor, and the monitor calls
        # ``_ensure_event_loop()`` there, which leaves one unclosed loop per executor thread.
        # Give each thread its loop up front so we can close them all afterwards.
        thread_loops: list[asyncio.AbstractEventLoop] = []

        def give_thread_a_loop() -> None:
            thread_loop = asyncio.new_event_loop()
            asyncio.set_event_loop(thread_loop)
            thread_loops.append(thread_loop)

        loop.set_default_executor(
            ThreadPoolExecutor(thread_name_prefix="pulumi-mock-rpc", initializer=give_thread_a_loop)
        )
        try:
            pulumi_settings.ROOT.set(None)
            pulumi_settings.SETTINGS.outputs = set()
            pulumi_settings.SETTINGS.lock = threading.Lock()
            set_mocks(mocks, project=project, stack=stack, preview=preview)
            try:
                build()
            except BaseException as exc:  # re-raised in the caller's thread
                failure.append(exc)
            # Like pulumi's run_pulumi_func: let queued registrations finish even after an error.
            loop.run_until_complete(wait_for_rpcs())
        except BaseException as exc:
            failure.append(exc)
        finally:
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
            asyncio.set_event_loop(None)
            loop.close()
            for thread_loop in thread_loops:
                thread_loop.close()

    defaults = _settings_defaults()
    context = contextvars.copy_context()
    worker = threading.Thread(target=context.run, args=(program,), name="pulumi-mock-program")
    try:
        worker.start()
        worker.join(timeout)
    finally:
        _restore_settings_defaults(defaults)
    if worker.is_alive():
        raise TimeoutError(f"mock program did not finish within {timeout}s")
    if failure:
        raise failure[0]
    return mocks.registrations


def provider_blob(build: Callable[[], object], **kwargs: Any) -> str:
    """Return the ``__provider`` string the SDK computes for the dynamic resource ``build`` makes.

    ``build`` constructs the real ``dynamic.Resource`` subclass (e.g.
    ``lambda: AlertSource("src", ...)``). The mock monitor receives ``__provider`` secret-wrapped;
    the plain base64 string is returned, which is what the engine hands the provider server.
    Raises ``LookupError`` if no dynamic resource, ``ValueError`` if different blobs, were seen.
    Keyword arguments go to :func:`capture_registrations`.
    """
    blobs = {
        strip_secrets(reg.inputs[PROVIDER_KEY])
        for reg in capture_registrations(build, **kwargs)
        if PROVIDER_KEY in reg.inputs
    }
    if not blobs:
        raise LookupError("build() registered no dynamic resource (no __provider input seen)")
    if len(blobs) > 1:
        raise ValueError(f"build() registered {len(blobs)} different providers; build one")
    blob = blobs.pop()
    if not isinstance(blob, str):
        raise TypeError(f"__provider is {type(blob).__name__}, expected base64 text")
    base64.b64decode(blob, validate=True)
    return blob
