"""Issue 17: suppression as a property. For any table of counts, no published cell lies in
1..k-1, and no published sum (a column and its total, a row's bands and its outstanding count)
has exactly one withheld cell, so no withheld cell equals a published total minus published
parts. Published cells keep their true value."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from blauweknop.area import BANDS, MEASURES, TOTAL, suppress

counts = st.integers(min_value=0, max_value=40)
areas = st.lists(
    st.sampled_from(["5611", "5612", "5613", "5614", "5615", "5616"]),
    unique=True,
    min_size=1,
    max_size=6,
)


@settings(max_examples=300, deadline=None)
@given(areas=areas, data=st.data(), k=st.integers(min_value=2, max_value=15))
def test_suppression_cannot_be_undone_by_subtraction(
    areas: list[str], data: st.DataObject, k: int
) -> None:
    table: dict[str, dict[str, int]] = {}
    for a in areas:
        row = {m: data.draw(counts) for m in MEASURES}
        row["outstanding"] = sum(row[b] for b in BANDS)
        table[a] = row
    table[TOTAL] = {m: sum(table[a][m] for a in areas) for m in MEASURES}
    out = suppress(table, MEASURES, k)
    sums = [[(r, m) for r in (*areas, TOTAL)] for m in MEASURES]
    sums += [[(r, b) for b in BANDS] + [(r, "outstanding")] for r in (*areas, TOTAL)]
    for cells in sums:
        assert sum(1 for r, m in cells if out[r][m] is None) != 1
    for r, row in out.items():
        for m, v in row.items():
            if v is not None:
                assert v == table[r][m] and not 0 < v < k
