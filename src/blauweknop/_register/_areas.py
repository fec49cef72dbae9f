"""The register's area signals (specs/area-report.md): one row per credential with the
subject's PC4, a coarse amount band and an arrears flag, and the read of the state of every
such credential at a past moment (from the audit trail), for the area report."""

from __future__ import annotations

import hashlib
import hmac
import sqlite3
from typing import Any

__all__ = [
    "AMOUNT_BANDS",
    "AREA_ROWS_SQL",
    "amount_band",
    "area_rows",
    "insert_area",
    "link_value",
    "signal_from_claims",
]

#: The area rows as of ``:t``: only credentials issued and signals recorded by then, each with
#: its state at ``:t`` (the last audit row up to ``:t``).
AREA_ROWS_SQL = """
SELECT c.credential_id, c.type, c.bsn_hash, c.holder_thumbprint, c.valid_from, c.valid_until,
       c.issued_at, a.pc4, a.amount_band, a.in_arrears, a.link,
       (SELECT u.to_state FROM audit u WHERE u.credential_id = c.credential_id AND u.at <= :t
         ORDER BY u.seq DESC LIMIT 1) AS state_at
  FROM credentials c JOIN area_signals a ON a.credential_id = c.credential_id
 WHERE a.recorded_at <= :t AND c.issued_at <= :t
 ORDER BY c.credential_id
"""

_COLUMNS = (
    "credential_id",
    "type",
    "bsn_hash",
    "holder_thumbprint",
    "valid_from",
    "valid_until",
    "issued_at",
    "pc4",
    "amount_band",
    "in_arrears",
    "link",
    "state",
)


def insert_area(
    c: sqlite3.Connection,
    credential_id: str,
    pc4: str,
    amount_band: str | None,
    in_arrears: bool | None,
    link: str | None,
    now: int,
) -> None:
    """Record one credential's area signal (once: a repeat, e.g. a resumed issuance, changes
    nothing)."""
    c.execute(
        "INSERT INTO area_signals (credential_id, pc4, amount_band, in_arrears, link,"
        " recorded_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (credential_id) DO NOTHING",
        (
            credential_id,
            pc4,
            amount_band,
            None if in_arrears is None else int(in_arrears),
            link,
            now,
        ),
    )


def area_rows(c: sqlite3.Connection, at: int) -> list[dict[str, Any]]:
    """The area rows as of ``at`` (see :data:`AREA_ROWS_SQL`)."""
    return [dict(zip(_COLUMNS, r, strict=True)) for r in c.execute(AREA_ROWS_SQL, {"t": at})]


#: Outstanding-amount bands (cents, lower bound inclusive): the only amount a register keeps.
AMOUNT_BANDS = (
    ("lt_1000", 1, 100_000),
    ("1000_5000", 100_000, 500_000),
    ("5000_20000", 500_000, 2_000_000),
    ("ge_20000", 2_000_000, None),
)


def amount_band(outstanding: int) -> str:
    """The band of an outstanding amount in cents (``none`` for nothing outstanding)."""
    for name, low, high in AMOUNT_BANDS:
        if outstanding >= low and (high is None or outstanding < high):
            return name
    return "none"


def signal_from_claims(claims: Any) -> tuple[str | None, bool | None]:
    """``(amount band, in arrears)`` of a credential's claims: from a statement's
    ``totals``; ``(None, None)`` for a credential without totals (a declaration)."""
    totals = claims.get("totals") if isinstance(claims, dict) else None
    if not isinstance(totals, dict):
        return None, None
    return amount_band(int(totals.get("outstanding", 0))), int(totals.get("in_arrears", 0)) > 0


def link_value(bsn: str, link_key: bytes) -> str:
    """The link value the pseudonymisation party keys again: HMAC-SHA256 of the BSN under
    the scheme's link key (held by issuers only; never an unkeyed hash)."""
    return hmac.new(link_key, b"bsn:" + bsn.encode("ascii"), hashlib.sha256).hexdigest()
