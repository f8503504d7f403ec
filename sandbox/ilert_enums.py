"""ilert's enumerations and value lists, as the fake validates them.

``IntegrationType`` is read from ilert's published OpenAPI document when it is present
(``ILERT_OPENAPI_SPEC`` or ``../shared/reference/ilert-openapi.yml`` next to the repo), so
the sandbox tracks the spec it is checked against; otherwise the copy below (taken from
the OAS ``v2.2026.5-r.3``, 151 values, LEVELIO included) is used. The spec is scanned as
text, not parsed, so the sandbox needs no YAML library at run time.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path
from typing import Final

ALERT_CREATIONS: Final = (
    "ONE_ALERT_PER_EMAIL",
    "ONE_ALERT_PER_EMAIL_SUBJECT",
    "ONE_PENDING_ALERT_ALLOWED",
    "ONE_OPEN_ALERT_ALLOWED",
    "OPEN_RESOLVE_ON_EXTRACTION",
    "ONE_ALERT_GROUPED_PER_WINDOW",
    "INTELLIGENT_GROUPING",
)
#: alertCreation values that need an alertGroupingWindow (and the only ones that allow one).
GROUPING_CREATIONS: Final = ("ONE_ALERT_GROUPED_PER_WINDOW", "INTELLIGENT_GROUPING")
ALERT_GROUPING_WINDOWS: Final = (
    "PT2M", "PT5M", "PT15M", "PT30M", "PT1H", "PT2H", "PT4H", "PT8H", "PT12H", "PT24H",
)  # fmt: skip
AUTO_RESOLUTION_TIMEOUTS: Final = (
    *(f"PT{minutes}M" for minutes in range(10, 61, 10)),
    "PT90M",
    *(f"PT{hours}H" for hours in range(2, 7)),
    "PT12H",
    "PT24H",
)
ALERT_PRIORITY_RULES: Final = (
    "HIGH", "LOW", "HIGH_DURING_SUPPORT_HOURS", "LOW_DURING_SUPPORT_HOURS",
)  # fmt: skip
SETUP_STATUSES: Final = ("CREATED", "CREATED_ADVANCED", "CREATED_BIDIRECTIONAL", "FINISHED")
ALERT_STATES: Final = ("PENDING", "ACCEPTED", "RESOLVED")
EVENT_TYPES: Final = ("ALERT", "ACCEPT", "RESOLVE", "COMMENT")
#: Integration types whose integrationKey is an email address the client supplies.
EMAIL_TYPES: Final = ("EMAIL", "EMAIL2")

BUILTIN_INTEGRATION_TYPES: Final[tuple[str, ...]] = (
    "NAGIOS",
    "ICINGA",
    "EMAIL2",
    "SMS",
    "API",
    "HEARTBEAT2",
    "PRTG",
    "PINGDOM",
    "CLOUDWATCH",
    "AWSPHD",
    "STACKDRIVER",
    "INSTANA",
    "ZABBIX",
    "SOLARWINDS",
    "PROMETHEUS",
    "NEWRELIC",
    "GRAFANA",
    "GITHUB",
    "DATADOG",
    "UPTIMEROBOT",
    "APPDYNAMICS",
    "DYNATRACE",
    "TOPDESK",
    "STATUSCAKE",
    "MONITOR",
    "TOOL",
    "CHECKMK",
    "AUTOTASK",
    "AWSBUDGET",
    "SYSDIG",
    "SERVERDENSITY",
    "ZAPIER",
    "KENTIXAM",
    "JIRA",
    "CONSUL",
    "ZAMMAD",
    "SPLUNK",
    "SERVICENOW",
    "SEARCHGUARD",
    "KUBERNETES",
    "SIGNALFX",
    "AZUREALERTS",
    "TERRAFORMCLOUD",
    "SENTRY",
    "SEMATEXT",
    "SUMOLOGIC",
    "RAYGUN",
    "MXTOOLBOX",
    "ESWATCHER",
    "AMAZONSNS",
    "KAPACITOR",
    "CORTEXXSOAR",
    "ZENDESK",
    "AUVIK",
    "SENSU",
    "NCENTRAL",
    "JUMPCLOUD",
    "SALESFORCE",
    "GUARDDUTY",
    "STATUSHUB",
    "IXON",
    "APIFORTRESS",
    "FRESHSERVICE",
    "APPSIGNAL",
    "LIGHTSTEP",
    "IBMCLOUDFUNCTIONS",
    "CROWDSTRIKE",
    "HUMIO",
    "OHDEAR",
    "MONGODBATLAS",
    "GITLAB",
    "HYPERPING",
    "PAPRISMACLOUD",
    "SAMSARA",
    "PANDORAFMS",
    "MSSCOM",
    "TWILIO",
    "CISCOMERAKI",
    "CHECKLY",
    "POSTHOG",
    "GOOGLESCC",
    "SLACK",
    "MSTEAMS",
    "UPTIMEKUMA",
    "TWILIOERRORS",
    "PARTICLE",
    "CLOUDFLARE",
    "TULIP",
    "GRAYLOG",
    "CATCHPOINT",
    "LOKI",
    "CORTEX",
    "MIMIR",
    "HALOPSA",
    "INFLUXDB",
    "CALLFLOW",
    "HALOITSM",
    "KIBANA",
    "VICTORIAMETRICS",
    "HONEYCOMB",
    "FOURME",
    "KEEP",
    "UBIDOTS",
    "HETRIXTOOLS",
    "POSTMAN",
    "CLUSTERCONTROL",
    "NETDATA",
    "AWX",
    "KAFKA",
    "MQTT",
    "RAPIDSPIKE",
    "HONEYBADGER",
    "HEALTHCHECKSIO",
    "MEZMO",
    "SERVERGUARD24",
    "CISCOTHOUSANDEYES",
    "SITE24X7",
    "ITCONDUCTOR",
    "SAPFRUN",
    "APICA",
    "DASH0",
    "ROLLBAR",
    "GATUS",
    "LIBRENMS",
    "PANTHER",
    "TEAMCITY",
    "ALIBABACLOUD",
    "FLEETDM",
    "CONNECTWISEPSA",
    "DEADMANSSNITCH",
    "FORTISOAR",
    "OPMANAGER",
    "CRONITOR",
    "DOMOTZ",
    "LIVEWATCH",
    "AZUREDEVOPS",
    "LEVELIO",
    "EKARA",
    "SYSAID",
    "PHAREIO",
    "OPSGENIE",
    "WHATAP",
    "SIGNOZ",
    "GOOGLECHAT",
    "DOTCOMMONITOR",
    "UPTIME",
    "HELPSCOUT",
    "SCIENCELOGIC",
    "PULSETIC",
    "WAZUH",
    "SEKOIA",
)

_ENUM_ITEM = re.compile(r"\s+- ([A-Z0-9_]+)\s*")


def _spec_path() -> Path:
    default = Path(__file__).resolve().parents[2] / "shared" / "reference" / "ilert-openapi.yml"
    return Path(os.environ.get("ILERT_OPENAPI_SPEC", default))


def _scan_integration_types(text: str) -> tuple[str, ...]:
    """The ``components.schemas.IntegrationType`` enum, read from the spec's YAML text."""
    lines = text.splitlines()
    try:
        start = lines.index("    IntegrationType:")
    except ValueError:
        return ()
    values: list[str] = []
    in_enum = False
    for line in lines[start + 1 : start + 400]:
        if not in_enum:
            in_enum = line.strip() == "enum:"
            continue
        match = _ENUM_ITEM.fullmatch(line)
        if match is None:
            break
        values.append(match.group(1))
    return tuple(values)


@functools.cache
def integration_types() -> frozenset[str]:
    """Every ``integrationType`` the fake accepts: the spec's enum, else the built-in copy."""
    try:
        scanned = _scan_integration_types(_spec_path().read_text(encoding="utf-8"))
    except OSError:
        scanned = ()
    return frozenset(scanned if "LEVELIO" in scanned else BUILTIN_INTEGRATION_TYPES)
