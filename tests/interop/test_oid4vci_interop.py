"""Interop with the independent ``@openid4vc/openid4vci`` / ``@openid4vc/oauth2`` 0.4.6
(TypeScript, the libraries inside Credo), over real HTTP on loopback, in both directions.

* Their wallet (``peer.mjs``) against our issuer service: both grants (pre-authorized code with
  PIN; authorization code with PAR + PKCE), both encodings, a batch of single-use copies, a
  wrong PIN. Each credential it receives is checked by us: bound to the key the peer proved,
  registered with its own status index.
* Their issuer (``issuer.mjs``: their metadata, offer, token endpoint with tx_code and DPoP,
  signed DPoP-bound access token, resource-request check, jwt proof verification, nonce and
  credential responses) against our wallet, pre-authorized code, both encodings. It hands out a
  credential our ``Issuer`` made for the wallet's holder key, after checking that the proof is
  signed by that key.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from scheme import CJIB_ORG, GEMEENTE_EINDHOVEN, PILOT_NOW, Scheme

from blauweknop import RODE_KNOP_VCT, Key, Wallet
from blauweknop.oid4vci import IssuerService, OAuthError, asgi_app
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


# -- their issuer, our wallet ------------------------------------------------------------------
@contextlib.contextmanager
def _their_issuer(node_peer: Callable[..., Any], tmp_path: Path, **config: Any) -> Iterator[Any]:
    peer = node_peer("oid4vci-node")  # skips (fails under CI) when not installed
    port = _port()
    cfg = tmp_path / f"issuer-{port}.json"
    cfg.write_text(json.dumps({"port": port, "now": PILOT_NOW, **config}))
    proc = subprocess.Popen(
        ["node", "issuer.mjs", str(cfg)],
        cwd=peer.directory,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("READY "), line + (proc.stderr.read() if proc.stderr else "")
        yield json.loads(line[6:])
    finally:
        proc.terminate()
        proc.wait(timeout=10)


_SD_JWT_CFG = {
    "format": "dc+sd-jwt",
    "vct": "urn:rodeknop:payment-incapacity-declaration:1",
    "cryptographic_binding_methods_supported": ["jwk"],
    "credential_signing_alg_values_supported": ["ES256"],
    "proof_types_supported": {"jwt": {"proof_signing_alg_values_supported": ["ES256"]}},
}
_LDP_CFG = {
    "format": "ldp_vc",
    "credential_definition": {
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://w3id.org/blauweknop/v1"],
        "type": ["VerifiableCredential", "PaymentIncapacityDeclaration"],
    },
    "cryptographic_binding_methods_supported": ["did:jwk"],
    "credential_signing_alg_values_supported": ["ecdsa-sd-2023"],
    "proof_types_supported": {"jwt": {"proof_signing_alg_values_supported": ["ES256"]}},
}


@pytest.mark.parametrize("fmt", ["sd-jwt", "di"])
def test_our_wallet_from_their_issuer(
    world: Scheme, node_peer: Callable[..., Any], tmp_path: Path, fmt: str
) -> None:
    with Wallet.create(tmp_path / "w", passphrase="their issuer", scrypt_n=2**10) as wallet:
        claims = GEMEENTE_EINDHOVEN.claims(declaration_id=f"GM0772-RK-2026-THEIRS-{fmt}")
        issued = world.gem.issue(
            GEMEENTE_EINDHOVEN.model(claims),
            holder_jwk=wallet.holder_jwk(),
            format=fmt,
            now=PILOT_NOW,
        )
        credential: Any = issued.text if fmt == "sd-jwt" else json.loads(issued.text)
        with (
            _their_issuer(
                node_peer,
                tmp_path,
                configuration_id="rk",
                tx_code="314159",
                credential=credential,
                configuration=_SD_JWT_CFG if fmt == "sd-jwt" else _LDP_CFG,
            ) as ready,
            httpx.Client() as http,
        ):
            with pytest.raises(OAuthError) as e:
                wallet.receive(ready["offer"], trust_list=world.trust, http=http, now=PILOT_NOW)
            assert e.value.code == "tx_code_required"
            got = wallet.receive(
                ready["offer"],
                trust_list=world.trust,
                tx_code="314159",
                http=http,
                now=PILOT_NOW,
            )
        assert [g.credential.format for g in got] == [issued.format]
        assert wallet.credentials(now=PILOT_NOW)[0].vct == RODE_KNOP_VCT


def test_their_issuer_refuses_our_wrong_pin(
    world: Scheme, node_peer: Callable[..., Any], tmp_path: Path
) -> None:
    with Wallet.create(tmp_path / "w", passphrase="their issuer", scrypt_n=2**10) as wallet:
        with (
            _their_issuer(
                node_peer,
                tmp_path,
                configuration_id="rk",
                tx_code="314159",
                credential="x~",
                configuration=_SD_JWT_CFG,
            ) as ready,
            httpx.Client() as http,
            pytest.raises(OAuthError) as e,
        ):
            wallet.receive(
                ready["offer"], trust_list=world.trust, tx_code="000000", http=http, now=PILOT_NOW
            )
        assert e.value.code == "invalid_grant"
        assert wallet.credentials(now=PILOT_NOW) == []


def test_their_wallet_with_server_dpop_nonces(world: Scheme, node_peer: Callable[..., Any]) -> None:
    peer = node_peer("oid4vci-node")
    port = _port()
    svc = IssuerService.for_home(
        world.root / "cjib",
        issuer_url=f"http://127.0.0.1:{port}",
        clock=lambda: PILOT_NOW,
        dpop_nonces=True,
    )
    model = CJIB_ORG.model(CJIB_ORG.claims(statement_id="CJIB-2026-IOP-DPOPNONCE"))
    link = svc.create_offer(model)
    with serve(asgi_app(svc), port=port):
        got = peer.call("receive", offer=link.uri, tx_code=link.tx_code, now=PILOT_NOW)
    assert len(got["credentials"]) == 1
