"""The register's area signals (specs/area-report.md): one row per credential with the
subject's PC4, a coarse amount band, an arrears flag and the BSN sealed to the scheme's
pseudonymisation party, and the read of the state of every such credential at a past moment
(from the audit trail), for the area report."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from jwcrypto import jwe as _jwe
from jwcrypto import jwk as _jwk
from jwcrypto.common import JWException

from .._errors import InvalidDataError
from ._rows import Db

__all__ = [
    "AMOUNT_BANDS",
    "AREA_ROWS_SQL",
    "SEALED_BSN_ALG",
    "SEALED_BSN_ENC",
    "amount_band",
    "area_rows",
    "insert_area",
    "party_public_key",
    "seal_bsn",
    "signal_from_claims",
]

#: The area rows as of ``t`` (bound three times, ``?`` placeholders as in the row operations
#: of both backends): only credentials issued and signals recorded by then, each with its
#: state at ``t`` (the last audit row up to ``t``).
AREA_ROWS_SQL = """
SELECT c.credential_id, c.type, c.bsn_hash, c.holder_thumbprint, c.valid_from, c.valid_until,
       c.issued_at, a.pc4, a.amount_band, a.in_arrears, a.sealed_bsn,
       (SELECT u.to_state FROM audit u WHERE u.credential_id = c.credential_id AND u.at <= ?
         ORDER BY u.seq DESC LIMIT 1) AS state_at
  FROM credentials c JOIN area_signals a ON a.credential_id = c.credential_id
 WHERE a.recorded_at <= ? AND c.issued_at <= ?
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
    "sealed_bsn",
    "state",
)


def insert_area(
    c: Db,
    credential_id: str,
    pc4: str,
    amount_band: str | None,
    in_arrears: bool | None,
    sealed_bsn: str | None,
    now: int,
) -> None:
    """Record one credential's area signal (once: a repeat, e.g. a resumed issuance, changes
    nothing)."""
    c.execute(
        "INSERT INTO area_signals (credential_id, pc4, amount_band, in_arrears, sealed_bsn,"
        " recorded_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (credential_id) DO NOTHING",
        (
            credential_id,
            pc4,
            amount_band,
            None if in_arrears is None else int(in_arrears),
            sealed_bsn,
            now,
        ),
    )


def area_rows(c: Db, at: int) -> list[dict[str, Any]]:
    """The area rows as of ``at`` (see :data:`AREA_ROWS_SQL`)."""
    rows = c.execute(AREA_ROWS_SQL, (at, at, at)).fetchall()
    return [dict(zip(_COLUMNS, r, strict=True)) for r in rows]


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


#: The sealed BSN's JWE algorithms: ECDH-ES key agreement with a fresh ephemeral key per
#: record, AES-256-GCM with a fresh IV, so two seals of one BSN share nothing.
SEALED_BSN_ALG = "ECDH-ES"
SEALED_BSN_ENC = "A256GCM"


def party_public_key(jwk: Any) -> dict[str, str]:
    """The pseudonymisation party's public P-256 key as issuers configure it
    (``area-party.pub.jwk``), with its RFC 7638 thumbprint as ``kid``.

    Raises:
        InvalidDataError: ``invalid_data``: not a public P-256 key (a private key is refused:
            it belongs at the party only), or a point not on the curve.
    """
    if not isinstance(jwk, Mapping) or jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
        raise InvalidDataError("invalid_data", "the area party's key: a P-256 public JWK")
    if any(m in jwk for m in ("d", "p", "q", "k")):
        raise InvalidDataError(
            "invalid_data", "the area party's key is private: issuers hold its public half only"
        )
    if jwk.get("alg", SEALED_BSN_ALG) != SEALED_BSN_ALG or jwk.get("use", "enc") != "enc":
        raise InvalidDataError("invalid_data", "the area party's key is not for ECDH-ES")
    try:
        key = _jwk.JWK(kty="EC", crv="P-256", x=jwk["x"], y=jwk["y"])
        kid = key.thumbprint()
    except (JWException, ValueError, TypeError, KeyError) as e:
        raise InvalidDataError("invalid_data", "the area party's key is not a P-256 point") from e
    if jwk.get("kid", kid) != kid:
        raise InvalidDataError("invalid_data", "the area party's kid is not its thumbprint")
    return {"kty": "EC", "crv": "P-256", "x": str(jwk["x"]), "y": str(jwk["y"]), "kid": kid}


def seal_bsn(bsn: str, party_jwk: Mapping[str, Any]) -> str:
    """The BSN as a compact JWE (``ECDH-ES``, ``A256GCM``) to the pseudonymisation party's
    public key: only the party can open it, and each call gives a different value (a fresh
    ephemeral key and IV), so a register of sealed BSNs holds nothing an issuer with a list
    of BSNs can link."""
    pub = party_public_key(party_jwk)
    key = _jwk.JWK(**{k: pub[k] for k in ("kty", "crv", "x", "y")})
    header = {"alg": SEALED_BSN_ALG, "enc": SEALED_BSN_ENC, "kid": pub["kid"]}
    box = _jwe.JWE(bsn.encode("ascii"), protected=json.dumps(header))
    box.add_recipient(key)
    out: str = box.serialize(compact=True)
    return out
