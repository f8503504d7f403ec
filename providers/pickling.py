"""A guard around the SDK's provider pickling, which leaks a wrapper on every resource.

``pulumi.dynamic.serialize_provider`` (pinned SDK) replaces ``pickle._Pickler._batch_setitems``
with a sorting wrapper around the *current* one on every call and never restores it, so the
k-th dynamic resource pickles through k nested wrappers: registration time grows with the
square of the resource count and Python's recursion limit is hit near 1,000 resources
(about 490 integrations). Restoring the two methods after each construction keeps exactly
one wrapper in place while the SDK pickles, so the blob is the same and the cost is linear.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from contextlib import contextmanager

_PATCHED = ("_batch_setitems", "save_dict")


@contextmanager
def sdk_pickler_restored() -> Iterator[None]:
    """Run a dynamic resource's construction and put the pickler's methods back afterwards."""
    pickler = pickle._Pickler
    saved = {name: pickler.__dict__[name] for name in _PATCHED if name in pickler.__dict__}
    try:
        yield
    finally:
        for name in _PATCHED:
            if name in saved:
                setattr(pickler, name, saved[name])
