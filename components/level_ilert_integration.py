"""``LevelIlertIntegration``: the wiring of one Level-to-ilert integration.

It creates the ilert alert source, then a Level webhook whose ``url`` input is the alert
source's ``integration_url`` output; that dependency is the whole wiring, so the engine
creates the source first, updates the webhook to a new URL when the source is replaced
(before the old source is deleted), and deletes the webhook before the source on destroy.

In manual mode (``level:webhookManagement: manual``) no Level resource is created: the
component outputs ``setup_instructions``, the exact steps of Level's procedure in its UI.
"""

from __future__ import annotations

import pulumi

from components.settings import Integration, WebhookManagement
from providers.ilert_alert_source import IlertAlertSource
from providers.level_webhook import LevelWebhook

COMPONENT_TYPE = "level-ilert:index:LevelIlertIntegration"
EVENT_LABELS = {"alert_active": "Alert active", "alert_resolved": "Alert resolved"}


def setup_instructions(integration: Integration, output_name: str) -> str:
    """Level's manual procedure for one integration, as steps in its web UI."""
    events = " and ".join(
        f'"{EVENT_LABELS.get(event, event)}"' for event in integration.event_types
    )
    secret_step = (
        "  4. Enter the webhook secret from your stack config (webhookSecret) in Secret.\n"
        if integration.webhook_secret
        else "  4. Leave Secret empty (no webhookSecret is configured).\n"
    )
    enabled = "on" if integration.webhook_enabled else "off"
    step = 6
    groups_step = ""
    if integration.device_groups:
        ticked = ", ".join(repr(group) for group in integration.device_groups)
        groups_step = (
            f"  6. Scope it to device groups: tick only {ticked} (the groups below them are\n"
            f"     included). Level's webhook settings pages document no group scope; if yours\n"
            f"     has none, this webhook gets every alert of the organisation: route in ilert\n"
            f"     instead (eventFilter on this integration) and remove deviceGroups.\n"
        )
        step = 7
    return (
        f"Level webhook for ilert alert source {integration.name!r} (manual mode):\n"
        f"  1. Copy the ilert webhook URL: pulumi stack output {output_name} --show-secrets\n"
        f"     (the integrationUrl field; copy it exactly, without spaces).\n"
        f"  2. In Level, open Settings > Webhooks and click + Add webhook.\n"
        f"  3. Paste the URL as the endpoint.\n"
        f"{secret_step}"
        f"  5. Under Events to send, choose Select types to send and tick {events}\n"
        f"     (both: Alert active opens the ilert alert, Alert resolved closes it).\n"
        f"{groups_step}"
        f"  {step}. Leave Enabled {enabled} and save.\n"
        f"  {step + 1}. Test: raise a test alert on a device; it must appear in ilert under this "
        f"alert\n"
        f"     source, and resolving it in Level must resolve it in ilert. If nothing arrives,\n"
        f"     check the URL, both events, that the alert source is active, and the webhook's\n"
        f"     Requests tab (delivery log) in Level."
    )


class LevelIlertIntegration(pulumi.ComponentResource):
    """An ilert alert source of type Level.io and the Level webhook that feeds it.

    Example::

        settings = load_settings(...)
        for integration in settings.integrations:
            LevelIlertIntegration(integration.pulumi_name, integration)
    """

    alert_source: IlertAlertSource
    webhook: LevelWebhook | None
    integration_url: pulumi.Output[str]
    setup_instructions: pulumi.Output[str] | None

    def __init__(
        self,
        name: str,
        args: Integration,
        opts: pulumi.ResourceOptions | None = None,
        *,
        webhook_management: WebhookManagement = "api",
    ) -> None:
        super().__init__(COMPONENT_TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        self.alert_source = IlertAlertSource(name, **args.alert_source_inputs(), opts=child)
        self.integration_url = pulumi.Output.secret(self.alert_source.integration_url)

        self.webhook = None
        self.setup_instructions = None
        if webhook_management == "api":
            # A replaced webhook (only `pulumi up --replace` does that) goes before its
            # successor is made: two webhooks to one URL would page every alert twice.
            self.webhook = LevelWebhook(
                name,
                url=self.integration_url,
                event_types=args.event_types,
                enabled=args.webhook_enabled,
                secret=args.webhook_secret,
                device_groups=args.device_groups,
                adopt=args.adopt,
                alert_source_id=self.alert_source.id,
                opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
            )
        else:
            self.setup_instructions = pulumi.Output.from_input(
                setup_instructions(args, output_name=name)
            )

        self.register_outputs(self.exports())

    def exports(self) -> dict[str, pulumi.Input[object]]:
        """What the stack exports for this integration (the URL as a secret)."""
        exported: dict[str, pulumi.Input[object]] = {
            "alertSourceId": self.alert_source.id,
            "integrationUrl": self.integration_url,
        }
        if self.webhook is not None:
            exported["webhookId"] = self.webhook.id
        if self.setup_instructions is not None:
            exported["setupInstructions"] = self.setup_instructions
        return exported
