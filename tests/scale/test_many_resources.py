"""1,000 integrations (2,000 dynamic resources) register in one program, in linear time.

The pinned SDK leaks one pickler wrapper per dynamic resource (providers/pickling.py);
without the guard this program dies with RecursionError near the 980th resource.
"""

from __future__ import annotations

import base64
import pickle

from providers.ilert_alert_source import IlertAlertSource
from providers.level_webhook import LevelWebhook
from tools.engine_harness import PROVIDER_KEY, capture_registrations

INTEGRATIONS = 1000


def test_two_thousand_dynamic_resources_register_with_the_same_small_blob() -> None:
    before = pickle._Pickler.__dict__["_batch_setitems"]

    def program() -> None:
        for index in range(INTEGRATIONS):
            source = IlertAlertSource(
                f"source-{index}", name=f"Level - {index}", escalation_policy=1
            )
            LevelWebhook(f"webhook-{index}", url=source.integration_url)

    registrations = capture_registrations(program, timeout=300)

    dynamic = [r for r in registrations if r.typ.startswith("pulumi-python:dynamic")]
    assert len(dynamic) == 2 * INTEGRATIONS
    blobs = {r.inputs[PROVIDER_KEY] for r in dynamic}
    assert len(blobs) == 2  # one per provider class, pickled by reference
    assert all(len(base64.b64decode(blob)) < 200 for blob in blobs)
    assert pickle._Pickler.__dict__["_batch_setitems"] is before
