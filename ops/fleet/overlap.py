"""No Level alert paged twice across stacks: the in-stack routing guard, over the fleet.

Every preview refuses two integrations of one stack that would both page for one Level alert
(components/routing.py). A stack cannot see another, so two stacks whose webhooks are in one
Level organisation (the README's old fleet recipe: copies of the sandbox stack) paged twice
for every alert and no preview said so. The fleet sees every stack file: before ``preview``
or ``up`` runs any stack, it checks each of its stacks against every other stack of the
project that can page for the same alerts, with the same rule and the same message (both
config paths, now with their stack files, and the same ways out).

Which stacks can page for the same alert: two stacks that share a Level organisation (the
same Level base URL and key, as the providers will use them: ``shares.stack_keys``) or an
ilert account (the same ilert base URL and key). The ilert account counts too because the
Level organisation cannot always be told: a manual-mode stack has no Level key, and an
organisation may have several keys. The other stacks are the fleet's own and every other
stack file of the project whose stack exists on its backend and holds resources (a stack
destroyed but not removed pages nobody).

The ways out are the stack's own: scope or filter the two apart, or say that both should
receive it with ``sharesAlertsWith: ['<stack>/<name>']`` (an integration of another stack is
named with its stack; components/settings.py accepts that form, and only the fleet checks
it). A stack that is refused is not run; the others run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from pulumi import automation as auto

from components import routing
from components.settings import (
    OTHER_STACK_PARTNER,
    Integration,
    SettingsError,
    load_settings,
)
from ops.fleet.shares import stack_keys
from ops.fleet.stacks import FleetError, Target, resource_counts, stack_files, target_for
from ops.secure_config import Decrypted, Undecryptable, decrypt
from ops.stack import StackError, _project_name, _qualified, _scalar, _without_ciphertext

Decrypter = Callable[[str, str, Path, Mapping[str, str]], Decrypted | Undecryptable]


@dataclass(frozen=True)
class StackRouting:
    """One stack's integrations and the digest of the key it uses per API."""

    name: str
    integrations: Sequence[Integration]
    keys: Mapping[str, str]

    @property
    def file(self) -> str:
        return f"Pulumi.{self.name}.yaml"


@dataclass(frozen=True)
class Qualified:
    """An integration seen from the fleet: named ``<stack>/<name>``, its partners likewise."""

    stack: str
    index: int
    integration: Integration
    own_names: frozenset[str]

    @property
    def name(self) -> str:
        return f"{self.stack}/{self.integration.name}"

    @property
    def device_groups(self) -> list[str] | None:
        return self.integration.device_groups

    @property
    def event_filter(self) -> str | None:
        return self.integration.event_filter

    @property
    def shares_alerts_with(self) -> list[str] | None:
        partners = self.integration.shares_alerts_with
        if partners is None:
            return None
        return [
            partner if partner not in self.own_names and OTHER_STACK_PARTNER.fullmatch(partner)
            else f"{self.stack}/{partner}"
            for partner in partners
        ]

    @property
    def active(self) -> bool:
        return self.integration.active

    @property
    def webhook_enabled(self) -> bool:
        return self.integration.webhook_enabled


def read_integrations(
    name: str, project_dir: Path, environ: Mapping[str, str]
) -> list[Integration]:
    """The integrations of ``Pulumi.<name>.yaml``, read as the program reads them (ciphertext
    unset); none when the file is missing or invalid (that stack's own run says why)."""
    path = project_dir / f"Pulumi.{name}.yaml"
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        config = _qualified(document.get("config") or {}, _project_name(project_dir))
    except (OSError, yaml.YAMLError, AttributeError, StackError):
        return []
    plain = {key: _without_ciphertext(value) for key, value in config.items()}
    try:
        settings = load_settings(plain.get, lambda key: _scalar(plain.get(key)),
                                 environ=environ, check_routing=False, stack=name)
    except SettingsError:
        return []
    return list(settings.integrations)


def shared(a: StackRouting, b: StackRouting) -> str | None:
    """What two stacks share that lets them page for one Level alert; None: nothing."""
    found = [namespace for namespace in ("level", "ilert")
             if a.keys.get(namespace) and a.keys.get(namespace) == b.keys.get(namespace)]
    if "level" in found:
        return "a Level organisation, the same Level base URL and key"
    if "ilert" in found:
        return "an ilert account, the same ilert base URL and key"
    return None


def conflicts(a: StackRouting, b: StackRouting) -> str | None:
    """The message refusing ``a`` for what it shares with ``b``; None when nothing pages twice."""
    why = shared(a, b)
    if why is None or not a.integrations or not b.integrations:
        return None
    combined = [
        Qualified(stack.name, index, integration,
                  frozenset(each.name for each in stack.integrations))
        for stack in (a, b)
        for index, integration in enumerate(stack.integrations)
    ]
    found = [overlap for overlap in routing.overlaps(combined)
             if combined[overlap.first].stack != combined[overlap.second].stack]
    if not found:
        return None

    def where(index: int) -> str:
        each = combined[index]
        return f"Pulumi.{each.stack}.yaml {routing.INTEGRATIONS_KEY}[{each.index}]"

    return (f"Two integrations of different stacks would page for the same Level alert (stacks "
            f"{a.name} and {b.name} share {why}):\n" + routing.explain(found, combined, where))


def others(
    targets: Sequence[Target], project_dir: Path, environ: Mapping[str, str]
) -> list[Target]:
    """The project's other stacks that may be live: a stack file whose stack exists on its
    backend and holds resources (or whose count is unknown)."""
    running = {target.name for target in targets}
    candidates = []
    for name in stack_files(project_dir):
        if name in running:
            continue
        try:
            candidates.append(target_for(name, project_dir, environ))
        except FleetError:  # no backend: it cannot be live on one the fleet knows
            continue
    live: dict[str, dict[str, int | None]] = {}
    for target in candidates:
        if target.backend not in live:
            try:
                live[target.backend] = resource_counts(target.backend, project_dir, target.env)
            except auto.CommandError:  # a backend that cannot be listed: none to compare with
                live[target.backend] = {}
    return [
        target for target in candidates
        if target.name in live[target.backend] and live[target.backend][target.name] != 0
    ]


def refusals(
    targets: Sequence[Target],
    keys: Sequence[Mapping[str, str]],
    project_dir: Path,
    environ: Mapping[str, str],
    *,
    decrypter: Decrypter = decrypt,
    live_others: Sequence[Target] | None = None,
) -> dict[str, str]:
    """For each of ``targets`` (``keys``: their ``stack_keys``, in order) that would page twice
    with another stack, the message that refuses it."""
    extra = others(targets, project_dir, environ) if live_others is None else live_others
    stacks = [
        StackRouting(target.name,
                     read_integrations(target.name, project_dir, {**environ, **target.env}),
                     found)
        for target, found in zip(targets, keys, strict=True)
    ]
    stacks += [
        StackRouting(target.name,
                     read_integrations(target.name, project_dir, {**environ, **target.env}),
                     stack_keys(target, project_dir, environ, decrypter=decrypter))
        for target in extra
    ]
    refused: dict[str, str] = {}
    for stack in stacks[:len(targets)]:
        messages = [conflicts(stack, other) for other in stacks if other is not stack]
        found = [message for message in messages if message]
        if found:
            refused[stack.name] = "\n".join(found)
    return refused
