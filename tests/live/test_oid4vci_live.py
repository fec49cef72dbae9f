"""OpenID4VCI over real HTTP on loopback: our issuer service (uvicorn) -> our wallet (httpx).

The whole scenario of issue 14: the municipality offers a Rode Knop declaration, the citizen's
wallet resolves the link, types the PIN, proves its key with DPoP and a ``jwt`` proof, and stores
the verified credential; a creditor hands out a batch of single-use copies of a debt statement,
each bound to its own key with its own status index; both encodings.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from scheme import PILOT_NOW, Scheme

from blauweknop import Wallet
from blauweknop.oid4vci import IssuerService, OAuthError, asgi_app
from tests.live import serve


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Scheme:
    return Scheme.build(tmp_path_factory.mktemp("oid4vci-live"), status_cache=False)


@pytest.fixture
def wallet(tmp_path: Path) -> Iterator[Wallet]:
    with Wallet.create(tmp_path / "wallet", passphrase="oid4vci live", scrypt_n=2**10) as w:
        yield w


def _service(world: Scheme, slot: str, port: int) -> IssuerService:
    return IssuerService.for_home(
        world.root / slot, issuer_url=f"http://127.0.0.1:{port}", clock=lambda: PILOT_NOW
    )


@pytest.mark.parametrize("fmt", ["sd-jwt", "di"])
@pytest.mark.parametrize("by_reference", [False, True])
def test_declaration_lands_in_the_wallet(
    world: Scheme, wallet: Wallet, fmt: str, by_reference: bool
) -> None:
    port = _port()
    svc = _service(world, "gem", port)
    before = len(world.gem.register.list())
    from scheme import GEMEENTE_EINDHOVEN

    claims = GEMEENTE_EINDHOVEN.claims(declaration_id=f"GM0772-RK-LIVE-{fmt}-{by_reference}")
    model = GEMEENTE_EINDHOVEN.model(claims)
    link = svc.create_offer(model, format=fmt, by_reference=by_reference)
    assert link.tx_code is not None and len(link.tx_code) == 6
    with serve(asgi_app(svc), port=port), httpx.Client() as http:
        got = wallet.receive(
            link.uri, trust_list=world.trust, tx_code=link.tx_code, http=http, now=PILOT_NOW
        )
    assert len(got) == 1
    stored = got[0].credential
    assert stored.vct == "urn:rodeknop:payment-incapacity-declaration:1"
    assert stored.format == ("dc+sd-jwt" if fmt == "sd-jwt" else "ldp_vc")
    assert len(world.gem.register.list()) == before + 1
    assert svc.store.offer_state(link.offer_id) == "issued"


def test_batch_of_copies_each_own_key_and_index(world: Scheme, wallet: Wallet) -> None:
    from scheme import CJIB_ORG

    port = _port()
    svc = _service(world, "cjib", port)
    model = CJIB_ORG.model(CJIB_ORG.claims(statement_id="CJIB-2026-LIVE-BATCH"))
    link = svc.create_offer(model, format="sd-jwt")
    with serve(asgi_app(svc), port=port), httpx.Client() as http:
        got = wallet.receive(
            link.uri,
            trust_list=world.trust,
            tx_code=link.tx_code,
            copies=3,
            http=http,
            now=PILOT_NOW,
        )
    assert len(got) == 3
    rows = [world.cjib.register.get(f"CJIB-2026-LIVE-BATCH~copy{i}") for i in (1, 2, 3)]
    assert len({(r.list_uri, r.idx) for r in rows}) == 3
    assert len({r.holder_thumbprint for r in rows}) == 3


def test_wrong_pin_is_refused_over_http(world: Scheme, wallet: Wallet) -> None:
    from scheme import CJIB_ORG

    port = _port()
    svc = _service(world, "cjib", port)
    model = CJIB_ORG.model(CJIB_ORG.claims(statement_id="CJIB-2026-LIVE-PIN"))
    link = svc.create_offer(model, tx_code="123456")
    with serve(asgi_app(svc), port=port), httpx.Client() as http, pytest.raises(OAuthError) as e:
        wallet.receive(link.uri, trust_list=world.trust, tx_code="654321", http=http, now=PILOT_NOW)
    assert e.value.code == "invalid_grant"
    assert wallet.credentials(now=PILOT_NOW) == []


@pytest.mark.parametrize("fmt", ["sd-jwt", "di"])
def test_authorization_code_grant_over_http(world: Scheme, wallet: Wallet, fmt: str) -> None:
    from scheme import CJIB_ORG

    from tests.oid4vci._driver import TestAuthenticator

    auth = TestAuthenticator()
    port = _port()
    svc = IssuerService.for_home(
        world.root / "cjib",
        issuer_url=f"http://127.0.0.1:{port}",
        clock=lambda: PILOT_NOW,
        authenticator=auth,
    )
    model = CJIB_ORG.model(CJIB_ORG.claims(statement_id=f"CJIB-2026-LIVE-CODE-{fmt}"))
    link = svc.create_offer(model, format=fmt, authorization_code=True, tx_code=False)
    auth.offers["alice"] = link.offer["grants"]["authorization_code"]["issuer_state"]
    with serve(asgi_app(svc), port=port), httpx.Client() as http:

        def login(url: str) -> str:  # the citizen's browser: log in, follow to the redirect
            r = http.get(url, headers={"X-Test-Citizen": "alice"})
            assert r.status_code == 302
            return str(r.headers["location"])

        got = wallet.receive(
            link.uri, trust_list=world.trust, http=http, now=PILOT_NOW, authorize=login
        )
    assert [g.credential.format for g in got] == ["dc+sd-jwt" if fmt == "sd-jwt" else "ldp_vc"]
    assert svc.store.offer_state(link.offer_id) == "issued"


def test_wallet_follows_server_dpop_nonces(world: Scheme, wallet: Wallet) -> None:
    from scheme import CJIB_ORG

    port = _port()
    svc = IssuerService.for_home(
        world.root / "cjib",
        issuer_url=f"http://127.0.0.1:{port}",
        clock=lambda: PILOT_NOW,
        dpop_nonces=True,
    )
    link = svc.create_offer(CJIB_ORG.model(CJIB_ORG.claims(statement_id="CJIB-2026-LIVE-DN")))
    with serve(asgi_app(svc), port=port), httpx.Client() as http:
        got = wallet.receive(
            link.uri, trust_list=world.trust, tx_code=link.tx_code, http=http, now=PILOT_NOW
        )
    assert len(got) == 1
