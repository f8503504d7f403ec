"""The request tally the fleet reads: one line per request sent and per 429, per API, only when
asked for, and nothing in it that could identify the key or the URL."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from clients import tally
from clients.http import ApiError, RateLimit
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


def test_a_process_that_switches_files_writes_each_line_to_the_file_named_then(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fresh process (no descriptor yet), then a new tally file (a fleet reusing a provider
    process is not a case today, but a test process is): each line lands where ``ENV`` said,
    and only the user may read the file (the fleet's folder may be shared)."""
    monkeypatch.setattr(tally, "_fd", None)
    monkeypatch.setattr(tally, "_fd_path", None)
    first, second = tmp_path / "a", tmp_path / "b"

    monkeypatch.setenv(tally.ENV, str(first))
    tally.record("ilert", tally.SENT)
    monkeypatch.setenv(tally.ENV, str(second))
    tally.record("level", tally.RATE_LIMITED)
    monkeypatch.setenv(tally.ENV, str(first))
    tally.record("ilert", tally.RATE_LIMITED)

    assert tally.read(first) == ({"ilert": 1}, {"ilert": 1})
    assert tally.read(second) == ({}, {"level": 1})
    assert {path.stat().st_mode & 0o777 for path in (first, second)} == {0o600}
    assert tally._fd is not None
    os.close(tally._fd)  # the test's own descriptor; monkeypatch puts the process's back
