"""The creditor's decision on a verified Rode Knop declaration: put collection on hold."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from blauweknop import PolicyError
from blauweknop._profile import RODE_KNOP_VCT
from blauweknop._verifier import VerifiedCredential

__all__ = ["HoldDecision", "hold_decision"]


@dataclass(frozen=True, kw_only=True)
class HoldDecision:
    """What a creditor does with a verified declaration.

    Attributes:
        hold: whether collection must be on hold today.
        hold_from / hold_until: the pause window (inclusive dates).
        measures: the requested measures (``suspend_collection``, ``no_additional_costs``...).
        municipality: the declaring municipality's name.
        declaration_id: the declaration's id, for the creditor's file.
        reason: a one-line explanation for the back-office log.
    """

    hold: bool
    hold_from: dt.date
    hold_until: dt.date
    measures: tuple[str, ...]
    municipality: str
    declaration_id: str
    reason: str

    def days_left(self, today: dt.date) -> int:
        """Days of pause left after ``today`` (0 when the window has passed)."""
        return max(0, (self.hold_until - today).days)

    def to_json(self) -> dict[str, object]:
        """Plain JSON form."""
        return {
            "hold": self.hold,
            "hold_from": self.hold_from.isoformat(),
            "hold_until": self.hold_until.isoformat(),
            "measures": list(self.measures),
            "municipality": self.municipality,
            "declaration_id": self.declaration_id,
            "reason": self.reason,
        }


def hold_decision(credential: VerifiedCredential, *, today: dt.date) -> HoldDecision:
    """Decide on collection for a *verified* Rode Knop declaration.

    The declaration's always-shown fields carry everything needed; the creditor pauses
    collection from ``valid_from`` through ``valid_until`` and applies the requested measures.

    Example:
        After verifying a presentation with :class:`~blauweknop.Verifier`:

        ```python
        result = verifier.verify(vp_token, nonce=n, audience=aud)
        decision = hold_decision(result.of_type(RODE_KNOP_VCT)[0], today=date.today())
        decision.hold, decision.hold_until
        ```
    """
    if credential.vct != RODE_KNOP_VCT:
        raise PolicyError("wrong_type", f"not a Rode Knop declaration: {credential.vct}")
    c = credential.claims
    try:
        start = dt.date.fromisoformat(c["valid_from"])
        end = dt.date.fromisoformat(c["valid_until"])
        measures = tuple(c["requested_measures"])
        municipality = c["municipality"]["name"]
        did = c["declaration_id"]
    except (KeyError, TypeError, ValueError) as e:
        raise PolicyError("claim_missing", f"declaration lacks an always-shown field: {e}") from e
    if not (c.get("payment_incapacity") is True and c.get("admitted_to_debt_relief") is True):
        raise PolicyError("policy_violation", "declaration does not state payment incapacity")
    active = start <= today <= end
    if active:
        reason = (
            f"{municipality} declared payment incapacity; hold collection until {end.isoformat()}"
        )
    elif today < start:
        reason = f"declaration starts on {start.isoformat()}; no hold yet"
    else:
        reason = f"declaration ended on {end.isoformat()}; ask for an extension"
    return HoldDecision(
        hold=active,
        hold_from=start,
        hold_until=end,
        measures=measures,
        municipality=municipality,
        declaration_id=did,
        reason=reason,
    )
