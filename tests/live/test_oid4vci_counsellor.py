"""The counsellor's page in a real headless Chromium: log in, make an offer for an admission,
read the QR code, link and PIN off the page, let the citizen's wallet redeem it over HTTP, and
see the page turn to "received"."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from scheme import GEMEENTE_EINDHOVEN, PILOT_NOW, Scheme

from blauweknop import Wallet
from blauweknop.oid4vci import IssuerService, asgi_app
from rodeknop_vc import PaymentIncapacityDeclaration
from tests.live import serve

KEY = "counsellor-test-key-0123456789"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Scheme:
    return Scheme.build(tmp_path_factory.mktemp("oid4vci-counsellor"), status_cache=False)


@pytest.fixture
def wallet(tmp_path: Path) -> Iterator[Wallet]:
    with Wallet.create(tmp_path / "wallet", passphrase="counsellor", scrypt_n=2**10) as w:
        yield w


@pytest.fixture
def service(world: Scheme) -> Iterator[tuple[IssuerService, str]]:
    port = _port()
    svc = IssuerService.for_home(
        world.root / "gem",
        issuer_url=f"http://127.0.0.1:{port}",
        clock=lambda: PILOT_NOW,
        counsellor_key=KEY,
        models={PaymentIncapacityDeclaration.vct: PaymentIncapacityDeclaration},
    )
    with serve(asgi_app(svc), port=port) as base:
        yield svc, base


def test_counsellor_hands_over_an_offer(
    service: tuple[IssuerService, str], world: Scheme, wallet: Wallet, browser_page: Any
) -> None:
    _, base = service
    page = browser_page
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    response = page.goto(base + "/counsellor")
    assert response.status == 401  # the login form
    page.fill("#key", KEY)
    page.click("#login")
    page.wait_for_selector("#configuration")
    page.select_option("#configuration", "payment_incapacity_declaration_dc_sd_jwt")
    claims = GEMEENTE_EINDHOVEN.claims(declaration_id="GM0772-RK-2026-PAGE1")
    page.fill("#claims", json.dumps(claims))
    with page.expect_navigation() as nav:
        page.click("#make")
    assert nav.value.status == 200
    assert "script-src 'nonce-" in nav.value.headers["content-security-policy"]
    assert page.locator("#qr svg").count() == 1
    pin = page.inner_text("#pin").strip()
    link = page.get_attribute("#link", "href")
    assert pin.isdigit() and len(pin) == 6
    assert link.startswith("openid-credential-offer://?credential_offer=")
    assert page.inner_text("#status").startswith("Wacht")
    # The citizen scans the code and types the PIN.
    with httpx.Client() as http:
        got = wallet.receive(link, trust_list=world.trust, tx_code=pin, http=http, now=PILOT_NOW)
    assert got[0].credential.vct == PaymentIncapacityDeclaration.vct
    page.wait_for_selector("#status[data-state='issued']", timeout=10_000)
    assert "Ontvangen" in page.inner_text("#status")
    # No CSP violation or script error (the 401 of the login page and the favicon's 404 are
    # resource errors, expected).
    assert [p for p in problems if not p.startswith("Failed to load resource")] == []


def test_counsellor_pages_need_the_key(service: tuple[IssuerService, str]) -> None:
    _, base = service
    with httpx.Client() as http:
        r = http.post(base + "/counsellor/offers", data={"configuration": "x", "claims": "{}"})
        assert (r.status_code, r.json()["error"]) == (401, "invalid_token")
        r = http.post(base + "/counsellor/login", data={"key": "wrong-key-wrong-key"})
        assert r.status_code == 403 and "set-cookie" not in r.headers
        r = http.get(base + "/counsellor/offers/x/status")
        assert r.status_code == 401


def test_counsellor_form_refuses_bad_claims_and_escapes(
    service: tuple[IssuerService, str], world: Scheme
) -> None:
    _, base = service
    before = len(world.gem.register.list())
    with httpx.Client(headers={"Authorization": f"Bearer {KEY}"}) as http:
        r = http.post(
            base + "/counsellor/offers",
            data={
                "configuration": "payment_incapacity_declaration_dc_sd_jwt",
                "claims": json.dumps({"declaration_id": "<script>alert(1)</script>"}),
            },
        )
    assert r.status_code == 400
    assert "<script>alert(1)" not in r.text and "invalid_data" in r.text
    assert len(world.gem.register.list()) == before
