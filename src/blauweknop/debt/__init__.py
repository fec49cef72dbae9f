"""The Blauwe Knop debt statement profile (schuldenoverzicht).

Example:
    >>> from blauweknop.debt import DebtStatement
    >>> DebtStatement.vct
    'urn:blauweknop:debt-statement:1'
"""

from . import _wallet_rules
from ._statement import (
    Arrangement,
    Case,
    CaseComponent,
    CollectionHold,
    Contact,
    Creditor,
    DebtStatement,
    Person,
    Totals,
)

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

# The statement's wallet rules (supersede, overview) live with its profile.
_wallet_rules.register()
