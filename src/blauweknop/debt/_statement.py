"""The Blauwe Knop debt statement (schuldenoverzicht): typed model and semantic rules.

Field meanings, Dutch terms and disclosure classes: ``specs/debt-statement.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from .._errors import InvalidDataError
from .._model import CredentialModel, DomainModel, check_bsn, parse_date, parse_datetime
from .._profile import DEBT_STATEMENT_VCT

__all__ = [
    "Arrangement",
    "Case",
    "CaseComponent",
    "CollectionHold",
    "Contact",
    "Creditor",
    "DebtStatement",
    "Person",
    "Totals",
]

_MAX_INSTALLMENTS = {"standaard": 36, "maatwerk": 72}


def _bad(field: str, message: str) -> InvalidDataError:
    return InvalidDataError("invalid_data", f"{field}: {message}", field=field)


@dataclass(frozen=True, kw_only=True)
class Creditor(DomainModel):
    """The issuing creditor (schuldeiser), identified by its OIN."""

    name: str
    oin: str
    code: str | None = None


@dataclass(frozen=True, kw_only=True)
class Contact(DomainModel):
    """The creditor's public contact options."""

    phone: str | None = None
    email: str | None = None
    website: str | None = None


@dataclass(frozen=True, kw_only=True)
class Person(DomainModel):
    """The debtor. The BSN is present only where a law allows the creditor to process it."""

    family_name: str
    given_names: str
    birthdate: str
    bsn: str | None = None


@dataclass(frozen=True, kw_only=True)
class Totals(DomainModel):
    """Totals in euro cents: imposed (financieel verplicht), settled (vereffend), outstanding."""

    imposed: int
    settled: int
    outstanding: int
    in_arrears: int
    number_of_cases: int


@dataclass(frozen=True, kw_only=True)
class CaseComponent(DomainModel):
    """One part of a case's imposed amount (principal, surcharge, costs...)."""

    category: str
    amount: int


@dataclass(frozen=True, kw_only=True)
class Case(DomainModel):
    """One claim (vordering) with its case reference (zaakkenmerk)."""

    _nested: ClassVar = {"components": CaseComponent}

    case_reference: str
    obligation_type: str
    imposed_at: str
    amount_imposed: int
    amount_outstanding: int
    description: str | None = None
    decision_number: str | None = None
    components: tuple[CaseComponent, ...] | None = None
    collection_stage: str | None = None
    payment_reference: str | None = None
    due_date: str | None = None


@dataclass(frozen=True, kw_only=True)
class Arrangement(DomainModel):
    """A payment arrangement (betalingsregeling): standaard up to 36, maatwerk up to 72 terms."""

    type: str
    start_date: str
    installment_amount: int
    number_of_installments: int
    installments_paid: int
    status: str
    next_due_date: str | None = None


@dataclass(frozen=True, kw_only=True)
class CollectionHold(DomainModel):
    """Collection currently paused (incasso opgeschort)."""

    active: bool
    reason: str | None = None
    until: str | None = None


@dataclass(frozen=True, kw_only=True)
class DebtStatement(CredentialModel):
    """A creditor's certified statement of what one person owes it, at one moment.

    Example:
        >>> import json, pathlib
        >>> data = json.loads(pathlib.Path("examples/data/debt-statement.json").read_text())
        >>> st = DebtStatement.from_claims(data)
        >>> st.totals.outstanding == sum(c.amount_outstanding for c in st.cases or ())
        True
        >>> DebtStatement.from_claims({**data, "totals": {**data["totals"], "settled": -1}})
        Traceback (most recent call last):
        ...
        blauweknop._errors.InvalidDataError: invalid_data: totals.settled: ...
    """

    vct: ClassVar[str] = DEBT_STATEMENT_VCT
    _nested: ClassVar = {
        "creditor": Creditor,
        "contact": Contact,
        "subject": Person,
        "totals": Totals,
        "cases": Case,
        "arrangement": Arrangement,
        "collection_hold": CollectionHold,
    }

    creditor: Creditor
    statement_id: str
    balance_at: str
    is_complete: bool
    currency: str
    subject: Person
    totals: Totals
    contact: Contact | None = None
    cases: tuple[Case, ...] | None = None
    arrangement: Arrangement | None = None
    collection_hold: CollectionHold | None = None

    def check(self) -> None:
        """Semantic rules: real dates, BSN eleven-test, totals that add up."""
        parse_datetime(self.balance_at, "balance_at")
        parse_date(self.subject.birthdate, "subject.birthdate")
        if self.subject.bsn is not None:
            check_bsn(self.subject.bsn, "subject.bsn")
        t = self.totals
        if t.settled > t.imposed:
            raise _bad("totals.settled", "exceeds totals.imposed")
        if t.outstanding != t.imposed - t.settled:
            raise _bad("totals.outstanding", "must equal totals.imposed - totals.settled")
        if t.in_arrears > t.outstanding:
            raise _bad("totals.in_arrears", "exceeds totals.outstanding")
        if self.cases is not None:
            if t.number_of_cases != len(self.cases):
                raise _bad(
                    "totals.number_of_cases",
                    f"is {t.number_of_cases} but {len(self.cases)} cases are listed",
                )
            refs = set()
            for i, c in enumerate(self.cases):
                f = f"cases[{i}]"
                if c.case_reference in refs:
                    raise _bad(f"{f}.case_reference", "duplicate case reference")
                refs.add(c.case_reference)
                parse_date(c.imposed_at, f"{f}.imposed_at")
                if c.due_date is not None:
                    parse_date(c.due_date, f"{f}.due_date")
                if c.amount_outstanding > c.amount_imposed:
                    raise _bad(f"{f}.amount_outstanding", "exceeds amount_imposed")
                if (
                    c.components is not None
                    and sum(x.amount for x in c.components) != c.amount_imposed
                ):
                    raise _bad(f"{f}.components", "do not add up to amount_imposed")
            if self.is_complete:
                s = sum(c.amount_outstanding for c in self.cases)
                if s != t.outstanding:
                    raise _bad(
                        "totals.outstanding", f"is {t.outstanding} but the cases add up to {s}"
                    )
        if self.arrangement is not None:
            a = self.arrangement
            parse_date(a.start_date, "arrangement.start_date")
            if a.next_due_date is not None:
                parse_date(a.next_due_date, "arrangement.next_due_date")
            limit = _MAX_INSTALLMENTS[a.type]
            if a.number_of_installments > limit:
                raise _bad(
                    "arrangement.number_of_installments",
                    f"a {a.type} arrangement has at most {limit}",
                )
            if a.installments_paid > a.number_of_installments:
                raise _bad("arrangement.installments_paid", "exceeds number_of_installments")
        if self.collection_hold is not None and self.collection_hold.until is not None:
            parse_date(self.collection_hold.until, "collection_hold.until")
