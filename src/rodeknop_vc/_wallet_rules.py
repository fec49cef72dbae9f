"""The Rode Knop declaration's wallet rule, registered with its profile on
``import rodeknop_vc``: its overview contribution is the pause window (betalingspauze) and
the days left. Declarations never supersede each other."""

from __future__ import annotations

import datetime as dt
from typing import Any

from blauweknop._overview import PauseWindow, parse_date
from blauweknop._profile import RODE_KNOP_VCT, extend_profile

__all__ = ["pause_window", "register"]


def pause_window(credential: Any, today: dt.date, stale_after_days: int) -> PauseWindow:
    """The pause window of a stored declaration (raises ``KeyError``/``TypeError``/
    ``ValueError`` for claims that cannot be read)."""
    cl = credential.claims
    start, end = parse_date(cl["valid_from"]), parse_date(cl["valid_until"])
    return PauseWindow(
        municipality=str(cl["municipality"]["name"]),
        declaration_id=str(cl["declaration_id"]),
        valid_from=start.isoformat(),
        valid_until=end.isoformat(),
        days_left=(end - today).days,
        measures=tuple(str(m) for m in cl["requested_measures"]),
    )


def register() -> None:
    """Attach the rules to the type's profile (idempotent)."""
    extend_profile(RODE_KNOP_VCT, overview=pause_window)
