"""``python -m ops instructions``: each integration's Level UI steps, as plain numbered text.

Manual mode's checklist: the steps the stack outputs as ``setupInstructions``
(components/level_ilert_integration.py), built here from the stack file itself, so no
Pulumi CLI and no JSON escapes are involved. The ilert URL, a secret, is shown only with
``--show-secrets`` (``make instructions SHOW_SECRETS=1``); it is read from ilert (the alert
source found by the stack outputs, else by its exact name). In api mode the stack makes the
webhooks itself: the steps are printed for checking by eye, and say so.
"""

from __future__ import annotations

from typing import TextIO

from clients.http import ApiError
from components.level_ilert_integration import setup_instructions
from components.settings import Integration
from ops.doctor import Apis
from ops.ids import Outputs, ids_for
from ops.report import EXIT_COULD_NOT_RUN, EXIT_OK, dump
from ops.stack import Stack


def steps(stack: Stack, integration: Integration, url: str | None = None) -> str:
    """One integration's numbered steps (with ``url`` when it may be shown)."""
    return setup_instructions(
        integration.pulumi_name,
        source_name=integration.name,
        event_types=integration.event_types,
        enabled=integration.webhook_enabled,
        device_groups=integration.device_groups,
        has_secret=bool(integration.webhook_secret)
        or integration.name in stack.secure_webhook_secrets,
        stack=stack.name,
        url=url,
    )


def print_instructions(
    stack: Stack,
    outputs: Outputs,
    apis: Apis,
    *,
    only: str | None,
    show_secrets: bool,
    as_json: bool,
    out: TextIO,
    err: TextIO,
) -> int:
    """Print the steps of each chosen integration; 2 when a URL asked for cannot be read."""
    urls: dict[str, str | None] = {}
    integrations = stack.integrations(only)
    if show_secrets:
        if apis.ilert is None:
            err.write(f"--show-secrets reads each URL from ilert: {stack.ilert_problem}\n")
            return EXIT_COULD_NOT_RUN
        try:
            for integration in integrations:
                urls[integration.name] = _url(integration, outputs, apis)
        except ApiError as exc:
            err.write(f"reading the URLs from ilert failed: {exc}\n")
            return EXIT_COULD_NOT_RUN
    texts = {i.name: steps(stack, i, urls.get(i.name)) for i in integrations}
    if as_json:
        dump({"command": "instructions", "stack": stack.name,
              "mode": stack.settings.webhook_management, "integrations": texts}, out)
        return EXIT_OK
    if stack.settings.webhook_management == "api":
        out.write(
            f"Stack {stack.name} is in api mode: `make up` makes these webhooks itself. The "
            "steps below are what to check by eye in Level.\n\n"
        )
    for integration in integrations:
        if show_secrets and urls.get(integration.name) is None:
            out.write(f"(no ilert alert source named {integration.name!r} yet: `make up "
                      f"STACK={stack.name}` creates it and its URL)\n")
        out.write(texts[integration.name] + "\n\n")
    if not show_secrets:
        out.write(f"The URLs are secrets: `make instructions STACK={stack.name} SHOW_SECRETS=1` "
                  "puts each one into its step 1.\n")
    return EXIT_OK


def _url(integration: Integration, outputs: Outputs, apis: Apis) -> str | None:
    assert apis.ilert is not None
    ilert = apis.ilert
    ids = ids_for(integration, outputs, sources=lambda: list(ilert.list_alert_sources()),
                  webhooks=None, url_of=lambda _id: None)
    if ids.alert_source_id is None:
        return None
    return apis.source(ids.alert_source_id).integration_url
