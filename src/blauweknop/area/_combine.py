"""Combining several issuers' area figures per PC4 area, with keyed pseudonyms.

Three parties (``specs/area-report.md``):

* each **issuer** signs an extract (``area-extract+jwt``) of its people's signals for a
  period: area, measures, and the *link value* (HMAC-SHA256 of the BSN under the scheme's link
  key, which issuers hold and nobody else). It goes to the pseudonymisation party only;
* the **pseudonymisation party** verifies the extract and replaces every link value by the
  pseudonym HMAC-SHA256(its own key, link value). Only it holds that key;
* the **combiner** (a municipality's monitor) counts distinct pseudonyms per area and measure
  over all issuers, and the people with arrears at two or more creditors, and applies the same
  suppression. It sees neither BSNs nor link values.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .._errors import InvalidDataError, MalformedError, TrustError
from .._issuer import Issuer
from .._jws import parse_compact, sign_compact
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


def signed_extract(issuer: Issuer, period: str, *, now: float | None = None) -> str:
    """The issuer's signed extract of ``period`` for the pseudonymisation party: one row per
    person and area with the measures and the link value (no BSN, no register hash)."""
    rows = [
        {"pc4": s.pc4, "measures": sorted(s.measures), "link": s.link}
        for s in person_signals(issuer, period)
    ]
    rows.sort(key=lambda r: (r["pc4"], r["link"] or "", r["measures"]))
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
    """The pseudonymisation party: it alone holds ``key`` (at least 32 bytes)."""

    def __init__(self, key: bytes) -> None:
        if not isinstance(key, bytes) or len(key) < 32:
            raise InvalidDataError("invalid_data", "the pseudonymisation key has 32+ bytes")
        self._key = key

    def __repr__(self) -> str:
        return "Pseudonymiser(<key withheld>)"

    def pseudonym(self, link: str) -> str:
        """HMAC-SHA256 of a link value under the party's key."""
        return hmac.new(self._key, b"pseudonym:" + link.encode(), hashlib.sha256).hexdigest()

    def apply(
        self, extract: str, trust_list: TrustList, *, now: float | None = None
    ) -> PseudonymisedExtract:
        """Verify an issuer's extract (signature via the trust list, role) and replace each
        link value by its pseudonym."""
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
                pc4, measures, link = r["pc4"], frozenset(r["measures"]), r["link"]
                if not (isinstance(pc4, str) and _PC4.fullmatch(pc4)) or not measures <= set(
                    MEASURES
                ):
                    raise ValueError(f"row {r!r}")
                rows.append((pc4, measures, None if link is None else self.pseudonym(str(link))))
        except (KeyError, TypeError, ValueError) as e:
            raise MalformedError("area_report_malformed", f"not an area extract: {e}") from e
        rows.sort(key=lambda r: (r[0], r[2] or "", sorted(r[1])))
        return PseudonymisedExtract(issuer=iss, period=period, rows=tuple(rows))


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
