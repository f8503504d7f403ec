"""Compare two webhook URLs without printing either: a masked form and where they differ.

An ilert integration URL carries its secret in the last path segment (the integration key);
scheme, host and the path before it (``/api/v1/events/levelio/``) are not secret. The masked
form keeps those and replaces every other character by ``*``, one for one, so a caret under
the masked form still points at the right character.
"""

from __future__ import annotations

from urllib.parse import urlsplit

MASK = "*"


def mask(url: str) -> str:
    """``url`` with its last path segment, query and fragment masked character by character."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return MASK * len(url)
    prefix = f"{parts.scheme}://{parts.netloc}"
    path = parts.path
    keep = prefix + path[: path.rfind("/") + 1] if "/" in path else prefix
    if not url.startswith(keep):  # odd spellings (e.g. user info): show nothing after the host
        keep = prefix if url.startswith(prefix) else ""
    return keep + MASK * (len(url) - len(keep))


def first_difference(expected: str, actual: str) -> int | None:
    """0-based index of the first character where the two differ; None when equal."""
    if expected == actual:
        return None
    for index, (a, b) in enumerate(zip(expected, actual, strict=False)):
        if a != b:
            return index
    return min(len(expected), len(actual))


def explain_difference(expected: str, actual: str) -> list[str]:
    """Lines that show where ``actual`` (Level's URL) departs from ``expected`` (ilert's).

    Neither URL is printed: only masked forms, lengths and the position (1-based).
    """
    index = first_difference(expected, actual)
    if index is None:
        return []
    masked_expected, masked_actual = mask(expected), mask(actual)
    where = "in the integration key, which is not shown"
    if index < len(masked_actual) and masked_actual[index] != MASK:
        where = "before the integration key"
    if actual.strip() == expected:
        where = "Level's URL has spaces or a line break around it"
    elif index >= len(actual):
        where = f"Level's URL stops short: {len(expected) - len(actual)} character(s) missing"
    elif index >= len(expected):
        where = f"Level's URL has {len(actual) - len(expected)} extra character(s) at the end"
    return [
        f"ilert: {masked_expected}  ({len(expected)} characters)",
        f"Level: {masked_actual}  ({len(actual)} characters)",
        f"       {' ' * index}^ first difference at character {index + 1} ({where})",
    ]
