"""Transition stub (issue 23): the machine-wide rate budget is gone (``clients/pacing.py``
paces per process, in memory). Only ``tests/conftest.py`` still names ``DIR_ENV``; delete this
file with that line. Nothing reads the variable."""

DIR_ENV = "LEVEL_ILERT_RATELIMIT_DIR"
