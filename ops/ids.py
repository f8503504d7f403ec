"""Where the ids of a stack's objects come from: ``pulumi stack output``, else a lookup.

With the Pulumi CLI on PATH, the stack's outputs (``alertSourceId``, ``webhookId`` per
integration) name the objects exactly; ``--show-secrets`` is not passed because no secret
is needed here (the URL is read from ilert). Without the CLI, or when it cannot read the
stack, the objects are found the way the providers' adoption would: the ilert alert source
by exact name (a Level.io one first), the Level webhook by URL equal to the source's
``integrationUrl``. When no webhook has that exact URL, the webhook whose URL is within
``NEAR_EDITS`` character edits of it (spaces around it ignored) is taken, so a URL changed
by hand is reported as a wrong URL, not as a missing webhook; another source's URL differs
in its whole key and is never mistaken for it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from clients.ilert import LEVEL_INTEGRATION_TYPE, AlertSource
from clients.level import Webhook
from components.settings import Integration

CLI_TIMEOUT_SECONDS = 60
NEAR_EDITS = 3
Runner = Callable[..., "subprocess.CompletedProcess[str]"]


@dataclass(frozen=True)
class Outputs:
    """The stack outputs per integration (by resource name), or why there are none;
    ``created``: when the stack made each integration's alert source (the audit's alone)."""

    by_name: Mapping[str, Mapping[str, Any]] | None
    origin: str
    created: Mapping[str, datetime] = field(default_factory=dict)


@dataclass(frozen=True)
class Ids:
    """Where one integration's objects are: ids (None when unknown) and how they were found."""

    alert_source_id: int | None
    webhook_id: str | None
    origin: str


def stack_outputs(
    stack: str,
    *,
    project_dir: Path | None = None,
    which: Callable[[str], str | None] = shutil.which,
    run: Runner = subprocess.run,
) -> Outputs:
    """``pulumi stack output --json`` (in ``project_dir``, default here) when the CLI is
    present; otherwise why not."""
    cli = which("pulumi")
    if cli is None:
        return Outputs(None, "lookup by name and URL (the Pulumi CLI is not on PATH)")
    try:
        done = run(
            [cli, "stack", "output", "--json", "--stack", stack, "--non-interactive"],
            cwd=project_dir, stdin=subprocess.DEVNULL, capture_output=True, text=True,
            timeout=CLI_TIMEOUT_SECONDS, check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Outputs(None, f"lookup by name and URL (pulumi stack output failed: {exc})")
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["no message"])[-1][:200]
        return Outputs(None, f"lookup by name and URL (pulumi stack output failed: {reason})")
    try:
        document = json.loads(done.stdout or "{}")
    except ValueError:
        return Outputs(None, "lookup by name and URL (pulumi stack output printed no JSON)")
    if not isinstance(document, dict):
        return Outputs(None, "lookup by name and URL (pulumi stack output is not an object)")
    outputs = {k: v for k, v in document.items() if isinstance(v, dict)}
    return Outputs(outputs, "pulumi stack output")


#: The type of an alert source in a stack's state (a dynamic resource named ilert:AlertSource).
ALERT_SOURCE_TYPE = "pulumi-python:dynamic/ilert:AlertSource"


def with_created(
    outputs: Outputs,
    stack: str,
    *,
    project_dir: Path | None = None,
    which: Callable[[str], str | None] = shutil.which,
    run: Runner = subprocess.run,
) -> Outputs:
    """``outputs`` with ``created``: the time Pulumi's state records for each integration's
    alert source (``pulumi stack export``; each resource's ``created``, kept through updates
    and renames, new on a replace). The audit judges no Level alert against a source that did
    not exist yet. Unchanged when the CLI cannot read the state (every alert is judged)."""
    cli = which("pulumi")
    if cli is None:
        return outputs
    try:
        done = run(
            [cli, "stack", "export", "--stack", stack, "--non-interactive"],
            cwd=project_dir, stdin=subprocess.DEVNULL, capture_output=True, text=True,
            timeout=CLI_TIMEOUT_SECONDS, check=False,
        )
        document = json.loads(done.stdout or "{}") if done.returncode == 0 else {}
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return outputs
    resources = (document.get("deployment") or {}).get("resources") if isinstance(
        document, dict) else None
    created: dict[str, datetime] = {}
    for resource in resources if isinstance(resources, list) else []:
        urn, when = str(resource.get("urn", "")), resource.get("created")
        if f"${ALERT_SOURCE_TYPE}::" not in urn or not isinstance(when, str):
            continue
        try:
            moment = datetime.fromisoformat(when.replace("Z", "+00:00"))
        except ValueError:
            continue
        name = urn.rsplit("::", 1)[1]
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
        created[name] = min(moment, created.get(name, moment))
    return replace(outputs, created=created)


def ids_for(
    integration: Integration,
    outputs: Outputs,
    sources: Callable[[], Sequence[AlertSource]],
    webhooks: Callable[[], Sequence[Webhook]] | None,
    url_of: Callable[[int], str | None],
) -> Ids:
    """The ids of one integration's alert source and webhook: from the outputs, else by lookup.

    ``sources``/``webhooks`` list every object (called only for a lookup; ``webhooks`` is None
    in manual mode); ``url_of`` reads a source's integration URL.
    """
    recorded = (outputs.by_name or {}).get(integration.pulumi_name)
    if recorded is not None and recorded.get("alertSourceId") is not None:
        source_id = int(str(recorded["alertSourceId"]))
        webhook_id = recorded.get("webhookId")
        if not webhook_id and webhooks is not None:  # e.g. made in manual mode, now api mode
            url = url_of(source_id)
            found = find_webhook(url, list(webhooks())) if url else None
            webhook_id = found.id if found else None
        return Ids(source_id, str(webhook_id) if webhook_id else None, "pulumi stack output")
    all_sources = list(sources())
    source = find_source(integration.name, all_sources)
    webhook_id = None
    if source is not None and webhooks is not None:
        url = url_of(source.id)
        if url:
            found = find_webhook(url, list(webhooks()))
            webhook_id = found.id if found else None
    origin = "lookup by name and URL" if outputs.by_name is None else (
        f"lookup by name and URL ({integration.pulumi_name} is not in the stack outputs)"
    )
    return Ids(source.id if source else None, webhook_id, origin)


def find_source(name: str, sources: Sequence[AlertSource]) -> AlertSource | None:
    """The alert source with exactly this name, a Level.io one first."""
    named = [s for s in sources if s.name == name]
    named.sort(key=lambda s: (s.integration_type != LEVEL_INTEGRATION_TYPE, s.id))
    return named[0] if named else None


def find_webhook(url: str, webhooks: Sequence[Webhook]) -> Webhook | None:
    """The (oldest) webhook with exactly ``url``, else the nearest one (see the module doc)."""
    exact = [w for w in webhooks if w.url == url]
    if exact:
        return exact[0]
    best: tuple[int, Webhook] | None = None
    for webhook in webhooks:
        distance = edit_distance(url, webhook.url.strip(), NEAR_EDITS)
        if distance <= NEAR_EDITS and (best is None or distance < best[0]):
            best = (distance, webhook)
    return best[1] if best else None


def edit_distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance of ``a`` and ``b``, or ``limit + 1`` as soon as it exceeds ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, start=1):
        current = [i]
        for j, y in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return min(previous[-1], limit + 1)
