"""Drive an :class:`IssuerService` directly (no HTTP): the framework-free core, as a wallet
would talk to it, with every piece replaceable so hostile tests can bend one at a time."""

from __future__ import annotations

import json
import sqlite3
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from blauweknop import Key
from blauweknop.oid4vci import HttpRequest, HttpResponse, IssuerService, OAuthError
from blauweknop.oid4vci._proofs import make_dpop, make_key_proof

PRE_AUTH = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
ISSUER_URL = "https://issuer.example"


@dataclass
class Clock:
    """A settable clock for the service and the proofs."""

    now: float

    def __call__(self) -> float:
        return self.now


def allocations(home: Path) -> int:
    """Status indices ever allocated in this home's register (burned ones included)."""
    with sqlite3.connect(home / "register.sqlite") as c:
        return int(c.execute("SELECT COUNT(*) FROM allocations").fetchone()[0])


def credentials(home: Path) -> int:
    """Credentials in this home's register."""
    with sqlite3.connect(home / "register.sqlite") as c:
        return int(c.execute("SELECT COUNT(*) FROM credentials").fetchone()[0])


@dataclass
class Driver:
    svc: IssuerService
    clock: Clock
    dpop_key: Key = field(default_factory=Key.generate)

    @property
    def now(self) -> int:
        return int(self.clock())

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes = b"",
        headers: Mapping[str, str | list[str]] | None = None,
    ) -> HttpResponse:
        hs = {k.lower(): (v if isinstance(v, list) else [v]) for k, v in (headers or {}).items()}
        return self.svc.handle(
            HttpRequest(method=method, url=ISSUER_URL + path, path=path, headers=hs, body=body)
        )

    def dpop(
        self,
        path: str,
        *,
        token: str | None = None,
        key: Key | None = None,
        method: str = "POST",
        url: str | None = None,
        iat: int | None = None,
        nonce: str | None = None,
    ) -> str:
        return make_dpop(
            key or self.dpop_key,
            method=method,
            url=url or ISSUER_URL + path,
            now=self.now if iat is None else iat,
            access_token=token,
            nonce=nonce,
        )

    def token(
        self,
        code: str,
        tx_code: str | None = None,
        *,
        dpop: str | None = None,
        extra: Mapping[str, str] | None = None,
    ) -> HttpResponse:
        form = {"grant_type": PRE_AUTH, "pre-authorized_code": code, **(extra or {})}
        if tx_code is not None:
            form["tx_code"] = tx_code
        return self.request(
            "POST",
            "/token",
            body=urllib.parse.urlencode(form).encode(),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "DPoP": dpop if dpop is not None else self.dpop("/token"),
            },
        )

    def access_token(self, code: str, tx_code: str | None) -> str:
        r = self.token(code, tx_code)
        assert r.status == 200, r.json_body()
        return str(r.json_body()["access_token"])

    def nonce(self) -> str:
        r = self.request("POST", "/nonce")
        assert r.status == 200
        return str(r.json_body()["c_nonce"])

    def proof(self, key: Key, nonce: str, *, aud: str = ISSUER_URL, iat: int | None = None) -> str:
        return make_key_proof(key, audience=aud, nonce=nonce, now=self.now if iat is None else iat)

    def credential(
        self,
        token: str,
        body: Any,
        *,
        dpop: str | None = None,
        raw: bytes | None = None,
        scheme: str = "DPoP",
    ) -> HttpResponse:
        return self.request(
            "POST",
            "/credential",
            body=raw if raw is not None else json.dumps(body).encode(),
            headers={
                "Content-Type": "application/json",
                "Authorization": f"{scheme} {token}",
                "DPoP": dpop if dpop is not None else self.dpop("/credential", token=token),
            },
        )

    def request_body(self, cfg: str, proofs: list[str]) -> dict[str, Any]:
        return {"credential_configuration_id": cfg, "proofs": {"jwt": proofs}}


def pre_auth_code(offer: Mapping[str, Any]) -> str:
    return str(offer["grants"][PRE_AUTH]["pre-authorized_code"])


class TestAuthenticator:
    """Logs in whoever sends ``X-Test-Citizen``; each citizen may redeem one offer."""

    __test__ = False

    def __init__(self) -> None:
        self.offers: dict[str, str] = {}

    def __call__(self, request: HttpRequest, params: Mapping[str, Any]) -> str:
        who = request.header("x-test-citizen")
        if who is None or who not in self.offers:
            raise OAuthError("access_denied", "not logged in")
        return self.offers[who]
