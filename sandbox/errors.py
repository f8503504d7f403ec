"""The one exception the sandbox's domain code raises for a client error.

Each Flask app turns it into its own API's error body (ilert ``{status, message, code}``,
Level ``{error}``), and the Python helpers on :class:`sandbox.Sandbox` let it propagate, so
a test that edits the world out of band gets the same message an HTTP client would.
"""

from __future__ import annotations


class ApiError(Exception):
    """A client-visible failure: an HTTP status and a message that names the problem."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


def bad_request(message: str) -> ApiError:
    """A 400 for invalid input; ``message`` should name the offending field."""
    return ApiError(400, message)


def not_found(message: str) -> ApiError:
    """A 404 for an unknown id or name."""
    return ApiError(404, message)
