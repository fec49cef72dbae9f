"""Issue 17, hostile input to the arrangement coordinator: each attack is fed and must be
refused with its reason code, and nothing may be issued."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from arrangement_world import COORD, MONTHLY, NOW, START, World, build_world
from scheme import CJIB, CJIB_ORG, DUO_ORG, STRANGER_ORG

from blauweknop import (
    BlauweKnopError,
    HolderBindingError,
    InvalidDataError,
    MalformedError,
    PolicyError,
    StatusError,
    TrustError,
    ValidityError,
    Wallet,
)
from blauweknop.arrangement import (
    Coordinator,
    CoveredDebt,
    compute_arrangement,
    creditor_share,
    statements_request,
)
from blauweknop.debt import DebtStatement, Person
from blauweknop.formats import VerifiedCredential


def _propose(world: World, vp: Any, request: Any, *, at: float = NOW, **kw: Any) -> Any:
    return world.coordinator().propose(
        vp,
        nonce="n-arr",
        audience=COORD,
        monthly_amount=kw.pop("monthly_amount", MONTHLY),
        start_date=START,
        arrangement_id="BRR-H-1",
        request=request,
        now=at,
        **kw,
    )


def _nothing_issued(world: World) -> None:
    with pytest.raises(BlauweKnopError):
        world.coordinator_issuer.register.get("BRR-H-1")


def test_a_statement_from_an_untrusted_issuer_is_refused(tmp_path: Path) -> None:
    w = build_world(tmp_path, slots=("cjib",))
    stranger = STRANGER_ORG.init(tmp_path / "stranger")
    # the citizen's wallet was fooled into trusting the stranger; the coordinator is not
    fooled = w.scheme.verified_trust(
        w.scheme.trust_list([*w.scheme.trusted, w.coordinator_issuer, stranger])
    )
    claims = STRANGER_ORG.claims(statement_id="NG-1")
    claims["creditor"] = {"name": stranger.name, "oin": stranger.issuer_id[8:]}
    cred = stranger.issue(
        DebtStatement.from_claims(claims), holder_jwk=w.wallet.holder_jwk(), now=NOW
    )
    w.wallet.add(cred.text, trust_list=fooled, now=NOW)
    request, vp = w.statements_vp(declaration=False)
    assert len(vp["debt_statements"]) == 2
    with pytest.raises(TrustError) as info:
        _propose(w, vp, request)
    assert info.value.code in {"untrusted_issuer", "unknown_issuer"}
    _nothing_issued(w)


def test_an_expired_statement_is_refused(tmp_path: Path) -> None:
    """Presented while valid, handed to the coordinator after the statement expired (the
    coordinator here accepts old presentations, so only the expiry can refuse it)."""
    w = build_world(tmp_path, valid_days={"cjib": 1})
    request, vp = w.statements_vp()
    later = NOW + 2 * 86400
    w.publish(later)
    coordinator = w.coordinator(kb_max_age=10 * 86400)
    with pytest.raises(ValidityError) as info:
        coordinator.propose(
            vp,
            nonce="n-arr",
            audience=COORD,
            monthly_amount=MONTHLY,
            start_date=START,
            arrangement_id="BRR-H-1",
            request=request,
            now=later,
        )
    assert info.value.code == "expired"
    _nothing_issued(w)


def test_a_revoked_statement_is_refused(tmp_path: Path) -> None:
    w = build_world(tmp_path)
    w.scheme.cjib.revoke(CJIB_ORG.claims()["statement_id"], reason="replaced", actor="test")
    w.publish(NOW + 60)
    request, vp = w.statements_vp(at=NOW + 120)
    with pytest.raises(StatusError) as info:
        _propose(w, vp, request, at=NOW + 120)
    assert info.value.code == "revoked"
    _nothing_issued(w)


def test_statements_of_two_holders_in_one_vp_token_are_refused(tmp_path: Path) -> None:
    w = build_world(tmp_path, slots=("cjib",))
    other = Wallet.create(tmp_path / "other-wallet", passphrase="another citizen", scrypt_n=2**10)
    cred = w.scheme.duo.issue(
        DebtStatement.from_claims(DUO_ORG.claims()), holder_jwk=other.holder_jwk(), now=NOW
    )
    other.add(cred.text, trust_list=w.trust, now=NOW)
    w.publish()
    request, mine = w.statements_vp(declaration=False)
    _, theirs = w.statements_vp(declaration=False, wallet=other)
    # each presentation is valid on its own, bound to the same nonce and audience
    merged = {"debt_statements": [*mine["debt_statements"], *theirs["debt_statements"]]}
    with pytest.raises(HolderBindingError) as info:
        _propose(w, merged, request)
    assert info.value.code == "holder_mismatch"
    _nothing_issued(w)


def test_a_statement_about_another_person_is_refused(tmp_path: Path) -> None:
    w = build_world(tmp_path, slots=("cjib",))
    claims = DUO_ORG.claims()
    claims["subject"] = {**claims["subject"], "family_name": "de Vries", "bsn": "111222333"}
    cred = w.scheme.duo.issue(
        DebtStatement.from_claims(claims), holder_jwk=w.wallet.holder_jwk(), now=NOW
    )
    w.wallet.add(cred.text, trust_list=w.trust, now=NOW)
    w.publish()
    request, vp = w.statements_vp(declaration=False)
    with pytest.raises(PolicyError) as info:
        _propose(w, vp, request)
    assert info.value.code == "subject_mismatch"
    _nothing_issued(w)


@pytest.mark.parametrize(
    "spoil",
    [
        lambda c: c["totals"].update(outstanding=c["totals"]["outstanding"] + 1),
        lambda c: c["cases"][0].update(amount_outstanding=c["cases"][0]["amount_outstanding"] - 1),
        lambda c: c["totals"].update(in_arrears=c["totals"]["outstanding"] + 5),
    ],
    ids=[
        "outstanding-not-imposed-minus-settled",
        "cases-do-not-add-up",
        "arrears-above-outstanding",
    ],
)
def test_a_signed_statement_whose_totals_do_not_add_up_is_refused(
    tmp_path: Path, spoil: Any
) -> None:
    """A listed creditor's faulty software signs totals that do not add up (the model's own
    rules are bypassed); the coordinator cross-checks what it was shown."""
    w = build_world(tmp_path, slots=("gem", "cjib"))
    claims = DUO_ORG.claims()
    spoil(claims)
    with pytest.raises(InvalidDataError):
        DebtStatement.from_claims(claims)  # our issuer would never sign it
    faulty = DebtStatement._from_json(claims)
    cred = w.scheme.duo.issue(faulty, holder_jwk=w.wallet.holder_jwk(), now=NOW)
    w.wallet.add(cred.text, trust_list=w.trust, now=NOW)
    w.publish()
    request, vp = w.statements_vp()
    with pytest.raises(MalformedError) as info:
        _propose(w, vp, request)
    assert info.value.code == "statement_totals_mismatch"
    _nothing_issued(w)


def test_two_statements_of_one_creditor_are_refused(tmp_path: Path) -> None:
    w = build_world(tmp_path, slots=("cjib",))
    request, vp = w.statements_vp(declaration=False)
    doubled = {"debt_statements": vp["debt_statements"] * 2}
    with pytest.raises(PolicyError) as info:
        _propose(w, doubled, request)
    assert info.value.code == "duplicate_creditor"


def _debts(*amounts: int) -> list[CoveredDebt]:
    return [
        CoveredDebt(
            creditor_name=f"C{i}", creditor_oin=f"{i:020d}", statement_id=f"S{i}", outstanding=a
        )
        for i, a in enumerate(amounts, start=1)
    ]


def _compute(debts: list[CoveredDebt], monthly: int, **kw: Any) -> Any:
    return compute_arrangement(
        debts,
        monthly_amount=monthly,
        start_date=kw.pop("start", dt.date(2027, 1, 1)),
        subject=Person(family_name="Jansen", given_names="Eva", birthdate="1988-04-12"),
        coordinator=Coordinator(name="Betalingsregeling Rijk", oin=COORD[8:]),
        arrangement_id="BRR-X",
        computed_at="2026-11-22T10:00:00Z",
        **kw,
    )


@pytest.mark.parametrize(
    ("amounts", "monthly", "kw", "code"),
    [
        ((100, 200), 301, {}, "arrangement_not_feasible"),  # more than is owed
        ((1, 10_000_000), 100, {}, "arrangement_not_feasible"),  # a share of 0 cents
        ((1_000_000,), 100, {}, "arrangement_not_feasible"),  # 10,000 instalments
        ((1_000_000,), 20_000, {}, "arrangement_not_feasible"),  # 50 > 36 standaard
        ((1_000_000,), 0, {}, "invalid_data"),
        ((1_000_000,), 50_000, {"arrangement_type": "anders"}, "invalid_data"),
        ((1_000_000,), 50_000, {"start": dt.date(2027, 1, 31)}, "invalid_data"),
    ],
)
def test_amounts_that_cannot_be_arranged_are_refused(
    amounts: tuple[int, ...], monthly: int, kw: dict[str, Any], code: str
) -> None:
    with pytest.raises(InvalidDataError) as info:
        _compute(_debts(*amounts), monthly, **kw)
    assert info.value.code == code


def test_maatwerk_allows_up_to_72_instalments() -> None:
    arr = _compute(_debts(1_000_000), 20_000, arrangement_type="maatwerk")
    assert arr.number_of_installments == 50


def test_a_creditor_refuses_a_line_whose_numbers_do_not_agree() -> None:
    arr = _compute(_debts(100_000, 300_000), 20_000).to_claims()
    line = arr["creditors"][0]
    for change in (
        {"installment_amount": line["installment_amount"] + 1},
        {"last_installment_amount": line["last_installment_amount"] + 1},
        {"last_due_date": "2040-01-01"},
        {"outstanding": arr["total_outstanding"] + 1},
    ):
        claims = {**arr, "creditors": [{**line, **change}]}
        cred = VerifiedCredential(
            query_id="q",
            format="dc+sd-jwt",
            vct="urn:blauweknop:payment-arrangement:1",
            issuer=COORD,
            issuer_name="Betalingsregeling Rijk",
            claims=claims,
        )
        with pytest.raises(MalformedError) as info:
            creditor_share(cred, line["oin"])
        assert info.value.code == "arrangement_inconsistent", change
    ok = VerifiedCredential(
        query_id="q",
        format="dc+sd-jwt",
        vct="urn:blauweknop:payment-arrangement:1",
        issuer=COORD,
        issuer_name="Betalingsregeling Rijk",
        claims=arr,
    )
    assert creditor_share(ok, line["oin"]).line.installment_amount == line["installment_amount"]
    wrong = VerifiedCredential(
        query_id="q",
        format="dc+sd-jwt",
        vct="urn:blauweknop:debt-statement:1",
        issuer=CJIB,
        issuer_name="CJIB",
        claims=arr,
    )
    with pytest.raises(PolicyError) as info:
        creditor_share(wrong, line["oin"])
    assert info.value.code == "unexpected_credential"


def test_the_coordinator_request_asks_for_what_the_checks_need() -> None:
    req = statements_request()
    paths = [c["path"] for c in req["credentials"][0]["claims"]]
    for needed in (["totals", "outstanding"], ["totals", "imposed"], ["subject", "birthdate"]):
        assert needed in paths
