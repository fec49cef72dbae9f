"""Count tables of an area report and their protection: small-cell suppression with
secondary suppression, and optional differential-privacy noise. Pure functions.

A table maps each PC4 area to counts per measure, plus a ``total`` row (the column sums). Two
kinds of published sums link cells: each column adds up to its ``total`` cell, and in each row
the amount bands add up to ``outstanding``. **Primary suppression**: a count of 1 to ``k - 1``
is withheld (``None``). **Secondary suppression**: in every such sum (its parts and its total)
the number of withheld cells is 0 or at least 2, so no withheld cell equals a published total
minus published parts; the extra cell is the smallest non-zero published part (ties: the
first in order), or the sum's total when no part qualifies. Repeated until nothing changes.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping, Sequence

from .._errors import InvalidDataError

__all__ = [
    "BANDS",
    "MEASURES",
    "TOTAL",
    "Table",
    "add_noise",
    "suppress",
    "totals_row",
]

BANDS = ("band_lt_1000", "band_1000_5000", "band_5000_20000", "band_ge_20000")
"""Outstanding-amount bands: below EUR 1,000; 1,000-5,000; 5,000-20,000; 20,000 and more."""
MEASURES = ("rode_knop", "outstanding", "arrears", *BANDS)
"""The measures of an issuer's area report, counted in people."""
TOTAL = "total"
"""The key of the row of column sums."""

Table = dict[str, dict[str, int | None]]


def totals_row(table: Mapping[str, Mapping[str, int]], measures: Sequence[str]) -> dict[str, int]:
    """The column sums of a table without a total row."""
    return {m: sum(int(row.get(m) or 0) for row in table.values()) for m in measures}


def _groups(
    rows: Sequence[str], measures: Sequence[str]
) -> list[tuple[list[tuple[str, str]], tuple[str, str]]]:
    groups = []
    for m in measures:
        groups.append(([(r, m) for r in rows], (TOTAL, m)))
    if "outstanding" in measures and all(b in measures for b in BANDS):
        for r in (*rows, TOTAL):
            groups.append(([(r, b) for b in BANDS], (r, "outstanding")))
    return groups


def suppress(
    counts: Mapping[str, Mapping[str, int]],
    measures: Sequence[str],
    k: int,
    *,
    also: Iterable[tuple[str, str]] = (),
) -> Table:
    """Suppress a table (with its ``total`` row): primary below ``k`` (and the cells
    ``also``), then secondary (see the module docstring). Returns a copy with ``None`` for
    withheld cells."""
    if not isinstance(k, int) or k < 2:
        raise InvalidDataError("invalid_data", "k: the threshold is at least 2", field="k")
    rows = sorted(r for r in counts if r != TOTAL)
    value = {(r, m): int(counts[r].get(m) or 0) for r in (*rows, TOTAL) for m in measures}
    hidden = {cell for cell, v in value.items() if 0 < v < k}
    hidden.update(c for c in also if c in value)
    groups = _groups(rows, measures)
    changed = True
    while changed:
        changed = False
        for parts, total in groups:
            members = [*parts, total]
            if sum(1 for c in members if c in hidden) != 1:
                continue
            candidates = [c for c in parts if c not in hidden and value[c] > 0]
            pick = (
                min(candidates, key=lambda c: (value[c], parts.index(c))) if candidates else total
            )
            if pick in hidden:  # the total itself was the hidden one: hide a part as well
                others = [c for c in parts if c not in hidden]
                if not others:
                    continue
                pick = min(others, key=lambda c: (value[c] == 0, value[c], parts.index(c)))
            hidden.add(pick)
            changed = True
    return {
        r: {m: (None if (r, m) in hidden else value[(r, m)]) for m in measures}
        for r in (*rows, TOTAL)
    }


def _geometric(rng: random.Random, epsilon: float) -> int:
    """Two-sided geometric noise (the discrete Laplace mechanism) for sensitivity 1:
    ``P(z) ∝ exp(-epsilon * |z|)``, as the difference of two geometric variables."""
    p = 1.0 - math.exp(-epsilon)

    def geo() -> int:
        u = rng.random()
        return math.floor(math.log1p(-u) / math.log1p(-p)) if p < 1.0 else 0

    return geo() - geo()


def add_noise(
    counts: Mapping[str, Mapping[str, int]],
    measures: Sequence[str],
    epsilon: float,
    rng: random.Random,
) -> dict[str, dict[str, int]]:
    """Add two-sided geometric noise with parameter ``epsilon`` to every cell (the total row
    is recomputed from the noisy cells, so sums stay consistent), clamped at 0. A person
    counts in at most one cell per column and per band group, so each column is
    ``epsilon``-differentially private; the report states ``epsilon``."""
    if not (isinstance(epsilon, int | float) and 0 < epsilon <= 10):
        raise InvalidDataError("invalid_data", "epsilon: between 0 and 10", field="epsilon")
    out: dict[str, dict[str, int]] = {}
    for r in sorted(x for x in counts if x != TOTAL):
        row = {m: max(0, int(counts[r].get(m) or 0) + _geometric(rng, epsilon)) for m in measures}
        if "outstanding" in row and all(b in row for b in BANDS):
            row["outstanding"] = sum(row[b] for b in BANDS)
        out[r] = row
    out[TOTAL] = totals_row(out, measures)
    return out
