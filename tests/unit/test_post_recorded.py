"""A create's POST and the journal: what the next run of the stack finds after each outcome
(the intent voided, kept, or answered by the object)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from clients.http import ApiError
from providers.journal import Journal, Provenance, identity_key
from providers.provider_base import post_recorded

KEY = identity_key("level:webhook", "https://api.level.io", "https://x.invalid/1")


@dataclass(frozen=True)
class Made:
    id: str
    created_at: str | None = "2026-12-01T10:00:00Z"


def refused(*, may_have_acted: bool) -> ApiError:
    return ApiError(api="Level", method="POST", path="/v2/webhooks", status=None,
                    message="no answer" if may_have_acted else "HTTP 400",
                    may_have_acted=may_have_acted)


def test_an_answered_post_leaves_its_object_as_this_stacks_own(tmp_path: Path) -> None:
    path = tmp_path / "stack.jsonl"

    made = post_recorded(lambda: Made("w1"), Provenance(Journal(path), KEY))

    later = Journal(path)
    assert made == Made("w1")
    assert later.made(KEY, "w1", "2026-12-01T10:00:00Z")
    assert later.unanswered(KEY) is None


def test_a_post_the_api_refused_voids_its_intent(tmp_path: Path) -> None:
    """HTTP 400: nothing was made, so the next run must neither wait for this create nor
    take an object made in its time window as its own."""
    path = tmp_path / "stack.jsonl"
    error = refused(may_have_acted=False)

    def post() -> Made:
        raise error

    with pytest.raises(ApiError, match="HTTP 400") as caught:
        post_recorded(post, Provenance(Journal(path), KEY))

    assert caught.value is error
    assert Journal(path).unanswered(KEY) is None


def test_a_post_whose_answer_was_lost_keeps_its_intent(tmp_path: Path) -> None:
    """The object may exist now: the intent stays, so the next run can prove it made it."""
    path = tmp_path / "stack.jsonl"

    def post() -> Made:
        raise refused(may_have_acted=True)

    with pytest.raises(ApiError, match="no answer"):
        post_recorded(post, Provenance(Journal(path), KEY))

    assert Journal(path).unanswered(KEY) is not None
