"""Routing in the sandbox: Level's groups, devices in groups, webhook ``group_ids`` (the
contract's "Group scope"), and ilert's ``eventFilter`` on Level deliveries ("What ilert
does with a delivery"), over loopback HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox import Sandbox
from tests.sandbox.helpers import create_source, create_webhook, ilert, level, receiver

NOWHERE = "https://hooks.example.com/level"


def groups(sb: Sandbox, **params: Any) -> dict[str, Any]:
    response = level(sb).get("/v2/groups", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_groups_are_a_tree_of_clients_and_sites_with_parents(sandbox: Sandbox) -> None:
    body = groups(sandbox)
    assert body["has_more"] is False
    by_id = {g["id"]: g for g in body["data"]}
    named = [
        (g["name"], by_id[g["parent_id"]]["name"] if g["parent_id"] else None)
        for g in body["data"]
    ]
    assert named == [
        ("Acme Corp", None), ("HQ", "Acme Corp"), ("Warehouse", "Acme Corp"),
        ("Globex", None), ("HQ", "Globex"),
    ]
    acme = body["data"][0]
    assert set(acme) == {
        "id", "name", "parent_id", "child_ids", "device_count", "descendent_device_count",
        "created_at",
    }
    assert [by_id[c]["name"] for c in acme["child_ids"]] == ["HQ", "Warehouse"]
    assert (acme["device_count"], acme["descendent_device_count"]) == (0, 3)
    assert level(sandbox).get(f"/v2/groups/{acme['id']}").json() == acme


def test_groups_page_by_cursor_and_filter_by_parent(sandbox: Sandbox) -> None:
    first = groups(sandbox, limit=2)
    assert [g["name"] for g in first["data"]] == ["Acme Corp", "HQ"]
    assert first["has_more"] is True
    rest = groups(sandbox, limit=2, starting_after=first["data"][-1]["id"])
    assert [g["name"] for g in rest["data"]] == ["Warehouse", "Globex"]
    assert [g["name"] for g in groups(sandbox, parent_id="null")["data"]] == [
        "Acme Corp", "Globex"
    ]
    globex = sandbox.level_group_id("Globex")
    assert [g["name"] for g in groups(sandbox, parent_id=globex)["data"]] == ["HQ"]
    assert level(sandbox).get("/v2/groups/bm90LWEtZ3JvdXA").status_code == 404


def test_devices_filter_by_group_and_by_ancestor(sandbox: Sandbox) -> None:
    acme = sandbox.level_group_id("Acme Corp")
    hq = sandbox.level_group_id("Acme Corp/HQ")

    def hostnames(**params: str) -> list[str]:
        data = level(sandbox).get("/v2/devices", params=params).json()["data"]
        return [d["hostname"] for d in data]

    assert hostnames(ancestor_group_id=acme) == ["ACME-HQ-SRV01", "ACME-HQ-WS01", "ACME-WH-WS01"]
    assert hostnames(group_id=hq) == ["ACME-HQ-SRV01", "ACME-HQ-WS01"]
    assert hostnames(group_id=acme) == []
    assert hostnames(group_id="null") == []
    device = level(sandbox).get("/v2/devices", params={"group_id": hq}).json()["data"][0]
    assert (device["group_id"], device["group_name"]) == (hq, "HQ")


@pytest.mark.parametrize(
    ("group_ids", "words"),
    [
        ([], "non-empty list"),
        (["bm90LWEtZ3JvdXA"], "no group has the id"),
        ("Acme Corp", "non-empty list"),
        ([7], "is not a group id"),
    ],
)
def test_invalid_group_ids_are_400(sandbox: Sandbox, group_ids: object, words: str) -> None:
    response = level(sandbox).post("/v2/webhooks", json={"url": NOWHERE, "group_ids": group_ids})
    assert response.status_code == 400
    assert words in response.json()["error"]


def test_a_duplicate_group_id_is_400_and_ids_come_back_sorted(sandbox: Sandbox) -> None:
    globex, acme = sandbox.level_group_id("Globex"), sandbox.level_group_id("Acme Corp")
    response = level(sandbox).post("/v2/webhooks", json={"url": NOWHERE,
                                                          "group_ids": [acme, acme]})
    assert response.status_code == 400
    assert "listed twice" in response.json()["error"]
    body = create_webhook(sandbox, NOWHERE, group_ids=[globex, acme])
    assert body["group_ids"] == sorted([globex, acme])
    patched = level(sandbox).patch(f"/v2/webhooks/{body['id']}", json={"group_ids": None})
    assert patched.json()["group_ids"] is None  # null: the whole organisation again


def test_a_scope_covers_its_groups_and_everything_below_them(sandbox: Sandbox) -> None:
    with receiver() as acme_hook, receiver() as globex_hook, receiver() as everyone:
        create_webhook(sandbox, acme_hook.url, group_ids=[sandbox.level_group_id("Acme Corp")])
        create_webhook(sandbox, globex_hook.url,
                       group_ids=[sandbox.level_group_id("Globex/HQ")])
        create_webhook(sandbox, everyone.url)
        sandbox.raise_level_alert(device_hostname="ACME-WH-WS01")  # a site below the client
        sandbox.raise_level_alert(device_hostname="GLOBEX-HQ-SRV01")
        sandbox.raise_level_alert(device_hostname="LOOSE-01")  # a new device in no group
        assert [r.body.count(b"ACME-WH-WS01") for r in acme_hook.received] == [1]
        assert [r.body.count(b"GLOBEX-HQ-SRV01") for r in globex_hook.received] == [1]
        assert len(everyone.received) == 3


def test_an_alert_on_a_new_device_in_a_group_and_by_device_id(sandbox: Sandbox) -> None:
    hq = sandbox.level_group_id("Globex/HQ")
    with receiver() as hook:
        create_webhook(sandbox, hook.url, group_ids=[sandbox.level_group_id("Globex")])
        response = level(sandbox).post(
            "/sandbox/alerts", json={"device_hostname": "GLOBEX-NEW", "group_id": hq,
                                     "name": "Disk"},
        )
        assert response.status_code == 201, response.text
        again = level(sandbox).post(
            "/sandbox/alerts", json={"device_id": response.json()["device_id"], "name": "CPU"}
        )
        assert again.status_code == 201
        assert len(hook.received) == 2


def test_deleting_a_group_empties_a_scope_which_then_delivers_nothing(sandbox: Sandbox) -> None:
    warehouse = sandbox.level_group_id("Acme Corp/Warehouse")
    hq = sandbox.level_group_id("Acme Corp/HQ")
    with receiver() as hook:
        only = create_webhook(sandbox, hook.url, group_ids=[warehouse])
        both = create_webhook(sandbox, NOWHERE, group_ids=[warehouse, hq])
        assert level(sandbox).delete(f"/sandbox/groups/{warehouse}").status_code == 204
        assert level(sandbox).get(f"/v2/webhooks/{only['id']}").json()["group_ids"] == []
        assert level(sandbox).get(f"/v2/webhooks/{both['id']}").json()["group_ids"] == [hq]
        sandbox.raise_level_alert(device_hostname="ACME-WH-WS01")  # now in no group
        sandbox.raise_level_alert(device_hostname="ACME-HQ-WS01")
        assert hook.received == []  # never widened to the whole organisation
    refused = level(sandbox).delete(f"/sandbox/groups/{sandbox.level_group_id('Acme Corp')}")
    assert refused.status_code == 400
    assert "child group" in refused.json()["error"]


def test_the_control_routes_add_groups_and_devices(sandbox: Sandbox) -> None:
    client = level(sandbox).post("/sandbox/groups", json={"name": "Initech"}).json()
    site = level(sandbox).post(
        "/sandbox/groups", json={"name": "Austin", "parent_id": client["id"]}
    ).json()
    device = level(sandbox).post(
        "/sandbox/devices", json={"hostname": "INITECH-01", "group_id": site["id"]}
    )
    assert device.status_code == 201
    assert device.json()["group_name"] == "Austin"
    assert level(sandbox, key=None).post("/sandbox/groups", json={"name": "x"}).status_code == 401


# ------------------------------------------------------------------------------ ilert


CRITICAL_ONLY = "event.customDetails.severity == 'critical'"


def test_event_filter_comes_back_only_when_included(sandbox: Sandbox) -> None:
    source = create_source(sandbox, eventFilter=CRITICAL_ONLY)
    assert "eventFilter" not in source
    path = f"/api/alert-sources/{source['id']}"
    assert "eventFilter" not in ilert(sandbox).get(path).json()
    included = ilert(sandbox).get(path, params={"include": "eventFilter"}).json()
    assert included["eventFilter"] == CRITICAL_ONLY
    listed = ilert(sandbox).get("/api/alert-sources", params={"include": "eventFilter"}).json()
    assert "eventFilter" not in listed[0]  # never in lists


def test_an_invalid_filter_is_400_pointing_at_the_column(sandbox: Sandbox) -> None:
    response = ilert(sandbox).post(
        "/api/alert-sources",
        json={"name": "x", "integrationType": "LEVELIO", "escalationPolicy": {"id": 1},
              "eventFilter": "event.summary containz 'disk'"},
    )
    assert response.status_code == 400
    assert "eventFilter: not a valid ICL condition: column 15: unknown operator" in (
        response.json()["message"]
    )


def test_the_filter_drops_an_alert_it_rejects_and_resolve_always_resolves(
    sandbox: Sandbox,
) -> None:
    source = create_source(sandbox, eventFilter=CRITICAL_ONLY)
    create_webhook(sandbox, source["integrationUrl"])
    warning = sandbox.raise_level_alert(severity="warning")
    critical = sandbox.raise_level_alert(severity="CRITICAL".lower(), name="Disk")
    (opened,) = sandbox.ilert_alerts(source_id=source["id"])
    assert opened["alertKey"] == critical["id"]
    dropped = [i for i in sandbox.ilert_intake if i["outcome"] == "ignored"]
    assert [(i["event_type"], i["reason"]) for i in dropped] == [
        ("alert_active", "the alert source's eventFilter does not accept this alert")
    ]
    assert all(d["succeeded"] for d in sandbox.deliveries)  # still 202 to Level
    # A filter changed while the alert is open never keeps it open.
    sandbox.ilert_edit_alert_source(source["id"], eventFilter="event.summary contains 'nope'")
    sandbox.resolve_level_alert(critical["id"])
    sandbox.resolve_level_alert(warning["id"])
    (closed,) = sandbox.ilert_alerts(source_id=source["id"])
    assert closed["status"] == "RESOLVED"


def test_each_level_alert_opens_exactly_one_ilert_alert_when_routed(sandbox: Sandbox) -> None:
    """An MSP routing: one source per client, one for emergencies anywhere."""
    acme = create_source(sandbox, name="Acme",
                         eventFilter="event.customDetails.severity != 'emergency'")
    globex = create_source(sandbox, name="Globex",
                           eventFilter="event.customDetails.severity != 'emergency'")
    urgent = create_source(sandbox, name="Emergencies",
                           eventFilter="event.customDetails.severity == 'emergency'")
    create_webhook(sandbox, acme["integrationUrl"],
                   group_ids=[sandbox.level_group_id("Acme Corp")])
    create_webhook(sandbox, globex["integrationUrl"],
                   group_ids=[sandbox.level_group_id("Globex")])
    create_webhook(sandbox, urgent["integrationUrl"])
    sandbox.raise_level_alert(device_hostname="ACME-HQ-SRV01", severity="critical")
    sandbox.raise_level_alert(device_hostname="GLOBEX-HQ-WS01", severity="warning")
    sandbox.raise_level_alert(device_hostname="ACME-WH-WS01", severity="emergency")
    opened = {s["id"]: len(sandbox.ilert_alerts(source_id=s["id"]))
              for s in (acme, globex, urgent)}
    assert opened == {acme["id"]: 1, globex["id"]: 1, urgent["id"]: 1}
    assert len(sandbox.ilert_alerts()) == 3
