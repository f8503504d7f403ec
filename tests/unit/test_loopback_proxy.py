"""No proxy for loopback: a request to the sandbox never leaves the machine through a proxy
the environment names (``HTTP_PROXY``, ``ALL_PROXY``), with the credential in its header."""

from __future__ import annotations

import pytest

from clients.http import proxies_for
from clients.ilert import IlertClient
from ops.verify import DeliveryError, deliver
from sandbox import ILERT_TOKEN, Sandbox

DEAD_PROXY = "http://127.0.0.1:9"  # nothing listens there: a request through it fails


@pytest.fixture
def proxied(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                 "all_proxy"):
        monkeypatch.setenv(name, DEAD_PROXY)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("proxied")
def test_a_client_of_a_loopback_api_goes_around_the_environments_proxy() -> None:
    with Sandbox() as sandbox:
        client = IlertClient(sandbox.ilert_url, ILERT_TOKEN)

        listed = list(client.list_alert_sources())

        assert listed == [] and sandbox.count("ilert", "GET") == 1


@pytest.mark.usefixtures("proxied")
def test_verify_delivers_to_a_loopback_url_around_the_proxy() -> None:
    # The sandbox's own answer (no such key), not "sending ... failed: ProxyError".
    refused = pytest.raises(DeliveryError, match="ilert answered alert_active with HTTP 404")
    with Sandbox() as sandbox, refused:
        deliver(f"{sandbox.ilert_url}/api/v1/events/levelio/nokey", "alert_active",
                {"id": "a1"}, None)


@pytest.mark.parametrize(
    ("url", "bypass"),
    [("http://127.0.0.1:8790", True), ("http://localhost:8791", True), ("http://[::1]:1", True),
     ("https://api.ilert.com", False), ("https://127.0.0.1.nip.example", False)],
)
def test_only_loopback_hosts_bypass_proxies(url: str, bypass: bool) -> None:
    assert (proxies_for(url) is not None) is bypass
