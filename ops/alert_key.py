"""Which ilert alert a Level alert became: the ONE place the project's matching assumption lives.

ASSUMPTION (../shared/reference/level-webhook-contract.md, "What ilert does with a delivery"):
ilert's Level.io converter makes the ilert ``alertKey`` of an ``alert_active`` delivery the
Level alert's id (``data.id``), and an ``alert_resolved`` delivery resolves the open alert of
that key. ilert documents the flow (native integrations take ``alertKey`` from the vendor's
payload), not this mapping, and its public docs have no Level page. The sandbox makes the
same assumption. ilert compares keys trimmed and case-insensitively, and appends a second
``alert_active`` of a key to the open alert of that key (so one Level alert opens one ilert
alert per source while it is open).

If ilert's converter uses another field, correct :func:`alert_key` here: ``make audit`` and
``make verify`` (manual mode) match through it and nothing else. ``make audit`` says when the
assumption does not hold on an account (ilert alerts on the stack's sources whose keys are no
Level alert's id); to confirm it on yours, raise one alert in Level and run
``make audit STACK=<stack> WINDOW=1h``: its "matching" line counts the keys that matched.
"""

from __future__ import annotations

from collections.abc import Mapping

#: The key prefix of ``make verify``'s own deliveries on real accounts (ops/verify.py): they
#: carry no Level alert id, so the audit leaves them aside instead of calling them unmatched.
VERIFY_KEY_PREFIX = "level-ilert-verify-"


def alert_key(level_alert: Mapping[str, object]) -> str:
    """The ilert ``alertKey`` a Level alert's ``alert_active`` delivery opens (the assumption)."""
    return str(level_alert["id"])


def normal(key: str) -> str:
    """A key as ilert compares it: trimmed, case-insensitive."""
    return key.strip().casefold()


def same_key(a: str | None, b: str | None) -> bool:
    """Whether ilert treats two keys as one."""
    return a is not None and b is not None and normal(a) == normal(b)


def is_verify_key(key: str | None) -> bool:
    """Whether the key is one of ``make verify``'s own test deliveries."""
    return key is not None and normal(key).startswith(VERIFY_KEY_PREFIX)
