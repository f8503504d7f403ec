"""Stacks already in use keep working: a state made by an older release, run by today's code.

A stack's state holds what the release that last wrote it pickled (``__provider``: the
provider classes by module and class name, with what their ``__getstate__`` returned), that
release's input and output names, and the ids of the objects in ilert and Level. Each
fixture in ``tests/cli/fixtures/upgrade/<commit>/`` was made by that release itself through
the real CLI (``venv/bin/python -m tools.upgrade_fixture <commit>``; see its docstring): the
exported state, the sandbox world it describes and the stack file.

Per fixture, today's sandbox loads that world on the fixture's own ports (an alert source's
``integrationUrl`` is made from the sandbox's address, so the same ports keep every URL),
today's program is copied into a temporary project, and the state is imported into a fresh
file backend. A stack file of a release before routing (fe1e988) gets the one edit today's
routing check asks for (``sharesAlertsWith`` between its org-wide, unfiltered
integrations; not a resource input, so no diff). Then, through the CLI and in order:

1. the drift check (``preview --refresh --expect-no-changes``) exits 0, every step ``same``;
   with the stack file exactly as released, it does the same or fails only with the routing
   check's message, which names that edit;
2. ``refresh`` keeps every resource and id (it may rewrite outputs in today's shape);
3. ``up`` changes nothing and keeps the ids;
4. a real update (one setting in the stack file) reaches the sandbox in place, and the drift
   check is clean again;
5. ``destroy`` leaves no object in the sandbox and nothing in the state;
6. a second import of the same state is destroyed straight away: today's delete runs on the
   old release's outputs and provider objects, as for a user whose first command after the
   upgrade is ``pulumi destroy``.

No command may print a Python traceback, and no credential, webhook secret, integration key
or URL may show in plain text in any output, backend file or the stack file.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from sandbox import ILERT_TOKEN, LEVEL_API_KEY, Sandbox
from tests.cli.harness import REPO, Project, record_cost, sandbox_secrets
from tools import drift_report

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "upgrade"
RELEASES = sorted(path.name for path in FIXTURES.iterdir() if (path / "fixture.json").is_file())
SOURCE = "pulumi-python:dynamic/ilert:AlertSource"
WEBHOOK = "pulumi-python:dynamic/level:Webhook"
# Top-level folders that are not the program; every other package is copied into the
# temporary project (the harness names a fixed list, and the layout moves code around).
NOT_PROGRAM = frozenset(
    {"tests", "sandbox", "ops", "bench", "tools", "examples", "docs", "mutants", "venv"}
)
# What the real update changes: the first integration's priority rule (both releases have it).
CHANGED_KEY, CHANGED_API_FIELD = "alertPriorityRule", "alertPriorityRule"


def copy_program_packages(root: Path) -> None:
    """The program's packages that the harness did not copy."""
    for path in sorted(REPO.iterdir()):
        if (
            path.is_dir()
            and path.name not in NOT_PROGRAM
            and (path / "__init__.py").is_file()
            and not (root / path.name).exists()
        ):
            shutil.copytree(path, root / path.name, ignore=shutil.ignore_patterns("__pycache__"))


def dynamic_ids(exported: dict[str, Any]) -> dict[str, str]:
    """URN -> id of the alert sources and webhooks in a ``stack export``."""
    return {
        resource["urn"]: str(resource["id"])
        for resource in exported["deployment"].get("resources") or []
        if resource["type"] in (SOURCE, WEBHOOK)
    }


def changes(document: dict[str, Any]) -> dict[str, list[str]]:
    """The steps of ``preview --json`` that change something (as the drift workflow reads
    them: a ``refresh`` step only reads): op -> URNs."""
    found: dict[str, list[str]] = {}
    for step in document.get("steps") or []:
        if step["op"] not in drift_report.NOT_CHANGES:
            found.setdefault(step["op"], []).append(step["urn"])
    return found


def share_org_wide_alerts(integrations: list[dict[str, Any]]) -> list[str]:
    """The one edit a stack file of a release before routing (fe1e988) needs: integrations
    that are org-wide and unfiltered all page for every Level alert, which today's routing
    check refuses unless they say so (``sharesAlertsWith``, as its message tells). Returns
    the names given a ``sharesAlertsWith`` (none for a stack that routes)."""
    org_wide = [
        entry for entry in integrations
        if not entry.get("deviceGroups") and not entry.get("eventFilter")
    ]
    for index, entry in enumerate(org_wide[:-1]):
        entry["sharesAlertsWith"] = [other["name"] for other in org_wide[index + 1:]]
    return [entry["name"] for entry in org_wide[:-1]]


def last_update(project: Project) -> dict[str, Any]:
    """The newest entry of ``pulumi stack history``: kind, result, resourceChanges."""
    run = project.ok("stack", "history", "--json", "--stack", project.stack)
    history: list[dict[str, Any]] = json.loads(run.stdout)
    return history[0]


class Upgrade:
    """One fixture: its world in today's sandbox, its state in a project of today's code."""

    def __init__(self, release: str, tmp: Path) -> None:
        self.release = release
        self.folder = FIXTURES / release
        self.meta: dict[str, Any] = json.loads((self.folder / "fixture.json").read_text())
        self.stack: str = self.meta["stack"]
        self.tmp = tmp
        self.imports = 0
        self.sandbox: Sandbox | None = None
        self.project = self.start()
        self.ids = dynamic_ids(self.project.export())
        # What must never show in plain text: credentials, integration keys and URLs, and the
        # webhook secrets (write-only in Level's API; the sandbox's world holds them).
        self.secrets = {ILERT_TOKEN, LEVEL_API_KEY, *sandbox_secrets(self.world)}
        world = json.loads((self.folder / "world.json").read_text(encoding="utf-8"))
        self.secrets.update(
            hook["secret"] for hook in world["webhooks"].values() if hook.get("secret")
        )

    @property
    def world(self) -> Sandbox:
        assert self.sandbox is not None
        return self.sandbox

    def start(self) -> Project:
        """Today's sandbox with a fresh copy of the fixture's world, a fresh project with
        the fixture's stack file, the fixture's state imported."""
        self.stop()
        self.imports += 1
        run_dir = self.tmp / f"import-{self.imports}"
        run_dir.mkdir()
        world = run_dir / "world.json"
        shutil.copyfile(self.folder / "world.json", world)
        ports = (self.meta["ilertPort"], self.meta["levelPort"])
        try:
            self.sandbox = Sandbox(
                ilert_port=ports[0], level_port=ports[1], state_file=world
            ).start()
        except OSError as error:
            pytest.fail(
                f"today's sandbox cannot listen on the fixture's ports {ports} ({error}): the "
                f"state's URLs are built from them. Free them, or regenerate the fixture "
                f"(venv/bin/python -m tools.upgrade_fixture {self.release}), which picks others."
            )
        project = Project(run_dir / "project", self.sandbox, stack=self.stack)
        copy_program_packages(project.root)
        # Credentials come from the stack file's secure config, as when the fixture was made.
        project.env.pop("ILERT_API_TOKEN", None)
        project.env.pop("LEVEL_API_KEY", None)
        project.env["PULUMI_CONFIG_PASSPHRASE"] = self.meta["passphrase"]
        self.as_released = (self.folder / project.stack_file.name).read_text(encoding="utf-8")
        document = yaml.safe_load(self.as_released)
        self.edited = share_org_wide_alerts(document["config"]["level-ilert:integrations"])
        project.stack_file.write_text(
            yaml.safe_dump(document, sort_keys=False) if self.edited else self.as_released,
            encoding="utf-8",
        )
        project.init()
        project.ok("stack", "import", "--file", str(self.folder / "state.json"),
                   "--stack", self.stack)
        return project

    def stop(self) -> None:
        if self.sandbox is not None:
            self.sandbox.stop()
            self.sandbox = None

    def drift_is_clean(self) -> None:
        """``make drift``'s check: exit 0 and every step ``same`` (no update, no replace)."""
        run, document = self.project.drift_json()
        assert run.code == 0, f"{self.release}: drift check after the upgrade\n{run}"
        assert changes(document) == {}, f"{self.release}: {changes(document)}\n{run}"
        assert drift_report.changes(document) == {}, run.stdout

    def assert_quiet(self) -> None:
        """No Python traceback printed, no secret in plain text anywhere."""
        tracebacks = [str(run) for run in self.project.runs if "Traceback" in run.out]
        assert not tracebacks, "\n\n".join(tracebacks)
        assert self.project.plaintext_hits(self.secrets) == {}


@pytest.fixture(scope="module", params=RELEASES)
def upgrade(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[Upgrade]:
    made = Upgrade(request.param, tmp_path_factory.mktemp(f"upgrade-{request.param}"))
    try:
        yield made
    finally:
        made.stop()


@pytest.fixture(autouse=True)
def _cost(upgrade: Upgrade, request: pytest.FixtureRequest) -> Iterator[None]:
    upgrade.world.requests.clear()
    yield
    if upgrade.sandbox is not None:
        record_cost(request.node, upgrade.sandbox)
    upgrade.assert_quiet()


def test_the_fixture_is_what_its_release_made(upgrade: Upgrade) -> None:
    """The imported state matches the world: every source and webhook there, wired."""
    sources = {str(source["id"]): source for source in upgrade.world.ilert_alert_sources()}
    webhooks = {hook["id"]: hook for hook in upgrade.world.level_webhooks()}
    in_state = upgrade.ids
    assert sorted(i for urn, i in in_state.items() if SOURCE in urn) == sorted(sources)
    assert sorted(i for urn, i in in_state.items() if WEBHOOK in urn) == sorted(webhooks)
    assert len(sources) == upgrade.meta["integrations"]
    urls = {source["integrationUrl"] for source in sources.values()}
    assert {hook["url"] for hook in webhooks.values()} == urls


def test_drift_check_after_the_upgrade_is_clean(upgrade: Upgrade) -> None:
    upgrade.drift_is_clean()


def test_the_stack_file_as_released_previews_clean_or_names_its_one_edit(
    upgrade: Upgrade,
) -> None:
    """A stack file of a release before routing: today's routing check may refuse two
    org-wide integrations without filters, but then only with its message, which names the
    edit (``sharesAlertsWith``) that the other stories make."""
    path = upgrade.project.stack_file
    edited = path.read_text(encoding="utf-8")
    path.write_text(upgrade.as_released, encoding="utf-8")
    try:
        run, _ = upgrade.project.drift_json()
    finally:
        path.write_text(edited, encoding="utf-8")

    if run.code != 0:
        assert upgrade.edited, f"{upgrade.release}: the stack file as released fails\n{run}"
        assert "would page for the same Level alert" in run.out, run
        assert "sharesAlertsWith" in run.out, run
    assert upgrade.world.count("ilert", "PUT") == upgrade.world.count("ilert", "POST") == 0


def test_refresh_keeps_every_resource_and_id(upgrade: Upgrade) -> None:
    """Outputs may be rewritten in today's shape (an update of the state); nothing goes."""
    run = upgrade.project.ok("refresh", "--yes", "--stack", upgrade.stack)

    done = last_update(upgrade.project)
    assert done["kind"] == "refresh" and done["result"] == "succeeded", run
    assert set(done["resourceChanges"]) <= {"same", "update"}, f"{done}\n{run}"
    assert dynamic_ids(upgrade.project.export()) == upgrade.ids
    upgrade.drift_is_clean()


def test_up_changes_nothing(upgrade: Upgrade) -> None:
    run = upgrade.project.up()

    done = last_update(upgrade.project)
    assert done["kind"] == "update" and done["result"] == "succeeded", run
    assert set(done["resourceChanges"]) == {"same"}, f"{done}\n{run}"
    assert dynamic_ids(upgrade.project.export()) == upgrade.ids
    assert upgrade.world.count("ilert", "PUT") == 0 and upgrade.world.count("level", "PATCH") == 0
    assert upgrade.world.count("ilert", "POST") == 0


def test_a_real_update_reaches_the_sandbox_in_place(upgrade: Upgrade) -> None:
    path = upgrade.project.stack_file
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    first = document["config"]["level-ilert:integrations"][0]
    wanted = "LOW" if first.get(CHANGED_KEY, "HIGH") != "LOW" else "HIGH"
    first[CHANGED_KEY] = wanted
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    (urn,) = [
        urn for urn in upgrade.ids if SOURCE in urn and upgrade.world.ilert_alert_source(
            int(upgrade.ids[urn]))["name"] == first["name"]
    ]

    run = upgrade.project.up()

    done = last_update(upgrade.project)
    assert done["resourceChanges"].get("update") == 1, f"{done}\n{run}"
    assert set(done["resourceChanges"]) == {"same", "update"}, f"{done}\n{run}"
    assert upgrade.world.ilert_alert_source(int(upgrade.ids[urn]))[CHANGED_API_FIELD] == wanted
    assert dynamic_ids(upgrade.project.export()) == upgrade.ids
    upgrade.drift_is_clean()


def test_destroy_leaves_nothing(upgrade: Upgrade) -> None:
    upgrade.project.destroy()

    assert upgrade.world.ilert_alert_sources() == []
    assert upgrade.world.level_webhooks() == []
    resources = upgrade.project.export()["deployment"].get("resources") or []
    assert resources == [], [resource["urn"] for resource in resources]


def test_destroy_straight_after_the_upgrade_leaves_nothing(upgrade: Upgrade) -> None:
    """Today's delete on the old release's outputs and pickled providers, nothing between."""
    upgrade.project = upgrade.start()
    assert len(upgrade.world.ilert_alert_sources()) == upgrade.meta["integrations"]

    upgrade.project.destroy()

    assert upgrade.world.ilert_alert_sources() == []
    assert upgrade.world.level_webhooks() == []
    assert (upgrade.project.export()["deployment"].get("resources") or []) == []
