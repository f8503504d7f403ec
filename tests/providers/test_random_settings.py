"""Plans settle, for every setting (issue 24): seeded random stack-file entries over all of the
alert source's settings (tests/random_settings.py), each through the provider as the engine
calls it (inputs and outputs through the engine's property bags: numbers as doubles, nulls
dropped), against the sandbox:

1. ``up``: check, then create (or, for a changed entry, diff and update the same source);
2. the drift check (``preview --refresh``, a new command): read, then diff: no change, and
   the refreshed state is the state ``up`` wrote;
3. a second ``up`` (a new command): check, diff: no change.

A changed entry also proves that what it leaves out is left alone in ilert: each setting
the new entry does not declare is, after the update, what it was before.

The CLI test (tests/cli/test_ilert_settings.py) runs a few entries of the same generator
through the real Pulumi CLI; this one runs ``FILES`` entries and ``CHANGES`` changes.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

import pytest

from components.settings import Integration
from providers.ilert_alert_source import INCLUDE, SCHEMA, IlertAlertSourceProvider
from sandbox import Sandbox
from tests import random_settings
from tests.providers.conftest import new_command
from tools.engine_harness import from_struct, to_struct

FILES = 150
CHANGES = 150
NO_CHANGE: tuple[bool, list[str]] = (False, [])
#: The API names of the settings left alone when undeclared, and their input keys.
LEFT_ALONE = {str(each.api): key for key, each in SCHEMA.fields.items() if each.spec.when_declared}

pytestmark = pytest.mark.timeout(600)


def wire(props: Mapping[str, Any]) -> dict[str, Any]:
    """``props`` as they reach a provider through the engine (doubles, nulls dropped)."""
    return from_struct(to_struct(props))


def inputs_of(entry: dict[str, Any]) -> dict[str, Any]:
    """The alert source's inputs the program registers for one stack-file entry."""
    return wire(Integration.parse(entry).alert_source_inputs())


def checked(provider: IlertAlertSourceProvider, olds: dict[str, Any], news: dict[str, Any]
            ) -> dict[str, Any]:
    result = provider.check(olds, news)
    assert [(f.property, f.reason) for f in result.failures] == []
    return wire(result.inputs)


def diff(provider: IlertAlertSourceProvider, source_id: str, olds: dict[str, Any],
         news: dict[str, Any]) -> tuple[bool, list[str]]:
    found = provider.diff(source_id, olds, news)
    return bool(found.changes), sorted(getattr(found.replaces, "detailed", {}))


def settles(provider: IlertAlertSourceProvider, source_id: str, state: dict[str, Any],
            inputs: dict[str, Any], entry: Mapping[str, Any]) -> None:
    """The drift check is clean and a second ``up`` changes nothing."""
    new_command()
    read = provider.read(source_id, state)
    assert read.id == source_id and read.outs is not None
    refreshed = wire(read.outs)
    assert diff(provider, source_id, refreshed, inputs) == NO_CHANGE, entry
    assert refreshed == state, entry  # the refresh writes back what `up` wrote
    new_command()
    again = checked(provider, inputs, inputs)
    assert diff(provider, source_id, refreshed, again) == NO_CHANGE, entry


def live(sandbox: Sandbox, source_id: str) -> dict[str, Any]:
    return sandbox.ilert.get_alert_source(source_id, INCLUDE)


def test_random_entries_come_up_and_settle(
    alert_sources: IlertAlertSourceProvider, sandbox: Sandbox
) -> None:
    rng = random.Random(random_settings.SEED)
    for index in range(FILES):
        entry = random_settings.integration(rng, f"Level - random {index}")
        inputs = checked(alert_sources, {}, inputs_of(entry))
        made = alert_sources.create(inputs)
        assert made.outs is not None
        settles(alert_sources, made.id, wire(made.outs), inputs, entry)
        sandbox.ilert_delete_alert_source(int(made.id))  # keep the listing short


def test_random_changes_update_in_place_settle_and_leave_the_rest_alone(
    alert_sources: IlertAlertSourceProvider, sandbox: Sandbox
) -> None:
    rng = random.Random(random_settings.SEED + 1)
    name = "Level - changing"
    entry = random_settings.integration(rng, name)
    inputs = checked(alert_sources, {}, inputs_of(entry))
    made = alert_sources.create(inputs)
    assert made.outs is not None
    source_id, state = made.id, wire(made.outs)
    updates = 0
    for _ in range(CHANGES):
        entry = random_settings.integration(rng, name)
        before = live(sandbox, source_id)
        new_command()
        news = checked(alert_sources, inputs, inputs_of(entry))
        changed, _ = diff(alert_sources, source_id, state, news)
        if changed:
            updated = alert_sources.update(source_id, state, news)
            assert updated.outs is not None
            state = wire(updated.outs)
            updates += 1
        inputs = news
        after = live(sandbox, source_id)
        alone = [api for api, key in LEFT_ALONE.items() if key not in news]
        assert {api: after.get(api) for api in alone} == {
            api: before.get(api) for api in alone
        }, entry
        settles(alert_sources, source_id, state, inputs, entry)
    assert updates > CHANGES * 0.9  # nearly every random entry changes something
