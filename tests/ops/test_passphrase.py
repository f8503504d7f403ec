"""make passphrase's checks before anything changes, and its order of work (a fake CLI);
tests/cli/test_day_two.py changes a real stack's passphrase through the real CLI."""

from __future__ import annotations

import datetime as dt
import io
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ops import passphrase
from ops.passphrase import Change, PassphraseError

SALT = "encryptionsalt: v1:abc\nconfig: {}\n"
NOW = dt.datetime(2026, 12, 7, 18, 0, 0, tzinfo=dt.UTC)


class FakeCli:
    """Records each pulumi command; answers 0 unless ``fail`` names the command's words."""

    def __init__(self, fail: tuple[str, ...] = ()) -> None:
        self.calls: list[tuple[list[str], str, dict[str, str]]] = []
        self.fail = fail

    def __call__(self, args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        self.calls.append((args[1:], kwargs.get("input") or "", kwargs["env"]))
        if "--file" in args:
            Path(args[args.index("--file") + 1]).write_text("{}")
        failed = any(" ".join(args[1:]).startswith(words) for words in self.fail)
        return subprocess.CompletedProcess(
            args, 255 if failed else 0, "", "error: failed to decrypt: incorrect passphrase"
            if failed else "",
        )


def change(tmp_path: Path, env: dict[str, str], cli: FakeCli, salt: str = SALT) -> Change:
    (tmp_path / "Pulumi.prod.yaml").write_text(salt)
    return Change("prod", tmp_path, env, tmp_path / "kept" / "prod", run=cli)


def new_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "new"
    path.write_text(text)
    return path


def test_a_change_checks_backs_up_changes_proves_and_keeps_the_new_passphrase(
    tmp_path: Path,
) -> None:
    (tmp_path / "kept").mkdir()
    (tmp_path / "kept" / "prod").write_text("old one\n")
    cli = FakeCli()
    env = {"PULUMI_CONFIG_PASSPHRASE_FILE": str(tmp_path / "kept" / "prod")}
    out = io.StringIO()

    passphrase.change_passphrase(
        change(tmp_path, env, cli), new_file(tmp_path, "new one\n"), out, now=NOW
    )

    commands = [" ".join(args[:3]) for args, _, _ in cli.calls]
    assert commands == [
        "config --show-secrets --json", "stack export --show-secrets",   # the old one opens
        "stack export --file",                                            # the copy
        "stack change-secrets-provider passphrase",                      # the change
        "config --show-secrets --json", "stack export --show-secrets",   # the new one opens
    ]
    change_call = cli.calls[3]
    assert change_call[1] == "new one\n"                      # on stdin ...
    assert "new one" not in " ".join(change_call[0])          # ... never in the arguments
    assert "new one" not in "".join(change_call[2].values())  # ... nor the environment
    assert cli.calls[4][2]["PULUMI_CONFIG_PASSPHRASE"] == "new one"
    assert "PULUMI_CONFIG_PASSPHRASE_FILE" not in cli.calls[4][2]
    assert (tmp_path / "kept" / "prod").read_text() == "new one\n"
    assert (tmp_path / "kept" / "prod").stat().st_mode & 0o777 == 0o600
    backup = tmp_path / ".passphrase-backups" / "prod-20261207T180000Z"
    assert (backup / "state.json").is_file() and (backup / "Pulumi.prod.yaml").is_file()
    printed = out.getvalue()
    assert "1. Commit Pulumi.prod.yaml" in printed
    assert "secret PULUMI_CONFIG_PASSPHRASE of the GitHub environment drift-prod" in printed


@pytest.mark.parametrize(
    ("salt", "env", "said"),
    [
        ("config: {}\n", {"PULUMI_CONFIG_PASSPHRASE": "x"}, "does not use a passphrase"),
        (SALT, {}, "The current passphrase of stack 'prod' was not found: keep it in"),
    ],
)
def test_nothing_changes_without_a_passphrase_stack_or_its_current_passphrase(
    tmp_path: Path, salt: str, env: dict[str, str], said: str
) -> None:
    cli = FakeCli()
    with pytest.raises(PassphraseError, match=said) as caught:
        passphrase.change_passphrase(change(tmp_path, env, cli, salt),
                                     new_file(tmp_path, "n"), io.StringIO())
    assert not caught.value.changed
    assert cli.calls == []


def test_nothing_changes_when_the_current_passphrase_does_not_open_the_stack(
    tmp_path: Path,
) -> None:
    cli = FakeCli(fail=("stack export --show-secrets",))
    with pytest.raises(PassphraseError, match="does not open the stack's state") as caught:
        passphrase.change_passphrase(
            change(tmp_path, {"PULUMI_CONFIG_PASSPHRASE": "old"}, cli),
            new_file(tmp_path, "new"), io.StringIO(),
        )
    assert not caught.value.changed
    assert "change-secrets-provider" not in str(cli.calls)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("", "The new passphrase is empty"),
        (" padded", "starts or ends with a space"),
        ("two\nlines", "holds a line break"),
        ("old", "The new passphrase is the current one"),
    ],
)
def test_a_new_passphrase_that_would_not_work_as_kept_is_refused_first(
    tmp_path: Path, text: str, said: str
) -> None:
    cli = FakeCli()
    with pytest.raises(PassphraseError, match=said):
        passphrase.change_passphrase(
            change(tmp_path, {"PULUMI_CONFIG_PASSPHRASE": "old"}, cli),
            new_file(tmp_path, text), io.StringIO(),
        )
    assert [args[0] for args, _, _ in cli.calls] == ["config", "stack"]  # only the checks


def test_typed_passphrases_must_match_and_need_a_terminal() -> None:
    answers = iter(["one", "two"])
    with pytest.raises(PassphraseError, match="The two passphrases typed differ"):
        passphrase.new_passphrase(None, None, ask=lambda _: next(answers), interactive=True)
    with pytest.raises(PassphraseError, match="NEW_PASSPHRASE_FILE=<file>"):
        passphrase.new_passphrase(None, None, interactive=False)
    assert passphrase.new_passphrase(None, None, ask=lambda _: "same", interactive=True) == "same"


def test_a_failed_change_says_how_to_put_the_copies_back(tmp_path: Path) -> None:
    cli = FakeCli(fail=("stack change-secrets-provider",))
    with pytest.raises(PassphraseError, match="change-secrets-provider failed") as caught:
        passphrase.change_passphrase(
            change(tmp_path, {"PULUMI_CONFIG_PASSPHRASE": "old"}, cli),
            new_file(tmp_path, "new"), io.StringIO(), now=NOW,
        )
    assert caught.value.changed
    assert "pulumi stack import --stack prod --file" in str(caught.value)
    assert "prod-20261207T180000Z/state.json" in str(caught.value)
