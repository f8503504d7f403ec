"""Count the requests this process sends, per API, into a file someone else reads.

The fleet (``python -m ops fleet``) shows the requests each stack sent to each API. Those
requests leave from the provider processes that the Pulumi engine starts, which the fleet
cannot see into; it passes each stack a file in ``LEVEL_ILERT_REQUEST_TALLY`` instead, and
every process of that stack (the engine hands its environment down) appends one line per
request it sends (``<api> sent``) and one per 429 answer (``<api> 429``). One ``os.write``
of a short line on an ``O_APPEND`` descriptor lands whole even with several processes
writing.

Without the variable nothing is written. The lines hold no URL, path or credential.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from pathlib import Path
from typing import Final

ENV: Final = "LEVEL_ILERT_REQUEST_TALLY"
SENT: Final = "sent"
RATE_LIMITED: Final = "429"

_fd: int | None = None
_fd_path: str | None = None
_lock = threading.Lock()


def record(api: str, event: str) -> None:
    """Append one event of ``api`` (``SENT`` or ``RATE_LIMITED``) to the tally, if asked for."""
    path = os.environ.get(ENV)
    if not path:
        return
    line = f"{api} {event}\n".encode()
    global _fd, _fd_path  # noqa: PLW0603 (one descriptor per process and path)
    with _lock:
        if _fd is None or _fd_path != path:
            if _fd is not None:
                os.close(_fd)
            _fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            _fd_path = path
        os.write(_fd, line)


def read(path: Path) -> tuple[Counter[str], Counter[str]]:
    """Requests per API and HTTP 429 answers per API, from a tally file (empty if none)."""
    sent: Counter[str] = Counter()
    limited: Counter[str] = Counter()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return sent, limited
    for line in text.splitlines():
        api, _, event = line.partition(" ")
        if event == SENT:
            sent[api] += 1
        elif event == RATE_LIMITED:
            limited[api] += 1
    return sent, limited
