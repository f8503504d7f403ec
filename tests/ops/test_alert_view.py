"""ops/alert_view.py: what ``make verify`` prints under the alert it opened, as the on-call
person reads it: the summary, HIGH or LOW with the severity, the details and the links."""

from __future__ import annotations

from clients.ilert import Alert
from ops.alert_view import MAX_DETAIL_CHARS, responder_view
from tests.ops.conftest import Project


def test_the_alert_as_the_responder_reads_it() -> None:
    alert = Alert.model_validate({
        "id": 7, "status": "PENDING", "summary": "ACME-HQ-SRV01: Disk full", "priority": "LOW",
        "severity": 2, "details": "C: has\n1% free",
        "links": [{"href": "https://app.level.io/devices/D7", "text": "Open in Level"},
                  {"href": "https://wiki.example.com/disk"}, {"text": "no URL"}],
    })

    assert responder_view(alert) == (
        "summary: ACME-HQ-SRV01: Disk full",
        "priority: LOW, severity 2",
        "details: C: has 1% free",
        "link: Open in Level <https://app.level.io/devices/D7>",
        "link: https://wiki.example.com/disk <https://wiki.example.com/disk>",
    )


def test_an_alert_without_links_or_severity_says_so_and_long_details_are_cut() -> None:
    alert = Alert.model_validate({"id": 7, "status": "PENDING", "summary": None,
                                  "details": "x" * 500})

    view = responder_view(alert)

    assert view[:2] == ("summary: (none)", "priority: ?")
    assert len(view[2]) == len("details: ") + MAX_DETAIL_CHARS and view[2].endswith("...")
    assert view[-1] == "links: none"


def test_make_verify_shows_the_alert_it_opened_as_the_responder_reads_it(
    project: Project,
) -> None:
    code, out, _ = project.run("verify", "--integration", "Level - Acme", "--timeout", "0.3",
                               "--poll", "0.05")

    assert code == 0, out
    lines = out.splitlines()
    opened = next(i for i, line in enumerate(lines) if "opened (PENDING)" in line)
    summary = lines[opened].split("): ", 1)[1]
    assert lines[opened + 1].strip() == f"summary: {summary}"
    assert lines[opened + 2].strip().startswith("priority: HIGH, severity ")
    assert "links: none" in out
