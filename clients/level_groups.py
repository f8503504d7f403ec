"""Level device groups as a user names them: resolution of ids and names, and back.

A webhook's scope is a list of group ids (the contract's ``group_ids``). People know their
groups by name ("Acme Corp"), but Level does not promise unique names (both of an MSP's
clients may have a site called "HQ"), so a reference resolves **by id first**, and by exact
(case-sensitive) name only when exactly one group has that name. No match, or two, fails
listing the candidates with where they sit in the tree ("Acme Corp > HQ"). No network here:
callers pass the listing (one ``GET /v2/groups`` per provider process, providers/inventory).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence

from clients.failures import KnownFailure
from clients.level import Group

CANDIDATES_SHOWN = 10


class UnknownGroupError(KnownFailure, ValueError):
    """A group reference that matches no group, or several."""


def path_of(group: Group, by_id: Mapping[str, Group]) -> str:
    """Where a group sits: ``Acme Corp > HQ`` (top-level first; cycles cut)."""
    names = [group.name]
    parent = group.parent_id
    for _ in range(len(by_id)):
        if parent is None or parent not in by_id:
            break
        names.append(by_id[parent].name)
        parent = by_id[parent].parent_id
    return " > ".join(reversed(names))


def covers(scope: Sequence[str] | None, group_id: str | None, by_id: Mapping[str, Group]) -> bool:
    """Whether a webhook's scope (group ids; None: the organisation) covers a device in
    ``group_id``: the group or one of its ancestors (the contract's scope rule; cycles cut)."""
    if scope is None:
        return True
    current = group_id
    for _ in range(len(by_id) + 1):
        if current is None:
            return False
        if current in scope:
            return True
        parent = by_id.get(current)
        current = parent.parent_id if parent is not None else None
    return False


def describe(group: Group, by_id: Mapping[str, Group]) -> str:
    """``'Acme Corp > HQ' (id Z2lk...)``, for messages."""
    return f"{path_of(group, by_id)!r} (id {group.id})"


def resolve(refs: Sequence[str], groups: Iterable[Group], prop: str = "device_groups") -> list[str]:
    """The group ids ``refs`` name, sorted; raises ``UnknownGroupError`` naming candidates."""
    listing = list(groups)
    by_id = {group.id: group for group in listing}
    ids: list[str] = []
    for ref in refs:
        group_id = _one(ref, listing, by_id, prop)
        if group_id in ids:
            first = refs[ids.index(group_id)]
            raise UnknownGroupError(
                f"{prop} names the group {describe(by_id[group_id], by_id)} twice "
                f"({first!r} and {ref!r}); list each group once."
            )
        ids.append(group_id)
    return sorted(ids)


def _one(ref: str, listing: list[Group], by_id: Mapping[str, Group], prop: str) -> str:
    if ref in by_id:
        return ref
    named = [group for group in listing if group.name == ref]
    if len(named) == 1:
        return named[0].id
    if named:
        places = "; ".join(describe(group, by_id) for group in named)
        raise UnknownGroupError(
            f"{prop} {ref!r} matches {len(named)} Level groups: {places}. Level group names "
            f"are not unique: give the id of the one you mean."
        )
    close = difflib.get_close_matches(ref, sorted({g.name for g in listing}), n=3, cutoff=0.6)
    shown = [g for g in listing if g.name in close] or listing[:CANDIDATES_SHOWN]
    hidden = len(listing) - len(shown)
    more = f" and {hidden} more" if hidden > 0 and not close else ""
    label = "Similar groups" if close else "Groups"
    candidates = "; ".join(describe(group, by_id) for group in shown)
    raise UnknownGroupError(
        f"{prop} {ref!r} matches no Level group (neither an id nor an exact, case-sensitive "
        f"name). {label}: {candidates or 'none'}{more}. Use a name that exactly one group "
        f"has, or a group id."
    )


def declared_form(
    live_ids: Sequence[str], declared: Sequence[str] | None, groups: Iterable[Group]
) -> list[str]:
    """The live scope written the way the stack declared it, so refresh compares like with
    like: a declared id or name that names a live group stays as written; a live group
    nobody declared shows by name when that name is unique, else by id."""
    listing = list(groups)
    by_id = {group.id: group for group in listing}
    names = [group.name for group in listing]
    remaining = list(live_ids)
    shown: list[str] = []
    for ref in declared or ():
        match = ref if ref in remaining else next(
            (i for i in remaining if i in by_id and by_id[i].name == ref
             and names.count(ref) == 1),
            None,
        )
        if match is not None:
            remaining.remove(match)
            shown.append(ref)
    for group_id in remaining:
        group = by_id.get(group_id)
        shown.append(group.name if group is not None and names.count(group.name) == 1
                     else group_id)
    return shown
