"""What a ``sandbox*`` stack runs against, as the Makefile runs it (ops/ imports nothing of
sandbox/, so the sandbox's public constants are repeated here; tests/ops/test_sandbox_stack.py
proves them equal to the sandbox's own and to the Makefile's).

A stack whose name starts with ``sandbox`` (``sandbox``, ``sandbox-a``, ...) uses the local
sandbox: its fixed ports on loopback, its fixed, public credentials and passphrase (they
protect invented data on this machine only), and state in ``./.pulumi-state``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from clients.endpoints import ILERT, LEVEL, is_sandbox_stack

PREFIX: Final = "sandbox"
STATE_DIR: Final = ".pulumi-state"
ILERT_BASE_URL: Final = ILERT.sandbox_base_url
LEVEL_BASE_URL: Final = LEVEL.sandbox_base_url
ILERT_TOKEN: Final = "sandbox-ilert-token"  # noqa: S105 (public: the sandbox's fixed key)
LEVEL_API_KEY: Final = "sandbox-level-key"
PASSPHRASE: Final = "level-ilert-sandbox"  # noqa: S105 (public: guards the local state only)


def is_sandbox(stack: str) -> bool:
    """Stacks named ``sandbox*`` run against the local sandbox (clients/endpoints.py's rule)."""
    return is_sandbox_stack(stack)


def backend(project_dir: Path) -> str:
    """The sandbox stacks' backend: ``./.pulumi-state`` of the project."""
    return f"file://{(project_dir / STATE_DIR).resolve()}"


def config_defaults() -> dict[str, str]:
    """The endpoints and credentials a ``sandbox*`` stack uses when its file sets none."""
    return {
        "ilert:baseUrl": ILERT_BASE_URL,
        "level:baseUrl": LEVEL_BASE_URL,
        "ilert:apiToken": ILERT_TOKEN,
        "level:apiKey": LEVEL_API_KEY,
    }
