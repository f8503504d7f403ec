"""The program's collector settings (components/gc_tuning.py): raised, never lowered."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from components.gc_tuning import (
    MIDDLE_THRESHOLD,
    OLD_THRESHOLD,
    YOUNG_THRESHOLD,
    collect_less_often,
)


@pytest.fixture(autouse=True)
def _thresholds_restored() -> Iterator[None]:
    before = gc.get_threshold()
    try:
        yield
    finally:
        gc.set_threshold(*before)


def test_the_defaults_are_raised_to_the_tuned_thresholds() -> None:
    gc.set_threshold(700, 10, 10)  # the interpreter's defaults

    assert collect_less_often() == (YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD)
    assert gc.get_threshold() == (YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD)


def test_a_threshold_set_higher_elsewhere_is_kept() -> None:
    gc.set_threshold(200_000, 5, 1_000)

    assert collect_less_often() == (200_000, MIDDLE_THRESHOLD, 1_000)
