"""level-ilert stack program: read the stack settings, build one integration per entry.

Each entry of ``level-ilert:integrations`` becomes an ilert alert source of type Level.io
and a Level webhook pointing at its generated URL (or, in manual mode, the UI steps).
A config error stops the program, naming the key, before any resource is registered; so
does, at preview, what would stop `pulumi up` half-way (components/preflight.py).
"""

import pulumi

from components.gc_tuning import collect_less_often
from components.level_ilert_integration import LevelIlertIntegration
from components.preflight import run_preflight
from components.settings import SettingsError, load_settings, pulumi_config_keys


def _get(full_key: str) -> str | None:
    namespace, _, key = full_key.partition(":")
    return pulumi.Config(namespace).get(key)


def _get_object(full_key: str) -> object:
    """The value as JSON, or the plain text when it is not JSON (settings then explain)."""
    namespace, _, key = full_key.partition(":")
    try:
        return pulumi.Config(namespace).get_object(key)
    except pulumi.ConfigTypeError:
        return _get(full_key)


if __name__ == "__main__":  # run by Pulumi's language host (tests run it under another name)
    collect_less_often()  # large stacks: see components/gc_tuning.py

try:
    settings = load_settings(
        _get_object, _get, config_keys=pulumi_config_keys(), stack=pulumi.get_stack()
    )
except SettingsError as error:
    raise pulumi.RunError(str(error)) from None
for warning in settings.warnings:
    pulumi.log.warn(warning)

if pulumi.runtime.is_dry_run():  # preview, and the preview phase of `pulumi up`
    report = run_preflight(settings, _get)
    if report.checked:
        pulumi.log.info(report.summary())
    if report.problems:
        raise pulumi.RunError(str(report.error()))

for integration in settings.integrations:
    # An earlier resource name is an alias: the objects move to the new name in the state.
    aliases = [pulumi.Alias(name=name) for name in integration.previous_resource_names]
    wiring = LevelIlertIntegration(
        integration.pulumi_name,
        integration.args(settings.webhook_management),
        pulumi.ResourceOptions(aliases=aliases) if aliases else None,
    )
    pulumi.export(integration.pulumi_name, wiring.exports())
