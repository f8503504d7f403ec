"""What a person reads when something fails: a golden table through the real Pulumi CLI.

Each row is one failure a user can meet: a credential missing or refused, a read-only Level
key, a Level API without webhooks, an unknown policy name, a duplicate or ambiguous object, a
lost answer, a deadline, an unreachable API, a bad base URL or tuning value, config errors, a
check failure of a resource used directly. Each runs through the real CLI against the sandbox
and must show its one sentence (naming the setting and the fix), exit non-zero, show no Python
traceback (no ``Traceback``, no ``File "``), create or duplicate nothing, and print no
credential. The rows the issue names as "known at preview" fail ``pulumi preview`` too, and
their ``up`` stops in its preview phase, before anything is created. A planted bug (an
exception the code does not expect) still shows its traceback and says it is a bug.

The rows share one project and one sandbox (per xdist worker); each row starts from an empty
stack, the program as shipped, no faults, and the sandbox's objects as the row's setup makes
them. Set ``LEVEL_ILERT_FAILURE_TABLE=<file>`` to have each row's first error line written
there (the before/after list of the closing note).

Each row's first error line must also equal, word for word, its line in
``tests/cli/failure_table.golden`` (ids, loopback ports, file paths and the operating system's
error texts normalized): the golden file is what the real CLI prints, and the docs' quoted
messages are checked against it (tests/unit/test_docs.py). After a deliberate change of
wording, rewrite it from a real run with::

    LEVEL_ILERT_FAILURE_GOLDEN=write venv/bin/python -m pytest tests/cli/test_failure_table.py

(running a subset with ``-k`` rewrites only those rows' lines), then read its diff.
"""

from __future__ import annotations

import json
import os
import re
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from providers.engine_adapter import BUG_NOTE
from sandbox import ILERT_TOKEN, LEVEL_API_KEY, LEVEL_READONLY_KEY, Sandbox
from tests.cli.harness import Project, Run, sandbox_secrets

ACME = {"name": "Level - Acme", "escalationPolicy": "Default", "resourceName": "acme"}
WRONG_ILERT_TOKEN = "wrong-ilert-token-4f2a"
WRONG_LEVEL_KEY = "wrong-level-key-9c1e"
REPORT_ENV = "LEVEL_ILERT_FAILURE_TABLE"
GOLDEN_ENV = "LEVEL_ILERT_FAILURE_GOLDEN"
GOLDEN_FILE = Path(__file__).with_name("failure_table.golden")
GOLDEN_HEADER = f"""\
# The first error line each row of tests/cli/test_failure_table.py makes the real Pulumi CLI
# print (and the preflight line of a read-only drift check), one line per row and command:
# <row> | <command> | <line>. Ids, loopback ports, file paths and the operating system's error
# texts are normalized. tests/unit/test_docs.py checks the messages the docs quote against
# these lines. Do not edit by hand; after a deliberate change of wording rewrite it from a
# real run, then read its diff:
#   {GOLDEN_ENV}=write venv/bin/python -m pytest tests/cli/test_failure_table.py
"""
Setup = Callable[[Sandbox, dict[str, str]], None]


def closed_port_url() -> str:
    """A loopback URL where nothing listens (a port that was free a moment ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def hand_made_source(sandbox: Sandbox, name: str = "Level - Acme") -> dict[str, Any]:
    return sandbox.ilert.create_alert_source(
        {"name": name, "integrationType": "LEVELIO", "escalationPolicy": {"id": 1}}
    )


def hand_made_webhook(sandbox: Sandbox, url: str) -> dict[str, Any]:
    return sandbox.level.create_webhook(
        {"url": url, "event_types": ["alert_active", "alert_resolved"], "enabled": True}
    )


DIRECT_URL = "/api/v1/events/levelio/il1lvl0direct"
# Programs that use a resource directly (no stack settings, no preflight): {url} is filled in.
CHECK_FAILURE_PROGRAM = """\
from providers.ilert_alert_source import IlertAlertSource

IlertAlertSource("direct", name="Level - Direct", escalation_policy="Default",
                 alert_creation="BAD", teams=[0])
"""
WEBHOOK_PROGRAM = """\
import pulumi
from providers.level_webhook import LevelWebhook

LevelWebhook("direct", url=pulumi.Output.secret({url!r}), adopt={adopt})
"""


@dataclass(frozen=True)
class Row:
    """One failure: how to provoke it and what the user must read."""

    id: str
    says: tuple[str, ...]
    commands: tuple[str, ...] = ("up",)
    integrations: list[dict[str, Any]] = field(default_factory=lambda: [ACME])
    config: dict[str, Any] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    faults: tuple[dict[str, Any], ...] = ()
    setup: Setup | None = None
    program: str | None = None
    # Objects the failure itself leaves in the APIs: the lost POST's source, made once.
    leaves_sources: int = 0
    # Found by the preflight: `up` stops in its preview phase, before any change.
    at_preview: bool = False


def one_source(sandbox: Sandbox, _: dict[str, str]) -> None:
    hand_made_source(sandbox)


def two_sources(sandbox: Sandbox, _: dict[str, str]) -> None:
    hand_made_source(sandbox)
    hand_made_source(sandbox)


def one_webhook(sandbox: Sandbox, fill: dict[str, str]) -> None:
    hand_made_webhook(sandbox, fill["url"])


def two_webhooks(sandbox: Sandbox, fill: dict[str, str]) -> None:
    hand_made_webhook(sandbox, fill["url"])
    hand_made_webhook(sandbox, fill["url"])


PREVIEW_AND_UP = ("preview", "up")
UNREACHABLE = "could not connect after 1 attempt (the operation's deadline of 2 s"
ROWS = [
    # -- known at preview: the preflight stops `preview`, and `up` in its preview phase ------
    Row(
        "missing ilert token",
        ("The ilert credential is not set. Set it with `pulumi config set --secret "
         "ilert:apiToken` (it asks for the value) or export ILERT_API_TOKEN",),
        PREVIEW_AND_UP, env={"ILERT_API_TOKEN": ""},
        at_preview=True,
    ),
    Row(
        "missing Level key",
        ("The Level credential is not set. Set it with `pulumi config set --secret "
         "level:apiKey` (it asks for the value) or export LEVEL_API_KEY",),
        env={"LEVEL_API_KEY": ""},
        at_preview=True,
    ),
    Row(
        "refused ilert token (401)",
        ("ilert refused the API token: ilert API GET /api/escalation-policies failed (HTTP "
         "401)", "Check the credential: set ilert:apiToken (pulumi config set --secret) or "
         "ILERT_API_TOKEN."),
        PREVIEW_AND_UP, env={"ILERT_API_TOKEN": WRONG_ILERT_TOKEN},
        at_preview=True,
    ),
    Row(
        "refused Level key (401)",
        ("Level refused the API key: Level API GET /v2/webhooks failed (HTTP 401)",
         "set level:apiKey (pulumi config set --secret) or LEVEL_API_KEY to a read & write "
         "key"),
        env={"LEVEL_API_KEY": WRONG_LEVEL_KEY},
        at_preview=True,
    ),
    Row(
        "read-only Level key",
        ("The Level API key is read-only: Level refused a write that changes nothing (HTTP "
         "403), and `pulumi up` creates and updates webhooks. Create a read & write key",),
        PREVIEW_AND_UP, env={"LEVEL_API_KEY": LEVEL_READONLY_KEY},
        at_preview=True,
    ),
    Row(
        "Level without webhook management (404)",
        ("Level API GET /v2/webhooks failed (HTTP 404)",
         "does not offer webhook management (it answered 404 on /v2/webhooks). Set `pulumi "
         "config set level:webhookManagement manual`"),
        PREVIEW_AND_UP,
        faults=({"service": "level", "method": "GET", "path": "/v2/webhooks", "status": 404,
                 "count": None},),
        at_preview=True,
    ),
    Row(
        "unknown policy name",
        ("level-ilert:integrations[1].escalationPolicy 'Nonexistent Policy' matches no ilert "
         "escalation policy (names are exact and case-sensitive). Existing policies: "
         "'Default', 'On-call L1'. Use one of these names or a numeric policy id.",),
        PREVIEW_AND_UP,
        integrations=[
            {**ACME, "sharesAlertsWith": ["Level - Globex"]},  # both org-wide, on purpose
            {"name": "Level - Globex", "escalationPolicy": "Nonexistent Policy"},
        ],
        at_preview=True,
    ),
    Row(
        "unreachable ilert API (closed port)",
        (UNREACHABLE, "Check that {ilert_closed} is reachable from here"),
        config={"ilert:baseUrl": "{ilert_closed}", "ilert:operationTimeoutSeconds": 2},
        at_preview=True,
    ),
    Row(
        "unreachable Level API (closed port)",
        (UNREACHABLE, "Check that {level_closed} is reachable from here"),
        config={"level:baseUrl": "{level_closed}", "level:operationTimeoutSeconds": 2},
        at_preview=True,
    ),
    Row(
        "unknown host (DNS)",
        ("could not connect after 1 attempt", "NameResolutionError: Failed to resolve "
         "'ilert.invalid'", "Check that https://ilert.invalid is reachable from here"),
        config={"ilert:baseUrl": "https://ilert.invalid", "ilert:operationTimeoutSeconds": 2},
        at_preview=True,
    ),
    Row(
        "deadline passed (slow API)",
        ("ilert API GET /api/escalation-policies failed (no answer)", "The operation's "
         "deadline of 1 s (ilert:operationTimeoutSeconds) passed; raise it for a slow network "
         "or API, or try again later."),
        config={"ilert:operationTimeoutSeconds": 1},
        faults=({"service": "ilert", "method": "GET", "path": "/api/escalation-policies",
                 "status": None, "delay_seconds": 2.5},),
        at_preview=True,
    ),
    # -- the stack file: one block naming each key ---------------------------------------------
    Row(
        "bad base URL",
        ("ilert:baseUrl (stack config) must be scheme and host only, such as "
         "https://api.example.com; remove the path",),
        ("preview",), config={"ilert:baseUrl": "https://api.ilert.com/api"},
    ),
    Row(
        "credential with a line break",
        ("ILERT_API_TOKEN (environment variable) contains a control character (a line break), "
         "so it cannot be sent to the ilert API.",),
        ("preview",), env={"ILERT_API_TOKEN": "sandbox-ilert\n-token"},
    ),
    Row(
        "bad tuning value",
        ("ilert:rateLimitRequests must be a positive number; fix it with `pulumi config set "
         "ilert:rateLimitRequests <number>` or remove it to use the default (120).",),
        ("preview",), config={"ilert:rateLimitRequests": -1},
    ),
    Row(
        "misspelled key",
        ("level:webhookMangement is not a setting of this project and would be ignored; did "
         "you mean level:webhookManagement?",
         "level-ilert:integrations[0].escalation_policy: escalation_policy is not a known key; "
         "did you mean escalationPolicy? Rename it."),
        ("preview",),
        integrations=[{"name": "Level - Acme", "escalation_policy": "Default"}],
        config={"level:webhookMangement": "api"},
    ),
    Row(
        "grouping rule",
        ("level-ilert:integrations[0].alertGroupingWindow: alertGroupingWindow is required "
         "when alertCreation is ONE_ALERT_GROUPED_PER_WINDOW",),
        ("preview",),
        integrations=[{**ACME, "alertCreation": "ONE_ALERT_GROUPED_PER_WINDOW"}],
    ),
    Row(
        "duplicate names and a bad value together",
        ("level-ilert:integrations[1].alertPriorityRule: alertPriorityRule must be one of",
         "level-ilert:integrations[0] and [1] have the same name 'Level - Acme'",
         "level-ilert:integrations[0] and [2] have the same resourceName (or a name that "
         "slugs to it) 'acme'"),
        ("preview",),
        integrations=[ACME, {**ACME, "resourceName": "acme-2", "alertPriorityRule": "URGENT"},
                      {"name": "Acme", "escalationPolicy": 1}],
    ),
    Row(
        "one-way sync (one alert event)",
        ("level-ilert:integrations[0].eventTypes: eventTypes must include both alert_active "
         "(opens the ilert alert) and alert_resolved (resolves it)",),
        ("preview",), integrations=[{**ACME, "eventTypes": ["alert_active"]}],
    ),
    Row(
        "invalid eventFilter (ICL)",
        ("level-ilert:integrations[0].eventFilter: eventFilter is not a valid ICL condition: "
         "column 15: unknown operator 'containz' (did you mean 'contains'?)",),
        ("preview",), integrations=[{**ACME, "eventFilter": "event.summary containz 'disk'"}],
    ),
    Row(
        "support-hours rule without supportHours",
        ("level-ilert:integrations[0].supportHours: supportHours is required when "
         "alertPriorityRule is HIGH_DURING_SUPPORT_HOURS",),
        PREVIEW_AND_UP,
        integrations=[{**ACME, "alertPriorityRule": "HIGH_DURING_SUPPORT_HOURS"}],
        at_preview=True,
    ),
    Row(
        "scoreThreshold without INTELLIGENT_GROUPING",
        ("level-ilert:integrations[0].scoreThreshold: scoreThreshold only applies when "
         "alertCreation is INTELLIGENT_GROUPING",),
        ("preview",), integrations=[{**ACME, "scoreThreshold": 0.8}],
    ),
    Row(
        "eleven link templates",
        ("level-ilert:integrations[0].linkTemplates: linkTemplates has 11 link templates; "
         "ilert allows at most 10. Remove 1.",),
        ("preview",),
        integrations=[{**ACME, "linkTemplates": [
            {"text": f"Link {n}", "href": f"https://example.com/{n}"} for n in range(11)
        ]}],
    ),
    Row(
        "unknown support hours name",
        ("level-ilert:integrations[0].supportHours 'Night shift' matches no ilert support "
         "hours (names are exact and case-sensitive). Existing support hours: 'Business "
         "hours', 'US business hours'. Use one of these names or a numeric support hours id.",),
        PREVIEW_AND_UP,
        integrations=[{**ACME, "alertPriorityRule": "LOW_DURING_SUPPORT_HOURS",
                       "supportHours": "Night shift"}],
        at_preview=True,
    ),
    Row(
        "two integrations would page for one alert",
        ("Two integrations would page for the same Level alert:",
         "would both open an ilert alert for the same Level alert",
         "sharesAlertsWith: ['Level - Globex'] on level-ilert:integrations[0]"),
        ("preview",),
        integrations=[ACME, {"name": "Level - Globex", "escalationPolicy": "Default"}],
    ),
    Row(
        "ambiguous device group name",
        ("level-ilert:integrations[0].deviceGroups 'HQ' matches 2 Level groups:",
         "give the id of the one you mean"),
        integrations=[{**ACME, "deviceGroups": ["HQ"]}],
        at_preview=True,
    ),
    # -- found while creating: the update phase stops before the webhook -----------------------
    Row(
        "duplicate source without adopt",
        ("ilert already has an alert source named 'Level - Acme' of type LEVELIO (id ",
         "Take it over with `adopt: true` on this integration"),
        setup=one_source,
    ),
    Row(
        "two sources with the name (adopt ambiguity)",
        ("ilert has 2 alert sources named 'Level - Acme' of type LEVELIO (ids ",
         "adopting one would be a guess. Delete or rename the extra ones in ilert"),
        integrations=[{**ACME, "adopt": True}], setup=two_sources,
    ),
    Row(
        "lost answer on a POST, its look-up failing too",
        ("ilert API POST /api/alert-sources failed (no answer): the request was sent but the "
         "connection was dropped before an answer",
         "The look-up that would settle it failed too: ilert API GET /api/alert-sources "
         "failed (HTTP 503)",
         "The object may exist now. Run `pulumi up` again: the create looks first, so nothing "
         "is made twice"),
        config={"ilert:operationTimeoutSeconds": 3},
        faults=(
            # the look-up before the POST passes; the POST acts, then its answer is lost; the
            # look-up that would settle it keeps failing
            {"service": "ilert", "method": "GET", "path": "/api/alert-sources", "status": None,
             "delay_seconds": 0.01},
            {"service": "ilert", "method": "POST", "path": "/api/alert-sources",
             "mode": "reset_after"},
            {"service": "ilert", "method": "GET", "path": "/api/alert-sources", "status": 503,
             "count": None},
        ),
        leaves_sources=1,
    ),
    # -- a resource used directly, by a program of its own -------------------------------------
    Row(
        "check failure of a resource used directly",
        ("pulumi-python:dynamic/ilert:AlertSource resource 'direct': property alert_creation "
         "value {BAD} has a problem: alert_creation must be one of ONE_ALERT_PER_EMAIL",
         "property teams value {[{0}]} has a problem: teams[0]: teams must be a list of ilert "
         "team ids"),
        ("preview",), program=CHECK_FAILURE_PROGRAM,
    ),
    Row(
        "duplicate webhook without adopt",
        ("Level already has a webhook to this alert source's URL (id ",
         "a second one would deliver every alert twice. Take it over with `adopt: true`"),
        program=WEBHOOK_PROGRAM.replace("{adopt}", "False"), setup=one_webhook,
    ),
    Row(
        "two webhooks to the URL (adopt ambiguity)",
        ("Level has 2 webhooks to this alert source's URL (ids ",
         "Delete all but one in Level (Settings > Webhooks), then run again with `adopt: "
         "true`."),
        program=WEBHOOK_PROGRAM.replace("{adopt}", "True"), setup=two_webhooks,
    ),
]


class Table:
    """The shared project, the sandbox, and what each row must never print."""

    def __init__(self, project: Project, sandbox: Sandbox) -> None:
        self.project = project
        self.sandbox = sandbox
        self.shipped = {
            path: path.read_text(encoding="utf-8")
            for path in (project.root / "__main__.py", *project.root.glob("providers/*.py"))
        }
        self.fill = {
            "ilert_closed": closed_port_url(),
            "level_closed": closed_port_url(),
            "url": f"{sandbox.ilert_url}{DIRECT_URL}",
        }

    def reset(self) -> None:
        """The program as shipped, no fault, no object in either API."""
        for path, text in self.shipped.items():
            path.write_text(text, encoding="utf-8")
        self.sandbox.faults.clear()
        self.sandbox.wait_idle(timeout=10)
        for source in self.sandbox.ilert_alert_sources():
            self.sandbox.ilert_delete_alert_source(source["id"])
        for webhook in self.sandbox.level_webhooks():
            self.sandbox.level_delete_webhook(webhook["id"])
        self.sandbox.requests.clear()

    def filled(self, value: Any) -> Any:
        """``value`` with ``{ilert_closed}``, ``{level_closed}`` and ``{url}`` filled in."""
        if isinstance(value, str):
            for key, text in self.fill.items():
                value = value.replace("{" + key + "}", text)
        return value


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Table]:
    with Sandbox() as sandbox:
        project = Project(tmp_path_factory.mktemp("failures") / "project", sandbox)
        project.write_stack([ACME])
        project.init()
        yield Table(project, sandbox)
    if GOLDEN.writing:
        GOLDEN.write(golden_keys())


def first_error(run: Run) -> str:
    """The first error line the user reads (after the CLI's progress prefix), and the first
    line of its block when it opens one (a line ending with a colon)."""
    lines = [line[line.index("error: "):].strip() if "error: " in line else line.strip()
             for line in run.out.splitlines()]
    errors = [line for line in lines if line.startswith("error: ")]
    if not errors:
        return ""
    found = errors[0]
    if found.endswith(":"):  # the block's lines follow its last showing (Diagnostics)
        last = len(lines) - 1 - lines[::-1].index(found)
        found += " " + next((line for line in lines[last + 1:] if line), "")
    return found


def normalized(line: str) -> str:
    """``line`` without what changes from run to run or machine to machine: ids, loopback
    ports, file paths and line numbers, the operating system's error numbers and texts."""
    line = re.sub(r"\((ids?) ([^)]*)\)",
                  lambda m: f"({m[1]} " + ", ".join("<id>" for _ in m[2].split(", ")) + ")",
                  line)
    line = re.sub(r"http://127\.0\.0\.1:\d+", "http://127.0.0.1:<port>", line)
    line = re.sub(r'File "[^"]*", line \d+', 'File "<path>", line <n>', line)
    return re.sub(r"\[Errno -?\d+\] [^).]*", "[Errno <n>] <reason>", line)


class Golden:
    """The committed first error line of each row and command; rewritten on request."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.writing = os.environ.get(GOLDEN_ENV, "") == "write"
        self.lines: dict[tuple[str, str], str] = {}
        if path.exists():
            for text in path.read_text(encoding="utf-8").splitlines():
                if text and not text.startswith("#"):
                    row, command, line = text.split(" | ", 2)
                    self.lines[(row, command)] = line

    def check(self, row: str, run: Run, line: str | None = None) -> None:
        """``line`` (default: the run's first error line) as the golden file has it."""
        key = (row, run.args[0])
        line = normalized(first_error(run) if line is None else line)
        if self.writing:
            self.lines[key] = line
            return
        assert key in self.lines, (
            f"{row} | {run.args[0]} is not in {self.path.name}: rewrite it with "
            f"{GOLDEN_ENV}=write (see this module's docstring)"
        )
        assert line == self.lines[key], (
            f"the first error line changed; if on purpose, rewrite {self.path.name} with "
            f"{GOLDEN_ENV}=write\n  golden: {self.lines[key]}\n  now:    {line}"
        )

    def write(self, keys: list[tuple[str, str]]) -> None:
        """The lines of ``keys`` (the table's order), each as last seen or as committed."""
        text = "".join(f"{row} | {command} | {self.lines[(row, command)]}\n"
                       for row, command in keys if (row, command) in self.lines)
        self.path.write_text(GOLDEN_HEADER + text, encoding="utf-8")


def golden_keys() -> list[tuple[str, str]]:
    """Every (row, command) the table runs, in order, the planted bug last."""
    return [(row.id, command) for row in ROWS for command in row.commands] + [
        (PREFLIGHT_LINE_ROW, "preview"), ("planted bug", "up")
    ]


# Not a failure: the line a read-only drift check prints, which the docs quote too.
PREFLIGHT_LINE_ROW = "preflight line of a read-only drift check"


GOLDEN = Golden(GOLDEN_FILE)


def record(row: Row, run: Run) -> None:
    target = os.environ.get(REPORT_ENV)
    if target:
        entry = {"row": row.id, "command": run.args[0], "exit": run.code,
                 "first_error": first_error(run)}
        with Path(target).open("a", encoding="utf-8") as out:
            out.write(json.dumps(entry) + "\n")
    GOLDEN.check(row.id, run)


def objects(sandbox: Sandbox) -> tuple[list[int], list[str]]:
    return (
        sorted(source["id"] for source in sandbox.ilert_alert_sources()),
        sorted(webhook["id"] for webhook in sandbox.level_webhooks()),
    )


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_each_failure_reads_as_one_sentence_naming_the_fix(table: Table, row: Row) -> None:
    project, sandbox = table.project, table.sandbox
    table.reset()
    if row.program is not None:
        program = row.program.replace("{url!r}", repr(table.fill["url"]))
        (project.root / "__main__.py").write_text(program, encoding="utf-8")
    if row.setup is not None:
        row.setup(sandbox, table.fill)
    before = objects(sandbox)
    config = {key: table.filled(value) for key, value in row.config.items()}
    project.write_stack(row.integrations, config=config)
    for fault in row.faults:
        sandbox.faults.add(**fault)
    secrets = {ILERT_TOKEN, LEVEL_API_KEY, LEVEL_READONLY_KEY, WRONG_ILERT_TOKEN,
               WRONG_LEVEL_KEY, table.fill["url"]}

    for command in row.commands:
        args = ("up", "--yes") if command == "up" else ("preview", "--diff")
        run = project.pulumi(*args, "--stack", project.stack, env=row.env)
        record(row, run)

        assert run.code not in (0, -9), str(run)
        for sentence in row.says:
            assert table.filled(sentence) in run.out, f"{sentence!r} not in:\n{run}"
        assert "Traceback" not in run.out and 'File "' not in run.out, str(run)
        assert BUG_NOTE not in run.out
        if row.at_preview:  # `up` stops in its preview phase, before any change
            assert "Updating (" not in run.out, str(run)

    sandbox.wait_idle(timeout=10)
    sources, webhooks = objects(sandbox)
    assert webhooks == before[1], "a webhook was created"
    assert len(sources) == len(before[0]) + row.leaves_sources, "an alert source was created"
    assert set(before[0]) <= set(sources)
    secrets.update(sandbox_secrets(sandbox))
    assert project.plaintext_hits(secrets) == {}


def test_the_golden_file_has_one_line_per_row_and_command_in_order() -> None:
    """No stale line for a row that is gone, none missing for a new one (rewrite it with
    LEVEL_ILERT_FAILURE_GOLDEN=write)."""
    if GOLDEN.writing:
        pytest.skip("rewriting the golden file")
    assert list(GOLDEN.lines) == golden_keys()


def test_known_at_preview_rows_fail_preview_and_up_before_any_change(table: Table) -> None:
    """The issue's five: a missing, a refused, a read-only credential, no webhook management
    and an unknown policy name each fail `pulumi preview` (the rows above run both)."""
    names = {row.id for row in ROWS if row.commands == PREVIEW_AND_UP}
    assert names >= {
        "missing ilert token", "refused ilert token (401)", "read-only Level key",
        "Level without webhook management (404)", "unknown policy name",
    }
    assert len(ROWS) >= 20


def test_a_drift_check_with_a_read_only_key_passes_and_says_it_skipped_the_write_probe(
    table: Table,
) -> None:
    table.reset()
    table.project.write_stack([ACME])

    run = table.project.pulumi(
        "preview", "--stack", table.project.stack,
        env={"LEVEL_API_KEY": LEVEL_READONLY_KEY, "LEVEL_ILERT_PREFLIGHT": "read-only"},
    )

    assert run.code == 0, str(run)
    summary = [line[line.index("preflight: "):].strip() for line in run.out.splitlines()
               if "preflight: " in line]
    GOLDEN.check(PREFLIGHT_LINE_ROW, run, summary[0] if summary else "")
    assert (
        "preflight: ilert token accepted, 1 escalation policy name looked up; Level key "
        "accepted, webhook management available, write access not checked "
        "(LEVEL_ILERT_PREFLIGHT=read-only) (requests: ilert 1, Level 1)"
    ) in run.out
    assert table.sandbox.count("level", "POST") == 0


def test_a_planted_bug_still_shows_its_traceback_and_says_it_is_a_bug(table: Table) -> None:
    table.reset()
    table.project.write_stack([ACME])
    provider = table.project.root / "providers" / "ilert_alert_source.py"
    text = provider.read_text(encoding="utf-8")
    marker = "        args = SCHEMA.parse(props)\n        ilert = self._ilert()\n"
    assert marker in text
    provider.write_text(
        text.replace(marker, marker + "        {}['planted bug']\n", 1), encoding="utf-8"
    )

    run = table.project.pulumi("up", "--yes", "--stack", table.project.stack)
    record(Row("planted bug", ()), run)

    assert run.code != 0
    assert "Traceback (most recent call last):" in run.out
    assert re.search(r'File ".*providers/ilert_alert_source\.py", line \d+, in create', run.out)
    assert "KeyError: 'planted bug'" in run.out
    assert BUG_NOTE in run.out
    assert table.sandbox.ilert_alert_sources() == []
