"""The one base class of the failures this project expects and explains.

A provider that raises a ``KnownFailure`` has said all there is to say in its message: what
failed, for which setting or object, and the fix. providers/engine_adapter.py hands the
engine that message alone (no Python traceback); any other exception is a bug and keeps its
traceback. No imports: every layer (HTTP, endpoints, providers) can derive from it.
"""


class KnownFailure(Exception):
    """A failure the project expects and explains: its message alone reaches the user."""
