"""Level → webhook delivery, as Level documents it (reference/level-webhook-contract.md).

For each enabled webhook subscribed to the event (``event_types`` null = all), POST the
envelope ``{event_type, event_id, occurred_at, data}`` as JSON, signed with
``X-Level-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>`` when the webhook has a
secret. Any 2xx is success; otherwise up to 3 attempts in all, each with the same body
(so the same ``event_id``), ``retry_delay`` seconds apart, 5 s timeout each.

Deliveries run synchronously in the thread that raised the event, so a test sees the
outcome as soon as its request returns.

SAFETY: the sandbox never sends a request off this machine. A webhook whose host is not a
loopback address (127.0.0.0/8, ``localhost``, ``::1``) gets a failed delivery record
instead of a request; redirects are not followed and proxy settings are ignored.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import time
import uuid
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

import requests

from sandbox.timeutil import now_iso
from sandbox.world import JSON, World

MAX_ATTEMPTS: Final = 3
TIMEOUT_SECONDS: Final = 5.0
LOOPBACK_ONLY: Final = "the sandbox delivers to loopback addresses only"
USER_AGENT: Final = "level-ilert-sandbox (Level webhook delivery)"


def is_loopback_url(url: str) -> bool:
    """Whether ``url``'s host is a loopback address the sandbox may deliver to."""
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return False
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def signature(secret: str, body: bytes) -> str:
    """The ``X-Level-Signature`` header value for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Target:
    """What a delivery needs of a webhook, copied out of the world under its lock."""

    webhook_id: str
    url: str
    secret: str | None


class Deliverer:
    """Sends events to webhooks and records every delivery in the world."""

    def __init__(self, world: World, retry_delay: float = 0.0) -> None:
        self.world = world
        self.retry_delay = retry_delay

    def deliver(self, event_type: str, data: JSON, targets: list[Target]) -> list[JSON]:
        """Deliver one event to each target; returns the delivery records (also stored)."""
        records = [self._deliver_one(event_type, data, target) for target in targets]
        if records:
            with self.world.mutate() as state:
                for record in records:
                    record["id"] = state.next_id("delivery")
                    state.deliveries.append(record)
        return records

    def _deliver_one(self, event_type: str, data: JSON, target: Target) -> JSON:
        event_id = str(uuid.uuid4())
        occurred_at = now_iso()
        envelope = {
            "event_type": event_type,
            "event_id": event_id,
            "occurred_at": occurred_at,
            "data": data,
        }
        body = json.dumps(envelope).encode()
        record: JSON = {
            "id": 0,  # numbered when stored
            "event_id": event_id,
            "event_type": event_type,
            "occurred_at": occurred_at,
            "webhook_id": target.webhook_id,
            "url": target.url,
            "signed": target.secret is not None,
            "attempts": [],
            "succeeded": False,
        }
        if not is_loopback_url(target.url):
            record["attempts"].append({"error": LOOPBACK_ONLY})
            return record
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        if target.secret is not None:
            headers["X-Level-Signature"] = signature(target.secret, body)
        with requests.Session() as session:
            session.trust_env = False  # no proxies: loopback means loopback
            for attempt in range(MAX_ATTEMPTS):
                if attempt and self.retry_delay > 0:
                    time.sleep(self.retry_delay)
                try:
                    response = session.post(
                        target.url,
                        data=body,
                        headers=headers,
                        timeout=TIMEOUT_SECONDS,
                        allow_redirects=False,
                    )
                except requests.RequestException as exc:
                    record["attempts"].append({"error": f"{type(exc).__name__}: {exc}"})
                    continue
                record["attempts"].append({"status": response.status_code})
                if 200 <= response.status_code < 300:
                    record["succeeded"] = True
                    break
        return record
