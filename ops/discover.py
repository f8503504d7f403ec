"""``make discover STACK=<env>``: from a hand-made setup to a stack file, in one command.

Reads the setup with GETs only (ops/discover_read.py), plans one ``adopt: true`` entry per
Level.io alert source (ops/discover_plan.py) and writes ``Pulumi.<env>.yaml`` with every
finding as a comment where it applies (ops/discover_yaml.py), then prints a summary: what
was read, each finding, and what the next ``up`` will change on each object.

Where to read: the stack file's ``ilert:baseUrl``/``level:baseUrl`` and credentials when the
file exists (a ``secure:`` value is ciphertext only the CLI can decrypt, so the env var is
used then, as ``ops doctor`` does), else ``ILERT_BASE_URL``/``LEVEL_BASE_URL`` and
``ILERT_API_TOKEN``/``LEVEL_API_KEY``, and for a ``sandbox*`` stack the local sandbox's URLs
and credentials for what those leave unset (as ``make up`` uses them: ops/sandbox_stack.py),
never the real APIs; pacing from the file's tuning keys, else the providers' defaults.

Objects another stack of this project manages on the same backend are left out, and listed
as "managed by stack X" (ops/managed.py): adopting them would leave two stacks owning one
object. The backend is ``PULUMI_BACKEND_URL`` (make sets it), else, for a ``sandbox*`` stack,
``./.pulumi-state``.

Safety: an existing stack file is never replaced without ``--force``; with it, a backup is
kept beside it and its encrypted secrets and other keys stay. What is written must pass
the project's own settings validation (``components.settings.load_settings``, the routing
rule included) or nothing is written. ``--print`` writes nothing and prints only the
``level-ilert:integrations`` block. Exit codes: 0 written (or printed), 1 nothing to write
(no Level.io alert source, or every one kept out), 2 could not run.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import yaml

from clients.endpoints import ILERT, LEVEL, EndpointSettingError, resolve
from clients.failures import KnownFailure
from clients.tuning import TuningError, tuning_for
from clients.untrusted import one_line
from components.settings import (
    INTEGRATIONS_KEY,
    WEBHOOK_MANAGEMENT_KEY,
    SettingsError,
    load_settings,
)
from ops import sandbox_stack
from ops.discover_plan import Plan, build_plan, wrap
from ops.discover_read import Live, ReadSettings, read_live
from ops.discover_yaml import dump, load, merged_document, new_document, print_block
from ops.managed import Managed, managed_elsewhere
from ops.report import EXIT_COULD_NOT_RUN, EXIT_FAILED, EXIT_OK, as_json, render
from ops.report import dump as dump_json
from ops.stack import _project_name, _qualified, _scalar, _without_ciphertext

Lookup = Callable[[str], object]


@dataclass(frozen=True)
class Options:
    """What the command line asked for."""

    stack: str
    project_dir: Path
    force: bool = False
    print_only: bool = False
    json: bool = False


@dataclass(frozen=True)
class Existing:
    """The stack file being replaced: its config (qualified keys, ciphertext kept) and its
    integrations by name."""

    config: dict[str, Any]
    entries: dict[str, dict[str, Any]]

    @classmethod
    def read(cls, path: Path, project: str) -> Existing:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(document, dict):
            raise ValueError(f"{path.name} is not a YAML mapping")
        config = _qualified(document.get("config") or {}, project)
        raw = config.get(INTEGRATIONS_KEY)
        listed = raw if isinstance(raw, list) else []
        entries = {
            str(entry["name"]): entry
            for entry in listed
            if isinstance(entry, dict) and "name" in entry
        }
        return cls(config, entries)

    def lookup(self, key: str) -> object:
        """A config value as ``pulumi.Config.get`` gives it (ciphertext is unset)."""
        return _scalar(_without_ciphertext(self.config.get(key)))


class DiscoverError(Exception):
    """Discover cannot run or cannot write; the message says why and what to do."""


def read_settings(
    lookup: Lookup, environ: Mapping[str, str], *, level: bool, stack: str | None = None
) -> ReadSettings:
    """Endpoints and tuning from the stack file's config (``lookup``), else the environment
    (checked against ``stack``: a loopback URL from the environment for sandbox* only)."""
    try:
        ilert = resolve(ILERT, lookup, environ, stack=stack)
        level_endpoint = resolve(LEVEL, lookup, environ, stack=stack) if level else None
        return ReadSettings(
            ilert=ilert,
            ilert_tuning=tuning_for("ilert", lookup),
            level=level_endpoint,
            level_tuning=tuning_for("level", lookup),
        )
    except (RuntimeError, EndpointSettingError, TuningError) as error:
        raise DiscoverError(str(error)) from None


def endpoints_to_write(live: Live, plan: Plan) -> dict[str, str]:
    """The base URLs the file must name: those that are not the APIs' defaults (Level's
    only when the stack calls Level: manual mode refuses ``level:`` keys it would ignore)."""
    found = {}
    if live.ilert_base_url != ILERT.default_base_url:
        found[ILERT.base_url_key] = live.ilert_base_url
    level = live.level_base_url
    if plan.webhook_management == "api" and level not in (None, LEVEL.default_base_url):
        found[LEVEL.base_url_key] = str(level)
    return found


def header(options: Options, live: Live) -> list[str]:
    """The comment at the top of a new stack file: where it comes from and what to do next."""
    stack = options.stack
    where = f"ilert {live.ilert_base_url}"
    if live.level_base_url:
        where += f" and Level {live.level_base_url}"
    return [
        *wrap(f"Written by `make discover STACK={stack}` from the hand-made setup at {where}. "
              f"Each entry takes over (adopt: true) an alert source and webhook that exist; "
              f"comments in CAPITALS are findings to read before the first up. Secrets are "
              f"never written here."),
        "Next:",
        f"  pulumi stack init {stack}     # DIY backends: export PULUMI_CONFIG_PASSPHRASE",
        f"  pulumi config set --secret ilert:apiToken --stack {stack}"
        "   # asks for the ilert API key; or export ILERT_API_TOKEN",
        f"  pulumi config set --secret level:apiKey --stack {stack}"
        "     # asks for a read & write key; or export LEVEL_API_KEY",
        f"  make preview STACK={stack}, then make up STACK={stack}",
    ]


def validate(text: str, project: str, environ: Mapping[str, str]) -> None:
    """The written text through the program's own validation, routing rule included (the
    way ops/stack.py reads a stack file: ciphertext counts as unset)."""
    document = yaml.safe_load(text) or {}
    config = _qualified(document.get("config") or {}, project)
    plain = {key: _without_ciphertext(value) for key, value in config.items()}
    load_settings(plain.get, lambda key: _scalar(plain.get(key)), config_keys=plain,
                  environ=environ, check_routing=True)


def backup_path(path: Path) -> Path:
    """Where the old file goes: ``Pulumi.<env>.yaml.bak``, or with a time if that exists."""
    candidate = path.with_name(path.name + ".bak")
    if candidate.exists():
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        candidate = path.with_name(f"{path.name}.{stamp}.bak")
    return candidate


@dataclass(frozen=True)
class Elsewhere:
    """An object left out because another stack manages it."""

    stack: str
    kind: str  # "alert source" or "webhook"
    name: str
    id: str


@dataclass(frozen=True)
class Result:
    """What one run did: the plan, the text, where it went, and what other stacks manage."""

    live: Live
    plan: Plan
    text: str
    written: Path | None
    backup: Path | None
    elsewhere: tuple[Elsewhere, ...] = ()
    #: why other stacks could not be checked (nothing was left out then)
    unchecked: str | None = None


Finder = Callable[..., Managed]


def leave_out_managed(live: Live, managed: Managed) -> tuple[Live, tuple[Elsewhere, ...]]:
    """``live`` without the sources and webhooks other stacks manage (and without webhooks
    to such a source's URL), and what was left out."""
    found: list[Elsewhere] = []
    kept_sources = []
    taken_urls: dict[str, str] = {}
    for source in live.sources:
        owner = managed.sources.get(str(source.id))
        if owner is None:
            kept_sources.append(source)
            continue
        found.append(Elsewhere(owner.stack, "alert source", source.name, str(source.id)))
        if source.integration_url:
            taken_urls[source.integration_url] = owner.stack
    webhooks = live.webhooks
    if webhooks is not None:
        kept_hooks = []
        for webhook in webhooks:
            owner = managed.webhooks.get(webhook.id)
            stack = owner.stack if owner else taken_urls.get(webhook.url)
            if stack is None:
                kept_hooks.append(webhook)
            else:
                found.append(Elsewhere(stack, "webhook", "", webhook.id))
        webhooks = kept_hooks
    return dataclasses.replace(live, sources=kept_sources, webhooks=webhooks), tuple(found)


def _backend_env(options: Options, environ: Mapping[str, str]) -> dict[str, str]:
    env = dict(environ)
    if not env.get("PULUMI_BACKEND_URL", "").strip() and sandbox_stack.is_sandbox(options.stack):
        env["PULUMI_BACKEND_URL"] = sandbox_stack.backend(options.project_dir)
    return env


def discover(options: Options, environ: Mapping[str, str] | None = None,
             read: Callable[[ReadSettings], Live] = read_live,
             managed: Finder | None = None) -> Result:
    """Read, plan, validate and write (or only render, with ``print_only``)."""
    env = os.environ if environ is None else environ
    project = _project_name(options.project_dir)
    path = options.project_dir / f"Pulumi.{options.stack}.yaml"
    existing = None
    if path.exists():
        if not (options.force or options.print_only):
            raise DiscoverError(
                f"{path} exists already; discover never replaces a stack file unless told: "
                f"run it with FORCE=1 (--force; the old file is kept as a backup, with its "
                f"encrypted secrets and other keys carried over), or with PRINT=1 (--print) to "
                f"see only the integrations block, or pick a new STACK."
            )
        try:
            existing = Existing.read(path, project)
        except (ValueError, yaml.YAMLError) as error:
            raise DiscoverError(f"{path.name} cannot be read: {error}") from None
    lookup: Lookup = existing.lookup if existing else _new_stack_lookup(options.stack, env)
    manual = str(lookup(WEBHOOK_MANAGEMENT_KEY) or "api").strip() == "manual"
    everything = read(read_settings(lookup, env, level=not manual, stack=options.stack))
    owners = (managed or managed_elsewhere)(options.stack, options.project_dir,
                                            _backend_env(options, env),
                                            ilert_base_url=everything.ilert_base_url,
                                            level_base_url=everything.level_base_url)
    live, elsewhere = leave_out_managed(everything, owners)
    plan = build_plan(live, options.stack, existing.entries if existing else {})
    if not plan.entries:
        return Result(live, plan, "", None, None, elsewhere, owners.problem)
    if options.print_only:
        return Result(live, plan, print_block(plan), None, None, elsewhere, owners.problem)
    endpoints = endpoints_to_write(live, plan)
    document = (
        merged_document(load(path), plan, endpoints, project) if existing
        else new_document(plan, header(options, live), endpoints)
    )
    text = dump(document)
    try:
        validate(text, project, env)
    except SettingsError as error:
        kept = " Keys kept from the existing file are checked too: fix those there." if (
            existing) else ""
        raise DiscoverError(
            f"Nothing written: the stack file discover built fails the project's validation:"
            f"\n{error}\n{kept.strip()} Anything else is a bug of discover: please report it."
        ) from None
    backup = None
    if existing:
        backup = backup_path(path)
        shutil.copy2(path, backup)
    path.write_text(text, encoding="utf-8")
    return Result(live, plan, text, path, backup, elsewhere, owners.problem)


def _new_stack_lookup(stack: str, environ: Mapping[str, str]) -> Lookup:
    """A stack without a file reads the environment. A ``sandbox*`` stack reads the local
    sandbox, as make runs it, for each API whose base URL the environment does not set (its
    URL, and its credential unless exported), never the real APIs' default URLs."""
    if not sandbox_stack.is_sandbox(stack):
        return lambda _key: None
    sandbox = sandbox_stack.config_defaults()
    defaults: dict[str, str] = {}
    for api in (ILERT, LEVEL):
        if environ.get(api.base_url_env, "").strip():
            continue  # a sandbox on other ports: the environment says everything
        defaults[api.base_url_key] = sandbox[api.base_url_key]
        if not environ.get(api.credential_env, "").strip():
            defaults[api.credential_key] = sandbox[api.credential_key]
    return defaults.get


# ------------------------------------------------------------------------------ the summary


def summary_json(options: Options, result: Result | None, error: str | None) -> dict[str, Any]:
    """The run as one JSON document (``--json``)."""
    if result is None:
        return {"command": "discover", "stack": options.stack, "ok": False, "error": error}
    plan = result.plan
    return {
        "command": "discover",
        "stack": options.stack,
        "ok": bool(plan.entries),
        "file": str(result.written) if result.written else None,
        "backup": str(result.backup) if result.backup else None,
        "read": _read_counts(result.live),
        "webhookManagement": plan.webhook_management,
        "integrations": [
            {k: v for k, v in entry.values.items() if k != "webhookSecret"}
            for entry in plan.entries
        ],
        "keptOut": [{"name": k.source.name, "alertSourceId": k.source.id} for k in plan.kept_out],
        "managedElsewhere": [
            {"stack": item.stack, "kind": item.kind, "name": item.name or None, "id": item.id}
            for item in result.elsewhere
        ],
        "otherStacksUnchecked": result.unchecked,
        "findings": as_json(plan.findings),
        "up": [
            {
                "name": entry.name,
                "alertSourceId": entry.source.id,
                "webhookId": entry.webhook.id if entry.webhook else None,
                "changes": [*entry.source_changes, *entry.webhook_changes],
            }
            for entry in plan.entries
        ],
        "printed": result.text if options.print_only else None,
    }


def _read_counts(live: Live) -> dict[str, Any]:
    return {
        "alertSources": live.all_sources,
        "levelAlertSources": len(live.sources),
        "alertSourcePages": live.ilert_pages,
        "escalationPolicies": len(live.policies),
        "webhooks": None if live.webhooks is None else len(live.webhooks),
        "groups": len(live.groups),
    }


def summary_text(options: Options, result: Result, out: TextIO) -> None:
    """The run for people: what was read and written, the findings, what up will change."""
    live, plan = result.live, result.plan
    left_out = Counter(item.kind for item in result.elsewhere)
    hooks = "no webhook management" if live.webhooks is None else (
        f"{len(live.webhooks) + left_out['webhook']} webhooks")
    out.write(f"level-ilert discover, stack {options.stack}\n")
    out.write(
        f"read (GETs only): {len(live.sources) + left_out['alert source']} Level.io alert "
        f"sources of {live.all_sources} in "
        f"ilert ({live.ilert_pages} pages), {len(live.policies)} escalation policies; Level: "
        f"{hooks}, {len(live.groups)} device groups\n"
    )
    managed_elsewhere_lines(result, out)
    if result.written:
        out.write(f"wrote {result.written.name}: {len(plan.entries)} integrations (adopt: true)"
                  f", {len(plan.kept_out)} kept out\n")
    if result.backup:
        out.write(f"the previous file is kept as {result.backup.name}\n")
    for name in plan.dropped_previous:
        out.write(f"dropped: the previous file's entry {one_line(name)!r} (no such Level.io "
                  f"source now)\n")
    broken = [check for check in plan.findings if check.status == "fail"]
    out.write(f"\nFindings ({len(broken)} broken, {len(plan.findings) - len(broken)} notes)")
    if plan.findings:
        ordered = sorted(plan.findings, key=lambda c: (c.scope == "Level webhooks", c.scope))
        render(ordered, {}, out)
    else:
        out.write("\n  none: every source and webhook looks healthy\n")
    out.write("\nWhat the next `make up` will change\n")
    for entry in plan.entries:  # names from the APIs: one line each, no terminal escape
        out.write(f"  {one_line(entry.name)}\n")
        out.write(f"      {entry.source_changes[0]}: {'; '.join(entry.source_changes[1:])}\n")
        if entry.webhook_changes:
            first, *rest = entry.webhook_changes
            out.write(f"      {first}{': ' + '; '.join(rest) if rest else ''}\n")
    for kept in plan.kept_out:
        out.write(f"  {one_line(kept.source.name)}: kept out of the file, not touched\n")
    if plan.loose:
        out.write("  Level webhooks that no entry takes over: not touched\n")
    created = sum(entry.webhook is None for entry in plan.entries) if live.webhooks else 0
    if live.webhooks is not None:
        out.write(f"  in all: no alert source created; {created} webhook(s) created (sources "
                  f"that had none); every other object adopted with at most one PUT/PATCH\n")
    if result.written:
        out.write(f"\nNext: read the comments in {result.written.name}, then see its header "
                  f"(stack init, credentials, make preview STACK={options.stack}).\n")


def managed_elsewhere_lines(result: Result, out: TextIO) -> None:
    """The objects left out because another stack manages them, by stack; or why the other
    stacks could not be checked."""
    if result.unchecked:
        out.write(f"NOT CHECKED: which objects other stacks of this project manage ("
                  f"{result.unchecked}); an entry below may be another stack's object\n")
    by_stack: dict[str, list[Elsewhere]] = {}
    for item in result.elsewhere:
        by_stack.setdefault(item.stack, []).append(item)
    for stack, items in by_stack.items():
        sources = [f"{item.name!r} (alert source {item.id})" for item in items
                   if item.kind == "alert source"]
        hooks = [item.id for item in items if item.kind == "webhook"]
        parts = [*sources, *([f"{len(hooks)} webhook(s) to those sources"] if hooks else [])]
        out.write(f"managed by stack {stack} (left out, not taken over): {', '.join(parts)}\n")


def run(options: Options, out: TextIO, err: TextIO,
        environ: Mapping[str, str] | None = None) -> int:
    """The command: exit 0 written or printed, 1 nothing to write, 2 could not run."""
    try:
        result = discover(options, environ)
    except (DiscoverError, KnownFailure) as error:
        if options.json:
            dump_json(summary_json(options, None, str(error)), out)
        err.write(f"{error}\n")
        return EXIT_COULD_NOT_RUN
    if options.json:
        dump_json(summary_json(options, result, None), out)
    else:
        if options.print_only:
            out.write(result.text)
        summary_text(options, result, err if options.print_only else out)
    if not result.plan.entries:
        elsewhere = sum(item.kind == "alert source" for item in result.elsewhere)
        also = f", and {elsewhere} managed by other stacks" if elsewhere else ""
        err.write(
            "Nothing to write: no Level.io alert source can be taken over "
            f"({len(result.live.sources)} found in ilert{also}). Start from Pulumi.dev.yaml "
            "instead (docs/real-environment.md).\n"
        )
        return EXIT_FAILED
    return EXIT_OK
