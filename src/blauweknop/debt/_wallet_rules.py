"""The debt statement's wallet rules, registered with its profile (``blauweknop.debt``):

* supersede: a newer statement from the same creditor (a later ``balance_at``) replaces
  older ones; the same balance moment is the same snapshot (e.g. both encodings);
* overview: one creditor line per statement (outstanding, arrears, arrangement, hold).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from .._overview import CreditorLine, cents, parse_datetime
from .._profile import DEBT_STATEMENT_VCT, extend_profile

__all__ = ["balance_moment", "creditor_line", "register"]

#: Collection stages that count a case as in arrears.
ARREARS_STAGES = frozenset({"reminder", "summons", "bailiff", "garnishment"})


def balance_moment(claims: Mapping[str, Any]) -> dt.datetime | None:
    """The statement's balance moment, or ``None`` if it cannot be read (a record stored by
    an older version is then left alone rather than failing an import)."""
    try:
        value = claims["balance_at"]
        moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else None
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    # naive and aware datetimes cannot be compared; the schema demands an offset
    return moment if moment is not None and moment.utcoffset() is not None else None


def creditor_line(credential: Any, today: dt.date, stale_after_days: int) -> CreditorLine:
    """The overview line of a stored statement (raises ``KeyError``/``TypeError``/
    ``ValueError`` for claims that cannot be read)."""
    cl = credential.claims
    balance = parse_datetime(cl["balance_at"])
    cases = cl.get("cases") or []
    totals = cl["totals"]
    return CreditorLine(
        creditor=str(cl["creditor"]["name"]),
        creditor_id=credential.issuer,
        outstanding=cents(totals["outstanding"]),
        in_arrears=cents(totals["in_arrears"]),
        cases=cents(totals["number_of_cases"]),
        cases_in_arrears=sum(1 for x in cases if x.get("collection_stage") in ARREARS_STAGES),
        balance_at=cl["balance_at"],
        stale=(today - balance.date()).days > stale_after_days,
        arrangement=cl.get("arrangement"),
        collection_hold=cl.get("collection_hold"),
    )


def register() -> None:
    """Attach the rules to the type's profile (idempotent)."""
    extend_profile(DEBT_STATEMENT_VCT, supersede_key=balance_moment, overview=creditor_line)
