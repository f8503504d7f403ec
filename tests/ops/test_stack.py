"""Reading Pulumi.<stack>.yaml without the CLI, and manual mode."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from ops.__main__ import main
from ops.stack import load_stack
from sandbox import Sandbox
from tests.ops.conftest import LOOKUP, STACK, Project, provision, write_stack

CIPHER = {"secure": "v1:AAAAAAAAAAAAAAAA:ciphertext"}


def run(path: Path, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main([*argv, "--stack", STACK, "--project-dir", str(path)], out=out, err=err,
                outputs=LOOKUP)
    return code, out.getvalue(), err.getvalue()


def edit_config(path: Path, **changes: Any) -> None:
    file = path / f"Pulumi.{STACK}.yaml"
    document = yaml.safe_load(file.read_text())
    document["config"].update(changes)
    file.write_text(yaml.safe_dump(document))


def test_ciphertext_is_unset_and_the_env_var_is_used(project: Project) -> None:
    edit_config(project.path, **{"ilert:apiToken": CIPHER, "level:apiKey": CIPHER})

    stack = load_stack(STACK, project.path)

    assert stack.ilert is not None
    assert stack.ilert.base_url == project.sandbox.ilert_url
    assert stack.on_loopback is True
    assert run(project.path, "doctor")[0] == 0


def test_a_secure_webhook_secret_counts_as_set(
    tmp_path: Path, sandbox: Sandbox, credentials: None
) -> None:
    integrations = [{"name": "Level - Signed", "escalationPolicy": 1, "webhookSecret": "s3cret"}]
    provision(sandbox, integrations)
    write_stack(tmp_path, sandbox, [{**integrations[0], "webhookSecret": CIPHER}])

    code, out, _ = run(tmp_path, "doctor")

    assert code == 0, out
    assert "✓ it has a secret (deliveries are signed)" in out
    [webhook] = sandbox.level_webhooks()
    sandbox.level_edit_webhook(webhook["id"], secret=None)
    code, out, _ = run(tmp_path, "doctor")
    assert code == 1
    assert "✗ it has no secret although webhookSecret is set: deliveries are unsigned" in out


def test_a_missing_credential_fails_its_check_with_the_fix(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LEVEL_API_KEY")

    code, out, _ = run(project.path, "doctor")

    assert code == 1
    assert "✗ Level API key is not set" in out
    assert ("`pulumi config set --secret level:apiKey` (it asks for the value) or export "
            "LEVEL_API_KEY") in out
    assert "- not checked: Level credentials failed" in out


def test_no_stack_file_could_not_run(tmp_path: Path) -> None:
    code, out, err = run(tmp_path, "doctor")

    assert code == 2
    assert out == ""
    assert "Pulumi.test.yaml does not exist: STACK=test has no stack file" in err


def test_invalid_settings_could_not_run_and_name_the_key(
    tmp_path: Path, sandbox: Sandbox, credentials: None
) -> None:
    write_stack(tmp_path, sandbox, [{"name": "x", "escalationPolicy": 1,
                                     "eventTypes": ["alert_active"]}])

    code, _, err = run(tmp_path, "doctor")

    assert code == 2
    assert "level-ilert:integrations[0].eventTypes" in err
    assert "one-way sync" in err


def test_manual_mode_checks_ilert_and_says_what_to_look_at_in_level(
    tmp_path: Path, sandbox: Sandbox, credentials: None
) -> None:
    integrations = [{"name": "Level - Manual", "escalationPolicy": 1}]
    provision(sandbox, integrations, management="manual")
    write_stack(tmp_path, sandbox, integrations, management="manual")

    code, out, _ = run(tmp_path, "doctor", "--json")

    document = json.loads(out)
    assert code == 0
    checks = {c["id"]: c for c in document["checks"]}
    assert checks["level.credentials"]["summary"] == "Level API key works (alerts readable)"
    assert checks["source.active"]["status"] == "pass"
    manual = checks["webhook.manual"]
    assert manual["status"] == "skip"  # not checked, never passed
    assert manual["summary"].startswith(
        "Level side NOT checked (manual mode: Level's API cannot show webhooks). "
        "`make audit STACK=test` checks it from evidence"
    )
    assert manual["details"][1] == (
        "- Events to send: Alert active and Alert resolved are both ticked"
    )
    assert "Settings > Webhooks > Requests" in manual["details"][3]
    assert document["not_checked"] == ["webhook.manual", "routing.table"]
    assert sandbox.count(service="level", path_prefix="/v2/webhooks") == 0


def test_manual_mode_without_a_webhook_never_says_all_checks_passed(
    tmp_path: Path, sandbox: Sandbox, credentials: None
) -> None:
    """Issue 28: no Level webhook exists at all; doctor must not pass the Level side."""
    integrations = [{"name": "Level - Manual", "escalationPolicy": 1}]
    provision(sandbox, integrations, management="manual")
    write_stack(tmp_path, sandbox, integrations, management="manual")
    assert sandbox.level_webhooks() == []

    code, out, _ = run(tmp_path, "doctor")

    assert "all checks passed" not in out
    assert out.rstrip().endswith(
        "no check failed, but the Level side was NOT checked (manual mode: Level's API "
        "cannot show webhooks): `make audit STACK=test` checks it from evidence"
    )
    assert "- Level side NOT checked" in out
    assert "- routing NOT checked" in out
    assert code == 0  # nothing failed: the exit code says what failed, the text what was not


def test_api_mode_at_a_404_names_the_missing_webhook_api_not_the_credentials(
    project: Project,
) -> None:
    project.sandbox.level.set_webhook_api(False)

    code, out, _ = run(project.path, "doctor")

    assert code == 1
    assert "✓ Level API key works (alerts readable)" in out
    assert "✗ Level's API has no webhook management (it answered 404 on /v2/webhooks" in out
    assert "level:webhookManagement manual" in out
    assert ("- not checked: this Level organisation's API has no webhook management (404 on "
            "/v2/webhooks)") in out
    assert "credentials failed" not in out


def test_a_plain_http_base_url_off_loopback_could_not_run(project: Project) -> None:
    edit_config(project.path, **{"level:baseUrl": "http://api.level.io"})

    code, out, err = run(project.path, "doctor")

    assert code == 2
    assert out == ""
    assert "Pulumi.test.yaml: Invalid stack config:" in err
    assert "level:baseUrl (stack config) must use https://" in err
