"""Timestamps in the one format both fake APIs use: ISO-8601 UTC with milliseconds and ``Z``."""

from __future__ import annotations

from datetime import UTC, datetime


def now_iso() -> str:
    """The current time as ``2026-01-05T10:00:00.123Z`` (what Level sends as ``occurred_at``)."""
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def parse_time(text: str) -> datetime | None:
    """An ISO-8601 date-time as an aware UTC ``datetime`` (``Z`` or an offset; a time without
    one is taken as UTC), or None when ``text`` is not one."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
