"""A fictional population for the area-report tests: people in a few PC4 areas with debt
statements at CJIB and DUO and Rode Knop declarations of Gemeente Eindhoven, issued with
their area. The register clocks are injected (``PILOT_NOW``) so the snapshot of the period
2026-11 counts them."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scheme import CJIB_ORG, DUO_ORG, GEMEENTE_EINDHOVEN, PILOT_NOW, Scheme

from blauweknop import Issuer, Key
from blauweknop.area import Pseudonymiser
from blauweknop.debt import DebtStatement
from rodeknop_vc import PaymentIncapacityDeclaration

PERIOD = "2026-11"
#: After the period's snapshot (2026-12-01 00:00 in the Netherlands).
AFTER = PILOT_NOW + 10 * 86400
AREAS = ("5611", "5612", "5613", "5614")
#: The scheme's pseudonymisation party: its keys never reach an issuer home (issuers get
#: ``area-party.pub.jwk`` only).
PARTY = Pseudonymiser.generate()


def bsn(rng: random.Random) -> str:
    """A random BSN that passes the eleven-test."""
    while True:
        digits = [rng.randrange(1, 10)] + [rng.randrange(10) for _ in range(7)]
        s = sum(d * w for d, w in zip(digits, range(9, 1, -1), strict=True)) % 11
        if s < 10:
            return "".join(map(str, digits)) + str(s)


@dataclass
class Person:
    bsn: str
    pc4: str
    cjib: int  # outstanding cents at CJIB (0: no statement)
    cjib_arrears: bool
    duo: int
    duo_arrears: bool
    rode_knop: bool


def population(n: int, seed: int = 7) -> list[Person]:
    rng = random.Random(seed)
    people = []
    for _ in range(n):
        people.append(
            Person(
                bsn=bsn(rng),
                pc4=rng.choice(AREAS),
                cjib=rng.choice([0, 25_000, 150_000, 700_000]),
                cjib_arrears=rng.random() < 0.5,
                duo=rng.choice([0, 0, 300_000, 2_500_000]),
                duo_arrears=rng.random() < 0.4,
                rode_knop=rng.random() < 0.3,
            )
        )
    return people


def statement(org: Any, person: Person, n: int, outstanding: int, arrears: bool) -> DebtStatement:
    claims = org.claims()
    claims.pop("cases", None)
    claims["statement_id"] = f"{claims['creditor']['code']}-P{n:05d}"
    claims["subject"] = {**claims["subject"], "bsn": person.bsn, "family_name": f"Persoon{n}"}
    claims["totals"] = {
        "imposed": outstanding + 1000,
        "settled": 1000,
        "outstanding": outstanding,
        "in_arrears": outstanding // 3 if arrears else 0,
        "number_of_cases": 1,
    }
    return DebtStatement.from_claims(claims)


def declaration(person: Person, n: int) -> PaymentIncapacityDeclaration:
    claims = GEMEENTE_EINDHOVEN.claims(declaration_id=f"GM0772-RK-P{n:05d}")
    claims["subject"] = {**claims["subject"], "bsn": person.bsn, "family_name": f"Persoon{n}"}
    return PaymentIncapacityDeclaration.from_claims(claims)


@dataclass
class AreaWorld:
    scheme: Scheme
    people: list[Person]

    @property
    def issuers(self) -> dict[str, Issuer]:
        return {"gem": self.scheme.gem, "cjib": self.scheme.cjib, "duo": self.scheme.duo}


def install_party_key(issuer: Issuer, party: Pseudonymiser = PARTY) -> None:
    """Configure the party's PUBLIC key in the issuer home (what an issuer may hold)."""
    (issuer.home / "area-party.pub.jwk").write_text(json.dumps(party.public_jwk()) + "\n")


def issue_population(scheme: Scheme, people: list[Person], *, start: int = 0) -> None:
    holder = Key.generate().public_jwk()
    for issuer in (scheme.gem, scheme.cjib, scheme.duo):
        issuer.register._clock = lambda: PILOT_NOW  # type: ignore[attr-defined]
    for n, p in enumerate(people, start=start):
        if p.cjib:
            scheme.cjib.issue(
                statement(CJIB_ORG, p, n, p.cjib, p.cjib_arrears),
                holder_jwk=holder,
                now=PILOT_NOW,
                area=p.pc4,
            )
        if p.duo:
            scheme.duo.issue(
                statement(DUO_ORG, p, n, p.duo, p.duo_arrears),
                holder_jwk=holder,
                now=PILOT_NOW,
                area=p.pc4,
            )
        if p.rode_knop:
            scheme.gem.issue(declaration(p, n), holder_jwk=holder, now=PILOT_NOW, area=p.pc4)


def build_area_world(root: Path, n: int = 80, *, party: bool = True) -> AreaWorld:
    scheme = Scheme.build(root, status_cache=False)
    if party:
        for issuer in (scheme.gem, scheme.cjib, scheme.duo):
            install_party_key(issuer)
    people = population(n)
    issue_population(scheme, people)
    return AreaWorld(scheme, people)
