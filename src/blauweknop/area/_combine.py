"""Combining several issuers' area figures per PC4 area, with keyed pseudonyms.

Three parties (``specs/area-report.md``):

* each **issuer** signs an extract (``area-extract+jwt``) of its people's signals for a
  period: area, measures, and the person's BSN *sealed* to the pseudonymisation party (a JWE,
  ``ECDH-ES`` + ``A256GCM``, to the party's public key, fresh per record, recorded at issuance).
  An issuer can neither open a sealed BSN nor link two of them;
* the **pseudonymisation party** (:class:`Pseudonymiser`) verifies the extract, opens each
  sealed BSN with its private key and at once replaces it by the pseudonym HMAC-SHA256(its own
  key, BSN); the BSN is dropped. Only the party holds the private key and the HMAC key;
* the **combiner** (a municipality's monitor) counts distinct pseudonyms per area and measure
  over all issuers, and the people with arrears at two or more creditors, and applies the same
  suppression. It sees neither BSNs nor sealed BSNs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jwcrypto import jwe as _jwe
from jwcrypto import jwk as _jwk
from jwcrypto.common import JWException

from .._codec import b64u_decode, parse_json_object
from .._errors import InvalidDataError, MalformedError, PolicyError, TrustError
from .._issuer import Issuer
from .._jws import parse_compact, sign_compact
from .._model import check_bsn
from .._register._areas import SEALED_BSN_ALG, party_public_key
from .._trust import TrustList
from ._report import _PC4, REPORTING_ROLES, period_snapshot, person_signals
from ._tables import MEASURES, TOTAL, Table, suppress, totals_row

__all__ = [
    "AREA_EXTRACT_TYP",
    "COMBINED_MEASURES",
    "CombinedReport",
    "PseudonymisedExtract",
    "Pseudonymiser",
    "combine",
    "signed_extract",
]

AREA_EXTRACT_TYP = "area-extract+jwt"
"""The JWS ``typ`` of an issuer's extract for the pseudonymisation party."""
COMBINED_MEASURES = ("rode_knop", "outstanding", "arrears", "arrears_2plus")
"""The combined report's measures, in distinct people: a current Rode Knop declaration, an
outstanding statement, arrears, and arrears at two or more creditors (``arrears_2plus``).
Amount bands are not combined (one person's amounts at several creditors fall in several
bands)."""
#: Content encryption the party accepts on a sealed BSN.
_SEALED_ENC = ("A256GCM", "A128GCM")
_SEALED_HEADER = frozenset({"alg", "enc", "kid", "epk"})
_MAX_SEALED = 2048


def signed_extract(issuer: Issuer, period: str, *, now: float | None = None) -> str:
    """The issuer's signed extract of ``period`` for the pseudonymisation party: one row per
    person and area with the measures and the sealed BSN (no BSN, no hash of one)."""
    rows = [
        {"pc4": s.pc4, "measures": sorted(s.measures), "sealed_bsn": s.sealed_bsn}
        for s in person_signals(issuer, period)
    ]
    rows.sort(key=lambda r: (r["pc4"], r["sealed_bsn"] or "", r["measures"]))
    payload = {
        "iss": issuer.issuer_id,
        "iat": int(time.time() if now is None else now),
        "period": period,
        "snapshot": period_snapshot(period),
        "rows": rows,
    }
    header = {"typ": AREA_EXTRACT_TYP, "kid": issuer.signer.kid}
    return sign_compact(header, json.dumps(payload, sort_keys=True).encode(), issuer.signer)


@dataclass(frozen=True, kw_only=True)
class PseudonymisedExtract:
    """An issuer's extract after the pseudonymisation party: rows ``(pc4, measures,
    pseudonym or None)``."""

    issuer: str
    period: str
    rows: tuple[tuple[str, frozenset[str], str | None], ...]


class Pseudonymiser:
    """The pseudonymisation party. It alone holds ``key`` (the HMAC key, 32+ bytes) and
    ``private_jwk`` (a P-256 key pair whose public half, :meth:`public_jwk`, the issuers
    configure as ``area-party.pub.jwk`` to seal BSNs to)."""

    def __init__(self, key: bytes, private_jwk: Mapping[str, Any]) -> None:
        if not isinstance(key, bytes) or len(key) < 32:
            raise InvalidDataError("invalid_data", "the pseudonymisation key has 32+ bytes")
        if not isinstance(private_jwk, Mapping) or not isinstance(private_jwk.get("d"), str):
            raise InvalidDataError("invalid_data", "the party's key: a private P-256 JWK")
        pub = party_public_key({k: v for k, v in private_jwk.items() if k != "d"})
        try:
            self._jwk = _jwk.JWK(**{**pub, "d": private_jwk["d"]})
            self._jwk.get_op_key("unwrapKey")  # d must fit the public point
        except (JWException, ValueError, TypeError) as e:
            raise InvalidDataError("invalid_data", "the party's key is not a P-256 key") from e
        self._key = key
        self._pub = {**pub, "use": "enc", "alg": SEALED_BSN_ALG}

    @classmethod
    def generate(cls) -> Pseudonymiser:
        """A party with a fresh HMAC key and a fresh P-256 key pair."""
        key = _jwk.JWK.generate(kty="EC", crv="P-256")
        return cls(secrets.token_bytes(32), json.loads(key.export_private()))

    def __repr__(self) -> str:
        return f"Pseudonymiser(kid={self._pub['kid']!r}, <keys withheld>)"

    def public_jwk(self) -> dict[str, str]:
        """The public key the issuers seal BSNs to (``area-party.pub.jwk``)."""
        return dict(self._pub)

    def private_jwk(self) -> dict[str, str]:
        """The private key, for the party's own key file only (0600); never log it."""
        out: dict[str, str] = json.loads(self._jwk.export_private())
        return {**out, "kid": self._pub["kid"], "use": "enc", "alg": SEALED_BSN_ALG}

    def pseudonym(self, bsn: str) -> str:
        """HMAC-SHA256 of a BSN under the party's key (a BSN failing the eleven-test is
        refused)."""
        check_bsn(bsn, "sealed BSN")
        return hmac.new(self._key, b"pseudonym:bsn:" + bsn.encode(), hashlib.sha256).hexdigest()

    def _open(self, sealed: Any) -> str:
        """Open one sealed BSN (strict header first: no key is tried on anything else)."""
        if not isinstance(sealed, str) or len(sealed) > _MAX_SEALED:
            raise MalformedError("jwe_invalid", "a sealed BSN is a compact JWE string")
        parts = sealed.split(".")
        if len(parts) != 5:
            raise MalformedError("jwe_invalid", "a sealed BSN is a compact JWE")
        header = parse_json_object(b64u_decode(parts[0], what="JWE header"), what="JWE header")
        if header.get("alg") != SEALED_BSN_ALG:
            raise PolicyError(
                "jwe_alg_not_allowed", f"sealed BSN: alg {header.get('alg')!r} (only ECDH-ES)"
            )
        enc = header.get("enc")
        if enc not in _SEALED_ENC:
            raise PolicyError("jwe_enc_not_allowed", f"sealed BSN: enc {enc!r} is not allowed")
        extra = set(header) - _SEALED_HEADER
        if extra:
            raise PolicyError("jwe_header_not_allowed", f"sealed BSN: header {sorted(extra)[0]!r}")
        if parts[1]:  # ECDH-ES agrees the content key directly: no wrapped key
            raise MalformedError("jwe_invalid", "a sealed BSN has no encrypted key")
        epk = header.get("epk")
        if header.get("kid") != self._pub["kid"] or not (
            isinstance(epk, Mapping) and epk.get("kty") == "EC" and epk.get("crv") == "P-256"
        ):
            raise PolicyError("jwe_key_unknown", "a sealed BSN is not sealed to this party's key")
        try:
            box = _jwe.JWE(algs=[SEALED_BSN_ALG, str(enc)])
            box.deserialize(sealed, key=self._jwk)
            plain: bytes = box.payload
        except (JWException, ValueError, TypeError, KeyError) as e:
            raise MalformedError("jwe_invalid", "a sealed BSN does not open with this key") from e
        try:
            bsn = plain.decode("ascii")
            check_bsn(bsn, "sealed BSN")
        except (UnicodeDecodeError, InvalidDataError) as e:
            raise MalformedError(
                "area_report_malformed", "a sealed value is not a BSN (9 digits, eleven-test)"
            ) from e
        return bsn

    def apply(
        self, extract: str, trust_list: TrustList, *, now: float | None = None
    ) -> PseudonymisedExtract:
        """Verify an issuer's extract (signature via the trust list, role), open each sealed
        BSN and replace it at once by its pseudonym; the BSNs are dropped. Any row that does
        not open to a BSN refuses the whole extract.

        Raises:
            SignatureError / TrustError: the extract's signature or issuer.
            MalformedError: ``area_report_malformed`` (shape; a sealed value that is not a
                BSN), ``jwe_invalid`` (not a JWE, or it does not open).
            PolicyError: ``jwe_alg_not_allowed``, ``jwe_enc_not_allowed``,
                ``jwe_header_not_allowed``, ``jwe_key_unknown`` (sealed to another key).
        """
        parsed = parse_compact(extract, typ=AREA_EXTRACT_TYP)
        head = parsed.payload_json()
        iss = head.get("iss")
        if not isinstance(iss, str):
            raise MalformedError("area_report_malformed", "iss: the issuer's id")
        kid = parsed.header.get("kid")
        parsed.verify(trust_list.resolve_key(iss, kid if isinstance(kid, str) else None, now=now))
        if not REPORTING_ROLES.intersection(trust_list.organisation(iss, now=now).roles):
            raise TrustError("untrusted_issuer", f"{iss} holds no role that keeps area signals")
        rows = []
        try:
            period = str(head["period"])
            for r in head["rows"]:
                pc4, measures, sealed = r["pc4"], frozenset(r["measures"]), r["sealed_bsn"]
                if not (isinstance(pc4, str) and _PC4.fullmatch(pc4)) or not measures <= set(
                    MEASURES
                ):
                    raise ValueError(f"row {r!r}")
                rows.append((pc4, measures, sealed))
        except (KeyError, TypeError, ValueError) as e:
            raise MalformedError("area_report_malformed", f"not an area extract: {e}") from e
        out = [
            (pc4, measures, None if sealed is None else self.pseudonym(self._open(sealed)))
            for pc4, measures, sealed in rows
        ]
        out.sort(key=lambda r: (r[0], r[2] or "", sorted(r[1])))
        return PseudonymisedExtract(issuer=iss, period=period, rows=tuple(out))


@dataclass(frozen=True, kw_only=True)
class CombinedReport:
    """Combined figures of several issuers per PC4 area (``None`` = suppressed).

    Attributes:
        period / issuers / k: what was combined, and the threshold.
        measures / areas: as in :class:`AreaReport`, plus ``arrears_2plus``.
    """

    period: str
    issuers: tuple[str, ...]
    k: int
    measures: tuple[str, ...]
    areas: Table

    def to_json(self) -> dict[str, Any]:
        """Plain JSON (what ``blauweknop area combine`` writes)."""
        return {
            "period": self.period,
            "issuers": list(self.issuers),
            "k": self.k,
            "measures": list(self.measures),
            "areas": self.areas,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CombinedReport:
        """Read what :meth:`to_json` wrote (for charts)."""
        try:
            return cls(
                period=str(data["period"]),
                issuers=tuple(str(i) for i in data["issuers"]),
                k=int(data["k"]),
                measures=tuple(str(m) for m in data["measures"]),
                areas={
                    str(a): {str(m): (None if v is None else int(v)) for m, v in row.items()}
                    for a, row in data["areas"].items()
                },
            )
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise MalformedError("area_report_malformed", f"not a combined report: {e}") from e


def combine(extracts: Sequence[PseudonymisedExtract], *, k: int = 10) -> CombinedReport:
    """Count distinct people per area and measure over the extracts (a pseudonym counts once;
    a row without one counts as its own person), and ``arrears_2plus``: pseudonyms with
    arrears at two or more issuers in the area. A combined cell is withheld when any single
    issuer contributes 1 to ``k - 1`` people to it (so subtracting one issuer's published
    figures never reveals another's small count), then the table is suppressed as an issuer's
    report is."""
    if not extracts:
        raise InvalidDataError("invalid_data", "nothing to combine")
    periods = {e.period for e in extracts}
    if len(periods) != 1:
        raise InvalidDataError("invalid_data", "extracts of different periods")
    issuers = [e.issuer for e in extracts]
    if len(set(issuers)) != len(issuers):
        raise InvalidDataError("invalid_data", "two extracts of one issuer")
    people: dict[tuple[str, str], set[str]] = {}  # (pc4, person) -> measures
    arrears_at: dict[tuple[str, str], set[str]] = {}
    contrib: dict[tuple[str, str, str], int] = {}  # (issuer, pc4, measure) -> people
    for e in extracts:
        for n, (pc4, measures, pseudonym) in enumerate(e.rows):
            who = pseudonym or f"anon:{e.issuer}:{n}"
            people.setdefault((pc4, who), set()).update(measures)
            if "arrears" in measures:
                arrears_at.setdefault((pc4, who), set()).add(e.issuer)
            for m in measures:
                contrib[(e.issuer, pc4, m)] = contrib.get((e.issuer, pc4, m), 0) + 1
    table: dict[str, dict[str, int]] = {}
    for (pc4, who), seen in people.items():
        row = table.setdefault(pc4, dict.fromkeys(COMBINED_MEASURES, 0))
        for m in seen:
            if m in row:
                row[m] += 1
        if len(arrears_at.get((pc4, who), ())) >= 2:
            row["arrears_2plus"] += 1
    table[TOTAL] = totals_row(table, COMBINED_MEASURES)
    small = {(pc4, m) for (_, pc4, m), n in contrib.items() if 0 < n < k and m in COMBINED_MEASURES}
    areas = suppress(table, COMBINED_MEASURES, k, also=small)
    return CombinedReport(
        period=periods.pop(), issuers=tuple(issuers), k=k, measures=COMBINED_MEASURES, areas=areas
    )
