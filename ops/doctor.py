"""``python -m ops doctor``: Level's troubleshooting list, as checks against the live APIs.

Routing (ops/routing.py): each integration's device-group scope and event filter are
compared with the stack file (a deleted group that emptied a scope is named), and a table
says, per Level alert shape (a group and a severity), which ilert sources would open an
alert for it, webhooks outside the stack included; a shape that pages twice (beyond
``sharesAlertsWith``; two enabled webhooks to one source's URL are two deliveries, so they
page twice too) or, where devices are, nowhere fails.

For each integration of the stack, one line per check, each with the fix when it fails:
the ilert alert source (exists, is Level.io, is active, its escalation policy exists and is
the declared one, its recent alerts), the Level webhook in api mode (exists, enabled,
exactly the source's URL, both alert events, its secret, no second webhook to the same
URL), and in manual mode what Level's API cannot show and where to look in Level's UI
instead, reported as NOT checked (``make audit`` checks that side from evidence). A Level
API answering 404 on ``/v2/webhooks`` in api mode is named as the missing webhook API, not
as a credential problem (the key is tried on a documented read). Credentials are checked
first (a ``secure:`` one decrypted by the Pulumi CLI when its env var is unset:
ops/stack.py). Only GETs are sent, unless ``probe_write`` asks for the one write that tells
a read-only Level key from a read & write one (it changes nothing; see ``api_extras``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from clients.endpoints import ILERT, LEVEL, ApiSettings
from clients.http import ApiError, ForbiddenError, NotFoundError, UnauthorizedError
from clients.ilert import LEVEL_INTEGRATION_TYPE, AlertSource, IlertClient
from clients.level import (
    ALERT_ACTIVE,
    ALERT_EVENT_TYPES,
    MANUAL_MODE_HINT,
    Group,
    LevelClient,
    Webhook,
    WebhookManagementUnavailableError,
)
from clients.level_groups import UnknownGroupError, describe, resolve
from clients.tuning import DEFAULT_RATE_LIMITS
from components.settings import Integration
from ops import routing
from ops.api_extras import IlertExtras, LevelExtras
from ops.ids import Ids, Outputs, ids_for
from ops.report import Check, Status
from ops.stack import Stack
from ops.urls import explain_difference
from providers.ilert_alert_source import SCHEMA as SOURCE_SCHEMA

CREDENTIALS = "credentials"
ROWS_SHOWN = 40
# Paced like the providers (same key, same limiter): a doctor of hundreds of integrations
# must not trip ilert's 120 requests per minute.
ILERT_PACE, LEVEL_PACE = DEFAULT_RATE_LIMITS["ilert"], DEFAULT_RATE_LIMITS["level"]
REQUESTS_TAB = (
    "Level's API has no delivery log: in Level, open Settings > Webhooks > Requests to see "
    "each delivery and ilert's answer"
)


@dataclass
class Apis:
    """The clients of one stack (None where the credential is missing) and cached listings."""

    ilert: IlertClient | None
    level: LevelClient | None
    ilert_extras: IlertExtras | None
    level_extras: LevelExtras | None
    sources: list[AlertSource] | None = None
    webhooks: list[Webhook] | None = None
    groups: list[Group] | None = None
    _source_by_id: dict[int, AlertSource] = field(default_factory=dict)

    @classmethod
    def of(cls, stack: Stack) -> Apis:
        """Clients built from the stack's endpoints."""
        ilert = stack.ilert
        level = stack.level
        return cls(
            ilert=IlertClient(ilert.base_url, ilert.credential, rate_limit=ILERT_PACE)
            if ilert
            else None,
            level=LevelClient(level.base_url, level.credential, rate_limit=LEVEL_PACE)
            if level
            else None,
            ilert_extras=IlertExtras(ilert) if ilert else None,
            level_extras=LevelExtras(level) if level else None,
        )

    def source(self, source_id: int) -> AlertSource:
        """One alert source by id (the full object, with its URL and filter), cached."""
        if source_id not in self._source_by_id and self.ilert is not None:
            self._source_by_id[source_id] = self.ilert.get_alert_source(
                source_id, include=SOURCE_SCHEMA.include_only
            )
        return self._source_by_id[source_id]

    def level_groups(self) -> list[Group]:
        """Level's device groups, listed once."""
        if self.groups is None:
            self.groups = list(self.level.list_groups()) if self.level is not None else []
        return self.groups

    def routing(self, stack: Stack, owner: dict[int, Integration]) -> routing.Routing:
        """The live routing: groups, every webhook, the ilert sources behind them (with
        their filters: one GET each for the sources webhooks point at)."""
        by_url: dict[str, AlertSource] = {}
        urls = {webhook.url for webhook in self.webhooks or []}
        for listed in self.sources or []:
            if listed.integration_url in urls:
                by_url[listed.integration_url] = self.source(listed.id)
        return routing.Routing.of(
            self.level_groups(), self.webhooks or [], by_url, stack.settings.integrations, owner
        )


class Doctor:
    """Runs the checks of one stack; ``run`` returns them in the order they are printed."""

    def __init__(
        self, stack: Stack, outputs: Outputs, apis: Apis, *, probe_write: bool = False
    ) -> None:
        self.stack = stack
        self.outputs = outputs
        self.apis = apis
        self.probe_write = probe_write
        self.api_mode = stack.settings.webhook_management == "api"
        self.ilert_ok = False
        self.level_ok = False
        #: why the webhook checks are not made when Level is not readable
        self.level_skip = "Level credentials failed"
        self.owner: dict[int, Integration] = {}  # source id -> the stack's integration

    @property
    def up(self) -> str:
        """The command that puts the declared state back."""
        return f"make up STACK={self.stack.name}"

    def run(self, only: str | None = None) -> list[Check]:
        """Credentials first, then every check of each chosen integration."""
        integrations = self.stack.integrations(only)
        checks = [self._ilert_credentials(), *self._level_credentials()]
        for integration in integrations:
            checks.extend(self.integration(integration))
        checks.extend(self.routing_checks())
        return checks

    # ----------------------------------------------------------------- credentials

    def _ilert_credentials(self) -> Check:
        def fail(summary: str, fix: str) -> Check:
            return Check(CREDENTIALS, "ilert.credentials", "fail", summary, fix)

        if self.apis.ilert is None:
            problem = self.stack.ilert_problem
            return fail(problem.summary if problem else "ilert API token is not set",
                        problem.fix if problem else "")
        try:
            self.apis.sources = list(self.apis.ilert.list_alert_sources())
        except UnauthorizedError:
            return fail(
                f"ilert refused the API token (401), the one from {self.stack.ilert_from}",
                self._refused_fix(ILERT, "a valid ilert API key"),
            )
        except ForbiddenError:
            return fail(
                "the ilert API token may not read alert sources (403)",
                "use the API key of an ilert user who may manage alert sources",
            )
        except ApiError as exc:
            return fail(f"ilert did not answer: {exc}", _base_url_fix("ilert"))
        self.ilert_ok = True
        return Check(
            CREDENTIALS, "ilert.credentials", "pass",
            f"ilert API token works ({len(self.apis.sources)} alert sources readable)",
        )

    def _level_credentials(self) -> list[Check]:  # noqa: PLR0911 (one return per answer)
        def check(status: Status, summary: str, fix: str = "") -> Check:
            return Check(CREDENTIALS, "level.credentials", status, summary, fix)

        if self.apis.level is None or self.apis.level_extras is None:
            if not self.api_mode:
                return [check(
                    "info",
                    "no Level API key: Level is not read (the stack's manual mode needs none; "
                    "`make audit` and `make verify` read Level's alerts with a read-only key: "
                    "export LEVEL_API_KEY)",
                )]
            problem = self.stack.level_problem
            return [check("fail", problem.summary if problem else "Level API key is not set",
                          problem.fix if problem else "")]
        try:
            if self.api_mode:
                self.apis.webhooks = list(self.apis.level.list_webhooks())
            else:
                self.apis.level_extras.read_one_alert()
        except WebhookManagementUnavailableError:
            return self._no_webhook_api()
        except UnauthorizedError:
            return [check(
                "fail",
                f"Level refused the API key (401), the one from {self.stack.level_from}",
                self._refused_fix(LEVEL, "a valid read & write Level key"),
            )]
        except ForbiddenError:
            return [check(
                "fail",
                "the Level API key may not read (403): wrong organisation or no access",
                "create a read & write key in Level: Settings > API keys",
            )]
        except ApiError as exc:
            return [check("fail", f"Level did not answer: {exc}", _base_url_fix("Level"))]
        self.level_ok = True
        what = f"{len(self.apis.webhooks or [])} webhooks readable" if self.api_mode else (
            "alerts readable"
        )
        return [check("pass", f"Level API key works ({what})"), self._level_rights()]

    def _no_webhook_api(self) -> list[Check]:
        """api mode against an organisation whose API answers 404 on /v2/webhooks (as
        production Level's does): the key is not at fault, the mode is. One documented read
        tells a working key from a refused one."""
        self.level_skip = (
            "this Level organisation's API has no webhook management (404 on /v2/webhooks)"
        )
        missing = Check(
            CREDENTIALS, "level.webhook_api", "fail",
            "Level's API has no webhook management (it answered 404 on /v2/webhooks, as "
            "Level's public API does): api mode cannot manage this organisation's webhooks",
            MANUAL_MODE_HINT + f", then `{self.up}`; `make audit STACK={self.stack.name}` "
            "then checks the Level side from evidence",
        )
        assert self.apis.level_extras is not None
        try:
            self.apis.level_extras.read_one_alert()
        except UnauthorizedError:
            return [Check(
                CREDENTIALS, "level.credentials", "fail",
                f"Level refused the API key (401), the one from {self.stack.level_from}",
                self._refused_fix(LEVEL, "a valid Level key"),
            ), missing]
        except ApiError as exc:
            return [Check(CREDENTIALS, "level.credentials", "fail",
                          f"Level did not answer: {exc}", _base_url_fix("Level")), missing]
        return [Check(CREDENTIALS, "level.credentials", "pass",
                      "Level API key works (alerts readable)"), missing]

    def _refused_fix(self, api: ApiSettings, valid: str) -> str:
        """How to replace a refused credential, where it came from (env var or stack file)."""
        came_from = self.stack.ilert_from if api is ILERT else self.stack.level_from
        if came_from == api.credential_env:
            return f"export {api.credential_env}=<{valid}>; it is {api.credential_what}"
        return (
            f"`pulumi config set --secret {api.credential_key} --stack {self.stack.name}` "
            f"(it asks for {valid}), or export {api.credential_env}=<{valid}> for this command; it "
            f"is {api.credential_what}"
        )

    def _level_rights(self) -> Check:
        def check(status: Status, summary: str, fix: str = "") -> Check:
            return Check(CREDENTIALS, "level.rights", status, summary, fix)

        if not self.api_mode:
            return check("info", "Level key access: manual mode writes nothing to Level")
        if not self.probe_write or self.apis.level_extras is None:
            return check(
                "info",
                "Level key access not checked: Level's API has no call that reports a key's "
                "access, and a read-only key passes every GET. `make doctor PROBE_WRITE=1` "
                "tells them apart with one write that changes nothing; or see Level: "
                "Settings > API keys",
            )
        try:
            writable = self.apis.level_extras.key_can_write()
        except ApiError as exc:
            return check("fail", f"Level key access could not be probed: {exc}")
        if writable:
            return check("pass", "Level API key is read & write (probed: it may write)")
        return check(
            "fail",
            "Level API key is read-only (Level answered 403 to a write): `make up` cannot "
            "create, repair or delete the webhook",
            "create a read & write key in Level (Settings > API keys; admins only) and export "
            "LEVEL_API_KEY=<it> or `pulumi config set --secret level:apiKey`",
        )

    # ----------------------------------------------------------------- integrations

    def integration(self, integration: Integration) -> list[Check]:
        """Every check of one integration, in the order of Level's procedure."""
        scope = integration.name
        if not self.ilert_ok:
            return [Check(scope, "source.exists", "skip", "not checked: ilert credentials failed")]
        try:
            ids = ids_for(
                integration,
                self.outputs,
                sources=lambda: self.apis.sources or [],
                webhooks=(lambda: self.apis.webhooks or []) if self.level_ok else None,
                url_of=lambda source_id: self.apis.source(source_id).integration_url,
            )
        except ApiError as exc:
            return [Check(scope, "source.exists", "fail", f"lookup failed: {exc}")]
        checks, source = self._source_checks(integration, ids)
        if source is not None:
            self.owner[source.id] = integration
            checks.append(self.filter_check(integration, source))
        if self.api_mode:
            checks.extend(self._webhook_checks(integration, ids, source))
        else:
            checks.extend(self._manual_checks(integration))
        if source is not None:
            checks.append(self._recent_alerts(scope, source))
        return checks

    def _source_checks(
        self, integration: Integration, ids: Ids
    ) -> tuple[list[Check], AlertSource | None]:
        scope, name = integration.name, integration.name
        if ids.alert_source_id is None:
            return [Check(
                scope, "source.exists", "fail",
                f"no ilert alert source is named {name!r} (names are exact)",
                f"`{self.up}` creates it; if it was renamed in ilert, rename it back",
            )], None
        try:
            source = self.apis.source(ids.alert_source_id)
        except NotFoundError:
            return [Check(
                scope, "source.exists", "fail",
                f"ilert alert source {ids.alert_source_id} (from {ids.origin}) no longer exists",
                f"`{self.up}` creates it again (a new URL: the webhook follows it)",
            )], None
        except ApiError as exc:
            return [Check(scope, "source.exists", "fail", f"reading the alert source: {exc}")], None
        checks = [Check(
            scope, "source.exists", "pass",
            f"ilert alert source exists: id {source.id} {source.name!r} (ids from {ids.origin})",
        )]
        if source.integration_type == LEVEL_INTEGRATION_TYPE:
            checks.append(Check(scope, "source.type", "pass", "it is of type Level.io (LEVELIO)"))
        else:
            checks.append(Check(
                scope, "source.type", "fail",
                f"it is of type {source.integration_type}, not Level.io (LEVELIO): ilert does "
                f"not understand Level's deliveries",
                f"`{self.up}` replaces it with a Level.io source (and re-points the webhook)",
            ))
        if source.active:
            checks.append(Check(scope, "source.active", "pass", "it is active"))
        else:
            declared = " as declared (active: false)" if not integration.active else ""
            fix = (
                "set active: true for this integration in the stack file, then "
                f"`{self.up}`" if not integration.active else
                f"`{self.up}` activates it again (or in ilert: Alert sources > {name} > "
                "enable it)"
            )
            checks.append(Check(
                scope, "source.active", "fail",
                f"it is inactive{declared}: ilert ignores every delivery from Level", fix,
            ))
        checks.append(self._policy_check(integration, source))
        return checks, source

    def _policy_check(self, integration: Integration, source: AlertSource) -> Check:
        """The source's escalation policy exists and is the declared one (an id is compared
        with its id, a name with its exact name, as the provider's diff does)."""
        scope, policy = integration.name, source.escalation_policy
        assert self.apis.ilert is not None
        try:
            found = self.apis.ilert.get_escalation_policy(policy.id)
        except NotFoundError:
            return Check(
                scope, "source.policy", "fail",
                f"its escalation policy {policy.id} does not exist: nobody is paged",
                f"set escalationPolicy to an existing policy (id or exact name), then `{self.up}`",
            )
        except ApiError as exc:
            return Check(scope, "source.policy", "fail", f"reading its escalation policy: {exc}")
        declared = integration.escalation_policy
        live = f"{found.name!r} (id {found.id})"
        if (found.id if isinstance(declared, int) else found.name) == declared:
            return Check(
                scope, "source.policy", "pass",
                f"its escalation policy exists: {live}, as declared",
            )
        wanted = f"id {declared}" if isinstance(declared, int) else repr(declared)
        return Check(
            scope, "source.policy", "fail",
            f"its escalation policy is {live}, not the declared {wanted}: the wrong people "
            "are paged",
            self._policy_fix(declared),
        )

    def _policy_fix(self, declared: int | str) -> str:
        """`make up` when the declared policy exists; else that it does not (up would fail)."""
        assert self.apis.ilert is not None
        try:
            if isinstance(declared, int):
                self.apis.ilert.get_escalation_policy(declared)
                exists = True
            else:
                exists = self.apis.ilert.find_escalation_policy_by_name(declared) is not None
        except NotFoundError:
            exists = False
        except ApiError:
            exists = True  # cannot tell: `make up` says so if it does not
        if exists:
            return f"`{self.up}` puts the declared policy back"
        what = f"id {declared}" if isinstance(declared, int) else f"named {declared!r}"
        return (
            f"no ilert escalation policy is {what} any more (names are exact): set "
            f"escalationPolicy to an existing policy (id or exact name), then `{self.up}`"
        )

    def _webhook_checks(
        self, integration: Integration, ids: Ids, source: AlertSource | None
    ) -> list[Check]:
        scope = integration.name
        if not self.level_ok or self.apis.level is None:
            return [Check(scope, "webhook.exists", "skip", f"not checked: {self.level_skip}")]
        if source is None or not source.integration_url:
            return [Check(
                scope, "webhook.exists", "skip",
                "not checked: without the alert source there is no URL to look for",
            )]
        url = source.integration_url
        webhook = self._webhook(ids)
        if webhook is None:
            gone = f"Level webhook {ids.webhook_id} (from {ids.origin}) no longer exists" if (
                ids.webhook_id
            ) else "no Level webhook points at the alert source's URL"
            return [Check(
                scope, "webhook.exists", "fail",
                f"{gone}: Level sends this integration's alerts nowhere",
                f"`{self.up}` creates it",
            ), self.duplicates(scope, url, None)]
        how = "exact URL" if webhook.url == url else "nearest URL"
        origin = ids.origin if ids.webhook_id and ids.origin == "pulumi stack output" else (
            f"found by its {how}"
        )
        checks = [Check(
            scope, "webhook.exists", "pass", f"Level webhook exists: {webhook.id} ({origin})"
        )]
        if webhook.enabled:
            checks.append(Check(scope, "webhook.enabled", "pass", "it is enabled"))
        else:
            declared = not integration.webhook_enabled
            checks.append(Check(
                scope, "webhook.enabled", "fail",
                "it is disabled" + (" as declared (webhookEnabled: false)" if declared else "")
                + ": Level delivers nothing",
                f"set webhookEnabled: true, then `{self.up}`" if declared else
                f"`{self.up}` enables it again (or in Level: Settings > Webhooks > Enabled)",
            ))
        if webhook.url == url:
            checks.append(Check(
                scope, "webhook.url", "pass", "it points at exactly the alert source's URL"
            ))
        else:
            checks.append(Check(
                scope, "webhook.url", "fail",
                "its URL is not the alert source's URL: ilert never receives the deliveries",
                f"`{self.up}` puts the exact URL back (by hand: paste the URL `make "
                f"instructions STACK={self.stack.name} SHOW_SECRETS=1` shows, no spaces)",
                tuple(explain_difference(url, webhook.url)),
            ))
        checks.append(self._events(scope, webhook))
        checks.append(self.scope_check(integration, webhook))
        if integration.webhook_secret or integration.name in self.stack.secure_webhook_secrets:
            checks.append(
                Check(scope, "webhook.secret", "pass", "it has a secret (deliveries are signed)")
                if webhook.has_secret else Check(
                    scope, "webhook.secret", "fail",
                    "it has no secret although webhookSecret is set: deliveries are unsigned",
                    f"`{self.up}` sets it again",
                )
            )
        checks.append(self.duplicates(scope, url, webhook))
        checks.append(Check(scope, "webhook.deliveries", "info", REQUESTS_TAB))
        return checks

    def filter_check(self, integration: Integration, source: AlertSource) -> Check:
        scope = integration.name
        live, declared = source.event_filter, integration.event_filter
        if live == declared:
            what = f"accepts only alerts where {live}" if live else "accepts every alert"
            return Check(scope, "source.filter", "pass", f"its eventFilter {what}, as declared")
        now = repr(live) if live else "none (it accepts every alert)"
        return Check(
            scope, "source.filter", "fail",
            f"its eventFilter differs from the stack file: ilert has {now}, the stack declares "
            f"{declared!r}" if declared else
            f"it has an eventFilter the stack does not declare ({live!r}): alerts it rejects "
            "page nobody",
            f"`{self.up}` puts the declared filter back",
        )

    def scope_check(self, integration: Integration, webhook: Webhook) -> Check:
        scope = integration.name
        fix = f"`{self.up}` puts the declared scope back"
        if webhook.group_ids == []:
            return Check(
                scope, "webhook.scope", "fail",
                "its device-group scope is empty: the groups it named were deleted in Level, "
                "so it delivers nothing (Level never widens a scope to the whole organisation)",
                "set deviceGroups to existing groups, or remove it for the whole organisation; "
                f"then `{self.up}`",
            )
        groups = self.apis.level_groups()
        by_id = {group.id: group for group in groups}
        live = (
            "the whole organisation" if webhook.group_ids is None else
            ", ".join(describe(by_id[i], by_id) if i in by_id else i for i in webhook.group_ids)
        )
        if integration.device_groups is None:
            if webhook.group_ids is None:
                return Check(scope, "webhook.scope", "pass",
                             "it gets alerts of the whole organisation, as declared")
            return Check(scope, "webhook.scope", "fail",
                         f"it is scoped to {live}, but the stack declares the whole "
                         "organisation", fix)
        try:
            declared = resolve(integration.device_groups, groups, "deviceGroups")
        except UnknownGroupError as exc:
            return Check(scope, "webhook.scope", "fail", str(exc),
                         "fix deviceGroups in the stack file, then " + f"`{self.up}`")
        if webhook.group_ids is not None and sorted(webhook.group_ids) == declared:
            return Check(scope, "webhook.scope", "pass",
                         f"it gets alerts of devices in {live} and below, as declared")
        return Check(scope, "webhook.scope", "fail",
                     f"its device-group scope is {live}, not the declared "
                     f"{', '.join(map(repr, integration.device_groups))}", fix)

    def routing_checks(self) -> list[Check]:
        """The routing table and what pages twice or nowhere (api mode, both APIs readable)."""
        where = "routing"
        if not self.api_mode:
            return [Check(
                where, "routing.table", "skip",
                "routing NOT checked (manual mode: Level's API cannot show webhooks, so which "
                "source receives which alert cannot be read); `make audit "
                f"STACK={self.stack.name}` shows where each Level alert actually went",
            )]
        if not (self.ilert_ok and self.level_ok):
            return [Check(where, "routing.table", "skip",
                          "not checked: the credentials of both APIs are needed")]
        try:
            live = self.apis.routing(self.stack, self._owners())
        except ApiError as exc:
            return [Check(where, "routing.table", "fail", f"reading the routing: {exc}")]
        with_devices: set[str | None] = {
            g.id for g in live.groups if (g.model_extra or {}).get("device_count", 1)
        }
        extras = self.apis.level_extras
        try:
            if extras is not None and extras.has_ungrouped_devices():
                with_devices.add(None)
        except ApiError:
            with_devices.add(None)  # cannot tell: count them as there
        rows = routing.table(live, with_devices)
        twice = [row.text() for row in rows if row.twice]
        nowhere = [row.text() for row in rows if row.nowhere]
        checks = []
        if twice:
            checks.append(Check(
                where, "routing.twice", "fail",
                f"{len(twice)} kind(s) of Level alert open an ilert alert on two or more "
                "sources: each pages twice",
                "scope or filter those integrations apart (deviceGroups, eventFilter), or say "
                "both should receive it (sharesAlertsWith); a webhook outside the stack, or a "
                "second webhook to one source's URL (\"by 2 webhooks\"): delete it in Level "
                f"(Settings > Webhooks) or filter its source; then `{self.up}`",
                tuple(twice[:ROWS_SHOWN]),
            ))
        if nowhere:
            checks.append(Check(
                where, "routing.nowhere", "fail",
                f"{len(nowhere)} kind(s) of Level alert on groups with devices open no ilert "
                "alert: nobody is paged for them",
                "scope an integration to those groups (deviceGroups), widen an eventFilter, or "
                "add an org-wide integration for the rest",
                tuple(nowhere[:ROWS_SHOWN]),
            ))
        if not twice and not nowhere:
            checks.append(Check(
                where, "routing.once", "pass",
                "every Level alert on a device opens at most one ilert alert (beyond "
                "sharesAlertsWith), and every group with devices is covered",
            ))
        lines = [row.text() for row in rows]
        hidden = len(lines) - ROWS_SHOWN
        checks.append(Check(
            where, "routing.table", "info",
            "which ilert sources open an alert, per group and severity (live groups, webhooks "
            "and filters; how ilert reads a Level alert is the sandbox's assumption)",
            details=(*lines[:ROWS_SHOWN], *([f"... and {hidden} more"] if hidden > 0 else [])),
        ))
        return checks

    def _owners(self) -> dict[int, Integration]:
        """Each alert source id of the stack with its integration, also of integrations not
        checked this run (``INTEGRATION=``), so the table names them as the stack's."""
        owners = dict(self.owner)
        for integration in self.stack.settings.integrations:
            if integration in owners.values():
                continue
            ids = ids_for(integration, self.outputs, sources=lambda: self.apis.sources or [],
                          webhooks=None, url_of=lambda _id: None)
            if ids.alert_source_id is not None:
                owners[ids.alert_source_id] = integration
        return owners

    def _webhook(self, ids: Ids) -> Webhook | None:
        if ids.webhook_id is None:
            return None
        known = {w.id: w for w in self.apis.webhooks or []}
        if ids.webhook_id in known:
            return known[ids.webhook_id]
        assert self.apis.level is not None
        try:
            return self.apis.level.get_webhook(ids.webhook_id)
        except NotFoundError:
            return None

    def _events(self, scope: str, webhook: Webhook) -> Check:
        if webhook.event_types is None:
            return Check(
                scope, "webhook.events", "pass",
                "it sends all event types (both alert events included)",
            )
        missing = [e for e in ALERT_EVENT_TYPES if e not in webhook.event_types]
        if not missing:
            return Check(
                scope, "webhook.events", "pass",
                "it is subscribed to both alert_active and alert_resolved",
            )
        effect = (
            "alerts never open in ilert" if ALERT_ACTIVE in missing
            else "ilert alerts open but never resolve"
        )
        labels = " and ".join(
            {"alert_active": "Alert active", "alert_resolved": "Alert resolved"}[e]
            for e in missing
        )
        return Check(
            scope, "webhook.events", "fail",
            f"it is not subscribed to {', '.join(missing)}: {effect} (one-way sync)",
            f"`{self.up}` subscribes both again (or in Level: Settings > Webhooks > edit > "
            f"tick {labels})",
        )

    def duplicates(self, scope: str, url: str, webhook: Webhook | None) -> Check:
        others = [
            w for w in self.apis.webhooks or []
            if w.url == url and (webhook is None or w.id != webhook.id)
        ]
        delivering = [w for w in others if w.enabled]
        if not delivering:
            paused = f" ({len(others)} more, disabled)" if others else ""
            return Check(
                scope, "webhook.duplicates", "pass",
                f"no other webhook delivers to this URL{paused}",
            )
        ids = ", ".join(w.id for w in delivering)
        keep = f"keep {webhook.id}, the stack's" if webhook is not None else "keep one"
        return Check(
            scope, "webhook.duplicates", "fail",
            f"{len(delivering)} other enabled webhook(s) deliver to the same URL ({ids}): ilert "
            f"gets every Level alert {len(delivering) + (webhook is not None)} times",
            f"delete the extra webhook(s) in Level (Settings > Webhooks); {keep}",
        )

    def _manual_checks(self, integration: Integration) -> list[Check]:
        scope = integration.name
        return [Check(
            scope, "webhook.manual", "skip",
            "Level side NOT checked (manual mode: Level's API cannot show webhooks). "
            f"`make audit STACK={self.stack.name}` checks it from evidence (Level's alerts "
            "against ilert's); in Level, Settings > Webhooks, check by eye:",
            details=(
                f"- the URL equals exactly (no spaces) the one `make instructions "
                f"STACK={self.stack.name} SHOW_SECRETS=1` shows for {integration.name!r}",
                "- Events to send: Alert active and Alert resolved are both ticked",
                "- Enabled is on, and no second webhook has the same URL",
                f"- {REQUESTS_TAB}",
            ),
        )]

    def _recent_alerts(self, scope: str, source: AlertSource) -> Check:
        extras = self.apis.ilert_extras
        assert extras is not None
        try:
            alerts = extras.recent_alerts(source.id)
            log = extras.alert_log(alerts[0].id) if alerts else []
        except ApiError as exc:
            return Check(scope, "source.recent", "info", f"recent alerts not readable: {exc}")
        if not alerts:
            return Check(
                scope, "source.recent", "info",
                f"no alert has reached this source yet; `make verify STACK={self.stack.name}` "
                + ("tests it with an alert raised in Level" if not self.api_mode else
                   "sends a test alert"),
            )
        lines = [
            f"#{a.id} {a.status:<8} {a.report_time or '':<24} {a.summary or ''}"[:120]
            for a in alerts
        ]
        lines += [
            f"  #{alerts[0].id} log: {entry.get('timestamp', '')} {entry.get('text', '')}"[:120]
            for entry in log[-3:]
        ]
        return Check(
            scope, "source.recent", "info",
            f"recent deliveries as ilert saw them: the newest {len(alerts)} alert(s) of this "
            "source",
            details=tuple(lines),
        )


def _base_url_fix(api: str) -> str:
    key = "ilert:baseUrl / ILERT_BASE_URL" if api == "ilert" else "level:baseUrl / LEVEL_BASE_URL"
    return f"check {key} and that the API is reachable from here"

