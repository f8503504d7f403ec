"""clients/level_groups.covers: the contract's scope rule, shared by doctor's routing table
and the audit: a webhook scoped to groups covers a device in one of them or below one."""

from __future__ import annotations

from clients.level import Group
from clients.level_groups import covers

TREE = {g.id: g for g in [
    Group(id="acme", name="Acme Corp", parent_id=None),
    Group(id="hq", name="HQ", parent_id="acme"),
    Group(id="desk", name="Desk", parent_id="hq"),
    Group(id="globex", name="Globex", parent_id=None),
    Group(id="loop-a", name="A", parent_id="loop-b"),  # a cycle a hand-edited tree could hold
    Group(id="loop-b", name="B", parent_id="loop-a"),
]}


def test_a_scope_covers_its_groups_and_everything_below_them() -> None:
    assert covers(["acme"], "acme", TREE)
    assert covers(["acme"], "desk", TREE)
    assert covers(["globex", "hq"], "desk", TREE)
    assert not covers(["hq"], "acme", TREE)  # not upwards
    assert not covers(["globex"], "desk", TREE)


def test_no_scope_is_the_whole_organisation_and_an_unknown_group_is_never_covered() -> None:
    assert covers(None, "desk", TREE)
    assert covers(None, None, TREE)
    assert not covers(["acme"], None, TREE)
    assert not covers(["acme"], "gone", TREE)  # a group the tree no longer has


def test_a_cycle_in_the_tree_ends_the_walk() -> None:
    assert not covers(["acme"], "loop-a", TREE)
    assert covers(["loop-b"], "loop-a", TREE)
