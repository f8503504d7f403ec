"""providers/schema.template_text: an ilert template as the API returns it, written back as
the text a user declares. ilert answers ``{"textTemplate": ...}`` only when asked
(``?include=textTemplate``); otherwise it sends ``elements`` (ilert's OpenAPI,
AlertSourceTemplateElement: TEXT, VAR with an optional func and S/N args), and a refresh
must read those as the same template, or every template would show as drift."""

from __future__ import annotations

import pytest

from providers import itl
from providers.schema import template_text


@pytest.mark.parametrize(
    ("api", "text"),
    [
        (None, ""),
        ("{{ data.name }}", ""),  # not an object: none
        ({}, ""),
        ({"elements": []}, ""),
        ({"textTemplate": "Disk on {{ data.device_hostname }}", "elements": [
            {"type": "TEXT", "val": "ignored"}]}, "Disk on {{ data.device_hostname }}"),
        ({"elements": [{"type": "TEXT", "val": "Disk on "},
                       {"type": "VAR", "val": "data.device_hostname"}]},
         "Disk on {{ data.device_hostname }}"),
        ({"elements": [{"type": "VAR", "val": "data.name", "func": "lowerCase"}]},
         "{{ data.name.lowerCase() }}"),
        ({"elements": [{"type": "VAR", "val": "data.name", "func": "substring",
                        "args": [{"N": 0}, {"N": 12}]}]},
         "{{ data.name.substring(0, 12) }}"),
        ({"elements": [{"type": "VAR", "val": "data.tags", "func": "join",
                        "args": [{"S": ", "}]}]},
         '{{ data.tags.join(", ") }}'),
        ({"elements": [{"type": "VAR", "val": "data.name", "func": "replaceAll",
                        "args": [{"S": 'say "hi"'}, "not an arg", {"S": "x"}]}]},
         '{{ data.name.replaceAll("say \\"hi\\"", "x") }}'),
        ({"elements": ["not an element", {"type": "TEXT"}, {"type": "TEXT", "val": "a"}]}, "a"),
    ],
)
def test_an_api_template_is_written_back_as_the_text_a_user_declares(
    api: object, text: str
) -> None:
    assert template_text(api) == text
    if text:
        itl.check(text)  # what a refresh reads back is a template ilert would take
