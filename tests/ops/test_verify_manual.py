"""make verify in manual mode: the test alert is a Level alert, through the hand-made webhook.

On the sandbox verify raises it itself (standing in for the person) and resolves it. On real
accounts a person raises and resolves it in Level, or verify picks an active one; that path
is played here on the sandbox by a Verify that behaves as on real accounts, and a "person"
thread that acts in Level when asked.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from ops.verify import Verify
from sandbox import Sandbox
from tests.ops.test_audit import ACME, BOTH, GLOBEX, ROUTED, Org, by_hand
from tests.sandbox.helpers import level

FAST = ("--timeout", "0.5", "--poll", "0.05")


@pytest.fixture
def org(tmp_path: Path, sandbox: Sandbox, credentials: None) -> Org:
    level(sandbox).put("/sandbox/webhook-api", json={"enabled": False})
    return by_hand(sandbox, tmp_path, ROUTED)


def steps(document: dict[str, Any], name: str) -> list[tuple[str, str]]:
    (found,) = [i for i in document["integrations"] if i["name"] == name]
    return [(s["id"], s["status"]) for s in found["steps"]]


def test_on_the_sandbox_verify_raises_a_level_alert_through_the_hand_made_webhook(
    org: Org,
) -> None:
    code, out, err = org.project.run("verify", "--json", "--integration", ACME, *FAST)

    document = json.loads(out)
    assert code == 0, out
    assert document["mode"] == "sandbox"
    assert steps(document, ACME) == [
        ("verify.raise", "pass"), ("verify.opened", "pass"), ("verify.routing", "pass"),
        ("verify.resolve", "pass"), ("verify.resolved", "pass"),
    ]
    deliveries = {(d["webhook_id"], d["event_type"]) for d in org.sandbox.deliveries}
    assert {(org.webhooks[ACME], "alert_active"), (org.webhooks[ACME], "alert_resolved")} <= (
        deliveries
    )  # (the org-wide emergencies webhook gets it too; its source's filter drops it)
    assert [a["alertSource"]["name"] for a in org.sandbox.ilert_alerts()] == [ACME]
    assert org.sandbox.count("level", path_prefix="/v2/webhooks") == 0
    assert "nobody is paged" in err


def test_a_broken_hand_made_webhook_is_named_from_evidence(org: Org) -> None:
    org.edit(GLOBEX, event_types=["alert_active"])

    code, out, _ = org.project.run("verify", "--integration", GLOBEX, *FAST)

    assert code == 1
    assert "did not resolve within 0.5 s" in out
    assert ("✗ broken link: the webhook does not send Alert resolved (alert_resolved): ilert "
            "alerts open and never close (one-way sync)") in out
    assert "tick Alert resolved (Events to send)" in out
    assert "NOT verified" in out
    assert org.sandbox.ilert_alerts(states=["PENDING", "ACCEPTED"]) == []  # cleaned up


class AsOnRealAccounts(Verify):
    """verify as it behaves against real accounts in manual mode (the sandbox is on
    loopback, which verify would otherwise take for the sandbox)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sandbox = False
        self.by_person = True


def person(org: Org, hostname: str, severity: str, *, after: float = 0.2,
           resolve_after: float | None = 0.4) -> threading.Thread:
    """Someone in Level: raises an alert a moment after verify asks, resolves it later."""
    def act() -> None:
        time.sleep(after)
        alert = org.sandbox.raise_level_alert(hostname, "Test alert", severity)
        if resolve_after is not None:
            time.sleep(resolve_after)
            org.sandbox.resolve_level_alert(alert["id"])

    thread = threading.Thread(target=act, daemon=True)
    thread.start()
    return thread


def test_on_real_accounts_verify_waits_for_a_person_to_raise_and_resolve_an_alert(
    org: Org,
) -> None:
    helper = person(org, "GLOBEX-HQ-SRV01", "warning")

    code, out, err = org.project.run(
        "verify", "--integration", GLOBEX, "--timeout", "5", "--poll", "0.05",
        verify_factory=AsOnRealAccounts,
    )
    helper.join()

    assert code == 0, out + err
    assert "level-ilert verify, stack test (level)" in out
    assert "raise a test alert in Level now, on a device in the groups 'Globex'" in err
    assert "now resolve Level alert" in err
    for line in ("is one the declared routing sends here", "opened (PENDING)",
                 "✓ no other source of the stack opened an alert for it",
                 "resolved with the Level alert"):
        assert line in out
    assert out.rstrip().endswith("verified")
    assert "--yes" not in err  # verify sends nothing itself: the person's alert pages


def test_on_real_accounts_an_active_alert_routed_here_is_picked(org: Org) -> None:
    org.sandbox.raise_level_alert("ACME-HQ-WS01", "Disk", "critical")
    org.sandbox.raise_level_alert("GLOBEX-HQ-WS01", "Disk", "critical")  # not Acme's

    code, out, err = org.project.run(
        "verify", "--json", "--integration", ACME, "--timeout", "0.3", "--poll", "0.05",
        verify_factory=AsOnRealAccounts,
    )

    document = json.loads(out)
    assert "raise a test alert" not in err
    assert steps(document, ACME) == [
        ("verify.level", "pass"), ("verify.opened", "pass"), ("verify.routing", "pass"),
        ("verify.resolved", "skip"),
    ]
    assert code == 0  # nobody resolved it in time: NOT checked, which is no failure
    assert document["not_checked"] == [f"{ACME}: verify.resolved"]
    (integration,) = document["integrations"]
    assert integration["cleanup"][0].startswith("left as it is: Level alert")
    assert len(org.sandbox.ilert_alerts(states=["PENDING"])) == 2  # verify resolves nothing


def test_a_synthetic_delivery_in_manual_mode_says_the_level_side_was_not_checked(
    org: Org,
) -> None:
    code, out, _ = org.project.run(
        "verify", "--integration", ACME, "--send-delivery", "--yes", *FAST
    )

    assert code == 0, out
    assert "- Level side NOT checked: in manual mode Level's API cannot show the webhook" in out
    assert out.rstrip().endswith(
        "verified as far as it could see; NOT checked: 1 link(s) (the lines marked -)"
    )


def test_manual_mode_needs_a_level_key_to_see_the_alert(
    org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LEVEL_API_KEY")

    code, out, _ = org.project.run("verify", "--integration", ACME, *FAST,
                                   verify_factory=AsOnRealAccounts)

    assert code == 1
    assert "manual mode tests with an alert raised in Level" in out
    assert "read-only is enough" in out


def test_extra_webhook_shows_in_verify_as_in_the_audit(org: Org) -> None:
    org.add(org.url(GLOBEX), event_types=BOTH)  # org-wide, to Globex's URL

    code, out, _ = org.project.run("verify", "--integration", ACME, *FAST)

    assert code == 1
    assert "the test alert also opened an ilert alert on 'Level - Globex'" in out
