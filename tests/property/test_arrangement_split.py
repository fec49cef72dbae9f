"""Issue 17: the arrangement's arithmetic, as properties. For any outstanding amounts and any
monthly amount, the largest-remainder split gives whole cents that add up to the monthly
amount exactly, each within one cent of the exact pro-rata share, never less for a creditor
that is owed more, independent of input order; each schedule pays exactly what is owed."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from blauweknop import InvalidDataError
from blauweknop.arrangement import (
    Coordinator,
    CoveredDebt,
    PaymentArrangement,
    compute_arrangement,
    due_dates,
    instalments,
    split_pro_rata,
)
from blauweknop.debt import Person

amounts = st.integers(min_value=1, max_value=10**11)
weights = st.dictionaries(
    st.text("0123456789", min_size=20, max_size=20), amounts, min_size=1, max_size=12
)


@settings(max_examples=400, deadline=None)
@given(weights=weights, total=st.integers(min_value=0, max_value=10**9))
def test_shares_add_up_and_stay_within_a_cent(weights: dict[str, int], total: int) -> None:
    shares = split_pro_rata(total, weights)
    assert sum(shares.values()) == total
    whole = sum(weights.values())
    for k, s in shares.items():
        exact = Fraction(total * weights[k], whole)
        assert isinstance(s, int) and s >= 0
        assert abs(s - exact) < 1
    for a in shares:
        for b in shares:
            if weights[a] > weights[b]:
                assert shares[a] >= shares[b]
    # the order of the input does not matter
    assert split_pro_rata(total, dict(reversed(list(weights.items())))) == shares


@given(st.integers(min_value=1, max_value=10**9), st.integers(min_value=1, max_value=10**9))
def test_instalments_pay_exactly_what_is_owed(outstanding: int, share: int) -> None:
    n, last = instalments(outstanding, share)
    assert (n - 1) * share + last == outstanding
    assert 1 <= last <= share


@given(
    start=st.dates(min_value=dt.date(2026, 1, 1), max_value=dt.date(2035, 12, 28)).filter(
        lambda d: d.day <= 28
    ),
    count=st.integers(min_value=1, max_value=72),
    pause_at=st.integers(min_value=0, max_value=400),
    pause_len=st.integers(min_value=0, max_value=365),
)
def test_no_due_date_falls_in_the_pause(
    start: dt.date, count: int, pause_at: int, pause_len: int
) -> None:
    p0 = start + dt.timedelta(days=pause_at)
    pause = (p0, p0 + dt.timedelta(days=pause_len))
    dates = due_dates(start, count, pause=pause)
    assert len(dates) == count
    assert all(not pause[0] <= d <= pause[1] for d in dates)
    assert all(d.day == start.day for d in dates)
    assert dates == sorted(set(dates))


@settings(max_examples=150, deadline=None)
@given(
    owed=st.lists(st.integers(min_value=1, max_value=5_000_000), min_size=1, max_size=8),
    data=st.data(),
)
def test_a_feasible_arrangement_passes_its_own_rules(owed: list[int], data: st.DataObject) -> None:
    total = sum(owed)
    # a monthly amount that gives every creditor at least a cent and at most 72 instalments
    low = max(len(owed), -(-total // 72), max(-(-total // o) for o in owed))
    if low > total:
        return
    monthly = data.draw(st.integers(min_value=low, max_value=total))
    debts = [
        CoveredDebt(
            creditor_name=f"C{i}", creditor_oin=f"{i:020d}", statement_id=f"S{i}", outstanding=o
        )
        for i, o in enumerate(owed)
    ]
    try:
        arr = compute_arrangement(
            debts,
            monthly_amount=monthly,
            start_date=dt.date(2027, 1, 1),
            subject=Person(family_name="J", given_names="E", birthdate="1988-04-12"),
            coordinator=Coordinator(name="BRR", oin="0" * 20),
            arrangement_id="A",
            computed_at="2026-11-22T10:00:00Z",
            arrangement_type="maatwerk",
        )
    except InvalidDataError as e:  # a share of 0 or > 72 instalments for one creditor
        assert e.code == "arrangement_not_feasible"
        return
    assert sum(x.installment_amount for x in arr.creditors) == monthly
    assert sum(x.outstanding for x in arr.creditors) == total
    assert PaymentArrangement.from_claims(arr.to_claims()) == arr
