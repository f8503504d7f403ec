"""How the fleet divides an API key's rate among the stacks it runs at once.

Pacing is per process (``clients/pacing.py``): two stacks on one key, each paced at the key's
full rate, would together send twice what the API allows. So before it starts any stack, the
fleet finds the key each stack's providers will use per API, the way they find it
(``clients.endpoints.resolve``: stack config first, then the environment the stack runs with;
a ``secure:`` value decrypted by the Pulumi CLI, as ``pulumi config get`` does), groups the
stacks that use one key (same API, base URL and credential), and gives each stack of a group
of n the share 1/min(n, --parallel) of that key's rate in ``LEVEL_ILERT_RATE_SHARE``
(``clients/tuning.py``). At most ``--parallel`` stacks run at once, so the shares of the
stacks running at once on one key sum to at most the whole, and their requests stay under
the published limit. A share the fleet itself was given (the same variable in its own
environment) is divided in turn.

The share is fixed when a stack starts: a stack that runs last, alone, still runs at its
share. A stack whose key cannot be read (unset, unusable, or a secret the CLI cannot
decrypt) counts as a key of its own: its run meets the same problem and says so. Only a
digest of each key is kept, never the key.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import yaml

from clients.endpoints import ILERT, LEVEL, ApiSettings, resolve
from clients.tuning import SHARE_ENV, TuningError, rate_shares
from ops.fleet.stacks import FleetError, Target
from ops.secure_config import Decrypted, Undecryptable, decrypt

Decrypter = Callable[[str, str, Path, Mapping[str, str]], Decrypted | Undecryptable]
APIS: Final[dict[str, ApiSettings]] = {"ilert": ILERT, "level": LEVEL}


@dataclass(frozen=True)
class Plan:
    """Each stack's ``LEVEL_ILERT_RATE_SHARE`` (none: its whole rate), and what to tell."""

    env: dict[str, dict[str, str]]
    notes: list[str]


def key_digest(base_url: str, credential: str) -> str:
    """Names one key at one base URL without revealing it."""
    digest = hashlib.sha256(b"level-ilert fleet key\x00")
    for part in (base_url, credential):
        digest.update(part.encode("utf-8", "surrogatepass") + b"\x00")
    return digest.hexdigest()[:32]


def _stack_config(path: Path) -> dict[str, object]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return {}
    config = document.get("config") if isinstance(document, dict) else None
    return config if isinstance(config, dict) else {}


def stack_keys(
    target: Target,
    project_dir: Path,
    environ: Mapping[str, str],
    *,
    decrypter: Decrypter = decrypt,
) -> dict[str, str]:
    """The digest of the key ``target``'s providers will use, per API (``ilert``, ``level``);
    an API whose key cannot be read is left out. ``environ`` is the fleet's own environment,
    under the stack's (``target.env``), as the CLI gets them."""
    config = _stack_config(project_dir / f"Pulumi.{target.name}.yaml")
    env = {**environ, **target.env}
    found: dict[str, str] = {}
    for namespace, settings in APIS.items():
        values: dict[str, object] = {}
        readable = True
        for key in (settings.credential_key, settings.base_url_key):
            value = config.get(key)
            if isinstance(value, dict) and set(value) == {"secure"}:
                answer = decrypter(key, target.name, project_dir, env)
                readable = readable and isinstance(answer, Decrypted)
                value = answer.value if isinstance(answer, Decrypted) else None
            values[key] = value if isinstance(value, str) else None
        if not readable:
            continue
        try:
            endpoint = resolve(settings, values.get, env, stack=target.name)
        except (RuntimeError, ValueError):  # not set, or unusable: the run says which
            continue
        found[namespace] = key_digest(endpoint.base_url, endpoint.credential)
    return found


def plan(
    targets: Sequence[Target],
    keys: Sequence[Mapping[str, str]],
    parallel: int,
    environ: Mapping[str, str],
) -> Plan:
    """Each stack's share of each key it shares with other stacks of the fleet; ``keys``
    holds ``stack_keys`` of each target, in order. Raises ``FleetError`` when the fleet's
    own ``LEVEL_ILERT_RATE_SHARE`` cannot be read."""
    try:
        given = rate_shares(environ)
    except TuningError as error:
        raise FleetError(str(error)) from None
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for target, found in zip(targets, keys, strict=True):
        for namespace, digest in found.items():
            groups[(namespace, digest)].append(target.name)
    env: dict[str, dict[str, str]] = {}
    notes = []
    for (namespace, _), names in groups.items():
        at_once = min(len(names), parallel)
        if at_once < 2:
            continue
        notes.append(
            f"{len(names)} stacks use one {APIS[namespace].api} key ({', '.join(names)}): each "
            f"was paced at 1/{at_once} of the key's rate, {at_once} running at once at most."
        )
        for name in names:
            shares = env.setdefault(name, {})
            shares[namespace] = repr(given.get(namespace, 1.0) / at_once)
    for shares in env.values():  # what the fleet was given, for the APIs it did not divide
        for namespace, whole in given.items():
            shares.setdefault(namespace, repr(whole))
    return Plan(
        env={name: {SHARE_ENV: ",".join(f"{api}={share}" for api, share in sorted(shares.items()))}
             for name, shares in env.items()},
        notes=notes,
    )


def read_keys(
    targets: Sequence[Target],
    project_dir: Path,
    parallel: int,
    environ: Mapping[str, str],
    *,
    decrypter: Decrypter = decrypt,
) -> list[dict[str, str]]:
    """``stack_keys`` of every target, in order, read ``parallel`` at a time (a secret key
    costs one ``pulumi config get``)."""
    if not targets:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(targets)))) as pool:
        return list(pool.map(
            lambda target: stack_keys(target, project_dir, environ, decrypter=decrypter),
            targets,
        ))


def share_rates(
    targets: Sequence[Target],
    project_dir: Path,
    parallel: int,
    environ: Mapping[str, str],
    *,
    decrypter: Decrypter = decrypt,
    keys: Sequence[Mapping[str, str]] | None = None,
) -> Plan:
    """``plan`` over the keys of every target (``keys`` when already read); nothing is read
    when no two stacks can run at once."""
    if keys is None:
        if len(targets) < 2 or parallel < 2:
            return plan(targets, [{} for _ in targets], parallel, environ)
        keys = read_keys(targets, project_dir, parallel, environ, decrypter=decrypter)
    return plan(targets, keys, parallel, environ)

