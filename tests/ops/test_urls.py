"""The masked URL comparison: where two URLs differ, never what they are."""

from __future__ import annotations

from ops.urls import explain_difference, first_difference, mask

URL = "https://api.ilert.com/api/v1/events/levelio/il1levabcdef0123456789"
KEY = "il1levabcdef0123456789"


def test_mask_keeps_host_and_path_and_hides_the_key_one_for_one() -> None:
    assert mask(URL) == "https://api.ilert.com/api/v1/events/levelio/" + "*" * len(KEY)
    assert mask("not a url") == "*********"


def test_first_difference() -> None:
    assert first_difference(URL, URL) is None
    assert first_difference(URL, URL[:-1] + "X") == len(URL) - 1
    assert first_difference(URL, URL[:-2]) == len(URL) - 2
    assert first_difference(URL, URL + " ") == len(URL)


def test_the_caret_points_under_the_first_difference() -> None:
    changed = URL[:50] + "Q" + URL[51:]

    lines = explain_difference(URL, changed)

    assert lines[1].startswith("Level: ")
    caret = lines[2].index("^")
    assert caret == len("Level: ") + 50
    assert "first difference at character 51 (in the integration key" in lines[2]
    assert all(KEY[3:] not in line for line in lines)


def test_a_different_host_is_shown_because_it_is_not_secret() -> None:
    lines = explain_difference(URL, URL.replace("api.ilert.com", "api.ilert.eu"))

    assert "https://api.ilert.eu/api/v1/events/levelio/" in lines[1]
    assert "(before the integration key)" in lines[2]


def test_short_and_long_urls_are_named() -> None:
    assert "stops short: 2 character(s) missing" in explain_difference(URL, URL[:-2])[2]
    assert "spaces or a line break" in explain_difference(URL, URL + "\n")[2]
    assert "1 extra character(s) at the end" in explain_difference(URL, URL + "x")[2]
