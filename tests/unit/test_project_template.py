"""Pulumi.yaml's ``template`` section, which ``pulumi new`` reads: it is a valid project file,
it asks for every key a new stack needs (the API keys as secrets), and what it writes by
default is a stack the program accepts. Through the real CLI: tests/cli/test_first_hour.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.settings import KNOWN_KEYS, SettingsError, load_settings

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT.parent / "shared" / "reference" / "pulumi-project.schema.json"


def _project() -> dict[str, Any]:
    project: dict[str, Any] = yaml.safe_load((ROOT / "Pulumi.yaml").read_text(encoding="utf-8"))
    return project


def test_the_project_file_with_its_template_is_valid_against_pulumis_schema() -> None:
    if not SCHEMA.is_file():
        pytest.skip("no ../shared/reference/pulumi-project.schema.json beside this checkout")
    import jsonschema

    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.validators.validator_for(schema)(schema)

    assert [error.message for error in validator.iter_errors(_project())] == []


def test_the_template_asks_for_the_keys_a_stack_needs_and_keeps_the_keys_secret() -> None:
    config = _project()["template"]["config"]

    assert set(config) == {
        "ilert:apiToken", "ilert:baseUrl", "level:apiKey", "level:baseUrl",
        "level:webhookManagement", "level-ilert:integrations",
    }
    assert set(config) <= KNOWN_KEYS
    assert {key for key, entry in config.items() if entry.get("secret")} == {
        "ilert:apiToken", "level:apiKey"}
    for key, entry in config.items():
        assert entry["description"].strip(), key
        assert set(entry) <= {"description", "default", "secret"}, key
    assert config["level:webhookManagement"]["default"] == "manual"  # what most organisations need


def test_the_defaults_make_a_stack_the_program_accepts() -> None:
    config = _project()["template"]["config"]
    stack = {key: entry["default"] for key, entry in config.items() if "default" in entry}
    environ = {"ILERT_API_TOKEN": "token"}  # a key left empty comes from the environment

    settings = load_settings(stack.get, stack.get, environ=environ)

    assert [(i.name, i.escalation_policy) for i in settings.integrations] == [
        ("Level - Workstations", "Default")]
    assert settings.webhook_management == "manual"


def test_integrations_set_as_one_json_text_read_as_pulumis_get_object_reads_them() -> None:
    text = '[{"name": "Level - Acme", "escalationPolicy": "On-call L1"}]'
    stack = {"level-ilert:integrations": text, "level:webhookManagement": "manual"}

    settings = load_settings(stack.get, stack.get, environ={"ILERT_API_TOKEN": "t"})

    assert [i.name for i in settings.integrations] == ["Level - Acme"]
    broken = {**stack, "level-ilert:integrations": "[{not json"}
    with pytest.raises(SettingsError, match="must be a non-empty list of integrations"):
        load_settings(broken.get, broken.get, environ={"ILERT_API_TOKEN": "t"})
