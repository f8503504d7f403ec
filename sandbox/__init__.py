"""Local, contract-faithful fakes of the ilert and Level APIs: ``python -m sandbox``.

One process serves a fake ilert REST API (default http://127.0.0.1:8790, paths under
``/api``) and a fake Level v2 API (default http://127.0.0.1:8791, paths under ``/v2``)
on loopback only, with fixed credentials:

- ilert: ``Authorization: Bearer sandbox-ilert-token``
- Level: ``Authorization: sandbox-level-key`` (read & write) or
  ``sandbox-level-readonly-key`` (read-only: every write answers 403)

A Level webhook pointed at an ilert LEVELIO alert source's ``integrationUrl`` really
delivers: raising a Level alert opens an ilert alert, resolving it resolves that alert.

Sandbox-only control routes (for curl users; not part of either real API). They answer only
requests to a loopback ``Host`` and, for POST/PUT/PATCH, with ``Content-Type:
application/json`` (so that a web page open in a browser cannot drive them):

Level app::

    # raise an alert on a device (created on first use); delivers alert_active
    curl -X POST http://127.0.0.1:8791/sandbox/alerts -H 'Authorization: sandbox-level-key' \\
         -H 'Content-Type: application/json' \\
         -d '{"device_hostname": "WS-042", "name": "CPU usage", "severity": "critical",
              "description": "CPU usage >75.0% for 10 minutes", "payload": null}'
    # resolve it (the real v2 route); delivers alert_resolved once
    curl -X POST http://127.0.0.1:8791/v2/alerts/<id>/resolve -H 'Authorization: sandbox-level-key'
    # the delivery log (Level's "Requests" tab): attempts, statuses, errors
    curl http://127.0.0.1:8791/sandbox/deliveries

Routing (reference/level-webhook-contract.md, "Group scope"). The world starts with an MSP's
group tree: clients "Acme Corp" (sites "HQ", "Warehouse") and "Globex" (site "HQ"), devices
in the sites (ACME-HQ-SRV01, ACME-HQ-WS01, ACME-WH-WS01, GLOBEX-HQ-SRV01, GLOBEX-HQ-WS01)::

    curl http://127.0.0.1:8791/v2/groups -H 'Authorization: sandbox-level-key'
    curl 'http://127.0.0.1:8791/v2/devices?ancestor_group_id=<id>' -H 'Authorization: ...'
    # raise on an existing device (by hostname or device_id), or on a new one in a group
    curl -X POST http://127.0.0.1:8791/sandbox/alerts -H 'Authorization: sandbox-level-key' \\
         -H 'Content-Type: application/json' \\
         -d '{"device_hostname": "ACME-HQ-SRV01", "name": "Disk", "severity": "emergency"}'
    # add a group or a device; delete a group (its id leaves every webhook's group_ids)
    curl -X POST .../sandbox/groups -H 'Content-Type: application/json' \
         -d '{"name": "Initech", "parent_id": null}' ...
    curl -X POST .../sandbox/devices -H 'Content-Type: application/json' \
         -d '{"hostname": "INITECH-01", "group_id": "<id>"}' ...
    curl -X DELETE .../sandbox/groups/<id> -H 'Authorization: sandbox-level-key'

A webhook with ``group_ids`` gets an alert only when its device is in one of those groups
or below one. An ilert source's ``eventFilter`` (ICL, read by the sandbox's own
``sandbox.icl_eval``) is evaluated on each ``alert_active``: false drops it (202,
``EVENT_FILTERED``, reason in the intake log).

A production organisation (Level publishes no webhook API): switch the webhook API off and
``/v2/webhooks`` answers 404 like any unknown path; webhooks are then made as a person makes
them in Level's UI (Settings > Webhooks), through ``/sandbox/webhooks`` (same fields and
rules as the contract; docs/manual-mode.md, "Try it on the sandbox")::

    curl -X PUT .../sandbox/webhook-api -d '{"enabled": false}' ...     # GET: the switch
    curl -X POST .../sandbox/webhooks -d '{"url": "<ilert URL>", "event_types":
         ["alert_active", "alert_resolved"], "group_ids": ["<id>"]}' ...  # GET lists them
    curl -X PATCH .../sandbox/webhooks/<id> -d '{"enabled": false}' ...  # DELETE removes

ilert app::

    # what ilert did with each incoming event (created/appended/resolved/ignored and why)
    curl http://127.0.0.1:8790/sandbox/intake
    # alerts of several sources opened in a window (ilert's from/until, on reportTime)
    curl 'http://127.0.0.1:8790/api/alerts?sources=<id>&sources=<id>&from=<ISO>&until=<ISO>' ...

Both apps: the fault switch (details and every field: ``sandbox.faults``). ``count`` null
= until cleared; ``status`` null = delay only; ``retry_after`` adds ``Retry-After`` (none
by default: ilert never sends one); ``mode`` is ``before`` (default: the API never sees
the request), ``after`` (the API acts, then the fault answers or delays its answer),
``reset_before`` / ``reset_after`` (the TCP connection is reset without a response,
before or after the API acted)::

    curl -X POST http://127.0.0.1:8790/sandbox/faults -H 'Content-Type: application/json' \\
         -d '{"method": "GET", "path": "/api/alert-sources", "status": 503, "count": 2}'
    # create the alert source, then drop the connection: the client never hears of it
    curl -X POST http://127.0.0.1:8790/sandbox/faults -H 'Content-Type: application/json' \\
         -d '{"method": "POST", "path": "/api/alert-sources", "mode": "reset_after"}'
    curl http://127.0.0.1:8790/sandbox/faults          # list the rules still armed
    curl -X DELETE http://127.0.0.1:8790/sandbox/faults

Every API call, faulted or not, is in the request log (``sandbox.requestlog``): a dropped
connection is logged with status 0 and ``fault="reset_before"``/``"reset_after"``.

Rate limits (off by default; ``sandbox.ratelimit``): per API key, sliding window; ilert
answers 429 without ``Retry-After`` (its published limit: 120 per 60 s), Level with one::

    python -m sandbox --ilert-rate-limit 120/60 --level-rate-limit 60/60 --time-scale 0.01
    Sandbox(rate_limits={"ilert": RateLimit()}, time_scale=0.01)   # 60 s windows last 0.6 s

From Python (tests): ``Sandbox`` below, or the ``sandbox`` pytest fixture.
"""

from sandbox.credentials import ILERT_TOKEN, LEVEL_API_KEY, LEVEL_READONLY_KEY
from sandbox.errors import ApiError
from sandbox.ratelimit import RateLimit
from sandbox.requestlog import DROPPED, RecordedRequest
from sandbox.server import Sandbox

__all__ = [
    "DROPPED",
    "ILERT_TOKEN",
    "LEVEL_API_KEY",
    "LEVEL_READONLY_KEY",
    "ApiError",
    "RateLimit",
    "RecordedRequest",
    "Sandbox",
]
