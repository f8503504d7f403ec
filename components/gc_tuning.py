"""Python's cyclic garbage collector, tuned for a program that registers many resources.

Why: the Pulumi SDK keeps every resource's outputs (futures, tasks, their values) alive
until the program ends, and the program allocates continuously while the engine works
through the stack. With the interpreter's default thresholds (a young collection every 700
allocations) the collector's work grew faster than the stack: measured through the real
CLI with checkpoints skipped, `up` of 1,000 integrations spent 17 to 28 s of CPU in the
program, against 2.7 s for 200, and about half of it went away with the collector off.
Collecting young objects every 50,000 allocations instead brought it to 11 to 12 s for
1,000 and 2.2 s for 200 (11 ms per integration at both sizes) with the same peak memory:
the cycles the program makes are few, so waiting longer frees the same memory later.

Only the program process is tuned (``__main__.py`` calls this first when Pulumi's language
host runs it as ``__main__``); the provider process and the tests keep the defaults.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 50_000  # allocations between collections of the youngest generation
MIDDLE_THRESHOLD = 20  # young collections between collections of the middle generation
OLD_THRESHOLD = 100  # middle collections between (bounded) full collections


def collect_less_often() -> tuple[int, int, int]:
    """Raise the collector's thresholds to the values above (never lower one); the new ones."""
    current = gc.get_threshold()
    wanted = (YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD)
    raised = (
        max(current[0], wanted[0]),
        max(current[1], wanted[1]),
        max(current[2], wanted[2]),
    )
    gc.set_threshold(*raised)
    return raised
