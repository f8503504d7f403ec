"""The sandbox's fixed credentials.

They are constants on purpose: tests, the Pulumi sandbox stack and curl users all need to
know them without asking the running process, and they protect nothing (the sandbox only
listens on loopback and holds invented data).
"""

from __future__ import annotations

from typing import Final

#: ilert API token; send it as ``Authorization: Bearer sandbox-ilert-token``.
ILERT_TOKEN: Final = "sandbox-ilert-token"
#: Level read & write key; send it raw as ``Authorization: sandbox-level-key``.
LEVEL_API_KEY: Final = "sandbox-level-key"
#: Level read-only key: every write (POST, PATCH, PUT, DELETE) answers 403 with it.
LEVEL_READONLY_KEY: Final = "sandbox-level-readonly-key"
