"""``python -m ops verify``: Level's end-to-end test of one integration, run for you.

Sandbox stack (both APIs on loopback): raise a Level alert through the sandbox's control
route, watch the ilert alert open, resolve the Level alert (``POST /v2/alerts/{id}/resolve``)
and watch the ilert alert resolve: every link of the wiring is exercised. The alert proves
the routing too (ops/routing.py): it is chosen by the routing the stack file declares, on a
device in the integration's declared device groups, with a text and severity its declared
eventFilter accepts and, where the live setup allows, that no other source's does; then
exactly that integration's source (and those it ``sharesAlertsWith``) must have opened an
alert for it, and no other ilert source. When the integration's live routing differs from
the declared one (its webhook's scope, its source's filter, a second webhook to its URL:
doctor's checks), no alert is raised: verify names the differences and ``make up``.

Real accounts: Level's API cannot raise an alert, so the Level webhook is checked by reading
it (the doctor's checks), and one Level-shaped ``alert_active`` and then ``alert_resolved``
delivery (the body and ``X-Level-Signature`` a Level webhook sends) is posted to the alert
source's URL while ilert's API is watched (an alert the declared eventFilter accepts; with
the live filter changed by hand, nothing is sent). That pages the on-call person of the
escalation policy, so the caller must confirm (``--yes``). Posting to one source's URL cannot prove
the routing: that Level's group scope sends this device's alerts here, and that no other
source gets them; verify says so, and ``make doctor``'s routing table reads it instead.

Manual mode (the stack does not manage the Level webhook, so a delivery verify posts itself
would prove only ilert's half): verify tests with a Level alert raised **in Level**, through
the hand-made webhook. On the sandbox verify raises it through the control route, standing in
for the person, and resolves it; on real accounts it picks an active Level alert the declared
routing sends to the integration, or asks the person to raise one in Level (and later to
resolve it), and waits, bounded, for it to open on the expected ilert source, on no other,
and to resolve there. It needs a Level key that may read alerts (read-only is enough).
``--send-delivery`` keeps the synthetic delivery; the Level side is then reported NOT
checked.

Whatever happens, also on Ctrl-C, what was opened is resolved again: the Level alert (or an
``alert_resolved`` delivery), then any ilert alert of the test still open, through ilert's API.
On a failure the doctor's checks of the integration name the broken link.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO, TypeVar
from urllib.parse import urlsplit

import requests

import icl
from clients.http import ApiError, is_loopback, proxies_for
from clients.ilert import Alert, AlertSource
from clients.level import Device, Group, LevelAlert, Webhook
from clients.level_groups import UnknownGroupError
from clients.untrusted import api_text
from components.settings import Integration
from ops import alert_key, routing
from ops.audit import Audit, AuditError, Route, Tree, Window
from ops.doctor import Apis, Doctor
from ops.ids import Outputs, ids_for
from ops.report import Check
from ops.stack import Stack
from ops.urls import mask

OPEN_STATES = ("PENDING", "ACCEPTED")
DEVICE = "level-ilert-verify"
DELIVERY_TIMEOUT = (5.0, 30.0)
USER_AGENT = "level-ilert verify (a Level-shaped webhook delivery)"
MATCH_WINDOW = 50  # newest alerts of the source searched for the test alert's key
PERSON_TIMEOUT = 600.0  # manual mode on real accounts: a person raises and resolves the alert
_T = TypeVar("_T")


class DeliveryError(RuntimeError):
    """Posting a delivery to the alert source's URL failed (the message never holds the URL)."""


@dataclass
class Opened:
    """What this run opened, so that it can always be closed again."""

    level_alert_id: str | None = None  # sandbox: the raised Level alert
    level_resolved: bool = False
    delivered: dict[str, Any] | None = None  # real accounts: the alert_active data sent
    resolved_sent: bool = False
    key: str | None = None  # the ilert alert key (= Level alert id: ops/alert_key.py)
    person_alert: str | None = None  # manual mode, real accounts: a Level alert not ours


@dataclass
class Result:
    """One integration's steps and clean-up lines."""

    name: str
    mode: str
    steps: list[Check] = field(default_factory=list)
    cleanup: list[str] = field(default_factory=list)
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        """True when no step failed and the clean-up left nothing open (a step that was
        NOT checked is not a failure: ``complete`` says whether there was one)."""
        return (
            not self.interrupted
            and all(s.status in ("pass", "info", "skip") for s in self.steps)
            and not any(line.startswith("could not") for line in self.cleanup)
        )

    @property
    def not_checked(self) -> list[Check]:
        """The steps that could not check their link (the Level side of a synthetic delivery
        in manual mode; a resolution nobody made in time)."""
        return [s for s in self.steps if s.status == "skip"]


class Verify:
    """Runs the end-to-end test; ``sleep``/``clock`` are injectable for tests."""

    def __init__(
        self,
        stack: Stack,
        outputs: Outputs,
        apis: Apis,
        *,
        timeout: float | None = None,
        poll: float = 1.0,
        send_delivery: bool = False,
        progress: TextIO | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stack = stack
        self.outputs = outputs
        self.apis = apis
        self.poll = poll
        self.sandbox = stack.on_loopback and not send_delivery
        #: manual mode: the test alert is a Level alert, through the hand-made webhook
        self.manual = stack.settings.webhook_management != "api" and not send_delivery
        #: ... raised and resolved by a person in Level (real accounts)
        self.by_person = self.manual and not self.sandbox
        self.timeout = PERSON_TIMEOUT if self.by_person and timeout is None else (
            timeout if timeout is not None else 60.0
        )
        self.progress = progress
        self._devices: dict[str, Device] = {}  # Level's devices (manual mode), by id
        self._started = datetime.now(UTC)  # when the current integration's test began
        self.sleep = sleep
        self.clock = clock

    @property
    def mode(self) -> str:
        """``sandbox`` (raise a Level alert), ``level`` (manual mode on real accounts: an
        alert raised in Level by a person) or ``delivery`` (post to the source's URL)."""
        if self.by_person:
            return "level"
        return "sandbox" if self.sandbox else "delivery"

    def run(self, integration: Integration) -> Result:
        """Test one integration end to end; always resolves what it opened."""
        result = Result(integration.name, self.mode)
        opened = Opened()
        self._started = datetime.now(UTC)
        try:
            self._test(integration, result, opened)
        except KeyboardInterrupt:
            result.interrupted = True
            result.steps.append(Check(
                integration.name, "verify.interrupted", "fail", "interrupted (Ctrl-C)"
            ))
        except (ApiError, DeliveryError) as exc:
            result.steps.append(Check(integration.name, "verify.error", "fail", str(exc)))
        finally:
            with _ctrl_c_deferred():
                result.cleanup = self._clean_up(integration, opened)
        return result

    # ---------------------------------------------------------------- the test

    def _test(self, integration: Integration, result: Result, opened: Opened) -> None:
        scope = integration.name
        step = result.steps.append
        source = self._source(integration)
        if source is None or not source.integration_url:
            step(Check(
                scope, "verify.source", "fail",
                f"no ilert alert source named {integration.name!r} to test",
                f"`make up STACK={self.stack.name}`; `make doctor` shows what is missing",
            ))
            return
        sent, probe = self._open(integration, source, result, opened)
        if not sent:
            return
        key = opened.key
        assert key is not None
        ilert_alert = self._wait("the ilert alert to open", lambda: self._alert(source, key))
        if ilert_alert is None:
            step(Check(
                scope, "verify.opened", "fail",
                f"no ilert alert opened on {source.name!r} within {self.timeout:g} s",
            ))
            result.steps.extend(self._broken_links(integration))
            return
        step(Check(
            scope, "verify.opened", "pass",
            f"ilert alert #{ilert_alert.id} opened ({ilert_alert.status}): {ilert_alert.summary}",
        ))
        step(self._only_here(integration, source, key, probe))
        if self.by_person:
            result.steps.extend(self._resolved_by_person(integration, ilert_alert, opened))
            return
        if self.sandbox:
            assert self.apis.level is not None
            assert opened.level_alert_id is not None
            self.apis.level.resolve_alert(opened.level_alert_id)
            opened.level_resolved = True
            step(Check(scope, "verify.resolve", "pass", "resolved the Level alert"))
        else:
            assert opened.delivered is not None
            answer = deliver(
                source.integration_url, "alert_resolved", resolved(opened.delivered),
                self._secret(integration),
            )
            opened.resolved_sent = True
            step(Check(scope, "verify.resolve", "pass", f"sent alert_resolved: {answer}"))
        closed = self._wait(
            "the ilert alert to resolve", lambda: self._resolved(ilert_alert.id)
        )
        if closed is None:
            step(Check(
                scope, "verify.resolved", "fail",
                f"ilert alert #{ilert_alert.id} did not resolve within {self.timeout:g} s",
            ))
            result.steps.extend(self._broken_links(integration))
            return
        step(Check(scope, "verify.resolved", "pass", f"ilert alert #{ilert_alert.id} resolved"))

    def _open(
        self, integration: Integration, source: AlertSource, result: Result, opened: Opened
    ) -> tuple[bool, routing.Probe | None]:
        """Send the test alert, chosen by the declared routing (sandbox: raise a Level alert;
        real accounts: post a delivery); False when nothing was sent (a step says why)."""
        if self.by_person:
            return self._person_alert(integration, source, result, opened), None
        if self.sandbox:
            probe = self._raise(integration, source, result, opened)
            return probe is not None, probe
        return self._send(integration, source, result, opened), None

    def _raise(
        self, integration: Integration, source: AlertSource, result: Result, opened: Opened
    ) -> routing.Probe | None:
        """Sandbox: a Level alert on a device in the declared groups, of a severity and text
        the declared eventFilter accepts (and, where possible, no other source's)."""
        scope, step = integration.name, result.steps.append
        if self.apis.level_extras is None or self.apis.level is None:
            problem = self.stack.level_problem
            step(Check(scope, "verify.raise", "fail",
                       f"no Level API key to raise an alert: {problem.summary}" if problem
                       else "no Level API key to raise an alert",
                       problem.fix if problem else ""))
            return None
        live = self._routing()
        drifted = self._drift(integration, source, live)
        if drifted is not None:
            step(drifted)
            return None
        try:
            declared = routing.Declared.of(integration, live.groups)
        except UnknownGroupError as exc:
            step(Check(scope, "verify.raise", "fail", str(exc), "fix deviceGroups in the "
                       f"stack file, then `make up STACK={self.stack.name}`"))
            return None
        probe = routing.probe_for(live, integration, declared, uuid.uuid4().hex[:8])
        if probe is None:
            step(Check(
                scope, "verify.raise", "fail",
                "no test alert fits this integration's declared routing: its eventFilter "
                "accepts nothing verify can build",
            ))
            result.steps.extend(self._broken_links(integration))
            return None
        data = probe.data
        alert = self.apis.level_extras.raise_sandbox_alert(
            device_hostname=str(data["device_hostname"]), name=str(data["name"]),
            severity=str(data["severity"]), description=str(data["description"]),
            group_id=probe.group_id,
        )
        opened.level_alert_id, opened.key = alert.id, alert_key.alert_key({"id": alert.id})
        step(Check(
            scope, "verify.raise", "pass",
            f"raised Level alert {alert.id} (sandbox): {data['severity']} on "
            f"{data['device_hostname']} "
            + (f"in {live.where(probe.group_id)}" if probe.group_id else "in no group"),
        ))
        return probe

    def _send(
        self, integration: Integration, source: AlertSource, result: Result, opened: Opened
    ) -> bool:
        """Real accounts: post an ``alert_active`` delivery the declared eventFilter accepts
        to the source's URL, after reading the Level webhook."""
        step = result.steps.append
        drifted = self._drift(integration, source, None)
        if drifted is not None:
            step(drifted)
            return False
        step(self._webhook_by_reading(integration))
        data = self._delivery_data(integration)
        opened.delivered, opened.key = data, str(data["id"])
        url = source.integration_url or ""
        answer = deliver(url, "alert_active", data, self._secret(integration))
        step(Check(
            integration.name, "verify.deliver", "pass",
            f"sent alert_active to the alert source's URL ({mask(url)}): {answer}",
        ))
        return True

    # ------------------------------------------------- manual mode: an alert raised in Level

    def _person_alert(
        self, integration: Integration, source: AlertSource, result: Result, opened: Opened
    ) -> bool:
        """Manual mode, real accounts: an active Level alert the declared routing sends to
        this integration, else one the person raises in Level now (waited for, bounded)."""
        scope, step = integration.name, result.steps.append
        level = self.apis.level
        if level is None:
            problem = self.stack.level_problem
            step(Check(
                scope, "verify.level", "fail",
                "manual mode tests with an alert raised in Level, and verify has no Level API "
                "key to see it" + (f" ({problem.summary})" if problem else ""),
                "export LEVEL_API_KEY=<a Level key; read-only is enough> (and LEVEL_BASE_URL "
                "when not https://api.level.io); or test only ilert's half with --send-delivery",
            ))
            return False
        drifted = self._drift(integration, source, None)
        if drifted is not None:
            step(drifted)
            return False
        if self.apis.sources is None and self.apis.ilert is not None:  # for _only_here
            self.apis.sources = list(self.apis.ilert.list_alert_sources())
        groups = self.apis.level_groups()
        try:
            route = Route.of(integration, groups)
        except (UnknownGroupError, icl.IclSyntaxError) as exc:
            step(Check(scope, "verify.level", "fail", str(exc)))
            return False
        active = [a.id for page in level.alert_pages(status="active") for a in page]
        picked = self._routed_here(route, groups, active, new_only=False)
        if picked is None:
            self._say(
                f"\n{integration.name}: raise a test alert in Level now, on a device in "
                f"{_scope_text(integration)}"
                + (f" that this eventFilter accepts: {integration.event_filter}"
                   if integration.event_filter else "")
                + " (e.g. an automation with the Create alert action). It pages the on-call "
                "person of this alert source like any alert.\n"
            )
            picked = self._wait(
                "a new Level alert routed here",
                lambda: self._routed_here(route, groups, active, new_only=True),
            )
        if picked is None:
            step(Check(
                scope, "verify.level", "fail",
                f"no Level alert routed to this integration appeared within {self.timeout:g} s",
                "raise one in Level on a device the integration's deviceGroups cover, then "
                "verify again (TIMEOUT=<seconds> waits longer)",
            ))
            return False
        opened.person_alert, opened.key = picked.id, alert_key.alert_key({"id": picked.id})
        step(Check(
            scope, "verify.level", "pass",
            f"Level alert {picked.id} ({picked.severity} {picked.name!r} on "
            f"{picked.device_hostname}) is one the declared routing sends here",
        ))
        return True

    def _routed_here(
        self, route: Route, groups: list[Group], before: list[str], *, new_only: bool
    ) -> LevelAlert | None:
        """The newest active Level alert the declared routing sends to ``route``'s
        integration (with ``new_only``, one that was not active at the start)."""
        level = self.apis.level
        assert level is not None
        tree = Tree(groups)
        candidates = [
            a for page in level.alert_pages(status="active") for a in page
            if not (new_only and a.id in before)
        ]
        if any(a.device_id not in self._devices for a in candidates):  # listed once, or anew
            self._devices = {d.id: d for d in level.list_devices()}  # when a device is new
        for alert in reversed(candidates):
            device = self._devices.get(alert.device_id or "")
            group_id = device.group_id if device is not None else None
            if route.sends(alert, group_id, tree.covers, device_known=device is not None):
                return alert
        return None

    def _resolved_by_person(
        self, integration: Integration, ilert_alert: Alert, opened: Opened
    ) -> list[Check]:
        """Manual mode, real accounts: the person resolves the Level alert; verify waits,
        bounded, for ilert to follow. No resolution in time is NOT checked, not a failure."""
        scope, level = integration.name, self.apis.level
        assert level is not None
        assert opened.person_alert is not None
        level_alert = opened.person_alert
        self._say(f"\n{integration.name}: now resolve Level alert {level_alert} in Level.\n")
        resolved_in_level = self._wait(
            "the Level alert to resolve",
            lambda: True if level.get_alert(level_alert).is_resolved else None,
        )
        if resolved_in_level is None:
            return [Check(
                scope, "verify.resolved", "skip",
                f"resolution NOT checked: Level alert {level_alert} was not resolved within "
                f"{self.timeout:g} s; resolve it in Level, then `make audit "
                f"STACK={self.stack.name}` checks that ilert followed",
            )]
        opened.level_resolved = True
        closed = self._wait("the ilert alert to resolve", lambda: self._resolved(ilert_alert.id))
        if closed is None:
            return [Check(
                scope, "verify.resolved", "fail",
                f"Level alert {level_alert} is resolved, ilert alert #{ilert_alert.id} is still "
                "open: the webhook does not send Alert resolved (one-way sync)",
                "in Level: Settings > Webhooks, edit the webhook with this integration's URL "
                "and tick Alert resolved; then resolve the ilert alert by hand",
            )]
        return [Check(scope, "verify.resolved", "pass",
                      f"ilert alert #{ilert_alert.id} resolved with the Level alert")]

    def _say(self, text: str) -> None:
        if self.progress is not None:
            self.progress.write(text)
            self.progress.flush()

    def _routing(self) -> routing.Routing:
        """The live routing (doctor's), with this stack's integrations as owners."""
        api_mode = self.stack.settings.webhook_management == "api"
        if self.apis.webhooks is None and self.apis.level is not None and api_mode:
            self.apis.webhooks = list(self.apis.level.list_webhooks())
        if self.apis.sources is None and self.apis.ilert is not None:
            self.apis.sources = list(self.apis.ilert.list_alert_sources())
        owner = {}
        for each in self.stack.integrations():
            found = self._quiet_source(each)
            if found is not None:
                owner[found.id] = each
        return self.apis.routing(self.stack, owner)

    def _drift(
        self, integration: Integration, source: AlertSource, live: routing.Routing | None
    ) -> Check | None:
        """Where the live routing differs from the declared one (doctor's checks of the
        source's eventFilter and, in api mode, the webhook's scope and the webhooks to its
        URL), as one failed step; None when it does not. A test alert built from the stack
        file would prove nothing about a routing that is not the stack file's, and verify
        never raises one into it."""
        doctor = Doctor(self.stack, self.outputs, self.apis)
        checks = [doctor.filter_check(integration, self.apis.source(source.id))]
        webhook = self._stack_webhook(integration, source, live)
        if webhook is not None and source.integration_url:
            checks.append(doctor.scope_check(integration, webhook))
            checks.append(doctor.duplicates(integration.name, source.integration_url, webhook))
        failed = [c for c in checks if c.status == "fail"]
        if not failed:
            return None
        up, look = f"make up STACK={self.stack.name}", f"make doctor STACK={self.stack.name}"
        return Check(
            integration.name, "verify.declared", "fail",
            "no test alert sent: the live routing differs from the stack file, so an alert "
            "chosen by the declared routing would not test it",
            f"`{up}` puts the declared routing back, or do what each line above says; "
            f"`{look}` shows every difference; then verify again",
            tuple(f"{c.summary}; fix: {c.fix}" for c in failed),
        )

    def _stack_webhook(
        self, integration: Integration, source: AlertSource, live: routing.Routing | None
    ) -> Webhook | None:
        """The stack's Level webhook of this integration (api mode, Level readable): by its
        id in the stack outputs, else by the source's URL, as doctor finds it."""
        if self.stack.settings.webhook_management != "api" or self.apis.level is None:
            return None
        if live is None and self.apis.webhooks is None:
            try:
                self.apis.webhooks = list(self.apis.level.list_webhooks())
            except ApiError:
                return None  # Level not readable: the webhook's read (below) says why
        webhooks = self.apis.webhooks or []
        ids = ids_for(
            integration, self.outputs, sources=lambda: [source], webhooks=lambda: webhooks,
            url_of=lambda _id: source.integration_url,
        )
        return next((w for w in webhooks if w.id == ids.webhook_id), None)

    def _delivery_data(self, integration: Integration) -> dict[str, Any]:
        """Real accounts: a Level alert the source's declared eventFilter accepts."""
        data = level_alert_data()
        if not integration.event_filter:
            return data
        declared = routing.Declared(None, icl.parse(integration.event_filter))
        nowhere = routing.Routing([], [], [integration])
        probe = routing.probe_for(nowhere, integration, declared, str(data["id"]))
        return {**data, **probe.data, "id": data["id"]} if probe is not None else data

    def _only_here(
        self, integration: Integration, source: AlertSource, key: str, probe: routing.Probe | None
    ) -> Check:
        """Exactly this source (and those it shares alerts with) opened an alert for it."""
        scope = integration.name
        if not self.sandbox and not self.by_person:
            return Check(
                scope, "verify.routing", "info",
                "not proven on real accounts: verify posted to this source's URL itself, so "
                "whether Level's device-group scope sends this device's alerts here, and "
                "whether another source also gets them, is not exercised; `make doctor` "
                "shows which sources each kind of Level alert reaches",
            )
        stack_sources = [s for s in map(self._quiet_source, self.stack.integrations()) if s]
        everyone = self.apis.sources or stack_sources  # every Level.io source ilert lists
        others = [
            s for s in everyone
            if s.id != source.id and s.integration_type == source.integration_type
        ]
        allowed = {
            s.name for s in others if s.name in (integration.shares_alerts_with or ())
        } | {
            i.name for i in self.stack.integrations()
            if integration.name in (i.shares_alerts_with or ())
        }
        extra = []
        for other in others:
            found = self._alert(other, key)
            if found is not None and other.name not in allowed:
                extra.append(f"{other.name!r} (#{found.id})")
        checked = ", ".join(repr(o.name) for o in others) or "none"
        if extra:
            return Check(
                scope, "verify.routing", "fail",
                f"the test alert also opened an ilert alert on {', '.join(extra)}: this kind "
                "of Level alert pages twice",
                "scope or filter the integrations apart (deviceGroups, eventFilter) or say both "
                "should receive it (sharesAlertsWith); `make doctor` shows the routing table",
            )
        note = "" if probe is None or probe.exclusive else (
            " (every test alert verify could build here also reaches another source)"
        )
        return Check(
            scope, "verify.routing", "pass",
            f"no other source of the stack opened an alert for it (checked: {checked}){note}",
        )

    def _source(self, integration: Integration) -> AlertSource | None:
        assert self.apis.ilert is not None
        ilert = self.apis.ilert
        ids = ids_for(
            integration, self.outputs,
            sources=lambda: list(ilert.list_alert_sources()), webhooks=None,
            url_of=lambda _id: None,
        )
        return self.apis.source(ids.alert_source_id) if ids.alert_source_id else None

    def _secret(self, integration: Integration) -> str | None:
        return integration.webhook_secret

    def _webhook_by_reading(self, integration: Integration) -> Check:
        """Real accounts: the Level side cannot be exercised, only read (doctor's checks)."""
        scope = integration.name
        if self.stack.settings.webhook_management != "api":
            return Check(
                scope, "verify.webhook", "skip",
                "Level side NOT checked: in manual mode Level's API cannot show the webhook, "
                "and this delivery was posted to ilert's URL by verify itself. `make verify "
                f"STACK={self.stack.name}` without --send-delivery tests it with an alert "
                f"raised in Level; `make audit STACK={self.stack.name}` checks it from evidence",
            )
        failed = [
            c for c in self._doctor_checks(integration)
            if c.status == "fail" and c.id.startswith(("webhook.", "level."))
        ]
        if failed:
            return Check(
                scope, "verify.webhook", "fail",
                "Level webhook (read, not exercised): " + "; ".join(c.summary for c in failed),
                failed[0].fix,
            )
        return Check(
            scope, "verify.webhook", "pass",
            "Level webhook read and correct (not exercised: Level's API cannot raise an alert)",
        )

    def _doctor_checks(self, integration: Integration) -> list[Check]:
        return Doctor(self.stack, self.outputs, self.apis).run(integration.name)

    def _broken_links(self, integration: Integration) -> list[Check]:
        """The doctor's failed checks of this integration: where the wiring is broken."""
        try:
            failed = [
                c for c in self._doctor_checks(integration)
                if c.status == "fail" and c.scope != "routing"  # the stack-wide table
            ]
        except ApiError as exc:
            return [Check(integration.name, "verify.diagnosis", "info", f"no diagnosis: {exc}")]
        if not failed and self.manual:
            failed = self._evidence_links(integration)
        if not failed:
            return [Check(
                integration.name, "verify.diagnosis", "info",
                "no doctor check explains it: look at Level's Requests tab (Settings > "
                "Webhooks) and the alert source's log in ilert",
            )]
        return [
            Check(integration.name, f"broken.{c.id}", "fail", f"broken link: {c.summary}",
                  c.fix, c.details)
            for c in failed
        ]

    def _evidence_links(self, integration: Integration) -> list[Check]:
        """Manual mode: doctor cannot read the Level side, so the audit of this run's few
        seconds names the broken link from evidence (where the test alert went)."""
        window = Window(self._started - timedelta(seconds=1), datetime.now(UTC),
                        datetime.now(UTC), settle=0)
        try:
            report = Audit(self.stack, self.outputs, self.apis, window,
                           only=integration.name).run()
        except AuditError:
            return []
        return [
            Check(integration.name, f"audit.{f.cause_id}", "fail", f.cause, f.fix)
            for f in report.findings
        ]

    def _alert(self, source: AlertSource, key: str) -> Alert | None:
        assert self.apis.ilert_extras is not None
        alerts = self.apis.ilert_extras.recent_alerts(source.id, MATCH_WINDOW)
        return next(
            (a for a in alerts if alert_key.same_key(a.alert_key, key)
             and a.status in OPEN_STATES), None
        )

    def _resolved(self, alert_id: int) -> Alert | None:
        assert self.apis.ilert is not None
        alert = self.apis.ilert.get_alert(alert_id)
        return alert if alert.status == "RESOLVED" else None

    def _wait(self, what: str, probe: Callable[[], _T | None]) -> _T | None:
        """Poll ``probe`` until it returns something or the timeout passes (bounded)."""
        started = self.clock()
        for _ in range(int(self.timeout / max(self.poll, 0.01)) + 2):
            found = probe()
            elapsed = self.clock() - started
            if found is not None:
                self._progress(f"waiting for {what}: done after {elapsed:.1f} s", end=True)
                return found
            if elapsed >= self.timeout:
                break
            self._progress(f"waiting for {what}: {elapsed:.0f} s of {self.timeout:g} s")
            self.sleep(min(self.poll, max(self.timeout - elapsed, 0.0)))
        self._progress(f"waiting for {what}: gave up after {self.timeout:g} s", end=True)
        return None

    def _progress(self, text: str, *, end: bool = False) -> None:
        """One line rewritten in place on a terminal; only the outcome line in a log."""
        if self.progress is None:
            return
        if self.progress.isatty():
            self.progress.write(f"\r  {text}" + ("\n" if end else ""))
        elif end:
            self.progress.write(f"  {text}\n")
        self.progress.flush()

    # ---------------------------------------------------------------- clean-up

    def _clean_up(self, integration: Integration, opened: Opened) -> list[str]:
        """Resolve whatever the test opened; one line per action, ``could not ...`` on failure."""
        lines: list[str] = []
        if opened.level_alert_id and not opened.level_resolved and self.apis.level is not None:
            try:
                self.apis.level.resolve_alert(opened.level_alert_id)
                lines.append(f"resolved Level alert {opened.level_alert_id}")
            except ApiError as exc:
                lines.append(
                    f"could not resolve Level alert {opened.level_alert_id} ({exc}): resolve it "
                    "in Level"
                )
        source = self._quiet_source(integration) if opened.key is not None else None
        if opened.delivered is not None and not opened.resolved_sent and source is not None:
            assert source.integration_url
            try:
                deliver(
                    source.integration_url, "alert_resolved", resolved(opened.delivered),
                    self._secret(integration),
                )
                lines.append("sent alert_resolved for the test alert")
            except DeliveryError as exc:
                lines.append(f"could not send alert_resolved ({exc})")
        if opened.key is None:
            return lines
        if opened.person_alert is not None:  # a Level alert verify did not raise: not ours
            return [f"left as it is: Level alert {opened.person_alert} and its ilert alert "
                    "(resolve it in Level; ilert follows)"] if not opened.level_resolved else []
        # A raised alert may have reached other sources too (a routing mistake): close them.
        sources = [source] if not self.sandbox else [
            s for s in (self._quiet_source(i) for i in self.stack.integrations()) if s
        ]
        for each in sources:
            if each is None:
                continue
            try:
                still_open = self._alert(each, opened.key)
                if still_open is not None:
                    assert self.apis.ilert_extras is not None
                    self.apis.ilert_extras.resolve_alert(still_open.id)
                    lines.append(f"resolved ilert alert #{still_open.id} through ilert's API")
            except ApiError as exc:
                lines.append(
                    f"could not check or resolve the test alert in ilert ({exc}): look for an "
                    f"open alert on {each.name!r} and resolve it"
                )
        return lines

    def _quiet_source(self, integration: Integration) -> AlertSource | None:
        try:
            return self._source(integration)
        except ApiError:
            return None


@contextlib.contextmanager
def _ctrl_c_deferred() -> Iterator[None]:
    """Ignore Ctrl-C while cleaning up (main thread only), so the clean-up is not cut short."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


# -------------------------------------------------------------------- deliveries

def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def level_alert_data() -> dict[str, Any]:
    """A Level alert object (reference/level-webhook-contract.md) for one test alert."""
    return {
        "id": f"level-ilert-verify-{uuid.uuid4().hex[:12]}",
        "device_id": None,
        "device_hostname": DEVICE,
        "name": "level-ilert verify test alert",
        "description": "Sent by `make verify` to test the Level to ilert wiring; it is resolved "
        "again at once.",
        "payload": None,
        "severity": "warning",
        "is_resolved": False,
        "started_at": _now(),
        "resolved_at": None,
    }


def resolved(data: dict[str, Any]) -> dict[str, Any]:
    """The same alert, resolved now."""
    return {**data, "is_resolved": True, "resolved_at": _now()}


def envelope(event_type: str, data: dict[str, Any]) -> bytes:
    """The raw body Level posts: ``{event_type, event_id, occurred_at, data}``."""
    return json.dumps({
        "event_type": event_type,
        "event_id": str(uuid.uuid4()),
        "occurred_at": _now(),
        "data": data,
    }).encode()


def signature(secret: str, body: bytes) -> str:
    """``X-Level-Signature``: ``sha256=`` + hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def deliver(url: str, event_type: str, data: dict[str, Any], secret: str | None) -> str:
    """POST one Level-shaped delivery to ``url``; ilert's answer in a few words.

    The URL is the integration's secret, so no message here ever contains it.
    """
    host = urlsplit(url).hostname or ""
    if not url.startswith("https://") and not (url.startswith("http://") and is_loopback(host)):
        raise DeliveryError("the alert source's URL is not https: refusing to send to it")
    body = envelope(event_type, data)
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
    if secret:
        headers["X-Level-Signature"] = signature(secret, body)
    try:
        response = requests.post(
            url, data=body, headers=headers, timeout=DELIVERY_TIMEOUT, allow_redirects=False,
            proxies=proxies_for(url),  # the sandbox on loopback: never through a proxy
        )
    except requests.RequestException as exc:
        raise DeliveryError(
            f"sending {event_type} failed: {type(exc).__name__} (to {mask(url)})"
        ) from None
    code = _response_code(response, (url, secret))  # it may quote the URL, its key, the secret
    if not 200 <= response.status_code < 300:
        raise DeliveryError(
            f"ilert answered {event_type} with HTTP {response.status_code}{code}"
        )
    return f"ilert answered HTTP {response.status_code}{code}"


def _response_code(response: requests.Response, secrets: tuple[str, str | None]) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    if isinstance(body, dict):
        text = body.get("responseCode") or body.get("message") or body.get("error")
        if isinstance(text, str) and text:
            return f" ({api_text(text, secrets, 80)})"  # redacted first, then cut
    return ""


def write_progress() -> TextIO:
    """Where the progress line goes: stderr, so that ``--json`` on stdout stays one document."""
    return sys.stderr


def _scope_text(integration: Integration) -> str:
    groups = integration.device_groups
    return ("the groups " + ", ".join(repr(g) for g in groups)) if groups else (
        "any group (it is org-wide)"
    )
