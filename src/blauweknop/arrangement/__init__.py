"""Betalingsregeling Rijk: one payment arrangement across several government creditors.

The coordinator verifies the citizen's debt statements (and a Rode Knop declaration, if
presented), splits the monthly amount available pro rata in whole cents, and issues a
``urn:blauweknop:payment-arrangement:1`` credential (W3C type ``PaymentArrangement``) to the
citizen; each creditor verifies it and reads its own share. See
``specs/payment-arrangement.md``.

Example:
    >>> from blauweknop.arrangement import split_pro_rata
    >>> split_pro_rata(25000, {"00000001003214345000": 50000, "00000001800866472000": 1438000})
    {'00000001003214345000': 840, '00000001800866472000': 24160}
"""

from . import _credential
from ._coordinator import (
    ArrangementCoordinator,
    CoveredDebt,
    CreditorShare,
    Proposal,
    compute_arrangement,
    creditor_request,
    creditor_share,
    statements_request,
)
from ._credential import (
    ARRANGEMENT_CONTEXT,
    PAYMENT_ARRANGEMENT_VCT,
    ArrangementLine,
    Coordinator,
    Pause,
    PaymentArrangement,
)
from ._split import MAX_INSTALLMENTS, due_dates, instalments, split_pro_rata

__all__ = [
    "ARRANGEMENT_CONTEXT",
    "MAX_INSTALLMENTS",
    "PAYMENT_ARRANGEMENT_VCT",
    "ArrangementCoordinator",
    "ArrangementLine",
    "Coordinator",
    "CoveredDebt",
    "CreditorShare",
    "Pause",
    "PaymentArrangement",
    "Proposal",
    "compute_arrangement",
    "creditor_request",
    "creditor_share",
    "due_dates",
    "instalments",
    "split_pro_rata",
    "statements_request",
]

_credential.register()
