"""Decrypt one ``secure:`` value of a stack file through the Pulumi CLI, never showing it.

``pulumi config set --secret ilert:apiToken ...`` (the README's way to set a credential)
writes ciphertext into ``Pulumi.<stack>.yaml`` that only the CLI can decrypt: with the
stack's passphrase (``PULUMI_CONFIG_PASSPHRASE``/``_FILE``) or, for the Pulumi Cloud and
cloud-KMS secrets providers, after ``pulumi login`` to the stack's backend. ``doctor`` and
``verify`` read the stack file themselves, so for such a value they ask the CLI:
``pulumi config get <key> --stack <stack> --non-interactive``, run in the project folder,
with stdin closed (no prompt can wait for an answer) and no update check.

A passphrase stack's passphrase comes from ``PULUMI_CONFIG_PASSPHRASE`` or
``PULUMI_CONFIG_PASSPHRASE_FILE`` when exported, else from the file where the user keeps it,
``$LEVEL_ILERT_PASSPHRASES/<stack>`` (default ``~/.config/level-ilert/passphrases/<stack>``,
the one the Makefile exports too: ``kept_passphrase_file``).

The plaintext goes from the CLI's stdout into a :class:`Decrypted` (kept out of its
``repr``) and nowhere else: no message, log line or exception here holds it. When the CLI
is absent or cannot decrypt, :class:`Undecryptable` says why in words a user can act on;
the CLI's reason is its last stderr line, which a failed decryption cannot hold the value in.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

CLI_TIMEOUT_SECONDS = 60
PASSPHRASE_ENV = ("PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE")
PASSPHRASES_ENV = "LEVEL_ILERT_PASSPHRASES"
REASON_CHARS = 200
Runner = Callable[..., "subprocess.CompletedProcess[str]"]
Which = Callable[..., "str | None"]


@dataclass(frozen=True)
class Decrypted:
    """The plaintext of one secure value (never in ``repr``, so never in a traceback)."""

    value: str = field(repr=False)


@dataclass(frozen=True)
class Undecryptable:
    """Why the CLI gave no plaintext: ``cli_missing`` (no ``pulumi`` on PATH) or its reason."""

    reason: str
    cli_missing: bool = False


def kept_passphrase_file(stack: str, environ: Mapping[str, str] | None = None) -> Path:
    """Where the user keeps stack ``stack``'s passphrase (it may not exist):
    ``$LEVEL_ILERT_PASSPHRASES/<stack>``, by default under ``$XDG_CONFIG_HOME`` or
    ``~/.config``, in ``level-ilert/passphrases/``: outside the checkout, mode 0600."""
    env = os.environ if environ is None else environ
    folder = env.get(PASSPHRASES_ENV, "").strip()
    if not folder:
        config = env.get("XDG_CONFIG_HOME", "").strip() or str(Path.home() / ".config")
        folder = str(Path(config) / "level-ilert" / "passphrases")
    return Path(folder) / stack


def with_kept_passphrase(stack: str, environ: Mapping[str, str]) -> dict[str, str]:
    """``environ``, plus ``PULUMI_CONFIG_PASSPHRASE_FILE`` naming the kept file when no
    passphrase is exported and that file exists (as the Makefile does)."""
    env = dict(environ)
    kept = kept_passphrase_file(stack, env)
    if not any(name in env for name in PASSPHRASE_ENV) and kept.is_file():
        env["PULUMI_CONFIG_PASSPHRASE_FILE"] = str(kept)
    return env


def decrypt(
    key: str,
    stack: str,
    project_dir: Path,
    environ: Mapping[str, str] | None = None,
    *,
    which: Which = shutil.which,
    run: Runner = subprocess.run,
) -> Decrypted | Undecryptable:
    """``pulumi config get <key> --stack <stack>`` in ``project_dir``, with ``environ``
    (default: this process's) as the CLI's environment: its PATH finds the CLI, its
    ``PULUMI_BACKEND_URL`` and passphrase (or the kept one) let it decrypt."""
    env = with_kept_passphrase(stack, os.environ if environ is None else environ)
    cli = which("pulumi", path=env.get("PATH"))
    if cli is None:
        return Undecryptable("the Pulumi CLI is not on PATH", cli_missing=True)
    env.setdefault("PULUMI_SKIP_UPDATE_CHECK", "true")
    try:
        done = run(
            [cli, "config", "get", key, "--stack", stack, "--non-interactive"],
            cwd=project_dir, env=env, stdin=subprocess.DEVNULL, capture_output=True,
            text=True, timeout=CLI_TIMEOUT_SECONDS, check=False,
        )
    except subprocess.TimeoutExpired:
        return Undecryptable(f"`pulumi config get` gave no answer within {CLI_TIMEOUT_SECONDS} s")
    except OSError as exc:
        return Undecryptable(f"the Pulumi CLI could not be started ({exc.strerror or exc})")
    if done.returncode != 0:
        lines = [line.strip() for line in (done.stderr or "").splitlines() if line.strip()]
        said = lines[-1][:REASON_CHARS] if lines else f"exit code {done.returncode}"
        return Undecryptable(f"`pulumi config get` failed: {said}")
    value = (done.stdout or "").removesuffix("\n").removesuffix("\r")
    if not value.strip():
        return Undecryptable("`pulumi config get` printed an empty value")
    return Decrypted(value)
