"""rodeknop_vc: the Rode Knop payment-incapacity declaration on top of ``blauweknop``.

A municipality issues a :class:`PaymentIncapacityDeclaration` when it admits a citizen to
debt relief (schuldhulpverlening); a creditor that verifies one decides with
:func:`hold_decision` to put collection on hold. A municipality's CSV export is issued as a
batch with :func:`read_batch` (every row checked before anything is signed) and
:func:`issue_batch`, which resumes after an interruption.

Example:
    >>> from rodeknop_vc import PaymentIncapacityDeclaration, RODE_KNOP_VCT
    >>> PaymentIncapacityDeclaration.vct == RODE_KNOP_VCT
    True
"""

from blauweknop import RODE_KNOP_VCT, __version__

from ._batch import BatchReport, BatchRow, RejectedRow, issue_batch, read_batch, write_report
from ._declaration import (
    Address,
    Counsellor,
    CourtMoratorium,
    DeclarationSubject,
    ExecutingOrganisation,
    Municipality,
    PaymentIncapacityDeclaration,
)
from ._policy import HoldDecision, hold_decision
from ._wallet_rules import register as _register_wallet_rules

__all__ = [
    "RODE_KNOP_VCT",
    "Address",
    "BatchReport",
    "BatchRow",
    "Counsellor",
    "CourtMoratorium",
    "DeclarationSubject",
    "ExecutingOrganisation",
    "HoldDecision",
    "Municipality",
    "PaymentIncapacityDeclaration",
    "RejectedRow",
    "__version__",
    "hold_decision",
    "issue_batch",
    "read_batch",
    "write_report",
]

# The declaration's wallet rule (the overview's pause window) lives with its profile.
_register_wallet_rules()
