"""The fleet's routing guard across stacks (ops/fleet/overlap.py): two stacks that share a
Level organisation or an ilert account are checked with the in-stack rule
(components/routing.py), and a stack that would page twice is refused naming both stack
files and paths, with the same ways out. No CLI: stack files in a folder, keys as digests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.settings import SettingsError, load_settings
from ops.fleet import overlap, stacks
from ops.fleet.overlap import StackRouting, conflicts, read_integrations, refusals
from ops.secure_config import Undecryptable

LEVEL = {"level": "L1", "ilert": "I1"}


def _write(root: Path, stack: str, integrations: Sequence[Mapping[str, Any]]) -> None:
    config = {
        "ilert:baseUrl": "http://127.0.0.1:8790",
        "level:baseUrl": "http://127.0.0.1:8791",
        "level-ilert:integrations": [
            {"escalationPolicy": "Default", **entry} for entry in integrations
        ],
    }
    (root / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump({"config": config}))


def _routing(root: Path, stack: str, integrations: Sequence[Mapping[str, Any]],
             keys: Mapping[str, str] = LEVEL) -> StackRouting:
    _write(root, stack, integrations)
    return StackRouting(stack, read_integrations(stack, root, {}), keys)


def test_two_stacks_on_one_level_organisation_that_both_page_are_refused_naming_both(
    tmp_path: Path,
) -> None:
    a = _routing(tmp_path, "sandbox-a", [{"name": "Level - Acme (a)", "deviceGroups": ["Acme"]},
                                         {"name": "Level - Globex (a)",
                                          "deviceGroups": ["Globex"]}])
    b = _routing(tmp_path, "sandbox", [{"name": "Level - Initech", "deviceGroups": ["Initech"]},
                                       {"name": "Level - Acme", "deviceGroups": ["Acme"]}])

    message = conflicts(a, b)

    assert message is not None
    first, *problems = message.splitlines()
    assert first == (
        "Two integrations of different stacks would page for the same Level alert (stacks "
        "sandbox-a and sandbox share a Level organisation, the same Level base URL and key):"
    )
    assert len(problems) == 1
    assert problems[0].startswith(
        "- Pulumi.sandbox-a.yaml level-ilert:integrations[0] ('sandbox-a/Level - Acme (a)') "
        "and Pulumi.sandbox.yaml level-ilert:integrations[1] ('sandbox/Level - Acme') would "
        "both open an ilert alert for the same Level alert: both list the device group 'Acme'"
    )
    # The in-stack guard's ways out, with the other stack's integration named by its stack.
    assert ("Either scope or filter them apart (deviceGroups with different groups, or "
            "eventFilters that cannot both be true") in problems[0]
    assert problems[0].endswith(
        "or say that both should receive it: sharesAlertsWith: ['sandbox/Level - Acme'] on "
        "Pulumi.sandbox-a.yaml level-ilert:integrations[0]."
    )


def test_the_ways_out_end_the_refusal(tmp_path: Path) -> None:
    org_wide = {"name": "Level - NOC"}
    filtered = {"name": "Level - Emergencies",
                "eventFilter": "event.customDetails.severity == 'emergency'"}
    others = {"name": "Level - Rest",
              "eventFilter": "event.customDetails.severity != 'emergency'"}

    assert conflicts(_routing(tmp_path, "a", [org_wide]), _routing(tmp_path, "b", [org_wide]))
    # filtered apart
    assert conflicts(_routing(tmp_path, "a", [filtered]),
                     _routing(tmp_path, "b", [others])) is None
    # scoped apart
    assert conflicts(_routing(tmp_path, "a", [{"name": "A", "deviceGroups": ["Acme"]}]),
                     _routing(tmp_path, "b", [{"name": "B", "deviceGroups": ["Globex"]}])) is None
    # both should receive it, said on either side, with the other's stack
    shared = {**org_wide, "sharesAlertsWith": ["b/Level - NOC"]}
    assert conflicts(_routing(tmp_path, "a", [shared]),
                     _routing(tmp_path, "b", [org_wide])) is None
    assert conflicts(_routing(tmp_path, "b", [org_wide]),
                     _routing(tmp_path, "a", [shared])) is None
    # a partner of the same stack does not cover the other stack's integration
    own = [{"name": "Level - NOC", "sharesAlertsWith": ["Level - Board"]},
           {"name": "Level - Board", "sharesAlertsWith": ["Level - NOC"]}]
    assert conflicts(_routing(tmp_path, "a", own), _routing(tmp_path, "b", [org_wide]))
    # paging nobody
    assert conflicts(_routing(tmp_path, "a", [{**org_wide, "active": False}]),
                     _routing(tmp_path, "b", [org_wide])) is None


def test_only_stacks_that_share_an_account_are_compared(tmp_path: Path) -> None:
    entry = [{"name": "Level - NOC"}]
    a = _routing(tmp_path, "a", entry, {"level": "L1", "ilert": "I1"})

    assert conflicts(a, _routing(tmp_path, "b", entry, {"level": "L2", "ilert": "I2"})) is None
    assert conflicts(a, _routing(tmp_path, "b", entry, {})) is None  # keys not readable
    ilert_only = conflicts(a, _routing(tmp_path, "b", entry, {"ilert": "I1"}))  # manual mode
    assert ilert_only is not None
    assert "share an ilert account, the same ilert base URL and key" in ilert_only


def test_a_partner_of_another_stack_passes_the_stacks_own_validation() -> None:
    entries = [{"name": "Level - NOC", "escalationPolicy": "Default",
                "sharesAlertsWith": ["sandbox/Level - Acme Corp"]}]
    config = {"level-ilert:integrations": entries, "ilert:apiToken": "t",
              "level:apiKey": "k"}

    settings = load_settings(config.get, lambda key: None, environ={})

    assert settings.integrations[0].shares_alerts_with == ["sandbox/Level - Acme Corp"]
    entries[0]["sharesAlertsWith"] = ["Level - NCO"]  # a name of this stack, misspelled
    with pytest.raises(SettingsError, match="no integration of this stack is named 'Level - NCO'"):
        load_settings(config.get, lambda key: None, environ={})


def test_refusals_compare_with_the_projects_live_stacks_and_leave_empty_ones_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    noc = [{"name": "Level - NOC"}]
    for name in ("sandbox-a", "sandbox", "sandbox-old", "sandbox-file-only"):
        _write(tmp_path, name, [{"name": f"{noc[0]['name']} {name}"}])
    monkeypatch.setattr(overlap, "resource_counts", lambda *_: {
        "sandbox-a": None, "sandbox": 11, "sandbox-old": 0})  # sandbox-old: destroyed
    monkeypatch.setattr(overlap, "stack_keys", lambda *_, **__: dict(LEVEL))
    target = stacks.target_for("sandbox-a", tmp_path, {})

    def no_cli(*_: object) -> Undecryptable:
        raise AssertionError("nothing to decrypt")

    refused = refusals([target], [dict(LEVEL)], tmp_path, {}, decrypter=no_cli)

    assert list(refused) == ["sandbox-a"]
    assert "stacks sandbox-a and sandbox share" in refused["sandbox-a"]
    assert "sandbox-old" not in refused["sandbox-a"]
    assert "sandbox-file-only" not in refused["sandbox-a"]


def test_a_stack_whose_file_is_invalid_is_left_to_its_own_run(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.bad.yaml").write_text("config: [not, a, mapping]\n")
    _write(tmp_path, "worse", [{"name": "X", "alertCreation": "NOPE"}])

    assert read_integrations("bad", tmp_path, {}) == []
    assert read_integrations("worse", tmp_path, {}) == []
    assert read_integrations("missing", tmp_path, {}) == []
