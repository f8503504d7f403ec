"""Level-style opaque ids: unpadded base64 of ``gid://level/<Type>/<n>``.

Level's ids are GraphQL global ids; the sandbox mints them the same way so that clients
that (wrongly) assume numeric ids fail here rather than in production. The text of a gid
is plain ASCII without ``?``, ``>`` or ``~``, so the base64 never contains ``+`` or ``/``
and is safe in a URL path segment.
"""

from __future__ import annotations

import base64
import binascii
import re

_GID = re.compile(r"gid://level/(?P<type>[A-Za-z]+)/(?P<n>[1-9][0-9]*)")


def encode(type_name: str, n: int) -> str:
    """The opaque id of object ``n`` of ``type_name`` (e.g. ``Webhook``)."""
    raw = f"gid://level/{type_name}/{n}".encode()
    return base64.b64encode(raw).decode("ascii").rstrip("=")


def decode(type_name: str, opaque: str) -> int | None:
    """The number inside ``opaque`` if it is a gid of ``type_name``, else ``None``."""
    if not opaque or len(opaque) > 200:
        return None
    padded = opaque + "=" * (-len(opaque) % 4)
    try:
        text = base64.b64decode(padded, validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    match = _GID.fullmatch(text)
    if match is None or match.group("type") != type_name:
        return None
    return int(match.group("n"))
