"""The fake ilert's support hours and services: what an alert source links to, how each is
shown, and whether a moment falls in support hours.

ilert documents (docs.ilert.com "Support hours", "Alert sources: notification priority and
support hours"): support hours are named, belong to a time zone and say, per weekday, when
support runs (``supportDays``: ``MONDAY: {start, end}``); holiday ``exceptions`` (dates with
``supportStatus`` DURING or OUTSIDE) override the weekdays. A source's priority rule
``HIGH_DURING_SUPPORT_HOURS`` gives its alerts HIGH priority during them and LOW outside,
``LOW_DURING_SUPPORT_HOURS`` the reverse; with ``autoRaiseAlerts`` the pending alerts are
raised to HIGH when the support hours begin (HIGH_DURING) or end (LOW_DURING).

Sandbox choices where ilert is silent: a day's ``start`` is inclusive and its ``end``
exclusive (``"00:00"``/``"24:00"`` as an end is midnight at the end of the day); an end
before the start runs past midnight into the next day; a rule that goes by support hours on
a source that links none takes every moment as outside them. Services are listed as
``ServiceNoIncludes`` and are not attached to alerts (ilert's ``Alert`` has no services
field in its OpenAPI).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import datetime, time
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

JSON = dict[str, Any]
DAYS: Final = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")
#: The time zones ilert's OpenAPI lists (``TimeZone``).
TIME_ZONES: Final = ("Europe/Berlin", "America/New_York", "America/Los_Angeles", "Asia/Istanbul")


def list_item(hour: Mapping[str, Any]) -> JSON:
    """Support hours as ``GET /api/support-hours`` lists them (no exceptions)."""
    return {key: copy.deepcopy(value) for key, value in hour.items() if key != "exceptions"}


def _clock(text: object, *, end: bool = False) -> time | None:
    if not isinstance(text, str):
        return None
    if end and text in ("00:00", "24:00"):
        return time.max
    try:
        return time.fromisoformat(text)
    except ValueError:
        return None


def during(hour: Mapping[str, Any] | None, moment: datetime) -> bool:
    """Whether ``moment`` (aware) falls in these support hours; no support hours: never."""
    if not hour:
        return False
    try:
        zone = ZoneInfo(str(hour.get("timezone")))
    except (ZoneInfoNotFoundError, ValueError):
        return False
    local = moment.astimezone(zone)
    for exception in hour.get("exceptions") or ():
        if str(exception.get("start")) <= local.date().isoformat() <= str(exception.get("end")):
            return bool(exception.get("supportStatus") == "DURING")
    days = hour.get("supportDays") or {}
    now = local.time()
    today = _span(days.get(DAYS[local.weekday()]))
    yesterday = _span(days.get(DAYS[(local.weekday() - 1) % 7]))
    in_today = today is not None and (
        today[0] <= now < today[1] if today[0] <= today[1] else now >= today[0]
    )
    # yesterday's hours that run past midnight
    in_yesterday = yesterday is not None and yesterday[1] < yesterday[0] and now < yesterday[1]
    return in_today or in_yesterday


def _span(day: object) -> tuple[time, time] | None:
    """A day's (start, end), or None when the day has no (readable) support hours."""
    if not isinstance(day, Mapping):
        return None
    start, stop = _clock(day.get("start")), _clock(day.get("end"), end=True)
    return None if start is None or stop is None else (start, stop)


def high_now(rule: str, hour: Mapping[str, Any] | None, moment: datetime) -> bool:
    """Whether a source of priority ``rule`` opens HIGH alerts at ``moment``."""
    if rule == "HIGH_DURING_SUPPORT_HOURS":
        return during(hour, moment)
    if rule == "LOW_DURING_SUPPORT_HOURS":
        return not during(hour, moment)
    return rule != "LOW"
