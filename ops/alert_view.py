"""An ilert alert as the responder reads it: its summary, priority, severity and links.

``make verify`` prints this under the alert it opened (ops/verify.py), so that a stack's
templates, priority rules and link templates can be seen doing what they say: the summary
the on-call person reads on their phone, HIGH or LOW, the severity, and where each link
goes. It reads the alert as ilert's API returned it and prints no credential (an alert holds
none; its links are the rendered link templates).
"""

from __future__ import annotations

from clients.ilert import Alert

MAX_DETAIL_CHARS = 200


def responder_view(alert: Alert) -> tuple[str, ...]:
    """Lines that show ``alert`` as the responder reads it (for a check's details)."""
    lines = [f"summary: {alert.summary or '(none)'}"]
    priority = alert.priority or "?"
    severity = f", severity {alert.severity}" if alert.severity is not None else ""
    lines.append(f"priority: {priority}{severity}")
    details = " ".join((alert.details or "").split())
    if details:
        shown = details if len(details) <= MAX_DETAIL_CHARS else (
            details[: MAX_DETAIL_CHARS - 3] + "..."
        )
        lines.append(f"details: {shown}")
    links = [link for link in alert.links if link.get("href")]
    for link in links:
        text = link.get("text") or link["href"]
        lines.append(f"link: {text} <{link['href']}>")
    if not links:
        lines.append("links: none")
    return tuple(lines)
