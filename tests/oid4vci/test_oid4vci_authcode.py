"""The authorization code grant: PAR (RFC 9126), PKCE S256 (plain refused), ``issuer_state``,
and the pluggable authenticator (a test one here: real DigiD is outside)."""

from __future__ import annotations

import base64
import hashlib
import itertools
import secrets
import urllib.parse
from collections.abc import Mapping
from typing import Any

import pytest
from scheme import CJIB_ORG, PILOT_NOW, Scheme

from blauweknop import Key
from blauweknop.oid4vci import HttpRequest, IssuerService

from ._driver import ISSUER_URL, Clock, Driver, TestAuthenticator, allocations, credentials

_ids = itertools.count(1)
REDIRECT = "https://wallet.example/cb"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Scheme:
    return Scheme.build(tmp_path_factory.mktemp("oid4vci-authcode"), status_cache=False)


@pytest.fixture
def auth() -> TestAuthenticator:
    return TestAuthenticator()


@pytest.fixture
def drv(world: Scheme, auth: TestAuthenticator) -> Driver:
    clock = Clock(PILOT_NOW)
    svc = IssuerService.for_home(
        world.root / "cjib", issuer_url=ISSUER_URL, clock=clock, authenticator=auth
    )
    return Driver(svc, clock)


def _offer(drv: Driver, auth: TestAuthenticator, who: str = "alice") -> str:
    model = CJIB_ORG.model(CJIB_ORG.claims(statement_id=f"CJIB-2026-A{next(_ids):05d}"))
    link = drv.svc.create_offer(model, authorization_code=True)
    state = link.offer["grants"]["authorization_code"]["issuer_state"]
    auth.offers[who] = state
    return str(state)


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _form(d: Mapping[str, str]) -> dict[str, Any]:
    return {
        "body": urllib.parse.urlencode(d).encode(),
        "headers": {"Content-Type": "application/x-www-form-urlencoded"},
    }


def _par(drv: Driver, challenge: str, **extra: str) -> Any:
    params = {
        "response_type": "code",
        "client_id": "wallet-1",
        "redirect_uri": REDIRECT,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "scope": "debt_statement_dc_sd_jwt",
        "state": "st-1",
        **extra,
    }
    return drv.request("POST", "/par", **_form(params))


def _authorize(
    drv: Driver, request_uri: str, who: str | None = "alice", client_id: str = "wallet-1"
) -> dict[str, str]:
    q = urllib.parse.urlencode({"client_id": client_id, "request_uri": request_uri})
    headers = {"X-Test-Citizen": who} if who else {}
    r = drv.svc.handle(
        HttpRequest(
            method="GET",
            url=ISSUER_URL + "/authorize",
            path="/authorize",
            query=q,
            headers={k.lower(): [v] for k, v in headers.items()},
        )
    )
    assert r.status == 302, r.body
    loc = urllib.parse.urlsplit(r.headers["Location"])
    assert f"{loc.scheme}://{loc.netloc}{loc.path}" == REDIRECT
    return dict(urllib.parse.parse_qsl(loc.query))


def _token(drv: Driver, code: str, verifier: str, **extra: str) -> Any:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "client_id": "wallet-1",
        "code_verifier": verifier,
        **extra,
    }
    f = _form(form)
    f["headers"]["DPoP"] = drv.dpop("/token")
    return drv.request("POST", "/token", **f)


def _code(drv: Driver, auth: TestAuthenticator, verifier_challenge: tuple[str, str]) -> str:
    state = _offer(drv, auth)
    r = _par(drv, verifier_challenge[1], issuer_state=state)
    assert r.status == 201, r.json_body()
    back = _authorize(drv, r.json_body()["request_uri"])
    assert back["state"] == "st-1" and back["iss"] == ISSUER_URL
    return back["code"]


def test_the_whole_grant(drv: Driver, auth: TestAuthenticator, world: Scheme) -> None:
    verifier, challenge = _pkce()
    code = _code(drv, auth, (verifier, challenge))
    r = _token(drv, code, verifier)
    assert r.status == 200, r.json_body()
    token = r.json_body()["access_token"]
    body = drv.request_body("debt_statement_dc_sd_jwt", [drv.proof(Key.generate(), drv.nonce())])
    assert drv.credential(token, body).status == 200
    md = drv.svc.authorization_server_metadata()
    assert md["require_pushed_authorization_requests"] is True
    assert md["code_challenge_methods_supported"] == ["S256"]


@pytest.mark.parametrize("method", ["plain", None])
def test_pkce_plain_or_missing_is_refused(drv: Driver, method: str | None) -> None:
    verifier = secrets.token_urlsafe(48)
    params = {"code_challenge_method": method} if method else {}
    r = _par(drv, verifier[:43], **params)
    if method is None:  # no method at all: _par's default S256 must be dropped
        form = {
            "response_type": "code",
            "client_id": "c",
            "redirect_uri": REDIRECT,
            "code_challenge": verifier[:43],
        }
        r = drv.request("POST", "/par", **_form(form))
    assert (r.status, r.json_body()["error"]) == (400, "invalid_request")


def test_wrong_code_verifier_burns_the_code(
    drv: Driver, auth: TestAuthenticator, world: Scheme
) -> None:
    home = world.root / "cjib"
    before = (credentials(home), allocations(home))
    verifier, challenge = _pkce()
    code = _code(drv, auth, (verifier, challenge))
    r = _token(drv, code, secrets.token_urlsafe(48))
    assert (r.status, r.json_body()["error"]) == (400, "invalid_grant")
    r = _token(drv, code, verifier)  # the right verifier comes too late: codes are single use
    assert (r.status, r.json_body()["error"]) == (400, "invalid_grant")
    assert (credentials(home), allocations(home)) == before


def test_code_replay_and_redirect_mismatch(drv: Driver, auth: TestAuthenticator) -> None:
    verifier, challenge = _pkce()
    code = _code(drv, auth, (verifier, challenge))
    r = _token(drv, code, verifier, redirect_uri="https://evil.example/cb")
    assert r.json_body()["error"] == "invalid_grant"
    verifier, challenge = _pkce()
    code = _code(drv, auth, (verifier, challenge))
    assert _token(drv, code, verifier).status == 200
    assert _token(drv, code, verifier).json_body()["error"] == "invalid_grant"


def test_request_uri_single_use_and_bound_to_client(drv: Driver, auth: TestAuthenticator) -> None:
    state = _offer(drv, auth)
    _, challenge = _pkce()
    uri = _par(drv, challenge, issuer_state=state).json_body()["request_uri"]
    q = urllib.parse.urlencode({"client_id": "other-wallet", "request_uri": uri})
    r = drv.svc.handle(
        HttpRequest(method="GET", url=ISSUER_URL + "/authorize", path="/authorize", query=q)
    )
    assert r.json_body()["error"] == "invalid_request"
    q = urllib.parse.urlencode({"client_id": "wallet-1", "request_uri": uri})
    r = drv.svc.handle(
        HttpRequest(method="GET", url=ISSUER_URL + "/authorize", path="/authorize", query=q)
    )
    assert r.json_body()["error"] == "invalid_request_uri"


def test_authenticator_refusal_redirects_with_access_denied(
    drv: Driver, auth: TestAuthenticator
) -> None:
    state = _offer(drv, auth)
    _, challenge = _pkce()
    uri = _par(drv, challenge, issuer_state=state).json_body()["request_uri"]
    back = _authorize(drv, uri, who="mallory")
    assert back["error"] == "access_denied" and "code" not in back


def test_issuer_state_of_another_citizen(drv: Driver, auth: TestAuthenticator) -> None:
    _offer(drv, auth, who="alice")
    bobs = _offer(drv, auth, who="bob")
    _, challenge = _pkce()
    # Alice's wallet pushes Bob's issuer_state: the authenticator names Alice's offer.
    uri = _par(drv, challenge, issuer_state=bobs).json_body()["request_uri"]
    back = _authorize(drv, uri, who="alice")
    assert back["error"] == "access_denied"


def test_disabled_without_authenticator(world: Scheme) -> None:
    clock = Clock(PILOT_NOW)
    d = Driver(
        IssuerService.for_home(world.root / "cjib", issuer_url=ISSUER_URL, clock=clock), clock
    )
    _, challenge = _pkce()
    assert _par(d, challenge).json_body()["error"] == "invalid_request"
    assert "authorization_endpoint" not in d.svc.authorization_server_metadata()


def test_unknown_scope_refused(drv: Driver) -> None:
    _, challenge = _pkce()
    r = _par(drv, challenge, scope="everything")
    assert r.json_body()["error"] == "invalid_scope"
