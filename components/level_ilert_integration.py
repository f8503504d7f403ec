"""``LevelIlertIntegration``: the wiring of one Level-to-ilert integration.

It creates the ilert alert source, then a Level webhook whose ``url`` input is the alert
source's ``integration_url`` output; that dependency is the whole wiring, so the engine
creates the source first, updates the webhook to a new URL when the source is replaced,
and deletes the webhook before the source on destroy.

In manual mode (``webhook_management="manual"``, for Level organisations whose API has no
webhook management) no Level resource is created: the component outputs
``setup_instructions``, the exact steps of Level's procedure in its UI.

Its arguments are typed and accept Pulumi Inputs (another resource's Output included), as
Pulumi's own component packages do: every field of the alert source (``AlertSourceInputs``,
declared once in providers/ilert_alert_source.py), the webhook's settings
(``WebhookSettings``) and the mode. The stack file's settings map to them in one place
(``components.settings.Integration.args``).
"""

from __future__ import annotations

from typing import Any, Literal, cast

import pulumi

from providers.ilert_alert_source import SCHEMA as SOURCE_SCHEMA
from providers.ilert_alert_source import AlertSourceInputs, IlertAlertSource
from providers.level_webhook import SCHEMA as WEBHOOK_SCHEMA
from providers.level_webhook import LevelWebhook, WebhookSettings

COMPONENT_TYPE = "level-ilert:index:LevelIlertIntegration"
_WEBHOOK_SETTINGS = frozenset(WebhookSettings.__annotations__)
EVENT_LABELS = {"alert_active": "Alert active", "alert_resolved": "Alert resolved"}


class LevelIlertIntegrationArgs(AlertSourceInputs, total=False):
    """The arguments of one integration: the alert source's inputs, and beside them

    ``webhook``: the Level webhook's settings (default: both alert events, enabled, the
    whole organisation, no secret; ``adopt`` defaults to the integration's);
    ``webhook_management``: ``"api"`` (default, the stack manages the webhook) or
    ``"manual"`` (you create it in Level's UI from ``setup_instructions``).
    """

    webhook: WebhookSettings
    webhook_management: Literal["api", "manual"]


class LevelIlertIntegration(pulumi.ComponentResource):
    """An ilert alert source of type Level.io and the Level webhook that feeds it.

    Example (examples/ has a whole program)::

        policy = ...  # any resource with an escalation policy id Output
        LevelIlertIntegration(
            "acme",
            LevelIlertIntegrationArgs(
                name="Level - Acme",
                escalation_policy=policy.id,
                webhook={"device_groups": ["Acme Corp"]},
            ),
        )
    """

    alert_source: IlertAlertSource
    webhook: LevelWebhook | None
    integration_url: pulumi.Output[str]
    setup_instructions: pulumi.Output[str] | None

    def __init__(
        self,
        name: str,
        args: LevelIlertIntegrationArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(COMPONENT_TYPE, name, None, opts)
        # Each field with a default is registered with it, as `check` would fill it in: a
        # refresh that runs the program (make's) then compares like with like, instead of
        # showing every default as removed. A field managed only when declared has none.
        source_inputs = cast(
            "AlertSourceInputs",
            {
                **SOURCE_SCHEMA.defaults,
                **{key: value for key, value in args.items() if key in SOURCE_SCHEMA.fields},
            },
        )
        settings: dict[str, Any] = {
            **{k: v for k, v in WEBHOOK_SCHEMA.defaults.items() if k in _WEBHOOK_SETTINGS},
            "adopt": args.get("adopt", False),
            **args.get("webhook", {}),
        }
        unknown = sorted(set(settings) - set(WEBHOOK_SCHEMA.fields))
        if unknown:
            raise TypeError(f"LevelIlertIntegrationArgs.webhook has no setting {unknown[0]!r}")

        # The old source goes before its successor is made (`pulumi up --replace`): the
        # successor has the same name, so a create beside it would be refused as a duplicate;
        # a leaked URL also stops working at once. The webhook is then re-pointed in place.
        self.alert_source = IlertAlertSource(
            name,
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
            **source_inputs,
        )
        self.integration_url = pulumi.Output.secret(self.alert_source.integration_url)

        self.webhook = None
        self.setup_instructions = None
        if args.get("webhook_management", "api") == "api":
            # A replaced webhook goes before its successor is made: two webhooks to one URL
            # would page every alert twice.
            self.webhook = LevelWebhook(
                name,
                opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
                url=self.integration_url,
                alert_source_id=self.alert_source.id,
                **settings,
            )
        else:
            self.setup_instructions = _instructions(name, args.get("name", ""), settings)
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


def _instructions(
    output_name: str, source_name: pulumi.Input[str], settings: dict[str, Any]
) -> pulumi.Output[str]:
    """The UI steps, once every setting they mention is known (whether a secret is set is
    no secret: only that fact, never the secret, reaches the text)."""
    has_secret = pulumi.Output.unsecret(
        pulumi.Output.from_input(settings.get("secret")).apply(lambda secret: secret is not None)
    )
    defaults = {key: each.spec.default for key, each in WEBHOOK_SCHEMA.fields.items()}
    return pulumi.Output.all(
        source_name,
        settings.get("event_types", defaults["event_types"]),
        settings.get("enabled", defaults["enabled"]),
        settings.get("device_groups"),
        has_secret,
    ).apply(
        lambda values: setup_instructions(
            output_name,
            source_name=values[0],
            event_types=values[1],
            enabled=values[2],
            device_groups=values[3],
            has_secret=values[4],
            stack=pulumi.get_stack(),
        )
    )


def setup_instructions(
    output_name: str,
    *,
    source_name: str,
    event_types: list[str],
    enabled: bool,
    device_groups: list[str] | None,
    has_secret: bool,
    stack: str | None = None,
    url: str | None = None,
) -> str:
    """Level's manual procedure for one integration, as numbered steps in its web UI: the
    checklist of manual mode. The URL is a secret: it appears only when ``url`` is given
    (``make instructions SHOW_SECRETS=1``); otherwise step 1 says where to read it."""
    events = " and ".join(f'"{EVENT_LABELS.get(event, event)}"' for event in event_types)
    secret_step = (
        "  4. Enter the webhook secret from your stack config (webhookSecret) in Secret.\n"
        if has_secret
        else "  4. Leave Secret empty (no webhookSecret is configured).\n"
    )
    copy_step = (
        f"  1. Copy this ilert webhook URL exactly, without spaces (it is a secret):\n"
        f"     {url}\n"
        if url else
        f"  1. Copy the ilert webhook URL: make outputs STACK={stack} SHOW_SECRETS=1\n"
        f"     ({output_name}'s integrationUrl; copy it exactly, without spaces).\n"
        if stack else
        f"  1. Copy the ilert webhook URL: pulumi stack output {output_name} --show-secrets\n"
        f"     (the integrationUrl field; copy it exactly, without spaces).\n"
    )
    step = 6
    groups_step = ""
    if device_groups:
        ticked = ", ".join(repr(group) for group in device_groups)
        groups_step = (
            f"  6. Scope it to device groups: tick only {ticked} (the groups below them are\n"
            f"     included). Level's webhook settings pages document no group scope; if yours\n"
            f"     has none, this webhook gets every alert of the organisation: route in ilert\n"
            f"     instead (eventFilter on this integration) and remove deviceGroups.\n"
        )
        step = 7
    audit_step = (
        f"\n  {step + 2}. Check it: make verify STACK={stack} waits for your test alert to open "
        f"and\n     resolve in ilert; make audit STACK={stack} later checks every Level alert "
        f"meant for it."
        if stack else ""
    )
    return (
        f"Level webhook for ilert alert source {source_name!r} (manual mode):\n"
        f"{copy_step}"
        f"  2. In Level, open Settings > Webhooks and click + Add webhook.\n"
        f"  3. Paste the URL as the endpoint.\n"
        f"{secret_step}"
        f"  5. Under Events to send, choose Select types to send and tick {events}\n"
        f"     (both: Alert active opens the ilert alert, Alert resolved closes it).\n"
        f"{groups_step}"
        f"  {step}. Leave Enabled {'on' if enabled else 'off'} and save.\n"
        f"  {step + 1}. Test: raise a test alert on a device; it must appear in ilert under this "
        f"alert\n"
        f"     source, and resolving it in Level must resolve it in ilert. If nothing arrives,\n"
        f"     check the URL, both events, that the alert source is active, and the webhook's\n"
        f"     Requests tab (delivery log) in Level."
        f"{audit_step}"
    )
