"""No alert paged twice by accident: the offline check that runs at every preview.

Two integrations of one stack would both open an ilert alert for the same Level alert when
their webhooks can both deliver it (device-group scopes that overlap) and neither source's
``eventFilter`` keeps it out. That pages two escalation policies for one problem, so the
preview fails naming both integrations and the two ways out: scope or filter them apart,
or say that both should receive it (``sharesAlertsWith``).

What a preview can know, offline (no call to Level or ilert):
- **Scopes**, as written in the stack file. An org-wide integration (no ``deviceGroups``)
  overlaps every other one; two scoped integrations overlap when they list the same group
  (the same id, or the same name). Different references may still overlap in Level: a
  client and one of its sites, or a group's name and its id. Only ``make doctor`` sees the
  live group tree and tells.
- **Filters**, compared as text (icl/condition.py ``disjoint``): two filters separate two
  integrations only when one condition provably excludes the other, e.g. the same path
  compared with ``==`` to different values, ``==`` against ``!=`` of the same value, ``in``
  lists with no common value, or a condition against its ``not``. Anything subtler counts
  as overlapping (conservative: a false alarm has a one-line way out, a missed one pages
  twice). Without a filter a source accepts everything.
- Integrations that page nobody (``active: false`` or ``webhookEnabled: false``) are left
  out; the check runs again when they are turned back on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import icl

INTEGRATIONS_KEY = "level-ilert:integrations"
PAIRS_SHOWN = 10


class Routed(Protocol):
    """What the check needs of one integration (components.settings.Integration)."""

    @property
    def name(self) -> str: ...
    @property
    def device_groups(self) -> list[str] | None: ...
    @property
    def event_filter(self) -> str | None: ...
    @property
    def shares_alerts_with(self) -> list[str] | None: ...
    @property
    def active(self) -> bool: ...
    @property
    def webhook_enabled(self) -> bool: ...


@dataclass(frozen=True)
class Overlap:
    """Two integrations (by index) that both page for some Level alert, and why."""

    first: int
    second: int
    scope: str
    filters: str


def shared_scope(a: Routed, b: Routed) -> str | None:
    """Why the two webhooks may both get an alert, from the stack file alone; None when the
    file cannot tell (different groups: only the live tree can)."""
    if a.device_groups is None and b.device_groups is None:
        return "both are org-wide (no deviceGroups)"
    if a.device_groups is None or b.device_groups is None:
        wide = a if a.device_groups is None else b
        return f"{wide.name!r} is org-wide (no deviceGroups), so it also gets the other's alerts"
    common = [ref for ref in a.device_groups if ref in b.device_groups]
    if common:
        return f"both list the device group {common[0]!r}"
    return None


def why_not_separated(a: Routed, b: Routed, trees: dict[int, icl.Node]) -> str | None:
    """None when the filters provably keep every alert out of one of the two sources."""
    if a.event_filter is None and b.event_filter is None:
        return "neither has an eventFilter"
    if a.event_filter is None or b.event_filter is None:
        bare = a if a.event_filter is None else b
        return f"{bare.name!r} has no eventFilter (it accepts every alert)"
    if icl.disjoint(trees[id(a)], trees[id(b)]):
        return None
    return "their eventFilters do not exclude each other (compared as written)"


def overlaps(integrations: Sequence[Routed]) -> list[Overlap]:
    """Every pair of integrations that would page twice for one Level alert, in order."""
    paging = [(i, each) for i, each in enumerate(integrations) if each.active
              and each.webhook_enabled]
    trees = {id(each): icl.parse(each.event_filter) for _, each in paging if each.event_filter}
    found: list[Overlap] = []
    for first, second in scope_candidates([each for _, each in paging]):
        (i, a), (j, b) = paging[first], paging[second]
        if b.name in (a.shares_alerts_with or ()) or a.name in (b.shares_alerts_with or ()):
            continue
        scope = shared_scope(a, b)
        assert scope is not None  # scope_candidates yields only pairs whose scopes overlap
        filters = why_not_separated(a, b, trees)
        if filters is not None:
            found.append(Overlap(i, j, scope, filters))
    return found


def scope_candidates(routed: Sequence[Routed]) -> list[tuple[int, int]]:
    """The pairs (by position, first < second, sorted) whose scopes may overlap: every pair
    with an org-wide integration, and every pair that lists a group in common. Any other
    pair has ``shared_scope`` None, so it is never compared: a stack routed by client (one
    group each) costs N steps, not the N²/2 of all pairs (0.2 s for 1,000 integrations,
    1 s for 2,000, in every preview)."""
    wide = [position for position, each in enumerate(routed) if each.device_groups is None]
    members: dict[str, list[int]] = {}
    for position, each in enumerate(routed):
        for ref in dict.fromkeys(each.device_groups or ()):
            members.setdefault(ref, []).append(position)
    pairs = {
        (min(position, other), max(position, other))
        for position in wide
        for other in range(len(routed))
        if other != position
    }
    for positions in members.values():
        pairs.update(
            (first, second)
            for index, first in enumerate(positions)
            for second in positions[index + 1:]
        )
    return sorted(pairs)


def explain(
    found: Sequence[Overlap],
    integrations: Sequence[Routed],
    where: Callable[[int], str] | None = None,
) -> str:
    """One message for all overlapping pairs, each with both config paths and both ways out.

    ``where`` names the config path of the integration at an index (default
    ``level-ilert:integrations[<index>]``; the fleet, which checks several stacks at once,
    prefixes each path with its stack file)."""
    path = where or (lambda index: f"{INTEGRATIONS_KEY}[{index}]")
    lines = []
    for overlap in found[:PAIRS_SHOWN]:
        a, b = integrations[overlap.first], integrations[overlap.second]
        lines.append(
            f"{path(overlap.first)} ({a.name!r}) and "
            f"{path(overlap.second)} ({b.name!r}) would both open an ilert alert "
            f"for the same Level alert: {overlap.scope}, and {overlap.filters}. Each such alert "
            f"pages two escalation policies. Either scope or filter them apart (deviceGroups "
            f"with different groups, or eventFilters that cannot both be true, e.g. "
            f"event.customDetails.severity == 'emergency' on one and "
            f"event.customDetails.severity != 'emergency' on the other), or say that both "
            f"should receive it: sharesAlertsWith: [{b.name!r}] on "
            f"{path(overlap.first)}."
        )
    hidden = len(found) - PAIRS_SHOWN
    if hidden > 0:
        lines.append(f"... and {hidden} more pair{'' if hidden == 1 else 's'}.")
    return "\n".join(f"- {line}" for line in lines)
