"""OpenID4VP over real HTTP on loopback (uvicorn): creditor request -> our wallet -> encrypted
response -> verified result and hold decision, for both encodings and a mixed vp_token; and the
creditor's page in a headless Chromium, cross-device (QR) and same-device (redirect)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from blauweknop.oid4vp import VerifierService, verifier_app
from tests.live import _free_port, serve
from tests.oid4vp import conftest as _oid4vp_fixtures
from tests.oid4vp.test_oid4vp_flow import CASES
from tests.oid4vp.world import World, request_file

world = _oid4vp_fixtures.world  # the OpenID4VP world, built once for this module

OFFERED = {
    "rode-knop-check": request_file("rode-knop-check.json"),
    "hold-and-totals-di": request_file("hold-and-totals-di.json"),
}


@pytest.fixture
def live(world: World) -> Iterator[tuple[VerifierService, str]]:
    port = _free_port()
    service = world.service(base_url=f"http://127.0.0.1:{port}")
    with serve(verifier_app(service, OFFERED, title="CJIB"), port=port) as base:
        yield service, base


@pytest.mark.parametrize("case", sorted(CASES))
def test_whole_exchange_over_http(
    world: World, live: tuple[VerifierService, str], case: str
) -> None:
    service, base = live
    handle = service.create_request(CASES[case]())
    with httpx.Client(timeout=10) as client:
        responder = world.responder(client=client)
        received = responder.fetch(handle.wallet_url)
        outcome = responder.respond(received, consent=lambda r, p: True)
        assert outcome.redirect_status == 200
        polled = client.get(f"{base}/session/{handle.session_id}/result").json()
    assert polled["status"] == "done"
    assert polled["result"]["decision"]["hold_until"] == "2027-03-15"
    assert {c["query_id"] for c in polled["result"]["credentials"]} == {
        "payment_incapacity_declaration",
        "debt_statements",
    }


def test_replay_over_http_is_refused(world: World, live: tuple[VerifierService, str]) -> None:
    service, _ = live
    handle = service.create_request(request_file("rode-knop-check.json"))
    sent: list[Any] = []

    class Recording(httpx.Client):
        def post(self, url: Any, **kw: Any) -> httpx.Response:
            sent.append((url, kw))
            return super().post(url, **kw)

    with Recording(timeout=10) as client:
        responder = world.responder(client=client)
        responder.respond(responder.fetch(handle.wallet_url), consent=lambda r, p: True)
        url, kw = sent[-1]
        again = client.post(url, **kw)
    assert again.status_code == 409 and again.json()["code"] == "response_replayed"


def test_creditor_page_cross_device_and_same_device(
    world: World, live: tuple[VerifierService, str], browser_page: Any
) -> None:
    _, base = live
    page = browser_page
    page.goto(base + "/")
    page.click("button[value=rode-knop-check]")
    page.wait_for_selector("#qr svg")
    assert "Waiting for the wallet" in page.inner_text("#status")
    link = page.get_attribute("#same-device", "href")
    assert link is not None and link.startswith("haip-vp://?client_id=x509_hash")
    # a forged answer is refused; the page says so and keeps waiting
    rid = link.split("%2Foid4vp%2Frequest%2F", 1)[1].split("&", 1)[0]
    forged = httpx.post(f"{base}/oid4vp/response/{rid}", data={"response": "a.b.c.d.e"})
    assert forged.status_code == 400
    page.wait_for_function(
        "document.getElementById('status').textContent.includes('Refused a response')",
        timeout=10_000,
    )
    # cross-device: the wallet scans the QR code (the same link) and answers over HTTP
    with httpx.Client(timeout=10) as client:
        responder = world.responder(client=client)
        outcome = responder.respond(responder.fetch(link), consent=lambda r, p: True)
    page.wait_for_selector("#status[data-state=verified]", timeout=10_000)
    text = page.inner_text("#result")
    assert "Collection on hold until 2027-03-15" in text
    assert "urn:rodeknop:payment-incapacity-declaration:1 from Gemeente Eindhoven" in text
    # same-device: the wallet sends the browser to the redirect_uri; it shows the same result
    assert outcome.redirect_uri is not None
    page.goto(outcome.redirect_uri)
    page.wait_for_selector("#status[data-state=verified]", timeout=10_000)
    assert "Collection on hold until 2027-03-15" in page.inner_text("#result")
    assert re.search(r"#response_code=[\w-]+$", page.url)
