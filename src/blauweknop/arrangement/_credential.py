"""The payment arrangement credential (``urn:blauweknop:payment-arrangement:1``): its profile,
registered through the public extension point, and its typed model with semantic rules.

Field meanings and disclosure classes: ``specs/payment-arrangement.md``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any, ClassVar

from .._errors import InvalidDataError
from .._model import CredentialModel, DomainModel, check_bsn, parse_date, parse_datetime
from .._profile import load_profile, register_profile
from ..debt import Person
from ._split import MAX_INSTALLMENTS, due_dates, instalments

__all__ = [
    "ARRANGEMENT_CONTEXT",
    "PAYMENT_ARRANGEMENT_VCT",
    "ArrangementLine",
    "Coordinator",
    "Pause",
    "PaymentArrangement",
    "register",
]

PAYMENT_ARRANGEMENT_VCT = "urn:blauweknop:payment-arrangement:1"
"""The credential type (SD-JWT VC ``vct``) of the payment arrangement across creditors."""
ARRANGEMENT_CONTEXT = "https://w3id.org/blauweknop/payment-arrangement/v1"
"""The JSON-LD context of the type's W3C encoding (bundled, pinned by its SHA-256)."""
_CONTEXT_FILE = "payment-arrangement-v1.jsonld"
_CONTEXT_SHA256 = "4d73fc724be16f0466a29541876aea24b9e26099d4b5f00fcf44a676e446af59"


def _bad(field: str, message: str) -> InvalidDataError:
    return InvalidDataError("invalid_data", f"{field}: {message}", field=field)


def computed_moment(claims: Mapping[str, Any]) -> dt.datetime | None:
    """The wallet's supersede key: when the arrangement was computed (``None`` if unreadable);
    a newer arrangement from the same coordinator replaces older ones."""
    try:
        value = claims["computed_at"]
        moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else None
    except (KeyError, TypeError, ValueError):
        return None
    return moment if moment is not None and moment.utcoffset() is not None else None


def register() -> None:
    """Register the type (idempotent): the ``blauweknop.profiles`` entry point and
    ``import blauweknop.arrangement`` both call it."""
    profiles = resources.files("blauweknop.profiles")
    contexts = resources.files("blauweknop.contexts")
    with (
        resources.as_file(profiles / "payment-arrangement.json") as md,
        resources.as_file(profiles / "payment-arrangement.schema.json") as schema,
        resources.as_file(contexts / _CONTEXT_FILE) as ctx,
    ):
        profile = load_profile(
            md,
            schema=schema,
            contexts={ARRANGEMENT_CONTEXT: (ctx, _CONTEXT_SHA256)},
            id_claim="arrangement_id",
            supersede_key=computed_moment,
        )
    register_profile(profile)


@dataclass(frozen=True, kw_only=True)
class Coordinator(DomainModel):
    """The arrangement coordinator that issues the arrangement, identified by its OIN."""

    name: str
    oin: str


@dataclass(frozen=True, kw_only=True)
class Pause(DomainModel):
    """A payment pause (betalingspauze): no instalment falls due from ``start_date`` to
    ``end_date`` inclusive; the schedule continues after it."""

    start_date: str
    end_date: str
    reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class ArrangementLine(DomainModel):
    """One creditor's part of the arrangement: its share (``installment_amount``) of the
    monthly amount, its schedule and the cases (zaakkenmerken) it covers."""

    name: str
    oin: str
    statement_id: str
    outstanding: int
    installment_amount: int
    number_of_installments: int
    last_installment_amount: int
    first_due_date: str
    last_due_date: str
    covered_cases: tuple[str, ...] | None = None

    def check_schedule(
        self, field: str, start: dt.date, pause: tuple[dt.date, dt.date] | None
    ) -> None:
        """The line's numbers agree: ``(n - 1) * share + last == outstanding``, the last
        instalment is 1 cent to one share, and the due dates follow from the schedule."""
        n, last = instalments(self.outstanding, self.installment_amount)
        if (self.number_of_installments, self.last_installment_amount) != (n, last):
            raise _bad(
                f"{field}.number_of_installments",
                f"{self.outstanding} in instalments of {self.installment_amount} takes {n},"
                f" the last {last}",
            )
        dates = due_dates(start, n, pause=pause)
        if parse_date(self.first_due_date, f"{field}.first_due_date") != dates[0]:
            raise _bad(f"{field}.first_due_date", f"must be {dates[0]}")
        if parse_date(self.last_due_date, f"{field}.last_due_date") != dates[-1]:
            raise _bad(f"{field}.last_due_date", f"must be {dates[-1]}")


@dataclass(frozen=True, kw_only=True)
class PaymentArrangement(CredentialModel):
    """A payment arrangement across creditors (Betalingsregeling Rijk), as the coordinator
    issues it to the citizen. Build it with :meth:`ArrangementCoordinator.propose`.

    Example:
        >>> import json, pathlib
        >>> data = json.loads(pathlib.Path("examples/data/payment-arrangement.json").read_text())
        >>> arr = PaymentArrangement.from_claims(data)
        >>> sum(line.installment_amount for line in arr.creditors) == arr.monthly_amount
        True
    """

    vct: ClassVar[str] = PAYMENT_ARRANGEMENT_VCT
    _nested: ClassVar = {
        "coordinator": Coordinator,
        "subject": Person,
        "pause": Pause,
        "creditors": ArrangementLine,
    }

    arrangement_id: str
    computed_at: str
    coordinator: Coordinator
    arrangement_type: str
    currency: str
    monthly_amount: int
    total_outstanding: int
    start_date: str
    number_of_installments: int
    number_of_creditors: int
    subject: Person
    creditors: tuple[ArrangementLine, ...]
    pause: Pause | None = None
    supersedes: str | None = None

    def pause_window(self) -> tuple[dt.date, dt.date] | None:
        """The pause as dates, or ``None``."""
        if self.pause is None:
            return None
        return (
            parse_date(self.pause.start_date, "pause.start_date"),
            parse_date(self.pause.end_date, "pause.end_date"),
        )

    def line_for(self, oin: str) -> ArrangementLine | None:
        """The line of the creditor with this OIN, if present."""
        return next((c for c in self.creditors if c.oin == oin), None)

    def check(self) -> None:
        """Semantic rules: real dates, BSN eleven-test, shares that add up to the monthly
        amount, outstanding amounts that add up to the total, consistent schedules."""
        parse_datetime(self.computed_at, "computed_at")
        parse_date(self.subject.birthdate, "subject.birthdate")
        if self.subject.bsn is not None:
            check_bsn(self.subject.bsn, "subject.bsn")
        start = parse_date(self.start_date, "start_date")
        pause = self.pause_window()
        if pause is not None and pause[1] < pause[0]:
            raise _bad("pause.end_date", "lies before pause.start_date")
        if self.supersedes == self.arrangement_id:
            raise _bad("supersedes", "an arrangement cannot supersede itself")
        oins = [c.oin for c in self.creditors]
        if len(set(oins)) != len(oins):
            raise _bad("creditors", "a creditor appears twice")
        if self.number_of_creditors != len(self.creditors):
            raise _bad("number_of_creditors", f"{len(self.creditors)} lines are listed")
        shares = sum(c.installment_amount for c in self.creditors)
        if shares != self.monthly_amount:
            raise _bad(
                "monthly_amount", f"is {self.monthly_amount} but the shares add up to {shares}"
            )
        owed = sum(c.outstanding for c in self.creditors)
        if owed != self.total_outstanding:
            raise _bad(
                "total_outstanding", f"is {self.total_outstanding} but the lines add up to {owed}"
            )
        for i, c in enumerate(self.creditors):
            c.check_schedule(f"creditors[{i}]", start, pause)
        longest = max(c.number_of_installments for c in self.creditors)
        if self.number_of_installments != longest:
            raise _bad("number_of_installments", f"must be the longest schedule, {longest}")
        limit = MAX_INSTALLMENTS[self.arrangement_type]
        if longest > limit:
            raise _bad(
                "number_of_installments",
                f"a {self.arrangement_type} arrangement has at most {limit}",
            )
