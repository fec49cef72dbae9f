"""The payment-arrangement test world: the pilot scheme (Gemeente Eindhoven, CJIB, DUO) plus an
arrangement coordinator on the trust list, a citizen's wallet holding the pilot credentials,
and a status cache with every issuer's published lists. Shared by the arrangement tests."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scheme import PILOT, PILOT_NOW, Scheme

from blauweknop import Issuer, StatusCache, TrustList, Verifier, Wallet
from blauweknop.arrangement import ArrangementCoordinator, statements_request

COORD = "urn:oin:00000001821002193000"
COORD_NAME = "Betalingsregeling Rijk"
NOW = PILOT_NOW
START = dt.date(2027, 1, 1)
MONTHLY = 45000


@dataclass
class World:
    """One built world (see the module docstring)."""

    root: Path
    scheme: Scheme
    coordinator_issuer: Issuer
    trust: TrustList
    cache: StatusCache
    wallet: Wallet

    def verifier(self, **kw: Any) -> Verifier:
        """A verifier over the world's trust list and status cache."""
        kw.setdefault("status", self.cache)
        return Verifier(kw.pop("trust", self.trust), **kw)

    def coordinator(self, **kw: Any) -> ArrangementCoordinator:
        """The coordinator service with a verifier of the world."""
        return ArrangementCoordinator(self.coordinator_issuer, self.verifier(**kw))

    def publish(self, at: float = NOW) -> None:
        """Publish every issuer's lists into the cache, as fetched at ``at``."""
        for issuer in (*self.scheme.trusted, self.coordinator_issuer):
            slot = issuer.home.name
            for f in issuer.publish_status(self.root / "published2" / slot, now=at):
                self.cache.import_file(f, fetched_at=at)

    def statements_vp(
        self,
        *,
        fmt: str = "sd-jwt",
        nonce: str = "n-arr",
        declaration: bool = True,
        wallet: Wallet | None = None,
        at: float = NOW,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The wallet's answer to the coordinator's request: ``(request, vp_token)``."""
        request = statements_request(format=fmt, declaration=declaration)
        vp = (wallet or self.wallet).present(request, nonce=nonce, audience=COORD, now=at)
        return request, vp


def build_world(
    root: Path,
    *,
    fmt: str = "sd-jwt",
    slots: tuple[str, ...] = ("gem", "cjib", "duo"),
    valid_days: dict[str, int] | None = None,
) -> World:
    """Build the world below ``root``; the pilot credentials of ``slots`` are issued in
    ``fmt`` (``valid_days`` by slot, default the type's)."""
    root.mkdir(parents=True, exist_ok=True)
    wallet = Wallet.create(root / "wallet", passphrase="arrangement tests", scrypt_n=2**10)
    scheme = Scheme.build(root / "scheme", status_cache=False)
    holder = wallet.holder_jwk()
    coordinator = Issuer.init(
        root / "scheme" / "coord",
        issuer_id=COORD,
        name=COORD_NAME,
        roles=["arrangement_coordinator"],
        status_base_uri="https://status.brr.example/arr",
    )
    token = scheme.trust_list([*scheme.trusted, coordinator])
    trust = scheme.verified_trust(token)
    (root / "trust.jwt").write_text(token)  # with the coordinator (the scheme's has none)
    for org in PILOT:
        if org.slot not in slots:
            continue
        issued = scheme.issuers[org.slot].issue(
            org.model(),
            holder_jwk=holder,
            format=fmt,
            now=NOW,
            valid_days=(valid_days or {}).get(org.slot),
        )
        wallet.add(issued.text, trust_list=trust, now=NOW)
    cache = StatusCache(root / "status-cache", trust_list=trust)
    world = World(root, scheme, coordinator, trust, cache, wallet)
    world.publish()
    return world
