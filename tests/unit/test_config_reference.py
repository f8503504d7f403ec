"""docs/configuration.md is what tools/config_reference.py generates from the schemas: a
field added to a resource shows in the reference, or this test says how to regenerate it."""

from __future__ import annotations

from pathlib import Path

from providers import ilert_alert_source, level_webhook
from tools import config_reference

PAGE = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_the_committed_reference_is_what_the_schemas_generate() -> None:
    assert PAGE.read_text(encoding="utf-8") == config_reference.page(), (
        "docs/configuration.md is out of date: run "
        "`venv/bin/python -m tools.config_reference > docs/configuration.md`"
    )


def test_every_field_of_both_schemas_is_in_the_reference_with_its_doc() -> None:
    page = config_reference.page()
    for schema in (ilert_alert_source.SCHEMA, level_webhook.SCHEMA):
        for key, each in schema.fields.items():
            assert f"| `{key}` |" in page
            assert each.spec.doc.replace("|", "\\|") in page
            if each.stack_key is not None:
                assert f"| `{each.stack_key}` |" in page


def test_secret_and_replacing_fields_say_so() -> None:
    lines = config_reference.page().splitlines()

    def row(key: str) -> str:
        return next(line for line in lines if line.startswith(f"| `{key}` |"))

    assert row("webhookSecret").endswith("write-only in Level. Secret. |")
    assert row("secret").endswith("write-only in Level. Secret. |")
    assert "A change replaces the resource." in row("integration_type")
    assert "replaces" not in row("name")
