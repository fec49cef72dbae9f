"""The OpenID4VP test world: the pilot scheme, a scheme CA, CJIB registered as a verifier with
an X.509 certificate, a wallet holding the pilot credentials in both encodings, and the
creditor's :class:`VerifierService` with the Rode Knop hold decision.

The clock is injected everywhere (:data:`tests.scheme.PILOT_NOW`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import secrets
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509

from blauweknop import (
    RODE_KNOP_VCT,
    Key,
    PresentationResult,
    TrustList,
    Verifier,
    Wallet,
    build_trust_list,
)
from blauweknop._x509 import CertificateAuthority
from blauweknop.oid4vp import SessionStore, VerifierService, WalletResponder, verifier_app
from blauweknop.oid4vp._certs import chain_der
from rodeknop_vc import hold_decision
from tests.live import _free_port, serve
from tests.scheme import CJIB, DATA, PILOT_NOW, Scheme, today_declaration

REQUESTS = DATA / "requests"

RODE_KNOP_CLAIMS = [
    ["declaration_id"],
    ["municipality"],
    ["executing_organisation"],
    ["payment_incapacity"],
    ["admitted_to_debt_relief"],
    ["trajectory_start"],
    ["valid_from"],
    ["valid_until"],
    ["requested_measures"],
    ["counsellor", "organisation_phone"],
    ["counsellor", "organisation_email"],
    ["subject", "family_name"],
    ["subject", "given_names"],
    ["subject", "birthdate"],
]
DEBT_CLAIMS = [["creditor"], ["totals"], ["currency"], ["balance_at"]]
#: CJIB's registration: the Rode Knop check and debt totals, not the BSN.
CJIB_MAY_REQUEST = [
    {"vct": RODE_KNOP_VCT, "claims": RODE_KNOP_CLAIMS},
    {"vct": "urn:blauweknop:debt-statement:1", "claims": DEBT_CLAIMS},
]


def request_file(name: str) -> dict[str, Any]:
    """A DCQL request of ``examples/data/requests``."""
    data: dict[str, Any] = json.loads((REQUESTS / name).read_text())
    return data


def decide(result: PresentationResult, now: float) -> Mapping[str, Any] | None:
    """The Rode Knop hold decision on a verified result (``None`` without a declaration)."""
    declarations = result.of_type(RODE_KNOP_VCT)
    if not declarations:
        return None
    today = dt.datetime.fromtimestamp(now, dt.UTC).date()
    return hold_decision(declarations[0], today=today).to_json()


@dataclass
class World:
    scheme: Scheme
    wallet: Wallet
    ca: Any
    root: x509.Certificate
    creditor_key: Key
    x5c: list[str]
    wallet_trust: TrustList
    wallet_trust_jwt: str
    verifier: Verifier
    now: float
    work: Path

    def service(self, base_url: str = "http://127.0.0.1:9", **kw: Any) -> VerifierService:
        if "store" not in kw:
            kw["store"] = SessionStore(self.work / f"sessions-{secrets.token_hex(6)}.sqlite")
        kw.setdefault("signer", self.creditor_key)
        kw.setdefault("x5c", self.x5c)
        kw.setdefault("decide", decide)
        kw.setdefault("clock", lambda: self.now)
        return VerifierService(verifier=self.verifier, base_url=base_url, **kw)

    @contextlib.contextmanager
    def running(self, **kw: Any) -> Iterator[tuple[VerifierService, httpx.Client]]:
        """A verifier service (``kw`` as for :meth:`service`) served by uvicorn on loopback,
        and an HTTP client for it (base URL set)."""
        port = _free_port()
        service = self.service(base_url=f"http://127.0.0.1:{port}", **kw)
        with (
            serve(verifier_app(service), port=port) as base,
            httpx.Client(base_url=base, timeout=30) as client,
        ):
            yield service, client

    def responder(self, **kw: Any) -> WalletResponder:
        kw.setdefault("trust_list", self.wallet_trust)
        kw.setdefault("roots", [self.root])
        kw.setdefault("clock", lambda: self.now)
        return WalletResponder(self.wallet, **kw)


def verifier_entry(scheme: Scheme, may_request: Any = None) -> dict[str, Any]:
    entry = scheme.cjib.trust_entry()
    entry["roles"] = [*entry["roles"], "verifier"]
    entry["verifier"] = {"may_request": CJIB_MAY_REQUEST if may_request is None else may_request}
    return entry


PASSPHRASE = "oid4vp tests"


def build_world(work: Path, *, now: float = PILOT_NOW, real_clock: bool = False) -> World:
    """The world at ``now``; ``real_clock``: at the real time, with a declaration window
    around today (for tests that run the CLI, which reads the clock itself)."""
    if real_clock:
        now = time.time()
    wallet = Wallet.create(work / "wallet", passphrase=PASSPHRASE, scrypt_n=2**10)
    gem_claims = today_declaration() if real_clock else scheme_org("gem").claims()
    scheme = Scheme.build(
        work / "scheme",
        wallet=wallet,
        now=now,
        status_cache=False,
        claims={"gem": gem_claims},
    )
    holder = wallet.holder_jwk()
    for slot, id_claim in (("gem", "declaration_id"), ("cjib", "statement_id")):
        # the W3C ecdsa-sd-2023 copies beside the SD-JWT VCs (own ids: the register is shared)
        org = scheme_org(slot)
        claims = dict(gem_claims) if slot == "gem" else org.claims()
        claims[id_claim] += "-DI"
        issued = scheme.issuers[slot].issue(
            org.model(claims), holder_jwk=holder, format="di", now=now
        )
        wallet.add(issued.text, trust_list=scheme.trust, now=now)
    cache = scheme.status_cache(work / "status-cache", work / "published", now=now)
    verifier = scheme.verifier(status=cache)
    ca = CertificateAuthority.create("Blauwe Knop scheme CA", valid_days=365, now=now)
    creditor_key = Key.generate()
    cert = ca.issue(
        "CJIB verifier",
        creditor_key.public(),
        uris=(CJIB,),
        role="verifier",
        valid_days=90,
        now=now,
    )
    entries = [scheme.gem.trust_entry(), verifier_entry(scheme), scheme.duo.trust_entry()]
    token = build_trust_list(entries, scheme.anchor, now=now)
    return World(
        scheme=scheme,
        wallet=wallet,
        ca=ca,
        root=ca.certificate,
        creditor_key=creditor_key,
        x5c=chain_der([cert]),
        wallet_trust=TrustList.verify(token, scheme.anchor.public(), now=now),
        wallet_trust_jwt=token,
        verifier=verifier,
        now=now,
        work=work,
    )


def scheme_org(slot: str) -> Any:
    from tests.scheme import PILOT

    return next(o for o in PILOT if o.slot == slot)
