"""The one rule against spreadsheet formulas in claims (CSV injection), for every issuance
path: single ``issue``, batches, the API."""

from __future__ import annotations

import re
from collections.abc import Mapping

from ._errors import InvalidDataError

__all__ = ["FORMULA_PREFIXES", "check_spreadsheet_safe"]

#: Spreadsheet formula prefixes: a text claim starting with one is refused (CSV injection:
#: registers and batch reports end up in spreadsheets).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
#: Text that starts like a formula but cannot call anything: an international phone number
#: (``+31 40 238 6000``) or a plain number.
_HARMLESS = re.compile(r"\+[0-9][0-9 -]*|-?[0-9]+(?:[.,][0-9]+)?")


def check_spreadsheet_safe(claims: object, *, path: str = "") -> None:
    """Refuse any text in ``claims`` (nested objects and arrays too) that a spreadsheet would
    run as a formula: starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return
    (OWASP "CSV Injection"). International phone numbers and plain numbers pass.

    One rule for every issuance path (single ``issue``, batches, the API).

    >>> check_spreadsheet_safe({"subject": {"family_name": "Jansen"}, "phone": "+31 40 2386000"})
    >>> check_spreadsheet_safe({"subject": {"family_name": "=HYPERLINK(1)"}})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    blauweknop._errors.InvalidDataError: invalid_data: subject.family_name: starts with a ...
    """
    # One walk without paths (an issuance checks every claim); the paths are worked out
    # only for claims that fail, by the walk below.
    if not _all_safe(claims):
        _check_with_paths(claims, path=path)


def _all_safe(claims: object) -> bool:
    """Whether no text in ``claims`` is refused by :func:`check_spreadsheet_safe`."""
    stack = [claims]
    pop, extend = stack.pop, stack.extend
    while stack:
        v = pop()
        if isinstance(v, str):
            if v.startswith(FORMULA_PREFIXES) and not _HARMLESS.fullmatch(v):
                return False
        elif isinstance(v, dict | Mapping):  # dict first: the ABC test only for the others
            extend(v.values())
        elif isinstance(v, list | tuple):
            extend(v)
    return True


def _check_with_paths(claims: object, *, path: str = "") -> None:
    """:func:`check_spreadsheet_safe` naming the first refused claim by its path."""
    if isinstance(claims, str):
        if claims.startswith(FORMULA_PREFIXES) and not _HARMLESS.fullmatch(claims):
            raise InvalidDataError(
                "invalid_data",
                f"{path or 'value'}: starts with a formula character",
                field=path or None,
            )
    elif isinstance(claims, Mapping):
        for k, v in claims.items():
            _check_with_paths(v, path=f"{path}.{k}" if path else str(k))
    elif isinstance(claims, list | tuple):
        for i, v in enumerate(claims):
            _check_with_paths(v, path=f"{path}[{i}]")
