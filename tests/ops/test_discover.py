"""``python -m ops discover`` against the sandbox: what it reads, writes, refuses and says.

The hand-made setup (tests/handmade.py) is read by many tests and changed by none, so it is
seeded once per module; tests that change the world or the APIs' answers get their own
sandbox. The real-CLI round trip (discover, up, preview) is tests/cli/test_discover_round_trip.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.settings import load_settings
from ops.__main__ import main
from ops.discover import read_settings
from ops.discover_read import read_live
from sandbox import ILERT_TOKEN, LEVEL_API_KEY, Sandbox
from tests.handmade import EMERGENCY, NOT_EMERGENCY, WEBHOOK_SECRET, Handmade, seed

STACK = "sandbox-found"  # a loopback base URL from the environment: sandbox* stacks only


@pytest.fixture(scope="module")
def handmade() -> Iterator[tuple[Sandbox, Handmade]]:
    with Sandbox() as sandbox:
        yield sandbox, seed(sandbox)


def _env(monkeypatch: pytest.MonkeyPatch, sandbox: Sandbox) -> None:
    monkeypatch.delenv("PULUMI_BACKEND_URL", raising=False)  # no other stacks to ask about
    monkeypatch.setenv("ILERT_BASE_URL", sandbox.ilert_url)
    monkeypatch.setenv("LEVEL_BASE_URL", sandbox.level_url)
    monkeypatch.setenv("ILERT_API_TOKEN", ILERT_TOKEN)
    monkeypatch.setenv("LEVEL_API_KEY", LEVEL_API_KEY)


class Folder:
    """A project folder (Pulumi.yaml only, at first) and the command run in it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        (path / "Pulumi.yaml").write_text("name: level-ilert\nruntime: python\n")

    @property
    def stack_file(self) -> Path:
        return self.path / f"Pulumi.{STACK}.yaml"

    def discover(self, *argv: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        code = main(["discover", "--stack", STACK, "--project-dir", str(self.path), *argv],
                    out=out, err=err)
        return code, out.getvalue(), err.getvalue()

    def text(self) -> str:
        return self.stack_file.read_text(encoding="utf-8")

    def entries(self) -> dict[str, dict[str, Any]]:
        config = yaml.safe_load(self.text())["config"]
        return {e["name"]: e for e in config["level-ilert:integrations"]}


@pytest.fixture
def folder(
    tmp_path: Path, handmade: tuple[Sandbox, Handmade], monkeypatch: pytest.MonkeyPatch
) -> Folder:
    _env(monkeypatch, handmade[0])
    return Folder(tmp_path)


def comment_before(text: str, entry: str, key: str) -> str:
    """The comment lines right above ``key:`` inside the entry named ``entry``, as one line."""
    lines = text.splitlines()
    start = lines.index(f"    - name: {entry}")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("    - ")),
               len(lines))
    at = start if key == "name" else next(
        i for i in range(start + 1, end) if lines[i].lstrip().startswith(f"{key}:")
    )
    above: list[str] = []
    for line in reversed(lines[:at]):
        if not line.lstrip().startswith("#"):
            break
        above.insert(0, line.strip().removeprefix("#").strip())
    return " ".join(above)


def test_each_finding_is_a_comment_above_the_key_it_concerns(
    folder: Folder, handmade: tuple[Sandbox, Handmade]
) -> None:

    code, out, _ = folder.discover()

    assert code == 0, out
    text = folder.text()
    assert comment_before(text, "Level - Vandelay", "eventTypes").startswith(
        "ONE-WAY SYNC: Level webhook")
    assert "sends only alert_active" in comment_before(text, "Level - Vandelay", "eventTypes")
    assert comment_before(text, "Level - Stark (paused)", "webhookEnabled").startswith(
        "DISABLED WEBHOOK")
    assert comment_before(text, "Level - Wayne (inactive)", "active").startswith(
        "INACTIVE SOURCE")
    assert comment_before(text, "Level - Umbrella (no webhook)", "eventTypes").startswith(
        "NO WEBHOOK")
    assert comment_before(text, "Level - Umbrella (no webhook)", "webhookEnabled").startswith(
        "WRITTEN DISABLED")
    assert comment_before(text, "Level - Acme Corp", "sharesAlertsWith").startswith(
        "PAGED TWICE TODAY")
    secret = comment_before(text, "Level - Initech", "adopt")
    assert ("pulumi config set --secret --path 'level-ilert:integrations[3].webhookSecret' "
            f"<secret> --stack {STACK}") in secret
    # The source left out sits where its entry would be, before the next one, with what to
    # delete first. Its templates and severity are settings the stack file manages (issue
    # 24): written as keys, nothing named unmanaged.
    above_cyberdyne = comment_before(text, "Level - Cyberdyne (templates)", "name")
    assert above_cyberdyne.startswith("NOT TAKEN OVER: ilert alert source")
    assert "'Level - Tyrell (twice)'" in above_cyberdyne and "Delete webhook" in above_cyberdyne
    assert "UNMANAGED SETTINGS" not in text
    (cyberdyne,) = [entry for entry in yaml.safe_load(text)["config"][
        "level-ilert:integrations"] if entry["name"] == "Level - Cyberdyne (templates)"]
    assert cyberdyne["summaryTemplate"] == "{{name}} on {{device_hostname}}"
    assert cyberdyne["severity"] == 2
    tail = text[text.index("Level webhooks no entry takes over:"):]
    assert "ORPHAN WEBHOOK" in tail and "delivers to localhost, not to ilert" in tail
    secrets = [WEBHOOK_SECRET, ILERT_TOKEN, LEVEL_API_KEY]
    for source in handmade[0].ilert_alert_sources():  # keys and URLs are secrets too
        secrets.extend([source["integrationKey"], source["integrationUrl"]])
    assert [s for s in secrets if s in text or s in out] == []


def test_the_file_carries_each_live_setting_and_passes_the_programs_validation(
    folder: Folder, handmade: tuple[Sandbox, Handmade]
) -> None:
    sandbox, made = handmade

    folder.discover()

    entries = folder.entries()
    assert "Level - Tyrell (twice)" not in entries and len(entries) == 11
    assert all(entry["adopt"] is True for entry in entries.values())
    assert entries["Level - Globex"] == {
        "name": "Level - Globex", "escalationPolicy": "Default",
        "alertCreation": "ONE_ALERT_GROUPED_PER_WINDOW", "alertGroupingWindow": "PT5M",
        "alertPriorityRule": "LOW", "autoResolutionTimeout": "PT2H", "teams": [1],
        "active": True, "eventFilter": NOT_EMERGENCY,
        "eventTypes": ["alert_active", "alert_resolved"], "webhookEnabled": True,
        "deviceGroups": ["Globex"], "adopt": True,
    }
    emergencies = entries["Level - Emergencies (on-call)"]
    assert (emergencies["escalationPolicy"], emergencies["teams"]) == ("On-call L1", [1, 2])
    assert emergencies["eventFilter"] == EMERGENCY and "deviceGroups" not in emergencies
    night = entries["Level - Hooli lab (night shift)"]
    assert night["escalationPolicy"] == 4  # two policies are called "Night shift"
    assert night["deviceGroups"] == [made.group_ids["Hooli/Lab"]]  # two groups are "Lab"
    assert entries["Level - Acme Corp"]["sharesAlertsWith"] == ["Level - Acme NOC board"]
    assert entries["Level - Stark (paused)"]["webhookEnabled"] is False
    assert entries["Level - Wayne (inactive)"]["active"] is False
    assert "webhookSecret" not in entries["Level - Initech"]
    config = yaml.safe_load(folder.text())["config"]
    assert config["ilert:baseUrl"] == sandbox.ilert_url  # from the environment
    settings = load_settings(config.get, lambda key: None, config_keys=config, environ={})
    assert len(settings.integrations) == 11


def test_it_sends_only_gets_and_reads_every_page(
    folder: Folder, handmade: tuple[Sandbox, Handmade]
) -> None:
    sandbox, made = handmade
    sandbox.requests.clear()

    folder.discover()

    counts = Counter((r.service, r.method, r.path.split("/")[2]) for r in sandbox.requests)
    assert counts == {
        ("ilert", "GET", "alert-sources"): 3 + len(made.sources),  # 3 pages + each Level.io
        ("ilert", "GET", "escalation-policies"): 1,
        # one source links support hours and a service: each listed once, to write names
        ("ilert", "GET", "support-hours"): 1,
        ("ilert", "GET", "services"): 1,
        ("level", "GET", "webhooks"): 1,
        ("level", "GET", "groups"): 1,
    }
    starts = [r.query for r in sandbox.requests if r.path == "/api/alert-sources"]
    assert [q.split("start-index=")[1].split("&")[0] for q in starts] == ["0", "50", "100"]


def test_small_pages_find_the_same_objects(handmade: tuple[Sandbox, Handmade]) -> None:
    sandbox, made = handmade
    env = {"ILERT_BASE_URL": sandbox.ilert_url, "LEVEL_BASE_URL": sandbox.level_url,
           "ILERT_API_TOKEN": ILERT_TOKEN, "LEVEL_API_KEY": LEVEL_API_KEY}
    settings = read_settings(lambda _key: None, env, level=True, stack=STACK)
    small = type(settings)(**{**settings.__dict__, "ilert_page_size": 7, "level_page_size": 3})
    sandbox.requests.clear()

    live = read_live(small)

    assert {s.id for s in live.sources} == set(made.sources.values())
    assert len(live.webhooks or []) == len(sandbox.level_webhooks())
    assert {g.id for g in live.groups} == {g["id"] for g in sandbox.level_groups()}
    assert sandbox.count("level", "GET", "/v2/webhooks") == len(sandbox.level_webhooks()) // 3 + 1
    assert sandbox.count("ilert", "GET", "/api/alert-sources") == 120 // 7 + 1 + 12


def test_an_existing_stack_file_is_never_replaced_without_force(
    folder: Folder, handmade: tuple[Sandbox, Handmade]
) -> None:
    folder.stack_file.write_text("config:\n  level-ilert:integrations: []\n")
    handmade[0].requests.clear()

    code, _, err = folder.discover()

    assert code == 2
    assert "exists already" in err and "FORCE=1" in err and "PRINT=1" in err
    assert folder.text() == "config:\n  level-ilert:integrations: []\n"
    assert handmade[0].count() == 0


OLD = """\
# our production stack
config:
  aws:region: eu-central-1          # a key of another namespace
  ilert:apiToken:
    secure: v1:token-ciphertext
  level-ilert:integrations:
    - name: Level - Initech
      escalationPolicy: 2
      resourceName: initech
      webhookSecret:
        secure: v1:secret-ciphertext
    - name: Level - Closed client
      escalationPolicy: Default
encryptionsalt: v1:salt
"""


def test_force_keeps_a_backup_the_secrets_the_salt_and_other_keys(folder: Folder) -> None:
    folder.stack_file.write_text(OLD)

    code, out, err = folder.discover("--force")

    assert code == 0, err
    assert (folder.path / f"Pulumi.{STACK}.yaml.bak").read_text() == OLD
    text = folder.text()
    document = yaml.safe_load(text)
    assert document["encryptionsalt"] == "v1:salt"
    assert document["config"]["aws:region"] == "eu-central-1"
    assert document["config"]["ilert:apiToken"] == {"secure": "v1:token-ciphertext"}
    assert text.startswith("# our production stack\n") and "# a key of another namespace" in text
    initech = folder.entries()["Level - Initech"]
    assert initech["webhookSecret"] == {"secure": "v1:secret-ciphertext"}
    assert initech["resourceName"] == "initech"  # its identity in state is kept
    assert initech["escalationPolicy"] == "Default"  # live, not the old file's
    assert "pulumi config set --secret" not in comment_before(text, "Level - Initech", "adopt")
    assert "kept from the previous stack file" in text
    assert "Level - Closed client" not in folder.entries()
    assert "dropped: the previous file's entry 'Level - Closed client'" in out
    assert "secret: set to the webhookSecret of the stack file" in out

    again, _, _ = folder.discover("--force")

    assert again == 0
    assert (folder.path / f"Pulumi.{STACK}.yaml.bak").read_text() == OLD  # never overwritten
    assert len(list(folder.path.glob(f"Pulumi.{STACK}.yaml.*.bak"))) == 1


def test_print_writes_nothing_and_prints_only_the_integrations_block(folder: Folder) -> None:

    code, out, err = folder.discover("--print")

    assert code == 0
    assert not folder.stack_file.exists()
    assert out.startswith("  level-ilert:integrations:\n")
    block = yaml.safe_load("config:\n" + out)["config"]
    assert len(block["level-ilert:integrations"]) == 11
    assert "ONE-WAY SYNC" in out  # the comments come along
    assert "What the next `make up` will change" in err


def test_json_says_what_up_will_change_on_each_object(
    folder: Folder, handmade: tuple[Sandbox, Handmade]
) -> None:
    made = handmade[1]

    code, out, _ = folder.discover("--json")

    report = json.loads(out)
    assert code == 0 and report["ok"] is True
    assert report["read"]["alertSourcePages"] == 3 and report["read"]["levelAlertSources"] == 12
    up = {item["name"]: item for item in report["up"]}
    assert up["Level - Vandelay"]["changes"] == [
        f"ilert source {made.sources['one-event']}: adopted with one PUT", "no setting changes",
        f"Level webhook {made.webhooks['one-event'][0]}: adopted with one PATCH",
        "event types: + alert_resolved",
    ]
    assert up["Level - Umbrella (no webhook)"]["webhookId"] is None
    assert "Level webhook: created (one POST), disabled (see its comment)" in up[
        "Level - Umbrella (no webhook)"]["changes"]
    assert report["keptOut"] == [{"name": "Level - Tyrell (twice)",
                                  "alertSourceId": made.sources["two-webhooks"]}]
    ids = Counter(f["id"] for f in report["findings"] if f["status"] == "fail")
    assert ids == {
        "webhook.one-event": 1, "webhook.disabled": 1, "source.inactive": 1,
        "source.no-webhook": 1, "webhook.duplicate": 1,
        "routing.pages-twice": 2, "webhook.orphan": 1,
    }


def test_endpoints_come_from_the_stack_file_when_it_exists(
    folder: Folder, handmade: tuple[Sandbox, Handmade], monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox = handmade[0]
    monkeypatch.setenv("ILERT_BASE_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("LEVEL_BASE_URL", "http://127.0.0.1:9")
    folder.stack_file.write_text(yaml.safe_dump({"config": {
        "ilert:baseUrl": sandbox.ilert_url, "level:baseUrl": sandbox.level_url,
        "level-ilert:integrations": [{"name": "x", "escalationPolicy": 1}],
    }}))

    code, _, err = folder.discover("--force")

    assert code == 0, err
    assert yaml.safe_load(folder.text())["config"]["level:baseUrl"] == sandbox.level_url


def test_a_missing_credential_is_named_with_its_fix(
    folder: Folder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LEVEL_API_KEY")

    code, _, err = folder.discover()

    assert code == 2
    assert "LEVEL_API_KEY" in err and "level:apiKey" in err
    assert not folder.stack_file.exists()


def test_a_failing_api_gets_the_providers_retries_then_their_message(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _env(monkeypatch, sandbox)
    sandbox.ilert.create_alert_source(
        {"name": "Level - Acme", "integrationType": "LEVELIO", "escalationPolicy": {"id": 1}})
    sandbox.faults.add("ilert", "GET", "/api/alert-sources", 503, count=1, retry_after=0)
    folder = Folder(tmp_path)

    code, _, err = folder.discover()

    assert code == 0, err  # the 503 was retried, as the providers retry it
    assert [r.status for r in sandbox.requests if r.path == "/api/alert-sources"] == [503, 200]
    monkeypatch.setenv("LEVEL_API_KEY", "not-the-key")

    code, _, err = folder.discover("--force")

    assert code == 2
    assert "Level API GET /v2/webhooks failed (HTTP 401)" in err
    assert "not-the-key" not in err


def test_an_organisation_without_webhook_management_gets_the_manual_mode(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _env(monkeypatch, sandbox)
    sandbox.ilert.create_alert_source(
        {"name": "Level - Acme", "integrationType": "LEVELIO", "escalationPolicy": {"id": 1}})
    sandbox.faults.add("level", "GET", "/v2/webhooks", 404, count=None)
    folder = Folder(tmp_path)

    code, _, err = folder.discover()

    assert code == 0, err
    config = yaml.safe_load(folder.text())["config"]
    assert config["level:webhookManagement"] == "manual"
    assert "level:baseUrl" not in config  # manual mode never calls Level: no level: keys
    (entry,) = config["level-ilert:integrations"]
    assert "eventTypes" not in entry and "webhookEnabled" not in entry


def test_no_level_source_means_nothing_to_write(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _env(monkeypatch, sandbox)
    folder = Folder(tmp_path)

    code, _, err = folder.discover()

    assert code == 1
    assert "no Level.io alert source can be taken over (0 found in ilert)" in err
    assert not folder.stack_file.exists()


def test_a_key_of_the_old_file_that_fails_validation_stops_the_write_naming_it(
    folder: Folder,
) -> None:
    old = "config:\n  level-ilert:integratons: []\n"
    folder.stack_file.write_text(old)

    code, _, err = folder.discover("--force")

    assert code == 2
    assert "level-ilert:integratons is not a setting of this project" in err
    assert "Keys kept from the existing file are checked too" in err
    assert folder.text() == old and not list(folder.path.glob("*.bak"))
