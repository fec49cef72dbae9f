"""An issuer's area report: counts of people per PC4 area as of a monthly snapshot,
suppressed (and optionally noised), signed by the issuer as a JWT (``area-report+jwt``) that a
monitor verifies offline with the trust list. Rules: ``specs/area-report.md``."""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from .._errors import InvalidDataError, MalformedError, TrustError
from .._issuer import Issuer
from .._jws import parse_compact, sign_compact
from .._profile import DEBT_STATEMENT_VCT, RODE_KNOP_VCT
from .._trust import TrustList
from ._tables import MEASURES, TOTAL, Table, add_noise, suppress, totals_row

__all__ = [
    "AREA_REPORT_TYP",
    "AreaReport",
    "PersonSignal",
    "area_report",
    "period_snapshot",
    "person_signals",
    "verify_area_report",
]

AREA_REPORT_TYP = "area-report+jwt"
"""The JWS ``typ`` of a signed area report."""
_TZ = ZoneInfo("Europe/Amsterdam")
_PERIOD = re.compile(r"(20[0-9]{2})-(0[1-9]|1[0-2])")
_PC4 = re.compile(r"[1-9][0-9]{3}")
#: Roles whose registers hold area signals (the report's signer must hold one).
REPORTING_ROLES = frozenset({"creditor", "municipality"})


def period_snapshot(period: str) -> int:
    """The snapshot moment of a monthly period ``YYYY-MM``: the start of the next month in
    the Netherlands (Unix time). Every report of the period counts the register as it stood
    then, however late it is made."""
    m = _PERIOD.fullmatch(period) if isinstance(period, str) else None
    if m is None:
        raise InvalidDataError("invalid_data", "period: YYYY-MM", field="period")
    year, month = int(m.group(1)), int(m.group(2))
    nxt = dt.datetime(year + month // 12, month % 12 + 1, 1, tzinfo=_TZ)
    return int(nxt.timestamp())


@dataclass(frozen=True, kw_only=True)
class PersonSignal:
    """One person's signals at an issuer at the snapshot (never leaves the issuer as is).

    Attributes:
        pc4: the area.
        measures: the measures the person counts in (``rode_knop``, ``outstanding``...).
        sealed_bsn: the person's BSN sealed to the pseudonymisation party (a JWE the issuer
            cannot open; ``None`` without a BSN or without the party's public key).
    """

    pc4: str
    measures: frozenset[str]
    sealed_bsn: str | None = field(default=None, repr=False)


def person_signals(issuer: Issuer, period: str) -> list[PersonSignal]:
    """The people with a current credential at the period's snapshot, one signal each per
    area: a current Rode Knop declaration, and the newest current statement's outstanding,
    arrears and amount band. People are told apart by the register's keyed BSN hash, else the
    holder key, else the credential."""
    at = period_snapshot(period)
    people: dict[tuple[str, str], dict[str, Any]] = {}
    for row in issuer.register.area_snapshot(at):
        if row["state"] != "valid":
            continue
        start, end = row["valid_from"], row["valid_until"]
        if (start is not None and at < int(str(start))) or (
            end is not None and at >= int(str(end))
        ):
            continue
        who = str(row["bsn_hash"] or row["holder_thumbprint"] or row["credential_id"])
        p = people.setdefault(
            (who, str(row["pc4"])), {"measures": set(), "statement": None, "sealed": None}
        )
        p["sealed"] = p["sealed"] or row["sealed_bsn"]
        if row["type"] == RODE_KNOP_VCT:
            p["measures"].add("rode_knop")
        elif row["type"] == DEBT_STATEMENT_VCT:
            newest = p["statement"]
            if newest is None or int(str(row["issued_at"])) >= int(str(newest["issued_at"])):
                p["statement"] = row
    out = []
    for (_, pc4), p in sorted(people.items()):
        measures = set(p["measures"])
        st = p["statement"]
        if st is not None and st["amount_band"] not in (None, "none"):
            measures.add("outstanding")
            measures.add(f"band_{st['amount_band']}")
            if st["in_arrears"]:
                measures.add("arrears")
        if measures:
            out.append(PersonSignal(pc4=pc4, measures=frozenset(measures), sealed_bsn=p["sealed"]))
    return out


def count(
    signals: Sequence[PersonSignal], measures: Sequence[str] = MEASURES
) -> dict[str, dict[str, int]]:
    """People per area and measure, with the ``total`` row."""
    table: dict[str, dict[str, int]] = {}
    for s in signals:
        row = table.setdefault(s.pc4, dict.fromkeys(measures, 0))
        for m in s.measures:
            if m in row:
                row[m] += 1
    table[TOTAL] = totals_row(table, measures)
    return table


@dataclass(frozen=True, kw_only=True)
class AreaReport:
    """A published area report: counts per PC4 area (``None`` = suppressed).

    Attributes:
        issuer / issuer_name: who made it (its register).
        period: ``YYYY-MM``; ``snapshot`` the moment counted (Unix time).
        k: the suppression threshold; ``epsilon``: the noise parameter (``None``: no noise).
        measures: the columns; ``areas``: ``{pc4: {measure: count or None}}`` with ``total``.
        issued_at: when it was signed (Unix time).
    """

    issuer: str
    issuer_name: str
    period: str
    snapshot: int
    k: int
    epsilon: float | None
    measures: tuple[str, ...]
    areas: Table
    issued_at: int

    def to_json(self) -> dict[str, Any]:
        """The report as JSON (the JWT payload without ``iss``/``iat``)."""
        return {
            "issuer_name": self.issuer_name,
            "period": self.period,
            "snapshot": self.snapshot,
            "k": self.k,
            "epsilon": self.epsilon,
            "measures": list(self.measures),
            "areas": self.areas,
        }

    def sign(self, issuer: Issuer) -> str:
        """The report as a compact JWS (``typ`` ``area-report+jwt``) signed by ``issuer``."""
        if issuer.issuer_id != self.issuer:
            raise InvalidDataError("invalid_data", "a report is signed by the issuer it is of")
        payload = {"iss": self.issuer, "iat": self.issued_at, **self.to_json()}
        header = {"typ": AREA_REPORT_TYP, "kid": issuer.signer.kid}
        return sign_compact(header, json.dumps(payload, sort_keys=True).encode(), issuer.signer)

    def lines(self) -> list[str]:
        """The report as a text table (``<k`` marks a suppressed cell)."""
        cols = list(self.measures)
        head = f"{'PC4':<6}" + "".join(f"{c.replace('band_', ''):>12}" for c in cols)
        out = [head]
        for pc4, row in self.areas.items():
            cells = "".join(
                f"{('<' + str(self.k)) if row[c] is None else str(row[c]):>12}" for c in cols
            )
            out.append(f"{pc4:<6}{cells}")
        return out


def area_report(
    issuer: Issuer,
    period: str,
    *,
    k: int = 10,
    epsilon: float | None = None,
    rng: random.Random | None = None,
    now: float | None = None,
) -> AreaReport:
    """The issuer's report of ``period`` (``YYYY-MM``): counts per PC4 area as of the period's
    snapshot, noised when ``epsilon`` is given (``rng`` seedable for tests), then suppressed
    below ``k`` with secondary suppression. A period that has not ended is refused
    (``InvalidDataError("period_not_ended")``): only stable snapshots are published."""
    at = period_snapshot(period)
    now_i = int(time.time() if now is None else now)
    if at > now_i:
        raise InvalidDataError("period_not_ended", f"period {period} has not ended yet")
    table = count(person_signals(issuer, period))
    if epsilon is not None:
        table = add_noise(table, MEASURES, epsilon, rng or random.SystemRandom())
    return AreaReport(
        issuer=issuer.issuer_id,
        issuer_name=issuer.name,
        period=period,
        snapshot=at,
        k=k,
        epsilon=epsilon,
        measures=MEASURES,
        areas=suppress(table, MEASURES, k),
        issued_at=now_i,
    )


def _cells(areas: Any, measures: Sequence[str]) -> Table:
    if not isinstance(areas, Mapping) or TOTAL not in areas:
        raise MalformedError("area_report_malformed", "areas: a table with a total row")
    out: Table = {}
    for pc4, row in areas.items():
        if pc4 != TOTAL and not (isinstance(pc4, str) and _PC4.fullmatch(pc4)):
            raise MalformedError("area_report_malformed", f"area {pc4!r} is not a PC4")
        if not isinstance(row, Mapping) or set(row) != set(measures):
            raise MalformedError("area_report_malformed", f"area {pc4}: not the measures")
        cells: dict[str, int | None] = {}
        for m in measures:
            v = row[m]
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
                raise MalformedError("area_report_malformed", f"area {pc4}.{m}: not a count")
            cells[m] = v
        out[pc4] = cells
    return out


def verify_area_report(
    token: str, trust_list: TrustList, *, now: float | None = None
) -> AreaReport:
    """Verify a signed area report offline: ``typ``, the signature with the issuer's key from
    the trust list, the issuer's role (creditor or municipality), the shape, and that no
    published cell lies below the stated ``k``. Any change to a signed report fails the
    signature (``SignatureError``)."""
    parsed = parse_compact(token, typ=AREA_REPORT_TYP)
    try:
        head = parsed.payload_json()
    except MalformedError as e:
        raise MalformedError("area_report_malformed", e.message) from e
    iss = head.get("iss")
    if not isinstance(iss, str):
        raise MalformedError("area_report_malformed", "iss: the issuer's id")
    kid = parsed.header.get("kid")
    key = trust_list.resolve_key(iss, kid if isinstance(kid, str) else None, now=now)
    parsed.verify(key)
    org = trust_list.organisation(iss, now=now)
    if not REPORTING_ROLES.intersection(org.roles):
        raise TrustError("untrusted_issuer", f"{iss} holds no role that keeps area signals")
    try:
        measures = tuple(str(m) for m in head["measures"])
        k = int(head["k"])
        areas = _cells(head["areas"], measures)
        report = AreaReport(
            issuer=iss,
            issuer_name=org.name,
            period=str(head["period"]),
            snapshot=int(head["snapshot"]),
            k=k,
            epsilon=None if head.get("epsilon") is None else float(head["epsilon"]),
            measures=measures,
            areas=areas,
            issued_at=int(head["iat"]),
        )
    except (KeyError, TypeError, ValueError) as e:
        raise MalformedError("area_report_malformed", f"not an area report: {e}") from e
    if period_snapshot(report.period) != report.snapshot:
        raise MalformedError("area_report_malformed", "snapshot is not the period's")
    for pc4, row in areas.items():
        for m, v in row.items():
            if v is not None and 0 < v < k:
                raise MalformedError(
                    "area_report_malformed", f"area {pc4}.{m}: a published count below k"
                )
    return report
