"""The preflight against the sandbox: what it refuses at preview, what it costs, what it says.

Each check is driven by the sandbox's own answers (a refused token, the read-only Level key,
a 404 on /v2/webhooks), and the request log proves the cost: one listing of the policies, one
Level GET, one no-op write, and nothing at all towards Level in manual mode. The program runs
the preflight only during a dry run; the last tests prove that under Pulumi's mocks.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from components.preflight import MODE_ENV, Report, run_preflight
from components.settings import INTEGRATIONS_KEY, StackSettings, load_settings
from sandbox import ILERT_TOKEN, LEVEL_API_KEY, LEVEL_READONLY_KEY, Sandbox
from tests.program.test_program import ACME, run_program, stack_config
from tools.engine_harness import CapturingMocks

NO_ENV: dict[str, str] = {}


def settings_for(entries: list[dict[str, Any]], management: str = "api") -> StackSettings:
    return load_settings(  # routing (no alert paged twice) is not what is tested here
        {INTEGRATIONS_KEY: entries}.get, {"level:webhookManagement": management}.get,
        check_routing=False,
    )


def config(sandbox: Sandbox, values: dict[str, str]) -> dict[str, str]:
    found = {
        "ilert:apiToken": ILERT_TOKEN,
        "ilert:baseUrl": sandbox.ilert_url,
        "level:apiKey": LEVEL_API_KEY,
        "level:baseUrl": sandbox.level_url,
        "ilert:operationTimeoutSeconds": "5",
        "level:operationTimeoutSeconds": "5",
    }
    found.update(values)
    return {key: value for key, value in found.items() if value}


def preflight(
    sandbox: Sandbox,
    entries: list[dict[str, Any]] | None = None,
    *,
    management: str = "api",
    environ: dict[str, str] = NO_ENV,
    values: dict[str, str] | None = None,
) -> Report:
    settings = settings_for(entries or [ACME], management)
    return run_preflight(settings, config(sandbox, values or {}).get, environ)


def test_a_good_stack_passes_with_one_request_per_check(sandbox: Sandbox) -> None:
    report = preflight(sandbox)

    assert report.problems == []
    assert report.summary() == (
        "preflight: ilert token accepted, 1 escalation policy name looked up; Level key "
        "accepted and may write, webhook management available (requests: ilert 1, Level 2)"
    )
    assert [(r.service, r.method, r.path) for r in sandbox.requests] == [
        ("ilert", "GET", "/api/escalation-policies"),
        ("level", "GET", "/v2/webhooks"),
        ("level", "POST", "/v2/alerts/level-ilert-write-probe/resolve"),
    ]
    assert sandbox.level_webhooks() == [] and sandbox.ilert_alert_sources() == []


def test_unknown_policy_names_are_listed_by_config_path_with_the_existing_ones(
    sandbox: Sandbox,
) -> None:
    entries: list[dict[str, Any]] = [
        {"name": "A", "escalationPolicy": "Nonexistent"},
        {"name": "B", "escalationPolicy": 1},
        {"name": "C", "escalationPolicy": "on-call l1"},
    ]

    report = preflight(sandbox, entries)

    assert report.problems == [
        f"{INTEGRATIONS_KEY}[{index}].escalationPolicy {name!r} matches no ilert escalation "
        f"policy (names are exact and case-sensitive). Existing policies: 'Default', "
        f"'On-call L1'. Use one of these names or a numeric policy id."
        for index, name in ((0, "Nonexistent"), (2, "on-call l1"))
    ]
    assert report.checked[0] == "ilert token accepted, 2 escalation policy names looked up"
    assert sandbox.count("ilert") == 1


def test_missing_credentials_are_found_without_a_request(sandbox: Sandbox) -> None:
    report = preflight(sandbox, values={"ilert:apiToken": "", "level:apiKey": ""})

    assert report.problems == [
        "The ilert credential is not set. Set it with `pulumi config set --secret "
        "ilert:apiToken` (it asks for the value) or export ILERT_API_TOKEN; it is an ilert "
        "API key (ilert: "
        "Profile > API keys).",
        "The Level credential is not set. Set it with `pulumi config set --secret level:apiKey` "
        "(it asks for the value) or export LEVEL_API_KEY; it is a read & write Level API key "
        "(Level: Settings > API keys).",
    ]
    assert str(report.error()) == (
        "Preflight (pulumi preview) found what would stop `pulumi up` half-way; nothing was "
        "changed:\n- " + "\n- ".join(report.problems)
    )
    assert sandbox.count() == 0


def test_credentials_from_the_environment_are_used(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("ILERT_API_TOKEN", "LEVEL_API_KEY"):
        monkeypatch.delenv(name, raising=False)  # only the environ given may supply them
    environ = {"ILERT_API_TOKEN": ILERT_TOKEN, "LEVEL_API_KEY": LEVEL_API_KEY}

    report = preflight(
        sandbox, environ=environ, values={"ilert:apiToken": "", "level:apiKey": ""}
    )

    assert report.problems == []
    assert "(requests: ilert 1, Level 2)" in report.summary()
    assert sandbox.count() == 3


def test_refused_credentials_name_the_setting_and_never_quote_it(sandbox: Sandbox) -> None:
    report = preflight(
        sandbox, values={"ilert:apiToken": "wrong-ilert-token", "level:apiKey": "wrong-level-key"}
    )

    ilert, level = report.problems
    assert ilert.startswith("ilert refused the API token: ilert API GET /api/escalation-policies "
                            "failed (HTTP 401)")
    assert "ilert:apiToken" in ilert and "ILERT_API_TOKEN" in ilert
    assert level.startswith("Level refused the API key: Level API GET /v2/webhooks failed "
                            "(HTTP 401)")
    assert "level:apiKey" in level and "LEVEL_API_KEY" in level
    assert "wrong-" not in " ".join(report.problems)
    assert sandbox.count("level", "POST") == 0  # no write probe with a refused key


def test_a_refused_ilert_token_still_counts_its_request_and_level_is_checked(
    sandbox: Sandbox,
) -> None:
    report = preflight(sandbox, values={"ilert:apiToken": "wrong-ilert-token"})

    (problem,) = report.problems
    assert problem.startswith("ilert refused the API token")
    assert report.summary() == (  # logged before the problems, so both APIs' costs show
        "preflight: Level key accepted and may write, webhook management available "
        "(requests: ilert 1, Level 2)"
    )
    assert (sandbox.count("ilert"), sandbox.count("level")) == (1, 2)


def test_a_key_refused_at_the_write_probe_is_named_as_refused(sandbox: Sandbox) -> None:
    sandbox.faults.add("level", "POST", "/v2/alerts/", status=401)

    (problem,) = preflight(sandbox).problems

    assert problem.startswith(
        "Level refused the API key: Level API POST /v2/alerts/level-ilert-write-probe/resolve "
        "failed (HTTP 401)"
    )
    assert "level:apiKey" in problem and LEVEL_API_KEY not in problem


def test_a_read_only_level_key_is_refused_unless_the_drift_check_says_read_only(
    sandbox: Sandbox,
) -> None:
    full = preflight(sandbox, values={"level:apiKey": LEVEL_READONLY_KEY})
    reading = preflight(
        sandbox, environ={MODE_ENV: "read-only"}, values={"level:apiKey": LEVEL_READONLY_KEY}
    )

    (problem,) = full.problems
    assert problem.startswith("The Level API key is read-only: Level refused a write that "
                              "changes nothing (HTTP 403)")
    assert "LEVEL_ILERT_PREFLIGHT=read-only" in problem
    assert reading.problems == []
    assert "write access not checked (LEVEL_ILERT_PREFLIGHT=read-only)" in reading.summary()
    assert "requests: ilert 1, Level 1" in reading.summary()


def test_a_level_api_without_webhooks_names_manual_mode(sandbox: Sandbox) -> None:
    sandbox.faults.add("level", "GET", "/v2/webhooks", status=404)

    (problem,) = preflight(sandbox).problems

    assert problem.startswith("Level API GET /v2/webhooks failed (HTTP 404)")
    assert "pulumi config set level:webhookManagement manual" in problem
    assert sandbox.count("level", "POST") == 0


def test_manual_mode_sends_no_level_request(sandbox: Sandbox) -> None:
    report = preflight(sandbox, management="manual", values={"level:apiKey": ""})

    assert report.problems == []
    assert report.summary() == (
        "preflight: ilert token accepted, 1 escalation policy name looked up; Level not "
        "called (manual mode) (requests: ilert 1)"
    )
    assert sandbox.count("level") == 0


def test_manual_mode_without_an_ilert_token_says_no_request_was_sent(sandbox: Sandbox) -> None:
    report = preflight(sandbox, management="manual", values={"ilert:apiToken": ""})

    assert report.problems[0].startswith("The ilert credential is not set.")
    assert report.summary() == "preflight: Level not called (manual mode) (requests: none)"
    assert sandbox.count() == 0


def test_an_unknown_preflight_mode_is_refused(sandbox: Sandbox) -> None:
    (problem,) = preflight(sandbox, environ={MODE_ENV: "skip"}).problems

    assert problem.startswith("LEVEL_ILERT_PREFLIGHT must be full (the default) or read-only")
    assert sandbox.count() == 0


def test_an_unreachable_api_says_could_not_connect_and_names_its_url(sandbox: Sandbox) -> None:
    closed = "http://127.0.0.1:9"

    (problem,) = preflight(
        sandbox, values={"ilert:baseUrl": closed, "ilert:operationTimeoutSeconds": "1"}
    ).problems

    assert "could not connect after 1 attempt" in problem
    assert f"Check that {closed} is reachable" in problem


def test_the_program_runs_the_preflight_at_preview_only(sandbox: Sandbox) -> None:
    bad = stack_config(sandbox, [{**ACME, "escalationPolicy": "Nonexistent"}])

    with pytest.raises(pulumi.RunError, match=r"^Preflight \(pulumi preview\) found") as caught:
        run_program(bad, CapturingMocks(), preview=True)
    _, mocks = run_program(bad, CapturingMocks(), preview=False)  # up's update phase

    assert "integrations[0].escalationPolicy 'Nonexistent' matches no" in str(caught.value)
    assert sandbox.count("ilert", "GET", "/api/escalation-policies") == 1
    assert any(r.typ == "pulumi-python:dynamic/ilert:AlertSource" for r in mocks.registrations)


def test_a_preflight_failure_registers_no_resource(sandbox: Sandbox) -> None:
    bad = stack_config(sandbox, [ACME], **{"level:apiKey": LEVEL_READONLY_KEY})
    mocks = CapturingMocks()

    with pytest.raises(pulumi.RunError, match="The Level API key is read-only"):
        run_program(bad, mocks, preview=True)

    assert [r for r in mocks.registrations if r.typ != "pulumi:pulumi:Stack"] == []


def test_device_groups_resolve_at_preview_or_fail_naming_the_setting_and_the_candidates(
    sandbox: Sandbox,
) -> None:
    entries: list[dict[str, Any]] = [
        {"name": "A", "escalationPolicy": 1, "deviceGroups": ["Acme Corp"]},
        {"name": "B", "escalationPolicy": 1, "deviceGroups": ["Acme Crop"]},  # a typo
        {"name": "C", "escalationPolicy": 1, "deviceGroups": ["HQ"]},  # two groups have it
    ]

    report = preflight(sandbox, entries)

    assert len(report.problems) == 2
    assert report.checked[-1] == "1 of 3 device-group scopes resolved"
    assert report.summary().endswith("(requests: ilert 1, Level 3)")
    typo, ambiguous = report.problems
    assert typo.startswith(f"{INTEGRATIONS_KEY}[1].deviceGroups 'Acme Crop' matches no")
    assert "'Acme Corp'" in typo  # the name probably meant
    assert ambiguous.startswith(f"{INTEGRATIONS_KEY}[2].deviceGroups 'HQ' matches 2")
    assert "'Acme Corp > HQ'" in ambiguous and "'Globex > HQ'" in ambiguous
    assert [(r.method, r.path) for r in sandbox.requests if r.service == "level"] == [
        ("GET", "/v2/webhooks"),
        ("POST", "/v2/alerts/level-ilert-write-probe/resolve"),
        ("GET", "/v2/groups"),
    ]
    assert sandbox.level_webhooks() == [] and sandbox.ilert_alert_sources() == []


def test_the_summary_counts_the_pages_sent_and_the_scopes_resolved(sandbox: Sandbox) -> None:
    for n in range(48):  # 50 policies: a full page, then an empty one
        sandbox.ilert_add_escalation_policy(f"Policy {n}")
    for n in range(95):  # 100 groups: one full page that says has_more: false
        sandbox.level_add_group(f"Client {n}")
    entries: list[dict[str, Any]] = [
        {**ACME, "deviceGroups": ["Acme Corp"]},
        {"name": "Level - Globex", "escalationPolicy": 2, "deviceGroups": ["Globex", "HQ"]},
        {"name": "Level - Initech", "escalationPolicy": 2, "deviceGroups": ["Client 7"]},
    ]

    report = preflight(sandbox, entries)

    (problem,) = report.problems
    assert problem.startswith(f"{INTEGRATIONS_KEY}[1].deviceGroups 'HQ' matches 2")  # two HQs
    assert report.summary() == (
        "preflight: ilert token accepted, 1 escalation policy name looked up; Level key "
        "accepted and may write, webhook management available; 2 of 3 device-group scopes "
        "resolved (requests: ilert 2, Level 3)"
    )
    assert (sandbox.count("ilert"), sandbox.count("level")) == (2, 3)


def test_a_group_listing_that_fails_is_reported_as_the_api_said(sandbox: Sandbox) -> None:
    sandbox.faults.add("level", "GET", "/v2/groups", status=401)
    entries: list[dict[str, Any]] = [{**ACME, "deviceGroups": ["Acme Corp"]}]

    report = preflight(sandbox, entries)

    (problem,) = report.problems
    assert problem.startswith("Level API GET /v2/groups failed (HTTP 401)")
    assert not any("device-group" in line for line in report.checked)


def test_the_pacing_settings_reach_the_preflight_requests(sandbox: Sandbox) -> None:
    for n in range(48):  # two pages of policies: the second needs a second request slot
        sandbox.ilert_add_escalation_policy(f"Policy {n}")
    one_slot = {
        f"{api}:{key}": value
        for api in ("ilert", "level")
        for key, value in (("rateLimitRequests", "1"), ("rateLimitWindowSeconds", "5"),
                           ("operationTimeoutSeconds", "0.2"))
    }

    ilert, level = preflight(sandbox, values=one_slot).problems

    assert "no request slot before the deadline" in ilert
    assert "deadline of 0.2 s (ilert:operationTimeoutSeconds)" in ilert
    assert "no request slot before the deadline" in level
    assert "deadline of 0.2 s (level:operationTimeoutSeconds)" in level
    assert (sandbox.count("ilert"), sandbox.count("level")) == (1, 1)
