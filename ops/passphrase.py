"""Change a stack's passphrase: ``make passphrase STACK=<stack>`` (``python -m ops.passphrase``).

Pulumi's own command does the work: ``pulumi stack change-secrets-provider passphrase``
decrypts the stack file's ``secure:`` values and the state with the current passphrase and
encrypts both again with the new one, which it reads from its standard input when it runs
non-interactively. Around it, this:

1. checks that the stack uses a passphrase (its stack file has ``encryptionsalt``) and that
   the current one opens both the stack file's secrets and the state (exported, or kept in
   ``$LEVEL_ILERT_PASSPHRASES/<stack>``: ops/secure_config.py), so that nothing is changed
   half-way for want of it;
2. takes the new passphrase from a file (``--new-passphrase-file``) or asks for it twice on
   the terminal without echo; it goes to the CLI on its standard input only, never in its
   arguments or environment;
3. keeps the state as it was (``pulumi stack export``: its secrets stay encrypted) and the
   stack file in ``.passphrase-backups/<stack>-<time>/``, so a change cut short can be undone;
4. proves the change: the stack file's secrets and the state decrypt with the new passphrase;
5. writes the new passphrase to the kept file when the old one came from there (mode 0600);
6. prints what must change with it: the committed stack file, CI's secret, other people.

Exit codes: 0 changed and proven; 2 nothing was changed (a check failed first); 1 the change
failed or did not prove (the message says how to put the copies back).
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import yaml

from ops.secure_config import PASSPHRASE_ENV, kept_passphrase_file, with_kept_passphrase

CLI_TIMEOUT_SECONDS = 300
BACKUPS = ".passphrase-backups"
REASON_CHARS = 300
Runner = Callable[..., "subprocess.CompletedProcess[str]"]
Ask = Callable[[str], str]


class PassphraseError(Exception):
    """The change cannot go ahead, or went wrong: the message says why and what to do."""

    def __init__(self, message: str, *, changed: bool = False) -> None:
        super().__init__(message)
        self.changed = changed


@dataclass(frozen=True)
class Change:
    """One passphrase change: where, for which stack, and the CLI's environment."""

    stack: str
    project_dir: Path
    env: Mapping[str, str]
    kept: Path
    run: Runner = subprocess.run

    @property
    def stack_file(self) -> Path:
        return self.project_dir / f"Pulumi.{self.stack}.yaml"

    def pulumi(
        self, *args: str, env: Mapping[str, str] | None = None, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """One CLI command in the project, its output captured (never shown: it may hold
        decrypted secrets) and its standard input ``stdin`` (or nothing)."""
        return self.run(
            ["pulumi", *args, "--stack", self.stack, "--non-interactive"],
            cwd=self.project_dir, env=dict(self.env if env is None else env),
            input=stdin if stdin is not None else "", capture_output=True, text=True,
            timeout=CLI_TIMEOUT_SECONDS, check=False,
        )


def reason(done: subprocess.CompletedProcess[str]) -> str:
    """The CLI's last stderr line (a failed decryption holds no secret), or its exit code."""
    lines = [line.strip() for line in (done.stderr or "").splitlines() if line.strip()]
    return lines[-1][:REASON_CHARS] if lines else f"exit code {done.returncode}"


def check_ready(change: Change) -> str | None:
    """Refuse what would fail half-way; returns the current passphrase when it is known
    (exported or in a file), to refuse a "new" one that is the same."""
    if not change.stack_file.is_file():
        raise PassphraseError(
            f"{change.stack_file.name} does not exist: STACK={change.stack} has no stack file."
        )
    document = yaml.safe_load(change.stack_file.read_text(encoding="utf-8")) or {}
    if not isinstance(document, dict) or not document.get("encryptionsalt"):
        raise PassphraseError(
            f"Stack '{change.stack}' does not use a passphrase ({change.stack_file.name} has no "
            f"encryptionsalt): its secrets are encrypted by its backend or a key service, "
            f"which has no passphrase to change."
        )
    if not any(name in change.env for name in PASSPHRASE_ENV):
        raise PassphraseError(
            f"The current passphrase of stack '{change.stack}' was not found: keep it in "
            f"{change.kept} (mode 0600), or export PULUMI_CONFIG_PASSPHRASE or "
            f"PULUMI_CONFIG_PASSPHRASE_FILE, then run this again."
        )
    for what, args in (
        ("the stack file's secrets", ("config", "--show-secrets", "--json")),
        ("the stack's state", ("stack", "export", "--show-secrets")),
    ):
        done = change.pulumi(*args)
        if done.returncode != 0:
            raise PassphraseError(
                f"The current passphrase does not open {what} of stack '{change.stack}', so "
                f"nothing was changed: {reason(done)}"
            )
    if "PULUMI_CONFIG_PASSPHRASE" in change.env:
        return change.env["PULUMI_CONFIG_PASSPHRASE"]
    file = Path(change.env["PULUMI_CONFIG_PASSPHRASE_FILE"]).expanduser()
    return file.read_text(encoding="utf-8").strip()


def new_passphrase(
    from_file: Path | None, current: str | None, *, ask: Ask = getpass.getpass,
    interactive: bool | None = None,
) -> str:
    """The new passphrase, from ``from_file`` or typed twice; checked before any change."""
    if from_file is not None:
        try:
            phrase = from_file.read_text(encoding="utf-8").removesuffix("\n").removesuffix("\r")
        except OSError as exc:
            raise PassphraseError(f"Cannot read the new passphrase from {from_file}: "
                                  f"{exc.strerror or exc}.") from None
    else:
        if not (sys.stdin.isatty() if interactive is None else interactive):
            raise PassphraseError(
                "No terminal to type the new passphrase on: give it in a file, "
                "NEW_PASSPHRASE_FILE=<file> (python -m ops.passphrase --new-passphrase-file)."
            )
        phrase = ask("New passphrase: ")
        if ask("The new passphrase again: ") != phrase:
            raise PassphraseError("The two passphrases typed differ; nothing was changed.")
    if not phrase:
        raise PassphraseError("The new passphrase is empty; nothing was changed.")
    if phrase != phrase.strip() or any(c in phrase for c in "\r\n"):
        raise PassphraseError(
            "The new passphrase starts or ends with a space or holds a line break: Pulumi "
            "trims it where it reads it from a file, so it would not be the one you keep. "
            "Nothing was changed."
        )
    if current is not None and phrase == current:
        raise PassphraseError("The new passphrase is the current one; nothing was changed.")
    return phrase


def backup(change: Change, now: dt.datetime) -> Path:
    """The state (secrets still encrypted) and the stack file, as they are, in a new folder."""
    folder = change.project_dir / BACKUPS / f"{change.stack}-{now:%Y%m%dT%H%M%SZ}"
    folder.mkdir(parents=True, mode=0o700)
    done = change.pulumi("stack", "export", "--file", str(folder / "state.json"))
    if done.returncode != 0:
        raise PassphraseError(
            f"Could not keep a copy of the state first, so nothing was changed: {reason(done)}"
        )
    shutil.copy2(change.stack_file, folder / change.stack_file.name)
    return folder


def prove(change: Change, phrase: str) -> None:
    """The stack file's secrets and the state decrypt with the new passphrase."""
    env = {k: v for k, v in change.env.items() if k not in PASSPHRASE_ENV}
    env["PULUMI_CONFIG_PASSPHRASE"] = phrase
    for what, args in (
        ("the stack file's secrets", ("config", "--show-secrets", "--json")),
        ("the stack's state", ("stack", "export", "--show-secrets")),
    ):
        done = change.pulumi(*args, env=env)
        if done.returncode != 0:
            raise PassphraseError(
                f"The new passphrase does not open {what}: {reason(done)}", changed=True
            )


def keep(path: Path, phrase: str) -> None:
    """Write ``phrase`` to ``path`` (mode 0600), replacing the file in one step."""
    partial = path.with_name(f".{path.name}.new")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(phrase + "\n")
    os.replace(partial, path)


def what_must_change(stack: str, file_name: str) -> list[str]:
    """The steps that go with a new passphrase, CI's included."""
    return [
        f"1. Commit {file_name} (its encryptionsalt and every secure: value changed) and bring "
        f"it to the default branch: every clone and CI read the salt from it.",
        f"2. CI: set the secret PULUMI_CONFIG_PASSPHRASE of the GitHub environment "
        f"drift-{stack} (Settings > Environments; drift-fleet as well if the fleet job checks "
        f"this stack) to the new passphrase. Until 1 and 2 are both done, the drift check of "
        f"this stack fails as \"could not check\": the state is encrypted with the new one "
        f"already.",
        "3. Everyone else who runs make for this stack: the new passphrase, where they keep it.",
    ]


def change_passphrase(
    change: Change, new_file: Path | None, out: TextIO, *, ask: Ask = getpass.getpass,
    interactive: bool | None = None, now: dt.datetime | None = None,
) -> None:
    """The whole procedure (module docstring); raises ``PassphraseError``."""
    current = check_ready(change)
    from_kept = (
        "PULUMI_CONFIG_PASSPHRASE" not in change.env
        and change.env.get("PULUMI_CONFIG_PASSPHRASE_FILE") == str(change.kept)
    )
    phrase = new_passphrase(new_file, current, ask=ask, interactive=interactive)
    folder = backup(change, now or dt.datetime.now(dt.UTC))
    undo = (
        f"To put the stack back as it was: pulumi stack import --stack {change.stack} --file "
        f"{folder / 'state.json'} and cp {folder / change.stack_file.name} "
        f"{change.stack_file.name}, with the old passphrase."
    )
    done = change.pulumi("stack", "change-secrets-provider", "passphrase", stdin=phrase + "\n")
    if done.returncode != 0:
        raise PassphraseError(
            f"pulumi stack change-secrets-provider failed: {reason(done)}. {undo}", changed=True
        )
    try:
        prove(change, phrase)
    except PassphraseError as error:
        raise PassphraseError(f"{error} {undo}", changed=True) from None
    if from_kept:
        keep(change.kept, phrase)
        kept_line = f"The new passphrase is kept in {change.kept} (mode 0600)."
    else:
        kept_line = (
            "Keep the new passphrase where you kept the old one (your password manager, "
            "PULUMI_CONFIG_PASSPHRASE, or the file PULUMI_CONFIG_PASSPHRASE_FILE names): the "
            "old one no longer opens this stack."
        )
    lines = [
        f"Changed the passphrase of stack '{change.stack}': {change.stack_file.name} and the "
        f"stack's state are encrypted with the new one (both proven to decrypt with it). The "
        f"stack as it was is in {folder}/.",
        kept_line,
        "What must change with it:",
        *what_must_change(change.stack, change.stack_file.name),
    ]
    out.write("\n".join(lines) + "\n")


def main(argv: Sequence[str] | None = None, *, out: TextIO = sys.stdout) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ops.passphrase", description="Change a stack's passphrase."
    )
    parser.add_argument("--stack", required=True)
    parser.add_argument("--project-dir", type=Path, default=Path.cwd())
    parser.add_argument("--new-passphrase-file", type=Path, default=None)
    parser.add_argument("--kept-file", type=Path, default=None,
                        help="where the passphrase is kept (default: ops/secure_config.py's)")
    args = parser.parse_args(argv)
    kept = args.kept_file or kept_passphrase_file(args.stack)
    env = with_kept_passphrase(args.stack, os.environ)
    if not any(name in env for name in PASSPHRASE_ENV) and kept.is_file():
        env["PULUMI_CONFIG_PASSPHRASE_FILE"] = str(kept)
    change = Change(args.stack, args.project_dir.resolve(), env, kept)
    try:
        change_passphrase(change, args.new_passphrase_file, out)
    except PassphraseError as error:
        print(f"make passphrase: {error}", file=sys.stderr)
        return 1 if error.changed else 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
