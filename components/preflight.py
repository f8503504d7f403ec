"""Preflight: refuse at preview what would stop ``pulumi up`` half-way.

A dynamic provider's ``check`` and ``diff`` make no request (the engine calls them for every
resource, often, and a preview must stay cheap and side-effect free), so without this a
missing or refused credential, a read-only Level key, a Level API without webhook management
or an escalation policy name that does not exist passed ``pulumi preview`` and failed the
``up`` after part of it was built (an ilert source without its webhook). The program runs
these checks instead: once per run, during the dry run only (``pulumi preview``, and the
preview phase that ``pulumi up`` runs before it changes anything), before any resource is
registered, through the providers' own clients (same pacing, deadline and error messages).

Checks, in order, each API skipped once one of its checks failed:

- credentials set (no request): ilert's, and Level's in api mode;
- ilert: the escalation policies, listed once (``GET /api/escalation-policies``, one request
  per 50 policies): the token is accepted and every ``escalationPolicy`` given by name exists;
- Level, api mode only: ``GET /v2/webhooks?limit=1``: the key is accepted and the
  organisation's API has webhook management (a 404 names manual mode); then the no-op write
  probe (``POST /v2/alerts/<impossible id>/resolve``, the one ``make doctor PROBE_WRITE=1``
  sends): a read-only key is refused with 403. ``LEVEL_ILERT_PREFLIGHT=read-only`` skips the
  write probe, for drift checks that run with a read-only key on purpose (``make drift`` and
  .github/workflows/drift.yml set it);
- Level, api mode, when an integration has ``deviceGroups``: the groups, listed once
  (``GET /v2/groups``, one request per 100 groups): each entry names exactly one group;
- manual mode sends no Level request at all.

The checks that ran are reported in one line (``pulumi.log.info``); every problem found is
reported in one block, one sentence each, naming the setting and the fix.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from clients import level_groups
from clients.endpoints import ILERT, LEVEL, ApiSettings, Endpoint, MissingCredentialError, resolve
from clients.failures import KnownFailure
from clients.http import ApiError, UnauthorizedError, deadline
from clients.ilert import PAGE_SIZE_MAX, IlertClient
from clients.level import PAGE_SIZE_MAX as LEVEL_PAGE_SIZE
from clients.level import LevelClient
from clients.tuning import ApiTuning, tuning_for
from components.settings import INTEGRATIONS_KEY, StackSettings
from providers.ilert_alert_source import reference_problems, unknown_policy_message

MODE_ENV = "LEVEL_ILERT_PREFLIGHT"
FULL = "full"
READ_ONLY = "read-only"
MODES = (FULL, READ_ONLY)
ConfigLookup = Callable[[str], str | None]


class PreflightError(KnownFailure, ValueError):
    """The preflight found problems; the message lists each with its fix."""


@dataclass
class Report:
    """What the preflight checked (for the info line) and what it found wrong."""

    checked: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    requests: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        """One line: the checks that ran, and the requests they cost per API."""
        cost = ", ".join(f"{api} {count}" for api, count in self.requests.items() if count)
        return f"preflight: {'; '.join(self.checked)} (requests: {cost or 'none'})"

    def error(self) -> PreflightError:
        lines = "\n".join(f"- {problem}" for problem in self.problems)
        return PreflightError(
            "Preflight (pulumi preview) found what would stop `pulumi up` half-way; nothing "
            f"was changed:\n{lines}"
        )


def preflight_mode(environ: Mapping[str, str]) -> str:
    """``full`` (default) or ``read-only`` (no write probe), from ``LEVEL_ILERT_PREFLIGHT``."""
    return (environ.get(MODE_ENV) or FULL).strip().lower() or FULL


def run_preflight(
    settings: StackSettings, get: ConfigLookup, environ: Mapping[str, str] | None = None
) -> Report:
    """Run every check for these settings; the ``Report`` lists what ran and what failed."""
    env = os.environ if environ is None else environ
    report = Report()
    mode = preflight_mode(env)
    if mode not in MODES:
        report.problems.append(
            f"{MODE_ENV} must be {FULL} (the default) or {READ_ONLY} (no Level write probe, "
            f"for a drift check with a read-only key); got {mode!r}. Unset it or fix it."
        )
        return report
    ilert = _endpoint(ILERT, get, env, report, settings.stack)
    level = (_endpoint(LEVEL, get, env, report, settings.stack)
             if settings.webhook_management == "api" else None)
    if ilert is not None:
        _check_ilert(ilert, tuning_for("ilert", get), settings, report)
    if settings.webhook_management == "manual":
        report.checked.append("Level not called (manual mode)")
    elif level is not None:
        tuning = tuning_for("level", get)
        client = _level_client(level, tuning)  # one client, so one pace, for both checks
        _check_level(client, tuning, mode, report)
        if not report.problems:
            _check_groups(client, tuning, settings, report)
    return report


def _endpoint(
    api: ApiSettings, get: ConfigLookup, env: Mapping[str, str], report: Report,
    stack: str | None = None,
) -> Endpoint | None:
    try:
        return resolve(api, get, env, stack=stack)
    except (MissingCredentialError, ValueError) as error:
        report.problems.append(str(error))
        return None


def _check_ilert(
    endpoint: Endpoint, tuning: ApiTuning, settings: StackSettings, report: Report
) -> None:
    # No operation_timeout for the client: every check runs inside deadline(), which bounds
    # all its requests together and takes the place of the client's per-request one.
    client = IlertClient(endpoint.base_url, endpoint.credential, rate_limit=tuning.rate_limit)
    report.requests["ilert"] = 1
    try:
        with deadline(tuning.operation_timeout):
            policies = list(client.list_escalation_policies())
    except ApiError as error:
        report.problems.append(_refused("ilert", "API token", error))
        return
    # Pages of 50 until a short one: an exactly full last page costs one more, empty, page.
    report.requests["ilert"] = len(policies) // PAGE_SIZE_MAX + 1
    names = {policy.name for policy in policies}
    by_name = [
        (index, integration.escalation_policy)
        for index, integration in enumerate(settings.integrations)
        if isinstance(integration.escalation_policy, str)
    ]
    for index, policy in by_name:
        if policy not in names:
            report.problems.append(
                unknown_policy_message(
                    f"{INTEGRATIONS_KEY}[{index}].escalationPolicy", str(policy), policies
                )
            )
    distinct = len({policy for _, policy in by_name})
    report.checked.append(
        f"ilert token accepted, {distinct} escalation policy name"
        f"{'' if distinct == 1 else 's'} looked up"
    )
    # Support hours and services given by name, and a support-hours rule without support
    # hours (issue 24): each kind listed once, only when some integration needs it.
    try:
        with deadline(tuning.operation_timeout):
            named, cost = reference_problems(
                client, [i.alert_source_inputs() for i in settings.integrations],
                INTEGRATIONS_KEY,
            )
    except ApiError as error:
        named, cost = [str(error)], 1
    report.problems.extend(named)
    report.requests["ilert"] += cost
    if cost:
        report.checked.append("support hours and services looked up")


def _level_client(endpoint: Endpoint, tuning: ApiTuning) -> LevelClient:
    """A Level client paced like the providers' (its checks run inside ``deadline()``)."""
    return LevelClient(endpoint.base_url, endpoint.credential, rate_limit=tuning.rate_limit)


def _check_level(client: LevelClient, tuning: ApiTuning, mode: str, report: Report) -> None:
    report.requests["Level"] = 1
    try:
        with deadline(tuning.operation_timeout):
            client.probe_webhooks()
    except ApiError as error:
        report.problems.append(_refused("Level", "API key", error))
        return
    if mode == READ_ONLY:
        report.checked.append(
            f"Level key accepted, webhook management available, write access not checked "
            f"({MODE_ENV}={READ_ONLY})"
        )
        return
    report.requests["Level"] += 1
    try:
        with deadline(tuning.operation_timeout):
            writable = client.key_can_write()
    except ApiError as error:
        report.problems.append(_refused("Level", "API key", error))
        return
    if not writable:
        report.problems.append(
            f"The Level API key is read-only: Level refused a write that changes nothing "
            f"(HTTP 403), and `pulumi up` creates and updates webhooks. Create a read & write "
            f"key (Level: Settings > API keys) and set it with `pulumi config set --secret "
            f"{LEVEL.credential_key}` (it asks for the value) or export {LEVEL.credential_env}. "
            f"A drift check "
            f"that only reads may skip this check: {MODE_ENV}={READ_ONLY}."
        )
        return
    report.checked.append("Level key accepted and may write, webhook management available")


def _check_groups(
    client: LevelClient, tuning: ApiTuning, settings: StackSettings, report: Report
) -> None:
    """Every ``deviceGroups`` entry names exactly one group (listed once, pages of 100).

    Without it, a misspelled or renamed group passed the preview and failed the webhook's
    create after its alert source had been made.
    """
    scoped = [
        (index, integration.device_groups)
        for index, integration in enumerate(settings.integrations)
        if integration.device_groups
    ]
    if not scoped:
        return
    try:
        with deadline(tuning.operation_timeout):
            groups = list(client.list_groups())
    except ApiError as error:
        report.problems.append(str(error))
        return
    # Cursor pages of 100 while has_more: an exactly full last page ends the listing.
    report.requests["Level"] += max(1, math.ceil(len(groups) / LEVEL_PAGE_SIZE))
    resolved = 0
    for index, refs in scoped:
        try:
            level_groups.resolve(refs, groups, prop=f"{INTEGRATIONS_KEY}[{index}].deviceGroups")
        except level_groups.UnknownGroupError as error:
            report.problems.append(str(error))
        else:
            resolved += 1
    report.checked.append(f"{resolved} of {len(scoped)} device-group scopes resolved")


def _refused(api: str, what: str, error: ApiError) -> str:
    """The API's error, led by what it means here when the credential itself was refused."""
    if isinstance(error, UnauthorizedError):
        return f"{api} refused the {what}: {error}"
    return str(error)
