"""Level device groups as a user names them (clients/level_groups.py): the messages that
name the candidates when a reference fits no group or several, and the live scope written
back the way the stack declared it (what a refresh compares), and the scope rule doctor's
routing table and the audit share (``covers``)."""

from __future__ import annotations

import pytest

from clients.level import Group
from clients.level_groups import UnknownGroupError, covers, declared_form, resolve

# An MSP's tree: two clients with a site called "HQ" each, one below a region.
ACME = Group(id="g-acme", name="Acme Corp")
EUROPE = Group(id="g-eu", name="Europe", parent_id="g-acme")
ACME_HQ = Group(id="g-acme-hq", name="HQ", parent_id="g-eu")
GLOBEX = Group(id="g-globex", name="Globex")
ORPHAN_HQ = Group(id="g-orphan-hq", name="HQ", parent_id="g-not-listed")  # parent gone
TREE = [ACME, EUROPE, ACME_HQ, GLOBEX, ORPHAN_HQ]


def message(refs: list[str], groups: list[Group]) -> str:
    with pytest.raises(UnknownGroupError, match=r"^deviceGroups ") as caught:
        resolve(refs, groups, prop="deviceGroups")
    return str(caught.value)


def test_names_and_ids_resolve_to_sorted_ids() -> None:
    assert resolve(["Globex", "g-eu"], TREE) == ["g-eu", "g-globex"]


def test_an_ambiguous_name_lists_each_group_with_its_whole_path() -> None:
    assert message(["HQ"], TREE) == (
        "deviceGroups 'HQ' matches 2 Level groups: 'Acme Corp > Europe > HQ' (id g-acme-hq); "
        "'HQ' (id g-orphan-hq). Level group names are not unique: give the id of the one you "
        "mean."
    )


NO_MATCH = (
    "deviceGroups 'Initech' matches no Level group (neither an id nor an exact, "
    "case-sensitive name). {listed}. Use a name that exactly one group has, or a group id."
)


@pytest.mark.parametrize(
    ("groups", "listed"),
    [
        ([], "Groups: none"),
        ([ACME, GLOBEX], "Groups: 'Acme Corp' (id g-acme); 'Globex' (id g-globex)"),
        (
            [Group(id=f"g{n}", name=f"Client {n:02}") for n in range(10)],
            "Groups: " + "; ".join(f"'Client {n:02}' (id g{n})" for n in range(10)),
        ),
        (
            [Group(id=f"g{n}", name=f"Client {n:02}") for n in range(11)],
            "Groups: " + "; ".join(f"'Client {n:02}' (id g{n})" for n in range(10))
            + " and 1 more",
        ),
    ],
)
def test_a_name_like_no_other_lists_the_first_ten_groups(
    groups: list[Group], listed: str
) -> None:
    assert message(["Initech"], groups) == NO_MATCH.format(listed=listed)


def test_a_near_miss_lists_the_three_closest_names() -> None:
    groups = [Group(id=f"g{n}", name="Warehouse" + "1234"[:n]) for n in range(1, 5)]
    groups += [Group(id=f"o{n}", name=f"Office {n}") for n in range(12)]

    assert message(["Warehouse"], groups) == (
        "deviceGroups 'Warehouse' matches no Level group (neither an id nor an exact, "
        "case-sensitive name). Similar groups: 'Warehouse1' (id g1); 'Warehouse12' (id g2); "
        "'Warehouse123' (id g3). Use a name that exactly one group has, or a group id."
    )


@pytest.mark.parametrize(
    ("live", "declared", "shown"),
    [
        # What was declared and is still live stays as written, by id or by name.
        (["g-acme", "g-globex"], ["g-acme", "Globex"], ["g-acme", "Globex"]),
        # A declared group no longer in the scope is dropped; the one added by hand shows.
        (["g-globex"], ["Acme Corp"], ["Globex"]),
        # A name matches its own group, not the first live one.
        (["g-globex", "g-acme"], ["Acme Corp"], ["Acme Corp", "Globex"]),
        # Undeclared: by name when unique, else (or when the group is gone) by id.
        (["g-acme-hq", "g-deleted", "g-eu"], None, ["g-acme-hq", "g-deleted", "Europe"]),
        # A name two groups share never stands for one of them.
        (["g-acme-hq"], ["HQ"], ["g-acme-hq"]),
    ],
)
def test_the_live_scope_is_written_the_way_the_stack_declared_it(
    live: list[str], declared: list[str] | None, shown: list[str]
) -> None:
    assert declared_form(live, declared, TREE) == shown


# covers: a webhook scoped to groups covers a device in one of them or below one.
BY_ID = {g.id: g for g in [
    *TREE,
    Group(id="g-loop-a", name="A", parent_id="g-loop-b"),  # a cycle a hand-edited tree holds
    Group(id="g-loop-b", name="B", parent_id="g-loop-a"),
]}


def test_a_scope_covers_its_groups_and_everything_below_them() -> None:
    assert covers(["g-acme"], "g-acme", BY_ID)
    assert covers(["g-acme"], "g-acme-hq", BY_ID)
    assert covers(["g-globex", "g-eu"], "g-acme-hq", BY_ID)
    assert not covers(["g-eu"], "g-acme", BY_ID)  # not upwards
    assert not covers(["g-globex"], "g-acme-hq", BY_ID)


def test_no_scope_is_the_whole_organisation_and_an_unknown_group_is_never_covered() -> None:
    assert covers(None, "g-acme-hq", BY_ID)
    assert covers(None, None, BY_ID)
    assert not covers(["g-acme"], None, BY_ID)
    assert not covers(["g-acme"], "g-gone", BY_ID)
    assert not covers(["g-acme"], "g-orphan-hq", BY_ID)  # its parent is not listed


def test_a_cycle_in_the_tree_ends_the_walk() -> None:
    assert not covers(["g-acme"], "g-loop-a", BY_ID)
    assert covers(["g-loop-b"], "g-loop-a", BY_ID)
