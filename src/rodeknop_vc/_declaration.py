"""The Rode Knop payment-incapacity declaration (verklaring betalingsonmacht).

Field meanings, Dutch terms and disclosure classes: ``specs/rode-knop-declaration.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from blauweknop import InvalidDataError
from blauweknop._model import CredentialModel, DomainModel, check_bsn, parse_date
from blauweknop._profile import RODE_KNOP_VCT

__all__ = [
    "Address",
    "Counsellor",
    "CourtMoratorium",
    "DeclarationSubject",
    "ExecutingOrganisation",
    "Municipality",
    "PaymentIncapacityDeclaration",
]

#: A pause is 4 months, extendable by 8 (CJIB's emergency-stop procedure); one declaration
#: never covers more than a year.
MAX_WINDOW_DAYS = 366
#: A court's broad moratorium lasts at most 6 months.
MAX_MORATORIUM_DAYS = 184


def _bad(field: str, message: str) -> InvalidDataError:
    return InvalidDataError("invalid_data", f"{field}: {message}", field=field)


@dataclass(frozen=True, kw_only=True)
class Municipality(DomainModel):
    """The issuing municipality (gemeente): name, CBS code (GMxxxx) and OIN."""

    name: str
    code: str
    oin: str


@dataclass(frozen=True, kw_only=True)
class ExecutingOrganisation(DomainModel):
    """The organisation doing the debt relief for the municipality."""

    name: str


@dataclass(frozen=True, kw_only=True)
class Counsellor(DomainModel):
    """Where creditors reach the debt counsellor (schuldhulpverlener)."""

    organisation_phone: str
    organisation_email: str
    name: str | None = None
    direct_phone: str | None = None
    email: str | None = None
    client_reference: str | None = None


@dataclass(frozen=True, kw_only=True)
class CourtMoratorium(DomainModel):
    """A court's broad moratorium (breed moratorium), at most 6 months."""

    active: bool
    court: str | None = None
    decision_date: str | None = None
    until: str | None = None


@dataclass(frozen=True, kw_only=True)
class Address(DomainModel):
    """A Dutch postal address."""

    street: str
    house_number: str
    postal_code: str
    city: str


@dataclass(frozen=True, kw_only=True)
class DeclarationSubject(DomainModel):
    """The citizen the declaration is about."""

    _nested: ClassVar = {"address": Address}

    family_name: str
    given_names: str
    birthdate: str
    address: Address | None = None
    bsn: str | None = None


@dataclass(frozen=True, kw_only=True)
class PaymentIncapacityDeclaration(CredentialModel):
    """A municipality's declaration that a citizen is admitted to debt relief and cannot pay.

    Creditors that receive it put collection on hold for the window ``valid_from`` ..
    ``valid_until`` (typically 4 months) and take the ``requested_measures``.

    Example:
        >>> import json, pathlib
        >>> data = json.loads(pathlib.Path("examples/data/rode-knop-declaration.json").read_text())
        >>> d = PaymentIncapacityDeclaration.from_claims(data)
        >>> d.municipality.code
        'GM0772'
        >>> PaymentIncapacityDeclaration.from_claims({**data, "valid_until": "2026-01-01"})
        Traceback (most recent call last):
        ...
        blauweknop._errors.InvalidDataError: invalid_data: valid_until: lies before valid_from
    """

    vct: ClassVar[str] = RODE_KNOP_VCT
    _nested: ClassVar = {
        "municipality": Municipality,
        "executing_organisation": ExecutingOrganisation,
        "counsellor": Counsellor,
        "court_moratorium": CourtMoratorium,
        "subject": DeclarationSubject,
    }

    declaration_id: str
    municipality: Municipality
    executing_organisation: ExecutingOrganisation
    payment_incapacity: bool
    admitted_to_debt_relief: bool
    trajectory_start: str
    valid_from: str
    valid_until: str
    requested_measures: tuple[str, ...]
    counsellor: Counsellor
    subject: DeclarationSubject
    extends_declaration_id: str | None = None
    application_date: str | None = None
    admission_decision_date: str | None = None
    trajectory_phase: str | None = None
    court_moratorium: CourtMoratorium | None = None

    def check(self) -> None:
        """Semantic rules: real dates, a forward window of at most a year, BSN eleven-test."""
        start = parse_date(self.valid_from, "valid_from")
        end = parse_date(self.valid_until, "valid_until")
        if end < start:
            raise _bad("valid_until", "lies before valid_from")
        if (end - start).days > MAX_WINDOW_DAYS:
            raise _bad("valid_until", f"window longer than {MAX_WINDOW_DAYS} days")
        if parse_date(self.trajectory_start, "trajectory_start") > end:
            raise _bad("trajectory_start", "lies after valid_until")
        parse_date(self.subject.birthdate, "subject.birthdate")
        if self.subject.bsn is not None:
            check_bsn(self.subject.bsn, "subject.bsn")
        if self.extends_declaration_id == self.declaration_id:
            raise _bad("extends_declaration_id", "a declaration cannot extend itself")
        app = self.application_date and parse_date(self.application_date, "application_date")
        adm = self.admission_decision_date and parse_date(
            self.admission_decision_date, "admission_decision_date"
        )
        if app and adm and adm < app:
            raise _bad("admission_decision_date", "lies before application_date")
        m = self.court_moratorium
        d0 = m and m.decision_date and parse_date(m.decision_date, "court_moratorium.decision_date")
        d1 = m and m.until and parse_date(m.until, "court_moratorium.until")
        if d0 and d1:
            if d1 < d0:
                raise _bad("court_moratorium.until", "lies before decision_date")
            if (d1 - d0).days > MAX_MORATORIUM_DAYS:
                raise _bad("court_moratorium.until", "a court moratorium lasts at most 6 months")
