"""The request tally the fleet reads: one line per request sent and per 429, per API, only when
asked for, and nothing in it that could identify the key or the URL."""

from __future__ import annotations

from pathlib import Path

import pytest

from providers import tally
from providers.http import ApiError, RateLimit
from tests.unit.test_http_policy import SECRET, Script, make_client, server

__all__ = ["server"]  # the fixture, imported for this module's tests


def test_each_request_sent_and_each_429_is_counted_per_api(
    server: tuple[str, Script], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, script = server
    file = tmp_path / "tally"
    monkeypatch.setenv(tally.ENV, str(file))
    script.actions = [("status", 429), ("status", 429), ("ok",), ("status", 500)]
    client = make_client(url, rate_limit=RateLimit(requests=100, window_seconds=0.1))

    client.request("GET", "/x")  # 429, 429, 200: three sent
    with pytest.raises(ApiError, match="HTTP 500"):
        client.request("POST", "/x", json={})  # 500 on a POST: sent once, never repeated

    sent, limited = tally.read(file)
    assert (sent, limited) == ({"Example": 4}, {"Example": 2})
    assert len(script.seen) == 4  # what the server saw
    text = file.read_text()
    assert SECRET not in text and url not in text and "/x" not in text


def test_nothing_is_written_unless_asked(
    server: tuple[str, Script], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _ = server
    monkeypatch.delenv(tally.ENV, raising=False)
    monkeypatch.chdir(tmp_path)

    make_client(url).request("GET", "/x")

    assert list(tmp_path.iterdir()) == []
    assert tally.read(tmp_path / "none") == ({}, {})
