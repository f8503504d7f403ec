"""Which ilert alert sources and Level webhooks other stacks of this project already manage.

``make discover`` proposes taking over (``adopt: true``) every Level.io alert source it finds.
Run for a second stack on the same accounts (``STACK=sandbox-x`` beside the ``sandbox``
stack), it would propose the objects the first stack manages, and an ``up`` would leave two
stacks owning one object (each repairs it to its own settings; a destroy of either deletes
it under the other). So discover asks the backend first: every other stack of this project
on the same backend (``pulumi stack ls``), and the ids of the alert sources and webhooks in
its state (``pulumi stack export``: ids and types only; no secret is decrypted, so no
passphrase is needed). A stack whose file names other base URLs (another ilert or Level)
is not compared. The CLI is the one on PATH (make puts the pinned one there); its
environment's ``PULUMI_BACKEND_URL`` is the backend.

When the backend cannot be read (no CLI, no backend, an error), ``Managed.problem`` says why
and nothing is left out: discover prints that it could not check.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml

from clients.endpoints import ILERT, LEVEL

CLI_TIMEOUT_SECONDS: Final = 120
REASON_CHARS: Final = 200
SOURCE_TYPE: Final = "pulumi-python:dynamic/ilert:AlertSource"
WEBHOOK_TYPE: Final = "pulumi-python:dynamic/level:Webhook"
Runner = Callable[..., "subprocess.CompletedProcess[str]"]
Which = Callable[..., "str | None"]


@dataclass(frozen=True)
class Owner:
    """One object of another stack: which stack, and the name its state gives it."""

    stack: str
    name: str


@dataclass(frozen=True)
class Managed:
    """Objects other stacks manage, by id; ``problem`` when the backend could not be read."""

    sources: Mapping[str, Owner] = field(default_factory=dict)
    webhooks: Mapping[str, Owner] = field(default_factory=dict)
    stacks: tuple[str, ...] = ()
    problem: str | None = None


class _CliError(Exception):
    pass


def _cli(
    args: list[str], project_dir: Path, env: Mapping[str, str], which: Which, run: Runner
) -> str:
    cli = which("pulumi", path=env.get("PATH"))
    if cli is None:
        raise _CliError("the Pulumi CLI is not on PATH (make discover puts the one make pulumi "
                        "built there; run make pulumi once)")
    try:
        done = run([cli, *args, "--non-interactive"], cwd=project_dir, env=dict(env),
                   stdin=subprocess.DEVNULL, capture_output=True, text=True,
                   timeout=CLI_TIMEOUT_SECONDS, check=False)
    except (subprocess.TimeoutExpired, OSError) as error:
        raise _CliError(f"`pulumi {args[0]} {args[1]}` failed: {error}") from None
    if done.returncode != 0:
        lines = [line.strip() for line in (done.stderr or "").splitlines() if line.strip()]
        said = lines[-1][:REASON_CHARS] if lines else f"exit code {done.returncode}"
        raise _CliError(f"`pulumi {args[0]} {args[1]}` failed: {said}")
    return done.stdout or ""


def _base_urls(project_dir: Path, stack: str) -> dict[str, str | None] | None:
    """The base URLs a stack file names (a value None: the default); None without a file
    (nothing to tell it from this stack: it is compared)."""
    try:
        document = yaml.safe_load(
            (project_dir / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return None
    config = document.get("config") if isinstance(document, dict) else None
    if not isinstance(config, dict):
        return None
    found: dict[str, str | None] = {}
    for api in (ILERT, LEVEL):
        value = config.get(api.base_url_key)
        found[api.api] = value if isinstance(value, str) else None
    return found


def _same(theirs: str | None, url: str, default: str) -> bool:
    """Whether a stack's base URL (None: the default) is the one discover reads."""
    return _plain(theirs or default) == _plain(url)


def _plain(url: str) -> str:
    return url.strip().rstrip("/").lower()


def managed_elsewhere(
    stack: str,
    project_dir: Path,
    environ: Mapping[str, str] | None = None,
    *,
    ilert_base_url: str,
    level_base_url: str | None,
    which: Which = shutil.which,
    run: Runner = subprocess.run,
) -> Managed:
    """The alert sources and webhooks in the state of every other stack of this project on
    the backend of ``environ`` (``PULUMI_BACKEND_URL``) that uses the same base URLs."""
    env = {**(os.environ if environ is None else environ), "PULUMI_SKIP_UPDATE_CHECK": "true"}
    if not env.get("PULUMI_BACKEND_URL", "").strip():
        return Managed(problem="no Pulumi backend is known (PULUMI_BACKEND_URL is not set; "
                               "make discover sets it, BACKEND_URL=<url> chooses it)")
    backend = env["PULUMI_BACKEND_URL"].strip()
    if backend.startswith("file://") and not Path(backend.removeprefix("file://")).is_dir():
        return Managed()  # a folder backend not made yet holds no stack (and is not made here)
    try:
        listed = json.loads(_cli(["stack", "ls", "--json"], project_dir, env, which, run) or "[]")
        names = [str(item["name"]) for item in listed
                 if isinstance(item, dict) and item.get("name") and item["name"] != stack
                 and item.get("resourceCount") != 0]
        sources: dict[str, Owner] = {}
        webhooks: dict[str, Owner] = {}
        compared = []
        for other in names:
            urls = _base_urls(project_dir, other)
            if urls is not None and not (
                _same(urls.get(ILERT.api), ilert_base_url, ILERT.default_base_url)
                and (level_base_url is None
                     or _same(urls.get(LEVEL.api), level_base_url, LEVEL.default_base_url))
            ):
                continue
            compared.append(other)
            exported = json.loads(_cli(["stack", "export", "--stack", other], project_dir, env,
                                       which, run))
            for resource in _resources(exported):
                kind, object_id = resource.get("type"), resource.get("id")
                if not object_id:
                    continue
                inputs = resource.get("inputs") if isinstance(resource.get("inputs"), dict) else {}
                name = str((inputs or {}).get("name") or str(resource.get("urn", "")).rsplit(
                    "::", 1)[-1])
                if kind == SOURCE_TYPE:
                    sources[str(object_id)] = Owner(other, name)
                elif kind == WEBHOOK_TYPE:
                    webhooks[str(object_id)] = Owner(other, name)
    except _CliError as error:
        return Managed(problem=str(error))
    except (ValueError, KeyError, TypeError) as error:
        return Managed(problem=f"the CLI's answer about the other stacks could not be read: "
                               f"{type(error).__name__}")
    return Managed(sources, webhooks, tuple(compared))


def _resources(exported: Any) -> list[dict[str, Any]]:
    deployment = exported.get("deployment") if isinstance(exported, dict) else None
    resources = deployment.get("resources") if isinstance(deployment, dict) else None
    return [item for item in resources or [] if isinstance(item, dict)]
