"""Interop: the independent ``@openid4vc/openid4vci`` 0.4.6 (TypeScript, the library inside
Credo) as the wallet against our issuer service, over real HTTP on loopback.

Both grants (pre-authorized code with PIN; authorization code with PAR + PKCE), both encodings,
and a batch of single-use copies. Each credential it receives is then checked by us: bound to
the key the peer proved, registered with its own status index.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from typing import Any

import pytest
from scheme import CJIB_ORG, GEMEENTE_EINDHOVEN, PILOT_NOW, Scheme

from blauweknop import Key, Wallet
from blauweknop.oid4vci import IssuerService, asgi_app
from tests.live import serve
from tests.oid4vci._driver import TestAuthenticator

pytestmark = pytest.mark.interop


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Scheme:
    return Scheme.build(tmp_path_factory.mktemp("oid4vci-interop"), status_cache=False)


def _cnf_of(credential: Any) -> dict[str, Any]:
    """The holder key a received credential is bound to (either encoding)."""
    if isinstance(credential, str):
        payload = credential.split("~")[0].split(".")[1]
        import base64

        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return dict(claims["cnf"]["jwk"])
    from blauweknop import key_from_did_jwk

    return key_from_did_jwk(credential["credentialSubject"]["id"]).public_jwk(with_kid=False)


def _same_key(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return Key.from_jwk(a).kid == Key.from_jwk(b).kid


@pytest.mark.parametrize("fmt", ["sd-jwt", "di"])
def test_their_wallet_pre_authorized_code(
    world: Scheme, node_peer: Callable[..., Any], fmt: str
) -> None:
    peer = node_peer("oid4vci-node")
    port = _port()
    svc = IssuerService.for_home(
        world.root / "gem", issuer_url=f"http://127.0.0.1:{port}", clock=lambda: PILOT_NOW
    )
    claims = GEMEENTE_EINDHOVEN.claims(declaration_id=f"GM0772-RK-2026-IOP-{fmt}")
    link = svc.create_offer(GEMEENTE_EINDHOVEN.model(claims), format=fmt, by_reference=True)
    with serve(asgi_app(svc), port=port):
        got = peer.call("receive", offer=link.uri, tx_code=link.tx_code, now=PILOT_NOW)
    assert got["token_type"] == "DPoP"
    assert got["format"] == ("dc+sd-jwt" if fmt == "sd-jwt" else "ldp_vc")
    [credential] = got["credentials"]
    assert _same_key(_cnf_of(credential), got["holder_jwks"][0])
    assert svc.store.offer_state(link.offer_id) == "issued"
    row = world.gem.register.get(f"GM0772-RK-2026-IOP-{fmt}")
    assert row.state == "valid"


def test_their_wallet_batch_of_copies(
    world: Scheme, node_peer: Callable[..., Any], tmp_path: Any
) -> None:
    peer = node_peer("oid4vci-node")
    port = _port()
    svc = IssuerService.for_home(
        world.root / "cjib", issuer_url=f"http://127.0.0.1:{port}", clock=lambda: PILOT_NOW
    )
    model = CJIB_ORG.model(CJIB_ORG.claims(statement_id="CJIB-2026-IOP-BATCH"))
    link = svc.create_offer(model)
    with serve(asgi_app(svc), port=port):
        got = peer.call("receive", offer=link.uri, tx_code=link.tx_code, copies=3, now=PILOT_NOW)
    assert len(got["credentials"]) == 3
    for credential, jwk in zip(got["credentials"], got["holder_jwks"], strict=True):
        assert _same_key(_cnf_of(credential), jwk)
    rows = [world.cjib.register.get(f"CJIB-2026-IOP-BATCH~copy{i}") for i in (1, 2, 3)]
    assert len({r.idx for r in rows}) == 3
    # What their wallet received verifies in ours too (signature, trust, role, schema); the
    # holder keys are theirs, so our wallet refuses to store them as its own.
    with Wallet.create(tmp_path / "w", passphrase="interop batch", scrypt_n=2**10) as w:
        from blauweknop import HolderBindingError

        with pytest.raises(HolderBindingError):
            w.add(got["credentials"][0], trust_list=world.trust, now=PILOT_NOW)


def test_their_wallet_wrong_pin_gets_invalid_grant(
    world: Scheme, node_peer: Callable[..., Any]
) -> None:
    peer = node_peer("oid4vci-node")
    port = _port()
    svc = IssuerService.for_home(
        world.root / "cjib", issuer_url=f"http://127.0.0.1:{port}", clock=lambda: PILOT_NOW
    )
    model = CJIB_ORG.model(CJIB_ORG.claims(statement_id="CJIB-2026-IOP-PIN"))
    link = svc.create_offer(model, tx_code="24680")
    with serve(asgi_app(svc), port=port):
        message = peer.fails("receive", offer=link.uri, tx_code="13579", now=PILOT_NOW)
    assert "invalid_grant" in message
    assert svc.store.offer_state(link.offer_id) == "offered"


def test_their_wallet_authorization_code(world: Scheme, node_peer: Callable[..., Any]) -> None:
    peer = node_peer("oid4vci-node")
    port = _port()
    auth = TestAuthenticator()
    svc = IssuerService.for_home(
        world.root / "cjib",
        issuer_url=f"http://127.0.0.1:{port}",
        clock=lambda: PILOT_NOW,
        authenticator=auth,
    )
    model = CJIB_ORG.model(CJIB_ORG.claims(statement_id="CJIB-2026-IOP-CODE"))
    link = svc.create_offer(model, format="di", authorization_code=True, tx_code=False)
    # An offer with only the authorization code grant.
    offer = dict(link.offer)
    offer["grants"] = {"authorization_code": link.offer["grants"]["authorization_code"]}
    auth.offers["alice"] = offer["grants"]["authorization_code"]["issuer_state"]
    uri = "openid-credential-offer://?credential_offer=" + json.dumps(offer)
    with serve(asgi_app(svc), port=port):
        got = peer.call(
            "receive", offer=uri, authorize_header={"X-Test-Citizen": "alice"}, now=PILOT_NOW
        )
    [credential] = got["credentials"]
    assert isinstance(credential, dict) and "DebtStatement" in credential["type"]
    assert _same_key(_cnf_of(credential), got["holder_jwks"][0])
