"""`__main__.py` sees every config key of the stack, so a misspelled one is not ignored.

The language host hands the program its config as the ``PULUMI_CONFIG`` JSON env var; the
automation API and mocks use ``set_all_config``. ``pulumi_config_keys`` must see both, and
the program must stop, naming the key meant, before any resource is registered.
"""

from __future__ import annotations

import json

import pulumi
import pytest
from pulumi.runtime import config as runtime_config

from components.settings import pulumi_config_keys
from sandbox import ILERT_TOKEN, Sandbox
from tests.program.test_program import ACME, ProvidersAgainstSandbox, run_program, stack_config


def test_keys_come_from_set_all_config_and_from_the_language_hosts_env(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({"ilert:apiToken": "t", "aws:region": "x"}))
    token = runtime_config.CONFIG.set({"level:baseUrl": "https://api.level.io"})
    try:
        keys = pulumi_config_keys()
    finally:
        runtime_config.CONFIG.reset(token)

    assert keys == {"ilert:apiToken", "aws:region", "level:baseUrl"}


def test_a_misspelled_key_stops_the_program_naming_the_key_meant(sandbox: Sandbox) -> None:
    config = stack_config(sandbox, [ACME])
    config["level:webhookMangement"] = "manual"  # meant: manual mode, no Level webhook
    mocks = ProvidersAgainstSandbox(config)

    with pytest.raises(
        pulumi.RunError, match="level:webhookMangement is not a setting of this project"
    ) as caught:
        run_program(config, mocks)

    text = str(caught.value)
    assert "level:webhookMangement is not a setting of this project" in text
    assert "did you mean level:webhookManagement?" in text
    assert [r for r in mocks.registrations if r.typ != "pulumi:pulumi:Stack"] == []
    assert sandbox.count() == 0


def test_a_bad_token_stops_the_program_at_preview_without_quoting_it(sandbox: Sandbox) -> None:
    config = stack_config(sandbox, [ACME])
    config["ilert:apiToken"] = ILERT_TOKEN[:4] + "\n" + ILERT_TOKEN[4:]
    mocks = ProvidersAgainstSandbox(config)

    with pytest.raises(
        pulumi.RunError, match=r"ilert:apiToken \(stack config\) contains a control character"
    ) as caught:
        run_program(config, mocks)

    text = str(caught.value)
    assert "ilert:apiToken (stack config) contains a control character (a line break)" in text
    assert ILERT_TOKEN[4:] not in text and ILERT_TOKEN[:4] + "\n" not in text
    assert sandbox.count() == 0


def test_integrations_that_are_not_json_get_the_example(sandbox: Sandbox) -> None:
    config = stack_config(sandbox, [ACME])
    config["level-ilert:integrations"] = "Level - Acme"

    with pytest.raises(pulumi.RunError, match="must be a non-empty list of integrations, like"):
        run_program(config)
