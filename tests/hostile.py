"""A hand-made setup whose names were typed by a hostile admin of either account.

Any admin of the ilert or the Level account can name a team, an escalation policy, an alert
source or a device group; ``make discover`` writes those names into the stack file (as
values, or in comments). The names here try every way a name could become structure in
YAML: line breaks (``\\n``, and the NEL and line separators YAML 1.1 also breaks on) followed
by config keys that would send the credentials elsewhere (``INJECTED``), ``#`` and ``:``,
anchors and aliases, flow-collection syntax, YAML 1.1 booleans, a terminal escape, very
long names, and names in non-Latin scripts, which must come through intact.

``seed`` builds it through the sandbox's own services (the APIs' validation);
``python -m tests.hostile --state .sandbox/world.json`` writes it into a world file for the
Makefile's sandbox (stopped), as tests/cli/test_discover_hostile_names.py does.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path

from sandbox import Sandbox

#: Where an injected key would send the credentials: a port on loopback that the e2e test
#: listens on (inside its own network namespace), so that any request there is seen.
INJECTED_PORT = 8799
INJECTED = f"http://127.0.0.1:{INJECTED_PORT}"
#: A line break, then keys at the config's indentation: a team, policy or group named so
#: would, written raw into a comment, add `ilert:baseUrl` and `level:baseUrl` to the file.
INJECT = f"\n  ilert:baseUrl: {INJECTED}\n  level:baseUrl: {INJECTED}\n  #"
BOTH = ["alert_active", "alert_resolved"]


@dataclass(frozen=True)
class Case:
    """One Level.io alert source and the names around it."""

    source: str
    teams: tuple[str, ...]
    policy: str
    group: str
    #: the group's parent, made first (None: a top-level group)
    parent: str | None = None


#: Taken over: names the project accepts (no control character, at most 255 characters).
TAKEN = (
    Case("Level - 東京オフィス", (f"Ops{INJECT}", "東京チーム"), "Дежурство", "Zürich 東京"),
    Case("Level - مستوى التنبيه", ("Night: shift # on-call",), f"Policy{INJECT}",
         f"Acme{INJECT}"),
    Case("Level - Дежурный центр", ("&anchor", "*anchor"), "*anchor", "[x], y"),
    Case("Level - हिन्दी टीम", ("T" * 3000,), "yes", "? k: v"),
    Case("Level - yes & *no: #1 {x}", ("Ops\u2028  ilert:apiToken: stolen",), "a: b # c",
         "#hash", None),
    Case("Level - " + "長" * 247, ("Ops\x85  level:apiKey: stolen",), "P" * 3000, "Site",
         f"Parent{INJECT}"),
)
#: Kept out by discover (the project refuses a control character in a source's name): the
#: name reaches the file only inside a comment (the entry written out for later).
KEPT_OUT = (
    Case(f"Level - inject{INJECT}", ("\x1b[2J\x1b[31mred",), "Night\rshift", "Site",
         "Other parent"),
    Case("Level - \x1b]0;pwned\x07 term", (), "Default", "Lab\u2029  ilert:baseUrl: x"),
)
NON_LATIN = ("Level - 東京オフィス", "Level - مستوى التنبيه", "Level - Дежурный центр",
             "Level - हिन्दी टीम", "Level - " + "長" * 247, "Дежурство", "Zürich 東京")


@dataclass
class Hostile:
    """What ``seed`` made: source ids by name, group ids, team ids, policy ids."""

    sources: dict[str, int] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)
    teams: dict[str, int] = field(default_factory=dict)
    policies: dict[str, int] = field(default_factory=dict)


def seed(sandbox: Sandbox) -> Hostile:
    """Build the setup in ``sandbox`` (started, or only set up for a state file)."""
    made = Hostile()
    for case in (*TAKEN, *KEPT_OUT):
        for team in case.teams:
            if team not in made.teams:
                made.teams[team] = sandbox.ilert_add_team(team)["id"]
        if case.policy not in made.policies and case.policy != "Default":
            made.policies[case.policy] = sandbox.ilert_add_escalation_policy(case.policy)["id"]
        parent = None
        if case.parent is not None:
            parent = made.groups.get(case.parent) or sandbox.level_add_group(case.parent)["id"]
            made.groups[case.parent] = parent
        group = sandbox.level_add_group(case.group, parent)["id"]
        made.groups[f"{case.parent}/{case.group}" if case.parent else case.group] = group
        source = sandbox.ilert.create_alert_source(
            {
                "name": case.source,
                "integrationType": "LEVELIO",
                "escalationPolicy": {"id": made.policies.get(case.policy, 1)},
                "teams": [{"id": made.teams[team]} for team in case.teams],
            },
            [],
        )
        made.sources[case.source] = source["id"]
        sandbox.level.create_webhook(
            {"url": source["integrationUrl"], "event_types": BOTH, "group_ids": [group]}
        )
    return made


def main() -> None:
    """Write the setup into a sandbox world file (the Makefile's sandbox must be stopped)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--state", type=Path, required=True, help="e.g. .sandbox/world.json")
    parser.add_argument("--ilert-url", default="http://127.0.0.1:8790",
                        help="the base URL the sandbox will serve ilert on")
    args = parser.parse_args()
    if args.state.exists():
        parser.error(f"{args.state} exists: stop the sandbox (make sandbox-stop) and move it away")
    args.state.parent.mkdir(parents=True, exist_ok=True)
    sandbox = Sandbox(state_file=args.state)  # not started: only its services and world
    sandbox.ilert.base_url = args.ilert_url
    made = seed(sandbox)
    print(f"seeded {args.state}: {len(made.sources)} Level.io sources with hostile names")


if __name__ == "__main__":
    main()
