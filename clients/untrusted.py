"""Text that came from an API, on its way into a message, a file or a report.

An answer is data: it may echo what it was sent (a credential, a webhook URL, a secret)
and it may hold anything an admin of either account typed (a team or group name with a line
break, a terminal escape, a right-to-left override). Two jobs, in this order:

1. **Secrets first** (``redact``): every secret is masked wherever it appears, in each form
   an answer may quote it (as sent, percent-encoded, with JSON's escaped slashes), and a
   URL's secret part on its own as well (the integration key, the last part of its path;
   its query values). Only then is the text cut (``cut``): cutting first lets a secret that
   straddles the cut survive in part (``secret=whsec_SSSS`` of a longer secret).
2. **Data, not structure** (``one_line``): control characters, line and paragraph
   separators (which YAML 1.1 and Python's ``splitlines`` read as line breaks) and the
   bidirectional controls are shown as escapes (``\\n``, ``\\u2028``), so a name cannot
   start a line of YAML or Markdown, move a terminal's cursor, or turn the text around it.
   Every other character, every script included, is kept as it is.

``api_text`` does both for a message: redact, one line, cut. ``clients/http.py`` uses it for
every answer that reaches an error, ``ops/verify.py`` for ilert's answer to a delivery.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Final
from urllib.parse import parse_qsl, quote, urlsplit

REDACTED: Final = "***"
#: A part of a URL this short is no key (``v1``, ``api``): masking it would garble the text.
MIN_PART_CHARS: Final = 6
#: Right-to-left and left-to-right embeddings, overrides and isolates (Unicode's Bidi_Control
#: without the plain marks), which can make text read in another order than it is stored.
BIDI_CONTROLS: Final = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_ESCAPES: Final = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def secret_forms(secret: str) -> set[str]:
    """Every text that stands for ``secret`` in an answer: itself, percent-encoded, with
    escaped slashes (JSON), and for a URL each secret part on its own (the last part of its
    path, the integration key; each query value) in the same forms."""
    if not secret:
        return set()
    parts = {secret}
    if "://" in secret:
        url = urlsplit(secret)
        segments = [segment for segment in url.path.split("/") if segment]
        if segments:
            parts.add(segments[-1])
        parts.update(value for _, value in parse_qsl(url.query))
    forms: set[str] = set()
    for part in parts:
        if part != secret and len(part) < MIN_PART_CHARS:
            continue
        forms.update({part, quote(part, safe=""), quote(part, safe=":/"),
                      part.replace("/", "\\/")})
    return forms


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every form of every secret replaced by ``***`` (longest first, so a
    URL is masked whole before its key is looked for)."""
    forms: set[str] = set()
    for secret in secrets:
        if secret:
            forms |= secret_forms(secret)
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, REDACTED)
    return text


def cut(text: str, limit: int) -> str:
    """At most ``limit`` characters of ``text``; only for text already redacted."""
    return text[:limit]


def is_structural(char: str) -> bool:
    """Whether ``char`` can change how the text around it is read: a control character,
    a line or paragraph separator, a bidirectional control."""
    return unicodedata.category(char) in ("Cc", "Zl", "Zp") or char in BIDI_CONTROLS


def one_line(text: str) -> str:
    """``text`` as one line of data: each structural character shown as its escape."""
    if not any(is_structural(char) for char in text):
        return text
    return "".join(_escape(char) if is_structural(char) else char for char in text)


def api_text(text: str, secrets: Iterable[str | None], limit: int) -> str:
    """An answer's text for a message: secrets masked, on one line, then cut to ``limit``."""
    return cut(one_line(redact(text, secrets)), limit)


def _escape(char: str) -> str:
    if char in _ESCAPES:
        return _ESCAPES[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"
