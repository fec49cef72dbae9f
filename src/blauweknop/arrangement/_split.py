"""The arithmetic of a payment arrangement: a pro-rata split in whole cents and a monthly
schedule with an optional pause. Pure functions, no clock, no I/O.

**Split (largest-remainder method).** With ``M`` the monthly amount available and ``o_i``
each creditor's outstanding amount (``T = sum o_i``), creditor ``i``'s exact share is
``M * o_i / T``. Every creditor first gets the floor of its exact share; the cents left over
(fewer than the number of creditors) go one each to the creditors with the largest
remainders ``(M * o_i) mod T``. Ties are broken by the larger outstanding amount, then by the
smaller creditor key (the OIN), so the result never depends on the order of the input.
Hence: the shares add up to ``M`` exactly, each share differs from the exact share by less
than one cent, and a creditor that is owed more never gets less.

**Schedule.** Instalments fall monthly on the day of the start date (1 to 28, so every month
has it). A due date inside the pause window (inclusive) is skipped; the schedule continues
after it. A creditor with share ``s`` and outstanding ``o`` gets ``n = ceil(o / s)``
instalments of ``s``, the last one ``o - (n - 1) * s`` (between 1 and ``s`` cents).

Example:
    >>> split_pro_rata(100, {"a": 1, "b": 1, "c": 1})
    {'a': 34, 'b': 33, 'c': 33}
    >>> due_dates(dt.date(2027, 1, 5), 3, pause=(dt.date(2027, 2, 1), dt.date(2027, 3, 31)))
    [datetime.date(2027, 1, 5), datetime.date(2027, 4, 5), datetime.date(2027, 5, 5)]
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from .._errors import InvalidDataError

__all__ = ["MAX_INSTALLMENTS", "due_dates", "instalments", "split_pro_rata"]

MAX_INSTALLMENTS = {"standaard": 36, "maatwerk": 72}
"""Instalments per arrangement type: standard plans up to 36, custom (maatwerk) up to 72."""
#: Months the schedule may skip for a pause (a broad moratorium is at most 6 months; a Rode
#: Knop pause at most 12 with its extension): a bound on the loop, not a policy.
_MAX_PAUSE_MONTHS = 24


def split_pro_rata(total: int, weights: Mapping[str, int]) -> dict[str, int]:
    """Split ``total`` cents over ``weights`` (outstanding cents per creditor key) pro rata,
    in whole cents that add up to ``total`` exactly (largest-remainder method; ties: larger
    weight first, then the smaller key). Returns ``{key: share}`` in the order of the keys.

    Raises ``InvalidDataError("invalid_data")`` for a negative total, no weights or a
    weight below 1.
    """
    if total < 0:
        raise InvalidDataError("invalid_data", "the amount to split must not be negative")
    if not weights:
        raise InvalidDataError("invalid_data", "nothing to split the amount over")
    for key, w in weights.items():
        if not isinstance(w, int) or isinstance(w, bool) or w < 1:
            raise InvalidDataError("invalid_data", f"{key}: the outstanding amount must be >= 1")
    whole = sum(weights.values())
    floors = {k: total * w // whole for k, w in weights.items()}
    left = total - sum(floors.values())
    order = sorted(weights, key=lambda k: (-(total * weights[k] % whole), -weights[k], k))
    for k in order[:left]:
        floors[k] += 1
    return floors


def instalments(outstanding: int, share: int) -> tuple[int, int]:
    """``(number of instalments, last instalment)`` for paying ``outstanding`` cents in
    instalments of ``share`` cents (the last one adjusts)."""
    if share < 1 or outstanding < 1:
        raise InvalidDataError("invalid_data", "outstanding amount and share must be >= 1 cent")
    n = -(-outstanding // share)
    return n, outstanding - (n - 1) * share


def _add_months(day: dt.date, months: int) -> dt.date:
    m = day.month - 1 + months
    return day.replace(year=day.year + m // 12, month=m % 12 + 1)


def due_dates(
    start: dt.date, count: int, *, pause: tuple[dt.date, dt.date] | None = None
) -> list[dt.date]:
    """The first ``count`` monthly due dates from ``start`` (day 1 to 28), skipping the ones
    inside ``pause`` (inclusive)."""
    if not 1 <= start.day <= 28:
        raise InvalidDataError(
            "invalid_data", "start_date: the day of the month must be 1 to 28", field="start_date"
        )
    out: list[dt.date] = []
    k = 0
    while len(out) < count:
        day = _add_months(start, k)
        k += 1
        if pause is not None and pause[0] <= day <= pause[1]:
            if k > count + _MAX_PAUSE_MONTHS:
                raise InvalidDataError("invalid_data", "pause: longer than 24 months")
            continue
        out.append(day)
    return out
