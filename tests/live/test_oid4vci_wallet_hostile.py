"""The wallet client against issuers that lie, over real HTTP on loopback: a hostile issuer app
(Starlette, served by uvicorn) answering what it likes, and a real issuer the trust list does
not know. The wallet refuses with its codes and stores nothing."""

from __future__ import annotations

import json
import socket
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scheme import CJIB_ORG, PILOT_NOW, STRANGER_ORG, Scheme
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from blauweknop import TrustError, Wallet
from blauweknop.oid4vci import IssuerService, OAuthError, asgi_app, parse_offer_link
from tests.live import serve


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Scheme:
    return Scheme.build(
        tmp_path_factory.mktemp("oid4vci-wallet-hostile"),
        unlisted=(STRANGER_ORG,),
        status_cache=False,
    )


@pytest.fixture
def wallet(tmp_path: Path) -> Iterator[Wallet]:
    with Wallet.create(tmp_path / "wallet", passphrase="hostile issuers", scrypt_n=2**10) as w:
        yield w


def _liar(port: int, lie: Callable[[dict[str, Any]], None]) -> Any:
    """An issuer that speaks the protocol's shapes but bends one answer (``lie``)."""
    base = f"http://127.0.0.1:{port}"
    answers: dict[str, dict[str, Any]] = {
        "/.well-known/openid-credential-issuer": {
            "credential_issuer": base,
            "credential_endpoint": base + "/credential",
            "nonce_endpoint": base + "/nonce",
            "credential_configurations_supported": {
                "x": {
                    "format": "dc+sd-jwt",
                    "vct": "v",
                    "proof_types_supported": {
                        "jwt": {"proof_signing_alg_values_supported": ["ES256"]}
                    },
                },
            },
        },
        "/.well-known/oauth-authorization-server": {
            "issuer": base,
            "token_endpoint": base + "/token",
        },
        "/token": {"access_token": "t", "token_type": "DPoP", "expires_in": 60},
        "/nonce": {"c_nonce": "n"},
        "/credential": {"credentials": [{"credential": "a~"}, {"credential": "b~"}]},
    }
    lie(answers)

    async def endpoint(request: Request) -> JSONResponse:
        return JSONResponse(answers.get(request.url.path, {"error": "not_found"}))

    return Starlette(routes=[Route("/{p:path}", endpoint, methods=["GET", "POST"])]), base


def _offer(base: str) -> str:
    offer = {
        "credential_issuer": base,
        "credential_configuration_ids": ["x"],
        "grants": {
            "urn:ietf:params:oauth:grant-type:pre-authorized_code": {"pre-authorized_code": "c"}
        },
    }
    return "openid-credential-offer://?credential_offer=" + json.dumps(offer)


def _other_issuer(a: dict[str, Any]) -> None:
    a["/.well-known/openid-credential-issuer"]["credential_issuer"] = "https://evil.example"


def _bearer(a: dict[str, Any]) -> None:
    a["/token"]["token_type"] = "Bearer"


def _no_es256(a: dict[str, Any]) -> None:
    cfg = a["/.well-known/openid-credential-issuer"]["credential_configurations_supported"]["x"]
    cfg["proof_types_supported"]["jwt"]["proof_signing_alg_values_supported"] = ["RS256"]


def _as_mismatch(a: dict[str, Any]) -> None:
    a["/.well-known/oauth-authorization-server"]["issuer"] = "https://evil.example"


def _truth(a: dict[str, Any]) -> None:
    pass  # the credential answer itself lies: two credentials for one proof


@pytest.mark.parametrize(
    ("lie", "code"),
    [
        (_other_issuer, "metadata_invalid"),
        (_no_es256, "metadata_invalid"),
        (_as_mismatch, "metadata_invalid"),
        (_bearer, "issuer_response_invalid"),
        (_truth, "issuer_response_invalid"),
    ],
)
def test_lying_issuer_is_refused(world: Scheme, wallet: Wallet, lie: Any, code: str) -> None:
    port = _port()
    app, base = _liar(port, lie)
    with serve(app, port=port), httpx.Client() as http, pytest.raises(OAuthError) as e:
        wallet.receive(_offer(base), trust_list=world.trust, http=http, now=PILOT_NOW)
    assert e.value.code == code
    assert wallet.credentials(now=PILOT_NOW) == []


def test_credential_from_an_unlisted_issuer_is_refused_and_reported(
    world: Scheme, wallet: Wallet
) -> None:
    port = _port()
    svc = IssuerService.for_home(
        world.root / "stranger", issuer_url=f"http://127.0.0.1:{port}", clock=lambda: PILOT_NOW
    )
    claims = STRANGER_ORG.claims(statement_id="STRANGER-2026-1")
    claims["creditor"] = {
        **claims["creditor"],
        "oin": STRANGER_ORG.issuer_id.removeprefix("urn:oin:"),
        "name": STRANGER_ORG.name,
    }
    link = svc.create_offer(STRANGER_ORG.model(claims), tx_code=False)
    with serve(asgi_app(svc), port=port), httpx.Client() as http, pytest.raises(TrustError):
        wallet.receive(link.uri, trust_list=world.trust, http=http, now=PILOT_NOW)
    assert wallet.credentials(now=PILOT_NOW) == []
    with sqlite3.connect(world.root / "stranger" / "register.sqlite") as c:
        events = [r[0] for r in c.execute("SELECT event FROM oid4vci_notifications")]
    assert events == ["credential_failure"]


def test_plain_http_offer_elsewhere_than_loopback_is_refused(wallet: Wallet, world: Scheme) -> None:
    for link in (
        "openid-credential-offer://?credential_offer_uri=http%3A%2F%2Fissuer.example%2Fo",
        _offer("http://issuer.example"),
    ):
        with pytest.raises(OAuthError) as e:
            wallet.receive(link, trust_list=world.trust, now=PILOT_NOW)
        assert e.value.code == "offer_malformed"


def test_pin_required_is_said_before_anything_is_redeemed(world: Scheme, wallet: Wallet) -> None:
    port = _port()
    svc = IssuerService.for_home(
        world.root / "cjib", issuer_url=f"http://127.0.0.1:{port}", clock=lambda: PILOT_NOW
    )
    link = svc.create_offer(CJIB_ORG.model(CJIB_ORG.claims(statement_id="CJIB-2026-W-PIN")))
    with serve(asgi_app(svc), port=port), httpx.Client() as http:
        with pytest.raises(OAuthError) as e:
            wallet.receive(link.uri, trust_list=world.trust, http=http, now=PILOT_NOW)
        assert e.value.code == "tx_code_required"
        assert svc.store.offer_state(link.offer_id) == "offered"
        got = wallet.receive(
            link.uri, trust_list=world.trust, tx_code=link.tx_code, http=http, now=PILOT_NOW
        )
    assert len(got) == 1


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.text(max_size=300),
        st.builds(lambda q: "openid-credential-offer://?" + q, st.text(max_size=200)),
        st.builds(lambda v: "haip-vci://?credential_offer=" + v, st.text(max_size=200)),
    )
)
def test_any_link_parses_or_is_offer_malformed(link: str) -> None:
    try:
        offer, uri = parse_offer_link(link)
    except OAuthError as e:
        assert e.code == "offer_malformed"
    else:
        assert (offer is None) != (uri is None)
