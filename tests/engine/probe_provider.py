"""A dynamic provider whose failures are chosen by its inputs, to test providers/engine_adapter.

``Probe`` resources have one input, ``behaviour``: ``ok`` creates, ``known`` raises a
``KnownFailure`` (as our providers do for a refused credential or a duplicate), ``bug`` raises
an exception the code does not expect. ``diff`` names ``behaviour`` as changed (a replacement
when it becomes ``replace``) and declares ``key`` stable. It derives from
``ConfiguredProvider``, so the real server is adapted exactly as for the real providers. No
network; importable and side-effect free, so the SDK pickles it by reference.
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi import dynamic

from providers.engine_adapter import KnownFailure, detailed_diff
from providers.pickling import sdk_pickler_restored
from providers.provider_base import ConfiguredProvider

KNOWN_MESSAGE = (
    "level:apiKey was refused by Level (HTTP 401). Check the credential: pulumi config set "
    "--secret level:apiKey <key>."
)


class ProbeFailure(KnownFailure):
    """The known failure the probe raises."""


class ProbeProvider(ConfiguredProvider):
    """Creates, fails on purpose, or breaks, as ``behaviour`` says."""

    def create(self, props: dict[str, Any]) -> dynamic.CreateResult:
        behaviour = props.get("behaviour")
        if behaviour == "known":
            raise ProbeFailure(KNOWN_MESSAGE)
        if behaviour == "bug":
            planted: dict[str, dynamic.CreateResult] = {}
            return planted["no such key"]  # a planted bug
        return dynamic.CreateResult("probe-1", {"behaviour": behaviour, "key": "k-1"})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.DiffResult:
        changed = ["behaviour"] if olds.get("behaviour") != news.get("behaviour") else []
        replaces = ["behaviour"] if news.get("behaviour") == "replace" else []
        return detailed_diff(olds, news, changed, replaces=replaces, stables=["key"])


class Probe(dynamic.Resource, module="probe", name="Probe"):
    """One probe."""

    def __init__(self, name: str, behaviour: pulumi.Input[str]) -> None:
        with sdk_pickler_restored():
            super().__init__(ProbeProvider(), name, {"behaviour": behaviour, "key": None})
